// Scalar reference block kernels of tiled attention (contracts in flash_internal.h): the
// semantics the AVX2 and AVX-512 kernels are tested against, and the path on CPUs with
// neither.
#include <math.h>

#include "core/internal.h"
#include "flash_internal.h"

void zy__flash_mm_ref(int M, int N, int K, float alpha, const float *A, int lda, bool transA,
                      const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        for (int j = 0; j < N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < K; k++) {
                float a = transA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                acc += a * B[(size_t)k * ldb + j];
            }
            c[j] = beta == 0.0f ? alpha * acc : alpha * acc + beta * c[j];
        }
    }
}

void zy__flash_softmax_cols_ref(float *St, int nk, int mq, int ld, float *m, float *l,
                                float *alpha) {
    for (int r = 0; r < mq; r++) {
        float mx = m[r];
        for (int j = 0; j < nk; j++) mx = fmaxf(mx, St[(size_t)j * ld + r]);
        // exp(-inf - finite) = 0; both -inf (nothing seen yet) would be NaN, hence the test.
        alpha[r] = m[r] == -INFINITY ? 0.0f : expf(m[r] - mx);
        const float sub = mx == -INFINITY ? 0.0f : mx; // all -inf: every exp is 0
        float sum = 0.0f;
        for (int j = 0; j < nk; j++) {
            float *s = &St[(size_t)j * ld + r];
            *s = expf(*s - sub);
            sum += *s;
        }
        l[r] = l[r] * alpha[r] + sum;
        m[r] = mx;
    }
}

void zy__flash_exp_rows_ref(float *P, int rows, int cols, int ld, const float *sub) {
    for (int r = 0; r < rows; r++) {
        float *p = P + (size_t)r * ld;
        if (sub[r] == -INFINITY) {
            for (int j = 0; j < cols; j++) p[j] = 0.0f;
            continue;
        }
        for (int j = 0; j < cols; j++) p[j] = expf(p[j] - sub[r]);
    }
}

void zy__flash_ds_ref(float *dS, const float *P, int rows, int cols, int ld, const float *dO,
                      const float *O, int Dv) {
    for (int r = 0; r < rows; r++) {
        float delta = 0.0f;
        for (int d = 0; d < Dv; d++) delta += dO[(size_t)r * Dv + d] * O[(size_t)r * Dv + d];
        float *ds = dS + (size_t)r * ld;
        const float *p = P + (size_t)r * ld;
        for (int j = 0; j < cols; j++) ds[j] = p[j] * (ds[j] - delta);
    }
}

void zy__flash_transpose_ref(const float *src, ptrdiff_t lds, int rows, int cols, float *dst,
                             int ldd) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) dst[(size_t)c * ldd + r] = src[r * lds + c];
}

zy__flash_kernels zy__flash_kernels_get(void) {
    zy__flash_kernels k = {zy__flash_mm_ref, zy__flash_softmax_cols_ref,
                           zy__flash_exp_rows_ref, zy__flash_ds_ref, zy__flash_transpose_ref};
    if (zy_simd_level() >= ZY_SIMD_AVX512) {
        k.mm = zy__flash_mm_avx512;
        k.softmax_cols = zy__flash_softmax_cols_avx512;
        k.exp_rows = zy__flash_exp_rows_avx512;
        k.ds = zy__flash_ds_avx512;
        k.transpose = zy__flash_transpose_avx512;
    } else if (zy_simd_level() >= ZY_SIMD_AVX2) {
        k.mm = zy__flash_mm_avx2;
        k.softmax_cols = zy__flash_softmax_cols_avx2;
        k.exp_rows = zy__flash_exp_rows_avx2;
        k.ds = zy__flash_ds_avx2;
        k.transpose = zy__flash_transpose_avx2;
    }
    return k;
}
