"""PyTorch references for the positional encodings (tests/test_position.c): the sinusoidal
table of Vaswani et al. and rotary embeddings (RoPE) in both pairings, forward and the
gradient through it, written out from the formulas in torch (1.13 has neither built in).

Inputs are drawn in float32 and stored in the dump; references are computed in float64
(angles included) and stored as float32. Gradients come from autograd with a random
upstream gradient w (loss = sum(out * w)).
Run from the repo root: /usr/bin/python3 tests/ref_position.py  -> tests/ref/position.zyr
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch

import refio

torch.manual_seed(4321)
out = {}


def f32(*shape):
    return torch.rand(*shape, dtype=torch.float32) * 2 - 1


def sinusoid(T, C, offset):
    """The Annotated Transformer's construction, in float64."""
    pos = torch.arange(offset, offset + T, dtype=torch.float64)[:, None]
    div = torch.exp(torch.arange(0, C, 2, dtype=torch.float64) * (-math.log(10000.0) / C))
    pe = torch.zeros(T, C, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : C // 2]
    return pe


# Odd width, an offset (incremental decoding), and large positions (angles ~1e4 rad).
for name, (T, C, offset) in {"sin_a": (37, 33, 0), "sin_b": (5, 64, 9000)}.items():
    out[name + ".table"] = sinusoid(T, C, offset)
    out[name + ".shape"] = torch.tensor([T, C, offset])
# Embedding + PE add (B=2): out = x + PE.
x = f32(2, 11, 20)
out["sin_add.x"] = x
out["sin_add.out"] = x.double() + sinusoid(11, 20, 3)[None]
out["sin_add.shape"] = torch.tensor([2, 11, 20, 3])


def rope(x, R, base, offset, style):
    """x (BH, T, D): rotate the first R features; style 0 = rotate half, 1 = interleaved."""
    BH, T, D = x.shape
    inv = base ** (-torch.arange(0, R, 2, dtype=torch.float64) / R)        # (R/2)
    ang = torch.arange(offset, offset + T, dtype=torch.float64)[:, None] * inv[None]
    cos, sin = torch.cos(ang), torch.sin(ang)                              # (T, R/2)
    rot, rest = x[..., :R], x[..., R:]
    if style == 0:  # GPT-NeoX / LLaMA: pairs (i, i + R/2)
        x1, x2 = rot[..., : R // 2], rot[..., R // 2:]
        y = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    else:           # GPT-J: pairs (2i, 2i + 1)
        x1, x2 = rot[..., 0::2], rot[..., 1::2]
        y = torch.stack([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1).flatten(-2)
    return torch.cat([y, rest], dim=-1)


# (BH, T, D, R, base, offset, style)
for name, (BH, T, D, R, base, offset, style) in {
    "rope_neox": (3, 13, 16, 16, 10000.0, 0, 0),
    "rope_neox_partial": (2, 9, 24, 8, 10000.0, 5, 0),   # rotary_pct = 1/3
    "rope_gptj": (3, 13, 16, 16, 10000.0, 0, 1),
    "rope_gptj_offset": (2, 7, 12, 10, 500.0, 2000, 1),
}.items():
    x, w = f32(BH, T, D), f32(BH, T, D)
    xd = x.double().requires_grad_(True)
    y = rope(xd, R, base, offset, style)
    (y * w.double()).sum().backward()
    out[name + ".x"] = x
    out[name + ".w"] = w
    out[name + ".out"] = y.detach()
    out[name + ".dx"] = xd.grad
    out[name + ".shape"] = torch.tensor([BH, T, D, R, offset, style])
    out[name + ".base"] = torch.tensor([base])

refio.write(os.path.join(os.path.dirname(__file__), "ref", "position.zyr"), out)
