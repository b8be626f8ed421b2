#!/usr/bin/python3
"""A PyTorch check of a zhuyi-pretrained BERT on the sentiment split -- NOT zhuyi's
fine-tuning (that is `zhuyi finetune classify`) but a second one to compare it with.

Usage: torch_sentiment_check.py MODEL_DIR DATA_DIR [--scratch] [--threads N] [--epochs N]
                                [--lr X] [--seed S] [--prompt]

What for: written before the fine-tuning CLI existed, to know whether the pretrained model
of scripts/tasks/pretrain_sentiment.sh can reach the issue's aim (78 % held-out accuracy);
now a reference figure for zhuyi's runs of the same recipe, and a place to try a recipe
before building it. --scratch fine-tunes the same architecture from random weights
(N(0, 0.02), as zhuyi initialises), showing what the pretraining buys. --prompt
fine-tunes prompt-style instead of with a classification head (the masked-LM head is the
only one an MLM-only pretraining trains): each sentence is followed by "it was [MASK] ."
and the two classes are the masked-LM logits at [MASK] of the words "terrible" and
"great" (the model's cls.predictions.* weights, trained on with the body; MODEL_DIR must
hold them, as pretrain's output does).

MODEL_DIR: a zhuyi BERT directory (config.json, model.safetensors, tokenizer.json);
DATA_DIR: build/data/sentiment. The texts are tokenised by zhuyi itself
(`build/zhuyi tokenize encode --jsonl --add-special --tokenizer MODEL_DIR`: [CLS] text
[SEP]), the body is tests/ref_bert.py's plain-torch BERT (Hugging Face names and
semantics) in float32, the head BertForSequenceClassification's: pooled output ->
dropout 0.1 -> `classifier` (C x 2, weights N(0, 0.02), bias 0); dropout 0.1 in the body
too (hidden and attention, as HF's default config). AdamW (betas 0.9/0.999, eps 1e-8,
weight decay 0.01 on matmul weights), lr linear warmup over the first 10 % of steps then
linear decay to 0, batch 32, sequences padded per batch. Trained on fit.tsv; after each
epoch scored on dev.tsv; the epoch with the best dev accuracy is scored on test.tsv
(test is read once per epoch but used only for the chosen one). Seeded (torch and the
batch order); deterministic on one thread.
"""
import csv
import json
import math
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import torch  # noqa: E402

from ref_gpt import read_safetensors  # noqa: E402


def read_tsv(path):
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, dialect="excel-tab"))
    return rows[1:]


def tokenize(model_dir, texts):
    zy = os.path.join(ROOT, "build", "zhuyi")
    inp = "".join(json.dumps(t) + "\n" for t in texts)
    r = subprocess.run([zy, "tokenize", "encode", "--jsonl", "--add-special", "--tokenizer", model_dir],
                       input=inp.encode(), stdout=subprocess.PIPE, check=True)
    out = [json.loads(l) for l in r.stdout.decode().splitlines()]
    assert len(out) == len(texts)
    return out


def act(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def forward(p, cfg, ids, lengths, drop, training, prompt=None):
    """tests/ref_bert.py's forward with dropout (HF's places) and only what we need:
    the classifier's logits, or with prompt = (mask id, verbaliser ids) the masked-LM
    logits of those ids at each row's [MASK]."""
    import torch.nn.functional as F
    Bn, Tn = ids.shape
    C, H, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd = C // H
    e = "bert.embeddings."

    def lin(x, name):
        return x @ p[name + ".weight"].t() + p[name + ".bias"]

    def ln(x, name):
        return F.layer_norm(x, (C,), p[name + ".weight"], p[name + ".bias"], eps)

    def dp(x):
        return F.dropout(x, drop, training)

    x = F.embedding(ids, p[e + "word_embeddings.weight"])
    x = x + p[e + "position_embeddings.weight"][:Tn] + p[e + "token_type_embeddings.weight"][0]
    x = dp(ln(x, e + "LayerNorm"))
    keys = torch.arange(Tn)[None, :] < lengths[:, None]
    for l in range(cfg["num_hidden_layers"]):
        g = "bert.encoder.layer.%d." % l
        q, k, v = [lin(x, g + "attention.self." + n).view(Bn, Tn, H, hd).transpose(1, 2)
                   for n in ("query", "key", "value")]
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~keys[:, None, None, :], float("-inf"))
        a = dp(torch.softmax(s, dim=-1))
        ctx = (a @ v).transpose(1, 2).reshape(Bn, Tn, C)
        h = ln(x + dp(lin(ctx, g + "attention.output.dense")), g + "attention.output.LayerNorm")
        f = dp(lin(act(lin(h, g + "intermediate.dense")), g + "output.dense"))
        x = ln(h + f, g + "output.LayerNorm")
    if prompt:
        mask, words = prompt
        at = (ids == mask).int().argmax(-1)  # each row's (one) [MASK]
        t = act(lin(x[torch.arange(Bn), at], "cls.predictions.transform.dense"))
        t = ln(t, "cls.predictions.transform.LayerNorm")
        return t @ p[e + "word_embeddings.weight"][words].t() + p["cls.predictions.bias"][words]
    pooled = torch.tanh(lin(x[:, 0], "bert.pooler.dense"))
    return lin(dp(pooled), "classifier")


def batches(ids, labels, bs, order):
    for i in range(0, len(order), bs):
        idx = order[i:i + bs]
        L = [len(ids[j]) for j in idx]
        T = max(L)
        x = torch.zeros(len(idx), T, dtype=torch.long)
        for r, j in enumerate(idx):
            x[r, :L[r]] = torch.tensor(ids[j])
        yield x, torch.tensor(L), torch.tensor([labels[j] for j in idx])


def accuracy(p, cfg, ids, labels, prompt):
    ok = 0
    with torch.no_grad():
        for x, L, y in batches(ids, labels, 128, list(range(len(ids)))):
            ok += int((forward(p, cfg, x, L, 0.0, False, prompt).argmax(-1) == y).sum())
    return ok / len(ids)


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__.split("\n\n")[1])
    model_dir, data_dir = args[0], args[1]

    def opt(name, default):
        return type(default)(args[args.index(name) + 1]) if name in args else default
    scratch = "--scratch" in args
    use_prompt = "--prompt" in args
    threads, epochs, lr, seed = opt("--threads", 1), opt("--epochs", 5), opt("--lr", 1e-4), opt("--seed", 1)
    torch.set_num_threads(threads)
    # Adam's moments of embedding rows that get no gradient decay into denormals, which
    # made the second epoch several times slower than the first on this CPU.
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    rnd = random.Random(seed)

    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    p = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    p = {n if n.startswith(("bert.", "cls.")) else "bert." + n: t for n, t in p.items()}
    keep = ("bert.", "cls.predictions.") if use_prompt else ("bert.",)  # (the pooler too)
    p = {n: t for n, t in p.items() if n.startswith(keep)}
    if scratch:
        for n, t in p.items():
            if "LayerNorm" in n:
                t.copy_(torch.ones_like(t) if n.endswith("weight") else torch.zeros_like(t))
            elif n.endswith("bias"):
                t.zero_()
            else:
                t.normal_(0.0, 0.02)
    C = cfg["hidden_size"]
    prompt = None
    if use_prompt:
        with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
            vocab = {w: i for i, w in enumerate(f.read().split("\n"))}
        prompt = (vocab["[MASK]"], [vocab["terrible"], vocab["great"]])
        it_was, dot = [x[1:-1] for x in tokenize(model_dir, ["it was", "."])]  # (no [CLS], [SEP])
        tail = it_was + [prompt[0]] + dot
        assert "cls.predictions.bias" in p, "--prompt: MODEL_DIR has no masked-LM head"
    else:
        p["classifier.weight"] = torch.randn(2, C) * 0.02
        p["classifier.bias"] = torch.zeros(2)
    for t in p.values():
        t.requires_grad_(True)

    data = {}
    for part in ("fit", "dev", "test"):
        rows = read_tsv(os.path.join(data_dir, part + ".tsv"))
        ids = tokenize(model_dir, [t for t, _ in rows])
        maxT = cfg["max_position_embeddings"]
        if prompt:  # [CLS] text it was [MASK] . [SEP]
            ids = [x[:-1][:maxT - len(tail) - 1] + tail + x[-1:] for x in ids]
        ids = [x if len(x) <= maxT else x[:maxT - 1] + [x[-1]] for x in ids]
        data[part] = (ids, [1 if l == "pos" else 0 for _, l in rows])

    decay = [t for n, t in p.items() if n.endswith("weight") and "LayerNorm" not in n and "embeddings" not in n]
    nodecay = [t for n, t in p.items() if not (n.endswith("weight") and "LayerNorm" not in n and "embeddings" not in n)]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": nodecay, "weight_decay": 0.0}],
                              lr=lr, betas=(0.9, 0.999), eps=1e-8)
    fit_ids, fit_y = data["fit"]
    steps_per_epoch = math.ceil(len(fit_ids) / 32)
    total = steps_per_epoch * epochs
    warm = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    best = (-1.0, 0, 0.0)
    t0 = time.time()
    for ep in range(1, epochs + 1):
        order = list(range(len(fit_ids)))
        rnd.shuffle(order)
        tot, n = 0.0, 0
        for x, L, y in batches(fit_ids, fit_y, 32, order):
            logits = forward(p, cfg, x, L, 0.1, True, prompt)
            loss = torch.nn.functional.cross_entropy(logits, y)
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0)
            optim.step()
            sched.step()
            tot += float(loss) * len(y)
            n += len(y)
        dev = accuracy(p, cfg, *data["dev"], prompt)
        test = accuracy(p, cfg, *data["test"], prompt)
        print("epoch %d: train loss %.4f, dev accuracy %.4f (%.0f s)" % (ep, tot / n, dev, time.time() - t0),
              flush=True)
        if dev > best[0]:
            best = (dev, ep, test)
    print("%s%s%s, lr %g, seed %d: best dev accuracy %.4f at epoch %d -> held-out test accuracy %.4f "
          "(%d / %d); %.0f s on %d thread(s)" % (
              model_dir, " (weights re-initialised: --scratch)" if scratch else "",
              " (prompt: --prompt)" if prompt else "", lr, seed, best[0],
              best[1], best[2], round(best[2] * len(data["test"][0])), len(data["test"][0]),
              time.time() - t0, threads))


if __name__ == "__main__":
    main()
