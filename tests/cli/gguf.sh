#!/bin/sh
# CLI tests of `zhuyi export gguf` and of GGUF files as models: a tiny GPT-2 trained here
# (byte-level BPE learnt from the data, n_embd 64 so q8_0 applies) is exported as f32, f16,
# bf16, q8_0 and q4_0; `zhuyi generate FILE --temperature 0` equals generate on the
# directory (f32: every id and the text; f16 and q8_0: the first 20 ids; q8_0 after a
# prompt of more than 8 tokens, which goes through the GEMM over the typed weights alone:
# every id as the directory's with --weights q8_0), eval's loss on
# the f32 file equals the directory's and the quantized ones stay close; a model whose
# rows are not whole blocks falls back to f16 with a warning; a BERT exports (and is not
# read back); bad inputs exit non-zero
# with a "zhuyi:" message and print nothing on stdout. llama.cpp reading these files is
# tests/peers/gguf_peers.sh (outside make test: it installs npm packages).
# Usage: tests/cli/gguf.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start gguf "$@"
export ZY_THREADS=${ZY_THREADS:-2}
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3

# A few KB of varied text (a seeded mix of sentences), so the model is not certain of
# every next token and greedy decoding is a real comparison.
sh "$ROOT/tests/toy_sentences.sh" 7 400 >data.txt
tail -c 2000 data.txt >val.txt
printf '{"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 128,
 "vocab_size": 0}\n' >cfg.json

if "$Z" pretrain gpt --data data.txt --val-data val.txt --config cfg.json --tokenizer bpe:400 \
    --batch 8 --seq 64 --steps 60 --warmup 5 --lr 3e-3 --eval-every 0 --eval-batches 0 \
    --out model >/dev/null 2>err; then
    ok "a tiny model to test with (2 layers, n_embd 64, BPE from the data, 60 steps)"
else
    bad "pretrain a tiny model"
    cli_finish
    exit 1
fi

check_help export --type --out --name
if "$Z" export --help >help 2>err && grep -q "export gguf DIR" help; then
    ok "export --help shows export gguf"
else
    bad "export --help"
fi

# ---- export ---------------------------------------------------------------------------------
for t in f32 f16 bf16 q8_0 q4_0; do
    if "$Z" export gguf model --type $t --out m-$t.gguf >out 2>err && [ -s m-$t.gguf ] &&
        grep -q "^zhuyi: wrote m-$t.gguf (gguf, gpt2, $t" out && [ ! -s err ]; then
        ok "export gguf --type $t ($(wc -c <m-$t.gguf) bytes)"
    else
        bad "export gguf --type $t"
    fi
done
if "$Z" export gguf model >/dev/null 2>err && [ -s model/model-f32.gguf ] &&
    cmp -s model/model-f32.gguf m-f32.gguf; then
    ok "the default is f32 into DIR/model-f32.gguf, byte-identical to --out (deterministic)"
else
    bad "default export"
fi
rm -f model/model-f32.gguf
if [ "$(wc -c <m-q8_0.gguf)" -lt "$(wc -c <m-f16.gguf)" ] &&
    [ "$(wc -c <m-f16.gguf)" -lt "$(wc -c <m-f32.gguf)" ] &&
    [ "$(wc -c <m-q4_0.gguf)" -lt "$(wc -c <m-q8_0.gguf)" ]; then
    ok "sizes: q4_0 < q8_0 < f16 < f32"
else
    bad "file sizes"
fi

# ---- the files as models -----------------------------------------------------------------------
P="The cat sat on"
"$Z" generate model --prompt "$P" --temperature 0 --max-tokens 40 --ids >dir.ids 2>err
"$Z" generate model --prompt "$P" --temperature 0 --max-tokens 40 >dir.txt 2>err
if [ -s dir.ids ] && "$Z" generate m-f32.gguf --prompt "$P" --temperature 0 --max-tokens 40 \
    --ids >f32.ids 2>err && cmp -s dir.ids f32.ids &&
    "$Z" generate m-f32.gguf --prompt "$P" --temperature 0 --max-tokens 40 >f32.txt 2>err &&
    cmp -s dir.txt f32.txt; then
    ok "generate m-f32.gguf --temperature 0 = generate DIR: 40 ids and the text"
else
    bad "generate f32 gguf ($(cat dir.ids) / $(cat f32.ids 2>/dev/null))"
fi
first20() { tr ' ' '\n' <"$1" | head -n 20 | tr '\n' ' '; }
for t in f16 q8_0; do
    if "$Z" generate m-$t.gguf --prompt "$P" --temperature 0 --max-tokens 40 --ids >$t.ids \
        2>err && [ "$(first20 $t.ids)" = "$(first20 dir.ids)" ]; then
        ok "generate m-$t.gguf: the first 20 greedy ids are the directory's"
    else
        bad "generate $t gguf ($(first20 $t.ids 2>/dev/null) vs $(first20 dir.ids))"
    fi
done
# generate keeps only the typed weights (zy_model_drop_fp32): a long prompt's chunk goes
# through the typed GEMM; the file's blocks are the ones --weights q8_0 makes.
LP="The cat sat on the mat and the dog sat on the log, and then"
if "$Z" generate m-q8_0.gguf --prompt "$LP" --temperature 0 --max-tokens 20 --ids >lq.ids \
    2>err && [ -s lq.ids ] &&
    "$Z" generate model --weights q8_0 --prompt "$LP" --temperature 0 --max-tokens 20 --ids \
        >lw.ids 2>err && cmp -s lq.ids lw.ids; then
    ok "generate m-q8_0.gguf after a long prompt = generate DIR --weights q8_0 (20 ids)"
else
    bad "generate q8_0 gguf, long prompt ($(cat lq.ids 2>/dev/null) / $(cat lw.ids 2>/dev/null))"
fi
"$Z" eval model --data val.txt --seq 64 --json >dir.json 2>err
for t in f32 f16 q8_0 q4_0; do
    "$Z" eval m-$t.gguf --data val.txt --seq 64 --json >$t.json 2>>err
done
if $PY - <<'EOF' 2>err; then
import json
d = json.load(open("dir.json"))["loss"]
f = {t: json.load(open(t + ".json"))["loss"] for t in ("f32", "f16", "q8_0", "q4_0")}
assert f["f32"] == d, (f, d)
assert abs(f["f16"] - d) <= 0.002 * d, (f, d)
assert abs(f["q8_0"] - d) <= 0.01 * d, (f, d)
assert abs(f["q4_0"] - d) <= 0.15 * d, (f, d)
EOF
    ok "eval: the f32 file's loss = the directory's; f16 within 0.2%, q8_0 1%, q4_0 15%"
else
    bad "eval losses: $(cat dir.json) $(cat f32.json f16.json q8_0.json q4_0.json 2>/dev/null)"
fi

# gpt-nano's rows of 48 are not whole 32-blocks: q8_0 stores its matrices as f16.
if "$Z" pretrain gpt --data data.txt --config gpt-nano --tokenizer byte --batch 2 --seq 16 \
    --steps 2 --warmup 1 --eval-every 0 --val-fraction 0 --out nano >/dev/null 2>err &&
    "$Z" export gguf nano --type q8_0 --out nano.gguf >/dev/null 2>err &&
    grep -q "matrices are stored as f16, not q8_0" err &&
    "$Z" generate nano.gguf --prompt "The" --temperature 0 --max-tokens 5 --ids >out 2>err &&
    [ -s out ]; then
    ok "n_embd 48 with q8_0: matrices fall back to f16 (warned), the file works"
else
    bad "q8_0 fallback"
fi

# A BERT: written as llama.cpp's "bert" (an embedding model), not read back.
printf '{"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 32,
 "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
 "max_position_embeddings": 32, "vocab_size": 0}\n' >bcfg.json
if "$Z" pretrain bert --data data.txt --config bcfg.json --tokenizer wordpiece:200 --no-nsp \
    --batch 4 --seq 16 --steps 2 --warmup 1 --eval-every 0 --val-fraction 0 --out bert \
    >/dev/null 2>err && "$Z" export gguf bert --type q8_0 --out b.gguf >out 2>err &&
    grep -q "^zhuyi: wrote b.gguf (gguf, bert, q8_0" out; then
    ok "export gguf of a BERT (BertForMaskedLM: the body, for llama.cpp's \"bert\")"
else
    bad "export gguf of a BERT"
fi
expect_fail "embed: a bert GGUF is written, not read" "writes bert but does not read it back" \
    "$Z" embed b.gguf --text "the cat"

# ---- refusals ---------------------------------------------------------------------------------
expect_fail "export: no such directory" "not found" "$Z" export gguf nosuchdir
expect_fail "export: --type q5_1" "--type 'q5_1' is not one of" "$Z" export gguf model --type q5_1
expect_fail "export: an unwritable --out" "" "$Z" export gguf model --out /nonexistent/x.gguf
expect_fail "export: an unknown option" "unknown or incomplete option '--fast'" \
    "$Z" export gguf model --fast
head -c 3000 m-f32.gguf >trunc.gguf
expect_fail "generate: a GGUF cut in its metadata" "trunc.gguf: key 'tokenizer.ggml.tokens'" \
    "$Z" generate trunc.gguf --prompt "The"
head -c $(($(wc -c <m-f32.gguf) - 100)) m-f32.gguf >trunc.gguf
expect_fail "generate: a GGUF cut in its data" "trunc.gguf: tensor .* run past the end" \
    "$Z" generate trunc.gguf --prompt "The"
expect_fail "generate: --adapter with a GGUF" "--adapter needs a model directory" \
    "$Z" generate m-f32.gguf --adapter model --prompt "The"
printf 'not gguf' >notgguf.bin
expect_fail "generate: a file that is not GGUF" "a GGUF file holds a model too" \
    "$Z" generate notgguf.bin --prompt "The"

cli_finish
