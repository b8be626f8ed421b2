// Plain (materialized) attention: scores -> masked softmax -> dropout -> weighted sum of
// values, forward and backward, for every score function of attention.h. The weights
// (BH,Tq,Tk) are stored, so memory is O(T²); the tiled O(T) path lives in flash*.c.
// Also the descriptor's defaults and the checks both paths share. The score functions
// with parameters (additive, general, concat) are in attention_score.c; the masked
// softmax is in attention_mask.c.
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

zy_attn_layout zy_attn_layout_rows(int T, int D, int ld) {
    return (zy_attn_layout){(ptrdiff_t)T * ld, D, ld};
}

// ---- checks shared by the plain and tiled paths --------------------------------------------
static zy_status check_layout(zy_attn_layout l, int width, const char *who, const char *name) {
    if (l.batch == 0 && l.head == 0 && l.row == 0) return ZY_STATUS_OK;
    if (l.row < width || l.row > (1 << 30) || l.head < 0 || l.batch < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: %s layout {batch %td, head %td, row %td}: need row in "
                         "[%d (the width), 2^30] and batch, head >= 0",
                         who, name, l.batch, l.head, l.row, width);
    return ZY_STATUS_OK;
}

zy_status zy__attn_validate(const zy_attn_desc *d, const char *who) {
    // Sizes are capped so every index fits comfortably in size_t / int arithmetic.
    const int big = 1 << 24;
    if (d->B <= 0 || d->H <= 0 || d->Tq < 0 || d->Tk < 0 || d->Dq <= 0 || d->Dk <= 0 ||
        d->Dv <= 0 || d->Tq > big || d->Tk > big || d->Dq > 65536 || d->Dk > 65536 ||
        d->Dv > 65536 || (long long)d->B * d->H > big)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: bad sizes B=%d H=%d Tq=%d Tk=%d Dq=%d Dk=%d Dv=%d", who, d->B,
                         d->H, d->Tq, d->Tk, d->Dq, d->Dk, d->Dv);
    if (!(d->dropout >= 0.0f && d->dropout < 1.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: dropout %g not in [0, 1)", who,
                         (double)d->dropout);
    if (!isfinite(d->scale))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: scale is not finite", who);
    if (d->block_q < 0 || d->block_k < 0 || d->block_q > 4096 || d->block_k > 4096)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: bad tile %d x %d", who, d->block_q,
                         d->block_k);
    zy_status st;
    if ((st = check_layout(d->q_layout, d->Dq, who, "q")) ||
        (st = check_layout(d->k_layout, d->Dk, who, "k")) ||
        (st = check_layout(d->v_layout, d->Dv, who, "v")) ||
        (st = check_layout(d->out_layout, d->Dv, who, "out")))
        return st;
    if (d->key_lengths)
        for (int b = 0; b < d->B; b++)
            if (d->key_lengths[b] < 0 || d->key_lengths[b] > d->Tk)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "%s: key_lengths[%d] = %d outside [0, %d]", who, b,
                                 d->key_lengths[b], d->Tk);
    return ZY_STATUS_OK;
}

// ---- GEMM over the B*H problems ------------------------------------------------------------
// The stride between consecutive bh if the problems step uniformly, else -1.
static ptrdiff_t uniform_stride(zy__attn_mat m, int B, int H) {
    if (B == 1) return m.head;
    if (H == 1) return m.batch;
    return m.batch == (ptrdiff_t)H * m.head ? m.head : -1;
}

void zy__attn_gemm(int B, int H, bool tA, bool tB, int M, int N, int K, float alpha,
                   zy__attn_mat A, zy__attn_mat Bm, float beta, zy__attn_mat C) {
    ptrdiff_t sa = uniform_stride(A, B, H), sb = uniform_stride(Bm, B, H);
    ptrdiff_t sc = uniform_stride(C, B, H);
    float *c = (float *)C.p; // the one output of the call
    if (sa >= 0 && sb >= 0 && sc >= 0) {
        zy_sgemm_batched(tA, tB, M, N, K, alpha, A.p, A.ld, sa, Bm.p, Bm.ld, sb, beta, c, C.ld,
                         sc, B * H);
        return;
    }
    for (int b = 0; b < B; b++)
        zy_sgemm_batched(tA, tB, M, N, K, alpha, A.p + b * A.batch, A.ld, A.head,
                         Bm.p + b * Bm.batch, Bm.ld, Bm.head, beta, c + b * C.batch, C.ld,
                         C.head, H);
}

// ---- plain path --------------------------------------------------------------------------
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
    zy_status st = zy__attn_validate(d, "attention");
    if (st != ZY_STATUS_OK) return st;
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
    int B = d->B, H = d->H, Tq = d->Tq, Tk = d->Tk;
    size_t nA = (size_t)B * H * Tq * Tk;
    float *dropped = d->dropout > 0.0f ? saved : NULL;
    float *extra = saved ? saved + (dropped ? nA : 0) : NULL;
    zy__attn_mat S = zy__attn_mat_dense(att, H, Tq, Tk);

    // 1. scores S (BH,Tq,Tk) into att
    switch (d->score) {
    case ZY_ATTN_DOT:
    case ZY_ATTN_SCALED_DOT:
        zy__attn_gemm(B, H, false, true, Tq, Tk, d->Dk, zy__attn_scale(d),
                      zy__attn_mat_of(q, zy__attn_lq(d)), zy__attn_mat_of(k, zy__attn_lk(d)),
                      0.0f, S);
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
    zy__attn_gemm(B, H, false, false, Tq, d->Dv, Tk, 1.0f, zy__attn_mat_dense(P, H, Tq, Tk),
                  zy__attn_mat_of(v, zy__attn_lv(d)), 0.0f, zy__attn_mat_of(out, zy__attn_lo(d)));
    return ZY_STATUS_OK;
}

void zy_attn_backward(float *dq, float *dk, float *dv, const zy_attn_grads *dw,
                      float *scratch, const float *dout, const float *att, const float *saved,
                      const float *q, const float *k, const float *v, const zy_attn_weights *w,
                      const zy_attn_desc *d) {
    int B = d->B, H = d->H, Tq = d->Tq, Tk = d->Tk;
    size_t nA = (size_t)B * H * Tq * Tk;
    const float *P = d->dropout > 0.0f ? saved : att;
    const float *extra = saved ? saved + (d->dropout > 0.0f ? nA : 0) : NULL;
    float *dS = scratch, *tmp = scratch + nA;
    zy_attn_layout lq = zy__attn_lq(d), lk = zy__attn_lk(d), lv = zy__attn_lv(d);
    zy_attn_layout lo = zy__attn_lo(d);
    zy__attn_mat mdS = zy__attn_mat_dense(dS, H, Tq, Tk), mdo = zy__attn_mat_of(dout, lo);

    // dv += Pᵀ · dout (P as used in forward, after dropout)
    if (dv)
        zy__attn_gemm(B, H, true, false, Tk, d->Dv, Tq, 1.0f, zy__attn_mat_dense(P, H, Tq, Tk),
                      mdo, 1.0f, zy__attn_mat_of(dv, lv));
    // dP = dout · vᵀ, then back through dropout (same mask: same (seed, index)) and the
    // softmax: dS = P ⊙ (dP - rowsum(dP ⊙ P)). Masked weights are 0, so dS is 0 there.
    zy__attn_gemm(B, H, false, true, Tq, Tk, d->Dv, 1.0f, mdo, zy__attn_mat_of(v, lv), 0.0f, mdS);
    if (d->dropout > 0.0f) zy_dropout_forward(dS, dS, nA, d->dropout, d->seed, d->offset);
    zy__attn_softmax_backward(dS, att, d);

    switch (d->score) {
    case ZY_ATTN_DOT:
    case ZY_ATTN_SCALED_DOT: {
        float scale = zy__attn_scale(d);
        if (dq)
            zy__attn_gemm(B, H, false, false, Tq, d->Dq, Tk, scale, mdS, zy__attn_mat_of(k, lk),
                          1.0f, zy__attn_mat_of(dq, lq));
        if (dk)
            zy__attn_gemm(B, H, true, false, Tk, d->Dk, Tq, scale, mdS, zy__attn_mat_of(q, lq),
                          1.0f, zy__attn_mat_of(dk, lk));
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
