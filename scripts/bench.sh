#!/bin/sh
# Run every benchmark binary (build/bench/*) and the PyTorch side of each comparison.
# Figures go to stdout; copy them with the date into docs/BENCHMARKS.md.
set -e
B=${BUILD:-build}
echo "zhuyi benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
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
