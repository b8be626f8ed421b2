#!/bin/sh
# CLI tests of `zhuyi fill-mask`, `zhuyi embed` and `zhuyi attention` on tiny models:
# the BERT reference directories of tests/ref (BertForPreTraining and BertModel, random
# O(1) weights, 50 tokens, 16 positions) with a 50-word vocab.txt written here, and a
# GPT-2 trained here for a few steps (`zhuyi pretrain gpt`, byte tokenizer, so UTF-8
# characters are split across tokens). Checked: the output formats (JSON always valid,
# one line per [MASK] / per input line), top-k order, probabilities summing to at most 1
# (exactly 1 over the whole vocabulary), scores, vectors and attention weights equal to
# the float64 PyTorch reference of tests/ref_bert.py, embed independent of --batch and
# --normalize giving unit vectors, the SVG well-formed (xmllint and Python's parser)
# with one map per (layer, head) plus the head means, every cell drawn at its weight's
# level, GPT's attention rows summing to 1 and 0 above the diagonal; each bad input
# (no [MASK], no MLM head, too long, no WordPiece tokenizer, bad selections, ...) exits
# non-zero with a "zhuyi:" message and prints nothing on stdout.
# Needs /usr/bin/python3 with Debian's python3-torch and xmllint (scripts/deps.sh test);
# no network, no timing.
# Usage: tests/cli/bert_use.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start bert_use "$@"
PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}

# fill-mask, attention and embed's poolings are compared with the reference in fp32 ($F32,
# and fill-mask's other outputs with those): where the CPU has bf16 products the default
# precision is bf16 (inputs rounded to 8 bits of mantissa). embed's independence of
# --batch is checked at the default.
F32="--precision fp32"

# ---- the models ---------------------------------------------------------------------------
VOCAB='[PAD] [UNK] [CLS] [SEP] [MASK] the in beginning god created heaven and earth was
without form void darkness upon face of deep spirit moved waters said let there be light
saw that it good divided from called day night evening morning first . , a cat sat on mat ##s'
cp -r "$ROOT/tests/ref/bert_tiny" bert && cp -r "$ROOT/tests/ref/bert_tiny_base" base &&
    for w in $VOCAB; do echo "$w"; done >bert/vocab.txt && cp bert/vocab.txt base/ &&
    cp -r bert nomask && sed -i 's/^\[MASK\]$/[MASQUE]/' nomask/vocab.txt &&
    cp -r bert notok && rm notok/vocab.txt
[ "$(wc -l <bert/vocab.txt)" -eq 50 ] && ok "BERT directories (tests/ref/bert_tiny + a 50-word vocab.txt)" ||
    bad "BERT directories"
i=0
while [ $i -lt 40 ]; do
    echo "The cat sat on the mat, café au lait — naïve 中文字符 <b>&amp; \"line\" $i."
    echo "In the beginning was the word; and the word was good. 注意 attention!"
    i=$((i + 1))
done >data.txt
if "$Z" pretrain gpt --data data.txt --val-fraction 0.1 --config gpt-nano --tokenizer byte \
    --batch 4 --seq 32 --steps 20 --warmup 5 --lr 3e-3 --eval-every 0 --eval-batches 1 \
    --out gpt >/dev/null 2>err; then
    ok "a tiny GPT (pretrain gpt-nano, byte tokenizer, 20 steps)"
else
    bad "pretrain a tiny GPT"
fi

# The float64 reference (tests/ref_bert.py's forward on the directory's weights): reads
# queries as "text<TAB>pair" lines, writes ref.json with per query ids, types, hidden,
# pooled, mlm probabilities and attentions.
cat >ref.py <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[1] + "/tests")
import torch
from ref_bert import forward
from ref_gpt import read_safetensors
d, queries = sys.argv[2], sys.argv[3]
cfg = json.load(open(d + "/config.json"))
p = {n if n.startswith(("bert.", "cls.")) else "bert." + n: t.double()
     for n, t in read_safetensors(d + "/model.safetensors").items()}
out = []
for q in json.load(open(queries)):
    ids = torch.tensor([q["ids"]])
    types = torch.tensor([q["types"]])
    o = forward(p, cfg, ids, types, [len(q["ids"])])
    r = {"hidden": o["hidden"][0].tolist(), "attentions": [a[0].tolist() for a in o["attentions"]]}
    if "pooled" in o:
        r["pooled"] = o["pooled"][0].tolist()
    if "mlm_logits" in o:
        r["probs"] = torch.softmax(o["mlm_logits"][0], -1).tolist()
    out.append(r)
json.dump(out, open("ref.json", "w"))
EOF
# ids and token types of "text" (and "pair") by the tokenizer CLI, as the queries file
queries() { # text [pair]...: each argument "text" or "text|pair"
    echo "[" >queries.json
    sep=""
    for q in "$@"; do
        a=${q%%|*}
        a_ids=$(printf '%s' "$a" | "$Z" tokenize encode --special --add-special --tokenizer bert/vocab.txt)
        if [ "$a" != "$q" ]; then
            b=$(printf '%s' "${q#*|}" | "$Z" tokenize encode --special --tokenizer bert/vocab.txt)
            n_a=$(echo "$a_ids" | wc -w)
            ids="$a_ids $b 3"
            types=$($PY -c "print(' '.join(['0'] * $n_a + ['1'] * ($(echo "$b" | wc -w) + 1)))")
        else
            ids=$a_ids
            types=$(echo "$ids" | sed 's/[0-9][0-9]*/0/g')
        fi
        printf '%s{"ids": [%s], "types": [%s]}\n' "$sep" "$(echo $ids | tr ' ' ,)" \
            "$(echo $types | tr ' ' ,)" >>queries.json
        sep=","
    done
    echo "]" >>queries.json
}

# ---- fill-mask ----------------------------------------------------------------------------
check_help fill-mask --text --text-pair --file --jsonl --top-k --json --truncate --threads
check_help embed --text --file --jsonl --pooling --normalize --json --batch --truncate --threads
check_help attention --text --text-pair --out --json --layer --head --truncate --threads

Q1="In the beginning God created the [MASK]."
Q2="the [MASK] sat on the [MASK]"
QP="darkness was upon the [MASK]|the spirit of god moved"
"$Z" $F32 fill-mask bert --text "$Q1" >fm_plain 2>err &&
    "$Z" $F32 fill-mask bert --text "$Q1" --json >fm1 2>>err &&
    "$Z" $F32 fill-mask bert --text "${Q2}" --json --top-k 7 >fm2 2>>err &&
    "$Z" $F32 fill-mask bert --text "${QP%%|*}" --text-pair "${QP#*|}" --json >fmp 2>>err &&
    "$Z" $F32 fill-mask bert --text "$Q1" --json --top-k 50 >fm_all 2>>err &&
    "$Z" $F32 fill-mask bert --text "$Q1" --json --top-k 1000 >fm_more 2>>err
rc=$?
queries "$Q1" "$Q2" "$QP" && $PY ref.py "$ROOT" bert queries.json 2>>err
if [ $rc -eq 0 ] && $PY - <<'EOF' 2>>err; then
import json, math
vocab = open("bert/vocab.txt").read().split("\n")
ref = json.load(open("ref.json"))
qs = json.load(open("queries.json"))
def lines(f):
    return [json.loads(l) for l in open(f)]
def check(got, q, r, k):
    mask_pos = [t for t, i in enumerate(q["ids"]) if i == 4]
    assert len(got) == len(mask_pos), (len(got), mask_pos)
    for cands, t in zip(got, mask_pos):
        assert len(cands) == k, len(cands)
        probs = r["probs"][t]
        want = sorted(range(len(probs)), key=lambda v: (-probs[v], v))[:k]
        assert all(set(c) == {"token", "id", "score"} for c in cands), cands[0]
        assert [c["id"] for c in cands] == want, ([c["id"] for c in cands], want)
        assert all(c["token"] == vocab[c["id"]] for c in cands)
        s = [c["score"] for c in cands]
        assert s == sorted(s, reverse=True) and sum(s) <= 1 + 1e-6, s
        for c in cands:
            assert abs(c["score"] - probs[c["id"]]) <= 1e-5 + 1e-4 * probs[c["id"]], (c, probs[c["id"]])
check(lines("fm1"), qs[0], ref[0], 5)
check(lines("fm2"), qs[1], ref[1], 7)
check(lines("fmp"), qs[2], ref[2], 5)
for f in ("fm_all", "fm_more"):
    (c,) = lines(f)
    assert len(c) == 50 and abs(sum(x["score"] for x in c) - 1) < 1e-5, f
plain = [l.split() for l in open("fm_plain").read().strip().split("\n")]
assert [(t, float(s)) for t, s in plain] == [(c["token"], round(c["score"], 4)) for c in lines("fm1")[0]], plain
EOF
    ok "fill-mask: top-k ids, order and probabilities = the PyTorch reference (one, two masks, a pair); plain = JSON"
else
    bad "fill-mask against the reference"
fi
# Several queries from stdin, --file and --jsonl give the lines the queries give alone.
printf '%s\n\n%s\n' "$Q1" "$Q2" >qs.txt
printf '{"text": "%s"}\n{"text": "%s", "text_pair": "%s"}\n' "$Q1" "${QP%%|*}" "${QP#*|}" >qs.jsonl
cat fm1 fm2 >want_lines
"$Z" $F32 fill-mask bert --json --top-k 7 <qs.txt >fm_stdin 2>err &&
    "$Z" $F32 fill-mask bert --json --top-k 7 --file qs.txt >fm_file 2>>err &&
    "$Z" $F32 fill-mask bert --text "$Q1" --json --top-k 7 >fm1_7 2>>err &&
    "$Z" $F32 fill-mask bert --json --file qs.jsonl --jsonl >fm_jsonl 2>>err
if cmp -s fm_stdin fm_file && [ "$(wc -l <fm_stdin)" -eq 3 ] &&
    [ "$(head -1 fm_stdin)" = "$(cat fm1_7)" ] && [ "$(tail -2 fm_stdin)" = "$(cat fm2)" ] &&
    [ "$(cat fm_jsonl)" = "$(cat fm1 fmp)" ]; then
    ok "fill-mask: stdin, --file (a blank line skipped) and --jsonl equal the queries alone"
else
    bad "fill-mask: several queries"
fi
# A text as long as the positions allow (16 with [CLS] and [SEP]) runs; one token more
# is refused naming the count and the limit; --truncate cuts it.
LONG14="the cat sat on the mat and the cat sat on the [MASK] ."
"$Z" fill-mask bert --text "$LONG14" >/dev/null 2>err && ok "fill-mask: 16 tokens (the limit) run" ||
    bad "fill-mask at the limit"
expect_fail "fill-mask: 17 tokens" \
    "17 tokens, more than the model's 16 positions (max_position_embeddings)" \
    "$Z" fill-mask bert --text "$LONG14 ."
"$Z" fill-mask bert --text "$LONG14 . . ." --truncate --json >tr 2>err && [ "$(wc -l <tr)" -eq 1 ] &&
    ok "fill-mask --truncate" || bad "fill-mask --truncate"
expect_fail "fill-mask: the [MASK] truncated away" "no \[MASK\] in the text after truncation" \
    "$Z" fill-mask bert --text "the cat sat on the mat and the cat sat on the mat . . [MASK]" \
    --truncate
expect_fail "fill-mask: no [MASK]" "no \[MASK\] in the text" "$Z" fill-mask bert \
    --text "the cat"
# Queries run as they are read: a bad line stops the run after the lines before it.
printf '%s\n%s\n%s\n' "$Q1" 'the cat' "$Q1" >qs_bad.txt
if ! "$Z" $F32 fill-mask bert --json --file qs_bad.txt >out 2>err &&
    grep -q "^zhuyi: fill-mask: line 2 of qs_bad.txt: no \[MASK\] in the text" err && cmp -s out fm1; then
    ok "fill-mask: no [MASK] on line 2 stops the run after line 1: $(cat err)"
else
    bad "fill-mask: no [MASK] on line 2"
fi
expect_fail "fill-mask: a BertModel directory" "no masked language model head" \
    "$Z" fill-mask base --text "$Q1"
expect_fail "fill-mask: a GPT directory" "no WordPiece tokenizer" "$Z" fill-mask gpt \
    --text "$Q1"
expect_fail "fill-mask: a vocabulary without [MASK]" "without \[MASK\]" "$Z" fill-mask nomask \
    --text "$Q1"
expect_fail "fill-mask: a directory without a tokenizer" \
    "has no tokenizer.json (nor BERT's vocab.txt" "$Z" fill-mask notok --text "$Q1"
expect_fail "fill-mask: --text-pair alone" "needs --text" "$Z" fill-mask bert --text-pair x
expect_fail "fill-mask: --top-k 0" "--top-k" "$Z" fill-mask bert --text "$Q1" --top-k 0
expect_fail "fill-mask: a JSON line without text" "line 1 of stdin: no \"text\" field" \
    sh -c "echo '{\"txt\": \"a\"}' | \"$Z\" fill-mask bert --jsonl"
expect_fail "fill-mask: a line that is not JSON" "line 1 of stdin is not a JSON object" \
    sh -c "echo 'the [MASK]' | \"$Z\" fill-mask bert --jsonl"

# ---- embed --------------------------------------------------------------------------------
{
    echo "In the beginning God created the heaven and the earth"
    echo "the cat"
    echo ""
    echo "darkness was upon the face of the deep"
    echo "a"
    echo "let there be light : and there was light ."
    echo "   "
    echo "the evening and the morning were the first day"
    echo "god saw the light , that it was good"
    echo "the [MASK] sat"
    echo "and god divided the light from the darkness"
    echo "waters"
} >lines.txt
"$Z" embed bert --file lines.txt --batch 1 >e1 2>err &&
    "$Z" embed bert --batch 7 <lines.txt >e7 2>>err &&
    "$Z" embed bert --file lines.txt --batch 3 --json >e3j 2>>err &&
    "$Z" embed bert --file lines.txt --normalize >en 2>>err &&
    "$Z" $F32 embed bert --file lines.txt >e1f 2>>err &&
    "$Z" $F32 embed bert --file lines.txt --pooling cls >ec 2>>err &&
    "$Z" $F32 embed bert --file lines.txt --pooling pooled >ep 2>>err &&
    "$Z" $F32 embed bert --file lines.txt --pooling last --batch 5 >el 2>>err &&
    "$Z" embed gpt --file lines.txt --batch 1 >g1 2>>err &&
    "$Z" embed gpt --file lines.txt --batch 7 >g7 2>>err &&
    "$Z" embed gpt --file lines.txt --batch 2 --pooling last --json >gl2 2>>err &&
    "$Z" embed gpt --file lines.txt --batch 7 --pooling last >gl7 2>>err
rc=$?
set --
while IFS= read -r l; do [ -n "$(echo "$l" | tr -d ' ')" ] && set -- "$@" "$l"; done <lines.txt
queries "$@" && $PY ref.py "$ROOT" bert queries.json 2>>err
if [ $rc -eq 0 ] && $PY - <<'EOF' 2>>err; then
import json, math
def plain(f):
    return [[float(x) for x in l.split()] for l in open(f)]
def close(a, b, tol):
    return len(a) == len(b) and all(len(x) == len(y) and all(abs(u - v) <= tol * max(1, abs(v)) for u, v in zip(x, y)) for x, y in zip(a, b))
e1, e7, en, ec, ep, el, e1f = (plain(f) for f in ("e1", "e7", "en", "ec", "ep", "el", "e1f"))
e3 = [json.loads(l) for l in open("e3j")]
ref = json.load(open("ref.json"))
qs = json.load(open("queries.json"))
assert len(e1) == 10 and all(len(v) == 32 for v in e1), (len(e1), len(e1[0]))
assert close(e1, e7, 1e-5) and close(e1, e3, 1e-5), "batch sizes differ"
for v, w in zip(en, e1):
    n = math.sqrt(sum(x * x for x in w))
    assert abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-6 and all(abs(a - b / n) < 1e-6 for a, b in zip(v, w))
mean = [[sum(h[t][c] for t in range(len(h))) / len(h) for c in range(32)] for h in (r["hidden"] for r in ref)]
assert close(e1f, mean, 1e-4), "mean pooling vs reference"
assert close(ec, [r["hidden"][0] for r in ref], 1e-4), "cls vs reference"
assert close(el, [r["hidden"][-1] for r in ref], 1e-4), "last vs reference"
assert close(ep, [r["pooled"] for r in ref], 1e-4), "pooled vs reference"
g1, g7, gl7 = plain("g1"), plain("g7"), plain("gl7")
gl2 = [json.loads(l) for l in open("gl2")]
assert len(g1) == 10 and all(len(v) == 48 for v in g1)
assert close(g1, g7, 1e-5) and close(gl2, gl7, 1e-5), "gpt: batch sizes differ"
# %.9g: every number reads back as the float written
import struct
for l in open("e1"):
    for x in l.split():
        assert "%.9g" % struct.unpack("f", struct.pack("f", float(x)))[0] == x, x
EOF
    ok "embed: --batch 1 = 3 = 7 (1e-5), mean/cls/last/pooled = the PyTorch reference, --normalize unit, GPT too"
else
    bad "embed"
fi
printf '{"text": "the cat", "id": 1}\n{"text": "waters"}\n' >e.jsonl
"$Z" embed bert --jsonl --file e.jsonl --batch 1 >ej 2>err && "$Z" embed bert --text "the cat" >et 2>>err &&
    [ "$(wc -l <ej)" -eq 2 ] && [ "$(head -1 ej)" = "$(cat et)" ] &&
    ok "embed --jsonl reads the \"text\" field" || bad "embed --jsonl"
expect_fail "embed: --pooling pooled without a pooler" "has no pooler" \
    "$Z" embed gpt --text "the cat" --pooling pooled
expect_fail "embed: --pooling cls on GPT" "needs a \[CLS\]" "$Z" embed gpt --text "the cat" \
    --pooling cls
expect_fail "embed: too long" "18 tokens, more than the model's 16 positions" \
    "$Z" embed bert --text "$LONG14 . ."
"$Z" embed bert --text "$LONG14 . . ." --truncate >/dev/null 2>err && ok "embed --truncate" ||
    bad "embed --truncate"
expect_fail "embed: --pooling max" "use mean, cls, pooled or last" "$Z" embed bert --pooling max
expect_fail "embed: --batch 0" "--batch" "$Z" embed bert --batch 0
expect_fail "embed: a missing file" "cannot open 'nonesuch.txt'" "$Z" embed bert \
    --file nonesuch.txt

# ---- attention ----------------------------------------------------------------------------
A="In the beginning God created the heaven & the earth <b>"
"$Z" $F32 attention bert --text "$A" --out a.svg --json >a.json 2>err &&
    "$Z" $F32 attention bert --text "$A" --layer 1 --head 2 --out one.svg --json >one.json 2>>err &&
    "$Z" $F32 attention bert --text "$A" --head mean --json >mean.json 2>>err &&
    "$Z" $F32 attention bert --text "${QP%%|*}" --text-pair "${QP#*|}" --json >ap.json 2>>err
rc=$?
queries "$A" "$QP" && $PY ref.py "$ROOT" bert queries.json 2>>err
if [ $rc -eq 0 ] && xmllint --noout a.svg one.svg 2>>err && $PY - <<'EOF' 2>>err; then
import json, re
import xml.etree.ElementTree as ET
ref = json.load(open("ref.json"))
qs = json.load(open("queries.json"))
vocab = open("bert/vocab.txt").read().split("\n")
def weights_close(j, q, r):
    assert j["ids"] == q["ids"] and j["tokens"] == [vocab[i] for i in q["ids"]], j["tokens"]
    assert (j["layers"], j["heads"]) == (2, 4) and len(j["maps"]) == 8
    for m in j["maps"]:
        w, want = m["weights"], r["attentions"][m["layer"]][m["head"]]
        assert all(abs(sum(row) - 1) < 1e-5 for row in w)
        assert all(abs(a - b) < 1e-5 for x, y in zip(w, want) for a, b in zip(x, y)), m["layer"]
j = json.load(open("a.json"))
weights_close(j, qs[0], ref[0])
weights_close(json.load(open("ap.json")), qs[1], ref[1])
T = len(j["ids"])
NS = "{http://www.w3.org/2000/svg}"
def maps(path):
    out = {}
    for g in ET.parse(path).getroot().iter(NS + "g"):
        if g.get("class") != "map":
            continue
        assert (int(g.get("data-rows")), int(g.get("data-cols"))) == (T, T)
        lv = [[0] * T for _ in range(T)]
        for p in g.iter(NS + "path"):
            for x, y, n, n2 in re.findall(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z", p.get("d")):
                assert n == n2
                for c in range(int(x), int(x) + int(n)):
                    assert lv[int(y)][c] == 0, "a cell drawn twice"
                    lv[int(y)][c] = int(p.get("data-level"))
        out[(int(g.get("data-layer")), g.get("data-head"))] = lv
    return out
m = maps("a.svg")
assert sorted(m) == sorted((l, h) for l in range(2) for h in ("0", "1", "2", "3", "mean")), sorted(m)
mean = json.load(open("mean.json"))["maps"]
assert [(x["layer"], x["head"]) for x in mean] == [(0, "mean"), (1, "mean")]
for x in j["maps"] + mean:
    lv = m[(x["layer"], str(x["head"]))]
    for i in range(T):
        for k in range(T):
            w = x["weights"][i][k]
            assert abs(lv[i][k] - round(64 * w)) <= (1 if abs(64 * w % 1 - 0.5) < 1e-3 else 0), (x["layer"], x["head"], i, k, w, lv[i][k])
for x in mean:
    heads = [y["weights"] for y in j["maps"] if y["layer"] == x["layer"]]
    assert all(abs(x["weights"][i][k] - sum(h[i][k] for h in heads) / 4) < 1e-5 for i in range(T) for k in range(T))
one = json.load(open("one.json"))
assert [(x["layer"], x["head"]) for x in one["maps"]] == [(1, 2)]
assert list(maps("one.svg")) == [(1, "2")]
text = open("a.svg").read()
assert "[CLS]" in text and ">layer 1<" in text and ">mean<" in text and ">head 3<" in text
EOF
    ok "attention BERT: weights = the PyTorch reference (a pair too), SVG well-formed, 2 x (4 + mean) maps, every cell at its level, --layer/--head, --head mean"
else
    bad "attention BERT"
fi
G='a <b> & "c" é 中'
"$Z" attention gpt --text "$G" --out g.svg --json >g.json 2>err &&
    "$Z" attention gpt --text "$G" --layer 2 --head 0 --out g1.svg 2>>err
rc=$?
if [ $rc -eq 0 ] && xmllint --noout g.svg g1.svg 2>>err && $PY - <<'EOF' 2>>err; then
import json
j = json.load(open("g.json"))
T = len(j["ids"])
assert T == len("a <b> & \"c\" é 中".encode()), T  # byte tokens
assert (j["layers"], j["heads"]) == (3, 3) and len(j["maps"]) == 9
for m in j["maps"]:
    w = m["weights"]
    for i in range(T):
        assert abs(sum(w[i]) - 1) < 1e-5 and all(w[i][k] == 0 for k in range(i + 1, T))
text = open("g.svg").read()
assert text.count('class="map"') == 3 * 4 and "\\xE4" in text and "causal" in text
assert "&lt;" in text and "&amp;" in text and "&quot;" in text and "\u2423" in text
EOF
    ok "attention GPT: rows sum to 1, 0 above the diagonal, 3 x (3 + mean) maps, split UTF-8 labelled \\xNN"
else
    bad "attention GPT"
fi
[ -z "$(ls -A | grep -v -e '\.svg$' -e '\.json$' -e '\.py$' -e '\.txt$' -e '\.jsonl$' -e '^[a-z0-9_]*$')" ] &&
    ok "attention: no temporary files left beside the SVGs" || bad "attention: leftovers: $(ls -A)"
expect_fail "attention: --layer 2 of 2" "layers 0 to 1" "$Z" attention bert --text "$A" \
    --layer 2 --json
expect_fail "attention: --head 4 of 4" "heads 0 to 3" "$Z" attention bert --text "$A" --head 4 \
    --json
expect_fail "attention: --head x" "--head 'x'" "$Z" attention bert --text "$A" --head x --json
expect_fail "attention: nothing to write" "give --out" "$Z" attention bert --text "$A"
expect_fail "attention: no --text" "--text TEXT is required" "$Z" attention bert --json
expect_fail "attention: too long" "more than the model's 16 positions" \
    "$Z" attention bert --text "$LONG14 . ." --json
expect_fail "attention: --out in a missing directory" "nodir/a.svg" \
    "$Z" attention bert --text "$A" --out nodir/a.svg
expect_fail "attention: not a model directory" "not a model directory" \
    "$Z" attention . --text "$A" --json

cli_finish
