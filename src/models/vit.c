// The Vision Transformer (Dosovitskiy et al. 2021) as a zy_model implementation, in
// Hugging Face's ViTForImageClassification layout: the operations table, the tensor table
// (which is also the flat layout and the initialisation), sessions, named outputs and the
// FLOP count. The passes are vit_forward.c (the layers are the shared pre-LN encoder block
// of src/nn, the patches nn/patch_embed.c), config.json vit_config.c.
//
// Table: see vit_internal.h. Names are read with or without "vit." (a ViTModel checkpoint
// loads as the body: its pooler is left unused, the classifier is new and reported). The
// classifier is a head (zy_model_freeze_body). Initialisation as HF's _init_weights:
// linear and patch weights, the [CLS] token and the positions N(0, initializer_range)
// (HF's trunc_normal_ cuts at ±2, which at std 0.02 changes nothing measurable), biases
// 0, LayerNorm gains 1. No LoRA sites yet: the weights are not marked `linear`.
#include <stdio.h>
#include <string.h>

#include "zhuyi/lora.h"

#include "core/internal.h"
#include "models/impl.h"
#include "models/outputs.h"
#include "models/vit_internal.h"

typedef struct layer_spec {
    const char *suffix;
    char rows, cols; // 'C', 'F' (FF) or 0 (1-D)
    zy_init init;
} layer_spec;

static const layer_spec LAYER[VIT_TENSORS_PER_LAYER] = {
    {"attention.attention.query.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"attention.attention.key.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"attention.attention.value.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"attention.attention.query.bias", 'C', 0, ZY_INIT_ZEROS},
    {"attention.attention.key.bias", 'C', 0, ZY_INIT_ZEROS},
    {"attention.attention.value.bias", 'C', 0, ZY_INIT_ZEROS},
    {"attention.output.dense.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"attention.output.dense.bias", 'C', 0, ZY_INIT_ZEROS},
    {"intermediate.dense.weight", 'F', 'C', ZY_INIT_NORMAL},
    {"intermediate.dense.bias", 'F', 0, ZY_INIT_ZEROS},
    {"output.dense.weight", 'C', 'F', ZY_INIT_NORMAL},
    {"output.dense.bias", 'C', 0, ZY_INIT_ZEROS},
    {"layernorm_before.weight", 'C', 0, ZY_INIT_ONES},
    {"layernorm_before.bias", 'C', 0, ZY_INIT_ZEROS},
    {"layernorm_after.weight", 'C', 0, ZY_INIT_ONES},
    {"layernorm_after.bias", 'C', 0, ZY_INIT_ZEROS},
};

static zy_status declare_tensors(zy_tensor_table *t, const vit_hparams *h) {
    int64_t C = h->hidden, FF = h->intermediate, P = h->patch_size, T = h->n_patches + 1;
    float std = h->init_range;
    char name[128];
    zy_status st;
#define NAME(...) (snprintf(name, sizeof name, __VA_ARGS__), name)
#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define ADD(...) zy__tensor_add(t, __VA_ARGS__)
    if ((st = zy_tensor_table_add_prefix(t, "vit.")) ||
        (st = ADD("vit.embeddings.cls_token", 3, SHAPE(1, 1, C), ZY_INIT_NORMAL, std, false,
                  false, "1, 1, hidden_size")) ||
        (st = ADD("vit.embeddings.position_embeddings", 3, SHAPE(1, T, C), ZY_INIT_NORMAL,
                  std, false, false, "1, (image_size / patch_size)^2 + 1, hidden_size")) ||
        (st = ADD("vit.embeddings.patch_embeddings.projection.weight", 4,
                  SHAPE(C, h->channels, P, P), ZY_INIT_NORMAL, std, true, false,
                  "hidden_size, num_channels, patch_size, patch_size")) ||
        (st = ADD("vit.embeddings.patch_embeddings.projection.bias", 1, SHAPE(C),
                  ZY_INIT_ZEROS, 0, false, false, NULL)))
        return st;
    for (int l = 0; l < h->n_layer; l++)
        for (int k = 0; k < VIT_TENSORS_PER_LAYER; k++) {
            const layer_spec *s = &LAYER[k];
            int64_t rows = s->rows == 'F' ? FF : C, cols = !s->cols ? 0 : s->cols == 'F' ? FF : C;
            if ((st = ADD(NAME("vit.encoder.layer.%d.%s", l, s->suffix), cols ? 2 : 1,
                          SHAPE(rows, cols), s->init, std, cols > 0, false, NULL)))
                return st;
        }
    int64_t K = h->labels.n;
    if ((st = ADD("vit.layernorm.weight", 1, SHAPE(C), ZY_INIT_ONES, 0, false, false, NULL)) ||
        (st = ADD("vit.layernorm.bias", 1, SHAPE(C), ZY_INIT_ZEROS, 0, false, false, NULL)) ||
        (st = ADD("classifier.weight", 2, SHAPE(K, C), ZY_INIT_NORMAL, std, true, true,
                  "num_labels, hidden_size")) ||
        (st = ADD("classifier.bias", 1, SHAPE(K), ZY_INIT_ZEROS, 0, false, true,
                  "num_labels")))
        return st;
#undef ADD
#undef SHAPE
#undef NAME
    return ZY_STATUS_OK;
}

static zy_status vit_init(zy_model *m, const zy_config *c, zy_model_info *info) {
    vit_hparams *h = zy_calloc(1, sizeof *h);
    if (!h) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "vit: out of memory");
    zy_model_set_impl(m, h);
    zy_status st = zy__vit_read_config(c, h);
    if (!st) st = declare_tensors(zy_model_table(m), h);
    if (st) return st; // the caller frees the model, and h with it (vit_free)
    info->architecture = zy__vit_arch_names[0];
    info->vocab_size = 0;
    info->max_positions = h->n_patches + 1;
    info->n_layer = h->n_layer;
    info->n_head = h->n_head;
    info->d_model = h->hidden;
    info->dropout = h->hidden_dropout;
    info->decoder_start_id = info->eos_id = -1;
    info->image_channels = h->channels;
    info->image_size = h->image_size;
    return ZY_STATUS_OK;
}

static void vit_free(zy_model *m) {
    vit_hparams *h = zy_model_impl(m);
    if (h) zy__labels_free(&h->labels);
    zy_free(h);
}

static zy_status vit_write_config(const zy_model *m, zy_config *c) {
    return zy__vit_write_config(zy_model_impl(m), c);
}

// One value for both sites: hidden_dropout_prob and attention_probs_dropout_prob.
static zy_status vit_set_dropout(zy_model *m, float p, zy_model_info *info) {
    vit_hparams *h = zy_model_impl(m);
    h->hidden_dropout = h->attn_dropout = p;
    info->dropout = p;
    return ZY_STATUS_OK;
}

// Matmul FLOPs (2 per multiply-add) x 3 (forward, and backward's two products): per token
// the layers' 4C² + 2·C·FF, per patch its projection C·ch·P², attention's QKᵀ and AV over
// T x T, the classifier per image. T is the model's own (the batch's T is 1).
static double vit_train_flops(const zy_model *m, int B, int T) {
    (void)T;
    const vit_hparams *h = zy_model_impl(m);
    double C = h->hidden, L = h->n_layer, FF = h->intermediate, Tk = h->n_patches + 1;
    double N = (double)B * Tk, patch = (double)h->channels * h->patch_size * h->patch_size;
    double per_token = 2.0 * L * (4.0 * C * C + 2.0 * C * FF);
    double attn = L * 2.0 * 2.0 * (double)B * Tk * Tk * C;
    double rest = 2.0 * (double)B * h->n_patches * C * patch + 2.0 * B * C * h->labels.n;
    return 3.0 * (per_token * N + attn + rest);
}

// ---- sessions ------------------------------------------------------------------------------

static zy_block_params layer_view(float *(*ptr)(const void *, int), const void *src, int l) {
    zy_block_params g = {0};
#define P(k) ptr(src, VIT_T_LAYER(l, k))
    g.self_attn = (zy_mha_params){.in_proj_weight = P(VIT_L_QW), .in_proj_bias = P(VIT_L_QB),
                                  .out_proj_weight = P(VIT_L_AOW),
                                  .out_proj_bias = P(VIT_L_AOB)};
    g.ln1w = P(VIT_L_LN1W), g.ln1b = P(VIT_L_LN1B);
    g.w1 = P(VIT_L_IW), g.b1 = P(VIT_L_IB);
    g.w2 = P(VIT_L_OW), g.b2 = P(VIT_L_OB);
    g.ln2w = P(VIT_L_LN2W), g.ln2b = P(VIT_L_LN2B);
#undef P
    return g;
}

static vit_weights outer_view(float *(*ptr)(const void *, int), const void *src, int L) {
    return (vit_weights){.cls = ptr(src, VIT_T_CLS), .pos = ptr(src, VIT_T_POS),
                         .patch_w = ptr(src, VIT_T_PATCH_W), .patch_b = ptr(src, VIT_T_PATCH_B),
                         .lnw = ptr(src, VIT_T_LNW(L)), .lnb = ptr(src, VIT_T_LNB(L)),
                         .cls_w = ptr(src, VIT_T_CLSW(L)), .cls_b = ptr(src, VIT_T_CLSB(L))};
}

static void vit_session_free(zy_session *s) {
    vit_session *g = zy_session_impl(s);
    if (!g) return;
    zy_free(g->acts);
    zy_free(g->w);
    zy_free(g->dw);
    zy_free(g);
}

static zy_status vit_session_init(zy_session *s, const zy_session_params *p) {
    const zy_model *m = zy_session_model(s);
    const vit_hparams *h = zy_model_impl(m);
    if (zy_model_has_adapter(m))
        return zy__error(ZY_STATUS_UNSUPPORTED, "vit session: LoRA adapters on ViT are not "
                         "implemented");
    vit_session *g = zy_calloc(1, sizeof *g);
    if (!g) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "vit session: out of memory");
    zy_session_set_impl(s, g);
    g->h = *h;
    g->keep_attention = p->attention_weights;
    int L = h->n_layer;
    g->w = zy_calloc((size_t)L, sizeof *g->w);
    if (p->training) g->dw = zy_calloc((size_t)L, sizeof *g->dw);
    if (!g->w || (p->training && !g->dw))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "vit session: out of memory");
    for (int l = 0; l < L; l++) g->w[l] = layer_view(zy__weight_view, m, l);
    g->ew = outer_view(zy__weight_view, m, L);
    if (p->training) {
        for (int l = 0; l < L; l++) {
            zy_status st;
            if ((st = zy__check_fused3(m, VIT_T_LAYER(l, VIT_L_QW), "vit session")) ||
                (st = zy__check_fused3(m, VIT_T_LAYER(l, VIT_L_QB), "vit session")))
                return st;
        }
        for (int l = 0; l < L; l++) g->dw[l] = layer_view(zy__grad_view, s, l);
        g->edw = outer_view(zy__grad_view, s, L);
    }
    return ZY_STATUS_OK;
}

static const float *vit_output(const zy_session *s, const char *name, int *ndim,
                               int64_t *shape) {
    const vit_session *g = zy_session_impl(s);
    if (!g->outputs_ok) return NULL;
    vit_acts a = zy__vit_acts(g);
    int B = g->B, T = g->h.n_patches + 1, C = g->h.hidden;
    int64_t sh[4];
    int nd;
    const float *out;
    if (!strcmp(name, "hidden")) { // HF's last_hidden_state: after the final LayerNorm
        out = a.hidden;
        nd = 3, sh[0] = B, sh[1] = T, sh[2] = C;
    } else if (!strcmp(name, "logits")) {
        out = a.logits;
        nd = 2, sh[0] = B, sh[1] = g->h.labels.n;
    } else {
        int l = zy__attention_output_layer(name, g->h.n_layer);
        if (!g->keep_attention || l < 0) return NULL;
        zy_block_config bc = zy__vit_block_config(g, B, l);
        out = zy_block_attention_weights(a.blocks + (size_t)l * a.block_acts, &bc, false);
        nd = 4, sh[0] = B, sh[1] = g->h.n_head, sh[2] = T, sh[3] = T;
    }
    if (ndim) *ndim = nd;
    if (shape) memcpy(shape, sh, (size_t)nd * sizeof *sh);
    return out;
}

const zy_model_ops zy__vit_ops = {
    .model_type = "vit",
    .architectures = zy__vit_arch_names,
    .presets = zy__vit_presets,
    .preset = zy__vit_preset,
    .init = vit_init,
    .free = vit_free,
    .write_config = vit_write_config,
    .set_dropout = vit_set_dropout,
    .train_flops = vit_train_flops,
    .session_init = vit_session_init,
    .session_free = vit_session_free,
    .prepare = zy__vit_prepare,
    .forward = zy__vit_forward,
    .backward = zy__vit_backward,
    .output = vit_output,
    .metrics = zy__vit_metrics,
};
