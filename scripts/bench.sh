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
