// AVX2 GEMM micro-kernel: a 6x16 register tile (12 ymm accumulators, 2 ymm of B, one
// broadcast of A). Compiled with -mavx2 -mfma; the driver calls it only when
// zy_simd_level() >= ZY_SIMD_AVX2. Partial tiles (m < 6 or n < 16) run the same vector
// arithmetic on a copy of the C tile in a stack buffer, so every element is computed the
// same way whether or not it sits on an edge.
#include <immintrin.h>

#include "gemm_internal.h"

enum { MR = 6, NR = 16 };

// acc (MR x NR accumulators) combined into C tile rows at c (row stride ldc), all rows.
static inline __attribute__((always_inline)) void store_tile(__m256 acc[MR][2], float *c,
                                                             int ldc, float alpha,
                                                             float beta) {
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int i = 0; i < MR; i++) {
        float *ci = c + (size_t)i * ldc;
        __m256 r0 = _mm256_mul_ps(va, acc[i][0]), r1 = _mm256_mul_ps(va, acc[i][1]);
        if (beta != 0.0f) {
            r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);
            r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);
        }
        _mm256_storeu_ps(ci, r0);
        _mm256_storeu_ps(ci + 8, r1);
    }
}

// pa (MR, kc) k-major, pb (kc, NR) k-major -> C tile (m, n), m <= MR, n <= NR.
static void kernel_6x16(int kc, const void *pa_, const void *pb_, float *c, int ldc, int m,
                        int n, float alpha, float beta, const zy__gemm_hints *hint) {
    const float *pa = pa_, *pb = pb_;
    (void)hint; // the caches keep up with these slower kernels unaided
    __m256 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
#pragma GCC unroll 2
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(pb), b1 = _mm256_loadu_ps(pb + 8);
        for (int i = 0; i < MR; i++) {
            __m256 a = _mm256_broadcast_ss(pa + i);
            acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
        }
        pa += MR;
        pb += NR;
    }
    if (m == MR && n == NR) {
        store_tile(acc, c, ldc, alpha, beta);
        return;
    }
    float buf[MR * NR] = {0};
    if (beta != 0.0f)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) buf[i * NR + j] = c[(size_t)i * ldc + j];
    store_tile(acc, buf, NR, alpha, beta);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = buf[i * NR + j];
}

const zy__gemm_arch zy__gemm_avx2 = {
    .name = "avx2", .mr = MR, .nr = NR, .kc = 256, .mc = 6 * 48, .nc = 4096,
    .elem = 4, .kpad = 1, .pack_cost = {{10, 10}, {10, 10}},
    .pack_a = zy__gemm_pack_a, .pack_b = zy__gemm_pack_b,
    .kernel = kernel_6x16,
};
