#!/usr/bin/python3
"""How held-out sentiment accuracy grows with the number of labelled sentences (issue 11):
the subsets of scripts/tasks/sentiment_curve.sh, and the bag-of-words baseline on each.

Usage: sentiment_curve.py subsets DATA_DIR OUT_DIR F...
       sentiment_curve.py baseline DATA_DIR OUT_DIR F...

subsets: for each fraction F (e.g. 0.125), OUT_DIR/fit-F.tsv and OUT_DIR/train-F.tsv: the
    first round(F * n / 2) rows of each label of fit.tsv and of train.tsv, in the files'
    order (the split's sha256 key order, scripts/tasks/sentiment_data.py), so every
    subset is balanced, deterministic and contains the smaller ones.
baseline: sentiment_baseline.py's two models (binary words; words + bigrams) on each
    subset: lambda chosen by dev accuracy after training on fit-F, dev's best accuracy
    printed beside the held-out test accuracy of the same lambda retrained on train-F.
    Prints one line per fraction and model.
"""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sentiment_baseline as sb  # noqa: E402


def subset(rows, frac):
    per = int(round(frac * len(rows) / 2))
    out, seen = [], {"pos": 0, "neg": 0}
    for t, lab in rows:
        if seen[lab] < per:
            out.append((t, lab))
            seen[lab] += 1
    return out


def write_tsv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, dialect="excel-tab", lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows(rows)


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("subsets", "baseline"):
        sys.exit(__doc__.split("\n\n")[1])
    what, data, out, fracs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    read = {n: sb.read_tsv(os.path.join(data, n + ".tsv")) for n in ("fit", "dev", "train", "test")}
    os.makedirs(out, exist_ok=True)
    for f in fracs:
        fit, train = subset(read["fit"], float(f)), subset(read["train"], float(f))
        if what == "subsets":
            write_tsv(os.path.join(out, "fit-%s.tsv" % f), fit)
            write_tsv(os.path.join(out, "train-%s.tsv" % f), train)
            continue
        for bigrams in (False, True):
            r = sb.select_and_score(fit, read["dev"], train, read["test"], bigrams)
            print("%-6s fit %4d train %4d  %-15s lambda %-6g dev %.4f  test %.4f" % (
                f, len(fit), len(train), "words+bigrams" if bigrams else "words", r["lambda"],
                r["dev_accuracy_by_lambda"][r["lambda"]], r["test_accuracy"]))


if __name__ == "__main__":
    main()
