// Score functions with learned parameters, forward and backward:
//   general  (Luong):    s = qᵀ W k          computed as (q·W)·kᵀ, q·W saved
//   additive (Bahdanau): s = vᵀ tanh(Wq q + Wk k), Wq q and Wk k saved
//   concat   (Luong):    s = vᵀ tanh(W [q; k]) = additive with Wq = W[:, :Dq], Wk = W[:, Dq:]
// The tanh of the (Tq,Tk,A) pre-activations is recomputed in backward rather than stored:
// these scores are for small recurrent-style models, where A·Tq·Tk floats would dominate
// memory. The dot-product scores are two lines in attention.c. q and k are read through
// the desc's layouts; the saved projections are contiguous (BH, T, ·).
#include <string.h>

#include "zhuyi/gemm.h"

#include "core/internal.h"
#include "core/pool.h"
#include "nn/attention_internal.h"

// C (M,N) += Σ_bh A_bhᵀ X_bh over the B*H problems, A_bh (T, M) rows of a dense
// (BH, T, M) buffer, X_bh (T, N) rows of a tensor with layout l: one GEMM over all rows
// when X is contiguous across problems, else one per bh in bh order (deterministic).
static void sum_over_problems(float *C, int ldc, int M, int N, const float *A,
                              const float *X, zy_attn_layout l, int B, int H, int T) {
    if (l.row == N && l.head == (ptrdiff_t)T * N && l.batch == (ptrdiff_t)H * T * N) {
        zy_sgemm(true, false, M, N, B * H * T, 1.0f, A, M, X, N, 1.0f, C, ldc);
        return;
    }
    for (int bh = 0; bh < B * H; bh++)
        zy_sgemm(true, false, M, N, T, 1.0f, A + (size_t)bh * T * M, M,
                 X + zy__attn_off(l, bh, H), (int)l.row, 1.0f, C, ldc);
}

// ---- general: s = (q W) kᵀ -------------------------------------------------------------
// S (BH,Tq,Tk); extra = qW (BH,Tq,Dk)
void zy__attn_general_forward(float *S, float *extra, const float *q, const float *k,
                              const zy_attn_weights *w, const zy_attn_desc *d) {
    int B = d->B, H = d->H, Tq = d->Tq, Tk = d->Tk, Dk = d->Dk;
    zy__attn_mat W = {w->W, 0, 0, Dk}, qW = zy__attn_mat_dense(extra, H, Tq, Dk);
    zy__attn_gemm(B, H, false, false, Tq, Dk, d->Dq, 1.0f, zy__attn_mat_of(q, zy__attn_lq(d)),
                  W, 0.0f, qW);
    zy__attn_gemm(B, H, false, true, Tq, Tk, Dk, 1.0f, qW, zy__attn_mat_of(k, zy__attn_lk(d)),
                  0.0f, zy__attn_mat_dense(S, H, Tq, Tk));
}

// dS (BH,Tq,Tk); tmp = dqW (BH,Tq,Dk)
void zy__attn_general_backward(float *dq, float *dk, const zy_attn_grads *dw, float *tmp,
                               const float *dS, const float *extra, const float *q,
                               const float *k, const zy_attn_weights *w,
                               const zy_attn_desc *d) {
    int B = d->B, H = d->H, Tq = d->Tq, Tk = d->Tk, Dq = d->Dq, Dk = d->Dk;
    zy_attn_layout lq = zy__attn_lq(d), lk = zy__attn_lk(d);
    zy__attn_mat mdS = zy__attn_mat_dense(dS, H, Tq, Tk), W = {w->W, 0, 0, Dk};
    zy__attn_mat qW = zy__attn_mat_dense(extra, H, Tq, Dk), dqW = zy__attn_mat_dense(tmp, H, Tq, Dk);
    zy__attn_gemm(B, H, false, false, Tq, Dk, Tk, 1.0f, mdS, zy__attn_mat_of(k, lk), 0.0f, dqW);
    if (dk)
        zy__attn_gemm(B, H, true, false, Tk, Dk, Tq, 1.0f, mdS, qW, 1.0f, zy__attn_mat_of(dk, lk));
    if (dq)
        zy__attn_gemm(B, H, false, true, Tq, Dq, Dk, 1.0f, dqW, W, 1.0f, zy__attn_mat_of(dq, lq));
    // dW (Dq, Dk) += Σ qᵀ · dqW
    if (dw && dw->W) {
        if (lq.row == Dq && lq.head == (ptrdiff_t)Tq * Dq && lq.batch == (ptrdiff_t)H * Tq * Dq) {
            zy_sgemm(true, false, Dq, Dk, B * H * Tq, 1.0f, q, Dq, tmp, Dk, 1.0f, dw->W, Dk);
        } else {
            for (int bh = 0; bh < B * H; bh++)
                zy_sgemm(true, false, Dq, Dk, Tq, 1.0f, q + zy__attn_off(lq, bh, H), (int)lq.row,
                         tmp + (size_t)bh * Tq * Dk, Dk, 1.0f, dw->W, Dk);
        }
    }
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

typedef struct score_job {
    float *S;
    const float *pq, *pk, *vv;
    int Tq, Tk, A;
} score_job;

// rows [r0, r1) of S (BH*Tq, Tk)
static void score_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const score_job *j = ctx;
    const int Tq = j->Tq, Tk = j->Tk, A = j->A;
    for (size_t r = r0; r < r1; r++) {
        const float *a_q = j->pq + r * A;
        const float *pk_bh = j->pk + (r / Tq) * Tk * A;
        float *s = j->S + r * Tk;
        for (int jj = 0; jj < Tk; jj++) {
            const float *a_k = pk_bh + (size_t)jj * A;
            float acc = 0.0f;
            for (int a = 0; a < A; a++) acc += j->vv[a] * tanhf(a_q[a] + a_k[a]);
            s[jj] = acc;
        }
    }
}

// S (BH,Tq,Tk); extra = pq (BH,Tq,A) then pk (BH,Tk,A)
void zy__attn_additive_forward(float *S, float *extra, const float *q, const float *k,
                               const zy_attn_weights *w, const zy_attn_desc *d) {
    int B = d->B, H = d->H, Tq = d->Tq, Tk = d->Tk, A = d->A;
    proj pr = projections(w, d);
    float *pq = extra, *pk = extra + (size_t)B * H * Tq * A;
    zy__attn_gemm(B, H, false, true, Tq, A, d->Dq, 1.0f, zy__attn_mat_of(q, zy__attn_lq(d)),
                  (zy__attn_mat){pr.Wq, 0, 0, pr.ldq}, 0.0f, zy__attn_mat_dense(pq, H, Tq, A));
    zy__attn_gemm(B, H, false, true, Tk, A, d->Dk, 1.0f, zy__attn_mat_of(k, zy__attn_lk(d)),
                  (zy__attn_mat){pr.Wk, 0, 0, pr.ldk}, 0.0f, zy__attn_mat_dense(pk, H, Tk, A));
    score_job j = {S, pq, pk, w->v, Tq, Tk, A};
    size_t rows = (size_t)B * H * Tq, per_row = (size_t)Tk * A + 1;
    zy__parallel(rows, ZY_MAX((size_t)1, ZY__ATTN_PAR_MIN / per_row), 0, score_rows, &j);
}

typedef struct grad_job {
    float *dpq, *dpk, *dvp;
    const float *dS, *pq, *pk, *vv;
    int Tq, Tk, A;
} grad_job;

// problems [b0, b1): dpk[bh] gathers over the queries of its own bh only.
static void grad_problems(void *ctx, size_t b0, size_t b1, int thread) {
    (void)thread;
    const grad_job *j = ctx;
    const int Tq = j->Tq, Tk = j->Tk, A = j->A;
    for (size_t bh = b0; bh < b1; bh++) {
        float *gq = j->dpq + bh * Tq * A, *gk = j->dpk + bh * Tk * A, *gv = j->dvp + bh * A;
        memset(gq, 0, (size_t)Tq * A * sizeof *gq);
        memset(gk, 0, (size_t)Tk * A * sizeof *gk);
        memset(gv, 0, (size_t)A * sizeof *gv);
        for (int i = 0; i < Tq; i++) {
            const float *a_q = j->pq + (bh * Tq + i) * A;
            const float *g_row = j->dS + (bh * Tq + i) * Tk;
            for (int jj = 0; jj < Tk; jj++) {
                float g = g_row[jj];
                if (g == 0.0f) continue; // masked keys (and exact zeros) add nothing
                const float *a_k = j->pk + (bh * Tk + jj) * A;
                float *gkj = gk + (size_t)jj * A, *gqi = gq + (size_t)i * A;
                for (int a = 0; a < A; a++) {
                    float t = tanhf(a_q[a] + a_k[a]);
                    gv[a] += g * t;
                    float pre = g * j->vv[a] * (1.0f - t * t);
                    gqi[a] += pre;
                    gkj[a] += pre;
                }
            }
        }
    }
}

// dS (BH,Tq,Tk); tmp = dpq (BH,Tq,A), dpk (BH,Tk,A), dv partials (BH,A)
void zy__attn_additive_backward(float *dq, float *dk, const zy_attn_grads *dw, float *tmp,
                                const float *dS, const float *extra, const float *q,
                                const float *k, const zy_attn_weights *w,
                                const zy_attn_desc *d) {
    int B = d->B, H = d->H, BH = B * H, Tq = d->Tq, Tk = d->Tk, A = d->A, Dq = d->Dq;
    zy_attn_layout lq = zy__attn_lq(d), lk = zy__attn_lk(d);
    proj pr = projections(w, d);
    const float *pq = extra, *pk = extra + (size_t)BH * Tq * A;
    float *dpq = tmp, *dpk = dpq + (size_t)BH * Tq * A, *dvp = dpk + (size_t)BH * Tk * A;
    grad_job j = {dpq, dpk, dvp, dS, pq, pk, w->v, Tq, Tk, A};
    size_t per_bh = (size_t)Tq * Tk * A + 1;
    zy__parallel((size_t)BH, ZY_MAX((size_t)1, ZY__ATTN_PAR_MIN / per_bh), 0, grad_problems, &j);

    float *dWq = NULL, *dWk = NULL, *dvv = dw ? dw->v : NULL;
    if (dw && d->score == ZY_ATTN_CONCAT && dw->W) dWq = dw->W, dWk = dw->W + Dq;
    if (dw && d->score == ZY_ATTN_ADDITIVE) dWq = dw->Wq, dWk = dw->Wk;
    if (dvv)
        for (int bh = 0; bh < BH; bh++)
            for (int a = 0; a < A; a++) dvv[a] += dvp[(size_t)bh * A + a];
    if (dq)
        zy__attn_gemm(B, H, false, false, Tq, Dq, A, 1.0f, zy__attn_mat_dense(dpq, H, Tq, A),
                      (zy__attn_mat){pr.Wq, 0, 0, pr.ldq}, 1.0f, zy__attn_mat_of(dq, lq));
    if (dWq) sum_over_problems(dWq, pr.ldq, A, Dq, dpq, q, lq, B, H, Tq);
    if (dk)
        zy__attn_gemm(B, H, false, false, Tk, d->Dk, A, 1.0f, zy__attn_mat_dense(dpk, H, Tk, A),
                      (zy__attn_mat){pr.Wk, 0, 0, pr.ldk}, 1.0f, zy__attn_mat_of(dk, lk));
    if (dWk) sum_over_problems(dWk, pr.ldk, A, d->Dk, dpk, k, lk, B, H, Tk);
}
