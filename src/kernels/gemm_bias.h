// Private to the library: a GEMM with a bias epilogue, for linear layers (src/nn/linear.c).
// Adding the bias inside the GEMM's own chunks, while each block of C is in cache, saves a
// second parallel region per linear forward (4 per transformer layer) with the same bits
// as a separate pass: C = op(A)·op(B) is rounded first, then each element gets + bias.
#ifndef ZHUYI_KERNELS_GEMM_BIAS_H
#define ZHUYI_KERNELS_GEMM_BIAS_H

#include <stdbool.h>

#include "zhuyi/quant.h"

// C (M,N) = op(A) (M,K) · op(B) (K,N) + bias (N) on every row; strides and transposes as
// zy_sgemm (include/zhuyi/gemm.h) with alpha = 1, beta = 0. bias may be NULL.
void zy__sgemm_bias(bool transA, bool transB, int M, int N, int K, const float *A, int lda,
                    const float *B, int ldb, const float *bias, float *C, int ldc);

// The same product of a linear layer whose weights are typed rows (quant.h: W (N, K), any
// type; decoding's prompt chunks): out (R, N) rows ldo apart = in (R, K) rows ldi apart ·
// Wᵀ + bias (N, or NULL), at the calling thread's matmul precision. The GEMM's packer
// decodes W a panel at a time (zy_dequantize_row's values; a bf16 W under bf16 matmuls is
// read as it lies), so no fp32 copy of W is made or needed, and the bits are
// zy__sgemm_bias's over the decoded matrix.
void zy__wgemm(float *out, int ldo, const zy_wmatrix *W, const float *in, int ldi,
               const float *bias, int R);

#endif
