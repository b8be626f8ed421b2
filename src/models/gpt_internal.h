// Private to src/models: the zy_gpt struct and the parameter/activation layouts shared by
// gpt.c (create, tensor table, init), gpt_forward.c, gpt_backward.c, gpt_decode.c and
// gpt_io.c. Not public API.
#ifndef ZHUYI_MODELS_GPT_INTERNAL_H
#define ZHUYI_MODELS_GPT_INTERNAL_H

#include "zhuyi/attention.h"
#include "zhuyi/gpt.h"

// Tensors per block (ln_1 w/b, c_attn w/b, attn.c_proj w/b, ln_2 w/b, c_fc w/b,
// mlp.c_proj w/b) and outside blocks (wte, wpe, ln_f w/b).
#define GPT_TENSORS_PER_LAYER 12
#define GPT_TENSORS_OUTSIDE 4

// One block's parameters (or gradients: the same view over the gradient array). The
// attention part is contiguous in MHA order (in_proj (3C,C), in_proj_bias (3C), out_proj
// (C,C), out_proj_bias (C)), which is exactly c_attn, c_attn.bias, c_proj, c_proj.bias
// with the Conv1D weights stored transposed.
typedef struct gpt_layer {
    float *ln1w, *ln1b;    // (C) (C)
    zy_mha_params attn;    //
    float *ln2w, *ln2b;    // (C) (C)
    float *fcw, *fcb;      // (4C, C) (4C)   c_fc, stored (out, in)
    float *projw, *projb;  // (C, 4C) (C)    mlp.c_proj, stored (out, in)
} gpt_layer;

// Views of the whole parameter (or gradient) array.
typedef struct gpt_weights {
    float *wte;  // (V, C)  also the LM head (tied)
    float *wpe;  // (P, C)
    float *lnfw, *lnfb; // (C) (C)
} gpt_weights;

// Activations saved by forward for one block, for a batch of N = B*T rows.
typedef struct gpt_layer_acts {
    float *ln1;             // (N, C)
    float *ln1_mean, *ln1_rstd; // (N)
    float *attn;            // zy__gpt_attn_acts_floats
    float *res_mid;         // (N, C) residual stream after attention
    float *ln2;             // (N, C)
    float *ln2_mean, *ln2_rstd; // (N)
    float *fc_pre, *fc_act; // (N, 4C) before and after GELU
} gpt_layer_acts;

struct zy_gpt {
    zy_gpt_config cfg;
    float *params, *grads; // (n_params) each, layout of `tensors`
    size_t n_params;
    zy_gpt_tensor *tensors;
    int n_tensors;
    char *names; // storage of the tensor names

    // Activations for batches of up to cap_B x cap_T (zy_gpt_prepare).
    float *acts;
    size_t acts_floats;
    int cap_B, cap_T;
    int flash_threads; // threads the attention scratch was sized for (zy_threads_get())

    // The last forward: shape, inputs, whether it had targets, dropout in force.
    int B, T;
    bool has_targets, backward_ok;
    int n_valid;
    bool training;
    uint64_t seed;

    // Decoding (gpt_decode.c), allocated by the first zy_gpt_decode.
    zy_kv_cache *cache;
    float *dec;
    size_t dec_floats;
};

// Block l's parameters inside base (the params or grads array).
gpt_layer zy__gpt_layer(const zy_gpt *m, float *base, int l);
gpt_weights zy__gpt_weights(const zy_gpt *m, float *base);

// Causal self-attention of block l for training (gpt_attn.c): acts saved by forward for
// backward, scratch temporary. Backward OVERWRITES dx (the layernorm output's gradient)
// and adds into dg's attention gradients.
size_t zy__gpt_attn_acts_floats(const zy_gpt *m, int B, int T);
size_t zy__gpt_attn_scratch_floats(const zy_gpt *m, int B, int T);
zy_status zy__gpt_attn_forward(const zy_gpt *m, float *out, float *acts, float *scratch,
                               size_t scratch_floats, const float *x, const gpt_layer *g,
                               int B, int T, int l);
zy_status zy__gpt_attn_backward(const zy_gpt *m, float *dx, const gpt_layer *dg,
                                float *scratch, size_t scratch_floats, const float *dout,
                                float *acts, const float *x, const gpt_layer *g, int B, int T,
                                int l);
// Dropout probability in force (0 when not training).
float zy__gpt_dropout(const zy_gpt *m);
// Seed of dropout site `site` (0 embedding, then per layer 1+3l attention weights,
// 2+3l attention output, 3+3l MLP output): distinct streams from the one step seed.
uint64_t zy__gpt_site_seed(const zy_gpt *m, int site);

// The activation block carved for a (B, T) batch. Sizes grow with B and T, so the block
// sized for (cap_B, cap_T) holds any smaller batch.
typedef struct gpt_acts {
    float *res;             // (L+1, N, C) residual stream entering each block, and final
    float *lnf;             // (N, C)
    float *lnf_mean, *lnf_rstd; // (N)
    float *logits;          // (N, V); dlogits in place after backward
    float *lse;             // (N)
    int *tokens, *targets;  // (N) copies of the last batch
    // Scratch (forward and backward, not saved):
    float *branch;          // (N, C) block branch output / its gradient
    float *dres;            // (N, C) gradient of the residual stream
    float *dln;             // (N, C) gradient of a layernorm output
    float *dfc_act, *dfc_pre; // (N, 4C)
    float *attn_scratch;    // zy__gpt_attn_scratch_floats
    size_t attn_scratch_floats;
    float *ce_rows;         // (GPT_CE_CHUNKS, V) per-chunk copies of a logits row
} gpt_acts;

#define GPT_CE_CHUNKS 16

size_t zy__gpt_acts_floats(const zy_gpt *m, int B, int T);
gpt_acts zy__gpt_acts(const zy_gpt *m, int B, int T);
gpt_layer_acts zy__gpt_layer_acts(const zy_gpt *m, int B, int T, int l);

#endif
