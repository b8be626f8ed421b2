"""Reference for zhuyi's attention rollout (tests/test_rollout.c).

Run from the repo root: /usr/bin/python3 tests/ref_rollout.py

Attention rollout as Abnar & Zuidema (2020) define it and as ViT visualisations compute
it: per layer the attention averaged over heads, the identity added and each row
renormalised, (A + I) / rowsum; the product of the layers, last layer first:
R = Ã_{L-1} @ ... @ Ã_0 (float64, full matrices, the way the papers' code does it).
Writes tests/ref/rollout.zyr: attn.l (H, T, T) softmax weights for L = 3 layers, H = 2,
T = 6, and rollout (T, T), every query's row.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

import refio  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
L, H, T = 3, 2, 6


def main():
    gen = torch.Generator().manual_seed(20261203)
    dump = {}
    R = torch.eye(T, dtype=torch.float64)
    for l in range(L):
        a = torch.softmax(2.0 * torch.randn(H, T, T, generator=gen), dim=-1).float()
        dump["attn.%d" % l] = a
        m = a.double().mean(0) + torch.eye(T, dtype=torch.float64)
        m = m / m.sum(-1, keepdim=True)
        R = m @ R
    dump["rollout"] = R
    refio.write(os.path.join(HERE, "ref", "rollout.zyr"), dump)


if __name__ == "__main__":
    main()
