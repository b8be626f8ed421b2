// Private to the library: matrix-vector product for one-token decoding. With a single row
// a GEMM spends as long packing the weights as multiplying them; a GEMV streams each
// weight once, which is all a memory-bound decode step can do.
#ifndef ZHUYI_KERNELS_GEMV_H
#define ZHUYI_KERNELS_GEMV_H

// W (N, K) row-major, x (K), b (N) or NULL -> y (N) = W·x + b. Rows split over threads
// (each row's sum is one thread's: same bits at any thread count). y must not alias x.
void zy__gemv(float *y, const float *W, const float *x, const float *b, int N, int K);

// Rows [r0, r1) only. The scalar reference (gemv.c, float sums in k order) and the AVX2
// and AVX-512 kernels (gemv_avx2.c, gemv_avx512.c; call only at that zy_simd_level()).
void zy__gemv_rows_scalar(float *y, const float *W, const float *x, const float *b, int r0,
                          int r1, int K);
void zy__gemv_rows_avx2(float *y, const float *W, const float *x, const float *b, int r0,
                        int r1, int K);
void zy__gemv_rows_avx512(float *y, const float *W, const float *x, const float *b, int r0,
                          int r1, int K);

// Several inputs at once (decoding M sequences in one step): X (M, K) rows ldx apart,
// W (N, K), b (N) or NULL -> Y (M, N) rows ldy apart, Y = X·Wᵀ + b. Each weight row is
// read from memory once for all M inputs. Every (input, row) sum is one accumulator over k
// in the same order as zy__gemv, so Y's row m has the bits zy__gemv gives for X's row m,
// at any M and thread count. For M beyond a dozen or so a GEMM is faster.
void zy__gemv_multi(float *Y, int ldy, const float *W, const float *X, int ldx, const float *b,
                    int M, int N, int K);
// Rows [r0, r1) of W against all M inputs: the scalar reference (gemv.c) and the AVX2 and
// AVX-512 kernels (gemv_avx2.c, gemv_avx512.c; call only at that zy_simd_level()).
void zy__gemv_multi_rows_scalar(float *Y, int ldy, const float *W, const float *X, int ldx,
                                const float *b, int M, int r0, int r1, int K);
void zy__gemv_multi_rows_avx2(float *Y, int ldy, const float *W, const float *X, int ldx,
                              const float *b, int M, int r0, int r1, int K);
void zy__gemv_multi_rows_avx512(float *Y, int ldy, const float *W, const float *X, int ldx,
                                const float *b, int M, int r0, int r1, int K);

#endif
