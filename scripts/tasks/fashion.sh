#!/bin/sh
# Issue 17, real data: a Vision Transformer trained from scratch on Fashion-MNIST
# (Debian's dataset-fashion-mnist: 60,000 training and 10,000 test images, 28 x 28 gray,
# 10 classes), end to end:
#   1. data      scripts/data.sh fashion-mnist (installs the package, checks the files)
#   2. baseline  logistic regression on raw pixels (scripts/tasks/fashion_baseline.py,
#                PyTorch): test accuracy
#   3. train     zhuyi finetune image-classify, a ViT of 4 layers of 64 (patch 4: 49 patches
#                + [CLS]; 0.21M parameters), validated on the test set every epoch
#   4. evaluate  zhuyi evaluate on the test set: accuracy, the report, the confusion matrix
# A run stopped (Ctrl-C) continues with the same command: --resume is used when OUT holds
# a checkpoint.
#
# Usage: scripts/tasks/fashion.sh     (env: OUT=DIR, EPOCHS=N, FT_ARGS="...")
set -e
cd "$(dirname "$0")/../.."
. scripts/tasks/common.sh
OUT=${OUT:-$RUNS/vit-fashion}
F=/usr/share/datasets/fashion-mnist

[ -x "$ZY" ] || make
scripts/data.sh fashion-mnist
mkdir -p "$RUNS"

echo "== baseline: logistic regression on raw pixels"
$PY scripts/tasks/fashion_baseline.py "$F/train-images-idx3-ubyte.gz" \
    "$F/t10k-images-idx3-ubyte.gz" | tee "$RUNS/fashion-baseline.txt"

cat >"$RUNS/vit-fashion.json" <<'JSON'
{"model_type": "vit", "architectures": ["ViTForImageClassification"], "hidden_size": 64,
 "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 256,
 "image_size": 28, "patch_size": 4, "num_channels": 1}
JSON
echo "== train: $OUT"
if [ -e "$OUT/checkpoint" ]; then
    "$ZY" finetune image-classify --out "$OUT" --resume
else
    # shellcheck disable=SC2086
    "$ZY" finetune image-classify --train "$F/train-images-idx3-ubyte.gz" \
        --val "$F/t10k-images-idx3-ubyte.gz" --config "$RUNS/vit-fashion.json" \
        --batch 128 --epochs "${EPOCHS:-6}" --lr 2e-3 --log-every 50 ${FT_ARGS:-} --out "$OUT"
fi
"$ZY" evaluate "$OUT" --data "$F/t10k-images-idx3-ubyte.gz" --confusion-svg "$OUT/confusion.svg"
echo "== done: $OUT (baseline: $RUNS/fashion-baseline.txt)"
