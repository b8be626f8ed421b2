// Tests of the fused cross-entropy (src/nn/cross_entropy.c, cross_entropy_avx512.c) and
// MSE (src/nn/mse.c); softmax and dropout are in test_losses.c. Names start "losses_".
// Evidence: PyTorch references (tests/ref/losses.zyr from tests/ref_losses.py: mean
// reduction, ignore_index -100, label smoothing 0 and 0.1, V = 50 and 1000),
// finite-difference gradient checks, SIMD against scalar, bit-identical results at 1 and 2
// threads over a GPT-2-sized vocabulary, invalid targets, all-ignored batches, +=.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/nn.h"

#define REF_PATH "tests/ref/losses.zyr"

static const zy_simd xlevels[] = {ZY_SIMD_SCALAR, ZY_SIMD_AVX2, ZY_SIMD_AVX512};
#define NXLEVELS 3

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

// ---- cross-entropy ----------------------------------------------------------------------

static void xent_vs_torch(zt_ref *ref, const char *tag, int N, int V, int want_count) {
    char name[64], what[96];
    snprintf(name, sizeof name, "%s_logits", tag);
    const float *logits = zt_ref_f(ref, name, NULL);
    snprintf(name, sizeof name, "%s_targets", tag);
    const int *targets = zt_ref_i(ref, name, NULL);
    snprintf(name, sizeof name, "%s_lse", tag);
    const float *want_lse = zt_ref_f(ref, name, NULL);
    if (!logits || !targets || !want_lse) return;
    size_t nv = (size_t)N * V;
    float *lse = zt_floats(N), *d = zt_floats(nv), *want_d = zt_floats(nv),
          *base = zt_floats(nv);
    zt_fill_uniform(base, nv, 80, -0.01f, 0.01f);
    const float ls[2] = {0.0f, 0.1f};
    for (int k = 0; k < 2; k++) {
        snprintf(name, sizeof name, "%s_ls%d_loss", tag, k);
        float want_loss = zt_ref_scalar(ref, name);
        snprintf(name, sizeof name, "%s_ls%d_dlogits", tag, k);
        const float *dref = zt_ref_f(ref, name, NULL);
        if (!dref) continue;
        float loss = -1;
        int count = -1;
        zy_status st =
            zy_cross_entropy_forward(&loss, &count, lse, logits, targets, N, V, -100, ls[k]);
        CHECK(st == ZY_STATUS_OK);
        CHECK(count == want_count);
        snprintf(what, sizeof what, "%s ls=%.1f loss [%s]", tag, (double)ls[k],
                 zy_simd_name(zy_simd_level()));
        CHECK_CLOSE(what, &loss, &want_loss, 1, 0, 2e-6);
        snprintf(what, sizeof what, "%s lse [%s]", tag, zy_simd_name(zy_simd_level()));
        CHECK_CLOSE(what, lse, want_lse, N, 0, 1e-6);
        // Backward with dloss = 0.5 onto a nonzero base: base + 0.5 * torch's dlogits.
        memcpy(d, base, nv * sizeof *d);
        for (size_t i = 0; i < nv; i++) want_d[i] = base[i] + 0.5f * dref[i];
        zy_cross_entropy_backward(d, logits, lse, targets, N, V, -100, ls[k], 0.5f);
        snprintf(what, sizeof what, "%s ls=%.1f dlogits [%s]", tag, (double)ls[k],
                 zy_simd_name(zy_simd_level()));
        CHECK_CLOSE(what, d, want_d, nv, 1e-8, 1e-5);
    }
    free(lse), free(d), free(want_d), free(base);
}

TEST(losses_xent_matches_torch) {
    zt_ref *ref = zt_ref_load(REF_PATH);
    ASSERT(ref);
    for (int l = 0; l < NXLEVELS; l++) {
        if (!zt_use_simd(xlevels[l])) continue;
        xent_vs_torch(ref, "ce", 9, 50, 7);      // rows 2 and 7 ignored
        xent_vs_torch(ref, "cebig", 7, 1000, 6); // row 4 ignored
    }
    zt_ref_free(ref);
}

typedef struct {
    float *logits, *lse;
    const int *targets;
    int N, V;
    float ls;
} xent_ctx;

static double xent_loss(void *p) {
    xent_ctx *c = p;
    float loss;
    zy_cross_entropy_forward(&loss, NULL, c->lse, c->logits, c->targets, c->N, c->V, -100,
                             c->ls);
    return loss;
}

TEST(losses_xent_gradcheck) {
    // The loss comes back as a float (~4, rounding ~2.4e-7), so eps = 5e-2 keeps that noise
    // near 2e-6 against a gradient floor of ~1e-3, and the O(eps²) truncation is ~1e-6;
    // tol 2e-2. Dividing by all N rows instead of the 7 counted ones (29% off), a missing
    // smoothing term ε/V or (1-ε) on the target, or any nonzero ignored row fail.
    enum { N = 9, V = 50 };
    float logits[N * V], lse[N], d[N * V];
    int targets[N] = {3, 17, -100, 49, 0, 22, 8, -100, 31};
    zt_fill_uniform(logits, N * V, 90, -3, 3);
    const float ls[2] = {0.0f, 0.1f};
    for (int l = 0; l < NXLEVELS; l++) {
        if (!zt_use_simd(xlevels[l])) continue;
        for (int k = 0; k < 2; k++) {
            xent_ctx c = {logits, lse, targets, N, V, ls[k]};
            xent_loss(&c);
            memset(d, 0, sizeof d);
            zy_cross_entropy_backward(d, logits, lse, targets, N, V, -100, ls[k], 1.0f);
            char what[80];
            snprintf(what, sizeof what, "xent dlogits ls=%.1f [%s]", (double)ls[k],
                     zy_simd_name(xlevels[l]));
            GRADCHECK(what, xent_loss, &c, logits, d, N * V, 5e-2, 2e-2);
            for (int v = 0; v < V; v++) CHECK(d[2 * V + v] == 0.0f && d[7 * V + v] == 0.0f);
        }
    }
}

TEST(losses_xent_errors_and_ignored) {
    enum { N = 5, V = 11 };
    float logits[N * V], lse[N], d[N * V];
    zt_fill_uniform(logits, N * V, 100, -1, 1);
    float loss = 123.0f;
    int count = -1;
    // A target of V at row 3: invalid argument, and the message names the row and value.
    int bad[N] = {1, 2, -100, V, 4};
    zy_clear_error();
    zy_status st = zy_cross_entropy_forward(&loss, &count, lse, logits, bad, N, V, -100, 0);
    CHECK(st == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("error: %s", zy_last_error());
    CHECK(strstr(zy_last_error(), "row 3") != NULL);
    CHECK(strstr(zy_last_error(), "target 11") != NULL);
    CHECK(loss == 123.0f && count == -1); // nothing written on failure
    // A negative target that is not ignore_index is invalid too.
    int neg[N] = {1, 2, -5, 0, 4};
    st = zy_cross_entropy_forward(&loss, &count, lse, logits, neg, N, V, -100, 0);
    CHECK(st == ZY_STATUS_INVALID_ARGUMENT && strstr(zy_last_error(), "row 2") != NULL);
    CHECK(strstr(zy_last_error(), "target -5") != NULL);
    // Label smoothing outside [0, 1] is refused, as PyTorch does.
    int ok[N] = {1, 2, 3, 4, 5};
    CHECK(zy_cross_entropy_forward(&loss, &count, lse, logits, ok, N, V, -100, 1.5f) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "label_smoothing") != NULL);
    // ignore_index may be any value, even a valid class: rows with it are skipped.
    int t7[N] = {7, 7, 7, 7, 7};
    st = zy_cross_entropy_forward(&loss, &count, lse, logits, t7, N, V, 7, 0.1f);
    CHECK(st == ZY_STATUS_OK && count == 0 && loss == 0.0f);
    // All ignored: loss 0 (not NaN), count 0, backward adds nothing.
    int none[N] = {-100, -100, -100, -100, -100};
    st = zy_cross_entropy_forward(&loss, &count, lse, logits, none, N, V, -100, 0.1f);
    CHECK(st == ZY_STATUS_OK && count == 0 && loss == 0.0f);
    for (int i = 0; i < N * V; i++) d[i] = 0.5f;
    zy_cross_entropy_backward(d, logits, lse, none, N, V, -100, 0.1f, 1.0f);
    int changed = 0;
    for (int i = 0; i < N * V; i++) changed += d[i] != 0.5f;
    CHECK(changed == 0);
    // Backward accumulates: two calls give exactly twice one call (from zero; x + x is
    // exact in float).
    int good[N] = {1, 2, -100, 10, 0};
    float once[N * V];
    st = zy_cross_entropy_forward(&loss, &count, lse, logits, good, N, V, -100, 0.1f);
    CHECK(st == ZY_STATUS_OK && count == 4 && isfinite(loss));
    memset(once, 0, sizeof once);
    memset(d, 0, sizeof d);
    zy_cross_entropy_backward(once, logits, lse, good, N, V, -100, 0.1f, 1.0f);
    zy_cross_entropy_backward(d, logits, lse, good, N, V, -100, 0.1f, 1.0f);
    zy_cross_entropy_backward(d, logits, lse, good, N, V, -100, 0.1f, 1.0f);
    int not_twice = 0;
    for (int i = 0; i < N * V; i++) not_twice += d[i] != 2 * once[i];
    CHECK(not_twice == 0);
    // Each counted row's gradient sums to 0 (softmax minus a distribution): |Σ| <= 1e-6.
    double worst = 0;
    for (int r = 0; r < N; r++) {
        double s = 0;
        for (int v = 0; v < V; v++) s += once[r * V + v];
        if (fabs(s) > worst) worst = fabs(s);
    }
    zt_note("xent row gradient sums: worst |sum| %.3g [tol 1e-6]", worst);
    CHECK(worst <= 1e-6);
}

TEST(losses_xent_gpt2_vocab) {
    // (6, 50257): SIMD against scalar, 1 vs 2 threads bit-identical, and a row of ±1e4
    // logits that must not overflow. The reference loss is computed here in double.
    enum { N = 6, V = 50257 };
    size_t nv = (size_t)N * V;
    float *logits = zt_floats(nv), *d1 = zt_floats(nv), *d2 = zt_floats(nv),
          *dref = zt_floats(nv);
    float lse1[N], lse2[N], lse_ref[N], want_lse[N];
    int targets[N] = {50256, 0, -100, 1234, 40000, 7};
    zt_fill_uniform(logits, nv, 110, -4, 4);
    for (int v = 0; v < V; v++) logits[5 * V + v] = v % 3 ? -1e4f : 1e4f - (float)(v % 7);
    double total = 0;
    for (int r = 0; r < N; r++) {
        const float *x = logits + (size_t)r * V;
        double mx = -INFINITY, s = 0, sx = 0;
        for (int v = 0; v < V; v++) mx = fmax(mx, x[v]);
        for (int v = 0; v < V; v++) s += exp(x[v] - mx), sx += x[v];
        double l = mx + log(s);
        want_lse[r] = (float)l;
        if (targets[r] != -100) total += 0.9 * (l - x[targets[r]]) + 0.1 * (l - sx / V);
    }
    float want_loss = (float)(total / 5);
    zt_use_simd(ZY_SIMD_SCALAR); // a path of its own: checked against double below
    float loss_ref;
    ASSERT(zy_cross_entropy_forward(&loss_ref, NULL, lse_ref, logits, targets, N, V, -100,
                                    0.1f) == ZY_STATUS_OK);
    zy_cross_entropy_backward(dref, logits, lse_ref, targets, N, V, -100, 0.1f, 1.0f);
    CHECK_CLOSE("xent V=50257 loss [scalar] vs double", &loss_ref, &want_loss, 1, 0, 1e-6);
    CHECK_CLOSE("xent V=50257 lse [scalar] vs double", lse_ref, want_lse, N, 0, 1e-6);
    CHECK(all_finite(dref, nv));
    for (int l = 1; l < NXLEVELS; l++) {
        if (!zt_use_simd(xlevels[l])) continue;
        float loss1, loss2;
        memset(d1, 0, nv * sizeof *d1);
        memset(d2, 0, nv * sizeof *d2);
        zy_threads_set(1);
        CHECK(zy_cross_entropy_forward(&loss1, NULL, lse1, logits, targets, N, V, -100, 0.1f) ==
              ZY_STATUS_OK);
        zy_cross_entropy_backward(d1, logits, lse1, targets, N, V, -100, 0.1f, 1.0f);
        zy_threads_set(2);
        CHECK(zy_cross_entropy_forward(&loss2, NULL, lse2, logits, targets, N, V, -100, 0.1f) ==
              ZY_STATUS_OK);
        zy_cross_entropy_backward(d2, logits, lse2, targets, N, V, -100, 0.1f, 1.0f);
        CHECK(loss1 == loss2 && !memcmp(lse1, lse2, sizeof lse1));
        CHECK(!memcmp(d1, d2, nv * sizeof *d1));
        char what[80];
        snprintf(what, sizeof what, "xent V=50257 loss [%s] vs double",
                 zy_simd_name(xlevels[l]));
        CHECK_CLOSE(what, &loss1, &want_loss, 1, 0, 1e-6);
        snprintf(what, sizeof what, "xent V=50257 lse [%s] vs double",
                 zy_simd_name(xlevels[l]));
        CHECK_CLOSE(what, lse1, want_lse, N, 0, 1e-6);
        snprintf(what, sizeof what, "xent V=50257 dlogits [%s] vs scalar",
                 zy_simd_name(xlevels[l]));
        CHECK_CLOSE(what, d1, dref, nv, 1e-12, 1e-5);
    }
    free(logits), free(d1), free(d2), free(dref);
}

// ---- MSE --------------------------------------------------------------------------------

TEST(losses_mse_matches_torch) {
    zt_ref *ref = zt_ref_load(REF_PATH);
    ASSERT(ref);
    size_t n = 0;
    const float *pred = zt_ref_f(ref, "mse_pred", &n),
                *target = zt_ref_f(ref, "mse_target", NULL);
    const float *dref = zt_ref_f(ref, "mse_dpred", NULL);
    float want = zt_ref_scalar(ref, "mse_loss");
    ASSERT(pred && target && dref && n == 101);
    float loss = zy_mse_forward(pred, target, n);
    CHECK_CLOSE("mse loss", &loss, &want, 1, 0, 1e-6);
    float d[101], want_d[101];
    for (size_t i = 0; i < n; i++) d[i] = 0.125f, want_d[i] = 0.125f + 0.5f * dref[i];
    zy_mse_backward(d, pred, target, n, 0.5f); // dloss 0.5, added onto 0.125
    CHECK_CLOSE("mse dpred (+= base, dloss 0.5)", d, want_d, n, 1e-8, 1e-6);
    CHECK(zy_mse_forward(pred, target, 0) == 0.0f); // n = 0 gives 0
    zt_ref_free(ref);
}

typedef struct {
    float *pred, *target;
    size_t n;
} mse_ctx;

static double mse_loss(void *p) {
    mse_ctx *c = p;
    return zy_mse_forward(c->pred, c->target, c->n);
}

TEST(losses_mse_gradcheck_and_threads) {
    // Quadratic loss: central differences are exact but for the float rounding of the
    // returned loss (~1e-7 / 2e-2); eps 1e-2, tol 1e-2. A missing factor 2 or 1/n fails.
    enum { N = 53 };
    float pred[N], target[N], d[N];
    zt_fill_uniform(pred, N, 120, -2, 2);
    zt_fill_uniform(target, N, 121, -2, 2);
    memset(d, 0, sizeof d);
    zy_mse_backward(d, pred, target, N, 1.0f);
    mse_ctx c = {pred, target, N};
    GRADCHECK("mse dpred", mse_loss, &c, pred, d, N, 1e-2, 1e-2);
    // Large n (threaded chunks): same bits at 1 and 2 threads, close to a double sum.
    size_t n = 300001;
    float *p = zt_floats(n), *t = zt_floats(n);
    zt_fill_uniform(p, n, 122, -1, 1);
    zt_fill_uniform(t, n, 123, -1, 1);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += ((double)p[i] - t[i]) * ((double)p[i] - t[i]);
    float want = (float)(s / n);
    int threads = zy_threads_get();
    zy_threads_set(1);
    float l1 = zy_mse_forward(p, t, n);
    zy_threads_set(2);
    float l2 = zy_mse_forward(p, t, n);
    zy_threads_set(threads);
    CHECK(l1 == l2);
    CHECK_CLOSE("mse n=300001 vs double", &l1, &want, 1, 0, 1e-6);
    free(p), free(t);
}
