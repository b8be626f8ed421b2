#!/usr/bin/python3
"""Part-of-speech task from the word/TAG corpora of Debian's python3-pattern.

Usage: pos_data.py PATTERN_DIR OUT_DIR

Reads PATTERN_DIR/tagged-en-wsj.txt (Penn Treebank WSJ sample) and tagged-en-oanc.txt
(Open American National Corpus sample), both UTF-8, LF line ends, one sentence a line
as whitespace-separated word/TAG tokens (the tag after the last "/"; no word holds a
"/" in these files), Penn Treebank tags.

What the files hold (found by inspection, 2026-12-02):
  wsj:  1,000 lines, 25,026 tokens, 44 tags; one line repeated ("Terms were n't
        disclosed ."); 47 lines hold more than one sentence (the file's own segmentation
        is kept: a line is a sequence).
  oanc: 20,000 lines, 360,524 tokens, 48 tags; the sentence splitter that made it cut at
        every "." (e.g. "In its Jan ." / "4 , 2000 , issue ..."), leaving junk lines:
        "./." alone 868 times, '"/"' 379 times, ")/)" 210 times, "S/NNP ./." 207 times
        (from "U.S."); 2,666 lines repeat an earlier one. Quotes are tagged '"' (WSJ:
        `` and ''). Four tokens carry two tags ("VBG|NN", "NN|JJ", "NN|CD"). The tags
        look machine-made in places ("nonchalant/NN", "steamy/NN"), so no tagger can
        reach 100 % on them.

Rules (in this order):
  1. a tag "A|B" becomes A (4 tokens);
  2. a line is dropped when no word in it holds a letter or a digit (punctuation-only
     junk: "./.", '"/"', ")/)" ...);
  3. a line is dropped when the same line (same words, same tags) was kept before, in
     either file, so no test line is also a training line;
  4. split, per corpus: key = sha256("zhuyi-pos-v1\\t" + line) as hex; sorted by key, the
     first 10 % (rounded down) of each corpus go to test, the rest to train; the next
     10 % by key are dev (a part of train, for model selection), fit = train - dev.
     Files keep the corpora's order (wsj first, then oanc; lines in file order).

Writes OUT_DIR/
  train.txt, test.txt         word/TAG tokens, a sentence a line
  fit.*, dev.*                train cut in two (dev: for early stopping), .txt .conll
                              .jsonl like train
  train.conll, test.conll     "word TAG" a token a line, a blank line after each sentence
  train.jsonl, test.jsonl     {"tokens": [...], "tags": [...]} a sentence a line
  test-wsj.txt, test-oanc.txt the test lines of each corpus (word/TAG)
  README.txt                  counts and these rules
"""
import collections
import hashlib
import json
import os
import re
import sys

SALT = "zhuyi-pos-v1\t"


def key(line):
    return hashlib.sha256((SALT + line).encode("utf-8")).hexdigest()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: pos_data.py PATTERN_DIR OUT_DIR")
    src, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    seen = set()
    stats = collections.OrderedDict()
    split = {"train": [], "test": [], "fit": [], "dev": []}
    test_by = {}
    for name in ("wsj", "oanc"):
        path = os.path.join(src, "tagged-en-%s.txt" % name)
        kept = []
        st = stats[name] = collections.Counter()
        with open(path, encoding="utf-8") as f:
            for lineno, raw in enumerate(f, 1):
                toks = raw.split()
                if not toks:
                    continue
                st["lines"] += 1
                sent = []
                for t in toks:
                    if "/" not in t:
                        sys.exit("%s:%d: token %r has no /TAG" % (path, lineno, t))
                    w, tag = t.rsplit("/", 1)
                    if not w or not tag:
                        sys.exit("%s:%d: token %r: empty word or tag" % (path, lineno, t))
                    if "|" in tag:
                        tag = tag.split("|")[0]
                        st["two-tag tokens"] += 1
                    sent.append((w, tag))
                if not any(re.search(r"[^\W_]", w) for w, _ in sent):
                    st["junk lines dropped"] += 1
                    continue
                line = " ".join(w + "/" + t for w, t in sent)
                if line in seen:
                    st["repeated lines dropped"] += 1
                    continue
                seen.add(line)
                kept.append((line, sent))
        order = sorted(range(len(kept)), key=lambda i: key(kept[i][0]))
        test_idx = set(order[:len(kept) // 10])
        dev_idx = set(order[len(kept) // 10:2 * (len(kept) // 10)])
        test_by[name] = []
        for i, item in enumerate(kept):
            part = "test" if i in test_idx else "train"
            split[part].append(item)
            if part == "train":
                split["dev" if i in dev_idx else "fit"].append(item)
            st[part + " sentences"] += 1
            st[part + " tokens"] += len(item[1])
            if part == "test":
                test_by[name].append(item)

    for part, items in split.items():
        with open(os.path.join(out, part + ".txt"), "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line, _ in items))
        with open(os.path.join(out, part + ".conll"), "w", encoding="utf-8") as f:
            for _, sent in items:
                f.write("".join("%s %s\n" % wt for wt in sent) + "\n")
        with open(os.path.join(out, part + ".jsonl"), "w", encoding="utf-8") as f:
            for _, sent in items:
                f.write(json.dumps({"tokens": [w for w, _ in sent], "tags": [t for _, t in sent]},
                                   ensure_ascii=False) + "\n")
    for name, items in test_by.items():
        with open(os.path.join(out, "test-%s.txt" % name), "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line, _ in items))

    tags = collections.Counter(t for _, s in split["train"] for _, t in s)
    summary = ""
    for name, st in stats.items():
        summary += "%s: %s\n" % (name, ", ".join("%s %d" % kv for kv in st.items()))
    for part in ("train", "test", "fit", "dev"):
        summary += "%s %d sentences / %d tokens; " % (part, len(split[part]), sum(len(s) for _, s in split[part]))
    summary += "%d tags in train\n" % len(tags)
    with open(os.path.join(out, "README.txt"), "w", encoding="utf-8") as f:
        f.write(summary + "\n" + __doc__)
    sys.stdout.write(summary)


if __name__ == "__main__":
    main()
