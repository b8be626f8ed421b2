// zhuyi attention: one descriptor (zy_attn_desc) for every attention problem, and two
// cores that take it:
// - the plain path (zy_attn_forward/backward): every score function and mask, stores the
//   (BH, Tq, Tk) weights (for inspection and heat maps); the readable reference.
// - the tiled path (zy_flash_forward/backward): scaled dot-product scores with causal /
//   key-length masks and dropout, computed in tiles with an online softmax so the weights
//   are never stored (O(T) memory, 3-4x faster); what MHA and the blocks run by default.
// Then the multi-head attention module with PyTorch's nn.MultiheadAttention parameter
// layout, a KV cache for incremental decoding, and transformer encoder/decoder blocks.
//
// Conventions (as nn.h): plain functions over raw float arrays; shapes in comments;
// row-major; backward ADDS (+=) into every gradient and skips NULL ones; nothing here
// allocates inside forward/backward: saved activations and scratch are caller buffers
// whose sizes the *_floats() functions give.
//
// Layout: B*H independent problems ("bh", batch b = bh / H, head h = bh % H), each with
// queries (Tq, Dq), keys (Tk, Dk), values (Tk, Dv) and output (Tq, Dv). By default the
// tensors are contiguous with heads outermost, q (B, H, Tq, Dq) etc.; a zy_attn_layout per
// tensor lets them live elsewhere (a KV cache with room for maxT rows; the (B, T, 3C)
// output of a fused projection, read in place without splitting heads).
//
// Mask semantics (every path, plain, tiled and cached, agrees):
// - causal: query i sees key j iff j <= i + (Tk - Tq), i.e. queries are aligned to the END
//   of the keys (one new query against a KV cache of length Tk sees all Tk keys; for
//   Tq == Tk it is the usual j <= i).
// - key_lengths (B): key j of batch b is visible iff j < key_lengths[b] (right padding).
// - bool_mask (Tq, Tk), or (BH, Tq, Tk) with mask_per_head: nonzero = masked OUT
//   (PyTorch's bool attn_mask / key_padding_mask meaning, not the "keep" meaning).
// - add_mask (Tq, Tk), or (BH, Tq, Tk) with mask_per_head: added to the score before the
//   softmax (0 keeps, -INFINITY removes; PyTorch's float attn_mask).
// - A query row with no visible key (all masked, or all scores -inf) outputs ZEROS, not
//   NaN; its attention weights are all 0 and it contributes zero gradient.
// Dropout on the weights (dropout p in [0, 1), seed, offset): weight (bh, i, j) is kept,
// and scaled by 1/(1-p), iff zy_dropout_keep(p, seed, offset + (bh*Tq + i)*Tk + j) — the
// same mask on both paths and as zy_dropout_forward over the flat (BH, Tq, Tk) weights;
// backward recomputes it. The softmax weights / log-sum-exp are of the undropped weights.
#ifndef ZHUYI_ATTENTION_H
#define ZHUYI_ATTENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "quant.h"
#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- the attention descriptor -----------------------------------------------------------
typedef enum zy_attn_score {
    ZY_ATTN_DOT = 0,        // s = q·k                         (Dq == Dk, no parameters)
    ZY_ATTN_SCALED_DOT = 1, // s = q·k * scale, scale = 1/√Dk  (Vaswani et al.)
    ZY_ATTN_ADDITIVE = 2,   // s = vᵀ tanh(Wq q + Wk k)  (Bahdanau): Wq (A,Dq) Wk (A,Dk) v (A)
    ZY_ATTN_GENERAL = 3,    // s = qᵀ W k                      (Luong general): W (Dq,Dk)
    ZY_ATTN_CONCAT = 4,     // s = vᵀ tanh(W [q; k])           (Luong concat): W (A,Dq+Dk) v (A)
} zy_attn_score;

// Where one tensor's rows live: row i of head h of batch b starts at
//   base + b*batch + h*head + i*row   (in floats; the row's D values are contiguous).
// All three 0 = the default, contiguous heads-outer (B, H, T, D): row = D, head = T*D,
// batch = H*T*D. Gradients (dq, dk, dv, dout) use the layout of their tensor. Rows of
// different (b, h, i) must not overlap where a gradient is written.
typedef struct zy_attn_layout {
    ptrdiff_t batch, head, row;
} zy_attn_layout;

// Rows of a (B, T, ld) token-major tensor (e.g. a linear layer's output) whose head h sits
// at columns [h*D, (h+1)*D) of each row: {T*ld, D, ld}. Offset the base pointer to the
// first column of the part (e.g. + C for the keys of a fused (3C) projection).
zy_attn_layout zy_attn_layout_rows(int T, int D, int ld);

typedef struct zy_attn_desc {
    int B, H;            // BH = B*H independent problems; b = bh / H
    int Tq, Tk;          // query and key lengths (cross-attention: Tq != Tk allowed)
    int Dq, Dk, Dv;      // query, key and value widths (Dq == Dk for DOT/SCALED_DOT)
    zy_attn_score score; // plain path: all; tiled path: DOT and SCALED_DOT
    int A;               // hidden width of ADDITIVE / CONCAT scores (plain path only)
    float scale;         // SCALED_DOT factor; 0 means 1/√Dk
    // masks (see above); the tiled path takes causal and key_lengths only
    bool causal;
    const int *key_lengths;    // (B) each in [0, Tk], or NULL
    const uint8_t *bool_mask;  // (Tq,Tk) or (BH,Tq,Tk), nonzero = masked out; or NULL
    const float *add_mask;     // (Tq,Tk) or (BH,Tq,Tk) additive; or NULL
    bool mask_per_head;        // masks are (BH,Tq,Tk) instead of broadcast (Tq,Tk)
    // dropout on the attention weights
    float dropout;             // in [0, 1); 0 = off
    uint64_t seed, offset;     // weight (bh,i,j) uses index offset + (bh*Tq + i)*Tk + j
    // where q, k, v and out live (all zero: contiguous (B, H, T, D))
    zy_attn_layout q_layout, k_layout, v_layout, out_layout;
    // tiled path: query / key rows per tile; 0 = the tuned default (64)
    int block_q, block_k;
} zy_attn_desc;

// A desc with every optional feature off: SCALED_DOT, no masks, no dropout, contiguous.
zy_attn_desc zy_attn_default_desc(int B, int H, int Tq, int Tk, int D, int Dv);

// ---- plain path ---------------------------------------------------------------------------
// Learned score parameters (and, with the same struct, their gradients). Unused fields
// are NULL. Additive: Wq (A,Dq), Wk (A,Dk), v (A). General: W (Dq,Dk). Concat:
// W (A, Dq+Dk) whose first Dq columns act on q and the rest on k, v (A).
typedef struct zy_attn_weights {
    const float *Wq, *Wk, *W, *v;
} zy_attn_weights;
typedef struct zy_attn_grads {
    float *Wq, *Wk, *W, *v;
} zy_attn_grads;

// Floats of the caller buffer `saved` that forward fills for backward (beyond `att`):
// the dropped weights if dropout > 0, q·W for GENERAL, W_q q and W_k k for ADDITIVE/CONCAT.
size_t zy_attn_saved_floats(const zy_attn_desc *d);
// Floats of backward's scratch: (BH,Tq,Tk) for dP/dS plus per-score temporaries.
size_t zy_attn_scratch_floats(const zy_attn_desc *d);

// q (BH,Tq,Dq), k (BH,Tk,Dk), v (BH,Tk,Dv) -> out (BH,Tq,Dv) = Dropout(softmax(S)) · v
// (each laid out as the desc says). att (BH,Tq,Tk), always contiguous, receives the
// softmax weights before dropout (also for the caller to inspect); saved
// (zy_attn_saved_floats) the rest backward needs (NULL if that is 0).
// Returns ZY_STATUS_INVALID_ARGUMENT (with a message) for inconsistent sizes or missing
// score parameters; nothing is written then.
zy_status zy_attn_forward(float *out, float *att, float *saved, const float *q,
                          const float *k, const float *v, const zy_attn_weights *w,
                          const zy_attn_desc *d);
// dout (BH,Tq,Dv) -> dq (BH,Tq,Dq), dk, dv (laid out as q, k, v), dw (score parameters),
// all +=. Uses forward's att and saved; scratch (zy_attn_scratch_floats).
void zy_attn_backward(float *dq, float *dk, float *dv, const zy_attn_grads *dw,
                      float *scratch, const float *dout, const float *att, const float *saved,
                      const float *q, const float *k, const float *v, const zy_attn_weights *w,
                      const zy_attn_desc *d);

// ---- tiled path ("flash") ---------------------------------------------------------------
// Exact scaled dot-product attention in tiles of block_q queries x block_k keys with an
// online softmax (FlashAttention-2, Dao 2023): forward keeps only out and one log-sum-exp
// per query row, lse_i = log Σ_j exp(s_ij) over the visible keys; backward recomputes the
// score tiles. Takes DOT / SCALED_DOT scores, causal, key_lengths and dropout; anything
// else in the desc (other scores, bool/add masks) is ZY_STATUS_UNSUPPORTED, with a message
// naming it (use the plain path). A row that sees no key: zeros, lse -INFINITY, no gradient.

// ZY_STATUS_OK if the tiled path can run d, else ZY_STATUS_UNSUPPORTED (message set).
zy_status zy_flash_supports(const zy_attn_desc *d);
// Floats of scratch ONE thread needs for forward or backward (the larger of the two).
// Pass scratch of n * this many floats to run on up to n threads (min with
// zy_threads_get()); the kernels allocate nothing themselves.
size_t zy_flash_scratch_floats(const zy_attn_desc *d);
// q, k, v -> out, lse (BH,Tq) contiguous. Returns ZY_STATUS_INVALID_ARGUMENT for bad
// shapes, a key length outside [0, Tk], dropout outside [0, 1) or too little scratch.
// Results do not depend on the thread count (bit-exact).
zy_status zy_flash_forward(float *out, float *lse, const float *q, const float *k,
                           const float *v, const zy_attn_desc *d, float *scratch,
                           size_t scratch_floats);
// dout, and q, k, v, out, lse as given to / returned by forward -> dq +=, dk +=, dv +=
// (any may be NULL to skip it, though the work is the same). Score tiles are recomputed:
//   P = exp(S - lse), dP = M∘(dout·vᵀ), Δ_i = Σ dout_i∘out_i, dS = P∘(dP - Δ),
//   dv += (M∘P)ᵀ·dout, dk += scale·dSᵀ·q, dq += scale·dS·k
// (M the scaled dropout mask, all ones without dropout). Bit-exact at any thread count.
zy_status zy_flash_backward(float *dq, float *dk, float *dv, const float *dout,
                            const float *q, const float *k, const float *v, const float *out,
                            const float *lse, const zy_attn_desc *d, float *scratch,
                            size_t scratch_floats);

// ---- multi-head attention (PyTorch nn.MultiheadAttention layout, batch_first) ---------
// Parameters, in this order in one flat array (PyTorch's named_parameters() order):
//   in_proj_weight (3C, C)  rows [0,C) = W_q, [C,2C) = W_k, [2C,3C) = W_v (nn.Linear: out,in)
//   in_proj_bias   (3C)
//   out_proj_weight (C, C)
//   out_proj_bias   (C)
// Hugging Face mappings (see zy_mha_from_separate / zy_mha_from_conv1d):
//   BERT  attention.self.{query,key,value}.{weight (C,C), bias (C)}: nn.Linear, copy the
//         three weights one under the other into in_proj_weight and the biases likewise;
//         attention.output.dense.{weight,bias} is out_proj as is.
//   GPT-2 attn.c_attn.weight (C, 3C) is a Conv1D (in, out): in_proj_weight is its
//         transpose; c_attn.bias (3C) is in_proj_bias; attn.c_proj.weight (C,C) is also
//         (in,out): out_proj_weight is its transpose; c_proj.bias is out_proj_bias.
typedef struct zy_mha_params {
    float *in_proj_weight;  // (3C, C)
    float *in_proj_bias;    // (3C)
    float *out_proj_weight; // (C, C)
    float *out_proj_bias;   // (C)
} zy_mha_params;

// Number of floats of the MHA parameters (3C² + 3C + C² + C).
size_t zy_mha_param_count(int C);
// Point p's fields into base (zy_mha_param_count(C) floats) in the order above. Use it on
// the parameter array and again on the gradient array.
void zy_mha_params_init(zy_mha_params *p, float *base, int C);

typedef struct zy_mha_config {
    int C;             // model width: H = attn.H heads of C/H each (C % H == 0)
    zy_attn_desc attn; // B, H, Tq, Tk (Tq == Tk for self-attention), and what the caller
                       // chooses: masks, dropout (p, seed, offset), score (DOT or
                       // SCALED_DOT), scale, tiles. MHA sets the head widths and the
                       // layouts itself (the cores read the projections in place).
    bool need_weights; // run the plain core and keep the per-head weights in acts
} zy_mha_config;

// B, Tq, Tk, C, H set; no masks, no dropout, SCALED_DOT with 1/√(C/H).
zy_mha_config zy_mha_default_config(int B, int Tq, int Tk, int C, int H);

// Which core forward runs: the tiled one unless the weights are wanted (need_weights) or
// the desc has what only the plain core does (boolean/additive masks).
bool zy_mha_uses_tiled(const zy_mha_config *c);
// Floats forward saves for backward (the projections, the merged attention output, lse or
// the weights) and floats of scratch for forward and backward. The scratch size has room
// for the tiled core on zy_threads_get() threads (as set when it is called); forward and
// backward take the size they are given and run the core on as many threads as fit
// (INVALID_ARGUMENT below the one-thread minimum).
size_t zy_mha_acts_floats(const zy_mha_config *c);
size_t zy_mha_scratch_floats(const zy_mha_config *c);
// The per-head attention weights (B, H, Tq, Tk) inside acts after a forward that ran the
// plain core (before dropout; PyTorch's need_weights output is their mean over H), or
// NULL when the tiled core ran (it never forms them).
const float *zy_mha_attention_weights(const float *acts, const zy_mha_config *c);

// xq (B,Tq,C), xkv (B,Tk,C) -> out (B,Tq,C). Self-attention: pass the same pointer for xq
// and xkv (one fused (3C) projection); cross-attention: separate q and (2C) kv
// projections. acts (zy_mha_acts_floats) is filled for backward; scratch
// (zy_mha_scratch_floats) is temporary. Returns ZY_STATUS_INVALID_ARGUMENT for a bad config.
zy_status zy_mha_forward(float *out, float *acts, float *scratch, size_t scratch_floats,
                         const float *xq, const float *xkv, const zy_mha_params *p,
                         const zy_mha_config *c);
// dout (B,Tq,C) -> dxq (B,Tq,C) +=, dxkv (B,Tk,C) +=, dp (gradients, same layout as the
// parameters) +=. Self-attention (xq == xkv): the input's whole gradient is added once,
// into dxq (into dxkv if dxq is NULL); pass the same pointer for both or dxkv = NULL.
// dp may be NULL, and any of its fields: that tensor is frozen, gets no gradient, and its
// weight-gradient GEMM is skipped.
zy_status zy_mha_backward(float *dxq, float *dxkv, const zy_mha_params *dp, float *scratch,
                          size_t scratch_floats, const float *dout, const float *acts,
                          const float *xq, const float *xkv, const zy_mha_params *p,
                          const zy_mha_config *c);

// Build in_proj_* from separate q/k/v projections in nn.Linear layout (BERT): Wq, Wk, Wv
// (C,C), bq, bk, bv (C) (biases may be NULL: zeros).
void zy_mha_from_separate(zy_mha_params *p, const float *Wq, const float *bq,
                          const float *Wk, const float *bk, const float *Wv, const float *bv,
                          int C);
// Build MHA parameters from GPT-2's Conv1D layout: c_attn_w (C, 3C), c_attn_b (3C),
// c_proj_w (C, C), c_proj_b (C). Transposes the weights.
void zy_mha_from_conv1d(zy_mha_params *p, const float *c_attn_w, const float *c_attn_b,
                        const float *c_proj_w, const float *c_proj_b, int C);

// ---- KV cache for incremental decoding --------------------------------------------------
// Keys and values of n_seq sequences at every layer, with room for maxT positions each:
// per (layer, sequence) k and v (H, maxT, D). Each sequence has its own length, so
// sequences of different lengths decode together (batched serving, beam search). The
// library allocates it (create/free).
//
// One step of a decoder over sequence s: at each layer, write the keys/values of the new
// positions (zy_kv_cache_write puts them at [len(s), len(s) + n)) and attend (causal: the
// queries are those positions, end-aligned, seeing keys [0, len(s) + n)); after the last
// layer, zy_kv_cache_advance(s, n) makes them part of the sequence.
//
// A cross-attention cache is the same object: write the keys/values of the encoder memory
// of sequence s at every layer once, advance s by the memory length, then attend with
// causal = false (every query sees all len(s) keys) at each step.
typedef struct zy_kv_cache zy_kv_cache;

zy_status zy_kv_cache_create(zy_kv_cache **out, int layers, int n_seq, int H, int maxT, int D);
// The same with keys and values stored as `type`: ZY_WTYPE_F32 (as zy_kv_cache_create),
// F16 or BF16 (half the memory, and half the bytes each decoding step reads from the
// cache: it grows with the context, a tenth to a third of a step's bytes for GPT-2 124M
// at a few hundred positions with 4-bit weights). Written rounded to nearest even, read
// back exactly: attention then sees keys and values with 11 (f16) or 8 (bf16) bits of
// mantissa. Other types are INVALID_ARGUMENT.
zy_status zy_kv_cache_create_typed(zy_kv_cache **out, int layers, int n_seq, int H, int maxT,
                                   int D, zy_wtype type);
zy_wtype zy_kv_cache_type(const zy_kv_cache *c);
void zy_kv_cache_free(zy_kv_cache *c);
// The sizes the cache was created with (any pointer may be NULL).
void zy_kv_cache_shape(const zy_kv_cache *c, int *layers, int *n_seq, int *H, int *maxT,
                       int *D);
// Every sequence (or one) back to length 0.
void zy_kv_cache_reset(zy_kv_cache *c);
zy_status zy_kv_cache_reset_seq(zy_kv_cache *c, int seq);
// Positions held by sequence seq (advanced ones), or -1 (and a message) for a bad seq.
int zy_kv_cache_len(const zy_kv_cache *c, int seq);
// Sequence dst becomes a copy of sequence src (length and every layer's keys/values, the
// written-but-not-advanced ones too): beam search forking a hypothesis.
zy_status zy_kv_cache_copy_seq(zy_kv_cache *c, int dst, int src);
// k, v: n rows of H*D floats (head h at columns [h*D, (h+1)*D)), consecutive rows ld
// floats apart (ld = H*D when packed; 3*H*D inside a fused q|k|v projection) -> positions
// [len(seq), len(seq) + n) of the layer. INVALID_ARGUMENT (nothing written) past maxT.
zy_status zy_kv_cache_write(zy_kv_cache *c, int layer, int seq, const float *k,
                            const float *v, int n, int ld);
// len(seq) += n, once every layer holds those positions (INVALID_ARGUMENT otherwise).
zy_status zy_kv_cache_advance(zy_kv_cache *c, int seq, int n);

// Scratch for attending n queries of one sequence, or one query of each of n sequences:
// room for zy_threads_get() threads (as set when called; less scratch runs on fewer).
size_t zy_kv_cache_scratch_floats(const zy_kv_cache *c, int n);
// Scaled dot-product attention (score scale·q·k, scale 0 meaning 1/√D) of n queries of
// sequence seq over its cache at `layer`. q: n rows (stride ldq) of H*D floats, heads side
// by side -> out: n rows (stride ldo), same layout. causal: the queries are the n written, not yet advanced positions,
// end-aligned (query i sees keys [0, len + i + 1)), the same result as full recomputation;
// not causal: every query sees the len(seq) advanced keys (a memory cache).
zy_status zy_kv_cache_attend(const zy_kv_cache *c, int layer, int seq, bool causal,
                             float scale, const float *q, int ldq, int n, float *out, int ldo,
                             float *scratch, size_t scratch_floats);
// One query for each of n sequences seqs[i] (row i of q and out, strides as above), each
// over its own length: the step of batched decoding. causal: each query is the one written
// position of its sequence (keys [0, len + 1)); not causal: keys [0, len).
zy_status zy_kv_cache_attend_step(const zy_kv_cache *c, int layer, const int *seqs, int n,
                                  bool causal, float scale, const float *q, int ldq, float *out,
                                  int ldo, float *scratch, size_t scratch_floats);

// Causal self-attention MHA of n new positions xnew (n, C) of sequence seq against the
// cache at `layer` (H heads of C/H): projects, writes k and v, attends, projects out ->
// out (n, C). Does not advance the sequence (advance after the last layer).
size_t zy_mha_cached_scratch_floats(const zy_kv_cache *c, int n, int C);
zy_status zy_mha_forward_cached(float *out, float *scratch, size_t scratch_floats,
                                zy_kv_cache *cache, int layer, int seq, const float *xnew,
                                int n, const zy_mha_params *p, int C);

// ---- transformer blocks -----------------------------------------------------------------
// Encoder (PyTorch nn.TransformerEncoderLayer, batch_first=True):
//   post-LN: h = LN1(x + Drop(SA(x)));        y = LN2(h + Drop(FF(h)))
//   pre-LN:  h = x + Drop(SA(LN1(x)));        y = h + Drop(FF(LN2(h)))
// Decoder (nn.TransformerDecoderLayer; SA causal; CA = cross-attention over memory m):
//   post-LN: h1 = LN1(x + Drop(SA(x))); h2 = LN2(h1 + Drop(CA(h1, m))); y = LN3(h2 + Drop(FF(h2)))
//   pre-LN:  h1 = x + Drop(SA(LN1(x))); h2 = h1 + Drop(CA(LN2(h1), m)); y = h2 + Drop(FF(LN3(h2)))
//   Without cross-attention (Tm = 0, GPT-style decoder-only) the CA step and its LN are
//   absent: a pre-LN decoder with GELU-tanh is GPT-2's block.
// FF(x) = W2 · Drop(act(W1 x + b1)) + b2, act ReLU, GELU-erf or GELU-tanh.
// Attention runs on the tiled core (the plain one with need_weights or masks it lacks).
typedef enum zy_block_kind {
    ZY_BLOCK_ENCODER = 0, // bidirectional self-attention (self_attn.causal may still be set)
    ZY_BLOCK_DECODER = 1, // causal self-attention (+ cross-attention if Tm > 0)
} zy_block_kind;

typedef enum zy_block_act {
    ZY_BLOCK_RELU = 0,      // PyTorch's default
    ZY_BLOCK_GELU_ERF = 1,  // exact GELU (PyTorch activation="gelu", BERT)
    ZY_BLOCK_GELU_TANH = 2, // tanh approximation (GPT-2 "gelu_new", F.gelu approximate='tanh')
    ZY_BLOCK_SILU = 3,      // x·σ(x) (F.silu; Marian's "swish")
} zy_block_act;

// Dropout probability at each site of a block; 0 switches a site off at no cost.
// PyTorch's layers use one p everywhere; GPT-2 has attn_pdrop on the weights, resid_pdrop
// on both outputs and nothing on the FF hidden layer.
typedef struct zy_block_dropout {
    float attn;      // attention weights (self and cross)
    float attn_out;  // each attention sublayer's output, before its residual add
    float ff_hidden; // the FF hidden layer, after the activation
    float ff_out;    // the FF output, before its residual add
    float lora;      // the input of every LoRA adapter (lora_dropout), each its own stream
} zy_block_dropout;

// LoRA adapters (nn.h zy_lora) on a block's six linear layers. An attention in_proj
// (3C, C) takes one adapter per part of the fused projection (BERT's query, key, value:
// col0 0, C, 2C, rows C) or one over all of it (GPT-2's c_attn: col0 0, rows 3C); a
// cross-attention adapter lies within the query rows [0, C) or the key/value rows
// [C, 3C), since those see different inputs. in = C everywhere but FF2's (FF).
enum {
    ZY_BLOCK_SELF_IN = 0, // self_attn.in_proj_weight (3C, C)
    ZY_BLOCK_SELF_OUT,    // self_attn.out_proj_weight (C, C)
    ZY_BLOCK_CROSS_IN,    // cross_attn.in_proj_weight (3C, C)
    ZY_BLOCK_CROSS_OUT,   // cross_attn.out_proj_weight (C, C)
    ZY_BLOCK_FF1,         // w1 (FF, C)
    ZY_BLOCK_FF2,         // w2 (C, FF)
    ZY_BLOCK_LINEARS
};
#define ZY_BLOCK_LORA_MAX 3

typedef struct zy_block_lora {
    int n[ZY_BLOCK_LINEARS]; // adapters on each linear layer, up to ZY_BLOCK_LORA_MAX
    zy_lora a[ZY_BLOCK_LINEARS][ZY_BLOCK_LORA_MAX];
} zy_block_lora;

typedef struct zy_block_config {
    zy_block_kind kind;
    bool norm_first;    // pre-LN when true (PyTorch norm_first)
    zy_block_act act;
    int B, T, C, H, FF; // x (B,T,C), H heads of C/H, FF hidden width
    int Tm;             // decoder memory length (0 = no cross-attention)
    float eps;          // layernorm epsilon (PyTorch default 1e-5)
    zy_block_dropout dropout;
    uint64_t seed, offset; // every site draws its own stream from seed (see zy_dropout_*)
    // The attention problems: the caller sets their masks (self_attn: causal for an
    // encoder, key_lengths of x, bool/add masks; cross_attn: key_lengths of the memory),
    // score/scale and tiles; the block sets shapes, layouts and dropout.
    zy_attn_desc self_attn, cross_attn;
    bool need_weights;  // run attention on the plain core and keep the weights
    // LoRA adapters on the linear layers (NULL: none). In the config, not the parameters,
    // because they change what forward saves (each adapter's (rows, r) product) and the
    // scratch; their gradients are the adapters' own dA, dB, not fields of a gradient
    // zy_block_params. Their dropout is dropout.lora, each adapter its own stream.
    const zy_block_lora *lora;
    // Linear layers whose weight gets no gradient: bit (1u << ZY_BLOCK_*) each; 0, the
    // default, lets any of them train. Forward keeps a marked layer's input for backward
    // only if an adapter on it reads it: the layernorm output feeding a pre-LN in_proj or
    // w1, a post-LN sublayer's output feeding the next one's, the FF activation feeding
    // w2 live in scratch instead (what a frozen base fine-tuned through adapters does not
    // need). Results are the same either way; backward refuses a gradient for a weight
    // marked here. zy_block_frozen_linears reads the bits off a gradient struct.
    unsigned frozen_linears;
    // Decoding only (zy_block_decode*): typed copies of the linear layers' weights
    // (ZY_BLOCK_LINEARS entries, indexed by ZY_BLOCK_*; NULL: none, an entry with data NULL:
    // that layer's fp32 weight). A product over a few rows then streams the typed matrix
    // (zy_model_set_weight_type, model.h); over many rows the GEMM reads the fp32 weights,
    // which the model keeps equal to the copies' values. Forward and backward ignore it.
    const zy_wmatrix *typed;
} zy_block_config;

// Parameters as pointers: any layout works (zy_block_params_init lays out PyTorch's
// order; a model may point the fields into its own, e.g. GPT-2's). The same struct over
// the gradient array gives the gradients; a NULL gradient field freezes that tensor (its
// weight-gradient GEMM is skipped) and a NULL gradient struct freezes them all.
typedef struct zy_block_params {
    zy_mha_params self_attn, cross_attn; // cross_attn only with cross-attention
    float *w1, *b1, *w2, *b2;            // (FF,C) (FF) (C,FF) (C), nn.Linear (out, in)
    float *ln1w, *ln1b, *ln2w, *ln2b, *ln3w, *ln3b; // (C) each; ln3 only with cross
} zy_block_params;

// The zy_block_config.frozen_linears of gradients dp: the linear layers whose weight
// gradient field is NULL (all of them for dp NULL).
unsigned zy_block_frozen_linears(const zy_block_params *dp);
// Encoder/decoder config: ReLU, post-LN, eps 1e-5, no dropout, no masks.
zy_block_config zy_block_default_config(zy_block_kind kind, int B, int T, int C, int H,
                                        int FF);
// PyTorch named_parameters() order in one flat array:
//   self_attn (MHA layout), [multihead_attn (MHA layout)], linear1.weight (FF,C),
//   linear1.bias (FF), linear2.weight (C,FF), linear2.bias (C), norm1.{weight,bias} (C),
//   norm2.{weight,bias} (C), [norm3.{weight,bias} (C)]   ([] only with cross-attention).
size_t zy_block_param_count(const zy_block_config *c);
void zy_block_params_init(zy_block_params *p, float *base, const zy_block_config *c);
// Floats forward saves for backward (not y: a stack keeps each block's output as the next
// block's x and passes it back to backward), and floats of scratch for forward and
// backward (room for the attention core on zy_threads_get() threads; less scratch runs it
// on fewer, INVALID_ARGUMENT below one).
size_t zy_block_acts_floats(const zy_block_config *c);
size_t zy_block_scratch_floats(const zy_block_config *c);

// x (B,T,C), mem (B,Tm,C) or NULL -> y (B,T,C) (y must not alias x). acts saved for
// backward, scratch temporary. Nothing is allocated.
zy_status zy_block_forward(float *y, float *acts, float *scratch, size_t scratch_floats,
                           const float *x, const float *mem, const zy_block_params *p,
                           const zy_block_config *c);
// dy (B,T,C) -> dx (B,T,C) +=, dmem (B,Tm,C) += (or NULL), dp += (NULL fields frozen).
// dx may be dy itself: the buffer then turns from dy into dx in place (how a stack runs
// backward without copies). dx NULL: no input gradient (its GEMM is skipped when the first
// LN's parameters are frozen too). x and mem as given to forward.
zy_status zy_block_backward(float *dx, float *dmem, const zy_block_params *dp, float *scratch,
                            size_t scratch_floats, const float *dy, const float *acts,
                            const float *x, const float *mem, const zy_block_params *p,
                            const zy_block_config *c);
// After a forward with need_weights: the self- (cross = false) or cross-attention weights
// (B, H, T, T or Tm) inside acts; NULL otherwise.
const float *zy_block_attention_weights(const float *acts, const zy_block_config *c,
                                        bool cross);

// ---- decoding through a block (inference: no dropout, no backward) ------------------------
// A decoder block (or an encoder with self_attn.causal) over KV caches: `cache` holds the
// self-attention keys/values (H = c->H heads of C/H), `mem_cache` the cross-attention
// keys/values of each sequence's encoder memory (NULL without cross-attention). The cache
// lengths are the masks: the descriptors' masks and the config's B and T are not used.
// Block l of a stack uses layer l of both caches. Each call writes the new positions'
// keys/values at `layer`; once every layer has run, zy_kv_cache_advance(cache, seq, n)
// (for each sequence). Equal to zy_block_forward on the whole sequence (tested to 1e-5).
//
// Scratch for n new positions of one sequence or one position of n sequences (and for
// zy_block_decode_memory): room for zy_threads_get() threads.
size_t zy_block_decode_scratch_floats(const zy_block_config *c, const zy_kv_cache *cache,
                                      const zy_kv_cache *mem_cache, int n);
// x (n, C): positions [len(seq), len(seq) + n) of sequence seq -> y (n, C) (y may be x).
// A prompt, or a chunk of it; n = 1 decodes one token (every product a GEMV).
zy_status zy_block_decode(float *y, float *scratch, size_t scratch_floats, const float *x,
                          int n, int seq, int layer, zy_kv_cache *cache,
                          const zy_kv_cache *mem_cache, const zy_block_params *p,
                          const zy_block_config *c);
// x (n, C): the next position of each of n sequences seqs[i] (row i) -> y (n, C) (y may be
// x): batched decoding, each weight read once for all n sequences. Its products are fp32
// whatever the calling thread's matmul precision (zy_gemm_precision_set): a few rows are
// fp32 GEMVs, and a row's result does not depend on which sequences share the step.
zy_status zy_block_decode_step(float *y, float *scratch, size_t scratch_floats, const float *x,
                               const int *seqs, int n, int layer, zy_kv_cache *cache,
                               const zy_kv_cache *mem_cache, const zy_block_params *p,
                               const zy_block_config *c);
// The same, row i attending to the memory of sequence mem_seqs[i] of mem_cache (NULL:
// seqs[i]): the beams of one source share its memory.
zy_status zy_block_decode_step_mem(float *y, float *scratch, size_t scratch_floats,
                                   const float *x, const int *seqs, const int *mem_seqs, int n,
                                   int layer, zy_kv_cache *cache, const zy_kv_cache *mem_cache,
                                   const zy_block_params *p, const zy_block_config *c);
// mem (Tm, C), the encoder output of sequence seq -> its cross-attention keys/values at
// `layer` of mem_cache. After every layer: zy_kv_cache_advance(mem_cache, seq, Tm).
zy_status zy_block_decode_memory(float *scratch, size_t scratch_floats, const float *mem, int Tm,
                                 int seq, int layer, zy_kv_cache *mem_cache,
                                 const zy_block_params *p, const zy_block_config *c);

// ---- attention rollout (Abnar & Zuidema 2020) -------------------------------------------
// How much each input position feeds position `query` of the last layer, through the
// residual paths too: with A_l = the mean over heads of layer l's weights (one sequence)
// and Ã_l = (A_l + I) / 2 (rows still sum to 1), out (T) = row `query` of
// Ã_{L-1} · ... · Ã_0, in double. attn[l] (H, T, T) for l = 0..L-1 (the "attentions.l"
// outputs of a session made with attention_weights). For a ViT, query 0 ([CLS]) and
// out[1..T) over the patches is the map drawn over the image. ZY_STATUS_INVALID_ARGUMENT
// for sizes below 1 or query outside [0, T).
zy_status zy_attention_rollout(float *out, const float *const *attn, int L, int H, int T,
                               int query);

#ifdef __cplusplus
}
#endif
#endif
