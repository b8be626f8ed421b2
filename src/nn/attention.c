// Plain (materialized) attention: scores -> masked softmax -> dropout -> weighted sum of
// values, forward and backward, for every score function of attention.h. The weights
// (BH,Tq,Tk) are stored, so memory is O(T²); the tiled O(T) path lives in flash*.c.
// The score functions with parameters (additive, general, concat) are in
// attention_score.c; the masked softmax is in attention_mask.c.
#include <math.h>

#include "zhuyi/attention.h"
#include "zhuyi/gemm.h"

#include "core/internal.h"
#include "nn/attention_internal.h"

zy_attn_desc zy_attn_default_desc(int B, int H, int Tq, int Tk, int D, int Dv) {
    zy_attn_desc d = {0};
    d.B = B;
    d.H = H;
    d.Tq = Tq;
    d.Tk = Tk;
    d.Dq = D;
    d.Dk = D;
    d.Dv = Dv;
    d.score = ZY_ATTN_SCALED_DOT;
    return d;
}

size_t zy_attn_saved_floats(const zy_attn_desc *d) {
    size_t BH = (size_t)d->B * d->H, n = 0;
    if (d->dropout > 0.0f) n += BH * d->Tq * d->Tk;
    if (d->score == ZY_ATTN_GENERAL) n += BH * d->Tq * d->Dk;
    if (zy__attn_is_additive(d)) n += BH * ((size_t)d->Tq + d->Tk) * d->A;
    return n;
}

size_t zy_attn_scratch_floats(const zy_attn_desc *d) {
    size_t BH = (size_t)d->B * d->H, n = BH * d->Tq * d->Tk;
    if (d->score == ZY_ATTN_GENERAL) n += BH * d->Tq * d->Dk;
    // dpq, dpk and one partial of dv per bh (summed in bh order: thread-count independent)
    if (zy__attn_is_additive(d)) n += BH * ((size_t)d->Tq + d->Tk + 1) * d->A;
    return n;
}

static zy_status validate(const zy_attn_desc *d, const zy_attn_weights *w) {
    if (d->B <= 0 || d->H <= 0 || d->Tq < 0 || d->Tk < 0 || d->Dq <= 0 || d->Dk <= 0 ||
        d->Dv <= 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "attention: bad sizes B=%d H=%d Tq=%d Tk=%d Dq=%d Dk=%d Dv=%d", d->B,
                         d->H, d->Tq, d->Tk, d->Dq, d->Dk, d->Dv);
    if (!(d->dropout >= 0.0f && d->dropout < 1.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "attention: dropout %g not in [0, 1)",
                         (double)d->dropout);
    if (d->k_stride != 0 && d->k_stride < (ptrdiff_t)d->Tk * d->Dk)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "attention: k_stride %td < Tk*Dk",
                         d->k_stride);
    if (d->v_stride != 0 && d->v_stride < (ptrdiff_t)d->Tk * d->Dv)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "attention: v_stride %td < Tk*Dv",
                         d->v_stride);
    switch (d->score) {
    case ZY_ATTN_DOT:
    case ZY_ATTN_SCALED_DOT:
        if (d->Dq != d->Dk)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "attention: dot-product scores need Dq == Dk (%d != %d)", d->Dq,
                             d->Dk);
        return ZY_STATUS_OK;
    case ZY_ATTN_GENERAL:
        if (!w || !w->W)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "attention: general score needs W");
        return ZY_STATUS_OK;
    case ZY_ATTN_ADDITIVE:
    case ZY_ATTN_CONCAT:
        if (d->A <= 0)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "attention: hidden width A=%d", d->A);
        if (!w || !w->v || (d->score == ZY_ATTN_ADDITIVE ? !w->Wq || !w->Wk : !w->W))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "attention: %s score needs its weights and v",
                             d->score == ZY_ATTN_ADDITIVE ? "additive" : "concat");
        return ZY_STATUS_OK;
    }
    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "attention: unknown score %d", (int)d->score);
}

zy_status zy_attn_forward(float *out, float *att, float *saved, const float *q,
                          const float *k, const float *v, const zy_attn_weights *w,
                          const zy_attn_desc *d) {
    zy_status st = validate(d, w);
    if (st != ZY_STATUS_OK) return st;
    if (!saved && zy_attn_saved_floats(d) > 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "attention: this desc saves %zu floats for backward; saved is NULL",
                         zy_attn_saved_floats(d));
    int BH = d->B * d->H, Tq = d->Tq, Tk = d->Tk;
    size_t nA = (size_t)BH * Tq * Tk;
    ptrdiff_t ks = zy__attn_k_stride(d), vs = zy__attn_v_stride(d);
    float *dropped = d->dropout > 0.0f ? saved : NULL;
    float *extra = saved ? saved + (dropped ? nA : 0) : NULL;

    // 1. scores S (BH,Tq,Tk) into att
    switch (d->score) {
    case ZY_ATTN_DOT:
    case ZY_ATTN_SCALED_DOT:
        zy_sgemm_batched(false, true, Tq, Tk, d->Dk, zy__attn_scale(d), q, d->Dq,
                         (ptrdiff_t)Tq * d->Dq, k, d->Dk, ks, 0.0f, att, Tk,
                         (ptrdiff_t)Tq * Tk, BH);
        break;
    case ZY_ATTN_GENERAL:
        zy__attn_general_forward(att, extra, q, k, w, d);
        break;
    case ZY_ATTN_ADDITIVE:
    case ZY_ATTN_CONCAT:
        zy__attn_additive_forward(att, extra, q, k, w, d);
        break;
    }
    // 2. masked softmax in place; 3. dropout on the weights
    zy__attn_masked_softmax(att, d);
    const float *P = att;
    if (dropped) {
        zy_dropout_forward(dropped, att, nA, d->dropout, d->seed, d->offset);
        P = dropped;
    }
    // 4. out = P · v
    zy_sgemm_batched(false, false, Tq, d->Dv, Tk, 1.0f, P, Tk, (ptrdiff_t)Tq * Tk, v, d->Dv,
                     vs, 0.0f, out, d->Dv, (ptrdiff_t)Tq * d->Dv, BH);
    return ZY_STATUS_OK;
}

void zy_attn_backward(float *dq, float *dk, float *dv, const zy_attn_grads *dw,
                      float *scratch, const float *dout, const float *att, const float *saved,
                      const float *q, const float *k, const float *v, const zy_attn_weights *w,
                      const zy_attn_desc *d) {
    int BH = d->B * d->H, Tq = d->Tq, Tk = d->Tk;
    size_t nA = (size_t)BH * Tq * Tk;
    ptrdiff_t ks = zy__attn_k_stride(d), vs = zy__attn_v_stride(d);
    const float *P = d->dropout > 0.0f ? saved : att;
    const float *extra = saved ? saved + (d->dropout > 0.0f ? nA : 0) : NULL;
    float *dS = scratch, *tmp = scratch + nA;

    // dv += Pᵀ · dout (P as used in forward, after dropout)
    if (dv)
        zy_sgemm_batched(true, false, Tk, d->Dv, Tq, 1.0f, P, Tk, (ptrdiff_t)Tq * Tk, dout,
                         d->Dv, (ptrdiff_t)Tq * d->Dv, 1.0f, dv, d->Dv, vs, BH);
    // dP = dout · vᵀ, then back through dropout (same mask: same (seed, index)) and the
    // softmax: dS = P ⊙ (dP - rowsum(dP ⊙ P)). Masked weights are 0, so dS is 0 there.
    zy_sgemm_batched(false, true, Tq, Tk, d->Dv, 1.0f, dout, d->Dv, (ptrdiff_t)Tq * d->Dv, v,
                     d->Dv, vs, 0.0f, dS, Tk, (ptrdiff_t)Tq * Tk, BH);
    if (d->dropout > 0.0f) zy_dropout_forward(dS, dS, nA, d->dropout, d->seed, d->offset);
    zy__attn_softmax_backward(dS, att, d);

    switch (d->score) {
    case ZY_ATTN_DOT:
    case ZY_ATTN_SCALED_DOT: {
        float scale = zy__attn_scale(d);
        if (dq)
            zy_sgemm_batched(false, false, Tq, d->Dq, Tk, scale, dS, Tk, (ptrdiff_t)Tq * Tk, k,
                             d->Dk, ks, 1.0f, dq, d->Dq, (ptrdiff_t)Tq * d->Dq, BH);
        if (dk)
            zy_sgemm_batched(true, false, Tk, d->Dk, Tq, scale, dS, Tk, (ptrdiff_t)Tq * Tk, q,
                             d->Dq, (ptrdiff_t)Tq * d->Dq, 1.0f, dk, d->Dk, ks, BH);
        break;
    }
    case ZY_ATTN_GENERAL:
        zy__attn_general_backward(dq, dk, dw, tmp, dS, extra, q, k, w, d);
        break;
    case ZY_ATTN_ADDITIVE:
    case ZY_ATTN_CONCAT:
        zy__attn_additive_backward(dq, dk, dw, tmp, dS, extra, q, k, w, d);
        break;
    }
}
