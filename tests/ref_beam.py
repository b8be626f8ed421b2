"""Reference beam search for zhuyi's encoder-decoder decoding (tests/test_beam.c).

Run from the repo root: /usr/bin/python3 tests/ref_beam.py

A plain, one-sentence-at-a-time beam search over the PyTorch Marian reference
(tests/ref_marian.py's encode/decode, the model in tests/ref/marian_tiny, float64), written
from the rules include/zhuyi/sample.h documents, which are Hugging Face's BeamSearchScorer
(transformers >= 4.38); transformers itself is not used. Each step recomputes the whole
decoder over every running beam's tokens (no cache, no batching), so nothing of the C
side's cache reordering or batching is shared:
  - scores are sums of log-softmax; the 2K best (beam, token) candidates are taken, best
    first, ties to the lower beam * V + token
  - an eos candidate of rank < K becomes a finished hypothesis, scored
    sum / generated_len ** alpha with generated_len = tokens + the eos; other eos
    candidates are skipped; non-eos candidates fill the K running beams in order
  - a sentence is done when K hypotheses are finished and, without early stopping, the
    worst of them >= the best candidate's sum / cur_len ** alpha
  - after max_new = clamp(floor(a * src_len + b), 1, max_positions) tokens the running
    beams are added as hypotheses (no eos, length max_new)
  - a full set of K admits a hypothesis only if it beats the worst, which goes (ties:
    the earliest found); the n-best are sorted by score, ties the later found first

Writes tests/ref/beam_cases.jsonl, one case a line:
  {"src": [ids, ending in eos], "beam", "length_penalty", "early_stopping", "max_len_a",
   "max_len_b", "n_best", "hyps": [{"tokens" (no eos), "eos", "score", "sum_logp"}]}
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

from ref_gpt import read_safetensors  # noqa: E402
from ref_marian import decode, encode  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "ref", "marian_tiny")
OUT = os.path.join(HERE, "ref", "beam_cases.jsonl")

# Sources (ending in eos 0) and settings: beam, length_penalty, early_stopping, a, b.
SOURCES = [[5, 17, 3, 0], [22, 8, 31, 12, 7, 19, 0], [2, 0], [11, 36, 14, 25, 9, 0]]
SETTINGS = [(1, 1.0, False, 1.0, 3), (4, 1.0, True, 0.0, 12), (4, 0.6, False, 1.0, 3),
            (5, 1.0, False, 0.0, 16), (5, 0.6, True, 0.5, 4), (5, 1.0, True, 1.0, 3),
            (5, 0.6, False, 0.0, 12)]


def load():
    with open(os.path.join(DIR, "config.json")) as f:
        cfg = json.load(f)
    p = {n: t.double() for n, t in read_safetensors(os.path.join(DIR, "model.safetensors")).items()}
    return p, cfg


def next_logprobs(p, cfg, mem, src_len, toks):
    tgt = torch.tensor([[cfg["decoder_start_token_id"]] + toks])
    _, logits = decode(p, cfg, mem, [src_len], tgt)
    return torch.log_softmax(logits[0, -1], -1).tolist()


def beam_search(p, cfg, src, K, alpha, early, a, b):
    V, eos, P = cfg["vocab_size"], cfg["eos_token_id"], cfg["max_position_embeddings"]
    max_new = min(max(int(math.floor(a * len(src) + b)), 1), P)
    mem = encode(p, cfg, torch.tensor([src]), [len(src)])
    finished = []  # [score, tokens, eos, sum, order]
    order = [0]

    def add(toks, s, length, eos_end):
        score = s / length ** alpha
        if len(finished) == K:
            worst = min(range(K), key=lambda j: (finished[j][0], finished[j][4]))
            if not score > finished[worst][0]:
                return
            del finished[worst]
        finished.append([score, toks, eos_end, s, order[0]])
        order[0] += 1

    running = [([], 0.0)]
    for cur in range(max_new):
        cur_len = cur + 1
        cands = []
        for bi, (toks, s) in enumerate(running):
            lp = next_logprobs(p, cfg, mem, len(src), toks)
            cands += [(s + lp[v], bi * V + v) for v in range(V)]
        cands.sort(key=lambda c: (-c[0], c[1]))
        cands = cands[:2 * K]
        new = []
        for r, (s, flat) in enumerate(cands):
            bi, v = divmod(flat, V)
            if v == eos:
                if r < K:
                    add(running[bi][0], s, cur_len, True)
                continue
            new.append((running[bi][0] + [v], s))
            if len(new) == K:
                break
        if len(finished) == K and (early or min(h[0] for h in finished)
                                   >= cands[0][0] / cur_len ** alpha):
            break
        if cur_len >= max_new or not new:
            for toks, s in new:
                add(toks, s, cur_len, False)
            break
        running = new
    finished.sort(key=lambda h: (-h[0], -h[4]))
    return finished


def main():
    p, cfg = load()
    n_eos = n_len = 0
    with open(OUT + ".tmp", "w") as f:
        for src in SOURCES:
            for K, alpha, early, a, b in SETTINGS:
                hyps = beam_search(p, cfg, src, K, alpha, early, a, b)
                n_eos += sum(h[2] for h in hyps)
                n_len += sum(not h[2] for h in hyps)
                case = {"src": src, "beam": K, "length_penalty": alpha, "early_stopping": early,
                        "max_len_a": a, "max_len_b": b, "n_best": K,
                        "hyps": [{"tokens": h[1], "eos": h[2], "score": h[0], "sum_logp": h[3]}
                                 for h in hyps]}
                f.write(json.dumps(case, separators=(",", ":")) + "\n")
    os.replace(OUT + ".tmp", OUT)
    print("wrote", OUT, "(%d cases; hypotheses: %d ended by eos, %d at the limit)"
          % (len(SOURCES) * len(SETTINGS), n_eos, n_len))


if __name__ == "__main__":
    main()
