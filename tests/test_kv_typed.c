// A KV cache of 16-bit values (zy_kv_cache_create_typed: f16, bf16): attending over it
// equals attending over an f32 cache that holds the same rounded keys and values (a chunk
// of queries through the tiled core on widened copies, one query and one query per
// sequence through the 16-bit decode kernel, after a copy of a sequence), at each SIMD
// level; the AVX-512 16-bit decode kernel against its scalar reference; a GPT decoding
// with a bf16 cache stays close to its f32 cache, and sessions refuse other cache types.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpt_util.h"
#include "harness.h"
#include "nn/attention_internal.h"
#include "zhuyi/attention.h"
#include "zhuyi/io.h"
#include "zhuyi/quant.h"

// x (n) rounded to type t in place (the values a 16-bit cache holds).
static void round_to(zy_wtype t, float *x, size_t n) {
    uint16_t *h = zt_malloc(2 * n);
    zy_quantize_row(t, x, h, n);
    zy_dequantize_row(t, h, x, n);
    free(h);
}

TEST(kv_cache_16bit_equals_f32_of_rounded) {
    const int L = 2, S = 3, H = 2, D = 32, C = H * D, maxT = 16;
    const zy_wtype types[2] = {ZY_WTYPE_F16, ZY_WTYPE_BF16};
    float *k = zt_floats((size_t)S * maxT * C), *v = zt_floats((size_t)S * maxT * C);
    float *q = zt_floats((size_t)S * maxT * C), *got = zt_floats(5 * C), *want = zt_floats(5 * C);
    for (int level = ZY_SIMD_SCALAR; level <= ZY_SIMD_AVX512; level += ZY_SIMD_AVX512) {
        if (!zt_use_simd(level)) continue;
        for (int ti = 0; ti < 2; ti++) {
            zt_fill_uniform(k, (size_t)S * maxT * C, 1, -2, 2);
            zt_fill_uniform(v, (size_t)S * maxT * C, 2, -1, 1);
            zt_fill_uniform(q, (size_t)S * maxT * C, 3, -2, 2);
            round_to(types[ti], k, (size_t)S * maxT * C);
            round_to(types[ti], v, (size_t)S * maxT * C);
            zy_kv_cache *a, *b;
            ASSERT(zy_kv_cache_create_typed(&a, L, S, H, maxT, D, types[ti]) == ZY_STATUS_OK);
            ASSERT(zy_kv_cache_create(&b, L, S, H, maxT, D) == ZY_STATUS_OK);
            CHECK(zy_kv_cache_type(a) == types[ti] && zy_kv_cache_type(b) == ZY_WTYPE_F32);
            size_t ns = zy_kv_cache_scratch_floats(a, 5);
            float *scratch = zt_floats(ns);
            double worst = 0;
            const int chunks[3] = {5, 1, 3};
            for (int step = 0; step < 3; step++)
                for (int s = 0; s < S; s++) {
                    int n = chunks[(step + s) % 3], t0 = zy_kv_cache_len(a, s);
                    const float *ks = k + ((size_t)s * maxT + t0) * C;
                    const float *vs = v + ((size_t)s * maxT + t0) * C;
                    const float *qs = q + ((size_t)s * maxT + t0) * C;
                    for (int l = 0; l < L; l++) {
                        ASSERT(zy_kv_cache_write(a, l, s, ks, vs, n, C) == ZY_STATUS_OK);
                        ASSERT(zy_kv_cache_write(b, l, s, ks, vs, n, C) == ZY_STATUS_OK);
                        ASSERT(zy_kv_cache_attend(a, l, s, true, 0.0f, qs, C, n, got, C, scratch,
                                                  ns) == ZY_STATUS_OK);
                        ASSERT(zy_kv_cache_attend(b, l, s, true, 0.0f, qs, C, n, want, C,
                                                  scratch, ns) == ZY_STATUS_OK);
                        for (int i = 0; i < n * C; i++)
                            worst = fmax(worst, fabs((double)got[i] - want[i]));
                    }
                    ASSERT(zy_kv_cache_advance(a, s, n) == ZY_STATUS_OK);
                    ASSERT(zy_kv_cache_advance(b, s, n) == ZY_STATUS_OK);
                }
            // a copied sequence, then one query of each of three sequences at once
            ASSERT(zy_kv_cache_copy_seq(a, 0, 2) == ZY_STATUS_OK);
            ASSERT(zy_kv_cache_copy_seq(b, 0, 2) == ZY_STATUS_OK);
            const int seqs[3] = {2, 0, 1};
            for (int i = 0; i < 3; i++) {
                int s = seqs[i], t0 = zy_kv_cache_len(a, s);
                const float *ks = k + ((size_t)s * maxT + t0) * C, *vs = v + ((size_t)s * maxT + t0) * C;
                ASSERT(zy_kv_cache_write(a, 1, s, ks, vs, 1, C) == ZY_STATUS_OK);
                ASSERT(zy_kv_cache_write(b, 1, s, ks, vs, 1, C) == ZY_STATUS_OK);
            }
            ASSERT(zy_kv_cache_attend_step(a, 1, seqs, 3, true, 0.0f, q, C, got, C, scratch, ns) ==
                   ZY_STATUS_OK);
            ASSERT(zy_kv_cache_attend_step(b, 1, seqs, 3, true, 0.0f, q, C, want, C, scratch, ns) ==
                   ZY_STATUS_OK);
            for (int i = 0; i < 3 * C; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
            zt_note("%s %s: worst |16-bit cache - f32 cache of the rounded values| %.3g",
                    zy_simd_name((zy_simd)level), zy_wtype_name(types[ti]), worst);
            CHECK(worst <= 1e-5);
            zy_kv_cache_free(a), zy_kv_cache_free(b);
            free(scratch);
        }
    }
    zy_kv_cache *c;
    CHECK(zy_kv_cache_create_typed(&c, 1, 1, 1, 4, 4, ZY_WTYPE_Q8_0) == ZY_STATUS_INVALID_ARGUMENT);
    free(k), free(v), free(q), free(got), free(want);
}

// The AVX2 and AVX-512 16-bit decode kernels against the scalar reference (D = 44 takes the
// reference inside both; 48 the AVX2 passes and the reference in AVX-512's; 64 and 128
// the vector passes of both, with column tails).
static void check_decode16(zy__attn_decode16_fn kernel, const char *level) {
    const int Ds[] = {44, 48, 64, 112, 128}, Tks[] = {1, 3, 17, 700};
    const int ld = 140;
    uint16_t *K = zt_malloc(2 * 700 * ld), *V = zt_malloc(2 * 700 * ld);
    float *x = zt_floats(700 * ld), *q = zt_floats(ld), *s = zt_floats(700);
    float *a = zt_floats(ld), *b = zt_floats(ld);
    zt_fill_uniform(q, ld, 10, -2, 2);
    double worst = 0;
    for (int bf = 0; bf < 2; bf++) {
        zy_wtype t = bf ? ZY_WTYPE_BF16 : ZY_WTYPE_F16;
        zt_fill_uniform(x, 700 * ld, 8, -2, 2);
        zy_quantize_row(t, x, K, 700 * ld);
        zt_fill_uniform(x, 700 * ld, 9, -1, 1);
        zy_quantize_row(t, x, V, 700 * ld);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 4; j++) {
                int D = Ds[i], Tk = Tks[j];
                float scale = 1.0f / sqrtf((float)D);
                zy__attn_decode16_ref(a, q, K, ld, V, ld, Tk, D, D, scale, s, bf);
                kernel(b, q, K, ld, V, ld, Tk, D, D, scale, s, bf);
                for (int d = 0; d < D; d++)
                    worst = fmax(worst, fabs((double)a[d] - b[d]) / (1e-6 + 1e-5 * fabs(a[d])));
            }
    }
    zt_note("worst |%s - ref| = %.3g of the tolerance (1e-6 + 1e-5 |ref|)", level, worst);
    CHECK(worst <= 1.0);
    free(K), free(V), free(x), free(q), free(s), free(a), free(b);
}

TEST(kv_cache_decode16_simd_matches_ref) {
    for (int level = ZY_SIMD_AVX2; level <= ZY_SIMD_AVX512; level++)
        if (zt_use_simd(level)) check_decode16(zy__attn_decode16_kernel(), zy_simd_name(level));
}

// GPT-2 decoding with a bf16 (and an f16) cache against its f32 cache: keys and values
// rounded to 8 (11) bits of mantissa move the logits a little, not the argmax here.
TEST(gpt_decode_16bit_cache_close_to_f32) {
    enum { V = 37, T = 40 };
    zy_model *m = zt_gpt_create(2, 2, 64, 48, V, 0.0f, 7);
    ASSERT(m != NULL);
    int x[T];
    for (int t = 0; t < T; t++) x[t] = (t * 11 + 5) % V;
    zy_session_params p = zy_session_default_params();
    zy_session *s32, *s16;
    ASSERT(zy_session_create(&s32, m, &p) == ZY_STATUS_OK);
    const zy_wtype types[2] = {ZY_WTYPE_BF16, ZY_WTYPE_F16};
    const double tol[2] = {1e-3, 2e-4}; // of the largest logit (measured: 1.4e-4, 1.7e-5)
    float a[V], b[V];
    for (int k = 0; k < 2; k++) {
        p.kv_cache = types[k];
        ASSERT(zy_session_create(&s16, m, &p) == ZY_STATUS_OK);
        zy_session_seq_reset(s32, -1);
        int seq = 0;
        double worst = 0, scale = 0;
        ASSERT(zy_session_decode(s32, 1, &seq, x, 20, a) == ZY_STATUS_OK);
        ASSERT(zy_session_decode(s16, 1, &seq, x, 20, b) == ZY_STATUS_OK);
        for (int t = 20; t < T; t++) {
            for (int v = 0; v < V; v++) {
                worst = fmax(worst, fabs((double)a[v] - b[v]));
                scale = fmax(scale, fabs(a[v]));
            }
            ASSERT(zy_session_decode(s32, 1, &seq, x + t, 1, a) == ZY_STATUS_OK);
            ASSERT(zy_session_decode(s16, 1, &seq, x + t, 1, b) == ZY_STATUS_OK);
        }
        zt_note("%s cache: worst |logit - f32 cache's| %.3g (logits up to %.3g)",
                zy_wtype_name(types[k]), worst, scale);
        CHECK(worst <= tol[k] * scale);
        zy_session_free(s16);
    }
    p.kv_cache = ZY_WTYPE_Q4_0;
    CHECK(zy_session_create(&s16, m, &p) == ZY_STATUS_INVALID_ARGUMENT);
    zy_session_free(s32);
    zy_model_free(m);
}
