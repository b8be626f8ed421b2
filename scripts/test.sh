#!/bin/sh
# The whole test suite: the C tests (build/zhuyi-tests), the command-line tests
# (tests/cli/*.sh) and the PyTorch round trips of model directories the C tests wrote.
# Each suite prints "N passed, N failed" (and may print "N skipped" and "skip NAME (why)"
# lines before it); this script adds them up and ends with
#   skip NAME (why)        (every skipped test again, if any)
#   N skipped
#   total: N passed, N failed
# exiting non-zero if anything failed. Skipped tests count neither as passed nor failed.
# Usage: scripts/test.sh [BUILD_DIR] (default build).
B=${1:-build}
log=$(mktemp /tmp/zhuyi-test.XXXXXX) || exit 1
skips=$(mktemp /tmp/zhuyi-test-skips.XXXXXX) || exit 1
trap 'rm -f "$log" "$log.rc" "$skips"' EXIT
passed=0
failed=0
skipped=0

# Run one suite, show its output, and add its closing "N passed, N failed" line (a suite
# that dies without that line counts as one failure).
suite() {
    name=$1
    shift
    echo "== $name"
    "$@" 2>&1 | tee "$log"
    rc=$(cat "$log.rc" 2>/dev/null)
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=${line%% passed*}
        f=${line#*passed, }
        f=${f%% failed*}
        passed=$((passed + p))
        failed=$((failed + f))
        [ "$f" -eq 0 ] && [ "${rc:-0}" -ne 0 ] && failed=$((failed + 1))
        line=$(grep -E '^[0-9]+ skipped$' "$log" | tail -n 1)
        [ -n "$line" ] && skipped=$((skipped + ${line%% *}))
        grep '^skip ' "$log" >>"$skips"
    else
        failed=$((failed + 1))
        echo "FAIL $name: no 'N passed, N failed' line"
    fi
    rm -f "$log.rc"
}
run() { "$@"; echo $? >"$log.rc"; }

suite "C tests ($B/zhuyi-tests)" run "$B/zhuyi-tests"
for t in tests/cli/*.sh; do
    [ -f "$t" ] || continue
    [ "$t" = tests/cli/lib.sh ] && continue # sourced by the tests, not one
    suite "$t" run sh "$t" "$B/zhuyi"
done

# The directories the C tests gpt_io_roundtrip_dir_for_torch and gpt_heads_roundtrip_dir
# (GPT2ForSequenceClassification) wrote, loaded back into the PyTorch reference (Debian's
# python3-torch, only under /usr/bin/python3).
echo "== PyTorch round trip (tests/roundtrip_gpt.py)"
if /usr/bin/python3 tests/roundtrip_gpt.py build/gpt_roundtrip build/gpt_roundtrip_seqcls; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# The BERT directories bert_io_roundtrip_dirs_for_torch wrote (BertForPreTraining with the
# "bert." prefix, BertModel without) and bert_heads_roundtrip_dirs wrote (the three task
# heads), loaded back into the PyTorch reference.
echo "== PyTorch round trip (tests/roundtrip_bert.py)"
if /usr/bin/python3 tests/roundtrip_bert.py build/bert_roundtrip build/bert_roundtrip_base \
    build/bert_roundtrip_seqcls build/bert_roundtrip_tokcls build/bert_roundtrip_qa; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# The MarianMT directory marian_roundtrip_dir_for_torch wrote, loaded back into the
# PyTorch reference.
echo "== PyTorch round trip (tests/roundtrip_marian.py)"
if /usr/bin/python3 tests/roundtrip_marian.py build/marian_roundtrip; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# The LoRA adapter directories lora_adapter_dir_roundtrip wrote (a GPT-2 LM, a BERT
# sequence classifier), read as PEFT reads them by the PyTorch references.
echo "== PyTorch round trip (tests/roundtrip_lora.py)"
if /usr/bin/python3 tests/roundtrip_lora.py build/lora_roundtrip_gpt build/lora_roundtrip_bert; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

cat "$skips"
echo "$skipped skipped"
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
