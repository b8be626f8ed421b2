#!/usr/bin/python3
"""Bag-of-words logistic regression on the sentiment split (the baseline of issue 11).

Usage: sentiment_baseline.py DATA_DIR [--json]

DATA_DIR is build/data/sentiment (scripts/data.sh sentiment): train.tsv, test.tsv and
train's cut fit.tsv + dev.tsv. numpy only (Debian's python3-numpy, which python3-torch
brings); no randomness anywhere (zero initial weights, full-batch steps), so the figures
are the same on every run.

Features: the sentence split on whitespace (the corpus is already tokenised and
lower-cased), binary indicators of the words (and, for the second model, of the word
bigrams too) seen in the training rows at least once; a bias. Words never seen in
training are ignored.

Model: logistic regression, loss = mean log-loss + lambda/2 * |w|^2 (bias not decayed),
minimised by full-batch Adam (lr 0.05, 600 steps; the loss changes by less than 1e-5
per step at the end). lambda is chosen from {1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2} by accuracy
on dev after training on fit; then the model is retrained with that lambda on all of
train (fit + dev, 3,600 rows) and scored once on test (400 rows).
"""
import csv
import json
import os
import sys

import numpy as np


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, dialect="excel-tab"))
    assert rows[0] == ["text", "label"], path
    return [(t, l) for t, l in rows[1:]]


def feats(text, bigrams):
    w = text.split()
    f = set(w)
    if bigrams:
        f.update(a + " " + b for a, b in zip(w, w[1:]))
    return f


class Data:
    """A binary CSR-like matrix as (row, col) index arrays."""

    def __init__(self, rows, vocab, bigrams):
        r, c = [], []
        for i, (t, _) in enumerate(rows):
            for f in sorted(feats(t, bigrams)):  # (a set's order changes with the hash seed)
                j = vocab.get(f)
                if j is not None:
                    r.append(i)
                    c.append(j)
        self.r = np.array(r, dtype=np.int64)
        self.c = np.array(c, dtype=np.int64)
        self.n = len(rows)
        self.V = len(vocab)
        self.y = np.array([1.0 if l == "pos" else 0.0 for _, l in rows])

    def dot(self, w, b):  # X w + b
        return np.bincount(self.r, weights=w[self.c], minlength=self.n) + b

    def tdot(self, g):  # X^T g
        return np.bincount(self.c, weights=g[self.r], minlength=self.V)


def train(d, lam, steps=600, lr=0.05):
    w = np.zeros(d.V)
    b = 0.0
    m = np.zeros(d.V + 1)
    v = np.zeros(d.V + 1)
    b1, b2, eps = 0.9, 0.999, 1e-8
    prev = None
    for t in range(1, steps + 1):
        z = d.dot(w, b)
        p = 1.0 / (1.0 + np.exp(-z))
        loss = np.mean(np.logaddexp(0, z) - d.y * z) + 0.5 * lam * np.dot(w, w)
        g = (p - d.y) / d.n
        grad = np.concatenate([d.tdot(g) + lam * w, [g.sum()]])
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad * grad
        step = lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        w -= step[:-1]
        b -= step[-1]
        delta = None if prev is None else abs(prev - loss)
        prev = loss
    return w, b, loss, delta


def accuracy(d, w, b):
    return float(np.mean((d.dot(w, b) > 0) == (d.y > 0.5)))


LAMBDAS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)


def vocab_of(rows, bigrams):
    v = {}
    for t, _ in rows:
        for f in sorted(feats(t, bigrams)):
            v.setdefault(f, len(v))
    return v


def select_and_score(fit, dev, train_rows, test, bigrams):
    """lambda by dev accuracy after training on fit (ties: the stronger decay), then the
    model retrained on train_rows with it and scored on test."""
    vf = vocab_of(fit, bigrams)
    dfit, ddev = Data(fit, vf, bigrams), Data(dev, vf, bigrams)
    dev_acc = {}
    for lam in LAMBDAS:
        w, b, _, _ = train(dfit, lam)
        dev_acc[lam] = accuracy(ddev, w, b)
    best = max(dev_acc, key=lambda k: (dev_acc[k], k))
    vt = vocab_of(train_rows, bigrams)
    dtr, dte = Data(train_rows, vt, bigrams), Data(test, vt, bigrams)
    w, b, loss, delta = train(dtr, best)
    return {
        "model": "logistic regression, binary " + ("unigrams + bigrams" if bigrams else "unigrams"),
        "features": len(vt), "lambda": best, "dev_accuracy_by_lambda": dev_acc,
        "train_accuracy": accuracy(dtr, w, b), "test_accuracy": accuracy(dte, w, b),
        "test_correct": int(round(accuracy(dte, w, b) * dte.n)), "test_rows": dte.n,
        "final_loss": float(loss), "last_step_change": float(delta),
    }


def run(data_dir, bigrams):
    rows = [read_tsv(os.path.join(data_dir, n + ".tsv")) for n in ("fit", "dev", "train", "test")]
    return select_and_score(*rows, bigrams)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: sentiment_baseline.py DATA_DIR [--json]")
    res = [run(sys.argv[1], False), run(sys.argv[1], True)]
    if "--json" in sys.argv:
        print(json.dumps(res, indent=1))
        return
    for r in res:
        print("%s: %d features, lambda %g (dev accuracy by lambda: %s)" % (
            r["model"], r["features"], r["lambda"],
            ", ".join("%g: %.4f" % kv for kv in r["dev_accuracy_by_lambda"].items())))
        print("  train accuracy %.4f, held-out test accuracy %.4f (%d / %d); final loss %.5f, "
              "last step changed it by %.1e" % (r["train_accuracy"], r["test_accuracy"],
                                                r["test_correct"], r["test_rows"],
                                                r["final_loss"], r["last_step_change"]))


if __name__ == "__main__":
    main()
