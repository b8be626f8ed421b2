// AVX2 GELU (and SiLU), forward and backward, 8 floats per step with a masked tail: the formulas of
// activation_avx512.c (σ(2u) for the tanh form, Numerical Recipes' erfc fit for the erf
// form; accuracy notes there) on 8-wide registers. The scalar references are
// zy__gelu_*_scalar in activation.c. Compiled with AVX2 + FMA flags: call only after
// checking zy_simd_level().
#include <immintrin.h>

#include "kernels/exp_avx2.h"
#include "nn/activation.h"

// s = σ(2u) = 1 / (1 + e), e = e^(-2u), u = √(2/π) (x + 0.044715 x³); *e_out = e. The
// argument is capped at 88 (e stays finite; see activation_avx512.c), 88 first so a NaN x
// passes through.
static inline __m256 gelu_sigma(__m256 x, __m256 x2, __m256 *e_out) {
    __m256 inner = _mm256_fmadd_ps(_mm256_set1_ps(ZY__GELU_K1), x2, _mm256_set1_ps(1.0f));
    __m256 m2u = _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(-2.0f * ZY__GELU_K0)), inner);
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = zy__exp256(_mm256_min_ps(_mm256_set1_ps(88.0f), m2u));
    *e_out = e;
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

// Φ(x) for 8 floats; *g_out (if not NULL) = e^(-x²/2), for φ(x) in backward.
static inline __m256 normal_cdf(__m256 x, __m256 *g_out) {
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 z = _mm256_mul_ps(ax, _mm256_set1_ps(ZY__INV_SQRT2));
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(half, z, one));
    static const float c[] = ZY__ERFC_POLY;
    __m256 p = _mm256_set1_ps(c[0]);
    for (int i = 1; i < 10; i++) p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c[i]));
    __m256 g = zy__exp256(_mm256_mul_ps(_mm256_mul_ps(z, z), _mm256_set1_ps(-1.0f)));
    if (g_out) *g_out = g;
    __m256 tail = _mm256_mul_ps(_mm256_mul_ps(half, t), _mm256_mul_ps(g, zy__exp256(p)));
    // x < 0: Φ = 0.5 erfc(|x|/√2); otherwise 1 - that (a NaN x keeps 1 - tail's NaN).
    __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(_mm256_sub_ps(one, tail), tail, neg);
}

void zy__gelu_forward_avx2(float *out, const float *inp, size_t n, zy_gelu_kind kind) {
    for (size_t i = 0; i < n; i += 8) {
        const __m256i m = zy__tail8(n - i >= 8 ? 8 : (int)(n - i));
        __m256 x = _mm256_maskload_ps(inp + i, m), y;
        if (kind == ZY_GELU_ERF) {
            y = _mm256_mul_ps(x, normal_cdf(x, NULL));
        } else {
            __m256 e;
            y = _mm256_mul_ps(x, gelu_sigma(x, _mm256_mul_ps(x, x), &e));
        }
        _mm256_maskstore_ps(out + i, m, y);
    }
}

// erf form: dinp += dout · (Φ(x) + x φ(x)); tanh form: dinp += dout · (s + 2 x s (1 - s) ·
// √(2/π) (1 + 3·0.044715 x²)) with 1 - s = e·s (no cancellation as s -> 1).
void zy__gelu_backward_avx2(float *dinp, const float *dout, const float *inp, size_t n,
                            zy_gelu_kind kind) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 8) {
        const __m256i m = zy__tail8(n - i >= 8 ? 8 : (int)(n - i));
        __m256 x = _mm256_maskload_ps(inp + i, m), g, e;
        if (kind == ZY_GELU_ERF) {
            __m256 cdf = normal_cdf(x, &e);
            g = _mm256_fmadd_ps(_mm256_mul_ps(x, _mm256_set1_ps(ZY__INV_SQRT_2PI)), e, cdf);
        } else {
            __m256 x2 = _mm256_mul_ps(x, x);
            __m256 s = gelu_sigma(x, x2, &e);
            __m256 du = _mm256_mul_ps(_mm256_set1_ps(ZY__GELU_K0),
                                      _mm256_fmadd_ps(_mm256_set1_ps(3.0f * ZY__GELU_K1), x2, one));
            __m256 t = _mm256_mul_ps(_mm256_mul_ps(_mm256_add_ps(x, x), s),
                                     _mm256_mul_ps(_mm256_mul_ps(e, s), du));
            g = _mm256_add_ps(s, t);
        }
        __m256 d = _mm256_maskload_ps(dout + i, m);
        __m256 acc = _mm256_maskload_ps(dinp + i, m);
        _mm256_maskstore_ps(dinp + i, m, _mm256_fmadd_ps(d, g, acc));
    }
}

// SiLU as activation_avx512.c computes it, 8 floats per step.
void zy__silu_forward_avx2(float *out, const float *inp, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 8) {
        const __m256i m = zy__tail8(n - i >= 8 ? 8 : (int)(n - i));
        __m256 x = _mm256_maskload_ps(inp + i, m);
        __m256 d = _mm256_add_ps(one, zy__exp256(_mm256_sub_ps(_mm256_setzero_ps(), x)));
        _mm256_maskstore_ps(out + i, m, _mm256_div_ps(x, d));
    }
}

void zy__silu_backward_avx2(float *dinp, const float *dout, const float *inp, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 8) {
        const __m256i m = zy__tail8(n - i >= 8 ? 8 : (int)(n - i));
        __m256 x = _mm256_maskload_ps(inp + i, m);
        __m256 s = _mm256_div_ps(
            one, _mm256_add_ps(one, zy__exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        __m256 g = _mm256_mul_ps(s, _mm256_add_ps(one, _mm256_mul_ps(x, _mm256_sub_ps(one, s))));
        __m256 d = _mm256_maskload_ps(dinp + i, m);
        d = _mm256_add_ps(d, _mm256_mul_ps(_mm256_maskload_ps(dout + i, m), g));
        _mm256_maskstore_ps(dinp + i, m, d);
    }
}
