"""PyTorch at its best, for every PyTorch side of `make bench` (bench/bench_*.py).

Why: Debian's PyTorch 1.13 does its fp32 matmuls in Debian's OpenBLAS 0.3.21, whose
run-time core detection does not know some newer CPUs and then falls back to its SSE3
"Prescott" kernels unless OPENBLAS_CORETYPE names a core; and its BLAS threads (a
pthread build) spin beside torch's OpenMP threads, two pools on the same cores. A PyTorch
figure taken as the library happens to start can be several times slower than PyTorch
set up by someone who knows this. So each measurement is taken under every candidate
configuration and the best is the peer's result. The environment must be set before
torch (and so OpenBLAS and libgomp) is loaded, hence one fresh child process per
configuration.

The configurations, crossed:
  - OPENBLAS_CORETYPE: OpenBLAS's own choice ("auto"), then SkylakeX and Cooperlake
    where the CPU has AVX-512 (Cooperlake: with AVX512-BF16), Haswell where it has AVX2
    and FMA but no AVX-512. A forced name is tried only when it gives a core that no
    earlier candidate gave (each is probed in a child: openblas_get_corename(); or see
    `OPENBLAS_VERBOSE=2`). 0.3.21 takes SkylakeX and Haswell by name; Cooperlake is not
    among its forced names ("Core not found: Cooperlake"), and an unknown name falls back
    to a choice by CPU features -- Cooperlake with AVX512-BF16, else SkylakeX with
    AVX-512 -- which is not always what its own detection picks: on a CPU model it does
    not know it may pick SkylakeX, or Prescott, for an AVX512-BF16 CPU.
  - threads, n = $ZY_THREADS or all cores: OMP_NUM_THREADS=n with OPENBLAS_NUM_THREADS=1
    ("n+1": one BLAS thread per OpenMP thread), and both n ("n+n"); torch.set_num_threads(n)
    in the child (the script calls it with torch_peer.THREADS).
$ZY_PEER_CORES (e.g. "auto SkylakeX") and $ZY_PEER_THREADS (e.g. "2+1 2+2 1+1": OpenMP +
OpenBLAS threads) replace either list; an OPENBLAS_CORETYPE in the caller's environment
is the only core tried. $ZY_BENCH_QUICK=1 asks the scripts for few repetitions (a check
that they run, not a measurement).

Use, in a bench script, before torch is imported:

    import torch_peer
    if __name__ == "__main__":
        torch_peer.run_configs()  # parent: runs this script once per configuration, exits
    import torch
    ...
    torch.set_num_threads(torch_peer.THREADS)
    ...
    torch_peer.report("train step", seconds * 1e3, "ms", line)  # line: the figure, printed

Each child prints its lines as it goes; the parent prints them under a header naming the
configuration, then one table of every measurement under every configuration, then, per
measurement, the best figure's line with its configuration. A measurement is a lower-is-
better time unless report(..., higher=True). Set ZY_PEER_CHILD=1 to run a script once in
the environment as it is.
Not part of the library: it only runs benchmark scripts.
"""
import ctypes
import json
import os
import subprocess
import sys

QUICK = os.environ.get("ZY_BENCH_QUICK", "0") not in ("", "0")
CHILD = bool(os.environ.get("ZY_PEER_CHILD"))
_N = int(os.environ.get("ZY_THREADS", "0") or 0) or os.cpu_count() or 1
# In a child, the thread count its configuration gives torch; in the parent, n.
THREADS = int(os.environ.get("OMP_NUM_THREADS", _N)) if CHILD else _N
_TAG = "#torch_peer "


def report(key, value, unit, line, higher=False, echo=True):
    """In a child: print `line` (unless echo is False: the script prints its own) and
    record the measurement `key` (value in `unit`)."""
    if echo:
        print(line, flush=True)
    print(_TAG + json.dumps({"key": key, "value": value, "unit": unit, "line": line,
                             "higher": higher}), flush=True)


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("flags"):
                    return set(ln.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_bf16():
    """Whether the CPU has bf16 dot products (AVX512-BF16 or AMX): the bench scripts then
    time bf16 autocast too, as zhuyi's side times bf16 matmuls (zy_bf16_level)."""
    flags = _cpu_flags()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


_PROBE_CORE = ("import ctypes\n"
               "try:\n"
               "    f = ctypes.CDLL('libblas.so.3').openblas_get_corename\n"
               "    f.restype = ctypes.c_char_p\n"
               "    print(f().decode())\n"
               "except (OSError, AttributeError):\n"
               "    print('(not OpenBLAS)')\n")


def _probe_core(coretype):
    """The core OpenBLAS (torch's libblas.so.3) picks under OPENBLAS_CORETYPE=coretype."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    r = subprocess.run([sys.executable, "-c", _PROBE_CORE], env=env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return r.stdout.strip() or "?"


def _openblas_version():
    try:
        f = ctypes.CDLL("libblas.so.3").openblas_get_config
        f.restype = ctypes.c_char_p
        return " ".join(f().decode().split()[:2])
    except (OSError, AttributeError):
        return "(BLAS is not OpenBLAS)"


def _cores():
    """[(OPENBLAS_CORETYPE or None for auto, the core it gives)], distinct cores only."""
    given = os.environ.get("OPENBLAS_CORETYPE")
    if given:
        names = [given]
    elif os.environ.get("ZY_PEER_CORES"):
        names = [None if c == "auto" else c for c in os.environ["ZY_PEER_CORES"].split()]
    else:
        flags = _cpu_flags()
        names = [None]
        if "avx512f" in flags:
            names.append("SkylakeX")
            if "avx512_bf16" in flags:
                names.append("Cooperlake")
        elif "avx2" in flags and "fma" in flags:
            names.append("Haswell")
    out, seen = [], set()
    for name in names:
        core = _probe_core(name)
        note = "OPENBLAS_CORETYPE=%s -> %s" % (name or "(auto)", core)
        if core in seen:
            print("torch_peer: %s, a core already tried: skipped" % note)
            continue
        print("torch_peer: %s" % note)
        seen.add(core)
        out.append((name, core))
    return out


def _thread_pairs():
    given = os.environ.get("ZY_PEER_THREADS")
    if given:  # "omp+blas ...", e.g. "2+1 2+2 1+1"
        return [tuple(int(x) for x in p.split("+")) for p in given.split()]
    return [(_N, 1), (_N, _N)] if _N > 1 else [(1, 1)]


def _info():
    """PyTorch's version and whether oneDNN is there, from a child (torch is not loaded in
    the parent)."""
    code = ("import torch; print(torch.__version__, torch.backends.mkldnn.is_available())")
    r = subprocess.run([sys.executable, "-c", code], text=True, stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    v = r.stdout.split()
    return (v[0], v[1] == "True") if len(v) == 2 else ("?", False)


_PROBE_DNNL = """
import torch
a, w = torch.randn(64, 256).bfloat16(), torch.randn(512, 256).bfloat16()
g = torch.randn(64, 512).bfloat16()
for name, x, y in (("fwd", a, w.t()), ("dinp", g, w), ("dwt", g.t(), a)):
    print("case", name, flush=True)
    torch.mm(x, y, out=torch.empty(x.shape[0], y.shape[1], dtype=torch.bfloat16))
"""


def onednn_bf16_kernels():
    """Which oneDNN kernel (e.g. brg:avx512_core_amx_bf16) torch's bf16 matmul runs for
    each transpose case of a linear layer, from ONEDNN_VERBOSE=1 in a child: a dict
    case -> implementation ("(not oneDNN)" when no oneDNN primitive ran), and oneDNN's
    own line naming the ISA it found."""
    env = dict(os.environ, ONEDNN_VERBOSE="1", DNNL_VERBOSE="1", OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", _PROBE_DNNL], env=env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    kernels, isa, case = {}, "", None
    for ln in r.stdout.splitlines():
        f = ln.split(",")
        if ln.startswith("case "):
            case = ln.split()[1]
            kernels[case] = "(not oneDNN)"
        elif len(f) > 4 and f[1] == "exec" and f[3] in ("matmul", "inner_product") and case:
            kernels[case] = f[4]
        elif len(f) > 3 and f[1] == "info" and f[3].startswith("isa:"):
            isa = f[3][4:]
    return kernels, isa


def _label(core, pair):
    return "core %s (OPENBLAS_CORETYPE=%s), OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d" % (
        core[1], core[0] or "auto", pair[0], pair[1])


def _short(core, pair):
    return "%s/%d+%d" % (core[1], pair[0], pair[1])


def _run_child(core, pair):
    env = dict(os.environ, ZY_PEER_CHILD="1", PYTHONUNBUFFERED="1",
               OMP_NUM_THREADS=str(pair[0]), OPENBLAS_NUM_THREADS=str(pair[1]))
    env.pop("OPENBLAS_CORETYPE", None)
    if core[0]:
        env["OPENBLAS_CORETYPE"] = core[0]
    results = {}
    p = subprocess.Popen([sys.executable, os.path.abspath(sys.argv[0])] + sys.argv[1:],
                         env=env, stdout=subprocess.PIPE, text=True)
    for ln in p.stdout:
        if ln.startswith(_TAG):
            r = json.loads(ln[len(_TAG):])
            results[r["key"]] = r
        else:
            sys.stdout.write("  " + ln)
            sys.stdout.flush()
    return p.wait(), results


def _table(configs, runs):
    keys = []
    for _, res in runs:
        keys += [k for k in res if k not in keys]
    if not keys:
        return
    w = max(len(k) for k in keys) + 2
    cols = [_short(*c) for c in configs]
    cw = max(12, max(len(c) for c in cols) + 2)
    print("torch_peer: every configuration (%s):" % ", ".join(
        sorted({r["unit"] + (" higher is better" if r["higher"] else " lower is better")
                for _, res in runs for r in res.values()})))
    print("%-*s" % (w, "measurement") + "".join("%*s" % (cw, c) for c in cols))
    for k in keys:
        cells = []
        for _, res in runs:
            cells.append("%*.1f" % (cw, res[k]["value"]) if k in res else "%*s" % (cw, "-"))
        print("%-*s" % (w, k) + "".join(cells))


def configurations():
    """The configurations run_configs runs, in order: [(core, (omp, blas threads))]."""
    return [(c, p) for c in _cores() for p in _thread_pairs()]


def run_configs(summary=None, bf16=False):
    """In a child, return at once. In the parent: run this script (same arguments) under
    each configuration, print every figure and the best of each measurement, and exit
    (status 1 when no configuration ran to the end). summary(best), if given, prints the
    best figures its own way: best is {key: (record, configuration label)}, the record a
    dict with value, unit, line, higher. bf16: the script runs bf16 matmuls; print once
    which oneDNN kernel they get (onednn_bf16_kernels)."""
    if CHILD:
        return
    flags = _cpu_flags()
    version, mkldnn = _info()
    print("torch_peer: PyTorch %s (oneDNN %s), %s, CPU %s (%s), n = %d threads%s"
          % (version, "available" if mkldnn else "not available", _openblas_version(),
             _cpu_model(), " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
                                    if f in flags) or "no AVX2",
             _N, ", quick mode" if QUICK else ""), flush=True)
    if bf16:
        kernels, isa = onednn_bf16_kernels()
        print("torch_peer: bf16 torch.mm runs %s (ONEDNN_VERBOSE=1); oneDNN's ISA: %s"
              % (", ".join("%s %s" % kv for kv in kernels.items()) or "?", isa or "?"),
              flush=True)
    configs = configurations()
    print("torch_peer: %d configurations" % len(configs), flush=True)
    runs, failed = [], 0
    for i, (core, pair) in enumerate(configs):
        print("-- configuration %d of %d: %s" % (i + 1, len(configs), _label(core, pair)),
              flush=True)
        status, res = _run_child(core, pair)
        if status != 0:
            print("torch_peer: configuration %d failed (exit status %d)" % (i + 1, status))
            failed += 1
        runs.append(((core, pair), res))
    if all(not res for _, res in runs):
        print("torch_peer: no configuration reported a figure")
        sys.exit(1)
    _table(configs, runs)
    best = {}
    for cfg, res in runs:
        for k, r in res.items():
            b = best.get(k)
            if b is None or (r["value"] > b[0]["value"] if r["higher"]
                             else r["value"] < b[0]["value"]):
                best[k] = (r, _short(*cfg))
    print("torch_peer: best of %d configurations%s, each measurement on its own:"
          % (len(configs), " (%d failed)" % failed if failed else ""))
    if summary:
        summary(best)
    else:
        for k, (r, label) in best.items():
            print("best: %s  [%s]" % (r["line"], label))
    sys.stdout.flush()
    sys.exit(1 if failed == len(configs) else 0)
