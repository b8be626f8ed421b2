// zhuyi GEMM: single-precision matrix multiply for the shapes a transformer uses.
// Row-major throughout. The fast path (AVX-512 or AVX2 micro-kernels over packed,
// cache-blocked panels, on the library's thread pool) is chosen at run time from
// zy_simd_level(); zy_sgemm_ref is the scalar reference every fast path is tested against.
#ifndef ZHUYI_GEMM_H
#define ZHUYI_GEMM_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

// C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C
//   A is (M,K) with row stride lda, or (K,M) when transA (op(A) = Aᵀ)
//   B is (K,N) with row stride ldb, or (N,K) when transB (op(B) = Bᵀ)
//   C is (M,N) with row stride ldc.
// beta == 0 writes C without reading it (NaN/Inf already in C do not propagate).
// M, N or K == 0 is allowed (K == 0 gives C = beta * C). Called from inside a parallel
// region (a chunk of another kernel, or an OpenMP region) it runs on the calling thread
// only.
void zy_sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc);

// `batch` independent GEMMs of the same shape: matrix i uses A + i*strideA,
// B + i*strideB, C + i*strideC (strides in floats). For attention: (B*H) small products.
void zy_sgemm_batched(bool transA, bool transB, int M, int N, int K, float alpha,
                      const float *A, int lda, ptrdiff_t strideA, const float *B, int ldb,
                      ptrdiff_t strideB, float beta, float *C, int ldc, ptrdiff_t strideC,
                      int batch);

// Matmul precision of the calling thread, for zy_sgemm and zy_sgemm_batched (and so every
// layer built on them: linear layers, attention's products). FP32 (the default) computes
// in fp32. BF16 rounds op(A) and op(B) to bf16 (nearest, ties to even; subnormals to zero,
// as AVX512-BF16's conversion does) and accumulates the products in fp32, on the fastest
// path the CPU has (AMX, AVX512-BF16 or the emulation: zy_bf16_level(), core.h): inputs
// and outputs stay fp32, results differ from fp32 by about bf16's precision (2^-9 relative
// per input) and between paths in the last bits; each path is deterministic and the same
// at any thread count; in a product with alpha 1 and beta 0 a row's bits do not depend on
// how many rows the product has (every product is packed, however small, and AMX sums
// its k blocks as one). Returns the previous setting.
typedef enum zy_precision { ZY_PRECISION_FP32 = 0, ZY_PRECISION_BF16 = 1 } zy_precision;
zy_precision zy_gemm_precision_set(zy_precision p);
zy_precision zy_gemm_precision(void);

// The bf16 product with either operand given in bf16: A and B each fp32 (ZY_DTYPE_F32:
// rounded to bf16 as ZY_PRECISION_BF16 rounds) or bf16 (ZY_DTYPE_BF16: uint16_t bit
// patterns as zy_f32_to_bf16 writes them, used as they are; subnormals count as zero), lda
// and ldb in elements of their own type; C fp32 as in zy_sgemm. Always on the bf16 path
// (zy_bf16_level(): AMX, AVX512-BF16 or the emulation), whatever the calling thread's
// precision, and at every size (no fp32 shortcut for tiny products): the bits equal
// zy_sgemm's under ZY_PRECISION_BF16 given the same values in fp32. Halves what the
// product reads of a bf16 operand (weights kept in bf16, say) and skips its rounding.
// Another dtype: ZY_STATUS_INVALID_ARGUMENT, nothing computed. If the packing workspace
// cannot be allocated, a scalar loop of the same rounded inputs (sums in another order).
zy_status zy_gemm_bf16(bool transA, bool transB, int M, int N, int K, float alpha,
                       const void *A, zy_dtype a_type, int lda, const void *B, zy_dtype b_type,
                       int ldb, float beta, float *C, int ldc);
// Scalar reference with the same contract as zy_sgemm (single thread, double accumulation
// is NOT used: plain float sums in k order, so it is the semantics, not an oracle).
void zy_sgemm_ref(bool transA, bool transB, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);

#ifdef __cplusplus
}
#endif
#endif
