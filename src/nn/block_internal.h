// Internal view of a transformer block (block.c, block_layout.c): the sublayer chain and
// where each sublayer's parameters and saved activations live. Not public API.
#ifndef ZHUYI_NN_BLOCK_INTERNAL_H
#define ZHUYI_NN_BLOCK_INTERNAL_H

#include "zhuyi/attention.h"

enum { ZY__SUB_SELF = 0, ZY__SUB_CROSS = 1, ZY__SUB_FF = 2 };

// Dropout sites: each draws its own stream, seed = zy_hash64(config seed, site).
enum {
    ZY__SITE_SELF_ATTN = 0, // self-attention weights
    ZY__SITE_SELF_OUT = 1,  // self-attention output before the residual add
    ZY__SITE_CROSS_ATTN = 2,
    ZY__SITE_CROSS_OUT = 3,
    ZY__SITE_FF_HIDDEN = 4, // after the activation
    ZY__SITE_FF_OUT = 5,
};

typedef struct zy__block_sub {
    int kind, out_site;
    const zy_mha_params *mha; // attention sublayers: params (or grads) inside the block's
    float *lnw, *lnb;         // the sublayer's layernorm (C) each (or their grads)
    // saved activations (NULL when laid over gradients):
    float *buf;      // (B,T,C) post-LN: the residual sum r; pre-LN: LN(h)
    float *mean, *rstd; // (B*T) of that layernorm
    float *hout;     // (B,T,C) the sublayer's output h'
    float *sub_acts; // MHA acts, or FF u | act(u) | Drop(act(u)), each (B,T,FF)
} zy__block_sub;

static inline int zy__block_has_cross(const zy_block_config *c) {
    return c->kind == ZY_BLOCK_DECODER && c->Tm > 0;
}
static inline uint64_t zy__block_seed(const zy_block_config *c, int site) {
    return zy_hash64(c->seed, (uint64_t)site);
}

zy_mha_config zy__block_mha_config(const zy_block_config *c, int kind);
zy_status zy__block_validate(const zy_block_config *c, const float *mem);
// Fill subs[] (at most 3) for params p (or grads) and acts (or NULL); returns the count.
int zy__block_subs(zy__block_sub *subs, float *acts, const zy_block_params *p,
                   const zy_block_config *c);

#endif
