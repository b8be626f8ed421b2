// Private to the library: matrix-vector product for one-token decoding. With a single row
// a GEMM spends as long packing the weights as multiplying them; a GEMV streams each
// weight once, which is all a memory-bound decode step can do.
#ifndef ZHUYI_KERNELS_GEMV_H
#define ZHUYI_KERNELS_GEMV_H

// W (N, K) row-major, x (K), b (N) or NULL -> y (N) = W·x + b. Rows split over threads
// (each row's sum is one thread's: same bits at any thread count). y must not alias x.
void zy__gemv(float *y, const float *W, const float *x, const float *b, int N, int K);

// Rows [r0, r1) only. The scalar reference (gemv.c, float sums in k order) and the
// AVX-512 kernel (gemv_avx512.c; call only when zy_simd_level() is AVX512).
void zy__gemv_rows_scalar(float *y, const float *W, const float *x, const float *b, int r0,
                          int r1, int K);
void zy__gemv_rows_avx512(float *y, const float *W, const float *x, const float *b, int r0,
                          int r1, int K);

#endif
