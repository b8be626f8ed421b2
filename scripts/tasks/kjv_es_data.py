#!/usr/bin/python3
"""English -> Spanish translation pairs: the King James Bible and the Reina-Valera 1909,
aligned by verse.

Usage: kjv_es_data.py KJV_TXT SPARV_PLAIN OUT_DIR

KJV_TXT is scripts/data.sh kjv's build/data/kjv.txt (Debian's bible-kjv, a verse a line,
"Ge1:1 In the ..."). SPARV_PLAIN is `diatheke -b spaRV1909eb -f plain -k Gen-Rev`
(Debian's sword-text-sparv + diatheke): a verse a line, "Genesis 1:1: EN el principio
...", with Strong's numbers as <H7225>/<G5547> tags.

THE RULES

Pairs: one per KJV verse whose Spanish verse of the same book, chapter and verse number
is non-empty, unless its chapter is dropped (below).
  English side: the KJV line with its label ("Ge1:1 ") removed, whitespace normalised.
  Spanish side, cleaned in this order:
    1. every tag is removed (Strong's <H…>/<G…>, and any other <…> markup), together with
       the whitespace before it, so "Jesucristo <G5547> sea" becomes "Jesucristo sea",
    2. runs of whitespace become one space; leading and trailing space is removed,
    3. in a chapter's first verse, the capitalised opening word the printed Bible sets in
       small capitals ("EN el principio", "Y ACONTECIÓ", "¿CAZARÁS") is title-cased
       ("En el principio", "Y Aconteció", "¿Cazarás"); nothing else is changed (the
       1909 spelling stays: "fué", "á", and the circumflex of "Ezechîas", "Achâb").
Dropped chapters: the module keeps the Spanish Bible's own verse numbering inside the
KJV's verse slots, so in some chapters the Spanish verse n is the KJV's n+1 or n-1 (e.g.
KJV Numbers 12:16 is the module's 13:1, and all of Numbers 13 is one verse off; Jonah
1:17 is 2:1; Hosea 11:12 is 12:1), and in others two verses share one slot and the next
slot is empty (2 Samuel 20:25-26, Acts 19:40-41). A chapter is dropped, whole, when
  (a) a Spanish verse slot in it is empty, or
  (b) verse lengths say it is shifted: with r = (Spanish characters) / (English
      characters) over the whole Bible, the cost of shift s at verse i is the mean of
      |log(len_es[j+s] / (r len_en[j]))| over j in i-4 .. i+4 (the KJV order, across
      chapters); verse i is flagged when some s in -3..3, s != 0, costs less than 0.6 of
      s = 0, and a chapter with a run of 3 or more consecutive flagged verses with the
      same s is dropped.
  Rule (b) also drops some well-aligned poetry whose verse lengths are too even to
  tell (it errs on the side of dropping); the list is in README.txt.
Dropped verses: where the two Bibles cut a verse boundary differently (Judges 14:19-20,
1 Kings 18:33-34, 1 Chronicles 1:30-31), where the KJV prints an epistle's subscription
("Written to the Romans from Corinthus ...") or the Spanish a psalm's title in verse 1,
one side is much longer: (c) a pair whose (Spanish length) / (r English length) is
outside [0.5, 2.0] is dropped, and so are the verses before and after it in its chapter.
Psalm titles under that ratio stay (the Spanish verse 1 of 112 psalms begins with its
title, "Salmo de David, ...", which the KJV text leaves out).

THE SPLIT: held out by verse, fixed rule, no random generator. Each kept pair's key is
sha256("zhuyi-kjv-es-v1\\t" + KJV label, e.g. "Ge1:1"); pairs sorted by key: the first
1,000 are test, the next 500 valid, the rest train. Every file lists its pairs in Bible
order.

OUTPUT, OUT_DIR/:
  {train,valid,test}.en, .es   line-aligned, one verse a line (line n of .en is the
                               English of line n of .es)
  {train,valid,test}.tsv       "en<TAB>es" a line, the same pairs in the same order
  {train,valid,test}.ids       the KJV label of each line
  README.txt                   these rules, the counts, the dropped chapters and verses,
                               and the sentence lengths
"""
import hashlib
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kjv_web_data import BOOKS, read_kjv  # noqa: E402  (the book table and the KJV reader)

SALT = "zhuyi-kjv-es-v1\t"
N_TEST, N_VALID = 1000, 500
ES_LINE = re.compile(r"^(" + "|".join(re.escape(w) for _, w in BOOKS) +
                     r") ([0-9]+):([0-9]+): ?(.*)$")
NAME_TO_KJV = {name: kjv for kjv, name in BOOKS}
TAG = re.compile(r"\s*<[^>]*>")
CAPS = re.compile(r"^([¿¡]?)((?:[A-Za-z]\s)?)([A-ZÁÉÍÓÚÑÜ]{2,})\b")
WIN, SHIFT, GAIN, RUN = 4, 3, 0.6, 3
LO, HI = 0.5, 2.0


def die(msg):
    sys.exit("kjv_es_data.py: " + msg)


def clean_es(text, first):
    text = " ".join(TAG.sub("", text).split())
    if first:
        m = CAPS.match(text)
        if m:
            text = m.group(1) + m.group(2) + m.group(3).capitalize() + text[m.end():]
    return text


def read_es(path):
    """{KJV-style label: cleaned text} ('' for an empty slot)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = ES_LINE.match(line.rstrip("\n"))
            if not m:
                continue  # diatheke's closing "(spaRV1909eb)"
            label = "%s%s:%s" % (NAME_TO_KJV[m.group(1)], m.group(2), m.group(3))
            if label in out:
                die("%s:%d: verse %s twice" % (path, n, label))
            out[label] = clean_es(m.group(4), m.group(3) == "1")
    if len(out) < 30000:
        die("%s: only %d verses (expected about 31,000)" % (path, len(out)))
    return out


def shifted_chapters(verses, es):
    """{chapter: (first label of the run, shift)} by rule (b)."""
    en_len = [len(t) for _, _, t in verses]
    es_len = [len(es.get(lab, "")) for lab, _, _ in verses]
    r = sum(es_len) / sum(en_len)
    n = len(verses)

    def cost(i, s):
        c, k = 0.0, 0
        for j in range(max(0, i - WIN), min(n, i + WIN + 1)):
            if 0 <= j + s < n and es_len[j + s] > 0 and en_len[j] > 0:
                c += abs(math.log(es_len[j + s] / (r * en_len[j])))
                k += 1
        return c / k if k else float("inf")

    flag = []
    for i in range(n):
        c0 = cost(i, 0)
        best = min((s for s in range(-SHIFT, SHIFT + 1) if s), key=lambda s: cost(i, s))
        flag.append(best if cost(i, best) < GAIN * c0 else 0)
    out = {}
    i = 0
    while i < n:
        j = i
        while j < n and flag[j] and flag[j] == flag[i]:
            j += 1
        if j - i >= RUN:
            for k in range(i, j):
                out.setdefault(verses[k][1], (verses[i][0], flag[i]))
        i = max(j, i + 1)
    return out, r


def pct(a, p):
    s = sorted(a)
    return s[min(len(s) - 1, int(math.ceil(p / 100.0 * len(s))) - 1)]


def length_lines(rows):
    lines = []
    for side, k in (("en", 1), ("es", 2)):
        words = [len(row[k].split()) for row in rows]
        chars = [len(row[k]) for row in rows]
        lines.append("  %s words: mean %.1f, p50 %d, p95 %d, p99 %d, max %d;  characters: "
                     "mean %.0f, p95 %d, max %d" % (
                         side, sum(words) / len(words), pct(words, 50), pct(words, 95),
                         pct(words, 99), max(words), sum(chars) / len(chars),
                         pct(chars, 95), max(chars)))
    return lines


def main():
    if len(sys.argv) != 4:
        die("usage: kjv_es_data.py KJV_TXT SPARV_PLAIN OUT_DIR")
    verses = read_kjv(sys.argv[1])
    es = read_es(sys.argv[2])
    out = sys.argv[3]
    chapters = list(dict.fromkeys(ch for _, ch, _ in verses))
    empty_ch = {}
    for lab, ch, text in verses:
        if not es.get(lab):
            empty_ch.setdefault(ch, []).append(lab)
    shifted, ratio = shifted_chapters(verses, es)
    drop = set(empty_ch) | set(shifted)
    odd = set()
    for i, (lab, ch, text) in enumerate(verses):
        if ch in drop or not es.get(lab) or not text:
            continue
        q = len(es[lab]) / (ratio * len(text))
        if not LO <= q <= HI:
            for j in (i - 1, i, i + 1):
                if 0 <= j < len(verses) and verses[j][1] == ch:
                    odd.add(verses[j][0])
    rows = []
    for lab, ch, text in verses:
        if ch in drop or not es.get(lab) or not text or lab in odd:
            continue
        rows.append((lab, " ".join(text.split()), es[lab]))
    key = {lab: hashlib.sha256((SALT + lab).encode()).hexdigest() for lab, _, _ in rows}
    order = sorted(key, key=key.get)
    sp = {lab: "test" if i < N_TEST else "valid" if i < N_TEST + N_VALID else "train"
          for i, lab in enumerate(order)}
    os.makedirs(out, exist_ok=True)
    for name in ("train", "valid", "test"):
        part = [row for row in rows if sp[row[0]] == name]
        for ext, text in (("ids", lambda r: r[0]), ("en", lambda r: r[1]),
                          ("es", lambda r: r[2]), ("tsv", lambda r: r[1] + "\t" + r[2])):
            with open(os.path.join(out, "%s.%s" % (name, ext)), "w", encoding="utf-8",
                      newline="\n") as f:
                f.write("".join(text(r) + "\n" for r in part))
    for lab, en, s in rows:
        if "\t" in en + s or "<" in s or ">" in s:
            die("%s: a tab or a tag left in the pair" % lab)
    rules = __doc__.split("THE RULES", 1)[1].split("OUTPUT,", 1)[0].strip("\n")
    nv = {ch: 0 for ch in chapters}
    for _, ch, _ in verses:
        nv[ch] += 1
    lines = ["kjv-es: English (King James) -> Spanish (Reina-Valera 1909), a verse a pair",
             "written by scripts/tasks/kjv_es_data.py; the rules:", "", rules, "",
             "counts (pairs):"]
    for name in ("train", "valid", "test"):
        lines.append("  %-5s %6d" % (name, sum(1 for r in rows if sp[r[0]] == name)))
    lines.append("  all   %6d of %d KJV verses" % (len(rows), len(verses)))
    lines.append("Spanish/English character ratio r = %.3f" % ratio)
    lines.append("chapters dropped: %d (%d verses)" % (len(drop), sum(nv[c] for c in drop)))
    for ch in chapters:
        if ch in drop:
            why = []
            if ch in empty_ch:
                why.append("empty Spanish slot %s" % " ".join(empty_ch[ch]))
            if ch in shifted:
                why.append("shifted by %+d from %s" % (shifted[ch][1], shifted[ch][0]))
            lines.append("  %-6s %3d verses: %s" % (ch, nv[ch], "; ".join(why)))
    lines.append("verses dropped by rule (c): %d: %s" % (
        len(odd), " ".join(lab for lab, _, _ in verses if lab in odd)))
    lines.append("lengths, all kept pairs (words = split on whitespace):")
    lines += length_lines(rows)
    with open(os.path.join(out, "README.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    for l in lines[lines.index("counts (pairs):"):]:
        print(l)


if __name__ == "__main__":
    main()
