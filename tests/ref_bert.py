"""PyTorch references for zhuyi's BERT (tests/test_bert_ref.c, tests/roundtrip_bert.py).

Run from the repo root: /usr/bin/python3 tests/ref_bert.py

`transformers` is not installed (and is not imported): BERT here is a plain-torch
BertForPreTraining with Hugging Face's parameter names and semantics, written from the
architecture (Devlin et al. 2019) and HF's documented layer names:
  embeddings  word (padding_idx = pad_token_id: that row gets no gradient from the
              lookup) + absolute position + token type, LayerNorm, dropout
  layer       post-LN: h = LN(x + dense(MHA(x))); y = LN(h + dense2(act(dense1(h))))
              attention scaled by 1/sqrt(head), keys past a row's length masked out
  pooler      tanh(dense(y[:, 0]))
  heads       MLM: LN(act(dense(y))) · word_embeddingsᵀ + cls.predictions.bias
              NSP: cls.seq_relationship(pooled), 2 classes
  loss        mean CE over the scored MLM targets (-1 = not scored) + mean CE over the
              NSP labels
Computed in float64 from float32 weights, stored as float32; act = GELU erf ("gelu").

Writes (model directories in the Hugging Face layout: config.json + model.safetensors):
  tests/ref/bert_tiny/         L=2 H=4 C=32 FF=64 P=16 TV=2 V=50, F32, BertForPreTraining
                               names as save_pretrained writes them (tied decoder weight
                               and bias omitted)
  tests/ref/bert_tiny_legacy/  the same weights in the old style: no "bert." prefix,
                               LayerNorm gamma/beta, the tied cls.predictions.decoder.weight
                               and .decoder.bias present, and the int64 buffer
                               embeddings.position_ids a reader must ignore
  tests/ref/bert_tiny_base/    the body alone as BertModel saves it (no prefix, no heads)
  tests/ref/bert.zyr           inputs (B=3, T=10, lengths 10/7/4, token types, masked
                               targets, NSP labels), hidden states, pooled output, the
                               attention probabilities of both layers, MLM and NSP logits,
                               both losses, every parameter gradient, and the parameters
                               after one AdamW step (lr 1e-3, betas (0.9, 0.95), eps 1e-8,
                               weight decay 0.1 on the matmul weights: the trainer's)
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

import refio  # noqa: E402
from ref_gpt import write_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "ref")

CFG = {"num_hidden_layers": 2, "num_attention_heads": 4, "hidden_size": 32,
       "intermediate_size": 64, "max_position_embeddings": 16, "type_vocab_size": 2,
       "vocab_size": 50, "layer_norm_eps": 1e-12, "pad_token_id": 0}
B, T = 3, 10
LENGTHS = [10, 7, 4]
LR, WD, BETAS, EPS = 1e-3, 0.1, (0.9, 0.95), 1e-8

LAYER = ["attention.self.query.weight", "attention.self.query.bias",
         "attention.self.key.weight", "attention.self.key.bias",
         "attention.self.value.weight", "attention.self.value.bias",
         "attention.output.dense.weight", "attention.output.dense.bias",
         "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
         "intermediate.dense.weight", "intermediate.dense.bias",
         "output.dense.weight", "output.dense.bias",
         "output.LayerNorm.weight", "output.LayerNorm.bias"]
HEADS = ["cls.predictions.bias", "cls.predictions.transform.dense.weight",
         "cls.predictions.transform.dense.bias",
         "cls.predictions.transform.LayerNorm.weight",
         "cls.predictions.transform.LayerNorm.bias",
         "cls.seq_relationship.weight", "cls.seq_relationship.bias"]


def names(cfg):
    """BertForPreTraining.named_parameters() names (the tied decoder excluded)."""
    out = ["bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
           "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
           "bert.embeddings.LayerNorm.bias"]
    for l in range(cfg["num_hidden_layers"]):
        out += ["bert.encoder.layer.%d.%s" % (l, s) for s in LAYER]
    return out + ["bert.pooler.dense.weight", "bert.pooler.dense.bias"] + HEADS


def shapes(cfg):
    C, FF, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    out = {}
    for n in names(cfg):
        leaf = n.split(".")[-2] if n.endswith(("weight", "bias")) else n
        if n.endswith("word_embeddings.weight"):
            s = (V, C)
        elif n.endswith("position_embeddings.weight"):
            s = (cfg["max_position_embeddings"], C)
        elif n.endswith("token_type_embeddings.weight"):
            s = (cfg["type_vocab_size"], C)
        elif n == "cls.predictions.bias":
            s = (V,)
        elif n.startswith("cls.seq_relationship"):
            s = (2, C) if n.endswith("weight") else (2,)
        elif "intermediate.dense" in n:
            s = (FF, C) if n.endswith("weight") else (FF,)
        elif ".output.dense" in n and "attention" not in n:
            s = (C, FF) if n.endswith("weight") else (C,)
        elif n.endswith("weight") and leaf != "LayerNorm":
            s = (C, C)
        else:
            s = (C,)
        out[n] = s
    return out


def act(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))  # "gelu" (exact)


def layernorm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def linear(x, p, name):
    return x @ p[name + ".weight"].t() + p[name + ".bias"]


def forward(p, cfg, ids, types, lengths):
    """p: name -> tensor (BertForPreTraining names). Returns a dict of outputs."""
    Bn, Tn = ids.shape
    C, H, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd = C // H
    e = "bert.embeddings."
    x = torch.nn.functional.embedding(ids, p[e + "word_embeddings.weight"],
                                      padding_idx=cfg["pad_token_id"])
    x = x + p[e + "position_embeddings.weight"][:Tn] + p[e + "token_type_embeddings.weight"][types]
    x = layernorm(x, p[e + "LayerNorm.weight"], p[e + "LayerNorm.bias"], eps)
    keys = torch.arange(Tn)[None, :] < torch.tensor(lengths)[:, None]  # (B, Tk) visible
    out = {"attentions": []}
    for l in range(cfg["num_hidden_layers"]):
        g = "bert.encoder.layer.%d." % l
        q, k, v = [linear(x, p, g + "attention.self." + n).view(Bn, Tn, H, hd).transpose(1, 2)
                   for n in ("query", "key", "value")]
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~keys[:, None, None, :], float("-inf"))
        a = torch.softmax(s, dim=-1)
        out["attentions"].append(a)
        ctx = (a @ v).transpose(1, 2).reshape(Bn, Tn, C)
        h = layernorm(x + linear(ctx, p, g + "attention.output.dense"),
                      p[g + "attention.output.LayerNorm.weight"],
                      p[g + "attention.output.LayerNorm.bias"], eps)
        f = linear(act(linear(h, p, g + "intermediate.dense")), p, g + "output.dense")
        x = layernorm(h + f, p[g + "output.LayerNorm.weight"], p[g + "output.LayerNorm.bias"],
                      eps)
    out["hidden"] = x
    if "bert.pooler.dense.weight" in p:
        out["pooled"] = torch.tanh(linear(x[:, 0], p, "bert.pooler.dense"))
    if "cls.predictions.bias" in p:
        t = act(linear(x, p, "cls.predictions.transform.dense"))
        t = layernorm(t, p["cls.predictions.transform.LayerNorm.weight"],
                      p["cls.predictions.transform.LayerNorm.bias"], eps)
        out["mlm_logits"] = t @ p[e + "word_embeddings.weight"].t() + p["cls.predictions.bias"]
    if "cls.seq_relationship.weight" in p:
        out["nsp_logits"] = linear(out["pooled"], p, "cls.seq_relationship")
    return out


# ---- task heads (BertForSequenceClassification, BertForTokenClassification,
# BertForQuestionAnswering): HF's modules in evaluation mode (no dropout) --------------------
QA_MASKED = -1e30  # zhuyi sets padded positions' start/end logits to this (HF leaves them)
TASK_ARCHS = ("BertForSequenceClassification", "BertForTokenClassification",
              "BertForQuestionAnswering")


def task_names(cfg, arch, num_labels):
    """arch.named_parameters() names -> shapes (the body with "bert.", no cls.* heads)."""
    body = {n: s for n, s in shapes(cfg).items() if n.startswith("bert.")}
    if arch != "BertForSequenceClassification":  # add_pooling_layer=False
        body = {n: s for n, s in body.items() if ".pooler." not in n}
    C = cfg["hidden_size"]
    head, K = ("qa_outputs", 2) if arch == "BertForQuestionAnswering" else ("classifier",
                                                                            num_labels)
    body[head + ".weight"] = (K, C)
    body[head + ".bias"] = (K,)
    return body


def task_forward(p, arch, out, lengths):
    """The head on forward()'s outputs: {"logits"} or {"start_logits", "end_logits"}."""
    if arch == "BertForSequenceClassification":
        return {"logits": linear(out["pooled"], p, "classifier")}
    if arch == "BertForTokenClassification":
        return {"logits": linear(out["hidden"], p, "classifier")}
    lg = linear(out["hidden"], p, "qa_outputs")
    Tn = lg.shape[1]
    pad = torch.arange(Tn)[None, :] >= torch.tensor(lengths)[:, None]
    return {"start_logits": lg[..., 0].masked_fill(pad, QA_MASKED),
            "end_logits": lg[..., 1].masked_fill(pad, QA_MASKED)}


def seq_loss(logits, problem, labels=None, values=None):
    """BertForSequenceClassification's loss (HF's three problem types; -1 labels ignored)."""
    F = torch.nn.functional
    if problem == "single_label_classification":
        return F.cross_entropy(logits, labels, ignore_index=-1)
    if problem == "multi_label_classification":
        return F.binary_cross_entropy_with_logits(logits, values)
    return F.mse_loss(logits.squeeze(), values.squeeze())  # regression


def qa_positions(pos, lengths):
    """HF's clamp(0, T) with T ignored, T being each row's own length (see QA_MASKED)."""
    pos = pos.clamp(min=0)
    return torch.where(pos >= torch.tensor(lengths), torch.full_like(pos, -1), pos)


def qa_loss(start, end, starts, ends, lengths):
    F = torch.nn.functional
    s, e = qa_positions(starts, lengths), qa_positions(ends, lengths)
    return (F.cross_entropy(start, s, ignore_index=-1) +
            F.cross_entropy(end, e, ignore_index=-1)) / 2


def losses(out, cfg, targets, labels):
    V = cfg["vocab_size"]
    mlm = torch.nn.functional.cross_entropy(out["mlm_logits"].reshape(-1, V),
                                            targets.reshape(-1), ignore_index=-1)
    nsp = torch.nn.functional.cross_entropy(out["nsp_logits"], labels, ignore_index=-1)
    return mlm, nsp


def decays(name):
    """The tensors zhuyi's table marks for weight decay: matmul weights."""
    return name.endswith(".weight") and "LayerNorm" not in name and "embeddings" not in name


def init_params(cfg, gen):
    """Random float32 weights: O(1) activations, nonzero biases, gains near 1."""
    p = {}
    for n, s in shapes(cfg).items():
        if "LayerNorm" in n and n.endswith("weight"):
            t = 1.0 + 0.1 * torch.randn(s, generator=gen)
        elif n.endswith("bias"):
            t = 0.05 * torch.randn(s, generator=gen)
        elif "embeddings" in n:
            t = 0.5 * torch.randn(s, generator=gen)
        else:
            t = torch.randn(s, generator=gen) / math.sqrt(s[1])
        p[n] = t.float()
    return p


def config_json(cfg, arch):
    return {"architectures": [arch], "attention_probs_dropout_prob": 0.0,
            "classifier_dropout": None, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
            "hidden_size": cfg["hidden_size"], "initializer_range": 0.02,
            "intermediate_size": cfg["intermediate_size"],
            "layer_norm_eps": cfg["layer_norm_eps"],
            "max_position_embeddings": cfg["max_position_embeddings"], "model_type": "bert",
            "num_attention_heads": cfg["num_attention_heads"],
            "num_hidden_layers": cfg["num_hidden_layers"], "pad_token_id": cfg["pad_token_id"],
            "position_embedding_type": "absolute", "type_vocab_size": cfg["type_vocab_size"],
            "use_cache": True, "vocab_size": cfg["vocab_size"]}


def write_dir(path, cfg, arch, tensors):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config_json(cfg, arch), f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(path, "model.safetensors"), tensors)
    print("wrote", path)


def legacy_name(n):
    """No "bert." prefix, LayerNorm.weight/bias spelled gamma/beta."""
    if n.startswith("bert."):
        n = n[len("bert."):]
    if "LayerNorm." in n:
        n = n.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias",
                                                                     "LayerNorm.beta")
    return n


def batch(gen, cfg):
    V = cfg["vocab_size"]
    ids = torch.zeros(B, T, dtype=torch.long)  # pad_token_id 0 past each length
    types = torch.zeros(B, T, dtype=torch.long)
    targets = torch.full((B, T), -1, dtype=torch.long)
    for b, n in enumerate(LENGTHS):
        ids[b, :n] = torch.randint(1, V, (n,), generator=gen)
        ids[b, 0] = 1  # a [CLS]-like first token
        types[b, n // 2:n] = 1  # sentence B
        for t in torch.randperm(n - 1, generator=gen)[:3] + 1:  # three masked positions
            targets[b, t] = ids[b, t]
            ids[b, t] = 2  # a [MASK]-like id
    targets[2, 3] = 0  # the pad id as a target: its decoder row gets that gradient
    labels = torch.tensor([0, 1, 1])
    return ids, types, targets, labels


def main():
    os.makedirs(REF, exist_ok=True)
    gen = torch.Generator().manual_seed(20241207)
    cfg = CFG
    p32 = init_params(cfg, gen)
    ids, types, targets, labels = batch(gen, cfg)

    write_dir(os.path.join(REF, "bert_tiny"), cfg, "BertForPreTraining", p32)
    legacy = {legacy_name(n): t for n, t in p32.items()}
    legacy["cls.predictions.decoder.weight"] = p32["bert.embeddings.word_embeddings.weight"]
    legacy["cls.predictions.decoder.bias"] = p32["cls.predictions.bias"]
    legacy["embeddings.position_ids"] = torch.arange(cfg["max_position_embeddings"])[None]
    write_dir(os.path.join(REF, "bert_tiny_legacy"), cfg, "BertForPreTraining", legacy)
    base = {n[len("bert."):]: t for n, t in p32.items() if n.startswith("bert.")}
    write_dir(os.path.join(REF, "bert_tiny_base"), cfg, "BertModel", base)

    dump = {"ids": ids.int(), "types": types.int(), "targets": targets.int(),
            "labels": labels.int(), "lengths": torch.tensor(LENGTHS).int()}
    p64 = {n: t.double().requires_grad_(True) for n, t in p32.items()}
    out = forward(p64, cfg, ids, types, LENGTHS)
    mlm, nsp = losses(out, cfg, targets, labels)
    (mlm + nsp).backward()
    dump["hidden"] = out["hidden"].detach()
    dump["pooled"] = out["pooled"].detach()
    for l, a in enumerate(out["attentions"]):
        dump["attentions.%d" % l] = a.detach()
    dump["mlm_logits"] = out["mlm_logits"].detach()
    dump["nsp_logits"] = out["nsp_logits"].detach()
    dump["mlm_loss"] = mlm.detach().reshape(1)
    dump["nsp_loss"] = nsp.detach().reshape(1)
    for n, t in p64.items():
        dump["grad." + n] = t.grad
    opt = torch.optim.AdamW(
        [{"params": [t for n, t in p64.items() if decays(n)], "weight_decay": WD},
         {"params": [t for n, t in p64.items() if not decays(n)], "weight_decay": 0.0}],
        lr=LR, betas=BETAS, eps=EPS)
    opt.step()
    for n, t in p64.items():
        dump["adamw." + n] = t.detach()
    refio.write(os.path.join(REF, "bert.zyr"), dump)


if __name__ == "__main__":
    main()
