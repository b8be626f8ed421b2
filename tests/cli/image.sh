#!/bin/sh
# CLI tests of `zhuyi finetune image-classify` (a Vision Transformer on labelled images)
# and `zhuyi eval` on the result: a tiny ViT learns which of two patterns an 8 x 8 image
# shows, from an ImageFolder directory of PGM files and from a JSONL manifest of the same
# images; the directory is a ViTForImageClassification with the folder names as id2label
# and no tokenizer; eval prints the classification report and the confusion matrix (and
# its SVG); predict labels new images; attention draws the [CLS] rollout over an image; --resume is bit-exact; bad input (a corrupt PNG, an image of another size, a
# --tokenizer, a text command on the image model) fails with a message naming the file or
# the flag. Makes its own data; no network, no timing.
# Usage: tests/cli/image.sh [path/to/zhuyi]   (default build/zhuyi)
. "$(dirname "$0")/lib.sh"
cli_start image "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}

# Two classes of 8 x 8 gray images: "stripes" (bright rows) and "bars" (bright columns),
# with noise; deterministic (seeded). 64 + 16 per class.
$PY - <<'EOF'
import json, os, random
random.seed(5)
def image(kind):
    px = []
    for y in range(8):
        for x in range(8):
            on = (y % 2 == 0) if kind == "stripes" else (x % 2 == 0)
            px.append(max(0, min(255, (200 if on else 40) + random.randint(-30, 30))))
    return px
def write_pgm(path, px, w=8, h=8):
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (w, h) + bytes(px))
rows = []
for split, n in [("train", 64), ("val", 16)]:
    for kind in ["stripes", "bars"]:
        os.makedirs("%s/%s" % (split, kind), exist_ok=True)
        for i in range(n):
            p = "%s/%s/%03d.pgm" % (split, kind, i)
            write_pgm(p, image(kind))
            if split == "train":
                rows.append({"image": p, "label": kind})
with open("train.jsonl", "w") as f:
    f.writelines(json.dumps(r) + "\n" for r in rows)
os.makedirs("odd/stripes", exist_ok=True)
os.makedirs("odd/bars", exist_ok=True)
write_pgm("odd/stripes/big.pgm", [0] * 100, 10, 10)
write_pgm("odd/bars/a.pgm", [0] * 64)
os.makedirs("big/stripes", exist_ok=True)
write_pgm("big/stripes/a.pgm", [0] * 100, 10, 10)
os.makedirs("corrupt/stripes", exist_ok=True)
with open("corrupt/stripes/x.png", "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x01" * 20)
EOF
cat >tiny.json <<'EOF'
{"model_type": "vit", "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
 "intermediate_size": 32, "image_size": 8, "patch_size": 4, "num_channels": 1}
EOF
FT="--config tiny.json --batch 16 --epochs 6 --lr 3e-3 --seed 3"

check_help finetune --crop-padding --flip --channels --image-column --label-column
# shellcheck disable=SC2086
if "$Z" finetune image-classify --train train --val val $FT --out run >out 2>err; then
    ok "finetune image-classify on an ImageFolder directory exits 0"
else
    bad "finetune image-classify"
fi
acc=$(sed -n 's/.*val loss [0-9.]* (accuracy \([0-9.]*\).*/\1/p' out | tail -n 1)
$PY -c "import sys; sys.exit(0 if float('${acc:-0}') >= 0.9 else 1)" &&
    ok "the patterns are learnt: validation accuracy $acc" || bad "validation accuracy '$acc'"
[ -f run/config.json ] && [ -f run/model.safetensors ] && [ ! -f run/tokenizer.json ] &&
    grep -q '"ViTForImageClassification"' run/config.json &&
    grep -q '"0": "bars"' run/config.json && grep -q '"1": "stripes"' run/config.json &&
    ok "run/ is a ViTForImageClassification with id2label from the folders, no tokenizer" ||
    bad "run/ files: $(ls run)"
if "$Z" eval run --data val --confusion-svg cm.svg >ev 2>err; then
    grep -q "confusion matrix" ev && grep -q "macro avg" ev && grep -q "<svg" cm.svg &&
        ok "eval: classification report, confusion matrix, SVG" || bad "eval output: $(head -3 ev)"
else
    bad "eval"
fi
"$Z" eval run --data val --json >ej 2>err && grep -q '"accuracy"' ej &&
    ok "eval --json" || bad "eval --json"

# predict: a manifest of new images without labels -> one JSON line per image, in order
printf 'image\nval/stripes/000.pgm\nval/bars/000.pgm\n' >new.csv
if "$Z" predict run --input new.csv >pred 2>err && [ "$(wc -l <pred)" = 2 ] &&
    head -n 1 pred | grep -q '"label": "stripes"' && tail -n 1 pred | grep -q '"label": "bars"'; then
    ok "predict on unlabelled images: $(head -n 1 pred)"
else
    bad "predict: $(cat pred)"
fi

# attention: the rollout of [CLS] drawn over an image, a 224 x 224 PNG, and the label
if "$Z" attention run --image val/bars/001.pgm --out roll.png >att 2>err &&
    grep -q "bars" att && $PY -c "
import struct, sys
d = open('roll.png', 'rb').read()
sys.exit(0 if d[:8] == b'\x89PNG\r\n\x1a\n' and struct.unpack('>II', d[16:24]) == (224, 224) else 1)"; then
    ok "attention --image: $(cat att)"
else
    bad "attention --image: $(cat att)"
fi

# --help after --image is the help, not a file named --help
if "$Z" attention --image --help >out 2>err && grep -q "usage: zhuyi attention DIR --image" out; then
    ok "attention --image --help prints the image usage"
else
    bad "attention --image --help: $(head -c 200 out)"
fi

# The same images through a manifest: the same labels, the same first step.
# shellcheck disable=SC2086
"$Z" finetune image-classify --train train.jsonl $FT --steps 3 --out man >out2 2>err &&
    grep -q '"0": "bars"' man/config.json && ok "a JSONL manifest trains the same labels" ||
    bad "manifest"

# --resume: 2 of 4 steps, then the rest, equals 4 in one go
# shellcheck disable=SC2086
"$Z" finetune image-classify --train train $FT --steps 4 --crop-padding 1 --flip --out full >/dev/null 2>err &&
    "$Z" finetune image-classify --train train $FT --steps 4 --crop-padding 1 --flip --stop-at 2 --out half >/dev/null 2>>err
"$Z" finetune image-classify --out half --resume >/dev/null 2>>err
cmp -s full/model.safetensors half/model.safetensors &&
    ok "--resume with crops and flips: the same weights as one run, bit for bit" ||
    bad "resume differs"

# Bad input
# shellcheck disable=SC2086
expect_fail "an image of another size" "big.pgm.*10x10" "$Z" finetune image-classify \
    --train odd $FT --out out_bad
# shellcheck disable=SC2086
expect_fail "a corrupt PNG" "x.png" "$Z" finetune image-classify --train corrupt $FT --out out_bad
# shellcheck disable=SC2086
expect_fail "--tokenizer for an image model" "reads no tokens" "$Z" finetune image-classify \
    --train train $FT --tokenizer byte --out out_bad
expect_fail "generate on an image model" "image model" "$Z" generate run --prompt hi
expect_fail "eval on images the model does not read" "1 x 10 x 10.*reads 1 x 8 x 8" "$Z" eval run --data big

cli_finish
