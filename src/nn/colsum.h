// Private to src/nn: column sums of fp32 rows into double accumulators (linear's dbias).
// Not public API.
#ifndef ZHUYI_NN_COLSUM_H
#define ZHUYI_NN_COLSUM_H

#include <stddef.h>

// acc[c] += rows[r * ld + c] for r = 0 .. n-1 in order, c < C: each column's sum in double
// in row order, as the scalar loop `acc[c] += d[c]` row by row gives it (the same bits).
// AVX-512: only where zy_simd_level() >= ZY_SIMD_AVX512.
void zy__colsum_avx512(double *acc, const float *rows, size_t ld, size_t n, int C);

#endif
