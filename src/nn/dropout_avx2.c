// AVX2 dropout masks: zy_hash64 (src/core/rng.c: a multiply-rotate of the counter, then two
// splitmix64 rounds) on 4 64-bit counters per vector, two vectors per step, so 8 floats are
// kept or dropped at once: the scheme of dropout_avx512.c on half-width registers (64-bit
// low products from three 32 x 32 -> 64 ones; counters' products stepped by 4·HASH_MUL; a
// rotate as two shifts). The 24-bit uniforms are exact in float, so the comparison with p
// is the scalar one bit for bit; the tail goes through the scalar references (dropout.c).
// Compiled with AVX2 flags: call only after checking zy_simd_level().
#include <immintrin.h>

#include "nn/dropout.h"

#define HASH_MUL 0xD1B54A32D192ED03ull
#define GOLDEN 0x9E3779B97F4A7C15ull
#define MIX1 0xBF58476D1CE4E5B9ull
#define MIX2 0x94D049BB133111EBull

// a * b mod 2^64 per lane: lo·lo + ((hi·lo + lo·hi) << 32)
static inline __m256i mul64(__m256i a, __m256i b) {
    __m256i lo = _mm256_mul_epu32(a, b);
    __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                     _mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)));
    return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

// splitmix64's output function of z (the state already advanced by GOLDEN)
static inline __m256i mix(__m256i z) {
    z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), _mm256_set1_epi64x((long long)MIX1));
    z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), _mm256_set1_epi64x((long long)MIX2));
    return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
}

// The 24-bit uniforms' integers (h >> 40) of 4 counters c, given c·HASH_MUL, in 64-bit lanes.
static inline __m256i hash24(__m256i ck, __m256i key) {
    const __m256i golden = _mm256_set1_epi64x((long long)GOLDEN);
    __m256i rot = _mm256_or_si256(_mm256_slli_epi64(ck, 29), _mm256_srli_epi64(ck, 35));
    __m256i x = _mm256_add_epi64(_mm256_xor_si256(key, rot), golden);
    x = _mm256_xor_si256(x, mix(x));
    return _mm256_srli_epi64(mix(_mm256_add_epi64(x, golden)), 40);
}

// The keep mask (all-ones lanes) of 8 elements whose counters times HASH_MUL are ck0 (the
// first 4) and ck0 + 4·HASH_MUL.
static inline __m256 keep8(__m256i ck0, __m256i step4, __m256 p, __m256i key) {
    const __m256i low_halves = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    // each value < 2^24 sits in its lane's low 32 bits: gather those, 4 from each vector
    __m256i lo = _mm256_permutevar8x32_epi32(hash24(ck0, key), low_halves);
    __m256i hi = _mm256_permutevar8x32_epi32(hash24(_mm256_add_epi64(ck0, step4), key),
                                             low_halves);
    __m256i u24 = _mm256_permute2x128_si256(lo, hi, 0x20);
    __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(u24), _mm256_set1_ps(0x1.0p-24f));
    return _mm256_cmp_ps(u, p, _CMP_GE_OQ);
}

// The products counter·HASH_MUL of counters offset .. offset + 3, and the steps of 4 and 8
// counters: products of later counters are sums of these (mod 2^64).
static inline __m256i first_products(uint64_t offset, __m256i *step4, __m256i *step8) {
    const __m256i lanes = _mm256_setr_epi64x(0, 1, 2, 3);
    *step4 = _mm256_set1_epi64x((long long)(4 * HASH_MUL));
    *step8 = _mm256_set1_epi64x((long long)(8 * HASH_MUL));
    return mul64(_mm256_add_epi64(_mm256_set1_epi64x((long long)offset), lanes),
                 _mm256_set1_epi64x((long long)HASH_MUL));
}

void zy__dropout_forward_avx2(float *out, const float *inp, size_t n, float p, float scale,
                              uint64_t seed, uint64_t offset) {
    const __m256i key = _mm256_set1_epi64x((long long)seed);
    const __m256 s = _mm256_set1_ps(scale), vp = _mm256_set1_ps(p);
    __m256i step4, step8, ck = first_products(offset, &step4, &step8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8, ck = _mm256_add_epi64(ck, step8)) {
        __m256 k = keep8(ck, step4, vp, key);
        _mm256_storeu_ps(out + i, _mm256_and_ps(k, _mm256_mul_ps(_mm256_loadu_ps(inp + i), s)));
    }
    if (i < n) zy__dropout_forward_scalar(out + i, inp + i, n - i, p, scale, seed, offset + i);
}

// Dropped elements keep their bits (a blend, not + 0: -0.0 stays -0.0, as in the scalar).
void zy__dropout_backward_avx2(float *out, const float *inp, size_t n, float p, float scale,
                               uint64_t seed, uint64_t offset) {
    const __m256i key = _mm256_set1_epi64x((long long)seed);
    const __m256 s = _mm256_set1_ps(scale), vp = _mm256_set1_ps(p);
    __m256i step4, step8, ck = first_products(offset, &step4, &step8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8, ck = _mm256_add_epi64(ck, step8)) {
        __m256 k = keep8(ck, step4, vp, key);
        __m256 o = _mm256_loadu_ps(out + i);
        __m256 sum = _mm256_add_ps(o, _mm256_mul_ps(_mm256_loadu_ps(inp + i), s));
        _mm256_storeu_ps(out + i, _mm256_blendv_ps(o, sum, k));
    }
    if (i < n) zy__dropout_backward_scalar(out + i, inp + i, n - i, p, scale, seed, offset + i);
}
