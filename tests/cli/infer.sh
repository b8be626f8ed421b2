#!/bin/sh
# CLI tests of `zhuyi eval` and `zhuyi generate` on a tiny model trained here for a few
# steps (`zhuyi pretrain gpt`, byte tokenizer, so multi-byte UTF-8 characters are split
# across tokens): --help lists every flag; eval --json parses, perplexity = exp(loss),
# token count = full windows x T, and eval equals the trainer's own validation loss on
# the same file, and is the same at 200 threads as at 2 (LeakSanitizer, in `make
# sanitize`, finding nothing at exit); generate is deterministic by seed, temperature 0
# equals top-k 1, the streamed text is byte-identical to decoding its --ids,
# --max-tokens holds; bad inputs exit non-zero with a "zhuyi:" message and print nothing
# on stdout, weights holding a NaN included (the message names the tensor).
# Makes its own few-KB text; needs no network and no timing.
# Usage: tests/cli/infer.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start infer "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}

# A few KB of text with multi-byte characters, so byte tokens split characters.
i=0
while [ $i -lt 40 ]; do
    echo "The cat sat on the mat, café au lait — naïve 中文字符 ünïcödé line $i."
    echo "In the beginning was the word; and the word was good. 注意 attention!"
    i=$((i + 1))
done >data.txt
head -c 1500 data.txt >val.txt

# ---- a tiny model -------------------------------------------------------------------------
if "$Z" pretrain gpt --data data.txt --val-data val.txt --config gpt-nano --tokenizer byte \
    --batch 4 --seq 32 --steps 30 --warmup 5 --lr 3e-3 --eval-every 0 --eval-batches 0 \
    --out model >/dev/null 2>err; then
    ok "a tiny model to test with (pretrain gpt-nano, byte tokenizer, 30 steps)"
else
    bad "pretrain a tiny model"
    echo "$pass passed, $fail failed"
    exit 1
fi

# ---- --help -------------------------------------------------------------------------------
check_help eval --data --seq --batch --json --threads
check_help generate --prompt --max-tokens --temperature --top-k --top-p --seed --ids --threads

# ---- eval ---------------------------------------------------------------------------------
n_tok=$("$Z" tokenize encode --tokenizer model <val.txt | wc -w)
if "$Z" eval model --data val.txt --seq 32 --json >ev.json 2>err &&
    $PY - "$n_tok" <<'EOF' 2>err
import json, math, sys
n = int(sys.argv[1])
j = json.load(open("ev.json"))
assert set(j) == {"loss", "perplexity", "tokens"}, j
assert j["tokens"] == (n - 1) // 32 * 32, (j["tokens"], n)
assert abs(j["perplexity"] - math.exp(j["loss"])) <= 1e-4 * j["perplexity"], j
assert 0 < j["loss"] < math.log(257), j  # trained: better than uniform over 257 ids
EOF
then
    ok "eval --json parses: perplexity = exp(loss), tokens = full windows x 32"
else
    bad "eval --json"
fi
# The trainer's last validation (--eval-batches 0: every window of val.txt, T = 32) is the
# same computation; both are means over float losses, so they agree to ~1e-5.
if v=$(grep -o '"val_loss":[0-9.eE+-]*' model/metrics.jsonl | tail -1 | cut -d: -f2) &&
    [ -n "$v" ] && $PY -c "
import json, sys
e = json.load(open('ev.json'))['loss']
sys.exit(0 if abs(e - $v) <= 1e-4 * max(1, abs(e)) else 1)" 2>err; then
    ok "eval loss equals the trainer's val_loss on the same file ($v)"
else
    bad "eval loss vs trainer val_loss ($v vs $(cat ev.json))"
fi
if "$Z" eval model --data val.txt --seq 32 --batch 3 >ev.txt 2>err &&
    grep -q "^loss [0-9.]*  perplexity [0-9.]*" ev.txt; then
    ok "eval plain output ($(cat ev.txt))"
else
    bad "eval plain output"
fi
# 200 threads: GEMMs of 2048 rows are cut into 200 chunks, so most of the pool's workers
# pack into workspaces of their own. The loss is the same as at 2 threads (chunks, not
# threads, fix the arithmetic), and under `make sanitize` (build/san/zhuyi) LeakSanitizer
# must find nothing at exit: the per-thread workspaces stay reachable from their threads
# (and are freed when a thread ends), never lost.
if ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1" \
    "$Z" eval model --data data.txt --seq 32 --threads 200 --json >ev200.json 2>err &&
    ! grep -q Sanitizer err &&
    "$Z" eval model --data data.txt --seq 32 --threads 2 --json >ev2.json 2>>err &&
    cmp -s ev2.json ev200.json; then
    ok "eval --threads 200: the loss of 2 threads, nothing leaked ($(cat ev200.json))"
else
    bad "eval --threads 200 ($(cat ev200.json 2>/dev/null) vs $(cat ev2.json 2>/dev/null))"
fi

# ---- generate -----------------------------------------------------------------------------
G="$Z generate model --prompt The --max-tokens 60"
$G --seed 7 >g1 2>err && $G --seed 7 >g2 2>>err && $G --seed 8 >g3 2>>err
if cmp -s g1 g2 && ! cmp -s g1 g3 && [ -s g1 ]; then
    ok "generate: same seed, same text; another seed, other text"
else
    bad "generate determinism by seed"
fi
$G --temperature 0 --ids >gr1 2>err && $G --temperature 1 --top-k 1 --seed 3 --ids >gr2 2>>err
if [ -s gr1 ] && cmp -s gr1 gr2; then
    ok "generate: --temperature 0 equals --top-k 1"
else
    bad "generate greedy vs top-k 1"
fi
# Sampled text holds multi-byte characters split across byte tokens; what is streamed
# must be exactly the bytes the ids decode to (nothing lost, doubled or reordered).
P="--prompt café --max-tokens 80 --temperature 0.9 --top-p 0.95 --seed 11"
if "$Z" generate model $P >gt 2>err && "$Z" generate model $P --ids >gi 2>>err &&
    "$Z" tokenize decode --tokenizer model <gi >gd 2>>err && cmp -s gt gd &&
    [ "$(LC_ALL=C tr -d '\000-\177' <gt | wc -c)" -gt 0 ]; then
    ok "generate: streamed text = decode(--ids), byte for byte ($(wc -c <gt) bytes, $(LC_ALL=C tr -d '\000-\177' <gt | wc -c) non-ASCII)"
else
    bad "generate text vs decoded ids"
fi
n=$("$Z" generate model --prompt "The" --max-tokens 5 --ids 2>err | wc -w)
[ "$n" -ge 1 ] && [ "$n" -le 5 ] && ok "generate --max-tokens 5 gives $n ids" ||
    bad "generate --max-tokens 5 gave $n ids"
"$Z" generate model --prompt "" --max-tokens 10 >ge 2>err &&
    ok "generate: an empty prompt starts from <|endoftext|>" || bad "generate empty prompt"

# ---- bad inputs ---------------------------------------------------------------------------
mkdir notmodel
cp -r model trunc
head -c 2000 model/model.safetensors >trunc/model.safetensors
cp -r model mismatch
printf 'some text for a different tokenizer, some text, some more text\n' >tt.txt
"$Z" tokenizer train --type bpe --vocab-size 270 --data tt.txt --out mismatch/tokenizer.json \
    >/dev/null 2>&1
cp -r model notok
rm notok/tokenizer.json
: >empty.txt
printf 'tiny' >short.txt
long=$(i=0; while [ $i -lt 70 ]; do printf 'x'; i=$((i + 1)); done) # 70 bytes > 64 positions
expect_fail "eval: missing model dir" "" "$Z" eval nosuchdir --data data.txt
expect_fail "eval: not a model dir" "" "$Z" eval notmodel --data data.txt
expect_fail "eval: no tokenizer.json" "" "$Z" eval notok --data data.txt
expect_fail "eval: truncated safetensors" "" "$Z" eval trunc --data data.txt
expect_fail "eval: tokenizer/model vocab mismatch" "" "$Z" eval mismatch --data data.txt
expect_fail "eval: no --data" "" "$Z" eval model
expect_fail "eval: missing data file" "" "$Z" eval model --data nosuchfile.txt
expect_fail "eval: empty data file" "" "$Z" eval model --data empty.txt
expect_fail "eval: data shorter than one window" "" "$Z" eval model --data short.txt --seq 32
expect_fail "eval: --seq beyond n_positions" "" "$Z" eval model --data data.txt --seq 65
expect_fail "eval: bad --batch" "" "$Z" eval model --data data.txt --batch 0
expect_fail "eval: unknown flag" "" "$Z" eval model --data data.txt --frobnicate
expect_fail "generate: missing model dir" "" "$Z" generate nosuchdir --prompt hi
expect_fail "generate: not a model dir" "" "$Z" generate notmodel --prompt hi
expect_fail "generate: truncated safetensors" "" "$Z" generate trunc --prompt hi
expect_fail "generate: vocab mismatch" "" "$Z" generate mismatch --prompt hi
expect_fail "generate: no --prompt" "" "$Z" generate model
expect_fail "generate: prompt longer than n_positions" "" "$Z" generate model --prompt "$long"
expect_fail "generate: --top-p 0" "" "$Z" generate model --prompt hi --top-p 0
expect_fail "generate: --top-p 1.5" "" "$Z" generate model --prompt hi --top-p 1.5
expect_fail "generate: negative temperature" "" "$Z" generate model --prompt hi --temperature -1
expect_fail "generate: bad --top-k" "" "$Z" generate model --prompt hi --top-k x
expect_fail "generate: bad --max-tokens" "" "$Z" generate model --prompt hi --max-tokens -3
expect_fail "generate: unknown flag" "" "$Z" generate model --prompt hi --frobnicate

# ---- weights that are not finite ----------------------------------------------------------
# One NaN poked into the F32 file (an element of h.0's c_attn): eval once printed
# {"loss":-nan,...} and exited 0. Now eval and generate refuse the model, naming the tensor.
cp -r model nanmodel
if $PY - nanmodel/model.safetensors <<'EOF' 2>err
import json, struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
t = h["transformer.h.0.attn.c_attn.weight"]
assert t["dtype"] == "F32", t
at = 8 + n + t["data_offsets"][0] + 4 * 5
b[at:at + 4] = struct.pack("<f", float("nan"))
open(p, "wb").write(b)
EOF
then
    for cmd in "eval nanmodel --data val.txt --seq 32 --json" "eval nanmodel --data val.txt" \
        "generate nanmodel --prompt The --max-tokens 5"; do
        # shellcheck disable=SC2086
        if "$Z" $cmd >out 2>err; then
            bad "$cmd on NaN weights: exit 0 ($(head -c 100 out))"
        elif [ -s out ]; then
            bad "$cmd on NaN weights: printed on stdout ($(head -c 100 out))"
        elif grep -q "transformer.h.0.attn.c_attn.weight" err && grep -q "NaN" err; then
            ok "$cmd on NaN weights fails: $(head -c 150 err | head -1)"
        else
            bad "$cmd on NaN weights: the message does not name the tensor"
        fi
    done
else
    bad "poke a NaN into model.safetensors"
fi
# Finite weights whose activations overflow: every ln_f gain 3e38 makes the logits
# infinite and the loss NaN. No JSON with a NaN in it: an error.
cp -r model bigmodel
if $PY - bigmodel/model.safetensors <<'EOF' 2>err
import json, struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
lo, hi = h["transformer.ln_f.weight"]["data_offsets"]
b[8 + n + lo:8 + n + hi] = struct.pack("<f", 3e38) * ((hi - lo) // 4)
open(p, "wb").write(b)
EOF
then
    if "$Z" eval bigmodel --data val.txt --seq 32 --json >out 2>err; then
        bad "eval with overflowing activations: exit 0 ($(head -c 100 out))"
    elif [ -s out ]; then
        bad "eval with overflowing activations: printed on stdout ($(head -c 100 out))"
    elif grep -q "the loss over .* is NaN although every weight" err; then
        ok "eval with overflowing activations fails: $(head -c 150 err | head -1)"
    else
        bad "eval with overflowing activations: unexpected message"
    fi
else
    bad "poke 3e38 into model.safetensors"
fi

cli_finish
