#!/usr/bin/python3
"""Extractive question answering built by rule from the King James Bible.

Usage: kjv_qa_data.py KJV_TXT OUT_DIR

KJV_TXT is scripts/data.sh kjv's build/data/kjv.txt: a verse a line, "Ge5:6 And Seth ...".
The questions come from three patterns of the genealogies and patronymics, matched in
each verse (NAME = one capitalised word, [A-Z][a-z]+, not in STOP below):

  R1  "A begat B[, and C]..."  A is the NAME right before "begat", B the NAME right after;
      names joined to B by ", and", ", " or " and " (a coordinated list) are answers too:
        "Whom did A beget?" -> B (and the rest of the list)
        "Who begat B?"      -> A   (for each name of the list)
  R2  the subject of Genesis 5 / 11 style verses, "And A lived ... and begat B",
      "And A lived after he begat B ...", "A was ... years old, and begat B": a "begat B"
      without a NAME right before it takes A (the verse's subject: the NAME after the
      opening "And"/"These are the generations of X:" before "lived", "walked" or
      "was ... old"); the same two questions.
  R3  "A the son of B" / "A the daughter of B":
        "Whose son was A?" / "Whose daughter was A?" -> B
      ("Whose son", not "Who was the father": in "Joab the son of Zeruiah" B is his
      mother).

Every answer is a span of the context: answer_start is the character offset of that
occurrence of the name in the context. Within one context, questions with the same text
are merged and all their answers kept (SQuAD-style: a prediction is scored against the
best-matching gold answer); the same answer text at two places is kept twice (both
starts).

Two variants of the same questions:
  verse     context = the verse text (label "Ge5:6" dropped)  -> train.jsonl, test.jsonl ...
  chapter   context = the whole chapter, verses joined by one space -> *-chapter.jsonl;
            longer than a small model's window (needs --doc-stride), and the answers of
            a question are merged over the whole chapter.

Split by chapter, so no test context (verse or chapter) is seen in training: chapters
holding at least one question are ordered by key = sha256("zhuyi-kjv-qa-v1\\t" + label)
(label like "Ge5", the verse label without ":N"); the first 20 % (rounded down) are
test, the next 10 % dev, the rest fit; train = fit + dev. 20 % rather than 10 % so the
test set holds a few hundred questions. Names recur across chapters (Genesis, 1
Chronicles, Matthew and Luke repeat the same lineages; "Joshua the son of Nun" occurs 24
times), so a test question can have the same question and answer text as a training
question from another chapter; README.txt counts them.

Output, OUT_DIR/: {train,fit,dev,test}.jsonl and {train,fit,dev,test}-chapter.jsonl, one
{"id", "context", "question", "answers": {"text": [...], "answer_start": [...]}} a line
(id = "<verse or chapter label>/<n>"), and README.txt with counts and these rules.
"""
import collections
import hashlib
import json
import os
import re
import sys

SALT = "zhuyi-kjv-qa-v1\t"
NAME = r"[A-Z][a-z]+"
# Capitalised words that are not people (verse-initial words, pronouns, titles).
STOP = {"And", "He", "She", "They", "It", "Which", "Who", "That", "This", "These", "Those",
        "But", "For", "Then", "Thus", "Also", "Now", "So", "Thou", "Ye", "I", "We", "His",
        "Her", "Him", "The", "A", "An", "In", "Of", "Lord", "God", "LORD", "King", "O",
        "Behold", "When", "Whosoever", "Of", "To", "Is", "As", "All"}


def is_name(w):
    return re.fullmatch(NAME, w) is not None and w not in STOP


def names_after(text, pos):
    """The NAME starting at pos and the names coordinated with it: [(name, start)]."""
    out = []
    m = re.compile(NAME).match(text, pos)
    if not m or not is_name(m.group()):
        return out
    out.append((m.group(), m.start()))
    p = m.end()
    while True:
        m2 = re.compile(r"(?:, and |, | and )(" + NAME + r")\b").match(text, p)
        if not m2 or not is_name(m2.group(1)):
            break
        # "A begat B and his brethren" stops at "his"; "B, and C begat D" must not take C
        rest = text[m2.end():]
        if re.match(r"\s+begat\b", rest):
            break
        out.append((m2.group(1), m2.start(1)))
        p = m2.end()
    return out


def questions(verse):
    """[(question, answer, start)] found in one verse's text by R1-R3."""
    qs = []
    subject = None
    m = re.match(r"(?:These are the generations of " + NAME + r": )?(?:And )?(" + NAME +
                 r")(?: lived\b| walked\b| was [a-z ]+? years? old\b)", verse)
    if m and is_name(m.group(1)):
        subject = (m.group(1), m.start(1))
    for b in re.finditer(r"\bbegat ", verse):
        objs = names_after(verse, b.end())
        if not objs:
            continue  # "begat sons and daughters", "begat a son", "begat him" ...
        before = re.search(r"(" + NAME + r")(?:\s+)$", verse[:b.start()])
        if before and is_name(before.group(1)):
            a = (before.group(1), before.start(1))  # R1
        elif subject is not None:
            a = subject  # R2
        else:
            continue
        if any(o[0] == a[0] for o in objs):
            continue
        for o in objs:
            qs.append(("Whom did %s beget?" % a[0], o[0], o[1]))
            qs.append(("Who begat %s?" % o[0], a[0], a[1]))
    for m in re.finditer(r"\b(" + NAME + r") the (son|daughter) of (" + NAME + r")\b", verse):
        if is_name(m.group(1)) and is_name(m.group(3)) and m.group(1) != m.group(3):
            qs.append(("Whose %s was %s?" % (m.group(2), m.group(1)), m.group(3), m.start(3)))
    return qs


def key(label):
    return hashlib.sha256((SALT + label).encode("utf-8")).hexdigest()


def merge(context_id, context, qas):
    """One record per distinct question; answers in order of their starts."""
    byq = collections.OrderedDict()
    for q, a, s in qas:
        byq.setdefault(q, set()).add((s, a))
    recs = []
    for n, (q, ans) in enumerate(byq.items()):
        ans = sorted(ans)
        for s, a in ans:
            assert context[s:s + len(a)] == a, (context_id, q, a, s)
        recs.append({"id": "%s/%d" % (context_id, n), "context": context, "question": q,
                     "answers": {"text": [a for _, a in ans], "answer_start": [s for s, _ in ans]}})
    return recs


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: kjv_qa_data.py KJV_TXT OUT_DIR")
    src, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    chapters = collections.OrderedDict()  # "Ge5" -> [(verse label, text)]
    with open(src, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            m = re.match(r"(\S+?)(\d+):(\d+) (.*)$", line)
            if not m:
                sys.exit("%s:%d: not a verse line" % (src, lineno))
            chapters.setdefault(m.group(1) + m.group(2), []).append((m.group(1) + m.group(2) + ":" + m.group(3), m.group(4)))

    verse_recs = {}
    chapter_recs = {}
    rules = collections.Counter()
    for ch, verses in chapters.items():
        vr = []
        chq = []
        ctx = ""
        for label, text in verses:
            if ctx:
                ctx += " "
            off = len(ctx)
            ctx += text
            qs = questions(text)
            for q, _, _ in qs:
                rules[q.split()[0] + " " + q.split()[1]] += 1
            if qs:
                vr += merge(label, text, qs)
                chq += [(q, a, s + off) for q, a, s in qs]
        if vr:
            verse_recs[ch] = vr
            chapter_recs[ch] = merge(ch, ctx, chq)

    order = sorted(verse_recs, key=key)
    n_test = len(order) // 5
    n_dev = len(order) // 10
    part_of = {}
    for i, ch in enumerate(order):
        part_of[ch] = "test" if i < n_test else "dev" if i < n_test + n_dev else "fit"
    counts = collections.Counter()
    files = {}
    for part in ("fit", "dev", "test", "train"):
        for var in ("", "-chapter"):
            files[part + var] = open(os.path.join(out, part + var + ".jsonl"), "w", encoding="utf-8")
    for ch in verse_recs:  # Bible order
        p = part_of[ch]
        for var, recs in (("", verse_recs[ch]), ("-chapter", chapter_recs[ch])):
            for r in recs:
                line = json.dumps(r, ensure_ascii=False) + "\n"
                files[p + var].write(line)
                if p != "test":
                    files["train" + var].write(line)
                counts[p + var] += 1
        counts[p + " chapters"] += 1
        counts[p + " verses"] += len({r["id"].split("/")[0] for r in verse_recs[ch]})
    for f in files.values():
        f.close()

    train_pairs = {(r["question"], a) for ch in verse_recs if part_of[ch] != "test"
                   for r in verse_recs[ch] for a in r["answers"]["text"]}
    test_recs = [r for ch in verse_recs if part_of[ch] == "test" for r in verse_recs[ch]]
    seen = sum(1 for r in test_recs if any((r["question"], a) in train_pairs for a in r["answers"]["text"]))
    summary = "questions by form: %s\n" % ", ".join("%s... %d" % kv for kv in sorted(rules.items()))
    for p in ("fit", "dev", "test"):
        summary += "%s: %d chapters, %d verses, %d verse questions, %d chapter questions\n" % (
            p, counts[p + " chapters"], counts[p + " verses"], counts[p], counts[p + "-chapter"])
    summary += "train = fit + dev: %d verse questions, %d chapter questions\n" % (
        counts["fit"] + counts["dev"], counts["fit-chapter"] + counts["dev-chapter"])
    summary += ("test verse questions whose question and an answer text also occur in train "
                "(another chapter): %d of %d\n" % (seen, len(test_recs)))
    with open(os.path.join(out, "README.txt"), "w", encoding="utf-8") as f:
        f.write(summary + "\n" + __doc__)
    sys.stdout.write(summary)


if __name__ == "__main__":
    main()
