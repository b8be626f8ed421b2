"""PyTorch references for zhuyi's GPT2ForSequenceClassification (tests/test_gpt_heads.c).

Run from the repo root: /usr/bin/python3 tests/ref_gpt_heads.py

The body is tests/ref_gpt.py's plain-torch GPT-2 with Hugging Face's names (no
`transformers` here); the head is HF's score = nn.Linear(n_embd, num_labels, bias=False)
on each row's last token (lengths - 1: what HF finds from pad_token_id on right-padded
rows), float64 from float32 weights. Losses: HF's three problem types (ref_bert.seq_loss).

Writes:
  tests/ref/gpt_heads_base/   a GPT2LMHeadModel directory (L=1 H=2 C=16 P=12 V=30) with
                              lm_head.weight present (= wte, as old checkpoints carry it):
                              what the C test converts into the classifier, skipping it
  tests/ref/gpt_heads.zyr     inputs (B=4, T=8, lengths 8/5/3/6, padding id 0) and per case
                              ("single" 3 labels with one -1, "multi" 3 labels of 0/1,
                              "regression" 1 label) score.weight, logits, loss and the
                              gradient of every parameter
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

import refio  # noqa: E402
from ref_bert import seq_loss  # noqa: E402
from ref_gpt import init_params, score_forward, write_dir  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "ref")

CFG = {"n_layer": 1, "n_head": 2, "n_embd": 16, "n_positions": 12, "vocab_size": 30,
       "layer_norm_epsilon": 1e-5}
B, T = 4, 8
LENGTHS = [8, 5, 3, 6]
CASES = {"single": (3, "single_label_classification"),
         "multi": (3, "multi_label_classification"),
         "regression": (1, "regression")}


def main():
    gen = torch.Generator().manual_seed(20251203)
    p32 = init_params(CFG, gen)
    files = dict(p32)
    files["lm_head.weight"] = p32["transformer.wte.weight"]
    write_dir(os.path.join(REF, "gpt_heads_base"), CFG, files)
    ids = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(1, CFG["vocab_size"], (n,), generator=gen)
    labels = torch.tensor([2, -1, 0, 1])
    multi = (torch.rand(B, 3, generator=gen) < 0.5).double()
    regression = torch.randn(B, 1, generator=gen).double()
    dump = {"ids": ids.int(), "lengths": torch.tensor(LENGTHS).int(), "labels": labels.int(),
            "multi": multi, "regression": regression}
    C = CFG["n_embd"]
    for case, (K, problem) in CASES.items():
        w = (torch.randn(K, C, generator=gen) / C ** 0.5).float()
        p = {n: t.double().requires_grad_(True) for n, t in p32.items()}
        p["score.weight"] = w.double().requires_grad_(True)
        logits = score_forward(p, CFG, ids, LENGTHS)
        loss = seq_loss(logits, problem, labels, multi if case == "multi" else regression)
        loss.backward()
        dump[case + ".weight"] = w
        dump[case + ".logits"] = logits.detach()
        dump[case + ".loss"] = loss.detach().reshape(1)
        for n, t in p.items():
            dump[case + ".grad." + n] = t.grad
        print("%s: loss %.6f" % (case, loss.item()))
    refio.write(os.path.join(REF, "gpt_heads.zyr"), dump)


if __name__ == "__main__":
    main()
