// The int8-activation GEMV (wgemv.h) on AVX-512 VNNI: Q8_0 / Q4_0 rows read as GGUF stores
// them, two blocks (64 weights) per vpdpbusd on ZMM registers. Per block pair:
//   - the weights as 64 unsigned bytes: Q8_0's q + 128 (q xor 0x80), Q4_0's nibbles 0..15
//     (low nibbles of both blocks, then high: the input is laid out to match);
//   - one vpdpbusd into an accumulator that starts at -offset·(the input's sums of 4), so
//     it ends at the signed Σ q·x of each lane exactly (offset 128 or 8);
//   - the 16 int32 lanes (8 per block) converted, times the blocks' d_x (a vector prepared
//     with the input) and d_w: two broadcasts from zy__f16_lut (one masked), a load each
//     where F16C's conversion costs several µops (a gather of 16 scales measured slower
//     still: ~10 ns each).
// The input side (the pair layout, the offset sums, the scales) is prepared once per call
// on the stack. Tiles of 4 rows share each input load; each further input reruns the tile
// with its rows in L1. Compiled with the AVX-512 flags and -mavx512vnni: AVX-512F and
// VNNI only. The reference is zy__wgemv_q8_rows_ref (wgemv.c).
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/wgemv.h"

#define INLINE static inline __attribute__((always_inline))

// The input side, prepared once per product for weights of one type, per pair of blocks:
// 64 int8 (in the weights' order), 16 int32 of -offset·Σ4, and each lane's block scale d_x
// (read and written unaligned: the caller's buffer need not be 64-byte aligned).
typedef struct xprep {
    const int8_t *q;
    const __m512i *c;
    const __m512 *d;
} xprep;

static size_t prep_bytes(int K) { return (size_t)(K / 32 + 1) / 2 * 192; }

INLINE xprep prep_at(const void *X, int K) {
    const size_t np = (size_t)(K / 32 + 1) / 2;
    const uint8_t *p = X;
    return (xprep){(const int8_t *)p, (const __m512i *)(const void *)(p + 64 * np),
                   (const __m512 *)(const void *)(p + 128 * np)};
}

// Lanes of block 2p + 1 in a pair (the others are block 2p's): Q8_0 8..15; Q4_0 (low
// nibbles of both blocks, then high) 4..7 and 12..15.
INLINE __mmask16 second(zy_wtype t) { return t == ZY_WTYPE_Q8_0 ? 0xFF00 : 0xF0F0; }

// Block j of x rounded as zy__wgemv_quantize_x rounds it (the same float operations; the
// conversion rounds to nearest even as lrintf does): 32 int8 and the scale.
INLINE __m256i round_block(const float *x, float *d) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float dj = amax / 127.0f, id = dj != 0.0f ? 1.0f / dj : 0.0f;
    *d = zy__q8_scale(dj);
    const __m512 s = _mm512_set1_ps(id);
    const __m128i q0 = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, s)));
    const __m128i q1 = _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, s)));
    return _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
}

static void prep(void *dst, zy_wtype t, const float *x, int K) {
    const int nb = K / 32, npair = (nb + 1) / 2;
    uint8_t *base = dst;
    __m512i *c = (__m512i *)(void *)(base + (size_t)64 * npair);
    __m512 *d = (__m512 *)(void *)(base + (size_t)128 * npair);
    const __m512i off = _mm512_set1_epi8(t == ZY_WTYPE_Q8_0 ? (char)128 : 8);
    for (int p = 0; p < npair; p++) {
        float d0, d1 = 0.0f;
        __m256i b0 = round_block(x + 64 * p, &d0), b1 = _mm256_setzero_si256();
        if (2 * p + 1 < nb) b1 = round_block(x + 64 * p + 32, &d1);
        __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(b0), b1, 1);
        if (t == ZY_WTYPE_Q4_0) // [b0 0..15, b1 0..15, b0 16..31, b1 16..31]
            v = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 4, 5, 2, 3, 6, 7), v);
        _mm512_storeu_si512(base + 64 * p, v);
        // offset (as u8) times x (s8), summed by 4: vpdpbusd's own arithmetic
        _mm512_storeu_si512(c + p, _mm512_sub_epi32(_mm512_setzero_si512(),
                                                    _mm512_dpbusd_epi32(_mm512_setzero_si512(),
                                                                        off, v)));
        _mm512_storeu_ps(d + p, _mm512_mask_mov_ps(_mm512_set1_ps(d0), second(t),
                                                   _mm512_set1_ps(d1)));
    }
}

// Pair p of a row (block 2p and, if present, 2p + 1) as 64 unsigned bytes.
INLINE __m512i pair_w(zy_wtype t, const uint8_t *row, int p, int two) {
    if (t == ZY_WTYPE_Q8_0) {
        const uint8_t *b = row + (size_t)(2 * p) * ZY_Q8_0_BLOCK_BYTES + 2;
        __m512i w = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)b));
        w = _mm512_inserti64x4(w, two ? _mm256_loadu_si256((const __m256i *)(b + ZY_Q8_0_BLOCK_BYTES))
                                      : _mm256_setzero_si256(), 1);
        return _mm512_xor_si512(w, _mm512_set1_epi8((char)0x80));
    }
    const uint8_t *b = row + (size_t)(2 * p) * ZY_Q4_0_BLOCK_BYTES + 2;
    __m256i v = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)b));
    v = _mm256_inserti128_si256(v, two ? _mm_loadu_si128((const __m128i *)(b + ZY_Q4_0_BLOCK_BYTES))
                                       : _mm_setzero_si128(), 1);
    __m512i w = _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1);
    return _mm512_and_si512(w, _mm512_set1_epi8(0x0F));
}

// d_w of each lane of pair p of row (block 2p + 1's 0 when two is 0).
INLINE __m512 pair_dw(zy_wtype t, const uint8_t *row, int p, int two) {
    const int bb = t == ZY_WTYPE_Q8_0 ? ZY_Q8_0_BLOCK_BYTES : ZY_Q4_0_BLOCK_BYTES;
    const uint8_t *b = row + (size_t)(2 * p) * bb;
    uint16_t h0, h1 = 0;
    memcpy(&h0, b, 2);
    if (two) memcpy(&h1, b + bb, 2);
    return _mm512_mask_mov_ps(_mm512_set1_ps(zy__f16_lut[h0]), second(t),
                              _mm512_set1_ps(zy__f16_lut[h1]));
}

// RB rows from r against one prepared input: y[a] = Σ over pairs.
// Pair p of RB rows into acc (two: block 2p + 1 exists).
INLINE void pair_step(zy_wtype t, const int RB, const uint8_t *const *row, const xprep *x,
                      int p, const int two, __m512 *acc) {
    const __m512i xv = _mm512_loadu_si512(x->q + 64 * p), c = _mm512_loadu_si512(x->c + p);
    const __m512 dx = _mm512_loadu_ps(x->d + p);
    const size_t at = (size_t)p * 2 * (t == ZY_WTYPE_Q8_0 ? ZY_Q8_0_BLOCK_BYTES : ZY_Q4_0_BLOCK_BYTES);
    for (int a = 0; a < RB; a++) {
        _mm_prefetch((const char *)row[a] + at + ZY__WGEMV_PREFETCH, _MM_HINT_T0);
        const __m512i dot = _mm512_dpbusd_epi32(c, pair_w(t, row[a], p, two), xv);
        const __m512 s = _mm512_mul_ps(pair_dw(t, row[a], p, two), dx);
        acc[a] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), s, acc[a]);
    }
}

INLINE void tile(zy_wtype t, const int RB, const zy_wmatrix *W, int r, const xprep *x,
                 float *y) {
    const int nb = W->cols / 32;
    const uint8_t *row[4];
    for (int a = 0; a < RB; a++) row[a] = (const uint8_t *)W->data + (size_t)(r + a) * W->row_bytes;
    __m512 acc[4];
    for (int a = 0; a < RB; a++) acc[a] = _mm512_setzero_ps();
    for (int p = 0; p < nb / 2; p++) pair_step(t, RB, row, x, p, 1, acc);
    if (nb % 2) pair_step(t, RB, row, x, nb / 2, 0, acc);
    for (int a = 0; a < RB; a++) y[a] = _mm512_reduce_add_ps(acc[a]);
}

INLINE void rows_of(zy_wtype t, float *Y, int ldy, const zy_wmatrix *W, const void *X,
                    size_t xstride, const float *b, int M, int r0, int r1) {
    int r = r0;
    float y[4];
    for (; r + 4 <= r1; r += 4)
        for (int i = 0; i < M; i++) { // the four rows stay in L1 for the next input
            const xprep x = prep_at((const uint8_t *)X + xstride * i, W->cols);
            tile(t, 4, W, r, &x, y);
            for (int a = 0; a < 4; a++) Y[(size_t)i * ldy + r + a] = y[a] + (b ? b[r + a] : 0.0f);
        }
    for (; r < r1; r++)
        for (int i = 0; i < M; i++) {
            const xprep x = prep_at((const uint8_t *)X + xstride * i, W->cols);
            tile(t, 1, W, r, &x, y);
            Y[(size_t)i * ldy + r] = y[0] + (b ? b[r] : 0.0f);
        }
}

static void rows(float *Y, int ldy, const zy_wmatrix *W, const void *X, size_t xstride,
                 const float *b, int M, int r0, int r1) {
    zy__f16_lut_init();
    if (W->type == ZY_WTYPE_Q8_0)
        rows_of(ZY_WTYPE_Q8_0, Y, ldy, W, X, xstride, b, M, r0, r1);
    else if (W->type == ZY_WTYPE_Q4_0)
        rows_of(ZY_WTYPE_Q4_0, Y, ldy, W, X, xstride, b, M, r0, r1);
}

const zy__q8_kernel zy__q8_avx512vnni = {"avx512-vnni", prep_bytes, prep, rows};
