// Private to src/models/gpt*.c: GPT-2's hyper-parameters, its tensor table layout, the
// weight/gradient views and the per-session state. The model object itself is the
// generic zy_model (model.h); this is what the GPT implementation keeps inside it.
#ifndef ZHUYI_MODELS_GPT_INTERNAL_H
#define ZHUYI_MODELS_GPT_INTERNAL_H

#include "zhuyi/attention.h"
#include "zhuyi/model.h"

#include "models/task_head.h"

// Tensors per block (ln_1 w/b, c_attn w/b, attn.c_proj w/b, ln_2 w/b, c_fc w/b,
// mlp.c_proj w/b) and outside blocks (wte, wpe, ln_f w/b). Table order (= flat layout,
// GPT2LMHeadModel.named_parameters() order): wte, wpe, the blocks, ln_f.weight, ln_f.bias.
#define GPT_TENSORS_PER_LAYER 12
#define GPT_T_WTE 0
#define GPT_T_WPE 1
#define GPT_T_LAYER(l, k) (2 + GPT_TENSORS_PER_LAYER * (l) + (k))
#define GPT_T_LNF_W(L) (2 + GPT_TENSORS_PER_LAYER * (L))
#define GPT_T_LNF_B(L) (3 + GPT_TENSORS_PER_LAYER * (L))
#define GPT_T_SCORE(L) (4 + GPT_TENSORS_PER_LAYER * (L)) // GPT2ForSequenceClassification

typedef struct gpt_hparams {
    int n_layer;              // L
    int n_head;               // H
    int n_embd;               // C (C % H == 0)
    int n_positions;          // P, the longest sequence
    int vocab_size;           // V
    float layer_norm_epsilon; // 1e-5
    float dropout;            // embedding, attention-weight and residual dropout (HF's
                              // embd_pdrop = attn_pdrop = resid_pdrop)
    // GPT2ForSequenceClassification (architectures[0]; gpt_task.c): score (K, C), no bias,
    // on each row's last token, instead of the LM head.
    bool seq_cls;
    zy__labels labels;        // num_labels, id2label, problem_type
    int pad_token_id;         // -1 when absent (kept for config.json; zhuyi reads lengths)
} gpt_hparams;

// gpt_config.c: config.json <-> hparams (fields, defaults and checks listed there).
zy_status zy__gpt_read_config(const zy_config *c, gpt_hparams *h);
zy_status zy__gpt_write_config(const gpt_hparams *h, zy_config *c);
zy_status zy__gpt_preset(const char *name, zy_config *c);
extern const char *const zy__gpt_presets[];

// Block l's weights or gradients as the shared transformer block's parameters (a gradient
// view has NULL for frozen tensors). GPT-2 names: ln_1 = ln1, attn.c_attn = self_attn
// in_proj (stored (3C, C)), attn.c_proj = self_attn out_proj, ln_2 = ln2, mlp.c_fc = w1/b1
// (stored (4C, C)), mlp.c_proj = w2/b2 (stored (C, 4C)); Conv1D weights kept transposed.
typedef zy_block_params gpt_layer;

typedef struct gpt_weights {
    float *wte;         // (V, C)  also the LM head (tied)
    float *wpe;         // (P, C)
    float *lnfw, *lnfb; // (C) (C)
    float *score;       // (K, C) GPT2ForSequenceClassification's head, else NULL
} gpt_weights;

// The per-session state: views of the weights (and gradients), activations for the
// prepared shape, what the last forward was, and the KV cache for decoding.
typedef struct gpt_session {
    gpt_hparams h;
    gpt_layer *w, *dw;      // (L) weight and gradient views (dw NULL when not training)
    gpt_weights ew, edw;    // the same for the tensors outside blocks
    bool keep_attention;    // zy_session_params.attention_weights: the blocks run the plain
                            // attention core and keep the weights (B, H, T, T) per layer
    // LoRA (lora.h): each block's adapters (NULL without an adapter), score's (A NULL
    // without), the adapters' dropout in training mode
    zy_block_lora *lora;
    zy_lora score_lora;
    float lora_dropout;

    float *acts;            // the activation block for cap_B x cap_T (zy__gpt_acts)
    int cap_B, cap_T;

    // The last forward: shape, whether it had targets, the dropout it used.
    int B, T;
    bool backward_ok;       // a forward with targets whose backward has not run
    bool logits_ok;         // the logits of the last forward are intact
    bool outputs_ok;        // its hidden states and kept attention weights are (backward
                            // leaves them), and the sequence classifier's logits
    int n_valid;
    float eps;                  // the loss's label smoothing (the session's)
    float p;                // dropout probability in force (0 in evaluation mode)
    float p_lora;           // the adapters' dropout in force
    uint64_t seed;
    zy__seqcls cls;         // GPT2ForSequenceClassification: the last forward's loss

    // Decoding (gpt_decode.c), allocated by the first decode: the KV cache of every
    // sequence and layer, and a scratch block. With a weight type (model.h) each block's
    // typed linear layers (L arrays of ZY_BLOCK_LINEARS, NULL without) and the tied head's.
    zy_wmatrix (*typed)[ZY_BLOCK_LINEARS];
    const zy_wmatrix *head_typed;
    int n_seq;
    zy_wtype kv_cache;      // zy_session_params.kv_cache
    zy_kv_cache *cache;
    float *dec;
    size_t dec_floats;
} gpt_session;

// The shared block's configuration for layer l of a (B, T) batch: pre-LN causal decoder,
// GELU-tanh, 4C hidden, dropout p on the attention weights and both residual branches
// (GPT-2 has none on the MLP hidden layer), masks drawn from the layer's seed; attention
// on the plain core, weights kept, when the session keeps them.
zy_block_config zy__gpt_block_config(const gpt_session *g, int B, int T, int l);

// Seed of dropout site `site` (0 the embedding, 1 + l block l's streams, 1 + L score's
// adapter): distinct streams from the one step seed.
uint64_t zy__gpt_site_seed(const gpt_session *g, int site);

// The activation block carved for a (B, T) batch. Sizes grow with B and T, so the block
// sized for (cap_B, cap_T) holds any smaller batch.
typedef struct gpt_acts {
    float *res;             // (L+1, N, C) residual stream entering each block, and final
    float *blocks;          // (L, block_acts) what each block saves for its backward
    size_t block_acts;      // floats per block at (cap_B, cap_T)
    float *lnf;             // (N, C)
    float *lnf_mean, *lnf_rstd; // (N)
    float *logits;          // (N, V); dlogits in place after backward (NULL for the
                            // sequence classifier, which has no LM head)
    float *lse;             // (N)
    int *tokens, *targets;  // (N) copies of the last batch
    // Scratch (forward and backward, not saved):
    float *dres;            // (N, C) gradient of the residual stream
    float *dln;             // (N, C) gradient of the final layernorm's output
    float *scratch;         // the blocks' scratch
    size_t scratch_floats;
    float *ce_rows;         // scratch of the in-place cross-entropy backward
    // GPT2ForSequenceClassification (gpt_task.c):
    int *last;              // (B) the position of each row's last token (length - 1)
    float *cls_x, *dcls_x;  // (B, C) ln_f's output there, and its gradient
    float *cls_logits, *dcls; // (B, K) score's output, and its gradient
    float *cls_buf;         // zy__seqcls_floats(B, K)
    float *score_t;         // (B, r) score's adapter product (with an adapter on score)
    float *lora_scratch;    // its forward and backward scratch
} gpt_acts;

size_t zy__gpt_acts_floats(const gpt_session *g, int B, int T);
gpt_acts zy__gpt_acts(const gpt_session *g);

// The model operations (gpt_forward.c, gpt_backward.c, gpt_decode.c).
zy_status zy__gpt_prepare(zy_session *s, int batch, int seq, int seq_dec);
zy_status zy__gpt_forward(zy_session *s, const zy_batch *b, float *loss, double *count);
zy_status zy__gpt_backward(zy_session *s, float loss_scale);
zy_status zy__gpt_decode(zy_session *s, int n_seq, const int *seqs, const int *tokens, int n,
                         float *logits);
void zy__gpt_seq_reset(zy_session *s, int seq);
int zy__gpt_seq_len(const zy_session *s, int seq);
zy_status zy__gpt_seq_copy(zy_session *s, int dst, int src);
void zy__gpt_decode_free(gpt_session *g);

// ---- GPT2ForSequenceClassification (gpt_task.c) ---------------------------------------------
zy_status zy__gpt_read_task_config(const zy_config *c, gpt_hparams *h);
zy_status zy__gpt_write_task_config(const gpt_hparams *h, zy_config *c);
// The batch checked (labels/values as the problem type reads them, no empty row).
zy_status zy__gpt_task_check(const gpt_hparams *h, const zy_batch *b, zy__problem *problem);
// logits (B, K) = score(ln_f output at each row's last token), and the loss.
zy_status zy__gpt_task_forward(gpt_session *g, const gpt_acts *a, const zy_batch *b,
                               zy__problem problem, float *loss, double *count);
// dln (N, C) = the gradient of ln_f's output (zero except at the last tokens).
void zy__gpt_task_backward(gpt_session *g, const gpt_acts *a, float scale);
void zy__gpt_metrics(const zy_session *s, zy_metric_set *out);

#endif
