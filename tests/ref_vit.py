"""PyTorch reference for zhuyi's Vision Transformer (tests/test_vit.c).

Run from the repo root: /usr/bin/python3 tests/ref_vit.py

A plain-torch ViTForImageClassification with Hugging Face's names and layouts (no
`transformers` here), written from the model's definition (Dosovitskiy et al. 2021; HF's
ViTEmbeddings, ViTLayer, ViTForImageClassification):
  patches = Conv2d(ch, C, kernel=P, stride=P)(pixels).flatten(2).transpose(1, 2)
  x = [cls_token; patches] + position_embeddings
  per layer: h = x + out(attn(layernorm_before(x)));  x = h + output(gelu(intermediate(
             layernorm_after(h))))      (attention: q, k, v, softmax(q kᵀ / sqrt(d)) v)
  hidden = layernorm(x);  logits = classifier(hidden[:, 0])
  loss = cross_entropy(logits, labels, ignore_index=-1)
In evaluation mode (no dropout), float64 from float32 weights.

Writes:
  tests/ref/vit_tiny/    config.json + model.safetensors (L=2, H=2, C=16, FF=32, 3 x 8 x 8
                         images, patch 4: 4 patches + [CLS], 3 labels)
  tests/ref/vit.zyr      pixels (B=3), labels (one -1: not scored), the logits, the final
                         hidden states, the loss, layer 1's attention probabilities and the
                         gradient of every parameter ("grad." + name)
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
       "intermediate_size": 32, "image_size": 8, "patch_size": 4, "num_channels": 3,
       "layer_norm_eps": 1e-12, "hidden_act": "gelu"}
K = 3
B = 3
LAYER = ["attention.attention.query.weight", "attention.attention.query.bias",
         "attention.attention.key.weight", "attention.attention.key.bias",
         "attention.attention.value.weight", "attention.attention.value.bias",
         "attention.output.dense.weight", "attention.output.dense.bias",
         "intermediate.dense.weight", "intermediate.dense.bias",
         "output.dense.weight", "output.dense.bias",
         "layernorm_before.weight", "layernorm_before.bias",
         "layernorm_after.weight", "layernorm_after.bias"]


def shapes(cfg):
    C, FF, P, ch = (cfg["hidden_size"], cfg["intermediate_size"], cfg["patch_size"],
                    cfg["num_channels"])
    T = (cfg["image_size"] // P) ** 2 + 1
    s = {"vit.embeddings.cls_token": (1, 1, C),
         "vit.embeddings.position_embeddings": (1, T, C),
         "vit.embeddings.patch_embeddings.projection.weight": (C, ch, P, P),
         "vit.embeddings.patch_embeddings.projection.bias": (C,)}
    for l in range(cfg["num_hidden_layers"]):
        for n in LAYER:
            if n.endswith("weight") and "layernorm" not in n:
                rows = FF if n.startswith("intermediate") else C
                cols = FF if n.startswith("output.dense") else C
                shape = (rows, cols)
            else:
                shape = (FF,) if n.startswith("intermediate") else (C,)
            s["vit.encoder.layer.%d.%s" % (l, n)] = shape
    s["vit.layernorm.weight"] = (C,)
    s["vit.layernorm.bias"] = (C,)
    s["classifier.weight"] = (K, C)
    s["classifier.bias"] = (K,)
    return s


def init_params(cfg, gen):
    p = {}
    for name, shape in shapes(cfg).items():
        t = 0.3 * torch.randn(*shape, generator=gen)
        if "layernorm" in name and name.endswith("weight"):
            t = 1.0 + 0.2 * torch.randn(*shape, generator=gen)
        p[name] = t.float()
    return p


def layer_norm(x, w, b, eps):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], w, b, eps)


def forward(p, cfg, pixels):
    C, H, P, eps = (cfg["hidden_size"], cfg["num_attention_heads"], cfg["patch_size"],
                    cfg["layer_norm_eps"])
    d = C // H
    x = torch.nn.functional.conv2d(pixels, p["vit.embeddings.patch_embeddings.projection.weight"],
                                   p["vit.embeddings.patch_embeddings.projection.bias"], stride=P)
    x = x.flatten(2).transpose(1, 2)
    Bn = x.shape[0]
    x = torch.cat([p["vit.embeddings.cls_token"].expand(Bn, -1, -1), x], dim=1)
    x = x + p["vit.embeddings.position_embeddings"]
    T = x.shape[1]
    attn = []
    for l in range(cfg["num_hidden_layers"]):
        q = "vit.encoder.layer.%d." % l
        lin = (lambda y, n: y @ p[q + n + ".weight"].T + p[q + n + ".bias"])
        h = layer_norm(x, p[q + "layernorm_before.weight"], p[q + "layernorm_before.bias"], eps)
        Q = lin(h, "attention.attention.query").view(Bn, T, H, d).transpose(1, 2)
        Kk = lin(h, "attention.attention.key").view(Bn, T, H, d).transpose(1, 2)
        V = lin(h, "attention.attention.value").view(Bn, T, H, d).transpose(1, 2)
        a = torch.softmax(Q @ Kk.transpose(-1, -2) / math.sqrt(d), dim=-1)
        attn.append(a)
        o = (a @ V).transpose(1, 2).reshape(Bn, T, C)
        x = x + lin(o, "attention.output.dense")
        h = layer_norm(x, p[q + "layernorm_after.weight"], p[q + "layernorm_after.bias"], eps)
        u = torch.nn.functional.gelu(lin(h, "intermediate.dense"))
        x = x + lin(u, "output.dense")
    hidden = layer_norm(x, p["vit.layernorm.weight"], p["vit.layernorm.bias"], eps)
    logits = hidden[:, 0] @ p["classifier.weight"].T + p["classifier.bias"]
    return hidden, logits, attn


def config_json(cfg):
    c = dict(cfg)
    c.update({"model_type": "vit", "architectures": ["ViTForImageClassification"],
              "id2label": {str(i): "class%d" % i for i in range(K)},
              "label2id": {"class%d" % i: i for i in range(K)},
              "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
              "initializer_range": 0.02, "qkv_bias": True, "encoder_stride": 4})
    return c


def main():
    gen = torch.Generator().manual_seed(20261203)
    p32 = init_params(CFG, gen)
    d = os.path.join(REF, "vit_tiny")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config_json(CFG), f, indent=2, sort_keys=True)
        f.write("\n")
    write_safetensors(os.path.join(d, "model.safetensors"), p32)
    S, ch = CFG["image_size"], CFG["num_channels"]
    pixels = torch.randn(B, ch, S, S, generator=gen).float()
    labels = torch.tensor([2, -1, 0])
    p = {n: t.double().requires_grad_(True) for n, t in p32.items()}
    hidden, logits, attn = forward(p, CFG, pixels.double())
    loss = torch.nn.functional.cross_entropy(logits, labels, ignore_index=-1)
    loss.backward()
    dump = {"pixels": pixels, "labels": labels.int(), "logits": logits.detach(),
            "hidden": hidden.detach(), "loss": loss.detach().reshape(1),
            "attentions.1": attn[1].detach()}
    for n, t in p.items():
        dump["grad." + n] = t.grad
    print("loss %.6f" % loss.item())
    refio.write(os.path.join(REF, "vit.zyr"), dump)


if __name__ == "__main__":
    main()
