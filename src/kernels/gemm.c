// GEMM entry points. PLACEHOLDER: forwards to the scalar reference until the blocked,
// packed SIMD implementation lands.
#include "zhuyi/gemm.h"

void zy_sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    zy_sgemm_ref(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void zy_sgemm_batched(bool transA, bool transB, int M, int N, int K, float alpha,
                      const float *A, int lda, ptrdiff_t strideA, const float *B, int ldb,
                      ptrdiff_t strideB, float beta, float *C, int ldc, ptrdiff_t strideC,
                      int batch) {
    for (int i = 0; i < batch; i++)
        zy_sgemm(transA, transB, M, N, K, alpha, A + i * strideA, lda, B + i * strideB, ldb,
                 beta, C + i * strideC, ldc);
}
