"""Independent reference for zhuyi's WordPiece tokenizer (tests/test_wordpiece*.c).

A re-implementation, from the published rules, of BERT's tokenization as transformers'
BertTokenizer does it (BasicTokenizer, then WordpieceTokenizer), using only the standard
library (`unicodedata`), plus the byte offset of every token in the input:

  clean       drop NUL, U+FFFD and control characters (category C*) except \\t \\n \\r;
              whitespace (\\t \\n \\r, ' ', Zs) becomes ' '
  CJK         spaces around the code points of BERT's CJK ideograph ranges
  split       str.split() (Unicode whitespace)
  lower       per character, str.lower() (BertTokenizer's do_lower_case pass lower-cases
              each character alone, so no final-sigma rule)
  strip       unicodedata.normalize("NFD", token), then drop category Mn
  punctuation ASCII 33-47, 58-64, 91-96, 123-126 or category P*: a word of its own
  wordpiece   greedy longest-match-first, "##" continuations, [UNK] for a word with an
              unmatched rest or more than 100 characters

Offsets: each character carries the byte range of the input character it came from;
a token covers the union of its characters' ranges. The token strings are computed the
way BERT computes them (whole-token NFD, str.split()) and checked against the
character-by-character version that carries the offsets.

Input bytes that are not valid UTF-8 are dropped (as U+FFFD would be).

Writes tests/ref/wordpiece_bert.json: per-code-point data (classes, lower-casing, NFD,
combining classes), hard cases in four modes, pair encodings, decodes, and digests of
every line of the King James Bible and Jane Austen's novels (build/data/kjv.txt,
austen.txt) tokenized uncased (and KJV cased), 256 lines per digest.

Needs build/data/bert-base-uncased/vocab.txt (scripts/data.sh bert-vocab) and the two
texts (scripts/data.sh kjv, scripts/data.sh austen).
Run from the repo root: /usr/bin/python3 tests/ref_wordpiece.py
  --show FILE:LINE [MODE]   print the reference tokens of one corpus line (debugging)
"""
import json
import os
import subprocess
import sys
import unicodedata

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DATA = os.path.join(ROOT, "build", "data")
VOCAB = os.path.join(DATA, "bert-base-uncased", "vocab.txt")
BLOCK = 256
MODES = {  # name: (lowercase, strip_accents, tokenize_chinese_chars)
    "uncased": (True, True, True),
    "cased": (False, False, True),
    "lower_keep_accents": (True, False, True),
    "uncased_no_cjk": (True, True, False),
}
SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]

# ---- character classes ------------------------------------------------------------------
OTHER, SPACE, DROP, PUNCT, CJK, MARK = 0, 1, 2, 3, 4, 5


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or
            0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or
            0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_space(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def char_class(cp):
    ch = chr(cp)
    if cp == 0 or cp == 0xFFFD or is_control(ch):
        return DROP
    if is_space(ch) or ch.isspace():  # str.split() splits on isspace()
        return SPACE
    if is_cjk(cp):
        return CJK
    if is_punct(ch):
        return PUNCT
    if unicodedata.category(ch) == "Mn":
        return MARK
    return OTHER


# ---- decoding bytes with offsets ----------------------------------------------------------
def chars_with_offsets(data):
    """[(char, start, end)] of the valid UTF-8 characters; invalid bytes are skipped."""
    out, i, n = [], 0, len(data)
    while i < n:
        for k in (1, 2, 3, 4):
            try:
                ch = data[i:i + k].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1:
                out.append((ch, i, i + k))
                i += k
                break
        else:
            i += 1  # invalid: as U+FFFD, dropped by cleaning
    return out


# ---- the basic tokenizer ----------------------------------------------------------------
def nfd_with_offsets(chars):
    """NFD of a token, character by character, with canonical reordering."""
    out = []
    for ch, s, e in chars:
        for d in unicodedata.normalize("NFD", ch):
            c = unicodedata.combining(d)
            at = len(out)
            while c and at > 0 and unicodedata.combining(out[at - 1][0]) > c:
                at -= 1
            out.insert(at, (d, s, e))
    return out


def basic_tokenize(chars, mode):
    lower, strip, cjk = MODES[mode]
    # clean + CJK spacing
    cleaned = []
    for ch, s, e in chars:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        if is_space(ch):
            cleaned.append((" ", s, e))
        elif cjk and is_cjk(cp):
            cleaned += [(" ", s, s), (ch, s, e), (" ", e, e)]
        else:
            cleaned.append((ch, s, e))
    # whitespace_tokenize
    tokens, cur = [], []
    for c in cleaned:
        if c[0].isspace():
            if cur:
                tokens.append(cur)
            cur = []
        else:
            cur.append(c)
    if cur:
        tokens.append(cur)
    assert ["".join(c[0] for c in t) for t in tokens] == \
        "".join(c[0] for c in cleaned).split()
    words = []
    for tok in tokens:
        if lower:
            tok = [(l, s, e) for ch, s, e in tok for l in ch.lower()]
        if strip:
            whole = unicodedata.normalize("NFD", "".join(c[0] for c in tok))
            tok = nfd_with_offsets(tok)
            assert "".join(c[0] for c in tok) == whole
            tok = [c for c in tok if unicodedata.category(c[0]) != "Mn"]
        cur = []
        for c in tok:
            if is_punct(c[0]):
                if cur:
                    words.append(cur)
                words.append([c])
                cur = []
            else:
                cur.append(c)
        if cur:
            words.append(cur)
    return words


def span(chars):
    return min(c[1] for c in chars), max(c[2] for c in chars)


def wordpiece(word, vocab, unk):
    if len(word) > 100:
        return [(vocab[unk],) + span(word)]
    out, start = [], 0
    text = [c[0] for c in word]
    while start < len(word):
        end, found = len(word), None
        while start < end:
            sub = "".join(text[start:end])
            if start > 0:
                sub = "##" + sub
            if sub in vocab:
                found = sub
                break
            end -= 1
        if found is None:
            return [(vocab[unk],) + span(word)]
        out.append((vocab[found],) + span(word[start:end]))
        start = end
    return out


def encode(data, vocab, mode, special=False):
    """bytes -> [(id, start, end)]"""
    chars = chars_with_offsets(data)
    segments = [(chars, None)]
    if special:
        segments, cur, i = [], [], 0
        text = "".join(c[0] for c in chars)
        while i < len(chars):
            best = None
            for sp in SPECIALS:  # the longest special token starting here
                if sp in vocab and text.startswith(sp, i) and (best is None or len(sp) > len(best)):
                    best = sp
            if best:
                segments.append((cur, None))
                segments.append((None, (vocab[best], chars[i][1], chars[i + len(best) - 1][2])))
                cur = []
                i += len(best)
            else:
                cur.append(chars[i])
                i += 1
        segments.append((cur, None))
    out = []
    for seg, tok in segments:
        if tok:
            out.append(tok)
            continue
        for w in basic_tokenize(seg, mode):
            out += wordpiece(w, vocab, "[UNK]")
    return out


# ---- pairs ----------------------------------------------------------------------------------
def encode_pair(a, b, vocab, mode, max_length=0, truncation="longest_first", pad=False,
                add_special=True):
    ta = encode(a, vocab, mode)
    tb = encode(b, vocab, mode) if b is not None else None
    n_sp = (3 if tb is not None else 2) if add_special else 0
    dropped = 0
    if max_length:
        budget = max_length - n_sp
        excess = len(ta) + (len(tb) if tb is not None else 0) - budget
        if excess > 0:
            dropped = excess
            if truncation == "longest_first":
                for _ in range(excess):  # BertTokenizer's loop
                    if tb is None or len(ta) > len(tb):
                        ta = ta[:-1]
                    else:
                        tb = tb[:-1]
            elif truncation == "only_second":
                tb = tb[:len(tb) - excess]
            else:
                ta = ta[:len(ta) - excess]
    rows = []  # (id, type, seq, start, end)
    if add_special:
        rows.append((vocab["[CLS]"], 0, -1, 0, 0))
    rows += [(i, 0, 0, s, e) for i, s, e in ta]
    if add_special:
        rows.append((vocab["[SEP]"], 0, -1, 0, 0))
    if tb is not None:
        rows += [(i, 1, 1, s, e) for i, s, e in tb]
        if add_special:
            rows.append((vocab["[SEP]"], 1, -1, 0, 0))
    n_attend = len(rows)
    while pad and len(rows) < max_length:
        rows.append((vocab["[PAD]"], 0, -1, 0, 0))
    return {"ids": [r[0] for r in rows], "type_ids": [r[1] for r in rows],
            "seq": [r[2] for r in rows], "offsets": [x for r in rows for x in r[3:]],
            "n_attend": n_attend, "n_truncated": dropped}


# ---- decode (the tokenizers WordPiece decoder, cleanup on) ---------------------------------
def decode(ids, inv):
    out = []
    for i, t in enumerate(inv[x] for x in ids):
        if i:
            t = t[2:] if t.startswith("##") else " " + t
        for a, b in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                     (" n't", "n't"), (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"),
                     (" 've", "'ve"), (" 're", "'re")]:
            t = t.replace(a, b)
        out.append(t)
    return "".join(out)


# ---- digests (FNV-1a 64, the C test computes the same) ---------------------------------------
def fnv(h, data):
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


FNV0 = 0xCBF29CE484222325


def corpus_digests(path, vocab, mode):
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    blocks, tokens = [], 0
    for b0 in range(0, len(lines), BLOCK):
        ht, hk = FNV0, FNV0
        for line in lines[b0:b0 + BLOCK]:
            ht = fnv(ht, line + b"\n")
            toks = encode(line, vocab, mode)
            tokens += len(toks)
            for t in toks:
                hk = fnv(hk, b"".join(x.to_bytes(4, "little") for x in t))
            hk = fnv(hk, b"\xff\xff\xff\xff")
        blocks.append(["%016x" % ht, "%016x" % hk])
    return {"file": os.path.basename(path), "mode": mode, "block": BLOCK,
            "lines": len(lines), "tokens": tokens, "blocks": blocks}


# ---- per-code-point tables -------------------------------------------------------------------
def tables():
    classes, ccc, lower, nfd = [], [], [], []
    prev_cls = prev_ccc = None
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            cls, c = DROP, 0  # never seen: not valid UTF-8
        else:
            ch = chr(cp)
            cls, c = char_class(cp), unicodedata.combining(ch)
            lo = ch.lower()
            if lo != ch:
                lower.append([cp] + [ord(x) for x in lo])
            d = unicodedata.normalize("NFD", ch)
            if d != ch and not 0xAC00 <= cp <= 0xD7A3:  # Hangul is algorithmic: cases test it
                nfd.append([cp] + [ord(x) for x in d])
        if cls != prev_cls:
            classes.append([cp, cls])
            prev_cls = cls
        if c != prev_ccc:
            ccc.append([cp, c])
            prev_ccc = c
    unassigned = [cp for cp in range(0x110000)
                  if not 0xD800 <= cp <= 0xDFFF and unicodedata.category(chr(cp)) == "Cn"]
    # Unassigned code points as runs, so the C test can tell Unicode-version differences.
    runs, start = [], None
    for i, cp in enumerate(unassigned):
        if start is None:
            start = cp
        if i + 1 == len(unassigned) or unassigned[i + 1] != cp + 1:
            runs.append([start, cp])
            start = None
    return {"classes": classes, "ccc": ccc, "lower": lower, "nfd": nfd, "unassigned": runs}


# ---- test strings -------------------------------------------------------------------------
HARD = [
    "Hello world!", "hello, world", "", " ", "   \t\n  ", "\n", "a", "unaffable",
    "Café naïve Ångström Zürich façade résumé coöperate", "CAFÉ NAÏVE ÅNGSTRÖM",
    "e\u0301 a\u0308 n\u0303 o\u0302\u0323 combining\u0301\u0302", "\u0301\u0301 lone marks",
    "Z̴̡̛a̸̢͘l̵̛̕g̴̕͝o̷̧̕ text", "中文字符测试，你好世界！", "日本語のテキスト、カタカナ",
    "한국어 텍스트입니다", "漢字かな混じり文 and English", "CJK ext: \U00020000\U0002A700\U0002B740 \uF900\uFA0E",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ！？（）", "ｈｅｌｌｏ，ｗｏｒｌｄ", "half ｶﾀｶﾅ",
    "emoji 😀😃😄 👍🏽 🇺🇸 family 👨‍👩‍👧‍👦 ❤️‍🔥 zwj", "\U0001F600text\U0001F600",
    "tab\tnew\nline\rcr\r\nend", "a\x00b\x00 c", "nul\x00in\x00side", "x\ufffdy \ufffd z",
    "ctl\x01\x02\x03\x7f\x80\x9fend", "\u200bzero\u200bwidth\u200b \ufeffBOM \u00adsoft\u00adhyphen",
    "\u2028line\u2029para\u0085nel\x0bvt\x0cff\x1cfs", "\u00a0nbsp\u2003em\u3000ideo\u202fnarrow",
    "!!!???...,,,;;;:::", "((([[[{{{}}}]]])))", "a--b—c–d…e", "«quote» “curly” ‘single’ „low“",
    "$100.00 €50 ¥1000 £5 ₹7 ^caret^ `tick` |pipe| ~tilde~ <lt> =eq= +plus+",
    "don't it's I'm we've they're", "U.S.A. e.g. i.e. Ph.D.", "http://example.com/a?b=c&d=e#f",
    "email@example.com", "1,000,000 3.14159 2^10 10% #hashtag @mention", "İstanbul ıi İI",
    "ΣΑΣ ΟΔΟΣ σίσυφος ΣΊΣΥΦΟΣ", "Ελληνικά Русский язык Українська", "ǅungla ǈ ǋ",
    "ﬁ ﬂ ﬀ ligatures Ⅳ ⅳ", "Ⓐⓑⓒ ʰᵉˡˡᵒ", "ß ẞ straße STRASSE", "Ω Ω Å Å K K",
    "\u1fef\u0387\u037e greek punct", "\u0340\u0341\u0343 \u0344", "ﾃｽﾄ", "\u3099\u309a",
    "שלום עולם עברית", "مرحبا بالعالم العربية", "हिन्दी देवनागरी", "ไทย ภาษา", "ᚠᛇᚻ runes",
    "math: ∑∫√∞ ≤≥ ±×÷ ∂x/∂y", "x" * 100, "y" * 101, "z" * 250, "ab" * 60 + " end",
    "supercalifragilisticexpialidocious antidisestablishmentarianism", "a" + "\u0301" * 150,
    "[CLS] [SEP] [MASK] [PAD] [UNK] [cls] [Mask]", "hello[MASK]world", "[[MASK]]",
    "[MASK][MASK]", "x [SEP] y [SEP]", "[UNK]", "[unused0] [unused1]",
    "   leading and trailing   ", "multiple     spaces\t\t\ttabs", "\U000E0001\U000E0020tags",
    "\ue000\uf8ff private \U000F0000", "\u0378\u0379 unassigned", "\U0001D165\U0001D16D\U0001D165",
    "e\U0001D16D\U0001D165\u0301", "\u1100\u1161\u11a8 jamo", "각 갂 힣",
    "Vertical\u2028Separator", "end.",
]
HARD_BYTES = [
    b"\xff\xfe invalid", b"abc\x80def", b"\xc3", b"\xc3(", b"\xe2\x82", b"\xe2\x82(",
    b"\xf0\x9f\x98", b"\xf0\x9f\x98 x", b"\xed\xa0\x80 surrogate", b"\xc0\xaf overlong",
    b"\xf4\x90\x80\x80 big", b" \x80\x81 \xfe", b"caf\xe9 latin1", b"ab\xffcd ef",
    b"\xe0\x80\xaf", b"\xef\xbf\xbe ok", b"\xc2\x80\xc2\xa0x",
]


def random_texts(rng, n):
    # Assigned code points only (in this Python's Unicode): utf8proc may be newer.
    pools = [(0x20, 0x7E)] * 4 + [(0x09, 0x0D), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF),
            (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F), (0x1E00, 0x1FFF), (0x2000, 0x206F),
            (0x2150, 0x218F), (0x3000, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00),
            (0xF900, 0xFAFF), (0xFE00, 0xFFEF), (0x1F300, 0x1F6FF), (0x1D100, 0x1D1FF),
            (0x20000, 0x20100)]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 40)):
            lo, hi = rng.choice(pools)
            cp = rng.randint(lo, hi)
            if 0xD800 <= cp <= 0xDFFF or unicodedata.category(chr(cp)) == "Cn":
                cp = 0x41
            parts.append(chr(cp))
            if rng.random() < 0.2:
                parts.append(rng.choice([" ", "  ", "\n", "'", "\u00a0", "1", "[MASK]", "."]))
        out.append("".join(parts).encode("utf-8"))
    return out


def main():
    if "--show" in sys.argv:
        k = sys.argv.index("--show")
        name, line = sys.argv[k + 1].split(":")
        mode = sys.argv[k + 2] if len(sys.argv) > k + 2 else "uncased"
        vocab = load_vocab()
        inv = {i: t for t, i in vocab.items()}
        with open(os.path.join(DATA, name), "rb") as f:
            text = f.read().split(b"\n")[int(line) - 1]
        for i, s, e in encode(text, vocab, mode):
            print(i, inv[i], s, e, text[s:e].decode("utf-8", "replace"))
        return
    for need, target in ((VOCAB, "bert-vocab"), (os.path.join(DATA, "kjv.txt"), "kjv"),
                         (os.path.join(DATA, "austen.txt"), "austen")):
        if not os.path.exists(need):
            subprocess.run([os.path.join(ROOT, "scripts", "data.sh"), target], cwd=ROOT)
        if not os.path.exists(need):
            sys.exit("ref_wordpiece.py: %s missing: run scripts/data.sh %s" % (need, target))
    vocab = load_vocab()
    inv = {i: t for t, i in vocab.items()}
    hello = [t[0] for t in encode(b"Hello world! unaffable", vocab, "uncased")]
    assert hello == [7592, 2088, 999, 14477, 20961, 3468], hello

    import random
    rng = random.Random(4321)
    hard = [s.encode("utf-8") for s in HARD] + HARD_BYTES
    texts = hard + random_texts(rng, 200)
    cases = []
    for k, t in enumerate(texts):
        # Hard strings in every mode; random ones uncased and cased (keeps the file small).
        for mode in MODES if k < len(hard) else ("uncased", "cased"):
            for special in (0, 1):
                if special and b"[" not in t:
                    continue
                toks = encode(t, vocab, mode, special=bool(special))
                cases.append({"hex": t.hex(), "mode": mode, "special": special,
                              "ids": [x[0] for x in toks],
                              "offsets": [y for x in toks for y in x[1:]]})
    pair_texts = [(b"Hello world!", b"How are you?"), (b"The quick brown fox jumps.", b"Yes."),
                  (b"a b c d e f g h", b"i j k l m n o p q r s"), (b"Caf\xc3\xa9 na\xc3\xafve", b""),
                  (b"", b"only second"), (b"one two three four five six", None),
                  ("中文字符 and text".encode(), "ÅNGSTRÖM unaffable!!".encode())]
    pairs = []
    for a, b in pair_texts:
        for max_length, trunc, pad in ((0, "longest_first", False), (8, "longest_first", False),
                                       (9, "longest_first", True), (12, "longest_first", True),
                                       (7, "only_second", False), (32, "longest_first", True),
                                       (10, "only_first", False)):
            if trunc == "only_second" and b is None:
                continue
            try:
                r = encode_pair(a, b, vocab, "uncased", max_length, trunc, pad)
            except Exception:
                continue
            ta = len(encode(a, vocab, "uncased"))
            tb = len(encode(b, vocab, "uncased")) if b is not None else 0
            n_sp = 3 if b is not None else 2
            excess = ta + tb + n_sp - max_length if max_length else 0
            if trunc == "only_second" and excess > tb or trunc == "only_first" and excess > ta:
                continue  # an error case: the C test checks those separately
            r.update({"a": a.hex(), "b": None if b is None else b.hex(), "max_length": max_length,
                      "truncation": trunc, "pad": int(pad)})
            pairs.append(r)
    decodes = []
    for t in [b"Hello world! unaffable, isn't it?", b"[CLS] a [SEP] b", "Ångström 中文".encode(),
              b"U.S.A. e.g. 1,000.5 don't 'quoted'"]:
        ids = [x[0] for x in encode(t, vocab, "uncased", special=True)]
        decodes.append({"ids": ids, "text": decode(ids, inv)})
    corpora = [corpus_digests(os.path.join(DATA, "kjv.txt"), vocab, "uncased"),
               corpus_digests(os.path.join(DATA, "austen.txt"), vocab, "uncased"),
               corpus_digests(os.path.join(DATA, "kjv.txt"), vocab, "cased")]
    out = {"unicode": unicodedata.unidata_version, "cases": cases, "pairs": pairs,
           "decode": decodes, "corpora": corpora}
    out.update(tables())
    path = os.path.join(ROOT, "tests", "ref", "wordpiece_bert.json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    os.replace(path + ".tmp", path)
    print("wrote %s: %d cases, %d pairs, corpora %s" % (
        path, len(cases), len(pairs),
        ", ".join("%s/%s %d lines %d tokens" % (c["file"], c["mode"], c["lines"], c["tokens"])
                  for c in corpora)))


def load_vocab():
    with open(VOCAB, encoding="utf-8") as f:
        return {t: i for i, t in enumerate(f.read().split("\n")[:-1])}


if __name__ == "__main__":
    main()
