"""Round trip: load a model directory that zhuyi wrote into the PyTorch GPT-2 reference
(tests/ref_gpt.py) and check it gives the logits zhuyi computed.

Usage (from the repo root, after the C tests gpt_io_roundtrip_dir_for_torch and
gpt_heads_roundtrip_dir have run):
  /usr/bin/python3 tests/roundtrip_gpt.py build/gpt_roundtrip [build/gpt_roundtrip_seqcls]
DIR holds config.json + model.safetensors (written by zy_gpt_save) and logits.zyr
(written by the C test: "x" (B, T) int32, "logits" (B*T, V) float32). The optional second
is a GPT2ForSequenceClassification directory (GPT2ForSequenceClassification's parameter
names, id2label / label2id as HF writes them, no num_labels; logits.zyr with "lengths"
and the (B, num_labels) logits). Exits 1 on any mismatch (tolerance 2e-5 abs + 1e-4 rel:
float zhuyi against the float64 reference).
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

from ref_gpt import forward, names, read_safetensors, score_forward, shapes  # noqa: E402


def read_zyr(path):
    out = {}
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"ZYREF1\0\0":
        raise ValueError(path + ": not a ZYREF1 file")
    (count,), pos = struct.unpack("<I", data[8:12]), 12
    for _ in range(count):
        (n,) = struct.unpack("<I", data[pos:pos + 4])
        name = data[pos + 4:pos + 4 + n].decode()
        pos += 4 + n
        dtype, ndim = struct.unpack("<II", data[pos:pos + 8])
        dims = struct.unpack("<%dI" % ndim, data[pos + 8:pos + 8 + 4 * ndim])
        pos += 8 + 4 * ndim
        numel = 1
        for d in dims:
            numel *= d
        raw = bytearray(data[pos:pos + 4 * numel])
        pos += 4 * numel
        t = torch.frombuffer(raw, dtype=torch.float32 if dtype == 0 else torch.int32)
        out[name] = t.reshape(dims).clone()
    return out


def check_seqcls(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    id2label, label2id = cfg.get("id2label") or {}, cfg.get("label2id") or {}
    K = len(id2label)
    if (cfg["model_type"] != "gpt2" or cfg["architectures"] != ["GPT2ForSequenceClassification"]
            or K < 1 or sorted(id2label) != sorted(str(i) for i in range(K))
            or label2id != {v: int(k) for k, v in id2label.items()} or "num_labels" in cfg):
        sys.exit("roundtrip_gpt: %s/config.json is not a GPT2ForSequenceClassification "
                 "config as HF writes it: %s" % (d, cfg))
    tensors = read_safetensors(os.path.join(d, "model.safetensors"))
    want = shapes(cfg)
    want["score.weight"] = (K, cfg["n_embd"])
    if set(tensors) != set(want):
        sys.exit("roundtrip_gpt: %s: tensor names differ: extra %s, missing %s" % (
            d, sorted(set(tensors) - set(want)), sorted(set(want) - set(tensors))))
    for n, t in tensors.items():
        if tuple(t.shape) != want[n]:
            sys.exit("roundtrip_gpt: %s has shape %s, expected %s" % (n, tuple(t.shape), want[n]))
    ref = read_zyr(os.path.join(d, "logits.zyr"))
    got = ref["logits"].double()
    logits = score_forward({n: t.double() for n, t in tensors.items()}, cfg, ref["x"].long(),
                           ref["lengths"].reshape(-1).tolist()).reshape(got.shape)
    err = (logits - got).abs()
    print("roundtrip_gpt: %s: %d logits (%d labels), worst abs diff %.3g" % (
        d, got.numel(), K, err.max()))
    if (err > 2e-5 + 1e-4 * logits.abs()).any():
        sys.exit("roundtrip_gpt: %s: logits differ beyond 2e-5 + 1e-4·|x|" % d)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: roundtrip_gpt.py DIR [SEQCLS_DIR]")
    if len(sys.argv) == 3:
        check_seqcls(sys.argv[2])
    d = sys.argv[1]
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["model_type"] == "gpt2" and cfg["architectures"] == ["GPT2LMHeadModel"]
    tensors = read_safetensors(os.path.join(d, "model.safetensors"))
    want = shapes(cfg)
    # Exactly the GPT2LMHeadModel parameter names and HF shapes, lm_head omitted (tied).
    if set(tensors) != set(names(cfg["n_layer"])):
        sys.exit("roundtrip_gpt: tensor names differ: extra %s, missing %s" % (
            sorted(set(tensors) - set(want)), sorted(set(want) - set(tensors))))
    for n, t in tensors.items():
        if tuple(t.shape) != want[n]:
            sys.exit("roundtrip_gpt: %s has shape %s, expected %s" % (n, tuple(t.shape), want[n]))
    ref = read_zyr(os.path.join(d, "logits.zyr"))
    x = ref["x"].long()
    got = ref["logits"].double()
    logits = forward({n: t.double() for n, t in tensors.items()}, cfg, x)
    logits = logits.reshape(got.shape)
    err = (logits - got).abs()
    bad = err > 2e-5 + 1e-4 * logits.abs()
    print("roundtrip_gpt: %s: %d logits, worst abs diff %.3g" % (d, got.numel(), err.max()))
    if bad.any():
        sys.exit("roundtrip_gpt: %d logits differ beyond 2e-5 + 1e-4·|x|" % int(bad.sum()))


if __name__ == "__main__":
    main()
