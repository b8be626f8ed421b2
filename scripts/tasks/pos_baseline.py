#!/usr/bin/python3
"""Most-frequent-tag baseline for the part-of-speech split (issue 11).

Usage: pos_baseline.py DATA_DIR

DATA_DIR is build/data/pos (scripts/data.sh pos). Learns from train.txt (word/TAG lines),
scores token accuracy on test.txt, and on its two parts test-wsj.txt and test-oanc.txt.

  baseline      each word form (case kept, as found) gets the tag it carries most often
                in train (ties: the alphabetically first tag); a word never seen in
                train gets the most frequent tag of all of train (NN).
  + shape rule  the same, but unseen words by shape: a number (digits with , . - /)
                -> CD, capitalised -> NNP, ending in "s" -> NNS, else NN. Given only to
                show how much of the gap is unseen words; the issue's baseline is the
                first.
Standard library only; deterministic.
"""
import collections
import os
import re
import sys


def read(path):
    sents = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            toks = line.split()
            if toks:
                sents.append([tuple(t.rsplit("/", 1)) for t in toks])
    return sents


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: pos_baseline.py DATA_DIR")
    d = sys.argv[1]
    train = read(os.path.join(d, "train.txt"))
    counts = collections.defaultdict(collections.Counter)
    all_tags = collections.Counter()
    for s in train:
        for w, t in s:
            counts[w][t] += 1
            all_tags[t] += 1
    best = {w: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for w, c in counts.items()}
    default = min(all_tags.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def shape(w):
        if re.fullmatch(r"[0-9][0-9,./-]*", w):
            return "CD"
        if w[:1].isupper():
            return "NNP"
        if w.endswith("s"):
            return "NNS"
        return "NN"

    print("train: %d sentences, %d tokens, %d word forms, %d tags; most frequent tag %s (%d tokens, %.4f)" % (
        len(train), sum(all_tags.values()), len(counts), len(all_tags), default, all_tags[default],
        all_tags[default] / sum(all_tags.values())))
    for name in ("test", "test-wsj", "test-oanc"):
        sents = read(os.path.join(d, name + ".txt"))
        n = ok = ok_shape = unk = ok_unk = ok_unk_shape = 0
        for s in sents:
            for w, t in s:
                n += 1
                if w in best:
                    ok += best[w] == t
                    ok_shape += best[w] == t
                else:
                    unk += 1
                    ok += default == t
                    ok_unk += default == t
                    ok_shape += shape(w) == t
                    ok_unk_shape += shape(w) == t
        print("%-9s %5d sentences %6d tokens: most-frequent-tag accuracy %.4f (%d); "
              "unseen words %d (%.2f %%, %.4f right); with the shape rule %.4f (unseen %.4f)" % (
                  name, len(sents), n, ok / n, ok, unk, 100.0 * unk / n, ok_unk / max(unk, 1),
                  ok_shape / n, ok_unk_shape / max(unk, 1)))


if __name__ == "__main__":
    main()
