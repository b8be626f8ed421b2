#!/bin/sh
# `zhuyi serve` with an image classifier: a tiny ViT (8 x 8 gray, "stripes" or "bars", as
# image.sh trains it, here in a few seconds) behind POST /v1/classify. The labels and
# probabilities must be `zhuyi predict`'s on the same files, whichever way the images come:
# JSON with one base64 image, JSON with a batch (PNG, PGM and an RGB PPM the model reads
# as gray, one as a data URL), and multipart/form-data uploads (curl -F file=@...). And the
# refusals: a corrupt PNG (400 with libpng's "corrupt PNG" reason), an image of another
# size (400 naming both sizes; a PNG's from its header, before it is inflated), bad
# base64, no image, a form without a file, a body over --max-body (413), the text
# endpoints on the image model (400 naming what they need), a form sent to a JSON
# endpoint. /v1/models lists the model as an image classifier. The
# server listens on 127.0.0.1 on a free port and is stopped at exit. Needs curl and
# python3 (scripts/deps.sh test).
# Usage: tests/cli/serve_image.sh [path/to/zhuyi]   (default build/zhuyi)
# Prints one line per check and "N passed, N failed"; exits 1 if any failed.
. "$(dirname "$0")/lib.sh"
cli_start serve_image "$@"
PY=python3
command -v $PY >/dev/null 2>&1 || PY=/usr/bin/python3
export ZY_THREADS=${ZY_THREADS:-2}
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

# ---- the model and the images -------------------------------------------------------------
# image.sh's two patterns (seeded), an ImageFolder of PGM files to train on, and queries:
# PNG files (written with zlib: gray, 8-bit), a PGM, an RGB PPM, a corrupt PNG, a 10 x 10.
$PY - <<'PYEOF'
import os, random, struct, zlib
random.seed(11)
def image(kind):
    px = []
    for y in range(8):
        for x in range(8):
            on = (y % 2 == 0) if kind == "stripes" else (x % 2 == 0)
            px.append(max(0, min(255, (200 if on else 40) + random.randint(-30, 30))))
    return px
def pgm(path, px, w=8, h=8):
    open(path, "wb").write(b"P5\n%d %d\n255\n" % (w, h) + bytes(px))
def png(path, px, w=8, h=8):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    raw = b"".join(b"\0" + bytes(px[y * w:(y + 1) * w]) for y in range(h))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for kind in ["stripes", "bars"]:
    os.makedirs("train/" + kind, exist_ok=True)
    for i in range(48):
        pgm("train/%s/%02d.pgm" % (kind, i), image(kind))
png("q_stripes.png", image("stripes"))
png("q_bars.png", image("bars"))
pgm("q_bars.pgm", image("bars"))
g = image("stripes")
open("q_rgb.ppm", "wb").write(b"P6\n8 8\n255\n" + bytes(v for p in g for v in (p, p, min(255, p + 5))))
open("corrupt.png", "wb").write(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x01" * 20)
png("big.png", [0] * 100, 10, 10)
# a PNG header claiming 30000 x 30000 (valid IHDR), then garbage: refused by its header
ihdr = b"IHDR" + struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
open("huge.png", "wb").write(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr
                             + struct.pack(">I", zlib.crc32(ihdr) & 0xffffffff) + b"\x01" * 64)
open("q.csv", "w").write("image\nq_stripes.png\nq_bars.png\nq_bars.pgm\nq_rgb.ppm\n")
PYEOF
cat >tiny.json <<'EOF2'
{"model_type": "vit", "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
 "intermediate_size": 32, "image_size": 8, "patch_size": 4, "num_channels": 1}
EOF2
if "$Z" finetune image-classify --train train --config tiny.json --batch 16 --epochs 4 \
    --lr 3e-3 --seed 3 --out vit >out 2>err; then
    ok "a tiny ViT (8 x 8 gray, 2 labels) trained with zhuyi finetune image-classify"
else
    bad "finetune image-classify"
    cli_finish
    exit 1
fi
if "$Z" predict vit --input q.csv >pred 2>err && [ "$(wc -l <pred)" = 4 ]; then
    ok "zhuyi predict on the 4 query images: $(cut -c1-60 pred | tr '\n' ' ')"
else
    bad "zhuyi predict"
fi

# ---- the server ---------------------------------------------------------------------------
if serve_start srv --model vit=vit --max-body 65536; then
    ok "zhuyi serve --model vit=vit listens ($(grep -o 'vit: [a-z-]*' srv.err))"
else
    cp srv.err err
    bad "zhuyi serve on the image model"
    cli_finish
    exit 1
fi
# j PATH JSON-FILE: status on stdout, body in ./resp
j() { curl -s -o resp -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$2" "$U$1"; }
b64() { $PY -c "import base64, sys; print(base64.b64encode(open(sys.argv[1], 'rb').read()).decode())" "$1"; }

# same_as_predict N FILE...: resp's data holds N items whose labels are predict's for the
# files (pred's lines in q.csv's order) and whose "score" is predict's, within print rounding
same_as_predict() {
    $PY - "$@" <<'PYEOF' >chk 2>&1
import json, sys
n, files = int(sys.argv[1]), sys.argv[2:]
order = ["q_stripes.png", "q_bars.png", "q_bars.pgm", "q_rgb.ppm"]
pred = [json.loads(l) for l in open("pred")]
r = json.load(open("resp"))
assert r["object"] == "classification" and r["model"] == "vit", r
assert len(r["data"]) == n, r
for i, (d, f) in enumerate(zip(r["data"], files)):
    want = pred[order.index(f)]
    assert d["index"] == i and d["label"] == want["label"], (f, d, want)
    assert abs(d["score"] - want["score"]) < 2e-6, (f, d["score"], want["score"])
    assert set(d["scores"]) == {"bars", "stripes"} and abs(sum(d["scores"].values()) - 1) < 1e-5, d
    assert abs(d["scores"][d["label"]] - d["score"]) < 1e-6, d
print("ok")
PYEOF
}
same() { if [ "$(tail -n 1 chk)" = ok ]; then ok "$1"; else cp chk err; bad "$1"; fi; }

printf '{"model":"vit","image":"%s"}' "$(b64 q_stripes.png)" >one.json
st=$(j /v1/classify one.json)
same_as_predict 1 q_stripes.png
[ "$st" = 200 ] && same "JSON, one base64 PNG: predict's label and score ($(head -c 150 resp))" ||
    { cp resp err; bad "JSON one image: status $st"; }

printf '{"images":["%s","%s","data:image/x-portable-graymap;base64,%s","%s"]}' "$(b64 q_bars.png)" \
    "$(b64 q_stripes.png)" "$(b64 q_bars.pgm)" "$(b64 q_rgb.ppm)" >many.json
st=$(j /v1/classify many.json)
same_as_predict 4 q_bars.png q_stripes.png q_bars.pgm q_rgb.ppm
[ "$st" = 200 ] && same "JSON, a batch of 4 (PNG, PGM as a data URL, RGB PPM): predict's labels and scores" ||
    { cp resp err; bad "JSON batch: status $st"; }

# base64 wrapped at 76 columns (base64(1)'s output) decodes the same
$PY -c "
import base64, json
s = base64.encodebytes(open('q_bars.png', 'rb').read()).decode()
json.dump({'image': s}, open('wrapped.json', 'w'))"
st=$(j /v1/classify wrapped.json)
same_as_predict 1 q_bars.png
[ "$st" = 200 ] && same "JSON, base64 wrapped in lines" || { cp resp err; bad "wrapped base64: status $st"; }

st=$(curl -s -o resp -w '%{http_code}' -F file=@q_bars.pgm -F file=@q_stripes.png -F model=vit "$U/v1/classify")
same_as_predict 2 q_bars.pgm q_stripes.png
[ "$st" = 200 ] && same "multipart/form-data, two file parts (curl -F): predict's labels and scores" ||
    { cp resp err; bad "multipart: status $st"; }
st=$(curl -s -o resp -w '%{http_code}' -F file=@q_rgb.ppm "$U/v1/classify")
same_as_predict 1 q_rgb.ppm
[ "$st" = 200 ] && same "multipart, one RGB PPM, no model field" || { cp resp err; bad "multipart one: status $st"; }

# ---- refusals -----------------------------------------------------------------------------
# refused WHAT STATUS PARAM PATTERN: resp is an error of STATUS naming PARAM ("" : null)
# whose message matches PATTERN (a Python regex)
refused() {
    if [ "$st" = "$2" ] && $PY - "$3" "$4" <<'PYEOF' 2>err; then
import json, re, sys
e = json.load(open("resp"))["error"]
assert e["type"] == "invalid_request_error", e
assert e["param"] == (sys.argv[1] or None), e
assert re.search(sys.argv[2], e["message"]), e
PYEOF
        ok "$1: $st, $($PY -c "import json; print(json.load(open('resp'))['error']['message'][:100])")"
    else
        [ -s err ] || cp resp err
        bad "$1 (status $st)"
    fi
}
printf '{"image":"%s"}' "$(b64 corrupt.png)" >x.json
st=$(j /v1/classify x.json)
refused "a corrupt PNG" 400 image "image: corrupt PNG: "
st=$(curl -s -o resp -w '%{http_code}' -F file=@q_bars.png -F file=@corrupt.png "$U/v1/classify")
refused "a corrupt PNG uploaded second" 400 file "file\\[1\\] \\(corrupt.png\\): corrupt PNG"
printf '{"image":"%s"}' "$(b64 big.png)" >x.json
st=$(j /v1/classify x.json)
refused "a 10 x 10 image" 400 image "image: an image of 10x10 pixels, but 8x8 were asked for \\(the model reads 8 x 8 gray images\\)"
printf '{"image":"%s"}' "$(b64 huge.png)" >x.json
st=$(j /v1/classify x.json)
refused "a PNG claiming 30000 x 30000 (refused from its header, not inflated)" 400 image \
    "an image of 30000x30000 pixels, but 8x8 were asked for"
printf '{"images":["%s","%s"]}' "$(b64 q_bars.png)" "$(b64 big.png)" >x.json
st=$(j /v1/classify x.json)
refused "a 10 x 10 image after an 8 x 8" 400 images "images\\[1\\]: an image of 10x10 pixels"
echo '{"image":"iVBORw0KGgo*AAAA"}' >x.json
st=$(j /v1/classify x.json)
refused "bad base64" 400 image "not base64: a character outside the base64 alphabet \\(at character 11\\)"
echo '{"image":"aGVsbG8gd29ybGQ="}' >x.json
st=$(j /v1/classify x.json)
refused "base64 of a text file" 400 image "not an image zhuyi reads"
echo '{"model":"vit"}' >x.json
st=$(j /v1/classify x.json)
refused "no image" 400 image "'image' .* is required"
echo '{"image":"","images":[]}' >x.json
st=$(j /v1/classify x.json)
refused "image and images both" 400 images "not both"
st=$(curl -s -o resp -w '%{http_code}' -F model=vit "$U/v1/classify")
refused "a form without a file part" 400 file "no 'file' part"
st=$(curl -s -o resp -w '%{http_code}' -F model=vit -F image=@q_bars.png "$U/v1/classify")
refused "a form uploading into another field" 400 image "files go in 'file'"
head -c 70000 /dev/zero | tr '\0' 'A' >blob
printf '{"image":"%s"}' "$(cat blob)" >x.json
st=$(j /v1/classify x.json)
if [ "$st" = 413 ] && grep -q "max-body" resp; then ok "a body over --max-body: 413"; else cp resp err; bad "max-body: $st"; fi
st=$(curl -s -o resp -w '%{http_code}' -F file=@blob "$U/v1/classify")
[ "$st" = 413 ] && ok "an upload over --max-body: 413" || { cp resp err; bad "upload max-body: $st"; }
for ep in embeddings tokenize attention fill-mask tag; do
    echo '{"input":"the cat"}' >x.json
    st=$(j /v1/$ep x.json)
    refused "/v1/$ep on the image model" 400 model "is an image-classifier; /v1/$ep needs"
done
echo '{"prompt":"the cat"}' >x.json
st=$(j /v1/completions x.json)
refused "/v1/completions on the image model" 400 model "not a causal language model"
st=$(curl -s -o resp -w '%{http_code}' -F file=@q_bars.png "$U/v1/embeddings")
refused "a form sent to /v1/embeddings" 400 "" "takes a JSON body"
st=$(curl -s -o resp -w '%{http_code}' "$U/v1/models")
if [ "$st" = 200 ] && $PY -c "
import json
d = json.load(open('resp'))['data']
assert len(d) == 1 and d[0]['id'] == 'vit', d
z = d[0]['zhuyi']
assert z['kind'] == 'image-classifier' and z['image_size'] == 8 and z['num_channels'] == 1, z" 2>err; then
    ok "/v1/models lists vit: an image-classifier of 8 x 8, 1 channel"
else
    bad "/v1/models: $st $(head -c 200 resp)"
fi
kill -0 "$PID" 2>/dev/null && ok "the server is still up" || { cp srv.err err; bad "the server died"; }
cli_finish
