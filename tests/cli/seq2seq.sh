#!/bin/sh
# CLI tests of `zhuyi pretrain seq2seq` (the encoder-decoder Transformer on sentence pairs)
# and `zhuyi eval` on it: a tiny model learns a made-up word-for-word translation from
# --src/--tgt files (its validation loss falls far below the start); the directory is a
# MarianMTModel with the tokenizer's </s> and <pad> as eos and pad/decoder start; --pairs
# TSV and JSON lines (the translation shape with --src-lang/--tgt-lang) train the same
# way; --resume is bit-exact; eval reads the pairs again and reports the run's last
# validation loss; bad input (line counts that differ, an empty side, --val-fraction,
# --pairs with --src, a missing --val-tgt) fails with a message naming file and line and
# writes nothing; a sentence longer than the positions is cut with a warning.
# Makes its own data; no network, no timing.
# Usage: tests/cli/seq2seq.sh [path/to/zhuyi]   (default build/zhuyi)
. "$(dirname "$0")/lib.sh"
cli_start seq2seq "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}

# A made-up language: each English word has one "translation", in the same order, and
# every sentence ends with a word that depends on its length.
$PY - <<'EOF'
import json, random
random.seed(7)
en = "the cat dog bird sees eats a red big small fish mat".split()
xx = {w: w[::-1] + "o" for w in en}
def pair():
    s = [random.choice(en) for _ in range(random.randint(2, 7))]
    return " ".join(s), " ".join(xx[w] for w in s) + " fin%d" % len(s)
for name, n in [("train", 600), ("val", 40)]:
    ps = [pair() for _ in range(n)]
    with open(name + ".en", "w") as f:
        f.writelines(p[0] + "\n" for p in ps)
    with open(name + ".xx", "w") as f:
        f.writelines(p[1] + "\n" for p in ps)
    with open(name + ".tsv", "w") as f:
        f.writelines(p[0] + "\t" + p[1] + "\n" for p in ps)
    with open(name + ".jsonl", "w") as f:
        for p in ps:
            f.write(json.dumps({"translation": {"en": p[0], "xx": p[1]}}) + "\n")
EOF
cat >tiny.json <<'EOF'
{"model_type": "marian", "d_model": 32, "encoder_layers": 1, "decoder_layers": 1,
 "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 64,
 "decoder_ffn_dim": 64, "max_position_embeddings": 32, "vocab_size": 0,
 "pad_token_id": 0, "eos_token_id": 0, "activation_function": "relu",
 "scale_embedding": true, "dropout": 0.0}
EOF
TRAIN="--src train.en --tgt train.xx --val-src val.en --val-tgt val.xx --config tiny.json \
    --tokenizer bpe:300 --max-tokens 512 --lr 1e-2 --warmup 20 --eval-every 50 --seed 3"

check_help pretrain --src --tgt --pairs --val-src --val-tgt --val-pairs --max-tokens \
    --label-smoothing inverse_sqrt

# shellcheck disable=SC2086
if "$Z" pretrain seq2seq $TRAIN --steps 200 --out run >log 2>err; then
    ok "pretrain seq2seq: 200 steps"
else
    bad "pretrain seq2seq"
fi
first=$(grep -o '"val_nll_loss":[0-9.]*' run/metrics.jsonl | head -n 1 | cut -d: -f2)
last=$(grep -o '"val_nll_loss":[0-9.]*' run/metrics.jsonl | tail -n 1 | cut -d: -f2)
if [ -n "$first" ] && $PY -c "import sys; sys.exit(not float('$last') < 0.5 * float('$first'))"; then
    ok "the validation loss (plain cross-entropy) fell by half from step 50: $first -> $last"
else
    bad "the validation loss did not halve: '$first' -> '$last'"
fi
if $PY - <<'EOF' 2>err
import json
c = json.load(open("run/config.json"))
t = json.load(open("run/tokenizer.json"))
ids = {a["content"]: a["id"] for a in t["added_tokens"]}
assert c["model_type"] == "marian" and c["architectures"] == ["MarianMTModel"], c
assert c["eos_token_id"] == ids["</s>"], (c["eos_token_id"], ids)
assert c["pad_token_id"] == ids["<pad>"] == c["decoder_start_token_id"], (c, ids)
assert c["vocab_size"] == 300 == c["decoder_vocab_size"]
EOF
then ok "a MarianMTModel directory: eos </s>, pad <pad> = decoder start, vocab 300"
else bad "the directory's config"
fi

# eval: the same pairs give the run's last validation loss (the plain cross-entropy)
if "$Z" eval run --data val.en --data val.xx >out 2>err &&
    grep -q "^40 examples .*: loss " out; then
    ev=$(sed -n 's/^40 examples .*: loss \([0-9.]*\)$/\1/p' out)
    nll=$last
    if $PY -c "import sys; sys.exit(abs($ev - $nll) > 1e-3)"; then
        ok "eval on the validation pairs: loss $ev = the run's last nll_loss $nll"
    else
        bad "eval loss $ev differs from the run's nll_loss $nll"
    fi
else
    bad "eval"
fi

# evaluations translate the validation sources: bleu and chrf in metrics.jsonl; eval
# prints them with SacreBLEU's signatures; translate writes a line per line
if grep -q '"val_bleu":' run/metrics.jsonl && grep -q '"val_chrf":' run/metrics.jsonl; then
    ok "validation BLEU and chrF in metrics.jsonl"
else
    bad "no val_bleu / val_chrf in metrics.jsonl"
fi
if grep -q "^BLEU = .*hyp_len" out && grep -q "^BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp" out &&
    grep -q "^chrF2 = " out; then
    ok "eval reports BLEU and chrF2 with their signatures"
else
    bad "eval's BLEU / chrF report"
fi
if "$Z" translate run --input val.en >hyp 2>err && [ "$(wc -l <hyp)" -eq 40 ] &&
    "$Z" score --ref val.xx --hyp hyp >/dev/null 2>>err; then
    ok "translate: 40 lines for 40, scored by zhuyi score"
else
    bad "translate / score on the trained model"
fi

# --resume is bit-exact: 100 steps and then 100 more = the 200 steps above
# shellcheck disable=SC2086
"$Z" pretrain seq2seq $TRAIN --steps 200 --stop-at 100 --out half >/dev/null 2>err
"$Z" pretrain seq2seq --out half --resume >/dev/null 2>>err
if cmp -s run/model.safetensors half/model.safetensors; then
    ok "--resume at step 100 gives the uninterrupted run's weights, bit for bit"
else
    bad "--resume differs from the uninterrupted run"
fi

# --pairs: TSV and JSON lines (translation shape) read the same pairs
for f in tsv jsonl; do
    extra=""
    [ $f = jsonl ] && extra="--src-lang en --tgt-lang xx"
    # shellcheck disable=SC2086
    if "$Z" pretrain seq2seq --pairs train.$f --val-pairs val.$f $extra --config tiny.json \
        --tokenizer run --max-tokens 512 --lr 1e-2 --warmup 20 --seed 3 --steps 20 \
        --out p$f >/dev/null 2>err; then
        ok "--pairs train.$f"
    else
        bad "--pairs train.$f"
    fi
done
if cmp -s ptsv/model.safetensors pjsonl/model.safetensors; then
    ok "TSV and JSON lines of the same pairs train the same weights"
else
    bad "TSV and JSON lines trained different weights"
fi

# a sentence longer than the 32 positions is cut, with a warning
cp train.en long.en
cp train.xx long.xx
$PY -c "print(' '.join(['the red fish'] * 30))" >>long.en
echo "eht der hsif" >>long.xx
if "$Z" pretrain seq2seq --src long.en --tgt long.xx --config tiny.json --tokenizer run \
    --steps 2 --out long >/dev/null 2>err && grep -q "1 sources .* cut to fit (the first: long.en:601)" err; then
    ok "a source longer than the positions is cut, the warning names long.en:601"
else
    bad "no truncation warning"
fi

# refusals: nothing written
head -n 599 train.xx >short.xx
expect_fail "line counts differ" "train.en.*600.*short.xx.*599\|short.xx.*599.*train.en.*600" \
    "$Z" pretrain seq2seq --src train.en --tgt short.xx --out out_bad
sed '5s/.*//' train.xx >hole.xx
expect_fail "an empty target" "hole.xx:5" \
    "$Z" pretrain seq2seq --src train.en --tgt hole.xx --out out_bad
expect_fail "--val-fraction" "val-fraction" \
    "$Z" pretrain seq2seq --src train.en --tgt train.xx --val-fraction 0.1 --out out_bad
expect_fail "--pairs with --src" "--src FILE --tgt FILE or as --pairs" \
    "$Z" pretrain seq2seq --src train.en --pairs train.tsv --out out_bad
expect_fail "--val-src without --val-tgt" "val-tgt" \
    "$Z" pretrain seq2seq --src train.en --tgt train.xx --val-src val.en --out out_bad
expect_fail "a GPT run's options on seq2seq" "unknown option" \
    "$Z" pretrain seq2seq --src train.en --tgt train.xx --no-such-flag 1 --out out_bad

cli_finish
