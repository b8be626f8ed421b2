#!/bin/sh
# CLI tests of LoRA: `zhuyi finetune ... --lora*` writing a PEFT adapter directory (no
# copy of the base weights), that directory used by eval and predict as it is and through
# `--adapter` on its base, `zhuyi lora merge` giving the same scores as the adapter,
# --resume of an adapter run bit-exact, and bad input (a target matching nothing, LoRA
# without --init or in pretrain, --freeze-body with LoRA, a rank of 0, an adapter put on
# another base model, LoRA flags on --resume) failing with a message that says why. A tiny
# BERT and a tiny GPT-2 are pretrained here; makes its own data; no network, no timing.
# Usage: tests/cli/lora.sh [path/to/zhuyi]   (default build/zhuyi)
. "$(dirname "$0")/lib.sh"
cli_start lora "$@"
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
export ZY_THREADS=${ZY_THREADS:-2}

$PY - <<'EOF'
import random
random.seed(11)
pos = ["good", "great", "fine", "lovely"]; neg = ["bad", "awful", "poor", "dull"]
fill = ["the", "film", "was", "really", "quite", "a", "story", "with", "acting", "and"]
def review():
    lab = random.random() < 0.5
    w = [random.choice(fill) for _ in range(random.randint(3, 7))]
    w.insert(random.randint(0, len(w)), random.choice(pos if lab else neg))
    return " ".join(w), "pos" if lab else "neg"
for name, n in [("train.tsv", 160), ("val.tsv", 40)]:
    with open(name, "w") as f:
        f.write("text\tlabel\n")
        for _ in range(n):
            f.write("%s\t%s\n" % review())
with open("corpus.txt", "w") as f:
    for _ in range(300):
        f.write(review()[0] + " .\n")
EOF
cat >tiny.json <<'EOF'
{"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 32,
 "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
 "max_position_embeddings": 64, "vocab_size": 2}
EOF
"$Z" pretrain bert --data corpus.txt --config tiny.json --tokenizer wordpiece:200 --no-nsp \
    --val-fraction 0 --batch 8 --seq 32 --steps 20 --out bert >out 2>err &&
    ok "a tiny BERT pretrained" || bad "pretrain bert"
"$Z" pretrain gpt --data corpus.txt --config gpt-nano --tokenizer byte --steps 5 --batch 2 \
    --seq 32 --val-fraction 0 --out gpt >out 2>err && ok "a tiny GPT-2 pretrained" ||
    bad "pretrain gpt"
FT="--train train.tsv --val val.tsv --epochs 3 --batch 8 --lr 5e-3 --seq 32"

# ---- help -----------------------------------------------------------------------------------
"$Z" finetune classify --help >help 2>err || bad "finetune classify --help"
missing=""
for f in --lora --lora-r --lora-alpha --lora-dropout --lora-targets --lora-rslora \
    --lora-train-bias --lora-modules-to-save; do
    grep -q -- "$f" help || missing="$missing $f"
done
[ -z "$missing" ] && ok "finetune --help lists the LoRA flags" || bad "help misses$missing"
check_help lora --out
for c in eval predict generate chat embed fill-mask attention; do
    "$Z" $c --help 2>/dev/null | grep -q -- --adapter || missing="$missing $c"
done
[ -z "$missing" ] && ok "every inference command takes --adapter" || bad "no --adapter:$missing"

# ---- an adapter run ---------------------------------------------------------------------------
if "$Z" finetune classify --init bert $FT --lora-r 4 --lora-targets query,value \
    --out lcls >out 2>err; then
    ok "finetune classify --lora"
else
    bad "finetune classify --lora"
fi
if [ -f lcls/adapter_config.json ] && [ -f lcls/adapter_model.safetensors ] &&
    [ -f lcls/tokenizer.json ] && [ ! -e lcls/model.safetensors ]; then
    ok "the run directory holds the adapter and the tokenizer, not the base weights"
else
    bad "adapter run files: $(ls lcls | tr '\n' ' ')"
fi
base_bytes=$(stat -c %s bert/model.safetensors)
ad_bytes=$(stat -c %s lcls/adapter_model.safetensors 2>/dev/null || echo 0)
[ "$ad_bytes" -gt 0 ] && [ "$ad_bytes" -lt "$base_bytes" ] &&
    ok "the adapter file ($ad_bytes bytes) is smaller than the base ($base_bytes)" ||
    bad "adapter file size $ad_bytes vs base $base_bytes"
if $PY - lcls <<'EOF' >err 2>&1
import json, struct, sys
d = sys.argv[1]
c = json.load(open(d + "/adapter_config.json"))
assert c["peft_type"] == "LORA", c
assert c["r"] == 4 and c["lora_alpha"] == 16, c
assert sorted(c["target_modules"]) == ["query", "value"], c
assert c["task_type"] == "SEQ_CLS", c
assert "classifier" in (c["modules_to_save"] or []), c
assert c["bias"] == "none" and c["use_rslora"] is False, c
with open(d + "/adapter_model.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    h = json.loads(f.read(n))
names = [k for k in h if k != "__metadata__"]
a = "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight"
b = "base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight"
assert a in h and h[a]["shape"] == [4, 32], (a, h.get(a))
assert b in h and h[b]["shape"] == [32, 4], (b, h.get(b))
assert not any(".key." in k for k in names), names
assert any(k.startswith("base_model.model.classifier") for k in names), names
assert not any("embeddings" in k for k in names), names
EOF
then
    ok "adapter_config.json and the tensor names are PEFT's"
else
    bad "PEFT files"
fi

# ---- using it -----------------------------------------------------------------------------------
"$Z" eval lcls --data val.tsv --json >e_run 2>err && ok "eval of the run directory" ||
    bad "eval lcls"
"$Z" eval bert --adapter lcls --data val.tsv --json >e_ad 2>err &&
    ok "eval of the base with --adapter" || bad "eval --adapter"
cmp -s e_run e_ad && ok "the same scores both ways" || bad "eval differs: $(cat e_run e_ad)"
"$Z" predict lcls --input val.tsv >pred 2>err && [ "$(wc -l <pred)" -eq 40 ] &&
    ok "predict with the adapter run" || bad "predict lcls"
if "$Z" lora merge bert lcls --out merged >out 2>err && [ -f merged/model.safetensors ] &&
    [ -f merged/config.json ] && [ -f merged/tokenizer.json ] &&
    grep -q BertForSequenceClassification merged/config.json; then
    ok "lora merge writes a plain classifier directory"
else
    bad "lora merge"
fi
"$Z" eval merged --data val.tsv --json >e_m 2>err || bad "eval merged"
if $PY - e_run e_m <<'EOF' >err 2>&1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert abs(a["loss"] - b["loss"]) < 1e-4 * max(1, abs(a["loss"])), (a, b)
assert a.get("accuracy") == b.get("accuracy"), (a, b)
EOF
then
    ok "the merged model scores as base + adapter"
else
    bad "merged scores differ: $(cat e_run e_m)"
fi
"$Z" lora merge bert lcls --out merged >out 2>err && bad "merge over a model" ||
    grep -q "already holds" err && ok "merge refuses to overwrite a model" ||
    bad "merge overwrite message"

# GPT-2: Conv1D layers (fan_in_fan_out), several targets, rsLoRA, biases.
if "$Z" finetune classify --init gpt $FT --lora-r 2 --lora-alpha 4 --lora-rslora \
    --lora-targets c_attn,c_proj,c_fc --lora-train-bias lora_only --out gcls >out 2>err &&
    grep -q '"fan_in_fan_out": *true' gcls/adapter_config.json &&
    grep -q '"use_rslora": *true' gcls/adapter_config.json &&
    grep -q '"lora_only"' gcls/adapter_config.json &&
    "$Z" eval gcls --data val.tsv --json >/dev/null 2>>err; then
    ok "a GPT-2 classifier adapter (Conv1D, rsLoRA, lora_only biases)"
else
    bad "GPT-2 LoRA"
fi

# A GPT-2 tuned on instructions with an adapter: generate and chat use the run directory
# (template and all), and the merged model writes the same text.
$PY - <<'EOF2'
import json, random
random.seed(5)
words = ["light", "water", "stone", "bread", "king", "river"]
with open("sft.jsonl", "w") as f:
    for _ in range(40):
        w = random.choice(words)
        f.write(json.dumps({"prompt": "say " + w, "completion": w + " " + w}) + "\n")
EOF2
if "$Z" finetune lm --init gpt --train sft.jsonl --val sft.jsonl --steps 8 --batch 4 --seq 64 \
    --lr 1e-2 --lora-targets c_attn,c_proj --out llm >out 2>err &&
    grep -q '"CAUSAL_LM"' llm/adapter_config.json && [ -f llm/tokenizer_config.json ] &&
    [ ! -e llm/model.safetensors ]; then
    ok "finetune lm --lora writes a CAUSAL_LM adapter and the chat template"
else
    bad "finetune lm --lora"
fi
"$Z" lora merge gpt llm --out llm-merged >out 2>err || bad "merge the lm adapter"
"$Z" generate llm --prompt "say river" --max-tokens 8 --temperature 0 >g1 2>err &&
    "$Z" generate gpt --adapter llm --prompt "say river" --max-tokens 8 --temperature 0 >g2 2>>err &&
    "$Z" generate llm-merged --prompt "say river" --max-tokens 8 --temperature 0 >g3 2>>err &&
    cmp -s g1 g2 && cmp -s g1 g3 &&
    ok "generate: the run, --adapter on the base and the merged model write the same text" ||
    bad "generate with the adapter: $(cat g1 g2 g3 | tr '\n' '|')"
printf 'say stone\n/exit\n' | "$Z" chat llm --max-tokens 6 --temperature 0 >c1 2>err &&
    [ -s c1 ] && ok "chat with the adapter run" || bad "chat llm"
"$Z" eval llm --data sft.jsonl --json >l1 2>err && "$Z" eval llm-merged --data sft.jsonl \
    --json >l2 2>>err && $PY -c "
import json,sys; a,b=(json.load(open(p)) for p in ('l1','l2'))
sys.exit(abs(a['loss']-b['loss']) > 1e-4)" && ok "eval: the adapter and the merged model agree" ||
    bad "eval lm adapter vs merged: $(cat l1 l2)"

# ---- resume ----------------------------------------------------------------------------------
R="--init bert --train train.tsv --val val.tsv --steps 12 --batch 8 --lr 5e-3 --seq 32 \
   --eval-every 4 --save-every 4 --lora-r 4 --lora-dropout 0.1"
"$Z" finetune classify $R --out full >out 2>err || bad "uninterrupted adapter run"
"$Z" finetune classify $R --stop-at 8 --out part >out 2>err
"$Z" finetune classify --out part --resume >out 2>err || bad "resume of an adapter run"
if cmp -s full/adapter_model.safetensors part/adapter_model.safetensors &&
    cmp -s full/checkpoint/training_state.safetensors part/checkpoint/training_state.safetensors; then
    ok "an adapter run resumed is bit-exact (adapter and optimizer state)"
else
    bad "resumed adapter differs"
fi
"$Z" finetune classify --out part --resume --steps 14 --lora-r 8 >out 2>err &&
    bad "--lora-r on --resume" || grep -q "cannot be given with --resume" err &&
    ok "LoRA flags are refused on --resume" || bad "--lora-r on --resume message"

# ---- bad input --------------------------------------------------------------------------------
expect_fail "a target that matches nothing" "c_attn" "$Z" finetune classify --init bert $FT \
    --lora-targets c_attn --out x1
expect_fail "LoRA without --init" "--init" "$Z" finetune classify --config tiny.json \
    --tokenizer wordpiece:100 $FT --lora --out x2
expect_fail "LoRA in pretrain" "finetune" "$Z" pretrain gpt --data corpus.txt --tokenizer byte \
    --config gpt-nano --steps 2 --lora --out x3
expect_fail "--freeze-body with LoRA" "exclude" "$Z" finetune classify --init bert $FT \
    --freeze-body --lora --out x4
expect_fail "rank 0" "--lora-r" "$Z" finetune classify --init bert $FT --lora-r 0 --out x5
expect_fail "a BERT adapter on a GPT-2" "made for a .bert. model" "$Z" eval gpt --adapter lcls \
    --data val.tsv
expect_fail "--adapter that is not one" "adapter_config.json" "$Z" eval bert --adapter bert \
    --data val.tsv
cli_finish
