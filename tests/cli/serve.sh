#!/bin/sh
# `zhuyi serve` over loopback with curl: the model list, completions equal to `zhuyi
# generate` (greedy, and sampled with the same seed), streams (Server-Sent Events ending in
# [DONE]) equal to the whole answer, chat through the template, stop texts, n choices,
# logprobs, parallel requests decoded together giving each its own answer, tokenize /
# detokenize, errors in the OpenAI shape with their statuses (400, 401, 404, 405, 413, 503),
# CORS, /metrics, a client that hangs up freeing its slot, and SIGTERM finishing the
# requests in flight. Every wait is bounded.
. "$(dirname "$0")/lib.sh"
cli_start serve "$@"
PIDS=""
trap 'for p in $PIDS; do kill -9 $p 2>/dev/null; done; rm -rf "$T"' EXIT

command -v curl >/dev/null || { echo "tests/cli/serve.sh: curl is missing (scripts/deps.sh test)"; exit 1; }
PY=/usr/bin/python3
# json FILE EXPR: EXPR evaluated with d = the JSON in FILE
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1], encoding='utf-8')); sys.stdout.write(str(($2)))" "$1"; }

# ---- models to serve -----------------------------------------------------------------------
i=0
while [ $i -lt 40 ]; do
    echo "The cat sat on the mat, café au lait — naïve 中文字符 line $i."
    echo "In the beginning was the word; and the word was good. 注意 attention!"
    i=$((i + 1))
done >data.txt
"$Z" pretrain gpt --data data.txt --config gpt-nano --tokenizer byte --batch 4 --seq 32 \
    --steps 30 --warmup 5 --lr 3e-3 --eval-every 0 --eval-batches 0 --out tiny >/dev/null 2>err \
    && ok "a tiny GPT to serve" || bad "pretrain a tiny GPT"
# slower (6 layers, 1024 positions: some ms a token on one thread) for requests that must
# still run while the test acts
echo '{"model_type": "gpt2", "n_positions": 1024, "n_embd": 384, "n_layer": 6, "n_head": 6}' >slow.json
"$Z" pretrain gpt --data data.txt --config slow.json --tokenizer byte --batch 1 --seq 32 \
    --steps 1 --eval-every 0 --eval-batches 0 --out slow >/dev/null 2>err \
    && ok "a slower GPT to serve" || bad "pretrain a slower GPT"

# post PATH JSON [curl args]: the body in ./body, the status in ./status
post() {
    p=$1 d=$2
    shift 2
    curl -s -o body -w '%{http_code}' --max-time 60 "$@" -H 'Content-Type: application/json' \
        -d "$d" "$U$p" >status
}
# expect_error STATUS PARAM-OR-- WHAT: the last answer is an OpenAI error with this status
expect_error() {
    st=$(cat status)
    if [ "$st" = "$1" ] && json body "d['error']['message'] and d['error']['type']" >/dev/null 2>&1 &&
        { [ "$2" = - ] || [ "$(json body "d['error']['param']")" = "$2" ]; }; then
        ok "$3: $st $(json body "d['error']['message']" | cut -c1-90)"
    else
        bad "$3: status $st, body $(head -c 300 body)"
    fi
}

# ---- the command line ----------------------------------------------------------------------
check_help serve --model --host --port --parallel --queue --max-body --timeout --connections \
    --api-key --cors --seed --weights --kv-cache --threads
"$Z" serve >out 2>err; [ $? = 2 ] && grep -q usage err && ok "serve without a model: usage, status 2" \
    || bad "serve without a model"
expect_fail "serve --port 70000" "port" "$Z" serve tiny --port 70000
expect_fail "serve --model without NAME=" "NAME=DIR" "$Z" serve --model tiny
expect_fail "serve a missing directory" "serve: .*nothere.*\(No such\|not\|cannot\)" "$Z" serve nothere --port 0
expect_fail "serve two models of one name" "two models are named 'tiny'" "$Z" serve tiny ./tiny/ --port 0

# ---- one server: tiny (4 slots), slow ------------------------------------------------------
if ! serve_start s1 --model tiny=tiny --model slow=slow --threads 1 --seed 7 --max-body 100000; then
    bad "serve starts"; sed 's/^/     | /' s1.err | tail -5
    cli_finish
    exit 1
fi
ok "serve listens ($(sed -n 's/.*serve: \(2 models.*\), 4 parallel.*/\1/p' s1.err))"
curl -s --max-time 10 "$U/health" | grep -q '"ok"' && ok "GET /health" || bad "GET /health"
curl -s --max-time 10 "$U/v1/models" >models.json
[ "$(json models.json "' '.join(m['id']+':'+m['zhuyi']['kind'] for m in d['data'])")" = "tiny:causal-lm slow:causal-lm" ] \
    && ok "GET /v1/models lists both, with their kind" || bad "GET /v1/models: $(cat models.json)"
curl -s --max-time 10 "$U/v1/models/slow" >m.json
[ "$(json m.json "d['id'], d['zhuyi']['max_positions']")" = "('slow', 1024)" ] \
    && ok "GET /v1/models/slow" || bad "GET /v1/models/slow: $(cat m.json)"

# greedy completions equal zhuyi generate's
"$Z" generate tiny --prompt "The cat" --max-tokens 24 --temperature 0 >gen.txt 2>err
post /v1/completions '{"model": "tiny", "prompt": "The cat", "max_tokens": 24, "temperature": 0}'
json body "d['choices'][0]['text']" >got.txt
if [ "$(cat status)" = 200 ] && cmp -s gen.txt got.txt; then
    ok "greedy completion = zhuyi generate's ($(wc -c <got.txt) bytes)"
else
    bad "greedy completion: status $(cat status), '$(cat got.txt)' vs '$(cat gen.txt)'"
fi
[ "$(json body "d['object'], d['choices'][0]['finish_reason'], d['usage']['completion_tokens'], d['usage']['prompt_tokens']")" = "('text_completion', 'length', 24, 7)" ] \
    && ok "completion object, finish_reason length, usage" || bad "completion fields: $(head -c 400 body)"
# sampled with a seed: the same tokens as zhuyi generate --seed (compared as bytes: the
# byte-level model writes bytes that are not UTF-8, which JSON text shows as U+FFFD; chat
# logprobs carry each token's bytes)
"$Z" generate tiny --system "S" --prompt "In the" --max-tokens 30 --temperature 0.9 --top-k 20 \
    --seed 5 >gen.txt 2>err
post /v1/chat/completions '{"model": "tiny", "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "In the"}], "max_tokens": 30, "temperature": 0.9, "top_k": 20, "seed": 5, "logprobs": true}'
$PY -c "import json,sys; d=json.load(open('body')); sys.stdout.buffer.write(bytes(b for e in d['choices'][0]['logprobs']['content'] for b in e['bytes']))" >got.txt
cmp -s gen.txt got.txt && ok "sampled with seed 5 = zhuyi generate --seed 5 ($(wc -c <got.txt) bytes)" \
    || bad "sampled: '$(cat got.txt)' vs '$(cat gen.txt)'"

# streaming gives the same text, in chunks, ending with data: [DONE]
post /v1/completions '{"model": "tiny", "prompt": "The cat", "max_tokens": 24, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}'
$PY - body >streamed.txt <<'EOF' 2>err
import json, sys
ev = [l[6:] for l in open(sys.argv[1], encoding='utf-8').read().split('\n') if l.startswith('data: ')]
assert ev[-1] == '[DONE]', 'no [DONE]'
chunks = [json.loads(e) for e in ev[:-1]]
text = ''.join(c['choices'][0]['text'] for c in chunks if c['choices'])
fin = [c['choices'][0]['finish_reason'] for c in chunks if c['choices'] and c['choices'][0]['finish_reason']]
assert fin == ['length'], fin
assert chunks[-1]['usage']['completion_tokens'] == 24 and chunks[-1]['choices'] == []
sys.stdout.write('%s\n%d' % (text, len(chunks)))
EOF
if [ $? = 0 ] && [ "$(head -n -1 streamed.txt)" = "$("$Z" generate tiny --prompt "The cat" --max-tokens 24 --temperature 0)" ]; then
    ok "stream: $(tail -n 1 streamed.txt) chunks = the whole text, finish_reason, usage, [DONE]"
else
    bad "stream: $(cat err) $(head -c 300 body)"
fi

# chat: the template renders the messages as zhuyi generate --system renders them
"$Z" generate tiny --system "Be brief." --prompt "Hello there" --max-tokens 20 --temperature 0 >gen.txt 2>err
post /v1/chat/completions '{"model": "tiny", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}], "max_tokens": 20, "temperature": 0}'
json body "d['choices'][0]['message']['content']" >got.txt
if [ "$(cat status)" = 200 ] && cmp -s gen.txt got.txt &&
    [ "$(json body "d['object'], d['choices'][0]['message']['role']")" = "('chat.completion', 'assistant')" ]; then
    ok "chat completion = zhuyi generate --system (template zhuyi-1)"
else
    bad "chat: status $(cat status), '$(cat got.txt)' vs '$(cat gen.txt)'"
fi
post /v1/chat/completions '{"model": "tiny", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}], "max_tokens": 8, "stream": true, "seed": 3}'
$PY - body >err 2>&1 <<'EOF' && ok "chat stream: role first, deltas, finish_reason, [DONE]" || bad "chat stream: $(cat err)"
import json, sys
ev = [l[6:] for l in open(sys.argv[1], encoding='utf-8').read().split('\n') if l.startswith('data: ')]
assert ev[-1] == '[DONE]'
ch = [json.loads(e) for e in ev[:-1]]
assert all(c['object'] == 'chat.completion.chunk' for c in ch)
assert ch[0]['choices'][0]['delta'] == {'role': 'assistant', 'content': ''}, ch[0]
assert ch[-1]['choices'][0]['finish_reason'] in ('stop', 'length')
EOF

# stop texts: the text ends before the first one, finish_reason stop
full=$("$Z" generate tiny --prompt "The" --max-tokens 40 --temperature 0)
stop=$(printf '%s' "$full" | cut -c6-8)
post /v1/completions "{\"model\": \"tiny\", \"prompt\": \"The\", \"max_tokens\": 40, \"temperature\": 0, \"stop\": [\"zzz\", \"$stop\"]}"
want=$($PY -c "import sys; f=sys.argv[1]; print(f[:f.find(sys.argv[2])])" "$full" "$stop")
[ "$(json body "d['choices'][0]['text']")" = "$want" ] && [ "$(json body "d['choices'][0]['finish_reason']")" = stop ] \
    && ok "stop text '$stop': cut before it, finish_reason stop" || bad "stop: $(head -c 300 body)"

# n choices with a seed: distinct seeds per choice, repeatable
post /v1/completions '{"model": "tiny", "prompt": ["a", "b"], "n": 3, "max_tokens": 10, "seed": 11, "logprobs": 2}'
cp body n1.json
post /v1/completions '{"model": "tiny", "prompt": ["a", "b"], "n": 3, "max_tokens": 10, "seed": 11, "logprobs": 2}'
if [ "$(json n1.json "len(d['choices']), [c['index'] for c in d['choices']]")" = "(6, [0, 1, 2, 3, 4, 5])" ] &&
    [ "$(json n1.json "[c['text'] for c in d['choices']]")" = "$(json body "[c['text'] for c in d['choices']]")" ] &&
    json n1.json "all(len(c['logprobs']['tokens']) == len(c['logprobs']['token_logprobs']) == len(c['logprobs']['top_logprobs']) for c in d['choices']) and all(len(t) <= 2 for c in d['choices'] for t in c['logprobs']['top_logprobs']) and all(v <= 0 for c in d['choices'] for v in c['logprobs']['token_logprobs'])" | grep -q True; then
    ok "2 prompts x n 3: 6 choices, repeatable with a seed, logprobs with 2 alternatives"
else
    bad "n choices: $(head -c 400 n1.json)"
fi
post /v1/chat/completions '{"model": "tiny", "messages": [{"role": "user", "content": "x"}], "max_tokens": 4, "logprobs": true, "top_logprobs": 3}'
json body "len(d['choices'][0]['logprobs']['content']) == d['usage']['completion_tokens'] and all(len(e['top_logprobs']) == 3 and bytes(e['bytes']) for e in d['choices'][0]['logprobs']['content'])" | grep -q True \
    && ok "chat logprobs: an entry per token with bytes and 3 alternatives" || bad "chat logprobs: $(head -c 400 body)"

# parallel requests, decoded together, each get their own answer
for p in "The" "In the" "café" "The cat sat"; do
    "$Z" generate tiny --prompt "$p" --max-tokens 30 --temperature 0 >"alone_$p.txt"
done
for p in "The" "In the" "café" "The cat sat"; do
    curl -s --max-time 60 -d "{\"model\": \"tiny\", \"prompt\": \"$p\", \"max_tokens\": 30, \"temperature\": 0}" "$U/v1/completions" >"par_$p.json" &
done
wait_ok=1
for p in "The" "In the" "café" "The cat sat"; do wait $! 2>/dev/null; done
sleep 0.2
for p in "The" "In the" "café" "The cat sat"; do
    json "par_$p.json" "d['choices'][0]['text']" >"par_$p.txt" 2>/dev/null
    cmp -s "par_$p.txt" "alone_$p.txt" || wait_ok=0
done
[ $wait_ok = 1 ] && ok "4 requests at once: each = its own zhuyi generate" || bad "parallel requests differ"

# tokenize / detokenize round trip
post /v1/tokenize '{"model": "tiny", "input": "héllo"}'
[ "$(json body "d['tokens']")" = "[104, 195, 169, 108, 108, 111]" ] && ok "tokenize" || bad "tokenize: $(cat body)"
post /v1/detokenize '{"model": "tiny", "tokens": [104, 195, 169, 108, 108, 111]}'
[ "$(json body "d['text']")" = "héllo" ] && ok "detokenize" || bad "detokenize: $(cat body)"

# ---- errors -----------------------------------------------------------------------------------
post /v1/completions '{"model": "nope", "prompt": "x"}'
expect_error 404 model "unknown model"
post /v1/completions '{"model": "tiny", "prompt": "x"'
expect_error 400 - "a body that is not JSON"
post /v1/completions '[1, 2]'
expect_error 400 - "a body that is not an object"
post /v1/chat/completions '{"model": "tiny", "messages": [{"role": "user", "content": "a", "role": "system"}]}'
expect_error 400 role "a field given twice"
post /v1/completions '{"model": "tiny"}'
expect_error 400 prompt "no prompt"
post /v1/completions '{"model": "tiny", "prompt": "x", "temperature": -1}'
expect_error 400 temperature "temperature -1"
post /v1/completions '{"model": "tiny", "prompt": "x", "n": "2"}'
expect_error 400 n "n as a string"
post /v1/completions '{"model": "tiny", "prompt": [5, 300]}'
expect_error 400 prompt "a token id outside the vocabulary"
long=$($PY -c "print('x' * 70)")
post /v1/completions "{\"model\": \"tiny\", \"prompt\": \"$long\"}"
expect_error 400 prompt "a prompt longer than the context (64)"
post /v1/chat/completions '{"model": "tiny", "messages": [{"role": "robot", "content": "x"}]}'
expect_error 400 messages "an unknown role"
post /v1/completions '{"prompt": "x"}'
expect_error 400 model "no model, two served"
post /v1/embeddings2 '{}'
expect_error 404 - "an unknown path"
curl -s -o body -w '%{http_code}' --max-time 10 "$U/v1/completions" >status
expect_error 405 - "GET on a POST endpoint"
$PY -c "print('{\"model\": \"tiny\", \"prompt\": \"' + 'x' * 200000 + '\"}')" >big.json
curl -s -o body -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' --data-binary @big.json "$U/v1/completions" >status
expect_error 413 - "a body over --max-body"
post /v1/completions '{"model": "tiny", "prompt": "x", "max_tokens": 1, "presence_penalty": 1}'
expect_error 400 presence_penalty "a presence penalty (not implemented)"
post /v1/completions '{"model": "tiny", "prompt": "x", "max_tokens": -1}'
expect_error 400 max_tokens "max_tokens -1"
post /v1/completions '{"model": "tiny", "prompt": "x", "max_tokens": 1e300}'
expect_error 400 max_tokens "max_tokens 1e300"
printf '{"model": "tiny", "prompt": "caf\351 \300\257"}' >bad_utf8.json
curl -s -o body -w '%{http_code}' --max-time 10 --data-binary @bad_utf8.json "$U/v1/completions" >status
expect_error 400 - "a body that is not UTF-8"
post /v1/completions '{"model": "tiny", "prompt": "\ud800"}'
expect_error 400 - "a lone surrogate escape"
curl -s --max-time 10 "$U/health" | grep -q '"ok"' && ok "healthy after the bad requests" || bad "unhealthy after bad requests"

# ---- a client that hangs up frees its slot at once ------------------------------------------
busy() { curl -s --max-time 10 "$U/metrics" | sed -n 's/^zhuyi_slots_busy \([0-9]*\)$/\1/p'; }
: >hang.txt # exists before the loop below reads it (the background job opens it later)
curl -s -N --max-time 60 -d '{"model": "slow", "prompt": "The", "max_tokens": 900, "stream": true, "temperature": 0}' "$U/v1/completions" >hang.txt &
cpid=$!
k=0
while [ $k -lt 100 ] && [ "$(grep -c '^data: ' hang.txt)" -lt 3 ]; do sleep 0.05; k=$((k + 1)); done
b1=$(busy)
kill $cpid 2>/dev/null
wait $cpid 2>/dev/null
k=0
while [ $k -lt 50 ] && [ "$(busy)" != 0 ]; do sleep 0.05; k=$((k + 1)); done
b2=$(busy)
[ "$b1" = 1 ] && [ "$b2" = 0 ] && ok "a streaming client that hangs up: its slot is free within $((k * 50)) ms" \
    || bad "hang-up: slots busy $b1 while streaming, $b2 after"

curl -s --max-time 10 "$U/metrics" >metrics.txt
grep -q '^zhuyi_requests_total{route="/v1/completions",status="2xx"} [1-9]' metrics.txt &&
    grep -q '^zhuyi_generated_tokens_total [1-9]' metrics.txt &&
    grep -q '^zhuyi_request_duration_seconds_bucket{le="+Inf"} [1-9]' metrics.txt &&
    grep -q '^zhuyi_requests_total{route="/v1/completions",status="4xx"} [1-9]' metrics.txt &&
    ok "GET /metrics: requests by route and status, tokens, latency histogram" || bad "metrics: $(head -20 metrics.txt)"

# ---- SIGTERM: the requests in flight finish, then the server exits 0 -------------------------
: >drain.txt # exists before the loop below reads it (the background job opens it later)
curl -s -N --max-time 60 -d '{"model": "slow", "prompt": "The", "max_tokens": 150, "stream": true, "temperature": 0}' "$U/v1/completions" >drain.txt &
cpid=$!
k=0
while [ $k -lt 100 ] && [ "$(grep -c '^data: ' drain.txt)" -lt 2 ]; do sleep 0.05; k=$((k + 1)); done
kill -TERM $PID
wait $cpid
wait $PID
rc=$?
[ $rc = 0 ] && tail -n 2 drain.txt | grep -q '^data: \[DONE\]' && grep -q "serve: stopped" s1.err &&
    [ "$(grep -c '^data: {' drain.txt)" -ge 150 ] \
    && ok "SIGTERM: the stream in flight ends with [DONE] ($(grep -c '^data: {' drain.txt) chunks), exit 0" \
    || bad "SIGTERM: exit $rc, $(tail -c 200 drain.txt)"

# ---- a second server: API key, CORS, a full queue ---------------------------------------------
if serve_start s2 slow --api-key sekrit --cors --parallel 1 --queue 1 --threads 1; then
    post /v1/completions '{"prompt": "x", "max_tokens": 1}'
    expect_error 401 - "no API key"
    post /v1/completions '{"prompt": "x", "max_tokens": 1}' -H 'Authorization: Bearer wrong'
    expect_error 401 - "a wrong API key"
    post /v1/completions '{"prompt": "x", "max_tokens": 2}' -H 'Authorization: Bearer sekrit'
    [ "$(cat status)" = 200 ] && ok "the right API key: 200; one model: 'model' may be left out" \
        || bad "API key: $(cat status) $(cat body)"
    curl -s --max-time 10 "$U/health" | grep -q ok && ok "/health needs no key" || bad "/health with a key set"
    curl -s -i -X OPTIONS --max-time 10 -H 'Origin: http://example.org' \
        -H 'Access-Control-Request-Method: POST' "$U/v1/completions" >cors.txt
    grep -qi '^access-control-allow-origin: \*' cors.txt && grep -qi 'allow-headers:.*authorization' cors.txt \
        && ok "CORS preflight (--cors)" || bad "CORS: $(head -c 300 cors.txt)"
    # one slot, a queue of one: a third request while two are in is refused with 503
    A='Authorization: Bearer sekrit'
    curl -s -N --max-time 60 -H "$A" -d '{"prompt": "The", "max_tokens": 400, "stream": true, "temperature": 0}' "$U/v1/completions" >q1.txt &
    q1=$!
    k=0
    while [ $k -lt 600 ] && [ "$(grep -c '^data: ' q1.txt)" -lt 2 ]; do sleep 0.05; k=$((k + 1)); done
    curl -s --max-time 60 -H "$A" -d '{"prompt": "The", "max_tokens": 5}' "$U/v1/completions" >q2.json &
    q2=$!
    # the second is queued (the gauge says so) before the third comes: on a loaded machine a
    # fixed pause let the third overtake it
    k=0
    while [ $k -lt 600 ] && ! curl -s --max-time 10 -H "$A" "$U/metrics" | grep -q '^zhuyi_queue_depth 1'; do
        sleep 0.05
        k=$((k + 1))
    done
    curl -s -D hdr.txt -o body -w '%{http_code}' --max-time 10 -H "$A" -d '{"prompt": "x", "max_tokens": 1}' "$U/v1/completions" >status
    expect_error 503 - "a request beyond --queue"
    grep -qi '^retry-after:' hdr.txt && ok "503 carries Retry-After" || bad "503 without Retry-After"
    kill $q1 2>/dev/null
    wait $q2
    json q2.json "d['choices'][0]['finish_reason']" >/dev/null 2>&1 && ok "the queued request ran once the slot was free" \
        || bad "queued request: $(head -c 300 q2.json)"
    kill -TERM $PID
    wait $PID
else
    bad "serve with --api-key starts"
fi

cli_finish
