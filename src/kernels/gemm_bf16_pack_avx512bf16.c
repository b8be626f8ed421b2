// AVX-512 packers for the bf16 families: the same bytes as the scalar packers in
// gemm_bf16.c (layouts described there), 16 or 32 values at a time, from an fp32 or a
// bf16 source. fp32 -> bf16 is AVX512-BF16's vcvtne2ps2bf16 / vcvtneps2bf16 (nearest, ties
// to even; subnormal inputs to zero, NaN made quiet), which is exactly zy__gemm_bf16_in;
// bf16 sources are copied as they are. Compiled with -mavx512bf16; only reached through
// the hardware bf16 families (AMX implies AVX512-BF16 in zy_bf16_level).
#include <immintrin.h>
#include <stdint.h>

#include "gemm_internal.h"
#include "kernels/gemm_avx512.h"
#include "kernels/transpose_avx512.h"
#include "kernels/wgemv_load_avx512.h"

#define ZY_INLINE static inline __attribute__((always_inline))

// A packer's source: fp32 values (rounded here) or bf16 ones (b16), element idx at
// p + idx * (2 or 4) bytes. Each exported packer below passes a constant b16 to an inlined
// worker, so each is compiled for its source type.
typedef struct src {
    const void *p;
    bool b16;
} src;

ZY_INLINE src at(src s, size_t idx) {
    s.p = (const char *)s.p + idx * (s.b16 ? 2 : 4);
    return s;
}

ZY_INLINE __mmask32 mask32(int n) {
    return n >= 32 ? (__mmask32)0xFFFFFFFFu : n <= 0 ? 0 : (__mmask32)((1u << n) - 1);
}

// 16 values (n valid, the rest 0) as 16 bf16.
ZY_INLINE __m256i ld16(src s, int n) {
    if (s.b16) return _mm256_maskz_loadu_epi16(zy__mask16(n), s.p);
    return (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(zy__mask16(n), s.p));
}

// 32 values (n valid, the rest 0) as 32 bf16 in order.
ZY_INLINE __m512i ld32(src s, int n) {
    if (s.b16) return _mm512_maskz_loadu_epi16(mask32(n), s.p);
    const float *f = s.p;
    return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(zy__mask16(n - 16), f + 16),
                                        _mm512_maskz_loadu_ps(zy__mask16(n), f));
}

// Two k-consecutive rows of 16 values -> 16 k pairs: lo | hi << 16.
ZY_INLINE __m512i pair_rows(__m256i lo, __m256i hi) {
    const __m512i interleave = _mm512_set_epi16(
        31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4,
        19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(interleave,
                                    _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
}

// Rows along the panel's width, k along the source row (A not transposed, B transposed):
// `rows` (<= 16) source rows from s (ld apart), depth kc padded to kp (even) -> dwords
// dst[p * w + r] for pairs p < kp/2, r < 16 masked by `keep`. A row's 32 values in k order
// are its 16 k pairs, so a 16 x 16 transpose of dwords makes the layout.
ZY_INLINE void pairs_by_rows(src s, size_t ld, int rows, int kc, int kp, uint32_t *dst, int w,
                             __mmask16 keep) {
    for (int k = 0; k < kp; k += 32) {
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < rows ? _mm512_castsi512_ps(ld32(at(s, (size_t)i * ld + k), kc - k))
                            : _mm512_setzero_ps();
        zy__transpose16(r);
        int np = (kp - k) / 2 < 16 ? (kp - k) / 2 : 16;
        for (int p = 0; p < np; p++)
            _mm512_mask_storeu_epi32(dst + (size_t)(k / 2 + p) * w, keep,
                                     _mm512_castps_si512(r[p]));
    }
}

// k along the source's rows (A transposed, B not): source row k holds the panel's values
// at s + k*ld, n (<= 16) valid -> dwords dst[p * w], 16 lanes masked by `keep`.
ZY_INLINE void pairs_by_cols(src s, size_t ld, int n, int kc, int kp, uint32_t *dst, int w,
                             __mmask16 keep) {
    __m256i zero = _mm256_setzero_si256();
    for (int p = 0; p < kp / 2; p++) {
        int k = 2 * p;
        __m256i lo = k < kc ? ld16(at(s, (size_t)k * ld), n) : zero;
        __m256i hi = k + 1 < kc ? ld16(at(s, (size_t)(k + 1) * ld), n) : zero;
        _mm512_mask_storeu_epi32(dst + (size_t)p * w, keep, pair_rows(lo, hi));
    }
}

static int pad(int kc, int unit) { return (kc + unit - 1) / unit * unit; }

ZY_INLINE void pack_a_pairs(bool transA, src A, int lda, int i0, int m, int k0, int kc, int mr,
                            uint32_t *dst) {
    int kp = pad(kc, 2);
    for (int p = 0; p < m; p += mr, dst += (size_t)mr * kp / 2) {
        int rows = m - p < mr ? m - p : mr;
        if (transA) // A (K,M): row k holds the panel's mr values
            pairs_by_cols(at(A, (size_t)k0 * lda + i0 + p), (size_t)lda, rows, kc, kp, dst, mr,
                          zy__mask16(mr));
        else
            pairs_by_rows(at(A, (size_t)(i0 + p) * lda + k0), (size_t)lda, rows, kc, kp, dst,
                          mr, zy__mask16(mr));
    }
}

// B (K,N), 32-column panels: k pair by k pair, every panel of it, so the two source rows
// are read along their length (a strided walk down 32 columns at a time misses the cache
// on every row). The rows AHEAD pairs on are prefetched meanwhile: the stretch of a row
// packed here (a slab's, b_slab) is too short for the hardware prefetcher to follow
// (a 77 MB embedding matrix's rows: 640 -> 880 GFLOP/s for dout W, 64 rows). Not further:
// rows 6 KB apart (W of a 3072-wide layer) fall on two groups of L1 sets, where 16 rows
// ahead (8 pairs) evicted each other before use (dout W 256 x 3072 x 768, 2 threads:
// 2,170 -> 2,330 GFLOP/s at 4 pairs; the 768-wide rows gained nothing from 8).
enum { AHEAD = 4 };

ZY_INLINE void pack_b_rows32(src B, int ldb, int k0, int kc, int kp, int j0, int n,
                             uint32_t *dst) {
    size_t panel = (size_t)32 * kp / 2; // dwords per panel
    size_t bytes = (size_t)n * (B.b16 ? 2 : 4);
    __m256i zero = _mm256_setzero_si256();
    for (int q = 0; q < kp / 2; q++) {
        int k = 2 * q;
        src r0 = at(B, (size_t)(k0 + k) * ldb + j0), r1 = at(r0, (size_t)ldb);
        if (k + 2 * AHEAD + 1 < kc) {
            const char *f0 = at(r0, (size_t)(2 * AHEAD) * ldb).p;
            const char *f1 = at(r0, (size_t)(2 * AHEAD + 1) * ldb).p;
            for (size_t o = 0; o < bytes; o += 64) {
                _mm_prefetch(f0 + o, _MM_HINT_T0);
                _mm_prefetch(f1 + o, _MM_HINT_T0);
            }
        }
        for (int p = 0; p < n; p += 32) {
            int cols = n - p < 32 ? n - p : 32;
            __m256i a0 = k < kc ? ld16(at(r0, p), cols) : zero;
            __m256i a1 = k < kc ? ld16(at(r0, p + 16), cols - 16) : zero;
            __m256i b0 = k + 1 < kc ? ld16(at(r1, p), cols) : zero;
            __m256i b1 = k + 1 < kc ? ld16(at(r1, p + 16), cols - 16) : zero;
            uint32_t *d = dst + (size_t)(p / 32) * panel + (size_t)q * 32;
            _mm512_storeu_si512(d, pair_rows(a0, b0));
            _mm512_storeu_si512(d + 16, pair_rows(a1, b1));
        }
    }
}

ZY_INLINE void pack_b_pairs(bool transB, src B, int ldb, int k0, int kc, int kp, int j0, int n,
                            int nr, uint32_t *dst) {
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
                pairs_by_rows(at(B, (size_t)(j0 + p + h) * ldb + k0), (size_t)ldb, c, kc, kp,
                              dst + h, nr, 0xFFFF);
            else
                pairs_by_cols(at(B, (size_t)k0 * ldb + j0 + p + h), (size_t)ldb, c, kc, kp,
                              dst + h, nr, 0xFFFF);
        }
    }
}

ZY_INLINE void pack_a_chunks(bool transA, src A, int lda, int i0, int m, int k0, int kc, int mr,
                             uint16_t *dst) {
    int kp = pad(kc, 32);
    size_t panel = (size_t)mr * kp; // u16 per panel
    // A (M,K): row by row, each read along its length, its 32-value pieces going to their
    // chunks. (Chunk by chunk, a panel's 32 rows were read 64 bytes apiece, a strided walk
    // the hardware prefetchers do not follow: x W^T 1024 x 768 x 768 on one core spent 12 %
    // of its time here, 7.5 % since; 1,280 -> 1,350 GFLOP/s.)
    if (!transA) {
        for (int p = 0; p < m; p += mr) {
            int rows = m - p < mr ? m - p : mr;
            uint16_t *d = dst + (size_t)(p / mr) * panel;
            for (int i = 0; i < mr; i++) {
                src row = at(A, (size_t)(i0 + p + i) * lda + k0);
                for (int q = 0; q < kp; q += 32) {
                    __m512i v = i < rows ? ld32(at(row, (size_t)q), kc - q)
                                         : _mm512_setzero_si512();
                    _mm512_storeu_si512(d + (size_t)q * mr + 32 * i, v);
                }
            }
        }
        return;
    }
    // A (K,M): chunk by chunk, every panel of it, so the chunk's 32 source rows are read
    // along their length (panel after panel) instead of 32 strided rows per panel; 16 k
    // pairs of 16 rows transposed to 16 rows of 16 pairs.
    for (int q = 0; q < kp; q += 32) {
        for (int p = 0; p < m; p += mr) {
            int rows = m - p < mr ? m - p : mr;
            uint32_t *d = (uint32_t *)(dst + (size_t)(p / mr) * panel + (size_t)q * mr);
            __m256i zero = _mm256_setzero_si256();
            for (int g = 0; g < mr; g += 16) {
                int n = rows - g;
                __m512 r[16];
                src s = at(A, (size_t)(k0 + q) * lda + i0 + p + g);
                for (int t = 0; t < 16; t++) {
                    int k = q + 2 * t;
                    __m256i lo = k < kc ? ld16(at(s, (size_t)(2 * t) * lda), n) : zero;
                    __m256i hi = k + 1 < kc ? ld16(at(s, (size_t)(2 * t + 1) * lda), n) : zero;
                    r[t] = _mm512_castsi512_ps(pair_rows(lo, hi));
                }
                zy__transpose16(r);
                for (int i = 0; i < 16 && g + i < mr; i++)
                    _mm512_storeu_si512(d + 16 * (g + i), _mm512_castps_si512(r[i]));
            }
        }
    }
}

// ---- the packers the families name: fp32 sources, then bf16 ones -----------------------
#define SRC(X, B16) ((src){(const void *)(X), B16})

void zy__gemm_pack_a_pairs_avx512bf16(bool transA, const float *A, int lda, int i0, int m,
                                      int k0, int kc, int mr, void *dst) {
    pack_a_pairs(transA, SRC(A, false), lda, i0, m, k0, kc, mr, dst);
}

void zy__gemm_pack_a_chunks_avx512bf16(bool transA, const float *A, int lda, int i0, int m,
                                       int k0, int kc, int mr, void *dst) {
    pack_a_chunks(transA, SRC(A, false), lda, i0, m, k0, kc, mr, dst);
}

void zy__gemm_pack_b_pairs2_avx512bf16(bool transB, const float *B, int ldb, int k0, int kc,
                                       int j0, int n, int nr, void *dst) {
    pack_b_pairs(transB, SRC(B, false), ldb, k0, kc, pad(kc, 2), j0, n, nr, dst);
}

void zy__gemm_pack_b_pairs32_avx512bf16(bool transB, const float *B, int ldb, int k0, int kc,
                                        int j0, int n, int nr, void *dst) {
    pack_b_pairs(transB, SRC(B, false), ldb, k0, kc, pad(kc, 32), j0, n, nr, dst);
}

void zy__gemm_pack16_a_pairs_avx512bf16(bool transA, const uint16_t *A, int lda, int i0, int m,
                                        int k0, int kc, int mr, void *dst) {
    pack_a_pairs(transA, SRC(A, true), lda, i0, m, k0, kc, mr, dst);
}

void zy__gemm_pack16_a_chunks_avx512bf16(bool transA, const uint16_t *A, int lda, int i0,
                                         int m, int k0, int kc, int mr, void *dst) {
    pack_a_chunks(transA, SRC(A, true), lda, i0, m, k0, kc, mr, dst);
}

void zy__gemm_pack16_b_pairs2_avx512bf16(bool transB, const uint16_t *B, int ldb, int k0,
                                         int kc, int j0, int n, int nr, void *dst) {
    pack_b_pairs(transB, SRC(B, true), ldb, k0, kc, pad(kc, 2), j0, n, nr, dst);
}

void zy__gemm_pack16_b_pairs32_avx512bf16(bool transB, const uint16_t *B, int ldb, int k0,
                                          int kc, int j0, int n, int nr, void *dst) {
    pack_b_pairs(transB, SRC(B, true), ldb, k0, kc, pad(kc, 32), j0, n, nr, dst);
}

void zy__gemm_bf16_in_array_avx512bf16(uint16_t *dst, const float *from, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        _mm512_storeu_si512(dst + i, ld32((src){from + i, false}, 32));
    if (i < n)
        _mm512_mask_storeu_epi16(dst + i, mask32((int)(n - i)),
                                 ld32((src){from + i, false}, (int)(n - i)));
}

// Whole 32-weight pieces: load32's fp32 values (times the block's d: zy_dequantize_row's
// products), rounded by vcvtne2ps2bf16 as the fp32 packers round them; an f16/bf16 tail of
// n % 32 through the reference and zy__gemm_bf16_in.
void zy__wdecode_row_bf16_avx512bf16(zy_wtype t, const void *in, uint16_t *dst, size_t n) {
    const bool block = t == ZY_WTYPE_Q8_0 || t == ZY_WTYPE_Q4_0;
    if (block) zy__f16_lut_init();
    const uint8_t *row = in;
    const size_t whole = n / 32;
    for (size_t j = 0; j < whole; j++) {
        __m512 lo, hi, d;
        load32(t, row, (int)j, &lo, &hi, &d);
        if (block) lo = _mm512_mul_ps(d, lo), hi = _mm512_mul_ps(d, hi);
        _mm512_storeu_si512(dst + 32 * j, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
    if (n % 32) {
        float x[32];
        zy_dequantize_row(t, row + whole * 64, x, n % 32);
        for (size_t i = 0; i < n % 32; i++) dst[32 * whole + i] = zy__gemm_bf16_in(x[i]);
    }
}
