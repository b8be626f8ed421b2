"""Independent reference for zhuyi's GPT-2 BPE tokenizer (tests/test_bpe*.c).

Re-implements the published algorithm of GPT-2's encoder.py (bytes_to_unicode, the
pre-tokenizer regex run by the `regex` module, bpe() with lowest-rank-first merges) and
writes, for hard strings and seeded fuzz strings, the pre-token lengths and ids to
tests/ref/bpe_gpt2.json, and the character class of every code point (as the regex sees
it: \\s, \\p{L}, \\p{N}, other) to tests/ref/bpe_classes.json.

Invalid UTF-8: text is decoded with errors="surrogateescape", so each invalid byte is a
lone surrogate (category Cs: not \\s/L/N) and encodes back to the same byte; this is the
behaviour zhuyi documents in include/zhuyi/tokenizer.h.

Needs build/data/gpt2/{encoder.json,vocab.bpe} (scripts/data.sh gpt2-tokenizer) and
Debian's python3-regex. Run from the repo root: /usr/bin/python3 tests/ref_bpe.py
"""
import json
import os
import random
import sys

import regex

sys.path.insert(0, os.path.dirname(__file__))
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DATA = os.path.join(ROOT, "build", "data", "gpt2")
PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class Encoder:
    def __init__(self, encoder, merges):
        self.encoder = encoder
        self.byte_encoder = bytes_to_unicode()
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
        self.cache[token] = word
        return word

    def pieces(self, data):
        text = data.decode("utf-8", errors="surrogateescape")
        return [p.encode("utf-8", errors="surrogateescape") for p in PAT.findall(text)]

    def encode(self, data):
        ids = []
        for piece in self.pieces(data):
            token = "".join(self.byte_encoder[b] for b in piece)
            ids.extend(self.encoder[t] for t in self.bpe(token))
        return ids

    def encode_special(self, data, special=b"<|endoftext|>"):
        ids = []
        parts = data.split(special)
        for k, part in enumerate(parts):
            if k:
                ids.append(self.encoder[special.decode()])
            ids.extend(self.encode(part))
        return ids


HARD = [
    "Hello world", " Hello world", "", " ", "  ", "a", "\n", "\n\n", " \n ", "\t\t",
    "I'm can't won't you're we've he'll she'd it's", "I'M CAN'T YOU'RE IT'S 'S 'T", "''s'",
    "'ss 'tt 'lll 'ree' 've", "don't' 'd", "x's' 'x", " 's", "  's",
    "123 4567 89.5 1,000,000 3.14159e-10 0x1F", "abc123def 42abc", "①②③ Ⅻ ¾ ٣٤٥ ४२",
    "hello   world", "hello    \n\n   world  ", "a  b   c    d", "trailing spaces   ",
    "   leading", "tabs\tin\t\tthe\ttext\t", "mixed \t \n \r\n spaces", "line1\nline2\r\nline3",
    " \u00a0 \u2003x\u3000y\u200a z", "\u00a0\u00a0word", "\u2028\u2029\u0085\u000b\u000c",
    "\x1c\x1d\x1e\x1f separators", "naïve café résumé Ångström Zürich façade",
    "Ελληνικά Русский язык Українська", "中文字符测试，你好世界！", "日本語のテキスト、カタカナ",
    "한국어 텍스트입니다", "emoji 😀😃😄 👍🏽 🇺🇸 🇯🇵", "family 👨‍👩‍👧‍👦 zwj 🏳️‍🌈 ❤️‍🔥",
    "שלום עולם עברית", "مرحبا بالعالم العربية", "mixed RTL: abc שלום 123 مرحبا!",
    "e\u0301 a\u0308 n\u0303 combining\u0301\u0302", "\u0301\u0301 lone combining",
    "Zalgo: Z̴̡̛a̸̢͘l̵̛̕g̴̕͝o̷̧̕", "ﬁ ﬂ ligatures Ⅳ", "math: ∑∫√∞ ≤≥ ±×÷", "<|endoftext|>",
    "before<|endoftext|>after", "code: def f(x):\n    return x**2  # square\n",
    "{\"json\": [1, 2, 3], \"k\": null}", "URL https://example.com/a?b=c&d=e#f",
    "email a.b@c.de!!! ??? ...", "$100.00 €50 ¥1000 £5", "   \n\n\n   \n", "x\n\n\ny",
    "Ⓐⓑⓒ ʰᵉˡˡᵒ", "ǅungla ǈ Titlecase", "\U0001F600text\U0001F600", "ⅰⅱⅲ 𝟘𝟙𝟚 𝔸𝔹",
    "ab'S CD's", "don’t (curly apostrophe)", "\u200bzero\u200bwidth\u200b", "\ufeffBOM",
    "Kaixo 'll ' ll' 'l", "a\x00b\x00 c", "\x7f\x80 del",
]
HARD_BYTES = [
    b"\xff\xfe invalid", b"abc\x80def", b"\xc3", b"\xc3(", b"\xe2\x82", b"\xe2\x82(",
    b"\xf0\x9f\x98", b"\xf0\x9f\x98 x", b"\xed\xa0\x80 surrogate", b"\xc0\xaf overlong",
    b"\xf4\x90\x80\x80 big", b" \x80\x81 \xfe", b"\xf8\x88\x80\x80\x80", b"caf\xe9 latin1",
    b"\n\x80\n", b"  \xff  word", b"'\x80s", b"\x80's",
    b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xc1\xbf", b"\xf5\x80\x80\x80",
    b"\xef\xbf\xbe ok", b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xf4\x8f\xbf\xbf end",
    b"\xe0\xa0\x80", b"\xf0\x90\x80\x80", b"\xc2\x80\xc2\xa0x",
]


def random_unicode(rng, n):
    pools = [
        (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E), (0x09, 0x0D), (0xA0, 0x24F),
        (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x5FF), (0x600, 0x6FF),
        (0x900, 0x97F), (0x1680, 0x1680), (0x2000, 0x206F), (0x2150, 0x218F),
        (0x3000, 0x303F), (0x3040, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00),
        (0xFE00, 0xFE0F), (0x1F300, 0x1F6FF), (0x1F900, 0x1F9FF), (0x10000, 0x10FFFF),
    ]
    out = []
    for _ in range(n):
        lo, hi = rng.choice(pools)
        cp = rng.randint(lo, hi)
        if 0xD800 <= cp <= 0xDFFF:
            cp = 0x41
        if rng.random() < 0.15:
            out.append(rng.choice([" ", "  ", "\n", "'s", "'", "\u200d", "\u00a0", "1"]))
        out.append(chr(cp))
    return "".join(out).encode("utf-8")


def random_utf8ish(rng, n):
    """Lead and continuation bytes in random order: many near-valid sequences."""
    out = bytearray()
    for _ in range(n):
        r = rng.random()
        if r < 0.3:
            out.append(rng.randint(0x80, 0xBF))
        elif r < 0.5:
            out.append(rng.randint(0xC0, 0xFF))
        elif r < 0.8:
            lead = rng.choice([0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5])
            k = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            out.append(lead)
            out.extend(rng.randint(0x80, 0xBF) for _ in range(k - 1))
        else:
            out.extend(rng.choice([b" ", b"a", b"1", b"\n", b"'s"]))
    return bytes(out)


def random_bytes(rng, n):
    alphabet = rng.choice([range(256), b" \n\tab'sxyz\x80\xc3\xa9\xe2\xff0123"])
    return bytes(rng.choice(alphabet) for _ in range(n))


def classes():
    """Run-length list [start, class] over all code points (surrogates excluded)."""
    ws, let, num = regex.compile(r"\s"), regex.compile(r"\p{L}"), regex.compile(r"\p{N}")
    runs, prev = [], None
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            c = 0  # lone surrogates: "other" (where invalid UTF-8 bytes land)
        else:
            ch = chr(cp)
            c = 3 if ws.match(ch) else 1 if let.match(ch) else 2 if num.match(ch) else 0
        if c != prev:
            runs.append([cp, c])
            prev = c
    return runs


def train_reference(data, vocab_size, min_frequency, n_special):
    """Naive BPE training with zhuyi's documented rules: ids 0..255 = bytes, then one per
    merge; each step merges the most frequent adjacent pair (counted over pre-tokens
    weighted by frequency), ties to the smallest (left id, right id); stop at vocab_size
    - n_special or when the best count < min_frequency. Returns the merges as id pairs."""
    text = data.decode("utf-8", errors="surrogateescape")
    counts = {}
    for p in PAT.findall(text):
        w = tuple(p.encode("utf-8", errors="surrogateescape"))
        counts[w] = counts.get(w, 0) + 1
    words = [[list(w), c] for w, c in sorted(counts.items())]
    merges = []
    while 256 + len(merges) < vocab_size - n_special:
        pairs = {}
        for w, c in words:
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        (a, b), c = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if c < min_frequency:
            break
        new = 256 + len(merges)
        merges.append([a, b])
        for wc in words:
            w, out, i = wc[0], [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            wc[0] = out
    return merges


def train_corpus(rng):
    words = ["the", "and", "of", "unto", "LORD", "said", "thee", "thou", "shalt", "Israel",
             "caf\u00e9", "na\u00efve", "\u4e2d\u6587", "\u65e5\u672c", "don't", "it's",
             "123", "4567", "!!", "...", "\U0001F600", "\u05e9\u05dc\u05d5\u05dd"]
    parts = []
    for _ in range(6000):
        k = min(int(rng.expovariate(0.25)), len(words) - 1)
        parts.append(words[k])
        parts.append(rng.choice([" ", " ", " ", " ", "  ", "\n", ", ", ".\n\n", "\t"]))
    data = "".join(parts).encode("utf-8")
    return data + bytes([0xff, 0x80, 0x20, 0xc3, 0x28]) * 3  # some invalid UTF-8 too


def main():
    enc_path, bpe_path = os.path.join(DATA, "encoder.json"), os.path.join(DATA, "vocab.bpe")
    if not (os.path.exists(enc_path) and os.path.exists(bpe_path)):
        import subprocess
        subprocess.run([os.path.join(ROOT, "scripts", "data.sh"), "gpt2-tokenizer"], cwd=ROOT)
    if not (os.path.exists(enc_path) and os.path.exists(bpe_path)):
        sys.exit("ref_bpe.py: %s missing: run scripts/data.sh gpt2-tokenizer" % DATA)
    with open(enc_path, encoding="utf-8") as f:
        encoder = json.load(f)
    with open(bpe_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(l.split()) for l in lines[1:] if l]
    e = Encoder(encoder, merges)
    assert e.encode(b"Hello world") == [15496, 995]
    assert e.encode(b" Hello world") == [18435, 995]

    rng = random.Random(1234)
    texts = [s.encode("utf-8") for s in HARD] + HARD_BYTES
    texts += [random_unicode(rng, rng.randint(1, 60)) for _ in range(150)]
    texts += [random_bytes(rng, rng.randint(1, 60)) for _ in range(100)]
    texts += [random_utf8ish(rng, rng.randint(1, 40)) for _ in range(100)]
    # A long word (exercises the heap merge path, > 64 bytes) and long space runs.
    texts.append(b"supercalifragilisticexpialidocious" * 4 + b" " * 70 + b"x")
    texts.append("".join(chr(rng.randint(0x61, 0x7A)) for _ in range(300)).encode())
    cases = []
    for t in texts:
        cases.append({"hex": t.hex(), "pieces": [len(p) for p in e.pieces(t)],
                      "ids": e.encode(t)})
    special = [b"<|endoftext|>", b"a<|endoftext|>b", b"<|endoftext|><|endoftext|>",
               b"x <|endoftext|> y", b"<|endoftext", b"<|endoftext|>\n\nHello"]
    special_cases = [{"hex": t.hex(), "ids": e.encode_special(t)} for t in special]
    corpus = train_corpus(random.Random(99))
    train = {"hex": corpus.hex(), "vocab_size": 700, "min_frequency": 2, "n_special": 1,
             "merges": train_reference(corpus, 700, 2, 1)}
    os.makedirs(os.path.join(ROOT, "tests", "ref"), exist_ok=True)
    out = os.path.join(ROOT, "tests", "ref", "bpe_gpt2.json")
    with open(out + ".tmp", "w") as f:
        json.dump({"cases": cases, "special": special_cases, "train": train}, f,
                  separators=(",", ":"))
        f.write("\n")
    os.replace(out + ".tmp", out)
    out2 = os.path.join(ROOT, "tests", "ref", "bpe_classes.json")
    with open(out2 + ".tmp", "w") as f:
        json.dump({"regex_version": regex.__version__, "runs": classes()}, f,
                  separators=(",", ":"))
        f.write("\n")
    os.replace(out2 + ".tmp", out2)
    print("wrote %s (%d cases) and %s" % (out, len(cases), out2))


if __name__ == "__main__":
    main()
