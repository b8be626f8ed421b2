#!/bin/sh
# Issue 11, real data: sentence-level sentiment (Pang & Lee sentence polarity from
# Debian's python3-pattern), end to end:
#   1. data      scripts/data.sh sentiment -> build/data/sentiment/ (fixed 90/10 split;
#                train.tsv = fit.tsv + dev.tsv, test.tsv; header text<TAB>label, pos/neg)
#   2. baseline  bag-of-words logistic regression on the same split (numpy)
#   3. pretrain  bert-mini, MLM + NSP, on the training sentences + reviews + Austen +
#                KJV (never a test sentence): scripts/tasks/pretrain_sentiment.sh,
#                skipped when INIT already holds a model (25-50 min on 2 shared cores)
#   4. finetune  zhuyi finetune classify on fit.tsv, model selection on dev.tsv
#   5. evaluate  zhuyi evaluate on test.tsv (accuracy, per-class P/R/F1, confusion matrix)
#   6. predict   zhuyi predict on test.tsv -> predictions.jsonl
# Steps 4-6 need the fine-tuning CLI of issue 11; without it the script stops after
# step 3 with status 3, printing the commands it would run.
#
# Usage: scripts/tasks/sentiment.sh            (env: INIT=DIR to fine-tune another
#        model directory; OUT=DIR; FT_ARGS="..." extra flags for zhuyi finetune)
set -e
cd "$(dirname "$0")/../.."
. scripts/tasks/common.sh
D=build/data/sentiment
INIT=${INIT:-$RUNS/sentiment-bert}
OUT=${OUT:-$RUNS/sentiment-cls}

[ -x "$ZY" ] || make
scripts/data.sh sentiment
mkdir -p "$RUNS"

echo "== baseline: bag-of-words logistic regression (train.tsv -> test.tsv)"
$PY scripts/tasks/sentiment_baseline.py "$D" | tee "$RUNS/sentiment-baseline.txt"

echo "== pretrained model: $INIT"
if ! pretrained_ok "$INIT"; then
    scripts/tasks/pretrain_sentiment.sh "$INIT"
fi

FT_MISSING=0
need_finetune || FT_MISSING=1
# Fine-tuning: BertForSequenceClassification (pooler -> dropout -> classifier) on the
# pretrained body; sentences are short (at most 59 words, ~80 tokens), --seq 128 is the
# pretraining length. Hyper-parameters: for a 4-layer, 256-wide BERT (small models take
# larger rates than BERT-base's 2e-5..5e-5; 1e-4 learnt too slowly in the PyTorch check),
# warmup a tenth of the steps, linear decay; the best dev accuracy's weights kept.
show_or_run "$ZY" finetune classify --init "$INIT" \
    --train "$D/fit.tsv" --val "$D/dev.tsv" --text-column text --label-column label \
    --epochs 5 --batch 32 --seq 128 --lr 2e-4 --weight-decay 0.01 --dropout 0.1 \
    ${FT_ARGS:-} --out "$OUT"
show_or_run "$ZY" evaluate "$OUT" --data "$D/test.tsv"
show_or_run "$ZY" predict "$OUT" --input "$D/test.tsv" --output "$OUT/test-predictions.jsonl"
[ "$FT_MISSING" = 1 ] && exit 3
echo "== done: $OUT (baseline: $RUNS/sentiment-baseline.txt)"
