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
# The model (default): a new bert-mini (4 layers, 256 wide) trained on the tagging data
# alone, with a cased 8,192-token WordPiece learnt from the fit sentences' words
# (--tokenizer wordpiece-cased:8192). Capitals separate NNP from NN, so the vocabulary keeps
# them; the uncased masked-LM model of the sentiment task tagged worse than the baseline
# (docs/RESULTS.md). About 5 minutes on 2 cores.
# INIT=DIR fine-tunes the model in DIR instead (a BERT directory with its tokenizer).
#
# Usage: scripts/tasks/pos.sh     (env: INIT=DIR, OUT=DIR, FT_ARGS="...")
set -e
cd "$(dirname "$0")/../.."
. scripts/tasks/common.sh
D=build/data/pos
OUT=${OUT:-$RUNS/pos-tagger}

[ -x "$ZY" ] || make
scripts/data.sh pos
mkdir -p "$RUNS"

echo "== baseline: most frequent tag per word (train.txt -> test.txt)"
$PY scripts/tasks/pos_baseline.py "$D" | tee "$RUNS/pos-baseline.txt"

FT_MISSING=0
need_finetune || FT_MISSING=1
if [ -n "${INIT:-}" ]; then
    echo "== model: $INIT"
    pretrained_ok "$INIT" || { echo "scripts/tasks/pos.sh: $INIT holds no model (config.json + model.safetensors)" >&2; exit 1; }
    MODEL="--init $INIT"
else
    echo "== model: a new bert-mini with a cased WordPiece learnt from the fit sentences"
    MODEL="--config bert-mini --tokenizer wordpiece-cased:8192"
fi
# BertForTokenClassification; word tags on the first sub-word piece. Lines are up to
# 220 words (OANC), so --seq 256. 8 epochs at 1e-3 (a new model learns at rates a
# pretrained one would not take); the best dev accuracy's weights are kept.
# shellcheck disable=SC2086 # MODEL is several words
show_or_run "$ZY" finetune tag $MODEL \
    --train "$D/fit.conll" --val "$D/dev.conll" \
    --epochs 8 --batch 32 --seq 256 --lr 1e-3 --dropout 0.1 \
    ${FT_ARGS:-} --out "$OUT"
show_or_run "$ZY" evaluate "$OUT" --data "$D/test.conll"
show_or_run "$ZY" evaluate "$OUT" --data "$D/test-wsj.txt"
show_or_run "$ZY" evaluate "$OUT" --data "$D/test-oanc.txt"
show_or_run "$ZY" predict "$OUT" --input "$D/test.jsonl" --output "$OUT/test-predictions.jsonl"
[ "$FT_MISSING" = 1 ] && exit 3
echo "== done: $OUT (baseline: $RUNS/pos-baseline.txt)"
