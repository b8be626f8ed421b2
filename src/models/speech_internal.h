// Private to src/models/speech*.c: the CTC speech encoder's hyper-parameters, its tensor
// table layout, the weight/gradient views and the per-session state. The model object is
// the generic zy_model (model.h); this is what the implementation keeps inside it.
#ifndef ZHUYI_MODELS_SPEECH_INTERNAL_H
#define ZHUYI_MODELS_SPEECH_INTERNAL_H

#include "zhuyi/attention.h"
#include "zhuyi/model.h"

extern const char *const zy__speech_arch_names[]; // NULL-terminated

#define SPEECH_MAX_CONV 4

typedef struct speech_hparams {
    int n_layer;          // L, num_hidden_layers
    int n_head;           // H, num_attention_heads (C % H == 0)
    int hidden;           // C, hidden_size (also every convolution's output channels)
    int intermediate;     // FF, intermediate_size
    int n_mels;           // F, num_mel_bins: features per input frame
    int n_conv;           // num_conv_layers, each of stride 2 (time / 2^n_conv)
    int conv_kernel;      // K, conv_kernel_size (odd), padding K / 2
    int vocab;            // V, vocab_size: the CTC labels, the blank included
    int blank;            // pad_token_id: the CTC blank
    int max_frames;       // max_source_positions: the longest input, in frames
    bool gelu_tanh;       // hidden_act "gelu_new" / "gelu_pytorch_tanh" (else "gelu": erf)
    float eps;            // layer_norm_eps (1e-5)
    float hidden_dropout; // hidden_dropout: after the positions and on both residual branches
    float attn_dropout;   // attention_dropout
    float init_range;     // initializer_range (the linear layers' std)
} speech_hparams;

// speech_config.c: config.json <-> hparams.
zy_status zy__speech_read_config(const zy_config *c, speech_hparams *h);
zy_status zy__speech_write_config(const speech_hparams *h, zy_config *c);
zy_status zy__speech_preset(const char *name, zy_config *c);
extern const char *const zy__speech_presets[];
// Frames after convolution i (0-based) of an input of T frames.
int zy__speech_conv_len(const speech_hparams *h, int T, int i);
// Frames the encoder sees (after every convolution).
int zy__speech_out_len(const speech_hparams *h, int T);

// ---- the tensor table (= flat layout) ------------------------------------------------------
// model.subsample.conv_layers.{i}.weight (C, F or C, K), .bias (C); per layer l,
// model.encoder.layers.{l}.: self_attn.q_proj.weight, k_proj.weight, v_proj.weight (C,C)
// (adjacent: the block's (3C, C) projection), q_proj.bias, k_proj.bias, v_proj.bias (C),
// self_attn.out_proj.weight (C,C), .bias (C), fc1.weight (FF,C), .bias (FF), fc2.weight
// (C,FF), .bias (C), self_attn_layer_norm.{weight,bias}, final_layer_norm.{weight,bias} (C);
// model.encoder.layer_norm.{weight,bias} (C); lm_head.weight (V,C), .bias (V).
enum {
    SP_L_QW = 0, SP_L_KW, SP_L_VW, SP_L_QB, SP_L_KB, SP_L_VB,
    SP_L_OW, SP_L_OB, SP_L_F1W, SP_L_F1B, SP_L_F2W, SP_L_F2B,
    SP_L_LN1W, SP_L_LN1B, SP_L_LN2W, SP_L_LN2B,
    SP_TENSORS_PER_LAYER
};
#define SP_T_CONVW(i) (2 * (i))
#define SP_T_CONVB(i) (2 * (i) + 1)
#define SP_T_LAYER(h, l, k) (2 * (h)->n_conv + SP_TENSORS_PER_LAYER * (l) + (k))
#define SP_T_LNW(h) SP_T_LAYER(h, (h)->n_layer, 0) // after the layers: the final LN, lm_head
#define SP_T_LNB(h) (SP_T_LNW(h) + 1)
#define SP_T_HEADW(h) (SP_T_LNW(h) + 2)
#define SP_T_HEADB(h) (SP_T_LNW(h) + 3)

// Weights (or gradients: NULL for frozen tensors) outside the layers.
typedef struct speech_weights {
    float *conv_w[SPEECH_MAX_CONV], *conv_b[SPEECH_MAX_CONV];
    float *lnw, *lnb;          // (C) the final LayerNorm
    float *head_w, *head_b;    // (V,C) (V)
} speech_weights;

// ---- sessions ------------------------------------------------------------------------------
typedef struct speech_session {
    speech_hparams h;
    bool keep_attention;       // zy_session_params.attention_weights
    zy_block_params *w, *dw;   // (L) weight and gradient views (dw NULL when not training)
    speech_weights ew, edw;
    float *acts;               // the activation block for cap_B x cap_T frames
    int cap_B, cap_T;
    int32_t *ints;             // lengths: (n_conv + 1, cap_B) frames, (cap_B) labels
    int32_t *labels;           // (cap_B, cap_T) the label sequences, packed for CTC
    // The last forward
    int B, T, To, Lmax;        // rows, input frames, encoder frames, longest label sequence
    bool outputs_ok;
    bool loss_pending;
    float count;               // labels scored
    float p_hidden, p_attn;    // dropout in force (0 in evaluation mode)
    uint64_t seed;
} speech_session;

typedef struct speech_acts {
    float *feats;              // (B, T, F) the batch's frames, padding zeroed
    float *conv_pre[SPEECH_MAX_CONV], *conv_out[SPEECH_MAX_CONV]; // (B, T_i, C)
    float *conv_scratch;       // the largest zy_conv1d_scratch_floats
    float *res;                // (L+1, B·To, C) each layer's input, and the last output
    size_t res_stride;
    float *blocks;             // (L, block_acts)
    size_t block_acts;
    float *hidden;             // (B·To, C) the final LayerNorm's output
    float *ln_mean, *ln_rstd;  // (B·To)
    float *logits, *dlogits;   // (B·To, V)
    float *lengths_out;        // (B) encoder frames per row, as floats ("lengths")
    void *ctc_work;            // zy_ctc_work_size(B, To, T)
    float *dres, *d1;          // (B·To, C)
    float *dconv;              // (B, T_0, C) a convolution's output gradient
    float *dconv2;             // (B, T_0, C) its pre-activation / input gradient
    float *scratch;            // the blocks' scratch
    size_t scratch_floats;
} speech_acts;

speech_acts zy__speech_acts(const speech_session *g);
size_t zy__speech_acts_floats(const speech_session *g, int B, int T);
zy_block_config zy__speech_block_config(const speech_session *g, int B, int l,
                                        const int *key_lengths);

zy_status zy__speech_prepare(zy_session *s, int B, int T, int seq_dec);
zy_status zy__speech_forward(zy_session *s, const zy_batch *b, float *loss, double *count);
zy_status zy__speech_backward(zy_session *s, float loss_scale);

#endif
