#!/bin/sh
# Pretrain the GPT that issue 12's LoRA / instruction-tuning runs start from
# (scripts/tasks/kjv_modern.sh), with `zhuyi pretrain gpt`, on the King James text only.
#
# Usage: scripts/tasks/pretrain_kjv_gpt.sh [OUT_DIR]
# Environment: OUT (the run directory when no argument is given; default
#              build/runs/kjv-gpt), ZY_THREADS (default 2), NICE (default 5: the machine
#              is shared), STEPS (default 900), CONFIG (default gpt-mini).
#
# Data: scripts/data.sh kjv-next -> build/data/kjv-next/train.txt, the KJV verses of the
# 1,069 training chapters, a verse a line, labels removed (3.7 MB, 27,985 verses; 934 k
# tokens with the BPE below). The 60 val and 60 test chapters of the kjv-web / kjv-next
# split (scripts/tasks/kjv_web_data.py) are left out, so a held-out figure of the tuned
# model is on text the pretraining never saw; val.txt (the val chapters, 44 k tokens) is
# the pretraining's validation text. Nothing but KJV text is trained on: the WEB verses
# of the kjv-web set appear only in fine-tuning.
#
# Tokenizer: a 4,096-token byte-level BPE learnt from train.txt by the run itself
# (--tokenizer bpe:4096; any byte still encodes, so WEB text the KJV never spells, like
# "Yahweh" or curly quotes, is still tokenised).
#
# Model and schedule: gpt-mini (6 layers, 6 heads, 384 wide, context 256; 12.3 M
# parameters with this vocabulary), batch 16 x 256 tokens, 900 steps = 3.7 M token
# positions, about 3.9 epochs; AdamW lr 1e-3, 90 warmup steps, cosine to 1e-4, weight
# decay 0.1, dropout 0.1 (several epochs of a 1 M-token corpus), clip 1.0. The model of
# the best validation loss is kept in OUT_DIR (--best-metric loss; checkpoints keep the
# newest state for --resume). Measured: 2.1 s a step on the 2 cores when the machine is
# otherwise quiet (5.3 s while two compilers ran beside it), so about 32 minutes on a
# quiet machine plus 9 evaluations of the whole val text, 40-50 under the usual load.
#
# Writes OUT_DIR (a Hugging Face GPT-2 directory: config.json, model.safetensors,
# tokenizer.json; metrics.jsonl, loss.svg, checkpoint-STEP/ every 200 steps), OUT_DIR.log
# (the progress lines) and OUT_DIR.time (wall and CPU time). OUT_DIR.running marks a run
# in progress for scripts/tasks/*.sh. An interrupted run continues with:
#   build/zhuyi pretrain gpt --out OUT_DIR --resume
set -e
cd "$(dirname "$0")/../.."
OUT=${1:-${OUT:-build/runs/kjv-gpt}}
THREADS=${ZY_THREADS:-2}
NICE=${NICE:-5}
STEPS=${STEPS:-900}
CONFIG=${CONFIG:-gpt-mini}
WARMUP=$((STEPS < 1000 ? STEPS / 10 : 100)) # a tenth of the run, at most 100

[ -x build/zhuyi ] || make
scripts/data.sh kjv-next
D=build/data/kjv-next
mkdir -p "$(dirname "$OUT")"

echo "zhuyi: pretraining $CONFIG on $D/train.txt ($STEPS steps) -> $OUT (log $OUT.log)"
echo "pid $$, started $(date -u +%FT%TZ)" >"$OUT.running"
trap 'rm -f "$OUT.running"' EXIT
start=$(date -u +%FT%TZ)
if [ -x /usr/bin/time ]; then TIME="/usr/bin/time -o $OUT.time -f wall=%es,user=%Us,sys=%Ss"; else TIME=""; fi
s0=$(date +%s)
ZY_THREADS=$THREADS $TIME nice -n "$NICE" build/zhuyi pretrain gpt \
    --data "$D/train.txt" --val-data "$D/val.txt" \
    --config "$CONFIG" --tokenizer bpe:4096 \
    --batch 16 --seq 256 --steps "$STEPS" --lr 1e-3 --min-lr 1e-4 --warmup "$WARMUP" \
    --weight-decay 0.1 --dropout 0.1 --seed 1 \
    --eval-every 100 --eval-batches 0 --save-every 200 --best-metric loss --log-every 10 \
    --out "$OUT" >"$OUT.log" 2>&1 || {
    tail -5 "$OUT.log" >&2
    echo "scripts/tasks/pretrain_kjv_gpt.sh: the run failed; log: $OUT.log" >&2
    exit 1
}
s1=$(date +%s)
echo "started $start, ended $(date -u +%FT%TZ), $((s1 - s0)) s wall" >>"$OUT.time"
tail -1 "$OUT.log"
cat "$OUT.time"
