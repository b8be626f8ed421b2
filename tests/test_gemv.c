// Tests of the multi-input decoding GEMV (src/kernels/gemv*.c, private): at every SIMD
// level this CPU has, the rows against the scalar reference, every input row equal (bit
// for bit) to the one-input zy__gemv, and the same bits on 1 and 2 threads.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/gemv.h"
#include "zhuyi/core.h"

// Shapes with row tails (N % 4), k tails (K % 16) and input tails (M % 4); K = 768 and
// N = 2304 run threaded. Scalar vs AVX2/AVX-512: they sum in different orders, so the
// difference is bounded by ~1e-7 · Σ_k |w x| <= 1e-7 · K (values in [-1, 1]); checked as
// atol 4e-7 · K + 1e-6 (a wrong term is off by O(1)).
static void check_level(void) {
    const int Ms[] = {2, 3, 4, 5, 9}, Ns[] = {1, 5, 64, 130, 2304}, Ks[] = {1, 7, 16, 100, 768};
    const int ldx = 800, ldy = 2400;
    float *W = zt_floats((size_t)2304 * 768), *X = zt_floats((size_t)9 * ldx);
    float *b = zt_floats(2304), *Y = zt_floats((size_t)9 * ldy), *R = zt_floats((size_t)9 * ldy);
    float *y1 = zt_floats(2304);
    zt_fill_uniform(W, (size_t)2304 * 768, 1, -1, 1);
    zt_fill_uniform(X, (size_t)9 * ldx, 2, -1, 1);
    zt_fill_uniform(b, 2304, 3, -1, 1);
    int cases = 0, same_bits = 1;
    double worst = 0; // |multi - scalar| / (4e-7 K + 1e-6), must stay <= 1
    for (int mi = 0; mi < 5; mi++)
        for (int ni = 0; ni < 5; ni++)
            for (int ki = 0; ki < 5; ki++) {
                int M = Ms[mi], N = Ns[ni], K = Ks[ki];
                const float *bias = (ni + ki) % 2 ? b : NULL;
                zy__gemv_multi_rows_scalar(R, ldy, W, X, ldx, bias, M, 0, N, K);
                zy__gemv_multi(Y, ldy, W, X, ldx, bias, M, N, K);
                for (int m = 0; m < M; m++) {
                    for (int n = 0; n < N; n++) {
                        double e = fabs((double)Y[(size_t)m * ldy + n] - R[(size_t)m * ldy + n]);
                        worst = fmax(worst, e / (4e-7 * K + 1e-6));
                    }
                    zy__gemv(y1, W, X + (size_t)m * ldx, bias, N, K);
                    same_bits &= !memcmp(y1, Y + (size_t)m * ldy, (size_t)N * sizeof(float));
                }
                cases++;
            }
    zt_note("%d shapes at %s: worst |multi - scalar| = %.3g of the tolerance", cases,
            zy_simd_name(zy_simd_level()), worst);
    CHECK(worst <= 1.0);
    CHECK(same_bits); // each input row equals the one-input GEMV exactly
    // threads: 1 vs 2 bit-exact on the threaded shape
    int threads = zy_threads_get();
    zy_threads_set(1);
    zy__gemv_multi(R, ldy, W, X, ldx, b, 5, 2304, 768);
    zy_threads_set(2);
    zy__gemv_multi(Y, ldy, W, X, ldx, b, 5, 2304, 768);
    zy_threads_set(threads);
    for (int m = 0; m < 5; m++)
        CHECK(!memcmp(R + (size_t)m * ldy, Y + (size_t)m * ldy, 2304 * sizeof(float)));
    free(W), free(X), free(b), free(Y), free(R), free(y1);
}

TEST(gemv_multi_simd_matches_scalar_and_single) {
    for (int level = ZY_SIMD_SCALAR; level <= ZY_SIMD_AVX512; level++)
        if (zt_use_simd(level)) check_level();
}
