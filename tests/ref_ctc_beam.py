"""Reference cases for zhuyi's CTC decoders (src/infer/ctc_decode.c), checked by
tests/test_ctc_decode.c.

An independent implementation, standard library only, of the documented algorithms
(include/zhuyi/ctc.h), written from their description (Hannun et al. 2014, "First-Pass
Large Vocabulary Continuous Speech Recognition using Bi-Directional Recurrent DNNs",
without the language model), not from any decoder's code. It keeps the candidates of a
frame in a dict keyed by the label tuple, so merging the paths that read the same is the
dict's doing, where the C code dedups through a trie:
- log_softmax of each frame in float64 from the float32 logits (max + log Σ exp(x - max),
  summed in index order);
- greedy: the argmax of each frame (ties to the lowest id), repeats merged, blanks
  dropped; score = Σ of the frames' largest log-probabilities;
- prefix beam search: every kept prefix y (pb, pnb) adds lse(pb, pnb) + lp[blank] to the
  pb of y, pnb + lp[last] to the pnb of y, and for each non-blank c the pnb of y + c gets
  (pb if c == last else lse(pb, pnb)) + lp[c]; the next kept set is the `beam` best by
  lse(pb, pnb), ties to the shorter, then the lexicographically smaller tuple; -inf is
  dropped. The start is the empty prefix with pb = 0, pnb = -inf.

Cases: random logits (T 0..14, V 2..9, blank anywhere, flat to peaky scales), frames with
exact ties between labels, hand-made cases where beam 1 differs from greedy and where a
wider beam finds a better sequence than beam 1, and repeated labels. Beams 1, 4, 8.

Writes tests/ref/ctc_beam_cases.jsonl: one JSON object per line with name, T, V, blank,
logits (T lists of V float32 values, exact in decimal), greedy {labels, score} and beams
{"1": [{labels, score}, ...], "4": ..., "8": ...} best first. A case whose beam choice
hinged on a score gap below 1e-9 (where a different libm could flip it) is regenerated.
Deterministic (fixed seed). Run: /usr/bin/python3 tests/ref_ctc_beam.py
"""
import json
import math
import os
import random
import struct

NEG_INF = float("-inf")
BEAMS = (1, 4, 8)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def lse(a, b):
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


def log_softmax(row):
    m = max(row)
    s = 0.0
    for x in row:
        s += math.exp(x - m)
    z = m + math.log(s)
    return [x - z for x in row]


def greedy(logits, blank):
    labels, prev, score = [], None, 0.0
    for row in logits:
        best = 0
        for v in range(1, len(row)):
            if row[v] > row[best]:
                best = v
        score += log_softmax(row)[best]
        if best != blank and best != prev:
            labels.append(best)
        prev = best
    return labels, score


class Fragile(Exception):
    pass


def prefix_beam(logits, blank, beam):
    kept = {(): (0.0, NEG_INF)}
    for row in logits:
        lp = log_softmax(row)
        cand = {}

        def add(prefix, pb, pnb):
            ob, onb = cand.get(prefix, (NEG_INF, NEG_INF))
            cand[prefix] = (lse(ob, pb), lse(onb, pnb))

        for prefix, (pb, pnb) in kept.items():
            total = lse(pb, pnb)
            last = prefix[-1] if prefix else None
            add(prefix, total + lp[blank], NEG_INF)
            if prefix:
                add(prefix, NEG_INF, pnb + lp[last])
            for c in range(len(row)):
                if c == blank:
                    continue
                add(prefix + (c,), NEG_INF, (pb if c == last else total) + lp[c])
        ranked = sorted(((lse(pb, pnb), p, (pb, pnb)) for p, (pb, pnb) in cand.items()),
                        key=lambda r: (-r[0], len(r[1]), r[1]))
        ranked = [r for r in ranked if r[0] > NEG_INF]
        # A near (not exact) tie at the cut or inside the kept set could go either way
        # under another libm's last bit: such cases are not used.
        for a, b in zip(ranked[:beam], ranked[1:beam + 1]):
            if a[0] != b[0] and a[0] - b[0] < 1e-9:
                raise Fragile()
        kept = {p: s for _, p, s in ranked[:beam]}
    out = [(p, lse(*s)) for p, s in kept.items()]
    out.sort(key=lambda r: (-r[1], len(r[0]), r[0]))
    return out


def case(name, logits, blank):
    T, V = len(logits), (len(logits[0]) if logits else 0)
    g_labels, g_score = greedy(logits, blank)
    beams = {}
    for k in BEAMS:
        beams[str(k)] = [{"labels": list(p), "score": s} for p, s in prefix_beam(logits, blank, k)]
    return {"name": name, "T": T, "V": V, "blank": blank, "logits": logits,
            "greedy": {"labels": g_labels, "score": g_score}, "beams": beams}


def probs_logits(rows):
    """Frames given as probabilities -> float32 logits (their logs)."""
    return [[f32(math.log(p)) for p in row] for row in rows]


def main():
    rng = random.Random(1717)
    cases = []
    # Beam 1 is not greedy: the best path is "a b" (0.7 · 0.4 = 0.28), but prefix "a" sums
    # "a -" and "a a": 0.7 · 0.6 = 0.42.
    cases.append(case("beam1_not_greedy", probs_logits([[0.2, 0.7, 0.1], [0.3, 0.3, 0.4]]), 0))
    # A wider beam finds "a" (0.64) where beam 1 keeps "" (0.36 at the end).
    cases.append(case("wider_beam_better", probs_logits([[0.6, 0.4], [0.6, 0.4]]), 0))
    # A repeated label needs a blank between: "a a" only through a - a.
    cases.append(case("repeat_needs_blank",
                      probs_logits([[0.15, 0.75, 0.1], [0.6, 0.3, 0.1], [0.1, 0.7, 0.2]]), 0))
    # Exact ties: uniform frames (every order decided by length, then labels).
    cases.append(case("uniform", [[0.0] * 4 for _ in range(3)], 0))
    cases.append(case("uniform_blank_last", [[1.5] * 5 for _ in range(4)], 4))
    cases.append(case("no_frames", [], 0))
    cases.append(case("one_frame", [[f32(0.3), f32(-1.0), f32(2.0)]], 1))
    n = 0
    while n < 240:
        T = rng.randint(1, 14)
        V = rng.randint(2, 9)
        blank = rng.choice([0, V - 1, rng.randrange(V)])
        scale = rng.choice([0.3, 1.0, 2.0, 4.0, 8.0])
        logits = [[f32(rng.gauss(0, 1) * scale) for _ in range(V)] for _ in range(T)]
        if rng.random() < 0.15:  # exact ties between labels in some frames
            for row in logits:
                if rng.random() < 0.5:
                    row[rng.randrange(V)] = row[rng.randrange(V)]
        try:
            cases.append(case("random_%d" % n, logits, blank))
            n += 1
        except Fragile:
            pass
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref", "ctc_beam_cases.jsonl")
    with open(path + ".tmp", "w") as f:
        for c in cases:
            f.write(json.dumps(c, separators=(",", ":")) + "\n")
    os.replace(path + ".tmp", path)
    print("wrote", path, "(%d cases)" % len(cases))


if __name__ == "__main__":
    main()
