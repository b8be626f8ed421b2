#!/bin/sh
# `zhuyi serve` with a speech model: a tiny speech_ctc model (speech.sh's tones, trained
# here in seconds) behind POST /v1/audio/transcriptions, OpenAI's shape: a multipart form
# with the WAV as `file` and `model`. The text must be `zhuyi transcribe`'s on the same
# file, for response_format json (the default), text (text/plain) and verbose_json, with
# zhuyi's `beam` too, and for an 8 kHz stereo upload. The refusals: a WAV that is not PCM
# (400 naming it), no file, two files, a JSON body, an unknown response_format, audio
# longer than the model reads, and the text endpoints on the speech model (400 naming what
# they need). /v1/models lists it as a speech recognizer. With OpenAI's npm client
# installed (make test-serve sets ZY_SERVE_PEERS), tests/serve/transcribe.mjs calls
# client.audio.transcriptions.create on the same server. Needs curl and python3.
# Usage: tests/cli/serve_speech.sh [path/to/zhuyi]   (default build/zhuyi)
. "$(dirname "$0")/lib.sh"
cli_start serve_speech "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

$PY "$ROOT/tests/cli/tones.py" 160 8
cat >tiny.json <<'EOF'
{"model_type": "speech_ctc", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
 "intermediate_size": 64, "hidden_dropout": 0.0, "max_source_positions": 150}
EOF
if "$Z" finetune speech --train train.jsonl --config tiny.json --batch 16 --epochs 30 \
    --lr 3e-3 --seed 3 --no-spec-augment --out asr >/dev/null 2>err; then
    ok "a tiny speech model trains"
else
    bad "finetune speech"
fi
"$Z" transcribe asr abc.wav >want 2>err
"$Z" transcribe asr abc.wav --beam 4 >want_beam 2>>err
"$Z" transcribe asr wav/val003.wav >want_8k 2>>err

if serve_start asr asr; then
    ok "zhuyi serve listens with the speech model"
else
    bad "serve did not start: $(cat asr.err)"
    cli_finish
    exit 1
fi

# post NAME ARGS...: curl -F to the endpoint; the body in NAME, the status in NAME.code,
# the Content-Type in NAME.type
post() {
    pn=$1
    shift
    curl -s -o "$pn" -w '%{http_code} %{content_type}' "$@" "$U/v1/audio/transcriptions" \
        >"$pn.meta"
    cut -d' ' -f1 "$pn.meta" >"$pn.code"
    cut -d' ' -f2- "$pn.meta" >"$pn.type"
}
text_of() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))['text'])" "$1"; }

post j -F file=@abc.wav -F model=asr
[ "$(cat j.code)" = 200 ] && [ "$(text_of j)" = "$(cat want)" ] &&
    ok "json: {\"text\": \"$(cat want)\"}, zhuyi transcribe's" ||
    bad "json: $(cat j.code) $(cat j)"
post t -F file=@abc.wav -F model=asr -F response_format=text
[ "$(cat t.code)" = 200 ] && grep -q "^text/plain" t.type && cmp -s t want &&
    ok "response_format text: text/plain, the same text" || bad "text: $(cat t.code) $(cat t.type) $(cat t)"
post v -F file=@abc.wav -F model=asr -F response_format=verbose_json -F language=en \
    -F temperature=0 -F prompt=tones
[ "$(cat v.code)" = 200 ] && [ "$(text_of v)" = "$(cat want)" ] &&
    grep -q '"task":"transcribe","language":"en","duration":0\.' v && grep -q '"segments":\[{' v &&
    ok "verbose_json: task, language, duration, segments" || bad "verbose_json: $(cat v)"
post b -F file=@abc.wav -F model=asr -F beam=4
[ "$(cat b.code)" = 200 ] && [ "$(text_of b)" = "$(cat want_beam)" ] &&
    ok "beam 4: zhuyi transcribe --beam 4's text" || bad "beam: $(cat b)"
post s -F file=@wav/val003.wav -F model=asr
[ "$(cat s.code)" = 200 ] && [ "$(text_of s)" = "$(cat want_8k)" ] &&
    ok "an 8 kHz stereo upload: '$(cat want_8k)'" || bad "8 kHz: $(cat s)"

# refusals: status 400 and a message naming the problem
refused() {
    rw=$1 rpat=$2
    shift 2
    post r "$@"
    if [ "$(cat r.code)" = 400 ] && grep -q "$rpat" r; then
        ok "$rw: 400 $(sed 's/.*"message":"\([^"]*\)".*/\1/' r | cut -c1-90)"
    else
        bad "$rw: $(cat r.code) $(cat r)"
    fi
}
refused "a WAV that is not PCM" "alaw.wav.*A-law" -F file=@alaw.wav -F model=asr
refused "no file" "no 'file' part" -F model=asr
refused "two files" "one 'file' per request" -F file=@abc.wav -F file=@abc.wav -F model=asr
refused "a JSON body" "multipart/form-data" -H 'Content-Type: application/json' \
    -d '{"model": "asr", "file": "abc"}'
refused "response_format srt" "response_format 'srt'" -F file=@abc.wav -F model=asr \
    -F response_format=srt
refused "audio longer than the model reads" "max_source_positions 150" -F file=@long.wav \
    -F model=asr
curl -s -o c -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"model": "asr", "input": "a b"}' "$U/v1/embeddings" >c.code
[ "$(cat c.code)" = 400 ] && grep -q "speech-recognizer" c &&
    ok "embeddings on the speech model: 400 naming its kind" || bad "embeddings: $(cat c)"
curl -s "$U/v1/models" >m
grep -q '"speech-recognizer"' m && ok "/v1/models: the model is a speech-recognizer" ||
    bad "/v1/models: $(cat m)"

# OpenAI's own client, when make test-serve installed it
PEERS=${ZY_SERVE_PEERS:-}
if [ -n "$PEERS" ] && [ -d "$PEERS/node_modules/openai" ] && command -v node >/dev/null; then
    if ZY_SERVE_URL=$U ZY_SERVE_MODEL=asr ZY_SERVE_WAV="$T/abc.wav" \
        ZY_SERVE_EXPECT="$T/want" node "$ROOT/tests/serve/transcribe.mjs" >node.out 2>err; then
        ok "openai client: $(grep '^ok' node.out | cut -c6- | tr '\n' ';')"
    else
        bad "openai client: $(cat node.out)"
    fi
fi

kill "$PID" 2>/dev/null
cli_finish
