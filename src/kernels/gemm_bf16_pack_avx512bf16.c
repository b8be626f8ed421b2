// AVX-512 packers for the bf16 families: the same bytes as the scalar packers in
// gemm_bf16.c (layouts described there), 16 or 32 values at a time. fp32 -> bf16 is
// AVX512-BF16's vcvtne2ps2bf16 (nearest, ties to even; subnormal inputs to zero, NaN made
// quiet), which is exactly the scalar packers' bf16_in. Compiled with -mavx512bf16;
// only reached through the hardware bf16 families (AMX implies AVX512-BF16 in zy_bf16_level).
#include <immintrin.h>
#include <stdint.h>

#include "gemm_internal.h"
#include "kernels/gemm_avx512.h"
#include "kernels/transpose_avx512.h"

#define ZY_INLINE static inline __attribute__((always_inline))

// 32 floats (lo: values 0-15, hi: 16-31) -> 32 bf16 in order.
ZY_INLINE __m512i bf16_32(__m512 lo, __m512 hi) {
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// Two k-consecutive rows of 16 values -> 16 k pairs: lo | hi << 16.
ZY_INLINE __m512i pair_rows(__m512 lo, __m512 hi) {
    const __m512i interleave = _mm512_set_epi16(
        31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4,
        19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(interleave, bf16_32(lo, hi));
}

// One row's 32 k-consecutive values (n valid) -> 16 k pairs (bf16 in k order).
ZY_INLINE __m512i pair_row(const float *src, int n) {
    return bf16_32(_mm512_maskz_loadu_ps(zy__mask16(n), src),
                   _mm512_maskz_loadu_ps(zy__mask16(n - 16), src + 16));
}

// Rows along the panel's width, k along the source row (A not transposed, B transposed):
// `rows` (<= 16) source rows from src (ld apart), depth kc padded to kp (even) ->
// dwords dst[p * w + r] for pairs p < kp/2, r < 16 masked by `keep`.
static void pairs_by_rows(const float *src, size_t ld, int rows, int kc, int kp, uint32_t *dst,
                          int w, __mmask16 keep) {
    for (int k = 0; k < kp; k += 32) {
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < rows ? _mm512_castsi512_ps(pair_row(src + (size_t)i * ld + k, kc - k))
                            : _mm512_setzero_ps();
        zy__transpose16(r);
        int np = (kp - k) / 2 < 16 ? (kp - k) / 2 : 16;
        for (int p = 0; p < np; p++)
            _mm512_mask_storeu_epi32(dst + (size_t)(k / 2 + p) * w, keep,
                                     _mm512_castps_si512(r[p]));
    }
}

// k along the source's rows (A transposed, B not): source row k holds the panel's values
// at src + k*ld, n (<= 16) valid -> dwords dst[p * w], 16 lanes masked by `keep`.
static void pairs_by_cols(const float *src, size_t ld, int n, int kc, int kp, uint32_t *dst,
                          int w, __mmask16 keep) {
    __mmask16 m = zy__mask16(n);
    __m512 zero = _mm512_setzero_ps();
    for (int p = 0; p < kp / 2; p++) {
        int k = 2 * p;
        __m512 lo = k < kc ? _mm512_maskz_loadu_ps(m, src + (size_t)k * ld) : zero;
        __m512 hi = k + 1 < kc ? _mm512_maskz_loadu_ps(m, src + (size_t)(k + 1) * ld) : zero;
        _mm512_mask_storeu_epi32(dst + (size_t)p * w, keep, pair_rows(lo, hi));
    }
}

static int pad(int kc, int unit) { return (kc + unit - 1) / unit * unit; }

void zy__gemm_pack_a_pairs_avx512bf16(bool transA, const float *A, int lda, int i0, int m, int k0,
                                  int kc, int mr, void *out) {
    uint32_t *dst = out;
    int kp = pad(kc, 2);
    for (int p = 0; p < m; p += mr, dst += (size_t)mr * kp / 2) {
        int rows = m - p < mr ? m - p : mr;
        if (transA) // A (K,M): row k holds the panel's mr values
            pairs_by_cols(A + (size_t)k0 * lda + i0 + p, (size_t)lda, rows, kc, kp, dst, mr,
                          zy__mask16(mr));
        else
            pairs_by_rows(A + (size_t)(i0 + p) * lda + k0, (size_t)lda, rows, kc, kp, dst, mr,
                          zy__mask16(mr));
    }
}

// B (K,N), 32-column panels: k pair by k pair, every panel of it, so the two source rows
// are read along their length (a strided walk down 32 columns at a time misses the cache
// on every row).
static void pack_b_rows32(const float *B, int ldb, int k0, int kc, int kp, int j0, int n,
                          uint32_t *dst) {
    size_t panel = (size_t)32 * kp / 2; // dwords per panel
    __m512 zero = _mm512_setzero_ps();
    for (int q = 0; q < kp / 2; q++) {
        int k = 2 * q;
        const float *r0 = B + (size_t)(k0 + k) * ldb + j0, *r1 = r0 + ldb;
        for (int p = 0; p < n; p += 32) {
            int cols = n - p < 32 ? n - p : 32;
            __mmask16 m0 = zy__mask16(cols), m1 = zy__mask16(cols - 16);
            __m512 a0 = k < kc ? _mm512_maskz_loadu_ps(m0, r0 + p) : zero;
            __m512 a1 = k < kc ? _mm512_maskz_loadu_ps(m1, r0 + p + 16) : zero;
            __m512 b0 = k + 1 < kc ? _mm512_maskz_loadu_ps(m0, r1 + p) : zero;
            __m512 b1 = k + 1 < kc ? _mm512_maskz_loadu_ps(m1, r1 + p + 16) : zero;
            uint32_t *d = dst + (size_t)(p / 32) * panel + (size_t)q * 32;
            _mm512_storeu_si512(d, pair_rows(a0, b0));
            _mm512_storeu_si512(d + 16, pair_rows(a1, b1));
        }
    }
}

static void pack_b_pairs(bool transB, const float *B, int ldb, int k0, int kc, int kp, int j0,
                         int n, int nr, uint32_t *dst) {
    if (!transB && nr == 32) {
        pack_b_rows32(B, ldb, k0, kc, kp, j0, n, dst);
        return;
    }
    for (int p = 0; p < n; p += nr, dst += (size_t)nr * kp / 2) {
        int cols = n - p < nr ? n - p : nr;
        for (int h = 0; h < nr; h += 16) {
            int c = cols - h;
            c = c < 0 ? 0 : c > 16 ? 16 : c;
            if (transB) // B (N,K): row j holds column j's k values
                pairs_by_rows(B + (size_t)(j0 + p + h) * ldb + k0, (size_t)ldb, c, kc, kp,
                              dst + h, nr, 0xFFFF);
            else
                pairs_by_cols(B + (size_t)k0 * ldb + j0 + p + h, (size_t)ldb, c, kc, kp,
                              dst + h, nr, 0xFFFF);
        }
    }
}

void zy__gemm_pack_b_pairs2_avx512bf16(bool transB, const float *B, int ldb, int k0, int kc,
                                   int j0, int n, int nr, void *dst) {
    pack_b_pairs(transB, B, ldb, k0, kc, pad(kc, 2), j0, n, nr, dst);
}

void zy__gemm_pack_b_pairs32_avx512bf16(bool transB, const float *B, int ldb, int k0, int kc,
                                    int j0, int n, int nr, void *dst) {
    pack_b_pairs(transB, B, ldb, k0, kc, pad(kc, 32), j0, n, nr, dst);
}

void zy__gemm_pack_a_chunks_avx512bf16(bool transA, const float *A, int lda, int i0, int m, int k0,
                                   int kc, int mr, void *out) {
    uint16_t *dst = out;
    int kp = pad(kc, 32);
    size_t panel = (size_t)mr * kp; // u16 per panel
    // Chunk by chunk, every panel of it: with A transposed the chunk's 32 source rows are
    // read along their length (panel after panel) instead of 32 strided rows per panel.
    for (int q = 0; q < kp; q += 32) {
        for (int p = 0; p < m; p += mr) {
            int rows = m - p < mr ? m - p : mr;
            uint32_t *d = (uint32_t *)(dst + (size_t)(p / mr) * panel + (size_t)q * mr);
            if (!transA) { // A (M,K): each row's 32 values of the chunk, in order
                for (int i = 0; i < mr; i++) {
                    __m512i v = i < rows ? pair_row(A + (size_t)(i0 + p + i) * lda + k0 + q,
                                                    kc - q)
                                         : _mm512_setzero_si512();
                    _mm512_storeu_si512(d + 16 * i, v);
                }
                continue;
            }
            // A (K,M): 16 k pairs of 16 rows, transposed to 16 rows of 16 pairs.
            for (int g = 0; g < mr; g += 16) {
                int n = rows - g;
                __m512 r[16];
                const float *src = A + (size_t)(k0 + q) * lda + i0 + p + g;
                __mmask16 m16 = zy__mask16(n);
                __m512 zero = _mm512_setzero_ps();
                for (int t = 0; t < 16; t++) {
                    int k = q + 2 * t;
                    __m512 lo = k < kc ? _mm512_maskz_loadu_ps(m16, src + (size_t)(2 * t) * lda)
                                       : zero;
                    __m512 hi = k + 1 < kc
                                    ? _mm512_maskz_loadu_ps(m16, src + (size_t)(2 * t + 1) * lda)
                                    : zero;
                    r[t] = _mm512_castsi512_ps(pair_rows(lo, hi));
                }
                zy__transpose16(r);
                for (int i = 0; i < 16 && g + i < mr; i++)
                    _mm512_storeu_si512(d + 16 * (g + i), _mm512_castps_si512(r[i]));
            }
        }
    }
}
