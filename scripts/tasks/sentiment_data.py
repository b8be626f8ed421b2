#!/usr/bin/python3
"""Sentence-polarity task and its MLM pretraining corpus, from Debian's python3-pattern.

Usage: sentiment_data.py PATTERN_DIR KJV_CHAPTERS AUSTEN OUT_DIR

PATTERN_DIR holds the corpora of python3-pattern (scripts/data.sh pattern). Writes into
OUT_DIR:

  train.tsv, test.tsv      header "text<TAB>label", label "pos" or "neg"
  train.jsonl, test.jsonl  the same rows as {"text": ..., "label": ...}
  fit.tsv, dev.tsv         train.tsv cut in two for model selection (early stopping,
  fit.jsonl, dev.jsonl     learning rates): dev = the next 10 % by key after the test
                           rows (180 per label), fit = the rest of train (3,240)
  train-text.txt           the training split's sentences only, one a line (unlabelled)
  mlm.txt                  the BERT pretraining corpus (see below), "lines" format
  mlm-val.txt              its validation text: 60 reviews of pang&lee1 kept out of
                           mlm.txt (in-domain masked-LM figures during pretraining)
  mlm-reviews.txt          the in-domain part of mlm.txt alone (its parts 1 and 2
                           below: training sentences and reviews, 1.15 M words)
  tapt.txt                 the fit sentences, each its own document ("lines" format),
                           for masked-LM training on the task's own text (task-adaptive
                           pretraining) before fine-tuning; dev and test stay out
  reviews.tsv              the sentences of the 1,440 pang&lee1 reviews in mlm.txt,
                           each labelled with its review's label ("distant" labels:
                           a sentence of a positive review is often neutral or even
                           negative), header "text<TAB>label", ordered by key; for an
                           intermediate fine-tuning before the task's own (see below)
  README.txt               counts and the rules below

The task. polarity-en-pang&lee2.csv holds 4,000 single sentences of movie reviews
(2,000 labelled 1, 2,000 labelled -1): a sample of Pang & Lee's "sentence polarity
dataset v1.0" (rt-polarity). Pattern's README swaps the two file names: file 2 is the
sentence set, file 1 (1,500 whole reviews, 750/750) is a sample of "polarity dataset
v2.0". Both are UTF-8 with a byte-order mark, rows "label","text" (CSV quoting, "" for a
quote) ending in CRLF; each text ends in " \n" inside its quotes. The sentences are
already tokenised and lower-cased ("it's a film , not a ..."). No sentence occurs twice,
not even after folding case and punctuation.

The split (deterministic, implementation-independent, stratified). For each sentence
take key = sha256("zhuyi-sentiment-v1\t" + text) as hex (text: stripped, runs of
whitespace made one space). Within each label, sort by key; the first 10 % (200 of
2,000) go to test, the rest to train. Each file is then ordered by key (labels mixed).
Result: 3,600 train (1,800 pos / 1,800 neg), 400 test (200 / 200). Within each label
the next 180 by key (positions 200-379) are dev, a part of train; fit = train - dev.

TSV quoting. 112 sentences contain a double quote and 20 begin with one. The TSV files
are written as Python's csv "excel-tab" dialect: a field holding a quote is enclosed in
quotes and its quotes doubled (what pandas/read_csv(sep="\\t") and Python's csv read
back). No text contains a tab or a newline. The .jsonl files carry the same rows with
no quoting question at all.

The MLM corpus (mlm.txt, BERT's "lines" format: a sentence a line, a blank line between
documents). It never contains a test sentence:
  1. the 3,600 training sentences (labels dropped), in documents of 8 in key order;
  2. the 1,500 whole reviews of polarity-en-pang&lee1.csv (labels dropped), a review a
     document, except the 60 whose sha256 key (of the review's folded text) comes first,
     which make mlm-val.txt, its lines (one sentence each in that file) as sentences; a line is dropped
     if it contains a test sentence (after whitespace folding) -- one test sentence,
     "the worst film of the year .", occurs inside a review line;
  3. Jane Austen's six novels (scripts/data.sh austen), a chapter a document, paragraphs
     cut into sentences after . ! ? followed by a space and an upper-case letter or a
     quote (not after Mr. Mrs. Dr. St.), the same rules as pretrain --format prose in
     spirit; chapter headings and title lines dropped;
  4. the King James Bible, a verse a line, a chapter a document (kjv-chapters.txt).

reviews.tsv holds the lines of part 2 above (the same 1,440 reviews, the same dropped
line, never a line of the 60 validation reviews), a row each, labelled "pos" if the
review's label is 1 and "neg" if it is -1, ordered by the line's key; a line occurring
in more than one review is kept once, with the label of its first review in file order.
The review labels are not those of the task: the reviews are another corpus (polarity
dataset v2.0, IMDb reviews; the task's sentences are Rotten Tomatoes snippets).
"""
import csv
import hashlib
import io
import json
import os
import re
import sys

SALT = "zhuyi-sentiment-v1\t"


def fold(s):
    return " ".join(s.split())


def read_pattern_csv(path):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    text = text.lstrip("\ufeff")  # byte-order mark
    rows = list(csv.reader(io.StringIO(text)))
    for i, r in enumerate(rows):
        if len(r) != 2 or r[0] not in ("1", "-1"):
            sys.exit("%s: row %d: expected \"1|-1\",\"text\", got %r" % (path, i + 1, r[:2]))
    return rows


def key(text):
    return hashlib.sha256((SALT + text).encode("utf-8")).hexdigest()


def austen_documents(path):
    """Chapters of the six novels as lists of sentences."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    docs, doc, para = [], [], []

    def flush_para():
        if para:
            p = fold(" ".join(para))
            # cut after . ! ? (optionally followed by closing quotes) and a space, when
            # the next word starts with an upper-case letter or a quote; not after titles
            parts = re.split(r'(?<=[.!?])(?<!\bMr\.)(?<!\bMrs\.)(?<!\bDr\.)(?<!\bSt\.)(["\']?)\s+(?=["\'A-Z])', p)
            # re.split keeps the captured quote as its own item: glue it back
            sents, cur = [], ""
            for k, piece in enumerate(parts):
                if k % 2 == 1:
                    cur += piece
                    sents.append(cur)
                    cur = ""
                else:
                    cur += piece
            if cur:
                sents.append(cur)
            doc.extend(s.strip() for s in sents if s.strip())
            para.clear()

    for line in lines:
        s = line.strip()
        if re.match(r"^(CHAPTER|Chapter)\s+[0-9IVXLC]+\.?$", s) or re.match(r"^(VOLUME|Volume)\s", s):
            flush_para()
            if doc:
                docs.append(doc)
            doc = []
            continue
        if not s:
            flush_para()
            continue
        para.append(s)
    flush_para()
    if doc:
        docs.append(doc)
    # drop the title pages etc.: documents of fewer than 5 sentences
    return [d for d in docs if len(d) >= 5]


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.split("\n\n")[1])
    pattern_dir, kjv_chapters, austen, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)

    sents = read_pattern_csv(os.path.join(pattern_dir, "polarity-en-pang&lee2.csv"))
    reviews = read_pattern_csv(os.path.join(pattern_dir, "polarity-en-pang&lee1.csv"))

    by_label = {"pos": [], "neg": []}
    seen = set()
    for lab, text in sents:
        t = fold(text)
        if not t:
            continue
        if t in seen:
            continue  # none in the Debian file; kept as a rule
        seen.add(t)
        by_label["pos" if lab == "1" else "neg"].append(t)
    train, test, dev = [], [], []
    for lab, texts in by_label.items():
        texts.sort(key=key)
        n_test = len(texts) // 10
        test += [(t, lab) for t in texts[:n_test]]
        train += [(t, lab) for t in texts[n_test:]]
        dev += [(t, lab) for t in texts[n_test:n_test + (len(texts) - n_test) // 10]]
    train.sort(key=lambda r: key(r[0]))
    test.sort(key=lambda r: key(r[0]))
    dev.sort(key=lambda r: key(r[0]))
    dev_set = set(dev)
    fit = [r for r in train if r not in dev_set]

    for name, rows in (("train", train), ("test", test), ("fit", fit), ("dev", dev)):
        with open(os.path.join(out, name + ".tsv"), "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, dialect="excel-tab", lineterminator="\n")
            w.writerow(["text", "label"])
            w.writerows(rows)
        with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as f:
            for t, lab in rows:
                f.write(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "train-text.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t, _ in train))

    # The MLM corpus: never a test sentence.
    test_set = [t for t, _ in test]
    docs = []
    for i in range(0, len(train), 8):
        docs.append([t for t, _ in train[i:i + 8]])
    n_train_docs = len(docs)
    dropped = 0
    val_keys = set(sorted(key(fold(t)) for _, t in reviews)[:60])
    val_docs = []
    review_rows = {}
    for lab, text in reviews:
        doc = []
        for line in text.split("\n"):
            l = fold(line)
            if not l:
                continue
            if any(t in l for t in test_set):
                dropped += 1
                continue
            doc.append(l)
        if doc:
            is_val = key(fold(text)) in val_keys
            (val_docs if is_val else docs).append(doc)
            if not is_val:
                for l in doc:
                    review_rows.setdefault(l, "pos" if lab == "1" else "neg")
    n_review_docs = len(docs) - n_train_docs
    n_domain_docs = len(docs)
    adocs = austen_documents(austen)
    docs += adocs
    kdocs = []
    with open(kjv_chapters, encoding="utf-8") as f:
        cur = []
        for line in f:
            l = line.strip()
            if not l:
                if cur:
                    kdocs.append(cur)
                cur = []
            else:
                cur.append(l)
        if cur:
            kdocs.append(cur)
    docs += kdocs
    n_lines = 0
    n_words = 0
    with open(os.path.join(out, "mlm.txt"), "w", encoding="utf-8") as f:
        for d in docs:
            for s in d:
                f.write(s + "\n")
                n_lines += 1
                n_words += len(s.split())
            f.write("\n")
    with open(os.path.join(out, "mlm-val.txt"), "w", encoding="utf-8") as f:
        for d in val_docs:
            f.write("".join(s + "\n" for s in d) + "\n")
    with open(os.path.join(out, "mlm-reviews.txt"), "w", encoding="utf-8") as f:
        for d in docs[:n_domain_docs]:
            f.write("".join(s + "\n" for s in d) + "\n")
    with open(os.path.join(out, "tapt.txt"), "w", encoding="utf-8") as f:
        f.write("".join(t + "\n\n" for t, _ in fit))
    with open(os.path.join(out, "reviews.tsv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, dialect="excel-tab", lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows(sorted(review_rows.items(), key=lambda r: key(r[0])))
    # a last check: no test sentence anywhere in the pretraining text
    with open(os.path.join(out, "mlm.txt"), encoding="utf-8") as f:
        mlm = f.read()
    leaks = [t for t in test_set if t in mlm]
    if leaks:
        sys.exit("sentiment_data.py: test sentences in mlm.txt: %r" % leaks[:3])

    def count(rows, lab):
        return sum(1 for _, l in rows if l == lab)

    summary = (
        "sentiment: Pang & Lee sentence polarity (python3-pattern polarity-en-pang&lee2.csv)\n"
        "train %d (pos %d, neg %d), test %d (pos %d, neg %d); train = fit %d + dev %d\n"
        "mlm.txt: %d documents, %d sentences, %d words: %d of training sentences (8 each), "
        "%d reviews (pang&lee1; %d review lines dropped for holding a test sentence), "
        "%d Austen chapters, %d KJV chapters; mlm-val.txt: %d reviews\n"
        "reviews.tsv: %d review sentences (pos %d, neg %d)\n"
        % (len(train), count(train, "pos"), count(train, "neg"), len(test), count(test, "pos"),
           count(test, "neg"), len(fit), len(dev), len(docs), n_lines, n_words, n_train_docs, n_review_docs,
           dropped, len(adocs), len(kdocs), len(val_docs), len(review_rows),
           sum(1 for l in review_rows.values() if l == "pos"),
           sum(1 for l in review_rows.values() if l == "neg")))
    with open(os.path.join(out, "README.txt"), "w", encoding="utf-8") as f:
        f.write(summary + "\n" + __doc__)
    sys.stdout.write(summary)


if __name__ == "__main__":
    main()
