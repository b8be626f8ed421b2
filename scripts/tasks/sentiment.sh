#!/bin/sh
# Issue 11, real data: sentence-level sentiment (Pang & Lee sentence polarity from
# Debian's python3-pattern), end to end (docs/RESULTS.md has the figures):
#   1. data      scripts/data.sh sentiment -> build/data/sentiment/ (fixed 90/10 split;
#                train.tsv = fit.tsv + dev.tsv, test.tsv; header text<TAB>label, pos/neg)
#   2. baseline  bag-of-words logistic regression on the same split (numpy)
#   3. pretrain  bert-mini, masked LM, 12,000 steps on the in-domain text alone
#                (mlm-reviews.txt: the training sentences and 1,440 unlabelled reviews,
#                never a test sentence): scripts/tasks/pretrain_sentiment.sh, skipped
#                when INIT already holds a model (about 30 min on 2 cores with AMX)
#   4. adapt     masked LM on the fit sentences alone (tapt.txt; task-adaptive
#                pretraining), 1,500 short steps from INIT (about 2 min)
#   4b. distant  only with REVIEWS_EPOCHS=N (N > 0): zhuyi finetune classify on
#                reviews.tsv (46,026 sentences of the unlabelled corpus's reviews, each
#                labelled with its review's label; docs/RESULTS.md) for N epochs at 3e-4,
#                the best epoch on dev kept; steps 5-6 then start from it (N=3: 5 min)
#   5. select    zhuyi finetune classify on fit.tsv, validated on dev.tsv each epoch:
#                the epoch count of the best dev accuracy
#   6. finetune  the same on all of train.tsv (fit + dev) for that many epochs, as the
#                baseline is refitted on all of train
#   7. evaluate  zhuyi evaluate on test.tsv (accuracy, per-class P/R/F1, confusion matrix)
#   8. predict   zhuyi predict on test.tsv -> OUT/test-predictions.jsonl
#
# Usage: scripts/tasks/sentiment.sh   (env: INIT=DIR, a pretrained BERT to start from;
#        OUT=DIR; FT_ARGS="..." extra flags for both zhuyi finetune runs of steps 5-6;
#        REVIEWS_EPOCHS=N, step 4b)
set -e
cd "$(dirname "$0")/../.."
. scripts/tasks/common.sh
D=build/data/sentiment
INIT=${INIT:-$RUNS/sentiment-bert-reviews}
OUT=${OUT:-$RUNS/sentiment-cls}
TAPT=$OUT-tapt
SEL=$OUT-dev
DIST=$OUT-reviews

[ -x "$ZY" ] || make
scripts/data.sh sentiment
mkdir -p "$RUNS"

echo "== baseline: bag-of-words logistic regression (train.tsv -> test.tsv)"
$PY scripts/tasks/sentiment_baseline.py "$D" | tee "$RUNS/sentiment-baseline.txt"

echo "== pretrained model: $INIT"
if ! pretrained_ok "$INIT"; then
    DATA=$D/mlm-reviews.txt STEPS=12000 scripts/tasks/pretrain_sentiment.sh "$INIT"
fi

echo "== task-adaptive masked LM on the fit sentences: $TAPT"
rm -rf "$TAPT"
show_or_run "$ZY" pretrain bert --init "$INIT" --data "$D/tapt.txt" --no-nsp \
    --batch 32 --seq 64 --steps 1500 --lr 2e-4 --warmup 100 --weight-decay 0.01 \
    --val-fraction 0.05 --eval-every 500 --save-every 0 --log-every 250 --out "$TAPT"

# BertForSequenceClassification (pooler -> dropout -> classifier) on the adapted body;
# sentences are short (at most 59 words, ~80 tokens). A 4-layer, 256-wide BERT takes a
# larger rate than BERT-base's 2e-5..5e-5; warmup a tenth of the steps, linear decay.
COMMON="--text-column text --label-column label --batch 32 --seq 128 --weight-decay 0.01 \
    --dropout 0.1"
FT="$COMMON --lr 1e-4"
START=$TAPT
if [ "${REVIEWS_EPOCHS:-0}" -gt 0 ]; then
    echo "== distant labels: the reviews' sentences, $REVIEWS_EPOCHS epochs: $DIST"
    rm -rf "$DIST"
    # shellcheck disable=SC2086 # COMMON is a list of flags
    show_or_run "$ZY" finetune classify --init "$TAPT" --train "$D/reviews.tsv" \
        --val "$D/dev.tsv" --epochs "$REVIEWS_EPOCHS" $COMMON --lr 3e-4 --out "$DIST"
    START=$DIST
fi
echo "== model selection: fit.tsv, validated on dev.tsv each epoch"
rm -rf "$SEL"
# shellcheck disable=SC2086 # FT and FT_ARGS are lists of flags
show_or_run "$ZY" finetune classify --init "$START" --train "$D/fit.tsv" --val "$D/dev.tsv" \
    --epochs 12 $FT ${FT_ARGS:-} --out "$SEL"
# The epoch of the best dev accuracy.
BEST=$(best_val_accuracy "$SEL")
EPOCHS=${BEST% *}
echo "== best dev accuracy after $EPOCHS epochs; the final model: all of train.tsv"
rm -rf "$OUT"
# shellcheck disable=SC2086
show_or_run "$ZY" finetune classify --init "$START" --train "$D/train.tsv" \
    --epochs "$EPOCHS" $FT ${FT_ARGS:-} --out "$OUT"
show_or_run "$ZY" evaluate "$OUT" --data "$D/test.tsv"
show_or_run "$ZY" predict "$OUT" --input "$D/test.tsv" --output "$OUT/test-predictions.jsonl"
echo "== done: $OUT (baseline: $RUNS/sentiment-baseline.txt)"
