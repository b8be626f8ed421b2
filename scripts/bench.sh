#!/bin/sh
# Run every benchmark binary (build/bench/*) and the PyTorch side of each comparison, then
# the GPT-2 step and generation beside a baseline build, quiet and on a busy machine.
# Figures go to stdout; copy them with the date into docs/BENCHMARKS.md.
set -e
B=${BUILD:-build}
echo "zhuyi benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
for b in "$B"/bench/*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b"
done
# PyTorch side of the side-by-side comparisons (same machine, same run).
for p in bench/bench_*.py; do
    [ -f "$p" ] || continue
    echo "== $(basename "$p") (PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
    /usr/bin/python3 "$p"
done
# Before and after, quiet and busy: the GPT-2 step and generation of this tree against the
# baseline commit, alternated, then while a competing single-threaded process (`yes`)
# holds a core, at 1 and 2 threads (scripts/bench_baseline.sh).
echo "== bench_gpt: this tree and the baseline, quiet and busy"
scripts/bench_baseline.sh "$B"
