"""PyTorch references for zhuyi's plain attention, multi-head attention and transformer
blocks (tests/test_attention.c, test_mha.c, test_block.c).

Writes tests/ref/attention.zyr. Every input and parameter is stored (float32) so the C
tests run on exactly these values; references are computed in float64 from them. Loss for
gradients: sum(out * dout) with a stored random dout. Masks never hide a whole row here
(PyTorch gives NaN there; zhuyi gives zeros, tested in C).
Run from the repo root: /usr/bin/python3 tests/ref_attention.py
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import refio  # noqa: E402

torch.manual_seed(1234)
T = {}


def f32(x):
    """A float32 tensor rounded once, used in float64 afterwards."""
    return x.float().double()


def rnd(*shape, s=1.0):
    return f32(torch.randn(*shape) * s)


def put(prefix, **kw):
    for k, v in kw.items():
        T[prefix + "." + k] = v.detach().float() if v.dtype.is_floating_point else v


# ---- score functions -------------------------------------------------------------------
# B=2, H=2 (BH=4), Tq=3, Tk=5 (cross-attention shapes), Dv=3, A=5.
B, H, TQ, TK, DV, A = 2, 2, 3, 5, 3, 5
BH = B * H


def visible_mask(Tq, Tk, causal, lengths, bool_mask):
    vis = torch.ones(BH, Tq, Tk, dtype=torch.bool)
    if causal:
        i = torch.arange(Tq)[:, None]
        j = torch.arange(Tk)[None, :]
        vis &= (j <= i + (Tk - Tq))[None]
    if lengths is not None:
        j = torch.arange(Tk)
        for bh in range(BH):
            vis[bh] &= (j < lengths[bh // H])[None, :]
    if bool_mask is not None:
        vis &= ~bool_mask[None]
    return vis


def attend(s, v, vis, add):
    if add is not None:
        s = s + add[None]
    s = s.masked_fill(~vis, float("-inf"))
    p = torch.softmax(s, dim=-1)
    return p @ v, p


def score_case(name, score, Dq, Dk, causal=False, lengths=None, bool_mask=None, add=None):
    q = rnd(BH, TQ, Dq).requires_grad_()
    k = rnd(BH, TK, Dk).requires_grad_()
    v = rnd(BH, TK, DV).requires_grad_()
    params = {}
    if score == "dot":
        s = q @ k.transpose(1, 2)
    elif score == "scaled":
        s = q @ k.transpose(1, 2) / math.sqrt(Dk)
    elif score == "general":
        params["W"] = rnd(Dq, Dk, s=0.5).requires_grad_()
        s = q @ params["W"] @ k.transpose(1, 2)
    elif score == "additive":
        params["Wq"] = rnd(A, Dq, s=0.5).requires_grad_()
        params["Wk"] = rnd(A, Dk, s=0.5).requires_grad_()
        params["v"] = rnd(A).requires_grad_()
        pq, pk = q @ params["Wq"].t(), k @ params["Wk"].t()
        s = torch.tanh(pq[:, :, None, :] + pk[:, None, :, :]) @ params["v"]
    elif score == "concat":
        params["W"] = rnd(A, Dq + Dk, s=0.5).requires_grad_()
        params["v"] = rnd(A).requires_grad_()
        # literally W [q; k] over every (i, j) pair
        qq = q[:, :, None, :].expand(BH, TQ, TK, Dq)
        kk = k[:, None, :, :].expand(BH, TQ, TK, Dk)
        s = torch.tanh(torch.cat([qq, kk], dim=-1) @ params["W"].t()) @ params["v"]
    vis = visible_mask(TQ, TK, causal, lengths, bool_mask)
    out, p = attend(s, v, vis, add)
    dout = rnd(BH, TQ, DV)
    (out * dout).sum().backward()
    put(name, q=q, k=k, v=v, dout=dout, out=out, att=p, dq=q.grad, dk=k.grad, dv=v.grad)
    for pn, pt in params.items():
        put(name, **{"p_" + pn: pt, "dp_" + pn: pt.grad})
    if lengths is not None:
        T[name + ".lengths"] = torch.tensor(lengths, dtype=torch.int32)
    if bool_mask is not None:
        T[name + ".bool_mask"] = bool_mask.to(torch.int32)
    if add is not None:
        T[name + ".add_mask"] = add.float()


score_case("dot", "dot", 4, 4)
score_case("scaled", "scaled", 4, 4)
score_case("general", "general", 4, 6)
score_case("additive", "additive", 4, 6)
score_case("concat", "concat", 4, 6)
# masks on the scaled dot product (cross shapes: causal is aligned to the end of the keys)
score_case("causal", "scaled", 4, 4, causal=True)
score_case("padding", "scaled", 4, 4, lengths=[5, 2])
bm = torch.rand(TQ, TK) < 0.4
bm[:, 0] = False  # keep one key per row
score_case("boolmask", "scaled", 4, 4, bool_mask=bm)
am = rnd(TQ, TK)
am[1, 3] = float("-inf")
score_case("addmask", "scaled", 4, 4, add=am)
score_case("allmasks", "additive", 4, 6, causal=True, lengths=[5, 3], bool_mask=bm, add=am)


# ---- multi-head attention -----------------------------------------------------------------
def randomize(module, s=0.3):
    with torch.no_grad():
        for n, p in module.named_parameters():
            if "norm" in n and n.endswith("weight"):
                p.copy_(1 + f32(torch.randn_like(p) * 0.2))
            else:
                p.copy_(f32(torch.randn_like(p) * s))


def pad_mask(lengths, Tk):
    return torch.arange(Tk)[None, :] >= torch.tensor(lengths)[:, None]  # True = padded


def causal_bool(T_):
    return torch.triu(torch.ones(T_, T_, dtype=torch.bool), diagonal=1)


MB, MT, MC, MH = 2, 5, 8, 2


def mha_case(name, Tq, Tk, self_attn, lengths=None, bool_mask=None, add=None, causal=False):
    m = torch.nn.MultiheadAttention(MC, MH, dropout=0.0, batch_first=True).double()
    randomize(m)
    xq = rnd(MB, Tq, MC).requires_grad_()
    xkv = xq if self_attn else rnd(MB, Tk, MC).requires_grad_()
    attn_mask = None
    if causal:
        attn_mask = causal_bool(Tq)
    if bool_mask is not None:
        attn_mask = bool_mask
    if add is not None:
        attn_mask = add
    kpm = pad_mask(lengths, Tk) if lengths is not None else None
    out, w = m(xq, xkv, xkv, key_padding_mask=kpm, attn_mask=attn_mask, need_weights=True)
    dout = rnd(MB, Tq, MC)
    (out * dout).sum().backward()
    put(name, xq=xq, dout=dout, out=out, weights_mean=w, dxq=xq.grad)
    if not self_attn:
        put(name, xkv=xkv, dxkv=xkv.grad)
    for n, p in m.named_parameters():
        put(name, **{n: p, "d." + n: p.grad})
    if lengths is not None:
        T[name + ".lengths"] = torch.tensor(lengths, dtype=torch.int32)
    if bool_mask is not None:
        T[name + ".bool_mask"] = bool_mask.to(torch.int32)
    if add is not None:
        T[name + ".add_mask"] = add.float()


mha_case("mha_self", MT, MT, True, lengths=[5, 3], causal=True)
mha_case("mha_cross", 4, 6, False, lengths=[6, 4], add=rnd(4, 6))
bm = torch.rand(MT, MT) < 0.4
bm[:, 2] = False
mha_case("mha_bool", MT, MT, True, bool_mask=bm)


# ---- transformer blocks ------------------------------------------------------------------
FF = 16


def gelu_tanh(x):
    return torch.nn.functional.gelu(x, approximate="tanh")


def block_case(name, decoder, norm_first, act, causal=False):
    cls = torch.nn.TransformerDecoderLayer if decoder else torch.nn.TransformerEncoderLayer
    layer = cls(MC, MH, dim_feedforward=FF, dropout=0.0, activation=act, batch_first=True,
                norm_first=norm_first).double()
    randomize(layer)
    layer.train()
    x = rnd(MB, MT, MC).requires_grad_()
    if decoder:
        mem = rnd(MB, 6, MC).requires_grad_()
        y = layer(x, mem, tgt_mask=causal_bool(MT), memory_key_padding_mask=pad_mask([6, 4], 6))
    else:
        y = layer(x, src_mask=causal_bool(MT) if causal else None,
                  src_key_padding_mask=pad_mask([5, 4], MT))
    dy = rnd(MB, MT, MC)
    (y * dy).sum().backward()
    put(name, x=x, dy=dy, y=y, dx=x.grad)
    if decoder:
        put(name, mem=mem, dmem=mem.grad)
    for n, p in layer.named_parameters():
        put(name, **{n: p, "d." + n: p.grad})


block_case("enc_post_relu", False, False, "relu")
block_case("enc_post_gelu", False, False, "gelu")
block_case("enc_pre_relu", False, True, "relu")
block_case("enc_pre_gelu", False, True, "gelu")
block_case("dec_post_relu", True, False, "relu")
block_case("dec_pre_gelu", True, True, "gelu")

# ---- added later (appended so the cases above keep their random draws) --------------------
mha_case("mha_cross_pad", 4, 6, False, lengths=[6, 4])  # cross-attention the tiled core runs
# GELU-tanh blocks (GPT-2's activation); a causal pre-LN encoder is GPT-2's block shape
block_case("enc_post_gelut", False, False, gelu_tanh)
block_case("enc_pre_gelut_causal", False, True, gelu_tanh, causal=True)
block_case("dec_pre_gelut", True, True, gelu_tanh)
block_case("dec_post_gelu", True, False, "gelu")

os.makedirs(os.path.join(os.path.dirname(__file__), "ref"), exist_ok=True)
refio.write(os.path.join(os.path.dirname(__file__), "ref", "attention.zyr"), T)
