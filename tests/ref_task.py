#!/usr/bin/env python3
# An independent reference of the fine-tuning feature rules (docs/FORMATS.md, "Fine-tuning
# data"): classification's template with longest-first truncation, tag alignment (the tag
# on a word's first piece, -1 on the rest and on [CLS]/[SEP], words cut at T), and question
# answering's windows (Hugging Face's overflowing tokens with stride = overlap) with the
# answer mapped to tokens through character offsets, as run_qa.py does. Standard library
# only. The tokenizer is a small WordPiece (greedy longest match, '##' continuations,
# [UNK] for a word with an unmatched rest) over a vocabulary of lower-case ASCII words and
# a few CJK characters, on text that needs no normalisation; so its tokens and character
# offsets are those zhuyi's BERT tokenizer gives, and the C test
# (tests/test_data_task_ref.c) feeds the same inputs through the library.
#
# Writes tests/ref/task_cases.jsonl: a first line {"vocab": [...]}, then one case a line:
# {"kind": "classify"|"tag"|"qa", "T": n, "stride": n, "input": <the JSONL example>,
#  "features": [{"ids", "types", "targets", "words", "offsets", "span", "ctx"}]}.
# Run: /usr/bin/python3 tests/ref_task.py (make refs runs every tests/ref_*.py).
import json
import os
import random

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "dog", "sat", "on",
         "mat", "run", "walk", "a", "b", "c", "##s", "##ed", "##ning", "##b", "##c", "is",
         "where", "who", "what", "\u4e2d", "\u6587", "\u6ce8", "\u610f", "big", "red", "##d",
         "x", "##x", "good", "bad", ",", ".", "?"]
IDS = {t: i for i, t in enumerate(VOCAB)}
CLS, SEP, UNK = IDS["[CLS]"], IDS["[SEP]"], IDS["[UNK]"]
SURFACE = ["the", "cat", "cats", "dog", "dogs", "sat", "on", "mat", "running", "walked",
           "abc", "zzz", "big", "red", "redd", "xx", "good", "bad", ",", ".", "?", "is",
           "where", "\u4e2d", "\u6587", "\u6ce8\u610f", "a", "cab"]
TAGS = ["O", "B-X", "I-X", "B-Y", "I-Y"]


def is_cjk(ch):
    return 0x4E00 <= ord(ch) <= 0x9FFF


def words_of(text):
    """BERT's basic tokenizer on this alphabet: white space separates words, CJK
    characters and the punctuation , . ? are words of their own. (start, end) in chars."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif is_cjk(ch) or ch in ",.?":
            out.append((i, i + 1))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and not is_cjk(text[j]) and text[j] not in ",.?":
                j += 1
            out.append((i, j))
            i = j
    return out


def wordpiece(word):
    """Greedy longest match: [(id, start, end)] within the word, or one [UNK]."""
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in IDS:
                break
            end -= 1
        if end == start:
            return [(UNK, 0, len(word))]
        pieces.append((IDS[sub], start, end))
        start = end
    return pieces


def encode(text):
    """[(id, char start, char end)] of text."""
    toks = []
    for a, b in words_of(text):
        for i, s, e in wordpiece(text[a:b]):
            toks.append((i, a + s, a + e))
    return toks


def classify_features(text, pair, T):
    a, b = encode(text), encode(pair) if pair is not None else None
    room = T - (3 if b is not None else 2)
    a = [t[0] for t in a]
    b = [t[0] for t in b] if b is not None else None
    while len(a) + (len(b) if b is not None else 0) > room:
        if b is not None and len(b) >= len(a):
            b.pop()
        else:
            a.pop()
    ids = [CLS] + a + [SEP]
    types = [0] * len(ids)
    if b is not None:
        ids += b + [SEP]
        types += [1] * (len(b) + 1)
    return [{"ids": ids, "types": types}]


def tag_features(words, tags, T):
    labels = sorted(set(tags))  # bytewise for these ASCII tags
    room = T - 2
    ids, targets, wids, offs = [CLS], [-1], [-1], [-1, -1]
    for w, (word, tag) in enumerate(zip(words, tags)):
        for k, (i, s, e) in enumerate(encode(word)):  # "注意" is two CJK words
            if len(ids) - 1 >= room:
                break
            ids.append(i)
            targets.append(labels.index(tag) if k == 0 else -1)
            wids.append(w)
            offs += [s, e]
    ids.append(SEP)
    targets.append(-1)
    wids.append(-1)
    offs += [-1, -1]
    return [{"ids": ids, "targets": targets, "words": wids,
             "offsets": offs}]


def qa_features(question, context, answer, T, stride):
    q = [t[0] for t in encode(question)]
    c = encode(context)
    L = T - len(q) - 3
    assert L > stride
    # Windows: the tokenizers library's overflow with stride (overlap) stride.
    windows, s = [], 0
    while True:
        e = min(s + L, len(c))
        windows.append((s, e))
        if e >= len(c):
            break
        s += L - stride
    feats = []
    for s, e in windows:
        win = c[s:e]
        ids = [CLS] + q + [SEP] + [t[0] for t in win] + [SEP]
        types = [0] * (len(q) + 2) + [1] * (len(win) + 1)
        offsets = [-1, -1] * (len(q) + 2)
        for t in win:
            offsets += [t[1], t[2]]
        offsets += [-1, -1]
        ctx = len(q) + 2
        span = [0, 0]
        if answer is not None and win:
            sc, ec = answer[0], answer[0] + len(answer[1])
            # run_qa.py: the window must hold the answer whole...
            if win[0][1] <= sc and win[-1][2] >= ec:
                i = 0
                while i + 1 < len(win) and win[i + 1][1] <= sc:
                    i += 1
                j = len(win) - 1
                while j > 0 and win[j - 1][2] >= ec:
                    j -= 1
                span = [ctx + i, ctx + j]
        feats.append({"ids": ids, "types": types, "offsets": offsets, "span": span,
                      "ctx": [ctx, ctx + len(win)]})
    return feats


def sentence(rng, lo, hi):
    n = rng.randint(lo, hi)
    seps = [" ", " ", " ", "  ", "\t"]
    out = ""
    for i in range(n):
        out += (rng.choice(seps) if i else "") + rng.choice(SURFACE)
    return out


def main():
    rng = random.Random(20261202)
    cases = []
    for _ in range(75):
        T = rng.randint(4, 24)
        text = sentence(rng, 0, 14)
        pair = sentence(rng, 0, 10) if rng.random() < 0.6 else None
        inp = {"text": text, "label": "x"}
        if pair is not None:
            inp["text_pair"] = pair
        cases.append({"kind": "classify", "T": T, "stride": 0, "input": inp,
                      "features": classify_features(text, pair, T)})
    for _ in range(75):
        T = rng.randint(4, 24)
        words = sentence(rng, 1, 14).split()
        # Only words that are whole words of BERT's splitting (no punctuation inside).
        tags = [rng.choice(TAGS) for _ in words]
        cases.append({"kind": "tag", "T": T, "stride": 0,
                      "input": {"tokens": words, "tags": tags},
                      "features": tag_features(words, tags, T)})
    while len(cases) < 300:
        question = sentence(rng, 1, 5)
        context = sentence(rng, 0, 20)
        nq = len(encode(question))
        T = rng.randint(nq + 4, nq + 20)
        L = T - nq - 3
        stride = rng.randint(0, L - 1)
        answer = None
        if context.strip() and rng.random() < 0.85:
            if rng.random() < 0.6:  # whole words
                ws = words_of(context)
                i = rng.randrange(len(ws))
                j = min(len(ws) - 1, i + rng.randint(0, 4))
                a, b = ws[i][0], ws[j][1]
            else:  # any characters
                a = rng.randrange(len(context))
                b = min(len(context), a + rng.randint(1, 12))
            answer = (a, context[a:b])
        inp = {"id": "c%d" % len(cases), "question": question, "context": context,
               "answers": {"text": [answer[1]] if answer else [],
                           "answer_start": [answer[0]] if answer else []}}
        cases.append({"kind": "qa", "T": T, "stride": stride, "input": inp,
                      "features": qa_features(question, context, answer, T, stride)})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref", "task_cases.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"vocab": VOCAB}, ensure_ascii=False) + "\n")
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n")
    print("%s: %d cases" % (path, len(cases)))


if __name__ == "__main__":
    main()
