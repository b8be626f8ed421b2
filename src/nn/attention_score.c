// Score functions with learned parameters, forward and backward:
//   general  (Luong):    s = qᵀ W k          computed as (q·W)·kᵀ, q·W saved
//   additive (Bahdanau): s = vᵀ tanh(Wq q + Wk k), Wq q and Wk k saved
//   concat   (Luong):    s = vᵀ tanh(W [q; k]) = additive with Wq = W[:, :Dq], Wk = W[:, Dq:]
// The tanh of the (Tq,Tk,A) pre-activations is recomputed in backward rather than stored:
// these scores are for small recurrent-style models, where A·Tq·Tk floats would dominate
// memory. The dot-product scores are two lines in attention.c.
#include <string.h>

#include "zhuyi/gemm.h"

#include "core/internal.h"
#include "nn/attention_internal.h"

// ---- general: s = (q W) kᵀ -------------------------------------------------------------
// S (BH,Tq,Tk); extra = qW (BH,Tq,Dk)
void zy__attn_general_forward(float *S, float *extra, const float *q, const float *k,
                              const zy_attn_weights *w, const zy_attn_desc *d) {
    int BH = d->B * d->H, Tq = d->Tq, Tk = d->Tk, Dq = d->Dq, Dk = d->Dk;
    float *qW = extra;
    zy_sgemm(false, false, BH * Tq, Dk, Dq, 1.0f, q, Dq, w->W, Dk, 0.0f, qW, Dk);
    zy_sgemm_batched(false, true, Tq, Tk, Dk, 1.0f, qW, Dk, (ptrdiff_t)Tq * Dk, k, Dk,
                     zy__attn_k_stride(d), 0.0f, S, Tk, (ptrdiff_t)Tq * Tk, BH);
}

// dS (BH,Tq,Tk); tmp = dqW (BH,Tq,Dk)
void zy__attn_general_backward(float *dq, float *dk, const zy_attn_grads *dw, float *tmp,
                               const float *dS, const float *extra, const float *q,
                               const float *k, const zy_attn_weights *w,
                               const zy_attn_desc *d) {
    int BH = d->B * d->H, Tq = d->Tq, Tk = d->Tk, Dq = d->Dq, Dk = d->Dk;
    ptrdiff_t ks = zy__attn_k_stride(d);
    const float *qW = extra;
    float *dqW = tmp;
    zy_sgemm_batched(false, false, Tq, Dk, Tk, 1.0f, dS, Tk, (ptrdiff_t)Tq * Tk, k, Dk, ks,
                     0.0f, dqW, Dk, (ptrdiff_t)Tq * Dk, BH);
    if (dk)
        zy_sgemm_batched(true, false, Tk, Dk, Tq, 1.0f, dS, Tk, (ptrdiff_t)Tq * Tk, qW, Dk,
                         (ptrdiff_t)Tq * Dk, 1.0f, dk, Dk, ks, BH);
    if (dq) zy_sgemm(false, true, BH * Tq, Dq, Dk, 1.0f, dqW, Dk, w->W, Dk, 1.0f, dq, Dq);
    if (dw && dw->W)
        zy_sgemm(true, false, Dq, Dk, BH * Tq, 1.0f, q, Dq, dqW, Dk, 1.0f, dw->W, Dk);
}

// ---- additive / concat -------------------------------------------------------------------
// The two projection matrices and their row strides: separate for additive, the two
// column blocks of one W (A, Dq+Dk) for concat.
typedef struct proj {
    const float *Wq, *Wk;
    int ldq, ldk;
} proj;

static proj projections(const zy_attn_weights *w, const zy_attn_desc *d) {
    if (d->score == ZY_ATTN_CONCAT)
        return (proj){w->W, w->W + d->Dq, d->Dq + d->Dk, d->Dq + d->Dk};
    return (proj){w->Wq, w->Wk, d->Dq, d->Dk};
}

// S (BH,Tq,Tk); extra = pq (BH,Tq,A) then pk (BH,Tk,A)
void zy__attn_additive_forward(float *S, float *extra, const float *q, const float *k,
                               const zy_attn_weights *w, const zy_attn_desc *d) {
    int BH = d->B * d->H, Tq = d->Tq, Tk = d->Tk, A = d->A;
    proj pr = projections(w, d);
    float *pq = extra, *pk = extra + (size_t)BH * Tq * A;
    zy_sgemm(false, true, BH * Tq, A, d->Dq, 1.0f, q, d->Dq, pr.Wq, pr.ldq, 0.0f, pq, A);
    zy_sgemm_batched(false, true, Tk, A, d->Dk, 1.0f, k, d->Dk, zy__attn_k_stride(d), pr.Wk,
                     pr.ldk, 0, 0.0f, pk, A, (ptrdiff_t)Tk * A, BH);
    const float *vv = w->v;
    long rows = (long)BH * Tq;
    int par = !zy__in_parallel() && (size_t)rows * Tk * A >= ZY__ATTN_PAR_MIN;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (long r = 0; r < rows; r++) {
        const float *a_q = pq + (size_t)r * A;
        const float *pk_bh = pk + (size_t)(r / Tq) * Tk * A;
        float *s = S + (size_t)r * Tk;
        for (int j = 0; j < Tk; j++) {
            const float *a_k = pk_bh + (size_t)j * A;
            float acc = 0.0f;
            for (int a = 0; a < A; a++) acc += vv[a] * tanhf(a_q[a] + a_k[a]);
            s[j] = acc;
        }
    }
}

// dS (BH,Tq,Tk); tmp = dpq (BH,Tq,A), dpk (BH,Tk,A), dv partials (BH,A)
void zy__attn_additive_backward(float *dq, float *dk, const zy_attn_grads *dw, float *tmp,
                                const float *dS, const float *extra, const float *q,
                                const float *k, const zy_attn_weights *w,
                                const zy_attn_desc *d) {
    int BH = d->B * d->H, Tq = d->Tq, Tk = d->Tk, A = d->A, Dq = d->Dq, Dk = d->Dk;
    ptrdiff_t ks = zy__attn_k_stride(d);
    proj pr = projections(w, d);
    const float *pq = extra, *pk = extra + (size_t)BH * Tq * A, *vv = w->v;
    float *dpq = tmp, *dpk = dpq + (size_t)BH * Tq * A, *dvp = dpk + (size_t)BH * Tk * A;
    int par = !zy__in_parallel() && (size_t)BH * Tq * Tk * A >= ZY__ATTN_PAR_MIN;
    (void)par;
    // One bh per iteration: dpk[bh] gathers over all queries of its own bh only.
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (int bh = 0; bh < BH; bh++) {
        float *gq = dpq + (size_t)bh * Tq * A, *gk = dpk + (size_t)bh * Tk * A;
        float *gv = dvp + (size_t)bh * A;
        memset(gq, 0, (size_t)Tq * A * sizeof *gq);
        memset(gk, 0, (size_t)Tk * A * sizeof *gk);
        memset(gv, 0, (size_t)A * sizeof *gv);
        for (int i = 0; i < Tq; i++) {
            const float *a_q = pq + ((size_t)bh * Tq + i) * A;
            const float *g_row = dS + ((size_t)bh * Tq + i) * Tk;
            for (int j = 0; j < Tk; j++) {
                float g = g_row[j];
                if (g == 0.0f) continue; // masked keys (and exact zeros) add nothing
                const float *a_k = pk + ((size_t)bh * Tk + j) * A;
                float *gkj = gk + (size_t)j * A, *gqi = gq + (size_t)i * A;
                for (int a = 0; a < A; a++) {
                    float t = tanhf(a_q[a] + a_k[a]);
                    gv[a] += g * t;
                    float pre = g * vv[a] * (1.0f - t * t);
                    gqi[a] += pre;
                    gkj[a] += pre;
                }
            }
        }
    }
    float *dWq = NULL, *dWk = NULL, *dvv = dw ? dw->v : NULL;
    if (dw && d->score == ZY_ATTN_CONCAT && dw->W) dWq = dw->W, dWk = dw->W + Dq;
    if (dw && d->score == ZY_ATTN_ADDITIVE) dWq = dw->Wq, dWk = dw->Wk;
    if (dvv)
        for (int bh = 0; bh < BH; bh++)
            for (int a = 0; a < A; a++) dvv[a] += dvp[(size_t)bh * A + a];
    if (dq) zy_sgemm(false, false, BH * Tq, Dq, A, 1.0f, dpq, A, pr.Wq, pr.ldq, 1.0f, dq, Dq);
    if (dWq) zy_sgemm(true, false, A, Dq, BH * Tq, 1.0f, dpq, A, q, Dq, 1.0f, dWq, pr.ldq);
    if (dk)
        zy_sgemm_batched(false, false, Tk, Dk, A, 1.0f, dpk, A, (ptrdiff_t)Tk * A, pr.Wk,
                         pr.ldk, 0, 1.0f, dk, Dk, ks, BH);
    if (dWk) {
        if (ks == (ptrdiff_t)Tk * Dk) {
            zy_sgemm(true, false, A, Dk, BH * Tk, 1.0f, dpk, A, k, Dk, 1.0f, dWk, pr.ldk);
        } else {
            for (int bh = 0; bh < BH; bh++)
                zy_sgemm(true, false, A, Dk, Tk, 1.0f, dpk + (size_t)bh * Tk * A, A,
                         k + bh * ks, Dk, 1.0f, dWk, pr.ldk);
        }
    }
}
