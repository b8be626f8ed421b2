// AVX2 block kernels of tiled attention (contracts in flash_internal.h; the scalar
// reference is flash_kernels.c, the AVX-512 set flash_avx512.c). Compiled with AVX2 + FMA
// flags: call only after checking zy_simd_level() (flash_kernels.c does).
//
// mm keeps a tile of up to MR = 6 rows x 16 columns of C in 12 ymm accumulators (+2 for
// the row of B, +1 broadcast: 15 of the 16 registers) and streams op(A) as broadcasts and
// B as rows, as the AVX-512 kernel does with its wider registers. Column tails load and
// store through a lane mask, so nothing outside C's tile is read or written.
#include <immintrin.h>
#include <stddef.h>

#include "flash_internal.h"
#include "kernels/exp_avx2.h"

#define ZY_INLINE static inline __attribute__((always_inline))
#define MR 6

// One register tile: R rows (<= MR) x NV vectors of 8 columns (<= 2, the last one masked
// by `last`). A points at the tile's first row (or column, when TA), B and C at its first
// column.
ZY_INLINE void tile(const int R, const int NV, const bool TA, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C,
                    int ldc, __m256i last) {
    const __m256i all = _mm256_set1_epi32(-1);
    __m256 acc[MR][2];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_ps();
    for (int k = 0; k < K; k++) {
        const float *b = B + (size_t)k * ldb;
        __m256 bv[2];
        for (int v = 0; v < NV; v++)
            bv[v] = _mm256_maskload_ps(b + 8 * v, v == NV - 1 ? last : all);
        for (int r = 0; r < R; r++) {
            __m256 a = _mm256_set1_ps(TA ? A[(size_t)k * lda + r] : A[(size_t)r * lda + k]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm256_fmadd_ps(a, bv[v], acc[r][v]);
        }
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int r = 0; r < R; r++) {
        float *c = C + (size_t)r * ldc;
        for (int v = 0; v < NV; v++) {
            __m256i m = v == NV - 1 ? last : all;
            __m256 x = _mm256_mul_ps(va, acc[r][v]);
            if (beta != 0.0f) x = _mm256_fmadd_ps(vb, _mm256_maskload_ps(c + 8 * v, m), x);
            _mm256_maskstore_ps(c + 8 * v, m, x);
        }
    }
}

#define TILE_CASE(mr, nv)                                                                  \
    case (mr) * 4 + (nv):                                                                  \
        if (transA)                                                                        \
            tile(mr, nv, true, K, alpha, a, lda, b, ldb, beta, c, ldc, last);              \
        else                                                                               \
            tile(mr, nv, false, K, alpha, a, lda, b, ldb, beta, c, ldc, last);             \
        break;
#define TILE_ROW(mr) TILE_CASE(mr, 1) TILE_CASE(mr, 2)

void zy__flash_mm_avx2(int M, int N, int K, float alpha, const float *A, int lda, bool transA,
                       const float *B, int ldb, float beta, float *C, int ldc) {
    for (int n0 = 0; n0 < N; n0 += 16) {
        int nw = N - n0 < 16 ? N - n0 : 16;
        int nv = (nw + 7) / 8;
        __m256i last = zy__tail8(nw - 8 * (nv - 1));
        const float *b = B + n0;
        for (int i0 = 0; i0 < M; i0 += MR) {
            int mr = M - i0 < MR ? M - i0 : MR;
            const float *a = transA ? A + i0 : A + (size_t)i0 * lda;
            float *c = C + (size_t)i0 * ldc + n0;
            switch (mr * 4 + nv) {
                TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6)
            default: break;
            }
        }
    }
}

void zy__flash_softmax_cols_avx2(float *St, int nk, int mq, int ld, float *m, float *l,
                                 float *alpha) {
    const __m256 ninf = _mm256_set1_ps(-__builtin_inff()), zero = _mm256_setzero_ps();
    for (int c = 0; c < mq; c += 8) { // 8 queries per vector
        const __m256i k = zy__tail8(mq - c);
        const __m256 m_old = zy__load8(m + c, k, ninf);
        __m256 mx = m_old;
        for (int j = 0; j < nk; j++)
            mx = _mm256_max_ps(mx, zy__load8(St + (size_t)j * ld + c, k, ninf));
        // alpha = 0 while nothing was seen (m_old = -inf), as the reference (the exp alone
        // would give e^NaN when mx is -inf too; a NaN m_old still gives NaN). Masked
        // scores (-inf) exp to 0; a column whose max is -inf subtracts 0.
        const __m256 seen = _mm256_cmp_ps(m_old, ninf, _CMP_NEQ_UQ);
        const __m256 a = _mm256_and_ps(seen, zy__exp256(_mm256_sub_ps(m_old, mx)));
        const __m256 sub = _mm256_blendv_ps(mx, zero, _mm256_cmp_ps(mx, ninf, _CMP_EQ_OQ));
        __m256 sum = zero;
        for (int j = 0; j < nk; j++) {
            float *s = St + (size_t)j * ld + c;
            __m256 p = zy__exp256(_mm256_sub_ps(zy__load8(s, k, ninf), sub));
            p = _mm256_and_ps(_mm256_castsi256_ps(k), p);
            _mm256_maskstore_ps(s, k, p);
            sum = _mm256_add_ps(sum, p);
        }
        _mm256_maskstore_ps(alpha + c, k, a);
        _mm256_maskstore_ps(l + c, k, _mm256_fmadd_ps(zy__load8(l + c, k, zero), a, sum));
        _mm256_maskstore_ps(m + c, k, mx);
    }
}

void zy__flash_exp_rows_avx2(float *P, int rows, int cols, int ld, const float *sub) {
    for (int r = 0; r < rows; r++) {
        float *p = P + (size_t)r * ld;
        if (sub[r] == -__builtin_inff()) {
            for (int j = 0; j < cols; j += 8)
                _mm256_maskstore_ps(p + j, zy__tail8(cols - j), _mm256_setzero_ps());
            continue;
        }
        const __m256 vs = _mm256_set1_ps(sub[r]);
        for (int j = 0; j < cols; j += 8) {
            const __m256i k = zy__tail8(cols - j);
            __m256 e = zy__exp256(_mm256_sub_ps(_mm256_maskload_ps(p + j, k), vs));
            _mm256_maskstore_ps(p + j, k, e);
        }
    }
}

void zy__flash_ds_avx2(float *dS, const float *P, int rows, int cols, int ld, const float *dO,
                       const float *O, int Dv) {
    for (int r = 0; r < rows; r++) {
        const float *g = dO + (size_t)r * Dv, *o = O + (size_t)r * Dv;
        __m256 acc = _mm256_setzero_ps();
        for (int d = 0; d < Dv; d += 8) {
            const __m256i k = zy__tail8(Dv - d);
            acc = _mm256_fmadd_ps(_mm256_maskload_ps(g + d, k), _mm256_maskload_ps(o + d, k),
                                  acc);
        }
        const __m256 delta = _mm256_set1_ps(zy__hsum256(acc));
        float *ds = dS + (size_t)r * ld;
        const float *p = P + (size_t)r * ld;
        for (int j = 0; j < cols; j += 8) {
            const __m256i k = zy__tail8(cols - j);
            __m256 x = _mm256_sub_ps(_mm256_maskload_ps(ds + j, k), delta);
            _mm256_maskstore_ps(ds + j, k, _mm256_mul_ps(_mm256_maskload_ps(p + j, k), x));
        }
    }
}

// r[i] lane k -> r[k] lane i, 8 x 8 floats: pairs of rows interleaved, then groups of four,
// then the two 128-bit halves exchanged.
ZY_INLINE void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 2; g++) { // u[4g+e]: column e (low half) and e+4 (high) of 4 rows
        u[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    for (int e = 0; e < 4; e++) {
        r[e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x20);
        r[4 + e] = _mm256_permute2f128_ps(u[e], u[4 + e], 0x31);
    }
}

// 8 x 8 blocks through registers, tails masked as in the AVX-512 version.
void zy__flash_transpose_avx2(const float *src, ptrdiff_t lds, int rows, int cols, float *dst,
                              int ldd) {
    for (int r0 = 0; r0 < rows; r0 += 8) {
        const int nr = rows - r0 < 8 ? rows - r0 : 8;
        const __m256i keep = zy__tail8(nr);
        for (int c0 = 0; c0 < cols; c0 += 8) {
            const int nc = cols - c0 < 8 ? cols - c0 : 8;
            const __m256i load = zy__tail8(nc);
            __m256 v[8];
            for (int i = 0; i < 8; i++)
                v[i] = i < nr ? _mm256_maskload_ps(src + (r0 + i) * lds + c0, load)
                              : _mm256_setzero_ps();
            transpose8(v);
            for (int j = 0; j < nc; j++)
                _mm256_maskstore_ps(dst + (size_t)(c0 + j) * ldd + r0, keep, v[j]);
        }
    }
}
