"""PyTorch reference for zhuyi's encoder-decoder Transformer (tests/test_marian.c).

Run from the repo root: /usr/bin/python3 tests/ref_marian.py

`transformers` is not installed (and is not imported): the model is a plain-torch
MarianMTModel with Hugging Face's parameter names and semantics, written from the
architecture (Vaswani et al. 2017) and HF's documented Marian layers:
  embeddings  shared (V, C) for both sides, times sqrt(d_model) (scale_embedding), plus
              the static sinusoidal table in Marian's layout (sines in the first C/2
              columns, cosines in the rest, angle pos / 10000^(2i/C)); nn.Embedding's
              padding_idx = pad_token_id (no gradient through pad lookups); dropout
  encoder     post-LN layers: h = LN(x + out_proj(MHA(x))); y = LN(h + fc2(act(fc1(h)))),
              keys past a row's source length masked
  decoder     post-LN layers: causal self-attention, then cross-attention over the
              encoder output (source keys masked), then the FF, each followed by its
              residual add and LayerNorm (self_attn_layer_norm, encoder_attn_layer_norm,
              final_layer_norm)
  head        logits = decoder output · sharedᵀ + final_logits_bias
  loss        label-smoothed cross-entropy (ε = 0.1, PyTorch's rule) over the decoder
              targets, -1 not scored
Attention scales q by 1/sqrt(head_dim) after its bias (HF's). Activation "swish" (SiLU).
Computed in float64 from float32 weights, stored as float32.

Writes:
  tests/ref/marian_tiny/   config.json + model.safetensors (HF names, F32; the tied
                           embed_tokens / lm_head weights omitted as save_pretrained does)
  tests/ref/marian.zyr     the batch (B=3, source T=7 with lengths 7/5/3, decoder T=6 with
                           lengths 6/4/5), encoder and decoder outputs, logits, the
                           smoothed and plain losses, every gradient, the weights after one
                           AdamW step (lr 1e-3, betas (0.9, 0.95), eps 1e-8, decay 0.1 on
                           the matmul weights)
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

CFG = {"d_model": 32, "encoder_layers": 2, "decoder_layers": 2,
       "encoder_attention_heads": 4, "decoder_attention_heads": 4, "encoder_ffn_dim": 48,
       "decoder_ffn_dim": 40, "max_position_embeddings": 16, "vocab_size": 40,
       "pad_token_id": 39, "eos_token_id": 0, "decoder_start_token_id": 39,
       "activation_function": "swish", "scale_embedding": True}
B, T, TD = 3, 7, 6
SRC_LEN = [7, 5, 3]
DEC_LEN = [6, 4, 5]
EPS_LS = 0.1
LR, WD, BETAS, EPS = 1e-3, 0.1, (0.9, 0.95), 1e-8

ATTN = ["q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight",
        "v_proj.bias", "out_proj.weight", "out_proj.bias"]


def shapes(cfg):
    C, V = cfg["d_model"], cfg["vocab_size"]
    out = {"model.shared.weight": (V, C)}

    def attn(pre, name):
        for s in ATTN:
            out[pre + name + "." + s] = (C, C) if s.endswith("weight") else (C,)
        out[pre + name + "_layer_norm.weight"] = (C,)
        out[pre + name + "_layer_norm.bias"] = (C,)

    def ff(pre, FF):
        out[pre + "fc1.weight"], out[pre + "fc1.bias"] = (FF, C), (FF,)
        out[pre + "fc2.weight"], out[pre + "fc2.bias"] = (C, FF), (C,)
        out[pre + "final_layer_norm.weight"] = (C,)
        out[pre + "final_layer_norm.bias"] = (C,)

    for l in range(cfg["encoder_layers"]):
        pre = "model.encoder.layers.%d." % l
        attn(pre, "self_attn")
        ff(pre, cfg["encoder_ffn_dim"])
    for l in range(cfg["decoder_layers"]):
        pre = "model.decoder.layers.%d." % l
        attn(pre, "self_attn")
        attn(pre, "encoder_attn")
        ff(pre, cfg["decoder_ffn_dim"])
    out["final_logits_bias"] = (1, V)
    return out


def sinusoid(P, C):
    """Marian's table: float64 angles pos / 10000^(2*(j//2)/C); sines then cosines."""
    pos = torch.arange(P, dtype=torch.float64)[:, None]
    j = torch.arange(C, dtype=torch.float64)[None, :]
    enc = pos / torch.pow(10000.0, 2 * torch.div(j, 2, rounding_mode="floor") / C)
    half = C // 2 if C % 2 == 0 else C // 2 + 1
    out = torch.zeros(P, C, dtype=torch.float64)
    out[:, :half] = torch.sin(enc[:, 0::2])
    out[:, half:] = torch.cos(enc[:, 1::2])
    return out.float().double()  # HF holds the table in float32


def act(x, name="swish"):
    if name == "relu":
        return torch.relu(x)
    if name == "gelu":
        return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    assert name in ("swish", "silu"), name
    return x * torch.sigmoid(x)


def layernorm(x, w, b):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, 1e-5)


def linear(x, p, name):
    return x @ p[name + ".weight"].t() + p[name + ".bias"]


def attention(p, pre, xq, xkv, H, mask):
    """mask (B, 1 or Tq, Tk) True = visible."""
    Bn, Tq, C = xq.shape
    Tk = xkv.shape[1]
    hd = C // H
    q = (linear(xq, p, pre + ".q_proj") * hd ** -0.5).view(Bn, Tq, H, hd).transpose(1, 2)
    k = linear(xkv, p, pre + ".k_proj").view(Bn, Tk, H, hd).transpose(1, 2)
    v = linear(xkv, p, pre + ".v_proj").view(Bn, Tk, H, hd).transpose(1, 2)
    s = (q @ k.transpose(-1, -2)).masked_fill(~mask[:, None], float("-inf"))
    ctx = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(Bn, Tq, C)
    return linear(ctx, p, pre + ".out_proj")


def embed(p, cfg, ids):
    C = cfg["d_model"]
    x = torch.nn.functional.embedding(ids, p["model.shared.weight"],
                                      padding_idx=cfg["pad_token_id"])
    scale = math.sqrt(C) if cfg["scale_embedding"] else 1.0
    return x * scale + sinusoid(cfg["max_position_embeddings"], C)[:ids.shape[1]]


def encode(p, cfg, src, src_len):
    Bn, Tn = src.shape
    x = embed(p, cfg, src)
    keys = (torch.arange(Tn)[None, :] < torch.tensor(src_len)[:, None])[:, None, :]
    for l in range(cfg["encoder_layers"]):
        pre = "model.encoder.layers.%d." % l
        h = layernorm(x + attention(p, pre + "self_attn", x, x, cfg["encoder_attention_heads"],
                                    keys),
                      p[pre + "self_attn_layer_norm.weight"], p[pre + "self_attn_layer_norm.bias"])
        f = linear(act(linear(h, p, pre + "fc1"), cfg["activation_function"]), p, pre + "fc2")
        x = layernorm(h + f, p[pre + "final_layer_norm.weight"], p[pre + "final_layer_norm.bias"])
    return x


def decode(p, cfg, mem, src_len, tgt):
    """Decoder over tgt (B, Td) attending to mem: the logits (B, Td, V)."""
    Bn, Tn = tgt.shape
    H = cfg["decoder_attention_heads"]
    x = embed(p, cfg, tgt)
    causal = torch.tril(torch.ones(Tn, Tn, dtype=torch.bool))[None].expand(Bn, Tn, Tn)
    src_keys = (torch.arange(mem.shape[1])[None, :] < torch.tensor(src_len)[:, None])[:, None, :]
    for l in range(cfg["decoder_layers"]):
        pre = "model.decoder.layers.%d." % l
        x = layernorm(x + attention(p, pre + "self_attn", x, x, H, causal),
                      p[pre + "self_attn_layer_norm.weight"], p[pre + "self_attn_layer_norm.bias"])
        x = layernorm(x + attention(p, pre + "encoder_attn", x, mem, H, src_keys),
                      p[pre + "encoder_attn_layer_norm.weight"],
                      p[pre + "encoder_attn_layer_norm.bias"])
        f = linear(act(linear(x, p, pre + "fc1"), cfg["activation_function"]), p, pre + "fc2")
        x = layernorm(x + f, p[pre + "final_layer_norm.weight"], p[pre + "final_layer_norm.bias"])
    logits = x @ p["model.shared.weight"].t() + p["final_logits_bias"][0]
    return x, logits


def loss_of(logits, targets, eps):
    V = logits.shape[-1]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1),
                                             ignore_index=-1, label_smoothing=eps)


def decays(name):
    return name.endswith(".weight") and "layer_norm" not in name and "shared" not in name


def init_params(cfg, gen):
    p = {}
    for n, s in shapes(cfg).items():
        if "layer_norm" in n and n.endswith("weight"):
            t = 1.0 + 0.1 * torch.randn(s, generator=gen)
        elif n.endswith("bias"):
            t = 0.05 * torch.randn(s, generator=gen)
        elif n == "model.shared.weight":
            t = 0.3 * torch.randn(s, generator=gen)
        else:
            t = torch.randn(s, generator=gen) / math.sqrt(s[1])
        p[n] = t.float()
    return p


def config_json(cfg):
    c = dict(cfg)
    c.update({"architectures": ["MarianMTModel"], "model_type": "marian", "dropout": 0.0,
              "attention_dropout": 0.0, "activation_dropout": 0.0, "init_std": 0.02,
              "is_encoder_decoder": True, "share_encoder_decoder_embeddings": True,
              "decoder_vocab_size": cfg["vocab_size"]})
    return c


def batch(gen, cfg):
    V, pad, eos, start = (cfg["vocab_size"], cfg["pad_token_id"], cfg["eos_token_id"],
                          cfg["decoder_start_token_id"])
    src = torch.full((B, T), pad, dtype=torch.long)
    dec = torch.full((B, TD), pad, dtype=torch.long)
    tg = torch.full((B, TD), -1, dtype=torch.long)
    for b in range(B):
        n = SRC_LEN[b]
        src[b, :n - 1] = torch.randint(1, V - 1, (n - 1,), generator=gen)
        src[b, n - 1] = eos
        m = DEC_LEN[b]  # start + m - 1 target tokens; targets = those + eos
        words = torch.randint(1, V - 1, (m - 1,), generator=gen)
        dec[b, 0] = start
        dec[b, 1:m] = words
        tg[b, :m - 1] = words
        tg[b, m - 1] = eos
    tg[1, 1] = pad  # the pad id as a target: the output projection's row gets that gradient
    return src, dec, tg


def main():
    os.makedirs(REF, exist_ok=True)
    gen = torch.Generator().manual_seed(20261202)
    cfg = CFG
    p32 = init_params(cfg, gen)
    src, dec, tg = batch(gen, cfg)

    path = os.path.join(REF, "marian_tiny")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config_json(cfg), f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(path, "model.safetensors"), p32)
    print("wrote", path)

    dump = {"src": src.int(), "dec": dec.int(), "targets": tg.int(),
            "src_len": torch.tensor(SRC_LEN).int(), "dec_len": torch.tensor(DEC_LEN).int()}
    p64 = {n: t.double().requires_grad_(True) for n, t in p32.items()}
    mem = encode(p64, cfg, src, SRC_LEN)
    hid, logits = decode(p64, cfg, mem, SRC_LEN, dec)
    loss = loss_of(logits, tg, EPS_LS)
    nll = loss_of(logits.detach(), tg, 0.0)
    loss.backward()
    for b in range(B):  # only real positions are compared
        mem.detach()[b, SRC_LEN[b]:] = 0
        hid.detach()[b, DEC_LEN[b]:] = 0
        logits.detach()[b, DEC_LEN[b]:] = 0
    dump["encoder_hidden"] = mem.detach()
    dump["hidden"] = hid.detach()
    dump["logits"] = logits.detach()
    dump["loss"] = loss.detach().reshape(1)
    dump["nll_loss"] = nll.reshape(1)
    for n, t in p64.items():
        dump["grad." + n] = t.grad
    opt = torch.optim.AdamW(
        [{"params": [t for n, t in p64.items() if decays(n)], "weight_decay": WD},
         {"params": [t for n, t in p64.items() if not decays(n)], "weight_decay": 0.0}],
        lr=LR, betas=BETAS, eps=EPS)
    opt.step()
    for n, t in p64.items():
        dump["adamw." + n] = t.detach()
    refio.write(os.path.join(REF, "marian.zyr"), dump)


if __name__ == "__main__":
    main()
