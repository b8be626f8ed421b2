// A speech recogniser as a zy_model implementation: log-mel frames -> a convolutional
// subsampling front end -> the pre-LN Transformer encoder -> per-frame label logits,
// trained with CTC. The shape of Speech2Text's encoder (Wang et al. 2020) and of the
// CTC models of ESPnet, with a CTC head in place of a decoder; model_type "speech_ctc"
// is zhuyi's own (docs/FORMATS.md), its tensor names those of Speech2Text's encoder where
// the parts agree. The passes are speech_forward.c, config.json speech_config.c.
//
// Initialisation: the convolutions N(0, 1/fan_in) (unit-variance features stay of order
// one through them; fan_in = input channels x kernel), linear weights N(0,
// initializer_range), biases 0, LayerNorm gains 1.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "zhuyi/lora.h"

#include "core/internal.h"
#include "models/impl.h"
#include "models/outputs.h"
#include "models/speech_internal.h"

typedef struct layer_spec {
    const char *suffix;
    char rows, cols; // 'C', 'F' (FF) or 0 (1-D)
    zy_init init;
} layer_spec;

static const layer_spec LAYER[SP_TENSORS_PER_LAYER] = {
    {"self_attn.q_proj.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"self_attn.k_proj.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"self_attn.v_proj.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"self_attn.q_proj.bias", 'C', 0, ZY_INIT_ZEROS},
    {"self_attn.k_proj.bias", 'C', 0, ZY_INIT_ZEROS},
    {"self_attn.v_proj.bias", 'C', 0, ZY_INIT_ZEROS},
    {"self_attn.out_proj.weight", 'C', 'C', ZY_INIT_NORMAL},
    {"self_attn.out_proj.bias", 'C', 0, ZY_INIT_ZEROS},
    {"fc1.weight", 'F', 'C', ZY_INIT_NORMAL},
    {"fc1.bias", 'F', 0, ZY_INIT_ZEROS},
    {"fc2.weight", 'C', 'F', ZY_INIT_NORMAL},
    {"fc2.bias", 'C', 0, ZY_INIT_ZEROS},
    {"self_attn_layer_norm.weight", 'C', 0, ZY_INIT_ONES},
    {"self_attn_layer_norm.bias", 'C', 0, ZY_INIT_ZEROS},
    {"final_layer_norm.weight", 'C', 0, ZY_INIT_ONES},
    {"final_layer_norm.bias", 'C', 0, ZY_INIT_ZEROS},
};

static zy_status declare_tensors(zy_tensor_table *t, const speech_hparams *h) {
    int64_t C = h->hidden, FF = h->intermediate, K = h->conv_kernel, V = h->vocab;
    float std = h->init_range;
    char name[128];
    zy_status st;
#define NAME(...) (snprintf(name, sizeof name, __VA_ARGS__), name)
#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define ADD(...) zy__tensor_add(t, __VA_ARGS__)
    for (int i = 0; i < h->n_conv; i++) {
        int64_t in = i ? C : h->n_mels;
        if ((st = ADD(NAME("model.subsample.conv_layers.%d.weight", i), 3, SHAPE(C, in, K),
                      ZY_INIT_NORMAL, (float)(1.0 / sqrt((double)(in * K))), true, false,
                      i ? "hidden_size, hidden_size, conv_kernel_size"
                        : "hidden_size, num_mel_bins, conv_kernel_size")) ||
            (st = ADD(NAME("model.subsample.conv_layers.%d.bias", i), 1, SHAPE(C),
                      ZY_INIT_ZEROS, 0, false, false, NULL)))
            return st;
    }
    for (int l = 0; l < h->n_layer; l++)
        for (int k = 0; k < SP_TENSORS_PER_LAYER; k++) {
            const layer_spec *s = &LAYER[k];
            int64_t rows = s->rows == 'F' ? FF : C, cols = !s->cols ? 0 : s->cols == 'F' ? FF : C;
            if ((st = ADD(NAME("model.encoder.layers.%d.%s", l, s->suffix), cols ? 2 : 1,
                          SHAPE(rows, cols), s->init, std, cols > 0, false, NULL)))
                return st;
        }
    if ((st = ADD("model.encoder.layer_norm.weight", 1, SHAPE(C), ZY_INIT_ONES, 0, false, false,
                  NULL)) ||
        (st = ADD("model.encoder.layer_norm.bias", 1, SHAPE(C), ZY_INIT_ZEROS, 0, false, false,
                  NULL)) ||
        (st = ADD("lm_head.weight", 2, SHAPE(V, C), ZY_INIT_NORMAL, std, true, false,
                  "vocab_size, hidden_size")) ||
        (st = ADD("lm_head.bias", 1, SHAPE(V), ZY_INIT_ZEROS, 0, false, false, "vocab_size")))
        return st;
#undef ADD
#undef SHAPE
#undef NAME
    return ZY_STATUS_OK;
}

static zy_status speech_init(zy_model *m, const zy_config *c, zy_model_info *info) {
    speech_hparams *h = zy_calloc(1, sizeof *h);
    if (!h) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "speech_ctc: out of memory");
    zy_model_set_impl(m, h);
    zy_status st = zy__speech_read_config(c, h);
    if (!st) st = declare_tensors(zy_model_table(m), h);
    if (st) return st; // the caller frees the model, and h with it
    info->architecture = zy__speech_arch_names[0];
    info->vocab_size = h->vocab;
    info->max_positions = h->max_frames;
    info->n_layer = h->n_layer;
    info->n_head = h->n_head;
    info->d_model = h->hidden;
    info->dropout = h->hidden_dropout;
    info->decoder_start_id = info->eos_id = -1;
    info->audio_features = h->n_mels;
    return ZY_STATUS_OK;
}

static void speech_free(zy_model *m) { zy_free(zy_model_impl(m)); }

static zy_status speech_write_config(const zy_model *m, zy_config *c) {
    return zy__speech_write_config(zy_model_impl(m), c);
}

// One value for both sites: hidden_dropout and attention_dropout.
static zy_status speech_set_dropout(zy_model *m, float p, zy_model_info *info) {
    speech_hparams *h = zy_model_impl(m);
    h->hidden_dropout = h->attn_dropout = p;
    info->dropout = p;
    return ZY_STATUS_OK;
}

// Matmul FLOPs (2 per multiply-add) x 3: the convolutions per output frame, per encoder
// frame the layers' 4C² + 2·C·FF and attention over To x To, the head.
static double speech_train_flops(const zy_model *m, int B, int T) {
    const speech_hparams *h = zy_model_impl(m);
    double C = h->hidden, L = h->n_layer, FF = h->intermediate, K = h->conv_kernel;
    double conv = 0;
    for (int i = 0; i < h->n_conv; i++)
        conv += 2.0 * zy__speech_conv_len(h, T, i) * C * (i ? C : h->n_mels) * K;
    double To = zy__speech_out_len(h, T);
    double per_frame = 2.0 * L * (4.0 * C * C + 2.0 * C * FF) + 2.0 * C * h->vocab;
    double attn = L * 2.0 * 2.0 * To * To * C;
    return 3.0 * (double)B * (conv + per_frame * To + attn);
}

// ---- sessions ------------------------------------------------------------------------------

static zy_block_params layer_view(float *(*ptr)(const void *, int), const void *src,
                                  const speech_hparams *h, int l) {
    zy_block_params g = {0};
#define P(k) ptr(src, SP_T_LAYER(h, l, k))
    g.self_attn = (zy_mha_params){.in_proj_weight = P(SP_L_QW), .in_proj_bias = P(SP_L_QB),
                                  .out_proj_weight = P(SP_L_OW), .out_proj_bias = P(SP_L_OB)};
    g.ln1w = P(SP_L_LN1W), g.ln1b = P(SP_L_LN1B);
    g.w1 = P(SP_L_F1W), g.b1 = P(SP_L_F1B);
    g.w2 = P(SP_L_F2W), g.b2 = P(SP_L_F2B);
    g.ln2w = P(SP_L_LN2W), g.ln2b = P(SP_L_LN2B);
#undef P
    return g;
}

static speech_weights outer_view(float *(*ptr)(const void *, int), const void *src,
                                 const speech_hparams *h) {
    speech_weights w = {.lnw = ptr(src, SP_T_LNW(h)), .lnb = ptr(src, SP_T_LNB(h)),
                        .head_w = ptr(src, SP_T_HEADW(h)), .head_b = ptr(src, SP_T_HEADB(h))};
    for (int i = 0; i < h->n_conv; i++)
        w.conv_w[i] = ptr(src, SP_T_CONVW(i)), w.conv_b[i] = ptr(src, SP_T_CONVB(i));
    return w;
}

static void speech_session_free(zy_session *s) {
    speech_session *g = zy_session_impl(s);
    if (!g) return;
    zy_free(g->acts);
    zy_free(g->ints);
    zy_free(g->labels);
    zy_free(g->w);
    zy_free(g->dw);
    zy_free(g);
}

static zy_status speech_session_init(zy_session *s, const zy_session_params *p) {
    const zy_model *m = zy_session_model(s);
    const speech_hparams *h = zy_model_impl(m);
    if (zy_model_has_adapter(m))
        return zy__error(ZY_STATUS_UNSUPPORTED, "speech_ctc session: LoRA adapters are not "
                         "implemented for the speech encoder");
    speech_session *g = zy_calloc(1, sizeof *g);
    if (!g) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "speech_ctc session: out of memory");
    zy_session_set_impl(s, g);
    g->h = *h;
    g->keep_attention = p->attention_weights;
    int L = h->n_layer;
    g->w = zy_calloc((size_t)L, sizeof *g->w);
    if (p->training) g->dw = zy_calloc((size_t)L, sizeof *g->dw);
    if (!g->w || (p->training && !g->dw))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "speech_ctc session: out of memory");
    for (int l = 0; l < L; l++) g->w[l] = layer_view(zy__weight_view, m, h, l);
    g->ew = outer_view(zy__weight_view, m, h);
    if (p->training) {
        for (int l = 0; l < L; l++) {
            zy_status st;
            if ((st = zy__check_fused3(m, SP_T_LAYER(h, l, SP_L_QW), "speech_ctc session")) ||
                (st = zy__check_fused3(m, SP_T_LAYER(h, l, SP_L_QB), "speech_ctc session")))
                return st;
        }
        for (int l = 0; l < L; l++) g->dw[l] = layer_view(zy__grad_view, s, h, l);
        g->edw = outer_view(zy__grad_view, s, h);
    }
    return ZY_STATUS_OK;
}

// "logits" (B, To, V) per encoder frame, "lengths" (B) each row's encoder frames (as
// floats: frames past them are padding), "hidden" (B, To, C) after the final LayerNorm,
// "attentions.L" (B, H, To, To) with attention_weights.
static const float *speech_output(const zy_session *s, const char *name, int *ndim,
                                  int64_t *shape) {
    const speech_session *g = zy_session_impl(s);
    if (!g->outputs_ok) return NULL;
    speech_acts a = zy__speech_acts(g);
    int B = g->B, To = g->To;
    int64_t sh[4];
    int nd;
    const float *out;
    if (!strcmp(name, "hidden")) {
        out = a.hidden;
        nd = 3, sh[0] = B, sh[1] = To, sh[2] = g->h.hidden;
    } else if (!strcmp(name, "logits")) {
        out = a.logits;
        nd = 3, sh[0] = B, sh[1] = To, sh[2] = g->h.vocab;
    } else if (!strcmp(name, "lengths")) {
        out = a.lengths_out;
        nd = 1, sh[0] = B;
    } else {
        int l = zy__attention_output_layer(name, g->h.n_layer);
        if (!g->keep_attention || l < 0) return NULL;
        zy_block_config bc = zy__speech_block_config(g, B, l, NULL);
        out = zy_block_attention_weights(a.blocks + (size_t)l * a.block_acts, &bc, false);
        nd = 4, sh[0] = B, sh[1] = g->h.n_head, sh[2] = To, sh[3] = To;
    }
    if (ndim) *ndim = nd;
    if (shape) memcpy(shape, sh, (size_t)nd * sizeof *sh);
    return out;
}

const zy_model_ops zy__speech_ops = {
    .model_type = "speech_ctc",
    .architectures = zy__speech_arch_names,
    .presets = zy__speech_presets,
    .preset = zy__speech_preset,
    .init = speech_init,
    .free = speech_free,
    .write_config = speech_write_config,
    .set_dropout = speech_set_dropout,
    .train_flops = speech_train_flops,
    .session_init = speech_session_init,
    .session_free = speech_session_free,
    .prepare = zy__speech_prepare,
    .forward = zy__speech_forward,
    .backward = zy__speech_backward,
    .output = speech_output,
};
