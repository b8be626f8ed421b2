// AVX-512 block kernels of tiled attention (contracts in flash_internal.h; the scalar
// reference is flash_kernels.c). Compiled with AVX-512 flags: call only after checking
// zy_simd_level() (flash_kernels.c does).
//
// mm keeps a tile of up to MR = 6 rows x 64 columns of C in 24 zmm accumulators (+4 for
// the row of B, +1 broadcast: no spills) and streams op(A) as broadcasts and B as rows:
// every operand of attention's block products is either row-major or its transpose read
// column-wise, so one kernel serves all five. On 64x64x64 tiles 6 rows measured ~5% ahead
// of 4, 8 (spills) and 12 x 32 columns; ~3.2 us per tile, about 160 GFLOP/s on one core.
#include <immintrin.h>
#include <stddef.h>

#include "flash_internal.h"
#include "kernels/exp_avx512.h"
#include "kernels/transpose_avx512.h"

#define ZY_INLINE static inline __attribute__((always_inline))
#define MR 6

// One register tile: R rows (<= MR) x NV vectors of 16 columns (<= 4, the last one masked
// by `last`). A points at the tile's first row (or column, when TA), B and C at its first
// column.
ZY_INLINE void tile(const int R, const int NV, const bool TA, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C,
                    int ldc, __mmask16 last) {
    __m512 acc[MR][4];
    for (int r = 0; r < R; r++)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const float *b = B + (size_t)k * ldb;
        __m512 bv[4];
        for (int v = 0; v < NV; v++)
            bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(last, b + 16 * v)
                                : _mm512_loadu_ps(b + 16 * v);
        for (int r = 0; r < R; r++) {
            __m512 a = _mm512_set1_ps(TA ? A[(size_t)k * lda + r] : A[(size_t)r * lda + k]);
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(a, bv[v], acc[r][v]);
        }
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < R; r++) {
        float *c = C + (size_t)r * ldc;
        for (int v = 0; v < NV; v++) {
            __mmask16 m = v == NV - 1 ? last : 0xFFFF;
            __m512 x = _mm512_mul_ps(va, acc[r][v]);
            if (beta != 0.0f) x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, c + 16 * v), x);
            _mm512_mask_storeu_ps(c + 16 * v, m, x);
        }
    }
}

#define TILE_CASE(mr, nv)                                                                  \
    case (mr) * 8 + (nv):                                                                  \
        if (transA)                                                                        \
            tile(mr, nv, true, K, alpha, a, lda, b, ldb, beta, c, ldc, last);              \
        else                                                                               \
            tile(mr, nv, false, K, alpha, a, lda, b, ldb, beta, c, ldc, last);             \
        break;
#define TILE_ROW(mr) TILE_CASE(mr, 1) TILE_CASE(mr, 2) TILE_CASE(mr, 3) TILE_CASE(mr, 4)

void zy__flash_mm_avx512(int M, int N, int K, float alpha, const float *A, int lda,
                         bool transA, const float *B, int ldb, float beta, float *C,
                         int ldc) {
    for (int n0 = 0; n0 < N; n0 += 64) {
        int nw = N - n0 < 64 ? N - n0 : 64;
        int nv = (nw + 15) / 16;
        __mmask16 last = (nw & 15) ? (__mmask16)((1u << (nw & 15)) - 1) : (__mmask16)0xFFFF;
        const float *b = B + n0;
        for (int i0 = 0; i0 < M; i0 += MR) {
            int mr = M - i0 < MR ? M - i0 : MR;
            const float *a = transA ? A + i0 : A + (size_t)i0 * lda;
            float *c = C + (size_t)i0 * ldc + n0;
            switch (mr * 8 + nv) {
                TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6)
            default: break;
            }
        }
    }
}

static inline __mmask16 tail_mask(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

void zy__flash_softmax_cols_avx512(float *St, int nk, int mq, int ld, float *m, float *l,
                                   float *alpha) {
    const __m512 ninf = _mm512_set1_ps(-__builtin_inff()), zero = _mm512_setzero_ps();
    for (int c = 0; c < mq; c += 16) { // 16 queries per vector
        const __mmask16 k = tail_mask(mq - c);
        const __m512 m_old = _mm512_mask_loadu_ps(ninf, k, m + c);
        __m512 mx = m_old;
        for (int j = 0; j < nk; j++)
            mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(ninf, k, St + (size_t)j * ld + c));
        // alpha = 0 while nothing was seen (m_old = -inf), as the reference: the exp alone
        // would give e^NaN = NaN when mx is -inf too (a NaN m_old still gives NaN, as
        // the reference). Masked scores (-inf) exp to 0.
        const __mmask16 seen = _mm512_cmp_ps_mask(m_old, ninf, _CMP_NEQ_UQ);
        const __m512 a = _mm512_maskz_mov_ps(seen, zy__exp512(_mm512_sub_ps(m_old, mx)));
        const __m512 sub = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(mx, ninf, _CMP_EQ_OQ), mx, zero);
        __m512 sum = zero;
        for (int j = 0; j < nk; j++) {
            float *s = St + (size_t)j * ld + c;
            __m512 p = zy__exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s), sub));
            p = _mm512_maskz_mov_ps(k, p);
            _mm512_mask_storeu_ps(s, k, p);
            sum = _mm512_add_ps(sum, p);
        }
        _mm512_mask_storeu_ps(alpha + c, k, a);
        _mm512_mask_storeu_ps(l + c, k, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, l + c), a, sum));
        _mm512_mask_storeu_ps(m + c, k, mx);
    }
}

void zy__flash_exp_rows_avx512(float *P, int rows, int cols, int ld, const float *sub) {
    for (int r = 0; r < rows; r++) {
        float *p = P + (size_t)r * ld;
        if (sub[r] == -__builtin_inff()) {
            for (int j = 0; j < cols; j += 16)
                _mm512_mask_storeu_ps(p + j, tail_mask(cols - j), _mm512_setzero_ps());
            continue;
        }
        const __m512 vs = _mm512_set1_ps(sub[r]);
        for (int j = 0; j < cols; j += 16) {
            const __mmask16 k = tail_mask(cols - j);
            __m512 e = zy__exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, p + j), vs));
            _mm512_mask_storeu_ps(p + j, k, e);
        }
    }
}

void zy__flash_ds_avx512(float *dS, const float *P, int rows, int cols, int ld,
                         const float *dO, const float *O, int Dv) {
    for (int r = 0; r < rows; r++) {
        const float *g = dO + (size_t)r * Dv, *o = O + (size_t)r * Dv;
        __m512 acc = _mm512_setzero_ps();
        for (int d = 0; d < Dv; d += 16) {
            const __mmask16 k = tail_mask(Dv - d);
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, g + d), _mm512_maskz_loadu_ps(k, o + d),
                                  acc);
        }
        const __m512 delta = _mm512_set1_ps(_mm512_reduce_add_ps(acc));
        float *ds = dS + (size_t)r * ld;
        const float *p = P + (size_t)r * ld;
        for (int j = 0; j < cols; j += 16) {
            const __mmask16 k = tail_mask(cols - j);
            __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, ds + j), delta);
            _mm512_mask_storeu_ps(ds + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + j), x));
        }
    }
}

// 16 x 16 blocks through registers: rows loaded (columns past the tail as zeros),
// transposed in place, stored as columns (rows past the tail masked off).
void zy__flash_transpose_avx512(const float *src, ptrdiff_t lds, int rows, int cols,
                                float *dst, int ldd) {
    for (int r0 = 0; r0 < rows; r0 += 16) {
        const int nr = rows - r0 < 16 ? rows - r0 : 16;
        const __mmask16 keep = tail_mask(nr);
        for (int c0 = 0; c0 < cols; c0 += 16) {
            const int nc = cols - c0 < 16 ? cols - c0 : 16;
            const __mmask16 load = tail_mask(nc);
            __m512 v[16];
            for (int i = 0; i < 16; i++)
                v[i] = i < nr ? _mm512_maskz_loadu_ps(load, src + (r0 + i) * lds + c0)
                              : _mm512_setzero_ps();
            zy__transpose16(v);
            for (int j = 0; j < nc; j++)
                _mm512_mask_storeu_ps(dst + (size_t)(c0 + j) * ldd + r0, keep, v[j]);
        }
    }
}
