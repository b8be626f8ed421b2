// Private to src/nn: row kernels built on the vectorised exp (kernels/exp.h), shared by
// softmax.c and cross_entropy.c. The scalar references live in those files (plain expf,
// double sums); the _avx512 versions run when zy_simd_level() >= ZY_SIMD_AVX512, the
// _avx2 versions when it is ZY_SIMD_AVX2. They differ from the references only in
// summation order and in the polynomial exp (within 1-2 ulp of expf).
#ifndef ZHUYI_NN_EXP_ROWS_H
#define ZHUYI_NN_EXP_ROWS_H

#include <stddef.h>

// x (N), m (N) or NULL -> out (N) = softmax(x + m); all zeros if every x + m is -inf.
void zy__softmax_row_avx512(float *out, const float *x, const float *m, int N);
void zy__softmax_row_avx2(float *out, const float *x, const float *m, int N);

// x (V) -> *max = max_v x, *sumexp = Σ e^(x - max), *sumx = Σ x (sums in double).
void zy__xent_row_stats_avx512(const float *x, int V, float *max, double *sumexp, double *sumx);
void zy__xent_row_stats_avx2(const float *x, int V, float *max, double *sumexp, double *sumx);

// x (V) -> d (V) += scale * (e^(x - lse) - sub)
void zy__xent_row_grad_avx512(float *d, const float *x, int V, float lse, float scale,
                              float sub);
void zy__xent_row_grad_avx2(float *d, const float *x, int V, float lse, float scale, float sub);

#endif
