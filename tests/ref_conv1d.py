"""PyTorch references for the 1-D convolution over time (tests/test_conv1d.c): zhuyi's
zy_conv1d_* is nn.Conv1d(Cin, Cout, K, stride=S, padding=P) applied to time-major rows,
i.e. conv(x.transpose(1, 2)).transpose(1, 2) for x (B, T, Cin).

Inputs are drawn in float32 and stored; the reference runs in float64 on them and is
stored as float32. Gradients come from autograd with a random upstream gradient w
(loss = sum(out * w)). Cases: the speech front end's (kernel 3, stride 2, padding 1) on
80 mel bins and on its own output width, an odd length, overlapping windows with a
larger stride than padding, no padding, and no bias.
Run from the repo root: /usr/bin/python3 tests/ref_conv1d.py  -> tests/ref/conv1d.zyr
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch

import refio

torch.manual_seed(1203)
out = {}


def f32(*shape):
    return torch.rand(*shape, dtype=torch.float32) * 2 - 1


# name: (B, T, Cin, Cout, K, S, P, bias)
for name, (B, T, Cin, Cout, K, S, P, bias) in {
    "mel": (2, 20, 80, 12, 3, 2, 1, True),
    "hidden": (3, 11, 12, 12, 3, 2, 1, True),
    "wide": (2, 9, 4, 5, 5, 3, 2, True),
    "valid": (1, 8, 3, 4, 3, 1, 0, True),
    "nobias": (2, 7, 5, 3, 3, 2, 1, False),
}.items():
    x, wt = f32(B, T, Cin), f32(Cout, Cin, K)
    b = f32(Cout) if bias else None
    conv = torch.nn.Conv1d(Cin, Cout, K, stride=S, padding=P, bias=bias).double()
    with torch.no_grad():
        conv.weight.copy_(wt.double())
        if bias:
            conv.bias.copy_(b.double())
    xd = x.double().requires_grad_(True)
    y = conv(xd.transpose(1, 2)).transpose(1, 2)  # (B, To, Cout)
    w = f32(*y.shape)
    (y * w.double()).sum().backward()
    out[name + ".inp"] = x
    out[name + ".weight"] = wt
    if bias:
        out[name + ".bias"] = b
        out[name + ".dbias"] = conv.bias.grad
    out[name + ".w"] = w
    out[name + ".out"] = y.detach()
    out[name + ".dinp"] = xd.grad
    out[name + ".dweight"] = conv.weight.grad
    out[name + ".shape"] = torch.tensor([B, T, Cin, Cout, K, S, P, int(bias), y.shape[1]])

refio.write(os.path.join(os.path.dirname(__file__), "ref", "conv1d.zyr"), out)
