"""Logistic regression on raw pixels: the baseline beside zhuyi's ViT (docs/RESULTS.md).

Run: /usr/bin/python3 scripts/tasks/fashion_baseline.py TRAIN_IMAGES TEST_IMAGES
(IDX files, gzip or plain, as Debian's dataset-fashion-mnist ships them; the labels files
beside them, named with labels-idx1 for images-idx3.) Pixels scaled to [0, 1], a linear
layer of 784 x 10 trained with softmax cross-entropy: Adam, lr 1e-3, batch 128, 20 epochs,
seed 0, in PyTorch (Debian's python3-torch). Prints the test accuracy.
"""
import gzip
import struct
import sys

import torch


def read_idx(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = struct.unpack(">%dI" % ndim, raw[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def load(images):
    x = read_idx(images).reshape(-1, 28 * 28).float() / 255
    y = read_idx(images.replace("images-idx3", "labels-idx1")).long()
    return x, y


def main():
    torch.manual_seed(0)
    xtr, ytr = load(sys.argv[1])
    xte, yte = load(sys.argv[2])
    model = torch.nn.Linear(xtr.shape[1], 10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(20):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            loss = torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    print("logistic regression on raw pixels: test accuracy %.4f (%d images)" % (acc, len(xte)))


if __name__ == "__main__":
    main()
