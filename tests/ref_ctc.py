"""PyTorch references for tests/test_ctc.c: the CTC loss (src/nn/ctc.c) against
torch.nn.functional.ctc_loss applied to log_softmax(logits).

zhuyi takes batch-first logits (B, T, V) and does the log-softmax inside; torch takes
(T, B, V) log-probabilities, so the reference is
    F.ctc_loss(F.log_softmax(x, -1).transpose(0, 1), targets, il, tl, blank, reduction,
               zero_infinity)
with x the float32 logits promoted to float64 (references stored as float32). Targets
are padded (B, L) int32. For every batch: reductions none / sum / mean, zero_infinity off
and on, the loss and d(out)/d(logits) for an upstream gradient dout (a random (B) vector
for 'none', 0.7 for 'sum' and 'mean').

Cases: varied input and target lengths, repeated labels (which need a blank between),
target length 0, a target exactly as long as its input allows, an impossible row (more
frames needed than given: +inf, 0 with zero_infinity), a blank other than 0, a larger
vocabulary. torch's gradient of an impossible row without zero_infinity is NaN; zhuyi
adds nothing for such a row (nn.h), so that row of the stored gradient is 0 (the script
checks torch gave NaN there and finite values elsewhere). Input length 0 is left out:
torch's CPU kernel reads outside its buffer for it.

Run from the repo root: /usr/bin/python3 tests/ref_ctc.py  -> tests/ref/ctc.zyr
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torch
import torch.nn.functional as F

import refio

torch.manual_seed(20240617)
out = {}
DOUT = 0.7


def batch(tag, logits, targets, il, tl, blank):
    B, T, V = logits.shape
    targets = torch.tensor(targets, dtype=torch.int32)
    il = torch.tensor(il, dtype=torch.int32)
    tl = torch.tensor(tl, dtype=torch.int32)
    dout_none = torch.randn(B).float()
    out[tag + "_logits"] = logits
    out[tag + "_targets"] = targets
    out[tag + "_il"] = il
    out[tag + "_tl"] = tl
    out[tag + "_shape"] = torch.tensor([B, T, V, targets.shape[1], blank], dtype=torch.int32)
    out[tag + "_dout"] = dout_none
    for red in ("none", "sum", "mean"):
        for zi in (0, 1):
            x = logits.double().requires_grad_(True)
            lp = F.log_softmax(x, -1).transpose(0, 1)
            loss = F.ctc_loss(lp, targets.long(), il.long(), tl.long(), blank=blank,
                              reduction=red, zero_infinity=bool(zi))
            dout = dout_none.double() if red == "none" else torch.tensor(DOUT).double()
            (loss * dout).sum().backward()
            g = x.grad.clone()
            row_inf = torch.isinf(F.ctc_loss(lp.detach(), targets.long(), il.long(), tl.long(),
                                             blank=blank, reduction="none"))
            for b in range(B):
                if row_inf[b] and not zi:
                    assert torch.isnan(g[b]).any(), (tag, red, b)
                    g[b] = 0
            assert torch.isfinite(g).all(), (tag, red, zi)
            name = "%s_%s_z%d" % (tag, red, zi)
            out[name + "_loss"] = loss.detach().reshape(-1)
            out[name + "_dlogits"] = g
    print(tag, "losses (none):",
          F.ctc_loss(F.log_softmax(logits.double(), -1).transpose(0, 1), targets.long(),
                     il.long(), tl.long(), blank=blank, reduction="none").tolist())


# 1: B=4, T=12, V=6, L=5, blank 0: repeats (1 1 and 2 2 need blanks), an empty target,
#    shorter inputs (frames past input_lengths are padding and get no gradient).
batch("ctc1", (torch.randn(4, 12, 6) * 2).float(),
      [[1, 1, 2, 2, 3], [4, 5, 4, 0, 0], [0, 0, 0, 0, 0], [3, 3, 3, 1, 0]],
      [12, 9, 12, 7], [5, 3, 0, 4], 0)

# 2: impossible rows: [2 2 2 2] needs 7 frames and has 6; [1 2 3] needs 3 and has 2.
#    Row 1 is exact: [1 2 1] in 3 frames has the one alignment 1 2 1. Row 3 is normal.
batch("ctc2", (torch.randn(4, 8, 5) * 1.5).float(),
      [[2, 2, 2, 2], [1, 2, 1, 0], [1, 2, 3, 0], [4, 1, 1, 0]],
      [6, 3, 2, 8], [4, 3, 3, 3], 0)

# 3: blank = 5 (not 0, not the last), V=30, T=40, target lengths up to 15.
g3 = torch.Generator().manual_seed(3)
tg3 = torch.randint(0, 29, (3, 15), generator=g3)
tg3[tg3 >= 5] += 1          # labels in [0, 30) without 5
tg3[0, 3] = tg3[0, 2]        # a repeat
tg3[2, 10:] = 0
batch("ctc3", (torch.randn(3, 40, 30) * 3).float(), tg3.tolist(), [40, 33, 25], [15, 12, 10], 5)

# 4: single frames and labels: (1 frame, 1 label), (1 frame, no label), (2 frames, the
#    same label twice: impossible), (2 frames, one label); blank = V - 1.
batch("ctc4", torch.randn(4, 2, 3).float(), [[0, 0], [0, 0], [1, 1], [1, 0]],
      [1, 1, 2, 2], [1, 0, 2, 1], 2)

os.makedirs(os.path.join(os.path.dirname(__file__), "ref"), exist_ok=True)
refio.write(os.path.join(os.path.dirname(__file__), "ref", "ctc.zyr"), out)
