#!/bin/sh
# Issue 13, real data: English -> Spanish on the Bible with the encoder-decoder
# Transformer, end to end:
#   1. data      scripts/data.sh kjv-es -> build/data/kjv-es/ (the King James Bible and the
#                Reina-Valera 1909 aligned by verse; 1,000 test and 500 validation verses
#                chosen by a hash of the reference; scripts/tasks/kjv_es_data.py)
#   2. baseline  the English verse itself as the "translation" (what BLEU and chrF give a
#                system that copies: names and numbers match)
#   3. train     zhuyi pretrain seq2seq: a joint 8000-token BPE, transformer-small, token-
#                count batches of 4096, the Transformer recipe (inverse_sqrt, label
#                smoothing 0.1, dropout 0.1), STEPS steps, validated (loss, greedy BLEU and
#                chrF) every EVAL_EVERY steps, the best validation BLEU kept; wall time
#   4. test      zhuyi translate on the 1,000 test verses, greedy and beam 5, scored by
#                zhuyi score (BLEU and chrF against the Reina-Valera); wall time of each
# Usage: scripts/tasks/kjv_es.sh
# Environment: OUT=DIR (default build/runs/kjv-es), STEPS (1800), EVAL_EVERY (300),
#   CONFIG (transformer-small), TRAINED=1 (OUT already holds the trained model: steps 1,
#   2 and 4 only), ZY_THREADS.
# Outputs: OUT/ (the model, metrics.jsonl, loss.svg), OUT.test.{greedy,beam5}.es (the
#   translations); run it as `scripts/tasks/kjv_es.sh 2>&1 | tee kjv-es.report.txt` to keep
#   what it prints.
set -e
cd "$(dirname "$0")/../.."
. scripts/tasks/common.sh
OUT=${OUT:-$RUNS/kjv-es}
STEPS=${STEPS:-1800}
EVAL_EVERY=${EVAL_EVERY:-300}
CONFIG=${CONFIG:-transformer-small}
D=build/data/kjv-es
mkdir -p "$(dirname "$OUT")"

echo "== 1. data"
scripts/data.sh kjv-es
wc -l $D/train.en $D/valid.en $D/test.en

echo "== 2. baseline: the English verse copied"
"$ZY" score --ref $D/test.es --hyp $D/test.en

if [ "${TRAINED:-0}" != 1 ]; then
    echo "== 3. train ($CONFIG, $STEPS steps)"
    rm -rf "$OUT"
    t0=$(date +%s)
    "$ZY" pretrain seq2seq --src $D/train.en --tgt $D/train.es \
        --val-src $D/valid.en --val-tgt $D/valid.es --tokenizer bpe:8000 --config "$CONFIG" \
        --steps "$STEPS" --eval-every "$EVAL_EVERY" --save-every "$EVAL_EVERY" \
        --best-metric bleu --log-every 50 --out "$OUT"
    echo "training wall time: $(( $(date +%s) - t0 )) s"
fi

echo "== 4. test: 1,000 verses"
for mode in greedy beam5; do
    flags="--beam 5"
    [ $mode = greedy ] && flags="--greedy"
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    "$ZY" translate "$OUT" --input $D/test.en --output "$OUT.test.$mode.es" $flags --batch 16
    t1=$(date +%s%N)
    echo "-- $mode: $(( (t1 - t0) / 1000000 )) ms for $(wc -l <$D/test.en) sentences"
    "$ZY" score --ref $D/test.es --hyp "$OUT.test.$mode.es"
done
echo "-- three test verses (English, beam 5, Reina-Valera):"
for i in 1 2 3; do
    sed -n "${i}p" $D/test.en
    sed -n "${i}p" "$OUT.test.beam5.es"
    sed -n "${i}p" $D/test.es
    echo
done
