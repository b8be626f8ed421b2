#!/bin/sh
# Issue 11, real data: part-of-speech tagging on the WSJ + OANC word/TAG samples of
# Debian's python3-pattern, end to end:
#   1. data      scripts/data.sh pos -> build/data/pos/ (fixed 90/10 split by sentence;
#                word/TAG .txt, CoNLL .conll and {"tokens","tags"} .jsonl; train = fit + dev)
#   2. baseline  most frequent tag per word, unseen words -> NN (held-out token accuracy)
#   3. finetune  zhuyi finetune tag on fit.conll, model selection on dev.conll
#   4. evaluate  zhuyi evaluate on test.conll (token accuracy)
#   5. predict   zhuyi predict on the test sentences
# Steps 3-5 need the fine-tuning CLI of issue 11; without it the script stops with
# status 3, printing the commands it would run.
#
# The model: INIT (default the sentiment BERT of scripts/tasks/pretrain_sentiment.sh,
# which is uncased: it cannot see the capital letters that separate NNP from NN, so
# context has to; a cased vocabulary, `zhuyi tokenizer train --cased`, is the obvious
# next try). Its pretraining text has no sentence of this task.
#
# Usage: scripts/tasks/pos.sh     (env: INIT=DIR, OUT=DIR, FT_ARGS="...")
set -e
cd "$(dirname "$0")/../.."
. scripts/tasks/common.sh
D=build/data/pos
INIT=${INIT:-$RUNS/sentiment-bert}
OUT=${OUT:-$RUNS/pos-tagger}

[ -x "$ZY" ] || make
scripts/data.sh pos
mkdir -p "$RUNS"

echo "== baseline: most frequent tag per word (train.txt -> test.txt)"
$PY scripts/tasks/pos_baseline.py "$D" | tee "$RUNS/pos-baseline.txt"

echo "== pretrained model: $INIT"
if ! pretrained_ok "$INIT"; then
    if [ "$INIT" = "$RUNS/sentiment-bert" ]; then scripts/tasks/pretrain_sentiment.sh "$INIT"
    else echo "scripts/tasks/pos.sh: $INIT holds no model (config.json + model.safetensors)" >&2; exit 1; fi
fi

FT_MISSING=0
need_finetune || FT_MISSING=1
# BertForTokenClassification; word tags on the first sub-word piece. Lines are up to
# 220 words (OANC), so --seq 256 (positions past the pretraining's 128 start untrained).
show_or_run "$ZY" finetune tag --init "$INIT" \
    --train "$D/fit.conll" --val "$D/dev.conll" \
    --epochs 4 --batch 32 --seq 256 --lr 3e-4 --weight-decay 0.01 --dropout 0.1 \
    ${FT_ARGS:-} --out "$OUT"
show_or_run "$ZY" evaluate "$OUT" --data "$D/test.conll"
show_or_run "$ZY" evaluate "$OUT" --data "$D/test-wsj.txt"
show_or_run "$ZY" evaluate "$OUT" --data "$D/test-oanc.txt"
show_or_run "$ZY" predict "$OUT" --input "$D/test.jsonl" --output "$OUT/test-predictions.jsonl"
[ "$FT_MISSING" = 1 ] && exit 3
echo "== done: $OUT (baseline: $RUNS/pos-baseline.txt)"
