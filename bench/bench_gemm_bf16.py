"""PyTorch's matmul on the shapes of bench/bench_gemm.c, in bf16 (torch.mm of bf16
tensors: oneDNN, with AMX where the CPU has it) and in fp32 beside it (OpenBLAS), the
anchor for zhuyi's bf16 GEMM. The three transpose cases of a linear layer:
  fwd   out (M,N)  = inp (M,K) . W (N,K)^T     torch.mm(inp, W.t())
  dinp  dinp (M,K) = dout (M,N) . W (N,K)      torch.mm(dout, W)
  dwt   dW (N,K)   = dout (M,N)^T . inp (M,K)  torch.mm(dout.t(), inp)
M in 64, 256, 1024, 4096 and (K, N) in (768, 2304), (768, 768), (768, 3072), (3072, 768),
(768, 50257); operands are views of one set of buffers filled with uniform [-1, 1), the
result written in place (out=), as the C bench does. Each dtype is timed call by call
after a warm-up of at least 0.15 s of calls, in two rounds per shape (fp32 first, then
bf16 first), and the best call is reported: 2 to 7 timed calls per dtype (about 1 s of
work for the large products) and no less than 0.1 s of them per round (1 call with
ZY_BENCH_QUICK=1), as build/bench/bench_gemm times zhuyi. GFLOP/s = 2*M*N*K / time; a
call's time includes PyTorch's dispatch (microseconds: visible only on the smallest bf16 products).
PyTorch at its best: bench/torch_peer.py runs this under each OPENBLAS_CORETYPE and thread
setting and takes the best of each shape and dtype; the header says which oneDNN kernel
bf16 gets (ONEDNN_VERBOSE).
Run: /usr/bin/python3 bench/bench_gemm_bf16.py [max_M] [case]  (as bench_gemm; default all)
Output: one line per shape, `case M K N fp32 bf16` (GFLOP/s), beside bench_gemm's columns.
"""
import sys
import time

import torch_peer

MS = (64, 256, 1024, 4096)
KN = ((768, 2304), (768, 768), (768, 3072), (3072, 768), (768, 50257))
CASES = ("fwd", "dinp", "dwt")
DTYPES = ("fp32", "bf16")
MAX_M = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 30
ONLY = sys.argv[2] if len(sys.argv) > 2 else None


def shapes():
    for case in CASES:
        if ONLY and case != ONLY:
            continue
        for m in MS:
            if m > MAX_M:
                continue
            for k, n in KN:
                yield case, m, k, n


def key(case, m, k, n, dt):
    return "%-4s %4d x %4d x %5d %s" % (case, m, k, n, dt)


def summary(best):
    """One line per shape: the best fp32 and bf16 figures and the configurations."""
    print("%-5s %5s %5s %6s  %8s %8s  %s" % ("case", "M", "K", "N", "fp32", "bf16",
                                             "configurations (fp32, bf16)"))
    for case, m, k, n in shapes():
        r = [best.get(key(case, m, k, n, dt)) for dt in DTYPES]
        print("%-5s %5d %5d %6d  %8s %8s  %s" % (
            case, m, k, n, *("%8.1f" % x[0]["value"] if x else "-" for x in r),
            ", ".join(x[1] if x else "-" for x in r)))


if __name__ == "__main__":
    torch_peer.run_configs(summary, bf16=True)  # the parent: one child per configuration

import torch  # noqa: E402

WARMUP = 0.15
WINDOW = 0.1  # at least this long of timed calls, as build/bench/bench_gemm times zhuyi


def best_of(fn, n):
    t0 = time.perf_counter()
    while True:  # warm-up: page faults, workspaces, oneDNN's primitive cache, idle threads
        fn()
        if time.perf_counter() - t0 >= (0.05 if torch_peer.QUICK else WARMUP):
            break
    best, i, t0 = 1e30, 0, time.perf_counter()
    while i < n or (not torch_peer.QUICK and time.perf_counter() - t0 < WINDOW):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        i += 1
    return best


def main():
    torch.set_num_threads(torch_peer.THREADS)
    max_m = min(MAX_M, max(MS))
    max_n, max_k = max(n for _, n in KN), max(k for k, _ in KN)  # 50257 x 3072 at most
    g = torch.Generator().manual_seed(1)
    buf = {}
    for dt, dtype in zip(DTYPES, (torch.float32, torch.bfloat16)):
        buf[dt] = (
            (torch.rand(max_m * max_k, generator=g) * 2 - 1).to(dtype),  # inp
            (torch.rand(max(k * n for k, n in KN), generator=g) * 2 - 1).to(dtype),  # W
            (torch.rand(max_m * max_n, generator=g) * 2 - 1).to(dtype),  # dout
            torch.zeros(max(max_m * max_n, max(k * n for k, n in KN)), dtype=dtype))  # out
    print("torch %s torch.mm, %d threads, GFLOP/s (best of reps)"
          % (torch.__version__, torch.get_num_threads()))
    print("%-5s %5s %5s %6s  %8s %8s  %s" % ("case", "M", "K", "N", "fp32", "bf16", "reps"),
          flush=True)
    for case, m, k, n in shapes():
        flops = 2.0 * m * n * k
        reps = 1 if torch_peer.QUICK else max(2, min(7, int(1e11 / flops)))
        calls = {}
        for dt in DTYPES:
            inp, w, dout, out = buf[dt]
            inp, w, dout = inp[:m * k].view(m, k), w[:n * k].view(n, k), dout[:m * n].view(m, n)
            if case == "fwd":
                a, b, c = inp, w.t(), out[:m * n].view(m, n)
            elif case == "dinp":
                a, b, c = dout, w, out[:m * k].view(m, k)
            else:
                a, b, c = dout.t(), inp, out[:n * k].view(n, k)
            calls[dt] = (lambda a=a, b=b, c=c: torch.mm(a, b, out=c))
        best = {dt: 1e30 for dt in DTYPES}
        for rnd in range(2):  # fp32 first, then bf16 first
            for dt in (DTYPES if rnd == 0 else DTYPES[::-1]):
                n_calls = max(1, (reps + 1 - rnd) // 2)
                best[dt] = min(best[dt], best_of(calls[dt], n_calls))
        gf = {dt: flops / best[dt] * 1e-9 for dt in DTYPES}
        print("%-5s %5d %5d %6d  %8.1f %8.1f  %d" % (case, m, k, n, gf["fp32"], gf["bf16"],
                                                   reps), flush=True)
        for dt in DTYPES:
            torch_peer.report(key(case, m, k, n, dt), gf[dt], "GFLOP/s", "", higher=True,
                              echo=False)


if __name__ == "__main__":
    main()
