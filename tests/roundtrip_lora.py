"""Round trip: load adapter directories that zhuyi wrote into the PyTorch references, the
way PEFT reads them, and check they give the logits zhuyi computed.

Usage (from the repo root, after the C test lora_adapter_dir_roundtrip has run):
  /usr/bin/python3 tests/roundtrip_lora.py build/lora_roundtrip_gpt build/lora_roundtrip_bert
Each DIR holds adapter_config.json, adapter_model.safetensors, config.json (written by
zy_model_save of a model with an adapter) and logits.zyr (written by the C test: "x",
"lengths", "types", "logits"). Read here as PEFT does: the base model from
base_model_name_or_path (config.json of the architecture from DIR), then every tensor of
adapter_model.safetensors by its PEFT name - base_model.model.<module>.lora_A.weight /
.lora_B.weight onto the module's linear layer (scale lora_alpha / r, or / sqrt(r) with
use_rslora), <module>.base_layer.bias as the adapted layer's bias, anything else
(modules_to_save, other biases) over the base's tensor of that name - and every module
target_modules names must have an adapter. Exits 1 on any mismatch (2e-5 abs + 1e-4 rel).
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

import ref_bert  # noqa: E402
import ref_gpt  # noqa: E402
from ref_lora import bert_logits, gpt_forward, targeted  # noqa: E402
from roundtrip_gpt import read_zyr  # noqa: E402

PREFIX = "base_model.model."


def load(d):
    with open(os.path.join(d, "adapter_config.json")) as f:
        ac = json.load(f)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    if ac.get("peft_type") != "LORA":
        sys.exit("roundtrip_lora: %s: peft_type %r" % (d, ac.get("peft_type")))
    base_dir = ac["base_model_name_or_path"]
    if not os.path.isdir(base_dir):
        base_dir = os.path.join(d, base_dir)
    base = ref_gpt.read_safetensors(os.path.join(base_dir, "model.safetensors"))
    files = ref_gpt.read_safetensors(os.path.join(d, "adapter_model.safetensors"))
    lora, over = {}, {}
    for name, t in files.items():
        if not name.startswith(PREFIX):
            sys.exit("roundtrip_lora: %s: tensor %s lacks PEFT's prefix" % (d, name))
        n = name[len(PREFIX):]
        if n.endswith((".lora_A.weight", ".lora_B.weight")):
            lora[n] = t.double()
        elif n.endswith(".base_layer.bias"):
            over[n[:-len(".base_layer.bias")] + ".bias"] = t.double()
        else:
            over[n] = t.double()
    r = ac["r"]
    s = ac["lora_alpha"] / (math.sqrt(r) if ac["use_rslora"] else r)
    modules = {n[:-len(".lora_A.weight")] for n in lora if n.endswith(".lora_A.weight")}
    return ac, cfg, base, lora, over, modules, s


def check(d, got, logits):
    err = (logits.reshape(got.shape) - got).abs()
    print("roundtrip_lora: %s: %d logits, worst abs diff %.3g" % (d, got.numel(), err.max()))
    if (err > 2e-5 + 1e-4 * logits.reshape(got.shape).abs()).any():
        sys.exit("roundtrip_lora: %s: logits differ beyond 2e-5 + 1e-4·|x|" % d)


def check_targets(d, ac, modules, linears):
    want = {m for m in linears if targeted(m, ac["target_modules"])}
    if want != modules:
        sys.exit("roundtrip_lora: %s: adapted modules %s, target_modules %s name %s" % (
            d, sorted(modules), ac["target_modules"], sorted(want)))


def check_gpt(d):
    ac, cfg, base, lora, over, modules, s = load(d)
    if ac["task_type"] != "CAUSAL_LM" or not ac["fan_in_fan_out"]:
        sys.exit("roundtrip_lora: %s: task_type %s, fan_in_fan_out %s" % (
            d, ac["task_type"], ac["fan_in_fan_out"]))
    linears = ["transformer.h.%d.%s" % (l, m) for l in range(cfg["n_layer"])
               for m in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")]
    check_targets(d, ac, modules, linears)
    p = {n: t.double() for n, t in base.items()}
    p.update(over)
    ref = read_zyr(os.path.join(d, "logits.zyr"))
    check(d, ref["logits"].double(), gpt_forward(p, lora, s, cfg, ref["x"].long()))


def check_bert(d):
    ac, cfg, base, lora, over, modules, s = load(d)
    if ac["task_type"] != "SEQ_CLS" or cfg["architectures"] != ["BertForSequenceClassification"]:
        sys.exit("roundtrip_lora: %s: task_type %s, architectures %s" % (
            d, ac["task_type"], cfg["architectures"]))
    K = len(cfg["id2label"])
    rc = {"num_hidden_layers": cfg["num_hidden_layers"], "hidden_size": cfg["hidden_size"],
          "num_attention_heads": cfg["num_attention_heads"],
          "intermediate_size": cfg["intermediate_size"], "layer_norm_eps": cfg["layer_norm_eps"],
          "max_position_embeddings": cfg["max_position_embeddings"],
          "type_vocab_size": cfg["type_vocab_size"], "vocab_size": cfg["vocab_size"],
          "pad_token_id": cfg["pad_token_id"]}
    names = ref_bert.task_names(rc, "BertForSequenceClassification", K)
    linears = [n[:-len(".weight")] for n, sh in names.items()
               if n.endswith(".weight") and len(sh) == 2 and "embeddings" not in n]
    check_targets(d, ac, modules, linears)
    p = {n: t.double() for n, t in base.items() if n in names}
    p.update(over)
    missing = set(names) - set(p)
    if missing:
        sys.exit("roundtrip_lora: %s: no tensor for %s" % (d, sorted(missing)))
    ref = read_zyr(os.path.join(d, "logits.zyr"))
    lengths = ref["lengths"].reshape(-1).tolist()
    logits = bert_logits(p, lora, s, rc, ref["x"].long(), ref["types"].long(), lengths)
    check(d, ref["logits"].double(), logits)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    check_gpt(sys.argv[1])
    check_bert(sys.argv[2])


if __name__ == "__main__":
    main()
