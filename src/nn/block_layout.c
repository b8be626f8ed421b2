// Transformer block bookkeeping: default config, parameter layout (PyTorch
// named_parameters() order), the sizes of saved activations and scratch, validation.
// The arithmetic is in block.c.
#include "zhuyi/attention.h"

#include "core/internal.h"
#include "nn/block_internal.h"

zy_block_config zy_block_default_config(zy_block_kind kind, int B, int T, int C, int H,
                                        int FF) {
    zy_block_config c = {0};
    c.kind = kind;
    c.act = ZY_BLOCK_RELU; // PyTorch's default activation
    c.B = B;
    c.T = T;
    c.C = C;
    c.H = H;
    c.FF = FF;
    c.eps = 1e-5f;
    return c;
}

zy_mha_config zy__block_mha_config(const zy_block_config *c, int kind) {
    int cross = kind == ZY__SUB_CROSS;
    zy_mha_config m = zy_mha_default_config(c->B, c->T, cross ? c->Tm : c->T, c->C, c->H);
    m.attn.causal = !cross && (c->kind == ZY_BLOCK_DECODER || c->causal);
    m.attn.key_lengths = cross ? c->mem_lengths : c->key_lengths;
    m.attn.dropout = c->dropout;
    m.attn.seed = zy__block_seed(c, cross ? ZY__SITE_CROSS_ATTN : ZY__SITE_SELF_ATTN);
    m.attn.offset = c->offset;
    return m;
}

zy_status zy__block_validate(const zy_block_config *c, const float *mem) {
    if (c->B <= 0 || c->T <= 0 || c->C <= 0 || c->H <= 0 || c->FF <= 0 || c->C % c->H ||
        c->Tm < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "block: bad config B=%d T=%d C=%d H=%d FF=%d Tm=%d", c->B, c->T, c->C,
                         c->H, c->FF, c->Tm);
    if (zy__block_has_cross(c) && !mem)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "block: decoder with Tm=%d needs a memory tensor", c->Tm);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f) || !(c->eps > 0.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "block: dropout %g or eps %g out of range",
                         (double)c->dropout, (double)c->eps);
    return ZY_STATUS_OK;
}

size_t zy_block_param_count(const zy_block_config *c) {
    int nln = zy__block_has_cross(c) ? 3 : 2;
    size_t C = (size_t)c->C, FF = (size_t)c->FF;
    return zy_mha_param_count(c->C) * (zy__block_has_cross(c) ? 2 : 1) + FF * C + FF + C * FF +
           C + 2 * C * nln;
}

// base: self_attn | [cross_attn] | w1 b1 w2 b2 | ln1 w,b | ln2 w,b | [ln3 w,b]
void zy_block_params_init(zy_block_params *p, float *base, const zy_block_config *c) {
    size_t C = (size_t)c->C, FF = (size_t)c->FF;
    float *q = base;
    *p = (zy_block_params){0};
    zy_mha_params_init(&p->self_attn, q, c->C);
    q += zy_mha_param_count(c->C);
    if (zy__block_has_cross(c)) {
        zy_mha_params_init(&p->cross_attn, q, c->C);
        q += zy_mha_param_count(c->C);
    }
    p->w1 = q, q += FF * C;
    p->b1 = q, q += FF;
    p->w2 = q, q += C * FF;
    p->b2 = q, q += C;
    p->ln1w = q, q += C;
    p->ln1b = q, q += C;
    p->ln2w = q, q += C;
    p->ln2b = q, q += C;
    if (zy__block_has_cross(c)) {
        p->ln3w = q, q += C;
        p->ln3b = q;
    }
}

static size_t sub_acts_floats(const zy_block_config *c, int kind) {
    if (kind == ZY__SUB_FF) return 3 * (size_t)c->B * c->T * c->FF;
    zy_mha_config m = zy__block_mha_config(c, kind);
    return zy_mha_acts_floats(&m);
}

int zy__block_subs(zy__block_sub *subs, float *acts, const zy_block_params *p,
                   const zy_block_config *c) {
    int cross = zy__block_has_cross(c), ns = 0;
    size_t N = (size_t)c->B * c->T, n = N * c->C;
    subs[ns++] = (zy__block_sub){.kind = ZY__SUB_SELF, .out_site = ZY__SITE_SELF_OUT,
                                 .mha = &p->self_attn, .lnw = p->ln1w, .lnb = p->ln1b};
    if (cross)
        subs[ns++] = (zy__block_sub){.kind = ZY__SUB_CROSS, .out_site = ZY__SITE_CROSS_OUT,
                                     .mha = &p->cross_attn, .lnw = p->ln2w, .lnb = p->ln2b};
    subs[ns++] = (zy__block_sub){.kind = ZY__SUB_FF, .out_site = ZY__SITE_FF_OUT,
                                 .lnw = cross ? p->ln3w : p->ln2w,
                                 .lnb = cross ? p->ln3b : p->ln2b};
    for (int i = 0; acts && i < ns; i++) {
        zy__block_sub *s = &subs[i];
        s->buf = acts, acts += n;
        s->mean = acts, acts += N;
        s->rstd = acts, acts += N;
        s->hout = acts, acts += n;
        s->sub_acts = acts, acts += sub_acts_floats(c, s->kind);
    }
    return ns;
}

size_t zy_block_acts_floats(const zy_block_config *c) {
    size_t N = (size_t)c->B * c->T, n = N * c->C, total = 0;
    int kinds[3] = {ZY__SUB_SELF, ZY__SUB_CROSS, ZY__SUB_FF};
    for (int i = 0; i < 3; i++) {
        if (kinds[i] == ZY__SUB_CROSS && !zy__block_has_cross(c)) continue;
        total += 2 * n + 2 * N + sub_acts_floats(c, kinds[i]);
    }
    return total;
}

size_t zy_block_scratch_floats(const zy_block_config *c) {
    size_t n = (size_t)c->B * c->T * c->C, nf = (size_t)c->B * c->T * c->FF;
    zy_mha_config ms = zy__block_mha_config(c, ZY__SUB_SELF);
    size_t mha = zy_mha_scratch_floats(&ms);
    if (zy__block_has_cross(c)) {
        zy_mha_config mx = zy__block_mha_config(c, ZY__SUB_CROSS);
        mha = ZY_MAX(mha, zy_mha_scratch_floats(&mx));
    }
    // forward: sublayer output n + MHA scratch; backward: two gradient buffers, then
    // dr, dso, dn (n each), FF temporaries (2 nf) and MHA scratch
    return ZY_MAX(n + mha, 5 * n + 2 * nf + mha);
}
