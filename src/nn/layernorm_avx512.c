// AVX-512 twins of layernorm.c's rows (ln_forward_row, ln_backward_row, the scalar
// references): 16 columns a step, a masked tail. Every element sees the scalar row's
// operations in the same order (the forward's sums in sum8's 8 lanes, the backward's in 16,
// element c in lane c % lanes, the lanes then added in order), and -std=c11 keeps the
// compiler from fusing a multiply and an add, so both give the same bits. Compiled with
// AVX-512 flags: call only after checking zy_simd_level().
#include <immintrin.h>
#include <math.h>

#include "kernels/gemm_avx512.h"
#include "nn/layernorm.h"

// The 16 lanes added in order, as the scalar row does.
static float lanes_sum(__m512 v) {
    float l[16];
    _mm512_storeu_ps(l, v);
    float s = 0.0f;
    for (int k = 0; k < 16; k++) s += l[k];
    return s;
}

// sum8's sum (layernorm.c) of x[0..n), or of (x - m)² with sq: 8 lanes over whole blocks of
// 8, the tail on its own, then the lanes added to it in order.
static float sum8(const float *x, int n, float m, bool sq) {
    __m256 acc = _mm256_setzero_ps(), vm = _mm256_set1_ps(m);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        if (sq) {
            v = _mm256_sub_ps(v, vm);
            v = _mm256_mul_ps(v, v);
        }
        acc = _mm256_add_ps(acc, v);
    }
    float s = 0.0f;
    for (; i < n; i++) s += sq ? (x[i] - m) * (x[i] - m) : x[i];
    float l[8];
    _mm256_storeu_ps(l, acc);
    for (int k = 0; k < 8; k++) s += l[k];
    return s;
}

void zy__ln_forward_row_avx512(const float *x, const float *w, const float *b, int C,
                               float eps, float *o, float *mean, float *rstd) {
    float m = sum8(x, C, 0.0f, false) / (float)C;
    float var = sum8(x, C, m, true) / (float)C;
    float s = 1.0f / sqrtf(var + eps);
    const __m512 vm = _mm512_set1_ps(m), vs = _mm512_set1_ps(s);
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = zy__mask16(C - c);
        __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + c), vm), vs);
        __m512 y = _mm512_add_ps(_mm512_mul_ps(xhat, _mm512_maskz_loadu_ps(k, w + c)),
                                 _mm512_maskz_loadu_ps(k, b + c));
        _mm512_mask_storeu_ps(o + c, k, y);
    }
    *mean = m;
    *rstd = s;
}

// p[0..8) += the (double) lanes of h under mask k.
static inline void add_pd8(double *p, __mmask8 k, __m256 h) {
    _mm512_mask_storeu_pd(p, k, _mm512_add_pd(_mm512_maskz_loadu_pd(k, p), _mm512_cvtps_pd(h)));
}

void zy__ln_backward_row_avx512(const float *x, const float *d, const float *w, float m,
                                float s, int C, double *pw, double *pb, float *dx,
                                bool assign) {
    const __m512 vm = _mm512_set1_ps(m), vs = _mm512_set1_ps(s);
    if (pw) {
        for (int c = 0; c < C; c += 16) {
            __mmask16 k = zy__mask16(C - c);
            __m512 dv = _mm512_maskz_loadu_ps(k, d + c);
            __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + c), vm), vs);
            __m512 t = _mm512_mul_ps(dv, xhat);
            __mmask8 k0 = (__mmask8)k, k1 = (__mmask8)(k >> 8);
            add_pd8(pw + c, k0, _mm512_castps512_ps256(t));
            add_pd8(pw + c + 8, k1, _mm512_extractf32x8_ps(t, 1));
            add_pd8(pb + c, k0, _mm512_castps512_ps256(dv));
            add_pd8(pb + c + 8, k1, _mm512_extractf32x8_ps(dv, 1));
        }
    }
    if (!dx) return;
    __m512 ag = _mm512_setzero_ps(), agx = _mm512_setzero_ps();
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = zy__mask16(C - c);
        __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, d + c), _mm512_maskz_loadu_ps(k, w + c));
        __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + c), vm), vs);
        ag = _mm512_mask_add_ps(ag, k, ag, g);
        agx = _mm512_mask_add_ps(agx, k, agx, _mm512_mul_ps(g, xhat));
    }
    const __m512 g_mean = _mm512_set1_ps(lanes_sum(ag) / (float)C);
    const __m512 gx_mean = _mm512_set1_ps(lanes_sum(agx) / (float)C);
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = zy__mask16(C - c);
        __m512 dw = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, d + c), _mm512_maskz_loadu_ps(k, w + c));
        __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + c), vm), vs);
        __m512 g = _mm512_mul_ps(
            vs, _mm512_sub_ps(_mm512_sub_ps(dw, g_mean), _mm512_mul_ps(xhat, gx_mean)));
        if (!assign) g = _mm512_add_ps(_mm512_maskz_loadu_ps(k, dx + c), g);
        _mm512_mask_storeu_ps(dx + c, k, g);
    }
}
