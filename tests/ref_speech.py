"""PyTorch reference for zhuyi's CTC speech encoder (tests/test_speech.c).

Run from the repo root: /usr/bin/python3 tests/ref_speech.py

A plain-torch model written from its definition (src/models/speech_forward.c, after
Speech2Text's encoder with a CTC head):
  x = frames (B, T, F), zero past each row's length
  per convolution: x = gelu(Conv1d(x; kernel 3, stride 2, padding 1)), zero past the
                   row's length after it (length n -> (n - 1) // 2 + 1)
  x = x + PE (sinusoidal, interleaved: PE[t, 2i] = sin(t / 10000^(2i/C)), PE[t, 2i+1] = cos)
  per layer (pre-LN): h = x + out_proj(attn(self_attn_layer_norm(x)))   keys past the
                      row's length masked;  x = h + fc2(gelu(fc1(final_layer_norm(h))))
  hidden = layer_norm(x);  logits = lm_head(hidden)
  loss = ctc_loss(log_softmax(logits), reduction="sum", zero_infinity=True) / Σ label lengths
In evaluation mode (no dropout), float64 from float32 weights. The padded frames of the
input hold noise: the model must not read them.

Writes:
  tests/ref/speech_tiny/  config.json + model.safetensors (L=2, H=2, C=16, FF=32, 6 mel
                          bins, 7 labels with blank 0)
  tests/ref/speech.zyr    features (B=3, T=19), lengths, targets (B, T: labels then -1),
                          logits, hidden, the encoder lengths, the loss, every gradient
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

CFG = {"num_hidden_layers": 2, "num_attention_heads": 2, "hidden_size": 16,
       "intermediate_size": 32, "num_mel_bins": 6, "vocab_size": 7, "num_conv_layers": 2,
       "conv_kernel_size": 3, "pad_token_id": 0, "layer_norm_eps": 1e-5,
       "hidden_act": "gelu", "hidden_dropout": 0.0, "attention_dropout": 0.0,
       "max_source_positions": 64, "initializer_range": 0.02}
B, T = 3, 19
LENGTHS = [19, 15, 9]
LABELS = [[1, 2, 2, 3], [4, 5], [6, 1, 6]]
LAYER = ["self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight",
         "self_attn.k_proj.bias", "self_attn.v_proj.weight", "self_attn.v_proj.bias",
         "self_attn.out_proj.weight", "self_attn.out_proj.bias", "fc1.weight", "fc1.bias",
         "fc2.weight", "fc2.bias", "self_attn_layer_norm.weight", "self_attn_layer_norm.bias",
         "final_layer_norm.weight", "final_layer_norm.bias"]


def shapes(cfg):
    C, FF, F, V, K = (cfg["hidden_size"], cfg["intermediate_size"], cfg["num_mel_bins"],
                      cfg["vocab_size"], cfg["conv_kernel_size"])
    s = {}
    for i in range(cfg["num_conv_layers"]):
        s["model.subsample.conv_layers.%d.weight" % i] = (C, C if i else F, K)
        s["model.subsample.conv_layers.%d.bias" % i] = (C,)
    for l in range(cfg["num_hidden_layers"]):
        for n in LAYER:
            if n.startswith("fc1"):
                shape = (FF, C) if n.endswith("weight") else (FF,)
            elif n.startswith("fc2"):
                shape = (C, FF) if n.endswith("weight") else (C,)
            elif "norm" in n or n.endswith("bias"):
                shape = (C,)
            else:
                shape = (C, C)
            s["model.encoder.layers.%d.%s" % (l, n)] = shape
    s["model.encoder.layer_norm.weight"] = (C,)
    s["model.encoder.layer_norm.bias"] = (C,)
    s["lm_head.weight"] = (V, C)
    s["lm_head.bias"] = (V,)
    return s


def init_params(cfg, gen):
    p = {}
    for name, shape in shapes(cfg).items():
        t = 0.3 * torch.randn(*shape, generator=gen)
        if "norm" in name and name.endswith("weight"):
            t = 1.0 + 0.2 * torch.randn(*shape, generator=gen)
        p[name] = t.float()
    return p


def sinusoid(Tn, C):
    pe = torch.zeros(Tn, C, dtype=torch.float64)
    for t in range(Tn):
        for i in range(0, C, 2):
            a = t / (10000.0 ** (i / C))
            pe[t, i] = math.sin(a)
            if i + 1 < C:
                pe[t, i + 1] = math.cos(a)
    return pe


def mask_tail(x, lens):
    m = torch.zeros(x.shape[0], x.shape[1], 1, dtype=x.dtype)
    for r, n in enumerate(lens):
        m[r, :n] = 1
    return x * m


def forward(p, cfg, feats, lengths):
    C, H, eps, K = (cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"],
                    cfg["conv_kernel_size"])
    d = C // H
    lens = list(lengths)
    x = mask_tail(feats, lens)
    for i in range(cfg["num_conv_layers"]):
        w, b = p["model.subsample.conv_layers.%d.weight" % i], p["model.subsample.conv_layers.%d.bias" % i]
        x = torch.nn.functional.conv1d(x.transpose(1, 2), w, b, stride=2,
                                       padding=K // 2).transpose(1, 2)
        x = torch.nn.functional.gelu(x)
        lens = [(n + 2 * (K // 2) - K) // 2 + 1 for n in lens]
        x = mask_tail(x, lens)
    Bn, To, _ = x.shape
    x = x + sinusoid(To, C)
    keep = torch.zeros(Bn, 1, 1, To, dtype=torch.bool)
    for r, n in enumerate(lens):
        keep[r, :, :, :n] = True
    for l in range(cfg["num_hidden_layers"]):
        q = "model.encoder.layers.%d." % l
        lin = (lambda y, n: y @ p[q + n + ".weight"].T + p[q + n + ".bias"])
        ln = (lambda y, n: torch.nn.functional.layer_norm(y, (C,), p[q + n + ".weight"],
                                                          p[q + n + ".bias"], eps))
        h = ln(x, "self_attn_layer_norm")
        Q = lin(h, "self_attn.q_proj").view(Bn, To, H, d).transpose(1, 2)
        Kk = lin(h, "self_attn.k_proj").view(Bn, To, H, d).transpose(1, 2)
        V = lin(h, "self_attn.v_proj").view(Bn, To, H, d).transpose(1, 2)
        s = (Q @ Kk.transpose(-1, -2) / math.sqrt(d)).masked_fill(~keep, float("-inf"))
        a = torch.softmax(s, dim=-1)
        o = (a @ V).transpose(1, 2).reshape(Bn, To, C)
        x = x + lin(o, "self_attn.out_proj")
        h = ln(x, "final_layer_norm")
        x = x + lin(torch.nn.functional.gelu(lin(h, "fc1")), "fc2")
    hidden = torch.nn.functional.layer_norm(x, (C,), p["model.encoder.layer_norm.weight"],
                                            p["model.encoder.layer_norm.bias"], eps)
    logits = hidden @ p["lm_head.weight"].T + p["lm_head.bias"]
    return hidden, logits, lens


def config_json(cfg):
    c = dict(cfg)
    c.update({"model_type": "speech_ctc", "architectures": ["SpeechEncoderForCTC"]})
    return c


def main():
    gen = torch.Generator().manual_seed(20261203)
    p32 = init_params(CFG, gen)
    d = os.path.join(REF, "speech_tiny")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config_json(CFG), f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), p32)
    feats = torch.randn(B, T, CFG["num_mel_bins"], generator=gen).float()  # noise past lengths
    targets = torch.full((B, T), -1, dtype=torch.int32)
    for r, lab in enumerate(LABELS):
        targets[r, :len(lab)] = torch.tensor(lab, dtype=torch.int32)
    p = {n: t.double().requires_grad_(True) for n, t in p32.items()}
    hidden, logits, lens = forward(p, CFG, feats.double(), LENGTHS)
    lp = torch.log_softmax(logits, -1).transpose(0, 1)
    flat = torch.tensor([v for lab in LABELS for v in lab])
    count = sum(len(lab) for lab in LABELS)
    loss = torch.nn.functional.ctc_loss(lp, flat, torch.tensor(lens),
                                        torch.tensor([len(lab) for lab in LABELS]), blank=0,
                                        reduction="sum", zero_infinity=True) / count
    loss.backward()
    dump = {"features": feats, "lengths": torch.tensor(LENGTHS, dtype=torch.int32),
            "targets": targets, "logits": logits.detach(), "hidden": hidden.detach(),
            "out_lengths": torch.tensor(lens, dtype=torch.float32),
            "loss": loss.detach().reshape(1)}
    for n, t in p.items():
        dump["grad." + n] = t.grad
    print("loss %.6f, encoder lengths %s" % (loss.item(), lens))
    refio.write(os.path.join(REF, "speech.zyr"), dump)


if __name__ == "__main__":
    main()
