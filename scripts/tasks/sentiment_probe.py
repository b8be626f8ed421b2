#!/usr/bin/python3
"""A frozen-feature probe of a pretrained body on the sentiment split (docs/RESULTS.md).

Usage: sentiment_probe.py EMB_DIR DATA_DIR

EMB_DIR holds fit.txt, dev.txt, train.txt and test.txt: one vector per line, the rows of
DATA_DIR's (build/data/sentiment) .jsonl files in order, as `zhuyi embed` writes them:

  for s in fit dev train test; do
    build/zhuyi embed MODEL --file build/data/sentiment/$s.jsonl --jsonl --pooling mean \
        > EMB_DIR/$s.txt
  done

Logistic regression on the standardised vectors (mean and deviation of the training
rows), loss = mean log-loss + lambda/2 |w|^2, full-batch Adam (lr 0.05, 800 steps, zero
start: deterministic); lambda chosen by dev accuracy after training on fit, then the
model is retrained on all of train and scored once on test. numpy only.
"""
import csv
import os
import sys

import numpy as np


def labels(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, dialect="excel-tab"))[1:]
    return np.array([1.0 if lab == "pos" else 0.0 for _, lab in rows])


def train(X, y, lam, steps=800, lr=0.05):
    n, d = X.shape
    w, b = np.zeros(d), 0.0
    m, v = np.zeros(d + 1), np.zeros(d + 1)
    for t in range(1, steps + 1):
        z = X @ w + b
        g = (1 / (1 + np.exp(-z)) - y) / n
        grad = np.concatenate([X.T @ g + lam * w, [g.sum()]])
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        s = lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        w -= s[:-1]
        b -= s[-1]
    return w, b


def accuracy(X, y, w, b):
    return float(np.mean((X @ w + b > 0) == (y > 0.5)))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sentiment_probe.py EMB_DIR DATA_DIR")
    emb, data = sys.argv[1], sys.argv[2]
    X = {s: np.loadtxt(os.path.join(emb, s + ".txt"), ndmin=2) for s in ("fit", "dev", "train", "test")}
    y = {s: labels(os.path.join(data, s + ".tsv")) for s in X}
    for s in X:
        if len(X[s]) != len(y[s]):
            sys.exit("sentiment_probe.py: %s.txt has %d vectors for %d rows" % (s, len(X[s]), len(y[s])))
    mu, sd = X["fit"].mean(0), X["fit"].std(0) + 1e-6
    dev = {}
    for lam in (1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1):
        w, b = train((X["fit"] - mu) / sd, y["fit"], lam)
        dev[lam] = accuracy((X["dev"] - mu) / sd, y["dev"], w, b)
    best = max(dev, key=lambda k: (dev[k], k))  # ties: the stronger decay
    mu, sd = X["train"].mean(0), X["train"].std(0) + 1e-6
    w, b = train((X["train"] - mu) / sd, y["train"], best)
    print("dev accuracy by lambda: %s; lambda %g: dev %.4f, held-out test %.4f" % (
        ", ".join("%g: %.4f" % kv for kv in dev.items()), best, dev[best],
        accuracy((X["test"] - mu) / sd, y["test"], w, b)))


if __name__ == "__main__":
    main()
