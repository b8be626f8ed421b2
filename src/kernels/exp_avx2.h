// Private, included only by *_avx2.c files (it needs AVX2 + FMA to compile): e^x for 8
// floats at once, the library's one AVX2 exp, with the scheme and the policy of
// exp_avx512.h (Cephes: e^x = 2^n · e^r, r = x - n·ln2 with ln2 split in two, degree-7
// polynomial on [-ln2/2, ln2/2]; the policy is in kernels/exp.h). AVX2 has no vscalefps,
// so 2^n is applied as two exact powers of two built in the exponent field,
// 2^(n - n/2) · 2^(n/2): each factor stays a normal float for n in [-150, 128], and the
// rounding of the second product gives the same overflow to +inf and gradual underflow.
// Accuracy is checked against libm expf by tests/test_losses.c (losses_expf_simd_ulp).
#ifndef ZHUYI_KERNELS_EXP_AVX2_H
#define ZHUYI_KERNELS_EXP_AVX2_H

#include <immintrin.h>

// 2^k for integer lanes k in [-126, 127], built directly in the exponent field.
static inline __m256 zy__pow2i256(__m256i k) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
}

static inline __m256 zy__exp256(__m256 x) {
    // As the AVX-512 version: below -104, 0 without an underflowing multiply (computed
    // from 0, zeroed at the end); clamped above, x second so a NaN passes through.
    const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-104.0f), _CMP_LT_OQ);
    x = _mm256_andnot_ps(under, x);
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
    p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
    // n in [-150, 128]: n1 = floor(n / 2) in [-75, 64], n2 = n - n1 in [-75, 64].
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    return _mm256_andnot_ps(under, _mm256_mul_ps(_mm256_mul_ps(p, zy__pow2i256(n1)),
                                                 zy__pow2i256(n2)));
}

// Lanes [0, left) of an 8-wide step as a maskload/maskstore mask (all lanes if left >= 8).
static inline __m256i zy__tail8(int left) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Loads lanes k of p, the others read as `fill` (maskload never touches masked lanes).
static inline __m256 zy__load8(const float *p, __m256i k, __m256 fill) {
    return _mm256_blendv_ps(fill, _mm256_maskload_ps(p, k), _mm256_castsi256_ps(k));
}

static inline float zy__hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static inline float zy__hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline double zy__hsum256d(__m256d v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

#endif
