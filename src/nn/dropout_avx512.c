// AVX-512F dropout masks: zy_hash64 (src/core/rng.c: a multiply-rotate of the counter,
// then two splitmix64 rounds) on 8 64-bit counters per vector, two vectors per step, so 16
// floats are kept or dropped at once. AVX-512F has no 64-bit low multiply (that is DQ's
// vpmullq), so each one is built from three 32 x 32 -> 64 products; the counters' own
// product steps by 16·HASH_MUL instead (the same value mod 2^64). The 24-bit uniforms
// are exact in float, so the comparison with p is the scalar one bit for bit; the tail
// goes through the scalar references (dropout.c). Compiled with AVX-512 flags: call only
// after checking zy_simd_level().
#include <immintrin.h>

#include "nn/dropout.h"

#define HASH_MUL 0xD1B54A32D192ED03ull
#define GOLDEN 0x9E3779B97F4A7C15ull
#define MIX1 0xBF58476D1CE4E5B9ull
#define MIX2 0x94D049BB133111EBull

// a * b mod 2^64 per lane: lo·lo + ((hi·lo + lo·hi) << 32)
static inline __m512i mul64(__m512i a, __m512i b) {
    __m512i lo = _mm512_mul_epu32(a, b);
    __m512i cross = _mm512_add_epi64(_mm512_mul_epu32(_mm512_srli_epi64(a, 32), b),
                                     _mm512_mul_epu32(a, _mm512_srli_epi64(b, 32)));
    return _mm512_add_epi64(lo, _mm512_slli_epi64(cross, 32));
}

// splitmix64's output function of z (the state already advanced by GOLDEN)
static inline __m512i mix(__m512i z) {
    z = mul64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), _mm512_set1_epi64((long long)MIX1));
    z = mul64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), _mm512_set1_epi64((long long)MIX2));
    return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

// The uniforms of 8 counters c, given c·HASH_MUL (8 lanes), as 8 floats.
static inline __m256 uniforms(__m512i ck, __m512i key) {
    const __m512i golden = _mm512_set1_epi64((long long)GOLDEN);
    __m512i x = _mm512_add_epi64(_mm512_xor_si512(key, _mm512_rol_epi64(ck, 29)), golden);
    x = _mm512_xor_si512(x, mix(x));
    __m512i h = mix(_mm512_add_epi64(x, golden));
    // h >> 40 < 2^24: its low 32 bits convert exactly
    __m256i u24 = _mm512_cvtepi64_epi32(_mm512_srli_epi64(h, 40));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(u24), _mm256_set1_ps(0x1.0p-24f));
}

// The keep mask of 16 elements whose counters times HASH_MUL are ck0 (the first 8) and
// ck0 + 8·HASH_MUL (mod 2^64, as the scalar product of the counter + 8 is).
static inline __mmask16 keep16(__m512i ck0, __m512i step8, float p, __m512i key) {
    __m512d lo = _mm512_castps_pd(_mm512_castps256_ps512(uniforms(ck0, key)));
    __m256 hi = uniforms(_mm512_add_epi64(ck0, step8), key);
    __m512 u = _mm512_castpd_ps(_mm512_insertf64x4(lo, _mm256_castps_pd(hi), 1));
    return _mm512_cmp_ps_mask(u, _mm512_set1_ps(p), _CMP_GE_OQ);
}

// The products counter·HASH_MUL of counters offset .. offset + 7, and the steps of 8 and
// 16 counters: products of later counters are sums of these (mod 2^64).
static inline __m512i first_products(uint64_t offset, __m512i *step8, __m512i *step16) {
    const __m512i lanes = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    *step8 = _mm512_set1_epi64((long long)(8 * HASH_MUL));
    *step16 = _mm512_set1_epi64((long long)(16 * HASH_MUL));
    return mul64(_mm512_add_epi64(_mm512_set1_epi64((long long)offset), lanes),
                 _mm512_set1_epi64((long long)HASH_MUL));
}

void zy__dropout_forward_avx512(float *out, const float *inp, size_t n, float p, float scale,
                                uint64_t seed, uint64_t offset) {
    const __m512i key = _mm512_set1_epi64((long long)seed);
    const __m512 s = _mm512_set1_ps(scale);
    __m512i step8, step16, ck = first_products(offset, &step8, &step16);
    size_t i = 0;
    for (; i + 16 <= n; i += 16, ck = _mm512_add_epi64(ck, step16)) {
        __mmask16 k = keep16(ck, step8, p, key);
        _mm512_storeu_ps(out + i, _mm512_maskz_mul_ps(k, _mm512_loadu_ps(inp + i), s));
    }
    if (i < n) zy__dropout_forward_scalar(out + i, inp + i, n - i, p, scale, seed, offset + i);
}

void zy__dropout_backward_avx512(float *out, const float *inp, size_t n, float p, float scale,
                                 uint64_t seed, uint64_t offset) {
    const __m512i key = _mm512_set1_epi64((long long)seed);
    const __m512 s = _mm512_set1_ps(scale);
    __m512i step8, step16, ck = first_products(offset, &step8, &step16);
    size_t i = 0;
    for (; i + 16 <= n; i += 16, ck = _mm512_add_epi64(ck, step16)) {
        __mmask16 k = keep16(ck, step8, p, key);
        __m512 o = _mm512_loadu_ps(out + i);
        __m512 d = _mm512_mul_ps(_mm512_loadu_ps(inp + i), s);
        _mm512_storeu_ps(out + i, _mm512_mask_add_ps(o, k, o, d));
    }
    if (i < n) zy__dropout_backward_scalar(out + i, inp + i, n - i, p, scale, seed, offset + i);
}
