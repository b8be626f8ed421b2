// The encoder-decoder Transformer ("Attention Is All You Need") as a zy_model
// implementation, in Hugging Face's MarianMTModel layout: the operations table, the tensor
// table (also the flat layout and the initialisation), sessions, outputs, metrics and the
// FLOP count. The passes are marian_forward.c / marian_backward.c (every layer is the
// shared post-LN block of src/nn: encoder layers without, decoder layers with
// cross-attention), decoding marian_decode.c, config.json marian_config.c.
//
// Table (= flat layout; nn.Linear weights (out, in) as HF stores them):
//   model.shared.weight (V, C): the token embeddings of both sides and the output
//     projection (model.encoder.embed_tokens.weight, model.decoder.embed_tokens.weight and
//     lm_head.weight are tied to it: not written; if present, must be equal),
//   per encoder layer l, model.encoder.layers.{l}.: self_attn.{q,k,v}_proj.weight (C, C)
//     then .bias (C) (adjacent: the block's fused projection), self_attn.out_proj.weight,
//     .bias, self_attn_layer_norm.{weight,bias}, fc1.weight (FF, C), fc1.bias, fc2.weight
//     (C, FF), fc2.bias, final_layer_norm.{weight,bias},
//   per decoder layer l, model.decoder.layers.{l}.: self_attn.* and self_attn_layer_norm
//     as above, encoder_attn.{q,k,v}_proj, encoder_attn.out_proj, encoder_attn_layer_norm,
//     fc1, fc2, final_layer_norm,
//   final_logits_bias (1, V): added to the logits. Hugging Face keeps it a fixed buffer;
//     zhuyi trains it as the output layer's bias (a directory zhuyi trained loads in HF
//     with its learnt values).
// The sinusoidal positions (model.{encoder,decoder}.embed_positions.weight) are no
// parameters: computed from the config (HF does not save them either; a file's are
// skipped). Initialisation (HF's _init_weights): weights and embeddings N(0, init_std),
// biases 0, LayerNorm gains 1. Every linear layer of the blocks may carry a LoRA adapter.
#include <stdio.h>
#include <string.h>

#include "zhuyi/position.h"

#include "core/internal.h"
#include "models/impl.h"
#include "models/lora_internal.h"
#include "models/marian_internal.h"

static const char *const ARCHITECTURES[] = {"MarianMTModel", NULL};

static const char *const ATTN_SUFFIX[MA_TENSORS] = {
    "q_proj.weight", "k_proj.weight", "v_proj.weight", "q_proj.bias", "k_proj.bias",
    "v_proj.bias",   "out_proj.weight", "out_proj.bias", "layer_norm.weight",
    "layer_norm.bias"};
static const char *const FF_SUFFIX[MF_TENSORS] = {"fc1.weight", "fc1.bias",
                                                  "fc2.weight", "fc2.bias",
                                                  "final_layer_norm.weight",
                                                  "final_layer_norm.bias"};

static zy_status add(zy_tensor_table *t, const char *name, int64_t rows, int64_t cols,
                     zy_init init, float std, bool linear) {
    zy_tensor_def d = {.name = name, .ndim = cols ? 2 : 1, .shape = {rows, cols},
                       .decay = linear, .init = init, .init_std = std, .linear = linear,
                       .quantize = linear};
    return zy_tensor_table_add(t, &d, NULL);
}

// One attention's tensors: "<pre>self_attn.q_proj.weight", ..., "<pre>self_attn_layer_norm.*"
static zy_status add_attention(zy_tensor_table *t, const char *pre, const char *attn, int64_t C,
                               float std) {
    zy_status st;
    for (int k = 0; k < MA_TENSORS; k++) {
        char name[160];
        bool ln = k >= MA_LNW, w = k == MA_QW || k == MA_KW || k == MA_VW || k == MA_OW;
        if (ln) snprintf(name, sizeof name, "%s%s_%s", pre, attn, ATTN_SUFFIX[k]);
        else snprintf(name, sizeof name, "%s%s.%s", pre, attn, ATTN_SUFFIX[k]);
        zy_init init = w ? ZY_INIT_NORMAL : k == MA_LNW ? ZY_INIT_ONES : ZY_INIT_ZEROS;
        if ((st = add(t, name, C, w ? C : 0, init, std, w))) return st;
    }
    return ZY_STATUS_OK;
}

static zy_status add_ff(zy_tensor_table *t, const char *pre, int64_t C, int64_t FF, float std) {
    const int64_t rows[MF_TENSORS] = {FF, FF, C, C, C, C}, cols[MF_TENSORS] = {C, 0, FF, 0, 0, 0};
    const zy_init init[MF_TENSORS] = {ZY_INIT_NORMAL, ZY_INIT_ZEROS, ZY_INIT_NORMAL,
                                      ZY_INIT_ZEROS,  ZY_INIT_ONES,  ZY_INIT_ZEROS};
    zy_status st;
    for (int k = 0; k < MF_TENSORS; k++) {
        char name[160];
        snprintf(name, sizeof name, "%s%s", pre, FF_SUFFIX[k]);
        if ((st = add(t, name, rows[k], cols[k], init[k], std, cols[k] > 0))) return st;
    }
    return ZY_STATUS_OK;
}

static zy_status declare_tensors(zy_tensor_table *t, const marian_hparams *h) {
    int64_t C = h->d_model;
    float std = h->init_std;
    zy_status st;
    zy_tensor_def sh = {.name = "model.shared.weight", .ndim = 2, .shape = {h->vocab, C},
                        .init = ZY_INIT_NORMAL, .init_std = std,
                        .dims = "vocab_size, d_model", .quantize = true};
    if ((st = zy_tensor_table_add(t, &sh, NULL))) return st;
    char pre[96];
    for (int l = 0; l < h->enc_layers; l++) {
        snprintf(pre, sizeof pre, "model.encoder.layers.%d.", l);
        if ((st = add_attention(t, pre, "self_attn", C, std)) ||
            (st = add_ff(t, pre, C, h->enc_ffn, std)))
            return st;
    }
    for (int l = 0; l < h->dec_layers; l++) {
        snprintf(pre, sizeof pre, "model.decoder.layers.%d.", l);
        if ((st = add_attention(t, pre, "self_attn", C, std)) ||
            (st = add_attention(t, pre, "encoder_attn", C, std)) ||
            (st = add_ff(t, pre, C, h->dec_ffn, std)))
            return st;
    }
    zy_tensor_def b = {.name = "final_logits_bias", .ndim = 2, .shape = {1, h->vocab},
                       .init = ZY_INIT_ZEROS, .dims = "1, vocab_size"};
    if ((st = zy_tensor_table_add(t, &b, NULL)) ||
        (st = zy_tensor_table_tie(t, "model.encoder.embed_tokens.weight", MARIAN_T_SHARED)) ||
        (st = zy_tensor_table_tie(t, "model.decoder.embed_tokens.weight", MARIAN_T_SHARED)))
        return st;
    return zy_tensor_table_tie(t, "lm_head.weight", MARIAN_T_SHARED);
}

static zy_status marian_init(zy_model *m, const zy_config *c, zy_model_info *info) {
    marian_hparams *h = zy_calloc(1, sizeof *h);
    if (!h) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "marian: out of memory");
    zy_model_set_impl(m, h);
    zy_status st = zy__marian_read_config(c, h);
    if (st) return st;
    h->pe = zy_alloc((size_t)h->max_positions * (size_t)h->d_model * sizeof(float));
    if (!h->pe)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "marian: out of memory for the positional "
                         "table (max_position_embeddings %d x d_model %d)", h->max_positions,
                         h->d_model);
    zy_sinusoid_table_split(h->pe, h->max_positions, h->d_model, 0);
    if ((st = declare_tensors(zy_model_table(m), h))) return st;
    info->architecture = "MarianMTModel";
    info->vocab_size = h->vocab;
    info->max_positions = h->max_positions;
    info->n_layer = h->enc_layers + h->dec_layers;
    info->n_head = h->enc_heads;
    info->d_model = h->d_model;
    info->dropout = h->dropout;
    info->encoder_decoder = true;
    info->typed_decode = true; // marian_decode.c: the decoder's products and the head
    // (not typed_decode_only: the encoder runs the fp32 forward, the decoder reads the
    // fp32 token embeddings and the cross-attention's k|v rows)
    info->decoder_start_id = h->dec_start_id;
    info->eos_id = h->eos_id;
    return ZY_STATUS_OK;
}

static void marian_free(zy_model *m) {
    marian_hparams *h = zy_model_impl(m);
    if (h) zy_free(h->pe);
    zy_free(h);
}

static zy_status marian_write_config(const zy_model *m, zy_config *c) {
    return zy__marian_write_config(zy_model_impl(m), c);
}

// One value for the residual branches and embeddings (dropout); the attention and
// activation dropouts keep their config values but are switched off with p = 0.
static zy_status marian_set_dropout(zy_model *m, float p, zy_model_info *info) {
    marian_hparams *h = zy_model_impl(m);
    h->dropout = p;
    if (p == 0.0f) h->attn_dropout = h->act_dropout = 0.0f;
    info->dropout = p;
    return ZY_STATUS_OK;
}

// Matmul FLOPs ×3 (forward, and backward's two products) for B rows of T source and T
// target tokens, attention over the full T×T (as the GPT and BERT counts).
static double marian_train_flops(const zy_model *m, int B, int T) {
    const marian_hparams *h = zy_model_impl(m);
    double C = h->d_model, N = (double)B * T, V = h->vocab;
    double enc = h->enc_layers * (2.0 * (4.0 * C * C + 2.0 * C * h->enc_ffn) * N +
                                  4.0 * N * T * C);
    double dec = h->dec_layers * (2.0 * (8.0 * C * C + 2.0 * C * h->dec_ffn) * N +
                                  8.0 * N * T * C);
    return 3.0 * (enc + dec + 2.0 * N * C * V);
}

// ---- sessions ------------------------------------------------------------------------------

static zy_mha_params attn_view(float *(*ptr)(const void *, int), const void *src, int i) {
    return (zy_mha_params){.in_proj_weight = ptr(src, i + MA_QW),
                           .in_proj_bias = ptr(src, i + MA_QB),
                           .out_proj_weight = ptr(src, i + MA_OW),
                           .out_proj_bias = ptr(src, i + MA_OB)};
}

// Layer views: the encoder's (ln1 = self_attn_layer_norm, ln2 = final_layer_norm) or the
// decoder's (ln2 = encoder_attn_layer_norm, ln3 = final_layer_norm).
static zy_block_params layer_view(float *(*ptr)(const void *, int), const void *src,
                                  const marian_hparams *h, bool dec, int l) {
    zy_block_params p = {0};
    int i = dec ? MARIAN_T_DEC(h, l) : MARIAN_T_ENC(l);
    p.self_attn = attn_view(ptr, src, i);
    p.ln1w = ptr(src, i + MA_LNW);
    p.ln1b = ptr(src, i + MA_LNB);
    int f = i + MA_TENSORS;
    if (dec) {
        p.cross_attn = attn_view(ptr, src, f);
        p.ln2w = ptr(src, f + MA_LNW);
        p.ln2b = ptr(src, f + MA_LNB);
        f += MA_TENSORS;
    }
    p.w1 = ptr(src, f + MF_W1);
    p.b1 = ptr(src, f + MF_B1);
    p.w2 = ptr(src, f + MF_W2);
    p.b2 = ptr(src, f + MF_B2);
    if (dec) p.ln3w = ptr(src, f + MF_LNW), p.ln3b = ptr(src, f + MF_LNB);
    else p.ln2w = ptr(src, f + MF_LNW), p.ln2b = ptr(src, f + MF_LNB);
    // q, k and v are one fused projection: trained or frozen together (checked at
    // session creation), so one NULL test covers the three
    return p;
}

// A layer's adapters: q, k, v each on its third of the fused projection (cross-attention:
// q on the query rows, k and v on the key/value rows), out_proj, fc1, fc2.
static void layer_lora(const zy_session *s, const marian_hparams *h, bool dec, int l,
                       zy_block_lora *b) {
    int C = h->d_model, i = dec ? MARIAN_T_DEC(h, l) : MARIAN_T_ENC(l);
    memset(b, 0, sizeof *b);
    for (int a = 0; a < (dec ? 2 : 1); a++, i += MA_TENSORS) {
        int in = a ? ZY_BLOCK_CROSS_IN : ZY_BLOCK_SELF_IN;
        int out = a ? ZY_BLOCK_CROSS_OUT : ZY_BLOCK_SELF_OUT;
        zy__lora_block_add(s, b, in, i + MA_QW, 0);
        zy__lora_block_add(s, b, in, i + MA_KW, C);
        zy__lora_block_add(s, b, in, i + MA_VW, 2 * C);
        zy__lora_block_add(s, b, out, i + MA_OW, 0);
    }
    zy__lora_block_add(s, b, ZY_BLOCK_FF1, i + MF_W1, 0);
    zy__lora_block_add(s, b, ZY_BLOCK_FF2, i + MF_W2, 0);
}

static void marian_session_free(zy_session *s) {
    marian_session *g = zy_session_impl(s);
    if (!g) return;
    zy__marian_decode_free(g);
    zy_free(g->typed);
    zy_free(g->acts);
    zy_free(g->we);
    zy_free(g->wd);
    zy_free(g->dwe);
    zy_free(g->dwd);
    zy_free(g->lora_e);
    zy_free(g->lora_d);
    zy_free(g);
}

// The fused q|k|v weight (and bias) of each attention gets one gradient range: its three
// tensors must train or be frozen together.
static zy_status check_fused(const zy_session *s, const marian_hparams *h) {
    const zy_model *m = zy_session_model(s);
    int n = h->enc_layers + 2 * h->dec_layers;
    for (int a = 0; a < n; a++) {
        int i = a < h->enc_layers ? MARIAN_T_ENC(a)
                                  : MARIAN_T_DEC(h, (a - h->enc_layers) / 2) +
                                        ((a - h->enc_layers) % 2) * MA_TENSORS;
        zy_status st;
        if ((st = zy__check_fused3(m, i + MA_QW, "marian session")) ||
            (st = zy__check_fused3(m, i + MA_QB, "marian session")))
            return st;
    }
    return ZY_STATUS_OK;
}

// A weight type's copies for decoding: each decoder layer's q|k|v (the three adjacent
// copies as one (3C, C) matrix), out, cross-attention q and out, fc1, fc2; the head.
static zy_status typed_views(marian_session *g, const zy_model *m) {
    const marian_hparams *h = &g->h;
    if (!(g->typed = zy_calloc((size_t)h->dec_layers, sizeof *g->typed)))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "marian session: out of memory");
    for (int l = 0; l < h->dec_layers; l++) {
        const int base = MARIAN_T_DEC(h, l);
        const int at[ZY_BLOCK_LINEARS] = {
            [ZY_BLOCK_SELF_IN] = base + MA_QW, [ZY_BLOCK_SELF_OUT] = base + MA_OW,
            [ZY_BLOCK_CROSS_IN] = base + MA_TENSORS + MA_QW,
            [ZY_BLOCK_CROSS_OUT] = base + MA_TENSORS + MA_OW,
            [ZY_BLOCK_FF1] = base + 2 * MA_TENSORS + MF_W1,
            [ZY_BLOCK_FF2] = base + 2 * MA_TENSORS + MF_W2};
        for (int j = 0; j < ZY_BLOCK_LINEARS; j++) {
            const zy_wmatrix *t = zy_model_tensor_typed(m, at[j]);
            if (t) g->typed[l][j] = *t;
        }
        zy_wmatrix *qkv = &g->typed[l][ZY_BLOCK_SELF_IN];
        const zy_wmatrix *v = zy_model_tensor_typed(m, base + MA_VW);
        if (qkv->data && v && (const uint8_t *)v->data ==
                                  (const uint8_t *)qkv->data + 2 * (size_t)qkv->rows * qkv->row_bytes)
            qkv->rows *= 3;
        else
            qkv->data = NULL; // not contiguous (cannot happen: model.h): the fp32 weights
    }
    g->head_typed = zy_model_tensor_typed(m, MARIAN_T_SHARED);
    return ZY_STATUS_OK;
}

static zy_status marian_session_init(zy_session *s, const zy_session_params *p) {
    const zy_model *m = zy_session_model(s);
    marian_session *g = zy_calloc(1, sizeof *g);
    if (!g) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "marian session: out of memory");
    zy_session_set_impl(s, g);
    g->h = *(const marian_hparams *)zy_model_impl(m);
    const marian_hparams *h = &g->h;
    int Le = h->enc_layers, Ld = h->dec_layers;
    zy_status st;
    if (p->training && (st = check_fused(s, h))) return st;
    g->we = zy_calloc((size_t)Le, sizeof *g->we);
    g->wd = zy_calloc((size_t)Ld, sizeof *g->wd);
    if (p->training) {
        g->dwe = zy_calloc((size_t)Le, sizeof *g->dwe);
        g->dwd = zy_calloc((size_t)Ld, sizeof *g->dwd);
    }
    if (!g->we || !g->wd || (p->training && (!g->dwe || !g->dwd)))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "marian session: out of memory");
    for (int l = 0; l < Le; l++) g->we[l] = layer_view(zy__weight_view, m, h, false, l);
    for (int l = 0; l < Ld; l++) g->wd[l] = layer_view(zy__weight_view, m, h, true, l);
    g->shared = zy_model_tensor_data(m, MARIAN_T_SHARED);
    g->flb = zy_model_tensor_data(m, MARIAN_T_BIAS(h));
    if (p->training) {
        for (int l = 0; l < Le; l++) g->dwe[l] = layer_view(zy__grad_view, s, h, false, l);
        for (int l = 0; l < Ld; l++) g->dwd[l] = layer_view(zy__grad_view, s, h, true, l);
        g->dshared = zy_session_tensor_grad(s, MARIAN_T_SHARED);
        g->dflb = zy_session_tensor_grad(s, MARIAN_T_BIAS(h));
    }
    if (zy_model_tensor_typed(m, MARIAN_T_SHARED) && (st = typed_views(g, m))) return st;
    if (zy_model_has_adapter(m)) {
        g->lora_dropout = zy_model_lora_config(m)->dropout;
        g->lora_e = zy_calloc((size_t)Le, sizeof *g->lora_e);
        g->lora_d = zy_calloc((size_t)Ld, sizeof *g->lora_d);
        if (!g->lora_e || !g->lora_d)
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "marian session: out of memory");
        for (int l = 0; l < Le; l++) layer_lora(s, h, false, l, &g->lora_e[l]);
        for (int l = 0; l < Ld; l++) layer_lora(s, h, true, l, &g->lora_d[l]);
    }
    g->tokens = p->tokens;
    g->n_seq = p->n_seq;
    g->n_mem = zy_session_n_memory(s);
    g->kv_cache = p->kv_cache;
    return ZY_STATUS_OK;
}

// "logits" (B, T_dec, V) until a backward overwrites them; "encoder_hidden" (B, T, C), the
// encoder's output; "hidden" (B, T_dec, C), the decoder's.
static const float *marian_output(const zy_session *s, const char *name, int *ndim,
                                  int64_t *shape) {
    const marian_session *g = zy_session_impl(s);
    if (!g->outputs_ok) return NULL;
    marian_acts a;
    zy__marian_acts_carve(g, g->acts, g->B, g->T, g->Td, &a);
    int64_t sh[3] = {g->B, g->Td, g->h.d_model};
    const float *out;
    if (!strcmp(name, "logits") && g->logits_ok) {
        out = a.logits, sh[2] = g->h.vocab;
    } else if (!strcmp(name, "encoder_hidden")) {
        out = a.enc + (size_t)g->h.enc_layers * a.enc_stride, sh[1] = g->T;
    } else if (!strcmp(name, "hidden")) {
        out = a.dec + (size_t)g->h.dec_layers * a.dec_stride;
    } else {
        return NULL;
    }
    if (ndim) *ndim = 3;
    if (shape) memcpy(shape, sh, sizeof sh);
    return out;
}

const zy_model_ops zy__marian_ops = {
    .model_type = "marian",
    .architectures = ARCHITECTURES,
    .presets = zy__marian_presets,
    .preset = zy__marian_preset,
    .init = marian_init,
    .free = marian_free,
    .write_config = marian_write_config,
    .set_dropout = marian_set_dropout,
    .train_flops = marian_train_flops,
    .session_init = marian_session_init,
    .session_free = marian_session_free,
    .prepare = zy__marian_prepare,
    .forward = zy__marian_forward,
    .backward = zy__marian_backward,
    .output = marian_output,
    .decode = zy__marian_decode,
    .seq_reset = zy__marian_seq_reset,
    .seq_len = zy__marian_seq_len,
    .seq_copy = zy__marian_seq_copy,
    .metrics = zy__marian_metrics,
    .encode = zy__marian_encode,
    .seq_attach = zy__marian_seq_attach,
};
