// AVX-512 packing for the 14x32 kernel: the two transposing copies (op(B) from B (N,K)
// when transB, op(A) from A (M,K) when !transA) done 16x16 in registers instead of one
// float at a time, and the straight copies as masked vectors per row (no memcpy call per
// 56 or 128 bytes).
// Compiled with -mavx512f...; only reached through zy__gemm_avx512.
#include <immintrin.h>

#include "gemm_internal.h"
#include "kernels/transpose_avx512.h"

// rows source rows (rows <= 16, the rest read as 0), each ke <= 16 floats from src + i*ld
// -> dst + k*dstride, k < ke, lanes selected by `lanes` (the panel width).
static inline __attribute__((always_inline)) void block16(const float *src, size_t ld,
                                                          int rows, int ke, float *dst,
                                                          int dstride, __mmask16 lanes) {
    __m512 r[16];
    __mmask16 kmask = (__mmask16)((1u << ke) - 1);
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(kmask, src + (size_t)i * ld)
                        : _mm512_setzero_ps();
    zy__transpose16(r);
    for (int k = 0; k < ke; k++)
        _mm512_mask_storeu_ps(dst + (size_t)k * dstride, lanes, r[k]);
}

void zy__gemm_pack_a_avx512(bool transA, const float *A, int lda, int i0, int m, int k0,
                            int kc, int mr, void *out) {
    float *dst = out;
    if (mr > 16) {
        zy__gemm_pack_a(transA, A, lda, i0, m, k0, kc, mr, dst);
        return;
    }
    __mmask16 lanes = (__mmask16)((1u << mr) - 1);
    if (transA) { // A (K,M): one masked vector per k, rows past m read as 0
        for (int p = 0; p < m; p += mr, dst += (size_t)mr * kc) {
            int rows = m - p < mr ? m - p : mr;
            __mmask16 have = (__mmask16)((1u << rows) - 1);
            const float *src = A + (size_t)k0 * lda + i0 + p;
            for (int k = 0; k < kc; k++, src += lda)
                _mm512_mask_storeu_ps(dst + (size_t)k * mr, lanes,
                                      _mm512_maskz_loadu_ps(have, src));
        }
        return;
    }
    for (int p = 0; p < m; p += mr, dst += (size_t)mr * kc) {
        int rows = m - p < mr ? m - p : mr;
        const float *src = A + (size_t)(i0 + p) * lda + k0;
        for (int kb = 0; kb < kc; kb += 16)
            block16(src + kb, (size_t)lda, rows, kc - kb < 16 ? kc - kb : 16,
                    dst + (size_t)kb * mr, mr, lanes);
    }
}

void zy__gemm_pack_b_avx512(bool transB, const float *B, int ldb, int k0, int kc, int j0,
                            int n, int nr, void *out) {
    float *dst = out;
    if (nr != 32) {
        zy__gemm_pack_b(transB, B, ldb, k0, kc, j0, n, nr, dst);
        return;
    }
    if (!transB) { // B (K,N): two (masked) vectors per k, the tail of the panel zero
        // Row by row, every panel of it: each source row is read along its length (a
        // strided walk down one 32-column panel at a time misses the cache on every row).
        for (int k = 0; k < kc; k++) {
            const float *src = B + (size_t)(k0 + k) * ldb + j0;
            for (int p = 0; p < n; p += nr) {
                int cols = n - p < nr ? n - p : nr;
                int c1 = cols - 16; // columns in the second vector
                __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
                __mmask16 m1 = c1 >= 16 ? 0xFFFF : c1 <= 0 ? 0 : (__mmask16)((1u << c1) - 1);
                float *d = dst + (size_t)(p / nr) * nr * kc + (size_t)k * nr;
                _mm512_store_ps(d, _mm512_maskz_loadu_ps(m0, src + p));
                _mm512_store_ps(d + 16, _mm512_maskz_loadu_ps(m1, src + p + 16));
            }
        }
        return;
    }
    for (int p = 0; p < n; p += nr, dst += (size_t)nr * kc) {
        for (int h = 0; h < nr; h += 16) {
            int cols = n - p - h; // may be <= 0: the block is then all zeros
            cols = cols < 0 ? 0 : cols > 16 ? 16 : cols;
            const float *src = B + (size_t)(j0 + p + h) * ldb + k0;
            for (int kb = 0; kb < kc; kb += 16)
                block16(src + kb, (size_t)ldb, cols, kc - kb < 16 ? kc - kb : 16,
                        dst + (size_t)kb * nr + h, nr, 0xFFFF);
        }
    }
}
