"""PyTorch references for the ViT patch embedding (tests/test_patch_embed.c): Hugging
Face's ViTPatchEmbeddings is nn.Conv2d(C, D, kernel_size=P, stride=P) followed by
flatten(2).transpose(1, 2); this is that, written out (transformers is not needed).

Inputs are drawn in float32 and stored; the reference runs in float64 on them and is
stored as float32. Gradients come from autograd with a random upstream gradient w
(loss = sum(out * w)). Cases: a small RGB ViT, an MNIST-sized gray one (28x28, P = 7),
and sizes that are not multiples of P (Conv2d drops the last rows and columns).
Run from the repo root: /usr/bin/python3 tests/ref_patch.py  -> tests/ref/patch.zyr
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch

import refio

torch.manual_seed(1717)
out = {}


def f32(*shape):
    return torch.rand(*shape, dtype=torch.float32) * 2 - 1


# name: (B, C, H, W, P, D, bias)
for name, (B, C, H, W, P, D, bias) in {
    "vit": (2, 3, 8, 12, 4, 16, True),
    "mnist": (3, 1, 28, 28, 7, 8, True),
    "floor": (2, 2, 10, 7, 3, 5, True),
    "nobias": (1, 3, 6, 6, 2, 7, False),
}.items():
    x, wt, w = f32(B, C, H, W), f32(D, C, P, P), None
    b = f32(D) if bias else None
    conv = torch.nn.Conv2d(C, D, kernel_size=P, stride=P, bias=bias).double()
    with torch.no_grad():
        conv.weight.copy_(wt.double())
        if bias:
            conv.bias.copy_(b.double())
    xd = x.double().requires_grad_(True)
    y = conv(xd).flatten(2).transpose(1, 2)  # (B, N, D)
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
    out[name + ".shape"] = torch.tensor([B, C, H, W, P, D, int(bias)])

refio.write(os.path.join(os.path.dirname(__file__), "ref", "patch.zyr"), out)
