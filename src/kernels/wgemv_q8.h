// The body of the int8-activation kernels (wgemv.h): Q8_0 or Q4_0 weight rows against
// inputs rounded to int8 blocks, llama.cpp's scheme. Per block of 32: the weights as 32
// signed bytes w (Q4_0's nibbles unpacked, minus 8), |w| as unsigned bytes times x·sign(w)
// as signed bytes (so the unsigned-times-signed instructions see the signed product), the
// integer sums converted to float and scaled by d_w * d_x into an fp32 accumulator.
// Included by wgemv_q8_avx2.c and wgemv_q8_avxvnni.c, each compiled for its instructions,
// after defining
//   Q8_DOT(u, s)  -> __m256i: 8 int32, each the sum of 4 products u8 * s8
//   Q8_KERNEL     the name of the zy__q8_kernel it defines, Q8_NAME its name string
// Inputs in the reference layout (K int8, then K/32 float scales), rounded by a vectorised
// zy__wgemv_quantize_x (the same bits). Tiles of 4 rows x 1 or 2 inputs (16 YMM
// registers). The reference is zy__q8_ref (wgemv.c).
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/wgemv.h"

#define INLINE static inline __attribute__((always_inline))

INLINE float f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// Block j of row: its 32 weights as signed bytes, and its scale.
INLINE __m256i block_w(zy_wtype t, const uint8_t *row, int j, float *d) {
    if (t == ZY_WTYPE_Q8_0) {
        const uint8_t *p = row + (size_t)j * ZY_Q8_0_BLOCK_BYTES;
        *d = f16_at(p);
        return _mm256_loadu_si256((const __m256i *)(p + 2));
    }
    const uint8_t *p = row + (size_t)j * ZY_Q4_0_BLOCK_BYTES;
    *d = f16_at(p);
    const __m128i v = _mm_loadu_si128((const __m128i *)(p + 2));
    __m256i w = _mm256_set_m128i(_mm_srli_epi16(v, 4), v); // high nibbles: weights 16..31
    w = _mm256_and_si256(w, _mm256_set1_epi8(0x0F));
    return _mm256_sub_epi8(w, _mm256_set1_epi8(8));
}

INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE void q8_tile(zy_wtype t, const int RB, const int MB, float *Y, int ldy,
                    const zy_wmatrix *W, const uint8_t *X, size_t xstride, const float *b, int r,
                    int m) {
    const int K = W->cols, nb = K / 32;
    const uint8_t *row[4];
    for (int a = 0; a < RB; a++) row[a] = (const uint8_t *)W->data + (size_t)(r + a) * W->row_bytes;
    const int8_t *xq[2];
    const float *xd[2];
    for (int i = 0; i < MB; i++) {
        xq[i] = (const int8_t *)(X + xstride * (size_t)(m + i));
        xd[i] = (const float *)(const void *)(xq[i] + K);
    }
    __m256 acc[4][2];
    for (int a = 0; a < RB; a++)
        for (int i = 0; i < MB; i++) acc[a][i] = _mm256_setzero_ps();
    for (int j = 0; j < nb; j++) {
        __m256i xv[2];
        for (int i = 0; i < MB; i++) xv[i] = _mm256_loadu_si256((const __m256i *)(xq[i] + 32 * j));
        for (int a = 0; a < RB; a++) {
            float dw;
            const __m256i w = block_w(t, row[a], j, &dw);
            _mm_prefetch((const char *)row[a] + (size_t)j * (t == ZY_WTYPE_Q8_0 ? ZY_Q8_0_BLOCK_BYTES
                                                                               : ZY_Q4_0_BLOCK_BYTES) +
                             ZY__WGEMV_PREFETCH,
                         _MM_HINT_T0);
            const __m256i aw = _mm256_sign_epi8(w, w); // |w|: at most 127, unsigned
            for (int i = 0; i < MB; i++) {
                const __m256i dot = Q8_DOT(aw, _mm256_sign_epi8(xv[i], w));
                acc[a][i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * xd[i][j]),
                                            acc[a][i]);
            }
        }
    }
    for (int a = 0; a < RB; a++) {
        const float bias = b ? b[r + a] : 0.0f;
        for (int i = 0; i < MB; i++) Y[(size_t)(m + i) * ldy + r + a] = hsum8(acc[a][i]) + bias;
    }
}

INLINE void q8_rows_of(zy_wtype t, float *Y, int ldy, const zy_wmatrix *W, const uint8_t *X,
                       size_t xstride, const float *b, int M, int r0, int r1) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        int m = 0;
        for (; m + 2 <= M; m += 2) q8_tile(t, 4, 2, Y, ldy, W, X, xstride, b, r, m);
        if (m < M) q8_tile(t, 4, 1, Y, ldy, W, X, xstride, b, r, m);
    }
    for (; r < r1; r++) {
        int m = 0;
        for (; m + 2 <= M; m += 2) q8_tile(t, 1, 2, Y, ldy, W, X, xstride, b, r, m);
        if (m < M) q8_tile(t, 1, 1, Y, ldy, W, X, xstride, b, r, m);
    }
}

static void q8_rows(float *Y, int ldy, const zy_wmatrix *W, const void *X, size_t xstride,
                    const float *b, int M, int r0, int r1) {
    if (W->type == ZY_WTYPE_Q8_0)
        q8_rows_of(ZY_WTYPE_Q8_0, Y, ldy, W, X, xstride, b, M, r0, r1);
    else if (W->type == ZY_WTYPE_Q4_0)
        q8_rows_of(ZY_WTYPE_Q4_0, Y, ldy, W, X, xstride, b, M, r0, r1);
}

static size_t q8_bytes(int K) { return (size_t)K + (size_t)K / 32 * sizeof(float); }

// zy__wgemv_quantize_x on 8 lanes: the same float operations, and vcvtps2dq rounds to
// nearest even as lrintf does.
static void q8_prep(void *dst, zy_wtype t, const float *x, int K) {
    (void)t;
    int8_t *q = dst;
    float *d = (float *)(void *)(q + K);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int j = 0; j < K / 32; j++) {
        __m256 v[4], m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 32 * j + 8 * k);
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[k]));
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float dj = _mm_cvtss_f32(h) / 127.0f, id = dj != 0.0f ? 1.0f / dj : 0.0f;
        d[j] = zy__q8_scale(dj);
        __m256i i[4];
        for (int k = 0; k < 4; k++) i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], _mm256_set1_ps(id)));
        // packs work within 128-bit lanes: the permute puts the dwords back in order
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(q + 32 * j), p);
    }
}

const zy__q8_kernel Q8_KERNEL = {Q8_NAME, q8_bytes, q8_prep, q8_rows};
