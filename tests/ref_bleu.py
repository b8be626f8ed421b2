"""Reference values for zhuyi's BLEU and chrF (src/eval/bleu.c, chrf.c), checked by
tests/test_bleu.c.

An independent implementation, standard library only (sacrebleu is neither imported nor
installed), of what SacreBLEU 2.x computes by default, written from its documented
definitions:
- BLEU: each segment rstrip()'d and tokenized with mteval-v13a's rules (drop "<skipped>",
  join "-\\n", newlines to spaces, unescape &quot; &amp; &lt; &gt; in that order, pad with
  spaces, then the four substitutions: ASCII punctuation other than ' , - . apart; period
  and comma apart unless after a digit; unless before a digit; a dash after a digit apart;
  then split at whitespace); n-grams 1..4; hypothesis counts clipped by the most of that
  n-gram in any single reference; the reference length closest to the hypothesis length,
  ties to the shorter; corpus sums; brevity penalty exp(1 - r/c); 'exp' smoothing (the
  k-th order without a match gets 100 / (2^k * total)); no matches at all -> 0; an order
  without hypothesis n-grams stops the precisions there (log 0 floored at -9999999999).
- chrF: whitespace removed (str.split), character n-grams 1..6, per reference and order
  (hypothesis n-grams, reference n-grams, matches) with the hypothesis count 0 when the
  reference has no n-gram of the order; per segment the reference of best chrF (the first
  among equals); corpus sums; precision and recall averaged over the orders where both
  sides have n-grams (effective order, sacrebleu's default eps_smoothing=False);
  F-beta with beta = 2.
Python's own str.split / str.rstrip / re give the Unicode whitespace rules the C code
reimplements.

Writes tests/ref/bleu_cases.jsonl: one JSON object per line, "kind" "tok13a" (text, tokens
joined by spaces) or "corpus" (hyps, refs as streams with null for a missing reference,
expected BLEU and chrF with their statistics). Deterministic (fixed seed).
Run: /usr/bin/python3 tests/ref_bleu.py
"""
import json
import math
import os
import random
import re
from collections import Counter

# ---- 13a ----------------------------------------------------------------------------------

PUNCT_APART = re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])")
PERIOD_AFTER = re.compile(r"([^0-9])([\.,])")
PERIOD_BEFORE = re.compile(r"([\.,])([^0-9])")
DASH_AFTER_DIGIT = re.compile(r"([0-9])(-)")


def tok13a(text):
    t = text.rstrip()
    t = t.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in t:
        for esc, ch in (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
            t = t.replace(esc, ch)
    t = " " + t + " "
    t = PUNCT_APART.sub(r" \1 ", t)
    t = PERIOD_AFTER.sub(r"\1 \2 ", t)
    t = PERIOD_BEFORE.sub(r" \1 \2", t)
    t = DASH_AFTER_DIGIT.sub(r"\1 \2 ", t)
    return t.split()


# ---- BLEU ---------------------------------------------------------------------------------


def ngram_counts(words, n):
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def bleu(hyps, streams):
    sys_len = ref_len = 0
    hits = [0] * 4
    tries = [0] * 4
    for i, hyp in enumerate(hyps):
        h = tok13a(hyp)
        refs = [tok13a(s[i]) for s in streams if s[i] is not None]
        sys_len += len(h)
        # closest length, ties to the shorter: the minimum of (distance, length)
        ref_len += min((abs(len(h) - len(r)), len(r)) for r in refs)[1]
        for n in range(1, 5):
            hc = ngram_counts(h, n)
            most = Counter()
            for r in refs:
                for g, c in ngram_counts(r, n).items():
                    most[g] = max(most[g], c)
            tries[n - 1] += sum(hc.values())
            hits[n - 1] += sum(min(c, most[g]) for g, c in hc.items())
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    else:
        bp = 1.0
    prec = [0.0] * 4
    score = 0.0
    if any(hits):
        doubling = 1.0
        for k in range(4):
            if tries[k] == 0:
                break
            if hits[k] == 0:
                doubling *= 2
                prec[k] = 100.0 / (doubling * tries[k])
            else:
                prec[k] = 100.0 * hits[k] / tries[k]
        logs = 0.0
        for p in prec:
            logs += math.log(p) if p != 0.0 else -9999999999
        score = bp * math.exp(logs / 4)
    return {
        "score": score, "precisions": prec, "counts": hits, "totals": tries, "bp": bp,
        "ratio": sys_len / ref_len if ref_len else 0.0, "sys_len": sys_len,
        "ref_len": ref_len,
    }


# ---- chrF ---------------------------------------------------------------------------------


def char_grams(text, n):
    s = "".join(text.split())
    return Counter(s[i:i + n] for i in range(len(s) - n + 1))


def chrf_of(stats):
    """stats: six (hyp, ref, match) triples -> chrF2 with effective-order averaging."""
    p_sum = r_sum = 0.0
    used = 0
    for h, r, m in stats:
        if h > 0 and r > 0:
            p_sum += m / h
            r_sum += m / r
            used += 1
    if used:
        p, r = p_sum / used, r_sum / used
    else:
        p = r = 0.0
    if p + r == 0:
        return 0.0
    f = 5 * p * r
    f /= 4 * p + r
    return 100 * f


def chrf(hyps, streams):
    total = [[0, 0, 0] for _ in range(6)]
    for i, hyp in enumerate(hyps):
        hg = [char_grams(hyp, n) for n in range(1, 7)]
        chosen, chosen_f = None, -1.0
        for s in streams:
            if s[i] is None:
                continue
            rg = [char_grams(s[i], n) for n in range(1, 7)]
            stats = []
            for h, r in zip(hg, rg):
                nr = sum(r.values())
                nh = sum(h.values()) if nr else 0
                stats.append((nh, nr, sum((h & r).values())))
            f = chrf_of(stats)
            if f > chosen_f:
                chosen, chosen_f = stats, f
        for k in range(6):
            for j in range(3):
                total[k][j] += chosen[k][j]
    return {
        "score": chrf_of(total), "hyp": [t[0] for t in total], "ref": [t[1] for t in total],
        "match": [t[2] for t in total],
    }


def nrefs(streams, n):
    seen = {sum(s[i] is not None for s in streams) for i in range(n)}
    return seen.pop() if len(seen) == 1 else -1


# ---- cases --------------------------------------------------------------------------------

HAND_TEXTS = [
    "", " ", "   \t ", "Hello, world!", "The cat sat on the mat.", "e.g. U.S.A. etc.",
    "3.14 and 1,000,000 people", "pages 10-20 and 3-4", "a-b c--d 5--6", "-5 and x-",
    "He said \"hi\" (twice) [really] {maybe}", "a&b &amp; &lt;tag&gt; &quot;q&quot; &amp;lt;",
    "&AMP; &lt &gt;&gt;", "<skipped> text <skipped>", "<skip ped> <Skipped>",
    "line one-\nline two\nthree", "trailing dash-", "tab\tseparated\rcr", "end .",
    "Mr. Smith's dog, isn't it?", "1.5.2 v2,3 .5 ,5 5. 5,", "..., ,., .,.", "a.b,c",
    "naïve café — “quoted” ‘single’ …", "Straße ÄÖÜ ß", "中文，标点。测试！", "日本語のテキスト",
    "x\u00a0y\u3000z\u2003w", "u\u0085v\u001cw\u200bx", "emoji 😀 👍🏽 🇨🇳", "#hash @at $5 %p ^c ~t |p",
    "a/b\\c `tick` _under_", "ＡＢＣ full-width ５．５", "mixed 2.5-3.5 km/h", "ends with space   ",
    "Ελληνικά, κείμενο.", "Русский текст, да.", "עברית.", "3-", "-", ".", ",", "..", "-\n",
    "&", "&amp;amp;", "<", "a<skipped>b", "\n\n", "x \n", "A. B. C.", "1,a a,1 a.1 1.a",
]

WORDS = [
    "the", "a", "cat", "dog", "sat", "on", "mat", "and", "of", "in", "house", "big",
    "small", "red", "is", "was", "it", "Hello", "world", "The", "3.5", "1,000", "10-20",
    "U.S.", "don't", "(yes)", "\"no\"", "[x]", "&amp;", "&quot;", "&lt;b&gt;", "<skipped>",
    "café", "naïve", "中文", "日本", "Straße", "—", "…", "😀", "e.g.", "x-", "-y", "5-", "42",
    "$10", "50%", "a/b", "Ελλάδα", "мир", "ﬁ", "ABC",
]
ENDINGS = ["", ".", "!", "?", " .", ",", "...", ";", " -", "\u00a0", " ", "  \t"]
SEPS = [" "] * 12 + ["  ", "\t", "\u00a0", "\u3000", "", "\n"]


def sentence(rng, lo=0, hi=12):
    n = rng.randint(lo, hi)
    out = ""
    for i in range(n):
        if i:
            out += rng.choice(SEPS)
        out += rng.choice(WORDS)
    return out + rng.choice(ENDINGS)


def mutate(rng, s):
    """A hypothesis near a reference: words dropped, swapped, replaced."""
    w = s.split(" ")
    out = []
    for x in w:
        r = rng.random()
        if r < 0.15:
            continue
        if r < 0.3:
            out.append(rng.choice(WORDS))
        else:
            out.append(x)
        if rng.random() < 0.05:
            out.append(rng.choice(WORDS))
    if len(out) > 2 and rng.random() < 0.3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def corpus_case(name, hyps, streams):
    return {
        "kind": "corpus", "name": name, "hyps": hyps, "refs": streams,
        "nrefs": nrefs(streams, len(hyps)), "bleu": bleu(hyps, streams),
        "chrf": chrf(hyps, streams),
    }


def main():
    rng = random.Random(13)
    cases = []
    texts = list(HAND_TEXTS) + [sentence(rng) for _ in range(150)]
    for t in texts:
        cases.append({"kind": "tok13a", "text": t, "tokens": " ".join(tok13a(t))})

    hand = [
        ("identical", ["The cat sat on the mat."], [["The cat sat on the mat."]]),
        ("no match", ["a b c d e"], [["v w x y z"]]),
        ("empty hypothesis", [""], [["the cat"]]),
        ("empty reference", ["the cat"], [[""]]),
        ("both empty", [""], [[""]]),
        ("all empty corpus", ["", " "], [["", ""]]),
        ("unigrams only", ["cat", "dog"], [["cat", "dog"]]),
        ("short hypothesis", ["the cat"], [["the cat sat on the mat today"]]),
        ("long hypothesis", ["the cat sat on the mat and the dog sat too"], [["the cat"]]),
        ("clipping", ["the the the the the the the"], [["the cat is on the mat"]]),
        ("two references", ["the cat is on the mat"],
         [["the cat sat on the mat"], ["there is a cat on the mat"]]),
        ("closest ties shorter", ["a b c d e"], [["a b c d"], ["a b c d e f"]]),
        ("missing reference", ["a b c", "d e f"], [["a b c", None], [None, "d e"]]),
        ("mixed nrefs", ["a b c", "d e f"], [["a b c", "d e f g"], [None, "d e"]]),
        ("entities", ["&lt;b&gt; bold &amp; &quot;q&quot;"], [["<b> bold & \"q\""]]),
        ("skipped", ["<skipped> the cat"], [["the cat"]]),
        ("numbers", ["3.14 is 1,000-ish, 10-20"], [["3.14 is 1,000 - ish , 10 - 20"]]),
        ("unicode", ["naïve café — 中文"], [["naïve café - 中文"]]),
        ("whitespace only differs", ["the  cat\tsat"], [["the cat sat"]]),
        ("chrf spaces", ["thecat sat"], [["the cat sat"]]),
        ("one char", ["a"], [["a"]]),
        ("no bigram match", ["a x b y c z"], [["a b c"]]),
        ("exp smoothing orders", ["a b c d x"], [["a b c y d"]]),
        ("chrf picks best ref", ["abcdef"], [["xyz"], ["abcdefg"], ["abcdef"]]),
        ("chrf tie keeps first", ["ab"], [["ab x"], ["x ab"]]),
        ("newline dash", ["line one-\ntwo"], [["line onetwo"]]),
    ]
    for name, hyps, streams in hand:
        cases.append(corpus_case(name, hyps, streams))

    for k in range(250):
        n = rng.randint(1, 6)
        n_refs = rng.choice([1, 1, 1, 2, 3])
        streams = [[sentence(rng, 0, 14) for _ in range(n)] for _ in range(n_refs)]
        hyps = []
        for i in range(n):
            r = rng.random()
            if r < 0.6:
                hyps.append(mutate(rng, streams[rng.randrange(n_refs)][i]))
            elif r < 0.9:
                hyps.append(sentence(rng, 0, 14))
            else:
                hyps.append(rng.choice(["", " ", streams[0][i]]))
        if n_refs > 1 and rng.random() < 0.25:
            # some segments lose references, never all of them
            for i in range(n):
                for s in streams[1:]:
                    if rng.random() < 0.4:
                        s[i] = None
        cases.append(corpus_case("random %d" % k, hyps, streams))

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref", "bleu_cases.jsonl")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    os.replace(path + ".tmp", path)
    print("%s: %d cases (%d bytes)" % (path, len(cases), os.path.getsize(path)))


if __name__ == "__main__":
    main()
