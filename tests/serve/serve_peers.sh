#!/bin/sh
# Real clients of `zhuyi serve`. Installs what is missing: Debian's chromium, npm and curl
# (scripts/deps.sh serve), GPT-2's tokenizer files (scripts/data.sh gpt2-tokenizer), and,
# into build/serve-peers (or $ZY_SERVE_PEERS; not committed), the npm packages pinned by
# tests/serve/package.json and package-lock.json (`npm ci`: openai, OpenAI's own client,
# and playwright-core, which drives Debian's chromium and downloads no browser). Those
# installs are the only network access; each is skipped when already done. Then:
#   - a tiny GPT-2 (2 layers, n_embd 64) with GPT-2's 50257-token BPE, trained here for a
#     150 steps (about 15 s) on a made-up text (`zhuyi pretrain gpt`);
#   - `zhuyi serve --host 127.0.0.1 --port P --model tiny=DIR` on a free port, waited for
#     on GET /health (bounded), killed at exit;
#   - tests/serve/openai.mjs: the openai client lists the models, completes greedily
#     (= `zhuyi generate --temperature 0 --max-tokens 12`, byte for byte), streams a chat,
#     embeds (n_embd floats, as floats and as the client's default base64), and gets an
#     APIError 404 for an unknown model;
#   - tests/serve/page.mjs: headless chromium opens the playground (GET /), picks the
#     model, chats (the reply streams and grows), screenshots the page (not blank), runs
#     the greedy completion (= `zhuyi generate`), shows an error, draws attention;
#   - tests/cli/serve_image.sh: a tiny ViT on a server of its own, /v1/classify with
#     base64 JSON and multipart uploads (curl -F) against `zhuyi predict`;
#   - tests/cli/serve_speech.sh: a tiny speech model on a server of its own,
#     /v1/audio/transcriptions with curl -F and OpenAI's client (tests/serve/transcribe.mjs:
#     audio.transcriptions.create) against `zhuyi transcribe`.
# Usage: tests/serve/serve_peers.sh [path/to/zhuyi]   (make test-serve)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
Z=${1:-${ZHUYI:-$ROOT/build/zhuyi}}
case "$Z" in /*) ;; *) Z="$PWD/$Z" ;; esac
[ -x "$Z" ] || { echo "tests/serve/serve_peers.sh: $Z is not built" >&2; exit 1; }
PEERS=${ZY_SERVE_PEERS:-$ROOT/build/serve-peers}
case "$PEERS" in /*) ;; *) PEERS="$PWD/$PEERS" ;; esac
export ZY_THREADS=${ZY_THREADS:-2}
pass=0
fail=0
ok() { pass=$((pass + 1)); printf "ok   %s\n" "$1"; }
bad() {
    fail=$((fail + 1))
    printf "FAIL %s\n" "$1"
    [ -s "$T/err" ] && sed 's/^/     | /' "$T/err" | tail -5
}
# The node scripts print "ok ..." / "FAIL ..." lines: counted here as they are.
count() {
    while IFS= read -r line; do
        printf "%s\n" "$line"
        case "$line" in
        "ok "*) pass=$((pass + 1)) ;;
        "FAIL "*) fail=$((fail + 1)) ;;
        esac
    done
}
SERVER=""
stop_server() {
    if [ -n "$SERVER" ]; then
        kill "$SERVER" 2>/dev/null
        # Bounded: 5 s for a clean drain, then KILL.
        i=0
        while kill -0 "$SERVER" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -0 "$SERVER" 2>/dev/null && kill -9 "$SERVER" 2>/dev/null
        wait "$SERVER" 2>/dev/null
        SERVER=""
    fi
}
finish() {
    stop_server
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}
T=$(mktemp -d /tmp/zy_serve.XXXXXX) || exit 1
trap 'stop_server; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

# ---- what the clients need ---------------------------------------------------------------
if "$ROOT/scripts/deps.sh" serve >"$T/err" 2>&1; then
    ok "chromium, npm and curl present (scripts/deps.sh serve)"
else
    bad "scripts/deps.sh serve"
    finish
fi
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM
if "$ROOT/scripts/data.sh" gpt2-tokenizer >"$T/err" 2>&1 &&
    [ -s "$ROOT/build/data/gpt2/encoder.json" ] && [ -s "$ROOT/build/data/gpt2/vocab.bpe" ]; then
    ok "GPT-2's tokenizer files (build/data/gpt2)"
else
    bad "scripts/data.sh gpt2-tokenizer"
    finish
fi
# The packages, as package-lock.json pins them: reinstalled only when the lock changed.
if cmp -s "$ROOT/tests/serve/package-lock.json" "$PEERS/package-lock.json" &&
    [ -d "$PEERS/node_modules/openai" ] && [ -d "$PEERS/node_modules/playwright-core" ]; then
    ok "npm packages already installed in $PEERS ($(cd "$PEERS" &&
        node -p 'Object.entries(require("./package.json").dependencies).map(e => e.join("@")).join(", ")'))"
else
    mkdir -p "$PEERS"
    rm -f "$PEERS/package-lock.json"
    cp "$ROOT/tests/serve/package.json" "$ROOT/tests/serve/package-lock.json" "$PEERS/"
    # --ignore-scripts: nothing runs at install time (playwright-core has no browser to
    # fetch anyway: Debian's chromium is the browser).
    if (cd "$PEERS" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund \
        --ignore-scripts) >"$T/err" 2>&1 && [ -d "$PEERS/node_modules/openai" ]; then
        ok "npm ci into $PEERS ($(cd "$PEERS" &&
            node -p 'Object.entries(require("./package.json").dependencies).map(e => e.join("@")).join(", ")'))"
    else
        rm -f "$PEERS/package-lock.json"
        bad "npm ci of tests/serve/package.json into $PEERS"
        finish
    fi
fi
cd "$T" || exit 1

# ---- a model -----------------------------------------------------------------------------
sh "$ROOT/tests/toy_sentences.sh" 7 400 >data.txt
mkdir -p bpe
cp "$ROOT/build/data/gpt2/encoder.json" bpe/vocab.json
cp "$ROOT/build/data/gpt2/vocab.bpe" bpe/merges.txt
printf '{"model_type": "gpt2", "n_layer": 2, "n_head": 4, "n_embd": 64, "n_positions": 128,
 "vocab_size": 0}\n' >cfg.json
if "$Z" pretrain gpt --data data.txt --config cfg.json --tokenizer bpe --batch 8 --seq 32 \
    --steps 150 --warmup 10 --lr 3e-3 --eval-every 0 --val-fraction 0 --out model \
    >/dev/null 2>"$T/err"; then
    ok "a tiny GPT-2 (2 layers, n_embd 64, GPT-2's 50257-token BPE, 150 steps)"
else
    bad "pretrain the model"
    finish
fi
N_EMBD=$(node -p 'JSON.parse(require("fs").readFileSync("model/config.json", "utf8")).n_embd')
PROMPT="The cat sat"
if "$Z" generate model --prompt "$PROMPT" --max-tokens 12 --temperature 0 >expect.txt \
    2>"$T/err" && [ -s expect.txt ]; then
    ok "zhuyi generate --temperature 0 --max-tokens 12: $(node -p \
        'JSON.stringify(require("fs").readFileSync("expect.txt", "utf8"))')"
else
    bad "zhuyi generate (the expected completion)"
    finish
fi

# ---- the server --------------------------------------------------------------------------
free_port() {
    node -e 'const s = require("net").createServer();
             s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
# Up to 3 ports (another process may take the one found free); each start waited for at
# most 30 s.
up=""
for try in 1 2 3; do
    PORT=$(free_port) || break
    "$Z" serve --host 127.0.0.1 --port "$PORT" --model tiny=model >server.log 2>&1 &
    SERVER=$!
    i=0
    while [ $i -lt 300 ]; do
        if ! kill -0 "$SERVER" 2>/dev/null; then break; fi
        if curl -sf --max-time 2 "http://127.0.0.1:$PORT/health" 2>/dev/null |
            grep -q '"status" *: *"ok"'; then
            up=1
            break
        fi
        sleep 0.1
        i=$((i + 1))
    done
    [ -n "$up" ] && break
    stop_server
done
if [ -n "$up" ]; then
    ok "zhuyi serve --port $PORT --model tiny=model: GET /health says ok ($(awk "BEGIN { print $i / 10 }") s)"
else
    cp server.log "$T/err" 2>/dev/null
    bad "zhuyi serve did not answer GET /health within 30 s"
    finish
fi
export ZY_SERVE_URL="http://127.0.0.1:$PORT" ZY_SERVE_PEERS="$PEERS" ZY_SERVE_MODEL=tiny
export ZY_SERVE_PROMPT="$PROMPT" ZY_SERVE_EXPECT="$T/expect.txt" ZY_SERVE_N_EMBD="$N_EMBD"
export ZY_SERVE_SHOT="${ZY_SERVE_SHOT:-$T/page.png}" OPENAI_API_KEY=none

# ---- the clients -------------------------------------------------------------------------
# Each script bounds itself (60 s); timeout(1) bounds it again from outside.
echo "-- openai $(node -p "require('$PEERS/node_modules/openai/package.json').version")"
timeout 90 node "$ROOT/tests/serve/openai.mjs" >openai.out 2>"$T/err"
rc=$?
count <openai.out
[ $rc -eq 0 ] || [ "$(grep -c '^FAIL' openai.out)" -gt 0 ] || bad "openai.mjs exited $rc"
echo "-- playwright-core $(node -p \
    "require('$PEERS/node_modules/playwright-core/package.json').version"), $("$CHROMIUM" \
    --version 2>/dev/null | head -1)"
timeout 90 node "$ROOT/tests/serve/page.mjs" >page.out 2>"$T/err"
rc=$?
count <page.out
[ $rc -eq 0 ] || [ "$(grep -c '^FAIL' page.out)" -gt 0 ] || bad "page.mjs exited $rc"
if ! kill -0 "$SERVER" 2>/dev/null; then
    cp server.log "$T/err"
    bad "the server died during the tests"
fi
# An image classifier (a tiny ViT trained in seconds) on its own server: /v1/classify with
# base64 JSON and multipart uploads (curl -F) against `zhuyi predict`, and the refusals
# (tests/cli/serve_image.sh, also part of `make test`).
echo "-- an image classifier: tests/cli/serve_image.sh"
timeout 120 sh "$ROOT/tests/cli/serve_image.sh" "$Z" >image.out 2>"$T/err"
rc=$?
grep -v '^[0-9]* passed, [0-9]* failed$' image.out >image.lines
count <image.lines
[ $rc -eq 0 ] || [ "$(grep -c '^FAIL' image.out)" -gt 0 ] || bad "serve_image.sh exited $rc"
# A speech model (tones, trained in seconds) on its own server: /v1/audio/transcriptions
# with curl -F and with OpenAI's client (tests/serve/transcribe.mjs), against `zhuyi
# transcribe` (tests/cli/serve_speech.sh, also part of `make test` without the client).
echo "-- a speech model: tests/cli/serve_speech.sh"
ZY_SERVE_PEERS=$PEERS timeout 180 sh "$ROOT/tests/cli/serve_speech.sh" "$Z" >speech.out 2>"$T/err"
rc=$?
grep -v '^[0-9]* passed, [0-9]* failed$' speech.out >speech.lines
count <speech.lines
grep -q '^ok   openai client' speech.out || bad "serve_speech.sh did not run OpenAI's client"
[ $rc -eq 0 ] || [ "$(grep -c '^FAIL' speech.out)" -gt 0 ] || bad "serve_speech.sh exited $rc"
[ "$fail" -gt 0 ] && [ -s server.log ] && { echo "     server.log:"; tail -8 server.log |
    sed 's/^/     | /'; }
finish
