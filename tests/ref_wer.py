"""Reference values for zhuyi's word and character error rates (src/eval/wer.c), checked by
tests/test_wer.c.

An independent implementation, standard library only (jiwer and rapidfuzz are neither
imported nor installed), of what jiwer computes with its default transforms, written
from its documented definitions (include/zhuyi/metrics.h, docs/METRICS.md):
- words: re.sub(r"\\s\\s+", " ", s), then s.strip(), then the non-empty pieces of
  s.split(" ") (jiwer's RemoveMultipleSpaces, Strip, ReduceToListOfListOfWords);
- characters: list(s.strip()) (jiwer's Strip, ReduceToListOfListOfChars);
- per segment a full Levenshtein table whose cells hold (edits, -hits, S, D, I), the
  smallest (edits, -hits) kept (fewest edits, then most hits: zhuyi's rule for the S/D/I
  split among equally short alignments), counts summed over the corpus;
- rate = (S + D + I) / max(1, reference tokens) (jiwer 4's rule for empty references).
Python's own re, str.strip and str.split give the Unicode whitespace rules the C code
reimplements.

Writes tests/ref/wer_cases.jsonl: one JSON object per line with name, hyps, refs and for
"wer" and "cer" the hits, substitutions, deletions, insertions, ref_len, hyp_len and rate.
Deterministic (fixed seed). Run: /usr/bin/python3 tests/ref_wer.py
"""
import json
import os
import random
import re


def words(s):
    s = re.sub(r"\s\s+", " ", s)
    s = s.strip()
    return [w for w in s.split(" ") if w]


def chars(s):
    return list(s.strip())


def align(ref, hyp):
    """(edits, -hits, S, D, I) of the best alignment of the token lists."""
    n, m = len(ref), len(hyp)
    table = [[None] * (m + 1) for _ in range(n + 1)]
    table[0][0] = (0, 0, 0, 0, 0)
    for j in range(1, m + 1):
        table[0][j] = (j, 0, 0, 0, j)
    for i in range(1, n + 1):
        table[i][0] = (i, 0, 0, i, 0)
        for j in range(1, m + 1):
            e, nh, s, d, ins = table[i - 1][j - 1]
            if ref[i - 1] == hyp[j - 1]:
                diag = (e, nh - 1, s, d, ins)
            else:
                diag = (e + 1, nh, s + 1, d, ins)
            e, nh, s, d, ins = table[i - 1][j]
            dele = (e + 1, nh, s, d + 1, ins)
            e, nh, s, d, ins = table[i][j - 1]
            inse = (e + 1, nh, s, d, ins + 1)
            table[i][j] = min((diag, dele, inse), key=lambda c: (c[0], c[1]))
    return table[n][m]


def error_rate(tokenize, hyps, refs):
    h = s = d = i = nref = nhyp = 0
    for hyp, ref in zip(hyps, refs):
        rt, ht = tokenize(ref), tokenize(hyp)
        _, nh, cs, cd, ci = align(rt, ht)
        h, s, d, i = h - nh, s + cs, d + cd, i + ci
        nref, nhyp = nref + len(rt), nhyp + len(ht)
        assert -nh + cs + cd == len(rt) and -nh + cs + ci == len(ht)
    return {"hits": h, "substitutions": s, "deletions": d, "insertions": i,
            "ref_len": nref, "hyp_len": nhyp, "rate": (s + d + i) / max(1, nref)}


def case(name, hyps, refs):
    return {"name": name, "hyps": hyps, "refs": refs,
            "wer": error_rate(words, hyps, refs), "cer": error_rate(chars, hyps, refs)}


VOCAB = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "seven", "two", "zero",
         "naïve", "café", "straße", "Ωmega", "日本", "語", "😀", "e\u0301", "ß", "İ",
         "σοφία", "мир", "x", "xx", "don't", "co-op", "3.14"]
SEPS = [" ", " ", " ", "  ", "\t", "\t\t", " \t", "\n", "\u00a0", "\u3000", "\u2003 ", "\u0085"]


def sentence(rng, k):
    return [rng.choice(VOCAB) for _ in range(k)]


def join(rng, ws):
    if not ws:
        return rng.choice(["", "", " ", "\t", "  "])
    out = rng.choice(["", "", "", " ", "  ", "\t"])
    for n, w in enumerate(ws):
        out += w
        if n + 1 < len(ws):
            out += rng.choice(SEPS)
    return out + rng.choice(["", "", "", " ", "\n", " \t"])


def mutate(rng, ws):
    ws = list(ws)
    for _ in range(rng.randint(0, 4)):
        op = rng.random()
        if op < 0.35 and ws:
            ws[rng.randrange(len(ws))] = rng.choice(VOCAB)
        elif op < 0.65 and ws:
            del ws[rng.randrange(len(ws))]
        else:
            ws.insert(rng.randint(0, len(ws)), rng.choice(VOCAB))
    return ws


def main():
    rng = random.Random(4242)
    cases = [
        case("identical", ["the cat sat"], ["the cat sat"]),
        case("jiwer_readme", ["hello duck"], ["hello world"]),
        case("empty_hyp", [""], ["the cat sat"]),
        case("empty_ref", ["the cat"], [""]),
        case("both_empty", [""], [""]),
        case("whitespace_only", ["  \t "], [" \u3000 "]),
        case("empty_refs_corpus", ["a b c", "", "d"], ["", "", ""]),
        case("one_empty_ref", ["hello world", "done"], ["hello world", ""]),
        case("tie_sub_or_del_ins", ["b c"], ["a b"]),
        case("swap", ["b a"], ["a b"]),
        case("extra_spaces", ["  the   cat  sat  "], ["the cat sat"]),
        case("lone_tab_joins", ["the\tcat sat"], ["the cat sat"]),
        case("two_tabs_split", ["the\t\tcat sat"], ["the cat sat"]),
        case("nbsp_joins", ["the\u00a0cat"], ["the cat"]),
        case("newline_run", ["the\n\ncat"], ["the cat"]),
        case("space_then_tab", ["the \tcat"], ["the cat"]),
        case("cer_inner_spaces", ["ab  c"], ["ab c"]),
        case("cer_strip", ["\u3000abc\n"], ["abc"]),
        case("unicode_chars", ["naïve café 日本語"], ["naive cafe 日本"]),
        case("combining", ["e\u0301"], ["\u00e9"]),
        case("emoji", ["😀 😀 x"], ["😀 x"]),
        case("repeats", ["a a a a"], ["a a"]),
        case("u0085_u001c", ["a\u0085b", "c\u001cd"], ["a b", "c d"]),
        case("multi", ["the cat sat on the mat", "", "a dog ran", "two two"],
             ["the cat sat on mat", "seven", "a dog", "two zero two"]),
    ]
    for n in range(300):
        segs = rng.randint(1, 6)
        hyps, refs = [], []
        for _ in range(segs):
            rw = sentence(rng, rng.choice([0, 1, 2, 3, 5, 8, 12]))
            hw = mutate(rng, rw) if rng.random() < 0.85 else sentence(rng, rng.randint(0, 6))
            refs.append(join(rng, rw))
            hyps.append(join(rng, hw))
        cases.append(case("random_%d" % n, hyps, refs))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref", "wer_cases.jsonl")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n")
    os.replace(path + ".tmp", path)
    print("wrote", path, "(%d cases)" % len(cases))


if __name__ == "__main__":
    main()
