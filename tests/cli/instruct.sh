#!/bin/sh
# CLI tests of instruction fine-tuning (`zhuyi finetune lm`), `zhuyi chat` and `zhuyi
# generate` with a chat template: a tiny GPT pretrained here (byte tokenizer), fine-tuned
# on self-made JSON lines of both shapes; the output directory (the template recorded in
# tokenizer_config.json, whose Jinja chat_template renders the documented text when
# jinja2 is there); the loss masking (eval counts exactly the reply bytes + end tokens of
# the file, equals the run's best validation loss, and fell far below the base model's);
# packing (fewer rows, so fewer steps an epoch, than --no-packing); --resume bit-exact;
# chat through a pipe (replies, /reset giving the first reply again, /exit and EOF, the
# KV cache reused on the second turn and the reply equal to a fresh decoding of the
# rendered conversation, a line too long for the context refused); generate applying the
# template, and --raw; bad input (a line without a completion, an unknown role, empty
# messages, broken JSON) failing with a message naming file and line, nothing written.
# Makes its own data; no network, no timing.
# Usage: tests/cli/instruct.sh [path/to/zhuyi]   (default build/zhuyi)
. "$(dirname "$0")/lib.sh"
cli_start instruct "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}

# A corpus to pretrain on, and questions whose answer is a word of the question (learnt in
# a few hundred steps): prompt/completion lines, and messages with a system text.
$PY - <<'EOF'
import json, random
random.seed(5)
words = "the cat sat on a mat and the dog ran to the park with a red ball".split()
with open("corpus.txt", "w") as f:
    for _ in range(400):
        f.write(" ".join(random.choice(words) for _ in range(12)) + ".\n")
colors, animals = ["red", "blue", "green", "black", "white"], ["cat", "dog", "bird", "fish"]
def ex(i):
    c, a = random.choice(colors), random.choice(animals)
    if i % 2:
        return {"prompt": "what color is the %s %s?" % (c, a), "completion": c}
    return {"messages": [{"role": "system", "content": "answer in one word"},
                         {"role": "user", "content": "name the animal: the %s %s" % (c, a)},
                         {"role": "assistant", "content": a}]}
for name, n in [("train.jsonl", 200), ("val.jsonl", 40)]:
    with open(name, "w") as f:
        for i in range(n):
            f.write(json.dumps(ex(i)) + "\n")
EOF
cat >tiny.json <<'EOF'
{"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 32, "n_positions": 192,
 "vocab_size": 257}
EOF
if "$Z" pretrain gpt --data corpus.txt --config tiny.json --tokenizer byte --steps 30 \
    --batch 8 --seq 64 --val-fraction 0 --out gpt >/dev/null 2>err; then
    ok "a tiny GPT pretrained (byte tokenizer, 192 positions)"
else
    bad "pretrain gpt"
    echo "$pass passed, $fail failed"
    exit 1
fi
FT="--init gpt --batch 8 --seq 128 --lr 3e-3"

# ---- help ---------------------------------------------------------------------------------
"$Z" finetune lm --help >help 2>err || bad "finetune lm --help"
missing=""
for f in --train --val --init --epochs --no-packing --skip-bad-rows --best-metric --resume \
    prompt completion messages "### User:"; do
    grep -q -- "$f" help || missing="$missing $f"
done
[ -z "$missing" ] && ok "finetune lm --help lists its flags and the data" ||
    bad "finetune lm --help misses$missing"
check_help chat --system --max-tokens --temperature --top-k --top-p --seed --verbose \
    --threads /reset /exit
check_help generate --prompt --system --raw --template --max-tokens

# ---- finetune lm --------------------------------------------------------------------------
# A new model's BPE is learnt from the messages, not the JSON keys around them.
"$Z" finetune lm --config tiny.json --tokenizer bpe:400 --train train.jsonl --steps 1 \
    --batch 8 --seq 64 --out newbpe >out 2>err && grep -q '"Ġcolor"' newbpe/tokenizer.json &&
    ! grep -q '"completion"' newbpe/tokenizer.json && ! grep -q '"role"' newbpe/tokenizer.json &&
    ok "from scratch: bpe:N learnt from the messages, not the JSON keys" ||
    bad "from scratch: bpe:N vocabulary: $(tail -1 err)"
if "$Z" finetune lm $FT --epochs 20 --train train.jsonl --val val.jsonl --out sft >out 2>err; then
    ok "finetune lm exits 0"
else
    bad "finetune lm"
fi
missing=""
for f in config.json model.safetensors tokenizer.json tokenizer_config.json metrics.jsonl \
    loss.svg checkpoint; do
    [ -e "sft/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] && ok "the output directory holds the model, the tokenizer and its config" ||
    bad "missing in sft:$missing"
grep -q '"zhuyi_chat_template":[[:space:]]*"zhuyi-1"' sft/tokenizer_config.json &&
    grep -q '"chat_template"' sft/tokenizer_config.json &&
    grep -q '"eos_token":[[:space:]]*"<|endoftext|>"' sft/tokenizer_config.json &&
    grep -q '"GPT2LMHeadModel"' sft/config.json &&
    ok "tokenizer_config.json records the template zhuyi-1 (and its Jinja form)" ||
    bad "tokenizer_config.json: $(cat sft/tokenizer_config.json)"
if $PY -c "import jinja2" 2>/dev/null; then
    $PY - "$ROOT/tests" <<'EOF' >chk 2>&1
import json, sys
sys.path.insert(0, sys.argv[1])
import ref_instruct as r
tpl = json.load(open("sft/tokenizer_config.json"))["chat_template"]
n = 0
for line in open("train.jsonl"):
    conv = r.parse_line(line)
    for gen in (False, True):
        assert r.jinja_render(tpl, conv, gen) == r.render(conv, gen), conv
        n += 1
print(n)
EOF
    [ "$(cat chk)" = 400 ] &&
        ok "the Jinja chat_template (transformers' options) renders the documented text" ||
        bad "Jinja chat_template: $(tail -2 chk)"
else
    echo "skip the Jinja chat_template check (no jinja2 module)"
fi

# The loss is on the replies only: eval scores exactly the reply bytes and one end token
# per reply of the file (byte tokenizer: a token a byte), agrees with the run's best
# validation, and learning took it far below the base model's.
want=$($PY -c "
import json
n = 0
for l in open('val.jsonl'):
    o = json.loads(l)
    replies = [o['completion']] if 'completion' in o else \
        [m['content'] for m in o['messages'] if m['role'] == 'assistant']
    n += sum(len(x.encode()) + 1 for x in replies)
print(n)")
"$Z" eval sft --data val.jsonl --seq 128 --json >ev.json 2>err
"$Z" eval gpt --data val.jsonl --seq 128 --json >ev0.json 2>err0
best=$(sed -n 's/.*the best model: val loss \([0-9.]*\) at step.*/\1/p' out)
if $PY - "$want" "$best" <<'EOF' 2>chk; then
import json, sys
want, best = int(sys.argv[1]), float(sys.argv[2])
a, b = json.load(open("ev.json")), json.load(open("ev0.json"))
assert a["tokens"] == want == b["tokens"], (a, b, want)
assert abs(a["loss"] - best) < 1e-4, (a, best)
assert a["loss"] < 0.5 and b["loss"] > 2 and a["loss"] < b["loss"] / 4, (a, b)
EOF
    ok "eval scores the $want reply tokens only; loss = the run's best; far below the base's"
else
    bad "loss masking: $(tail -1 chk)"
fi
grep -q "records no chat template" err0 &&
    ok "eval of a model without a template says which one renders the data" ||
    bad "eval gpt: no note"
grep -q '"val_loss"' sft/metrics.jsonl && ok "metrics.jsonl holds the validation loss" ||
    bad "metrics.jsonl"

# Packing: fewer rows, so fewer steps per epoch than one example a row. The examples are
# 57 (prompt/completion) and 79 tokens (messages), alternating: two fit a row of 161.
"$Z" finetune lm $FT --seq 160 --epochs 1 --train train.jsonl --out p1 >o1 2>/dev/null
"$Z" finetune lm $FT --seq 160 --epochs 1 --no-packing --train train.jsonl --out p2 >o2 2>/dev/null
s1=$(sed -n 's|^step [0-9]*/\([0-9]*\):.*|\1|p' o1)
s2=$(sed -n 's|^step [0-9]*/\([0-9]*\):.*|\1|p' o2)
[ "$s1" = 13 ] && [ "$s2" = 25 ] &&
    ok "an epoch is $s1 steps packed, $s2 (200 examples / batch 8) with --no-packing" ||
    bad "packing: $s1 vs $s2 steps"

# --resume continues bit-exactly (the kind's --no-packing replayed from the state).
"$Z" finetune lm $FT --epochs 2 --no-packing --train train.jsonl --val val.jsonl --out ra \
    >/dev/null 2>&1
"$Z" finetune lm $FT --epochs 2 --no-packing --train train.jsonl --val val.jsonl --stop-at 20 \
    --out rb >/dev/null 2>&1
"$Z" finetune lm --out rb --resume >/dev/null 2>err
cmp -s ra/checkpoint/model.safetensors rb/checkpoint/model.safetensors &&
    cmp -s ra/model.safetensors rb/model.safetensors && cmp -s ra/tokenizer_config.json rb/tokenizer_config.json &&
    ok "--resume: the same weights as one run (newest and best)" || bad "--resume differs"

# ---- chat ---------------------------------------------------------------------------------
printf 'what color is the red cat?\nwhat color is the blue dog?\n\n/reset\nwhat color is the red cat?\n/exit\nnot read\n' |
    "$Z" chat sft --temperature 0 --max-tokens 20 --verbose >chat.out 2>err
rc=$?
if [ $rc = 0 ] && [ "$(wc -l <chat.out)" = 3 ] && [ "$(sed -n 1p chat.out)" = red ] &&
    [ "$(sed -n 3p chat.out)" = red ]; then
    ok "chat through a pipe: a reply a line, 'red' again after /reset, /exit ends it"
else
    bad "chat: rc $rc, $(tr '\n' '|' <chat.out)"
fi
grep -q "turn 1: prompt [0-9]* tokens ([1-9][0-9]* already in the cache)" err &&
    grep -q "turn 0: prompt [0-9]* tokens (0 already" err && grep -q "forgotten" err &&
    ok "the second turn decodes on the cache the first left" || bad "chat cache reuse"
# The second reply (on the cache) = a fresh decoding of the rendered conversation.
r1=$(sed -n 1p chat.out)
p="$(printf '### User:\nwhat color is the red cat?\n\n### Assistant:\n%s<|endoftext|>### User:\nwhat color is the blue dog?\n\n### Assistant:\n' "$r1"; echo x)"
"$Z" generate sft --raw --temperature 0 --max-tokens 20 --prompt "${p%x}" >gen.out 2>err
[ "$(cat gen.out)" = "$(sed -n 2p chat.out)" ] &&
    ok "the second chat reply equals generate --raw on the rendered conversation" ||
    bad "chat vs generate: '$(cat gen.out)' vs '$(sed -n 2p chat.out)'"
printf 'what color is the red cat?\nwhat color is the red cat?' |
    "$Z" chat sft --temperature 0 --max-tokens 20 --system "$(printf '%0100d' 0)" >chat2.out 2>err
rc=$?
[ $rc = 0 ] && [ "$(wc -l <chat2.out)" = 2 ] &&
    ok "chat: EOF after a last line without a newline; a long system text fits alone" ||
    bad "chat EOF: rc $rc"
printf 'what color is the red cat?\nwhat color is the blue dog?\n' |
    "$Z" chat sft --temperature 0 --max-tokens 100 --verbose >chat3.out 2>err
grep -q "1 oldest exchange dropped" err && grep -q "turn 1: prompt [0-9]* tokens (0 already" err &&
    ok "chat drops the oldest exchange when the next one would not fit, and re-decodes" ||
    bad "chat history drop"
long=$(printf 'what color is the red cat%0200d?' 0)
printf '%s\nwhat color is the red cat?\n' "$long" |
    "$Z" chat sft --temperature 0 --max-tokens 20 >chat4.out 2>err
[ $? = 0 ] && grep -q "not sent" err && [ "$(cat chat4.out)" = red ] &&
    ok "chat: a line longer than the context is refused, the chat goes on" ||
    bad "chat long line"
"$Z" chat nowhere </dev/null >out 2>err
[ $? != 0 ] && grep -q "zhuyi: chat:" err && ok "chat on a missing directory fails" ||
    bad "chat nowhere"

# ---- generate -----------------------------------------------------------------------------
"$Z" generate sft --prompt "what color is the red cat?" --temperature 0 >g1 2>err &&
    [ "$(cat g1)" = red ] && ok "generate applies the recorded template: 'red'" ||
    bad "generate with the template: '$(cat g1)'"
"$Z" generate sft --raw --prompt "what color is the red cat?" --temperature 0 --max-tokens 8 \
    >g2 2>err && [ "$(cat g2)" != red ] && ok "generate --raw continues the text as it is" ||
    bad "generate --raw: '$(cat g2)'"
"$Z" generate sft --raw --system x --prompt y >out 2>err
[ $? != 0 ] && grep -q "excludes --system" err && ok "generate --raw --system is refused" ||
    bad "--raw --system"

# ---- bad input: messages naming file and line, nothing written ------------------------------
# finetune lm ARGS --out out_bad: a refused run (expect_fail checks out_bad is not made)
lm_bad() { "$Z" finetune lm "$@" --out out_bad; }
{ head -3 train.jsonl; echo '{"prompt": "what color is the sky?"}'; } >nocomp.jsonl
expect_fail "a line without a completion" "nocomp.jsonl:4: field 'completion' is missing" \
    lm_bad $FT --train nocomp.jsonl
{ head -2 train.jsonl; echo '{"messages": [{"role": "bot", "content": "x"}]}'; } >role.jsonl
expect_fail "an unknown role" "role.jsonl:3: messages\[0\].role 'bot'" lm_bad $FT \
    --train role.jsonl
echo '{"messages": []}' >empty.jsonl
expect_fail "empty messages" "empty.jsonl:1: field 'messages' is empty" lm_bad $FT \
    --train empty.jsonl
{ head -1 train.jsonl; echo '{"prompt": "x", '; } >broken.jsonl
expect_fail "broken JSON" "broken.jsonl:2: not valid JSON" lm_bad $FT --train broken.jsonl
expect_fail "a bad line in the validation file" "nocomp.jsonl:4" lm_bad $FT \
    --train train.jsonl --val nocomp.jsonl
expect_fail "--val-fraction" "--val FILE" lm_bad $FT --train train.jsonl --val-fraction 0.1
expect_fail "no example fits --seq" "no example fits --seq 2" lm_bad --init gpt --batch 8 \
    --seq 2 --train train.jsonl
{ cat train.jsonl; cat nocomp.jsonl role.jsonl; } >mixed.jsonl
"$Z" finetune lm $FT --epochs 1 --skip-bad-rows --train mixed.jsonl --out skip >/dev/null 2>err &&
    grep -q "skipped 2 bad lines" err && grep -q "mixed.jsonl:204:" err &&
    ok "--skip-bad-rows: 2 bad lines skipped and named" || bad "--skip-bad-rows"

cli_finish
