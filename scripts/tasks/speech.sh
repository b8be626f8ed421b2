#!/bin/sh
# Issue 17, speech: a small CTC speech recogniser (a speech_ctc encoder of 4 layers of 128
# over 80 log-mel bins, 0.88M parameters) trained from scratch on a synthetic spoken corpus, end to end:
#   1. corpus    scripts/speech_corpus.sh: digit strings and phrases of a closed vocabulary
#                spoken by espeak-ng voices, noise mixed by sox, 16 kHz WAV, JSONL
#                manifests; the test voices (variants, half of it accents too) are never
#                heard in training. Synthetic speech, not recorded: see its README.txt.
#   2. train     zhuyi finetune speech, validated on valid.jsonl (training voices)
#   3. evaluate  zhuyi evaluate on test.jsonl: character and word error rates (CER, WER)
# A run stopped (Ctrl-C) continues with the same command: --resume is used when OUT holds
# a checkpoint.
#
# Usage: scripts/tasks/speech.sh   (env: OUT=DIR (the run), DATA=DIR (the corpus),
#                                   EPOCHS=N, FT_ARGS="...", and the corpus's N_TRAIN,
#                                   N_VALID, N_TEST, SEED)
set -e
cd "$(dirname "$0")/../.."
. scripts/tasks/common.sh
OUT=${OUT:-$RUNS/speech-ctc}
D=${DATA:-build/data/speech-synth}

[ -x "$ZY" ] || make
echo "== corpus: $D"
scripts/speech_corpus.sh "$D"
mkdir -p "$RUNS"

if ! need_commands "issue 17" "finetune speech" evaluate; then FT_MISSING=1; fi

cat >"$RUNS/speech-m.json" <<'JSON'
{"model_type": "speech_ctc", "hidden_size": 128, "num_hidden_layers": 4,
 "num_attention_heads": 4, "intermediate_size": 512, "num_mel_bins": 80}
JSON
echo "== train: $OUT"
if [ -e "$OUT/checkpoint" ]; then
    show_or_run "$ZY" finetune speech --out "$OUT" --resume
else
    # shellcheck disable=SC2086
    show_or_run "$ZY" finetune speech --train "$D/train.jsonl" --val "$D/valid.jsonl" \
        --config "$RUNS/speech-m.json" --batch 32 --epochs "${EPOCHS:-10}" --lr 2e-3 \
        --log-every 50 ${FT_ARGS:-} --out "$OUT"
fi
echo "== evaluate: $D/test.jsonl (CER, WER)"
show_or_run "$ZY" evaluate "$OUT" --data "$D/test.jsonl"
echo "== evaluate: the same, CTC prefix beam search of width 8"
show_or_run "$ZY" evaluate "$OUT" --data "$D/test.jsonl" --beam 8
[ "${FT_MISSING:-0}" = 1 ] && exit 3
echo "== done: $OUT"
