#!/usr/bin/python3
"""Trivial baselines for the King James QA set (issue 11), scored with SQuAD EM / F1.

Usage: kjv_qa_baseline.py DATA_DIR

DATA_DIR is build/data/kjv-qa (scripts/data.sh kjv-qa). Scores test.jsonl (verse
contexts) and test-chapter.jsonl (chapter contexts). Neither baseline learns anything;
they show how much of the task a shallow rule solves, so a fine-tuned model's EM/F1 can
be read against them. (The rules that built the set would score 100 %: the questions
are made from the same patterns; a model has to learn them from the examples.)

  first-name    the first capitalised word of the context that is not a stop word
                (And, The, ...) and not a word of the question.
  nearest-name  find the question's name (its last capitalised word) in the context; the
                answer is the nearest capitalised non-stop word after it for "Whom did A
                beget?" and "Whose son/daughter was A?", before it for "Who begat B?"
                (first occurrence of the name; first-name when it is absent).

EM and F1 as the official SQuAD v1.1 evaluation script computes them: answers
normalised by lower-casing, removing punctuation and the articles a/an/the, and
collapsing whitespace; F1 over the normalised tokens; the maximum over the gold answers;
means over questions, in per cent.
"""
import collections
import json
import os
import re
import string
import sys

STOP = {"And", "He", "She", "They", "It", "Which", "Who", "That", "This", "These", "Those",
        "But", "For", "Then", "Thus", "Also", "Now", "So", "Thou", "Ye", "I", "We", "His",
        "Her", "Him", "The", "A", "An", "In", "Of", "Lord", "God", "LORD", "King", "O",
        "Behold", "When", "Whosoever", "To", "Is", "As", "All"}


def normalize(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def f1(pred, gold):
    p, g = normalize(pred).split(), normalize(gold).split()
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    prec, rec = same / len(p), same / len(g)
    return 2 * prec * rec / (prec + rec)


def names(context):
    return [(m.group(), m.start()) for m in re.finditer(r"\b[A-Z][a-z]+\b", context) if m.group() not in STOP]


def first_name(r):
    q = set(re.findall(r"\w+", r["question"]))
    for n, _ in names(r["context"]):
        if n not in q:
            return n
    return ""


def nearest_name(r):
    q = r["question"]
    subj = re.findall(r"\b[A-Z][a-z]+\b", q)[-1]
    ns = names(r["context"])
    where = [i for i, (n, _) in enumerate(ns) if n == subj]
    if not where:
        return first_name(r)
    i = where[0]
    if q.startswith("Who begat"):
        cand = [n for n, _ in reversed(ns[:i]) if n != subj]
    else:
        cand = [n for n, _ in ns[i + 1:] if n != subj]
    return cand[0] if cand else first_name(r)


def score(recs, fn):
    em = f = 0.0
    for r in recs:
        p = fn(r)
        golds = r["answers"]["text"]
        em += max(float(normalize(p) == normalize(g)) for g in golds)
        f += max(f1(p, g) for g in golds)
    return 100 * em / len(recs), 100 * f / len(recs)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: kjv_qa_baseline.py DATA_DIR")
    for name in ("test", "test-chapter"):
        with open(os.path.join(sys.argv[1], name + ".jsonl"), encoding="utf-8") as f:
            recs = [json.loads(l) for l in f]
        for label, fn in (("first-name", first_name), ("nearest-name", nearest_name)):
            em, f1_ = score(recs, fn)
            print("%-13s %4d questions  %-12s EM %5.1f  F1 %5.1f" % (name, len(recs), label, em, f1_))


if __name__ == "__main__":
    main()
