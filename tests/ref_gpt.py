"""PyTorch references for zhuyi's GPT (tests/test_gpt_ref.c, tests/test_gpt_io.c).

Run from the repo root: /usr/bin/python3 tests/ref_gpt.py

`transformers` is not installed, so GPT2 here is a faithful plain-torch GPT-2 with
Hugging Face's names and semantics: Conv1D layers (weight (in, out), y = x·W + b), fused
c_attn, causal softmax attention scaled by 1/sqrt(head), GELU tanh ("gelu_new"), pre-LN
blocks, final ln_f, LM head tied to wte. Everything is computed in float64 from float32 (or
F16/BF16-rounded) weights and stored as float32.

Writes (model directories in the Hugging Face layout: config.json + model.safetensors):
  tests/ref/gpt_small/       L=2 H=4 C=48 P=32 V=96, F32, names "transformer.*"
  tests/ref/gpt_small_bf16/  the same weights in BF16, GPT2Model names (no "transformer."
                             prefix) plus the old causal-mask buffers h.N.attn.bias and
                             h.N.attn.masked_bias that a reader must ignore, and
                             lm_head.weight equal to wte (tied)
  tests/ref/gpt_tiny/        L=2 H=4 C=16 P=32 V=50257 (the real GPT-2 vocabulary, so the
                             GPT-2 tokenizer fits it), F16 (1.6 MB)
  tests/ref/gpt.zyr          inputs, targets, logits, loss, every gradient (HF layout) and
                             the parameters after one AdamW step for gpt_small; logits of
                             gpt_small_bf16; lse and a slice of the logits for gpt_tiny.
"""
import json
import math
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

import refio  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "ref")
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64"}


# ---- the model ---------------------------------------------------------------------------

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def conv1d(x, w, b):
    """Hugging Face Conv1D: w is (in, out)."""
    return x @ w + b


def layernorm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, eps)


def names(L):
    out = ["transformer.wte.weight", "transformer.wpe.weight"]
    for l in range(L):
        for s in ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                  "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                  "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"]:
            out.append("transformer.h.%d.%s" % (l, s))
    return out + ["transformer.ln_f.weight", "transformer.ln_f.bias"]


def shapes(cfg):
    C, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    per = {"ln_1.weight": (C,), "ln_1.bias": (C,), "attn.c_attn.weight": (C, 3 * C),
           "attn.c_attn.bias": (3 * C,), "attn.c_proj.weight": (C, C), "attn.c_proj.bias": (C,),
           "ln_2.weight": (C,), "ln_2.bias": (C,), "mlp.c_fc.weight": (C, 4 * C),
           "mlp.c_fc.bias": (4 * C,), "mlp.c_proj.weight": (4 * C, C), "mlp.c_proj.bias": (C,)}
    out = {}
    for n in names(cfg["n_layer"]):
        if n == "transformer.wte.weight":
            out[n] = (V, C)
        elif n == "transformer.wpe.weight":
            out[n] = (P, C)
        elif n.startswith("transformer.ln_f"):
            out[n] = (C,)
        else:
            out[n] = per[n.split(".", 3)[3]]
    return out


def forward(p, cfg, idx):
    """p: dict name -> tensor (HF layout); idx (B, T) -> logits (B, T, V)."""
    return hidden(p, cfg, idx) @ p["transformer.wte.weight"].t()


def score_forward(p, cfg, idx, lengths):
    """GPT2ForSequenceClassification: score (no bias) on each row's last token, (B, K).
    lengths[b] - 1 is the token HF finds from pad_token_id on right-padded rows."""
    h = hidden(p, cfg, idx)
    last = torch.tensor(lengths) - 1
    return h[torch.arange(idx.shape[0]), last] @ p["score.weight"].t()


def hidden(p, cfg, idx):
    """p: dict name -> tensor (HF layout); idx (B, T) -> ln_f's output (B, T, C)."""
    B, T = idx.shape
    C, H, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hd = C // H
    g = lambda n: p["transformer." + n]  # noqa: E731
    x = g("wte.weight")[idx] + g("wpe.weight")[:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(cfg["n_layer"]):
        h = lambda n: g("h.%d.%s" % (l, n))  # noqa: E731
        a = layernorm(x, h("ln_1.weight"), h("ln_1.bias"), eps)
        q, k, v = conv1d(a, h("attn.c_attn.weight"), h("attn.c_attn.bias")).split(C, dim=2)
        q, k, v = [t.view(B, T, H, hd).transpose(1, 2) for t in (q, k, v)]
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~mask, float("-inf"))
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + conv1d(y, h("attn.c_proj.weight"), h("attn.c_proj.bias"))
        m = layernorm(x, h("ln_2.weight"), h("ln_2.bias"), eps)
        m = gelu_new(conv1d(m, h("mlp.c_fc.weight"), h("mlp.c_fc.bias")))
        x = x + conv1d(m, h("mlp.c_proj.weight"), h("mlp.c_proj.bias"))
    return layernorm(x, g("ln_f.weight"), g("ln_f.bias"), eps)


def init_params(cfg, gen):
    """Random weights (GPT-2-like scales, nonzero biases, gains near 1) in float32."""
    p = {}
    for n, s in shapes(cfg).items():
        if ".ln_" in n and n.endswith("weight"):
            t = 1.0 + 0.1 * torch.randn(s, generator=gen)
        elif n.endswith("bias"):
            t = 0.05 * torch.randn(s, generator=gen)
        elif n.endswith("wte.weight") or n.endswith("wpe.weight"):
            t = 0.1 * torch.randn(s, generator=gen)
        else:
            t = 0.2 / math.sqrt(s[0]) * torch.randn(s, generator=gen) * 5
        p[n] = t.float()
    return p


def config_json(cfg):
    return {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
            "attn_pdrop": 0.0, "embd_pdrop": 0.0, "resid_pdrop": 0.0,
            "initializer_range": 0.02, "layer_norm_epsilon": cfg["layer_norm_epsilon"],
            "model_type": "gpt2", "n_ctx": cfg["n_positions"], "n_embd": cfg["n_embd"],
            "n_head": cfg["n_head"], "n_inner": None, "n_layer": cfg["n_layer"],
            "n_positions": cfg["n_positions"], "vocab_size": cfg["vocab_size"],
            "scale_attn_weights": True, "use_cache": True}


# ---- safetensors (struct + json: the `safetensors` package is not installed) -------------

def write_safetensors(path, tensors):
    header, blobs, pos = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors, key=lambda s: s.encode()):
        t = tensors[name].contiguous()
        raw = (t.view(torch.int16) if t.element_size() == 2 else t).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [pos, pos + len(raw)]}
        blobs.append(raw)
        pos += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def read_safetensors(path):
    """name -> float32 tensor (F32, F16, BF16)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = bytearray(data[8 + n + a:8 + n + b])
        if info["dtype"] == "F32":
            t = torch.frombuffer(raw, dtype=torch.float32)
        else:
            dt = torch.float16 if info["dtype"] == "F16" else torch.bfloat16
            t = torch.frombuffer(raw, dtype=torch.int16).view(dt).float()
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write_dir(path, cfg, tensors):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config_json(cfg), f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(path, "model.safetensors"), tensors)
    print("wrote", path)


# ---- references ---------------------------------------------------------------------------

def main():
    os.makedirs(REF, exist_ok=True)
    gen = torch.Generator().manual_seed(20240605)
    dump = {}

    # gpt_small: everything (logits, loss, gradients, one AdamW step).
    small = {"n_layer": 2, "n_head": 4, "n_embd": 48, "n_positions": 32, "vocab_size": 96,
             "layer_norm_epsilon": 1e-5}
    p32 = init_params(small, gen)
    write_dir(os.path.join(REF, "gpt_small"), small, p32)
    B, T = 2, 32
    x = torch.randint(0, small["vocab_size"], (B, T), generator=gen)
    y = torch.randint(0, small["vocab_size"], (B, T), generator=gen)
    y[0, 3] = -1
    y[1, 30] = -1  # ignored targets
    p64 = {n: t.double().requires_grad_(True) for n, t in p32.items()}
    logits = forward(p64, small, x)
    loss = torch.nn.functional.cross_entropy(logits.view(-1, small["vocab_size"]), y.view(-1),
                                             ignore_index=-1)
    loss.backward()
    dump["small.x"] = x.int()
    dump["small.y"] = y.int()
    dump["small.logits"] = logits.detach()
    dump["small.loss"] = loss.detach().reshape(1)
    for n, t in p64.items():
        dump["small.grad." + n] = t.grad
    # One AdamW step (lr 1e-3, weight decay 0.1 on the Conv1D weights only).
    decay = [t for n, t in p64.items() if n.endswith(".weight") and ".ln_" not in n
             and "wte" not in n and "wpe" not in n]
    rest = [t for n, t in p64.items() if not any(t is d for d in decay)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": rest, "weight_decay": 0.0}], lr=1e-3)
    opt.step()
    for n, t in p64.items():
        dump["small.adamw." + n] = t.detach()

    # gpt_small_bf16: same weights rounded to BF16, GPT2Model names, extra buffers, lm_head.
    bf = {n: t.bfloat16() for n, t in p32.items()}
    named = {n[len("transformer."):]: t for n, t in bf.items()}
    for l in range(small["n_layer"]):
        named["h.%d.attn.bias" % l] = torch.ones(1, 1, 32, 32).tril().bfloat16()
        named["h.%d.attn.masked_bias" % l] = torch.tensor(-1e4).bfloat16()
    named["lm_head.weight"] = named["wte.weight"].clone()
    write_dir(os.path.join(REF, "gpt_small_bf16"), small, named)
    pbf = {n: t.double() for n, t in bf.items()}
    dump["small_bf16.logits"] = forward(pbf, small, x).detach()

    # gpt_tiny: the real GPT-2 vocabulary, F16 weights.
    tiny = {"n_layer": 2, "n_head": 4, "n_embd": 16, "n_positions": 32, "vocab_size": 50257,
            "layer_norm_epsilon": 1e-5}
    ph = {n: t.half() for n, t in init_params(tiny, gen).items()}
    write_dir(os.path.join(REF, "gpt_tiny"), tiny, ph)
    xt = torch.randint(0, tiny["vocab_size"], (1, 8), generator=gen)
    xt[0, 0] = 50256  # <|endoftext|>
    lt = forward({n: t.double() for n, t in ph.items()}, tiny, xt)[0]
    dump["tiny.x"] = xt.int()
    dump["tiny.lse"] = torch.logsumexp(lt, dim=-1)
    dump["tiny.logits_last_2000"] = lt[:, -2000:]  # the end of the vocabulary, every row

    refio.write(os.path.join(REF, "gpt.zyr"), dump)


if __name__ == "__main__":
    main()
