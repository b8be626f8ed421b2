// Tests of src/infer/sample.c: greedy, top-k, top-p, temperature (by counting draws),
// determinism, parameter checks, no allocation per token, and the UTF-8 streaming helper.
// The expected values are computed here independently, in double.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/core.h"
#include "zhuyi/sample.h"

static void *scratch_for(int V) { return zt_malloc(zy_sample_scratch_size(V)); }

// Random logits in [-scale, scale) from a seed.
static float *random_logits(int V, uint64_t seed, float scale) {
    float *x = zt_floats((size_t)V);
    zt_fill_uniform(x, (size_t)V, seed, -scale, scale);
    return x;
}

// softmax(x / T) in double.
static void softmax_ref(double *p, const float *x, int V, double T) {
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < V; i++) mx = x[i] > mx ? x[i] : mx;
    for (int i = 0; i < V; i++) sum += p[i] = exp((x[i] - mx) / T);
    for (int i = 0; i < V; i++) p[i] /= sum;
}

// ids 0..V-1 sorted by p descending, ties to the lower id (insertion sort: V is small).
static void order_ref(int *ids, const double *p, int V) {
    for (int i = 0; i < V; i++) {
        int j = i;
        while (j > 0 && (p[ids[j - 1]] < p[i] || (p[ids[j - 1]] == p[i] && ids[j - 1] > i))) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = i;
    }
}

TEST(sample_greedy_is_argmax) {
    int V = 1000;
    void *scratch = scratch_for(V);
    zy_sample_params p = zy_sample_default_params();
    p.temperature = 0;
    p.top_k = 7, p.top_p = 0.3f; // ignored by greedy
    for (uint64_t seed = 1; seed <= 20; seed++) {
        float *x = random_logits(V, seed, 5);
        int want = 0;
        for (int i = 1; i < V; i++)
            if (x[i] > x[want]) want = i;
        zy_rng r, r0;
        zy_rng_seed(&r, seed), r0 = r;
        int got = -1;
        ASSERT(zy_sample(x, V, &p, &r, scratch, &got) == ZY_STATUS_OK);
        ASSERT_EQ_INT(got, want);
        CHECK(!memcmp(&r, &r0, sizeof r)); // greedy draws nothing
        free(x);
    }
    // Ties go to the lowest id; NaN is never chosen; all -inf is an error.
    float t[6] = {1, 3, NAN, 3, -2, 3};
    zy_rng r;
    zy_rng_seed(&r, 1);
    int got = -1;
    ASSERT(zy_sample(t, 6, &p, &r, scratch, &got) == ZY_STATUS_OK);
    ASSERT_EQ_INT(got, 1);
    // A subnormal temperature (1/T overflows) still picks the argmax.
    zy_sample_params tiny = zy_sample_default_params();
    tiny.temperature = 1e-45f;
    ASSERT(zy_sample(t, 6, &tiny, &r, scratch, &got) == ZY_STATUS_OK);
    ASSERT_EQ_INT(got, 1);
    float n[3] = {NAN, -INFINITY, NAN};
    CHECK(zy_sample(n, 3, &p, &r, scratch, &got) == ZY_STATUS_INVALID_ARGUMENT);
    p.temperature = 1;
    CHECK(zy_sample(n, 3, &p, &r, scratch, &got) == ZY_STATUS_INVALID_ARGUMENT);
    free(scratch);
}

TEST(sample_top_k_stays_in_top_k) {
    int V = 500, k = 10, draws = 20000;
    void *scratch = scratch_for(V);
    float *x = random_logits(V, 11, 2);
    // The k-th largest logit: any draw below it is outside the top k.
    float *s = zt_floats((size_t)V);
    memcpy(s, x, (size_t)V * sizeof *s);
    for (int i = 0; i < k; i++) // partial selection sort, descending
        for (int j = i + 1; j < V; j++)
            if (s[j] > s[i]) {
                float tmp = s[i];
                s[i] = s[j], s[j] = tmp;
            }
    float kth = s[k - 1];
    zy_sample_params p = zy_sample_default_params();
    p.top_k = k, p.temperature = 3.0f; // a flat distribution: outside picks would be common
    zy_rng r;
    zy_rng_seed(&r, 5);
    int *seen = zt_malloc((size_t)V * sizeof *seen), distinct = 0, outside = 0;
    memset(seen, 0, (size_t)V * sizeof *seen);
    for (int d = 0; d < draws; d++) {
        int tok;
        ASSERT(zy_sample(x, V, &p, &r, scratch, &tok) == ZY_STATUS_OK);
        ASSERT(tok >= 0 && tok < V);
        outside += x[tok] < kth;
        distinct += !seen[tok]++;
    }
    zt_note("top-%d over %d draws: %d outside, %d distinct tokens", k, draws, outside, distinct);
    CHECK(outside == 0);
    CHECK(distinct == k); // and every one of the k is reachable
    // The candidate list is exactly the top k, in order.
    const int *ids;
    const float *probs;
    int n;
    ASSERT(zy_sample_candidates(x, V, &p, scratch, &ids, &probs, &n) == ZY_STATUS_OK);
    ASSERT_EQ_INT(n, k);
    for (int i = 0; i < k; i++) CHECK(x[ids[i]] == s[i]);
    // top_k = 1 is greedy, whatever the temperature.
    zy_sample_params g = zy_sample_default_params(), one = g;
    g.temperature = 0, one.top_k = 1, one.temperature = 5;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        float *y = random_logits(V, 100 + seed, 1);
        int a, b;
        ASSERT(!zy_sample(y, V, &g, &r, scratch, &a) && !zy_sample(y, V, &one, &r, scratch, &b));
        CHECK(a == b);
        free(y);
    }
    free(seen), free(s), free(x), free(scratch);
}

// The nucleus: the smallest most-probable prefix whose mass reaches top_p.
TEST(sample_top_p_mass) {
    int V = 300;
    void *scratch = scratch_for(V);
    double *pr = zt_malloc((size_t)V * sizeof *pr);
    int *order = zt_malloc((size_t)V * sizeof *order);
    const float tops[] = {0.05f, 0.3f, 0.5f, 0.9f, 0.99f};
    const int topks[] = {0, 40, 300}; // 300 = V: top-k off
    double worst = 0;
    for (int kk = 0; kk < 3; kk++)
        for (uint64_t seed = 1; seed <= 4; seed++) {
            float *x = random_logits(V, 200 + seed, 4);
            zy_sample_params p = zy_sample_default_params();
            p.temperature = 0.8f, p.top_k = topks[kk];
            softmax_ref(pr, x, V, p.temperature);
            order_ref(order, pr, V);
            int K = p.top_k && p.top_k < V ? p.top_k : V;
            double kmass = 0;
            for (int i = 0; i < K; i++) kmass += pr[order[i]];
            for (size_t t = 0; t < sizeof tops / sizeof tops[0]; t++) {
                p.top_p = tops[t];
                const int *ids;
                const float *probs;
                int n;
                ASSERT(zy_sample_candidates(x, V, &p, scratch, &ids, &probs, &n) == 0);
                ASSERT(n >= 1 && n <= K);
                double mass = 0, sum = 0;
                for (int i = 0; i < n; i++) {
                    CHECK(ids[i] == order[i]); // the most probable, in order
                    mass += pr[order[i]] / kmass;
                    sum += probs[i];
                }
                double before_last = mass - pr[order[n - 1]] / kmass;
                // Mass property (1e-6: float vs double rounding of the running sum).
                CHECK(mass >= p.top_p - 1e-6);
                CHECK(before_last < p.top_p + 1e-6);
                CHECK(fabs(sum - 1) < 1e-5);
                double m2 = mass; // the renormalised probabilities themselves
                for (int i = 0; i < n; i++) {
                    double e = fabs(probs[i] - pr[order[i]] / kmass / m2);
                    worst = e > worst ? e : worst;
                    CHECK(e < 1e-6);
                }
                // Draws never leave the set.
                zy_rng r;
                zy_rng_seed(&r, seed);
                for (int d = 0; d < 2000; d++) {
                    int tok, in = 0;
                    ASSERT(zy_sample(x, V, &p, &r, scratch, &tok) == 0);
                    for (int i = 0; i < n && !in; i++) in = ids[i] == tok;
                    CHECK(in);
                    if (!in) break;
                }
            }
            free(x);
        }
    zt_note("worst |prob - reference| %.3g (tol 1e-6)", worst);
    // Uniform logits with a tiny top_p keep the single first-ranked token (id 0).
    float u[50] = {0};
    zy_sample_params p = zy_sample_default_params();
    p.top_p = 0.001f;
    const int *ids;
    const float *probs;
    int n;
    ASSERT(zy_sample_candidates(u, 50, &p, scratch, &ids, &probs, &n) == 0);
    CHECK(n == 1 && ids[0] == 0);
    free(order), free(pr), free(scratch);
}

// Pearson's chi-square of counts against probabilities over `draws` samples.
static double chi2(const long *count, const double *p, int V, long draws) {
    double s = 0;
    for (int i = 0; i < V; i++) {
        double e = p[i] * draws;
        s += (count[i] - e) * (count[i] - e) / e;
    }
    return s;
}

// Counting 200000 draws over V = 8 tokens; chi-square with 7 degrees of freedom is below
// 40.5 with probability 1 - 1e-6 when the distribution is right. The same counts against
// the distribution at a temperature 10% off must exceed it, so a wrong temperature (or a
// sampler ignoring it) fails.
TEST(sample_temperature_distribution) {
    enum { V = 8 };
    const long draws = 200000;
    const double limit = 40.5;
    float x[V] = {1.0f, 0.5f, -0.3f, 2.0f, 0.0f, -1.0f, 1.5f, 0.2f};
    void *scratch = scratch_for(V);
    const float temps[] = {0.5f, 1.0f, 2.0f};
    for (size_t t = 0; t < 3; t++) {
        for (int mode = 0; mode < 2; mode++) { // id-order path, and the sorted (top-k = V) path
            zy_sample_params p = zy_sample_default_params();
            p.temperature = temps[t];
            p.top_k = mode ? V - 1 : 0;
            double pr[V], wrong[V];
            softmax_ref(pr, x, V, temps[t]);
            softmax_ref(wrong, x, V, temps[t] * 1.1);
            if (mode) { // the least probable token (id 5) is cut; renormalise
                double s = 1 - pr[5], sw = 1 - wrong[5];
                for (int i = 0; i < V; i++) pr[i] /= s, wrong[i] /= sw;
                pr[5] = wrong[5] = 1; // not a category: its expected count is not used
            }
            long count[V] = {0};
            zy_rng r;
            zy_rng_seed(&r, 42 + t);
            for (long d = 0; d < draws; d++) {
                int tok;
                ASSERT(zy_sample(x, V, &p, &r, scratch, &tok) == 0);
                count[tok]++;
            }
            if (mode) {
                CHECK(count[5] == 0);
                count[5] = draws; // (count - e)^2 / e = 0 with e = draws
            }
            double c = chi2(count, pr, V, draws), cw = chi2(count, wrong, V, draws);
            zt_note("T=%.1f %s: chi2 %.2f (limit %.1f); against T*1.1: %.1f", temps[t],
                    mode ? "top-k 7" : "unfiltered", c, limit, cw);
            CHECK(c < limit);
            CHECK(cw > limit);
        }
    }
    free(scratch);
}

TEST(sample_deterministic_by_seed) {
    int V = 2000, n = 500;
    void *scratch = scratch_for(V);
    float *x = random_logits(V, 77, 3);
    zy_sample_params ps[3] = {zy_sample_default_params(), zy_sample_default_params(),
                              zy_sample_default_params()};
    ps[1].top_k = 50, ps[2].top_p = 0.8f;
    for (int k = 0; k < 3; k++) {
        int *a = zt_malloc((size_t)n * sizeof *a), *b = zt_malloc((size_t)n * sizeof *b);
        int *c = zt_malloc((size_t)n * sizeof *c);
        zy_rng ra, rb, rc;
        zy_rng_seed(&ra, 9), zy_rng_seed(&rb, 9), zy_rng_seed(&rc, 10);
        for (int i = 0; i < n; i++) {
            ASSERT(!zy_sample(x, V, &ps[k], &ra, scratch, &a[i]));
            ASSERT(!zy_sample(x, V, &ps[k], &rb, scratch, &b[i]));
            ASSERT(!zy_sample(x, V, &ps[k], &rc, scratch, &c[i]));
        }
        CHECK(!memcmp(a, b, (size_t)n * sizeof *a));
        CHECK(memcmp(a, c, (size_t)n * sizeof *a) != 0);
        free(a), free(b), free(c);
    }
    free(x), free(scratch);
}

TEST(sample_rejects_bad_params) {
    float x[4] = {0, 1, 2, 3};
    void *scratch = scratch_for(4);
    zy_rng r;
    zy_rng_seed(&r, 1);
    int tok;
    zy_sample_params bad[5];
    for (int i = 0; i < 5; i++) bad[i] = zy_sample_default_params();
    bad[0].temperature = -1, bad[1].temperature = NAN, bad[2].top_k = -1;
    bad[3].top_p = 0, bad[4].top_p = 1.5f;
    for (int i = 0; i < 5; i++) {
        CHECK(zy_sample(x, 4, &bad[i], &r, scratch, &tok) == ZY_STATUS_INVALID_ARGUMENT);
        CHECK(strstr(zy_last_error(), i < 2 ? "temperature" : i == 2 ? "top_k" : "top_p"));
    }
    zy_sample_params p = zy_sample_default_params();
    CHECK(zy_sample(x, 0, &p, &r, scratch, &tok) == ZY_STATUS_INVALID_ARGUMENT);
    free(scratch);
}

static long n_allocs;
static void *count_alloc(size_t size, size_t align, void *user) {
    (void)user;
    n_allocs++;
    return aligned_alloc(align, (size + align - 1) / align * align);
}
static void count_free(void *q, void *user) {
    (void)user;
    free(q);
}

TEST(sample_no_allocation) {
    int V = 5000;
    void *scratch = scratch_for(V);
    float *x = random_logits(V, 3, 2);
    zy_allocator a = {count_alloc, count_free, NULL};
    zy_allocator_set(&a);
    n_allocs = 0;
    zy_rng r;
    zy_rng_seed(&r, 1);
    zy_sample_params p = zy_sample_default_params();
    for (int i = 0; i < 40; i++) {
        p.top_k = i % 3 == 0 ? 0 : 20, p.top_p = i % 2 ? 0.9f : 1.0f;
        p.temperature = i % 5 == 0 ? 0 : 0.7f;
        int tok;
        CHECK(zy_sample(x, V, &p, &r, scratch, &tok) == 0);
    }
    zy_allocator_set(NULL);
    CHECK(n_allocs == 0);
    free(x), free(scratch);
}

TEST(sample_utf8_complete_len) {
    struct {
        const char *s;
        size_t keep; // bytes that may be printed now
    } cases[] = {
        {"abc", 3},
        {"a\xe4\xb8", 1},            // 3-byte sequence missing its last byte: hold 2
        {"a\xe4", 1},                // lead byte alone: hold it
        {"a\xe4\xb8\xad", 4},        // complete CJK character
        {"\xf0\x9f\x98", 0},         // emoji missing a byte
        {"\xf0\x9f\x98\x80", 4},     // complete emoji
        {"x\xc3", 1},                // 2-byte lead
        {"x\xc3\xa9", 3},
        {"x\x80", 2},                // stray continuation byte: never completes, print
        {"x\xc0", 2},                // C0/C1 can never start a sequence
        {"x\xff", 2},
        {"x\xe0\x80", 3},            // overlong E0 80: hopeless, print
        {"x\xed\xa0", 3},            // surrogate ED A0: hopeless
        {"x\xf4\x90", 3},            // past U+10FFFF
        {"x\xf0\x90\x80", 1},        // valid 4-byte prefix
        {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = zy_utf8_complete_len(cases[i].s, strlen(cases[i].s));
        if (got != cases[i].keep) zt_fail(__FILE__, __LINE__, "case %zu: %zu, want %zu", i,
                                          got, cases[i].keep);
    }
}
