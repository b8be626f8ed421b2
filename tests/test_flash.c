// Tests of tiled ("flash") attention (src/nn/flash*.c): outputs, lse and every gradient
// against a naive double-precision attention written here, on odd lengths, Tq != Tk,
// causal / padding / fully masked rows, at every SIMD level; a finite-difference check;
// thread-count independence; argument checks. Block kernels: tests/test_flash_kernels.c.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/attention.h"
#include "nn/attention_internal.h"

// ---- the naive reference: softmax(scale·q·kᵀ) over visible keys, all in double --------
static int visible(const zy_attn_desc *p, int bh, int i, int j) {
    if (p->causal && j > i + (p->Tk - p->Tq)) return 0;
    if (p->key_lengths && j >= p->key_lengths[bh / p->H]) return 0;
    return 1;
}

// out (BH,Tq,Dv), lse (BH,Tq), dq/dk/dv (as q/k/v) = exact gradients of Σ dout∘out.
static void naive(double *out, double *lse, double *dq, double *dk, double *dv,
                  const float *q, const float *k, const float *v, const float *dout,
                  const zy_attn_desc *p) {
    const int BH = p->B * p->H, Tq = p->Tq, Tk = p->Tk, D = p->Dk, Dv = p->Dv;
    const double scale = p->scale != 0.0f ? p->scale : 1.0 / sqrt((double)D);
    double *P = calloc((size_t)Tk + 1, sizeof(double));
    double *dP = calloc((size_t)Tk + 1, sizeof(double));
    memset(dq, 0, sizeof(double) * BH * Tq * D);
    memset(dk, 0, sizeof(double) * BH * Tk * D);
    memset(dv, 0, sizeof(double) * BH * Tk * Dv);
    for (int bh = 0; bh < BH; bh++)
        for (int i = 0; i < Tq; i++) {
            const float *qi = q + ((size_t)bh * Tq + i) * D;
            const float *gi = dout + ((size_t)bh * Tq + i) * Dv;
            double *oi = out + ((size_t)bh * Tq + i) * Dv;
            double mx = -INFINITY;
            for (int j = 0; j < Tk; j++) {
                P[j] = -INFINITY;
                if (!visible(p, bh, i, j)) continue;
                const float *kj = k + ((size_t)bh * Tk + j) * D;
                double s = 0;
                for (int d = 0; d < D; d++) s += (double)qi[d] * kj[d];
                P[j] = s * scale;
                mx = fmax(mx, P[j]);
            }
            for (int d = 0; d < Dv; d++) oi[d] = 0;
            if (mx == -INFINITY) { // no visible key: zeros, lse -inf, no gradient
                lse[(size_t)bh * Tq + i] = -INFINITY;
                continue;
            }
            double sum = 0;
            for (int j = 0; j < Tk; j++) {
                P[j] = P[j] == -INFINITY ? 0 : exp(P[j] - mx);
                sum += P[j];
            }
            lse[(size_t)bh * Tq + i] = mx + log(sum);
            double delta = 0;
            for (int j = 0; j < Tk; j++) {
                P[j] /= sum;
                const float *vj = v + ((size_t)bh * Tk + j) * Dv;
                dP[j] = 0;
                for (int d = 0; d < Dv; d++) {
                    oi[d] += P[j] * vj[d];
                    dP[j] += (double)gi[d] * vj[d];
                }
                delta += P[j] * dP[j];
            }
            for (int j = 0; j < Tk; j++) {
                if (P[j] == 0) continue;
                const double ds = P[j] * (dP[j] - delta) * scale;
                const float *kj = k + ((size_t)bh * Tk + j) * D;
                double *dkj = dk + ((size_t)bh * Tk + j) * D;
                double *dvj = dv + ((size_t)bh * Tk + j) * Dv;
                double *dqi = dq + ((size_t)bh * Tq + i) * D;
                for (int d = 0; d < D; d++) {
                    dqi[d] += ds * kj[d];
                    dkj[d] += ds * qi[d];
                }
                for (int d = 0; d < Dv; d++) dvj[d] += P[j] * gi[d];
            }
        }
    free(P);
    free(dP);
}

// ---- one case: tiled vs naive at the current SIMD level -------------------------------
typedef struct {
    const char *name;
    int B, H, Tq, Tk, D, Dv;
    bool causal;
    int lens[3]; // key_lengths if lens[0] >= 0
    int bq, bk;  // tiles (0 = default)
} fcase;

static zy_attn_desc params_of(const fcase *c) {
    zy_attn_desc p = zy_attn_default_desc(c->B, c->H, c->Tq, c->Tk, c->D, c->Dv);
    p.causal = c->causal;
    p.key_lengths = c->lens[0] >= 0 ? c->lens : NULL;
    p.block_q = c->bq;
    p.block_k = c->bk;
    return p;
}

static float *to_float(const double *x, size_t n, const float *base) {
    float *y = zt_floats(n);
    for (size_t i = 0; i < n; i++) y[i] = (float)((base ? base[i] : 0.0) + x[i]);
    return y;
}

static float max_abs(const float *x, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

// Tolerances: |got - want| <= atol + rtol |want| with rtol 2e-5 and atol 2e-6 times the
// tensor's largest magnitude (an fp32 sum over up to 1000 keys; a wrong mask, scale or
// rescale step is off by 1e-2 or more). Gradients start from random values so the test
// also proves backward ADDS.
static void run_case(const fcase *c) {
    zy_attn_desc p = params_of(c);
    const int BH = c->B * c->H;
    const size_t nq = (size_t)BH * c->Tq * c->D, nk = (size_t)BH * c->Tk * c->D,
                 nv = (size_t)BH * c->Tk * c->Dv, no = (size_t)BH * c->Tq * c->Dv,
                 nl = (size_t)BH * c->Tq;
    float *q = zt_floats(nq), *k = zt_floats(nk), *v = zt_floats(nv), *g = zt_floats(no);
    zt_fill_uniform(q, nq, 1, -2, 2); // scores up to a few units: a peaked softmax
    zt_fill_uniform(k, nk, 2, -2, 2);
    zt_fill_uniform(v, nv, 3, -1, 1);
    zt_fill_uniform(g, no, 4, -1, 1);
    float *dq0 = zt_floats(nq), *dk0 = zt_floats(nk), *dv0 = zt_floats(nv);
    zt_fill_uniform(dq0, nq, 5, -1, 1);
    zt_fill_uniform(dk0, nk, 6, -1, 1);
    zt_fill_uniform(dv0, nv, 7, -1, 1);

    double *ro = calloc(no, 8), *rl = calloc(nl + 1, 8), *rq = calloc(nq, 8),
           *rk = calloc(nk, 8), *rv = calloc(nv, 8);
    naive(ro, rl, rq, rk, rv, q, k, v, g, &p);
    float *want_o = to_float(ro, no, NULL), *want_q = to_float(rq, nq, dq0),
          *want_k = to_float(rk, nk, dk0), *want_v = to_float(rv, nv, dv0);

    size_t ns = zy_flash_scratch_floats(&p) * 2;
    float *scratch = zt_floats(ns), *out = zt_floats(no), *lse = zt_floats(nl + 1);
    float *dq = zt_floats(nq), *dk = zt_floats(nk), *dv = zt_floats(nv);
    memcpy(dq, dq0, nq * 4);
    memcpy(dk, dk0, nk * 4);
    memcpy(dv, dv0, nv * 4);
    ASSERT_EQ_INT(zy_flash_forward(out, lse, q, k, v, &p, scratch, ns), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_flash_backward(dq, dk, dv, g, q, k, v, out, lse, &p, scratch, ns),
                  ZY_STATUS_OK);

    zt_note("case %s (%s)", c->name, zy_simd_name(zy_simd_level()));
    CHECK_CLOSE("out", out, want_o, no, 2e-6 * max_abs(want_o, no), 2e-5);
    CHECK_CLOSE("dq", dq, want_q, nq, 2e-6 * max_abs(want_q, nq), 2e-5);
    CHECK_CLOSE("dk", dk, want_k, nk, 2e-6 * max_abs(want_k, nk), 2e-5);
    CHECK_CLOSE("dv", dv, want_v, nv, 2e-6 * max_abs(want_v, nv), 2e-5);
    // lse: finite rows to 2e-6 absolute (values of a few units), masked rows exactly -inf.
    int masked = 0;
    for (size_t r = 0; r < nl; r++) {
        if (rl[r] == -INFINITY) {
            masked++;
            CHECK(lse[r] == -INFINITY);
            // A row that sees nothing: exact zeros out, its dq row untouched.
            for (int d = 0; d < c->Dv; d++) CHECK(out[r * c->Dv + d] == 0.0f);
            for (int d = 0; d < c->D; d++) CHECK(dq[r * c->D + d] == dq0[r * c->D + d]);
        } else if (!(fabs(lse[r] - rl[r]) <= 2e-6 * fmax(1.0, fabs(rl[r])))) {
            zt_fail(__FILE__, __LINE__, "lse[%zu] = %.9g, want %.9g", r, lse[r], rl[r]);
            break;
        }
    }
    if (masked) zt_note("  %d fully masked rows: zeros, lse -inf, no dq", masked);

    free(ro), free(rl), free(rq), free(rk), free(rv);
    free(q), free(k), free(v), free(g), free(dq0), free(dk0), free(dv0);
    free(want_o), free(want_q), free(want_k), free(want_v);
    free(scratch), free(out), free(lse), free(dq), free(dk), free(dv);
}

static const fcase cases[] = {
    {"T=1", 1, 2, 1, 1, 8, 8, true, {-1}, 0, 0},
    {"T=17 tiles 8x4", 2, 1, 17, 17, 16, 8, false, {-1}, 8, 4},
    {"T=17 causal pad", 2, 1, 17, 17, 16, 16, true, {17, 9}, 4, 8},
    {"T=129 causal", 1, 2, 129, 129, 32, 32, true, {-1}, 0, 0},
    {"T=129 pad, 0 keys in batch 1", 2, 1, 129, 129, 24, 40, false, {100, 0}, 0, 0},
    {"Tq=5 Tk=129 causal (cache)", 1, 3, 5, 129, 16, 16, true, {-1}, 0, 0},
    {"Tq=129 Tk=17 pad", 3, 1, 129, 17, 16, 8, false, {17, 1, 5}, 32, 16},
    {"Tq=20 Tk=7 causal (early rows see nothing)", 1, 1, 20, 7, 8, 8, true, {-1}, 4, 4},
    {"T=1000 causal D=64", 1, 2, 1000, 1000, 64, 64, true, {-1}, 0, 0},
    {"T=1000 pad D=64 tiles 48x80", 2, 1, 1000, 1000, 64, 64, false, {1000, 613}, 48, 80},
};

TEST(flash_matches_naive_reference) {
    zy_simd saved = zy_simd_level();
    // AVX2 machines run the scalar kernels (there is no AVX2 set): checked as a level too.
    const zy_simd levels[] = {ZY_SIMD_SCALAR, ZY_SIMD_AVX2, ZY_SIMD_AVX512};
    const size_t n = sizeof cases / sizeof cases[0];
    for (int l = 0; l < 3; l++) {
        if (zy_simd_set(levels[l]) != levels[l]) continue; // CPU lacks it
        for (size_t i = 0; i < n; i++) {
            // The T=1000 cases take most of the time: below AVX-512 only the causal one.
            if (levels[l] != ZY_SIMD_AVX512 && i == n - 1) continue;
            run_case(&cases[i]);
        }
    }
    zy_simd_set(saved);
}

// ---- finite differences on a tiny case -----------------------------------------------
typedef struct {
    zy_attn_desc p;
    float *q, *k, *v, *w, *out, *lse, *scratch;
    size_t ns, no;
} gctx;

static double gloss(void *vc) {
    gctx *c = vc;
    zy_flash_forward(c->out, c->lse, c->q, c->k, c->v, &c->p, c->scratch, c->ns);
    return zt_dot(c->out, c->w, c->no);
}

// Causal, padded (batch 1 sees 4 of 7 keys), 2x3 tiles, explicit scale.
// eps 1e-2 with tol 1e-2: central differences on scores of O(1) are good to ~1e-4 here;
// a gradient off by a few percent (e.g. a missing Δ term or a wrong scale) fails.
TEST(flash_gradcheck_tiny) {
    static const int lens[2] = {7, 4};
    gctx c;
    c.p = zy_attn_default_desc(2, 1, 5, 7, 4, 3);
    c.p.causal = true;
    c.p.key_lengths = lens;
    c.p.block_q = 2;
    c.p.block_k = 3;
    c.p.scale = 0.7f; // not 1/√D: the scale must reach every gradient
    size_t nq = 2 * 5 * 4, nk = 2 * 7 * 4, nv = 2 * 7 * 3;
    c.no = 2 * 5 * 3;
    c.q = zt_floats(nq), c.k = zt_floats(nk), c.v = zt_floats(nv), c.w = zt_floats(c.no);
    zt_fill_uniform(c.q, nq, 11, -1, 1);
    zt_fill_uniform(c.k, nk, 12, -1, 1);
    zt_fill_uniform(c.v, nv, 13, -1, 1);
    zt_fill_uniform(c.w, c.no, 14, -1, 1);
    c.out = zt_floats(c.no), c.lse = zt_floats(10);
    c.ns = zy_flash_scratch_floats(&c.p);
    c.scratch = zt_floats(c.ns);
    float *dq = zt_floats(nq), *dk = zt_floats(nk), *dv = zt_floats(nv);
    gloss(&c);
    ASSERT_EQ_INT(zy_flash_backward(dq, dk, dv, c.w, c.q, c.k, c.v, c.out, c.lse, &c.p,
                                    c.scratch, c.ns),
                  ZY_STATUS_OK);
    GRADCHECK("dq", gloss, &c, c.q, dq, nq, 1e-2, 1e-2);
    GRADCHECK("dk", gloss, &c, c.k, dk, nk, 1e-2, 1e-2);
    GRADCHECK("dv", gloss, &c, c.v, dv, nv, 1e-2, 1e-2);
    free(c.q), free(c.k), free(c.v), free(c.w), free(c.out), free(c.lse), free(c.scratch);
    free(dq), free(dk), free(dv);
}

// The same with dropout 0.3 (the mask is a fixed function of (seed, index), so the loss is
// smooth in q, k, v): checks the dropped dP and M∘P terms of backward.
TEST(flash_gradcheck_dropout) {
    gctx c;
    c.p = zy_attn_default_desc(1, 2, 6, 6, 4, 5);
    c.p.causal = true;
    c.p.block_q = 4;
    c.p.block_k = 4;
    c.p.dropout = 0.3f;
    c.p.seed = 5;
    size_t nq = 2 * 6 * 4, nv = 2 * 6 * 5;
    c.no = nv;
    c.q = zt_floats(nq), c.k = zt_floats(nq), c.v = zt_floats(nv), c.w = zt_floats(c.no);
    zt_fill_uniform(c.q, nq, 15, -1, 1);
    zt_fill_uniform(c.k, nq, 16, -1, 1);
    zt_fill_uniform(c.v, nv, 17, -1, 1);
    zt_fill_uniform(c.w, c.no, 18, -1, 1);
    c.out = zt_floats(c.no), c.lse = zt_floats(12);
    c.ns = zy_flash_scratch_floats(&c.p);
    c.scratch = zt_floats(c.ns);
    float *dq = zt_floats(nq), *dk = zt_floats(nq), *dv = zt_floats(nv);
    gloss(&c);
    ASSERT_EQ_INT(zy_flash_backward(dq, dk, dv, c.w, c.q, c.k, c.v, c.out, c.lse, &c.p,
                                    c.scratch, c.ns),
                  ZY_STATUS_OK);
    GRADCHECK("dq", gloss, &c, c.q, dq, nq, 1e-2, 1e-2);
    GRADCHECK("dk", gloss, &c, c.k, dk, nq, 1e-2, 1e-2);
    GRADCHECK("dv", gloss, &c, c.v, dv, nv, 1e-2, 1e-2);
    free(c.q), free(c.k), free(c.v), free(c.w), free(c.out), free(c.lse), free(c.scratch);
    free(dq), free(dk), free(dv);
}

// ---- thread-count independence ---------------------------------------------------------
// Forward splits (bh, query tile); backward either walks whole row blocks or runs two
// passes (few row blocks), and both sum in the same order: 1 and 2 threads must agree
// bit for bit. BH = 1 and 3 take the two-pass schedule at 2 threads (BH = 1, T = 1300:
// dq in groups of 2 query tiles, the last one short), BH = 4 the other.
TEST(flash_threads_bit_exact) {
    const int shapes[3][2] = {{1, 1300}, {3, 200}, {4, 150}};
    int saved = zy_threads_get();
    for (int s = 0; s < 3; s++) {
        const int BH = shapes[s][0], T = shapes[s][1], D = 32;
        zy_attn_desc p = zy_attn_default_desc(BH, 1, T, T, D, D);
        p.causal = s != 1;
        const size_t n = (size_t)BH * T * D;
        float *q = zt_floats(n), *k = zt_floats(n), *v = zt_floats(n), *g = zt_floats(n);
        zt_fill_uniform(q, n, 21, -2, 2);
        zt_fill_uniform(k, n, 22, -2, 2);
        zt_fill_uniform(v, n, 23, -1, 1);
        zt_fill_uniform(g, n, 24, -1, 1);
        size_t ns = zy_flash_scratch_floats(&p) * 2;
        float *scratch = zt_floats(ns), *res[2][5];
        for (int run = 0; run < 2; run++) {
            zy_threads_set(run + 1);
            for (int t = 0; t < 5; t++) res[run][t] = zt_floats(t == 1 ? (size_t)BH * T : n);
            ASSERT_EQ_INT(zy_flash_forward(res[run][0], res[run][1], q, k, v, &p, scratch, ns),
                          ZY_STATUS_OK);
            ASSERT_EQ_INT(zy_flash_backward(res[run][2], res[run][3], res[run][4], g, q, k, v,
                                            res[run][0], res[run][1], &p, scratch, ns),
                          ZY_STATUS_OK);
        }
        const char *names[5] = {"out", "lse", "dq", "dk", "dv"};
        for (int t = 0; t < 5; t++) {
            size_t bytes = (t == 1 ? (size_t)BH * T : n) * sizeof(float);
            if (memcmp(res[0][t], res[1][t], bytes))
                zt_fail(__FILE__, __LINE__, "BH=%d: %s differs between 1 and 2 threads", BH,
                        names[t]);
            free(res[0][t]), free(res[1][t]);
        }
        zt_note("BH=%d T=%d causal=%d: 1 vs 2 threads bit-exact", BH, T, p.causal);
        free(q), free(k), free(v), free(g), free(scratch);
    }
    zy_threads_set(saved);
}

// ---- argument checks ---------------------------------------------------------------------
TEST(flash_rejects_bad_arguments) {
    zy_attn_desc p = zy_attn_default_desc(1, 1, 4, 4, 8, 8);
    float buf[64] = {0}, lse[4];
    size_t need = zy_flash_scratch_floats(&p);
    float *scratch = zt_floats(need);
    CHECK(zy_flash_forward(buf, lse, buf, buf, buf, &p, scratch, need - 1) ==
          ZY_STATUS_INVALID_ARGUMENT); // too little scratch
    int lens[1] = {5};
    p.key_lengths = lens;
    CHECK(zy_flash_forward(buf, lse, buf, buf, buf, &p, scratch, need) ==
          ZY_STATUS_INVALID_ARGUMENT); // key length past Tk
    p.key_lengths = NULL;
    p.Dq = p.Dk = 0;
    CHECK(zy_flash_forward(buf, lse, buf, buf, buf, &p, scratch, need) ==
          ZY_STATUS_INVALID_ARGUMENT);
    p.Dq = p.Dk = 8;
    p.dropout = 1.0f;
    CHECK(zy_flash_forward(buf, lse, buf, buf, buf, &p, scratch, need) ==
          ZY_STATUS_INVALID_ARGUMENT);
    p.dropout = 0.0f;
    CHECK(zy_flash_forward(buf, lse, buf, buf, buf, &p, scratch, need) == ZY_STATUS_OK);
    free(scratch);
}

// ---- tiled == plain (zy_attn_* in attention.h, which stores the (BH,Tq,Tk) weights) ----
// Same inputs through both paths; outputs and every gradient must agree to fp32 precision:
// |diff| <= 1e-5 · max|want| + 2e-5 |want| (the two sum in different orders).
// The third case adds dropout 0.2 on the weights: both paths must drop the same weights.
TEST(flash_matches_plain_attention) {
    static const int lens[2] = {53, 20};
    const int B = 2, H = 2, BH = 4;
    const int shapes[3][2] = {{37, 53}, {53, 53}, {37, 53}};
    for (int c = 0; c < 3; c++) {
        const int Tq = shapes[c][0], Tk = shapes[c][1], D = 16, Dv = 24;
        zy_attn_desc p = zy_attn_default_desc(B, H, Tq, Tk, D, Dv);
        p.causal = true;
        p.key_lengths = lens;
        p.block_q = 16;
        p.block_k = 32;
        zy_attn_desc d = zy_attn_default_desc(B, H, Tq, Tk, D, Dv);
        d.causal = true;
        d.key_lengths = lens;
        if (c == 2) {
            p.dropout = d.dropout = 0.2f;
            p.seed = d.seed = 99;
            p.offset = d.offset = 1000;
        }
        const size_t nq = (size_t)BH * Tq * D, nk = (size_t)BH * Tk * D,
                     nv = (size_t)BH * Tk * Dv, no = (size_t)BH * Tq * Dv;
        float *q = zt_floats(nq), *k = zt_floats(nk), *v = zt_floats(nv), *g = zt_floats(no);
        zt_fill_uniform(q, nq, 71, -2, 2);
        zt_fill_uniform(k, nk, 72, -2, 2);
        zt_fill_uniform(v, nv, 73, -1, 1);
        zt_fill_uniform(g, no, 74, -1, 1);
        // plain
        float *att = zt_floats((size_t)BH * Tq * Tk), *po = zt_floats(no);
        size_t nsaved = zy_attn_saved_floats(&d), nscr = zy_attn_scratch_floats(&d);
        float *saved = nsaved ? zt_floats(nsaved) : NULL, *pscr = zt_floats(nscr + 1);
        float *pq = zt_floats(nq), *pk = zt_floats(nk), *pv = zt_floats(nv);
        ASSERT_EQ_INT(zy_attn_forward(po, att, saved, q, k, v, NULL, &d), ZY_STATUS_OK);
        zy_attn_backward(pq, pk, pv, NULL, pscr, g, att, saved, q, k, v, NULL, &d);
        // tiled
        size_t ns = zy_flash_scratch_floats(&p) * 2;
        float *scr = zt_floats(ns), *fo = zt_floats(no), *lse = zt_floats((size_t)BH * Tq);
        float *fq = zt_floats(nq), *fk = zt_floats(nk), *fv = zt_floats(nv);
        ASSERT_EQ_INT(zy_flash_forward(fo, lse, q, k, v, &p, scr, ns), ZY_STATUS_OK);
        ASSERT_EQ_INT(zy_flash_backward(fq, fk, fv, g, q, k, v, fo, lse, &p, scr, ns),
                      ZY_STATUS_OK);
        zt_note("Tq=%d Tk=%d causal, key_lengths {53, 20}, dropout %g", Tq, Tk, p.dropout);
        CHECK_CLOSE("  out", fo, po, no, 1e-5 * max_abs(po, no), 2e-5);
        CHECK_CLOSE("  dq", fq, pq, nq, 1e-5 * max_abs(pq, nq), 2e-5);
        CHECK_CLOSE("  dk", fk, pk, nk, 1e-5 * max_abs(pk, nk), 2e-5);
        CHECK_CLOSE("  dv", fv, pv, nv, 1e-5 * max_abs(pv, nv), 2e-5);
        free(q), free(k), free(v), free(g), free(att), free(po), free(saved), free(pscr);
        free(pq), free(pk), free(pv), free(scr), free(fo), free(lse), free(fq), free(fk), free(fv);
    }
}

// One (T, mask) case of tiled vs plain: outputs and every gradient.
static void tiled_vs_plain(int T, bool causal, bool padded) {
    const int B = 2, H = 1, BH = 2, D = 64;
    int lens[2] = {T, T > 2 ? 2 * T / 3 : 1};
    zy_attn_desc p = zy_attn_default_desc(B, H, T, T, D, D);
    zy_attn_desc d = zy_attn_default_desc(B, H, T, T, D, D);
    p.causal = d.causal = causal;
    if (padded) p.key_lengths = d.key_lengths = lens;
    const size_t n = (size_t)BH * T * D;
    float *q = zt_floats(n), *k = zt_floats(n), *v = zt_floats(n), *g = zt_floats(n);
    zt_fill_uniform(q, n, 81 + T, -2, 2);
    zt_fill_uniform(k, n, 82 + T, -2, 2);
    zt_fill_uniform(v, n, 83 + T, -1, 1);
    zt_fill_uniform(g, n, 84 + T, -1, 1);
    float *att = zt_floats((size_t)BH * T * T), *po = zt_floats(n);
    float *pscr = zt_floats(zy_attn_scratch_floats(&d) + 1);
    float *pq = zt_floats(n), *pk = zt_floats(n), *pv = zt_floats(n);
    size_t ns = zy_flash_scratch_floats(&p) * 2;
    float *scr = zt_floats(ns), *fo = zt_floats(n), *lse = zt_floats((size_t)BH * T);
    float *fq = zt_floats(n), *fk = zt_floats(n), *fv = zt_floats(n);
    if (zy_attn_forward(po, att, NULL, q, k, v, NULL, &d) == ZY_STATUS_OK &&
        zy_flash_forward(fo, lse, q, k, v, &p, scr, ns) == ZY_STATUS_OK &&
        zy_flash_backward(fq, fk, fv, g, q, k, v, fo, lse, &p, scr, ns) == ZY_STATUS_OK) {
        zy_attn_backward(pq, pk, pv, NULL, pscr, g, att, NULL, q, k, v, NULL, &d);
        zt_note("T=%d causal %d padded %d", T, causal, padded);
        CHECK_CLOSE("  out", fo, po, n, 1e-5 * fmaxf(max_abs(po, n), 1), 2e-5);
        CHECK_CLOSE("  dq", fq, pq, n, 1e-5 * fmaxf(max_abs(pq, n), 1), 2e-5);
        CHECK_CLOSE("  dk", fk, pk, n, 1e-5 * fmaxf(max_abs(pk, n), 1), 2e-5);
        CHECK_CLOSE("  dv", fv, pv, n, 1e-5 * fmaxf(max_abs(pv, n), 1), 2e-5);
    } else {
        zt_fail(__FILE__, __LINE__, "T=%d: %s", T, zy_last_error());
    }
    free(q), free(k), free(v), free(g), free(att), free(po), free(pscr), free(pq), free(pk);
    free(pv), free(scr), free(fo), free(lse), free(fq), free(fk), free(fv);
}

// The lengths: tiled equals plain on T = 1, 17, 129, 1000 with no mask, causal,
// key padding, and both. Tolerance 1e-5 times max(1, the tensor's largest value) + 2e-5
// relative: inputs are O(1), and at T = 1 the exact dq, dk are 0 (a one-key softmax has no
// gradient) while the two paths round differently around it (~3e-8).
TEST(flash_equals_plain_odd_lengths) {
    static const int Ts[] = {1, 17, 129, 1000};
    for (int i = 0; i < 4; i++)
        for (int m = 0; m < 4; m++) tiled_vs_plain(Ts[i], m & 1, m & 2);
}

// q, k and v read in place from one (B, T, 3C) fused-projection buffer, out written into
// (B, T, C) rows, gradients added into a (B, T, 3C) buffer: tiled equals plain on the same
// layouts (causal, padding, dropout 0.1), to the tolerance of flash_matches_plain_attention.
TEST(flash_token_major_layout_matches_plain) {
    static const int lens[2] = {45, 30};
    const int B = 2, H = 3, T = 45, D = 16, C = H * D, ld = 3 * C;
    zy_attn_desc d = zy_attn_default_desc(B, H, T, T, D, D);
    d.causal = true;
    d.key_lengths = lens;
    d.dropout = 0.1f;
    d.seed = 4;
    d.q_layout = d.k_layout = d.v_layout = zy_attn_layout_rows(T, D, ld);
    d.out_layout = zy_attn_layout_rows(T, D, C);
    d.block_q = 16;
    d.block_k = 32;
    const size_t np = (size_t)B * T * ld, no = (size_t)B * T * C;
    float *proj = zt_floats(np), *g = zt_floats(no);
    zt_fill_uniform(proj, np, 91, -2, 2);
    zt_fill_uniform(g, no, 92, -1, 1);
    const float *q = proj, *k = proj + C, *v = proj + 2 * C;
    // plain
    float *att = zt_floats((size_t)B * H * T * T), *po = zt_floats(no), *pd = zt_floats(np);
    float *saved = zt_floats(zy_attn_saved_floats(&d)), *pscr = zt_floats(zy_attn_scratch_floats(&d));
    ASSERT_EQ_INT(zy_attn_forward(po, att, saved, q, k, v, NULL, &d), ZY_STATUS_OK);
    zy_attn_backward(pd, pd + C, pd + 2 * C, NULL, pscr, g, att, saved, q, k, v, NULL, &d);
    // tiled
    size_t ns = zy_flash_scratch_floats(&d) * 2;
    float *scr = zt_floats(ns), *fo = zt_floats(no), *fd = zt_floats(np);
    float *lse = zt_floats((size_t)B * H * T);
    ASSERT_EQ_INT(zy_flash_forward(fo, lse, q, k, v, &d, scr, ns), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_flash_backward(fd, fd + C, fd + 2 * C, g, q, k, v, fo, lse, &d, scr, ns),
                  ZY_STATUS_OK);
    CHECK_CLOSE("out", fo, po, no, 1e-5 * max_abs(po, no), 2e-5);
    CHECK_CLOSE("dq|dk|dv", fd, pd, np, 1e-5 * max_abs(pd, np), 2e-5);
    free(proj), free(g), free(att), free(po), free(pd), free(saved), free(pscr), free(scr);
    free(fo), free(fd), free(lse);
}

// What the tiled path lacks is ZY_STATUS_UNSUPPORTED with a message, before anything is
// written; zy_flash_supports says so up front.
TEST(flash_reports_unsupported) {
    zy_attn_desc d = zy_attn_default_desc(1, 1, 4, 4, 8, 8);
    float buf[64] = {0}, lse[4];
    size_t need = zy_flash_scratch_floats(&d);
    float *scratch = zt_floats(need);
    uint8_t bm[16] = {0};
    float am[16] = {0};
    CHECK(zy_flash_supports(&d) == ZY_STATUS_OK);
    d.score = ZY_ATTN_ADDITIVE;
    CHECK(zy_flash_supports(&d) == ZY_STATUS_UNSUPPORTED);
    CHECK(zy_flash_forward(buf, lse, buf, buf, buf, &d, scratch, need) == ZY_STATUS_UNSUPPORTED);
    zt_note("additive: %s", zy_last_error());
    CHECK(strstr(zy_last_error(), "plain") != NULL);
    d.score = ZY_ATTN_DOT;
    d.bool_mask = bm;
    CHECK(zy_flash_forward(buf, lse, buf, buf, buf, &d, scratch, need) == ZY_STATUS_UNSUPPORTED);
    d.bool_mask = NULL;
    d.add_mask = am;
    CHECK(zy_flash_backward(buf, buf, buf, buf, buf, buf, buf, buf, lse, &d, scratch, need) ==
          ZY_STATUS_UNSUPPORTED);
    zt_note("additive mask: %s", zy_last_error());
    d.add_mask = NULL;
    d.q_layout = (zy_attn_layout){0, 8, 4}; // rows overlap: row < D
    CHECK(zy_flash_forward(buf, lse, buf, buf, buf, &d, scratch, need) ==
          ZY_STATUS_INVALID_ARGUMENT);
    free(scratch);
}

// Token-major (strided) rows take another path through backward (tiles copied to
// contiguous scratch, dq through a tile): still bit-exact between 1 and 2 threads, under
// both schedules (B*H = 1 and 3: two passes; 4: per row block).
TEST(flash_threads_bit_exact_token_major) {
    const int shapes[3][2] = {{1, 1}, {1, 3}, {2, 2}}; // B, H
    int saved = zy_threads_get();
    for (int s = 0; s < 3; s++) {
        const int B = shapes[s][0], H = shapes[s][1], T = 300, D = 32, C = H * D;
        zy_attn_desc d = zy_attn_default_desc(B, H, T, T, D, D);
        d.causal = true;
        d.q_layout = d.k_layout = d.v_layout = zy_attn_layout_rows(T, D, 3 * C);
        d.out_layout = zy_attn_layout_rows(T, D, C);
        const size_t np = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
        float *proj = zt_floats(np), *g = zt_floats(no);
        zt_fill_uniform(proj, np, 31, -2, 2);
        zt_fill_uniform(g, no, 32, -1, 1);
        size_t ns = zy_flash_scratch_floats(&d) * 2;
        float *scratch = zt_floats(ns), *out[2], *lse[2], *dp[2];
        for (int run = 0; run < 2; run++) {
            zy_threads_set(run + 1);
            out[run] = zt_floats(no), lse[run] = zt_floats((size_t)B * H * T), dp[run] = zt_floats(np);
            ASSERT_EQ_INT(zy_flash_forward(out[run], lse[run], proj, proj + C, proj + 2 * C, &d,
                                           scratch, ns),
                          ZY_STATUS_OK);
            ASSERT_EQ_INT(zy_flash_backward(dp[run], dp[run] + C, dp[run] + 2 * C, g, proj,
                                            proj + C, proj + 2 * C, out[run], lse[run], &d,
                                            scratch, ns),
                          ZY_STATUS_OK);
        }
        CHECK(!memcmp(out[0], out[1], no * sizeof(float)));
        CHECK(!memcmp(dp[0], dp[1], np * sizeof(float)));
        zt_note("B=%d H=%d token-major: 1 vs 2 threads bit-exact", B, H);
        for (int run = 0; run < 2; run++) free(out[run]), free(lse[run]), free(dp[run]);
        free(proj), free(g), free(scratch);
    }
    zy_threads_set(saved);
}

// ---- writing instead of adding (MHA's backward) -------------------------------------------
// NaN into every gradient element of a (B, T, 3C) buffer that backward owns: the Tq rows of
// dq and the Tk rows of dk, dv, as thirds of it (dense) or its column thirds (token-major).
static void poison_grads(float *x, int B, int H, int Tq, int Tk, int D, int T, bool rows) {
    const int C = H * D;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int part = 0; part < 3; part++) {
                if (t >= (part ? Tk : Tq)) continue;
                for (int h = 0; h < H; h++) {
                    size_t at = rows ? ((size_t)b * T + t) * 3 * C + (size_t)part * C + h * D
                                     : (size_t)part * B * H * T * D +
                                           (((size_t)b * H + h) * (part ? Tk : Tq) + t) * D;
                    for (int e = 0; e < D; e++) x[at + e] = NAN;
                }
            }
}

// zy__flash_backward_assign writes what zy_flash_backward adds into zeros, over whatever
// the buffers held: rows that no key reaches (a batch entry of key length 0, keys past a
// length) become zeros. Every schedule: per row block, dense and token-major (panels), and
// two passes (B*H = 1 at 2 threads); and no queries or no keys at all.
TEST(flash_backward_assign_as_add_into_zeros) {
    static const int lens[2] = {0, 37};
    // B, H, Tq, Tk, token-major
    const int shapes[5][5] = {{2, 2, 45, 45, 1}, {2, 2, 45, 45, 0}, {1, 1, 150, 150, 1},
                              {2, 2, 0, 20, 0},   {2, 2, 20, 0, 1}};
    int saved = zy_threads_get();
    zy_threads_set(2);
    for (int s = 0; s < 5; s++) {
        const int B = shapes[s][0], H = shapes[s][1], Tq = shapes[s][2], Tk = shapes[s][3];
        const int rows = shapes[s][4], D = 16, C = H * D, T = Tq > Tk ? Tq : Tk;
        zy_attn_desc d = zy_attn_default_desc(B, H, Tq, Tk, D, D);
        d.causal = s < 3;
        d.key_lengths = s < 2 ? lens : NULL;
        d.block_q = d.block_k = 16;
        if (rows) { // token-major: q | k | v columns of one (B, T, 3C) buffer
            d.q_layout = d.k_layout = d.v_layout = zy_attn_layout_rows(T, D, 3 * C);
            d.out_layout = zy_attn_layout_rows(T, D, C);
        }
        const size_t np = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
        float *proj = zt_floats(np), *g = zt_floats(no), *o = zt_floats(no);
        float *lse = zt_floats((size_t)B * H * T), *add = zt_floats(np), *set = zt_floats(np);
        zt_fill_uniform(proj, np, 61 + s, -2, 2);
        zt_fill_uniform(g, no, 71 + s, -1, 1);
        // dense: q, k, v (and dq, dk, dv) are the three thirds of the buffer
        const size_t third = rows ? (size_t)C : (size_t)B * H * T * D;
        size_t ns = zy_flash_scratch_floats(&d) * 2;
        float *scratch = zt_floats(ns);
        poison_grads(set, B, H, Tq, Tk, D, T, rows);
        ASSERT_EQ_INT(zy_flash_forward(o, lse, proj, proj + third, proj + 2 * third, &d, scratch,
                                       ns),
                      ZY_STATUS_OK);
        ASSERT_EQ_INT(zy_flash_backward(add, add + third, add + 2 * third, g, proj, proj + third,
                                        proj + 2 * third, o, lse, &d, scratch, ns),
                      ZY_STATUS_OK);
        ASSERT_EQ_INT(zy__flash_backward_assign(set, set + third, set + 2 * third, g, proj,
                                                proj + third, proj + 2 * third, o, lse, &d,
                                                scratch, ns),
                      ZY_STATUS_OK);
        size_t differ = 0;
        for (size_t i = 0; i < np; i++) differ += !(add[i] == set[i]);
        if (differ)
            zt_fail(__FILE__, __LINE__, "case %d: %zu of %zu gradients differ", s, differ, np);
        zt_note("B=%d H=%d Tq=%d Tk=%d %s: assign = add into zeros", B, H, Tq, Tk,
                rows ? "token-major" : "dense");
        free(proj), free(g), free(o), free(lse), free(add), free(set), free(scratch);
    }
    zy_threads_set(saved);
}
