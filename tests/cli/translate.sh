#!/bin/sh
# CLI tests of `zhuyi translate` on the tiny MarianMT model of tests/ref/marian_tiny (random
# weights: the translations are nonsense, the plumbing is what is checked) with a WordPiece
# tokenizer of its 40 ids trained here (`zhuyi tokenizer train`, "</s>" = id 0 = the eos):
# --help lists every flag; one output line per input line in input order, empty lines
# kept; the same output from stdin, --input and --output, whatever --batch and --threads;
# --n-best N gives N lines "i ||| text ||| score" per input, scores descending, the first
# the 1-best; --json lines parse; --greedy equals --beam 1; --sample is deterministic by
# seed and batching; a line longer than the model's positions is cut with a warning;
# refusals (a GPT directory, a missing file or directory, contradictory flags) exit
# non-zero with a "zhuyi:" message and nothing on stdout.
# Usage: tests/cli/translate.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start translate "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}

# ---- a model directory: the tiny Marian + a 40-token WordPiece tokenizer ------------------
i=0
while [ $i -lt 8 ]; do
    echo "the cat sat on the mat"
    echo "a hat is on the cat"
    echo "the man has a hat"
    echo "dogs run in the sun"
    echo "big red dog"
    i=$((i + 1))
done >data.txt
mkdir m
cp "$ROOT/tests/ref/marian_tiny/config.json" "$ROOT/tests/ref/marian_tiny/model.safetensors" m/
if "$Z" tokenizer train --type wordpiece --vocab-size 40 --special "</s>" --special "[UNK]" \
    --data data.txt --out m/tokenizer.json >/dev/null 2>err; then
    ok "a model directory: tests/ref/marian_tiny + a 40-token tokenizer"
else
    bad "tokenizer train for the model directory"
    cli_finish
    exit 1
fi

check_help translate --input --output --beam --length-penalty --early-stopping --max-len-a \
    --max-len-b --n-best --greedy --sample --temperature --top-k --top-p --seed --batch \
    --json --progress --weights --kv-cache --threads

printf 'the cat sat\n\nthe hat\na man has the mat on the cat\nbig dog\n\nred sun\n' >in.txt
n_in=$(wc -l <in.txt)

# ---- lines, order, batching -----------------------------------------------------------------
if "$Z" translate m --input in.txt >out1 2>err && [ "$(wc -l <out1)" -eq "$n_in" ] &&
    [ -z "$(sed -n 2p out1)" ] && [ -z "$(sed -n 6p out1)" ] && [ -n "$(sed -n 1p out1)" ]; then
    ok "one line out per line in ($n_in), empty lines kept in place"
else
    bad "translate --input: line count or empty lines"
fi
# each line alone (--batch 1) in a separate run gives the line the batch gave at its place
good=1
k=1
while [ $k -le "$n_in" ]; do
    sed -n "${k}p" in.txt >one.txt
    "$Z" translate m --input one.txt --batch 1 >one.out 2>err || good=0
    [ "$(cat one.out)" = "$(sed -n "${k}p" out1)" ] || good=0
    k=$((k + 1))
done
[ $good -eq 1 ] && ok "every line alone = its line of the batched run (input order kept)" ||
    bad "a line translated alone differs from its place in the batched run"
if "$Z" translate m --batch 2 --threads 1 <in.txt >out2 2>err && cmp -s out1 out2 &&
    "$Z" translate m --input in.txt --output out3 --batch 5 >out3.stdout 2>err &&
    cmp -s out1 out3 && [ ! -s out3.stdout ]; then
    ok "stdin, --input and --output agree; --batch 2/5/8 and --threads 1/2 change nothing"
else
    bad "stdin / --output / --batch / --threads"
fi

# ---- n-best and JSON ---------------------------------------------------------------------------
if "$Z" translate m --input in.txt --beam 4 --n-best 3 >nb 2>err &&
    "$Z" translate m --input in.txt --beam 4 >b4 2>>err &&
    $PY - "$n_in" <<'EOF' 2>err
import sys
n = int(sys.argv[1])
rows = [l.rstrip("\n").split(" ||| ") for l in open("nb")]
assert len(rows) == 3 * n, len(rows)
best = [l.rstrip("\n") for l in open("b4")]
for i in range(n):
    group = rows[3 * i:3 * i + 3]
    assert all(len(r) == 3 and r[0] == str(i) for r in group), group
    scores = [float(r[2]) for r in group]
    assert scores == sorted(scores, reverse=True), scores
    assert group[0][1] == best[i], (group[0], best[i])
    if best[i] == "":
        assert scores == [0.0] * 3, group  # an empty line
    else:
        assert all(s < 0 for s in scores), scores
EOF
then
    ok "--n-best 3: 3 lines 'i ||| text ||| score' per input, sorted, the first = the 1-best"
else
    bad "--n-best format"
fi
if "$Z" translate m --input in.txt --json --n-best 2 >js 2>err && $PY - "$n_in" <<'EOF' 2>err
import json, sys
n = int(sys.argv[1])
rows = [json.loads(l) for l in open("js")]
assert [r["i"] for r in rows] == list(range(n)), rows
for r in rows:
    assert set(r) == {"i", "text", "score", "hyps"}, r
    assert len(r["hyps"]) == (0 if r["text"] == "" and r["score"] == 0 else 2), r
    if r["hyps"]:
        assert r["hyps"][0] == {"text": r["text"], "score": r["score"]}, r
EOF
then
    ok "--json --n-best 2: one object per line with its hypotheses"
else
    bad "--json"
fi

# ---- greedy, sampling, truncation ----------------------------------------------------------------
if "$Z" translate m --input in.txt --greedy >g 2>err &&
    "$Z" translate m --input in.txt --beam 1 >b1 2>>err && cmp -s g b1; then
    ok "--greedy = --beam 1"
else
    bad "--greedy differs from --beam 1"
fi
if "$Z" translate m --input in.txt --sample --seed 3 --top-k 8 >s1 2>err &&
    "$Z" translate m --input in.txt --sample --seed 3 --top-k 8 --batch 1 >s2 2>>err &&
    "$Z" translate m --input in.txt --sample --seed 4 --top-k 8 >s3 2>>err &&
    cmp -s s1 s2 && ! cmp -s s1 s3 && [ "$(wc -l <s1)" -eq "$n_in" ]; then
    ok "--sample: the same seed gives the same lines whatever the batch; another differs"
else
    bad "--sample determinism"
fi
# 16-bit KV caches: a line per input line, the same whatever the batch (beam search copies
# and reorders the caches of each sentence's hypotheses).
for t in f16 bf16; do
    if "$Z" translate m --input in.txt --kv-cache $t >k1 2>err &&
        "$Z" translate m --input in.txt --kv-cache $t --batch 1 >k2 2>>err &&
        cmp -s k1 k2 && [ "$(wc -l <k1)" -eq "$n_in" ]; then
        ok "--kv-cache $t: a line per input line, the same at --batch 1 ($(grep -c . k1) non-empty)"
    else
        bad "--kv-cache $t"
    fi
done
echo "the cat sat on the mat the cat sat on the mat the cat sat on the mat" >long.txt
if "$Z" translate m --input long.txt >lo 2>err && [ "$(wc -l <lo)" -eq 1 ] &&
    grep -q "^zhuyi: warning: .*line 1 .*cut to 15" err; then
    ok "a line over the model's 16 positions is cut (15 tokens + eos), with a warning"
else
    bad "truncation warning"
fi

# ---- refusals ---------------------------------------------------------------------------------
for i in 1 2 3; do
    echo "The quick brown fox jumps over the lazy dog while zebras quietly graze; vexing wizards box jumpy kangaroos."
    echo "Pack my box with five dozen liquor jugs and sphinx of black quartz judge my vow."
done >g.txt
mkdir gpt
cp "$ROOT/tests/ref/gpt_small/config.json" "$ROOT/tests/ref/gpt_small/model.safetensors" gpt/
"$Z" tokenizer train --type wordpiece --vocab-size 96 --min-frequency 1 --data g.txt \
    --out gpt/tokenizer.json >/dev/null 2>err || bad "a 96-token tokenizer for the GPT dir"
expect_fail "a GPT-2 directory" "gpt2.*not an encoder-decoder" "$Z" translate gpt --input in.txt
expect_fail "a missing --input" "missing.txt" "$Z" translate m --input missing.txt
expect_fail "an --output in a missing directory" "nodir/out.txt" \
    "$Z" translate m --input in.txt --output nodir/out.txt
expect_fail "a missing model directory" "nodir" "$Z" translate nodir --input in.txt
expect_fail "--n-best over --beam" "--n-best 3 is more than --beam 2" \
    "$Z" translate m --input in.txt --beam 2 --n-best 3
expect_fail "--greedy with --sample" "--greedy excludes --sample" \
    "$Z" translate m --input in.txt --greedy --sample
expect_fail "--temperature without --sample" "need --sample" \
    "$Z" translate m --input in.txt --temperature 0.5
expect_fail "--n-best with --greedy" "needs beam search" \
    "$Z" translate m --input in.txt --greedy --n-best 2
expect_fail "--beam 0" "--beam" "$Z" translate m --input in.txt --beam 0
expect_fail "--length-penalty nan" "--length-penalty" \
    "$Z" translate m --input in.txt --length-penalty nan
expect_fail "--kv-cache q8_0" "--kv-cache 'q8_0' is not one of f32, f16, bf16" \
    "$Z" translate m --input in.txt --kv-cache q8_0

cli_finish
