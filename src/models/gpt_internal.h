// Private to src/models/gpt*.c: GPT-2's hyper-parameters, its tensor table layout, the
// weight/gradient views and the per-session state. The model object itself is the
// generic zy_model (model.h); this is what the GPT implementation keeps inside it.
#ifndef ZHUYI_MODELS_GPT_INTERNAL_H
#define ZHUYI_MODELS_GPT_INTERNAL_H

#include "zhuyi/attention.h"
#include "zhuyi/model.h"

// Tensors per block (ln_1 w/b, c_attn w/b, attn.c_proj w/b, ln_2 w/b, c_fc w/b,
// mlp.c_proj w/b) and outside blocks (wte, wpe, ln_f w/b). Table order (= flat layout,
// GPT2LMHeadModel.named_parameters() order): wte, wpe, the blocks, ln_f.weight, ln_f.bias.
#define GPT_TENSORS_PER_LAYER 12
#define GPT_TENSORS_OUTSIDE 4
#define GPT_T_WTE 0
#define GPT_T_WPE 1
#define GPT_T_LAYER(l, k) (2 + GPT_TENSORS_PER_LAYER * (l) + (k))
#define GPT_T_LNF_W(L) (2 + GPT_TENSORS_PER_LAYER * (L))
#define GPT_T_LNF_B(L) (3 + GPT_TENSORS_PER_LAYER * (L))

typedef struct gpt_hparams {
    int n_layer;              // L
    int n_head;               // H
    int n_embd;               // C (C % H == 0)
    int n_positions;          // P, the longest sequence
    int vocab_size;           // V
    float layer_norm_epsilon; // 1e-5
    float dropout;            // embedding, attention-weight and residual dropout (HF's
                              // embd_pdrop = attn_pdrop = resid_pdrop)
} gpt_hparams;

// gpt_config.c: config.json <-> hparams (fields, defaults and checks listed there).
zy_status zy__gpt_read_config(const zy_config *c, gpt_hparams *h);
zy_status zy__gpt_write_config(const gpt_hparams *h, zy_config *c);
zy_status zy__gpt_preset(const char *name, zy_config *c);
extern const char *const zy__gpt_presets[];

// One block's parameters or gradients (a gradient view has NULL for frozen tensors).
// The attention part uses the MHA field names: in_proj = c_attn (stored (3C, C)),
// out_proj = attn.c_proj (stored (C, C)); Conv1D weights are kept transposed.
typedef struct gpt_layer {
    float *ln1w, *ln1b;    // (C) (C)
    zy_mha_params attn;    //
    float *ln2w, *ln2b;    // (C) (C)
    float *fcw, *fcb;      // (4C, C) (4C)   c_fc, stored (out, in)
    float *projw, *projb;  // (C, 4C) (C)    mlp.c_proj, stored (out, in)
} gpt_layer;

typedef struct gpt_weights {
    float *wte;         // (V, C)  also the LM head (tied)
    float *wpe;         // (P, C)
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

// The per-session state: views of the weights (and gradients), activations for the
// prepared shape, what the last forward was, and the KV caches for decoding.
typedef struct gpt_session {
    gpt_hparams h;
    gpt_layer *w, *dw;      // (L) weight and gradient views (dw NULL when not training)
    gpt_weights ew, edw;    // the same for the tensors outside blocks

    float *acts;            // the activation block for cap_B x cap_T (zy__gpt_acts)
    int cap_B, cap_T;
    int flash_threads;      // threads the attention scratch was sized for

    // The last forward: shape, whether it had targets, the dropout it used.
    int B, T;
    bool backward_ok;       // a forward with targets whose backward has not run
    bool logits_ok;         // the logits of the last forward are intact
    int n_valid;
    float p;                // dropout probability in force (0 in evaluation mode)
    uint64_t seed;

    // Decoding: one KV cache per sequence (allocated when first used) and a scratch.
    zy_kv_cache **caches;   // (n_seq)
    float *dec;
} gpt_session;

// Seed of dropout site `site` (0 embedding, then per layer 1+3l attention weights,
// 2+3l attention output, 3+3l MLP output): distinct streams from the one step seed.
uint64_t zy__gpt_site_seed(const gpt_session *g, int site);

// Causal self-attention of block l for training (gpt_attn.c): acts saved by forward for
// backward, scratch temporary. Backward OVERWRITES dx (the layernorm output's gradient)
// and adds into dg's attention gradients (NULL ones are skipped).
size_t zy__gpt_attn_acts_floats(const gpt_session *g, int B, int T);
size_t zy__gpt_attn_scratch_floats(const gpt_session *g, int B, int T);
zy_status zy__gpt_attn_forward(const gpt_session *g, float *out, float *acts, float *scratch,
                               size_t scratch_floats, const float *x, const gpt_layer *w,
                               int B, int T, int l);
zy_status zy__gpt_attn_backward(const gpt_session *g, float *dx, const gpt_layer *dw,
                                float *scratch, size_t scratch_floats, const float *dout,
                                float *acts, const float *x, const gpt_layer *w, int B, int T,
                                int l);

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

size_t zy__gpt_acts_floats(const gpt_session *g, int B, int T);
gpt_acts zy__gpt_acts(const gpt_session *g, int B, int T);
gpt_layer_acts zy__gpt_layer_acts(const gpt_session *g, int B, int T, int l);

// The model operations (gpt_forward.c, gpt_backward.c, gpt_decode.c).
zy_status zy__gpt_prepare(zy_session *s, int batch, int seq, int seq_dec);
zy_status zy__gpt_forward(zy_session *s, const zy_batch *b, float *loss, double *count);
zy_status zy__gpt_backward(zy_session *s, float loss_scale);
zy_status zy__gpt_decode(zy_session *s, int n_seq, const int *seqs, const int *tokens, int n,
                         float *logits);
void zy__gpt_seq_reset(zy_session *s, int seq);
int zy__gpt_seq_len(const zy_session *s, int seq);
zy_status zy__gpt_seq_copy(zy_session *s, int dst, int src);
void zy__gpt_decode_free(gpt_session *g, int n_seq);

#endif
