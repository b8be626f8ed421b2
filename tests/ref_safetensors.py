"""Reference safetensors files for tests/test_safetensors.c, written with struct + json only
(the `safetensors` package is not installed here) in the layout of Hugging Face's reference
writer: u64 header size, compact JSON with "__metadata__" first and tensors sorted by name,
padded with spaces to a multiple of 8 bytes, then the data in header order.

F16 and BF16 data are PyTorch's own conversions (tensor.half(), tensor.bfloat16()), so the
C test checks zhuyi's rounding against torch's, bit for bit, and its writer against this
layout byte for byte.
Run from the repo root: /usr/bin/python3 tests/ref_safetensors.py
  -> tests/ref/st_f32.safetensors, tests/ref/st_f16.safetensors, tests/ref/st_bf16.safetensors
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch

torch.manual_seed(2718)
HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}


def write(path, tensors, metadata):
    """tensors: dict name -> torch tensor (F32/F16/BF16); metadata: dict str -> str."""
    header, blobs, pos = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name in sorted(tensors, key=lambda s: s.encode()):
        t = tensors[name].contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if t.element_size() == 2 else t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [pos, pos + len(raw)]}
        blobs.append(raw)
        pos += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)
    print("wrote", path, "(%d tensors, %d bytes)" % (len(tensors), os.path.getsize(path)))


def specials():
    """Values that exercise F16/BF16 rounding: exact ties, one float ulp around them,
    subnormal results, overflow to Inf, Inf and NaN, and random values at every scale."""
    v = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, -65520.0, 1e6, 2.0 ** -24,
         2.0 ** -25, 2.0 ** -25 * 1.0000001, 3 * 2.0 ** -26, 2.0 ** -14, 2.0 ** -14 * 0.999,
         1e-8, 1e-40, -1e-45, 3.4028235e38, -3.4028235e38, float("inf"), float("-inf"),
         float("nan"), 1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -8,
         1.0 + 3 * 2.0 ** -8, 3.3961775e38, 3.3961776e38]
    t = torch.tensor(v, dtype=torch.float32)
    h = torch.arange(0, 0x7C00, 31, dtype=torch.int32)  # F16 bit patterns, then midpoints
    lo = h.to(torch.int16).view(torch.float16).float()
    hi = (h + 1).to(torch.int16).view(torch.float16).float()
    mid = (lo.double() + hi.double()) / 2
    ulp = torch.nextafter(mid.float(), torch.tensor(float("inf")))
    rnd = torch.randn(512) * torch.exp2(torch.randint(-30, 30, (512,)).float())
    return torch.cat([t, mid.float(), -mid.float(), ulp, rnd])


def bf16(t):
    """torch 1.13 turns a float NaN into BF16 0xFFFF; zhuyi, like the vcvtneps2bf16
    instruction, keeps sign and payload and sets the quiet bit (0x7FC0 for the default
    NaN). Patch NaNs to that so the byte comparison checks every other value."""
    b = t.bfloat16()
    q = ((t.view(torch.int32) >> 16) | 0x40).to(torch.int16).view(torch.bfloat16)
    return torch.where(torch.isnan(t), q, b)


def main():
    ref = os.path.join(HERE, "ref")
    os.makedirs(ref, exist_ok=True)
    base = {
        "h.0.attn.c_attn.weight": torch.randn(4, 6),
        "h.0.attn.c_attn.bias": torch.randn(6),
        "wte.weight": torch.randn(5, 3),
        "scalar": torch.tensor(1.5),
        "empty": torch.zeros(0, 3),
        "cube": torch.randn(2, 3, 4),
        "naïve \"quoted\"\tname\u0001": torch.randn(2),
        "specials": specials(),
    }
    meta = {"format": "pt", "zhuyi": "reference \"file\"\n"}
    f32 = dict(base)
    f32["specials_f16_as_f32"] = base["specials"].half().float()
    f32["specials_bf16_as_f32"] = base["specials"].bfloat16().float()
    write(os.path.join(ref, "st_f32.safetensors"), f32, meta)
    write(os.path.join(ref, "st_f16.safetensors"), {k: t.half() for k, t in base.items()}, meta)
    write(os.path.join(ref, "st_bf16.safetensors"),
          {k: bf16(t) for k, t in base.items()}, meta)


if __name__ == "__main__":
    main()
