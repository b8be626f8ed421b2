#!/bin/sh
# `zhuyi serve`'s encoder endpoints against the CLI commands they share their code with:
# /v1/embeddings = `zhuyi embed --json` (BERT and GPT-2; base64 = the same float32s),
# /v1/fill-mask = `zhuyi fill-mask --json`, /v1/attention = `zhuyi attention --json`'s
# map, /v1/classify, /v1/tag and /v1/answer = `zhuyi predict` on the same examples,
# /v1/translate = `zhuyi translate --json`: the same numbers, exactly (both print them
# the same way). And refusals: a missing or mistyped field, no [MASK], a text longer than
# the positions, too many inputs, an endpoint the model is not for -- each a 400 naming
# the field. Models: the tiny BERT of tests/ref (as bert_use.sh), a GPT-2 and a BERT
# pretrained and fine-tuned here for a few steps (as bert_use.sh and finetune.sh), the
# tiny Marian of tests/ref (as translate.sh). The server listens on 127.0.0.1 only and
# is stopped at exit. Needs curl and python3 (scripts/deps.sh test).
# Usage: tests/cli/serve_encode.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start serve_encode "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$T"' EXIT

# ---- the models ---------------------------------------------------------------------------
VOCAB='[PAD] [UNK] [CLS] [SEP] [MASK] the in beginning god created heaven and earth was
without form void darkness upon face of deep spirit moved waters said let there be light
saw that it good divided from called day night evening morning first . , a cat sat on mat ##s'
cp -r "$ROOT/tests/ref/bert_tiny" bert && for w in $VOCAB; do echo "$w"; done >bert/vocab.txt

i=0
while [ $i -lt 40 ]; do
    echo "The cat sat on the mat, café au lait $i."
    echo "the cat sat on the mat"
    echo "a hat is on the cat"
    echo "dogs run in the sun"
    i=$((i + 1))
done >data.txt
grep -v "caf" data.txt >mt_data.txt # the tiny Marian has 40 ids: a small alphabet
mkdir mt
cp "$ROOT/tests/ref/marian_tiny/config.json" "$ROOT/tests/ref/marian_tiny/model.safetensors" mt/
$PY - <<'EOF'
import json, random
random.seed(7)
pos = ["good", "great", "fine", "lovely"]; neg = ["bad", "awful", "poor", "dull"]
fill = ["the", "film", "was", "really", "quite", "a", "story", "with", "acting", "and"]
def review():
    lab = random.random() < 0.5
    w = [random.choice(fill) for _ in range(random.randint(3, 7))]
    w.insert(random.randint(0, len(w)), random.choice(pos if lab else neg))
    return " ".join(w), "pos" if lab else "neg"
with open("cls_train.tsv", "w") as f:
    f.write("text\tlabel\n")
    for _ in range(48):
        f.write("%s\t%s\n" % review())
names = {"John": "PER", "Mary": "PER", "Paris": "LOC", "Rome": "LOC"}
verbs = ["went", "to", "saw", "met", "in", "the", "city", "and"]
def tagged():
    out = []
    for _ in range(random.randint(4, 8)):
        if random.random() < 0.3:
            n = random.choice(list(names)); out.append((n, "B-" + names[n]))
        else:
            out.append((random.choice(verbs), "O"))
    return out
with open("tag_train.txt", "w") as f:
    for _ in range(48):
        f.write(" ".join("%s/%s" % p for p in tagged()) + "\n")
with open("qa_train.jsonl", "w") as f:
    for i in range(48):
        a, b = random.choice(list(names)), random.choice(list(names))
        ctx = "in the city of %s %s met the king and went home ." % (a, b)
        f.write(json.dumps({"id": "q%d" % i, "context": ctx, "question": "who met the king ?",
                            "answers": {"text": [b], "answer_start": [ctx.index(" %s met" % b) + 1]}}) + "\n")
with open("corpus.txt", "w") as f:
    for _ in range(100):
        f.write(review()[0] + " . " + " ".join(w for w, _ in tagged()) + " .\n")
EOF
cat >tiny.json <<'EOF'
{"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 32,
 "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
 "max_position_embeddings": 64, "vocab_size": 2}
EOF
FT="--init body --epochs 1 --batch 8 --lr 2e-3 --seq 32"
if "$Z" pretrain gpt --data data.txt --val-fraction 0.1 --config gpt-nano --tokenizer byte \
    --batch 4 --seq 32 --steps 5 --warmup 2 --eval-every 0 --eval-batches 1 --out gpt >/dev/null 2>err &&
    "$Z" tokenizer train --type wordpiece --vocab-size 40 --special "</s>" --special "[UNK]" \
        --data mt_data.txt --out mt/tokenizer.json >/dev/null 2>>err &&
    "$Z" pretrain bert --data corpus.txt --config tiny.json --tokenizer wordpiece:200 --no-nsp \
        --val-fraction 0 --batch 8 --seq 32 --steps 5 --out body >/dev/null 2>>err &&
    "$Z" finetune classify $FT --train cls_train.tsv --out cls >/dev/null 2>>err &&
    "$Z" finetune tag $FT --train tag_train.txt --out tag >/dev/null 2>>err &&
    "$Z" finetune qa $FT --train qa_train.jsonl --out qa >/dev/null 2>>err; then
    ok "models: BERT (tests/ref), GPT-2, Marian (tests/ref), classify, tag and qa fine-tuned"
else
    bad "the models"
    cli_finish
    exit 1
fi

# ---- the server ---------------------------------------------------------------------------
PORT=$((18000 + $$ % 1000))
URL="http://127.0.0.1:$PORT"
"$Z" serve --port "$PORT" --model bert=bert --model gpt=gpt --model mt=mt --model cls=cls \
    --model tag=tag --model qa=qa >server.log 2>&1 &
SERVER=$!
up=0
for _ in $(seq 1 100); do
    curl -sf "$URL/health" >/dev/null 2>&1 && { up=1; break; }
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
done
if [ $up = 1 ]; then
    ok "zhuyi serve answers /health on port $PORT"
else
    cp server.log err
    bad "zhuyi serve did not start"
    cli_finish
    exit 1
fi

# q PATH JSON: the response body into ./resp, the HTTP status on stdout
q() { curl -s -o resp -w '%{http_code}' -H 'Content-Type: application/json' -d "$2" "$URL$1"; }

# same WHAT: ./chk's last line is "ok"
same() {
    if [ "$(tail -n 1 chk)" = ok ]; then ok "$1"; else cp chk err; bad "$1"; fi
}

# ---- embeddings ---------------------------------------------------------------------------
T1="the cat sat on the mat"
T2="In the beginning God created the heaven."
for m in bert gpt; do
    printf '%s\n%s\n' "$T1" "$T2" >lines.txt
    "$Z" embed $m --file lines.txt --json >cli 2>err
    st=$(q /v1/embeddings "{\"model\":\"$m\",\"input\":[\"$T1\",\"$T2\"]}")
    cp resp float.json
    st2=$(q /v1/embeddings "{\"model\":\"$m\",\"input\":[\"$T1\",\"$T2\"],\"encoding_format\":\"base64\"}")
    $PY - "$st$st2" >chk 2>&1 <<'EOF'
import base64, json, struct, sys
assert sys.argv[1] == "200200", sys.argv[1]
cli = [json.loads(l) for l in open("cli")]
f, b = json.load(open("float.json")), json.load(open("resp"))
assert f["object"] == "list" and f["usage"]["prompt_tokens"] > 0, f
got = [d["embedding"] for d in f["data"]]
assert [d["index"] for d in f["data"]] == [0, 1]
assert got == cli, "vectors differ from zhuyi embed"
for d, v in zip(b["data"], cli):
    raw = base64.b64decode(d["embedding"])
    assert list(struct.unpack("<%df" % (len(raw) // 4), raw)) == [struct.unpack("<f", struct.pack("<f", x))[0] for x in v]
print("ok")
EOF
    same "embeddings ($m): = zhuyi embed --json, base64 the same float32s"
done

# ---- fill-mask ----------------------------------------------------------------------------
Q="In the beginning God created the [MASK] and the [MASK]."
"$Z" fill-mask bert --text "$Q" --json --top-k 7 >cli 2>err
st=$(q /v1/fill-mask "{\"model\":\"bert\",\"input\":\"$Q\",\"top_k\":7}")
$PY - "$st" >chk 2>&1 <<'EOF'
import json, sys
assert sys.argv[1] == "200", sys.argv[1]
r = json.load(open("resp"))
assert r["object"] == "fill_mask" and r["model"] == "bert"
assert r["masks"] == [json.loads(l) for l in open("cli")], "masks differ"
print("ok")
EOF
same "fill-mask: two masks, top 7 = zhuyi fill-mask --json"

# ---- attention ----------------------------------------------------------------------------
"$Z" attention bert --text "$T1" --json --layer 1 --head mean >cli 2>err
st=$(q /v1/attention "{\"model\":\"bert\",\"input\":\"$T1\"}")
cp resp last.json
st2=$(q /v1/attention "{\"model\":\"gpt\",\"input\":\"$T1\",\"layer\":0,\"head\":1}")
"$Z" attention gpt --text "$T1" --json --layer 0 --head 1 >cli_gpt 2>>err
$PY - "$st$st2" >chk 2>&1 <<'EOF'
import json, sys
assert sys.argv[1] == "200200", sys.argv[1]
for got, want, head in [("last.json", "cli", None), ("resp", "cli_gpt", 1)]:
    r, c = json.load(open(got)), json.load(open(want))
    assert r["object"] == "attention" and r["head"] == head and r["layer"] == c["maps"][0]["layer"]
    assert r["tokens"] == c["tokens"] and r["layers"] == c["layers"] and r["heads"] == c["heads"]
    assert r["weights"] == c["maps"][0]["weights"], "weights differ"
print("ok")
EOF
same "attention: the last layer's head mean (BERT), a head of a layer (GPT-2) = zhuyi attention --json"

# ---- classify, tag, answer ----------------------------------------------------------------
printf 'text\nthe film was awful\nwhat a lovely story\n' >new.tsv
"$Z" predict cls --input new.tsv >cli 2>err
st=$(q /v1/classify '{"model":"cls","input":["the film was awful","what a lovely story"]}')
$PY - "$st" >chk 2>&1 <<'EOF'
import json, sys
assert sys.argv[1] == "200", sys.argv[1]
r = json.load(open("resp"))
cli = [json.loads(l) for l in open("cli")]
assert r["object"] == "classification" and len(r["data"]) == 2
for d, c in zip(r["data"], cli):
    assert d["label"] == c["label"] and d["score"] == c["score"], (d, c)
    assert abs(sum(d["scores"].values()) - 1) < 1e-5 and d["scores"][d["label"]] == d["score"]
print("ok")
EOF
same "classify: labels and scores = zhuyi predict"

printf 'John went to Paris\nMary  saw\tthe city\n' >words.txt
"$Z" predict tag --input words.txt --format word-tag >cli 2>err
st=$(q /v1/tag '{"model":"tag","input":["John went to Paris","Mary  saw\tthe city"]}')
$PY - "$st" >chk 2>&1 <<'EOF'
import json, sys
assert sys.argv[1] == "200", sys.argv[1]
r = json.load(open("resp"))
cli = [json.loads(l) for l in open("cli")]
texts = ["John went to Paris", "Mary  saw\tthe city"]
for d, c, t in zip(r["data"], cli, texts):
    ws = d["words"]
    assert [w["word"] for w in ws] == c["tokens"] and [w["tag"] for w in ws] == c["tags"], (d, c)
    assert [round(w["score"], 4) for w in ws] == c["scores"]
    assert all(t.encode()[w["start"]:w["end"]].decode() == w["word"] for w in ws)
print("ok")
EOF
same "tag: words, tags, scores = zhuyi predict; start/end the words' bytes"

head -n 2 qa_train.jsonl >qs.jsonl
"$Z" predict qa --input qs.jsonl >cli 2>err
$PY -c "
import json
for l in open('qs.jsonl'):
    q = json.loads(l)
    print(json.dumps({'model': 'qa', 'question': q['question'], 'context': q['context']}))" >bodies
good=1
n=0
while read -r body; do
    n=$((n + 1))
    st=$(q /v1/answer "$body")
    $PY - "$st" "$n" >chk 2>&1 <<'EOF' || good=0
import json, sys
assert sys.argv[1] == "200", sys.argv[1]
r = json.load(open("resp"))
c = [json.loads(l) for l in open("cli")][int(sys.argv[2]) - 1]
assert r["object"] == "answer"
assert (r["answer"], r["start"], r["end"], r["score"]) == (c["answer"], c["start"], c["end"], c["score"]), (r, c)
print("ok")
EOF
    [ "$(tail -n 1 chk)" = ok ] || good=0
done <bodies
[ $good = 1 ] && ok "answer: span, offsets, score = zhuyi predict ($n questions)" || { cp chk err; bad "answer"; }

# ---- translate ----------------------------------------------------------------------------
printf 'the cat sat\n\na man has the mat on the cat\nbig dog\n' >in.txt
"$Z" translate mt --input in.txt --json --n-best 2 --beam 3 >cli 2>err
st=$(q /v1/translate '{"model":"mt","input":["the cat sat","","a man has the mat on the cat","big dog"],"beam":3,"n_best":2}')
$PY - "$st" >chk 2>&1 <<'EOF'
import json, sys
assert sys.argv[1] == "200", sys.argv[1]
r = json.load(open("resp"))
cli = [json.loads(l) for l in open("cli")]
assert r["object"] == "translation" and len(r["data"]) == 4
for d, c in zip(r["data"], cli):
    assert d["translation"] == c["text"] and d["score"] == c["score"], (d, c)
    assert [(h["translation"], h["score"]) for h in d["hyps"]] == [(h["text"], h["score"]) for h in c["hyps"]]
print("ok")
EOF
same "translate: 2-best of beam 3, an empty line = zhuyi translate --json"

# ---- refusals -----------------------------------------------------------------------------
# refused PATH JSON PARAM WHAT: a 400 whose error names PARAM
refused() {
    st=$(q "$1" "$2")
    if [ "$st" = 400 ] && $PY -c "
import json, sys
e = json.load(open('resp'))['error']
assert e['param'] == sys.argv[1] and e['message'] and e['type'] == 'invalid_request_error', e" "$3" 2>err; then
        ok "$4: 400, param $3: $($PY -c "import json; print(json.load(open('resp'))['error']['message'][:90])")"
    else
        cp resp err
        bad "$4 (status $st)"
    fi
}
LONG="the the the the the the the the the the the the the the the the"
refused /v1/embeddings '{"model":"bert"}' input "embeddings without input"
refused /v1/embeddings '{"model":"bert","input":[1]}' input "embeddings of a number"
refused /v1/embeddings "{\"model\":\"bert\",\"input\":[$($PY -c "print(','.join(['\"a\"'] * 257))")]}" \
    input "257 inputs"
refused /v1/embeddings '{"model":"bert","input":"a","encoding_format":"hex"}' encoding_format \
    "an unknown encoding_format"
refused /v1/embeddings "{\"model\":\"bert\",\"input\":\"$LONG\"}" input "a text past the positions"
st=$(q /v1/embeddings "{\"model\":\"bert\",\"input\":\"$LONG\",\"truncate\":true}")
[ "$st" = 200 ] && ok "\"truncate\": true cuts it" || bad "truncate: status $st"
refused /v1/fill-mask '{"model":"bert","input":"the cat sat"}' input "fill-mask without [MASK]"
refused /v1/fill-mask '{"model":"bert","input":"the [MASK]","top_k":0}' top_k "top_k 0"
refused /v1/attention '{"model":"bert","input":"the cat","layer":2}' layer "a layer past the last"
refused /v1/classify '{"model":"cls","input":["a","b"],"text_pair":"c"}' text_pair \
    "text_pair unlike input"
refused /v1/tag '{"model":"tag","input":"   "}' input "a text of no words"
refused /v1/answer '{"model":"qa","context":"x"}' question "answer without a question"
refused /v1/translate '{"model":"mt","input":"a","beam":2,"n_best":3}' n_best "n_best > beam"
st=$(q /v1/fill-mask '{"model":"cls","input":"the [MASK]"}')
[ "$st" = 400 ] && grep -q "needs" resp && ok "fill-mask on a classifier: 400 ($(head -c 120 resp))" ||
    { cp resp err; bad "fill-mask on a classifier: status $st"; }

cli_finish
