// AVX-512 rows of the typed-weight GEMV in fp32 arithmetic (wgemv.h): each weight becomes
// its exact fp32 value in registers (f16 by vcvtph2ps, bf16 by a shift, a block's q by
// sign/zero extension and conversion, times d) and meets x in FMAs. AVX-512F only (no BW,
// VL, VNNI), so any AVX-512 CPU runs it. The reference is zy__wgemv_rows_ref (wgemv.c).
//
// Tiles of RB rows x MB inputs share each converted weight and each loaded x: 4 rows x up
// to 4 inputs, 32 weights a step. With one input, a block's d multiplies the block's sum
// (s = q·x, acc += d·s: one product fewer per block) instead of each weight.
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/gemv.h"
#include "kernels/wgemv.h"
#include "kernels/wgemv_load_avx512.h"

#define INLINE static inline __attribute__((always_inline))

INLINE int is_block(zy_wtype t) { return t == ZY_WTYPE_Q8_0 || t == ZY_WTYPE_Q4_0; }

// RB rows from r x MB inputs from m. K % 32 weights at the end (f16/bf16 only; the block
// types have whole blocks) come from a zero-padded copy of each row's tail.
INLINE void tile(zy_wtype t, const int RB, const int MB, float *Y, int ldy, const zy_wmatrix *W,
                 const float *X, int ldx, const float *b, int r, int m) {
    const int K = W->cols, nfull = K / 32, tail = K % 32;
    const uint8_t *row[4];
    for (int i = 0; i < RB; i++) row[i] = (const uint8_t *)W->data + (size_t)(r + i) * W->row_bytes;
    const float *x[4];
    for (int i = 0; i < MB; i++) x[i] = X + (size_t)(m + i) * ldx;
    __m512 acc[4][4];
    for (int a = 0; a < RB; a++)
        for (int i = 0; i < MB; i++) acc[a][i] = _mm512_setzero_ps();
    for (int j = 0; j < nfull; j++) {
        __m512 xl[4], xh[4];
        for (int i = 0; i < MB; i++) {
            xl[i] = _mm512_loadu_ps(x[i] + 32 * j);
            xh[i] = _mm512_loadu_ps(x[i] + 32 * j + 16);
        }
        const size_t at = (size_t)j * (t == ZY_WTYPE_Q8_0   ? ZY_Q8_0_BLOCK_BYTES
                                       : t == ZY_WTYPE_Q4_0 ? ZY_Q4_0_BLOCK_BYTES
                                                            : 64);
        for (int a = 0; a < RB; a++) {
            _mm_prefetch((const char *)row[a] + at + ZY__WGEMV_PREFETCH, _MM_HINT_T0);
            __m512 lo, hi, d = _mm512_set1_ps(1.0f);
            load32(t, row[a], j, &lo, &hi, &d);
            if (is_block(t) && MB == 1) {
                __m512 s = _mm512_fmadd_ps(hi, xh[0], _mm512_mul_ps(lo, xl[0]));
                acc[a][0] = _mm512_fmadd_ps(s, d, acc[a][0]);
                continue;
            }
            if (is_block(t)) lo = _mm512_mul_ps(lo, d), hi = _mm512_mul_ps(hi, d);
            for (int i = 0; i < MB; i++) {
                acc[a][i] = _mm512_fmadd_ps(lo, xl[i], acc[a][i]);
                acc[a][i] = _mm512_fmadd_ps(hi, xh[i], acc[a][i]);
            }
        }
    }
    if (tail) { // f16 / bf16: 2 bytes a weight
        const __mmask16 ml = (__mmask16)(tail >= 16 ? 0xFFFF : (1u << tail) - 1);
        const __mmask16 mh = (__mmask16)(tail > 16 ? (1u << (tail - 16)) - 1 : 0);
        __m512 xl[4], xh[4];
        for (int i = 0; i < MB; i++) {
            xl[i] = _mm512_maskz_loadu_ps(ml, x[i] + 32 * nfull);
            xh[i] = _mm512_maskz_loadu_ps(mh, x[i] + 32 * nfull + 16);
        }
        for (int a = 0; a < RB; a++) {
            uint8_t buf[64] = {0};
            memcpy(buf, row[a] + (size_t)nfull * 64, (size_t)tail * 2);
            __m512 lo, hi, d;
            load32(t, buf, 0, &lo, &hi, &d);
            for (int i = 0; i < MB; i++) {
                acc[a][i] = _mm512_fmadd_ps(lo, xl[i], acc[a][i]);
                acc[a][i] = _mm512_fmadd_ps(hi, xh[i], acc[a][i]);
            }
        }
    }
    for (int a = 0; a < RB; a++) {
        const float bias = b ? b[r + a] : 0.0f;
        for (int i = 0; i < MB; i++)
            Y[(size_t)(m + i) * ldy + r + a] = _mm512_reduce_add_ps(acc[a][i]) + bias;
    }
}

// Rows [r0, r1) of one type: 4-row tiles, then single rows; inputs 4 at a time, then the
// rest as one tile of 1..3.
INLINE void rows_of(zy_wtype t, float *Y, int ldy, const zy_wmatrix *W, const float *X,
                    int ldx, const float *b, int M, int r0, int r1) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        int m = 0;
        for (; m + 4 <= M; m += 4) tile(t, 4, 4, Y, ldy, W, X, ldx, b, r, m);
        switch (M - m) {
        case 3: tile(t, 4, 3, Y, ldy, W, X, ldx, b, r, m); break;
        case 2: tile(t, 4, 2, Y, ldy, W, X, ldx, b, r, m); break;
        case 1: tile(t, 4, 1, Y, ldy, W, X, ldx, b, r, m); break;
        }
    }
    for (; r < r1; r++) {
        int m = 0;
        for (; m + 4 <= M; m += 4) tile(t, 1, 4, Y, ldy, W, X, ldx, b, r, m);
        switch (M - m) {
        case 3: tile(t, 1, 3, Y, ldy, W, X, ldx, b, r, m); break;
        case 2: tile(t, 1, 2, Y, ldy, W, X, ldx, b, r, m); break;
        case 1: tile(t, 1, 1, Y, ldy, W, X, ldx, b, r, m); break;
        }
    }
}

static void rows_f16(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                     const float *b, int M, int r0, int r1) {
    rows_of(ZY_WTYPE_F16, Y, ldy, W, X, ldx, b, M, r0, r1);
}
static void rows_bf16(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                      const float *b, int M, int r0, int r1) {
    rows_of(ZY_WTYPE_BF16, Y, ldy, W, X, ldx, b, M, r0, r1);
}
static void rows_q8_0(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                      const float *b, int M, int r0, int r1) {
    rows_of(ZY_WTYPE_Q8_0, Y, ldy, W, X, ldx, b, M, r0, r1);
}
static void rows_q4_0(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                      const float *b, int M, int r0, int r1) {
    rows_of(ZY_WTYPE_Q4_0, Y, ldy, W, X, ldx, b, M, r0, r1);
}

void zy__wgemv_rows_avx512(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                           const float *b, int M, int r0, int r1) {
    zy__f16_lut_init();
    switch (W->type) {
    case ZY_WTYPE_F32:
        zy__gemv_multi_rows_avx512(Y, ldy, W->data, X, ldx, b, M, r0, r1, W->cols);
        break;
    case ZY_WTYPE_F16: rows_f16(Y, ldy, W, X, ldx, b, M, r0, r1); break;
    case ZY_WTYPE_BF16: rows_bf16(Y, ldy, W, X, ldx, b, M, r0, r1); break;
    case ZY_WTYPE_Q8_0: rows_q8_0(Y, ldy, W, X, ldx, b, M, r0, r1); break;
    case ZY_WTYPE_Q4_0: rows_q4_0(Y, ldy, W, X, ldx, b, M, r0, r1); break;
    default: break;
    }
}

// Whole 32-weight pieces through load32 (each weight's fp32 value, times its block's d:
// the products zy_dequantize_row makes), an f16/bf16 tail of n % 32 by the reference.
void zy__wdecode_row_avx512(zy_wtype t, const void *src, float *x, size_t n) {
    if (t == ZY_WTYPE_F32) {
        memcpy(x, src, n * sizeof *x);
        return;
    }
    if (is_block(t)) zy__f16_lut_init();
    const uint8_t *row = src;
    const size_t whole = n / 32;
    for (size_t j = 0; j < whole; j++) {
        __m512 lo, hi, d;
        load32(t, row, (int)j, &lo, &hi, &d);
        if (is_block(t)) lo = _mm512_mul_ps(d, lo), hi = _mm512_mul_ps(d, hi);
        _mm512_storeu_ps(x + 32 * j, lo);
        _mm512_storeu_ps(x + 32 * j + 16, hi);
    }
    if (n % 32) zy_dequantize_row(t, row + whole * 64, x + 32 * whole, n % 32);
}
