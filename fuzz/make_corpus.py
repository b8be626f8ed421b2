#!/usr/bin/python3
# Writes the seed corpora of the fuzz harnesses, fuzz/corpus/<harness>/: a handful of
# small valid files and edge cases each (a few KB per harness), written by hand here so
# they can be read and regenerated. `make fuzz` never changes them: new inputs go to
# build/fuzz/corpus-<harness>/. Run from the repository root: /usr/bin/python3
# fuzz/make_corpus.py (it replaces the seed files it writes, and leaves other files, such
# as reproducers of fixed bugs, alone).
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(harness, name, data):
    d = os.path.join(ROOT, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- safetensors -------------------------------------------------------------------
def st_file(tensors, metadata=None, pad=True, raw_header=None):
    """tensors: [(name, dtype, shape, bytes)] in data order -> file bytes."""
    header, data, pos = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [pos, pos + len(blob)]}
        data += blob
        pos += len(blob)
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":"))
    h = h.encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def structured(tensors, metadata=None):
    """The harness's other input form: header text, NUL, data (no size field)."""
    f = st_file(tensors, metadata, pad=False)
    n = struct.unpack("<Q", f[:8])[0]
    return f[8:8 + n] + b"\0" + f[8 + n:]


f32 = lambda *v: struct.pack("<%df" % len(v), *v)
f16 = lambda *v: struct.pack("<%de" % len(v), *v)
u16 = lambda *v: struct.pack("<%dH" % len(v), *v)

put("fuzz_safetensors", "f32_two_tensors", st_file(
    [("a", "F32", [2, 2], f32(1, 2, 3, 4)), ("b", "F32", [3], f32(-1.5, 0.25, 1e-40))],
    {"format": "pt"}))
put("fuzz_safetensors", "halves_specials", st_file(
    [("h", "F16", [6], f16(0.0, -0.0, 65504.0, 6e-8, float("inf"), 1.0) ),
     ("nan16", "F16", [2], u16(0x7C01, 0xFE00)),
     ("bf", "BF16", [2, 2], u16(0x3F80, 0x7F81, 0xFFC0, 0x0001))]))
put("fuzz_safetensors", "mixed_dtypes", st_file(
    [("i64", "I64", [2], struct.pack("<2q", -1, 2**62)), ("mask", "BOOL", [3], b"\1\0\1"),
     ("f8", "F8_E4M3", [1], b"\x38"), ("scalar", "F32", [], f32(3.5)),
     ("empty", "F32", [0, 5], b""), ("c", "C64", [1], f32(1, -1))],
    {"k": "v", "caf\u00e9": "\u6ce8\u610f", "empty": ""}))
put("fuzz_safetensors", "metadata_only", st_file([], {"format": "pt", "a": "b"}))
put("fuzz_safetensors", "empty_object", st_file([]))
put("fuzz_safetensors", "structured_f32", structured(
    [("x.weight", "F32", [1, 2], f32(0.5, -2)), ("x.bias", "BF16", [1], u16(0x4000))],
    {"format": "pt"}))
put("fuzz_safetensors", "structured_escapes",
    b'{"t\\u00e9\\n\\"q":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},'
    b'"\xe2\x98\x83":{"dtype":"U8","shape":[2,1],"data_offsets":[4,6]}}\0' + f16(1, 2) + b"\xff\x00")
put("fuzz_safetensors", "bad_overlap", st_file([], raw_header=
    '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
    '"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}') + b"\0" * 6)

# ---- config.json -------------------------------------------------------------------
GPT2 = {
    "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.1, "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256,
    "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
    "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_inner": None, "n_layer": 12,
    "n_positions": 1024, "reorder_and_upcast_attn": False, "resid_pdrop": 0.1,
    "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True,
    "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
    "summary_type": "cls_index", "summary_use_proj": True,
    "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
    "transformers_version": "4.36.0", "use_cache": True, "vocab_size": 50257,
}
put("fuzz_config", "gpt2", json.dumps(GPT2, indent=2, sort_keys=True) + "\n")
put("fuzz_config", "numbers", '{"a": -0, "b": 1e300, "c": 5e-324, "d": 0.1, "e": 12.0,\n'
    ' "f": -2147483648, "g": 2147483648, "h": 123456789012345678, "i": 1E-7}')
put("fuzz_config", "strings", '{"s": "tab\\tnl\\n\\u00e9\\ud83d\\ude00\\"\\\\", "t": "\u6ce8\u610f",'
    ' "u": "", "arr": ["x", 1, null, true, ["y"]], "o": {"b": 1, "a": {"c": []}}}')
put("fuzz_config", "empty", "{}")
put("fuzz_config", "nested", '{"a":' * 20 + "[]" + "}" * 20)
put("fuzz_config", "duplicate", '{"a": 1, "b": {"x": 1, "x": 2}}')
put("fuzz_config", "whitespace", ' \r\n\t{ "k" : [ 1 , 2 ] }\n\n')

# ---- model configs -----------------------------------------------------------------
put("fuzz_model_config", "gpt2", json.dumps(GPT2, indent=2, sort_keys=True) + "\n")
put("fuzz_model_config", "tiny_n_ctx", json.dumps(
    {"model_type": "gpt2", "n_layer": 2, "n_head": 4, "n_embd": 48, "n_ctx": 32,
     "vocab_size": 96, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}))
put("fuzz_model_config", "gpt2model_arch", json.dumps(
    {"model_type": "gpt2", "architectures": ["GPT2Model"], "n_layer": 1, "n_head": 1,
     "n_embd": 8, "n_positions": 16, "vocab_size": 300, "layer_norm_epsilon": 1e-30,
     "activation_function": "gelu_pytorch_tanh", "n_inner": 32, "resid_pdrop": 0.999}))
put("fuzz_model_config", "bad_inner", json.dumps(
    {"model_type": "gpt2", "n_layer": 2, "n_head": 3, "n_embd": 48, "n_positions": 32,
     "vocab_size": 96, "n_inner": 100}))
put("fuzz_model_config", "other_type", '{"model_type": "bert", "architectures": ["BertModel"]}')
BERT = {"architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
        "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0,
        "position_embedding_type": "absolute", "transformers_version": "4.36.0",
        "type_vocab_size": 2, "use_cache": True, "vocab_size": 30522}
put("fuzz_model_config", "bert_base", json.dumps(BERT, indent=2, sort_keys=True) + "\n")
put("fuzz_model_config", "bert_tiny_model", json.dumps(dict(
    BERT, architectures=["BertModel"], hidden_size=128, num_attention_heads=2,
    num_hidden_layers=2, intermediate_size=512, hidden_act="gelu_new", is_decoder=False)))
put("fuzz_model_config", "limits", json.dumps(
    {"model_type": "gpt2", "n_layer": 4096, "n_head": 65536, "n_embd": 65536,
     "n_positions": 1048576, "vocab_size": 16777216}))

# ---- LoRA adapter configs (the harness's base is "../base": r 2 on c_attn and c_fc) -------
ADAPTER = {"alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "../base",
           "bias": "lora_only", "fan_in_fan_out": True, "inference_mode": True,
           "init_lora_weights": True, "layers_pattern": None, "layers_to_transform": None,
           "loftq_config": {}, "lora_alpha": 8, "lora_dropout": 0.05,
           "modules_to_save": None, "peft_type": "LORA", "r": 2, "rank_pattern": {},
           "revision": None, "target_modules": ["c_attn", "c_fc"], "task_type": "CAUSAL_LM",
           "use_dora": False, "use_rslora": False}
put("fuzz_adapter_config", "peft", json.dumps(ADAPTER, indent=2, sort_keys=True))
put("fuzz_adapter_config", "minimal", json.dumps(
    {"peft_type": "LORA", "r": 2, "base_model_name_or_path": "../base", "bias": "lora_only",
     "target_modules": ["attn.c_attn", "mlp.c_fc"]}))
put("fuzz_adapter_config", "rslora_all_linear", json.dumps(
    dict(ADAPTER, use_rslora=True, target_modules="all-linear", modules_to_save=["score"])))
put("fuzz_adapter_config", "variants", json.dumps(
    dict(ADAPTER, use_dora=True, rank_pattern={"c_fc": 4}, layers_to_transform=[0])))
put("fuzz_adapter_config", "wrong_r_bias", json.dumps(dict(ADAPTER, r=4, bias="all")))
put("fuzz_adapter_config", "regex", json.dumps(dict(ADAPTER, target_modules=".*c_attn")))

# ---- tokenizers --------------------------------------------------------------------
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
spell = lambda b: "".join(B2U[c] for c in b)
MERGES = [(b"h", b"e"), (b" ", b"t"), (b" t", b"he"), (b"l", b"l"), (b"he", b"ll"),
          (b"\xc3", b"\xa9")]


def vocab(merges, extra=()):
    v = {spell(bytes([b])): b for b in range(256)}
    for a, b in merges:
        v[spell(a + b)] = len(v)
    for e in extra:
        v[e] = len(v)
    return v


def tokenizer_json(merges, added, pair_form=False, pre="ByteLevel"):
    v = vocab(merges, [a["content"] for a in added])
    for a in added:
        a["id"] = v[a["content"]]
    pre_tok = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
               "use_regex": True}
    if pre == "Sequence":
        pre_tok = {"type": "Sequence", "pretokenizers": [pre_tok]}
    m = [[spell(a), spell(b)] if pair_form else spell(a) + " " + spell(b) for a, b in merges]
    return json.dumps({"version": "1.0", "added_tokens": added, "normalizer": None,
                       "pre_tokenizer": pre_tok, "decoder": {"type": "ByteLevel"},
                       "model": {"type": "BPE", "dropout": None, "vocab": v, "merges": m}},
                      ensure_ascii=False, separators=(",", ":"))


EOT = {"content": "<|endoftext|>", "special": True}
put("fuzz_tokenizer_json", "small", tokenizer_json(MERGES, [dict(EOT)]))
put("fuzz_tokenizer_json", "pairs_sequence", tokenizer_json(
    MERGES[:3], [dict(EOT), {"content": "<pad>", "special": False}], pair_form=True,
    pre="Sequence"))
put("fuzz_tokenizer_json", "bytes_only", tokenizer_json([], []))
put("fuzz_tokenizer_json", "unsupported", tokenizer_json([], []).replace(
    '"normalizer":null', '"normalizer":{"type":"NFC"}'))

def gpt2_files(merges, eot=True):
    v = vocab(merges, ["<|endoftext|>"] if eot else [])
    m = "#version: 0.2\n" + "".join(spell(a) + " " + spell(b) + "\n" for a, b in merges)
    return json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode() + b"\0" + m.encode()

put("fuzz_gpt2_files", "small", gpt2_files(MERGES))
put("fuzz_gpt2_files", "no_eot_crlf", gpt2_files(MERGES[:2], eot=False).replace(b"\n", b"\r\n"))
put("fuzz_gpt2_files", "bytes_only", gpt2_files([]))

# ---- training state ----------------------------------------------------------------
STATE = {"format": "zhuyi-training-state", "version": "1", "step": "5", "data_epoch": "0",
         "data_pos": "640", "batch": "2", "seq": "64", "grad_accum": "1", "steps": "10",
         "schedule": "cosine", "lr": "0.00200000009", "min_lr": "0.000199999995",
         "warmup": "2", "weight_decay": "0.100000001", "beta1": "0.899999976",
         "beta2": "0.949999988", "eps": "9.99999994e-09", "grad_clip": "1",
         "dropout": "0", "shuffle": "true", "seed": "1337", "eval_batches": "20",
         "n_params": "2", "params_hash": "0123456789abcdef", "train_tokens": "1000",
         "train_hash": "fedcba9876543210", "data_files": "[\"data.txt\"]",
         "val_fraction": "0.05", "eval_every": "100", "save_every": "500"}
moments = [("adamw.m", "F32", [2], f32(0.1, -0.2)), ("adamw.v", "F32", [2], f32(0.01, 0.04))]
put("fuzz_trainer_state", "state", st_file(moments, STATE))
put("fuzz_trainer_state", "structured", structured(moments, STATE))
odd = dict(STATE, schedule="noam", shuffle="false", seed="18446744073709551615",
           lr="1e-3", step="0", warmup="0", eval_batches="0")
put("fuzz_trainer_state", "structured_edges", structured(moments, odd))
put("fuzz_trainer_state", "wrong_format", structured(moments, dict(STATE, version="2")))

# ---- dataset -----------------------------------------------------------------------
def ctl(flags, batch, seq, seed, told):
    return bytes([flags, batch, seq, seed, told])

TEXT = ("In the beginning God created the heaven and the earth.\n"
        "And the earth was without form, and void; and darkness was upon the deep.\n")
put("fuzz_dataset", "plain", ctl(0, 1, 7, 1, 2) + TEXT.encode())
put("fuzz_dataset", "shuffled_two_files", ctl(1 | 4, 2, 3, 9, 5) + TEXT.encode())
put("fuzz_dataset", "one_pass_shards", ctl(2 | 16, 1, 4, 0, 7) + TEXT.encode())
put("fuzz_dataset", "trained", ctl(32 | 64 | 1, 3, 2, 40, 1) + (TEXT * 2).encode())
put("fuzz_dataset", "utf8_invalid", ctl(4 | 16, 0, 0, 3, 3) +
    "caf\u00e9 \u6ce8\u610f \U0001F600 don't I'm 12345 ".encode() + b"\xff\xfe\xc0\xaf\xed\xa0\x80"
    + b"<|endoftext|>  \n\n\t\r\n x")
put("fuzz_dataset", "parallel", ctl(8, 1, 15, 2, 0x80) + b"line one\nline two\n  indented\n")
put("fuzz_dataset", "tiny", ctl(0, 3, 15, 0, 0) + b"ab")

# ---- WordPiece ---------------------------------------------------------------------
def wp_ctl(form, override=63, pair=0, opts=0, bert=0):
    """fuzz_wordpiece's 4 control bytes: form (0-3), override index (63: plain load),
    encode_pair byte, options byte, bert variant byte."""
    return bytes([form | override << 2, pair, opts, bert])

WP_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "hello", "world", "##s",
             "##ing", "run", "##n", "don", "'", "t", ",", ".", "!", "?", "a", "##a", "b", "##b",
             "caf", "##e", "cafe", "\u4e2d", "\u6587", "x", "##\u0301", "i", "##\u0307"]
WP_TEXT = "Hello, world! Running the caf\u00e9 don't \u4e2d\u6587 a b ab x\u0301 \u0130"


def wp_vocab(tokens, end="\n"):
    return "".join(t + end for t in tokens)


def wp_json(tokens, post="template", pad=None, prefix="##", added=(), lower=True,
            strip=None):
    vocab = {t: i for i, t in enumerate(tokens)}
    specials = [t for t in tokens if t.startswith("[") and t.endswith("]")]
    post_p = None
    if post == "template":
        post_p = {"type": "TemplateProcessing",
                  "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                             {"Sequence": {"id": "A", "type_id": 0}},
                             {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                  "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                           {"Sequence": {"id": "B", "type_id": 1}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                  "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]}
                                     for t in ("[CLS]", "[SEP]")}}
    elif post == "bert":
        post_p = {"type": "BertProcessing", "sep": ["[SEP]", vocab["[SEP]"]],
                  "cls": ["[CLS]", vocab["[CLS]"]]}
    added_l = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False,
                "rstrip": False, "normalized": False, "special": True} for t in specials]
    added_l += [{"id": vocab[t], "content": t, "special": False} for t in added]
    return json.dumps({
        "version": "1.0", "truncation": None,
        "padding": None if pad is None else {"strategy": "BatchLongest", "pad_token": pad},
        "added_tokens": added_l,
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": strip,
                       "lowercase": lower},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": post_p,
        "decoder": {"type": "WordPiece", "prefix": prefix, "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": prefix,
                  "max_input_chars_per_word": 100, "vocab": vocab}}, ensure_ascii=False,
        indent=1)


put("fuzz_wordpiece", "vocab_txt", wp_ctl(0, 63, 0x20 | 12, 1 | 2 | 16 << 3) +
    (wp_vocab(WP_TOKENS) + WP_TEXT).encode())
put("fuzz_wordpiece", "vocab_config", wp_ctl(1, 1 + 3 * 2, 0x80 | 16, 1 | 8 << 3, 1) +
    wp_vocab(["<unk>", "<pad>", "[CLS]", "[SEP]", "[MASK]"] + WP_TOKENS[5:]).encode() + b"\0" +
    json.dumps({"do_lower_case": False, "strip_accents": None, "unk_token": {"content": "<unk>"},
                "pad_token": "<pad>", "mask_token": None}).encode())
put("fuzz_wordpiece", "tokenizer_json", wp_ctl(2, 63, 0x40 | 9, 1 | 20 << 3, 0x82) +
    wp_json(WP_TOKENS, added=["hello"]).encode())
put("fuzz_wordpiece", "json_bert_processing_pad", wp_ctl(2, 13, 0x80 | 0x60 | 7, 4 | 31 << 3) +
    wp_json(WP_TOKENS + ["<p>"], post="bert", pad="<p>", strip=False).encode())
put("fuzz_wordpiece", "json_prefix_config", wp_ctl(2, 63, 5, 3) +
    wp_json([t.replace("##", "@@") for t in WP_TOKENS], post=None, prefix="@@",
            lower=False).encode() + b"\0" + b'{"mask_token": "the", "unk_token": "[UNK]"}')
put("fuzz_wordpiece", "dir_crlf", wp_ctl(3, 0, 0x20 | 31, 1) +
    wp_vocab(WP_TOKENS, "\r\n").encode())
put("fuzz_wordpiece", "dir_json", wp_ctl(3, 26, 0, 2) + wp_json(WP_TOKENS).encode())
# Kept combining marks out of canonical order (U+1D16D class 226, then U+1D165 class 216):
# stripping accents reorders them, and the third token starts before the second.
put("fuzz_wordpiece", "marks_reordered", wp_ctl(1) + wp_vocab(
    ["[UNK]", "x", "##\U0001D165", "##\U0001D16D", "x\U0001D16D\U0001D165"]).encode())
put("fuzz_wordpiece", "vocab_duplicate", wp_ctl(0) + b"[UNK]\na\nb\na\n")
put("fuzz_wordpiece", "vocab_no_unk_last_line", wp_ctl(1) + b"a\n##b\nc\0{\"unk_token\": \"c\"}")

# ---- BERT pretraining (fuzz_mlm) ---------------------------------------------------
def mlm_ctl(kind, nsp=0, shuffle=0, one_pass=0, static=0, wwm=0, omit=0, seq=10, batch=1,
            seed=1, probs=0, max_pred=0, dupe=0, vocab=20, specials=0, told=2, seeks=(0, 0)):
    c0 = kind | nsp << 2 | shuffle << 3 | one_pass << 4 | static << 5 | wwm << 6 | omit << 7
    return bytes([c0, seq - 3, batch - 1, seed, probs, max_pred, dupe, vocab - 5, specials,
                  told, seeks[0], seeks[1]])

DOCS = ("In the beginning God created the heaven and the earth.\n"
        "And the earth was without form, and void.\n\n"
        "  And darkness was upon the face of the deep.  \n"
        "And God said, Let there be light: and there was light.\n\n\n"
        "caf\u00e9 na\u00efve \u4e2d\u6587 running\n\t\r\n"
        "The end\n")
put("fuzz_mlm", "bpe_nsp", mlm_ctl(0, nsp=1, shuffle=1, seq=24, batch=2, told=3) + DOCS.encode())
put("fuzz_mlm", "bpe_packed_one_pass", mlm_ctl(0, one_pass=1, wwm=1, seq=12, batch=3,
    probs=2 | 1 << 3, dupe=1, specials=0x80) + DOCS.encode())
put("fuzz_mlm", "wordpiece_wwm", mlm_ctl(1, nsp=1, wwm=1, static=1, seq=16, batch=2,
    probs=7 | 4 << 3 | 1 << 6, max_pred=3, told=5, seeks=(4 << 2, 1 | 30 << 2)) + DOCS.encode())
put("fuzz_mlm", "wordpiece_packed", mlm_ctl(1, seq=9, batch=4, probs=1 << 6, dupe=2,
    specials=0x10) + DOCS.encode())
put("fuzz_mlm", "ids_clean", mlm_ctl(2, nsp=1, shuffle=1, static=1, seq=8, batch=2, vocab=12,
    specials=1, told=7, seeks=(2 | 20 << 2, 3 | 63 << 2)) +
    bytes([1, 2, 3, 4, 0xFF, 5, 6, 7, 0xFE, 8, 9, 0xFF, 10, 11, 12, 13, 14, 0xFE, 3, 3, 3]))
put("fuzz_mlm", "ids_raw", mlm_ctl(3, wwm=1, seq=6, vocab=8) +
    bytes([1, 2, 3, 0xFF, 4, 5, 0xFE, 6, 7, 8, 9, 10, 11]))
put("fuzz_mlm", "bad_params", mlm_ctl(2, nsp=1, shuffle=1, one_pass=1, seq=4, probs=5 | 6 << 3,
    max_pred=255 - 0, dupe=254, specials=2) + bytes(range(40)))
put("fuzz_mlm", "malformed", mlm_ctl(2, seq=5, specials=0x50) + bytes([1, 2, 0xFF, 3, 4, 0xFE, 5]))

# ---- fine-tuning data (fuzz_task_csv, fuzz_task_jsonl, fuzz_task_conll) -------------
# One control byte (see each harness's top comment), then the file.
put("fuzz_task_csv", "csv_quoted", bytes([0]) + b'text,label\r\n"good, very ""good""",pos\r\n'
    b'"two\nlines",neg\n\nplain,pos\n')
put("fuzz_task_csv", "csv_pair_skip", bytes([2 | 8]) + b'id,text,b,label\n1,the cat,sat,x\n'
    b'2,bad row\n3,"the, dog",on,y\n4,\xff,x,x\n')
put("fuzz_task_csv", "tsv_multi", bytes([1 | 4]) + b'text\tlabel\na "b" c\t"x, y"\nd\tz\n')
put("fuzz_task_csv", "csv_regression", bytes([32 | 64]) + b'\xef\xbb\xbftext,label\na,1.5\nb,-2e3\n')
put("fuzz_task_csv", "csv_unlabelled", bytes([16]) + 'text\n中文 the cat\n"x\ny"\n'.encode())
put("fuzz_task_csv", "csv_broken_quote", bytes([0]) + b'text,label\n"open,x\n')
put("fuzz_task_jsonl", "classify", bytes([0 | 2 << 5]) + b'{"text":"the cat","label":"pos"}\n'
    b'\n{"text":"a dog","label":1}\n{"text":"x","label":-1}\n')
put("fuzz_task_jsonl", "multi_label", bytes([3 | 4]) + b'{"text":"a","label":["x","y"]}\n'
    b'{"text":"b","label":[]}\n{bad\n')
put("fuzz_task_jsonl", "regression", bytes([16]) + b'{"text":"a","label":0.25}\n{"text":"b","label":"3"}\n')
put("fuzz_task_jsonl", "tag", bytes([1 | 1 << 5]) + b'{"tokens":["the","cats"],"tags":["O","B-X"]}\n'
    b'{"tokens":["a"],"tags":[3]}\n')
put("fuzz_task_jsonl", "qa", bytes([2 | 3 << 5]) + '{"id":"q1","context":"注意 the cat sat on the '
    'mat","question":"who sat?","answers":{"text":["cat","the cat"],"answer_start":[7,3]}}\n'
    '{"id":2,"context":"a b c","question":"x","answers":[{"text":"b","answer_start":2}]}\n'
    '{"context":"c","question":"q","answers":{"text":[],"answer_start":[]}}\n'.encode())
put("fuzz_task_jsonl", "qa_bad_answer", bytes([2 | 4]) + b'{"context":"the cat","question":"q",'
    b'"answers":{"text":["cat"],"answer_start":[3]}}\n')
put("fuzz_task_jsonl", "qa_unlabelled", bytes([2 | 8 | 1 << 5]) + b'{"context":"the cat sat","question":"who"}\n')
# fuzz_instruct_jsonl: [0] bit 0 skip_bad_rows, bits 1-3 seq 2 + 6k, bit 4 no packing,
# bits 5-7 batch 1 + k; then the file.
put("fuzz_instruct_jsonl", "prompt_completion", bytes([3 << 1 | 1 << 5]) +
    b'{"prompt":"2+2?","completion":"4"}\n\n{"system":"Be brief.","prompt":"","completion":"ok",'
    b'"id":3}\n{"prompt":"a","completion":"b","system":null}\n')
put("fuzz_instruct_jsonl", "messages", bytes([7 << 1 | 16]) + '{"messages":[{"role":"system",'
    '"content":"S"},{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},'
    '{"role":"user","content":"注意?"},{"role":"assistant","content":"\\u00e9\\n"}]}\r\n'
    '{"messages":[{"role":"assistant","content":"alone"}]}\n'.encode())
put("fuzz_instruct_jsonl", "bad_lines_skipped", bytes([1 | 1 << 1]) +
    b'{"prompt":"a","completion":"b"}\n{"prompt":"no reply"}\n{"messages":[]}\n'
    b'{"messages":[{"role":"tool","content":"x"},{"role":"assistant","content":"y"}]}\n'
    b'{"messages":[{"role":"user","content":"x"}]}\n[1]\n{"prompt":"x","completion":""}\n'
    b'{"prompt":"x","completion":"y"} {}\n{"prompt":"\xff","completion":"y"}\n')
put("fuzz_instruct_jsonl", "long_truncated", bytes([0]) + b'{"prompt":"' + b"word " * 40 +
    b'","completion":"short"}\n{"prompt":"p","completion":"' + b"long reply " * 30 + b'"}\n')
put("fuzz_instruct_jsonl", "missing_completion", bytes([0]) + b'{"prompt":"x"}\n')
# fuzz_pairs: [0] bits 0-1 format (0 TSV, 1 JSONL, 2 two files split at the first NUL, 3
# TSV given), bit 2 skip_bad_rows, bit 3 translation keys en/es, bits 4-7 k (max length
# 2 + k, max_tokens 8 + 8k); then the file(s).
put("fuzz_pairs", "tsv", bytes([0 | 3 << 4]) + 'the cat\tel gato\r\na b c\tx\n注意\t"q"\n'.encode())
put("fuzz_pairs", "tsv_bad_skipped", bytes([4 | 1 << 4]) + b"a\tb\nno tab\n\t\nx\ty\tz\n\xff\tb\nc\td")
put("fuzz_pairs", "jsonl", bytes([1 | 8 | 2 << 4]) + b'{"src":"the cat","tgt":"a\\u00e9"}\n\n'
    b'{"translation":{"es":"b c","en":"sat on"}}\n{"src":"x\\ty","tgt":"z\\n"}\n')
put("fuzz_pairs", "jsonl_no_langs", bytes([1]) + b'{"translation":{"en":"a","es":"b"}}\n')
put("fuzz_pairs", "lines", bytes([2 | 5 << 4]) + b"\xef\xbb\xbfthe cat sat\r\non the mat\nc\x00"
    b"x x\nthe\r\na b c a b c a b c a b c\n")
put("fuzz_pairs", "lines_counts_differ", bytes([2 | 4]) + b"a\nb\nc\n\x00x\n\ny\n")
put("fuzz_pairs", "long_rows", bytes([3]) + b"the cat sat on the mat a b c\ta b c a b c a b c\nx\ty\n")
put("fuzz_task_conll", "conll", bytes([0 | 2 << 3]) + b'-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n'
    b'rejects VBZ B-VP O\n\n\nPeter NNP B-NP B-PER\r\nBlackburn NNP I-NP I-PER\n')
put("fuzz_task_conll", "conll_bad_columns", bytes([2]) + b'a X\nb Y\n\nc d Z\n\ne X\n')
put("fuzz_task_conll", "conll_words_only", bytes([4]) + b'the\ncat\n\nsat\n')
put("fuzz_task_conll", "word_tag", bytes([1 | 1 << 3]) + b'The/DT 1\\/2/CD cat/NN\n\nA/DT dog/NN\n')
put("fuzz_task_conll", "word_tag_untagged", bytes([1 | 4 | 2]) + 'the cat\n注意 x/ /y\na/B c\n'.encode())

# ---- BLEU / chrF: hypotheses, NUL, reference streams (a segment a line) ---------------------
put("fuzz_bleu", "readme", "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him."
    "\0The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\0The dog had bit "
    "the man.\nNo one was surprised.\nThe man had bitten the dog.")
put("fuzz_bleu", "tokenizer", "&lt;b&gt; &amp;amp; &quot;q&quot; <skipped> 3.14 1,000 10-20 "
    "U.S.A. a-\nb e.g., (x) [y] {z} $5 50% a/b it's \u00a0\u3000\u0085 \u4e2d\u6587\u3002")
put("fuzz_bleu", "empty_lines", "\n\na\0\n\n\0x\ny\nz")
put("fuzz_bleu", "invalid_utf8", b"caf\xc3\0caf\xc3\xa9\0\xed\xa0\x80")

# ---- GGUF (fuzz_gguf): the container, and a GPT-2 the model loader takes -----------------------
GG_FMT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
          12: "d"}
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)


def gg_str(s):
    b = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gg_val(t, v):
    if t == STR:
        return gg_str(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gg_val(et, x) for x in items)
    return struct.pack("<" + GG_FMT[t], v)


def gguf_file(kvs, tensors, align=32, version=3):
    """kvs: [(key, type, value)]; tensors: [(name, [ne0, ...], ggml type, bytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gg_str(k) + struct.pack("<I", t) + gg_val(t, v)
    data, off = b"", 0
    for name, ne, ty, blob in tensors:
        out += gg_str(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne)
        out += struct.pack("<IQ", ty, off)
        blob += b"\0" * (-len(blob) % align)
        data += blob
        off += len(blob)
    return out + b"\0" * (-len(out) % align) + data


q8_0 = lambda scale, q: struct.pack("<e32b", scale, *q)
q4_0 = lambda scale, nib: struct.pack("<e", scale) + bytes(nib)
put("fuzz_gguf", "every_type", gguf_file(
    [("u8", U8, 255), ("i8", I8, -2), ("u16", U16, 65535), ("i16", I16, -300),
     ("u32", U32, 7), ("i32", I32, -7), ("f32", F32, 0.5), ("bool", BOOL, True),
     ("str", STR, "caf\u00e9"), ("u64", U64, 2**63), ("i64", I64, -2**40),
     ("f64", F64, -1e-300), ("arr.str", ARR, (STR, ["", "a b", "\u6ce8"])),
     ("arr.i32", ARR, (I32, [1, -1, 3])), ("arr.bool", ARR, (BOOL, [True, False])),
     ("arr.empty", ARR, (F64, []))],
    [("f32", [4, 2], 0, f32(*range(8))), ("f16", [3], 1, f16(1, -2, 0.5)),
     ("q8_0", [32, 2], 8, q8_0(0.5, range(-16, 16)) + q8_0(-1, range(32))),
     ("q4_0", [32], 2, q4_0(0.25, range(16))), ("bf16", [2], 30, u16(0x3F80, 0xC000)),
     ("i32", [2], 26, struct.pack("<2i", 5, -5)), ("q4_K", [256], 12, bytes(range(144))),
     ("scalar", [], 0, f32(3))]))
put("fuzz_gguf", "alignment_64_v2", gguf_file(
    [("general.alignment", U32, 64), ("general.architecture", STR, "test")],
    [("a", [5], 0, f32(*range(5))), ("b", [2, 2, 2, 2], 1, f16(*range(16)))], align=64,
    version=2))
put("fuzz_gguf", "empty", gguf_file([], []))
put("fuzz_gguf", "misaligned", gguf_file([], [("a", [3], 0, f32(1, 2, 3))])[:-40] +
    struct.pack("<Q", 4) + b"\0" * 40)


def gguf_gpt2(matrix_type=0):
    """A 1-layer GPT-2 (n_embd 4, n_head 1, 4 positions) over the byte-level BPE of MERGES
    with <|endoftext|>, as zhuyi export gguf writes it (matrices f32 or f16)."""
    v = vocab(MERGES[:2], ["<|endoftext|>"])
    toks = sorted(v, key=v.get)
    V, C, P = len(toks), 4, 4
    types = [1] * (V - 1) + [3]
    mat = (lambda *x: f16(*x)) if matrix_type == 1 else (lambda *x: f32(*x))
    val = lambda n, k: [((i * 7 + k) % 11 - 5) / 10 for i in range(n)]
    tensors = [("token_embd.weight", [C, V], matrix_type, mat(*val(C * V, 1))),
               ("position_embd.weight", [C, P], 0, f32(*val(C * P, 2)))]
    for name, ne0, ne1 in [("attn_qkv", C, 3 * C), ("attn_output", C, C), ("ffn_up", C, 4 * C),
                           ("ffn_down", 4 * C, C)]:
        tensors.append(("blk.0.%s.weight" % name, [ne0, ne1], matrix_type,
                        mat(*val(ne0 * ne1, 3))))
        tensors.append(("blk.0.%s.bias" % name, [ne1], 0, f32(*val(ne1, 4))))
    for name in ["blk.0.attn_norm", "blk.0.ffn_norm", "output_norm"]:
        tensors.append((name + ".weight", [C], 0, f32(1, 1, 1, 1)))
        tensors.append((name + ".bias", [C], 0, f32(0, 0, 0, 0)))
    kvs = [("general.architecture", STR, "gpt2"), ("gpt2.block_count", U32, 1),
           ("gpt2.context_length", U32, P), ("gpt2.embedding_length", U32, C),
           ("gpt2.feed_forward_length", U32, 4 * C), ("gpt2.attention.head_count", U32, 1),
           ("gpt2.attention.layer_norm_epsilon", F32, 1e-5),
           ("tokenizer.ggml.model", STR, "gpt2"), ("tokenizer.ggml.pre", STR, "gpt-2"),
           ("tokenizer.ggml.tokens", ARR, (STR, toks)),
           ("tokenizer.ggml.token_type", ARR, (I32, types)),
           ("tokenizer.ggml.merges", ARR,
            (STR, [spell(a) + " " + spell(b) for a, b in MERGES[:2]])),
           ("tokenizer.ggml.eos_token_id", U32, V - 1), ("general.file_type", U32, matrix_type)]
    return gguf_file(kvs, tensors)


put("fuzz_gguf", "gpt2_f32", gguf_gpt2(0))
put("fuzz_gguf", "gpt2_f16", gguf_gpt2(1))


# ---- zhuyi serve's request bodies -------------------------------------------------------
SERVE = {
    "completion": {"model": "tiny", "prompt": "The cat", "max_tokens": 5, "temperature": 0},
    "completion_full": {"model": "tiny", "prompt": ["a", "b\u00e9"], "n": 2, "max_tokens": 3,
                        "temperature": 0.7, "top_p": 0.9, "top_k": 5, "seed": 3,
                        "stop": ["\n", "zz"], "logprobs": 2, "stream": True,
                        "stream_options": {"include_usage": True}},
    "completion_ids": {"prompt": [[1, 2, 3], [256]], "max_tokens": 1},
    "chat": {"model": "tiny", "messages": [{"role": "system", "content": "Be brief."},
                                           {"role": "user", "content": "Hi <|endoftext|>"}],
             "max_tokens": 4, "logprobs": True, "top_logprobs": 2},
    "chat_parts": {"messages": [{"role": "developer", "content": None},
                                {"role": "user", "content": [{"type": "text", "text": "x"}]},
                                {"role": "assistant", "content": "y"}],
                   "max_completion_tokens": 0},
    "tokenize": {"input": "h\u00e9llo <|endoftext|>", "special": False},
    "detokenize": {"tokens": [104, 195, 169, 256]},
}
for name, body in SERVE.items():
    put("fuzz_serve_request", name, json.dumps(body))
put("fuzz_serve_request", "bad_json", '{"prompt": "x",')
put("fuzz_serve_request", "trailing", '{"prompt": "x"} {}')
put("fuzz_serve_request", "not_object", '["prompt"]')
put("fuzz_serve_request", "embeddings", json.dumps(
    {"input": ["one", "two words"], "encoding_format": "base64", "pooling": "last",
     "normalize": True}))
put("fuzz_serve_request", "attention", json.dumps({"input": "The cat", "layer": 1, "head": 0}))


# ---- images (fuzz_png, fuzz_pnm) and IDX data sets (fuzz_idx) ------------------------------
import gzip
import zlib


def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def png_file(w, h, ctype, depth, pix, interlace=0, plte=None, trns=None):
    """pix: h rows of w samples-per-pixel lists (values < 2**depth); filter 0 on every row."""
    spp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]

    def pack(row):  # one row of pixels -> bytes
        vals = [v for px in row for v in px]
        if depth == 16:
            return b"".join(struct.pack(">H", v) for v in vals)
        if depth == 8:
            return bytes(vals)
        out, acc, nbits = bytearray(), 0, 0
        for v in vals:
            acc, nbits = acc << depth | v, nbits + depth
            if nbits == 8:
                out.append(acc)
                acc, nbits = 0, 0
        if nbits:
            out.append(acc << (8 - nbits))
        return bytes(out)

    raw = b""
    if not interlace:
        for y in range(h):
            raw += b"\0" + pack(pix[y])
    else:
        for x0, y0, dx, dy in ADAM7:
            for y in range(y0, h, dy):
                row = [pix[y][x] for x in range(x0, w, dx)]
                if row:
                    raw += b"\0" + pack(row)
    f = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype,
                                                             0, 0, interlace))
    if plte:
        f += png_chunk(b"PLTE", bytes(c for rgb in plte for c in rgb))
    if trns is not None:
        f += png_chunk(b"tRNS", trns)
    return f + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


def grid(w, h, spp, maxv):
    return [[[(x * 37 + y * 11 + c * 5) % (maxv + 1) for c in range(spp)] for x in range(w)]
            for y in range(h)]


put("fuzz_png", "gray8", png_file(5, 3, 0, 8, grid(5, 3, 1, 255)))
put("fuzz_png", "gray1", png_file(9, 2, 0, 1, grid(9, 2, 1, 1)))
put("fuzz_png", "gray4_trns", png_file(3, 3, 0, 4, grid(3, 3, 1, 15), trns=struct.pack(">H", 4)))
put("fuzz_png", "gray_alpha8", png_file(4, 2, 4, 8, grid(4, 2, 2, 255)))
put("fuzz_png", "rgb8", png_file(4, 4, 2, 8, grid(4, 4, 3, 255)))
put("fuzz_png", "rgba16", png_file(3, 2, 6, 16, grid(3, 2, 4, 65535)))
put("fuzz_png", "rgb16_adam7", png_file(9, 9, 2, 16, grid(9, 9, 3, 65535), interlace=1))
put("fuzz_png", "palette2_trns", png_file(7, 3, 3, 2, grid(7, 3, 1, 3),
                                          plte=[(0, 0, 0), (255, 0, 0), (9, 99, 199), (1, 2, 3)],
                                          trns=b"\x00\x80"))
put("fuzz_png", "palette8_adam7", png_file(10, 5, 3, 8, grid(10, 5, 1, 2), interlace=1,
                                           plte=[(10, 20, 30), (40, 50, 60), (70, 80, 90)]))
cut = png_file(4, 4, 2, 8, grid(4, 4, 3, 255))
put("fuzz_png", "truncated", cut[:len(cut) - 20])

put("fuzz_pnm", "p5", b"P5\n# comment\n4 2\n255\n" + bytes(range(0, 256, 32)))
put("fuzz_pnm", "p6", b"P6 2 2 255\n" + bytes(range(12)))
put("fuzz_pnm", "p5_16bit", b"P5 2 2 65535\n" + struct.pack(">4H", 0, 1, 32896, 65535))
put("fuzz_pnm", "p2_comments", b"P2\n# gray\n3 2 # size\n15\n0 7 15\n# row\n 1\t2\r\n3\n")
put("fuzz_pnm", "p3_maxval1000", b"P3 2 1 1000 0 500 1000 999 1 2\n")
put("fuzz_pnm", "p6_truncated", b"P6 3 3 255\n" + bytes(20))
put("fuzz_pnm", "p4_unsupported", b"P4 8 1 \xAA")


def idx_file(dims, values, kind=0x08):
    return bytes([0, 0, kind, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + values


images = idx_file([3, 4, 4], bytes((i * 29) % 256 for i in range(48)))
put("fuzz_idx", "images", images)
put("fuzz_idx", "labels", idx_file([6], bytes([9, 0, 3, 3, 7, 1])))
put("fuzz_idx", "images_gz", gzip.compress(images, mtime=0))
put("fuzz_idx", "two_members_gz", gzip.compress(images[:10], mtime=0)
    + gzip.compress(images[10:], mtime=0))
put("fuzz_idx", "empty_set", idx_file([0, 28, 28], b""))
put("fuzz_idx", "float_type", idx_file([2], struct.pack(">2f", 1.0, 2.0), kind=0x0D))
put("fuzz_idx", "mnist_header_only", idx_file([60000, 28, 28], b""))

# ---- image-classification manifests (fuzz_image_manifest): control byte, then the file ----
# (the harness's scratch directory holds a.pgm, b.ppm (3x2), c.pgm (4x2), d.pgm (truncated))
put("fuzz_image_manifest", "csv", b"\x00image,label\na.pgm,cat\nb.ppm,dog\na.pgm,cat\n")
put("fuzz_image_manifest", "tsv_rgb", b"\x21image\tlabel\nb.ppm\t1\na.pgm\t0\n")
put("fuzz_image_manifest", "jsonl_given", b"\x42" + b'{"image": "a.pgm", "label": "cat"}\n\n'
    + b'{"label": 1, "image": "b.ppm"}\n')
put("fuzz_image_manifest", "jsonl_augment", b"\x82" + b'{"image": "a.pgm", "label": "x"}\n'
    + b'{"image": "b.ppm", "label": "y"}\n')
put("fuzz_image_manifest", "skip_mixed", b"\x04image,label\na.pgm,a\nc.pgm,b\nd.pgm,a\n"
    + b"nope.png,a\n,a\nb.ppm,b,extra\n\"b.ppm\",b\n")
put("fuzz_image_manifest", "no_labels", b"\x08image\na.pgm\nb.ppm\n")
put("fuzz_image_manifest", "size_mismatch", b"\x00image,label\na.pgm,a\nc.pgm,a\n")
put("fuzz_image_manifest", "unknown_label", b"\x40image,label\na.pgm,dog\n")
# Rows ended by a CR alone (libcsv's row ends are LF, CRLF and CR): more rows than LFs.
put("fuzz_image_manifest", "cr_rows", b"\x0dimage\ra.pgm\ra.pgm\ra.pgm\r")


# ---- WAV audio (fuzz_wav) -------------------------------------------------------------------
def wav_file(rate, channels, bits, samples, tag=1, extra_chunks=b"", data_size=None,
             extensible=False):
    """A RIFF/WAVE file: fmt (PCM tag 1, float 3, A-law 6...), optional chunks, data."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * align,
                      align, bits)
    if extensible:
        guid = struct.pack("<H", tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt += struct.pack("<HHI", 22, bits, 0) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    body += b"data" + struct.pack("<I", len(samples) if data_size is None else data_size)
    body += samples + (b"\x00" if len(samples) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


tone16 = struct.pack("<32h", *[(i * 2749) % 65536 - 32768 for i in range(32)])
put("fuzz_wav", "pcm16_mono_16k", wav_file(16000, 1, 16, tone16))
put("fuzz_wav", "pcm16_stereo_8k", wav_file(8000, 2, 16, tone16))
put("fuzz_wav", "u8_44k", wav_file(44100, 1, 8, bytes(range(0, 256, 8))))
put("fuzz_wav", "pcm24_16k", wav_file(16000, 1, 24, bytes((i * 37) % 256 for i in range(48))))
put("fuzz_wav", "float32_22k", wav_file(22050, 1, 32, struct.pack("<8f", 0, 0.5, -0.5, 1, -1,
                                                                   0.25, 3.0, -2.0), tag=3))
put("fuzz_wav", "wavex_pcm16_4ch", wav_file(16000, 4, 16, tone16, extensible=True))
put("fuzz_wav", "alaw", wav_file(8000, 1, 8, bytes(range(32)), tag=6))
put("fuzz_wav", "list_chunk", wav_file(16000, 1, 16, tone16,
                                       extra_chunks=b"LIST" + struct.pack("<I", 5) + b"INFOx\x00"))
put("fuzz_wav", "streamed_size", wav_file(16000, 1, 16, tone16, data_size=0xFFFFFFFF))
cut = wav_file(16000, 1, 16, tone16)
put("fuzz_wav", "truncated", cut[:len(cut) - 10])


# ---- zhuyi serve's /v1/classify of images (fuzz_serve_request's tiny ViT) -------------------
import base64

gray8 = png_file(8, 8, 0, 8, [[[(x * 32 + y) % 256] for x in range(8)] for y in range(8)])
pgm8 = b"P5\n8 8\n255\n" + bytes(range(0, 256, 4))
put("fuzz_serve_request", "classify_image", json.dumps(
    {"model": "vit", "image": base64.b64encode(gray8).decode()}))
put("fuzz_serve_request", "classify_images", json.dumps(
    {"images": [base64.b64encode(pgm8).decode(),
                "data:image/png;base64," + base64.encodebytes(gray8).decode()]}))
put("fuzz_serve_request", "classify_bad_base64", json.dumps({"image": "iVBORw0K=Z"}))

# ---- speech manifests (fuzz_speech_manifest) -------------------------------------------------
# Control byte: bit 0 skip_bad, 1 keys path/sentence, 2-3 limit, 4 max_seconds 0.05, 5 train.
def jl(*rows):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


put("fuzz_speech_manifest", "two_rows", bytes([0x20]) + jl(
    {"audio": "a.wav", "text": "Hello  World"}, {"audio": "a.wav", "text": "ﬁne Ｔｅｘｔ|ok"}).encode())
put("fuzz_speech_manifest", "keys_limit", bytes([2 | 1 << 2]) + (
    jl({"path": "a.wav", "sentence": "x y"}) + "\n  \r\n" + jl({"path": "a.wav", "sentence": ""})).encode())
put("fuzz_speech_manifest", "skip_mixed", bytes([1]) + (
    jl({"audio": "l.wav", "text": "alaw"}, {"audio": "t.wav", "text": "cut"},
       {"audio": "nope.wav", "text": "missing"}, {"audio": "a.wav"}, {"audio": "a.wav", "text": 3})
    + "not json\n" + jl({"audio": "a.wav", "text": "ﷺ é"})).encode())
put("fuzz_speech_manifest", "too_long", bytes([16 | 1]) + jl({"audio": "a.wav", "text": "a"}).encode())
put("fuzz_speech_manifest", "bad_line", bytes([0]) + b'{"audio": "a.wav", "text": "a"}\n{"audio": ')

# ---- CTC character vocabularies (fuzz_char_vocab) --------------------------------------------
# Control byte: bit 0 a tokenizer_config.json after the first NUL, bit 1 build from lines.
CV = {"<pad>": 0, "<unk>": 1, "|": 2, "a": 3, "b": 4, "é": 5, "你": 6}
put("fuzz_char_vocab", "built", bytes([0]) + json.dumps(CV, ensure_ascii=False).encode())
put("fuzz_char_vocab", "hf_caps", bytes([1]) + json.dumps(
    {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "E": 5, "T": 6}).encode() + b"\x00" +
    json.dumps({"tokenizer_class": "Wav2Vec2CTCTokenizer", "do_lower_case": False}).encode())
put("fuzz_char_vocab", "config_names", bytes([1]) + json.dumps(
    {"[PAD]": 0, "[UNK]": 1, " ": 2, "x": 3}).encode() + b"\x00" + json.dumps(
    {"pad_token": "[PAD]", "unk_token": {"content": "[UNK]"}, "word_delimiter_token": " ",
     "bos_token": None}).encode())
put("fuzz_char_vocab", "dup_id", bytes([0]) + b'{"<pad>": 0, "<unk>": 1, "|": 2, "a": 2}')
put("fuzz_char_vocab", "multi_char", bytes([0]) + b'{"<pad>": 0, "<unk>": 1, "|": 2, "ab": 3}')
put("fuzz_char_vocab", "build_lines", bytes([2]) + "Hello world\nﬁ Ａ\t|b\n\n ünïcode 你好\n".encode())
