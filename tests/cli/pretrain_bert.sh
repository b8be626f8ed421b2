#!/bin/sh
# CLI tests of `zhuyi pretrain bert` and `zhuyi eval` on its result: a tiny run (a 2-layer
# BERT from a config.json, a WordPiece learnt from the data) and its files, metrics.jsonl
# lines parse as JSON and carry the masked-LM and next-sentence metrics, --resume is
# bit-exact (cmp of the model and the training state), eval --json equals the trainer's
# last validation on the same file, --no-nsp / --whole-word-mask / prose runs, and bad
# input (a vocabulary without [MASK], [CLS], [SEP] or [UNK], --seq above the positions,
# a config that does not match the weights, text too short) fails with a message naming
# the problem and writes nothing. Makes its own text; no network, no timing.
# Usage: tests/cli/pretrain_bert.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start pretrain_bert "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}

# BERT's format: a sentence a line, a blank line between documents; 40 documents of 6
# sentences with some repetition, so a tiny model learns something.
d=0
while [ $d -lt 40 ]; do
    echo "The king of city $d spake unto the people, saying, hear me."
    echo "And the people of city $d answered the king with one voice."
    echo "In the morning they went up to the house of the lord."
    echo "The children played by the river until the evening came."
    echo "Then the elders of city $d gathered at the gate and sat down."
    echo "And it was good in the sight of all the people."
    echo
    d=$((d + 1))
done >data.txt
head -n 35 data.txt >val.txt
# The same text as prose: paragraphs wrapped at 40 columns.
tr '\n' ' ' <data.txt | fold -s -w 40 | awk '{print} NR % 8 == 0 {print ""}' >prose.txt
cat >tiny.json <<'EOF'
{"model_type": "bert", "architectures": ["BertForPreTraining"], "hidden_size": 32,
 "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
 "max_position_embeddings": 48, "vocab_size": 2}
EOF
TINY="--config tiny.json --tokenizer wordpiece:300 --batch 4 --seq 32 --eval-batches 0"

# ---- help ---------------------------------------------------------------------------------
if "$Z" pretrain bert --help >help 2>err; then
    missing=""
    for f in --config --tokenizer --init --resume --data --val-data --val-fraction \
        --no-shuffle --steps --batch --seq --grad-accum --lr --min-lr --warmup --schedule \
        --weight-decay --grad-clip --dropout --seed --out --eval-every --eval-batches \
        --save-every --stop-at --log-every --threads --skip-nonfinite --format \
        --doc-sentences --whole-word-mask --no-nsp --mask-prob --dupe-factor wordpiece:N \
        bert-mini; do
        grep -q -- "$f" help || missing="$missing $f"
    done
    [ -z "$missing" ] && ok "--help lists every flag" || bad "--help misses$missing"
else
    bad "--help"
fi

# ---- a tiny run ---------------------------------------------------------------------------
if "$Z" pretrain bert --data data.txt --val-data val.txt $TINY --steps 12 --eval-every 6 \
    --lr 3e-3 --log-every 1 --out run >out 2>err; then
    ok "tiny run exits 0"
else
    bad "tiny run exits 0"
fi
grep -q "step 12/12" err && grep -q "mlm_accuracy" err && grep -q "val loss" out &&
    ok "progress lines and the summary name the metrics" || bad "progress and summary"
all=1
for f in config.json model.safetensors tokenizer.json vocab.txt metrics.jsonl loss.svg \
    checkpoint/training_state.safetensors checkpoint/model.safetensors checkpoint/config.json; do
    [ -s "run/$f" ] || { all=0; echo "     missing run/$f"; }
done
[ $all = 1 ] && ok "run/ holds the model dir, vocab.txt, the checkpoint, metrics and loss.svg" ||
    bad "output files"
nv=$(wc -l <run/vocab.txt)
grep -q '"BertForPreTraining"' run/config.json && grep -qE "\"vocab_size\": *$nv,?\$" run/config.json &&
    ok "config.json: BertForPreTraining, vocab_size of the tokenizer" || bad "config.json"
if $PY - <<'EOF' 2>err; then
import json
lines = [json.loads(l) for l in open("run/metrics.jsonl")]
steps = [l for l in lines if "loss" in l]
vals = [l for l in lines if "val_loss" in l]
assert [l["step"] for l in steps] == list(range(1, 13)), steps
assert [l["step"] for l in vals] == [6, 12], vals
for l in steps:
    for k in ("lr", "ms", "tokens_per_s", "mlm_loss", "mlm_accuracy", "nsp_loss", "nsp_accuracy"):
        assert k in l, (k, l)
    assert abs(l["mlm_loss"] + l["nsp_loss"] - l["loss"]) < 1e-4, l
    assert 0 <= l["mlm_accuracy"] <= 1 and 0 <= l["nsp_accuracy"] <= 1, l
for l in vals:
    for k in ("val_mlm_loss", "val_mlm_accuracy", "val_nsp_loss", "val_nsp_accuracy"):
        assert k in l, (k, l)
assert vals[-1]["val_mlm_loss"] < vals[0]["val_mlm_loss"] + 0.5, vals
EOF
    ok "metrics.jsonl: 12 step and 2 val lines parse, loss = mlm_loss + nsp_loss"
else
    bad "metrics.jsonl"
fi
grep -q "<svg" run/loss.svg && grep -q "</svg>" run/loss.svg && ok "loss.svg is a whole SVG" ||
    bad "loss.svg"

# ---- eval on the result -------------------------------------------------------------------
# The trainer's last validation (every example of val.txt, fixed masks, T = 32) is the
# same computation as eval's on val.txt.
if "$Z" eval run --data val.txt --seq 32 --json >ev.json 2>err &&
    $PY - <<'EOF' 2>err; then
import json, math
e = json.load(open("ev.json"))
assert set(e) == {"loss", "perplexity", "tokens", "mlm_accuracy", "nsp_loss", "nsp_accuracy"}, e
v = [json.loads(l) for l in open("run/metrics.jsonl") if "val_loss" in l][-1]
assert abs(e["loss"] - v["val_mlm_loss"]) <= 1e-4 * max(1, e["loss"]), (e, v)
assert abs(e["mlm_accuracy"] - v["val_mlm_accuracy"]) <= 1e-6, (e, v)
assert abs(e["nsp_accuracy"] - v["val_nsp_accuracy"]) <= 1e-6, (e, v)
assert abs(e["perplexity"] - math.exp(e["loss"])) <= 1e-4 * e["perplexity"], e
assert e["tokens"] > 0
EOF
    ok "eval --json: MLM loss, perplexity, accuracy = the trainer's last validation"
else
    bad "eval --json ($(cat ev.json 2>/dev/null))"
fi
"$Z" eval run --data val.txt >ev_default.json --json 2>err && cmp -s ev.json ev_default.json &&
    ok "eval's --seq defaults to the run's training seq (32)" || bad "eval default --seq"
"$Z" eval run --data val.txt --seq 32 --batch 3 >ev.txt 2>err &&
    grep -q "^loss [0-9.]*  perplexity [0-9.]*  ([0-9]* masked tokens" ev.txt &&
    grep -q "mlm_accuracy" ev.txt && ok "eval plain output" || bad "eval plain output"
"$Z" eval run --data val.txt --seq 32 --no-nsp --json >ev2.json 2>err &&
    ! grep -q nsp ev2.json && ok "eval --no-nsp: masked LM only ($(cat ev2.json))" ||
    bad "eval --no-nsp"

# ---- resume, bit-exact --------------------------------------------------------------------
A="--data data.txt $TINY --val-fraction 0.1 --dropout 0.1 --grad-accum 2 --steps 10 --eval-every 4"
"$Z" pretrain bert $A --out full >/dev/null 2>err &&
    "$Z" pretrain bert $A --stop-at 5 --out half >/dev/null 2>err &&
    "$Z" pretrain bert --out half --resume >/dev/null 2>err &&
    cmp -s full/model.safetensors half/model.safetensors &&
    cmp -s full/checkpoint/training_state.safetensors half/checkpoint/training_state.safetensors &&
    ok "10 steps == --stop-at 5 + --resume (dropout, accum, NSP): model and state identical" ||
    bad "resume bit-exact"
[ "$(grep -c '"loss"' half/metrics.jsonl)" = 10 ] && cmp -s full/vocab.txt half/vocab.txt &&
    ok "resumed metrics.jsonl continues (10 step lines)" || bad "resumed metrics.jsonl"
B="--data data.txt $TINY --whole-word-mask --no-nsp --steps 6 --eval-every 3"
"$Z" pretrain bert $B --out wwm >/dev/null 2>err &&
    "$Z" pretrain bert $B --stop-at 3 --out wwm2 >/dev/null 2>err &&
    "$Z" pretrain bert --out wwm2 --resume >/dev/null 2>err &&
    cmp -s wwm/model.safetensors wwm2/model.safetensors &&
    grep -q '"BertForMaskedLM"' wwm/config.json && ! grep -q nsp wwm/metrics.jsonl &&
    ok "--whole-word-mask --no-nsp: a BertForMaskedLM, no NSP metrics, resume bit-exact" ||
    bad "--whole-word-mask --no-nsp"
expect_fail "--resume with a kind flag" "--no-nsp cannot be given" "$Z" pretrain bert \
    --out half --resume --no-nsp --steps 12
expect_fail "--resume of a BERT run as gpt" "pretrain bert" "$Z" pretrain gpt --out half \
    --resume
"$Z" pretrain bert --data prose.txt --format prose --doc-sentences 4 $TINY --steps 2 \
    --out prose >out 2>err && ok "--format prose --doc-sentences 4 trains" || bad "prose run"

# ---- bad input: non-zero exit, a message, nothing written ---------------------------------
sed '/^\[MASK\]$/d' run/vocab.txt >nomask.txt
sed '/^\[CLS\]$/d' run/vocab.txt >nocls.txt
sed '/^\[SEP\]$/d' run/vocab.txt >nosep.txt
sed '/^\[UNK\]$/d' run/vocab.txt >nounk.txt
{ head -n 1 data.txt; echo; sed -n 9p data.txt; } >short.txt # 2 documents, 2 examples
mkdir -p mismatch && cp run/model.safetensors run/tokenizer.json mismatch/ &&
    sed 's/"hidden_size": *32/"hidden_size": 64/' run/config.json >mismatch/config.json
pretrain_bert() { "$Z" pretrain bert "$@"; }
V="--data data.txt --config tiny.json --seq 32 --out out_bad"
expect_fail "vocabulary without [MASK]" "no \[MASK\] token" pretrain_bert $V \
    --tokenizer nomask.txt
expect_fail "vocabulary without [CLS]" "no \[CLS\] token" pretrain_bert $V --tokenizer nocls.txt
expect_fail "vocabulary without [SEP]" "no \[SEP\] token" pretrain_bert $V --tokenizer nosep.txt
expect_fail "vocabulary without [UNK]" "no \[UNK\] token" pretrain_bert $V --tokenizer nounk.txt
expect_fail "a byte-level BPE tokenizer" "needs \[CLS\], \[SEP\], \[MASK\]" pretrain_bert $V \
    --tokenizer byte
expect_fail "--seq above the positions" "--seq 49 is longer than the model's positions (48" \
    pretrain_bert --data data.txt --config tiny.json --tokenizer run/vocab.txt --seq 49 \
    --out out_bad
expect_fail "config/weights mismatch" "has shape ($nv, 32) but config.json implies ($nv, 64)" \
    pretrain_bert --data data.txt --init mismatch --seq 32 --out out_bad
expect_fail "text too short for a batch" "fewer than one batch" pretrain_bert --data short.txt \
    --config tiny.json --tokenizer run/vocab.txt --seq 32 --val-fraction 0 --out out_bad
head -n 3 data.txt >one.txt
expect_fail "one document cannot hold out validation" "one document" pretrain_bert \
    --data one.txt --config tiny.json --tokenizer run/vocab.txt --seq 32 --out out_bad
expect_fail "NSP on a single document" "at least 2 documents" pretrain_bert --data one.txt \
    --val-data one.txt --config tiny.json --tokenizer run/vocab.txt --seq 32 --batch 1 \
    --out out_bad
expect_fail "NSP with a BertForMaskedLM" "no next-sentence head" pretrain_bert --data data.txt \
    --init wwm --seq 32 --out out_bad
expect_fail "a GPT model" "does not train" pretrain_bert --data data.txt --config gpt-nano \
    --tokenizer run/vocab.txt --seq 32 --out out_bad
expect_fail "bad --format" "--format: 'json'" pretrain_bert $V --format json
expect_fail "bad --mask-prob" "--mask-prob: '0'" pretrain_bert $V --mask-prob 0
"$Z" pretrain gpt --data data.txt --config gpt-nano --batch 2 --seq 16 --steps 1 \
    --out gptrun >/dev/null 2>&1
expect_fail "eval: bad --format" "'bogus' is not a valid value" "$Z" eval run --data val.txt \
    --format bogus
expect_fail "eval: --seq above the positions" "max_position_embeddings 48" "$Z" eval run \
    --data val.txt --seq 49
expect_fail "eval: a BERT flag on a GPT model" "not an option for the gpt model" \
    "$Z" eval gptrun --data val.txt --whole-word-mask

cli_finish
