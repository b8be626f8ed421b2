// zhuyi GEMM: single-precision matrix multiply for the shapes a transformer uses.
// Row-major throughout. The fast path (AVX-512 or AVX2 micro-kernels over packed,
// cache-blocked panels, on the library's thread pool) is chosen at run time from
// zy_simd_level(); zy_sgemm_ref is the scalar reference every fast path is tested against.
#ifndef ZHUYI_GEMM_H
#define ZHUYI_GEMM_H

#include <stdbool.h>
#include <stddef.h>

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
// in fp32. BF16 rounds op(A) and op(B) to bf16 (nearest, ties to even) and accumulates the
// products in fp32, on the fastest path the CPU has (AMX, AVX512-BF16 or the emulation:
// zy_bf16_level(), core.h): inputs and outputs stay fp32, results differ from fp32 by about
// bf16's precision (2^-9 relative per input) and between paths in the last bits; each
// path is deterministic and the same at any thread count. Products too small to pack (a
// few thousand multiply-adds) stay fp32. Returns the previous setting.
typedef enum zy_precision { ZY_PRECISION_FP32 = 0, ZY_PRECISION_BF16 = 1 } zy_precision;
zy_precision zy_gemm_precision_set(zy_precision p);
zy_precision zy_gemm_precision(void);

// Scalar reference with the same contract as zy_sgemm (single thread, double accumulation
// is NOT used: plain float sums in k order, so it is the semantics, not an oracle).
void zy_sgemm_ref(bool transA, bool transB, int M, int N, int K, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc);

#ifdef __cplusplus
}
#endif
#endif
