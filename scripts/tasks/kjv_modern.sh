#!/bin/sh
# Issue 12, real data: LoRA instruction tuning of a GPT that zhuyi pretrained on the King
# James text, on prompt/completion pairs built by rule, end to end:
#   1. data      scripts/data.sh kjv-web -> build/data/kjv-web/ ("Rewrite in modern
#                English: <KJV verse>" -> the same verse in the World English Bible) and
#                kjv-next (verse -> next verse); split by held-out chapters (60 test, 60
#                val, 1,069 train; scripts/tasks/kjv_web_data.py)
#   2. baseline  copy the KJV verse / replace its archaic words, scored against the WEB
#                verse with chrF and token F1 (scripts/tasks/kjv_web_baseline.py)
#   3. the model INIT as pretrained: held-out LM loss on plain text of the test chapters
#                (their KJV text and their WEB text: how far modern English is from what
#                the model knows), and what it does with a few instruction prompts
#   4. before    held-out loss of INIT on the test completions (zhuyi eval, JSONL)
#   5. tune      zhuyi finetune lm with a LoRA adapter (r 8, alpha 16, dropout 0.05, on
#                c_attn, c_proj, c_fc) on train.jsonl, validating on val.jsonl
#   6. after     held-out loss of the tuned model on the same completions
#   7. generate  greedy rewrites of GEN_N test prompts (every k-th test pair), scored like
#                the baselines on exactly those pairs; SHOW_N of them printed in full
#   8. (FULL=1)  the same with full fine-tuning instead of LoRA, for comparison
# Steps 4-8 need `zhuyi finetune lm` with the --lora-* flags (issue 12); without them the
# script stops with status 3 after steps 1-3, printing the commands it would run.
#
# The model: INIT (default build/runs/kjv-gpt, made by scripts/tasks/pretrain_kjv_gpt.sh
# when absent: gpt-mini pretrained on the KJV text of the 1,069 training chapters only, so
# neither the KJV nor the WEB side of a test pair was seen in pretraining or tuning).
#
# TASK=next does steps 3-6 on kjv-next instead (verse -> next verse; no baseline, no
# scored generations: there is no single right next verse to score against).
#
# Usage: scripts/tasks/kjv_modern.sh
# Environment: INIT=DIR, OUT=DIR (default build/runs/kjv-modern, the adapter), TASK=web
#   (default) or next, GEN_N (default 100; "all" = the 1,778 test pairs), SHOW_N
#   (default 5), FT_ARGS="..." (more flags for finetune lm, e.g. --steps 200), GEN_SUFFIX
#   (appended to each prompt given to zhuyi generate; default none, for a finetune lm
#   whose template needs a separator the fine-tuned model's generate does not add),
#   FULL=1 (step 8), TUNED=1 (OUT already holds the tuned adapter, e.g. a run stopped
#   early and finished with `zhuyi finetune lm --out OUT --resume --steps N`: steps 1-4
#   and 6-8 only), ZY_THREADS.
#
# Outputs: OUT/ (the adapter, metrics.jsonl, loss.svg), OUT.report.txt (everything the
# summary prints), OUT.gen-before.jsonl / OUT.gen-after.jsonl (generations), and
# RUNS/kjv-web-baseline.txt.
set -e
cd "$(dirname "$0")/../.."
. scripts/tasks/common.sh
TASK=${TASK:-web}
case "$TASK" in web | next) ;; *) echo "kjv_modern.sh: TASK is web or next" >&2; exit 2 ;; esac
D=build/data/kjv-$TASK
INIT=${INIT:-$RUNS/kjv-gpt}
if [ "$TASK" = web ]; then OUT=${OUT:-$RUNS/kjv-modern}; else OUT=${OUT:-$RUNS/kjv-modern-next}; fi
GEN_N=${GEN_N:-100}
SHOW_N=${SHOW_N:-5}
REPORT=$OUT.report.txt

[ -x "$ZY" ] || make
scripts/data.sh kjv-web  # also the WEB text of the test chapters (step 3)
scripts/data.sh kjv-next # also the plain KJV text of the test chapters (test.txt)
mkdir -p "$RUNS" "$(dirname "$OUT")"
: >"$REPORT"
say() { echo "$*" | tee -a "$REPORT"; }

if [ "$TASK" = web ]; then
    say "== baseline: rules, all test pairs ($D/test.jsonl)"
    $PY scripts/tasks/kjv_web_baseline.py "$D/test.jsonl" | tee "$RUNS/kjv-web-baseline.txt" | tee -a "$REPORT"
fi

say "== pretrained model: $INIT"
if ! pretrained_ok "$INIT" gpt; then
    if [ "$INIT" = "$RUNS/kjv-gpt" ]; then scripts/tasks/pretrain_kjv_gpt.sh "$INIT"
    else echo "scripts/tasks/kjv_modern.sh: $INIT holds no model (config.json + model.safetensors)" >&2; exit 1; fi
fi

# The test pairs to generate for: GEN_N of them, every k-th in Bible order (k = the
# number of pairs / GEN_N), "id<TAB>prompt" lines; the first SHOW_N of these, spread over
# the same range, are printed in full.
pick() { # N -> id<TAB>prompt lines
    $PY - "$D/test.jsonl" "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
n = len(rows) if sys.argv[2] == "all" else min(int(sys.argv[2]), len(rows))
for i in range(n):
    r = rows[i * len(rows) // n]
    print(r["id"] + "\t" + r["prompt"])
PY
}
pick "$GEN_N" >"$OUT.gen-ids.tsv"
pick "$SHOW_N" >"$OUT.show-ids.tsv"
TAB=$(printf '\t')

# generate_all MODEL_DIR IDS_TSV OUT_JSONL [FLAGS]: greedy, up to 160 new tokens, the
# answer cut at its first newline (a verse is one line); {"id", "text"} lines. FLAGS go
# to zhuyi generate (--template: the pretrained model given the tuned model's chat
# template, so that "before" sees the prompts as "after" does).
generate_all() {
    : >"$3.tsv"
    while IFS="$TAB" read -r id prompt; do
        # shellcheck disable=SC2086 # $4: a list of flags
        text=$("$ZY" generate "$1" --prompt "$prompt${GEN_SUFFIX:-}" --max-tokens 160 \
            --temperature 0 ${4:-} </dev/null | sed '/^$/d' | head -n 1)
        printf '%s\t%s\n' "$id" "$text" >>"$3.tsv"
    done <"$2"
    $PY -c 'import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    i, t = l.rstrip("\n").split("\t", 1)
    print(json.dumps({"id": i, "text": t.strip()}, ensure_ascii=False))' "$3.tsv" >"$3"
    rm -f "$3.tsv"
}

# show MODEL_DIR LABEL: the SHOW_N prompts, the reference and the model's answer.
show() {
    generate_all "$1" "$OUT.show-ids.tsv" "$OUT.show.jsonl"
    $PY - "$D/test.jsonl" "$OUT.show.jsonl" "$2" <<'PY' | tee -a "$REPORT"
import json, sys
ref = {r["id"]: r for r in map(json.loads, open(sys.argv[1], encoding="utf-8"))}
for l in open(sys.argv[2], encoding="utf-8"):
    p = json.loads(l)
    r = ref[p["id"]]
    print("[%s] prompt:    %s" % (p["id"], r["prompt"]))
    print("    reference: %s" % r["completion"])
    print("    %-10s %s" % (sys.argv[3] + ":", p["text"]))
PY
    rm -f "$OUT.show.jsonl"
}

# eval_json DIR FILE: `zhuyi eval --json`, the loss line kept in the report.
eval_json() {
    echo "+ $ZY eval $1 --data $2 --json"
    "$ZY" eval "$1" --data "$2" --json >"$OUT.eval.json"
    cat "$OUT.eval.json"
    line=$($PY -c 'import json, sys
j = json.load(open(sys.argv[1]))
print("%.4f nats/token (perplexity %.2f, %d tokens)"
      % (j["loss"], j["perplexity"] or float("inf"), j["tokens"]))' "$OUT.eval.json")
    say "held-out loss, $(basename "$1") on $2: $line"
    rm -f "$OUT.eval.json"
}

say "== the pretrained model on plain text of the held-out chapters (zhuyi eval)"
$PY -c 'import json, sys
for l in open(sys.argv[1], encoding="utf-8"): print(json.loads(l)["completion"])' \
    build/data/kjv-web/test.jsonl >"$OUT.test-web.txt"
eval_json "$INIT" build/data/kjv-next/test.txt # the KJV text of the 60 test chapters
eval_json "$INIT" "$OUT.test-web.txt"          # the WEB text of the same verses

say "== the pretrained model given $SHOW_N test prompts (greedy; before tuning)"
show "$INIT" before

FT_MISSING=0
need_commands "issue 12" "finetune lm:--lora-r" || FT_MISSING=1
if [ "$FT_MISSING" = 1 ]; then
    # The commands of steps 4-8, printed (show_or_run prints with FT_MISSING=1).
    show_or_run "$ZY" eval "$INIT" --data "$D/test.jsonl" --json
fi
LORA="--lora-r 8 --lora-alpha 16 --lora-targets c_attn,c_proj,c_fc --lora-dropout 0.05"
# The tuning commands (through show_or_run: printed only, while FT_MISSING=1). One epoch of
# the 27,981 (web) training pairs, packed into rows of 256 tokens: 853 steps of 16 rows;
# validation every 250 steps on 20 batches of val.jsonl, the best model kept. Full fine-tuning (FULL=1)
# takes the same schedule at a tenth of the rate.
# shellcheck disable=SC2086 # LORA and FT_ARGS are lists of flags
lora_ft() {
    show_or_run "$ZY" finetune lm --init "$INIT" --train "$D/train.jsonl" --val "$D/val.jsonl" \
        $LORA --epochs 1 --batch 16 --seq 256 --lr 1e-3 --warmup 100 --eval-every 250 \
        --eval-batches 20 --best-metric loss ${FT_ARGS:-} --out "$OUT"
}
# shellcheck disable=SC2086
full_ft() {
    show_or_run "$ZY" finetune lm --init "$INIT" --train "$D/train.jsonl" --val "$D/val.jsonl" \
        --epochs 1 --batch 16 --seq 256 --lr 1e-4 --warmup 100 --eval-every 250 \
        --eval-batches 20 --best-metric loss ${FT_ARGS:-} --out "$OUT-full"
}
if [ "$FT_MISSING" = 1 ]; then
    lora_ft
    show_or_run "$ZY" eval "$OUT" --data "$D/test.jsonl" --json
    show_or_run "$ZY" generate "$OUT" --prompt "<each of the $GEN_N test prompts in $OUT.gen-ids.tsv>" \
        --max-tokens 160 --temperature 0
    if [ "$TASK" = web ]; then
        show_or_run "$PY" scripts/tasks/kjv_web_baseline.py "$D/test.jsonl" "$OUT.gen-after.jsonl"
    fi
    if [ "${FULL:-0}" = 1 ]; then full_ft; fi
    exit 3
fi

say "== before tuning: held-out loss on the test completions"
eval_json "$INIT" "$D/test.jsonl"

if [ "${TUNED:-0}" = 1 ]; then
    say "== LoRA tuning: the adapter already in $OUT (TUNED=1)"
else
    say "== LoRA tuning ($LORA) -> $OUT"
    rm -rf "$OUT"
    t0=$(date +%s)
    lora_ft
    say "LoRA tuning: $(($(date +%s) - t0)) s wall"
fi

say "== after tuning: held-out loss on the test completions"
eval_json "$OUT" "$D/test.jsonl"

say "== the tuned model given the same $SHOW_N test prompts (greedy)"
show "$OUT" after

if [ "$TASK" = web ]; then
    say "== $GEN_N test prompts, greedy, before and after tuning, scored like the baselines"
    generate_all "$INIT" "$OUT.gen-ids.tsv" "$OUT.gen-before.jsonl"
    generate_all "$INIT" "$OUT.gen-ids.tsv" "$OUT.gen-before-template.jsonl" --template
    generate_all "$OUT" "$OUT.gen-ids.tsv" "$OUT.gen-after.jsonl"
    say "-- before (the pretrained model, the prompt as text):"
    $PY scripts/tasks/kjv_web_baseline.py "$D/test.jsonl" "$OUT.gen-before.jsonl" | tee -a "$REPORT"
    say "-- before (the pretrained model, the prompt in the chat template):"
    $PY scripts/tasks/kjv_web_baseline.py "$D/test.jsonl" "$OUT.gen-before-template.jsonl" | tee -a "$REPORT"
    say "-- after (LoRA):"
    $PY scripts/tasks/kjv_web_baseline.py "$D/test.jsonl" "$OUT.gen-after.jsonl" | tee -a "$REPORT"
fi

if [ "${FULL:-0}" = 1 ]; then
    say "== full fine-tuning, for comparison -> $OUT-full"
    rm -rf "$OUT-full"
    t0=$(date +%s)
    full_ft
    say "full fine-tuning: $(($(date +%s) - t0)) s wall"
    eval_json "$OUT-full" "$D/test.jsonl"
    if [ "$TASK" = web ]; then
        generate_all "$OUT-full" "$OUT.gen-ids.tsv" "$OUT.gen-full.jsonl"
        say "-- after (full fine-tuning):"
        $PY scripts/tasks/kjv_web_baseline.py "$D/test.jsonl" "$OUT.gen-full.jsonl" | tee -a "$REPORT"
    fi
fi
echo "== done: $OUT (report: $REPORT)"
