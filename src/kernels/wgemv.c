// Products with typed weights for decoding (wgemv.h): the scalar references, the choice of
// kernel by type, SIMD level and arithmetic, and the split of rows over threads.
// The SIMD kernels are wgemv_avx512.c, wgemv_avx2.c (fp32 arithmetic) and
// wgemv_vnni.c (int8 activations).
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "kernels/gemv.h"
#include "kernels/wgemv.h"
#include "zhuyi/io.h"

// As gemv.c: 64 rows a chunk, and one thread below 2^16 weights.
#define WGEMV_ROWS 64
#define WGEMV_PAR_MIN (1 << 16)

static const uint8_t *row_at(const zy_wmatrix *W, int r) {
    return (const uint8_t *)W->data + (size_t)r * W->row_bytes;
}

void zy__wgemv_rows_ref(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                        const float *b, int M, int r0, int r1) {
    const int K = W->cols;
    float w[ZY_QBLOCK];
    for (int m0 = 0; m0 < M; m0 += 8) {
        const int mb = ZY_MIN(8, M - m0);
        for (int r = r0; r < r1; r++) {
            const uint8_t *row = row_at(W, r);
            float s[8] = {0};
            for (int k = 0; k < K; k += ZY_QBLOCK) {
                const int n = ZY_MIN(ZY_QBLOCK, K - k);
                zy_dequantize_row(W->type, row + zy_wtype_row_bytes(W->type, (size_t)k), w,
                                  (size_t)n);
                for (int i = 0; i < mb; i++) {
                    const float *x = X + (size_t)(m0 + i) * ldx + k;
                    for (int j = 0; j < n; j++) s[i] += w[j] * x[j];
                }
            }
            for (int i = 0; i < mb; i++)
                Y[(size_t)(m0 + i) * ldy + r] = b ? s[i] + b[r] : s[i];
        }
    }
}

// ---- int8 activations ---------------------------------------------------------------------
static float f16_at(const uint8_t *p) { return zy_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

void zy__wgemv_quantize_x(int8_t *q, float *d, const float *x, int K) {
    for (int j = 0; j < K / ZY_QBLOCK; j++) {
        const float *v = x + (size_t)j * ZY_QBLOCK;
        float amax = 0.0f;
        for (int i = 0; i < ZY_QBLOCK; i++) amax = fmaxf(amax, fabsf(v[i]));
        const float dj = amax / 127.0f, id = dj != 0.0f ? 1.0f / dj : 0.0f;
        d[j] = dj;
        for (int i = 0; i < ZY_QBLOCK; i++) q[(size_t)j * ZY_QBLOCK + i] = (int8_t)roundf(v[i] * id);
    }
}

// Block j of a Q8_0 or Q4_0 row as 32 int8 values; returns its scale.
static float block_q(zy_wtype t, const uint8_t *row, int j, int8_t q[ZY_QBLOCK]) {
    if (t == ZY_WTYPE_Q8_0) {
        const uint8_t *p = row + (size_t)j * ZY_Q8_0_BLOCK_BYTES;
        memcpy(q, p + 2, ZY_QBLOCK);
        return f16_at(p);
    }
    const uint8_t *p = row + (size_t)j * ZY_Q4_0_BLOCK_BYTES;
    for (int i = 0; i < ZY_QBLOCK / 2; i++) {
        q[i] = (int8_t)((p[2 + i] & 0x0F) - 8);
        q[i + ZY_QBLOCK / 2] = (int8_t)((p[2 + i] >> 4) - 8);
    }
    return f16_at(p);
}

void zy__wgemv_q8_rows_ref(float *Y, int ldy, const zy_wmatrix *W, const int8_t *Xq, int ldq,
                           const float *Xd, const float *b, int M, int r0, int r1) {
    const int nb = W->cols / ZY_QBLOCK;
    int8_t q[ZY_QBLOCK];
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = row_at(W, r);
        for (int m = 0; m < M; m++) {
            const int8_t *xq = Xq + (size_t)m * ldq;
            const float *xd = Xd + (size_t)m * nb;
            float s = 0.0f;
            for (int j = 0; j < nb; j++) {
                const float dw = block_q(W->type, row, j, q);
                int32_t dot = 0;
                for (int i = 0; i < ZY_QBLOCK; i++) dot += q[i] * xq[(size_t)j * ZY_QBLOCK + i];
                s += dw * xd[j] * (float)dot;
            }
            Y[(size_t)m * ldy + r] = b ? s + b[r] : s;
        }
    }
}

// ---- dispatch -----------------------------------------------------------------------------
// The process-wide choice (quant.h): $ZY_QUANT_ARITH until zy_quant_arith_set. Read by
// every call, possibly on several threads: atomic, relaxed.
static atomic_int arith = -1;

zy_quant_arith zy_quant_arith_get(void) {
    int a = atomic_load_explicit(&arith, memory_order_relaxed);
    if (a >= 0) return (zy_quant_arith)a;
    const char *env = getenv("ZY_QUANT_ARITH");
    a = ZY_QUANT_ARITH_AUTO;
    if (env && !strcmp(env, "fp32")) a = ZY_QUANT_ARITH_FP32;
    else if (env && !strcmp(env, "int8")) a = ZY_QUANT_ARITH_INT8;
    atomic_store_explicit(&arith, a, memory_order_relaxed);
    return (zy_quant_arith)a;
}

void zy_quant_arith_set(zy_quant_arith a) {
    if ((unsigned)a > ZY_QUANT_ARITH_INT8) a = ZY_QUANT_ARITH_AUTO;
    atomic_store_explicit(&arith, (int)a, memory_order_relaxed);
}

static bool is_block(zy_wtype t) { return t == ZY_WTYPE_Q8_0 || t == ZY_WTYPE_Q4_0; }

// Whether int8 activations are used for W now (the fastest arithmetic where AUTO).
static bool use_int8(const zy_wmatrix *W) {
    zy_quant_arith a = zy_quant_arith_get();
    if (!is_block(W->type) || a == ZY_QUANT_ARITH_FP32) return false;
    if (a == ZY_QUANT_ARITH_INT8) return true;
    return zy_simd_level() >= ZY_SIMD_AVX512 && (zy_cpu_features() & ZY_CPU_AVX512VNNI);
}

static zy__wgemv_rows_fn rows_fp32(void) {
    zy_simd l = zy_simd_level();
    if (l >= ZY_SIMD_AVX512) return zy__wgemv_rows_avx512;
    if (l >= ZY_SIMD_AVX2 && (zy_cpu_features() & ZY_CPU_F16C)) return zy__wgemv_rows_avx2;
    return zy__wgemv_rows_ref;
}

static zy__wgemv_q8_rows_fn rows_int8(void) {
    zy_simd l = zy_simd_level();
    unsigned f = zy_cpu_features();
    if (l >= ZY_SIMD_AVX512 && (f & ZY_CPU_AVX512VNNI) && (f & ZY_CPU_AVX512VL))
        return zy__wgemv_q8_rows_avx512vnni;
    if (l >= ZY_SIMD_AVX2 && (f & ZY_CPU_F16C))
        return f & ZY_CPU_AVXVNNI ? zy__wgemv_q8_rows_avxvnni : zy__wgemv_q8_rows_avx2;
    return zy__wgemv_q8_rows_ref;
}

typedef struct wgemv_job {
    zy__wgemv_rows_fn rows;
    zy__wgemv_q8_rows_fn qrows;
    float *Y;
    const zy_wmatrix *W;
    const float *X, *b;
    const int8_t *Xq;
    const float *Xd;
    int ldy, ldx, ldq, M;
} wgemv_job;

static void wgemv_range(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const wgemv_job *j = ctx;
    if (j->qrows)
        j->qrows(j->Y, j->ldy, j->W, j->Xq, j->ldq, j->Xd, j->b, j->M, (int)r0, (int)r1);
    else
        j->rows(j->Y, j->ldy, j->W, j->X, j->ldx, j->b, j->M, (int)r0, (int)r1);
}

static void run(const wgemv_job *j) {
    const int N = j->W->rows;
    if ((long long)N * j->W->cols < WGEMV_PAR_MIN)
        wgemv_range((void *)j, 0, (size_t)N, 0);
    else
        zy__parallel((size_t)N, WGEMV_ROWS, 0, wgemv_range, (void *)j);
}

// Inputs are rounded per call into this much stack (each input's K int8 values and K/32
// scales, 1.125 bytes a weight); more inputs than fit are done in groups. 64 KiB holds 8
// inputs of K = 7168.
#define XQ_BYTES (64 * 1024)

static void wgemv_int8(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                       const float *b, int M) {
    const int K = W->cols, nb = K / ZY_QBLOCK;
    const size_t per = (size_t)K + (size_t)nb * sizeof(float);
    _Alignas(64) int8_t buf[XQ_BYTES];
    const int group = (int)ZY_MIN((size_t)M, XQ_BYTES / per);
    for (int m0 = 0; m0 < M; m0 += group) {
        const int mb = ZY_MIN(group, M - m0);
        int8_t *xq = buf;
        float *xd = (float *)(void *)(buf + (size_t)mb * K); // K % 32 == 0: aligned
        for (int i = 0; i < mb; i++)
            zy__wgemv_quantize_x(xq + (size_t)i * K, xd + (size_t)i * nb,
                                 X + (size_t)(m0 + i) * ldx, K);
        wgemv_job j = {.qrows = rows_int8(), .Y = Y + (size_t)m0 * ldy, .W = W, .b = b,
                       .Xq = xq, .Xd = xd, .ldy = ldy, .ldq = K, .M = mb};
        run(&j);
    }
}

void zy__wgemv(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
               const float *b, int M) {
    if (W->type == ZY_WTYPE_F32) {
        zy__gemv_multi(Y, ldy, W->data, X, ldx, b, M, W->rows, W->cols);
        return;
    }
    // A group of inputs must fit the stack buffer; else (K beyond ~60000) fp32 arithmetic.
    if (use_int8(W) && (size_t)W->cols + (size_t)W->cols / 8 <= XQ_BYTES) {
        wgemv_int8(Y, ldy, W, X, ldx, b, M);
        return;
    }
    wgemv_job j = {.rows = rows_fp32(), .Y = Y, .W = W, .X = X, .b = b, .ldy = ldy, .ldx = ldx,
                   .M = M};
    run(&j);
}
