#!/bin/sh
# CLI tests of `zhuyi finetune speech` (a CTC speech encoder on WAV files and transcripts),
# `zhuyi eval` and `zhuyi transcribe` on the result: a tiny model learns to spell tone
# sequences (each of "a", "b", "c" a tone of its own pitch, a word a tone), from a JSON
# lines manifest of 16-bit WAVs at 16 kHz (and 8 kHz stereo ones, resampled and mixed);
# the directory is a speech_ctc model with Wav2Vec2CTCTokenizer's vocab.json and no
# tokenizer.json; eval prints WER and CER; transcribe spells a file (greedy and beam);
# --resume with SpecAugment is bit-exact; bad input (a WAV that is not PCM, a manifest
# row without text, audio longer than the model reads, a text command on the speech
# model) fails with a message naming the file, line or limit. Makes its own data; no
# network, no timing.
# Usage: tests/cli/speech.sh [path/to/zhuyi]   (default build/zhuyi)
. "$(dirname "$0")/lib.sh"
cli_start speech "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}

$PY "$ROOT/tests/cli/tones.py" 160 24
cat >tiny.json <<'EOF'
{"model_type": "speech_ctc", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
 "intermediate_size": 64, "hidden_dropout": 0.0, "max_source_positions": 150}
EOF
FT="--config tiny.json --batch 16 --epochs 30 --lr 3e-3 --seed 3"

check_help finetune --audio-key --text-key --max-seconds --no-spec-augment --beam
check_help transcribe --beam --json --threads
# shellcheck disable=SC2086
if "$Z" finetune speech --train train.jsonl --val val.jsonl $FT --no-spec-augment --out run >out 2>err; then
    ok "finetune speech on a manifest exits 0"
else
    bad "finetune speech"
fi
cer=$(sed -n 's/.*val loss [0-9.]* (wer [0-9.]*, cer \([0-9.]*\).*/\1/p' out | tail -n 1)
$PY -c "import sys; sys.exit(0 if float('${cer:-1}') <= 0.25 else 1)" &&
    ok "the tones are learnt: validation CER $cer" || bad "validation CER '$cer'"
[ -f run/config.json ] && [ -f run/model.safetensors ] && [ ! -f run/tokenizer.json ] &&
    grep -q '"speech_ctc"' run/config.json && grep -q '"vocab_size": 6' run/config.json &&
    grep -q '"<pad>":[[:space:]]*0' run/vocab.json && grep -q '"|":[[:space:]]*2' run/vocab.json &&
    grep -q 'Wav2Vec2CTCTokenizer' run/tokenizer_config.json &&
    ok "run/ is a speech_ctc model with vocab.json (<pad> <unk> | a b c), no tokenizer.json" ||
    bad "run/ files: $(ls run); $(cat run/vocab.json)"
if "$Z" eval run --data val.jsonl >ev 2>err; then
    grep -q "^WER" ev && grep -q "^CER" ev && grep -q "hyp:" ev &&
        ok "eval: WER, CER and examples" || bad "eval output: $(head -3 ev)"
else
    bad "eval"
fi
"$Z" eval run --data val.jsonl --json >ej 2>err && grep -q '"wer"' ej && grep -q '"cer"' ej &&
    ok "eval --json" || bad "eval --json"

# transcribe: the three tones spelt, greedy and with a beam, text and JSON
if "$Z" transcribe run abc.wav >tr 2>err && [ "$(cat tr)" = "a b c" ]; then
    ok "transcribe spells the tones: $(cat tr)"
else
    bad "transcribe: '$(cat tr)'"
fi
"$Z" transcribe run abc.wav --beam 4 >tb 2>err && cmp -s tr tb &&
    ok "transcribe --beam 4 agrees" || bad "transcribe --beam 4: '$(cat tb)'"
"$Z" transcribe run abc.wav wav/val003.wav --json >tj 2>err && [ "$(wc -l <tj)" = 2 ] &&
    grep -q '"file": "abc.wav", "text": "a b c", "seconds": ' tj &&
    ok "transcribe --json, two files (one 8 kHz stereo)" || bad "transcribe --json: $(cat tj)"

# --resume with SpecAugment: 3 of 6 steps, then the rest, equals 6 in one go
# shellcheck disable=SC2086
"$Z" finetune speech --train train.jsonl $FT --steps 6 --out full >/dev/null 2>err &&
    "$Z" finetune speech --train train.jsonl $FT --steps 6 --stop-at 3 --out half >/dev/null 2>>err
"$Z" finetune speech --out half --resume >/dev/null 2>>err
cmp -s full/model.safetensors half/model.safetensors &&
    ok "--resume with SpecAugment: the same weights as one run, bit for bit" ||
    bad "resume differs"

# --init: the model's own labels, not the new transcripts' (rows of "a" and "b" only)
grep -v '"C\| C' train.jsonl | head -n 32 >ab.jsonl
"$Z" finetune speech --init run --train ab.jsonl --batch 16 --steps 2 --out again >/dev/null 2>err &&
    cmp -s run/vocab.json again/vocab.json &&
    ok "finetune --init keeps the model's vocab.json (a, b, c) for transcripts of a and b" ||
    bad "--init vocabulary: $(cat again/vocab.json 2>/dev/null)"

# Bad input
# shellcheck disable=SC2086
expect_fail "a WAV that is not PCM" "alaw.wav" "$Z" finetune speech --train alaw.jsonl $FT \
    --out out_bad
expect_fail "transcribe of a WAV that is not PCM" "alaw.wav" "$Z" transcribe run alaw.wav
# shellcheck disable=SC2086
expect_fail "a manifest row without text" "notext.jsonl.*2.*text" "$Z" finetune speech \
    --train notext.jsonl $FT --out out_bad
expect_fail "audio longer than the model reads" "long.wav.*max_source_positions 150" \
    "$Z" transcribe run long.wav
# shellcheck disable=SC2086
expect_fail "--tokenizer for a speech model" "reads no tokens" "$Z" finetune speech \
    --train train.jsonl $FT --tokenizer byte --out out_bad
expect_fail "generate on a speech model" "speech model" "$Z" generate run --prompt hi
expect_fail "transcribe with a directory that holds no model" "not a model directory" \
    "$Z" transcribe wav abc.wav

cli_finish
