"""PyTorch references for the layer ops (tests/test_layers.c): linear, embedding + position
add, layer_norm, GELU (tanh and erf), ReLU, residual add.

Inputs are drawn in float32 and stored in the dump, so the C test runs on exactly these
values; outputs and gradients are computed in float64 from them (autograd with a random
upstream gradient w, i.e. loss = sum(out * w)) and stored as float32.
Run from the repo root: /usr/bin/python3 tests/ref_layers.py  -> tests/ref/layers.zyr
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch
import torch.nn.functional as F

import refio

torch.manual_seed(1234)
out = {}


def f32(*shape, lo=-1.0, hi=1.0):
    return (torch.rand(*shape, dtype=torch.float32) * (hi - lo) + lo)


def leaf(t):
    return t.double().requires_grad_(True)


def put(prefix, **tensors):
    for k, v in tensors.items():
        out[prefix + "." + k] = v.detach()


# ---- linear: odd sizes, with and without bias -------------------------------------------
for name, (N, Cin, Cout, has_bias) in {"lin": (7, 33, 17, True),
                                       "lin_nobias": (16, 64, 40, False)}.items():
    inp, weight, bias = f32(N, Cin), f32(Cout, Cin, lo=-0.3, hi=0.3), f32(Cout)
    w = f32(N, Cout)
    x, W = leaf(inp), leaf(weight)
    b = leaf(bias) if has_bias else None
    y = F.linear(x, W, b)
    (y * w.double()).sum().backward()
    put(name, inp=inp, weight=weight, w=w, out=y, dinp=x.grad, dweight=W.grad)
    if has_bias:
        put(name, bias=bias, dbias=b.grad)

# ---- embedding: token + position, repeated tokens --------------------------------------
B, T, C, V, maxT = 3, 5, 33, 11, 8
tokens = torch.randint(0, V, (B, T), dtype=torch.int32)
tokens[0, 0] = tokens[1, 3] = tokens[2, 4] = 7  # the same id at several positions
tokens[2, 0] = V - 1                           # the last valid id
wte, wpe, w = f32(V, C), f32(maxT, C), f32(B, T, C)
E, P = leaf(wte), leaf(wpe)
y = F.embedding(tokens.long(), E) + P[:T].unsqueeze(0)
(y * w.double()).sum().backward()
out["emb.tokens"] = tokens
put("emb", wte=wte, wpe=wpe, w=w, out=y, dwte=E.grad, dwpe=P.grad)

# ---- layernorm: eps 1e-5, inputs with a common offset and spread ------------------------
for name, (N, C) in {"ln": (7, 33), "ln_wide": (4, 768)}.items():
    inp = f32(N, C, lo=-2.0, hi=2.0) * 1.5 + 0.75
    weight, bias, w = f32(C, lo=0.5, hi=1.5), f32(C, lo=-0.5, hi=0.5), f32(N, C)
    x, g, b = leaf(inp), leaf(weight), leaf(bias)
    y = F.layer_norm(x, (C,), g, b, eps=1e-5)
    (y * w.double()).sum().backward()
    xd = inp.double()
    mean = xd.mean(-1)
    rstd = 1.0 / torch.sqrt(xd.var(-1, unbiased=False) + 1e-5)
    put(name, inp=inp, weight=weight, bias=bias, w=w, out=y, mean=mean, rstd=rstd,
        dinp=x.grad, dweight=g.grad, dbias=b.grad)

# ---- GELU: both forms, over a wide range (tails and the curved middle) ------------------
n = 1000
inp = torch.cat([f32(n - 8, lo=-6.0, hi=6.0),
                 torch.tensor([0.0, -0.0, 1e-4, -1e-4, 9.0, -9.0, 12.0, -12.0])])
w = f32(n)
for name, approx in {"gelu_tanh": "tanh", "gelu_erf": "none"}.items():
    x = leaf(inp)
    y = F.gelu(x, approximate=approx)
    (y * w.double()).sum().backward()
    put(name, inp=inp, w=w, out=y, dinp=x.grad)

# ---- ReLU: no input within 0.05 of the kink --------------------------------------------
n = 515
inp = f32(n, lo=-3.0, hi=3.0)
inp = torch.where(inp.abs() < 0.05, inp.sign() * 0.05 + inp, inp)
w = f32(n)
x = leaf(inp)
y = F.relu(x)
(y * w.double()).sum().backward()
put("relu", inp=inp, w=w, out=y, dinp=x.grad)

# ---- residual add ------------------------------------------------------------------------
n = 257
a_in, b_in, w = f32(n), f32(n), f32(n)
a, b = leaf(a_in), leaf(b_in)
y = a + b
(y * w.double()).sum().backward()
put("res", a=a_in, b=b_in, w=w, out=y, da=a.grad, db=b.grad)

refio.write(os.path.join(os.path.dirname(__file__), "ref", "layers.zyr"), out)
