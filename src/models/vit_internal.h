// Private to src/models/vit*.c: the Vision Transformer's hyper-parameters, its tensor
// table layout, the weight/gradient views and the per-session state. The model object is
// the generic zy_model (model.h); this is what the ViT implementation keeps inside it.
#ifndef ZHUYI_MODELS_VIT_INTERNAL_H
#define ZHUYI_MODELS_VIT_INTERNAL_H

#include "zhuyi/attention.h"
#include "zhuyi/model.h"

#include "models/task_head.h"

// The Hugging Face class a config.json names (the only one so far): the body and a
// classifier on the final LayerNorm's [CLS] state.
extern const char *const zy__vit_arch_names[]; // NULL-terminated

typedef struct vit_hparams {
    int n_layer;          // L, num_hidden_layers
    int n_head;           // H, num_attention_heads (C % H == 0)
    int hidden;           // C, hidden_size
    int intermediate;     // FF, intermediate_size
    int image_size;       // S, image_size (square images S x S)
    int patch_size;       // P, patch_size (S % P == 0)
    int channels;         // num_channels
    int n_patches;        // (S / P)^2; tokens T = n_patches + 1 ([CLS] first)
    bool gelu_tanh;       // hidden_act "gelu_new" / "gelu_pytorch_tanh" (else "gelu": erf)
    float eps;            // layer_norm_eps (1e-12)
    float hidden_dropout; // hidden_dropout_prob: embeddings and both residual branches
    float attn_dropout;   // attention_probs_dropout_prob
    float init_range;     // initializer_range
    int encoder_stride;   // encoder_stride (kept for the config; unused)
    zy__labels labels;    // num_labels, id2label, problem_type
} vit_hparams;

// vit_config.c: config.json <-> hparams.
zy_status zy__vit_read_config(const zy_config *c, vit_hparams *h);
zy_status zy__vit_write_config(const vit_hparams *h, zy_config *c);
zy_status zy__vit_preset(const char *name, zy_config *c);
extern const char *const zy__vit_presets[];

// ---- the tensor table (= flat layout) ------------------------------------------------------
// vit.embeddings.cls_token (1,1,C), .position_embeddings (1,T,C),
// .patch_embeddings.projection.weight (C,ch,P,P), .bias (C); per layer l,
// vit.encoder.layer.{l}.: attention.attention.query.weight, key.weight, value.weight (C,C)
// (adjacent: the block's (3C, C) projection), query.bias, key.bias, value.bias (C),
// attention.output.dense.weight (C,C), .bias (C), intermediate.dense.weight
// (FF,C), .bias (FF), output.dense.weight (C,FF), .bias (C), layernorm_before.{weight,bias},
// layernorm_after.{weight,bias} (C); vit.layernorm.{weight,bias} (C); classifier.weight
// (K,C), .bias (K).
enum {
    VIT_L_QW = 0, VIT_L_KW, VIT_L_VW, VIT_L_QB, VIT_L_KB, VIT_L_VB,
    VIT_L_AOW, VIT_L_AOB, VIT_L_IW, VIT_L_IB, VIT_L_OW, VIT_L_OB,
    VIT_L_LN1W, VIT_L_LN1B, VIT_L_LN2W, VIT_L_LN2B,
    VIT_TENSORS_PER_LAYER
};
#define VIT_T_CLS 0
#define VIT_T_POS 1
#define VIT_T_PATCH_W 2
#define VIT_T_PATCH_B 3
#define VIT_T_LAYER0 4
#define VIT_T_LAYER(l, k) (VIT_T_LAYER0 + VIT_TENSORS_PER_LAYER * (l) + (k))
#define VIT_T_LNW(L) VIT_T_LAYER(L, 0) // after the L layers: vit.layernorm, classifier
#define VIT_T_LNB(L) (VIT_T_LNW(L) + 1)
#define VIT_T_CLSW(L) (VIT_T_LNW(L) + 2)
#define VIT_T_CLSB(L) (VIT_T_LNW(L) + 3)

// Weights (or gradients: NULL for frozen tensors) outside the layers.
typedef struct vit_weights {
    float *cls, *pos;          // (C) (T,C)
    float *patch_w, *patch_b;  // (C, ch·P·P) (C)
    float *lnw, *lnb;          // (C) the final LayerNorm
    float *cls_w, *cls_b;      // (K,C) (K) the classifier
} vit_weights;

// ---- sessions ------------------------------------------------------------------------------
typedef struct vit_session {
    vit_hparams h;             // a copy (labels' names borrowed from the model's)
    bool keep_attention;       // zy_session_params.attention_weights
    zy_block_params *w, *dw;   // (L) weight and gradient views (dw NULL when not training)
    vit_weights ew, edw;
    float *acts;               // the activation block for cap_B images
    int cap_B;
    // The last forward
    int B;
    bool outputs_ok;           // hidden, logits, attentions
    bool loss_pending;         // scored: backward allowed once
    bool scored;               // scored (the metrics)
    float p_hidden, p_attn;    // dropout in force (0 in evaluation mode)
    uint64_t seed;
    zy__seqcls seq;            // the classifier's loss and accuracy
} vit_session;

// The activation block carved for B images (T = n_patches + 1 tokens each).
typedef struct vit_acts {
    float *pixels;             // (B, ch, S, S) the batch's images, kept for backward
    float *patches;            // (B, n_patches, C) patch embeddings
    float *patch_scratch;      // zy_patch_embed_scratch_floats
    float *res;                // (L+1, B·T, C) each layer's input, and the last output
    size_t res_stride;
    float *blocks;             // (L, block_acts) what each layer saves
    size_t block_acts;
    float *hidden;             // (B·T, C) the final LayerNorm's output
    float *ln_mean, *ln_rstd;  // (B·T)
    float *cls_x;              // (B, C) the [CLS] rows of hidden
    float *logits, *dlogits;   // (B, K)
    float *seq_buf;            // zy__seqcls's share
    float *dres, *d1;          // (B·T, C) gradients
    float *dcls;               // (B, C)
    float *scratch;            // the blocks' scratch
    size_t scratch_floats;
} vit_acts;

vit_acts zy__vit_acts(const vit_session *g);
size_t zy__vit_acts_floats(const vit_session *g, int B);
zy_block_config zy__vit_block_config(const vit_session *g, int B, int l);
uint64_t zy__vit_site_seed(const vit_session *g, int site);

zy_status zy__vit_prepare(zy_session *s, int B, int T, int seq_dec);
zy_status zy__vit_forward(zy_session *s, const zy_batch *b, float *loss, double *count);
zy_status zy__vit_backward(zy_session *s, float loss_scale);
void zy__vit_metrics(const zy_session *s, zy_metric_set *out);

#endif
