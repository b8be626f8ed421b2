"""Round trip: load a model directory that zhuyi wrote into the PyTorch GPT-2 reference
(tests/ref_gpt.py) and check it gives the logits zhuyi computed.

Usage (from the repo root, after the C test gpt_io_roundtrip_dir_for_torch has run):
  /usr/bin/python3 tests/roundtrip_gpt.py build/gpt_roundtrip
DIR holds config.json + model.safetensors (written by zy_gpt_save) and logits.zyr
(written by the C test: "x" (B, T) int32, "logits" (B*T, V) float32). Exits 1 on any
mismatch (tolerance 2e-5 abs + 1e-4 rel: float zhuyi against the float64 reference).
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

from ref_gpt import forward, names, read_safetensors, shapes  # noqa: E402


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


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: roundtrip_gpt.py DIR")
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
