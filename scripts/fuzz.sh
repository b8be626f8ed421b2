#!/bin/sh
# Run the libFuzzer harnesses built in DIR (make fuzz builds them into build/fuzz/), each
# for $FUZZ_SECONDS seconds (default 60), one after another, and say what each did.
# Usage: scripts/fuzz.sh [DIR] [HARNESS...]   (default: every fuzz/fuzz_*.c)
#
# Each harness reads its committed seeds (fuzz/corpus/NAME/, never written) and its
# working corpus DIR/corpus-NAME/ (where new inputs go, kept between runs), with the
# dictionary fuzz/dict/NAME.dict. Limits: -rss_limit_mb=2048, -malloc_limit_mb=1024,
# -timeout=30 per input, -max_len per harness (below). Logs: DIR/logs/NAME.log.
# A crash, leak, timeout, out-of-memory or violated property stops that harness; its
# input is saved as DIR/crashes/NAME-crash-<sha1> (or leak-, timeout-, oom-), which is
# named, and the script exits non-zero after running the rest. Reproduce with
#   DIR/NAME DIR/crashes/NAME-crash-<sha1>
# The summary line per harness: seconds, executions, executions/s, the final coverage
# (libFuzzer's cov: edges, ft: features) and the working corpus size.
set -u
D=${1:-build/fuzz}
[ $# -gt 0 ] && shift
S=${FUZZ_SECONDS:-60}
names="$*"
if [ -z "$names" ]; then
    names=$(for f in fuzz/fuzz_*.c; do basename "$f" .c; done)
fi
mkdir -p "$D/crashes" "$D/logs"
failed=""

max_len() {
    case "$1" in
    fuzz_tokenizer_json | fuzz_gpt2_files | fuzz_gguf) echo 16384 ;;
    fuzz_safetensors) echo 8192 ;;
    *) echo 4096 ;;
    esac
}

# The value after "key" on the last line of the log that has it.
field() { grep -o "$2 *[0-9]*" "$1" | tail -n 1 | grep -o '[0-9]*$'; }

printf '%-22s %5s %11s %8s %7s %7s %8s  %s\n' harness s execs exec/s cov ft corpus result
for n in $names; do
    bin="$D/$n"
    if [ ! -x "$bin" ]; then
        echo "$n: $bin is not built (make fuzz builds it)" >&2
        failed="$failed $n"
        continue
    fi
    corpus="$D/corpus-$n"
    mkdir -p "$corpus"
    dict=""
    [ -f "fuzz/dict/$n.dict" ] && dict="-dict=fuzz/dict/$n.dict"
    log="$D/logs/$n.log"
    before=$(ls "$D/crashes" | grep "^$n-" | sort)
    start=$(date +%s)
    # Pool threads and allocations that outlive an input are the library's to free; leak
    # checking stays on (libFuzzer's default with ASan).
    UBSAN_OPTIONS=print_stacktrace=1 "$bin" -max_total_time="$S" -max_len="$(max_len "$n")" \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=30 -print_final_stats=1 \
        -artifact_prefix="$D/crashes/$n-" $dict "$corpus" "fuzz/corpus/$n" >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    execs=$(field "$log" 'stat::number_of_executed_units:')
    rate=$(field "$log" 'stat::average_exec_per_sec:')
    cov=$(field "$log" 'cov:')
    ft=$(field "$log" 'ft:')
    units=$(ls "$corpus" | wc -l)
    result=ok
    [ "$rc" -ne 0 ] && result="FAILED (exit $rc)"
    printf '%-22s %5s %11s %8s %7s %7s %8s  %s\n' "$n" "$secs" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "$units" "$result"
    if [ "$rc" -ne 0 ]; then
        failed="$failed $n"
        grep -E 'ERROR: |PROPERTY VIOLATED|SUMMARY: |^ +#[0-9]+ 0x' "$log" | head -n 20 | sed 's/^/    /'
        for a in $(ls "$D/crashes" | grep "^$n-" | sort); do
            case " $(echo $before) " in *" $a "*) continue ;; esac
            echo "    input saved: $D/crashes/$a (reproduce: $bin $D/crashes/$a)"
        done
        echo "    log: $log"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed"
    exit 1
fi
echo "fuzz: all harnesses ran ${S}s each without a finding"
