// AVX-512 GELU (and SiLU), forward and backward, 16 floats per step with a masked tail.
// tanh approximation: the identity 0.5 (1 + tanh(u)) = σ(2u) = 1 / (1 + e^(-2u)), so one
// vector exp replaces tanh; for very negative x this is also more accurate than 1 + tanh
// (no cancellation).
// erf form (BERT's "gelu"): Φ(x) = 0.5 erfc(-x/√2) with erfc from Numerical Recipes'
// Chebyshev fit, erfc(z) = t·exp(-z² - 1.26551223 + t·P(t)), t = 1/(1 + z/2), z >= 0,
// fractional error below 1.2e-7 for every z, so Φ is accurate relative to itself on the
// negative side (x·Φ(x) -> 0) and 1 - 0.5 erfc(|x|/√2) on the positive side.
// The scalar references are zy__gelu_*_scalar in activation.c. Compiled with AVX-512
// flags: call only after checking zy_simd_level().
#include <immintrin.h>

#include "kernels/exp_avx512.h"
#include "nn/activation.h"

// s = σ(2u) = 1 / (1 + e), e = e^(-2u), u = √(2/π) (x + 0.044715 x³); *e_out = e
static inline __m512 gelu_sigma(__m512 x, __m512 x2, __m512 *e_out) {
    __m512 inner = _mm512_fmadd_ps(_mm512_set1_ps(ZY__GELU_K1), x2, _mm512_set1_ps(1.0f));
    __m512 m2u = _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(-2.0f * ZY__GELU_K0)), inner);
    __m512 one = _mm512_set1_ps(1.0f);
    // The argument is capped at 88 so e stays finite (e^88 ~ 1.65e38; the exp gives +inf
    // past 88.72): for x far below 0, s is then ~6e-39 rather than 0 and e·s stays ~1, so
    // backward never forms inf·0. 88 goes first so a NaN x passes through.
    __m512 e = zy__exp512(_mm512_min_ps(_mm512_set1_ps(88.0f), m2u));
    *e_out = e;
    return _mm512_div_ps(one, _mm512_add_ps(one, e));
}

// Φ(x) for 16 floats; *g_out (if not NULL) = e^(-x²/2), for φ(x) in backward.
static inline __m512 normal_cdf(__m512 x, __m512 *g_out) {
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
    __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(ZY__INV_SQRT2));
    __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(half, z, one));
    static const float c[] = ZY__ERFC_POLY;
    __m512 p = _mm512_set1_ps(c[0]);
    for (int i = 1; i < 10; i++) p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(c[i]));
    // e^(-z²) apart from e^(p) so backward reuses it: e^(-z²) = e^(-x²/2)
    __m512 g = zy__exp512(_mm512_mul_ps(_mm512_mul_ps(z, z), _mm512_set1_ps(-1.0f)));
    if (g_out) *g_out = g;
    __m512 tail = _mm512_mul_ps(_mm512_mul_ps(half, t), _mm512_mul_ps(g, zy__exp512(p)));
    // x < 0: Φ = 0.5 erfc(|x|/√2); otherwise 1 - that. A NaN x fails the compare and
    // keeps the NaN of 1 - tail.
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(neg, _mm512_sub_ps(one, tail), tail);
}

// inp (n) -> out (n) = x Φ(x)
static void gelu_erf_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, inp + i);
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(x, normal_cdf(x, NULL)));
    }
}

// dout, inp (n) -> dinp (n) += dout · (Φ(x) + x φ(x)), φ(x) = e^(-x²/2) / √(2π)
static void gelu_erf_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, inp + i);
        __m512 e;
        __m512 cdf = normal_cdf(x, &e);
        __m512 g = _mm512_fmadd_ps(_mm512_mul_ps(x, _mm512_set1_ps(ZY__INV_SQRT_2PI)), e, cdf);
        __m512 d = _mm512_maskz_loadu_ps(m, dout + i);
        __m512 acc = _mm512_maskz_loadu_ps(m, dinp + i);
        _mm512_mask_storeu_ps(dinp + i, m, _mm512_fmadd_ps(d, g, acc));
    }
}

// inp (n) -> out (n) = x σ(2u)
void zy__gelu_forward_avx512(float *out, const float *inp, size_t n, zy_gelu_kind kind) {
    if (kind == ZY_GELU_ERF) {
        gelu_erf_forward(out, inp, n);
        return;
    }
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, inp + i);
        __m512 e;
        __m512 s = gelu_sigma(x, _mm512_mul_ps(x, x), &e);
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(x, s));
    }
}

// dout, inp (n) -> dinp (n) += dout · (s + 2 x s (1 - s) · √(2/π) (1 + 3·0.044715 x²)),
// the tanh-form derivative rewritten with 1 - tanh² = 4 s (1 - s).
void zy__gelu_backward_avx512(float *dinp, const float *dout, const float *inp, size_t n,
                              zy_gelu_kind kind) {
    if (kind == ZY_GELU_ERF) {
        gelu_erf_backward(dinp, dout, inp, n);
        return;
    }
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, inp + i);
        __m512 x2 = _mm512_mul_ps(x, x);
        __m512 e;
        __m512 s = gelu_sigma(x, x2, &e);
        __m512 du = _mm512_mul_ps(_mm512_set1_ps(ZY__GELU_K0),
                                  _mm512_fmadd_ps(_mm512_set1_ps(3.0f * ZY__GELU_K1), x2, one));
        // 1 - s = e·s exactly; computing it that way avoids cancellation when s -> 1.
        __m512 t = _mm512_mul_ps(_mm512_mul_ps(_mm512_add_ps(x, x), s),
                                 _mm512_mul_ps(_mm512_mul_ps(e, s), du));
        __m512 g = _mm512_add_ps(s, t);
        __m512 d = _mm512_maskz_loadu_ps(m, dout + i);
        __m512 acc = _mm512_maskz_loadu_ps(m, dinp + i);
        _mm512_mask_storeu_ps(dinp + i, m, _mm512_fmadd_ps(d, g, acc));
    }
}

// SiLU: x / (1 + e^-x). Past x < -88.7, e^-x = inf and the quotient is -0, as the scalar
// form's; a NaN passes through the exp and the division.
void zy__silu_forward_avx512(float *out, const float *inp, size_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, inp + i);
        __m512 d = _mm512_add_ps(one, zy__exp512(_mm512_sub_ps(_mm512_setzero_ps(), x)));
        _mm512_mask_storeu_ps(out + i, m, _mm512_div_ps(x, d));
    }
}

// dinp += dout · s · (1 + x (1 - s)), s = 1 / (1 + e^-x).
void zy__silu_backward_avx512(float *dinp, const float *dout, const float *inp, size_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, inp + i);
        __m512 s = _mm512_div_ps(
            one, _mm512_add_ps(one, zy__exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
        __m512 g = _mm512_mul_ps(s, _mm512_add_ps(one, _mm512_mul_ps(x, _mm512_sub_ps(one, s))));
        __m512 d = _mm512_maskz_loadu_ps(m, dinp + i);
        d = _mm512_add_ps(d, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dout + i), g));
        _mm512_mask_storeu_ps(dinp + i, m, d);
    }
}
