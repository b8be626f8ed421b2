// AVX2 row softmax, the 8-wide twin of softmax_avx512.c. Called from softmax.c only when
// zy_simd_level() == ZY_SIMD_AVX2; softmax_row_scalar there is its reference.
#include <math.h>

#include "kernels/exp_avx2.h"
#include "nn/exp_rows.h"

// x + m for lanes k; lanes outside k read as -inf so they never win the max and exp to 0.
static inline __m256 load_masked_row(const float *x, const float *m, int j, __m256i k) {
    __m256 v = zy__load8(x + j, k, _mm256_set1_ps(-INFINITY));
    if (m) v = _mm256_add_ps(v, _mm256_maskload_ps(m + j, k));
    return v;
}

void zy__softmax_row_avx2(float *out, const float *x, const float *m, int N) {
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    for (int j = 0; j < N; j += 8)
        vmax = _mm256_max_ps(vmax, load_masked_row(x, m, j, zy__tail8(N - j)));
    float mx = zy__hmax256(vmax);
    if (mx == -INFINITY) { // every position excluded: zeros rather than 0/0
        for (int j = 0; j < N; j += 8)
            _mm256_maskstore_ps(out + j, zy__tail8(N - j), _mm256_setzero_ps());
        return;
    }
    __m256 vmx = _mm256_set1_ps(mx), vsum = _mm256_setzero_ps();
    for (int j = 0; j < N; j += 8) {
        __m256i k = zy__tail8(N - j);
        __m256 e = zy__exp256(_mm256_sub_ps(load_masked_row(x, m, j, k), vmx));
        _mm256_maskstore_ps(out + j, k, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    __m256 inv = _mm256_set1_ps(1.0f / zy__hsum256(vsum));
    for (int j = 0; j < N; j += 8) {
        __m256i k = zy__tail8(N - j);
        _mm256_maskstore_ps(out + j, k, _mm256_mul_ps(_mm256_maskload_ps(out + j, k), inv));
    }
}
