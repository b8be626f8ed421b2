"""PyTorch references for tests/test_losses.c and test_losses_bce.c: softmax with an
additive mask, cross-entropy (ignore_index, label smoothing), MSE, BCE with logits. Inputs
are generated here and stored in the dump so the C test uses exactly the same values;
references are computed in float64 from the float32 inputs and stored as float32. Dropout
has no torch reference (torch's RNG differs from our hash mask); the C test checks it
against the mask from zy_dropout_keep.

Run from the repo root: /usr/bin/python3 tests/ref_losses.py  -> tests/ref/losses.zyr
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torch
import torch.nn.functional as F

import refio

torch.manual_seed(1234)
out = {}

# ---- softmax (R=5, N=37) with a (2, 37) additive mask broadcast by r % 2 -------------------
R, N, MR = 5, 37, 2
inp = (torch.randn(R, N) * 3).float()
mask = torch.zeros(MR, N)
mask[0, ::3] = float("-inf")            # row pattern 0: every third position excluded
mask[0, 1] = -1.5                       # and a finite additive bias
mask[1, 20:] = float("-inf")            # row pattern 1: a causal-like cut
mask[1, 5] = 2.0
dout = torch.randn(R, N).float()
x = inp.double().requires_grad_(True)
full_mask = mask.double()[torch.arange(R) % MR]
y = F.softmax(x + full_mask, dim=-1)
(y * dout.double()).sum().backward()
out.update({"sm_inp": inp, "sm_mask": mask, "sm_dout": dout, "sm_out": y.detach(),
            "sm_dinp": x.grad})

# ---- cross-entropy: (N=9, V=50) and (N=7, V=1000), ignore_index -100, ε = 0 and 0.1 --------
def xent(tag, n, v, ignored):
    logits = (torch.randn(n, v) * 2).float()
    targets = torch.randint(0, v, (n,))
    for r in ignored:
        targets[r] = -100
    out["%s_logits" % tag] = logits
    out["%s_targets" % tag] = targets.int()
    for ls, name in ((0.0, "ls0"), (0.1, "ls1")):
        x = logits.double().requires_grad_(True)
        loss = F.cross_entropy(x, targets.long(), reduction="mean", ignore_index=-100,
                               label_smoothing=ls)
        loss.backward()
        out["%s_%s_loss" % (tag, name)] = loss.detach().reshape(1)
        out["%s_%s_dlogits" % (tag, name)] = x.grad
    out["%s_lse" % tag] = torch.logsumexp(logits.double(), dim=-1)

xent("ce", 9, 50, [2, 7])
xent("cebig", 7, 1000, [4])

# ---- MSE (n = 101) ----------------------------------------------------------------------
pred = torch.randn(101).float()
target = torch.randn(101).float()
x = pred.double().requires_grad_(True)
loss = F.mse_loss(x, target.double())
loss.backward()
out.update({"mse_pred": pred, "mse_target": target, "mse_loss": loss.detach().reshape(1),
            "mse_dpred": x.grad})

# ---- BCE with logits (n = 60: 5 rows x 12 labels), targets 0/1 and a few soft ones, and
# logits up to |x| = 100 (the stable form must not overflow or lose them) ----------------
bl = (torch.randn(60) * 3).float()
bl[0], bl[1], bl[2], bl[3] = 100.0, -100.0, 30.0, -30.0
bt = (torch.rand(60) < 0.4).float()
bt[0], bt[1], bt[2], bt[3] = 0.0, 1.0, 1.0, 0.0
bt[4], bt[5] = 0.25, 0.5
x = bl.double().requires_grad_(True)
loss = F.binary_cross_entropy_with_logits(x, bt.double())
loss.backward()
out.update({"bce_logits": bl, "bce_targets": bt, "bce_loss": loss.detach().reshape(1),
            "bce_dlogits": x.grad})

os.makedirs(os.path.join(os.path.dirname(__file__), "ref"), exist_ok=True)
refio.write(os.path.join(os.path.dirname(__file__), "ref", "losses.zyr"), out)
