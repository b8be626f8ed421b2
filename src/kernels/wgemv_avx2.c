// AVX2 + FMA + F16C rows of the typed-weight GEMV in fp32 arithmetic (wgemv.h), the
// AVX-512 kernels' scheme (wgemv_avx512.c) on 8 lanes: each weight becomes its exact fp32
// value in registers and meets x in FMAs. 16 registers: tiles of 2 rows x up to 2 inputs,
// a 32-weight block as four 8-lane quarters. The reference is zy__wgemv_rows_ref.
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/wgemv.h"

#define INLINE static inline __attribute__((always_inline))

INLINE int is_block(zy_wtype t) { return t == ZY_WTYPE_Q8_0 || t == ZY_WTYPE_Q4_0; }

INLINE __m256 f16_splat(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _mm256_set1_ps(_cvtsh_ss(h));
}

// The start of block (32 weights) j of row, and its scale for the block types.
INLINE const uint8_t *block_at(zy_wtype t, const uint8_t *row, int j, __m256 *d) {
    if (t == ZY_WTYPE_Q8_0) {
        const uint8_t *p = row + (size_t)j * ZY_Q8_0_BLOCK_BYTES;
        *d = f16_splat(p);
        return p + 2;
    }
    if (t == ZY_WTYPE_Q4_0) {
        const uint8_t *p = row + (size_t)j * ZY_Q4_0_BLOCK_BYTES;
        *d = f16_splat(p);
        return p + 2;
    }
    return row + (size_t)j * 64;
}

// Weights [8q, 8q + 8) of the block at p (block_at's pointer); the block types' integers.
INLINE __m256 load8(zy_wtype t, const uint8_t *p, int q) {
    if (t == ZY_WTYPE_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 16 * q)));
    if (t == ZY_WTYPE_BF16)
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p + 16 * q))), 16));
    if (t == ZY_WTYPE_Q8_0)
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p + 8 * q))));
    // Q4_0: weights 0..15 are the low nibbles of bytes 0..15, 16..31 the high nibbles
    __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 8 * (q & 1))));
    v = q < 2 ? _mm256_and_si256(v, _mm256_set1_epi32(15)) : _mm256_srli_epi32(v, 4);
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(v, _mm256_set1_epi32(8)));
}

INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// One step of 32 weights: rows p[a] (block starts), inputs x[i] (at the step).
INLINE void step(zy_wtype t, const int RB, const int MB, const uint8_t *const *p,
                 const __m256 *d, const float *const *x, __m256 acc[2][2]) {
    if (is_block(t) && MB == 1) { // s = q·x over the block, then acc += d·s
        for (int a = 0; a < RB; a++) {
            __m256 s = _mm256_mul_ps(load8(t, p[a], 0), _mm256_loadu_ps(x[0]));
            for (int q = 1; q < 4; q++)
                s = _mm256_fmadd_ps(load8(t, p[a], q), _mm256_loadu_ps(x[0] + 8 * q), s);
            acc[a][0] = _mm256_fmadd_ps(s, d[a], acc[a][0]);
        }
        return;
    }
    for (int q = 0; q < 4; q++) {
        __m256 xv[2];
        for (int i = 0; i < MB; i++) xv[i] = _mm256_loadu_ps(x[i] + 8 * q);
        for (int a = 0; a < RB; a++) {
            __m256 w = load8(t, p[a], q);
            if (is_block(t)) w = _mm256_mul_ps(w, d[a]);
            for (int i = 0; i < MB; i++) acc[a][i] = _mm256_fmadd_ps(w, xv[i], acc[a][i]);
        }
    }
}

INLINE void tile(zy_wtype t, const int RB, const int MB, float *Y, int ldy, const zy_wmatrix *W,
                 const float *X, int ldx, const float *b, int r, int m) {
    const int K = W->cols, nfull = K / 32, tail = K % 32;
    const uint8_t *row[2];
    for (int a = 0; a < RB; a++) row[a] = (const uint8_t *)W->data + (size_t)(r + a) * W->row_bytes;
    __m256 acc[2][2];
    for (int a = 0; a < RB; a++)
        for (int i = 0; i < MB; i++) acc[a][i] = _mm256_setzero_ps();
    for (int j = 0; j < nfull; j++) {
        const uint8_t *p[2];
        __m256 d[2];
        const float *x[2];
        for (int a = 0; a < RB; a++) {
            p[a] = block_at(t, row[a], j, &d[a]);
            _mm_prefetch((const char *)p[a] + ZY__WGEMV_PREFETCH, _MM_HINT_T0);
        }
        for (int i = 0; i < MB; i++) x[i] = X + (size_t)(m + i) * ldx + 32 * j;
        step(t, RB, MB, p, d, x, acc);
    }
    if (tail) { // f16 / bf16 only: zero-padded copies of the tails
        uint8_t wb[2][64] = {{0}};
        float xb[2][32] = {{0}};
        const uint8_t *p[2];
        const float *x[2];
        const __m256 d[2] = {_mm256_set1_ps(1.0f), _mm256_set1_ps(1.0f)}; // unused
        for (int a = 0; a < RB; a++) {
            memcpy(wb[a], row[a] + (size_t)nfull * 64, (size_t)tail * 2);
            p[a] = wb[a];
        }
        for (int i = 0; i < MB; i++) {
            memcpy(xb[i], X + (size_t)(m + i) * ldx + 32 * nfull, (size_t)tail * sizeof(float));
            x[i] = xb[i];
        }
        step(t, RB, MB, p, d, x, acc);
    }
    for (int a = 0; a < RB; a++) {
        const float bias = b ? b[r + a] : 0.0f;
        for (int i = 0; i < MB; i++) Y[(size_t)(m + i) * ldy + r + a] = hsum(acc[a][i]) + bias;
    }
}

INLINE void rows_of(zy_wtype t, float *Y, int ldy, const zy_wmatrix *W, const float *X,
                    int ldx, const float *b, int M, int r0, int r1) {
    int r = r0;
    for (; r + 2 <= r1; r += 2) {
        int m = 0;
        for (; m + 2 <= M; m += 2) tile(t, 2, 2, Y, ldy, W, X, ldx, b, r, m);
        if (m < M) tile(t, 2, 1, Y, ldy, W, X, ldx, b, r, m);
    }
    if (r < r1) {
        int m = 0;
        for (; m + 2 <= M; m += 2) tile(t, 1, 2, Y, ldy, W, X, ldx, b, r, m);
        if (m < M) tile(t, 1, 1, Y, ldy, W, X, ldx, b, r, m);
    }
}

void zy__wgemv_rows_avx2(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                         const float *b, int M, int r0, int r1) {
    switch (W->type) {
    case ZY_WTYPE_F16: rows_of(ZY_WTYPE_F16, Y, ldy, W, X, ldx, b, M, r0, r1); break;
    case ZY_WTYPE_BF16: rows_of(ZY_WTYPE_BF16, Y, ldy, W, X, ldx, b, M, r0, r1); break;
    case ZY_WTYPE_Q8_0: rows_of(ZY_WTYPE_Q8_0, Y, ldy, W, X, ldx, b, M, r0, r1); break;
    case ZY_WTYPE_Q4_0: rows_of(ZY_WTYPE_Q4_0, Y, ldy, W, X, ldx, b, M, r0, r1); break;
    default: zy__wgemv_rows_ref(Y, ldy, W, X, ldx, b, M, r0, r1); break; // F32: gemv.h's
    }
}
