// BERT as a zy_model implementation: the operations table, the Hugging Face tensor table
// (which is also the flat layout and the initialisation), sessions, named outputs and the
// FLOP count. The passes are bert_forward.c / bert_backward.c (the layers are the shared
// post-LN encoder block of src/nn), config.json bert_config.c.
//
// Table (= flat layout; HF file shapes, nn.Linear weights (out, in) kept as they are;
// B. = "bert." for BertForPreTraining / BertForMaskedLM, nothing for BertModel):
//   B.embeddings.word_embeddings.weight (V,C), .position_embeddings.weight (P,C),
//   .token_type_embeddings.weight (TV,C), .LayerNorm.weight (C), .LayerNorm.bias (C),
//   per layer l, B.encoder.layer.{l}.: attention.self.query.weight, key.weight,
//     value.weight (C,C) each (adjacent: the block's (3C,C) projection), query.bias,
//     key.bias, value.bias (C) each, attention.output.dense.weight (C,C), .bias (C),
//     attention.output.LayerNorm.{weight,bias} (C), intermediate.dense.weight (FF,C),
//     .bias (FF), output.dense.weight (C,FF), .bias (C), output.LayerNorm.{weight,bias} (C),
//   [pooler] B.pooler.dense.weight (C,C), .bias (C),
//   [MLM]    cls.predictions.bias (V), cls.predictions.transform.dense.weight (C,C),
//            .bias (C), cls.predictions.transform.LayerNorm.{weight,bias} (C),
//   [NSP]    cls.seq_relationship.weight (2,C), .bias (2),
//   [task]   classifier.weight (K,C), .bias (K) (sequence / token classification,
//            K = num_labels) or qa_outputs.weight (2,C), .bias (2) (question answering).
// Ties: cls.predictions.decoder.weight = the word embeddings, cls.predictions.decoder.bias
// = cls.predictions.bias (not written; if present, must be equal). Names are read with or
// without "bert." and LayerNorm gamma/beta. The pooler and the heads are optional: a file
// without them (a BertModel or BertForMaskedLM checkpoint) gets new ones, reported. The
// heads (cls.*, classifier.*, qa_outputs.*) are marked as heads (zy_model_freeze_body).
// The 2-D weights but the embeddings are the linear layers LoRA may adapt (lora.h), each
// wired: the layers' through the shared block (zy_block_config.lora; query, key and value
// each on its part of the fused projection), the pooler's, the MLM transform's, NSP's and
// the task head's in bert_forward.c / bert_task.c.
// Initialisation (HF's _init_weights): weights and embeddings N(0, initializer_range),
// biases 0, LayerNorm gains 1. (HF also zeroes the pad_token_id row of the new word
// embeddings; zhuyi's table has one rule per tensor, so that row is random like the rest.)
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "models/impl.h"
#include "models/bert_internal.h"
#include "models/lora_internal.h"
#include "models/outputs.h"

typedef struct layer_spec {
    const char *suffix;
    char rows, cols; // 'C', 'F' (FF) or 0 (1-D)
    zy_init init;
} layer_spec;

static const layer_spec LAYER[BERT_TENSORS_PER_LAYER] = {
    {"attention.self.query.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"attention.self.key.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"attention.self.value.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"attention.self.query.bias", 'C', 0, ZY_INIT_ZEROS},
    {"attention.self.key.bias", 'C', 0, ZY_INIT_ZEROS},
    {"attention.self.value.bias", 'C', 0, ZY_INIT_ZEROS},
    {"attention.output.dense.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"attention.output.dense.bias", 'C', 0, ZY_INIT_ZEROS},
    {"attention.output.LayerNorm.weight", 'C', 0, ZY_INIT_ONES},
    {"attention.output.LayerNorm.bias", 'C', 0, ZY_INIT_ZEROS},
    {"intermediate.dense.weight", 'F', 'C', ZY_INIT_NORMAL},
    {"intermediate.dense.bias", 'F', 0, ZY_INIT_ZEROS},
    {"output.dense.weight", 'C', 'F', ZY_INIT_NORMAL},
    {"output.dense.bias", 'C', 0, ZY_INIT_ZEROS},
    {"output.LayerNorm.weight", 'C', 0, ZY_INIT_ONES},
    {"output.LayerNorm.bias", 'C', 0, ZY_INIT_ZEROS},
};

// Decay: the 2-D matmul weights only (not embeddings, biases or LayerNorm parameters).
// linear: a linear layer LoRA may adapt (every such layer of BERT's is wired).
static zy_status add(zy_tensor_table *t, const char *name, int64_t rows, int64_t cols,
                     zy_init init, float std, bool decay, bool optional, bool linear) {
    zy_tensor_def d = {.name = name, .ndim = cols ? 2 : 1, .shape = {rows, cols},
                       .decay = decay, .optional = optional, .init = init, .init_std = std,
                       .linear = linear, .quantize = linear};
    return zy_tensor_table_add(t, &d, NULL);
}

// The word embeddings: no linear layer, but the MLM decoder's tied matrix (`quantize`).
static zy_status add_matrix(zy_tensor_table *t, const char *name, int64_t rows, int64_t cols,
                            float std) {
    zy_tensor_def d = {.name = name, .ndim = 2, .shape = {rows, cols}, .init = ZY_INIT_NORMAL,
                       .init_std = std, .quantize = true};
    return zy_tensor_table_add(t, &d, NULL);
}

// A head's tensor: optional (a pretrained body gets a new one), a head for freezing. Its
// 2-D weight decays and is a linear layer's (but the decoder's, which is tied to the word
// embeddings, not an entry); dims names the config fields of its shape.
static zy_status add_head(zy_tensor_table *t, const char *name, int64_t rows, int64_t cols,
                          zy_init init, float std, const char *dims) {
    zy_tensor_def d = {.name = name, .ndim = cols ? 2 : 1, .shape = {rows, cols},
                       .decay = cols > 0, .optional = true, .init = init, .init_std = std,
                       .dims = dims, .head = true, .linear = cols > 0, .quantize = cols > 0};
    return zy_tensor_table_add(t, &d, NULL);
}

bert_heads_index zy__bert_heads_index(const bert_hparams *h) {
    bert_heads_index x;
    memset(&x, -1, sizeof x);
    int i = BERT_T_LAYER(h->n_layer, 0);
    if (h->has_pooler) x.pool_w = i++, x.pool_b = i++;
    if (h->has_mlm) {
        x.mlm_bias = i++;
        x.tr_w = i++, x.tr_b = i++;
        x.tr_lnw = i++, x.tr_lnb = i++;
    }
    if (h->has_nsp) x.nsp_w = i++, x.nsp_b = i++;
    if (h->has_task) x.task_w = i++, x.task_b = i++;
    return x;
}

static zy_status declare_tensors(zy_tensor_table *t, const bert_hparams *h) {
    const char *pre = h->arch == BERT_MODEL ? "" : "bert.";
    int64_t C = h->hidden, FF = h->intermediate;
    float std = h->init_range;
    char name[128];
    zy_status st;
#define NAME(...) (snprintf(name, sizeof name, __VA_ARGS__), name)
    if ((st = zy_tensor_table_add_prefix(t, "bert.")) ||
        (st = add_matrix(t, NAME("%sembeddings.word_embeddings.weight", pre), h->vocab, C,
                         std)) ||
        (st = add(t, NAME("%sembeddings.position_embeddings.weight", pre), h->max_positions, C,
                  ZY_INIT_NORMAL, std, false, false, false)) ||
        (st = add(t, NAME("%sembeddings.token_type_embeddings.weight", pre), h->type_vocab, C,
                  ZY_INIT_NORMAL, std, false, false, false)) ||
        (st = add(t, NAME("%sembeddings.LayerNorm.weight", pre), C, 0, ZY_INIT_ONES, 0, false,
                  false, false)) ||
        (st = add(t, NAME("%sembeddings.LayerNorm.bias", pre), C, 0, ZY_INIT_ZEROS, 0, false,
                  false, false)))
        return st;
    for (int l = 0; l < h->n_layer; l++)
        for (int k = 0; k < BERT_TENSORS_PER_LAYER; k++) {
            const layer_spec *s = &LAYER[k];
            int64_t rows = s->rows == 'F' ? FF : C, cols = !s->cols ? 0 : s->cols == 'F' ? FF : C;
            if ((st = add(t, NAME("%sencoder.layer.%d.%s", pre, l, s->suffix), rows, cols,
                          s->init, std, cols > 0, false, cols > 0)))
                return st;
        }
    // The pooler and the heads: optional, so a checkpoint without them loads.
    if (h->has_pooler &&
        ((st = add(t, NAME("%spooler.dense.weight", pre), C, C, ZY_INIT_NORMAL, std, true,
                   true, true)) ||
         (st = add(t, NAME("%spooler.dense.bias", pre), C, 0, ZY_INIT_ZEROS, 0, false, true,
                   false))))
        return st;
    if (h->has_mlm) {
        int bias = BERT_T_LAYER(h->n_layer, 0) + (h->has_pooler ? 2 : 0);
        if ((st = add_head(t, "cls.predictions.bias", h->vocab, 0, ZY_INIT_ZEROS, 0, NULL)) ||
            (st = add_head(t, "cls.predictions.transform.dense.weight", C, C, ZY_INIT_NORMAL,
                           std, NULL)) ||
            (st = add_head(t, "cls.predictions.transform.dense.bias", C, 0, ZY_INIT_ZEROS, 0,
                           NULL)) ||
            (st = add_head(t, "cls.predictions.transform.LayerNorm.weight", C, 0, ZY_INIT_ONES,
                           0, NULL)) ||
            (st = add_head(t, "cls.predictions.transform.LayerNorm.bias", C, 0, ZY_INIT_ZEROS,
                           0, NULL)) ||
            (st = zy_tensor_table_tie(t, "cls.predictions.decoder.weight", BERT_T_WORD)) ||
            (st = zy_tensor_table_tie(t, "cls.predictions.decoder.bias", bias)))
            return st;
    }
    if (h->has_nsp &&
        ((st = add_head(t, "cls.seq_relationship.weight", 2, C, ZY_INIT_NORMAL, std, NULL)) ||
         (st = add_head(t, "cls.seq_relationship.bias", 2, 0, ZY_INIT_ZEROS, 0, NULL))))
        return st;
    if (h->has_task) { // HF's Linear init: N(0, initializer_range), bias 0
        bool qa = h->arch == BERT_QA;
        const char *w = qa ? "qa_outputs.weight" : "classifier.weight";
        const char *b = qa ? "qa_outputs.bias" : "classifier.bias";
        if ((st = add_head(t, w, h->n_out, C, ZY_INIT_NORMAL, std,
                           qa ? "2, hidden_size" : "num_labels, hidden_size")) ||
            (st = add_head(t, b, h->n_out, 0, ZY_INIT_ZEROS, 0, qa ? "2" : "num_labels")))
            return st;
    }
#undef NAME
    return ZY_STATUS_OK;
}

static void fill_info(const bert_hparams *h, zy_model_info *info) {
    info->architecture = zy__bert_arch_names[h->arch];
    info->vocab_size = h->vocab;
    info->max_positions = h->max_positions;
    info->n_layer = h->n_layer;
    info->n_head = h->n_head;
    info->d_model = h->hidden;
    info->dropout = h->hidden_dropout;
    info->causal_lm = false;
}

static zy_status bert_init(zy_model *m, const zy_config *c, zy_model_info *info) {
    bert_hparams *h = zy_calloc(1, sizeof *h);
    if (!h) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "bert: out of memory");
    zy_model_set_impl(m, h);
    zy_status st = zy__bert_read_config(c, h);
    if (!st) st = declare_tensors(zy_model_table(m), h);
    if (!st) fill_info(h, info);
    return st; // on failure the caller frees the model, and h with it (bert_free)
}

static void bert_free(zy_model *m) {
    bert_hparams *h = zy_model_impl(m);
    if (h) zy__labels_free(&h->labels);
    zy_free(h);
}

static zy_status bert_write_config(const zy_model *m, zy_config *c) {
    return zy__bert_write_config(zy_model_impl(m), c);
}

// One value for every site: hidden_dropout_prob and attention_probs_dropout_prob both.
static zy_status bert_set_dropout(zy_model *m, float p, zy_model_info *info) {
    bert_hparams *h = zy_model_impl(m);
    h->hidden_dropout = h->attn_dropout = p;
    if (h->cls_dropout_set) h->cls_dropout = p; // else it follows hidden_dropout_prob
    info->dropout = p;
    return ZY_STATUS_OK;
}

// Matmul FLOPs (2 per multiply-add) times 3 (forward, and backward's two products), plus
// attention's QKᵀ and AV over the full T×T, as GPT counts them. Per token: the layers'
// 4C² + 2·C·FF, the MLM transform C² and decoder C·V; per row: pooler C² and NSP 2C.
static double bert_train_flops(const zy_model *m, int B, int T) {
    const bert_hparams *h = zy_model_impl(m);
    double C = h->hidden, L = h->n_layer, FF = h->intermediate, N = (double)B * T;
    double per_token = 2.0 * L * (4.0 * C * C + 2.0 * C * FF);
    if (h->has_mlm) per_token += 2.0 * (C * C + C * h->vocab);
    double per_row = (h->has_pooler ? 2.0 * C * C : 0) + (h->has_nsp ? 2.0 * 2.0 * C : 0);
    if (h->has_task) { // the classifier per row (sequence) or per token (token, QA)
        if (h->arch == BERT_SEQ_CLS) per_row += 2.0 * C * h->n_out;
        else per_token += 2.0 * C * h->n_out;
    }
    double attn = L * 2.0 * 2.0 * (double)B * T * (double)T * C;
    return 3.0 * (per_token * N + per_row * B + attn);
}

// ---- sessions ----------------------------------------------------------------------------

// Layer l's views over per-tensor pointers (weights, or gradients with NULL for frozen).
static zy_block_params layer_view(float *(*ptr)(const void *, int), const void *src, int l) {
    zy_block_params g = {0};
#define P(k) ptr(src, BERT_T_LAYER(l, k))
    g.self_attn = (zy_mha_params){.in_proj_weight = P(BERT_L_QW), .in_proj_bias = P(BERT_L_QB),
                                  .out_proj_weight = P(BERT_L_AOW),
                                  .out_proj_bias = P(BERT_L_AOB)};
    g.ln1w = P(BERT_L_LN1W), g.ln1b = P(BERT_L_LN1B);
    g.w1 = P(BERT_L_IW), g.b1 = P(BERT_L_IB);
    g.w2 = P(BERT_L_OW), g.b2 = P(BERT_L_OB);
    g.ln2w = P(BERT_L_LN2W), g.ln2b = P(BERT_L_LN2B);
#undef P
    return g;
}

static float *at(float *(*ptr)(const void *, int), const void *src, int i) {
    return i >= 0 ? ptr(src, i) : NULL;
}

static bert_weights outer_view(float *(*ptr)(const void *, int), const void *src,
                               const bert_hparams *h) {
    bert_heads_index x = zy__bert_heads_index(h);
    return (bert_weights){
        .word = ptr(src, BERT_T_WORD), .pos = ptr(src, BERT_T_POS),
        .type = ptr(src, BERT_T_TYPE), .elnw = ptr(src, BERT_T_ELNW),
        .elnb = ptr(src, BERT_T_ELNB), .pool_w = at(ptr, src, x.pool_w),
        .pool_b = at(ptr, src, x.pool_b), .mlm_bias = at(ptr, src, x.mlm_bias),
        .tr_w = at(ptr, src, x.tr_w), .tr_b = at(ptr, src, x.tr_b),
        .tr_lnw = at(ptr, src, x.tr_lnw), .tr_lnb = at(ptr, src, x.tr_lnb),
        .nsp_w = at(ptr, src, x.nsp_w), .nsp_b = at(ptr, src, x.nsp_b),
        .task_w = at(ptr, src, x.task_w), .task_b = at(ptr, src, x.task_b)};
}

// The block reads q, k, v as one (3C, C) projection (and one (3C) bias), whose gradient
// is one range when the three train together (adjacent in the gradient array). A layer
// where they are partly frozen (LoRA's lora_only biases on query and value) gets a staging
// buffer for the block's gradient instead; backward adds its trainable parts to their
// own gradients (bert_backward.c).
static zy_status stage_fused(zy_session *s, bert_session *g) {
    const zy_model *m = zy_session_model(s);
    const size_t C = (size_t)g->h.hidden;
    for (int l = 0; l < g->h.n_layer; l++)
        for (int bias = 0; bias < 2; bias++) {
            int first = bias ? BERT_L_QB : BERT_L_QW, n = 0;
            for (int k = 0; k < 3; k++) n += zy_model_is_trainable(m, BERT_T_LAYER(l, first + k));
            if (n == 0 || n == 3) continue;
            float ***stage = bias ? &g->stage_b : &g->stage_w;
            if (!*stage && !(*stage = zy_calloc((size_t)g->h.n_layer, sizeof **stage)))
                return zy__error(ZY_STATUS_OUT_OF_MEMORY, "bert session: out of memory");
            if (!((*stage)[l] = zy_alloc(3 * C * (bias ? 1 : C) * sizeof(float))))
                return zy__error(ZY_STATUS_OUT_OF_MEMORY, "bert session: out of memory");
            if (bias) g->dw[l].self_attn.in_proj_bias = g->stage_b[l];
            else g->dw[l].self_attn.in_proj_weight = g->stage_w[l];
        }
    return ZY_STATUS_OK;
}

// Layer l's adapters: query, key and value each on its third of the fused projection,
// attention.output.dense, intermediate.dense, output.dense.
static void layer_lora(const zy_session *s, int l, int C, zy_block_lora *b) {
    memset(b, 0, sizeof *b);
    for (int k = 0; k < 3; k++)
        zy__lora_block_add(s, b, ZY_BLOCK_SELF_IN, BERT_T_LAYER(l, BERT_L_QW + k), k * C);
    zy__lora_block_add(s, b, ZY_BLOCK_SELF_OUT, BERT_T_LAYER(l, BERT_L_AOW), 0);
    zy__lora_block_add(s, b, ZY_BLOCK_FF1, BERT_T_LAYER(l, BERT_L_IW), 0);
    zy__lora_block_add(s, b, ZY_BLOCK_FF2, BERT_T_LAYER(l, BERT_L_OW), 0);
}

// The heads' adapters (zero where a head or its adapter is absent).
static void head_lora(const zy_session *s, bert_session *g) {
    bert_heads_index x = zy__bert_heads_index(&g->h);
    int idx[4] = {x.pool_w, x.tr_w, x.nsp_w, x.task_w};
    zy_lora *out[4] = {&g->pool_lora, &g->tr_lora, &g->nsp_lora, &g->task_lora};
    for (int k = 0; k < 4; k++)
        if (idx[k] >= 0) zy_session_lora(s, idx[k], out[k]);
}

static void bert_session_free(zy_session *s) {
    bert_session *g = zy_session_impl(s);
    if (!g) return;
    for (int l = 0; l < g->h.n_layer; l++) {
        if (g->stage_w) zy_free(g->stage_w[l]);
        if (g->stage_b) zy_free(g->stage_b[l]);
    }
    zy_free(g->stage_w);
    zy_free(g->stage_b);
    zy_free(g->lora);
    zy_free(g->acts);
    zy_free(g->w);
    zy_free(g->dw);
    zy_free(g);
}

static zy_status bert_session_init(zy_session *s, const zy_session_params *p) {
    const zy_model *m = zy_session_model(s);
    const bert_hparams *h = zy_model_impl(m);
    bert_session *g = zy_calloc(1, sizeof *g);
    if (!g) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "bert session: out of memory");
    zy_session_set_impl(s, g);
    g->h = *h;
    g->keep_attention = p->attention_weights;
    g->loss_only = p->loss_only;
    int L = h->n_layer;
    g->w = zy_calloc((size_t)L, sizeof *g->w);
    if (p->training) g->dw = zy_calloc((size_t)L, sizeof *g->dw);
    if (!g->w || (p->training && !g->dw))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "bert session: out of memory");
    for (int l = 0; l < L; l++) g->w[l] = layer_view(zy__weight_view, m, l);
    g->ew = outer_view(zy__weight_view, m, h);
    zy_status st;
    if (p->training) {
        for (int l = 0; l < L; l++) g->dw[l] = layer_view(zy__grad_view, s, l);
        g->edw = outer_view(zy__grad_view, s, h);
        if ((st = stage_fused(s, g))) return st;
    }
    if (zy_model_has_adapter(m)) {
        g->lora_dropout = zy_model_lora_config(m)->dropout;
        if (!(g->lora = zy_calloc((size_t)L, sizeof *g->lora)))
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "bert session: out of memory");
        for (int l = 0; l < L; l++) layer_lora(s, l, h->hidden, &g->lora[l]);
        head_lora(s, g);
    }
    return ZY_STATUS_OK;
}

// "attentions.L": layer L's attention probabilities, kept when the session was created
// with attention_weights.
static const float *attention_output(const bert_session *g, const char *name, int *ndim,
                                     int64_t *shape) {
    int l = zy__attention_output_layer(name, g->h.n_layer);
    if (!g->keep_attention || l < 0) return NULL;
    bert_acts a = zy__bert_acts(g);
    // The layer's saved activations as forward carved them: for the batch's (B, T).
    zy_block_config bc = zy__bert_block_config(g, g->B, g->T, l, NULL);
    if (ndim) *ndim = 4;
    if (shape) shape[0] = g->B, shape[1] = g->h.n_head, shape[2] = g->T, shape[3] = g->T;
    return zy_block_attention_weights(a.blocks + (size_t)l * a.block_acts, &bc, false);
}

static const float *bert_output(const zy_session *s, const char *name, int *ndim,
                                int64_t *shape) {
    const bert_session *g = zy_session_impl(s);
    if (!g->outputs_ok) return NULL;
    bert_acts a = zy__bert_acts(g);
    int B = g->B, T = g->T, C = g->h.hidden;
    int64_t sh[3];
    int nd;
    const float *out = NULL;
    if (!strcmp(name, "hidden")) {
        out = a.res + (size_t)g->h.n_layer * a.res_stride;
        nd = 3, sh[0] = B, sh[1] = T, sh[2] = C;
    } else if (!strcmp(name, "pooled") && g->h.has_pooler) {
        out = a.pooled;
        nd = 2, sh[0] = B, sh[1] = C;
    } else if (!strcmp(name, "nsp_logits") && g->h.has_nsp) {
        out = a.nsp_logits;
        nd = 2, sh[0] = B, sh[1] = 2;
    } else if (!strcmp(name, "mlm_logits") && g->h.has_mlm && g->mlm_logits_ok) {
        out = a.logits;
        nd = 3, sh[0] = B, sh[1] = T, sh[2] = g->h.vocab;
    } else if (!strncmp(name, "attentions.", strlen("attentions."))) {
        return attention_output(g, name, ndim, shape);
    } else {
        return g->h.has_task ? zy__bert_task_output(g, name, ndim, shape) : NULL;
    }
    if (ndim) *ndim = nd;
    if (shape) memcpy(shape, sh, (size_t)nd * sizeof *sh);
    return out;
}

const zy_model_ops zy__bert_ops = {
    .model_type = "bert",
    .architectures = zy__bert_arch_names,
    .presets = zy__bert_presets,
    .preset = zy__bert_preset,
    .init = bert_init,
    .free = bert_free,
    .write_config = bert_write_config,
    .set_dropout = bert_set_dropout,
    .train_flops = bert_train_flops,
    .session_init = bert_session_init,
    .session_free = bert_session_free,
    .prepare = zy__bert_prepare,
    .forward = zy__bert_forward,
    .backward = zy__bert_backward,
    .output = bert_output,
    .metrics = zy__bert_metrics,
};
