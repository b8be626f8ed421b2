// Products with typed weights for decoding (wgemv.h): the scalar references, the choice of
// kernel by type, SIMD level and arithmetic, and the split of rows over threads.
// The SIMD kernels are wgemv_avx512.c, wgemv_avx2.c (fp32 arithmetic) and
// wgemv_vnni.c (int8 activations).
#include <math.h>
#include <pthread.h>
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

// ---- the f16 table and int8 activations ------------------------------------------------------
float zy__f16_lut[65536];
static pthread_once_t lut_once = PTHREAD_ONCE_INIT;

static void lut_fill(void) {
    for (uint32_t h = 0; h < 65536; h++) zy__f16_lut[h] = zy_f16_to_f32((uint16_t)h);
}

void zy__f16_lut_init(void) { pthread_once(&lut_once, lut_fill); }

static float f16_at(const uint8_t *p) { return zy_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

float zy__q8_scale(float d) {
    float h = zy_f16_to_f32(zy_f32_to_f16(d));
    return h <= 65504.0f ? h : d;
}

void zy__wgemv_quantize_x(int8_t *q, float *d, const float *x, int K) {
    for (int j = 0; j < K / ZY_QBLOCK; j++) {
        const float *v = x + (size_t)j * ZY_QBLOCK;
        float amax = 0.0f;
        for (int i = 0; i < ZY_QBLOCK; i++) amax = fmaxf(amax, fabsf(v[i]));
        const float dj = amax / 127.0f, id = dj != 0.0f ? 1.0f / dj : 0.0f;
        d[j] = zy__q8_scale(dj);
        for (int i = 0; i < ZY_QBLOCK; i++) q[(size_t)j * ZY_QBLOCK + i] = (int8_t)lrintf(v[i] * id);
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

static void ref_rows(float *Y, int ldy, const zy_wmatrix *W, const void *X, size_t xstride,
                     const float *b, int M, int r0, int r1) {
    const int K = W->cols, nb = K / ZY_QBLOCK;
    int8_t q[ZY_QBLOCK];
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = row_at(W, r);
        for (int m = 0; m < M; m++) {
            const int8_t *xq = (const int8_t *)X + xstride * m;
            const float *xd = (const float *)(const void *)(xq + K);
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

// The reference layout: K int8, then K/32 floats (K % 32 == 0 keeps them aligned).
static size_t ref_bytes(int K) { return (size_t)K + (size_t)K / ZY_QBLOCK * sizeof(float); }

static void ref_prep(void *dst, zy_wtype t, const float *x, int K) {
    (void)t;
    zy__wgemv_quantize_x(dst, (float *)(void *)((int8_t *)dst + K), x, K);
}

const zy__q8_kernel zy__q8_ref = {"reference", ref_bytes, ref_prep, ref_rows};

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
    // AUTO, by measurement (hot-cache Gweights/s a core, q8_0 / q4_0): AVX-512 VNNI int8
    // 29 / 28 against AVX-512 fp32 17.5 / 13.8; AVX2 int8 (vpmaddubsw) 17.9 / 13.4 against
    // AVX-512 fp32's about the same (fp32 kept: exact), against AVX2 fp32 11.2 / 8.7.
    const zy_simd l = zy_simd_level();
    const unsigned f = zy_cpu_features();
    if (l >= ZY_SIMD_AVX512) return (f & ZY_CPU_AVX512VNNI) != 0;
    return l >= ZY_SIMD_AVX2 && (f & ZY_CPU_F16C);
}

static zy__wgemv_rows_fn rows_fp32(void) {
    zy_simd l = zy_simd_level();
    if (l >= ZY_SIMD_AVX512) return zy__wgemv_rows_avx512;
    if (l >= ZY_SIMD_AVX2 && (zy_cpu_features() & ZY_CPU_F16C)) return zy__wgemv_rows_avx2;
    return zy__wgemv_rows_ref;
}

static const zy__q8_kernel *kernel_int8(void) {
    zy_simd l = zy_simd_level();
    unsigned f = zy_cpu_features();
    if (l >= ZY_SIMD_AVX512 && (f & ZY_CPU_AVX512VNNI)) return &zy__q8_avx512vnni;
    if (l >= ZY_SIMD_AVX2 && (f & ZY_CPU_F16C))
        return f & ZY_CPU_AVXVNNI ? &zy__q8_avxvnni : &zy__q8_avx2;
    return &zy__q8_ref;
}

typedef struct wgemv_job {
    zy__wgemv_rows_fn rows;
    const zy__q8_kernel *q8; // int8 activations: prepared inputs Xp, xstride bytes apart
    float *Y;
    const zy_wmatrix *W;
    const float *X, *b;
    const void *Xp;
    size_t xstride;
    int ldy, ldx, M;
} wgemv_job;

static void wgemv_range(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const wgemv_job *j = ctx;
    if (j->q8)
        j->q8->rows(j->Y, j->ldy, j->W, j->Xp, j->xstride, j->b, j->M, (int)r0, (int)r1);
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

// Inputs are rounded and laid out once per product into this much stack (a kernel family
// takes up to 3 bytes a weight); more inputs than fit are done in groups.
#define XQ_BYTES (96 * 1024)
#define ALIGN64(n) (((n) + 63) & ~(size_t)63)

static void wgemv_int8(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                       const float *b, int M, const zy__q8_kernel *k) {
    const int K = W->cols;
    const size_t per = ALIGN64(k->bytes(K));
    _Alignas(64) uint8_t buf[XQ_BYTES];
    const int group = (int)ZY_MIN((size_t)M, XQ_BYTES / per);
    for (int m0 = 0; m0 < M; m0 += group) {
        const int mb = ZY_MIN(group, M - m0);
        for (int i = 0; i < mb; i++) k->prep(buf + per * i, W->type, X + (size_t)(m0 + i) * ldx, K);
        wgemv_job j = {.q8 = k, .Y = Y + (size_t)m0 * ldy, .W = W, .b = b, .Xp = buf,
                       .xstride = per, .ldy = ldy, .M = mb};
        run(&j);
    }
}

void zy__wgemv(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
               const float *b, int M) {
    if (W->type == ZY_WTYPE_F32) {
        zy__gemv_multi(Y, ldy, W->data, X, ldx, b, M, W->rows, W->cols);
        return;
    }
    // One input must fit the stack buffer; else (K beyond ~30000) fp32 arithmetic.
    if (use_int8(W)) {
        const zy__q8_kernel *k = kernel_int8();
        if (ALIGN64(k->bytes(W->cols)) <= XQ_BYTES) {
            wgemv_int8(Y, ldy, W, X, ldx, b, M, k);
            return;
        }
    }
    wgemv_job j = {.rows = rows_fp32(), .Y = Y, .W = W, .X = X, .b = b, .ldy = ldy, .ldx = ldx,
                   .M = M};
    run(&j);
}

void zy__wdecode_row(zy_wtype t, const void *src, float *x, size_t n) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) zy__wdecode_row_avx512(t, src, x, n);
    else zy_dequantize_row(t, src, x, n);
}
