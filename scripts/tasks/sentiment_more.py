#!/usr/bin/python3
"""More training data for the sentiment task, tried on 2026-12-07 (docs/RESULTS.md): two
cleaner cuts of the reviews' distant labels, and replaced-token detection data for a
second, ELECTRA-style pretraining stage. None of them is in scripts/tasks/sentiment.sh:
none moved the dev accuracy beyond its noise.

Usage: sentiment_more.py ends DATA_DIR OUT.tsv
       sentiment_more.py agree DATA_DIR PREDICTIONS.jsonl OUT.tsv [MIN_SCORE]
       sentiment_more.py rtd MODEL_DIR TEXT OUT.jsonl [PASSES] [SEED] [MAX_LINES]

DATA_DIR is build/data/sentiment (scripts/data.sh sentiment). Every output is sorted or
seeded: the same inputs give the same file.

ends: the review sentences of reviews.tsv that open or close their review (its first
  line and last four, or every line of a review of five or fewer; mlm-reviews.txt holds
  the reviews in order, after the 450 documents of training sentences), each with its
  review's label. A review's verdict tends to sit at its ends; the middle is often plot.
agree: the rows of reviews.tsv whose review label a fine-tuned classifier predicts too,
  with at least MIN_SCORE (default 0.7): PREDICTIONS.jsonl is `zhuyi predict`'s output
  on reviews.tsv, line for line. The classes are then balanced by keeping every row of
  the smaller one and a seeded sample of the larger (Python's random, seed 1).
rtd: replaced-token detection (ELECTRA's objective, Clark et al. 2020) with a fixed
  generator: in each line of TEXT with 3 to 60 words, 15 % of the words (at least one,
  chosen at random) are masked, the masked-LM in MODEL_DIR proposes 50 candidates for each
  (`zhuyi fill-mask --top-k 50`), and one is drawn in proportion to its probability
  (word pieces "##..." and special tokens left out); a word replaced by another is tagged
  R, every other word O. OUT.jsonl is `zhuyi finetune tag` input ({"tokens", "tags"}),
  PASSES lines per input line (default 1, each with its own masks), SEED for Python's
  random (default 1), the first MAX_LINES eligible lines only (default all).
"""
import csv
import json
import os
import random
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN_DOCS = 450  # sentiment_data.py: the 3,600 training sentences in documents of 8


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, dialect="excel-tab"))
    assert rows[0] == ["text", "label"], path
    return rows[1:]


def write_tsv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, dialect="excel-tab", lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows(rows)
    pos = sum(1 for _, lab in rows if lab == "pos")
    print("%s: %d rows (pos %d, neg %d)" % (path, len(rows), pos, len(rows) - pos))


def ends(data, out):
    label = dict(read_tsv(os.path.join(data, "reviews.tsv")))
    with open(os.path.join(data, "mlm-reviews.txt"), encoding="utf-8") as f:
        docs = [d.split("\n") for d in f.read().split("\n\n") if d.strip()]
    rows = []
    for d in docs[TRAIN_DOCS:]:
        d = [s for s in d if s in label]
        for s in d[:1] + d[-4:] if len(d) > 5 else d:
            rows.append((s, label[s]))
    write_tsv(out, sorted(set(rows)))


def agree(data, preds, out, min_score):
    rows = read_tsv(os.path.join(data, "reviews.tsv"))
    with open(preds, encoding="utf-8") as f:
        p = [json.loads(line) for line in f]
    if len(p) != len(rows):
        sys.exit("%s: %d predictions for %d rows" % (preds, len(p), len(rows)))
    kept = [r for r, q in zip(rows, p) if q["label"] == r[1] and q["score"] >= min_score]
    by = {lab: [r for r in kept if r[1] == lab] for lab in ("pos", "neg")}
    small, large = sorted(by.values(), key=len)
    random.Random(1).shuffle(large)
    write_tsv(out, sorted(small + large[:len(small)]))


def rtd(model, text, out, passes, seed, max_lines):
    with open(text, encoding="utf-8") as f:
        lines = [w for w in (line.split() for line in f) if 3 <= len(w) <= 60][:max_lines]
    rng = random.Random(seed)
    plan, queries = [], []
    for _ in range(passes):
        for w in lines:
            at = sorted(rng.sample(range(len(w)), max(1, round(0.15 * len(w)))))
            masked = list(w)
            for i in at:
                masked[i] = "[MASK]"
            plan.append((w, at))
            queries.append(" ".join(masked))
    zy = os.path.join(ROOT, "build", "zhuyi")
    r = subprocess.run([zy, "fill-mask", model, "--file", "-", "--json", "--top-k", "50",
                        "--truncate"], input="\n".join(queries).encode(),
                       stdout=subprocess.PIPE, check=True)
    proposals = r.stdout.decode().splitlines()
    if len(proposals) != sum(len(at) for _, at in plan):
        sys.exit("fill-mask gave %d answers for %d masks" %
                 (len(proposals), sum(len(at) for _, at in plan)))
    k = replaced = 0
    with open(out, "w", encoding="utf-8") as f:
        for w, at in plan:
            tokens, tags = list(w), ["O"] * len(w)
            for i in at:
                c = [x for x in json.loads(proposals[k])
                     if not x["token"].startswith("##") and not x["token"].startswith("[")]
                k += 1
                if not c:
                    continue
                u, s, pick = rng.random() * sum(x["score"] for x in c), 0.0, c[-1]["token"]
                for x in c:
                    s += x["score"]
                    if s >= u:
                        pick = x["token"]
                        break
                if pick != w[i]:
                    tokens[i], tags[i] = pick, "R"
                    replaced += 1
            f.write(json.dumps({"tokens": tokens, "tags": tags}) + "\n")
    print("%s: %d lines, %d words masked, %d replaced" % (out, len(plan), k, replaced))


def main(a):
    if len(a) >= 3 and a[0] == "ends":
        return ends(a[1], a[2])
    if len(a) >= 4 and a[0] == "agree":
        return agree(a[1], a[2], a[3], float(a[4]) if len(a) > 4 else 0.7)
    if len(a) >= 4 and a[0] == "rtd":
        return rtd(a[1], a[2], a[3], int(a[4]) if len(a) > 4 else 1,
                   int(a[5]) if len(a) > 5 else 1, int(a[6]) if len(a) > 6 else 1 << 62)
    sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
