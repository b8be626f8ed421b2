#!/bin/sh
# Before and after in one run: the GPT-2 124M training step and greedy generation
# (bench/bench_gpt.c) of a baseline commit and of this tree, alternated so that whatever
# else the machine does hits both, first as the machine is, then while a competing
# single-threaded process (`yes`) holds a core, at 1 and at 2 threads.
#   baseline: $ZY_BENCH_BASELINE (default 8351604, the last commit before the model
#   interface and the thread pool), exported with `git archive` and built in
#   BUILD/baseline/ once (its own Makefile, its own bench_gpt.c and API).
# Usage: scripts/bench_baseline.sh [BUILD]   (BUILD/bench/bench_gpt must be built)
# Outside a git clone, or when the commit is not in it, only this tree's rows are printed.
set -e
B=${1:-build}
BASE=${ZY_BENCH_BASELINE:-8351604}
after=$B/bench/bench_gpt
before=$B/baseline/bench_gpt
[ -x "$after" ] || { echo "scripts/bench_baseline.sh: $after is not built" >&2; exit 1; }
if [ ! -x "$before" ] && ! git rev-parse --verify -q "$BASE^{commit}" >/dev/null 2>&1; then
    echo "(baseline $BASE is not in this clone: this tree's rows only)"
    before=
elif [ ! -x "$before" ]; then
    src=$B/baseline/src
    rm -rf "$src" && mkdir -p "$src"
    git archive "$BASE" | tar -x -C "$src"
    echo "building the baseline $BASE in $src"
    make -C "$src" -s build/bench/bench_gpt >/dev/null
    cp "$src/build/bench/bench_gpt" "$before"
fi

# run LABEL BINARY [THREADS]: its step and generation lines, prefixed by the label.
run() {
    [ -n "$2" ] || return 0
    if [ -n "$3" ]; then ZY_THREADS=$3 "$2"; else "$2"; fi | sed -n "s/^zhuyi  /$1 /p"
}

echo "baseline $BASE ($(git log -1 --format=%cs "$BASE" 2>/dev/null)) vs this tree" \
    "($(git rev-parse --short HEAD 2>/dev/null)), $(nproc) cores," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in 1 2; do
    run "after: " "$after"
    run "before:" "$before"
done
yes >/dev/null &
YES=$!
trap 'kill $YES 2>/dev/null' EXIT
trap 'exit 1' INT TERM
for t in 1 2; do
    run "busy after: " "$after" "$t"
    run "busy before:" "$before" "$t"
done
