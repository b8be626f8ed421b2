// Tests of the layer ops in src/nn (linear, embedding, layernorm, GELU, ReLU, residual):
// finite-difference gradient checks, PyTorch reference dumps (tests/ref_layers.py ->
// tests/ref/layers.zyr), "backward accumulates", bad token ids, thread-count independence,
// and the AVX-512 GELU against its scalar reference.
//
// Gradient checks use loss = Σ out·w (w random, so dout = w) and GRADCHECK's central
// differences. Linear-in-the-input ops (linear, embedding, residual, ReLU away from 0) have
// no truncation error, only float rounding (~1e-5 relative at eps 1e-2), so they use tol
// 1e-3; GELU and layernorm add O(eps²) curvature error (~1e-4), so tol 1e-2. A dropped
// or mis-scaled term (say a missing x·φ(x) in GELU, or a missing mean term in layernorm)
// is off by 10% or more and fails both.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/nn.h"
#include "nn/layernorm.h"

#define REF_PATH "tests/ref/layers.zyr"
// fp32 result vs float64 reference computed from the same fp32 inputs.
#define TORCH_ATOL 1e-5
#define TORCH_RTOL 1e-5

static float *copy_of(const float *src, size_t n) {
    float *p = zt_floats(n);
    memcpy(p, src, n * sizeof *p);
    return p;
}

// A float tensor from the dump with exactly `n` elements (NULL + failure otherwise).
static const float *ref_f(zt_ref *R, const char *name, size_t n) {
    size_t got;
    const float *p = zt_ref_f(R, name, &got);
    if (p && got != n) {
        zt_fail(__FILE__, __LINE__, "%s has %zu elements, expected %zu", name, got, n);
        return NULL;
    }
    return p;
}

// ---- linear ------------------------------------------------------------------------------
typedef struct {
    float *inp, *weight, *bias, *out;
    const float *w;
    int N, Cin, Cout;
} linear_ctx;

static double linear_loss(void *p) {
    linear_ctx *c = p;
    zy_linear_forward(c->out, c->inp, c->weight, c->bias, c->N, c->Cin, c->Cout);
    return zt_dot(c->out, c->w, (size_t)c->N * c->Cout);
}

TEST(layers_linear_gradcheck) {
    int N = 5, Cin = 7, Cout = 6;
    linear_ctx c = {zt_floats(N * Cin), zt_floats(Cout * Cin), zt_floats(Cout),
                    zt_floats(N * Cout), NULL, N, Cin, Cout};
    float *w = zt_floats(N * Cout), *dinp = zt_floats(N * Cin);
    float *dweight = zt_floats(Cout * Cin), *dbias = zt_floats(Cout);
    zt_fill_uniform(c.inp, N * Cin, 1, -1, 1);
    zt_fill_uniform(c.weight, Cout * Cin, 2, -1, 1);
    zt_fill_uniform(c.bias, Cout, 3, -1, 1);
    zt_fill_uniform(w, N * Cout, 4, -1, 1);
    c.w = w;
    linear_loss(&c);
    zy_linear_backward(dinp, dweight, dbias, w, c.inp, c.weight, N, Cin, Cout);
    GRADCHECK("linear dinp", linear_loss, &c, c.inp, dinp, N * Cin, 1e-2, 1e-3);
    GRADCHECK("linear dweight", linear_loss, &c, c.weight, dweight, Cout * Cin, 1e-2, 1e-3);
    GRADCHECK("linear dbias", linear_loss, &c, c.bias, dbias, Cout, 1e-2, 1e-3);
    free(c.inp), free(c.weight), free(c.bias), free(c.out);
    free(w), free(dinp), free(dweight), free(dbias);
}

static void linear_vs_torch(zt_ref *R, const char *pfx, int N, int Cin, int Cout, int bias) {
    char k[8][64];
    const char *names[] = {"inp", "weight", "w", "out", "dinp", "dweight", "bias", "dbias"};
    size_t sizes[] = {N * Cin, Cout * Cin, N * Cout, N * Cout, N * Cin, Cout * Cin, Cout, Cout};
    const float *t[8] = {0};
    for (int i = 0; i < (bias ? 8 : 6); i++) {
        snprintf(k[i], sizeof k[i], "%s.%s", pfx, names[i]);
        t[i] = ref_f(R, k[i], sizes[i]);
    }
    if (zt_failed()) return;
    float *out = zt_floats(N * Cout), *dinp = zt_floats(N * Cin);
    float *dweight = zt_floats(Cout * Cin), *dbias = zt_floats(Cout);
    zy_linear_forward(out, t[0], t[1], t[6], N, Cin, Cout);
    zy_linear_backward(dinp, dweight, bias ? dbias : NULL, t[2], t[0], t[1], N, Cin, Cout);
    CHECK_CLOSE(k[3], out, t[3], N * Cout, TORCH_ATOL, TORCH_RTOL);
    CHECK_CLOSE(k[4], dinp, t[4], N * Cin, TORCH_ATOL, TORCH_RTOL);
    CHECK_CLOSE(k[5], dweight, t[5], Cout * Cin, TORCH_ATOL, TORCH_RTOL);
    if (bias) CHECK_CLOSE(k[7], dbias, t[7], Cout, TORCH_ATOL, TORCH_RTOL);
    free(out), free(dinp), free(dweight), free(dbias);
}

TEST(layers_linear_matches_torch) {
    zt_ref *R = zt_ref_load(REF_PATH);
    ASSERT(R);
    linear_vs_torch(R, "lin", 7, 33, 17, 1);
    linear_vs_torch(R, "lin_nobias", 16, 64, 40, 0);
    zt_ref_free(R);
}

// ---- embedding ---------------------------------------------------------------------------
typedef struct {
    float *wte, *wpe, *out;
    const float *w;
    const int *tokens;
    int B, T, C, V;
} emb_ctx;

static double emb_loss(void *p) {
    emb_ctx *c = p;
    if (zy_embedding_forward(c->out, c->tokens, c->wte, c->wpe, c->B, c->T, c->C, c->V))
        return NAN;
    return zt_dot(c->out, c->w, (size_t)c->B * c->T * c->C);
}

TEST(layers_embedding_gradcheck) {
    int B = 2, T = 3, C = 5, V = 4, maxT = 4;
    int tokens[] = {1, 3, 1, 1, 0, 3}; // repeats, and id 2 unused (its gradient stays 0)
    emb_ctx c = {zt_floats(V * C), zt_floats(maxT * C), zt_floats(B * T * C), NULL, tokens,
                 B, T, C, V};
    float *w = zt_floats(B * T * C), *dwte = zt_floats(V * C), *dwpe = zt_floats(maxT * C);
    zt_fill_uniform(c.wte, V * C, 5, -1, 1);
    zt_fill_uniform(c.wpe, maxT * C, 6, -1, 1);
    zt_fill_uniform(w, B * T * C, 7, -1, 1);
    c.w = w;
    ASSERT(!isnan(emb_loss(&c)));
    zy_embedding_backward(dwte, dwpe, w, tokens, B, T, C);
    GRADCHECK("embedding dwte", emb_loss, &c, c.wte, dwte, V * C, 1e-2, 1e-3);
    GRADCHECK("embedding dwpe", emb_loss, &c, c.wpe, dwpe, maxT * C, 1e-2, 1e-3);
    free(c.wte), free(c.wpe), free(c.out), free(w), free(dwte), free(dwpe);
}

TEST(layers_embedding_matches_torch) {
    int B = 3, T = 5, C = 33, V = 11, maxT = 8;
    zt_ref *R = zt_ref_load(REF_PATH);
    ASSERT(R);
    size_t nt;
    const int *tokens = zt_ref_i(R, "emb.tokens", &nt);
    const float *wte = ref_f(R, "emb.wte", V * C), *wpe = ref_f(R, "emb.wpe", maxT * C);
    const float *w = ref_f(R, "emb.w", B * T * C), *out_ref = ref_f(R, "emb.out", B * T * C);
    const float *dwte_ref = ref_f(R, "emb.dwte", V * C);
    const float *dwpe_ref = ref_f(R, "emb.dwpe", maxT * C);
    if (zt_failed() || nt != (size_t)(B * T)) {
        zt_ref_free(R);
        ASSERT(0);
    }
    float *out = zt_floats(B * T * C), *dwte = zt_floats(V * C), *dwpe = zt_floats(maxT * C);
    CHECK(zy_embedding_forward(out, tokens, wte, wpe, B, T, C, V) == ZY_STATUS_OK);
    zy_embedding_backward(dwte, dwpe, w, tokens, B, T, C);
    CHECK_CLOSE("emb.out", out, out_ref, B * T * C, TORCH_ATOL, TORCH_RTOL);
    CHECK_CLOSE("emb.dwte", dwte, dwte_ref, V * C, TORCH_ATOL, TORCH_RTOL);
    CHECK_CLOSE("emb.dwpe", dwpe, dwpe_ref, maxT * C, TORCH_ATOL, TORCH_RTOL);
    // Without wpe the output is the plain lookup, and a NULL dwpe is skipped.
    CHECK(zy_embedding_forward(out, tokens, wte, NULL, B, T, C, V) == ZY_STATUS_OK);
    CHECK(!memcmp(out + C, wte + (size_t)tokens[1] * C, C * sizeof(float)));
    memset(dwte, 0, V * C * sizeof(float));
    zy_embedding_backward(dwte, NULL, w, tokens, B, T, C);
    CHECK_CLOSE("emb.dwte (dwpe NULL)", dwte, dwte_ref, V * C, TORCH_ATOL, TORCH_RTOL);
    free(out), free(dwte), free(dwpe);
    zt_ref_free(R);
}

TEST(layers_embedding_bad_token) {
    int B = 2, T = 3, C = 4, V = 5;
    float wte[5 * 4], wpe[3 * 4], out[2 * 3 * 4 + 8];
    zt_fill_uniform(wte, V * C, 8, -1, 1);
    zt_fill_uniform(wpe, T * C, 9, -1, 1);
    int bad_ids[] = {5, -1, 1 << 30, -2147483647 - 1};
    for (int k = 0; k < 4; k++) {
        int tokens[] = {0, 1, 2, 3, 4, 0};
        tokens[5] = bad_ids[k]; // position (b=1, t=2)
        for (int i = 0; i < B * T * C + 8; i++) out[i] = 123.0f; // sentinel everywhere
        zy_status s = zy_embedding_forward(out, tokens, wte, wpe, B, T, C, V);
        ASSERT_EQ_INT(s, ZY_STATUS_INVALID_ARGUMENT);
        const char *msg = zy_last_error();
        char id[32];
        snprintf(id, sizeof id, "%d", bad_ids[k]);
        zt_note("id %d -> \"%s\"", bad_ids[k], msg);
        CHECK(strstr(msg, "b=1") && strstr(msg, "t=2") && strstr(msg, id));
        // Validation happens before any write: the buffer (and the slack past it) is intact.
        int intact = 1;
        for (int i = 0; i < B * T * C + 8; i++) intact &= out[i] == 123.0f;
        CHECK(intact);
    }
}

// ---- layernorm ---------------------------------------------------------------------------
typedef struct {
    float *inp, *weight, *bias, *out, *mean, *rstd;
    const float *w;
    int N, C;
} ln_ctx;

static double ln_loss(void *p) {
    ln_ctx *c = p;
    zy_layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->weight, c->bias, c->N, c->C,
                         1e-5f);
    return zt_dot(c->out, c->w, (size_t)c->N * c->C);
}

TEST(layers_layernorm_gradcheck) {
    int N = 4, C = 19;
    ln_ctx c = {zt_floats(N * C), zt_floats(C),     zt_floats(C), zt_floats(N * C),
                zt_floats(N),     zt_floats(N),     NULL,         N, C};
    float *w = zt_floats(N * C), *dinp = zt_floats(N * C), *dw = zt_floats(C),
          *db = zt_floats(C);
    zt_fill_uniform(c.inp, N * C, 10, -2, 3);
    zt_fill_uniform(c.weight, C, 11, 0.5f, 1.5f);
    zt_fill_uniform(c.bias, C, 12, -0.5f, 0.5f);
    zt_fill_uniform(w, N * C, 13, -1, 1);
    c.w = w;
    ln_loss(&c);
    zy_layernorm_backward(dinp, dw, db, w, c.inp, c.weight, c.mean, c.rstd, N, C);
    GRADCHECK("layernorm dinp", ln_loss, &c, c.inp, dinp, N * C, 1e-2, 1e-2);
    GRADCHECK("layernorm dweight", ln_loss, &c, c.weight, dw, C, 1e-2, 1e-2);
    GRADCHECK("layernorm dbias", ln_loss, &c, c.bias, db, C, 1e-2, 1e-2);
    free(c.inp), free(c.weight), free(c.bias), free(c.out), free(c.mean), free(c.rstd);
    free(w), free(dinp), free(dw), free(db);
}

static void ln_vs_torch(zt_ref *R, const char *pfx, int N, int C) {
    const char *names[] = {"inp", "weight", "bias", "w",       "out",
                           "mean", "rstd",  "dinp", "dweight", "dbias"};
    size_t sizes[] = {N * C, C, C, N * C, N * C, N, N, N * C, C, C};
    char k[10][32];
    const float *t[10];
    for (int i = 0; i < 10; i++) {
        snprintf(k[i], sizeof k[i], "%s.%s", pfx, names[i]);
        t[i] = ref_f(R, k[i], sizes[i]);
    }
    if (zt_failed()) return;
    float *out = zt_floats(N * C), *mean = zt_floats(N), *rstd = zt_floats(N);
    float *dinp = zt_floats(N * C), *dw = zt_floats(C), *db = zt_floats(C);
    zy_layernorm_forward(out, mean, rstd, t[0], t[1], t[2], N, C, 1e-5f);
    zy_layernorm_backward(dinp, dw, db, t[3], t[0], t[1], mean, rstd, N, C);
    float *got[] = {out, mean, rstd, dinp, dw, db};
    for (int i = 0; i < 6; i++)
        CHECK_CLOSE(k[4 + i], got[i], t[4 + i], sizes[4 + i], TORCH_ATOL, TORCH_RTOL);
    free(out), free(mean), free(rstd), free(dinp), free(dw), free(db);
}

TEST(layers_layernorm_matches_torch) {
    zt_ref *R = zt_ref_load(REF_PATH);
    ASSERT(R);
    ln_vs_torch(R, "ln", 7, 33);
    ln_vs_torch(R, "ln_wide", 4, 768);
    zt_ref_free(R);
}

// A layernorm over N rows of C: inputs x, dout and weight|bias (seeded from seed), and the
// forward's out, mean and rstd, for the backward tests below.
typedef struct {
    float *x, *dout, *wb, *out, *mean, *rstd;
} ln_case;

static ln_case ln_case_make(int N, int C, uint64_t seed) {
    ln_case t = {zt_floats((size_t)N * C), zt_floats((size_t)N * C), zt_floats(2 * (size_t)C),
                 zt_floats((size_t)N * C), zt_floats(N), zt_floats(N)};
    zt_fill_uniform(t.x, (size_t)N * C, seed, -2, 2);
    zt_fill_uniform(t.dout, (size_t)N * C, seed + 1, -1, 1);
    zt_fill_uniform(t.wb, 2 * (size_t)C, seed + 2, 0.5, 1.5);
    zy_layernorm_forward(t.out, t.mean, t.rstd, t.x, t.wb, t.wb + C, N, C, 1e-5f);
    return t;
}

static void ln_case_free(ln_case *t) {
    free(t->x), free(t->dout), free(t->wb), free(t->out), free(t->mean), free(t->rstd);
}

// The case's backward into dx (= with assign, the post-LN block's; else +=), dw and db
// (NULL: none).
static void ln_case_backward(const ln_case *t, int N, int C, bool assign, float *dx, float *dw,
                             float *db) {
    if (assign)
        zy__layernorm_backward_assign(dx, dw, db, t->dout, t->x, t->wb, t->mean, t->rstd, N, C);
    else zy_layernorm_backward(dx, dw, db, t->dout, t->x, t->wb, t->mean, t->rstd, N, C);
}

// Past a few thousand elements backward sums the parameters' gradients by fixed groups of
// rows in the pass that computes dinp (a scratch block per call); without the scratch it
// takes a second pass by column blocks. The two agree (the double sums differ in order
// only), and the one-pass sums do not depend on the thread count.
TEST(layers_layernorm_backward_one_pass_as_two) {
    enum { N = 300, C = 96 }; // 28,800 elements: the one-pass path
    ln_case t = ln_case_make(N, C, 41);
    const float *x = t.x, *dout = t.dout, *wb = t.wb, *mean = t.mean, *rstd = t.rstd;
    float *g[3][3]; // [one pass, two threads | one pass, one thread | two passes][dx, dw, db]
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3; k++) g[r][k] = zt_floats(k ? C : N * C);
    int threads = zy_threads_get();
    zy_layernorm_backward(g[0][0], g[0][1], g[0][2], dout, x, wb, mean, rstd, N, C);
    zy_threads_set(1);
    zy_layernorm_backward(g[1][0], g[1][1], g[1][2], dout, x, wb, mean, rstd, N, C);
    zy_threads_set(threads);
    zt_allocations_fail_after(0);
    zy_layernorm_backward(g[2][0], g[2][1], g[2][2], dout, x, wb, mean, rstd, N, C);
    zy_allocator_set(NULL);
    CHECK(memcmp(g[0][0], g[1][0], sizeof(float) * N * C) == 0);
    CHECK(memcmp(g[0][1], g[1][1], sizeof(float) * C) == 0);
    CHECK(memcmp(g[0][2], g[1][2], sizeof(float) * C) == 0);
    CHECK(memcmp(g[0][0], g[2][0], sizeof(float) * N * C) == 0); // the same row code
    CHECK_CLOSE("layernorm dweight, one pass", g[0][1], g[2][1], C, 1e-6, 1e-6);
    CHECK_CLOSE("layernorm dbias, one pass", g[0][2], g[2][2], C, 1e-6, 1e-6);
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3; k++) free(g[r][k]);
    ln_case_free(&t);
}

// The assigning backward (the post-LN block's) writes what the adding one adds into zeros,
// over whatever the buffer held; the parameters' gradients are added to either way. Both
// row paths: one pass (with parameters) and the row chunks (without).
TEST(layers_layernorm_backward_assign_as_add_into_zeros) {
    enum { N = 300, C = 96 };
    ln_case t = ln_case_make(N, C, 51);
    for (int params = 0; params < 2; params++) {
        float *add = zt_floats(N * C), *set = zt_floats(N * C);
        float *dw[2] = {zt_floats(C), zt_floats(C)}, *db[2] = {zt_floats(C), zt_floats(C)};
        for (int i = 0; i < N * C; i++) set[i] = NAN;
        for (int c = 0; c < C; c++) dw[0][c] = dw[1][c] = db[0][c] = db[1][c] = 0.25f;
        ln_case_backward(&t, N, C, false, add, params ? dw[0] : NULL, params ? db[0] : NULL);
        ln_case_backward(&t, N, C, true, set, params ? dw[1] : NULL, params ? db[1] : NULL);
        CHECK(memcmp(add, set, sizeof(float) * N * C) == 0);
        CHECK(memcmp(dw[0], dw[1], sizeof(float) * C) == 0);
        CHECK(memcmp(db[0], db[1], sizeof(float) * C) == 0);
        free(add), free(set), free(dw[0]), free(dw[1]), free(db[0]), free(db[1]);
    }
    ln_case_free(&t);
}

// The forward's AVX-512 rows give the scalar rows' bits: output, mean and rstd, at widths
// with and without a partial block of 8 and a partial vector, in place too.
TEST(layers_layernorm_forward_simd_matches_scalar) {
    const int widths[] = {3, 8, 37, 96, 768};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        const int N = 300, C = widths[wi];
        ln_case t = ln_case_make(N, C, 81 + (uint64_t)wi);
        float *o[2], *m[2], *r[2];
        for (int l = 0; l < 2; l++) {
            o[l] = zt_floats((size_t)N * C), m[l] = zt_floats(N), r[l] = zt_floats(N);
            if (!zt_use_simd(l ? ZY_SIMD_AVX512 : ZY_SIMD_SCALAR)) continue;
            zy_layernorm_forward(o[l], m[l], r[l], t.x, t.wb, t.wb + C, N, C, 1e-5f);
            if (!l) continue;
            CHECK(memcmp(o[0], o[1], sizeof(float) * N * C) == 0);
            CHECK(memcmp(m[0], m[1], sizeof(float) * N) == 0);
            CHECK(memcmp(r[0], r[1], sizeof(float) * N) == 0);
            memcpy(o[1], t.x, sizeof(float) * N * C); // in place
            zy_layernorm_forward(o[1], m[1], r[1], o[1], t.wb, t.wb + C, N, C, 1e-5f);
            CHECK(memcmp(o[0], o[1], sizeof(float) * N * C) == 0);
        }
        for (int l = 0; l < 2; l++) free(o[l]), free(m[l]), free(r[l]);
        ln_case_free(&t);
    }
}

// The backward's AVX-512 rows give the scalar rows' bits (the same operations per element,
// the row sums in the same 16 lanes), with and without the parameters, adding and
// assigning, for widths with and without a partial vector.
TEST(layers_layernorm_backward_simd_matches_scalar) {
    const int widths[] = {5, 16, 37, 96, 512};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        const int N = 300, C = widths[wi];
        ln_case t = ln_case_make(N, C, 61 + (uint64_t)wi);
        for (int params = 0; params < 2; params++) {
            for (int assign = 0; assign < 2; assign++) {
                float *g[2][3]; // [scalar | avx512][dx, dw, db]
                for (int r = 0; r < 2; r++) {
                    for (int k = 0; k < 3; k++) {
                        g[r][k] = zt_floats(k ? C : N * C);
                        zt_fill_uniform(g[r][k], k ? (size_t)C : (size_t)N * C, 7, -1, 1);
                    }
                    if (!zt_use_simd(r ? ZY_SIMD_AVX512 : ZY_SIMD_SCALAR)) continue;
                    ln_case_backward(&t, N, C, assign, g[r][0], params ? g[r][1] : NULL,
                                     params ? g[r][2] : NULL);
                }
                if (zy_simd_level() == ZY_SIMD_AVX512)
                    for (int k = 0; k < 3; k++)
                        CHECK(memcmp(g[0][k], g[1][k], sizeof(float) * (k ? C : N * C)) == 0);
                for (int r = 0; r < 2; r++)
                    for (int k = 0; k < 3; k++) free(g[r][k]);
            }
        }
        ln_case_free(&t);
    }
}

// ---- GELU and ReLU -----------------------------------------------------------------------
typedef struct {
    float *inp, *out;
    const float *w;
    size_t n;
    int kind; // ZY_GELU_TANH, ZY_GELU_ERF, or -1 for ReLU
} act_ctx;

static double act_loss(void *p) {
    act_ctx *c = p;
    if (c->kind < 0) zy_relu_forward(c->out, c->inp, c->n);
    else zy_gelu_forward(c->out, c->inp, c->n, (zy_gelu_kind)c->kind);
    return zt_dot(c->out, c->w, c->n);
}

static void act_backward(const act_ctx *c, float *dinp) {
    if (c->kind < 0) zy_relu_backward(dinp, c->w, c->inp, c->n);
    else zy_gelu_backward(dinp, c->w, c->inp, c->n, (zy_gelu_kind)c->kind);
}

TEST(layers_activation_gradcheck) {
    size_t n = 200;
    float *inp = zt_floats(n), *out = zt_floats(n), *w = zt_floats(n), *dinp = zt_floats(n);
    zt_fill_uniform(w, n, 14, -1, 1);
    const char *what[] = {"gelu_tanh dinp", "gelu_erf dinp", "relu dinp"};
    for (int l = ZY_SIMD_SCALAR; l <= ZY_SIMD_AVX512; l++) { // levels this CPU lacks: skipped
        if (!zt_use_simd(l)) continue;
        zt_note("simd %s:", zy_simd_name((zy_simd)l));
        for (int kind = -1; kind <= 1; kind++) {
            zt_fill_uniform(inp, n, 15, -4, 4);
            // ReLU: keep inputs 0.1 away from the kink so ±eps never crosses it.
            if (kind < 0)
                for (size_t i = 0; i < n; i++) inp[i] += inp[i] < 0 ? -0.1f : 0.1f;
            act_ctx c = {inp, out, w, n, kind};
            memset(dinp, 0, n * sizeof *dinp);
            act_backward(&c, dinp);
            GRADCHECK(what[kind < 0 ? 2 : kind], act_loss, &c, inp, dinp, n, 1e-2,
                      kind < 0 ? 1e-3 : 1e-2);
        }
    }
    free(inp), free(out), free(w), free(dinp);
}

// SiLU (Marian's "swish"): the values against x / (1 + e^-x) in double (1e-6 relative) and
// the gradient against central differences (eps 1e-2, tol 1e-2), over [-8, 8].
typedef struct {
    float *inp, *out;
    const float *w;
    size_t n;
} silu_ctx;

static double silu_loss(void *p) {
    silu_ctx *c = p;
    zy_silu_forward(c->out, c->inp, c->n);
    return zt_dot(c->out, c->w, c->n);
}

TEST(layers_silu_gradcheck_and_formula) {
    size_t n = 300;
    float *inp = zt_floats(n), *out = zt_floats(n), *w = zt_floats(n), *dinp = zt_floats(n);
    float *want = zt_floats(n);
    zt_fill_uniform(inp, n, 31, -8, 8);
    zt_fill_uniform(w, n, 32, -1, 1);
    zy_silu_forward(out, inp, n);
    for (size_t i = 0; i < n; i++) want[i] = (float)(inp[i] / (1.0 + exp(-(double)inp[i])));
    CHECK_CLOSE("silu", out, want, n, 1e-7, 1e-6);
    silu_ctx c = {inp, out, w, n};
    zy_silu_backward(dinp, w, inp, n);
    GRADCHECK("silu dinp", silu_loss, &c, inp, dinp, n, 1e-2, 1e-2);
    free(inp), free(out), free(w), free(dinp), free(want);
}

TEST(layers_activation_matches_torch) {
    zt_ref *R = zt_ref_load(REF_PATH);
    ASSERT(R);
    const char *pfx[] = {"gelu_tanh", "gelu_erf", "relu"};
    size_t sizes[] = {1000, 1000, 515};
    for (int l = ZY_SIMD_SCALAR; l <= ZY_SIMD_AVX512; l++) {
        if (!zt_use_simd(l)) continue;
        zt_note("simd %s:", zy_simd_name((zy_simd)l));
        for (int a = 0; a < 3; a++) {
            char k[4][32];
            const float *t[4];
            const char *names[] = {"inp", "w", "out", "dinp"};
            for (int i = 0; i < 4; i++) {
                snprintf(k[i], sizeof k[i], "%s.%s", pfx[a], names[i]);
                t[i] = ref_f(R, k[i], sizes[a]);
            }
            if (zt_failed()) break;
            size_t n = sizes[a];
            float *out = zt_floats(n), *dinp = zt_floats(n);
            if (a == 2) {
                zy_relu_forward(out, t[0], n);
                zy_relu_backward(dinp, t[1], t[0], n);
            } else {
                zy_gelu_forward(out, t[0], n, (zy_gelu_kind)a);
                zy_gelu_backward(dinp, t[1], t[0], n, (zy_gelu_kind)a);
            }
            CHECK_CLOSE(k[2], out, t[2], n, TORCH_ATOL, TORCH_RTOL);
            CHECK_CLOSE(k[3], dinp, t[3], n, TORCH_ATOL, TORCH_RTOL);
            free(out), free(dinp);
        }
    }
    zt_ref_free(R);
}

// The AVX2 and AVX-512 GELUs (tanh: σ(2u) form with a vector exp; erf: a Chebyshev erfc)
// against the scalar tanhf / erff references, over a wide range, with a ragged tail (n % 16,
// n % 8 != 0)
// and special values. 1e-6 abs + 2e-6 rel: a few float ulps of either formula; a wrong
// polynomial coefficient or a mishandled tail lane shows up far above that.
static void check_gelu(zy_simd level, const float *x, const float *w, size_t n) {
    const char *name = zy_simd_name(level);
    float *o_s = zt_floats(n), *o_v = zt_floats(n), *d_s = zt_floats(n), *d_v = zt_floats(n);
    // NaN must come out NaN from both paths (the vector exp clamps, x·σ keeps the NaN).
    float nan_in[17], nan_out[17], nan_d[17] = {0};
    for (int i = 0; i < 17; i++) nan_in[i] = i == 16 ? NAN : (float)i;
    nan_in[3] = NAN;
    zy_simd_set(level);
    for (int kind = 0; kind <= 1; kind++) {
        memset(nan_d, 0, sizeof nan_d);
        zy_gelu_forward(nan_out, nan_in, 17, (zy_gelu_kind)kind);
        zy_gelu_backward(nan_d, nan_in, nan_in, 17, (zy_gelu_kind)kind);
        CHECK(isnan(nan_out[3]) && isnan(nan_out[16]) && isnan(nan_d[3]) && isnan(nan_d[16]));
        CHECK(!isnan(nan_out[2]) && !isnan(nan_d[15]));
    }
    for (int kind = 0; kind <= 1; kind++) {
        zy_simd_set(ZY_SIMD_SCALAR);
        zy_gelu_forward(o_s, x, n, (zy_gelu_kind)kind);
        memset(d_s, 0, n * sizeof *d_s);
        zy_gelu_backward(d_s, w, x, n, (zy_gelu_kind)kind);
        zy_simd_set(level);
        zy_gelu_forward(o_v, x, n, (zy_gelu_kind)kind);
        memset(d_v, 0, n * sizeof *d_v);
        zy_gelu_backward(d_v, w, x, n, (zy_gelu_kind)kind);
        char what[64];
        snprintf(what, sizeof what, "gelu_%s out %s", kind ? "erf" : "tanh", name);
        CHECK_CLOSE(what, o_v, o_s, n, 1e-6, 2e-6);
        snprintf(what, sizeof what, "gelu_%s dinp %s", kind ? "erf" : "tanh", name);
        CHECK_CLOSE(what, d_v, d_s, n, 1e-6, 2e-6);
    }
    free(o_s), free(o_v), free(d_s), free(d_v);
}

// An activation's check at each vector level the CPU has (with scalar alone, the test is
// skipped), on 10,013 inputs uniform in [-12, 12] from `seed` -- the first ns of them the
// special values given -- and weights uniform in [-1, 1] from seed + 1.
typedef void (*act_check_fn)(zy_simd level, const float *x, const float *w, size_t n);

static void check_vector_levels(act_check_fn check, uint64_t seed, const float *special,
                                size_t ns) {
    size_t n = 10000 + 13;
    float *x = zt_floats(n), *w = zt_floats(n);
    zt_fill_uniform(x, n, seed, -12, 12);
    zt_fill_uniform(w, n, seed + 1, -1, 1);
    memcpy(x, special, ns * sizeof *special);
    if (zt_use_simd(ZY_SIMD_AVX2)) check(ZY_SIMD_AVX2, x, w, n);
    if (zt_use_simd(ZY_SIMD_AVX512)) check(ZY_SIMD_AVX512, x, w, n);
    free(x), free(w);
}

TEST(layers_gelu_simd_matches_scalar) {
    const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-3f, -1e-3f, 30.0f, -30.0f,
                             1e4f, -1e4f};
    check_vector_levels(check_gelu, 16, special, sizeof special / sizeof *special);
}

// SiLU's vector paths (the library's vector exp) against the scalar one (libm expf), with
// GELU's inputs, tolerance and NaN check; past x = -88.7 both give -0 (e^-x is inf).
static void check_silu(zy_simd level, const float *x, const float *w, size_t n) {
    const char *name = zy_simd_name(level);
    float *o_s = zt_floats(n), *o_v = zt_floats(n), *d_s = zt_floats(n), *d_v = zt_floats(n);
    zy_simd_set(ZY_SIMD_SCALAR);
    zy_silu_forward(o_s, x, n);
    zy_silu_backward(d_s, w, x, n);
    zy_simd_set(level);
    zy_silu_forward(o_v, x, n);
    zy_silu_backward(d_v, w, x, n);
    char what[64];
    snprintf(what, sizeof what, "silu out %s", name);
    CHECK_CLOSE(what, o_v, o_s, n, 1e-6, 2e-6);
    snprintf(what, sizeof what, "silu dinp %s", name);
    CHECK_CLOSE(what, d_v, d_s, n, 1e-6, 2e-6);
    float in[19], out[19], d[19] = {0};
    for (int i = 0; i < 19; i++) in[i] = (float)i - 9.0f;
    in[4] = NAN, in[0] = -1e4f, in[18] = INFINITY;
    zy_silu_forward(out, in, 19);
    zy_silu_backward(d, in, in, 19);
    CHECK(isnan(out[4]) && isnan(d[4]) && !isnan(out[5]) && !isnan(d[5]));
    CHECK(out[0] == 0.0f && signbit(out[0]) && out[18] == INFINITY);
    free(o_s), free(o_v), free(d_s), free(d_v);
}

TEST(layers_silu_simd_matches_scalar) {
    const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-3f, -1e-3f, 30.0f, -30.0f,
                             -87.0f, -89.0f, 1e4f, -1e4f};
    check_vector_levels(check_silu, 18, special, sizeof special / sizeof *special);
}

// ---- residual ----------------------------------------------------------------------------
typedef struct {
    float *a, *b, *out;
    const float *w;
    size_t n;
} res_ctx;

static double res_loss(void *p) {
    res_ctx *c = p;
    zy_residual_forward(c->out, c->a, c->b, c->n);
    return zt_dot(c->out, c->w, c->n);
}

TEST(layers_residual_gradcheck_and_torch) {
    size_t n = 257;
    zt_ref *R = zt_ref_load(REF_PATH);
    ASSERT(R);
    const float *a = ref_f(R, "res.a", n), *b = ref_f(R, "res.b", n), *w = ref_f(R, "res.w", n);
    const float *out_ref = ref_f(R, "res.out", n), *da_ref = ref_f(R, "res.da", n);
    const float *db_ref = ref_f(R, "res.db", n);
    if (zt_failed()) {
        zt_ref_free(R);
        return;
    }
    res_ctx c = {copy_of(a, n), copy_of(b, n), zt_floats(n), w, n};
    float *da = zt_floats(n), *db = zt_floats(n);
    res_loss(&c);
    zy_residual_backward(da, db, w, n);
    CHECK_CLOSE("res.out", c.out, out_ref, n, TORCH_ATOL, TORCH_RTOL);
    CHECK_CLOSE("res.da", da, da_ref, n, TORCH_ATOL, TORCH_RTOL);
    CHECK_CLOSE("res.db", db, db_ref, n, TORCH_ATOL, TORCH_RTOL);
    GRADCHECK("residual da", res_loss, &c, c.a, da, n, 1e-2, 1e-3);
    GRADCHECK("residual db", res_loss, &c, c.b, db, n, 1e-2, 1e-3);
    // out may alias an input (the usual in-place x = x + f(x)).
    float *x = copy_of(a, n);
    zy_residual_forward(x, x, b, n);
    CHECK_CLOSE("res.out (out aliases a)", x, out_ref, n, TORCH_ATOL, TORCH_RTOL);
    free(c.a), free(c.b), free(c.out), free(da), free(db), free(x);
    zt_ref_free(R);
}

// ---- backward accumulates ----------------------------------------------------------------
// Running backward twice into the same buffers gives exactly twice one backward: every
// kernel computes its term without reading the gradient, then adds it once (g + g = 2g is
// exact in float). Linear goes through zy_sgemm with beta = 1; a blocked GEMM may add its
// K-blocks into C one by one, which is not bit-exact, so linear gets 1e-6 relative.
static void check_twice(const char *what, const float *once, const float *twice, size_t n,
                        double rtol) {
    float *want = zt_floats(n);
    for (size_t i = 0; i < n; i++) want[i] = 2.0f * once[i];
    CHECK_CLOSE(what, twice, want, n, 0.0, rtol);
    free(want);
}

TEST(layers_backward_accumulates) {
    int N = 6, C = 37, Cout = 21, B = 2, T = 3, V = 5;
    size_t nc = (size_t)N * C;
    float *x = zt_floats(nc), *wt = zt_floats((size_t)Cout * C), *dout = zt_floats(nc * 3);
    float *mean = zt_floats(N), *rstd = zt_floats(N), *out = zt_floats(nc * 3);
    zt_fill_uniform(x, nc, 20, -2, 2);
    zt_fill_uniform(wt, (size_t)Cout * C, 21, -1, 1);
    zt_fill_uniform(dout, nc * 3, 22, -1, 1);
    // Gradient buffers big enough for any of the ops below (linear dweight is the largest).
    size_t gn = (size_t)Cout * C + nc;
    float *g1[3], *g2[3];
    for (int k = 0; k < 3; k++) g1[k] = zt_floats(gn), g2[k] = zt_floats(gn);

    // linear: inp (N, C), weight (Cout, C), dout (N, Cout)
    zy_linear_backward(g1[0], g1[1], g1[2], dout, x, wt, N, C, Cout);
    for (int r = 0; r < 2; r++) zy_linear_backward(g2[0], g2[1], g2[2], dout, x, wt, N, C, Cout);
    check_twice("linear dinp x2", g1[0], g2[0], nc, 1e-6);
    check_twice("linear dweight x2", g1[1], g2[1], (size_t)Cout * C, 1e-6);
    check_twice("linear dbias x2", g1[2], g2[2], Cout, 0.0);

    // layernorm: weight = first C entries of wt
    for (int k = 0; k < 3; k++) memset(g1[k], 0, gn * 4), memset(g2[k], 0, gn * 4);
    zy_layernorm_forward(out, mean, rstd, x, wt, wt + C, N, C, 1e-5f);
    zy_layernorm_backward(g1[0], g1[1], g1[2], dout, x, wt, mean, rstd, N, C);
    for (int r = 0; r < 2; r++)
        zy_layernorm_backward(g2[0], g2[1], g2[2], dout, x, wt, mean, rstd, N, C);
    check_twice("layernorm dinp x2", g1[0], g2[0], nc, 0.0);
    check_twice("layernorm dweight x2", g1[1], g2[1], C, 0.0);
    check_twice("layernorm dbias x2", g1[2], g2[2], C, 0.0);

    // embedding: tokens (B, T) with a repeat; dout (B, T, C)
    int tokens[] = {4, 1, 4, 0, 4, 2};
    for (int k = 0; k < 3; k++) memset(g1[k], 0, gn * 4), memset(g2[k], 0, gn * 4);
    zy_embedding_backward(g1[0], g1[1], dout, tokens, B, T, C);
    for (int r = 0; r < 2; r++) zy_embedding_backward(g2[0], g2[1], dout, tokens, B, T, C);
    // Repeated ids are scattered one by one into dwte, so the second pass rounds on top
    // of the first: 2x within 1e-6 relative, not bit-exact (dwpe is pre-summed: exact).
    check_twice("embedding dwte x2", g1[0], g2[0], (size_t)V * C, 1e-6);
    check_twice("embedding dwpe x2", g1[1], g2[1], (size_t)T * C, 0.0);

    // elementwise ops at every SIMD level
    for (int l = ZY_SIMD_SCALAR; l <= ZY_SIMD_AVX512; l++) {
        if (!zt_use_simd(l)) continue;
        const char *names[] = {"gelu_tanh dinp x2", "gelu_erf dinp x2", "relu dinp x2",
                               "residual da x2", "residual db x2"};
        for (int op = 0; op < 4; op++) {
            for (int k = 0; k < 2; k++) memset(g1[k], 0, nc * 4), memset(g2[k], 0, nc * 4);
            for (int r = 0; r < 3; r++) {
                float *a = r == 0 ? g1[0] : g2[0], *b = r == 0 ? g1[1] : g2[1];
                if (op < 2) zy_gelu_backward(a, dout, x, nc, (zy_gelu_kind)op);
                else if (op == 2) zy_relu_backward(a, dout, x, nc);
                else zy_residual_backward(a, b, dout, nc);
            }
            check_twice(names[op], g1[0], g2[0], nc, 0.0);
            if (op == 3) check_twice(names[4], g1[1], g2[1], nc, 0.0);
        }
    }
    for (int k = 0; k < 3; k++) free(g1[k]), free(g2[k]);
    free(x), free(wt), free(dout), free(mean), free(rstd), free(out);
}

// Linear dbias summed by fixed groups of rows (1,024 rows and more) and by column blocks
// (fewer): both the double sums of the columns rounded once, within a float's rounding of
// the total; a wide row (2,100 columns) among them. The AVX-512 sums (colsum_avx512.c)
// give the scalar ones' bits.
TEST(layers_linear_dbias_by_row_groups) {
    static const int shapes[][2] = {{1100, 2100}, {1023, 130}, {4096, 64}, {1030, 37}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int N = shapes[s][0], C = shapes[s][1];
        float *dout = zt_floats((size_t)N * C), *db[2] = {zt_floats(C), zt_floats(C)};
        zt_fill_uniform(dout, (size_t)N * C, 40 + s, -1, 1);
        for (int l = 0; l < 2; l++) {
            if (!zt_use_simd(l ? ZY_SIMD_AVX512 : ZY_SIMD_SCALAR)) continue;
            for (int c = 0; c < C; c++) db[l][c] = 0.25f;
            zy_linear_backward(NULL, NULL, db[l], dout, NULL, NULL, N, C, C);
            for (int c = 0; c < C; c++) {
                double want = 0.0, mag = 0.0;
                for (int n = 0; n < N; n++) {
                    want += dout[(size_t)n * C + c];
                    mag += fabs(dout[(size_t)n * C + c]);
                }
                want = (float)want + 0.25f;
                if (fabs(db[l][c] - want) > 1e-6 * mag + 1e-6) {
                    zt_fail(__FILE__, __LINE__, "%d x %d: dbias[%d] = %.9g, want %.9g", N, C,
                            c, (double)db[l][c], want);
                    break;
                }
            }
            if (l) CHECK(memcmp(db[0], db[1], sizeof(float) * (size_t)C) == 0);
        }
        free(dout), free(db[0]), free(db[1]);
    }
}

// ---- thread-count independence -----------------------------------------------------------
// Sizes are above every op's parallel threshold; 1, 2 and 3 threads (3 splits the column
// blocks and rows unevenly) must give bit-identical results, including the reductions
// (linear dbias, layernorm dweight/dbias, embedding dwte with repeated ids, dwpe).
typedef struct {
    float *ln_out, *ln_dinp, *ln_dw, *ln_db, *dwte, *dwpe, *dbias, *gelu, *dgelu;
} thread_outs;

static void run_threaded_ops(thread_outs *o, const float *x, const float *dout,
                             const int *tokens, int N, int C, int B, int T, int V) {
    size_t nc = (size_t)N * C;
    static float mean[4096], rstd[4096];
    zy_layernorm_forward(o->ln_out, mean, rstd, x, dout, dout + C, N, C, 1e-5f);
    zy_layernorm_backward(o->ln_dinp, o->ln_dw, o->ln_db, dout, x, dout, mean, rstd, N, C);
    zy_embedding_backward(o->dwte, o->dwpe, dout, tokens, B, T, C);
    // linear dbias only (dinp/dweight are zy_sgemm's business): dout seen as (N, C)
    zy_linear_backward(NULL, NULL, o->dbias, dout, x, x, N, C, C);
    zy_gelu_forward(o->gelu, x, nc, ZY_GELU_TANH);
    zy_gelu_backward(o->dgelu, dout, x, nc, ZY_GELU_ERF);
}

TEST(layers_results_independent_of_threads) {
    // V small: every id repeats many times; 1,024 rows: linear dbias by groups of rows
    int B = 16, T = 64, C = 300, V = 7, N = B * T;
    size_t nc = (size_t)N * C;
    float *x = zt_floats(nc), *dout = zt_floats(nc);
    int *tokens = zt_malloc((size_t)N * sizeof(int));
    zt_fill_uniform(x, nc, 30, -3, 3);
    zt_fill_uniform(dout, nc, 31, -1, 1);
    for (int i = 0; i < N; i++) tokens[i] = (i * 5 + i / 7) % V;
    size_t sizes[9] = {nc, nc, C, C, (size_t)V * C, (size_t)T * C, C, nc, nc};
    thread_outs runs[3];
    int threads[3] = {1, 2, 3};
    for (int r = 0; r < 3; r++) {
        float **f = (float **)&runs[r];
        for (int k = 0; k < 9; k++) f[k] = zt_floats(sizes[k]);
        zt_note("threads requested %d, in force %d", threads[r], zy_threads_set(threads[r]));
        run_threaded_ops(&runs[r], x, dout, tokens, N, C, B, T, V);
    }
    zy_threads_set(0);
    const char *names[9] = {"ln out", "ln dinp", "ln dweight", "ln dbias", "emb dwte",
                            "emb dwpe", "linear dbias", "gelu_tanh out", "gelu_erf dinp"};
    for (int r = 1; r < 3; r++)
        for (int k = 0; k < 9; k++) {
            float **a = (float **)&runs[0], **b = (float **)&runs[r];
            if (memcmp(a[k], b[k], sizes[k] * sizeof(float)))
                zt_fail(__FILE__, __LINE__, "%s differs between 1 and %d threads", names[k],
                        threads[r]);
        }
    for (int r = 0; r < 3; r++) {
        float **f = (float **)&runs[r];
        for (int k = 0; k < 9; k++) free(f[k]);
    }
    free(x), free(dout), free(tokens);
}
