"""zhuyi's bf16 GEMM against PyTorch's bf16 matmul (oneDNN) in the same run: the table of
issue 14's aim (>= 1.0x on every shape where the CPU has AMX or AVX512-BF16).

Per transpose case (fwd, dinp, dwt; bench/bench_gemm_bf16.py names them), ROUNDS rounds
alternate the two sides, odd rounds zhuyi first and even rounds PyTorch first, so that
neither always runs on a machine the other has just warmed or slowed:
  zhuyi    build/bench/bench_gemm MAX_M CASE bf16in   (zy_gemm_bf16 on bf16 operands)
  PyTorch  bench/bench_gemm_bf16.py MAX_M CASE        (torch.mm of bf16 tensors, at the
           best of bench/torch_peer.py's configurations)
Each side's figure for a shape is its best over the rounds; the ratio is zhuyi's over
PyTorch's. Both sides get as many timed calls: PyTorch's side runs once per configuration
of bench/torch_peer.py in each round (OpenBLAS's thread settings, which its bf16 matmul
does not use: more samples of the same oneDNN kernel), so zhuyi's runs as many times.
One difference remains that is not a setting: torch.mm of bf16 tensors writes a bf16 C,
zy_gemm_bf16 an fp32 one (twice the bytes stored).

Run:    /usr/bin/python3 bench/gemm_bf16_vs_torch.py [MAX_M] [ROUNDS]   (default 1024 2)
Needs:  make bench-build (build/bench/bench_gemm); PyTorch (Debian's python3-torch).
Output: the rows `case M K N zhuyi torch ratio` (GFLOP/s), then the geometric mean of the
ratios and the shapes below 1.0.
"""
import math
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import torch_peer  # noqa: E402  (its configurations; torch is not loaded here)
CASES = ("fwd", "dinp", "dwt")


def rows(cmd, env, cols):
    """The lines `case M K N ...` of a bench's output: {(case, M, K, N): the value in
    column cols}."""
    out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, check=True).stdout
    got = {}
    for line in out.decode().splitlines():
        f = line.split()
        if len(f) > cols and f[0] in CASES and all(x.isdigit() for x in f[1:4]):
            got[(f[0], int(f[1]), int(f[2]), int(f[3]))] = float(f[cols])
    return got


def main():
    max_m = sys.argv[1] if len(sys.argv) > 1 else "1024"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    zy = os.path.join(ROOT, "build", "bench", "bench_gemm")
    if not os.access(zy, os.X_OK):
        sys.exit("gemm_bf16_vs_torch.py: %s is missing: run `make bench-build` first" % zy)
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    shown = sorted(x for x in flags if x.startswith(("amx", "avx512_bf16")))
    print("bf16 GEMM, zhuyi against PyTorch, %s, %d cores, flags: %s" %
          (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(),
           " ".join(shown) or "(no AMX, no AVX512-BF16)"))
    os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
    env = dict(os.environ)
    runs = len(torch_peer.configurations())  # PyTorch's children per round
    zy_best, pt_best = {}, {}
    for case in CASES:
        for r in range(rounds):
            sides = [("zy", [zy, max_m, case, "bf16in"], 4, runs),
                     ("pt", ["/usr/bin/python3", "bench/bench_gemm_bf16.py", max_m, case], 5, 1)]
            if r % 2:
                sides.reverse()
            for side, cmd, col, times in sides:
                best = zy_best if side == "zy" else pt_best
                for _ in range(times):
                    for k, v in rows(cmd, env, col).items():
                        best[k] = max(best.get(k, 0.0), v)
            print("  %s: round %d of %d done" % (case, r + 1, rounds), file=sys.stderr)
    print("%-5s %5s %5s %6s  %8s %8s  %6s" % ("case", "M", "K", "N", "zhuyi", "torch", "ratio"))
    logs, behind = [], []
    for k in zy_best:  # the bench's order
        if k not in pt_best or not pt_best[k]:
            continue
        ratio = zy_best[k] / pt_best[k]
        logs.append(math.log(ratio))
        if ratio < 1.0:
            behind.append("%s %dx%dx%d %.2f" % (k + (ratio,)))
        print("%-5s %5d %5d %6d  %8.1f %8.1f  %6.2f" % (k + (zy_best[k], pt_best[k], ratio)))
    if logs:
        print("geometric mean %.3f, zhuyi ahead or level on %d of %d; behind: %s" %
              (math.exp(sum(logs) / len(logs)), len(logs) - len(behind), len(logs),
               "; ".join(behind) or "none"))


if __name__ == "__main__":
    main()
