#!/bin/sh
# Real peers read zhuyi's GGUF files. Installs, into build/peers/node_modules (or $ZY_PEERS;
# not committed), the npm packages node-llama-cpp@3.21.1 (llama.cpp's libraries, prebuilt
# for linux-x64: @node-llama-cpp/linux-x64) and @huggingface/gguf@0.4.6, without their
# install scripts and without the optional GPU builds; that install is the only network
# access, and it is skipped when the pinned versions are already there. Then, on a tiny
# GPT-2 trained here (2 layers, n_embd 64, a byte-level BPE learnt from the data) and
# exported as f32, f16 and q8_0:
#   - llama.cpp (bench/llama_peer.mjs: getLlama({gpu: false}), loadModel, a context, a
#     sequence's evaluate at temperature 0; f32 KV cache, no flash attention) continues
#     three prompts, given as zhuyi's token ids, with the same greedy ids as
#     `zhuyi generate --temperature 0`: at least the first 20 of 32 must agree (the test
#     prints how many do). Where two tokens are all but tied, the two programs' rounding
#     may pick either (a toy model repeats itself, and its ties come back): then llama.cpp
#     follows zhuyi's 32 ids (--follow-ids) and must choose zhuyi's id at every position
#     or give it within TIE (1 %) of its most probable token's probability;
#   - llama.cpp's tokenizer gives zhuyi's ids for a text with contractions, digits, runs of
#     spaces, newlines and non-ASCII letters (the "gpt-2" pre-tokenizer and the merges as
#     written), and for GPT-2's own 50257-token vocabulary (build/data/gpt2, fetched by
#     scripts/data.sh gpt2-tokenizer; skipped if absent);
#   - on a tiny BERT (uncased WordPiece) exported as f32 and q8_0: llama.cpp's mean-pooled
#     embeddings of zhuyi's token ids equal `zhuyi embed --pooling mean` (f32: cosine
#     >= 0.99999 and every value within 1e-3; q8_0: cosine >= 0.999), and llama.cpp's
#     WordPiece gives zhuyi's ids for a text with capitals, punctuation and an accent;
#   - @huggingface/gguf parses each file: the architecture, every gpt2.* (bert.*) key with
#     its type, the tokenizer arrays, and tensor names, shapes and types.
# Usage: tests/peers/gguf_peers.sh [path/to/zhuyi]   (make test-peers; .ci/run)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
Z=${1:-${ZHUYI:-$ROOT/build/zhuyi}}
case "$Z" in /*) ;; *) Z="$PWD/$Z" ;; esac
[ -x "$Z" ] || { echo "tests/peers/gguf_peers.sh: $Z is not built" >&2; exit 1; }
PEERS=${ZY_PEERS:-$ROOT/build/peers}
export ZY_PEERS="$PEERS" ZY_THREADS=${ZY_THREADS:-2}
NLC=3.21.1
HFG=0.4.6
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    [ -s "$T/err" ] && sed 's/^/     | /' "$T/err" | tail -5
}
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}
T=$(mktemp -d /tmp/zy_peers.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT

# ---- the peers ---------------------------------------------------------------------------
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    { bad "node and npm are needed (scripts/deps.sh test installs npm)"; finish; }
version_of() { # the installed version of npm package $1, or nothing
    node -e 'try { console.log(require(process.argv[1]).version) } catch (e) {}' \
        "$PEERS/node_modules/$1/package.json" 2>/dev/null
}
if [ "$(version_of node-llama-cpp)" = $NLC ] &&
    [ "$(version_of @node-llama-cpp/linux-x64)" = $NLC ] &&
    [ "$(version_of @huggingface/gguf)" = $HFG ]; then
    ok "peers already installed in $PEERS (node-llama-cpp $NLC, @huggingface/gguf $HFG)"
else
    mkdir -p "$PEERS"
    # --ignore-scripts: node-llama-cpp's postinstall would look for (or build) binaries;
    # the prebuilt package is all we use. --omit=optional: not the CUDA and Vulkan builds.
    if (cd "$PEERS" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-save --no-audit \
        --no-fund --omit=optional --ignore-scripts node-llama-cpp@$NLC \
        @node-llama-cpp/linux-x64@$NLC @huggingface/gguf@$HFG) >"$T/err" 2>&1 &&
        [ "$(version_of node-llama-cpp)" = $NLC ]; then
        ok "npm install node-llama-cpp@$NLC @node-llama-cpp/linux-x64@$NLC @huggingface/gguf@$HFG"
    else
        bad "npm install of the peers into $PEERS"
        finish
    fi
fi
cd "$T" || exit 1

# ---- a model -----------------------------------------------------------------------------
sh "$ROOT/tests/toy_sentences.sh" 11 600 >data.txt
printf '{"model_type": "gpt2", "n_layer": 2, "n_head": 4, "n_embd": 64, "n_positions": 128,
 "vocab_size": 0}\n' >cfg.json
if "$Z" pretrain gpt --data data.txt --config cfg.json --tokenizer bpe:500 --batch 8 --seq 64 \
    --steps 120 --warmup 10 --lr 3e-3 --eval-every 0 --val-fraction 0 --out model \
    >/dev/null 2>"$T/err"; then
    ok "a tiny GPT-2 (2 layers, n_embd 64, a BPE of up to 500 tokens, 120 steps)"
else
    bad "pretrain the model"
    finish
fi
for t in f32 f16 q8_0; do
    "$Z" export gguf model --type $t --out m-$t.gguf >/dev/null 2>"$T/err" ||
        { bad "export gguf --type $t"; finish; }
done
ok "exported m-f32.gguf, m-f16.gguf, m-q8_0.gguf"

PEER="node $ROOT/bench/llama_peer.mjs"
ids_of() { # the JSON field $2 of file $1 as space-separated ids
    node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             console.log(j[process.argv[2]].join(" "))' "$1" "$2"
}
# How many leading ids of two space-separated lists agree.
common() {
    echo "$1" | tr ' ' '\n' >"$T/a"
    echo "$2" | tr ' ' '\n' >"$T/b"
    paste -d' ' "$T/a" "$T/b" | awk '$1 != $2 || $1 == "" { exit } { n++ } END { print n + 0 }'
}

# Of llama_peer's --follow-ids output $1 over $2 positions: "chooses zhuyi's id at A of N
# positions; the other B are ties (...)" when every position is a choice or a tie (zhuyi's
# id within TIE of the most probable token's probability), nothing otherwise; with -v as $3,
# the positions that are neither.
TIE=0.01
ties() {
    node -e 'const [f, n, tie, verbose] = process.argv.slice(1);
             const fl = JSON.parse(require("fs").readFileSync(f, "utf8")).follow.slice(0, +n);
             const r = (x) => x.toPrecision(5), agree = fl.filter((p) => p.top === p.id);
             const tied = [], off = [];
             fl.forEach((p, i) => { if (p.top === p.id) return;
                 const s = `position ${i}: ${p.id} at ${r(p.p_id)} against ${p.top} at ${r(p.p_top)}`;
                 (p.p_id >= (1 - +tie) * p.p_top ? tied : off).push(s); });
             if (verbose) console.log(off.join("; ") || "every position a choice or a tie");
             else if (fl.length === +n && !off.length)
                 console.log(`chooses zhuyi\u0027s id at ${agree.length} of ${n} positions; ` +
                             `the other ${tied.length} are ties (${tied.join("; ")})`);' \
        "$1" "$2" $TIE "$3"
}

# ---- greedy continuations ----------------------------------------------------------------
N=32
for t in f32 f16 q8_0; do
    for prompt in "The cat sat" "A king found" "Every bird ran under the"; do
        pids=$(printf '%s' "$prompt" | "$Z" tokenize encode --tokenizer model)
        z=$("$Z" generate m-$t.gguf --prompt "$prompt" --temperature 0 --max-tokens $N --ids \
            2>"$T/err")
        if $PEER --model m-$t.gguf --prompt-ids "$pids" --n-predict $N --threads 1 --exact \
            >"$T/l.json" 2>"$T/err"; then
            l=$(ids_of "$T/l.json" ids)
            k=$(common "$z" "$l")
            if [ "$k" -ge 20 ]; then
                ok "$t '$prompt': llama.cpp's greedy ids = zhuyi's for $k of $N tokens"
            elif $PEER --model m-$t.gguf --prompt-ids "$pids" --threads 1 --exact \
                --follow-ids "$z" >"$T/f.json" 2>"$T/err" &&
                v=$(ties "$T/f.json" $N) && [ -n "$v" ]; then
                ok "$t '$prompt': llama.cpp's greedy ids = zhuyi's for $k of $N tokens, then a tie; on zhuyi's ids it $v"
            else
                echo "     zhuyi: $z" >"$T/err"
                echo "     llama: $l" >>"$T/err"
                [ -s "$T/f.json" ] && echo "     followed: $(ties "$T/f.json" $N -v)" >>"$T/err"
                bad "$t '$prompt': only $k leading ids agree"
            fi
        else
            bad "$t '$prompt': llama.cpp did not run"
        fi
    done
done
# With llama.cpp's defaults (f16 KV cache, flash attention as it chooses): reported only.
pids=$(printf 'The cat sat' | "$Z" tokenize encode --tokenizer model)
z=$("$Z" generate m-q8_0.gguf --prompt "The cat sat" --temperature 0 --max-tokens $N --ids \
    2>/dev/null)
if $PEER --model m-q8_0.gguf --prompt-ids "$pids" --n-predict $N --threads 1 >"$T/l.json" \
    2>/dev/null; then
    k=$(common "$z" "$(ids_of "$T/l.json" ids)")
    echo "note q8_0 'The cat sat' with llama.cpp's defaults (f16 KV cache): $k of $N ids agree"
fi

# ---- tokenizers --------------------------------------------------------------------------
TEXT="I've seen 42 cats, haven't you?  Two  spaces, a tab	and
a newline; caf$(printf '\303\251') na$(printf '\303\257')ve \
$(printf '\346\263\250\346\204\217') — the END...!!"
tok_check() { # $1: GGUF file, $2: tokenizer for zhuyi, $3: label
    zids=$(printf '%s' "$TEXT" | "$Z" tokenize encode --tokenizer "$2")
    if $PEER --model "$1" --prompt-ids "0" --n-predict 1 --threads 1 --tokenize "$TEXT" \
        >"$T/l.json" 2>"$T/err" && [ "$(ids_of "$T/l.json" prompt_text_ids)" = "$zids" ]; then
        ok "llama.cpp's tokenizer gives zhuyi's $(echo "$zids" | wc -w) ids for a tricky text ($3)"
    else
        echo "     zhuyi: $zids" >>"$T/err"
        [ -s "$T/l.json" ] && echo "     llama: $(ids_of "$T/l.json" prompt_text_ids)" >>"$T/err"
        bad "tokenizer agreement ($3)"
    fi
}
tok_check m-f32.gguf model "the model's BPE"
if [ -s "$ROOT/build/data/gpt2/encoder.json" ] && [ -s "$ROOT/build/data/gpt2/vocab.bpe" ]; then
    cp "$ROOT/build/data/gpt2/encoder.json" vocab.json
    cp "$ROOT/build/data/gpt2/vocab.bpe" merges.txt
    mkdir -p big && cp vocab.json merges.txt big/
    if "$Z" pretrain gpt --data data.txt --config gpt-nano --tokenizer big --batch 2 --seq 16 \
        --steps 1 --warmup 1 --eval-every 0 --val-fraction 0 --out gpt2vocab >/dev/null \
        2>"$T/err" && "$Z" export gguf gpt2vocab --out big.gguf >/dev/null 2>"$T/err"; then
        tok_check big.gguf gpt2vocab "GPT-2's 50257 tokens"
    else
        bad "a model with GPT-2's vocabulary"
    fi
else
    echo "skip GPT-2 vocabulary tokenizer check (no build/data/gpt2: scripts/data.sh" \
        "gpt2-tokenizer)"
fi

# ---- BERT: an embedding model ------------------------------------------------------------
printf '{"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 64,
 "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128,
 "max_position_embeddings": 64, "type_vocab_size": 2, "vocab_size": 0}\n' >bcfg.json
if "$Z" pretrain bert --data data.txt --config bcfg.json --tokenizer wordpiece:400 --no-nsp \
    --batch 8 --seq 32 --steps 40 --warmup 5 --lr 3e-3 --eval-every 0 --val-fraction 0 \
    --out bert >/dev/null 2>"$T/err" && "$Z" export gguf bert --out b-f32.gguf >/dev/null \
    2>"$T/err" && "$Z" export gguf bert --type q8_0 --out b-q8_0.gguf >/dev/null 2>"$T/err"; then
    ok "a tiny BERT (2 layers, hidden 64, uncased WordPiece) exported as f32 and q8_0"
else
    bad "pretrain and export a BERT"
    finish
fi
cat >cmp.mjs <<'EOF2'
// zhuyi's vectors (one a line, space-separated) against llama.cpp's ("embeddings"):
// prints the worst cosine and the worst absolute difference; exits 1 past the bounds.
import { readFileSync } from "node:fs";
const [zfile, lfile, minCos, maxAbs] = process.argv.slice(2);
const z = readFileSync(zfile, "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
const l = JSON.parse(readFileSync(lfile, "utf8")).embeddings;
let cos = 1, abs = 0;
if (z.length !== l.length) { console.log(`${z.length} vs ${l.length} vectors`); process.exit(1); }
for (let i = 0; i < z.length; i++) {
    if (z[i].length !== l[i].length) { console.log("lengths differ"); process.exit(1); }
    let d = 0, a = 0, b = 0;
    for (let k = 0; k < z[i].length; k++) {
        d += z[i][k] * l[i][k], a += z[i][k] ** 2, b += l[i][k] ** 2;
        abs = Math.max(abs, Math.abs(z[i][k] - l[i][k]));
    }
    cos = Math.min(cos, d / Math.sqrt(a * b));
}
console.log(`cosine >= ${cos.toFixed(7)}, |difference| <= ${abs.toExponential(2)}`);
process.exit(cos >= Number(minCos) && abs <= Number(maxAbs) ? 0 : 1);
EOF2
: >z.txt
set --
for text in "the cat sat on the mat." "every bird ran under the stone" "a king found my road"; do
    printf '%s\n' "$text" >>lines.txt
    set -- "$@" --embed-ids "$(printf '%s' "$text" | "$Z" tokenize encode --tokenizer bert \
        --add-special)"
done
"$Z" embed bert --file lines.txt --pooling mean >z.txt 2>"$T/err"
for t in f32 q8_0; do
    [ $t = f32 ] && bounds="0.99999 0.001" || bounds="0.999 0.1"
    if $PEER --model b-$t.gguf --threads 1 "$@" >"$T/l.json" 2>"$T/err" &&
        r=$(node cmp.mjs z.txt "$T/l.json" $bounds 2>"$T/err"); then
        ok "b-$t.gguf: llama.cpp's mean-pooled embeddings of zhuyi's ids = zhuyi embed's: $r"
    else
        echo "$r" >>"$T/err"
        bad "b-$t.gguf embeddings"
    fi
done
# llama.cpp's WordPiece (it always lower-cases and strips accents, as this tokenizer does).
BTEXT="The Cat sat, on the MAT! Every bird; a king's road... caf$(printf '\303\251')?"
zids=$(printf '%s' "$BTEXT" | "$Z" tokenize encode --tokenizer bert)
if $PEER --model b-f32.gguf --threads 1 --embed-ids "1" --tokenize "$BTEXT" >"$T/l.json" \
    2>"$T/err" && [ "$(ids_of "$T/l.json" prompt_text_ids)" = "$zids" ]; then
    ok "llama.cpp's WordPiece gives zhuyi's $(echo "$zids" | wc -w) ids (case, punctuation, accents)"
else
    echo "     zhuyi: $zids" >>"$T/err"
    [ -s "$T/l.json" ] && echo "     llama: $(ids_of "$T/l.json" prompt_text_ids)" >>"$T/err"
    bad "WordPiece tokenizer agreement"
fi

# ---- @huggingface/gguf -------------------------------------------------------------------
cat >hf.mjs <<'EOF'
import { pathToFileURL } from "node:url";
const [peers, file, type, vocab] = process.argv.slice(2);
const entry = `${peers}/node_modules/@huggingface/gguf/dist/index.mjs`;
const { gguf } = await import(pathToFileURL(entry).href);
const r = await gguf(file, { allowLocalFile: true, typedMetadata: true });
const m = r.typedMetadata, fail = [];
const want = (k, type, value) => {
    const e = m[k];
    if (!e) return fail.push(`${k} missing`);
    if (e.type !== type) fail.push(`${k} has type ${e.type}, not ${type}`);
    if (value !== undefined && e.value !== value) fail.push(`${k} = ${e.value}, not ${value}`);
};
const U32 = 4, I32 = 5, F32 = 6, STR = 8, ARR = 9, BOOL = 7;
want("general.architecture", STR, "gpt2");
want("gpt2.block_count", U32, 2);
want("gpt2.context_length", U32, 128);
want("gpt2.embedding_length", U32, 64);
want("gpt2.feed_forward_length", U32, 256);
want("gpt2.attention.head_count", U32, 4);
want("gpt2.attention.layer_norm_epsilon", F32);
want("tokenizer.ggml.model", STR, "gpt2");
want("tokenizer.ggml.pre", STR, "gpt-2");
want("tokenizer.ggml.add_bos_token", BOOL, false);
for (const k of ["tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"])
    want(k, ARR);
if (m["tokenizer.ggml.tokens"]?.value.length !== Number(vocab))
    fail.push(`${m["tokenizer.ggml.tokens"]?.value.length} tokens, not ${vocab}`);
if (m["tokenizer.ggml.token_type"]?.subType !== I32) fail.push("token_type is not int32");
const ggml = { f32: 0, f16: 1, q8_0: 8 }[type];
const t = Object.fromEntries(r.tensorInfos.map((x) => [x.name, x]));
const check = (name, shape, dtype) => {
    const x = t[name];
    if (!x) return fail.push(`tensor ${name} missing`);
    if (x.shape.map(Number).join(",") !== shape.join(",")) fail.push(`${name} shape ${x.shape}`);
    if (x.dtype !== dtype) fail.push(`${name} dtype ${x.dtype}, not ${dtype}`);
};
check("token_embd.weight", [64, Number(vocab)], ggml);
check("position_embd.weight", [64, 128], 0);
check("blk.1.attn_qkv.weight", [64, 192], ggml);
check("blk.1.attn_qkv.bias", [192], 0);
check("blk.1.attn_output.weight", [64, 64], ggml);
check("blk.1.ffn_up.weight", [64, 256], ggml);
check("blk.1.ffn_down.weight", [256, 64], ggml);
check("output_norm.weight", [64], 0);
if (r.tensorInfos.length !== 2 + 12 * 2 + 2) fail.push(`${r.tensorInfos.length} tensors`);
if (fail.length) { console.error(fail.join("\n")); process.exit(1); }
console.log(`${Object.keys(m).length} keys, ${r.tensorInfos.length} tensors`);
EOF
V=$(node -e 'console.log(JSON.parse(require("fs").readFileSync("model/config.json")).vocab_size)')
for t in f32 f16 q8_0; do
    if r=$(node hf.mjs "$PEERS" m-$t.gguf $t "$V" 2>"$T/err"); then
        ok "@huggingface/gguf parses m-$t.gguf: $r, keys, types and shapes as expected"
    else
        bad "@huggingface/gguf on m-$t.gguf"
    fi
done
cat >hfbert.mjs <<'EOF'
import { pathToFileURL } from "node:url";
const [peers, file] = process.argv.slice(2);
const entry = `${peers}/node_modules/@huggingface/gguf/dist/index.mjs`;
const { gguf } = await import(pathToFileURL(entry).href);
const r = await gguf(file, { allowLocalFile: true, typedMetadata: true });
const m = r.typedMetadata, fail = [];
const want = (k, type, value) => {
    if (m[k]?.type !== type || (value !== undefined && m[k].value !== value))
        fail.push(`${k}: ${JSON.stringify(m[k])}`);
};
want("general.architecture", 8, "bert");
want("bert.block_count", 4, 2);
want("bert.embedding_length", 4, 64);
want("bert.feed_forward_length", 4, 128);
want("bert.attention.causal", 7, false);
want("bert.pooling_type", 4, 1);
want("tokenizer.ggml.model", 8, "bert");
want("tokenizer.ggml.token_type_count", 4, 2);
const names = r.tensorInfos.map((x) => x.name);
for (const n of ["token_types.weight", "token_embd_norm.bias", "blk.1.attn_q.weight",
                 "blk.1.attn_output_norm.weight", "blk.1.layer_output_norm.bias"])
    if (!names.includes(n)) fail.push(`tensor ${n} missing`);
if (names.length !== 5 + 16 * 2) fail.push(`${names.length} tensors`);
if (fail.length) { console.error(fail.join("\n")); process.exit(1); }
console.log(`${Object.keys(m).length} keys, ${names.length} tensors`);
EOF
if r=$(node hfbert.mjs "$PEERS" b-q8_0.gguf 2>"$T/err"); then
    ok "@huggingface/gguf parses b-q8_0.gguf: $r, bert keys and tensor names as expected"
else
    bad "@huggingface/gguf on b-q8_0.gguf"
fi
finish
