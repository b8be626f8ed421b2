"""Round trip: load the MarianMT directory zhuyi wrote (the C test
marian_roundtrip_dir_for_torch: random weights, ReLU, no embedding scale) into the PyTorch
reference (tests/ref_marian.py) and check it gives the outputs zhuyi computed.

Usage (from the repo root, after the C tests have run):
  /usr/bin/python3 tests/roundtrip_marian.py build/marian_roundtrip
Checks: config.json holds exactly the fields MarianMTModel.save_pretrained writes (but
torch_dtype, transformers_version and the generation fields: bos_token_id, max_length,
num_beams, bad_words_ids), with the values the reference reads; the tensor names are
exactly MarianMTModel's state dict without the tied embed_tokens / lm_head weights and the
static sinusoidal positions (which save_pretrained leaves out too), with HF shapes; the
logits and encoder output match the float64 reference within 2e-5 abs + 1e-4 rel at every
real position. Exits 1 on any mismatch.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402

from ref_gpt import read_safetensors  # noqa: E402
from ref_marian import decode, encode, shapes  # noqa: E402
from roundtrip_gpt import read_zyr  # noqa: E402

FIELDS = {"activation_dropout", "activation_function", "architectures", "attention_dropout",
          "d_model", "decoder_attention_heads", "decoder_ffn_dim", "decoder_layerdrop",
          "decoder_layers", "decoder_start_token_id", "decoder_vocab_size", "dropout",
          "encoder_attention_heads", "encoder_ffn_dim", "encoder_layerdrop", "encoder_layers",
          "eos_token_id", "forced_eos_token_id", "init_std", "is_encoder_decoder",
          "max_position_embeddings", "model_type", "num_hidden_layers", "pad_token_id",
          "scale_embedding", "share_encoder_decoder_embeddings", "static_position_embeddings",
          "tie_word_embeddings", "use_cache", "vocab_size"}


def main(d):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    if set(cfg) != FIELDS:
        sys.exit("roundtrip_marian: %s/config.json: extra %s, missing %s" % (
            d, sorted(set(cfg) - FIELDS), sorted(FIELDS - set(cfg))))
    if (cfg["model_type"] != "marian" or cfg["architectures"] != ["MarianMTModel"] or
            cfg["decoder_vocab_size"] != cfg["vocab_size"] or not cfg["is_encoder_decoder"]):
        sys.exit("roundtrip_marian: %s/config.json: not a MarianMTModel config: %s" % (d, cfg))
    tensors = read_safetensors(os.path.join(d, "model.safetensors"))
    want = shapes(cfg)
    if set(tensors) != set(want):
        sys.exit("roundtrip_marian: %s: tensor names differ: extra %s, missing %s" % (
            d, sorted(set(tensors) - set(want)), sorted(set(want) - set(tensors))))
    for n, t in tensors.items():
        if tuple(t.shape) != want[n]:
            sys.exit("roundtrip_marian: %s: %s has shape %s, expected %s" % (
                d, n, tuple(t.shape), want[n]))
    p = {n: t.double() for n, t in tensors.items()}
    ref = read_zyr(os.path.join(d, "outputs.zyr"))
    src, dec = ref["src"].long(), ref["dec"].long()
    src_len = ref["src_len"].reshape(-1).tolist()
    dec_len = ref["dec_len"].reshape(-1).tolist()
    with torch.no_grad():
        mem = encode(p, cfg, src, src_len)
        _, logits = decode(p, cfg, mem, src_len, dec)
    worst, bad = 0.0, 0
    for name, w, lens in (("logits", logits, dec_len), ("encoder_hidden", mem, src_len)):
        got = ref[name].double().reshape(w.shape)
        for b, n in enumerate(lens):
            err = (w[b, :n] - got[b, :n]).abs()
            worst = max(worst, err.max().item())
            bad += int((err > 2e-5 + 1e-4 * w[b, :n].abs()).sum())
    print("roundtrip_marian: %s (MarianMTModel, %s): worst abs diff %.3g" % (
        d, cfg["activation_function"], worst))
    if bad:
        sys.exit("roundtrip_marian: %s: %d outputs differ beyond 2e-5 + 1e-4·|x|" % (d, bad))


if __name__ == "__main__":
    main(sys.argv[1])
