"""PyTorch references for zhuyi's BERT task heads (tests/test_bert_heads.c).

Run from the repo root: /usr/bin/python3 tests/ref_bert_heads.py

The body and the heads are tests/ref_bert.py's plain-torch modules with Hugging Face's
names (no `transformers` here): BertForSequenceClassification (pooler -> classifier),
BertForTokenClassification (classifier on every token), BertForQuestionAnswering
(qa_outputs -> start/end logits), in evaluation mode; float64 from float32 weights.

Writes:
  tests/ref/bert_heads_base/   a BertForPreTraining directory (L=1 H=2 C=16 FF=32 P=12
                               V=30, MLM and NSP heads): what the C test converts into each
                               task architecture (zy_model_load_with_config), skipping the
                               cls.* tensors and initialising the new head
  tests/ref/bert_heads.zyr     inputs (B=4, T=8, lengths 8/5/3/6, token types), and per
                               case - "single" (3 labels, one row's label -1), "multi"
                               (3 labels, 0/1 values), "regression" (1 label), "token"
                               (5 tags, -1 at padding and some real tokens), "qa" (span
                               positions: one negative, clamped to 0; one past its row's
                               length, not scored) - the head's weight and bias, its
                               logits, the loss and the gradient of every parameter
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

import refio  # noqa: E402
from ref_bert import (forward, init_params, qa_loss, seq_loss, task_forward,  # noqa: E402
                      task_names, write_dir)

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "ref")

CFG = {"num_hidden_layers": 1, "num_attention_heads": 2, "hidden_size": 16,
       "intermediate_size": 32, "max_position_embeddings": 12, "type_vocab_size": 2,
       "vocab_size": 30, "layer_norm_eps": 1e-12, "pad_token_id": 0}
B, T = 4, 8
LENGTHS = [8, 5, 3, 6]

# case -> (architecture, num_labels, problem_type)
CASES = {"single": ("BertForSequenceClassification", 3, "single_label_classification"),
         "multi": ("BertForSequenceClassification", 3, "multi_label_classification"),
         "regression": ("BertForSequenceClassification", 1, "regression"),
         "token": ("BertForTokenClassification", 5, None),
         "qa": ("BertForQuestionAnswering", 2, None)}


def inputs(gen):
    V = CFG["vocab_size"]
    ids = torch.zeros(B, T, dtype=torch.long)
    types = torch.zeros(B, T, dtype=torch.long)
    tags = torch.full((B, T), -1, dtype=torch.long)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(1, V, (n,), generator=gen)
        types[b, n // 2:n] = 1
        tags[b, :n] = torch.randint(0, 5, (n,), generator=gen)
        tags[b, n - 1] = -1  # a real token not scored (a sub-word piece)
    return {"ids": ids, "types": types, "tags": tags,
            "labels": torch.tensor([0, 2, -1, 1]),
            "multi": (torch.rand(B, 3, generator=gen) < 0.5).double(),
            "regression": torch.randn(B, 1, generator=gen).double(),
            "starts": torch.tensor([2, -3, 1, 7]),   # -3 -> 0; 7 >= length 6: not scored
            "ends": torch.tensor([4, 3, 2, 9])}      # 9 >= length 6: not scored


def main():
    gen = torch.Generator().manual_seed(20251202)
    p32 = init_params(CFG, gen)
    write_dir(os.path.join(REF, "bert_heads_base"), CFG, "BertForPreTraining", p32)
    x = inputs(gen)
    dump = {"ids": x["ids"].int(), "types": x["types"].int(), "tags": x["tags"].int(),
            "labels": x["labels"].int(), "multi": x["multi"], "regression": x["regression"],
            "starts": x["starts"].int(), "ends": x["ends"].int(),
            "lengths": torch.tensor(LENGTHS).int()}
    C = CFG["hidden_size"]
    for case, (arch, K, problem) in CASES.items():
        head = "qa_outputs" if arch == "BertForQuestionAnswering" else "classifier"
        w = (torch.randn(K, C, generator=gen) / C ** 0.5).float()
        b = (0.1 * torch.randn(K, generator=gen)).float()
        names = task_names(CFG, arch, K)
        p = {n: t.double().requires_grad_(True) for n, t in p32.items() if n in names}
        p[head + ".weight"] = w.double().requires_grad_(True)
        p[head + ".bias"] = b.double().requires_grad_(True)
        assert set(p) == set(names), sorted(set(p) ^ set(names))
        out = forward(p, CFG, x["ids"], x["types"], LENGTHS)
        o = task_forward(p, arch, out, LENGTHS)
        if arch == "BertForSequenceClassification":
            loss = seq_loss(o["logits"], problem, x["labels"],
                            x["multi"] if case == "multi" else x["regression"])
            dump[case + ".logits"] = o["logits"].detach()
        elif arch == "BertForTokenClassification":
            loss = torch.nn.functional.cross_entropy(o["logits"].reshape(-1, K),
                                                     x["tags"].reshape(-1), ignore_index=-1)
            dump[case + ".logits"] = o["logits"].detach()
        else:
            loss = qa_loss(o["start_logits"], o["end_logits"], x["starts"], x["ends"], LENGTHS)
            dump[case + ".start_logits"] = o["start_logits"].detach()
            dump[case + ".end_logits"] = o["end_logits"].detach()
        loss.backward()
        dump[case + ".weight"] = w
        dump[case + ".bias"] = b
        dump[case + ".loss"] = loss.detach().reshape(1)
        for n, t in p.items():
            dump[case + ".grad." + n] = t.grad
        print("%s: %s loss %.6f" % (case, arch, loss.item()))
    refio.write(os.path.join(REF, "bert_heads.zyr"), dump)


if __name__ == "__main__":
    main()
