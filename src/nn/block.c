// Transformer encoder and decoder blocks (PyTorch nn.TransformerEncoderLayer /
// nn.TransformerDecoderLayer, batch_first), post-LN and pre-LN, forward and backward.
// A block is a chain of sublayers (self-attention, [cross-attention], feed-forward), each
// wrapped the same way:
//   post-LN: r = h + Drop(Sub(h)); h' = LN(r)         (saved: r, LN stats, h')
//   pre-LN:  n = LN(h); h' = h + Drop(Sub(n))         (saved: n, LN stats, h')
// so forward and backward are one loop over sublayers. Parameter layout and sizes are in
// block_layout.c. Not here: embeddings, the final LN of a pre-LN stack, the LM head.
#include <string.h>

#include "zhuyi/attention.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "nn/block_internal.h"

// ---- feed-forward sublayer: out = W2 · Drop(act(W1 in + b1)) + b2 --------------------
// in (N,C) -> out (N,C); saves u = W1 in + b1, a = act(u), ad = Drop(a), each (N,FF)
static void ff_forward(float *out, float *ff_acts, const float *in, const zy_block_params *p,
                       const zy_block_config *c) {
    size_t N = (size_t)c->B * c->T, nf = N * c->FF;
    float *u = ff_acts, *a = u + nf, *ad = a + nf;
    zy_linear_forward(u, in, p->w1, p->b1, (int)N, c->C, c->FF);
    if (c->act == ZY_BLOCK_GELU)
        zy_gelu_forward(a, u, nf, ZY_GELU_ERF);
    else
        zy_relu_forward(a, u, nf);
    zy_dropout_forward(ad, a, nf, c->dropout, zy__block_seed(c, ZY__SITE_FF_HIDDEN), c->offset);
    zy_linear_forward(out, ad, p->w2, p->b2, (int)N, c->FF, c->C);
}

// dout (N,C) -> din (N,C) +=; tmp (2 N FF) scratch
static void ff_backward(float *din, const zy_block_params *dp, float *tmp, const float *dout,
                        const float *ff_acts, const float *in, const zy_block_params *p,
                        const zy_block_config *c) {
    size_t N = (size_t)c->B * c->T, nf = N * c->FF;
    const float *u = ff_acts, *ad = u + 2 * nf;
    float *dad = tmp, *du = tmp + nf;
    memset(tmp, 0, 2 * nf * sizeof *tmp);
    zy_linear_backward(dad, dp->w2, dp->b2, dout, ad, p->w2, (int)N, c->FF, c->C);
    // back through dropout: in place, scaling by the forward mask (recomputed from the
    // hash) is the same as zy_dropout_backward into a zeroed buffer; then the activation
    float *da = dad;
    zy_dropout_forward(da, dad, nf, c->dropout, zy__block_seed(c, ZY__SITE_FF_HIDDEN),
                       c->offset);
    if (c->act == ZY_BLOCK_GELU)
        zy_gelu_backward(du, da, u, nf, ZY_GELU_ERF);
    else
        zy_relu_backward(du, da, u, nf);
    zy_linear_backward(din, dp->w1, dp->b1, du, in, p->w1, (int)N, c->C, c->FF);
}

// ---- one sublayer ------------------------------------------------------------------------
// hin (B,T,C) -> s->hout (B,T,C). so (B,T,C) and mha_scratch are temporaries.
static zy_status sub_forward(const zy__block_sub *s, float *so, float *mha_scratch,
                             const float *hin, const float *mem, const zy_block_params *p,
                             const zy_block_config *c) {
    size_t N = (size_t)c->B * c->T, n = N * c->C;
    const float *sub_in = hin;
    if (c->norm_first) {
        zy_layernorm_forward(s->buf, s->mean, s->rstd, hin, s->lnw, s->lnb, (int)N, c->C,
                             c->eps);
        sub_in = s->buf;
    }
    zy_status st = ZY_STATUS_OK;
    if (s->kind == ZY__SUB_FF) {
        ff_forward(so, s->sub_acts, sub_in, p, c);
    } else {
        zy_mha_config mc = zy__block_mha_config(c, s->kind);
        const float *kv = s->kind == ZY__SUB_CROSS ? mem : sub_in;
        st = zy_mha_forward(so, s->sub_acts, mha_scratch, zy_mha_scratch_floats(&mc), sub_in, kv,
                            s->mha, &mc);
        if (st != ZY_STATUS_OK) return st;
    }
    zy_dropout_forward(so, so, n, c->dropout, zy__block_seed(c, s->out_site), c->offset);
    if (c->norm_first) {
        zy_residual_forward(s->hout, hin, so, n);
    } else {
        zy_residual_forward(s->buf, hin, so, n);
        zy_layernorm_forward(s->hout, s->mean, s->rstd, s->buf, s->lnw, s->lnb, (int)N, c->C,
                             c->eps);
    }
    return st;
}

// dhout (B,T,C) -> dhin (B,T,C) +=, dmem +=, parameter grads (ds: the same sublayer laid
// over the gradient array) +=. t: scratch of zy__block_bwd_tmp floats.
static void sub_backward(float *dhin, float *dmem, const zy__block_sub *s,
                         const zy__block_sub *ds, const zy_block_params *dp, float *t,
                         const float *dhout, const float *hin, const float *mem,
                         const zy_block_params *p, const zy_block_config *c) {
    size_t N = (size_t)c->B * c->T, n = N * c->C, nf = N * c->FF;
    float *dr = t, *dso = dr + n, *dn = dso + n, *ff_tmp = dn + n, *mha_scratch = ff_tmp + 2 * nf;
    const float *g = dhout; // gradient arriving at the residual sum
    if (!c->norm_first) {
        memset(dr, 0, n * sizeof *dr);
        zy_layernorm_backward(dr, ds->lnw, ds->lnb, dhout, s->buf, s->lnw, s->mean, s->rstd,
                              (int)N, c->C);
        g = dr;
    }
    zy_residual_backward(dhin, NULL, g, n); // the skip connection
    memset(dso, 0, n * sizeof *dso);
    zy_dropout_backward(dso, g, n, c->dropout, zy__block_seed(c, s->out_site), c->offset);
    // the sublayer's input gradient: straight into dhin (post-LN) or into dn, then back
    // through the pre-LN norm
    float *dsub_in = dhin;
    const float *sub_in = hin;
    if (c->norm_first) {
        memset(dn, 0, n * sizeof *dn);
        dsub_in = dn;
        sub_in = s->buf;
    }
    if (s->kind == ZY__SUB_FF) {
        ff_backward(dsub_in, dp, ff_tmp, dso, s->sub_acts, sub_in, p, c);
    } else {
        zy_mha_config mc = zy__block_mha_config(c, s->kind);
        if (s->kind == ZY__SUB_CROSS)
            zy_mha_backward(dsub_in, dmem, ds->mha, mha_scratch, zy_mha_scratch_floats(&mc),
                            dso, s->sub_acts, sub_in, mem, s->mha, &mc);
        else
            zy_mha_backward(dsub_in, NULL, ds->mha, mha_scratch, zy_mha_scratch_floats(&mc),
                            dso, s->sub_acts, sub_in, sub_in, s->mha, &mc);
    }
    if (c->norm_first)
        zy_layernorm_backward(dhin, ds->lnw, ds->lnb, dn, hin, s->lnw, s->mean, s->rstd,
                              (int)N, c->C);
}

// ---- the block ---------------------------------------------------------------------------
zy_status zy_block_forward(float *y, float *acts, float *scratch, const float *x,
                           const float *mem, const zy_block_params *p,
                           const zy_block_config *c) {
    zy_status st = zy__block_validate(c, mem);
    if (st != ZY_STATUS_OK) return st;
    zy__block_sub subs[3];
    int ns = zy__block_subs(subs, acts, p, c);
    size_t n = (size_t)c->B * c->T * c->C;
    float *so = scratch, *mha_scratch = scratch + n;
    const float *h = x;
    for (int i = 0; i < ns; i++) {
        st = sub_forward(&subs[i], so, mha_scratch, h, mem, p, c);
        if (st != ZY_STATUS_OK) return st;
        h = subs[i].hout;
    }
    memcpy(y, h, n * sizeof *y);
    return ZY_STATUS_OK;
}

void zy_block_backward(float *dx, float *dmem, const zy_block_params *dp, float *scratch,
                       const float *dy, float *acts, const float *x, const float *mem,
                       const zy_block_params *p, const zy_block_config *c) {
    zy__block_sub subs[3], dsubs[3];
    int ns = zy__block_subs(subs, acts, p, c);
    zy__block_subs(dsubs, NULL, dp, c); // only the parameter-gradient pointers are used
    size_t n = (size_t)c->B * c->T * c->C;
    float *gbuf[2] = {scratch, scratch + n}, *t = scratch + 2 * n;
    const float *g = dy;
    for (int i = ns - 1; i >= 0; i--) {
        const float *hin = i > 0 ? subs[i - 1].hout : x;
        float *dhin = dx;
        if (i > 0 || !dx) { // parameter gradients are still wanted when dx is NULL
            dhin = gbuf[i & 1];
            memset(dhin, 0, n * sizeof *dhin);
        }
        sub_backward(dhin, dmem, &subs[i], &dsubs[i], dp, t, g, hin, mem, p, c);
        g = dhin;
    }
}
