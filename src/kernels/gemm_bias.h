// Private to the library: a GEMM with a bias epilogue, for linear layers (src/nn/linear.c).
// Adding the bias inside the GEMM's own chunks, while each block of C is in cache, saves a
// second parallel region per linear forward (4 per transformer layer) with the same bits
// as a separate pass: C = op(A)·op(B) is rounded first, then each element gets + bias.
#ifndef ZHUYI_KERNELS_GEMM_BIAS_H
#define ZHUYI_KERNELS_GEMM_BIAS_H

#include <stdbool.h>

// C (M,N) = op(A) (M,K) · op(B) (K,N) + bias (N) on every row; strides and transposes as
// zy_sgemm (include/zhuyi/gemm.h) with alpha = 1, beta = 0. bias may be NULL.
void zy__sgemm_bias(bool transA, bool transB, int M, int N, int K, const float *A, int lda,
                    const float *B, int ldb, const float *bias, float *C, int ldc);

#endif
