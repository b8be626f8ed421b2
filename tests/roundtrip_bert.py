"""Round trip: load BERT model directories that zhuyi wrote into the PyTorch reference
(tests/ref_bert.py) and check they give the outputs zhuyi computed.

Usage (from the repo root, after the C tests bert_io_roundtrip_dirs_for_torch and
bert_heads_roundtrip_dirs have run):
  /usr/bin/python3 tests/roundtrip_bert.py build/bert_roundtrip build/bert_roundtrip_base \
      [build/bert_roundtrip_seqcls build/bert_roundtrip_tokcls build/bert_roundtrip_qa]
The first is a BertForPreTraining directory (names with "bert.", every head), the second
a BertModel one (names without a prefix, no heads), the others fine-tuned task models
(BertForSequenceClassification, BertForTokenClassification, BertForQuestionAnswering:
their config.json must carry HF's id2label / label2id / classifier_dropout and no
num_labels, their tensors be exactly the class's state dict, and their "logits" or
"start_logits" / "end_logits" match the reference heads); each holds config.json +
model.safetensors (written by zy_model_save) and outputs.zyr (written by the C test:
ids, types, lengths, hidden, pooled and, with heads, mlm_logits, nsp_logits). Checks:
config.json is exactly what BertForPreTraining / BertModel save_pretrained writes (but
torch_dtype and transformers_version), the tensor names are exactly their state dicts'
(tied decoder tensors omitted) with HF shapes, and the outputs match the float64
reference within 2e-5 abs + 1e-4 rel. Exits 1 on any mismatch.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

from ref_bert import (TASK_ARCHS, config_json, forward, names, shapes, task_forward,  # noqa: E402
                      task_names)
from ref_gpt import read_safetensors  # noqa: E402
from roundtrip_gpt import read_zyr  # noqa: E402


def check_dir(d, arch):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    want_cfg = config_json(cfg, arch)
    want_cfg["hidden_dropout_prob"] = cfg.get("hidden_dropout_prob")
    want_cfg["attention_probs_dropout_prob"] = cfg.get("attention_probs_dropout_prob")
    want_cfg["initializer_range"] = cfg.get("initializer_range")
    if cfg != want_cfg:
        keys = sorted(set(cfg) | set(want_cfg))
        diff = [(k, cfg.get(k), want_cfg.get(k)) for k in keys if cfg.get(k) != want_cfg.get(k)]
        sys.exit("roundtrip_bert: %s/config.json differs from %s's: %s" % (d, arch, diff))
    tensors = read_safetensors(os.path.join(d, "model.safetensors"))
    want = shapes(cfg)
    if arch == "BertModel":  # the body and pooler, without the "bert." prefix
        want = {n[len("bert."):]: s for n, s in want.items() if n.startswith("bert.")}
    if set(tensors) != set(want):
        sys.exit("roundtrip_bert: %s: tensor names differ: extra %s, missing %s" % (
            d, sorted(set(tensors) - set(want)), sorted(set(want) - set(tensors))))
    for n, t in tensors.items():
        if tuple(t.shape) != want[n]:
            sys.exit("roundtrip_bert: %s: %s has shape %s, expected %s" % (
                d, n, tuple(t.shape), want[n]))
    p = {n if n.startswith(("bert.", "cls.")) else "bert." + n: t.double()
         for n, t in tensors.items()}
    ref = read_zyr(os.path.join(d, "outputs.zyr"))
    out = forward(p, cfg, ref["ids"].long(), ref["types"].long(),
                  ref["lengths"].reshape(-1).tolist())
    worst, bad = 0.0, 0
    for k in ("hidden", "pooled", "mlm_logits", "nsp_logits"):
        if k not in ref:
            continue
        got = ref[k].double()
        w = out[k].reshape(got.shape)
        err = (w - got).abs()
        worst = max(worst, err.max().item())
        bad += int((err > 2e-5 + 1e-4 * w.abs()).sum())
    print("roundtrip_bert: %s (%s): worst abs diff %.3g" % (d, arch, worst))
    if bad:
        sys.exit("roundtrip_bert: %s: %d outputs differ beyond 2e-5 + 1e-4·|x|" % (d, bad))


def check_task_dir(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    arch = cfg["architectures"][0]
    if arch not in TASK_ARCHS:
        sys.exit("roundtrip_bert: %s: architecture %s is not a task head" % (d, arch))
    id2label, label2id = cfg.get("id2label"), cfg.get("label2id")
    K = len(id2label or {})
    want_cfg = config_json(cfg, arch)
    for k in ("hidden_dropout_prob", "attention_probs_dropout_prob", "initializer_range"):
        want_cfg[k] = cfg.get(k)
    want_cfg["classifier_dropout"] = cfg.get("classifier_dropout")
    want_cfg["id2label"] = {str(i): id2label[str(i)] for i in range(K)} if K else None
    want_cfg["label2id"] = {v: int(k) for k, v in (id2label or {}).items()}
    if "problem_type" in cfg:
        want_cfg["problem_type"] = cfg["problem_type"]
    if cfg != want_cfg or K < 1 or "num_labels" in cfg:
        keys = sorted(set(cfg) | set(want_cfg))
        diff = [(k, cfg.get(k), want_cfg.get(k)) for k in keys if cfg.get(k) != want_cfg.get(k)]
        sys.exit("roundtrip_bert: %s/config.json differs from %s's: %s" % (d, arch, diff))
    tensors = read_safetensors(os.path.join(d, "model.safetensors"))
    want = task_names(cfg, arch, K)
    if set(tensors) != set(want):
        sys.exit("roundtrip_bert: %s: tensor names differ: extra %s, missing %s" % (
            d, sorted(set(tensors) - set(want)), sorted(set(want) - set(tensors))))
    for n, t in tensors.items():
        if tuple(t.shape) != want[n]:
            sys.exit("roundtrip_bert: %s: %s has shape %s, expected %s" % (
                d, n, tuple(t.shape), want[n]))
    p = {n: t.double() for n, t in tensors.items()}
    ref = read_zyr(os.path.join(d, "outputs.zyr"))
    lengths = ref["lengths"].reshape(-1).tolist()
    out = forward(p, cfg, ref["ids"].long(), ref["types"].long(), lengths)
    heads = task_forward(p, arch, out, lengths)
    worst, bad = 0.0, 0
    for k, w in heads.items():
        got = ref[k].double().reshape(w.shape)
        err = (w - got).abs()
        real = w.abs() < 1e29  # not the QA_MASKED padding (compared relatively)
        worst = max(worst, err[real].max().item())
        bad += int((err > 2e-5 + 1e-4 * w.abs()).sum())
    print("roundtrip_bert: %s (%s, %d labels): worst abs diff %.3g" % (d, arch, K, worst))
    if bad:
        sys.exit("roundtrip_bert: %s: %d outputs differ beyond 2e-5 + 1e-4·|x|" % (d, bad))


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: roundtrip_bert.py PRETRAINING_DIR BASE_DIR [TASK_DIR ...]")
    check_dir(sys.argv[1], "BertForPreTraining")
    check_dir(sys.argv[2], "BertModel")
    for d in sys.argv[3:]:
        check_task_dir(d)


if __name__ == "__main__":
    main()
