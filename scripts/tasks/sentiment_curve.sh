#!/bin/sh
# Issue 11: held-out sentiment accuracy against the number of labelled sentences, for the
# bag-of-words baseline and for scripts/tasks/sentiment.sh's fine-tuning (docs/RESULTS.md).
# For each fraction F of the labelled rows (balanced subsets of fit.tsv and train.tsv,
# the smaller ones inside the larger; scripts/tasks/sentiment_curve.py):
#   baseline  sentiment_curve.py baseline: lambda by dev, test on the same lambda
#   select    zhuyi finetune classify from INIT on fit-F, validated on dev each epoch,
#             for as many steps as sentiment.sh's 12 epochs of all of fit (12 / F epochs)
#   refit     the same on train-F for the epoch count of the best dev accuracy
#   test      zhuyi evaluate on test.tsv
# INIT is a body after sentiment.sh's task-adaptive masked LM (default its
# $RUNS/sentiment-cls-tapt): masked LM on the fit sentences' text, which every fraction
# may use; only the labels are cut.
#
# Usage: scripts/tasks/sentiment_curve.sh [F...]   (default 0.125 0.25 0.5 1;
#        env: INIT=DIR, OUT=DIR (default $RUNS/sentiment-curve), FT_ARGS="...")
set -e
cd "$(dirname "$0")/../.."
. scripts/tasks/common.sh
D=build/data/sentiment
INIT=${INIT:-$RUNS/sentiment-cls-tapt}
OUT=${OUT:-$RUNS/sentiment-curve}
[ $# -gt 0 ] || set -- 0.125 0.25 0.5 1

[ -x "$ZY" ] || make
scripts/data.sh sentiment
if ! pretrained_ok "$INIT"; then
    echo "sentiment_curve.sh: $INIT holds no model: run scripts/tasks/sentiment.sh first" \
        "(it makes the adapted body), or set INIT" >&2
    exit 2
fi
mkdir -p "$OUT"
$PY scripts/tasks/sentiment_curve.py subsets "$D" "$OUT" "$@"
echo "== bag of words"
$PY scripts/tasks/sentiment_curve.py baseline "$D" "$OUT" "$@" | tee "$OUT/baseline.txt"

# sentiment.sh's fine-tuning flags (its COMMON and lr).
FT="--text-column text --label-column label --batch 32 --seq 128 --weight-decay 0.01 \
    --dropout 0.1 --lr 1e-4"
: >"$OUT/zhuyi.txt"
for F in "$@"; do
    E=$(awk -v f="$F" 'BEGIN { printf "%d", 12 / f + 0.5 }')
    echo "== zhuyi, fraction $F: fit-$F.tsv -> dev.tsv, $E epochs"
    rm -rf "$OUT/sel-$F" "$OUT/cls-$F"
    # shellcheck disable=SC2086 # FT and FT_ARGS are lists of flags
    show_or_run "$ZY" finetune classify --init "$INIT" --train "$OUT/fit-$F.tsv" \
        --val "$D/dev.tsv" --epochs "$E" $FT ${FT_ARGS:-} --out "$OUT/sel-$F" \
        >"$OUT/sel-$F.log" 2>&1
    BEST=$(best_val_accuracy "$OUT/sel-$F") # "epoch accuracy"
    EPOCHS=${BEST% *}
    echo "== zhuyi, fraction $F: best dev ${BEST#* } after $EPOCHS epochs; train-$F.tsv"
    # shellcheck disable=SC2086
    show_or_run "$ZY" finetune classify --init "$INIT" --train "$OUT/train-$F.tsv" \
        --epochs "$EPOCHS" $FT ${FT_ARGS:-} --out "$OUT/cls-$F" >"$OUT/cls-$F.log" 2>&1
    ACC=$("$ZY" evaluate "$OUT/cls-$F" --data "$D/test.tsv" |
        sed -n 's/^accuracy *\([0-9.]*\).*/\1/p')
    echo "$F $(($(wc -l <"$OUT/fit-$F.tsv") - 1)) fit rows, best dev ${BEST#* } at epoch" \
        "$EPOCHS, $(($(wc -l <"$OUT/train-$F.tsv") - 1)) train rows, test $ACC" |
        tee -a "$OUT/zhuyi.txt"
done
echo "== done: $OUT/baseline.txt, $OUT/zhuyi.txt"
