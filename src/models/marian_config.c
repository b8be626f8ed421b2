// Marian hyper-parameters: presets, and config.json in Hugging Face's MarianConfig form.
//
// config.json fields READ: d_model, encoder_layers, decoder_layers, encoder_attention_heads,
// decoder_attention_heads, encoder_ffn_dim, decoder_ffn_dim, max_position_embeddings,
// vocab_size, pad_token_id, eos_token_id (required); decoder_start_token_id (default
// pad_token_id, as Marian's), decoder_vocab_size (if present, must equal vocab_size: the
// embeddings are shared), share_encoder_decoder_embeddings and tie_word_embeddings (if
// present, must be true), activation_function ("relu", "gelu", "gelu_new",
// "gelu_pytorch_tanh", "swish" or "silu"; default "gelu" as HF), scale_embedding (false),
// dropout (0.1), attention_dropout (0), activation_dropout (0), init_std (0.02),
// normalize_before / add_final_layer_norm / normalize_embedding (if present, must be false:
// Marian's post-LN layers). Everything else is ignored. model_type "marian" is checked by
// the registry. Fields WRITTEN: the set MarianMTModel writes (zy__marian_write_config).
#include <string.h>

#include "core/internal.h"
#include "models/marian_internal.h"

typedef struct preset {
    const char *name;
    int L, H, C, FF, P;
    float dropout;
} preset;

// transformer-base: "Attention Is All You Need" (base model); the others for CPU runs.
static const preset PRESETS[] = {
    {"transformer-base", 6, 8, 512, 2048, 512, 0.1f},
    {"transformer-small", 3, 4, 256, 1024, 256, 0.1f},
    {"transformer-tiny", 2, 4, 128, 512, 128, 0.1f},
};

const char *const zy__marian_presets[] = {"transformer-base", "transformer-small",
                                          "transformer-tiny", NULL};

static const struct {
    const char *name;
    zy_block_act act;
} ACTS[] = {{"relu", ZY_BLOCK_RELU},           {"gelu", ZY_BLOCK_GELU_ERF},
            {"gelu_new", ZY_BLOCK_GELU_TANH},  {"gelu_pytorch_tanh", ZY_BLOCK_GELU_TANH},
            {"swish", ZY_BLOCK_SILU},          {"silu", ZY_BLOCK_SILU}};
#define N_ACTS (int)(sizeof ACTS / sizeof ACTS[0])

static zy_status get_ints(const zy_config *c, marian_hparams *h) {
    const struct {
        const char *key;
        long lo, hi;
        int *out;
    } f[] = {
        {"d_model", 1, 65536, &h->d_model},
        {"encoder_layers", 1, 4096, &h->enc_layers},
        {"decoder_layers", 1, 4096, &h->dec_layers},
        {"encoder_attention_heads", 1, 65536, &h->enc_heads},
        {"decoder_attention_heads", 1, 65536, &h->dec_heads},
        {"encoder_ffn_dim", 1, 1 << 20, &h->enc_ffn},
        {"decoder_ffn_dim", 1, 1 << 20, &h->dec_ffn},
        {"max_position_embeddings", 1, 1 << 16, &h->max_positions},
        {"vocab_size", 1, 1 << 24, &h->vocab},
        {"pad_token_id", 0, (1 << 24) - 1, &h->pad_id},
        {"eos_token_id", 0, (1 << 24) - 1, &h->eos_id},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        zy_status st = zy_config_get_int(c, f[i].key, f[i].lo, f[i].hi, f[i].out);
        if (st) return st;
    }
    return ZY_STATUS_OK;
}

static zy_status get_float(const zy_config *c, const char *key, double hi, float *out) {
    return zy_config_has(c, key) ? zy_config_get_float(c, key, 0.0, hi, out) : ZY_STATUS_OK;
}

static zy_status must_be(const zy_config *c, const char *key, bool want) {
    bool v = want;
    if (zy_config_has(c, key) && (zy_config_get_bool(c, key, &v) || v != want))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: %s must be %s (MarianMT)",
                         zy_config_name(c), key, want ? "true" : "false");
    return ZY_STATUS_OK;
}

zy_status zy__marian_read_config(const zy_config *c, marian_hparams *h) {
    memset(h, 0, sizeof *h);
    h->dropout = 0.1f;
    h->init_std = 0.02f;
    h->act = ZY_BLOCK_GELU_ERF;
    h->act_name = 1; // "gelu", HF's default
    const char *name = zy_config_name(c);
    zy_status st;
    if ((st = get_ints(c, h))) return st;
    h->dec_start_id = h->pad_id;
    if (zy_config_has(c, "decoder_start_token_id") &&
        (st = zy_config_get_int(c, "decoder_start_token_id", 0, (1 << 24) - 1, &h->dec_start_id)))
        return st;
    int dv = h->vocab;
    if (zy_config_has(c, "decoder_vocab_size") &&
        ((st = zy_config_get_int(c, "decoder_vocab_size", 1, 1 << 24, &dv)) || dv != h->vocab))
        return st ? st : zy__error(ZY_STATUS_UNSUPPORTED, "%s: decoder_vocab_size = %d differs "
                                   "from vocab_size = %d (zhuyi shares one vocabulary)", name,
                                   dv, h->vocab);
    if ((st = must_be(c, "share_encoder_decoder_embeddings", true)) ||
        (st = must_be(c, "tie_word_embeddings", true)) ||
        (st = must_be(c, "normalize_before", false)) ||
        (st = must_be(c, "add_final_layer_norm", false)) ||
        (st = must_be(c, "normalize_embedding", false)))
        return st;
    if (zy_config_has(c, "scale_embedding") &&
        (st = zy_config_get_bool(c, "scale_embedding", &h->scale_embedding)))
        return st;
    if ((st = get_float(c, "dropout", 0.999, &h->dropout)) ||
        (st = get_float(c, "attention_dropout", 0.999, &h->attn_dropout)) ||
        (st = get_float(c, "activation_dropout", 0.999, &h->act_dropout)) ||
        (st = get_float(c, "init_std", 10.0, &h->init_std)))
        return st;
    if (zy_config_has(c, "activation_function")) {
        const char *act;
        if ((st = zy_config_get_string(c, "activation_function", &act))) return st;
        int k = 0;
        while (k < N_ACTS && strcmp(ACTS[k].name, act)) k++;
        if (k == N_ACTS)
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: activation_function \"%s\" is not one "
                             "of relu, gelu, gelu_new, gelu_pytorch_tanh, swish, silu", name,
                             act);
        h->act = ACTS[k].act;
        h->act_name = k;
    }
    const struct {
        const char *field;
        int id;
    } ids[] = {{"pad_token_id", h->pad_id}, {"eos_token_id", h->eos_id},
               {"decoder_start_token_id", h->dec_start_id}};
    for (int i = 0; i < 3; i++)
        if (ids[i].id >= h->vocab)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: %s = %d is outside the "
                             "vocabulary [0, vocab_size = %d)", name, ids[i].field, ids[i].id,
                             h->vocab);
    if (h->d_model % h->enc_heads || h->d_model % h->dec_heads)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: d_model = %d is not a multiple of "
                         "encoder_attention_heads = %d and decoder_attention_heads = %d", name,
                         h->d_model, h->enc_heads, h->dec_heads);
    return ZY_STATUS_OK;
}

// The fields MarianMTModel.save_pretrained writes (model_type and architectures are the
// generic code's).
zy_status zy__marian_write_config(const marian_hparams *h, zy_config *c) {
    zy_status st;
    if ((st = zy_config_set_string(c, "activation_function", ACTS[h->act_name].name)) ||
        (st = zy_config_set_float(c, "activation_dropout", h->act_dropout)) ||
        (st = zy_config_set_float(c, "attention_dropout", h->attn_dropout)) ||
        (st = zy_config_set_int(c, "d_model", h->d_model)) ||
        (st = zy_config_set_int(c, "decoder_attention_heads", h->dec_heads)) ||
        (st = zy_config_set_int(c, "decoder_ffn_dim", h->dec_ffn)) ||
        (st = zy_config_set_float(c, "decoder_layerdrop", 0.0)) ||
        (st = zy_config_set_int(c, "decoder_layers", h->dec_layers)) ||
        (st = zy_config_set_int(c, "decoder_start_token_id", h->dec_start_id)) ||
        (st = zy_config_set_float(c, "dropout", h->dropout)) ||
        (st = zy_config_set_int(c, "encoder_attention_heads", h->enc_heads)) ||
        (st = zy_config_set_int(c, "encoder_ffn_dim", h->enc_ffn)) ||
        (st = zy_config_set_float(c, "encoder_layerdrop", 0.0)) ||
        (st = zy_config_set_int(c, "encoder_layers", h->enc_layers)) ||
        (st = zy_config_set_int(c, "eos_token_id", h->eos_id)) ||
        (st = zy_config_set_int(c, "forced_eos_token_id", h->eos_id)) ||
        (st = zy_config_set_float(c, "init_std", h->init_std)) ||
        (st = zy_config_set_bool(c, "is_encoder_decoder", true)) ||
        (st = zy_config_set_int(c, "max_position_embeddings", h->max_positions)) ||
        (st = zy_config_set_int(c, "num_hidden_layers", h->enc_layers)) ||
        (st = zy_config_set_int(c, "pad_token_id", h->pad_id)) ||
        (st = zy_config_set_bool(c, "scale_embedding", h->scale_embedding)) ||
        (st = zy_config_set_bool(c, "share_encoder_decoder_embeddings", true)) ||
        (st = zy_config_set_bool(c, "static_position_embeddings", true)) ||
        (st = zy_config_set_bool(c, "tie_word_embeddings", true)) ||
        (st = zy_config_set_bool(c, "use_cache", true)) ||
        (st = zy_config_set_int(c, "vocab_size", h->vocab)))
        return st;
    // A preset leaves the vocabulary to the caller: decoder_vocab_size would then disagree.
    return h->vocab ? zy_config_set_int(c, "decoder_vocab_size", h->vocab) : ZY_STATUS_OK;
}

// A preset leaves vocab_size and the special ids to the caller (its tokenizer's): they are
// written as 0.
zy_status zy__marian_preset(const char *name, zy_config *c) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        const preset *p = &PRESETS[i];
        if (strcmp(p->name, name)) continue;
        marian_hparams h = {.d_model = p->C, .enc_layers = p->L, .dec_layers = p->L,
                            .enc_heads = p->H, .dec_heads = p->H, .enc_ffn = p->FF,
                            .dec_ffn = p->FF, .max_positions = p->P, .act = ZY_BLOCK_RELU,
                            .act_name = 0, .scale_embedding = true, .dropout = p->dropout,
                            .init_std = 0.02f};
        return zy__marian_write_config(&h, c);
    }
    return zy__error(ZY_STATUS_NOT_FOUND, "marian: unknown preset '%s'", name);
}
