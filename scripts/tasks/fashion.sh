#!/bin/sh
# Issue 17, real data: a Vision Transformer trained from scratch on Fashion-MNIST
# (Debian's dataset-fashion-mnist: 60,000 training and 10,000 test images, 28 x 28 gray,
# 10 classes), end to end:
#   1. data      scripts/data.sh fashion-mnist (installs the package, checks the files)
#   2. baseline  logistic regression on raw pixels (scripts/tasks/fashion_baseline.py,
#                PyTorch): test accuracy
#   3. train     zhuyi finetune image-classify, a ViT of LAYERS layers of HIDDEN (default
#                4 x 64: 0.21M parameters; 4 heads, feed-forward 4 x HIDDEN; patch 4: 49
#                patches + [CLS]), validated on the test set every epoch
#   4. evaluate  zhuyi evaluate on the test set: accuracy, the report, the confusion matrix
#   5. refine    with REFINE_EPOCHS=N: N more epochs from that model (--init) without
#                augmentation, learning rate REFINE_LR (default 1e-3), into OUT-ft, and
#                its evaluation (the 90 % run of docs/RESULTS.md)
# A run stopped (Ctrl-C) continues with the same command: --resume is used when OUT holds
# a checkpoint.
#
# Usage: scripts/tasks/fashion.sh
#   env: OUT=DIR, EPOCHS=N (default 6), HIDDEN=N (64), LAYERS=N (4), FT_ARGS="more flags",
#        REFINE_EPOCHS=N (default 0: none), REFINE_LR=X
set -e
cd "$(dirname "$0")/../.."
. scripts/tasks/common.sh
HIDDEN=${HIDDEN:-64}
LAYERS=${LAYERS:-4}
OUT=${OUT:-$RUNS/vit-fashion-${LAYERS}x$HIDDEN}
CONFIG=$RUNS/vit-fashion-${LAYERS}x$HIDDEN.json
F=/usr/share/datasets/fashion-mnist

[ -x "$ZY" ] || make
scripts/data.sh fashion-mnist
mkdir -p "$RUNS"

echo "== baseline: logistic regression on raw pixels"
$PY scripts/tasks/fashion_baseline.py "$F/train-images-idx3-ubyte.gz" \
    "$F/t10k-images-idx3-ubyte.gz" | tee "$RUNS/fashion-baseline.txt"

cat >"$CONFIG" <<JSON
{"model_type": "vit", "architectures": ["ViTForImageClassification"], "hidden_size": $HIDDEN,
 "num_hidden_layers": $LAYERS, "num_attention_heads": 4, "intermediate_size": $((4 * HIDDEN)),
 "image_size": 28, "patch_size": 4, "num_channels": 1}
JSON
echo "== train: $OUT"
if [ -e "$OUT/checkpoint" ]; then
    "$ZY" finetune image-classify --out "$OUT" --resume
else
    # shellcheck disable=SC2086
    "$ZY" finetune image-classify --train "$F/train-images-idx3-ubyte.gz" \
        --val "$F/t10k-images-idx3-ubyte.gz" --config "$CONFIG" \
        --batch 128 --epochs "${EPOCHS:-6}" --lr 2e-3 --log-every 50 ${FT_ARGS:-} --out "$OUT"
fi
"$ZY" evaluate "$OUT" --data "$F/t10k-images-idx3-ubyte.gz" --confusion-svg "$OUT/confusion.svg"
if [ "${REFINE_EPOCHS:-0}" != 0 ]; then
    echo "== refine: $OUT-ft"
    if [ -e "$OUT-ft/checkpoint" ]; then
        "$ZY" finetune image-classify --out "$OUT-ft" --resume
    else
        "$ZY" finetune image-classify --init "$OUT" --train "$F/train-images-idx3-ubyte.gz" \
            --val "$F/t10k-images-idx3-ubyte.gz" --batch 128 --epochs "$REFINE_EPOCHS" \
            --lr "${REFINE_LR:-1e-3}" --schedule cosine --weight-decay 0.05 --log-every 50 \
            --out "$OUT-ft"
    fi
    "$ZY" evaluate "$OUT-ft" --data "$F/t10k-images-idx3-ubyte.gz" \
        --confusion-svg "$OUT-ft/confusion.svg"
fi
echo "== done: $OUT (baseline: $RUNS/fashion-baseline.txt)"
