// bf16 GEMM families: the packers, the scalar emulations of the two hardware paths, and
// the emulations' family tables. A bf16 product rounds op(A) and op(B) to bf16 while
// packing (zy__gemm_bf16_in: nearest, ties to even, subnormal inputs to zero of the same
// sign, NaN made quiet -- AVX512-BF16's vcvtne2ps2bf16, which the hardware packers use)
// and accumulates the exact products in fp32 the way the instruction in question does, so
// each hardware kernel
// (gemm_bf16_avx512bf16.c, gemm_bf16_amx.c) has a scalar twin here that gives the same
// bits on every machine: the tests compare them wherever the hardware exists, and the
// emulation is the bf16 path of a CPU without either.
//
// Packed layouts (bf16 values; the depth padded with zeros to kpad):
//   pairs  (AVX512-BF16 A and B, AMX B): k pairs side by side for each row / column:
//          dst[(k/2) * (2*w) + r*2 + k%2], w = mr (A panel) or nr (B panel).
//   chunks (AMX A): 32-deep chunks of the panel's rows, each row's 32 values contiguous:
//          dst[(k/32) * (32*mr) + i*32 + k%32] (a 16-row tile is 16 rows of 64 bytes).
//
// Arithmetic (both checked bit for bit against the hardware of a Sapphire Rapids-class
// CPU; inputs and results below 2^-126 are flushed to zero, as both instructions do):
//   AVX512-BF16 (vdpbf16ps), per k pair:  acc = fl(acc + a1*b1); acc = fl(acc + a0*b0)
//   AMX (tdpbf16ps), per 32-deep chunk:   e = Σ even-k products, o = Σ odd-k products,
//       each summed in k order from 0 with one rounding per step; acc = fl(acc + fl(e + o))
// where a*b is exact (bf16 x bf16 fits fp32), so each step is one fmaf. The epilogue is
// the fp32 kernels' C = alpha*acc (+ beta*C as one fused multiply-add); on AMX's later k
// blocks with cont (gemm_internal.h) acc starts from C and replaces it.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "gemm_internal.h"
#include "zhuyi/io.h"

static inline float bf(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// Subnormals to zero of the same sign (both DAZ on inputs and FTZ on results).
static inline float flush(float x) {
    return fpclassify(x) == FP_SUBNORMAL ? copysignf(0.0f, x) : x;
}

// zy_f32_to_bf16 after flushing subnormals (which may otherwise round up to the smallest
// normal bf16, which the kernels would not flush).
uint16_t zy__gemm_bf16_in(float x) { return zy_f32_to_bf16(flush(x)); }

void zy__gemm_bf16_in_array(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = zy__gemm_bf16_in(src[i]);
}

// A packer's source: fp32 values (rounded by zy__gemm_bf16_in) or bf16 ones (b16: used as
// they are).
typedef struct src {
    const void *p;
    bool b16;
} src;

// Element idx of the source as bf16.
static inline uint16_t get(src s, size_t idx) {
    return s.b16 ? ((const uint16_t *)s.p)[idx] : zy__gemm_bf16_in(((const float *)s.p)[idx]);
}

static inline uint16_t op_a(bool ta, src A, int lda, int i, int k) {
    return get(A, ta ? (size_t)k * lda + i : (size_t)i * lda + k);
}

static inline uint16_t op_b(bool tb, src B, int ldb, int k, int j) {
    return get(B, tb ? (size_t)j * ldb + k : (size_t)k * ldb + j);
}

static int padded(int kc, int kpad) { return (kc + kpad - 1) / kpad * kpad; }

// ---- packers ---------------------------------------------------------------------------
static void pack_a_pairs(bool transA, src A, int lda, int i0, int m, int k0, int kc, int mr,
                         uint16_t *dst) {
    int kp = padded(kc, 2);
    for (int p = 0; p < m; p += mr, dst += (size_t)mr * kp) {
        int rows = m - p < mr ? m - p : mr;
        for (int k = 0; k < kp; k++) {
            uint16_t *d = dst + (size_t)(k / 2) * 2 * mr + (k & 1);
            for (int i = 0; i < mr; i++)
                d[2 * i] = i < rows && k < kc ? op_a(transA, A, lda, i0 + p + i, k0 + k) : 0;
        }
    }
}

static void pack_a_chunks(bool transA, src A, int lda, int i0, int m, int k0, int kc, int mr,
                          uint16_t *dst) {
    int kp = padded(kc, 32);
    for (int p = 0; p < m; p += mr, dst += (size_t)mr * kp) {
        int rows = m - p < mr ? m - p : mr;
        for (int q = 0; q < kp; q += 32) {
            uint16_t *d = dst + (size_t)q * mr;
            for (int i = 0; i < mr; i++)
                for (int t = 0; t < 32; t++)
                    d[i * 32 + t] = i < rows && q + t < kc
                                        ? op_a(transA, A, lda, i0 + p + i, k0 + q + t)
                                        : 0;
        }
    }
}

static void pack_b_pairs(bool transB, src B, int ldb, int k0, int kc, int kpad, int j0, int n,
                         int nr, uint16_t *dst) {
    int kp = padded(kc, kpad);
    for (int p = 0; p < n; p += nr, dst += (size_t)nr * kp) {
        int cols = n - p < nr ? n - p : nr;
        for (int k = 0; k < kp; k++) {
            uint16_t *d = dst + (size_t)(k / 2) * 2 * nr + (k & 1);
            for (int j = 0; j < nr; j++)
                d[2 * j] = j < cols && k < kc ? op_b(transB, B, ldb, k0 + k, j0 + p + j) : 0;
        }
    }
}

#define SRC(X, B16) ((src){(const void *)(X), B16})

void zy__gemm_pack_a_pairs(bool transA, const float *A, int lda, int i0, int m, int k0,
                           int kc, int mr, void *dst) {
    pack_a_pairs(transA, SRC(A, false), lda, i0, m, k0, kc, mr, dst);
}

void zy__gemm_pack_a_chunks(bool transA, const float *A, int lda, int i0, int m, int k0,
                            int kc, int mr, void *dst) {
    pack_a_chunks(transA, SRC(A, false), lda, i0, m, k0, kc, mr, dst);
}

void zy__gemm_pack_b_pairs2(bool transB, const float *B, int ldb, int k0, int kc, int j0,
                            int n, int nr, void *dst) {
    pack_b_pairs(transB, SRC(B, false), ldb, k0, kc, 2, j0, n, nr, dst);
}

void zy__gemm_pack_b_pairs32(bool transB, const float *B, int ldb, int k0, int kc, int j0,
                             int n, int nr, void *dst) {
    pack_b_pairs(transB, SRC(B, false), ldb, k0, kc, 32, j0, n, nr, dst);
}

void zy__gemm_pack16_a_pairs(bool transA, const uint16_t *A, int lda, int i0, int m, int k0,
                             int kc, int mr, void *dst) {
    pack_a_pairs(transA, SRC(A, true), lda, i0, m, k0, kc, mr, dst);
}

void zy__gemm_pack16_a_chunks(bool transA, const uint16_t *A, int lda, int i0, int m, int k0,
                              int kc, int mr, void *dst) {
    pack_a_chunks(transA, SRC(A, true), lda, i0, m, k0, kc, mr, dst);
}

void zy__gemm_pack16_b_pairs2(bool transB, const uint16_t *B, int ldb, int k0, int kc, int j0,
                              int n, int nr, void *dst) {
    pack_b_pairs(transB, SRC(B, true), ldb, k0, kc, 2, j0, n, nr, dst);
}

void zy__gemm_pack16_b_pairs32(bool transB, const uint16_t *B, int ldb, int k0, int kc,
                               int j0, int n, int nr, void *dst) {
    pack_b_pairs(transB, SRC(B, true), ldb, k0, kc, 32, j0, n, nr, dst);
}

// ---- emulations ------------------------------------------------------------------------
static inline void store(float *c, float acc, float alpha, float beta) {
    float r = alpha * acc;
    *c = beta != 0.0f ? fmaf(beta, *c, r) : r;
}

// vdpbf16ps over a pairs-layout tile (mr = ZY_BF16_DP_MR, nr = ZY_BF16_DP_NR), element
// (i,j) stored at c[i*ldc + j] or, transposed, at c[j*ldc + i].
static void dp_emul(int kc, const uint16_t *pa, const uint16_t *pb, float *c, int ldc, int m,
                    int n, float alpha, float beta, bool transposed) {
    enum { MR = ZY_BF16_DP_MR, NR = ZY_BF16_DP_NR };
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int p = 0; p < kc / 2; p++) {
                const uint16_t *a = pa + (size_t)p * 2 * MR + 2 * i;
                const uint16_t *b = pb + (size_t)p * 2 * NR + 2 * j;
                acc = flush(fmaf(flush(bf(a[1])), flush(bf(b[1])), acc));
                acc = flush(fmaf(flush(bf(a[0])), flush(bf(b[0])), acc));
            }
            store(c + (transposed ? (size_t)j * ldc + i : (size_t)i * ldc + j), acc, alpha,
                  beta);
        }
    }
}

static void kernel_dp_emul(int kc, const void *pa, const void *pb, float *c, int ldc, int m,
                           int n, float alpha, float beta, const zy__gemm_hints *hint) {
    (void)hint;
    dp_emul(kc, pa, pb, c, ldc, m, n, alpha, beta, false);
}

static void kernel_dp_emul_t(int kc, const void *pa, const void *pb, float *c, int ldc, int m,
                             int n, float alpha, float beta, const zy__gemm_hints *hint) {
    (void)hint;
    dp_emul(kc, pa, pb, c, ldc, m, n, alpha, beta, true);
}

// tdpbf16ps over a chunks-layout A and pairs-layout B tile (mr = nr = ZY_BF16_AMX_MR),
// element (i,j) stored at c[i*ldc + j] or, transposed, at c[j*ldc + i]; with cont the sums
// start from C's (gemm_internal.h), which they then replace.
static void amx_emul(int kc, const uint16_t *pa, const uint16_t *pb, float *c, int ldc, int m,
                     int n, float alpha, float beta, bool transposed, bool cont) {
    enum { MR = ZY_BF16_AMX_MR, NR = ZY_BF16_AMX_NR };
    if (cont) alpha = 1.0f, beta = 0.0f;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            float *cij = c + (transposed ? (size_t)j * ldc + i : (size_t)i * ldc + j);
            float acc = cont ? *cij : 0.0f;
            for (int q = 0; q < kc; q += 32) {
                const uint16_t *a = pa + (size_t)q * MR + i * 32;
                float e = 0.0f, o = 0.0f;
                for (int p = 0; p < 16; p++) {
                    const uint16_t *b = pb + (size_t)(q / 2 + p) * 2 * NR + 2 * j;
                    e = flush(fmaf(flush(bf(a[2 * p])), flush(bf(b[0])), e));
                    o = flush(fmaf(flush(bf(a[2 * p + 1])), flush(bf(b[1])), o));
                }
                acc = flush(acc + flush(e + o));
            }
            store(cij, acc, alpha, beta);
        }
    }
}

static void kernel_amx_emul(int kc, const void *pa, const void *pb, float *c, int ldc, int m,
                            int n, float alpha, float beta, const zy__gemm_hints *hint) {
    amx_emul(kc, pa, pb, c, ldc, m, n, alpha, beta, false, hint->cont);
}

static void kernel_amx_emul_t(int kc, const void *pa, const void *pb, float *c, int ldc, int m,
                              int n, float alpha, float beta, const zy__gemm_hints *hint) {
    amx_emul(kc, pa, pb, c, ldc, m, n, alpha, beta, true, hint->cont);
}

const zy__gemm_arch zy__gemm_bf16_dp_emul = {
    .name = "avx512-bf16 (emulated)", .mr = ZY_BF16_DP_MR, .nr = ZY_BF16_DP_NR,
    .kc = ZY_BF16_DP_KC, .mc = ZY_BF16_DP_MC, .nc = ZY_BF16_DP_NC, .elem = 2, .kpad = 2,
    .pack_cost = {{20, 20}, {20, 20}}, .store_cost = {0.0, 5.0},
    .pack_a = zy__gemm_pack_a_pairs, .pack_b = zy__gemm_pack_b_pairs2,
    .pack16_a = zy__gemm_pack16_a_pairs, .pack16_b = zy__gemm_pack16_b_pairs2,
    .kernel = kernel_dp_emul, .kernel_t = kernel_dp_emul_t,
};

const zy__gemm_arch zy__gemm_bf16_amx_emul = {
    .name = "amx (emulated)", .mr = ZY_BF16_AMX_MR, .nr = ZY_BF16_AMX_NR,
    .kc = ZY_BF16_AMX_KC, .kc_small = ZY_BF16_AMX_KC_SMALL, .mc = ZY_BF16_AMX_MC,
    .nc = ZY_BF16_AMX_NC, .elem = 2, .kpad = 32,
    .pack_cost = {{100, 200}, {150, 200}}, .store_cost = {1.0, 1.5}, .cont = true,
    .pack_a = zy__gemm_pack_a_chunks, .pack_b = zy__gemm_pack_b_pairs32,
    .pack16_a = zy__gemm_pack16_a_chunks, .pack16_b = zy__gemm_pack16_b_pairs32,
    .kernel = kernel_amx_emul, .kernel_t = kernel_amx_emul_t,
};
