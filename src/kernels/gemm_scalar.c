// Portable GEMM micro-kernel (ZY_SIMD_SCALAR): plain C over the same packed panels as the
// SIMD kernels, so the scalar level still gets cache blocking and exercises the shared
// driver and packing code. Compiled for baseline x86-64; the compiler may use SSE2.
#include "gemm_internal.h"

enum { MR = 4, NR = 16 };

// pa (MR, kc) k-major, pb (kc, NR) k-major -> C tile (m, n), m <= MR, n <= NR.
static void kernel_4x16(int kc, const void *pa_, const void *pb_, float *c, int ldc, int m,
                        int n, float alpha, float beta, const zy__gemm_hints *hint) {
    const float *pa = pa_, *pb = pb_;
    (void)hint; // the caches keep up with these slower kernels unaided
    float acc[MR][NR] = {{0}};
    for (int k = 0; k < kc; k++, pa += MR, pb += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += pa[i] * pb[j];
    // The full tile is computed either way; partial tiles only store less.
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < n; j++) ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < n; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
}

const zy__gemm_arch zy__gemm_scalar = {
    .name = "scalar", .mr = MR, .nr = NR, .kc = 256, .mc = 128, .nc = 2048,
    .elem = 4, .kpad = 1, .pack_cost = {{10, 10}, {10, 10}},
    .pack_a = zy__gemm_pack_a, .pack_b = zy__gemm_pack_b,
    .kernel = kernel_4x16,
};
