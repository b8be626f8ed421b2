"""PyTorch references for zhuyi's LoRA adapters (tests/test_lora.c).

Run from the repo root: /usr/bin/python3 tests/ref_lora.py

`peft` is not installed (and is not imported): LoRA here is written in plain torch from
its definition, as PEFT's LoraLayer computes it and with PEFT's file names:
  y = base(x) + scale · lora_B(lora_A(dropout(x))),  lora_A (r, in), lora_B (out, r),
  scale = lora_alpha / r  (use_rslora: lora_alpha / sqrt(r)),
the same for GPT-2's Conv1D layers (fan_in_fan_out: A and B are nn.Linear's either way).
Dropout is 0 here (the C tests check dropout by finite differences). The bodies are
tests/ref_gpt.py's and tests/ref_bert.py's plain-torch GPT-2 and BERT with Hugging Face's
names; everything in float64 from float32 weights.

Writes:
  tests/ref/lora_gpt_base/     GPT2LMHeadModel L=2 H=2 C=16 P=16 V=40 (F32)
  tests/ref/lora_gpt_adapter/  a PEFT adapter directory for it: adapter_config.json
                               (r 4, lora_alpha 8, use_rslora: scale 4; target_modules
                               c_attn, c_proj, c_fc: c_proj names attn.c_proj and
                               mlp.c_proj) and adapter_model.safetensors (nonzero B), no
                               config.json (the base's is read)
  tests/ref/lora_bert_base/    BertForPreTraining L=2 H=2 C=16 FF=32 P=12 V=30 (F32)
  tests/ref/lora_bert_adapter/ a PEFT adapter for it as BertForSequenceClassification
                               (3 labels; config.json with the labels beside the adapter):
                               r 2, lora_alpha 6 (scale 3), target_modules query, value,
                               dense (the attention output, intermediate, output and
                               pooler denses), bias lora_only (the adapted modules'
                               biases, as <module>.base_layer.bias, changed from the
                               base's), modules_to_save classifier (and PEFT's "score")
  tests/ref/lora.zyr           inputs; per model ("gpt.", "bert.") the logits, loss, the
                               gradients of every trainable tensor and the trainable
                               tensors after one AdamW step (lr 1e-3, betas 0.9/0.95, eps
                               1e-8, weight decay 0.1 on the 2-D ones: A, B, classifier),
                               by zhuyi's table names (<module>.lora_A.weight, ...)
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

import ref_bert  # noqa: E402
import ref_gpt  # noqa: E402
import refio  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "ref")
LR, WD, BETAS, EPS = 1e-3, 0.1, (0.9, 0.95), 1e-8

GPT = {"n_layer": 2, "n_head": 2, "n_embd": 16, "n_positions": 16, "vocab_size": 40,
       "layer_norm_epsilon": 1e-5}
GPT_LORA = {"r": 4, "lora_alpha": 8, "use_rslora": True,
            "target_modules": ["c_attn", "c_proj", "c_fc"], "bias": "none",
            "modules_to_save": None, "task_type": "CAUSAL_LM", "fan_in_fan_out": True}
BERT = {"num_hidden_layers": 2, "num_attention_heads": 2, "hidden_size": 16,
        "intermediate_size": 32, "max_position_embeddings": 12, "type_vocab_size": 2,
        "vocab_size": 30, "layer_norm_eps": 1e-12, "pad_token_id": 0}
BERT_LORA = {"r": 2, "lora_alpha": 6, "use_rslora": False,
             "target_modules": ["query", "value", "dense"], "bias": "lora_only",
             "modules_to_save": ["classifier", "score"], "task_type": "SEQ_CLS",
             "fan_in_fan_out": False}
LABELS = ["neg", "neu", "pos"]


def scale(cfg):
    r = cfg["r"]
    return cfg["lora_alpha"] / (math.sqrt(r) if cfg["use_rslora"] else r)


def targeted(module, targets):
    """PEFT's rule for a list: the name is a target or ends in "." + target."""
    return any(module == t or module.endswith("." + t) for t in targets)


def adapter_config(cfg, base):
    """adapter_config.json as PEFT's LoraConfig.save_pretrained writes it (its main fields)."""
    c = {"peft_type": "LORA", "base_model_name_or_path": base, "inference_mode": True,
         "init_lora_weights": True, "lora_dropout": 0.0, "use_dora": False, "revision": None,
         "layers_to_transform": None, "layers_pattern": None, "rank_pattern": {},
         "alpha_pattern": {}, "megatron_config": None, "megatron_core": "megatron.core",
         "loftq_config": {}, "layer_replication": None, "auto_mapping": None}
    c.update(cfg)
    return c


def write_adapter(path, cfg, base, tensors):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump(adapter_config(cfg, base), f, indent=2, sort_keys=True)
    ref_gpt.write_safetensors(os.path.join(path, "adapter_model.safetensors"),
                              {"base_model.model." + n: t for n, t in tensors.items()})
    print("wrote", path)


def lora_params(modules, shapes, r, gen):
    """A (r, in) as PEFT draws it (U(-1/sqrt(in), 1/sqrt(in))) and B nonzero (a trained
    adapter's), float32, by zhuyi's table names."""
    p = {}
    for m in modules:
        n_out, n_in = shapes[m]
        bound = 1.0 / math.sqrt(n_in)
        p[m + ".lora_A.weight"] = ((torch.rand(r, n_in, generator=gen) * 2 - 1) * bound).float()
        p[m + ".lora_B.weight"] = (0.3 * torch.randn(n_out, r, generator=gen)).float()
    return p


def adamw(params, decays):
    opt = torch.optim.AdamW(
        [{"params": [t for n, t in params.items() if decays(n)], "weight_decay": WD},
         {"params": [t for n, t in params.items() if not decays(n)], "weight_decay": 0.0}],
        lr=LR, betas=BETAS, eps=EPS)
    opt.step()


# ---- GPT-2 ------------------------------------------------------------------------------------

def gpt_forward(p, lora, s, cfg, idx):
    """ref_gpt.hidden with LoRA on the Conv1D layers whose module has an adapter."""
    B, T = idx.shape
    C, H, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hd = C // H

    def conv(x, module):
        y = ref_gpt.conv1d(x, p[module + ".weight"], p[module + ".bias"])
        if module + ".lora_A.weight" in lora:
            y = y + s * (x @ lora[module + ".lora_A.weight"].t()) @ lora[module + ".lora_B.weight"].t()
        return y

    g = lambda n: p["transformer." + n]  # noqa: E731
    x = g("wte.weight")[idx] + g("wpe.weight")[:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(cfg["n_layer"]):
        h = "transformer.h.%d." % l
        a = ref_gpt.layernorm(x, p[h + "ln_1.weight"], p[h + "ln_1.bias"], eps)
        q, k, v = conv(a, h + "attn.c_attn").split(C, dim=2)
        q, k, v = [t.view(B, T, H, hd).transpose(1, 2) for t in (q, k, v)]
        sc = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        sc = sc.masked_fill(~mask, float("-inf"))
        y = (torch.softmax(sc, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + conv(y, h + "attn.c_proj")
        m = ref_gpt.layernorm(x, p[h + "ln_2.weight"], p[h + "ln_2.bias"], eps)
        m = ref_gpt.gelu_new(conv(m, h + "mlp.c_fc"))
        x = x + conv(m, h + "mlp.c_proj")
    x = ref_gpt.layernorm(x, g("ln_f.weight"), g("ln_f.bias"), eps)
    return x @ g("wte.weight").t()


def gpt_case(gen, dump):
    base = ref_gpt.init_params(GPT, gen)
    ref_gpt.write_dir(os.path.join(REF, "lora_gpt_base"), GPT, base)
    C = GPT["n_embd"]
    shapes, modules = {}, []
    for l in range(GPT["n_layer"]):
        for name, (i, o) in (("attn.c_attn", (C, 3 * C)), ("attn.c_proj", (C, C)),
                             ("mlp.c_fc", (C, 4 * C)), ("mlp.c_proj", (4 * C, C))):
            m = "transformer.h.%d.%s" % (l, name)
            shapes[m] = (o, i)  # (out, in): the Conv1D weight is (in, out)
            if targeted(m, GPT_LORA["target_modules"]):
                modules.append(m)
    lora32 = lora_params(modules, shapes, GPT_LORA["r"], gen)
    write_adapter(os.path.join(REF, "lora_gpt_adapter"), GPT_LORA, "tests/ref/lora_gpt_base",
                  lora32)
    B, T = 2, 8
    x = torch.randint(0, GPT["vocab_size"], (B, T), generator=gen)
    y = torch.randint(0, GPT["vocab_size"], (B, T), generator=gen)
    y[1, 2] = -1
    p64 = {n: t.double() for n, t in base.items()}
    lora = {n: t.double().requires_grad_(True) for n, t in lora32.items()}
    logits = gpt_forward(p64, lora, scale(GPT_LORA), GPT, x)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, GPT["vocab_size"]),
                                             y.reshape(-1), ignore_index=-1)
    loss.backward()
    dump["gpt.x"] = x.int()
    dump["gpt.y"] = y.int()
    dump["gpt.logits"] = logits.detach()
    dump["gpt.base_logits"] = gpt_forward(p64, {}, 0.0, GPT, x).detach()
    dump["gpt.loss"] = loss.detach().reshape(1)
    for n, t in lora.items():
        dump["gpt.grad." + n] = t.grad
    adamw(lora, lambda n: True)
    for n, t in lora.items():
        dump["gpt.adamw." + n] = t.detach()
    print("gpt: loss %.6f" % loss.item())


# ---- BERT sequence classifier ---------------------------------------------------------------

def bert_logits(p, lora, s, cfg, ids, types, lengths):
    """BertForSequenceClassification's logits, ref_bert's modules with LoRA on the linear
    layers whose module has an adapter in lora (<module>.lora_A.weight, ...)."""
    def linear(x, p, name):  # ref_bert.linear with the module's adapter
        y = x @ p[name + ".weight"].t() + p[name + ".bias"]
        if name + ".lora_A.weight" in lora:
            y = y + s * (x @ lora[name + ".lora_A.weight"].t()) @ lora[name + ".lora_B.weight"].t()
        return y

    plain, ref_bert.linear = ref_bert.linear, linear
    try:
        out = ref_bert.forward(p, cfg, ids, types, lengths)
        return ref_bert.task_forward(p, "BertForSequenceClassification", out, lengths)["logits"]
    finally:
        ref_bert.linear = plain


def bert_case(gen, dump):
    base = ref_bert.init_params(BERT, gen)
    ref_bert.write_dir(os.path.join(REF, "lora_bert_base"), BERT, "BertForPreTraining", base)
    names = ref_bert.task_names(BERT, "BertForSequenceClassification", len(LABELS))
    shapes = {n[:-len(".weight")]: s for n, s in names.items()
              if n.endswith(".weight") and len(s) == 2 and "embeddings" not in n}
    modules = [m for m in shapes if targeted(m, BERT_LORA["target_modules"])]
    lora32 = lora_params(modules, shapes, BERT_LORA["r"], gen)
    C, K = BERT["hidden_size"], len(LABELS)
    keep = {"classifier.weight": (torch.randn(K, C, generator=gen) / C ** 0.5).float(),
            "classifier.bias": (0.1 * torch.randn(K, generator=gen)).float()}
    for m in modules:  # lora_only: the adapted modules' biases, trained away from the base's
        keep[m + ".bias"] = (base[m + ".bias"] + 0.05 * torch.randn(shapes[m][0], generator=gen)).float()
    files = dict(lora32)
    for n, t in keep.items():
        module = n[:-len(".bias")]
        files[module + ".base_layer.bias" if module in modules else n] = t
    path = os.path.join(REF, "lora_bert_adapter")
    write_adapter(path, BERT_LORA, "../lora_bert_base", files)
    cfg = ref_bert.config_json(BERT, "BertForSequenceClassification")
    cfg["id2label"] = {str(i): s for i, s in enumerate(LABELS)}
    cfg["label2id"] = {s: i for i, s in enumerate(LABELS)}
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")

    B, T, lengths = 3, 7, [7, 5, 3]
    ids = torch.zeros(B, T, dtype=torch.long)
    types = torch.zeros(B, T, dtype=torch.long)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(1, BERT["vocab_size"], (n,), generator=gen)
        types[b, n // 2:n] = 1
    labels = torch.tensor([2, 0, 1])
    p64 = {n: t.double() for n, t in base.items() if n in names}
    train = {n: t.double().requires_grad_(True) for n, t in list(lora32.items()) + list(keep.items())}
    p64.update({n: t for n, t in train.items() if not n.endswith(("lora_A.weight", "lora_B.weight"))})
    s = scale(BERT_LORA)
    logits = bert_logits(p64, train, s, BERT, ids, types, lengths)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    dump["bert.ids"] = ids.int()
    dump["bert.types"] = types.int()
    dump["bert.lengths"] = torch.tensor(lengths).int()
    dump["bert.labels"] = labels.int()
    dump["bert.logits"] = logits.detach()
    dump["bert.loss"] = loss.detach().reshape(1)
    for n, t in train.items():
        dump["bert.grad." + n] = t.grad
    adamw(train, lambda n: not n.endswith(".bias"))
    for n, t in train.items():
        dump["bert.adamw." + n] = t.detach()
    print("bert: loss %.6f" % loss.item())


def main():
    os.makedirs(REF, exist_ok=True)
    gen = torch.Generator().manual_seed(20260107)
    dump = {}
    gpt_case(gen, dump)
    bert_case(gen, dump)
    refio.write(os.path.join(REF, "lora.zyr"), dump)


if __name__ == "__main__":
    main()
