// Tests of softmax (with masks) and dropout (src/nn/softmax.c, softmax_avx512.c,
// dropout.c) and of the library's vectorised exp (src/kernels/exp*.h); cross-entropy
// and MSE are in test_losses_xent.c. Every test name starts with "losses_". Evidence:
// PyTorch references (tests/ref/losses.zyr, written by tests/ref_losses.py),
// finite-difference gradient checks, SIMD against scalar at each zy_simd level,
// bit-identical results at 1 and 2 threads, and the edge cases nn.h promises.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/argmax.h"
#include "kernels/exp.h"
#include "nn/dropout.h"
#include "zhuyi/nn.h"

#define REF_PATH "tests/ref/losses.zyr"

static const zy_simd levels[] = {ZY_SIMD_SCALAR, ZY_SIMD_AVX2, ZY_SIMD_AVX512};
#define NLEVELS 3

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

// ---- vectorised exp ---------------------------------------------------------------------

// Distance in units in the last place of `want` (a normal float).
static double ulps(float got, float want) {
    float up = nextafterf(want, INFINITY);
    return fabs((double)got - want) / ((double)up - want);
}

// Bounds one vectorised exp against libm expf: 2^20 points over the whole range where
// expf is finite and nonzero (plus past both ends) and the special values. Tolerance: 2 ulp
// for normal results, 2 units of 2^-149 for subnormal ones, exact inf / 0 / NaN / e^0.
static void check_vexp(const char *name, void (*vexp)(float *, const float *, size_t)) {
    size_t n = (1u << 20) + 9;
    float *x = zt_floats(n), *y = zt_floats(n);
    for (size_t i = 0; i < n - 9; i++) x[i] = -104.0f + 193.0f * (float)i / (float)(n - 9);
    const float special[9] = {-INFINITY, INFINITY, NAN,    0.0f, -0.0f,
                              -200.0f,   100.0f,   1e-30f, 88.7f};
    memcpy(x + n - 9, special, sizeof special);
    vexp(y, x, n);
    double worst_ulp = 0, worst_sub = 0;
    float worst_x = 0;
    for (size_t i = 0; i < n; i++) {
        float want = expf(x[i]);
        if (isnan(want)) {
            CHECK(isnan(y[i]));
            continue;
        }
        if (isinf(want) || want == 0.0f) {
            // Past the ends: exactly inf or at most the smallest subnormal.
            if (isinf(want))
                CHECK(y[i] == want);
            else
                CHECK(y[i] <= 0x1.0p-149f);
            continue;
        }
        if (want < 0x1.0p-126f) { // subnormal: judge in units of 2^-149
            double d = fabs((double)y[i] - want) / 0x1.0p-149;
            if (d > worst_sub) worst_sub = d;
            continue;
        }
        double u = ulps(y[i], want);
        if (u > worst_ulp) {
            worst_ulp = u;
            worst_x = x[i];
        }
    }
    zt_note("%s vs libm expf: worst %.2f ulp (at x=%.7g), subnormal worst %.2f x 2^-149 "
            "[tol 2 ulp, 2 x 2^-149]",
            name, worst_ulp, (double)worst_x, worst_sub);
    CHECK(worst_ulp <= 2.0);
    CHECK(worst_sub <= 2.0);
    CHECK(y[n - 6] == 1.0f && y[n - 5] == 1.0f); // e^0 and e^-0 are exactly 1
    free(x);
    free(y);
}

TEST(losses_expf_simd_ulp) {
    unsigned f = zy_cpu_features();
    if (f & ZY_CPU_AVX512F)
        check_vexp("expf_avx512", zy__expf_avx512);
    else
        zt_note("no AVX-512 on this CPU: expf_avx512 skipped");
    if (f & ZY_CPU_AVX2)
        check_vexp("expf_avx2", zy__expf_avx2);
    else
        zt_note("no AVX2 on this CPU: expf_avx2 skipped");
}

// ---- argmax -----------------------------------------------------------------------------

// The loop zy__argmax stands for: the first maximum, NaN never taken over x[0].
static int argmax_loop(const float *x, int n) {
    int best = 0;
    for (int v = 1; v < n; v++)
        if (x[v] > x[best]) best = v;
    return best;
}

TEST(losses_argmax_as_the_loop) {
    enum { MAXN = 100 };
    float x[MAXN];
    const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1.0f, 1.0f, -1.0f};
    zy_rng r;
    zy_rng_seed(&r, 7);
    int cases = 0, ok = 0;
    for (int t = 0; t < 4000; t++) {
        int n = 1 + (int)zy_rng_below(&r, MAXN);
        int distinct = 1 + (int)zy_rng_below(&r, 6); // few values: many ties
        for (int v = 0; v < n; v++) x[v] = (float)zy_rng_below(&r, (uint32_t)distinct);
        int specials = (int)zy_rng_below(&r, 4); // NaN (also at 0), ±inf, ±0 dropped in
        for (int k = 0; k < specials; k++)
            x[zy_rng_below(&r, (uint32_t)n)] = special[zy_rng_below(&r, 8)];
        cases++;
        ok += zy__argmax(x, n) == argmax_loop(x, n);
    }
    zt_note("argmax as the loop: %d of %d rows", ok, cases);
    CHECK(ok == cases);
    int targets[3] = {2, -1, 0};
    const float rows[3 * 4] = {0, 1, 5, 5, 9, 0, 0, 0, 3, 3, 1, 2};
    CHECK(zy__argmax_hits(rows, targets, 3, 4) == 2); // row 1 unscored
}

// ---- softmax ----------------------------------------------------------------------------

TEST(losses_softmax_matches_torch) {
    zt_ref *ref = zt_ref_load(REF_PATH);
    ASSERT(ref);
    const int R = 5, N = 37, MR = 2;
    const float *inp = zt_ref_f(ref, "sm_inp", NULL), *mask = zt_ref_f(ref, "sm_mask", NULL);
    const float *dout = zt_ref_f(ref, "sm_dout", NULL), *want = zt_ref_f(ref, "sm_out", NULL);
    const float *want_d = zt_ref_f(ref, "sm_dinp", NULL);
    ASSERT(inp && mask && dout && want && want_d);
    float *out = zt_floats(R * N), *dinp = zt_floats(R * N), *want_acc = zt_floats(R * N);
    float base[5 * 37];
    zt_fill_uniform(base, R * N, 5, -1, 1);
    for (int i = 0; i < R * N; i++) want_acc[i] = base[i] + want_d[i];
    for (int l = 0; l < NLEVELS; l++) {
        if (!zt_use_simd(levels[l])) continue;
        char what[64];
        zy_softmax_forward(out, inp, mask, MR, R, N);
        snprintf(what, sizeof what, "softmax out [%s]", zy_simd_name(levels[l]));
        CHECK_CLOSE(what, out, want, R * N, 1e-7, 2e-6);
        // Backward adds onto whatever dinp holds.
        memcpy(dinp, base, sizeof base);
        zy_softmax_backward(dinp, dout, out, R, N);
        snprintf(what, sizeof what, "softmax dinp (+= base) [%s]", zy_simd_name(levels[l]));
        CHECK_CLOSE(what, dinp, want_acc, R * N, 1e-6, 1e-5);
    }
    free(out);
    free(dinp);
    free(want_acc);
    zt_ref_free(ref);
}

typedef struct {
    float *inp, *out, *w;
    const float *mask;
    int mask_rows, R, N;
} softmax_ctx;

static double softmax_loss(void *p) {
    softmax_ctx *c = p;
    zy_softmax_forward(c->out, c->inp, c->mask, c->mask_rows, c->R, c->N);
    return zt_dot(c->out, c->w, (size_t)c->R * c->N);
}

// Loss Σ w·softmax(x + mask): eps 1e-2 and tol 1e-2 leave the float rounding of the loss
// (~1e-6 / 2e-2) and the O(eps²) truncation two orders below tol, while a wrong or missing
// term of out * (dout - Σ dout·out) is an O(1) relative error.
static void softmax_gradcheck(const char *name, const float *mask, int mask_rows) {
    enum { R = 6, N = 23 };
    float inp[R * N], out[R * N], w[R * N], dinp[R * N];
    zt_fill_uniform(inp, R * N, 11, -3, 3);
    zt_fill_uniform(w, R * N, 12, -1, 1);
    softmax_ctx c = {inp, out, w, mask, mask_rows, R, N};
    for (int l = 0; l < NLEVELS; l++) { // every forward path
        if (!zt_use_simd(levels[l])) continue;
        softmax_loss(&c);
        memset(dinp, 0, sizeof dinp);
        zy_softmax_backward(dinp, w, out, R, N);
        char what[80];
        snprintf(what, sizeof what, "%s [%s]", name, zy_simd_name(levels[l]));
        GRADCHECK(what, softmax_loss, &c, inp, dinp, R * N, 1e-2, 1e-2);
        if (mask) // rows whose mask excludes everything: zero output and zero gradient
            for (int r = 0; r < R; r++) {
                int all = 1;
                for (int j = 0; j < N; j++) all &= mask[(r % mask_rows) * N + j] == -INFINITY;
                for (int j = 0; all && j < N; j++)
                    CHECK(out[r * N + j] == 0 && dinp[r * N + j] == 0);
            }
    }
}

TEST(losses_softmax_gradcheck) {
    enum { N = 23 };
    softmax_gradcheck("softmax dinp, no mask", NULL, 1);
    // Mask rows: partial -inf, finite biases only, everything excluded (rows 2 and 5).
    float mask[3 * N];
    for (int j = 0; j < N; j++) {
        mask[j] = j % 4 == 1 ? -INFINITY : 0.0f;
        mask[N + j] = 0.5f * (float)(j % 3) - 0.5f;
        mask[2 * N + j] = -INFINITY;
    }
    softmax_gradcheck("softmax dinp, masked", mask, 3);
}

TEST(losses_softmax_edge_cases) {
    const int sizes[] = {1, 15, 16, 17, 33, 100};
    float x[4 * 100], out[4 * 100], dout[4 * 100], dinp[4 * 100];
    for (int l = 0; l < NLEVELS; l++) {
        if (!zt_use_simd(levels[l])) continue;
        // Rows sum to 1 at every tail length: |Σ - 1| <= 2e-6 (N roundings of ~6e-8).
        double worst = 0;
        for (int s = 0; s < 6; s++) {
            int N = sizes[s];
            zt_fill_uniform(x, 4 * N, 20 + s, -8, 8);
            zy_softmax_forward(out, x, NULL, 1, 4, N);
            CHECK(all_finite(out, 4 * N));
            for (int r = 0; r < 4; r++) {
                double sum = 0;
                for (int j = 0; j < N; j++) sum += out[r * N + j];
                if (fabs(sum - 1) > worst) worst = fabs(sum - 1);
            }
        }
        zt_note("softmax rows sum to 1 [%s]: worst |sum - 1| %.3g [tol 2e-6]",
                zy_simd_name(levels[l]), worst);
        CHECK(worst <= 2e-6);

        // Logits of ±1e4 do not overflow: compare with softmax computed in double.
        const int N = 19;
        float big[19], want[19];
        for (int j = 0; j < N; j++) big[j] = (j % 2 ? -1e4f : 1e4f) - (float)j;
        double mx = 1e4, sum = 0;
        for (int j = 0; j < N; j++) sum += exp(big[j] - mx);
        for (int j = 0; j < N; j++) want[j] = (float)(exp(big[j] - mx) / sum);
        zy_softmax_forward(out, big, NULL, 1, 1, N);
        CHECK_CLOSE("softmax of +-1e4 logits", out, want, N, 1e-7, 2e-6);

        // A fully masked row (by the mask, or by -inf inputs) is zeros with zero gradient.
        enum { FN = 21 };
        float mask[2 * FN];
        zt_fill_uniform(x, 2 * FN, 30, -2, 2);
        for (int j = 0; j < FN; j++) {
            mask[j] = -INFINITY;
            mask[FN + j] = j == 3 ? 0.0f : -INFINITY; // one position left: probability 1
        }
        zy_softmax_forward(out, x, mask, 2, 2, FN);
        zt_fill_uniform(dout, 2 * FN, 31, -1, 1);
        for (int j = 0; j < 2 * FN; j++) dinp[j] = 0.5f;
        zy_softmax_backward(dinp, dout, out, 2, FN);
        for (int j = 0; j < FN; j++) CHECK(out[j] == 0.0f && dinp[j] == 0.5f);
        for (int j = 0; j < FN; j++) CHECK(out[FN + j] == (j == 3 ? 1.0f : 0.0f));
        for (int j = 0; j < FN; j++) x[j] = -INFINITY;
        zy_softmax_forward(out, x, NULL, 1, 1, FN);
        for (int j = 0; j < FN; j++) CHECK(out[j] == 0.0f);
    }
}

TEST(losses_softmax_simd_matches_scalar_and_threads) {
    enum { R = 64, N = 301 }; // R*N above the threading threshold, N with a tail
    float *x = zt_floats(R * N), *mask = zt_floats(R * N);
    float *ref = zt_floats(R * N), *got = zt_floats(R * N), *got2 = zt_floats(R * N);
    zt_fill_uniform(x, R * N, 40, -10, 10);
    zt_fill_uniform(mask, R * N, 41, -3, 1);
    for (int i = 0; i < R * N; i++)
        if (mask[i] < -2) mask[i] = -INFINITY;
    zy_simd_set(ZY_SIMD_SCALAR);
    zy_softmax_forward(ref, x, mask, R, R, N);
    for (int l = 1; l < NLEVELS; l++) {
        if (!zt_use_simd(levels[l])) continue;
        zy_threads_set(1);
        zy_softmax_forward(got, x, mask, R, R, N);
        zy_threads_set(2);
        zy_softmax_forward(got2, x, mask, R, R, N);
        char what[64];
        snprintf(what, sizeof what, "softmax %s vs scalar", zy_simd_name(levels[l]));
        CHECK_CLOSE(what, got, ref, R * N, 1e-8, 2e-6);
        CHECK(!memcmp(got, got2, (size_t)R * N * sizeof *got)); // 1 vs 2 threads: same bits
    }
    free(x), free(mask), free(ref), free(got), free(got2);
}

// ---- dropout ----------------------------------------------------------------------------

// The mask as nn.h defines it, computed here without zy_dropout_keep.
static int keep_expected(float p, uint64_t seed, uint64_t index) {
    return (float)(zy_hash64(seed, index) >> 40) * 0x1.0p-24f >= p;
}

TEST(losses_dropout_matches_mask) {
    enum { N = 1003 };
    const float p = 0.3f;
    const uint64_t seed = 42, offset = 17;
    float *inp = zt_floats(N), *out = zt_floats(N), *want = zt_floats(N);
    float *dout = zt_floats(N), *dinp = zt_floats(N), *want_d = zt_floats(N);
    zt_fill_uniform(inp, N, 50, -2, 2);
    zt_fill_uniform(dout, N, 51, -1, 1);
    int mismatches = 0;
    for (int i = 0; i < N; i++) {
        int k = keep_expected(p, seed, offset + i);
        mismatches += k != zy_dropout_keep(p, seed, offset + i);
        want[i] = k ? inp[i] / (1 - p) : 0.0f;
        dinp[i] = 0.25f;
        want_d[i] = 0.25f + (k ? dout[i] / (1 - p) : 0.0f);
    }
    CHECK(mismatches == 0);
    // inp * (1/(1-p)) and inp / (1-p) may differ by an ulp (rtol 2e-7); adding onto the
    // 0.25 base rounds once more at the scale of the sum (atol 3e-7, ~2 ulp of 1.7).
    zy_dropout_forward(out, inp, N, p, seed, offset);
    CHECK_CLOSE("dropout out = inp*keep/(1-p)", out, want, N, 0, 2e-7);
    zy_dropout_backward(dinp, dout, N, p, seed, offset);
    CHECK_CLOSE("dropout dinp += dout*keep/(1-p)", dinp, want_d, N, 3e-7, 2e-7);
    // In place (out aliases inp) gives the same values.
    zy_dropout_forward(inp, inp, N, p, seed, offset);
    CHECK(!memcmp(inp, out, N * sizeof *out));
    free(inp), free(out), free(want), free(dout), free(dinp), free(want_d);
}

// The AVX2 and AVX-512 masks (8 and 16 hashes at a time, 64-bit products from 32-bit ones)
// are the scalar ones bit for bit: forward (also in place) and backward onto a base holding -0.0
// and NaN, ragged lengths, parallel chunks, counters whose low halves wrap (the products'
// carries) and that wrap 2^64, seeds with high bits, p from 0.05 to 0.95.
static void check_dropout(zy_simd level, zy__dropout_fn forward) {
    enum { N = 70001 };
    float *x = zt_floats(N), *a = zt_floats(N), *b = zt_floats(N);
    zt_fill_uniform(x, N, 80, -2, 2);
    x[5] = NAN, x[6] = -0.0f, x[7] = INFINITY;
    const uint64_t offsets[] = {0, 17, 0xFFFFFFF0ull, 0x7FFFFFFFFFFFull + 3,
                                0xFFFFFFFFFFFFFFF9ull};
    const uint64_t seeds[] = {1, 0x9E3779B97F4A7C15ull, 0xFFFFFFFF00000000ull};
    const float ps[] = {0.05f, 0.3f, 0.95f};
    const size_t ns[] = {1, 15, 16, 33, 1003, N};
    int bad = 0;
    for (int io = 0; io < 5; io++)
        for (int is = 0; is < 3; is++)
            for (int ip = 0; ip < 3; ip++)
                for (int in = 0; in < 6; in++) {
                    size_t n = ns[in];
                    uint64_t off = offsets[io], seed = seeds[is];
                    float p = ps[ip];
                    zy_simd_set(ZY_SIMD_SCALAR);
                    zy_dropout_forward(a, x, n, p, seed, off);
                    zy_simd_set(level);
                    zy_dropout_forward(b, x, n, p, seed, off);
                    bad += memcmp(a, b, n * sizeof *a) != 0;
                    memcpy(b, x, n * sizeof *b); // in place
                    zy_dropout_forward(b, b, n, p, seed, off);
                    bad += memcmp(a, b, n * sizeof *a) != 0;
                    for (size_t i = 0; i < n; i++) a[i] = b[i] = i % 3 ? 0.5f : -0.0f;
                    a[n / 2] = b[n / 2] = NAN;
                    zy_simd_set(ZY_SIMD_SCALAR);
                    zy_dropout_backward(a, x, n, p, seed, off);
                    zy_simd_set(level);
                    zy_dropout_backward(b, x, n, p, seed, off);
                    bad += memcmp(a, b, n * sizeof *a) != 0;
                }
    CHECK(bad == 0);
    // the chunk kernels themselves, against the mask's definition
    forward(b, x, 1003, 0.3f, 2.0f, 99, 0xFFFFFFFFull);
    int wrong = 0;
    for (int i = 0; i < 1003; i++) {
        bool k = (float)(zy_hash64(99, 0xFFFFFFFFull + (uint64_t)i) >> 40) * 0x1.0p-24f >= 0.3f;
        float want = k ? x[i] * 2.0f : 0.0f;
        wrong += memcmp(&want, &b[i], sizeof want) != 0;
    }
    CHECK(wrong == 0);
    free(x), free(a), free(b);
}

TEST(losses_dropout_simd_matches_scalar) { // with scalar alone: skipped
    if (zt_use_simd(ZY_SIMD_AVX2)) check_dropout(ZY_SIMD_AVX2, zy__dropout_forward_avx2);
    if (zt_use_simd(ZY_SIMD_AVX512)) check_dropout(ZY_SIMD_AVX512, zy__dropout_forward_avx512);
}

typedef struct {
    float *inp, *out, *w;
    size_t n;
    float p;
} dropout_ctx;

static double dropout_loss(void *v) {
    dropout_ctx *c = v;
    zy_dropout_forward(c->out, c->inp, c->n, c->p, 7, 0);
    return zt_dot(c->out, c->w, c->n);
}

TEST(losses_dropout_gradcheck) {
    // The op is linear, so central differences are exact up to float rounding of
    // (x ± eps) * scale: tol 1e-3 at eps 1e-2. A gradient that ignores the mask or the
    // 1/(1-p) scale is off by 100% or 43% and fails.
    enum { N = 97 };
    float inp[N], out[N], w[N], dinp[N];
    zt_fill_uniform(inp, N, 60, -2, 2);
    zt_fill_uniform(w, N, 61, -1, 1);
    dropout_ctx c = {inp, out, w, N, 0.3f};
    memset(dinp, 0, sizeof dinp);
    zy_dropout_backward(dinp, w, N, c.p, 7, 0);
    GRADCHECK("dropout dinp (p=0.3, seed 7)", dropout_loss, &c, inp, dinp, N, 1e-2, 1e-3);
}

TEST(losses_dropout_statistics) {
    const size_t n = 100000;
    float *x = zt_floats(n), *a = zt_floats(n), *b = zt_floats(n), *d = zt_floats(n);
    zt_fill_uniform(x, n, 70, 0.5f, 1.5f); // nonzero, so zero outputs are exactly drops
    int threads = zy_threads_get();
    const float ps[2] = {0.1f, 0.5f};
    for (int k = 0; k < 2; k++) {
        float p = ps[k];
        zy_threads_set(1);
        zy_dropout_forward(a, x, n, p, 123, 0);
        zy_threads_set(2);
        zy_dropout_forward(b, x, n, p, 123, 0);
        CHECK(!memcmp(a, b, n * sizeof *a)); // same mask at 1 and 2 threads
        size_t dropped = 0;
        for (size_t i = 0; i < n; i++) dropped += a[i] == 0.0f;
        double frac = (double)dropped / n, sigma = sqrt(p * (1 - p) / n);
        zt_note("dropout p=%.1f: dropped fraction %.5f (|diff| %.2g, tol 5 sigma = %.2g)",
                (double)p, frac, fabs(frac - p), 5 * sigma);
        CHECK(fabs(frac - p) <= 5 * sigma);
        // Another seed gives a different mask: disagreement ≈ 2p(1-p), within 5 sigma.
        zy_dropout_forward(b, x, n, p, 124, 0);
        size_t differ = 0;
        for (size_t i = 0; i < n; i++) differ += (a[i] == 0.0f) != (b[i] == 0.0f);
        double q = 2 * p * (1 - p), fd = (double)differ / n;
        zt_note("dropout p=%.1f: seeds 123/124 disagree on %.5f (expected %.3f)", (double)p, fd,
                q);
        CHECK(fabs(fd - q) <= 5 * sqrt(q * (1 - q) / n));
        // Splitting the tensor into calls with offsets reproduces the whole-tensor mask.
        zy_dropout_forward(b + n / 2, x + n / 2, n - n / 2, p, 123, n / 2);
        CHECK(!memcmp(a + n / 2, b + n / 2, (n - n / 2) * sizeof *a));
        // Backward at 2 threads recomputes the same mask.
        memset(d, 0, n * sizeof *d);
        zy_dropout_backward(d, x, n, p, 123, 0);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) bad += (d[i] == 0.0f) != (a[i] == 0.0f);
        CHECK(bad == 0);
    }
    zy_threads_set(threads);
    // p = 0 copies bit-exactly and passes gradients through; p = 1 gives zeros, also for
    // inf inputs (no inp * 0 * 1/0), and adds no gradient.
    x[5] = INFINITY;
    zy_dropout_forward(a, x, n, 0.0f, 9, 0);
    CHECK(!memcmp(a, x, n * sizeof *a));
    for (size_t i = 0; i < n; i++) d[i] = 1.0f;
    zy_dropout_backward(d, x, 10, 0.0f, 9, 0);
    CHECK(d[0] == 1.0f + x[0] && d[9] == 1.0f + x[9]);
    zy_dropout_forward(a, x, n, 1.0f, 9, 0);
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++) nonzero += a[i] != 0.0f || isnan(a[i]);
    CHECK(nonzero == 0);
    for (size_t i = 0; i < n; i++) d[i] = 1.0f;
    zy_dropout_backward(d, x, n, 1.0f, 9, 0);
    for (size_t i = 0; i < n; i++) nonzero += d[i] != 1.0f;
    CHECK(nonzero == 0);
    free(x), free(a), free(b), free(d);
}
