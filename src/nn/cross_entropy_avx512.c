// AVX-512 row kernels of cross_entropy.c (their scalar references are there, named
// xent_row_*_scalar). Called only when zy_simd_level() >= ZY_SIMD_AVX512. Sums of
// e^(x - max) and of x are accumulated in double lanes, as the reference does in one
// double, so a 50257-wide row loses no more than the reference to rounding.
#include <math.h>

#include "kernels/exp_avx512.h"
#include "nn/exp_rows.h"

static inline __m512d sum_pd(__m512d acc, __m512 v) {
    acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    return _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

void zy__xent_row_stats_avx512(const float *x, int V, float *max, double *sumexp,
                               double *sumx) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    __m512 vmax = ninf;
    for (int j = 0; j < V; j += 16)
        vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(ninf, zy__tail16(V - j), x + j));
    float mx = _mm512_reduce_max_ps(vmax);
    __m512 vmx = _mm512_set1_ps(mx);
    __m512d se = _mm512_setzero_pd(), sx = _mm512_setzero_pd();
    for (int j = 0; j < V; j += 16) {
        __mmask16 k = zy__tail16(V - j);
        // Lanes past the row read as -inf: they add e^-inf = 0 to Σ e and 0 to Σ x.
        __m512 v = _mm512_mask_loadu_ps(ninf, k, x + j);
        se = sum_pd(se, zy__exp512(_mm512_sub_ps(v, vmx)));
        sx = sum_pd(sx, _mm512_maskz_mov_ps(k, v));
    }
    *max = mx;
    *sumexp = _mm512_reduce_add_pd(se);
    *sumx = _mm512_reduce_add_pd(sx);
}

void zy__xent_row_grad_avx512(float *d, const float *x, int V, float lse, float scale,
                              float sub) {
    __m512 vlse = _mm512_set1_ps(lse), vscale = _mm512_set1_ps(scale);
    __m512 vsub = _mm512_set1_ps(sub);
    for (int j = 0; j < V; j += 16) {
        __mmask16 k = zy__tail16(V - j);
        __m512 p = zy__exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), vlse));
        __m512 g =
            _mm512_fmadd_ps(vscale, _mm512_sub_ps(p, vsub), _mm512_maskz_loadu_ps(k, d + j));
        _mm512_mask_storeu_ps(d + j, k, g);
    }
}
