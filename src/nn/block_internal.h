// Internal view of a transformer block (block*.c): the sublayer chain and where each
// sublayer's parameters and saved activations live. Not public API.
//
// A block is a chain of sublayers (self-attention, [cross-attention], feed-forward), each
// wrapped the same way around its branch S (whose output projection's bias b is folded
// into the residual pass):
//   pre-LN:  n = LN(h);  h' = h + Drop(S(n) + b)              saved: n, LN stats
//   post-LN: r = h + Drop(S(h) + b);  h' = LN(r)              saved: r, LN stats
// Every sublayer's h' is saved except the last one's, which is the caller's y.
// Inputs of linear layers that only their weight's gradient reads (frozen, no adapter:
// c->frozen_linears) are not saved: pre-LN n, post-LN h' feeding the next sublayer, FF
// act(u) (or its dropout) live in the forward scratch, and their saved pointers are NULL.
#ifndef ZHUYI_NN_BLOCK_INTERNAL_H
#define ZHUYI_NN_BLOCK_INTERNAL_H

#include "zhuyi/attention.h"

#include "nn/mha_internal.h"

enum { ZY__SUB_SELF = 0, ZY__SUB_CROSS = 1, ZY__SUB_FF = 2 };

// Dropout sites: each draws its own stream, seed = zy_hash64(config seed, site).
enum {
    ZY__SITE_SELF_ATTN = 0, // self-attention weights
    ZY__SITE_SELF_OUT = 1,  // self-attention output before the residual add
    ZY__SITE_CROSS_ATTN = 2,
    ZY__SITE_CROSS_OUT = 3,
    ZY__SITE_FF_HIDDEN = 4, // after the activation
    ZY__SITE_FF_OUT = 5,
    // LoRA adapter k on linear layer j (ZY_BLOCK_*): ZY__SITE_LORA + j·ZY_BLOCK_LORA_MAX + k
    ZY__SITE_LORA = 6,
};

typedef struct zy__block_sub {
    int kind, out_site;
    float p_out;              // dropout on the branch output
    const zy_mha_params *mha; // attention sublayers: params (or grads) inside the block's
    float *lnw, *lnb;         // the sublayer's layernorm (C) each (or their grads)
    float *wout, *bout;       // the branch's output projection (C, ·) and bias (C)
    // saved activations (NULL when laid over gradients, or not saved and not in forward):
    float *nbuf;        // (B,T,C) pre-LN: LN(h); post-LN: the residual sum r
    float *mean, *rstd; // (B*T) of that layernorm
    float *hout;        // (B,T,C) the sublayer's output h' (NULL for the last: it is y)
    zy__mha_acts mha_acts; // attention: projections, ctx, lse or weights
    float *u, *a, *ad;  // FF: W1 n + b1, act(u), Drop(act(u)) (ad NULL without dropout;
                        // in forward ad may be a itself, the dropout in place)
    // LoRA: the sublayer's linear layers (ZY_BLOCK_*: attention in and out, or FF1 and
    // FF2) and the (rows, r) product each of their adapters saves (NULL without)
    int lin[2];
    float *lt[2][ZY_BLOCK_LORA_MAX];
} zy__block_sub;

static inline int zy__block_has_cross(const zy_block_config *c) {
    return c->kind == ZY_BLOCK_DECODER && c->Tm > 0;
}
static inline uint64_t zy__block_seed(const zy_block_config *c, int site) {
    return zy_hash64(c->seed, (uint64_t)site);
}

// The MHA config of an attention sublayer (kind SELF or CROSS).
zy_mha_config zy__block_mha_config(const zy_block_config *c, int kind);
zy_status zy__block_validate(const zy_block_config *c, const float *mem, const char *who);
// Whether backward reads linear layer j's input (ZY_BLOCK_*): its weight may train, or
// an adapter on it reads the input.
static inline bool zy__block_keeps_input(const zy_block_config *c, int j) {
    return !(c->frozen_linears >> j & 1u) || (c->lora && c->lora->n[j] > 0);
}

// Sizes of a block's buffers: floats saved for backward, and floats of forward scratch
// the unsaved inputs take (a (B,T,C) slot for layernorm / sublayer outputs, then a
// (B,T,FF) one for the FF activation; each only when used).
typedef struct zy__block_sizes {
    size_t acts, unsaved;
} zy__block_sizes;

// Fill subs[] (at most 3) for params p (or grads), acts (NULL: counts only, and no
// activation pointers) and unsaved (forward: the scratch of the inputs not saved; NULL
// otherwise, leaving their pointers NULL); returns the count; *sizes (may be NULL)
// receives the sizes.
int zy__block_subs(zy__block_sub *subs, float *acts, float *unsaved, zy__block_sizes *sizes,
                   const zy_block_params *p, const zy_block_config *c);
// Forward / backward scratch sizes (see block.c, block_backward.c).
size_t zy__block_fwd_floats(const zy_block_config *c);
size_t zy__block_bwd_floats(const zy_block_config *c);

// "self-attention in_proj", ..., "FF w2": linear layer j's name in messages.
const char *zy__block_linear_name(int j);

// ---- LoRA (block_layout.c) ------------------------------------------------------------------
// The adapters of c->lora checked against the block's shapes (messages start with who).
zy_status zy__block_lora_validate(const zy_block_config *c, const char *who);
// Rows of the input of adapter a on linear layer j: B·T, or B·Tm for cross-attention
// adapters on the key/value rows.
int zy__block_lora_rows(const zy_block_config *c, int j, const zy_lora *a);
// Scratch the adapters need: forward drop(x) (0 without dropout), backward
// zy_lora_backward's (0 without adapters).
size_t zy__block_lora_fwd_floats(const zy_block_config *c);
size_t zy__block_lora_bwd_floats(const zy_block_config *c);
// The adapters of sublayer s's linear layer i (0: in, 1: out) as a run over `scratch`;
// n = 0 when it has none.
zy__lora_run zy__block_lora_run(const zy_block_config *c, const zy__block_sub *s, int i,
                                float *scratch);

// block.c: out (N,C) = a + Drop(br + bias) (bias (C) or NULL; p = 0: no dropout), rows
// split over threads; element (n, c) uses dropout index offset + n*C + c. With dropout, br
// (scratch) is overwritten by Drop(br + bias). out may be a.
void zy__block_residual(float *out, const float *a, float *br, const float *bias, size_t N,
                        int C, float p, uint64_t seed, uint64_t offset);

// block.c: the FF activation over (N, FF) rows on the pool: forward u += b (b may be
// NULL), a = act(u); backward du = act'(u) · da (du written). Same kernels and results as
// zy_gelu_*/zy_relu_* with the bias added by zy_linear_forward.
void zy__block_act_forward(float *a, float *u, const float *b, size_t N, int FF,
                           zy_block_act act);
void zy__block_act_backward(float *du, const float *da, const float *u, size_t N, int FF,
                            zy_block_act act);

#endif
