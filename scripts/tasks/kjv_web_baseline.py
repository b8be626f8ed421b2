#!/usr/bin/python3
"""Baselines and scores for the "Rewrite in modern English" set (kjv-web, issue 12).

Usage: kjv_web_baseline.py TEST_JSONL [PRED_JSONL]

TEST_JSONL is build/data/kjv-web/test.jsonl (scripts/data.sh kjv-web): {"id", "prompt",
"completion"} a line, the prompt "Rewrite in modern English: <KJV verse>", the
completion the same verse in the World English Bible (WEB).

Without PRED_JSONL: scores two rules that learn nothing, on every test pair, so a
model's rewrites can be read against them:
  copy     the answer is the KJV verse itself (the prompt without its instruction);
  thou     the KJV verse with the archaic words of the table ARCHAIC below replaced
           word by word (thou/thee/ye -> you, thy/thine -> your, hath -> has, saith ->
           says, unto -> to, ...), the capital of a replaced word kept; nothing else.
With PRED_JSONL ({"id", "text"} a line: a model's rewrite of the test pair of that id):
scores the predictions and, on exactly the same ids, the two rules.

Metrics (both in per cent; references: the WEB verses):
  chrF     character n-gram F-score as sacrebleu 2.x computes corpus chrF with its
           defaults (chrF2: n = 1..6, beta = 2, case kept, spaces removed, no word
           n-grams, no eps smoothing): for each n the hypothesis, reference and matching
           (clipped) n-gram counts are summed over the whole set; precision P_n and
           recall R_n are averaged over the n whose counts are not zero, and
           chrF = (1 + b^2) P R / (b^2 P + R) of the averages. (Checked against the
           scores sacrebleu's metric card gives for its examples: 61.5764, 84.6421.)
  F1       token F1 per verse, averaged over verses: lower-cased, punctuation removed,
           split at whitespace; the F1 of the multisets of tokens (SQuAD's, without
           SQuAD's removal of articles, which a rewrite should get right too).
  exact    share of verses where the answer equals the reference after the same
           normalisation.
"""
import collections
import json
import re
import string
import sys

PREFIX = "Rewrite in modern English: "
ORDER, BETA = 6, 2.0

# Archaic word -> modern word, applied to whole words (case-insensitively; a capital
# first letter is kept). Chosen from what the WEB itself writes for them; ambiguous
# words (art, wilt, shalt: these need the verb after them changed) are left alone.
ARCHAIC = {
    "thou": "you", "thee": "you", "ye": "you", "thy": "your", "thine": "your",
    "thyself": "yourself", "hath": "has", "doth": "does", "saith": "says",
    "unto": "to", "hast": "have", "spake": "spoke", "shew": "show", "shewed": "showed",
    "whence": "where", "whither": "where", "wherefore": "therefore",
    "begat": "became the father of",
}


def modernise(text):
    def rep(m):
        w = m.group(0)
        new = ARCHAIC[w.lower()]
        return new[0].upper() + new[1:] if w[0].isupper() else new
    pat = r"\b(" + "|".join(ARCHAIC) + r")\b"
    return re.sub(pat, rep, text, flags=re.IGNORECASE)


def tokens(s):
    s = s.lower()
    s = "".join(" " if ch in string.punctuation or ch in "\u2014\u2013" else ch for ch in s)
    return s.split()


def token_f1(pred, gold):
    p, g = tokens(pred), tokens(gold)
    if not p or not g:
        return float(p == g)
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if same == 0:
        return 0.0
    prec, rec = same / len(p), same / len(g)
    return 2 * prec * rec / (prec + rec)


def char_ngrams(s, n):
    s = "".join(s.split())
    return collections.Counter(s[i:i + n] for i in range(len(s) - n + 1))


def chrf(preds, golds):
    hyp = [0] * ORDER
    ref = [0] * ORDER
    match = [0] * ORDER
    for p, g in zip(preds, golds):
        for n in range(1, ORDER + 1):
            hp, gp = char_ngrams(p, n), char_ngrams(g, n)
            hyp[n - 1] += sum(hp.values())
            ref[n - 1] += sum(gp.values())
            match[n - 1] += sum((hp & gp).values())
    prec = rec = 0.0
    eff = 0
    for n in range(ORDER):
        if hyp[n] and ref[n]:
            prec += match[n] / hyp[n]
            rec += match[n] / ref[n]
            eff += 1
    if eff == 0:
        return 0.0
    prec, rec, b2 = prec / eff, rec / eff, BETA * BETA
    den = b2 * prec + rec
    return 100.0 * (1 + b2) * prec * rec / den if den > 0 else 0.0


def scores(preds, golds):
    f1 = sum(token_f1(p, g) for p, g in zip(preds, golds)) / len(golds)
    exact = sum(tokens(p) == tokens(g) for p, g in zip(preds, golds)) / len(golds)
    return chrf(preds, golds), 100 * f1, 100 * exact


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: kjv_web_baseline.py TEST_JSONL [PRED_JSONL]")
    test = read_jsonl(sys.argv[1])
    for r in test:
        if not r["prompt"].startswith(PREFIX):
            sys.exit("kjv_web_baseline.py: %s: a prompt without %r" % (r["id"], PREFIX))
    rows = [("copy", lambda r: r["prompt"][len(PREFIX):]),
            ("thou", lambda r: modernise(r["prompt"][len(PREFIX):]))]
    if len(sys.argv) == 3:
        pred = {r["id"]: r["text"] for r in read_jsonl(sys.argv[2])}
        missing = [i for i in pred if i not in {r["id"] for r in test}]
        if missing:
            sys.exit("kjv_web_baseline.py: predictions for ids not in the test set: %s"
                     % " ".join(missing[:5]))
        test = [r for r in test if r["id"] in pred]
        rows.insert(0, ("model", lambda r: pred[r["id"]]))
        what = "%d test verses with a prediction (%s)" % (len(test), sys.argv[2])
    else:
        what = "all %d test verses" % len(test)
    golds = [r["completion"] for r in test]
    print("kjv-web, %s; reference: the WEB verse" % what)
    print("%-6s %7s %7s %7s" % ("answer", "chrF", "F1", "exact"))
    for name, fn in rows:
        c, f, e = scores([fn(r) for r in test], golds)
        print("%-6s %7.2f %7.2f %7.2f" % (name, c, f, e))


if __name__ == "__main__":
    main()
