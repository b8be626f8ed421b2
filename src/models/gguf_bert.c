// BERT as GGUF's "bert" architecture, as llama.cpp's converter (convert_hf_to_gguf.py,
// BertModel) writes it and llama.cpp (LLM_ARCH_BERT) reads it: an embedding model, the
// encoder body only (the pooler and the pretraining and task heads are left out, as the
// converter leaves them). Written, not read back (zhuyi's loader reads "gpt2").
//   keys    bert.block_count, context_length (max_position_embeddings),
//           embedding_length, feed_forward_length (intermediate_size),
//           attention.head_count (uint32 each), attention.layer_norm_epsilon (float32),
//           attention.causal false, pooling_type 1 (mean: zhuyi embed's default);
//           tokenizer.ggml.model "bert", token_type_count (type_vocab_size), tokens in
//           llama.cpp's "phantom space" spelling (gguf_vocab.c), token_type,
//           bos (= [CLS]), seperator (sic), unknown, padding and mask token ids
//   tensors token_embd, token_types, position_embd, token_embd_norm, blk.N.{attn_q,
//           attn_k, attn_v, attn_output, attn_output_norm, ffn_up, ffn_down,
//           layer_output_norm}.{weight,bias}
// nn.Linear weights are (out, in) in Hugging Face's files and in zhuyi: ggml's {in, out}.
#include <string.h>

#include "core/internal.h"
#include "models/gguf_internal.h"
#include "text/gguf_vocab.h"

static const zy__gguf_name NAMES[] = {
    {"embeddings.word_embeddings.weight", "token_embd.weight"},
    {"embeddings.position_embeddings.weight", "position_embd.weight"},
    {"embeddings.token_type_embeddings.weight", "token_types.weight"},
    {"embeddings.LayerNorm.weight", "token_embd_norm.weight"},
    {"embeddings.LayerNorm.bias", "token_embd_norm.bias"},
    {"encoder.layer.%d.attention.self.query.weight", "blk.%d.attn_q.weight"},
    {"encoder.layer.%d.attention.self.query.bias", "blk.%d.attn_q.bias"},
    {"encoder.layer.%d.attention.self.key.weight", "blk.%d.attn_k.weight"},
    {"encoder.layer.%d.attention.self.key.bias", "blk.%d.attn_k.bias"},
    {"encoder.layer.%d.attention.self.value.weight", "blk.%d.attn_v.weight"},
    {"encoder.layer.%d.attention.self.value.bias", "blk.%d.attn_v.bias"},
    {"encoder.layer.%d.attention.output.dense.weight", "blk.%d.attn_output.weight"},
    {"encoder.layer.%d.attention.output.dense.bias", "blk.%d.attn_output.bias"},
    {"encoder.layer.%d.attention.output.LayerNorm.weight", "blk.%d.attn_output_norm.weight"},
    {"encoder.layer.%d.attention.output.LayerNorm.bias", "blk.%d.attn_output_norm.bias"},
    {"encoder.layer.%d.intermediate.dense.weight", "blk.%d.ffn_up.weight"},
    {"encoder.layer.%d.intermediate.dense.bias", "blk.%d.ffn_up.bias"},
    {"encoder.layer.%d.output.dense.weight", "blk.%d.ffn_down.weight"},
    {"encoder.layer.%d.output.dense.bias", "blk.%d.ffn_down.bias"},
    {"encoder.layer.%d.output.LayerNorm.weight", "blk.%d.layer_output_norm.weight"},
    {"encoder.layer.%d.output.LayerNorm.bias", "blk.%d.layer_output_norm.bias"},
};

static const char *const KEEP_F32[] = {"position_embd.weight", "token_types.weight", NULL};
static const char *const SKIP[] = {"pooler.", "cls.", "classifier.", "qa_outputs.", NULL};
static const char *const ARCHITECTURES[] = {"BertModel", "BertForPreTraining",
                                            "BertForMaskedLM", NULL};

static zy_status set_u32(zy_gguf_writer *w, const char *key, uint64_t v) {
    return zy_gguf_writer_set_uint(w, key, ZY_GGUF_UINT32, v);
}

// The config.json field key as a whole number.
static zy_status get(const zy_config *c, const char *key, int *v) {
    return zy_config_get_int(c, key, 0, 1 << 30, v);
}

static zy_status write_tokenizer(const zy_tokenizer *tok, zy_gguf_writer *w, int type_vocab) {
    if (!zy__gguf_wordpiece_is_uncased(tok))
        zy__log(ZY_LOG_WARN, "the tokenizer is cased (or keeps accents, or does not split CJK "
                "characters): llama.cpp's WordPiece always lower-cases, strips accents and "
                "splits CJK, so it will tokenize some text differently");
    zy__gguf_vocab v;
    zy_status s = zy__gguf_vocab_wordpiece(tok, &v);
    if (s) return s;
    s = zy_gguf_writer_set_string(w, "tokenizer.ggml.model", "bert", 4);
    if (!s) s = zy_gguf_writer_set_string(w, "tokenizer.ggml.pre", "default", 7);
    if (!s) s = set_u32(w, "tokenizer.ggml.token_type_count", (uint64_t)type_vocab);
    if (!s) s = zy_gguf_writer_set_array_strings(w, "tokenizer.ggml.tokens", v.tok, v.len,
                                                 (uint64_t)v.n);
    if (!s) s = zy_gguf_writer_set_array(w, "tokenizer.ggml.token_type", ZY_GGUF_INT32, v.type,
                                         (uint64_t)v.n);
    zy__gguf_vocab_free(&v);
    // llama.cpp's WordPiece puts bos first ([CLS]) and the separator last.
    static const struct {
        zy_special role;
        const char *key;
    } ids[] = {{ZY_SPECIAL_CLS, "tokenizer.ggml.bos_token_id"},
               {ZY_SPECIAL_SEP, "tokenizer.ggml.seperator_token_id"},
               {ZY_SPECIAL_UNK, "tokenizer.ggml.unknown_token_id"},
               {ZY_SPECIAL_PAD, "tokenizer.ggml.padding_token_id"},
               {ZY_SPECIAL_MASK, "tokenizer.ggml.mask_token_id"}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0] && !s; i++) {
        int32_t id;
        if (zy_tokenizer_special_id(tok, ids[i].role, &id)) zy_clear_error(); // none: unset
        else s = set_u32(w, ids[i].key, (uint64_t)id);
    }
    return s;
}

static zy_status write_meta(const zy_model *m, const zy_tokenizer *tok, zy_gguf_writer *w) {
    const zy_model_info *in = zy_model_get_info(m);
    zy_config *c;
    zy_status s = zy_model_get_config(m, &c);
    if (s) return s;
    int ff = 0, types = 2;
    float eps = 1e-12f;
    const char *act = "gelu";
    if (!(s = get(c, "intermediate_size", &ff)) && zy_config_has(c, "type_vocab_size"))
        s = get(c, "type_vocab_size", &types);
    if (!s && zy_config_has(c, "layer_norm_eps"))
        s = zy_config_get_float(c, "layer_norm_eps", 0, 1, &eps);
    if (!s && zy_config_has(c, "hidden_act")) s = zy_config_get_string(c, "hidden_act", &act);
    if (!s && !strcmp(act, "relu"))
        s = zy__error(ZY_STATUS_UNSUPPORTED, "a BERT with hidden_act \"relu\": llama.cpp's "
                      "\"bert\" runs GELU");
    zy_config_free(c);
    if (!s && !(s = set_u32(w, "bert.block_count", (uint64_t)in->n_layer)) &&
        !(s = set_u32(w, "bert.context_length", (uint64_t)in->max_positions)) &&
        !(s = set_u32(w, "bert.embedding_length", (uint64_t)in->d_model)) &&
        !(s = set_u32(w, "bert.feed_forward_length", (uint64_t)ff)) &&
        !(s = set_u32(w, "bert.attention.head_count", (uint64_t)in->n_head)) &&
        !(s = zy_gguf_writer_set_float(w, "bert.attention.layer_norm_epsilon", ZY_GGUF_FLOAT32,
                                       eps)) &&
        !(s = zy_gguf_writer_set_bool(w, "bert.attention.causal", false)) &&
        !(s = set_u32(w, "bert.pooling_type", 1))) // mean
        s = write_tokenizer(tok, w, types);
    return s;
}

const zy__gguf_arch zy__gguf_bert = {
    .name = "bert",
    .model_type = "bert",
    .architectures = ARCHITECTURES,
    .prefix = "bert.",
    .skip = SKIP,
    .names = NAMES,
    .n_names = (int)(sizeof NAMES / sizeof NAMES[0]),
    .keep_f32 = KEEP_F32,
    .write_meta = write_meta,
};
