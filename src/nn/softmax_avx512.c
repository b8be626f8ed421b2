// AVX-512 row softmax. Called from softmax.c only when zy_simd_level() >= ZY_SIMD_AVX512;
// softmax_row_scalar there is its reference. Differs from the reference only in summation
// order (16 float lanes) and in using the polynomial exp of kernels/exp_avx512.h.
#include <math.h>

#include "kernels/exp_avx512.h"
#include "nn/exp_rows.h"

// x + m for lanes k; lanes outside k read as -inf so they never win the max and exp
// to 0.
static inline __m512 load_masked_row(const float *x, const float *m, int j, __mmask16 k) {
    __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), k, x + j);
    if (m) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, m + j));
    return v;
}

void zy__softmax_row_avx512(float *out, const float *x, const float *m, int N) {
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < N; j += 16)
        vmax = _mm512_max_ps(vmax, load_masked_row(x, m, j, zy__tail16(N - j)));
    float mx = _mm512_reduce_max_ps(vmax);
    if (mx == -INFINITY) { // every position excluded: zeros rather than 0/0
        for (int j = 0; j < N; j += 16)
            _mm512_mask_storeu_ps(out + j, zy__tail16(N - j), _mm512_setzero_ps());
        return;
    }
    __m512 vmx = _mm512_set1_ps(mx), vsum = _mm512_setzero_ps();
    for (int j = 0; j < N; j += 16) {
        __mmask16 k = zy__tail16(N - j);
        __m512 e = zy__exp512(_mm512_sub_ps(load_masked_row(x, m, j, k), vmx));
        _mm512_mask_storeu_ps(out + j, k, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
    for (int j = 0; j < N; j += 16) {
        __mmask16 k = zy__tail16(N - j);
        _mm512_mask_storeu_ps(out + j, k,
                              _mm512_mul_ps(_mm512_maskz_loadu_ps(k, out + j), inv));
    }
}
