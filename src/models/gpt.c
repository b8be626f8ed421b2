// GPT-2 as a zy_model implementation: the operations table, the Hugging Face tensor table
// (which is also the flat layout and the initialisation), sessions, outputs and the FLOP
// count. The passes are gpt_forward.c / gpt_backward.c (the blocks are the shared pre-LN
// decoder block of src/nn), decoding gpt_decode.c, config.json gpt_config.c.
//
// Table (= flat layout, GPT2LMHeadModel.named_parameters() order; HF file shapes):
//   transformer.wte.weight (V,C), transformer.wpe.weight (P,C),
//   per block l, transformer.h.{l}.: ln_1.weight (C), ln_1.bias (C),
//     attn.c_attn.weight (C,3C)ᵀ, attn.c_attn.bias (3C), attn.c_proj.weight (C,C)ᵀ,
//     attn.c_proj.bias (C), ln_2.weight (C), ln_2.bias (C), mlp.c_fc.weight (C,4C)ᵀ,
//     mlp.c_fc.bias (4C), mlp.c_proj.weight (4C,C)ᵀ, mlp.c_proj.bias (C),
//   transformer.ln_f.weight (C), transformer.ln_f.bias (C);
//   lm_head.weight tied to wte (not written; if present, must equal wte);
//   GPT2ForSequenceClassification instead: score.weight (num_labels, C), nn.Linear without
//   bias, a head tensor (optional: a pretrained LM gets a new one), and no lm_head (a
//   file's lm_head.weight is skipped and listed by zy_model_unused_tensors).
// (ᵀ: HF's Conv1D stores (in, out); kept (out, in) for the GEMMs.) Names may lack the
// "transformer." prefix (GPT2Model checkpoints such as the hub's gpt2). The four Conv1D
// weights of each block and score.weight are the linear layers LoRA may adapt (lora.h):
// the blocks' through the shared block (zy_block_config.lora), score's in gpt_task.c.
// Initialisation (GPT-2's): weights N(0, 0.02), residual projections (attn.c_proj,
// mlp.c_proj) N(0, 0.02/√(2L)), biases 0, layernorm gains 1.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "models/impl.h"
#include "models/gpt_internal.h"
#include "models/lora_internal.h"
#include "models/outputs.h"

typedef struct block_spec {
    const char *suffix;
    int rows_mul, cols_mul; // HF shape (rows_mul*C, cols_mul*C); cols_mul 0 = 1-D
    bool conv1d;            // a Conv1D weight: kept transposed, decayed
    zy_init init;
    const char *dims;       // the config fields of that shape, for error messages
} block_spec;

// Per block, in layout order; HF (file) shapes.
static const block_spec BLOCK[GPT_TENSORS_PER_LAYER] = {
    {"ln_1.weight", 1, 0, false, ZY_INIT_ONES, "n_embd"},
    {"ln_1.bias", 1, 0, false, ZY_INIT_ZEROS, "n_embd"},
    {"attn.c_attn.weight", 1, 3, true, ZY_INIT_NORMAL, "n_embd, 3*n_embd"},
    {"attn.c_attn.bias", 3, 0, false, ZY_INIT_ZEROS, "3*n_embd"},
    {"attn.c_proj.weight", 1, 1, true, ZY_INIT_NORMAL, "n_embd, n_embd"},
    {"attn.c_proj.bias", 1, 0, false, ZY_INIT_ZEROS, "n_embd"},
    {"ln_2.weight", 1, 0, false, ZY_INIT_ONES, "n_embd"},
    {"ln_2.bias", 1, 0, false, ZY_INIT_ZEROS, "n_embd"},
    {"mlp.c_fc.weight", 1, 4, true, ZY_INIT_NORMAL, "n_embd, 4*n_embd"},
    {"mlp.c_fc.bias", 4, 0, false, ZY_INIT_ZEROS, "4*n_embd"},
    {"mlp.c_proj.weight", 4, 1, true, ZY_INIT_NORMAL, "4*n_embd, n_embd"},
    {"mlp.c_proj.bias", 1, 0, false, ZY_INIT_ZEROS, "n_embd"},
};

static const char *const ARCHITECTURES[] = {"GPT2LMHeadModel", "GPT2Model",
                                            "GPT2ForSequenceClassification", NULL};

// conv1d: a block's linear layer (kept transposed, decayed, LoRA's, a weight type's);
// matrix: a weight type's too (the tied LM head, wte).
static zy_status add(zy_tensor_table *t, const char *name, int64_t rows, int64_t cols,
                     bool conv1d, bool matrix, zy_init init, float std, const char *dims) {
    zy_tensor_def d = {.name = name, .ndim = cols ? 2 : 1, .shape = {rows, cols},
                       .transposed = conv1d, .decay = conv1d, .init = init, .init_std = std,
                       .dims = dims, .linear = conv1d, .quantize = conv1d || matrix};
    return zy_tensor_table_add(t, &d, NULL);
}

static zy_status declare_tensors(zy_tensor_table *t, const gpt_hparams *h) {
    int C = h->n_embd, L = h->n_layer;
    float proj_std = 0.02f / sqrtf(2.0f * (float)L);
    zy_status st;
    if ((st = zy_tensor_table_add_prefix(t, "transformer.")) ||
        (st = add(t, "transformer.wte.weight", h->vocab_size, C, false, true, ZY_INIT_NORMAL,
                  0.02f, "vocab_size, n_embd")) ||
        (st = add(t, "transformer.wpe.weight", h->n_positions, C, false, false,
                  ZY_INIT_NORMAL, 0.02f, "n_positions, n_embd")))
        return st;
    for (int l = 0; l < L; l++)
        for (int k = 0; k < GPT_TENSORS_PER_LAYER; k++) {
            const block_spec *s = &BLOCK[k];
            char name[96];
            snprintf(name, sizeof name, "transformer.h.%d.%s", l, s->suffix);
            float std = strstr(s->suffix, "c_proj.weight") ? proj_std : 0.02f;
            if ((st = add(t, name, (int64_t)s->rows_mul * C, (int64_t)s->cols_mul * C, s->conv1d,
                          false, s->init, std, s->dims)))
                return st;
        }
    if ((st = add(t, "transformer.ln_f.weight", C, 0, false, false, ZY_INIT_ONES, 0, "n_embd")) ||
        (st = add(t, "transformer.ln_f.bias", C, 0, false, false, ZY_INIT_ZEROS, 0, "n_embd")))
        return st;
    if (h->seq_cls) { // HF's Linear init: N(0, initializer_range = 0.02)
        zy_tensor_def d = {.name = "score.weight", .ndim = 2, .shape = {h->labels.n, C},
                           .decay = true, .optional = true, .init = ZY_INIT_NORMAL,
                           .init_std = 0.02f, .dims = "num_labels, n_embd", .head = true,
                           .linear = true, .quantize = true};
        return zy_tensor_table_add(t, &d, NULL);
    }
    return zy_tensor_table_tie(t, "lm_head.weight", GPT_T_WTE);
}

static void fill_info(const gpt_hparams *h, zy_model_info *info) {
    info->architecture = h->seq_cls ? "GPT2ForSequenceClassification" : "GPT2LMHeadModel";
    info->vocab_size = h->vocab_size;
    info->max_positions = h->n_positions;
    info->n_layer = h->n_layer;
    info->n_head = h->n_head;
    info->d_model = h->n_embd;
    info->dropout = h->dropout;
    info->causal_lm = !h->seq_cls; // the classifier has no LM head to decode with
    info->typed_decode = info->causal_lm; // gpt_decode.c: the blocks' products, the head
    info->typed_decode_only = info->causal_lm; // and the token embeddings, from the head's
}

static zy_status gpt_init(zy_model *m, const zy_config *c, zy_model_info *info) {
    gpt_hparams *h = zy_calloc(1, sizeof *h);
    if (!h) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gpt: out of memory");
    zy_model_set_impl(m, h);
    zy_status st = zy__gpt_read_config(c, h);
    if (!st) st = declare_tensors(zy_model_table(m), h);
    if (!st) fill_info(h, info);
    return st; // on failure the caller frees the model, and h with it (gpt_free)
}

static void gpt_free(zy_model *m) {
    gpt_hparams *h = zy_model_impl(m);
    if (h) zy__labels_free(&h->labels);
    zy_free(h);
}

static zy_status gpt_write_config(const zy_model *m, zy_config *c) {
    return zy__gpt_write_config(zy_model_impl(m), c);
}

static zy_status gpt_set_dropout(zy_model *m, float p, zy_model_info *info) {
    gpt_hparams *h = zy_model_impl(m);
    h->dropout = p;
    info->dropout = p;
    return ZY_STATUS_OK;
}

// Matmul FLOPs (2 per multiply-add) times 3 (forward, and backward's two products), plus
// attention's QKᵀ and AV over the full T×T (as llm.c and PyTorch profilers count them).
static double gpt_train_flops(const zy_model *m, int B, int T) {
    const gpt_hparams *h = zy_model_impl(m);
    double C = h->n_embd, L = h->n_layer, V = h->vocab_size, N = (double)B * T;
    double per_token = 2.0 * (L * 12.0 * C * C + (h->seq_cls ? 0.0 : C * V));
    double attn = L * 2.0 * 2.0 * (double)B * T * (double)T * C;
    double head = h->seq_cls ? 2.0 * C * h->labels.n * B : 0.0;
    return 3.0 * (per_token * N + attn + head);
}

// ---- sessions ----------------------------------------------------------------------------

// Block l's views over per-tensor pointers (weights, or gradients with NULL for frozen).
static gpt_layer layer_view(float *(*ptr)(const void *, int), const void *src, int l) {
    gpt_layer g = {0};
    float **f[GPT_TENSORS_PER_LAYER] = {&g.ln1w, &g.ln1b, &g.self_attn.in_proj_weight,
                                        &g.self_attn.in_proj_bias, &g.self_attn.out_proj_weight,
                                        &g.self_attn.out_proj_bias, &g.ln2w, &g.ln2b, &g.w1,
                                        &g.b1, &g.w2, &g.b2};
    for (int k = 0; k < GPT_TENSORS_PER_LAYER; k++) *f[k] = ptr(src, GPT_T_LAYER(l, k));
    return g;
}

static gpt_weights outer_view(float *(*ptr)(const void *, int), const void *src, int L,
                              bool seq_cls) {
    return (gpt_weights){.wte = ptr(src, GPT_T_WTE), .wpe = ptr(src, GPT_T_WPE),
                         .lnfw = ptr(src, GPT_T_LNF_W(L)), .lnfb = ptr(src, GPT_T_LNF_B(L)),
                         .score = seq_cls ? ptr(src, GPT_T_SCORE(L)) : NULL};
}

static void gpt_session_free(zy_session *s) {
    gpt_session *g = zy_session_impl(s);
    if (!g) return;
    zy__gpt_decode_free(g);
    zy_free(g->typed);
    zy_free(g->acts);
    zy_free(g->w);
    zy_free(g->dw);
    zy_free(g->lora);
    zy_free(g);
}

// Block l's adapters: c_attn on the whole fused q|k|v projection, attn.c_proj, c_fc,
// mlp.c_proj.
static void layer_lora(const zy_session *s, int l, zy_block_lora *b) {
    static const int k[4] = {2, 4, 8, 10}; // the Conv1D weights in BLOCK[]
    static const int j[4] = {ZY_BLOCK_SELF_IN, ZY_BLOCK_SELF_OUT, ZY_BLOCK_FF1, ZY_BLOCK_FF2};
    memset(b, 0, sizeof *b);
    for (int i = 0; i < 4; i++) zy__lora_block_add(s, b, j[i], GPT_T_LAYER(l, k[i]), 0);
}

static zy_status gpt_session_init(zy_session *s, const zy_session_params *p) {
    const zy_model *m = zy_session_model(s);
    gpt_session *g = zy_calloc(1, sizeof *g);
    if (!g) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gpt session: out of memory");
    zy_session_set_impl(s, g);
    g->h = *(const gpt_hparams *)zy_model_impl(m);
    int L = g->h.n_layer;
    g->w = zy_calloc((size_t)L, sizeof *g->w);
    if (p->training) g->dw = zy_calloc((size_t)L, sizeof *g->dw);
    g->n_seq = p->n_seq;
    g->kv_cache = p->kv_cache;
    g->keep_attention = p->attention_weights;
    if (!g->w || (p->training && !g->dw))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gpt session: out of memory");
    for (int l = 0; l < L; l++) g->w[l] = layer_view(zy__weight_view, m, l);
    g->ew = outer_view(zy__weight_view, m, L, g->h.seq_cls);
    if (p->training) {
        for (int l = 0; l < L; l++) g->dw[l] = layer_view(zy__grad_view, s, l);
        g->edw = outer_view(zy__grad_view, s, L, g->h.seq_cls);
    }
    if (zy_model_tensor_typed(m, GPT_T_WTE)) { // a weight type: decoding reads the copies
        static const int k[4] = {2, 4, 8, 10}; // the Conv1D weights in BLOCK[]
        static const int j[4] = {ZY_BLOCK_SELF_IN, ZY_BLOCK_SELF_OUT, ZY_BLOCK_FF1, ZY_BLOCK_FF2};
        if (!(g->typed = zy_calloc((size_t)L, sizeof *g->typed)))
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gpt session: out of memory");
        for (int l = 0; l < L; l++)
            for (int i = 0; i < 4; i++) {
                const zy_wmatrix *t = zy_model_tensor_typed(m, GPT_T_LAYER(l, k[i]));
                if (t) g->typed[l][j[i]] = *t;
            }
        g->head_typed = zy_model_tensor_typed(m, GPT_T_WTE);
    }
    if (zy_model_has_adapter(m)) {
        g->lora_dropout = zy_model_lora_config(m)->dropout;
        if (!(g->lora = zy_calloc((size_t)L, sizeof *g->lora)))
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gpt session: out of memory");
        for (int l = 0; l < L; l++) layer_lora(s, l, &g->lora[l]);
        if (g->h.seq_cls) zy_session_lora(s, GPT_T_SCORE(L), &g->score_lora);
    }
    return ZY_STATUS_OK;
}

// "logits" (B, T, V) until a backward overwrites them (GPT2ForSequenceClassification:
// (B, num_labels), which backward leaves); "hidden" (B, T, C), the final
// layernorm's output (Hugging Face GPT2Model's last_hidden_state); "attentions.L"
// (B, H, T, T), layer L's attention probabilities when the session keeps them (causal:
// 0 above the diagonal).
static const float *gpt_output(const zy_session *s, const char *name, int *ndim,
                               int64_t *shape) {
    const gpt_session *g = zy_session_impl(s);
    int B = g->B, T = g->T;
    int64_t sh[4] = {B, T, 0, 0};
    int nd = 3;
    const float *out;
    gpt_acts a = zy__gpt_acts(g);
    if (!strcmp(name, "logits") && g->h.seq_cls && g->outputs_ok) {
        out = a.cls_logits, nd = 2, sh[1] = g->h.labels.n; // (B, num_labels)
    } else if (!strcmp(name, "logits") && g->logits_ok) {
        out = a.logits, sh[2] = g->h.vocab_size;
    } else if (!strcmp(name, "hidden") && g->outputs_ok) {
        out = a.lnf, sh[2] = g->h.n_embd;
    } else {
        int l = zy__attention_output_layer(name, g->h.n_layer);
        if (l < 0 || !g->keep_attention || !g->outputs_ok) return NULL;
        zy_block_config bc = zy__gpt_block_config(g, B, T, l);
        out = zy_block_attention_weights(a.blocks + (size_t)l * a.block_acts, &bc, false);
        nd = 4, sh[1] = g->h.n_head, sh[2] = T, sh[3] = T;
    }
    if (ndim) *ndim = nd;
    if (shape) memcpy(shape, sh, (size_t)nd * sizeof *sh);
    return out;
}

const zy_model_ops zy__gpt_ops = {
    .model_type = "gpt2",
    .architectures = ARCHITECTURES,
    .presets = zy__gpt_presets,
    .preset = zy__gpt_preset,
    .init = gpt_init,
    .free = gpt_free,
    .write_config = gpt_write_config,
    .set_dropout = gpt_set_dropout,
    .train_flops = gpt_train_flops,
    .session_init = gpt_session_init,
    .session_free = gpt_session_free,
    .prepare = zy__gpt_prepare,
    .forward = zy__gpt_forward,
    .backward = zy__gpt_backward,
    .output = gpt_output,
    .decode = zy__gpt_decode,
    .seq_reset = zy__gpt_seq_reset,
    .seq_len = zy__gpt_seq_len,
    .seq_copy = zy__gpt_seq_copy,
    .metrics = zy__gpt_metrics,
};
