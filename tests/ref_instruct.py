#!/usr/bin/env python3
# An independent reference of the instruction-data rules (docs/FORMATS.md, "Instruction
# data"): which JSON lines are examples and which are bad, the chat template "zhuyi-1"
# (pieces, the reply flags), truncation from the front, next-fit packing, and the data
# source's batches (input ids, next-token targets where a reply token follows, lengths)
# in training order (Fisher-Yates over rows from xoshiro256** seeded through splitmix64,
# zy_hash64 of seed ^ salt and epoch) and in one pass. Standard library only. The
# tokenizer is zhuyi's "byte" tokenizer (id = byte value, 256 = <|endoftext|>), for which
# encoding a piece is its UTF-8 bytes.
#
# Writes tests/ref/instruct_cases.jsonl, one case a line:
#   {"name", "seq", "packing", "batch", "seed", "shuffle", "world", "rank", "steps",
#    "skip_bad_rows", "input": the file's text, "skipped": [bad line numbers],
#    "texts": [each example rendered], "rows": [{"ids", "scored"}], "stats": {...},
#    "train": [batches of `steps` training calls], "eval": [one-pass batches]}
# a batch being {"T", "rows": [{"input", "targets", "length"}]}.
# tests/test_data_instruct_ref.c reads the same inputs through the library and compares.
# If the jinja2 module is importable, the Hugging Face chat_template of the C source
# (ZHUYI_1_JINJA in src/data/instruct_template.c) is also rendered with transformers'
# options (trim_blocks, lstrip_blocks) and must give the same texts (this file's own
# rendering); it is imported by tests/cli/instruct.sh for that check on a model directory.
# Run: python3 tests/ref_instruct.py (make refs runs every tests/ref_*.py).
import json
import os
import random
import re
import sys

EOT = 256
M64 = (1 << 64) - 1
ORDER_SALT = 0x5A59494E53545255  # "ZYINSTRU"
SYSTEM_SUFFIX, USER_PREFIX, USER_SUFFIX = "\n\n", "### User:\n", "\n\n"
ASSISTANT_PREFIX, END = "### Assistant:\n", "<|endoftext|>"


# ---- zhuyi's random numbers (src/core/rng.c's algorithms, from their descriptions) ------
def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


def hash64(key, counter):
    x = key ^ rotl((counter * 0xD1B54A32D192ED03) & M64, 29)
    x, a = splitmix64(x)
    x ^= a
    return splitmix64(x)[1]


class Rng:
    def __init__(self, seed):
        self.s, x = [], seed
        for _ in range(4):
            x, v = splitmix64(x)
            self.s.append(v)

    def u64(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        limit = M64 - M64 % n
        while True:
            x = self.u64()
            if x < limit:
                return x % n


# ---- reading ------------------------------------------------------------------------------
def parse_line(text):
    """The conversation [(role, content)] of one line, or None when the line is bad."""
    try:
        o = json.loads(text)
    except ValueError:
        return None
    if not isinstance(o, dict):
        return None
    msgs = o.get("messages")
    if msgs is not None:
        if o.get("prompt") is not None or o.get("completion") is not None:
            return None
        if not isinstance(msgs, list) or not msgs:
            return None
        conv = []
        for i, m in enumerate(msgs):
            if not isinstance(m, dict):
                return None
            role, content = m.get("role"), m.get("content")
            if role not in ("system", "user", "assistant") or not isinstance(content, str):
                return None
            if role == "system" and i > 0:
                return None
            if role == "assistant" and not content:
                return None
            conv.append((role, content))
        if conv[-1][0] != "assistant":
            return None
        return conv
    p, c, s = o.get("prompt"), o.get("completion"), o.get("system")
    if not isinstance(p, str) or not isinstance(c, str) or not c:
        return None
    if s is not None and not isinstance(s, str):
        return None
    conv = [("system", s)] if s else []
    return conv + [("user", p), ("assistant", c)]


def read(text):
    """(conversations, bad line numbers) of a file's text."""
    if text.startswith("\ufeff"):
        text = text[1:]
    convs, bad = [], []
    for k, line in enumerate(text.split("\n")):
        if not line.strip(" \t\r"):
            continue
        conv = parse_line(line)
        if conv is None:
            bad.append(k + 1)
        else:
            convs.append(conv)
    return convs, bad


# ---- the template -------------------------------------------------------------------------
def pieces(conv, generation_prompt=False):
    """[(text or None for the end token, scored)]."""
    out = []
    for role, content in conv:
        if role == "system":
            if content:
                out += [(content, 0), (SYSTEM_SUFFIX, 0)]
        elif role == "user":
            out += [(USER_PREFIX, 0), (content, 0), (USER_SUFFIX, 0)]
        else:
            out += [(ASSISTANT_PREFIX, 0), (content, 1), (None, 1)]
    if generation_prompt:
        out.append((ASSISTANT_PREFIX, 0))
    return out


def render(conv, generation_prompt=False):
    return "".join(END if t is None else t for t, _ in pieces(conv, generation_prompt))


def encode(conv):
    ids, scored = [], []
    for t, s in pieces(conv):
        b = [EOT] if t is None else list(t.encode("utf-8"))
        ids += b
        scored += [s] * len(b)
    return ids, scored


# ---- rows ---------------------------------------------------------------------------------
def make_rows(convs, T, packing):
    rows, stats = [], {"n_examples": len(convs), "n_truncated": 0, "n_skipped": 0}
    used = None
    for conv in convs:
        ids, scored = encode(conv)
        reply = 0
        while reply < len(ids) and scored[len(ids) - 1 - reply]:
            reply += 1
        if len(ids) > T + 1:
            if reply > T:
                stats["n_skipped"] += 1
                continue
            ids, scored = ids[-(T + 1):], scored[-(T + 1):]
            stats["n_truncated"] += 1
        if not packing or used is None or used + len(ids) > T + 1:
            rows.append({"ids": [], "scored": []})
            used = 0
            scored = [0] + scored[1:]
        rows[-1]["ids"] += ids
        rows[-1]["scored"] += scored
        used += len(ids)
    stats["n_rows"] = len(rows)
    stats["n_tokens"] = sum(len(r["ids"]) for r in rows)
    stats["n_scored"] = sum(sum(r["scored"][1:]) for r in rows)
    return rows, stats


# ---- batches ------------------------------------------------------------------------------
def batch_of(rows, idx):
    T = max([1] + [len(rows[i]["ids"]) - 1 for i in idx])
    out = []
    for i in idx:
        x, s = rows[i]["ids"], rows[i]["scored"]
        m = len(x)
        inp = [x[t] if t < m - 1 else EOT for t in range(T)]
        tgt = [x[t + 1] if t < m - 1 and s[t + 1] else -1 for t in range(T)]
        out.append({"input": inp, "targets": tgt, "length": m - 1})
    return {"T": T, "rows": out}


def epoch_order(n, seed, shuffle, e):
    order = list(range(n))
    if shuffle:
        rng = Rng(hash64(seed ^ ORDER_SALT, e))
        for i in range(n, 1, -1):
            j = rng.below(i)
            order[i - 1], order[j] = order[j], order[i - 1]
    return order


def train_batches(rows, B, world, rank, seed, shuffle, steps):
    n, R = len(rows), B * world
    e, pos, order, out = 0, 0, epoch_order(len(rows), seed, shuffle, 0), []
    for _ in range(steps):
        if pos + R > n // R * R:
            e, pos = e + 1, 0
            order = epoch_order(n, seed, shuffle, e)
        g = order[pos:pos + R]
        out.append(batch_of(rows, g[rank * B:rank * B + B]))
        pos += R
    return out


def eval_batches(rows, B, world, rank):
    R, out = B * world, []
    for j in range(0, len(rows), R):
        g = list(range(j, min(j + R, len(rows))))
        out.append(batch_of(rows, g[rank * B:rank * B + B]))
    return out


# ---- cases --------------------------------------------------------------------------------
WORDS = ["the", "cat", "sat", "on", "a", "mat", "why", "is", "sky", "blue", "注意", "naïve",
         "x", "42", "\n", "!", "?", "tab\there", "quote\"d", "back\\slash"]


def words(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def good_line(rng):
    if rng.random() < 0.4:
        o = {"prompt": words(rng, 0, 8), "completion": words(rng, 1, 8)}
        if rng.random() < 0.3:
            o["system"] = words(rng, 0, 4)
        if rng.random() < 0.2:
            o["id"] = rng.randint(0, 99)  # other keys are ignored
        return json.dumps(o, ensure_ascii=rng.random() < 0.5)
    msgs = []
    if rng.random() < 0.4:
        msgs.append({"role": "system", "content": words(rng, 0, 5)})
    for _ in range(rng.randint(1, 3)):
        if rng.random() < 0.8:
            msgs.append({"role": "user", "content": words(rng, 0, 6)})
        msgs.append({"role": "assistant", "content": words(rng, 1, 6)})
    return json.dumps({"messages": msgs}, ensure_ascii=rng.random() < 0.5)


BAD_LINES = [
    '{"prompt": "no reply here"}',
    '{"prompt": "x", "completion": 3}',
    '{"prompt": "x", "completion": ""}',
    '{"completion": "no prompt"}',
    '{"messages": []}',
    '{"messages": [{"role": "tool", "content": "x"}, {"role": "assistant", "content": "y"}]}',
    '{"messages": [{"role": "user", "content": "x"}]}',
    '{"messages": [{"role": "user", "content": "x"}, {"role": "system", "content": "s"},'
    ' {"role": "assistant", "content": "y"}]}',
    '{"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "y"}]}',
    '{"messages": "hi"}',
    '{"messages": [{"role": "user", "content": "x"}], "prompt": "p", "completion": "c"}',
    '[1, 2]',
    '{"prompt": "x", "completion": "y"',
    '"just a string"',
    '{"text": "neither shape"}',
]


def make_case(rng, k):
    lines = [good_line(rng) for _ in range(rng.randint(3, 14))]
    skip = k % 3 == 0
    if skip:
        for _ in range(rng.randint(1, 3)):
            lines.insert(rng.randrange(len(lines) + 1), rng.choice(BAD_LINES))
    for _ in range(rng.randint(0, 2)):
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(["", "   ", "\t\r"]))
    text = "\n".join(lines) + ("\n" if rng.random() < 0.5 else "")
    convs, bad = read(text)
    T = rng.choice([8, 16, 24, 40, 64])
    packing = rng.random() < 0.6
    rows, stats = make_rows(convs, T, packing)
    case = {"name": "case%d" % k, "seq": T, "packing": packing, "skip_bad_rows": skip,
            "input": text, "skipped": bad, "texts": [render(c) for c in convs],
            "rows": rows, "stats": stats}
    B = rng.randint(1, 4)
    world = rng.choice([1, 1, 2])
    if len(rows) >= B * world:
        case.update({"batch": B, "world": world, "rank": rng.randrange(world),
                     "seed": rng.randrange(1 << 40), "shuffle": rng.random() < 0.8,
                     "steps": rng.randint(1, 2 * (len(rows) // (B * world)) + 2)})
        case["train"] = train_batches(rows, B, world, case["rank"], case["seed"],
                                      case["shuffle"], case["steps"])
        case["eval"] = eval_batches(rows, B, world, case["rank"])
    return case


def jinja_template():
    """ZHUYI_1_JINJA of the C source, as the string the compiler makes of it."""
    src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "data",
                            "instruct_template.c"), encoding="utf-8").read()
    body = re.search(r"#define ZHUYI_1_JINJA(.*?)\n\n", src, re.S).group(1)
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    return "".join(p.encode().decode("unicode_escape") for p in parts)


def jinja_render(template, conv, generation_prompt=False):
    """transformers' rendering of a chat_template (its environment options)."""
    import jinja2.sandbox
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    msgs = [{"role": r, "content": c} for r, c in conv]
    return env.from_string(template).render(messages=msgs, eos_token=END,
                                            add_generation_prompt=generation_prompt)


def main():
    rng = random.Random(20260612)
    cases = [make_case(rng, k) for k in range(64)]
    try:
        import jinja2  # noqa: F401
        have_jinja = True
    except ImportError:
        have_jinja = False
    if have_jinja:
        tpl = jinja_template()
        for c in cases:
            for conv in read(c["input"])[0]:
                for gen in (False, True):
                    if jinja_render(tpl, conv, gen) != render(conv, gen):
                        sys.exit("the Jinja chat_template renders %r differently" % (conv,))
        print("the Jinja chat_template renders every conversation as the template does")
    else:
        print("jinja2 not importable: the Jinja chat_template was not checked")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ref",
                        "instruct_cases.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n")
    print("%s: %d cases" % (path, len(cases)))


if __name__ == "__main__":
    main()
