"""Reference values for zhuyi's metrics (src/eval), checked by tests/test_metrics.c.

Independent Python implementations, standard library only (seqeval, scikit-learn and
numpy are not used), written from the documented rules:
- classification as scikit-learn >= 1.3 computes it (precision_recall_fscore_support,
  classification_report with labels=None, zero_division=0; F1 = 2 tp / (true + pred));
- entity-level scores as seqeval's default mode (get_entities' conlleval-style
  start/end-of-chunk rules over the sentences joined with an "O" between them, entities
  as sets of (start, end) per type, F1 = 2 p r / (p + r));
- SQuAD v1.1's evaluate script (lower, string.punctuation, re \\b(a|an|the)\\b, split),
  with Python's own str.lower / re / str.split, which the C code reimplements;
- regression: MSE, MAE, Pearson, Spearman with average ranks.
Averages sum in numpy's pairwise order (checked once against numpy 1.24 on 20000 random
arrays: bit-identical for np.mean and np.average(weights=...)), so the C code must agree
to the bit.

Writes tests/ref/metrics.jsonl: one JSON object per case (kind, inputs, expected values;
floats as Python's repr, which strtod reads back exactly; NaN as null). Deterministic
(fixed seed). Run: /usr/bin/python3 tests/ref_metrics.py
"""
import json
import math
import os
import random
import re
import string
import struct
from collections import Counter

# ---- numpy's summation order --------------------------------------------------------------


def pairwise_sum(a):
    n = len(a)
    if n < 8:
        s = 0.0
        for x in a:
            s += x
        return s
    if n <= 128:
        r = list(a[:8])
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += a[i + j]
            i += 8
        s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            s += a[i]
            i += 1
        return s
    n2 = n // 2
    n2 -= n2 % 8
    return pairwise_sum(a[:n2]) + pairwise_sum(a[n2:])


def mean(a):
    return pairwise_sum(a) / len(a) if a else 0.0


def weighted(a, w):
    tot = sum(w)
    if tot == 0:
        return 0.0
    return pairwise_sum([x * y for x, y in zip(a, w)]) / float(tot)


def div(a, b):
    return a / b if b else 0.0


def class_scores(tp, pred, true, f1_from_pr):
    p, r = div(tp, pred), div(tp, true)
    if f1_from_pr:
        f = 0.0 if p + r == 0 else 2.0 * p * r / (p + r)
    else:
        f = div(2 * tp, true + pred)
    return {"tp": tp, "predicted": pred, "support": true, "p": p, "r": r, "f1": f}


def averages(rows, f1_from_pr):
    """rows: the per-class dicts that count. micro / macro / weighted as [p, r, f1]."""
    tp = sum(x["tp"] for x in rows)
    pred = sum(x["predicted"] for x in rows)
    true = sum(x["support"] for x in rows)
    m = class_scores(tp, pred, true, f1_from_pr)
    sup = [x["support"] for x in rows]
    return {
        "tp": tp, "predicted": pred, "support": true, "classes": len(rows),
        "micro": [m["p"], m["r"], m["f1"]],
        "macro": [mean([x[k] for x in rows]) for k in ("p", "r", "f1")],
        "weighted": [weighted([x[k] for x in rows], sup) for k in ("p", "r", "f1")],
    }


# ---- single-label classification -----------------------------------------------------------


def classification(K, gold, pred):
    per = []
    for c in range(K):
        tp = sum(1 for g, p in zip(gold, pred) if g == c and p == c)
        per.append(class_scores(tp, pred.count(c), gold.count(c), False))
    present = [per[c] for c in sorted(set(gold) | set(pred))]  # sklearn's labels=None
    out = {"kind": "class", "K": K, "gold": gold, "pred": pred, "per": per}
    correct = sum(1 for g, p in zip(gold, pred) if g == p)
    out["accuracy"] = correct / len(gold) if gold else 0.0
    out["correct"] = correct
    out.update(averages(present, False))
    return out


def multilabel(L, gold, pred):
    per = []
    for j in range(L):
        tp = sum(1 for g, p in zip(gold, pred) if g[j] and p[j])
        per.append(class_scores(tp, sum(p[j] for p in pred), sum(g[j] for g in gold), False))
    exact = sum(1 for g, p in zip(gold, pred) if g == p)
    out = {"kind": "multilabel", "L": L, "gold": gold, "pred": pred, "per": per,
           "accuracy": exact / len(gold) if gold else 0.0, "correct": exact}
    out.update(averages(per, False))
    return out


# ---- regression -------------------------------------------------------------------------------


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def pearson(x, y):
    n = len(x)
    mx, my = mean(x), mean(y)
    sxy = sxx = syy = 0.0
    for a, b in zip(x, y):
        sxy += (a - mx) * (b - my)
        sxx += (a - mx) * (a - mx)
        syy += (b - my) * (b - my)
    if sxx == 0 or syy == 0:
        return None
    r = sxy / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, r))


def avg_ranks(x):
    order = sorted(range(len(x)), key=lambda i: x[i])
    rank = [0.0] * len(x)
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for t in range(i, j + 1):
            rank[order[t]] = (i + 1 + j + 1) / 2.0
        i = j + 1
    return rank


def regression(gold, pred):
    return {"kind": "regression", "gold": gold, "pred": pred,
            "mse": mean([(p - g) ** 2 for g, p in zip(gold, pred)]),
            "mae": mean([abs(p - g) for g, p in zip(gold, pred)]),
            "pearson": pearson(gold, pred),
            "spearman": pearson(avg_ranks(gold), avg_ranks(pred))}


# ---- seqeval, default mode ----------------------------------------------------------------------


def split_tag(t):
    letter = t[0]
    rest = t[1:]
    typ = rest.split("-", 1)[-1]
    return letter, (typ if typ else "_")


def chunk_ends(prev, cur):
    (pt, pty), (t, ty) = prev, cur
    if pt in ("E", "S"):
        return True
    if pt in ("B", "I") and t in ("B", "S", "O"):
        return True
    return pt not in ("O", ".") and pty != ty


def chunk_starts(prev, cur):
    (pt, pty), (t, ty) = prev, cur
    if t in ("B", "S"):
        return True
    if pt in ("E", "S", "O") and t in ("I", "E"):
        return True
    return t not in ("O", ".") and pty != ty


def entities(sentences):
    """(type, start, end) over the sentences joined with an "O" after each."""
    flat = []
    for s in sentences:
        flat += list(s) + ["O"]
    found, prev, begin = [], ("O", ""), 0
    for i, t in enumerate(flat + ["O"]):
        cur = split_tag(t)
        if chunk_ends(prev, cur):
            found.append((prev[1], begin, i - 1))
        if chunk_starts(prev, cur):
            begin = i
        prev = cur
    return found


def seqeval_case(gold, pred, name=""):
    tg, tp = {}, {}
    for typ, a, b in entities(gold):
        tg.setdefault(typ, set()).add((a, b))
    for typ, a, b in entities(pred):
        tp.setdefault(typ, set()).add((a, b))
    names = sorted(set(tg) | set(tp))  # seqeval: sorted() on str, code point order
    per = [class_scores(len(tg.get(n, set()) & tp.get(n, set())), len(tp.get(n, set())),
                        len(tg.get(n, set())), True) for n in names]
    tokens = sum(len(s) for s in gold)
    correct = sum(1 for gs, ps in zip(gold, pred) for a, b in zip(gs, ps) if a == b)
    out = {"kind": "seqeval", "name": name, "gold": gold, "pred": pred, "types": names,
           "per": per, "accuracy": correct / tokens if tokens else 0.0, "correct": correct,
           "tokens": tokens}
    out.update(averages(per, True))
    return out


# ---- SQuAD v1.1 -----------------------------------------------------------------------------------


def normalize(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def squad_f1(pred, gold):
    pt, gt = normalize(pred).split(), normalize(gold).split()
    same = sum((Counter(pt) & Counter(gt)).values())
    if same == 0:
        return 0
    p, r = 1.0 * same / len(pt), 1.0 * same / len(gt)
    return (2 * p * r) / (p + r)


def squad_case(questions, name=""):
    """questions: [(prediction or None, [gold answers])]."""
    em_sum, f1_sum, rows = 0, 0, []
    for pred, golds in questions:
        if pred is None:
            rows.append({"pred": None, "gold": golds})
            continue
        em = max(normalize(pred) == normalize(g) for g in golds)
        f1 = max(squad_f1(pred, g) for g in golds)
        em_sum += em
        f1_sum += f1
        rows.append({"pred": pred, "gold": golds, "norm_pred": normalize(pred),
                     "norm_gold": [normalize(g) for g in golds], "exact": int(em),
                     "f1": float(f1)})
    total = len(questions)
    return {"kind": "squad", "name": name, "questions": rows,
            "exact_match": 100.0 * em_sum / total, "f1": 100.0 * f1_sum / total}


# ---- the cases --------------------------------------------------------------------------------------

TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-MISC", "E-PER", "S-LOC",
        "B-ORG", "I-ORG", "E-ORG", "S-ORG", "B", "I", "E", "S", ".", "X-PER", "O-PER",
        "B-PER-X", "I-", "B-\u00dcBER", "I-\u00dcBER", "I-\u00fcber", "\u00c9-PER",
        "BPER", "I-_", "B-LOC"]

SEQEVAL_FIXED = [
    ("readme", [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
     [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]),
    ("end_of_sentence", [["O", "B-PER", "I-PER"], ["B-LOC"]], [["O", "B-PER", "I-PER"], ["I-LOC"]]),
    ("i_without_b", [["I-PER", "I-PER", "O", "I-LOC"]], [["B-PER", "I-PER", "O", "B-LOC"]]),
    ("type_switch", [["B-PER", "I-LOC", "I-LOC", "O"]], [["B-PER", "B-LOC", "I-LOC", "O"]]),
    ("all_o", [["O", "O"], ["O"]], [["O", "O"], ["O"]]),
    ("empty_pred", [["B-PER", "O"], ["B-LOC", "I-LOC"]], [["O", "O"], ["O", "O"]]),
    ("empty_sentences", [[], ["B-PER"], []], [[], ["B-PER"], []]),
    ("iobes", [["S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "E-PER"]],
     [["S-PER", "B-LOC", "E-LOC", "E-LOC", "B-LOC", "I-PER"]]),
    ("stale_begin_across", [["B-PER"], ["O-PER", "X-PER"]], [["B-PER"], ["O-PER", "X-PER"]]),
    ("dot_and_bare", [[".", "I", "I", "B", ".", "O"]], [[".", "B", "I", "I", "O", "."]]),
    ("unicode_types", [["B-\u00dcBER", "I-\u00fcber", "\u00c9-PER", "B-\u4eba"]],
     [["B-\u00dcBER", "I-\u00dcBER", "\u00c8-PER", "B-\u4eba"]]),
]

WORDS = ["The", "the", "THE", "a", "A", "an", "An", "and", "anna", "theory", "cat", "Cat", "dog",
         "Paris", "paris", "1984", "3.14", "U.S.", "e-mail", "rock'n'roll", "\u00e9t\u00e9",
         "\u00c9T\u00c9", "\u0130stanbul", "istanbul", "\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2",
         "\u03a3\u0391", "\u03a3", "\u00df", "Stra\u00dfe", "\u5317\u4eac", "\u6771\u4eac\u90fd",
         "caf\u00e9", "cafe\u0301", "the\u0301", "\u00bd", "x\u00b2", "\U0001f600", "a\u00b7b",
         "\u212a", "\u01c5", "na\u00efve", "_", "a_b"]
SEPS = [" ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2009", "\u200b", "\x85",
        "\x1c", ", ", ". ", "-", "'", "\"", "(", ")", "!?", "\u2014", "\u00bf", "\u3002", "/"]


def phrase(rng, lo=0, hi=6):
    out = []
    for _ in range(rng.randint(lo, hi)):
        out.append(rng.choice(WORDS))
        out.append(rng.choice(SEPS))
    if rng.random() < 0.2:
        out.insert(0, rng.choice(SEPS))
    return "".join(out)


def main():
    rng = random.Random(20261202)
    cases = []
    # classification: sizes around numpy's blocks (8, 128) and a class list past 128
    for K, n in [(1, 0), (1, 5), (2, 0), (3, 5), (2, 10), (5, 40)] + \
            [(rng.randint(2, 20), rng.randint(1, 200)) for _ in range(30)] + [(150, 600)]:
        skew = rng.random()
        gold = [min(K - 1, int(rng.random() ** (1 + 3 * skew) * K)) for _ in range(n)]
        pred = [g if rng.random() < 0.6 else rng.randrange(K) for g in gold]
        if rng.random() < 0.2 and K > 2:  # a class only ever predicted, one never
            pred = [K - 1 if p == K - 2 else p for p in pred]
        cases.append(classification(K, gold, pred))
    cases.append(classification(3, [0, 1, 2, 2, 2], [0, 0, 2, 2, 1]))  # sklearn's docs example
    for _ in range(25):
        L, n = rng.randint(1, 12), rng.randint(0, 60)
        gold = [[int(rng.random() < 0.3) for _ in range(L)] for _ in range(n)]
        pred = [[g if rng.random() < 0.8 else 1 - g for g in row] for row in gold]
        cases.append(multilabel(L, gold, pred))
    for _ in range(25):
        n = rng.randint(1, 100)
        gold = [f32(rng.choice([rng.gauss(0, 3), float(rng.randint(0, 5))])) for _ in range(n)]
        pred = [f32(g + rng.gauss(0, 1)) if rng.random() < 0.8 else f32(rng.randint(0, 5))
                for g in gold]
        cases.append(regression(gold, pred))
    cases.append(regression([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))  # constant: NaN correlations
    cases.append(regression([2.0], [3.0]))
    for name, g, p in SEQEVAL_FIXED:
        cases.append(seqeval_case(g, p, name))
    for k in range(200):
        gold, pred = [], []
        for _ in range(rng.randint(0, 6)):
            n = rng.randint(0, 12)
            if k % 2:  # mostly well-formed BIO
                s, inside = [], None
                for _ in range(n):
                    r = rng.random()
                    if r < 0.5:
                        s.append("O"); inside = None
                    elif r < 0.75 or inside is None:
                        inside = rng.choice(["PER", "LOC", "ORG", "MISC"]); s.append("B-" + inside)
                    else:
                        s.append("I-" + inside)
            else:
                s = [rng.choice(TAGS) for _ in range(n)]
            q = [t if rng.random() < 0.75 else rng.choice(TAGS) for t in s]
            gold.append(s)
            pred.append(q)
        cases.append(seqeval_case(gold, pred, "random%d" % k))
    fixed_q = [
        ("The Cat!", ["cat"]), ("", ["the"]), ("...", ["!!"]), ("a", ["an"]),
        ("\u039f\u0394\u039f\u03a3", ["\u03bf\u03b4\u03bf\u03c2"]),
        ("\u039f\u0394\u039f\u03a3.\u0391", ["\u03bf\u03b4\u03bf\u03c3\u03b1"]),
        ("\u0130stanbul", ["istanbul", "i\u0307stanbul"]),
        ("the\u0301 end", ["end"]), ("Paris, France", ["paris", "France and Paris", "the paris"]),
        ("cat cat dog", ["cat dog dog"]), (None, ["missing"]), ("an\u00a0apple", ["apple"]),
        ("\u00bfQu\u00e9?", ["qu\u00e9"]), ("\u5317\u4eac", ["\u5317\u4eac\u5e02"]),
    ]
    cases.append(squad_case(fixed_q, "fixed"))
    for k in range(60):
        qs = []
        for _ in range(rng.randint(1, 8)):
            golds = [phrase(rng, 1, 5) for _ in range(rng.randint(1, 3))]
            r = rng.random()
            if r < 0.3:
                pred = rng.choice(golds)
                pred = pred.upper() if rng.random() < 0.5 else pred
            elif r < 0.35:
                pred = None
            else:
                pred = phrase(rng)
            qs.append((pred, golds))
        cases.append(squad_case(qs, "random%d" % k))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref", "metrics.jsonl")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False, allow_nan=False) + "\n")
    os.replace(path + ".tmp", path)
    print("wrote", path, "(%d cases)" % len(cases))


if __name__ == "__main__":
    main()
