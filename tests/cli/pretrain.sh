#!/bin/sh
# CLI tests of `zhuyi pretrain gpt`: a tiny run and its files, metrics.jsonl lines,
# --resume bit-exact (cmp), Ctrl-C (kill -INT) saves, bad inputs fail with a message and
# leave nothing behind. Makes its own few-KB text; needs no network and no timing.
# Usage: tests/cli/pretrain.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start pretrain "$@"
export ZY_THREADS=${ZY_THREADS:-2}

# A few KB of text with some repetition, so a small model learns something.
i=0
while [ $i -lt 60 ]; do
    echo "And the Lord spake unto Moses, saying, Speak unto the children of Israel $i."
    echo "In the beginning God created the heaven and the earth; and it was good."
    i=$((i + 1))
done >data.txt
TINY="--config gpt-nano --batch 2 --seq 16 --val-fraction 0.1 --eval-batches 2"

# ---- a tiny run ---------------------------------------------------------------------------
if "$Z" pretrain gpt --help >help 2>err && grep -q -- "--grad-accum" help; then
    missing=""
    for f in --config --tokenizer --init --resume --data --val-data --val-fraction \
        --no-shuffle --steps --batch --seq --grad-accum --lr --min-lr --warmup --schedule \
        --weight-decay --grad-clip --dropout --seed --out --eval-every --eval-batches \
        --save-every --stop-at --log-every --threads --skip-nonfinite --best-metric \
        --patience --precision; do
        grep -q -- "$f" help || missing="$missing $f"
    done
    [ -z "$missing" ] && ok "--help lists every flag" || bad "--help misses$missing"
else
    bad "--help"
fi

if "$Z" pretrain gpt --data data.txt $TINY --tokenizer bpe:300 --steps 12 --eval-every 5 \
    --log-every 1 --out run >out 2>err; then
    ok "tiny run exits 0"
else
    bad "tiny run exits 0"
fi
all=1
for f in config.json model.safetensors tokenizer.json checkpoint/training_state.safetensors \
    checkpoint/model.safetensors checkpoint/config.json metrics.jsonl loss.svg; do
    [ -s "run/$f" ] || { all=0; echo "     missing run/$f"; }
done
[ $all = 1 ] && ok "run/ holds the model dir, the checkpoint, metrics and loss.svg" || bad "output files"
num='-?[0-9][0-9.e+-]*'
n_step=$(grep -cE "^\{\"step\":[0-9]+,\"loss\":$num,\"lr\":$num,\"ms\":$num,\"tokens_per_s\":$num\}$" run/metrics.jsonl)
n_val=$(grep -cE "^\{\"step\":(5|10|12),\"val_loss\":$num\}$" run/metrics.jsonl)
n_all=$(wc -l <run/metrics.jsonl)
if [ "$n_step" = 12 ] && [ "$n_val" = 3 ] && [ "$n_all" = 15 ]; then
    ok "metrics.jsonl: 12 step lines and 3 val_loss lines parse"
else
    bad "metrics.jsonl: $n_step step lines, $n_val val lines, $n_all lines"
fi
grep -q "<svg" run/loss.svg && grep -q "</svg>" run/loss.svg && grep -q "val " run/loss.svg &&
    ok "loss.svg is a whole SVG with train and val" || bad "loss.svg"
grep -q "step 12/12" err && grep -q "val loss" err && ok "plain progress lines (not a terminal)" ||
    bad "progress lines"
grep -q "val loss" out && ok "summary on stdout with the val loss" || bad "summary"

"$Z" pretrain gpt --init run --data data.txt --batch 2 --seq 16 --val-fraction 0.1 --steps 2 \
    --out init_ok >/dev/null 2>err && cmp -s run/tokenizer.json init_ok/tokenizer.json &&
    grep -q '"vocab_size": *300' init_ok/config.json &&
    ok "--init DIR continues from a model directory with its tokenizer" || bad "--init DIR"

# ---- resume, bit-exact --------------------------------------------------------------------
A="--data data.txt $TINY --tokenizer byte --schedule constant --warmup 3 --dropout 0.1"
"$Z" pretrain gpt $A --steps 10 --out full >/dev/null 2>err &&
    "$Z" pretrain gpt $A --steps 5 --out half >/dev/null 2>err &&
    "$Z" pretrain gpt --out half --resume --steps 10 >/dev/null 2>err &&
    cmp -s full/model.safetensors half/model.safetensors &&
    ok "10 steps == 5 + resume 5 (constant schedule): model.safetensors identical" ||
    bad "resume bit-exact (constant schedule)"
B="--data data.txt $TINY --tokenizer byte --dropout 0.1 --grad-accum 2 --steps 10"
"$Z" pretrain gpt $B --out full2 >/dev/null 2>err &&
    "$Z" pretrain gpt $B --stop-at 5 --out half2 >/dev/null 2>err &&
    "$Z" pretrain gpt --out half2 --resume >/dev/null 2>err &&
    cmp -s full2/model.safetensors half2/model.safetensors &&
    cmp -s full2/checkpoint/training_state.safetensors half2/checkpoint/training_state.safetensors &&
    ok "cosine + shuffle + accum: --stop-at 5 then --resume: model and state identical" ||
    bad "resume bit-exact (cosine, --stop-at)"
[ "$(grep -c '"loss"' half2/metrics.jsonl)" = 10 ] &&
    ok "resumed metrics.jsonl continues (10 step lines)" || bad "resumed metrics.jsonl"

# ---- Ctrl-C -------------------------------------------------------------------------------
"$Z" pretrain gpt --data data.txt $TINY --tokenizer byte --steps 1000000 --save-every 0 \
    --eval-every 0 --out intr >out 2>err &
pid=$!
i=0
while [ $i -lt 600 ]; do # up to 60 s for 3 steps, however slow the machine
    [ -s intr/metrics.jsonl ] && [ "$(wc -l <intr/metrics.jsonl)" -ge 3 ] && break
    sleep 0.1
    i=$((i + 1))
done
kill -INT $pid
wait $pid
rc=$?
step=$(sed -n 's/.*interrupted at step \([0-9]*\).*/\1/p' err)
if [ $rc = 130 ] && [ -n "$step" ] && [ -s intr/model.safetensors ] &&
    [ -s intr/checkpoint/training_state.safetensors ] && ! ls intr/*.tmp* >/dev/null 2>&1; then
    ok "kill -INT: saved at step $step, exit 130, no temporary files"
else
    bad "kill -INT (exit $rc)"
fi
"$Z" pretrain gpt --out intr --resume --steps $((step + 2)) >out 2>err &&
    grep -q "step $((step + 2))/" out && ok "resume after Ctrl-C" || bad "resume after Ctrl-C"

# A resumed run may be cut short inside its warmup (--steps below --warmup): allowed.
"$Z" pretrain gpt --data data.txt $TINY --tokenizer byte --steps 30 --warmup 20 --stop-at 3 \
    --eval-every 0 --out short >/dev/null 2>err
"$Z" pretrain gpt --out short --resume --steps 5 >out 2>err && grep -q "step 5/" out &&
    ok "--resume --steps 5 stops inside a 20-step warmup" || bad "--resume --steps inside warmup"

# ---- bad input: non-zero exit, a message, nothing written ---------------------------------
: >empty.txt
printf 'short text' >short.txt
echo '{"model": {"type": "BPE"' >broken.json
printf 'In the beginning \377\376 \303( God\n%.0s' $(seq 1 40) >binary.txt
mkdir -p badmodel && cp run/config.json run/tokenizer.json badmodel/ &&
    head -c 100 run/model.safetensors >badmodel/model.safetensors
pretrain_gpt() { "$Z" pretrain gpt "$@"; }
expect_fail "missing data" "missing.txt" pretrain_gpt --data missing.txt --out out_bad
expect_fail "empty data" "empty" pretrain_gpt --data empty.txt --out out_bad
expect_fail "shorter than a batch" "fewer than one batch" pretrain_gpt --data short.txt \
    --config gpt-nano --val-fraction 0 --out out_bad
expect_fail "validation part too short" "val-fraction" pretrain_gpt --data data.txt $TINY \
    --val-fraction 0.001 --out out_bad
expect_fail "unreadable tokenizer" "broken.json" pretrain_gpt --data data.txt \
    --tokenizer broken.json --out out_bad
expect_fail "tokenizer/model vocab mismatch" "vocab_size" pretrain_gpt --data data.txt \
    --init run --tokenizer byte --out out_bad
expect_fail "malformed model dir" "model.safetensors" pretrain_gpt --data data.txt \
    --init badmodel --out out_bad
expect_fail "missing --out" "--out" pretrain_gpt --data data.txt
expect_fail "unknown flag" "--bogus" pretrain_gpt --data data.txt --bogus 1 --out out_bad
expect_fail "bad value" "--lr" pretrain_gpt --data data.txt --lr fast --out out_bad
expect_fail "seq above n_positions" "n_positions" pretrain_gpt --data data.txt \
    --config gpt-nano --seq 65 --out out_bad
expect_fail "unknown preset" "preset" pretrain_gpt --data data.txt --config gpt-9 --out out_bad
# Contradictory schedules: a decay that climbs, a warmup the run never finishes.
expect_fail "--min-lr above --lr" "--min-lr 0.01 is above --lr 0.001" pretrain_gpt \
    --data data.txt $TINY --lr 1e-3 --min-lr 1e-2 --out out_bad
expect_fail "--min-lr above --lr (linear)" "--min-lr 0.01 is above --lr 0.001" pretrain_gpt \
    --data data.txt $TINY --schedule linear --lr 1e-3 --min-lr 1e-2 --out out_bad
expect_fail "--warmup above --steps" "--warmup 20 is longer than --steps 10" pretrain_gpt \
    --data data.txt $TINY --steps 10 --warmup 20 --out out_bad
expect_fail "resume with nothing saved" "nothing to resume" pretrain_gpt --out out_bad --resume
# Refusals on an existing directory must leave it as it was.
sum_before=$(cat run/* | cksum)
expect_fail "existing model without --resume" "already holds a model" pretrain_gpt \
    --data data.txt --out run
expect_fail "changed flag on --resume" "--lr" pretrain_gpt --out run --resume --lr 1e-3 \
    --steps 20
[ "$(cat run/* | cksum)" = "$sum_before" ] && ok "refused runs left run/ untouched" ||
    bad "run/ changed"
"$Z" pretrain gpt --data binary.txt $TINY --tokenizer byte --steps 2 --out utf8 >/dev/null 2>err &&
    ok "invalid UTF-8 text is accepted (byte-level BPE)" || bad "invalid UTF-8 text"

# ---- keeping the best model, stopping early ------------------------------------------------
# The best validation loss's weights stay in DIR; the checkpoint has the newest.
# (a constant rate this high makes the loss climb after step 2, in fp32 matmuls: with bf16
# ones the path differs and may end lower)
if "$Z" pretrain gpt --data data.txt $TINY --tokenizer byte --steps 12 --eval-every 2 \
    --lr 0.3 --warmup 0 --schedule constant --best-metric loss --precision fp32 \
    --out best >out 2>err; then
    # argmin of val_loss in metrics.jsonl (first of equals) against what the run reports
    want=$(grep val_loss best/metrics.jsonl |
        sed 's/.*"step":\([0-9]*\),"val_loss":\([^,}]*\).*/\2 \1/' | sort -g -s -k1,1 | head -1)
    got=$(sed -n 's/.*the best model: val loss \([0-9.]*\) at step \([0-9]*\).*/\1 \2/p' out)
    if [ -n "$got" ] && [ "${got#* }" = "${want#* }" ] &&
        awk -v a="${got% *}" -v b="${want% *}" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }'; then
        ok "--best-metric loss: the run reports the lowest val loss of metrics.jsonl ($got)"
    else
        bad "--best-metric loss: reported '$got', metrics.jsonl has '$want'"
    fi
    if [ "${got#* }" != 12 ] && ! cmp -s best/model.safetensors best/checkpoint/model.safetensors; then
        ok "--best-metric: DIR holds the best weights, the checkpoint the newest"
    else
        bad "--best-metric: DIR's weights are the newest"
    fi
else
    bad "--best-metric loss run"
fi
# With --lr 0 the loss never improves: --patience 2 stops at the third evaluation, also
# across a --resume (the evaluations since the best are in the state).
if "$Z" pretrain gpt --data data.txt $TINY --tokenizer byte --steps 20 --eval-every 2 \
    --lr 0 --min-lr 0 --patience 2 --stop-at 4 --out pat >out 2>err &&
    "$Z" pretrain gpt --out pat --resume >out 2>err &&
    grep -q "stopping early" err && grep -q "^step 6/20" out &&
    [ -s pat/model.safetensors ]; then
    ok "--patience 2 stops at step 6, counting evaluations across --resume"
else
    bad "--patience across --resume"; sed 's/^/     | /' out
fi
expect_fail "--best-metric without validation" "needs validation data" pretrain_gpt \
    --data data.txt $TINY --val-fraction 0 --best-metric loss --out out_bad
"$Z" pretrain gpt --data data.txt $TINY --tokenizer byte --steps 2 --best-metric f1 \
    --out nometric >out 2>err
grep -q "best-metric f1: the evaluation reports no such metric (it reports loss)" err &&
    ok "--best-metric of a metric the model lacks names the ones it has" ||
    bad "--best-metric unknown metric"

# ---- matmul precision ------------------------------------------------------------------------
# bf16 matmuls (AMX or AVX512-BF16 here, else emulated: slow but exact, and gpt-nano is
# tiny): recorded in the state, kept on --resume (bit-exact across the stop), refused as a
# change on --resume; fp32 gives other weights.
P="--data data.txt $TINY --tokenizer byte --steps 4 --eval-every 2"
if "$Z" pretrain gpt $P --precision bf16 --out bf >out 2>err &&
    "$Z" pretrain gpt $P --precision bf16 --stop-at 2 --out bfhalf >/dev/null 2>&1 &&
    "$Z" pretrain gpt --out bfhalf --resume >/dev/null 2>&1 &&
    "$Z" pretrain gpt $P --precision fp32 --out fp >/dev/null 2>&1; then
    grep -q "bf16 (.*) matmuls" err && ok "--precision bf16: the run names its bf16 path" ||
        bad "--precision bf16: no path in: $(head -1 err)"
    grep -aq '"precision":"bf16"' bf/checkpoint/training_state.safetensors &&
        grep -aq '"precision":"fp32"' fp/checkpoint/training_state.safetensors &&
        ok "the training state records the precision" || bad "precision not in the state"
    cmp -s bf/model.safetensors bfhalf/model.safetensors &&
        ok "--precision bf16 --resume is bit-exact" || bad "bf16 resume differs"
    ! cmp -s bf/model.safetensors fp/model.safetensors &&
        ok "fp32 and bf16 matmuls give different weights" || bad "bf16 run equals fp32"
else
    bad "--precision runs"; sed 's/^/     | /' err
fi
# The global option gives inference commands bf16 matmuls too (prompt-sized products):
# the same model's loss within a percent of fp32's.
if l32=$("$Z" eval bf --data data.txt --json 2>/dev/null) &&
    l16=$("$Z" --precision bf16 eval bf --data data.txt --json 2>/dev/null); then
    a=$(echo "$l32" | sed 's/.*"loss":\([0-9.]*\).*/\1/')
    b=$(echo "$l16" | sed 's/.*"loss":\([0-9.]*\).*/\1/')
    awk -v a="$a" -v b="$b" 'BEGIN { exit !(a > 0 && (a - b) / a < 0.01 && (b - a) / a < 0.01) }' &&
        ok "zhuyi --precision bf16 eval: loss $b against fp32's $a" ||
        bad "bf16 eval loss $b, fp32 $a"
else
    bad "zhuyi --precision bf16 eval"
fi
expect_fail "--precision changed on --resume" "--precision cannot be given with --resume" \
    pretrain_gpt --out bf --resume --precision fp32 --steps 6
expect_fail "--precision fp16" "'fp16' is not a valid value" pretrain_gpt $P --precision fp16 \
    --out out_bad

cli_finish
