// AVX-512 column sums (colsum.h): rows read along their length, four at a time, into the
// accumulators 16 columns a step (a row of them stays in L1); each column's rows are
// added in order, so the bits are the scalar loop's. Compiled with AVX-512 flags: call
// only after checking zy_simd_level().
#include <immintrin.h>

#include "kernels/gemm_avx512.h"
#include "nn/colsum.h"

// acc[0..16) masked by k (low 8, high 8) += the `rows` rows of 16 floats at p, ld apart,
// in order.
static inline void add_rows(double *acc, const float *p, size_t ld, int rows, __mmask16 k) {
    __mmask8 k0 = (__mmask8)k, k1 = (__mmask8)(k >> 8);
    __m512d lo = _mm512_maskz_loadu_pd(k0, acc), hi = _mm512_maskz_loadu_pd(k1, acc + 8);
    for (int r = 0; r < rows; r++, p += ld) {
        __m512 v = _mm512_maskz_loadu_ps(k, p);
        lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
        hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
    }
    _mm512_mask_storeu_pd(acc, k0, lo);
    _mm512_mask_storeu_pd(acc + 8, k1, hi);
}

void zy__colsum_avx512(double *acc, const float *rows, size_t ld, size_t n, int C) {
    for (size_t r = 0; r < n; r += 4) {
        int rs = n - r < 4 ? (int)(n - r) : 4;
        const float *p = rows + r * ld;
        int c = 0;
        for (; c + 16 <= C; c += 16) add_rows(acc + c, p + c, ld, rs, 0xFFFF);
        if (c < C) add_rows(acc + c, p + c, ld, rs, zy__mask16(C - c));
    }
}
