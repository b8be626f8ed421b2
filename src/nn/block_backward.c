// Transformer block backward (the forward and its saved activations: block.c,
// block_layout.c). Sublayers in reverse; for each, the gradient g of its output h':
//   pre-LN:  h' = h + Drop(S(n) + b), n = LN(h):   gb = Drop'(g); dn = S'(gb) (written);
//            g(h) = g + LN'(dn)  — added into g in place, so one buffer carries the
//            residual stream's gradient down the block (the caller's dy itself when
//            dx == dy: no copy at all).
//   post-LN: h' = LN(r), r = h + Drop(S(h) + b):  dr = LN'(g); gb = Drop'(dr);
//            g(h) = dr + S'(gb)  — the sublayer's input GEMM adds (beta 1) into dr.
// Dropout with p = 0 costs nothing (gb is g); frozen tensors (NULL gradient fields) skip
// their weight-gradient GEMMs; the input-gradient GEMM of the first sublayer is skipped
// when nothing needs it (dx NULL and, pre-LN, the first LN frozen).
#include <string.h>

#include "zhuyi/attention.h"
#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "nn/block_internal.h"
#include "nn/layernorm.h"

// gb (N,C) -> the branch's input gradient: din (N,C) = beta·din + ∂/∂in (NULL: skipped),
// dmem += (cross-attention), parameter gradients +=. t: the sublayer scratch.
// lscr: the adapters' scratch (zy__block_lora_bwd_floats).
static zy_status branch_backward(float *din, float beta, float *dmem, const zy__block_sub *s,
                                 const zy__block_sub *ds, const zy_block_params *dp, float *t,
                                 size_t t_floats, float *lscr, const float *gb, const float *in,
                                 const float *mem, const zy_block_params *p,
                                 const zy_block_config *c) {
    const int N = c->B * c->T, C = c->C, FF = c->FF;
    zy__lora_run lin = zy__block_lora_run(c, s, 0, lscr), lout = zy__block_lora_run(c, s, 1, lscr);
    if (s->kind == ZY__SUB_FF) {
        const size_t nf = (size_t)N * FF;
        float *da = t, *du = t + zy__round16(nf);
        const bool hid = c->dropout.ff_hidden > 0.0f;
        const float *h = hid ? s->ad : s->a; // w2's input: NULL when w2 does not need it
        // out = h·W2ᵀ + b2 (+ adapters): da = gb·W2 (written), dW2 += gbᵀ·h, db2 += Σ gb
        zy_sgemm(false, false, N, FF, C, 1.0f, gb, C, p->w2, FF, 0.0f, da, FF);
        zy_linear_backward(NULL, dp->w2, dp->b2, gb, h, p->w2, N, FF, C);
        zy__lora_run_backward(&lout, da, gb, C, 0, C, h, N);
        if (hid) // back through the hidden dropout: the forward mask, recomputed
            zy_dropout_forward(da, da, nf, c->dropout.ff_hidden,
                               zy__block_seed(c, ZY__SITE_FF_HIDDEN), c->offset);
        zy__block_act_backward(du, da, s->u, (size_t)N, FF, c->act);
        // u = in·W1ᵀ + b1 (+ adapters)
        if (din) zy_sgemm(false, false, N, C, FF, 1.0f, du, FF, p->w1, C, beta, din, C);
        zy_linear_backward(NULL, dp->w1, dp->b1, du, in, p->w1, N, C, FF);
        zy__lora_run_backward(&lin, din, du, FF, 0, FF, in, N);
        return ZY_STATUS_OK;
    }
    const bool self = s->kind == ZY__SUB_SELF;
    zy_mha_config m = zy__block_mha_config(c, s->kind);
    const size_t nc = zy__round16((size_t)N * C);
    float *dctx = t;
    zy_sgemm(false, false, N, C, C, 1.0f, gb, C, s->wout, C, 0.0f, dctx, C);
    zy_linear_backward(NULL, ds->wout, ds->bout, gb, s->mha_acts.ctx, s->wout, N, C, C);
    zy__lora_run_backward(&lout, dctx, gb, C, 0, C, s->mha_acts.ctx, N);
    return zy__mha_attend_backward(din, beta, self ? NULL : dmem, ds->mha, t + nc,
                                   t_floats - nc, dctx, &s->mha_acts, in, self ? in : mem,
                                   self, s->mha, &m, &lin);
}

zy_status zy_block_backward(float *dx, float *dmem, const zy_block_params *dp, float *scratch,
                            size_t scratch_floats, const float *dy, const float *acts,
                            const float *x, const float *mem, const zy_block_params *p,
                            const zy_block_config *c) {
    zy_status st = zy__block_validate(c, mem, "block backward");
    if (st != ZY_STATUS_OK) return st;
    const size_t N = (size_t)c->B * c->T, n = N * c->C, nc = zy__round16(n);
    const size_t nl = zy__block_lora_bwd_floats(c);
    if (!scratch || scratch_floats < 4 * nc + nl)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "block backward: scratch of %zu floats, need at least %zu",
                         scratch ? scratch_floats : (size_t)0, 4 * nc + nl);
    static const zy_block_params frozen; // all NULL: no parameter gradients
    if (!dp) dp = &frozen;
    unsigned trains = c->frozen_linears & ~zy_block_frozen_linears(dp);
    for (int j = 0; j < ZY_BLOCK_LINEARS; j++)
        if (trains >> j & 1u)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "block backward: a gradient for "
                             "the %s weight, which the config marks frozen (frozen_linears: "
                             "its input may not be saved)", zy__block_linear_name(j));
    zy__block_sub subs[3], dsubs[3];
    const int ns = zy__block_subs(subs, (float *)acts, NULL, NULL, p, c);
    zy__block_subs(dsubs, NULL, NULL, NULL, dp, c); // only the gradient pointers are used
    float *buf[2] = {scratch, scratch + nc}, *gdrop = scratch + 2 * nc, *dn = scratch + 3 * nc;
    float *lscr = scratch + 4 * nc, *t = lscr + nl;
    const size_t t_floats = scratch_floats - 4 * nc - nl;

    if (c->norm_first) {
        // g: the residual stream's gradient, carried down in place
        float *g = dx == dy ? dx : buf[0];
        if (g != dy) memcpy(g, dy, n * sizeof *g);
        for (int i = ns - 1; i >= 0; i--) {
            const zy__block_sub *s = &subs[i], *ds = &dsubs[i];
            const float *hin = i > 0 ? subs[i - 1].hout : x;
            const float *gb = g;
            if (s->p_out > 0.0f) { // Drop'(g): g scaled by the forward's mask
                zy_dropout_forward(gdrop, g, n, s->p_out, zy__block_seed(c, s->out_site),
                                   c->offset);
                gb = gdrop;
            }
            const bool want_dn = i > 0 || dx || ds->lnw || ds->lnb;
            st = branch_backward(want_dn ? dn : NULL, 0.0f, dmem, s, ds, dp, t, t_floats, lscr,
                                 gb, s->nbuf, mem, p, c);
            if (st != ZY_STATUS_OK) return st;
            if (want_dn)
                zy_layernorm_backward(i > 0 || dx ? g : NULL, ds->lnw, ds->lnb, dn, hin, s->lnw,
                                      s->mean, s->rstd, (int)N, c->C);
        }
        if (dx && dx != dy) zy_residual_backward(dx, NULL, g, n);
        return ZY_STATUS_OK;
    }
    // post-LN: LN' needs a fresh buffer each time, so two take turns
    const float *g = dy;
    for (int i = ns - 1; i >= 0; i--) {
        const zy__block_sub *s = &subs[i], *ds = &dsubs[i];
        const float *hin = i > 0 ? subs[i - 1].hout : x;
        float *dr = buf[i & 1];
        zy__layernorm_backward_assign(dr, ds->lnw, ds->lnb, g, s->nbuf, s->lnw, s->mean,
                                      s->rstd, (int)N, c->C);
        const float *gb = dr;
        if (s->p_out > 0.0f) {
            zy_dropout_forward(gdrop, dr, n, s->p_out, zy__block_seed(c, s->out_site),
                               c->offset);
            gb = gdrop;
        }
        // the sublayer's input is hin itself: its gradient adds into dr (= the skip's)
        st = branch_backward(i > 0 || dx ? dr : NULL, 1.0f, dmem, s, ds, dp, t, t_floats, lscr,
                             gb, hin, mem, p, c);
        if (st != ZY_STATUS_OK) return st;
        g = dr;
    }
    if (dx == dy)
        memcpy(dx, g, n * sizeof *dx);
    else if (dx)
        zy_residual_backward(dx, NULL, g, n);
    return ZY_STATUS_OK;
}
