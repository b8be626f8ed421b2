#!/bin/sh
# Run every benchmark binary (build/bench/*) and the PyTorch side of each comparison, then
# the GPT-2 step and generation again on a busy machine. Figures go to stdout; copy them
# with the date into docs/BENCHMARKS.md.
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
for p in bench/*.py; do
    [ -f "$p" ] || continue
    echo "== $(basename "$p") (PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
    /usr/bin/python3 "$p"
done
# Busy machine: the same GPT-2 step and generation while a competing single-threaded
# process (`yes`) holds a core, at 1 thread and at 2 threads. On 2 cores, 2 threads should
# not be much slower than 1 (kernels whose threads spin at barriers fall far behind).
if [ -x "$B/bench/bench_gpt" ]; then
    echo "== bench_gpt on a busy machine: \`yes >/dev/null\` runs alongside"
    yes >/dev/null &
    YES=$!
    trap 'kill $YES 2>/dev/null' EXIT
    trap 'exit 1' INT TERM
    for t in 1 2; do
        ZY_THREADS=$t "$B/bench/bench_gpt" | sed -n 's/^zhuyi  /busy: /p'
    done
    kill $YES
    trap - EXIT INT TERM
fi
