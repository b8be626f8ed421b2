// AVX2 row kernels of cross_entropy.c, the 8-wide twins of cross_entropy_avx512.c (their
// scalar references are xent_row_*_scalar in cross_entropy.c). Called only when
// zy_simd_level() == ZY_SIMD_AVX2. Sums of e^(x - max) and of x are kept in double lanes.
#include <math.h>

#include "kernels/exp_avx2.h"
#include "nn/exp_rows.h"

static inline __m256d sum_pd(__m256d acc, __m256 v) {
    acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    return _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

void zy__xent_row_stats_avx2(const float *x, int V, float *max, double *sumexp, double *sumx) {
    const __m256 ninf = _mm256_set1_ps(-INFINITY);
    __m256 vmax = ninf;
    for (int j = 0; j < V; j += 8)
        vmax = _mm256_max_ps(vmax, zy__load8(x + j, zy__tail8(V - j), ninf));
    float mx = zy__hmax256(vmax);
    __m256 vmx = _mm256_set1_ps(mx);
    __m256d se = _mm256_setzero_pd(), sx = _mm256_setzero_pd();
    for (int j = 0; j < V; j += 8) {
        __m256i k = zy__tail8(V - j);
        // Lanes past the row read as -inf: they add e^-inf = 0 to Σ e, and are masked to
        // 0 for Σ x.
        __m256 v = zy__load8(x + j, k, ninf);
        se = sum_pd(se, zy__exp256(_mm256_sub_ps(v, vmx)));
        sx = sum_pd(sx, _mm256_and_ps(v, _mm256_castsi256_ps(k)));
    }
    *max = mx;
    *sumexp = zy__hsum256d(se);
    *sumx = zy__hsum256d(sx);
}

void zy__xent_row_grad_avx2(float *d, const float *x, int V, float lse, float scale,
                            float sub) {
    __m256 vlse = _mm256_set1_ps(lse), vscale = _mm256_set1_ps(scale);
    __m256 vsub = _mm256_set1_ps(sub);
    for (int j = 0; j < V; j += 8) {
        __m256i k = zy__tail8(V - j);
        __m256 p = zy__exp256(_mm256_sub_ps(_mm256_maskload_ps(x + j, k), vlse));
        __m256 g =
            _mm256_fmadd_ps(vscale, _mm256_sub_ps(p, vsub), _mm256_maskload_ps(d + j, k));
        _mm256_maskstore_ps(d + j, k, g);
    }
}
