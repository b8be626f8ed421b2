#!/bin/sh
# CLI tests of weight types on a tiny GPT trained here (64 wide: whole 32-weight blocks):
# `zhuyi quantize --type bf16|f16` writes a directory whose model.safetensors holds only
# BF16 / F16 tensors (half the bytes), with the config and tokenizer, that eval and
# generate run in that type (its perplexity within 0.5 % of f32's); --type q8_0|q4_0 a
# GGUF file that evaluates as the directory with --weights q8_0|q4_0; --weights f16 | bf16 |
# q8_0 | q4_0 on eval and generate (perplexity within 1 % for q8_0, 5 % for q4_0);
# eval --decode equals the forward pass (f32, q8_0 in fp32 arithmetic, the bf16
# directory), and on the q8_0 GGUF file --weights q8_0; generate with a bf16 KV cache;
# refusals: unknown types, an --out holding a model; a model whose rows are no whole
# blocks (gpt-nano's 48) keeps them in f16, with a warning.
# Usage: tests/cli/quantize.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start quantize "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}

i=0
while [ $i -lt 60 ]; do
    echo "In the beginning God created the heaven and the earth, line $i."
    echo "And the earth was without form, and void; and darkness was upon the deep."
    i=$((i + 1))
done >data.txt
head -c 2000 data.txt >val.txt
cat >config.json <<'EOF'
{"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 64,
 "vocab_size": 257}
EOF

if "$Z" pretrain gpt --data data.txt --config config.json --tokenizer byte --batch 4 \
    --seq 32 --steps 40 --warmup 5 --lr 3e-3 --eval-every 0 --out model >/dev/null 2>err &&
    "$Z" pretrain gpt --data data.txt --config gpt-nano --tokenizer byte --batch 2 \
        --seq 16 --steps 2 --warmup 1 --eval-every 0 --out nano >/dev/null 2>err; then
    ok "tiny models to test with (64 wide, 40 steps; gpt-nano, 48 wide)"
else
    bad "pretrain the tiny models"
    echo "$pass passed, $fail failed"
    exit 1
fi

check_help quantize --type --out
check_help eval --weights --decode
check_help generate --weights --kv-cache

# perplexity of DIR (extra flags after it) on val.txt
ppl() {
    d=$1
    shift
    "$Z" ${PREC:+--precision "$PREC"} eval "$d" --data val.txt --seq 32 --json "$@" 2>err |
        $PY -c 'import json,sys; print("%.6f" % json.load(sys.stdin)["perplexity"])'
}
# |a/b - 1| <= tol
close() { $PY -c "import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(abs(a/b-1)>t)" "$1" "$2" "$3"; }

# ---- quantize ------------------------------------------------------------------------------
for t in bf16 f16; do
    T_=$(echo $t | tr a-z A-Z)
    if "$Z" quantize model --type $t --out model-$t >out 2>err &&
        [ -f model-$t/config.json ] && [ -f model-$t/tokenizer.json ] &&
        $PY - model/model.safetensors model-$t/model.safetensors $T_ <<'EOF' 2>err
import json, os, struct, sys
def header(p):
    f = open(p, "rb")
    n = struct.unpack("<Q", f.read(8))[0]
    return json.loads(f.read(n))
h = header(sys.argv[2])
dt = {v["dtype"] for k, v in h.items() if k != "__metadata__"}
assert dt == {sys.argv[3]}, dt
a, b = os.path.getsize(sys.argv[1]), os.path.getsize(sys.argv[2])
assert 0.45 < b / a < 0.55, (a, b)
EOF
    then
        ok "quantize --type $t: every tensor $T_, half the file, config and tokenizer copied"
    else
        bad "quantize --type $t"
    fi
done

p32=$(ppl model)
for t in bf16 f16; do
    p=$(ppl model-$t)
    if [ -n "$p" ] && close "$p" "$p32" 0.005; then
        ok "eval of the $t directory: perplexity $p, f32's $p32 (within 0.5 %)"
    else
        bad "eval of the $t directory: '$p' against '$p32'"
    fi
done

# the block types: a GGUF file, which loads back in its type (the same perplexity as the
# directory converted at load: the blocks are reproduced exactly)
for t in q8_0 q4_0; do
    if "$Z" quantize model --type $t --out model-$t.gguf >out 2>err; then
        pg=$(ppl model-$t.gguf)
        pw=$(ppl model --weights $t)
        if [ -n "$pg" ] && [ "$pg" = "$pw" ]; then
            ok "quantize --type $t: a GGUF file, perplexity $pg as with --weights $t"
        else
            bad "quantize --type $t: the GGUF file's perplexity '$pg', --weights $t's '$pw'"
        fi
    else
        bad "quantize --type $t"
    fi
done

# ---- --weights -----------------------------------------------------------------------------
for tw in f16:0.005 bf16:0.005 q8_0:0.01 q4_0:0.05; do
    t=${tw%%:*} tol=${tw#*:}
    p=$(ppl model --weights $t)
    if [ -n "$p" ] && close "$p" "$p32" "$tol"; then
        ok "eval --weights $t: perplexity $p (f32 $p32, within $tol)"
    else
        bad "eval --weights $t: '$p' against '$p32'"
    fi
done
# In fp32 ($PREC): with bf16 products (the default where the CPU has them) decoding's
# few-row products stay fp32 GEMVs while the forward pass's are bf16 GEMMs.
PREC=fp32
pf=$(ppl model)
pd=$(ppl model --decode)
pq=$(ZY_QUANT_ARITH=fp32 ppl model --weights q8_0)
pqd=$(ZY_QUANT_ARITH=fp32 ppl model --weights q8_0 --decode)
# --decode reads a typed directory straight into its copies (zy_model_load_decoder), the
# forward pass loads it in f32 and types it: the same model either way.
pb=$(ppl model-bf16)
pbd=$(ppl model-bf16 --decode)
pgd=$(ZY_QUANT_ARITH=fp32 ppl model-q8_0.gguf --decode) # (zy_model_load_gguf_decoder)
PREC=
if [ -n "$pd" ] && close "$pd" "$pf" 1e-5 && [ -n "$pqd" ] && close "$pqd" "$pq" 1e-5; then
    ok "eval --decode equals the forward pass (fp32): f32 $pd / $pf, q8_0 $pqd / $pq"
else
    bad "eval --decode: f32 '$pd' / '$pf', q8_0 '$pqd' / '$pq'"
fi
if [ -n "$pbd" ] && close "$pbd" "$pb" 1e-5; then
    ok "eval --decode of the bf16 directory equals its forward pass (fp32): $pbd / $pb"
else
    bad "eval --decode of the bf16 directory: '$pbd' / '$pb'"
fi
if [ -n "$pgd" ] && [ "$pgd" = "$pqd" ]; then
    ok "eval --decode of the q8_0 GGUF file equals --weights q8_0 --decode: $pgd"
else
    bad "eval --decode of the q8_0 GGUF file: '$pgd', --weights q8_0: '$pqd'"
fi
if "$Z" generate model-bf16 --prompt "In the" --max-tokens 12 --temperature 0 >g1 2>err &&
    "$Z" generate model --weights bf16 --prompt "In the" --max-tokens 12 --temperature 0 \
        >g2 2>err &&
    "$Z" generate model --weights q4_0 --prompt "In the" --max-tokens 12 --seed 3 >g3 2>err &&
    "$Z" generate model --kv-cache bf16 --prompt "In the" --max-tokens 12 --seed 3 >g4 2>err &&
    [ -s g1 ] && [ -s g3 ] && [ -s g4 ]; then
    ok "generate on the bf16 directory, with --weights bf16 and q4_0, with a bf16 KV cache"
else
    bad "generate with a weight type"
fi

# ---- refused -------------------------------------------------------------------------------
expect_fail "quantize --type q5_1" "not one of" "$Z" quantize model --type q5_1 --out out_bad
expect_fail "quantize over a model" "already holds a model" \
    "$Z" quantize model --type bf16 --out model-bf16
expect_fail "generate --weights int4" "not one of" \
    "$Z" generate model --weights int4 --prompt "In"
expect_fail "generate --kv-cache q8_0" "not one of f32, f16, bf16" \
    "$Z" generate model --kv-cache q8_0 --prompt "In"
if "$Z" eval nano --data val.txt --weights q8_0 --json >out 2>err &&
    grep -q "kept in f16" err && [ -s out ]; then
    ok "q8_0 on rows of 48: the matrices kept in f16, with a warning"
else
    bad "q8_0 on rows of 48"
fi

cli_finish
