// GEMM packing: copy a block of op(A) or op(B) into the k-major panels the micro-kernels
// read (layout in gemm_internal.h). Portable C for every kernel family; the copies are
// O(mk + kn) against O(mnk) arithmetic, so they only need to be cache-friendly, not clever.
// Transposing copies walk the source in 16-float runs (one cache line) and write a small
// destination window that stays in L1.
#include <string.h>

#include "gemm_internal.h"

// Rows of a panel past the matrix edge are zero so the kernels can run the full tile.
void zy__gemm_pack_a(bool transA, const float *A, int lda, int i0, int m, int k0, int kc,
                     int mr, void *out) {
    float *dst = out;
    for (int p = 0; p < m; p += mr, dst += (size_t)mr * kc) {
        int rows = m - p < mr ? m - p : mr;
        if (transA) {
            // A (K,M): a panel row k is `rows` contiguous floats of source row k0+k.
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(k0 + k) * lda + i0 + p;
                float *d = dst + (size_t)k * mr;
                memcpy(d, src, sizeof(float) * (size_t)rows);
                for (int i = rows; i < mr; i++) d[i] = 0.0f;
            }
        } else {
            // A (M,K): transpose rows into the k-major panel, 16 k at a time.
            for (int kb = 0; kb < kc; kb += 16) {
                int ke = kc - kb < 16 ? kc - kb : 16;
                for (int i = 0; i < rows; i++) {
                    const float *src = A + (size_t)(i0 + p + i) * lda + k0 + kb;
                    float *d = dst + (size_t)kb * mr + i;
                    for (int k = 0; k < ke; k++) d[(size_t)k * mr] = src[k];
                }
                for (int i = rows; i < mr; i++)
                    for (int k = 0; k < ke; k++) dst[(size_t)(kb + k) * mr + i] = 0.0f;
            }
        }
    }
}

void zy__gemm_pack_b(bool transB, const float *B, int ldb, int k0, int kc, int j0, int n,
                     int nr, void *out) {
    float *dst = out;
    for (int p = 0; p < n; p += nr, dst += (size_t)nr * kc) {
        int cols = n - p < nr ? n - p : nr;
        if (!transB) {
            // B (K,N): a panel row k is `cols` contiguous floats of source row k0+k.
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)(k0 + k) * ldb + j0 + p;
                float *d = dst + (size_t)k * nr;
                memcpy(d, src, sizeof(float) * (size_t)cols);
                for (int j = cols; j < nr; j++) d[j] = 0.0f;
            }
        } else {
            // B (N,K): transpose, 16 k at a time.
            for (int kb = 0; kb < kc; kb += 16) {
                int ke = kc - kb < 16 ? kc - kb : 16;
                for (int j = 0; j < cols; j++) {
                    const float *src = B + (size_t)(j0 + p + j) * ldb + k0 + kb;
                    float *d = dst + (size_t)kb * nr + j;
                    for (int k = 0; k < ke; k++) d[(size_t)k * nr] = src[k];
                }
                for (int j = cols; j < nr; j++)
                    for (int k = 0; k < ke; k++) dst[(size_t)(kb + k) * nr + j] = 0.0f;
            }
        }
    }
}
