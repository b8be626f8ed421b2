// Tests of plain attention (src/nn/attention*.c): every score function and mask kind
// against PyTorch (tests/ref/attention.zyr from tests/ref_attention.py), finite-difference
// gradient checks of every variant (inputs and score parameters), dropout, strided K/V,
// and fully-masked rows (zeros, not NaN).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/attention.h"

#define REF_PATH "tests/ref/attention.zyr"

// One attention problem with all its buffers.
typedef struct actx {
    zy_attn_desc d;
    float *q, *k, *v, *Wq, *Wk, *W, *pv; // inputs and (possibly unused) score parameters
    float *dq, *dk, *dv, *dWq, *dWk, *dW, *dpv;
    float *out, *att, *saved, *scratch, *wout; // wout: dout, and the weights of the loss
    size_t nq, nk, nv, nout, nWq, nWk, nW, npv;
} actx;

static zy_attn_weights weights_of(actx *c) {
    return (zy_attn_weights){c->Wq, c->Wk, c->W, c->pv};
}

static void ctx_init(actx *c, zy_attn_desc d, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->d = d;
    size_t BH = (size_t)d.B * d.H;
    c->nq = BH * d.Tq * d.Dq;
    c->nk = BH * d.Tk * d.Dk;
    c->nv = BH * d.Tk * d.Dv;
    c->nout = BH * d.Tq * d.Dv;
    if (d.score == ZY_ATTN_ADDITIVE) c->nWq = (size_t)d.A * d.Dq, c->nWk = (size_t)d.A * d.Dk;
    if (d.score == ZY_ATTN_GENERAL) c->nW = (size_t)d.Dq * d.Dk;
    if (d.score == ZY_ATTN_CONCAT) c->nW = (size_t)d.A * (d.Dq + d.Dk);
    if (d.score == ZY_ATTN_ADDITIVE || d.score == ZY_ATTN_CONCAT) c->npv = d.A;
    float **in[] = {&c->q, &c->k, &c->v, &c->Wq, &c->Wk, &c->W, &c->pv};
    float **gr[] = {&c->dq, &c->dk, &c->dv, &c->dWq, &c->dWk, &c->dW, &c->dpv};
    size_t ns[] = {c->nq, c->nk, c->nv, c->nWq, c->nWk, c->nW, c->npv};
    for (int i = 0; i < 7; i++) {
        *in[i] = ns[i] ? zt_floats(ns[i]) : NULL;
        *gr[i] = ns[i] ? zt_floats(ns[i]) : NULL;
        float r = i < 3 ? 1.5f : 0.7f; // inputs in ±1.5, parameters in ±0.7
        if (ns[i]) zt_fill_uniform(*in[i], ns[i], seed + i, -r, r);
    }
    c->out = zt_floats(c->nout);
    c->att = zt_floats(BH * d.Tq * d.Tk + 1);
    c->saved = zt_floats(zy_attn_saved_floats(&d) + 1);
    c->scratch = zt_floats(zy_attn_scratch_floats(&d) + 1);
    c->wout = zt_floats(c->nout);
    zt_fill_uniform(c->wout, c->nout, seed + 99, -1.0f, 1.0f);
}

static void ctx_free(actx *c) {
    float *all[] = {c->q, c->k, c->v, c->Wq, c->Wk, c->W, c->pv, c->dq, c->dk, c->dv,
                    c->dWq, c->dWk, c->dW, c->dpv, c->out, c->att, c->saved, c->scratch,
                    c->wout};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

static double attn_loss(void *p) {
    actx *c = p;
    zy_attn_weights w = weights_of(c);
    if (zy_attn_forward(c->out, c->att, c->saved, c->q, c->k, c->v, &w, &c->d) != ZY_STATUS_OK)
        return NAN;
    return zt_dot(c->out, c->wout, c->nout);
}

static void ctx_backward(actx *c) {
    zy_attn_weights w = weights_of(c);
    zy_attn_grads g = {c->dWq, c->dWk, c->dW, c->dpv};
    zy_attn_backward(c->dq, c->dk, c->dv, &g, c->scratch, c->wout, c->att, c->saved, c->q,
                     c->k, c->v, &w, &c->d);
}

// Forward + backward, then every input and parameter through the finite-difference check.
// eps 1e-3 on O(1) inputs: truncation error ~1e-6 relative, float rounding of the loss
// ~1e-7·Σ|out|/eps ~1e-4 absolute; tol 1e-2 still fails any wrong term (those are O(1)).
static void gradcheck_all(actx *c, const char *tag) {
    ASSERT(attn_loss(c) == attn_loss(c)); // forward succeeded (not NaN)
    ctx_backward(c);
    char what[96];
    const char *names[] = {"q", "k", "v", "Wq", "Wk", "W", "v_param"};
    float *x[] = {c->q, c->k, c->v, c->Wq, c->Wk, c->W, c->pv};
    float *g[] = {c->dq, c->dk, c->dv, c->dWq, c->dWk, c->dW, c->dpv};
    size_t n[] = {c->nq, c->nk, c->nv, c->nWq, c->nWk, c->nW, c->npv};
    for (int i = 0; i < 7; i++) {
        if (!n[i]) continue;
        snprintf(what, sizeof what, "%s d%s", tag, names[i]);
        GRADCHECK(what, attn_loss, c, x[i], g[i], n[i], 1e-2, 1e-2);
    }
}

static zy_attn_desc small_desc(zy_attn_score score) {
    // B=2, H=2, Tq=3, Tk=5 (cross shapes), Dq=4, Dk=6 (4 for dot products), Dv=3, A=5
    int dot = score == ZY_ATTN_DOT || score == ZY_ATTN_SCALED_DOT;
    zy_attn_desc d = zy_attn_default_desc(2, 2, 3, 5, 4, 3);
    d.score = score;
    d.Dk = dot ? 4 : 6;
    d.A = 5;
    return d;
}

static const int lengths_53[2] = {5, 3};

TEST(attn_gradcheck_scores) {
    zy_attn_score s[] = {ZY_ATTN_DOT, ZY_ATTN_SCALED_DOT, ZY_ATTN_ADDITIVE, ZY_ATTN_GENERAL,
                         ZY_ATTN_CONCAT};
    const char *names[] = {"dot", "scaled", "additive", "general", "concat"};
    for (int i = 0; i < 5; i++) {
        actx c;
        ctx_init(&c, small_desc(s[i]), 10 + i);
        gradcheck_all(&c, names[i]);
        ctx_free(&c);
    }
}

TEST(attn_gradcheck_masks) {
    static uint8_t bm[3 * 5];
    static float am[3 * 5];
    for (int i = 0; i < 15; i++) bm[i] = (i * 7 % 5) == 1; // column 0 is never masked
    zt_fill_uniform(am, 15, 5, -2.0f, 2.0f);
    am[7] = -INFINITY;
    for (int m = 0; m < 5; m++) {
        actx c;
        zy_attn_desc d = small_desc(m == 4 ? ZY_ATTN_CONCAT : ZY_ATTN_SCALED_DOT);
        const char *tag = "?";
        if (m == 0) d.causal = true, tag = "causal";
        if (m == 1) d.key_lengths = lengths_53, tag = "padding";
        if (m == 2) d.bool_mask = bm, tag = "boolmask";
        if (m == 3) d.add_mask = am, tag = "addmask";
        if (m == 4) {
            d.causal = true, d.key_lengths = lengths_53, d.bool_mask = bm, d.add_mask = am;
            tag = "all masks, concat";
        }
        ctx_init(&c, d, 30 + m);
        gradcheck_all(&c, tag);
        ctx_free(&c);
    }
}

// Per-head (BH,Tq,Tk) masks and dropout on the weights are checked the same way: dropout's
// mask is a pure function of (seed, index), so the loss is a smooth function of the inputs.
TEST(attn_gradcheck_dropout_and_per_head_mask) {
    static uint8_t bm[4 * 3 * 5];
    for (int i = 0; i < 60; i++) bm[i] = (i % 5 != 0) && (i * 13 % 7 == 2);
    actx c;
    zy_attn_desc d = small_desc(ZY_ATTN_GENERAL);
    d.bool_mask = bm;
    d.mask_per_head = true;
    d.dropout = 0.3f;
    d.seed = 77;
    d.offset = 1000;
    ctx_init(&c, d, 50);
    gradcheck_all(&c, "general+dropout+head mask");
    ctx_free(&c);
}

// Dropout drops exactly the weights zy_dropout_keep says, scaled by 1/(1-p), and att
// stays the undropped softmax.
TEST(attn_dropout_matches_keep_mask) {
    actx c, r;
    zy_attn_desc d = small_desc(ZY_ATTN_SCALED_DOT);
    ctx_init(&r, d, 60);
    d.dropout = 0.4f, d.seed = 5, d.offset = 17;
    ctx_init(&c, d, 60);
    attn_loss(&r);
    attn_loss(&c);
    CHECK_CLOSE("att unchanged by dropout", c.att, r.att, 4 * 3 * 5, 0, 0);
    // out[bh,i,:] = Σ_j keep·att/(1-p) · v[bh,j,:]
    float want[4 * 3 * 3];
    int dropped = 0;
    for (int bh = 0; bh < 4; bh++)
        for (int i = 0; i < 3; i++)
            for (int e = 0; e < 3; e++) {
                double s = 0;
                for (int j = 0; j < 5; j++) {
                    uint64_t idx = 17 + ((uint64_t)(bh * 3 + i) * 5 + j);
                    int keep = zy_dropout_keep(0.4f, 5, idx);
                    dropped += !keep && e == 0;
                    s += keep * r.att[(bh * 3 + i) * 5 + j] / 0.6 * r.v[(bh * 5 + j) * 3 + e];
                }
                want[(bh * 3 + i) * 3 + e] = (float)s;
            }
    CHECK(dropped > 5 && dropped < 55); // p = 0.4 of 60 weights: the mask did something
    CHECK_CLOSE("dropout out", c.out, want, 36, 1e-5, 1e-5);
    ctx_free(&c);
    ctx_free(&r);
}

// Other layouts give the same results and gradients as contiguous tensors: k and v as in
// a KV cache (rows for maxT positions per head), q and out token-major (B, T, ld) with the
// heads side by side and spare columns, as they come out of a fused projection.
static float *to_layout(const float *x, zy_attn_layout l, int B, int H, int T, int D,
                        size_t n) {
    float *y = zt_floats(n);
    for (int bh = 0; bh < B * H; bh++)
        for (int t = 0; t < T; t++)
            memcpy(y + (bh / H) * l.batch + (bh % H) * l.head + t * l.row,
                   x + ((size_t)bh * T + t) * D, (size_t)D * sizeof *y);
    return y;
}
static void check_layout(const char *what, const float *got, zy_attn_layout l,
                         const float *want, int B, int H, int T, int D) {
    float *g = zt_floats((size_t)B * H * T * D);
    for (int bh = 0; bh < B * H; bh++)
        for (int t = 0; t < T; t++)
            memcpy(g + ((size_t)bh * T + t) * D,
                   got + (bh / H) * l.batch + (bh % H) * l.head + t * l.row, D * sizeof *g);
    CHECK_CLOSE(what, g, want, (size_t)B * H * T * D, 1e-6, 1e-5);
    free(g);
}

TEST(attn_layouts_match_contiguous) {
    zy_attn_score s[] = {ZY_ATTN_SCALED_DOT, ZY_ATTN_ADDITIVE, ZY_ATTN_GENERAL};
    for (int t = 0; t < 3; t++) {
        actx c, st;
        zy_attn_desc d = small_desc(s[t]);
        d.causal = true;
        ctx_init(&c, d, 70);
        int B = d.B, H = d.H, maxT = 8, ldq = H * d.Dq + 3, ldo = H * d.Dv + 1;
        d.k_layout = (zy_attn_layout){(ptrdiff_t)H * maxT * d.Dk, (ptrdiff_t)maxT * d.Dk, d.Dk};
        d.v_layout = (zy_attn_layout){(ptrdiff_t)H * maxT * d.Dv, (ptrdiff_t)maxT * d.Dv, d.Dv};
        d.q_layout = zy_attn_layout_rows(d.Tq, d.Dq, ldq);
        d.out_layout = zy_attn_layout_rows(d.Tq, d.Dv, ldo);
        ctx_init(&st, d, 70);
        size_t nK = (size_t)B * H * maxT * d.Dk, nV = (size_t)B * H * maxT * d.Dv;
        size_t nQ = (size_t)B * d.Tq * ldq, nO = (size_t)B * d.Tq * ldo;
        float *K = to_layout(c.k, d.k_layout, B, H, 5, d.Dk, nK);
        float *V = to_layout(c.v, d.v_layout, B, H, 5, d.Dv, nV);
        float *Q = to_layout(c.q, d.q_layout, B, H, 3, d.Dq, nQ);
        float *dO = to_layout(c.wout, d.out_layout, B, H, 3, d.Dv, nO);
        float *O = zt_floats(nO), *dQ = zt_floats(nQ), *dK = zt_floats(nK), *dV = zt_floats(nV);
        zy_attn_weights w = weights_of(&c);
        zy_attn_grads g = {st.dWq, st.dWk, st.dW, st.dpv};
        attn_loss(&c);
        ctx_backward(&c);
        ASSERT(zy_attn_forward(O, st.att, st.saved, Q, K, V, &w, &d) == ZY_STATUS_OK);
        zy_attn_backward(dQ, dK, dV, &g, st.scratch, dO, st.att, st.saved, Q, K, V, &w, &d);
        check_layout("layout out", O, d.out_layout, c.out, B, H, 3, d.Dv);
        check_layout("layout dq", dQ, d.q_layout, c.dq, B, H, 3, d.Dq);
        check_layout("layout dk", dK, d.k_layout, c.dk, B, H, 5, d.Dk);
        check_layout("layout dv", dV, d.v_layout, c.dv, B, H, 5, d.Dv);
        if (c.dW) CHECK_CLOSE("layout dW", st.dW, c.dW, c.nW, 1e-6, 1e-5);
        if (c.dWq) CHECK_CLOSE("layout dWq", st.dWq, c.dWq, c.nWq, 1e-6, 1e-5);
        if (c.dWk) CHECK_CLOSE("layout dWk", st.dWk, c.dWk, c.nWk, 1e-6, 1e-5);
        free(K), free(V), free(Q), free(dO), free(O), free(dQ), free(dK), free(dV);
        ctx_free(&c);
        ctx_free(&st);
    }
}

// Rows with nothing visible: batch 1 has key length 0 (all its rows), and row 1 of the
// boolean mask hides every key. They give zero outputs, zero weights, zero gradients
// and no NaN anywhere, in every score function.
TEST(attn_fully_masked_rows_are_zero) {
    static const int lengths[2] = {5, 0};
    static uint8_t bm[3 * 5];
    for (int j = 0; j < 5; j++) bm[5 + j] = 1;
    zy_attn_score s[] = {ZY_ATTN_SCALED_DOT, ZY_ATTN_ADDITIVE, ZY_ATTN_GENERAL, ZY_ATTN_CONCAT};
    for (int t = 0; t < 4; t++) {
        actx c;
        zy_attn_desc d = small_desc(s[t]);
        d.key_lengths = lengths;
        d.bool_mask = bm;
        d.dropout = 0.2f;
        ctx_init(&c, d, 80);
        ASSERT(!isnan(attn_loss(&c)));
        ctx_backward(&c);
        int bad = 0;
        for (int bh = 0; bh < 4; bh++)
            for (int i = 0; i < 3; i++) {
                int empty = bh >= 2 || i == 1;
                for (int e = 0; e < 3; e++) {
                    float o = c.out[(bh * 3 + i) * 3 + e];
                    bad += isnan(o) || (empty && o != 0.0f);
                }
                for (int j = 0; j < 5; j++) {
                    float a = c.att[(bh * 3 + i) * 5 + j];
                    bad += isnan(a) || (empty && a != 0.0f);
                }
                for (int e = 0; e < 4; e++) {
                    float g = c.dq[(bh * 3 + i) * 4 + e];
                    bad += isnan(g) || (empty && g != 0.0f);
                }
            }
        // batch 1 sees no key at all: its k and v get no gradient
        for (size_t i = c.nk / 2; i < c.nk; i++) bad += c.dk[i] != 0.0f;
        for (size_t i = c.nv / 2; i < c.nv; i++) bad += c.dv[i] != 0.0f;
        for (size_t i = 0; i < c.nk; i++) bad += isnan(c.dk[i]);
        zt_note("score %d: %d bad values in fully-masked rows", (int)s[t], bad);
        CHECK(bad == 0);
        ctx_free(&c);
    }
}

TEST(attn_rejects_bad_desc) {
    float x[64] = {0};
    zy_attn_desc d = small_desc(ZY_ATTN_SCALED_DOT);
    d.Dk = 6; // dot products need Dq == Dk
    CHECK(zy_attn_forward(x, x, x, x, x, x, NULL, &d) == ZY_STATUS_INVALID_ARGUMENT);
    d = small_desc(ZY_ATTN_ADDITIVE); // no weights
    CHECK(zy_attn_forward(x, x, x, x, x, x, NULL, &d) == ZY_STATUS_INVALID_ARGUMENT);
    d = small_desc(ZY_ATTN_DOT);
    d.dropout = 1.0f;
    CHECK(zy_attn_forward(x, x, x, x, x, x, NULL, &d) == ZY_STATUS_INVALID_ARGUMENT);
}

// ---- against PyTorch ---------------------------------------------------------------------
// Run one dumped case under every SIMD level the CPU has (the GEMMs pick their kernels
// from it). Forward: atol 1e-5, rtol 1e-5; gradients: atol 2e-5, rtol 1e-5 (float32
// against a float64 reference, O(1) values, sums of ≤ 6 terms per GEMM).
static void ref_case(const char *name, zy_attn_score score, int Dk, int causal) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_attn_desc d = small_desc(score);
    d.Dk = Dk;
    d.causal = causal;
    char key[96];
    snprintf(key, sizeof key, "%s.lengths", name);
    size_t n = 0;
    static int lengths[2];
    static uint8_t bm[15];
    static float am[15];
    if (strcmp(name, "padding") == 0 || strcmp(name, "allmasks") == 0) {
        const int *l = zt_ref_i(r, key, &n);
        ASSERT(l && n == 2);
        lengths[0] = l[0], lengths[1] = l[1];
        d.key_lengths = lengths;
    }
    if (strcmp(name, "boolmask") == 0 || strcmp(name, "allmasks") == 0) {
        snprintf(key, sizeof key, "%s.bool_mask", name);
        const int *m = zt_ref_i(r, key, &n);
        ASSERT(m && n == 15);
        for (int i = 0; i < 15; i++) bm[i] = (uint8_t)(m[i] != 0);
        d.bool_mask = bm;
    }
    if (strcmp(name, "addmask") == 0 || strcmp(name, "allmasks") == 0) {
        zt_ref_copy(am, r, name, "add_mask", 15);
        d.add_mask = am;
    }
    zy_simd best = zy_simd_level();
    for (int lvl = ZY_SIMD_SCALAR; lvl <= (int)best; lvl++) {
        zy_simd_set((zy_simd)lvl);
        actx c;
        ctx_init(&c, d, 1);
        zt_ref_copy(c.q, r, name, "q", c.nq);
        zt_ref_copy(c.k, r, name, "k", c.nk);
        zt_ref_copy(c.v, r, name, "v", c.nv);
        zt_ref_copy(c.wout, r, name, "dout", c.nout);
        if (c.Wq) zt_ref_copy(c.Wq, r, name, "p_Wq", c.nWq);
        if (c.Wk) zt_ref_copy(c.Wk, r, name, "p_Wk", c.nWk);
        if (c.W) zt_ref_copy(c.W, r, name, "p_W", c.nW);
        if (c.pv) zt_ref_copy(c.pv, r, name, "p_v", c.npv);
        zt_note("%s at SIMD level %s", name, zy_simd_name((zy_simd)lvl));
        attn_loss(&c);
        ctx_backward(&c);
        zt_ref_check(r, name, "out", c.out, c.nout, 1e-5, 1e-5);
        zt_ref_check(r, name, "att", c.att, 4 * 3 * 5, 1e-5, 1e-5);
        zt_ref_check(r, name, "dq", c.dq, c.nq, 2e-5, 1e-5);
        zt_ref_check(r, name, "dk", c.dk, c.nk, 2e-5, 1e-5);
        zt_ref_check(r, name, "dv", c.dv, c.nv, 2e-5, 1e-5);
        if (c.dWq) zt_ref_check(r, name, "dp_Wq", c.dWq, c.nWq, 2e-5, 1e-5);
        if (c.dWk) zt_ref_check(r, name, "dp_Wk", c.dWk, c.nWk, 2e-5, 1e-5);
        if (c.dW) zt_ref_check(r, name, "dp_W", c.dW, c.nW, 2e-5, 1e-5);
        if (c.dpv) zt_ref_check(r, name, "dp_v", c.dpv, c.npv, 2e-5, 1e-5);
        ctx_free(&c);
    }
    zy_simd_set(best);
    zt_ref_free(r);
}

TEST(attn_torch_dot) { ref_case("dot", ZY_ATTN_DOT, 4, 0); }
TEST(attn_torch_scaled) { ref_case("scaled", ZY_ATTN_SCALED_DOT, 4, 0); }
TEST(attn_torch_general) { ref_case("general", ZY_ATTN_GENERAL, 6, 0); }
TEST(attn_torch_additive) { ref_case("additive", ZY_ATTN_ADDITIVE, 6, 0); }
TEST(attn_torch_concat) { ref_case("concat", ZY_ATTN_CONCAT, 6, 0); }
TEST(attn_torch_causal) { ref_case("causal", ZY_ATTN_SCALED_DOT, 4, 1); }
TEST(attn_torch_padding) { ref_case("padding", ZY_ATTN_SCALED_DOT, 4, 0); }
TEST(attn_torch_boolmask) { ref_case("boolmask", ZY_ATTN_SCALED_DOT, 4, 0); }
TEST(attn_torch_addmask) { ref_case("addmask", ZY_ATTN_SCALED_DOT, 4, 0); }
TEST(attn_torch_allmasks_additive) { ref_case("allmasks", ZY_ATTN_ADDITIVE, 6, 1); }

// Sizes where the parallel loops (masked softmax, additive scores, their backward) engage:
// one thread and all threads give the same results (each row / bh is owned by one thread,
// and the dv partials are summed in bh order). atol 1e-6 leaves room for the GEMMs only.
TEST(attn_threads_do_not_change_results) {
    zy_attn_score s[] = {ZY_ATTN_SCALED_DOT, ZY_ATTN_ADDITIVE};
    for (int t = 0; t < 2; t++) {
        zy_attn_desc d = zy_attn_default_desc(2, 4, 48, 64, 16, 8);
        d.score = s[t];
        d.A = 16;
        d.causal = true;
        d.dropout = 0.1f;
        actx one, all;
        int threads = zy_threads_get();
        zy_threads_set(1);
        ctx_init(&one, d, 90);
        attn_loss(&one);
        ctx_backward(&one);
        zy_threads_set(threads);
        ctx_init(&all, d, 90);
        attn_loss(&all);
        ctx_backward(&all);
        zt_note("%s: %d threads vs 1", s[t] == ZY_ATTN_ADDITIVE ? "additive" : "scaled", threads);
        CHECK_CLOSE("out", all.out, one.out, one.nout, 1e-6, 1e-6);
        CHECK_CLOSE("dq", all.dq, one.dq, one.nq, 1e-6, 1e-6);
        CHECK_CLOSE("dk", all.dk, one.dk, one.nk, 1e-6, 1e-6);
        CHECK_CLOSE("dv", all.dv, one.dv, one.nv, 1e-6, 1e-6);
        if (one.dWq) CHECK_CLOSE("dWq", all.dWq, one.dWq, one.nWq, 1e-6, 1e-6);
        if (one.dpv) CHECK_CLOSE("dv_param", all.dpv, one.dpv, one.npv, 1e-6, 1e-6);
        ctx_free(&one);
        ctx_free(&all);
    }
}

// A moderate size (parallel loops engaged, GEMMs on their blocked paths) against a naive
// double-precision attention written out here: causal + padding, scaled dot product.
// atol 1e-5, rtol 1e-4 (float32 sums of 16..64 terms against double).
TEST(attn_matches_naive_double_reference) {
    static const int lens[2] = {64, 37};
    zy_attn_desc d = zy_attn_default_desc(2, 4, 48, 64, 16, 8);
    d.causal = true;
    d.key_lengths = lens;
    actx c;
    ctx_init(&c, d, 95);
    ASSERT(!isnan(attn_loss(&c)));
    ctx_backward(&c);
    int BH = 8, Tq = 48, Tk = 64, D = 16, Dv = 8;
    double scale = 1.0 / 4.0;
    float *out = zt_floats(c.nout), *dq = zt_floats(c.nq), *dk = zt_floats(c.nk),
          *dv = zt_floats(c.nv);
    double *dkd = calloc(c.nk, sizeof(double)), *dvd = calloc(c.nv, sizeof(double));
    double p[64], dp[64];
    ASSERT(dkd && dvd);
    for (int bh = 0; bh < BH; bh++)
        for (int i = 0; i < Tq; i++) {
            const float *qi = c.q + ((size_t)bh * Tq + i) * D;
            const float *go = c.wout + ((size_t)bh * Tq + i) * Dv;
            int end = i + (Tk - Tq) + 1;
            if (end > lens[bh / 4]) end = lens[bh / 4];
            double mx = -INFINITY, sum = 0;
            for (int j = 0; j < end; j++) {
                double s = 0;
                const float *kj = c.k + ((size_t)bh * Tk + j) * D;
                for (int e = 0; e < D; e++) s += (double)qi[e] * kj[e];
                p[j] = s * scale;
                mx = p[j] > mx ? p[j] : mx;
            }
            for (int j = 0; j < end; j++) sum += p[j] = exp(p[j] - mx);
            double dot = 0;
            for (int j = 0; j < end; j++) {
                p[j] /= sum;
                dp[j] = 0;
                const float *vj = c.v + ((size_t)bh * Tk + j) * Dv;
                for (int e = 0; e < Dv; e++) dp[j] += (double)go[e] * vj[e];
                dot += dp[j] * p[j];
            }
            for (int e = 0; e < Dv; e++) {
                double o = 0;
                for (int j = 0; j < end; j++) o += p[j] * c.v[((size_t)bh * Tk + j) * Dv + e];
                out[((size_t)bh * Tq + i) * Dv + e] = (float)o;
            }
            for (int j = 0; j < end; j++) {
                double ds = p[j] * (dp[j] - dot) * scale;
                const float *kj = c.k + ((size_t)bh * Tk + j) * D;
                for (int e = 0; e < D; e++) {
                    dq[((size_t)bh * Tq + i) * D + e] += (float)(ds * kj[e]);
                    dkd[((size_t)bh * Tk + j) * D + e] += ds * qi[e];
                }
                for (int e = 0; e < Dv; e++) dvd[((size_t)bh * Tk + j) * Dv + e] += p[j] * go[e];
            }
        }
    for (size_t i = 0; i < c.nk; i++) dk[i] = (float)dkd[i];
    for (size_t i = 0; i < c.nv; i++) dv[i] = (float)dvd[i];
    CHECK_CLOSE("out vs naive", c.out, out, c.nout, 1e-5, 1e-4);
    CHECK_CLOSE("dq vs naive", c.dq, dq, c.nq, 1e-5, 1e-4);
    CHECK_CLOSE("dk vs naive", c.dk, dk, c.nk, 1e-5, 1e-4);
    CHECK_CLOSE("dv vs naive", c.dv, dv, c.nv, 1e-5, 1e-4);
    free(out), free(dq), free(dk), free(dv), free(dkd), free(dvd);
    ctx_free(&c);
}
