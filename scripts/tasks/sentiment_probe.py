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
model is retrained on all of train and scored once on test: sentiment_baseline.py's
trainer on dense features. numpy only.
"""
import os
import sys

import numpy as np

from sentiment_baseline import accuracy, read_tsv, train


class Dense:
    """Vectors (n, d) and labels as the baseline's trainer takes a data set."""

    def __init__(self, X, rows):
        self.X, (self.n, self.V) = X, X.shape
        self.y = np.array([1.0 if lab == "pos" else 0.0 for _, lab in rows])

    def dot(self, w, b):  # X w + b
        return self.X @ w + b

    def tdot(self, g):  # X^T g
        return self.X.T @ g


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sentiment_probe.py EMB_DIR DATA_DIR")
    emb, data = sys.argv[1], sys.argv[2]
    X, rows = {}, {}
    for s in ("fit", "dev", "train", "test"):
        X[s] = np.loadtxt(os.path.join(emb, s + ".txt"), ndmin=2)
        rows[s] = read_tsv(os.path.join(data, s + ".tsv"))
        if len(X[s]) != len(rows[s]):
            sys.exit("sentiment_probe.py: %s.txt has %d vectors for %d rows" % (s, len(X[s]), len(rows[s])))

    def standardised(on, *sets):  # by the mean and deviation of the rows `on`
        mu, sd = X[on].mean(0), X[on].std(0) + 1e-6
        return [Dense((X[s] - mu) / sd, rows[s]) for s in sets]

    fit, dev_set = standardised("fit", "fit", "dev")
    dev = {}
    for lam in (1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1):
        w, b, _, _ = train(fit, lam, steps=800)
        dev[lam] = accuracy(dev_set, w, b)
    best = max(dev, key=lambda k: (dev[k], k))  # ties: the stronger decay
    tr, te = standardised("train", "train", "test")
    w, b, _, _ = train(tr, best, steps=800)
    print("dev accuracy by lambda: %s; lambda %g: dev %.4f, held-out test %.4f" % (
        ", ".join("%g: %.4f" % kv for kv in dev.items()), best, dev[best], accuracy(te, w, b)))


if __name__ == "__main__":
    main()
