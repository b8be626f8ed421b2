#!/bin/sh
# Issue 12's bench: fine-tuning GPT-2 124M with `zhuyi finetune lm`, a LoRA adapter
# (r 8, alpha 16, on c_attn only: PEFT's default for GPT-2) against full fine-tuning, at
# the same batch, B = 4 sequences of T = 256 tokens:
#   step time   the median of the per-step "ms" the run writes to its metrics.jsonl,
#               the first WARMUP steps left out; tokens/s = B*T / that median (and the
#               run's own median tokens_per_s beside it)
#   memory      the peak resident set of the whole process (`/usr/bin/time -v`, "Maximum
#               resident set size": loading, training, saving)
# and the ratios LoRA / full, against the issue's aims: LoRA step <= 0.7x the full step,
# LoRA peak RSS <= 40 % of full fine-tuning's. The two runs are minutes apart, so on a
# shared machine their step ratio moves with the other load; build/bench/bench_lora runs
# the same two steps in turn in one process and also times them by CPU time.
#
# The model: GPT-2 124M (gpt2-124m preset, GPT-2's 50,257-token tokenizer from
# scripts/data.sh gpt2-tokenizer) at its random initialisation, saved once by a
# one-step `zhuyi pretrain gpt --lr 0` (no weight moves at rate 0): the step time and
# memory do not depend on the weights' values. No GPT-2 weights are downloaded.
# The data: prompt/completion pairs from the King James text (scripts/data.sh kjv), each
# longer than T (a prompt of verses >= 1,400 characters, a completion of the following
# verses >= 300 characters, about 400 GPT-2 tokens together), so that after the cut at
# --seq 256 (finetune lm keeps an example's last T+1 tokens; the reply, under T, stays
# whole) every row of every batch is 256 tokens: each step does the same work.
#
# Usage: bench/lora_step.sh        (run from anywhere; `make bench` runs it last)
# Environment: ZY (default build/zhuyi), BENCH_DIR (default build/bench-lora: the model,
#   the data and the runs), STEPS (default 8), WARMUP (default 2), ZY_THREADS (default:
#   all cores).
# Needs `zhuyi finetune lm` with --lora-r (issue 12): without it, after preparing the
# model and the data, prints the commands it would run and exits 3.
set -e
cd "$(dirname "$0")/.."
. scripts/tasks/common.sh
BD=${BENCH_DIR:-build/bench-lora}
STEPS=${STEPS:-8}
WARMUP=${WARMUP:-2}
B=4
T=256
MODEL=$BD/gpt2-124m-init
DATA=$BD/kjv-long.jsonl

[ -x "$ZY" ] || make
[ -x /usr/bin/time ] || { echo "bench/lora_step.sh: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }
scripts/data.sh gpt2-tokenizer
scripts/data.sh kjv
mkdir -p "$BD"

if [ ! -s "$MODEL/model.safetensors" ]; then
    echo "bench/lora_step.sh: saving a randomly initialised gpt2-124m -> $MODEL"
    rm -rf "$MODEL"
    "$ZY" pretrain gpt --data build/data/kjv.txt \
        --config gpt2-124m --tokenizer build/data/gpt2 --steps 1 --lr 0 --warmup 0 \
        --val-fraction 0 --batch 1 --seq 16 --save-every 0 --out "$MODEL" >"$MODEL.log" 2>&1 ||
        { tail -3 "$MODEL.log" >&2; exit 1; }
fi
if [ ! -s "$DATA" ]; then
    # Whole verses in Bible order: a prompt of >= 1,400 characters, then a completion of
    # the verses after it, >= 300 characters; STEPS*B + 8 such pairs.
    $PY - build/data/kjv.txt "$DATA" $((STEPS * B + 8)) <<'PY'
import json, re, sys
verses = [re.sub(r"^\S+ ", "", l.strip()) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
out, i, n = [], 0, int(sys.argv[3])
def take(i, chars):
    t = []
    while sum(len(v) + 1 for v in t) < chars:
        t.append(verses[i]); i += 1
    return " ".join(t), i
while len(out) < n:
    p, i = take(i, 1400)
    c, i = take(i, 300)
    out.append({"prompt": p, "completion": c})
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.writelines(json.dumps(r) + "\n" for r in out)
PY
fi

FT_MISSING=0
need_commands "issue 12" "finetune lm:--lora-r" || FT_MISSING=1

# run NAME FLAGS...: one fine-tuning run of STEPS steps into BD/run-NAME (log
# BD/run-NAME.log, /usr/bin/time's report BD/run-NAME.time); no validation, constant
# rate, saved only at the end.
run() {
    name=$1
    shift
    set -- /usr/bin/time -v -o "$BD/run-$name.time" "$ZY" finetune lm --init "$MODEL" \
        --train "$DATA" --batch $B --seq $T --steps "$STEPS" --lr 1e-4 --warmup 0 \
        --schedule constant --eval-every 0 --save-every 0 --log-every 1 "$@" \
        --out "$BD/run-$name"
    if [ "$FT_MISSING" = 1 ]; then show_or_run "$@"; return 0; fi
    rm -rf "$BD/run-$name"
    echo "+ $*"
    "$@" >"$BD/run-$name.log" 2>&1 || {
        tail -5 "$BD/run-$name.log" >&2
        echo "bench/lora_step.sh: the $name run failed; log: $BD/run-$name.log" >&2
        exit 1
    }
}
echo "zhuyi finetune lm, gpt2-124m, B=$B T=$T, $STEPS steps (first $WARMUP left out)," \
    "threads ${ZY_THREADS:-$(nproc)}, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
run full
run lora --lora-r 8 --lora-alpha 16 --lora-targets c_attn
[ "$FT_MISSING" = 1 ] && exit 3

$PY - "$BD" "$WARMUP" $((B * T)) <<'PY'
import json, re, sys
bd, warm, tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def median(a):
    s = sorted(a); n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
res = {}
for name in ("full", "lora"):
    steps = [json.loads(l) for l in open("%s/run-%s/metrics.jsonl" % (bd, name))]
    steps = [m for m in steps if "ms" in m and m.get("step", 0) > warm]
    if not steps:
        sys.exit("bench/lora_step.sh: no timed steps in %s/run-%s/metrics.jsonl" % (bd, name))
    ms = median([m["ms"] for m in steps])
    tps = median([m["tokens_per_s"] for m in steps if "tokens_per_s" in m] or [0])
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                    open("%s/run-%s.time" % (bd, name)).read())
    res[name] = (ms, min(m["ms"] for m in steps), tps, int(rss.group(1)) / 1024 if rss else 0)
    print("%-5s step %8.1f ms (min %8.1f)  %6.0f tok/s (B*T/median; run's own %6.0f)"
          "  peak RSS %7.0f MiB  (%d timed steps)"
          % (name, ms, res[name][1], tokens / ms * 1e3, tps, res[name][3], len(steps)))
f, l = res["full"], res["lora"]
print("LoRA / full: step %.2fx (aim <= 0.70), tokens/s %.2fx, peak RSS %.1f %% (aim <= 40 %%)"
      % (l[0] / f[0], f[0] / l[0], 100 * l[3] / f[3] if f[3] else float("nan")))
PY
