// Tests of the KV cache for a batch of sequences (src/nn/kv_cache.c) and the one-query
// decode kernel (src/nn/attention_decode*.c): cached attention (one query, a chunk of
// queries, one query of each of several sequences of different lengths, a non-causal
// memory cache) equals plain attention over the same keys; MHA decoding through the cache
// equals full causal recomputation; copy / reset of one sequence; the checks that refuse
// writes past maxT, advancing unwritten layers and attending positions not written; the
// AVX-512 decode kernel against its scalar reference.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nn/attention_internal.h"
#include "zhuyi/attention.h"

// Plain attention of the last n of T positions of one sequence (heads side by side in
// rows of H*D): the reference cached attention must match. causal: queries end-aligned.
static void plain_ref(float *out, const float *q, const float *k, const float *v, int H,
                      int n, int T, int D, bool causal) {
    zy_attn_desc d = zy_attn_default_desc(1, H, n, T, D, D);
    d.causal = causal;
    d.q_layout = d.out_layout = zy_attn_layout_rows(n, D, H * D);
    d.k_layout = d.v_layout = zy_attn_layout_rows(T, D, H * D);
    float *att = zt_floats((size_t)H * n * T + 1);
    if (zy_attn_forward(out, att, NULL, q, k, v, NULL, &d) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "plain: %s", zy_last_error());
    free(att);
}

// Three sequences of different lengths share a cache; each is fed in chunks (5, then 1,
// then 3 positions) and every attend is compared with plain attention over the same keys,
// causal (self-attention) and not (the keys so far as a memory).
TEST(kv_cache_attend_matches_plain) {
    const int L = 2, S = 3, H = 2, D = 16, C = H * D, maxT = 12;
    zy_kv_cache *kv;
    ASSERT(zy_kv_cache_create(&kv, L, S, H, maxT, D) == ZY_STATUS_OK);
    size_t ns = zy_kv_cache_scratch_floats(kv, 5);
    float *scratch = zt_floats(ns);
    float *k = zt_floats((size_t)S * maxT * C), *v = zt_floats((size_t)S * maxT * C);
    float *q = zt_floats((size_t)S * maxT * C), *got = zt_floats(5 * C), *want = zt_floats(5 * C);
    zt_fill_uniform(k, (size_t)S * maxT * C, 1, -2, 2);
    zt_fill_uniform(v, (size_t)S * maxT * C, 2, -1, 1);
    zt_fill_uniform(q, (size_t)S * maxT * C, 3, -2, 2);
    const int chunks[3] = {5, 1, 3};
    for (int step = 0; step < 3; step++)
        for (int s = 0; s < S; s++) {
            int n = chunks[(step + s) % 3], t0 = zy_kv_cache_len(kv, s);
            const float *ks = k + (size_t)s * maxT * C, *vs = v + (size_t)s * maxT * C;
            const float *qs = q + ((size_t)s * maxT + t0) * C;
            for (int l = 0; l < L; l++) {
                ASSERT(zy_kv_cache_write(kv, l, s, ks + (size_t)t0 * C, vs + (size_t)t0 * C, n,
                                         C) == ZY_STATUS_OK);
                ASSERT(zy_kv_cache_attend(kv, l, s, true, 0.0f, qs, C, n, got, C, scratch, ns) ==
                       ZY_STATUS_OK);
                plain_ref(want, qs, ks, vs, H, n, t0 + n, D, true);
                CHECK_CLOSE("causal chunk", got, want, (size_t)n * C, 1e-5, 1e-5);
                if (t0 > 0) { // the advanced keys as a memory: no causal mask
                    ASSERT(zy_kv_cache_attend(kv, l, s, false, 0.0f, qs, C, n, got, C, scratch, ns) ==
                           ZY_STATUS_OK);
                    plain_ref(want, qs, ks, vs, H, n, t0, D, false);
                    CHECK_CLOSE("memory", got, want, (size_t)n * C, 1e-5, 1e-5);
                }
            }
            ASSERT(zy_kv_cache_advance(kv, s, n) == ZY_STATUS_OK);
            CHECK(zy_kv_cache_len(kv, s) == t0 + n);
        }
    zt_note("lengths %d %d %d", zy_kv_cache_len(kv, 0), zy_kv_cache_len(kv, 1),
            zy_kv_cache_len(kv, 2));
    // One query of each sequence at once (sequences in a shuffled order, lengths 9, 9, 9
    // plus a fourth step for two of them): equals attending each alone.
    const int seqs[3] = {2, 0, 1};
    float *qq = zt_floats(3 * 2 * C), *so = zt_floats(3 * 2 * C), *one = zt_floats(C);
    zt_fill_uniform(qq, 3 * 2 * C, 4, -2, 2);
    for (int s = 0; s < S; s++) {
        int t0 = zy_kv_cache_len(kv, s);
        for (int l = 0; l < L; l++)
            ASSERT(zy_kv_cache_write(kv, l, s, k + ((size_t)s * maxT + t0) * C,
                                     v + ((size_t)s * maxT + t0) * C, 1, C) == ZY_STATUS_OK);
    }
    // rows of stride 2C (q and out inside wider rows)
    ASSERT(zy_kv_cache_attend_step(kv, 1, seqs, 3, true, 0.0f, qq, 2 * C, so, 2 * C, scratch, ns) ==
           ZY_STATUS_OK);
    for (int i = 0; i < 3; i++) {
        ASSERT(zy_kv_cache_attend(kv, 1, seqs[i], true, 0.0f, qq + (size_t)i * 2 * C, C, 1, one, C,
                                  scratch, ns) == ZY_STATUS_OK);
        CHECK_CLOSE("step == one", so + (size_t)i * 2 * C, one, C, 0, 0);
        int s = seqs[i], T = zy_kv_cache_len(kv, s) + 1;
        plain_ref(want, qq + (size_t)i * 2 * C, k + (size_t)s * maxT * C, v + (size_t)s * maxT * C,
                  H, 1, T, D, true);
        CHECK_CLOSE("step vs plain", one, want, C, 1e-5, 1e-5);
    }
    zy_kv_cache_free(kv);
    free(scratch), free(k), free(v), free(q), free(got), free(want), free(qq), free(so), free(one);
}

// MHA decoding through the cache (3 positions, then one at a time) equals causal
// self-attention over the whole sequence, for two sequences decoded side by side.
TEST(kv_cache_mha_decode_matches_full) {
    const int B = 2, T = 7, C = 8, H = 2, L = 2, layer = 1;
    zy_mha_config c = zy_mha_default_config(B, T, T, C, H);
    c.attn.causal = true;
    size_t np = zy_mha_param_count(C), nx = (size_t)B * T * C;
    float *params = zt_floats(np), *x = zt_floats(nx), *full = zt_floats(nx);
    float *acts = zt_floats(zy_mha_acts_floats(&c));
    size_t nsf = zy_mha_scratch_floats(&c);
    float *sf = zt_floats(nsf);
    zt_fill_uniform(params, np, 400, -0.5f, 0.5f);
    zt_fill_uniform(x, nx, 401, -1, 1);
    zy_mha_params p;
    zy_mha_params_init(&p, params, C);
    ASSERT(zy_mha_forward(full, acts, sf, nsf, x, x, &p, &c) == ZY_STATUS_OK);
    zy_kv_cache *kv;
    ASSERT(zy_kv_cache_create(&kv, L, B, H, 8, C / H) == ZY_STATUS_OK);
    size_t ns = zy_mha_cached_scratch_floats(kv, 3, C);
    float *scratch = zt_floats(ns), *step = zt_floats(nx);
    for (int t = 0; t < T;) {
        int n = t == 0 ? 3 : 1;
        for (int b = 0; b < B; b++) {
            const float *xs = x + ((size_t)b * T + t) * C;
            ASSERT(zy_mha_forward_cached(step + ((size_t)b * T + t) * C, scratch, ns, kv, layer,
                                         b, xs, n, &p, C) == ZY_STATUS_OK);
            ASSERT(zy_kv_cache_write(kv, 0, b, xs, xs, n, C) == ZY_STATUS_OK); // layer 0 too
            ASSERT(zy_kv_cache_advance(kv, b, n) == ZY_STATUS_OK);
        }
        t += n;
        CHECK(zy_kv_cache_len(kv, 0) == t && zy_kv_cache_len(kv, 1) == t);
    }
    CHECK_CLOSE("cached decode vs full", step, full, nx, 1e-5, 1e-5);
    zy_kv_cache_free(kv);
    free(params), free(x), free(full), free(acts), free(sf), free(scratch), free(step);
}

// Beam search: a copied sequence continues exactly like its source; resetting one
// sequence leaves the others alone.
TEST(kv_cache_copy_and_reset_one_sequence) {
    const int H = 2, D = 8, C = H * D;
    zy_kv_cache *kv;
    ASSERT(zy_kv_cache_create(&kv, 2, 3, H, 6, D) == ZY_STATUS_OK);
    float k[6 * 16], v[6 * 16], q[16], a[16], b[16];
    zt_fill_uniform(k, 6 * C, 5, -1, 1);
    zt_fill_uniform(v, 6 * C, 6, -1, 1);
    zt_fill_uniform(q, C, 7, -1, 1);
    size_t ns = zy_kv_cache_scratch_floats(kv, 1);
    float *scratch = zt_floats(ns);
    for (int l = 0; l < 2; l++) ASSERT(zy_kv_cache_write(kv, l, 0, k, v, 4, C) == ZY_STATUS_OK);
    ASSERT(zy_kv_cache_advance(kv, 0, 4) == ZY_STATUS_OK);
    ASSERT(zy_kv_cache_write(kv, 1, 1, k, v, 1, C) == ZY_STATUS_OK);
    ASSERT(zy_kv_cache_copy_seq(kv, 2, 0) == ZY_STATUS_OK);
    CHECK(zy_kv_cache_len(kv, 2) == 4);
    for (int s = 0; s < 3; s += 2)
        for (int l = 0; l < 2; l++)
            ASSERT(zy_kv_cache_write(kv, l, s, k + 4 * C, v + 4 * C, 1, C) == ZY_STATUS_OK);
    ASSERT(zy_kv_cache_attend(kv, 1, 0, true, 0.0f, q, C, 1, a, C, scratch, ns) == ZY_STATUS_OK);
    ASSERT(zy_kv_cache_attend(kv, 1, 2, true, 0.0f, q, C, 1, b, C, scratch, ns) == ZY_STATUS_OK);
    CHECK_CLOSE("copy continues like its source", b, a, C, 0, 0);
    ASSERT(zy_kv_cache_reset_seq(kv, 0) == ZY_STATUS_OK);
    CHECK(zy_kv_cache_len(kv, 0) == 0 && zy_kv_cache_len(kv, 2) == 4);
    CHECK(zy_kv_cache_attend(kv, 1, 0, true, 0.0f, q, C, 1, a, C, scratch, ns) ==
          ZY_STATUS_INVALID_ARGUMENT); // nothing written since the reset
    zy_kv_cache_reset(kv);
    CHECK(zy_kv_cache_len(kv, 2) == 0);
    zy_kv_cache_free(kv);
    free(scratch);
}

TEST(kv_cache_rejects_bad_use) {
    const int H = 1, D = 4;
    zy_kv_cache *kv;
    CHECK(zy_kv_cache_create(&kv, 1, 0, H, 4, D) == ZY_STATUS_INVALID_ARGUMENT);
    ASSERT(zy_kv_cache_create(&kv, 2, 2, H, 4, D) == ZY_STATUS_OK);
    float x[5 * 4] = {0}, o[4];
    size_t ns = zy_kv_cache_scratch_floats(kv, 5);
    float *scratch = zt_floats(ns);
    CHECK(zy_kv_cache_write(kv, 0, 0, x, x, 5, D) == ZY_STATUS_INVALID_ARGUMENT); // > maxT
    CHECK(zy_kv_cache_write(kv, 2, 0, x, x, 1, D) == ZY_STATUS_INVALID_ARGUMENT); // layer
    CHECK(zy_kv_cache_write(kv, 0, 2, x, x, 1, D) == ZY_STATUS_INVALID_ARGUMENT); // seq
    CHECK(zy_kv_cache_len(kv, 5) == -1);
    ASSERT(zy_kv_cache_write(kv, 0, 0, x, x, 2, D) == ZY_STATUS_OK);
    CHECK(zy_kv_cache_advance(kv, 0, 2) == ZY_STATUS_INVALID_ARGUMENT); // layer 1 missing
    zt_note("%s", zy_last_error());
    CHECK(zy_kv_cache_len(kv, 0) == 0);
    CHECK(zy_kv_cache_attend(kv, 1, 0, true, 0.0f, x, D, 1, o, D, scratch, ns) ==
          ZY_STATUS_INVALID_ARGUMENT); // layer 1 holds nothing
    CHECK(zy_kv_cache_attend(kv, 0, 0, true, 0.0f, x, D, 3, o, D, scratch, ns) ==
          ZY_STATUS_INVALID_ARGUMENT); // 3 queries but 2 written
    CHECK(zy_kv_cache_attend(kv, 0, 0, true, 0.0f, x, D, 1, o, D, scratch, 3) ==
          ZY_STATUS_INVALID_ARGUMENT); // scratch
    int seqs[2] = {0, 7};
    CHECK(zy_kv_cache_attend_step(kv, 0, seqs, 2, false, 0.0f, x, D, o, D, scratch, ns) ==
          ZY_STATUS_INVALID_ARGUMENT);
    zy_kv_cache_free(kv);
    free(scratch);
}

// The AVX2 and AVX-512 decode kernels against the scalar reference: widths with tails (7,
// 64, 80, 130), 1 to 1000 keys, strided rows. atol 1e-6 rtol 1e-5 (same sums, FMA and the
// polynomial exp: ~1 ulp per term).
TEST(kv_cache_decode_kernel_simd_matches_ref) {
    const int Ds[] = {7, 64, 80, 130}, Tks[] = {1, 3, 17, 1000};
    const int ld = 140;
    float *K = zt_floats(1000 * ld), *V = zt_floats(1000 * ld), *q = zt_floats(ld);
    float *s = zt_floats(1000), *a = zt_floats(ld), *b = zt_floats(ld);
    zt_fill_uniform(K, 1000 * ld, 8, -2, 2);
    zt_fill_uniform(V, 1000 * ld, 9, -1, 1);
    zt_fill_uniform(q, ld, 10, -2, 2);
    for (int level = ZY_SIMD_AVX2; level <= ZY_SIMD_AVX512; level++) {
        if (!zt_use_simd(level)) continue;
        zy__attn_decode_fn kernel = zy__attn_decode_kernel();
        CHECK(kernel != zy__attn_decode_ref);
        for (int i = 0; i < 4; i++)
            for (int t = 0; t < 4; t++) {
                int D = Ds[i], Tk = Tks[t];
                float scale = 1.0f / sqrtf((float)D);
                zy__attn_decode_ref(a, q, K, ld, V, ld, Tk, D, D, scale, s);
                kernel(b, q, K, ld, V, ld, Tk, D, D, scale, s);
                CHECK_CLOSE(zy_simd_name(level), b, a, D, 1e-6, 1e-5);
            }
        kernel(b, q, K, ld, V, ld, 0, 64, 64, 1.0f, s); // no keys: zeros
        for (int d = 0; d < 64; d++) CHECK(b[d] == 0.0f);
    }
    free(K), free(V), free(q), free(s), free(a), free(b);
}
