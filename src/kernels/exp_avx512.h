// Private, included only by *_avx512.c files (it needs AVX-512F to compile): e^x for 16
// floats at once, the library's one AVX-512 exp (softmax, cross-entropy, GELU, tiled
// attention). exp_avx2.h is its 8-wide twin; kernels/exp.h states what both promise.
//
// Cephes' expf scheme: e^x = 2^n · e^r with n = round(x·log2 e) and r = x - n·ln2 (ln2
// split in two so r keeps its low bits), e^r from a degree-7 polynomial on [-ln2/2, ln2/2],
// and 2^n applied with vscalefps, which gives overflow to +inf and gradual underflow to 0
// with one rounding and no integer exponent tricks. n is rounded by adding and subtracting
// 1.5·2^23 (an FMA and a subtraction) rather than with vroundscaleps, and the last step is
// one FMA, p·r² + (r + 1): in GELU this measured ~2% faster than roundscale or a separate
// + 1, with the same worst error in the test; in softmax, cross-entropy and tiled attention
// the three forms time the same within noise.
// Accuracy is checked against libm expf by tests/test_losses.c (losses_expf_simd_ulp).
#ifndef ZHUYI_KERNELS_EXP_AVX512_H
#define ZHUYI_KERNELS_EXP_AVX512_H

#include <immintrin.h>

static inline __m512 zy__exp512(__m512 x) {
    // Below -104 (masked scores' -inf among them) e^x is 0 in float: those lanes are
    // computed from 0 and zeroed at the end, because vscalefps rounding a tiny result to 0
    // costs a microcode assist without flush-to-zero (tiled attention under a causal mask
    // spent a third of its time in them). Clamp above so +inf gives inf without
    // inf - inf = NaN inside; x goes second so a NaN passes through (min returns its second
    // operand when either is NaN; NaN is not below -104).
    const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-104.0f), _CMP_LT_OQ);
    x = _mm512_mask_mov_ps(x, under, _mm512_setzero_ps());
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    const __m512 magic = _mm512_set1_ps(12582912.0f); // 1.5 * 2^23
    __m512 n = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic);
    n = _mm512_sub_ps(n, magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_maskz_scalef_ps((__mmask16)~under, p, n);
}

// Lanes [0, left) of a 16-wide step, for row tails (left > 16 means all lanes).
static inline __mmask16 zy__tail16(int left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

#endif
