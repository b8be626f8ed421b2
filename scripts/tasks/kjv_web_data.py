#!/usr/bin/python3
"""Instruction pairs built by rule from the King James Bible and the World English Bible.

Usage: kjv_web_data.py web  KJV_TXT WEB_OSIS OUT_DIR   (the modernisation set, kjv-web)
       kjv_web_data.py next KJV_TXT OUT_DIR            (verse -> next verse, kjv-next)

KJV_TXT is scripts/data.sh kjv's build/data/kjv.txt: a verse a line, "Ge1:1 In the ...",
31,102 verses in 1,189 chapters (Debian's bible-kjv). WEB_OSIS is the World English
Bible as `diatheke -b engWEB2015eb -f OSIS -k Gen-Rev` prints it (Debian's
sword-text-web + diatheke; SWORD's default filters: no Strong's numbers, footnotes,
cross-references or headings): a verse a line, "Genesis 1:1: <w>In</w> <w>the</w> ...".

THE RULES

kjv-web ("Rewrite in modern English"), one pair per verse present in both Bibles:
    {"prompt": "Rewrite in modern English: <KJV verse>", "completion": "<WEB verse>"}
  Alignment: by book, chapter and verse number. The module's versification is NRSVA,
  which numbers the 66 books' verses as the KJV does; a verse that is missing or empty on
  either side is dropped (README.txt lists them: 7 KJV verses, Luke 17:36, Acts 8:37,
  15:34, 24:7, which the WEB leaves empty, and Romans 16:25-27, whose doxology the WEB
  prints at the end of Romans 14:23, so that one pair's completion is longer than its
  prompt). The WEB's deuterocanonical books are not used. Real differences of text stay:
  1 John 5:7's KJV has the "three that bear record in heaven", the WEB does not.
  KJV side: the line with its label ("Ge1:1 ") removed, otherwise as bible-kjv prints it.
  WEB side, cleaned in this order:
    1. everything on the line before the verse label "Book C:V: " is dropped (diatheke
       prints the last psalm title seen before every later verse),
    2. the module's glossary, which diatheke prints after Revelation 22:21 ("The
       following words used in the World English Bible (WEB) are not very common, ...",
       17,000 characters), is cut off at that sentence,
    3. "</w><w" becomes "</w> <w": the module writes no space between two words where
       its footnotes were ("God</w><w>created"; 107 places), so a space is put back,
    4. every tag (<w>, <milestone/>, ...) is removed and XML entities unescaped,
    5. typographic quotes become ASCII, as the KJV text has them: ’ ‘ -> ', “ ” -> "
       (nothing else is changed: the em dash stays),
    6. runs of whitespace become one space; leading and trailing space is removed.
  (The WEB's licence asks that a changed text not be called the World English Bible:
  these are the WEB's words with its markup removed and its quotes made ASCII.)

kjv-next (verse -> next verse), one pair per verse that has a next verse in its chapter:
    {"prompt": "<KJV verse>", "completion": "<the next KJV verse>"}
  (labels removed; pairs never cross a chapter, so never a split either).

THE SPLIT (both sets, the same chapters): held-out chapters, not random verses. Each of
the 1,189 KJV chapters (label like "Ge1", "1Sm17": the verse label without ":N") has
key = sha256("zhuyi-kjv-web-v1\\t" + label); chapters sorted by key, the first 60 are
test, the next 60 val, the other 1,069 train. A pair belongs to its verse's chapter.
Deterministic: no random generator, no dependence on the machine or the Python version.

OUTPUT, OUT_DIR/:
  {train,val,test}.jsonl   one {"id", "prompt", "completion"} a line (id = the KJV label
                           of the prompt's verse, "Ge1:1"), in Bible order
  next only: {train,val,test}.txt   the KJV verses of each split's chapters, labels
                           removed, a verse a line: pretraining text that holds no
                           val/test verse (scripts/tasks/pretrain_kjv_gpt.sh)
  README.txt               these rules and the counts
"""
import hashlib
import html
import json
import os
import re
import sys

SALT = "zhuyi-kjv-web-v1\t"
N_TEST, N_VAL = 60, 60
PROMPT_WEB = "Rewrite in modern English: "

# bible-kjv's book abbreviations (as in kjv.txt's labels) and the WEB module's names,
# in the same (canonical) order.
BOOKS = [
    ("Ge", "Genesis"), ("Exo", "Exodus"), ("Lev", "Leviticus"), ("Num", "Numbers"),
    ("Deu", "Deuteronomy"), ("Josh", "Joshua"), ("Jdgs", "Judges"), ("Ruth", "Ruth"),
    ("1Sm", "I Samuel"), ("2Sm", "II Samuel"), ("1Ki", "I Kings"), ("2Ki", "II Kings"),
    ("1Chr", "I Chronicles"), ("2Chr", "II Chronicles"), ("Ezra", "Ezra"),
    ("Neh", "Nehemiah"), ("Est", "Esther"), ("Job", "Job"), ("Psa", "Psalms"),
    ("Prv", "Proverbs"), ("Eccl", "Ecclesiastes"), ("SSol", "Song of Solomon"),
    ("Isa", "Isaiah"), ("Jer", "Jeremiah"), ("Lam", "Lamentations"), ("Eze", "Ezekiel"),
    ("Dan", "Daniel"), ("Hos", "Hosea"), ("Joel", "Joel"), ("Amos", "Amos"),
    ("Obad", "Obadiah"), ("Jonah", "Jonah"), ("Mic", "Micah"), ("Nahum", "Nahum"),
    ("Hab", "Habakkuk"), ("Zep", "Zephaniah"), ("Hag", "Haggai"), ("Zec", "Zechariah"),
    ("Mal", "Malachi"), ("Mat", "Matthew"), ("Mark", "Mark"), ("Luke", "Luke"),
    ("John", "John"), ("Acts", "Acts"), ("Rom", "Romans"), ("1Cor", "I Corinthians"),
    ("2Cor", "II Corinthians"), ("Gal", "Galatians"), ("Eph", "Ephesians"),
    ("Phi", "Philippians"), ("Col", "Colossians"), ("1Th", "I Thessalonians"),
    ("2Th", "II Thessalonians"), ("1Tim", "I Timothy"), ("2Tim", "II Timothy"),
    ("Titus", "Titus"), ("Phmn", "Philemon"), ("Heb", "Hebrews"), ("Jas", "James"),
    ("1Pet", "I Peter"), ("2Pet", "II Peter"), ("1Jn", "I John"), ("2Jn", "II John"),
    ("3Jn", "III John"), ("Jude", "Jude"), ("Rev", "Revelation of John"),
]
WEB_TO_KJV = {web: kjv for kjv, web in BOOKS}

KJV_LINE = re.compile(r"^([1-3]?[A-Za-z]+)([0-9]+):([0-9]+) (.*)$")
# A WEB verse label at the line's start or after the psalm-title prefix (two spaces).
WEB_LABEL = re.compile(r"(?:^|  )(" + "|".join(re.escape(w) for _, w in BOOKS) +
                       r") ([0-9]+):([0-9]+): ")
QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def die(msg):
    sys.exit("kjv_web_data.py: " + msg)


def read_kjv(path):
    """[(label, chapter label, text)] in Bible order."""
    verses = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            m = KJV_LINE.match(line)
            if not m:
                die("%s:%d: not a verse line: %r" % (path, n, line[:60]))
            book, c, v, text = m.groups()
            verses.append(("%s%s:%s" % (book, c, v), book + c, text.strip()))
    known = {k for k, _ in BOOKS}
    books = {lab.split(":")[0].rstrip("0123456789") for lab, _, _ in verses}
    if books - known:
        die("%s: unknown book labels %s" % (path, sorted(books - known)))
    return verses


GLOSSARY = "The following words used in the World English Bible"


def clean_web(text):
    text = text.split(GLOSSARY, 1)[0]
    text = text.replace("</w><w", "</w> <w")
    text = re.sub(r"<[^>]*>", "", text)
    text = html.unescape(text).translate(QUOTES)
    return " ".join(text.split())


def read_web(path):
    """{KJV-style label: cleaned text} for the 66 books (others skipped)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = WEB_LABEL.search(line)
            if not m:
                continue  # a deuterocanonical book, or diatheke's closing "(engWEB2015eb)"
            label = "%s%s:%s" % (WEB_TO_KJV[m.group(1)], m.group(2), m.group(3))
            if label in out:
                die("%s:%d: verse %s twice" % (path, n, label))
            out[label] = clean_web(line[m.end():])
    if len(out) < 30000:
        die("%s: only %d verses of the 66 books (expected about 31,000)" % (path, len(out)))
    return out


def split_of(chapters):
    """{chapter label: 'test'|'val'|'train'} by the sha256 rule."""
    order = sorted(chapters, key=lambda c: hashlib.sha256((SALT + c).encode()).hexdigest())
    sp = {}
    for i, c in enumerate(order):
        sp[c] = "test" if i < N_TEST else "val" if i < N_TEST + N_VAL else "train"
    return sp


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def rules_text():
    return __doc__.split("THE RULES", 1)[1].split("OUTPUT,", 1)[0].strip("\n")


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "web":
        mode, kjv_path, web_path, out = "web", sys.argv[2], sys.argv[3], sys.argv[4]
    elif len(sys.argv) == 4 and sys.argv[1] == "next":
        mode, kjv_path, web_path, out = "next", sys.argv[2], None, sys.argv[3]
    else:
        die("usage: kjv_web_data.py web KJV_TXT WEB_OSIS OUT_DIR | next KJV_TXT OUT_DIR")
    verses = read_kjv(kjv_path)
    chapters = list(dict.fromkeys(ch for _, ch, _ in verses))
    sp = split_of(chapters)
    rows = {"train": [], "val": [], "test": []}
    dropped = []
    if mode == "web":
        web = read_web(web_path)
        for label, ch, text in verses:
            w = web.get(label, "")
            if not text or not w:
                dropped.append(label)
                continue
            rows[sp[ch]].append({"id": label, "prompt": PROMPT_WEB + text, "completion": w})
        extra = sorted(set(web) - {lab for lab, _, _ in verses})
    else:
        for i, (label, ch, text) in enumerate(verses):
            if i + 1 < len(verses) and verses[i + 1][1] == ch:
                rows[sp[ch]].append({"id": label, "prompt": text,
                                     "completion": verses[i + 1][2]})
    os.makedirs(out, exist_ok=True)
    for name, r in rows.items():
        write_jsonl(os.path.join(out, name + ".jsonl"), r)
    if mode == "next":
        for name in rows:
            with open(os.path.join(out, name + ".txt"), "w", encoding="utf-8",
                      newline="\n") as f:
                f.write("".join(t + "\n" for _, ch, t in verses if sp[ch] == name))
    nch = {s: sum(1 for c in chapters if sp[c] == s) for s in rows}
    lines = ["kjv-%s: %s" % (mode, "KJV verse -> the same verse in the World English "
                             "Bible" if mode == "web" else "KJV verse -> next verse"),
             "written by scripts/tasks/kjv_web_data.py; the rules:", "", rules_text(), "",
             "counts (pairs / chapters):"]
    for s in ("train", "val", "test"):
        lines.append("  %-5s %6d pairs  %4d chapters" % (s, len(rows[s]), nch[s]))
    lines.append("  all   %6d pairs  %4d chapters" % (sum(len(r) for r in rows.values()),
                                                      len(chapters)))
    lines.append("test chapters: " + " ".join(c for c in chapters if sp[c] == "test"))
    lines.append("val chapters: " + " ".join(c for c in chapters if sp[c] == "val"))
    if mode == "web":
        lines.append("KJV verses dropped (missing or empty in the WEB module): %d: %s"
                     % (len(dropped), " ".join(dropped)))
        lines.append("WEB verses with no KJV verse of that number (unused): %d: %s"
                     % (len(extra), " ".join(extra)))
    with open(os.path.join(out, "README.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    for l in lines[lines.index("counts (pairs / chapters):"):]:
        print(l if len(l) < 200 else l[:197] + "...")


if __name__ == "__main__":
    main()
