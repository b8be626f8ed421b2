// Tests of the GPT model (src/models/gpt*.c) that need no files: the parameter layout and
// groups, a finite-difference gradient check of the whole model with dropout on, KV-cache
// decoding against the full forward, and bad input. PyTorch references: test_gpt_ref.c;
// model directories: test_gpt_io.c.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/gpt.h"

// A tiny model with every parameter randomised (layernorm gains around 1, biases
// nonzero) so no gradient is trivially zero or one.
static zy_gpt *tiny_model(int L, int H, int C, int P, int V, float dropout, uint64_t seed) {
    zy_gpt_config c = {.n_layer = L, .n_head = H, .n_embd = C, .n_positions = P,
                       .vocab_size = V, .layer_norm_epsilon = 1e-5f, .dropout = dropout};
    zy_gpt *m = NULL;
    if (zy_gpt_create(&m, &c) != ZY_STATUS_OK) return NULL;
    zy_gpt_init_weights(m, seed);
    size_t n;
    float *p = zy_gpt_params(m, &n);
    float *noise = zt_floats(n);
    zt_fill_uniform(noise, n, seed + 1, -0.3f, 0.3f);
    for (size_t i = 0; i < n; i++) p[i] += noise[i];
    free(noise);
    return m;
}

TEST(gpt_presets_and_layout) {
    zy_gpt_config c;
    ASSERT(zy_gpt_config_preset("gpt2-124m", &c) == ZY_STATUS_OK);
    CHECK(c.n_layer == 12 && c.n_head == 12 && c.n_embd == 768 && c.n_positions == 1024 &&
          c.vocab_size == 50257);
    ASSERT(zy_gpt_config_preset("gpt-nano", &c) == ZY_STATUS_OK);
    CHECK(c.vocab_size == 0 && zy_gpt_config_validate(&c) != ZY_STATUS_OK);
    CHECK(strstr(zy_last_error(), "vocab_size") != NULL);
    CHECK(zy_gpt_config_preset("gpt5", &c) == ZY_STATUS_NOT_FOUND);
    c.vocab_size = 50257;
    c.n_head = 5; // 48 % 5 != 0
    CHECK(zy_gpt_config_validate(&c) == ZY_STATUS_INVALID_ARGUMENT);

    // gpt2-124m has 124,439,808 parameters (HF's count, tied head counted once).
    ASSERT(zy_gpt_config_preset("gpt2-124m", &c) == ZY_STATUS_OK);
    double flops = zy_gpt_train_flops(&c, 4, 64);
    zt_note("gpt2-124m step B=4 T=64: %.1f GFLOP", flops / 1e9);
    CHECK(flops > 180e9 && flops < 200e9);

    zy_gpt *m = tiny_model(2, 2, 8, 6, 11, 0.0f, 1);
    ASSERT(m != NULL);
    size_t n;
    zy_gpt_params(m, &n);
    ASSERT_EQ_INT(zy_gpt_tensor_count(m), 4 + 12 * 2);
    size_t off = 0, decayed = 0;
    for (int i = 0; i < zy_gpt_tensor_count(m); i++) {
        const zy_gpt_tensor *t = zy_gpt_tensor_at(m, i);
        CHECK(t->offset == off);
        off += t->count;
        if (t->decay) decayed += t->count;
    }
    CHECK(off == n);
    const zy_gpt_tensor *t = zy_gpt_tensor_at(m, 4); // h.0.attn.c_attn.weight, HF (C, 3C)
    CHECK(!strcmp(t->name, "transformer.h.0.attn.c_attn.weight"));
    CHECK(t->shape[0] == 8 && t->shape[1] == 24 && t->transposed && t->decay);
    CHECK(!strcmp(zy_gpt_tensor_at(m, 0)->name, "transformer.wte.weight"));
    CHECK(!strcmp(zy_gpt_tensor_at(m, 27)->name, "transformer.ln_f.bias"));
    CHECK(decayed == 2 * (size_t)(12 * 8 * 8));

    zy_param_group g[64];
    int ng = zy_gpt_param_groups(m, 0.1f, g, 64);
    size_t covered = 0, dec = 0;
    for (int i = 0; i < ng; i++) {
        CHECK(g[i].offset == covered);
        covered += g[i].count;
        if (g[i].weight_decay == 0.1f) dec += g[i].count;
    }
    CHECK(covered == n && dec == decayed);
    zy_gpt_free(m);
}

typedef struct fd_ctx {
    zy_gpt *m;
    const int *x, *y;
    int B, T;
    uint64_t seed;
} fd_ctx;

// The model's mean cross-entropy, recomputed in double from its float logits: the
// float loss zy_gpt_forward returns would add ~1e-5 of rounding noise to each central
// difference, as large as the smallest gradients here.
static double fd_loss(void *p) {
    fd_ctx *c = p;
    zy_gpt_set_dropout(c->m, true, c->seed); // the same masks in every pass
    if (zy_gpt_forward(c->m, c->x, c->y, c->B, c->T, NULL) != ZY_STATUS_OK) return NAN;
    const float *logits = zy_gpt_logits(c->m);
    int V = zy_gpt_get_config(c->m)->vocab_size, count = 0;
    double sum = 0;
    for (int r = 0; r < c->B * c->T; r++) {
        if (c->y[r] < 0) continue;
        const float *x = logits + (size_t)r * V;
        double mx = x[0], se = 0;
        for (int v = 1; v < V; v++) mx = fmax(mx, x[v]);
        for (int v = 0; v < V; v++) se += exp(x[v] - mx);
        sum += mx + log(se) - x[c->y[r]];
        count++;
    }
    return sum / count;
}

// Whole-model gradient check, L=2 H=2 C=8 T=5 V=11 B=2, dropout 0.1 everywhere (the
// masks depend only on the seed, so the central differences see the same network).
// eps 1e-2 on O(1) weights with the loss recomputed in double (fd_loss); tol 2e-2 relative (floor 1% of the tensor's largest gradient) fails on any real
// mistake (a dropped term or wrong index gives O(1) relative errors).
TEST(gpt_gradcheck_whole_model) {
    int B = 2, T = 5, V = 11;
    zy_gpt *m = tiny_model(2, 2, 8, 6, V, 0.1f, 7);
    ASSERT(m != NULL);
    ASSERT(zy_gpt_prepare(m, B, T) == ZY_STATUS_OK);
    int x[10] = {1, 5, 3, 10, 0, 7, 7, 2, 9, 4};
    int y[10] = {5, 3, 10, 0, -1, 7, 2, 9, 4, 6}; // one ignored target
    fd_ctx ctx = {m, x, y, B, T, 42};
    zy_gpt_zero_grads(m);
    float l0;
    zy_gpt_set_dropout(m, true, ctx.seed);
    ASSERT(zy_gpt_forward(m, x, y, B, T, &l0) == ZY_STATUS_OK);
    ASSERT_NEAR(l0, fd_loss(&ctx), 1e-6); // the double recomputation is the same loss
    zy_gpt_set_dropout(m, true, ctx.seed);
    ASSERT(zy_gpt_forward(m, x, y, B, T, &l0) == ZY_STATUS_OK);
    ASSERT(zy_gpt_backward(m, 1.0f) == ZY_STATUS_OK);
    // A second backward of the same forward is refused (dlogits replaced the logits).
    CHECK(zy_gpt_backward(m, 1.0f) == ZY_STATUS_INVALID_ARGUMENT);
    size_t n;
    float *p = zy_gpt_params(m, &n), *g = zy_gpt_grads(m, NULL);
    for (int i = 0; i < zy_gpt_tensor_count(m); i++) {
        const zy_gpt_tensor *t = zy_gpt_tensor_at(m, i);
        GRADCHECK(t->name, fd_loss, &ctx, p + t->offset, g + t->offset, t->count, 1e-2, 2e-2);
    }
    // loss_scale scales the gradients.
    float *g1 = zt_floats(n);
    memcpy(g1, g, n * sizeof *g);
    zy_gpt_zero_grads(m);
    zy_gpt_set_dropout(m, true, ctx.seed);
    ASSERT(zy_gpt_forward(m, x, y, B, T, &l0) == ZY_STATUS_OK);
    ASSERT(zy_gpt_backward(m, 0.5f) == ZY_STATUS_OK);
    for (size_t i = 0; i < n; i++) g1[i] *= 0.5f;
    CHECK_CLOSE("grads at loss_scale 0.5", g, g1, n, 1e-7, 1e-5);
    free(g1);
    zy_gpt_free(m);
}

TEST(gpt_dropout_is_seeded) {
    int B = 2, T = 5;
    zy_gpt *m = tiny_model(2, 2, 8, 6, 11, 0.2f, 3);
    ASSERT(m != NULL && zy_gpt_prepare(m, B, T) == ZY_STATUS_OK);
    int x[10] = {1, 5, 3, 10, 0, 7, 7, 2, 9, 4}, y[10] = {5, 3, 10, 0, 1, 7, 2, 9, 4, 6};
    float a, b, c, e1, e2;
    zy_gpt_set_dropout(m, true, 1);
    ASSERT(zy_gpt_forward(m, x, y, B, T, &a) == ZY_STATUS_OK);
    zy_gpt_set_dropout(m, true, 1);
    ASSERT(zy_gpt_forward(m, x, y, B, T, &b) == ZY_STATUS_OK);
    zy_gpt_set_dropout(m, true, 2);
    ASSERT(zy_gpt_forward(m, x, y, B, T, &c) == ZY_STATUS_OK);
    zy_gpt_set_dropout(m, false, 1);
    ASSERT(zy_gpt_forward(m, x, y, B, T, &e1) == ZY_STATUS_OK);
    zy_gpt_set_dropout(m, false, 2);
    ASSERT(zy_gpt_forward(m, x, y, B, T, &e2) == ZY_STATUS_OK);
    zt_note("loss seed 1 %.7f, seed 2 %.7f, eval %.7f", a, c, e1);
    CHECK(a == b && a != c && e1 == e2 && e1 != a);
    zy_gpt_free(m);
}

// Decoding with the KV cache must give the full forward's logits at every position:
// the prompt in one call (crossing the 64-position chunk), then one token at a time.
// Tolerance 1e-4 absolute on logits of size ~1: the two paths sum in different orders.
TEST(gpt_decode_matches_forward) {
    int T = 80, V = 13;
    zy_gpt *m = tiny_model(2, 2, 16, T, V, 0.1f, 11);
    ASSERT(m != NULL && zy_gpt_prepare(m, 1, T) == ZY_STATUS_OK);
    int x[80];
    for (int t = 0; t < T; t++) x[t] = (t * 7 + 3) % V;
    zy_gpt_set_dropout(m, false, 0);
    ASSERT(zy_gpt_forward(m, x, NULL, 1, T, NULL) == ZY_STATUS_OK);
    const float *full = zy_gpt_logits(m);
    float *got = zt_floats((size_t)T * V);
    int prompt = 70;
    ASSERT(zy_gpt_cache_len(m) == 0);
    ASSERT(zy_gpt_decode(m, x, prompt, got + (size_t)(prompt - 1) * V) == ZY_STATUS_OK);
    for (int t = prompt; t < T; t++)
        ASSERT(zy_gpt_decode(m, x + t, 1, got + (size_t)t * V) == ZY_STATUS_OK);
    CHECK(zy_gpt_cache_len(m) == T);
    size_t from = (size_t)(prompt - 1) * V;
    CHECK_CLOSE("decode vs forward logits", got + from, full + from, (size_t)T * V - from, 1e-4,
                1e-4);
    // Full: the cache refuses to grow past n_positions and is left as it was.
    CHECK(zy_gpt_decode(m, x, 1, got) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_gpt_cache_len(m) == T);
    // Reset, then every position one token at a time.
    zy_gpt_cache_reset(m);
    for (int t = 0; t < T; t++)
        ASSERT(zy_gpt_decode(m, x + t, 1, got + (size_t)t * V) == ZY_STATUS_OK);
    CHECK_CLOSE("decode one by one vs forward", got, full, (size_t)T * V, 1e-4, 1e-4);
    int bad = V;
    CHECK(zy_gpt_decode(m, &bad, 1, got) == ZY_STATUS_INVALID_ARGUMENT);
    free(got);
    zy_gpt_free(m);
}

TEST(gpt_bad_batches) {
    zy_gpt *m = tiny_model(1, 2, 8, 6, 11, 0.0f, 5);
    ASSERT(m != NULL);
    int x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {2, 3, 4, 5, 6, 7};
    float loss;
    CHECK(zy_gpt_forward(m, x, y, 1, 6, &loss) == ZY_STATUS_INVALID_ARGUMENT); // unprepared
    CHECK(strstr(zy_last_error(), "zy_gpt_prepare") != NULL);
    CHECK(zy_gpt_prepare(m, 1, 7) == ZY_STATUS_INVALID_ARGUMENT); // T > n_positions
    ASSERT(zy_gpt_prepare(m, 2, 3) == ZY_STATUS_OK);
    CHECK(zy_gpt_forward(m, x, y, 1, 6, &loss) == ZY_STATUS_INVALID_ARGUMENT); // T > cap
    CHECK(zy_gpt_backward(m, 1.0f) == ZY_STATUS_INVALID_ARGUMENT); // no forward yet
    x[4] = 11;
    CHECK(zy_gpt_forward(m, x, y, 2, 3, &loss) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "b=1, t=1") != NULL && strstr(zy_last_error(), "11"));
    x[4] = 5;
    y[2] = -5;
    CHECK(zy_gpt_forward(m, x, y, 2, 3, &loss) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "b=0, t=2") != NULL);
    y[2] = 4;
    CHECK(zy_gpt_forward(m, x, y, 2, 3, &loss) == ZY_STATUS_OK && isfinite(loss));
    // Growing the activations keeps the model usable at the new size.
    ASSERT(zy_gpt_prepare(m, 1, 6) == ZY_STATUS_OK);
    CHECK(zy_gpt_forward(m, x, y, 1, 6, &loss) == ZY_STATUS_OK && isfinite(loss));
    CHECK(zy_gpt_backward(m, 1.0f) == ZY_STATUS_OK);
    zy_gpt_free(m);
}

// The decoding GEMV (src/kernels/gemv*.c, private): the AVX-512 rows against the
// scalar reference and both against a double-precision product, at sizes with tails
// (K not a multiple of 16, N not a multiple of 4) and at gpt2 widths. Tolerance 1e-5
// relative to Σ|w·x| (float sums of up to 3072 terms in different orders).
void zy__gemv(float *y, const float *W, const float *x, const float *b, int N, int K);
void zy__gemv_rows_scalar(float *y, const float *W, const float *x, const float *b,
                              int r0, int r1, int K);
void zy__gemv_rows_avx512(float *y, const float *W, const float *x, const float *b,
                              int r0, int r1, int K);

TEST(gpt_gemv_simd_matches_scalar) {
    int sizes[][2] = {{13, 77}, {5, 16}, {130, 768}, {771, 3072}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int N = sizes[s][0], K = sizes[s][1];
        float *W = zt_floats((size_t)N * K), *x = zt_floats(K), *b = zt_floats(N);
        float *ref = zt_floats(N), *y = zt_floats(N), *scale = zt_floats(N);
        zt_fill_uniform(W, (size_t)N * K, 10 + s, -1, 1);
        zt_fill_uniform(x, K, 20 + s, -1, 1);
        zt_fill_uniform(b, N, 30 + s, -1, 1);
        for (int r = 0; r < N; r++) {
            double acc = b[r], mag = fabs(b[r]);
            for (int k = 0; k < K; k++) {
                acc += (double)W[(size_t)r * K + k] * x[k];
                mag += fabs((double)W[(size_t)r * K + k] * x[k]);
            }
            ref[r] = (float)acc;
            scale[r] = (float)mag;
        }
        zy_simd saved = zy_simd_level();
        for (int lvl = ZY_SIMD_SCALAR; lvl <= ZY_SIMD_AVX512; lvl += 2) {
            if (zy_simd_set((zy_simd)lvl) != (zy_simd)lvl) continue; // CPU without AVX-512
            zy__gemv(y, W, x, b, N, K);
            double worst = 0;
            for (int r = 0; r < N; r++) worst = fmax(worst, fabs(y[r] - ref[r]) / scale[r]);
            zt_note("gemv %s N=%d K=%d: worst |err| / sum|terms| %.3g", zy_simd_name(lvl), N, K,
                    worst);
            CHECK(worst <= 1e-5);
        }
        zy_simd_set(saved);
        free(W), free(x), free(b), free(ref), free(y), free(scale);
    }
}

// GPT-2 initialisation: N(0, 0.02) weights, N(0, 0.02/√(2L)) residual projections, zero
// biases, unit layernorm gains; the same seed gives the same weights at any thread count.
TEST(gpt_init_weights) {
    zy_gpt_config c = {.n_layer = 2, .n_head = 4, .n_embd = 64, .n_positions = 32,
                       .vocab_size = 3000, .layer_norm_epsilon = 1e-5f};
    zy_gpt *a, *b;
    ASSERT(zy_gpt_create(&a, &c) == ZY_STATUS_OK && zy_gpt_create(&b, &c) == ZY_STATUS_OK);
    int threads = zy_threads_get();
    zy_threads_set(1);
    zy_gpt_init_weights(a, 5);
    zy_threads_set(threads);
    zy_gpt_init_weights(b, 5);
    size_t n;
    float *pa = zy_gpt_params(a, &n), *pb = zy_gpt_params(b, NULL);
    CHECK(memcmp(pa, pb, n * sizeof *pa) == 0);
    zy_gpt_init_weights(b, 6);
    CHECK(memcmp(pa, pb, n * sizeof *pa) != 0);
    for (int i = 0; i < zy_gpt_tensor_count(a); i++) {
        const zy_gpt_tensor *t = zy_gpt_tensor_at(a, i);
        double s = 0, s2 = 0;
        for (size_t k = 0; k < t->count; k++) {
            s += pa[t->offset + k];
            s2 += (double)pa[t->offset + k] * pa[t->offset + k];
        }
        double mean = s / t->count, sd = sqrt(s2 / t->count - mean * mean);
        const char *name = t->name;
        if (strstr(name, ".bias")) {
            CHECK(s2 == 0);
        } else if (strstr(name, ".ln_")) {
            CHECK(s == (double)t->count && sd < 1e-9);
        } else {
            double want = strstr(name, "c_proj.weight") ? 0.02 / sqrt(4.0) : 0.02;
            // Standard error of the sd estimate is want/√(2n); n >= 4096 here: 5% is > 4σ.
            if (fabs(sd - want) > 0.05 * want || fabs(mean) > 0.1 * want)
                zt_fail(__FILE__, __LINE__, "%s: mean %g sd %g, want sd %g", name, mean, sd, want);
        }
    }
    zy_gpt_free(a);
    zy_gpt_free(b);
}
