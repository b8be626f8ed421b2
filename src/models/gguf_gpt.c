// GPT-2 as GGUF's "gpt2" architecture, as llama.cpp's converter (convert_hf_to_gguf.py,
// GPT2Model) writes it and llama.cpp (LLM_ARCH_GPT2) reads it:
//   keys    gpt2.block_count, context_length (= n_positions: llama.cpp sizes
//           position_embd by it), embedding_length, feed_forward_length (4 n_embd),
//           attention.head_count (uint32 each), attention.layer_norm_epsilon (float32);
//           tokenizer.ggml.model "gpt2", pre "gpt-2" (GPT-2's pre-tokenizer regex), tokens,
//           token_type, merges, bos/eos/unknown_token_id (<|endoftext|>), add_bos_token
//           false
//   tensors token_embd (V,C), position_embd (P,C), blk.N.{attn_norm, attn_qkv,
//           attn_output, ffn_norm, ffn_up, ffn_down}.{weight,bias}, output_norm.{weight,
//           bias}; no output.weight (llama.cpp uses token_embd when it is absent)
// Hugging Face's Conv1D weights are (in, out); zhuyi keeps them (out, in), which is ggml's
// ne = {in, out} as it is, the layout the converter writes after transposing.
#include <string.h>

#include "core/internal.h"
#include "models/gguf_internal.h"
#include "text/gguf_vocab.h"

#define BAD(...) zy__error(ZY_STATUS_BAD_FORMAT, __VA_ARGS__)

static const zy__gguf_name NAMES[] = {
    {"transformer.wte.weight", "token_embd.weight"},
    {"transformer.wpe.weight", "position_embd.weight"},
    {"transformer.h.%d.ln_1.weight", "blk.%d.attn_norm.weight"},
    {"transformer.h.%d.ln_1.bias", "blk.%d.attn_norm.bias"},
    {"transformer.h.%d.attn.c_attn.weight", "blk.%d.attn_qkv.weight"},
    {"transformer.h.%d.attn.c_attn.bias", "blk.%d.attn_qkv.bias"},
    {"transformer.h.%d.attn.c_proj.weight", "blk.%d.attn_output.weight"},
    {"transformer.h.%d.attn.c_proj.bias", "blk.%d.attn_output.bias"},
    {"transformer.h.%d.ln_2.weight", "blk.%d.ffn_norm.weight"},
    {"transformer.h.%d.ln_2.bias", "blk.%d.ffn_norm.bias"},
    {"transformer.h.%d.mlp.c_fc.weight", "blk.%d.ffn_up.weight"},
    {"transformer.h.%d.mlp.c_fc.bias", "blk.%d.ffn_up.bias"},
    {"transformer.h.%d.mlp.c_proj.weight", "blk.%d.ffn_down.weight"},
    {"transformer.h.%d.mlp.c_proj.bias", "blk.%d.ffn_down.bias"},
    {"transformer.ln_f.weight", "output_norm.weight"},
    {"transformer.ln_f.bias", "output_norm.bias"},
};

static const char *const KEEP_F32[] = {"position_embd.weight", NULL};

static zy_status set_u32(zy_gguf_writer *w, const char *key, uint64_t v) {
    return zy_gguf_writer_set_uint(w, key, ZY_GGUF_UINT32, v);
}

static zy_status write_tokenizer(const zy_tokenizer *tok, zy_gguf_writer *w) {
    zy__gguf_vocab v;
    zy_status s = zy__gguf_vocab_bpe(tok, &v);
    if (s) return s;
    s = zy_gguf_writer_set_string(w, "tokenizer.ggml.model", "gpt2", 4);
    if (!s) s = zy_gguf_writer_set_string(w, "tokenizer.ggml.pre", "gpt-2", 5);
    if (!s) s = zy_gguf_writer_set_array_strings(w, "tokenizer.ggml.tokens", v.tok, v.len,
                                                 (uint64_t)v.n);
    if (!s) s = zy_gguf_writer_set_array(w, "tokenizer.ggml.token_type", ZY_GGUF_INT32, v.type,
                                         (uint64_t)v.n);
    if (!s) s = zy_gguf_writer_set_array_strings(w, "tokenizer.ggml.merges", v.merge,
                                                 v.merge_len, (uint64_t)v.n_merges);
    zy__gguf_vocab_free(&v);
    int32_t eot;
    if (!s && zy_tokenizer_special_id(tok, ZY_SPECIAL_EOS, &eot)) {
        zy_clear_error(); // a tokenizer without <|endoftext|> is fine: no ids written
    } else if (!s) {
        // GPT-2's special_tokens_map: <|endoftext|> begins, ends and stands for unknowns.
        if (!(s = set_u32(w, "tokenizer.ggml.bos_token_id", (uint64_t)eot)) &&
            !(s = set_u32(w, "tokenizer.ggml.eos_token_id", (uint64_t)eot)))
            s = set_u32(w, "tokenizer.ggml.unknown_token_id", (uint64_t)eot);
    }
    if (!s) s = zy_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false);
    return s;
}

static zy_status write_meta(const zy_model *m, const zy_tokenizer *tok, zy_gguf_writer *w) {
    const zy_model_info *in = zy_model_get_info(m);
    zy_config *c;
    float eps = 1e-5f;
    zy_status s = zy_model_get_config(m, &c);
    if (s) return s;
    s = zy_config_get_float(c, "layer_norm_epsilon", 0, 1, &eps);
    zy_config_free(c);
    if (s) return s;
    if (!(s = set_u32(w, "gpt2.block_count", (uint64_t)in->n_layer)) &&
        !(s = set_u32(w, "gpt2.context_length", (uint64_t)in->max_positions)) &&
        !(s = set_u32(w, "gpt2.embedding_length", (uint64_t)in->d_model)) &&
        !(s = set_u32(w, "gpt2.feed_forward_length", 4 * (uint64_t)in->d_model)) &&
        !(s = set_u32(w, "gpt2.attention.head_count", (uint64_t)in->n_head)) &&
        !(s = zy_gguf_writer_set_float(w, "gpt2.attention.layer_norm_epsilon", ZY_GGUF_FLOAT32,
                                       eps)))
        s = write_tokenizer(tok, w);
    return s;
}

static zy_status read_config(const zy_gguf *g, zy_config *c) {
    const char *path = zy_gguf_path(g);
    uint64_t L, H, C, P, v;
    double eps;
    const zy_gguf_kv *tokens;
    zy_status s;
    if ((s = zy_gguf_get_uint(g, "gpt2.block_count", 1, 4096, &L)) ||
        (s = zy_gguf_get_uint(g, "gpt2.attention.head_count", 1, 65536, &H)) ||
        (s = zy_gguf_get_uint(g, "gpt2.embedding_length", 1, 65536, &C)) ||
        (s = zy_gguf_get_uint(g, "gpt2.context_length", 1, 1 << 20, &P)) ||
        (s = zy_gguf_get_float(g, "gpt2.attention.layer_norm_epsilon", &eps)) ||
        (s = zy_gguf_get_array(g, "tokenizer.ggml.tokens", ZY_GGUF_STRING, &tokens)))
        return s;
    if (C % H)
        return BAD("%s: gpt2.embedding_length = %llu is not a multiple of "
                   "gpt2.attention.head_count = %llu", path, (unsigned long long)C,
                   (unsigned long long)H);
    if (!(eps > 0 && eps < 1))
        return BAD("%s: gpt2.attention.layer_norm_epsilon = %g is not in (0, 1)", path, eps);
    if (zy_gguf_find(g, "gpt2.feed_forward_length") &&
        (s = zy_gguf_get_uint(g, "gpt2.feed_forward_length", 0, UINT64_MAX, &v)) == 0 &&
        v != 4 * C)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: gpt2.feed_forward_length = %llu; zhuyi's "
                         "GPT-2 has 4 * embedding_length = %llu", path, (unsigned long long)v,
                         (unsigned long long)(4 * C));
    if (zy_gguf_find(g, "gpt2.attention.head_count_kv") &&
        (s = zy_gguf_get_uint(g, "gpt2.attention.head_count_kv", 0, UINT64_MAX, &v)) == 0 &&
        v != H)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: gpt2.attention.head_count_kv = %llu differs "
                         "from head_count = %llu (grouped-query attention is not GPT-2's)", path,
                         (unsigned long long)v, (unsigned long long)H);
    if (s) return s;
    if (tokens->n < 1 || tokens->n > (1 << 24))
        return BAD("%s: tokenizer.ggml.tokens has %llu tokens (1 to 2^24)", path,
                   (unsigned long long)tokens->n);
    const char *arch[1] = {"GPT2LMHeadModel"};
    if (!(s = zy_config_set_string(c, "model_type", "gpt2")) &&
        !(s = zy_config_set_strings(c, "architectures", arch, 1)) &&
        !(s = zy_config_set_string(c, "activation_function", "gelu_new")) &&
        !(s = zy_config_set_int(c, "n_layer", (long)L)) &&
        !(s = zy_config_set_int(c, "n_head", (long)H)) &&
        !(s = zy_config_set_int(c, "n_embd", (long)C)) &&
        !(s = zy_config_set_int(c, "n_positions", (long)P)) &&
        !(s = zy_config_set_int(c, "n_ctx", (long)P)) &&
        !(s = zy_config_set_int(c, "vocab_size", (long)tokens->n)))
        s = zy_config_set_float(c, "layer_norm_epsilon", (float)eps);
    return s;
}

static zy_status read_tokenizer(const zy_gguf *g, zy_tokenizer **tok) {
    const char *path = zy_gguf_path(g), *model;
    const zy_gguf_kv *tokens, *types = NULL, *merges;
    zy_status s;
    if ((s = zy_gguf_get_string(g, "tokenizer.ggml.model", &model))) return s;
    if (strcmp(model, "gpt2"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: tokenizer.ggml.model '%.40s' (zhuyi's GPT-2 "
                         "reads \"gpt2\": byte-level BPE)", path, model);
    if ((s = zy_gguf_get_array(g, "tokenizer.ggml.tokens", ZY_GGUF_STRING, &tokens)) ||
        (s = zy_gguf_get_array(g, "tokenizer.ggml.merges", ZY_GGUF_STRING, &merges)))
        return s;
    if (zy_gguf_find(g, "tokenizer.ggml.token_type") &&
        (s = zy_gguf_get_array(g, "tokenizer.ggml.token_type", ZY_GGUF_INT32, &types)))
        return s;
    if (types && types->n != tokens->n)
        return BAD("%s: tokenizer.ggml.token_type has %llu entries for %llu tokens", path,
                   (unsigned long long)types->n, (unsigned long long)tokens->n);
    if (merges->n > INT32_MAX)
        return BAD("%s: tokenizer.ggml.merges has %llu entries", path,
                   (unsigned long long)merges->n);
    uint64_t eos = UINT64_MAX;
    if (zy_gguf_find(g, "tokenizer.ggml.eos_token_id") &&
        (s = zy_gguf_get_uint(g, "tokenizer.ggml.eos_token_id", 0, tokens->n - 1, &eos)))
        return s;
    // tokens->n was checked (1 .. 2^24) with the config.
    return zy__gguf_vocab_load_bpe(tok, tokens->arr, (int)tokens->n,
                                   types ? types->arr : NULL, merges->arr, (int)merges->n,
                                   eos == UINT64_MAX ? -1 : (int32_t)eos, path);
}

static const char *const ARCHITECTURES[] = {"GPT2LMHeadModel", NULL};

const zy__gguf_arch zy__gguf_gpt2 = {
    .name = "gpt2",
    .model_type = "gpt2",
    .architectures = ARCHITECTURES,
    .names = NAMES,
    .n_names = (int)(sizeof NAMES / sizeof NAMES[0]),
    .keep_f32 = KEEP_F32,
    .tied = "output.weight",
    .tied_to = "token_embd.weight",
    .write_meta = write_meta,
    .read_config = read_config,
    .read_tokenizer = read_tokenizer,
};
