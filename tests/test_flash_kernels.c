// Tests of tiled attention's block kernels: the AVX2 and AVX-512 sets (src/nn/flash_avx2.c,
// flash_avx512.c) against the scalar reference (src/nn/flash_kernels.c) on every tail
// shape, and the kernel choice following zy_simd_set(). A level this CPU lacks is skipped.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "nn/flash_internal.h"

// Each check runs once per vector level this CPU has, on the kernel set
// zy__flash_kernels_get() picks at that level (zt_use_simd records the others as skipped).
static const zy_simd levels[] = {ZY_SIMD_AVX2, ZY_SIMD_AVX512};

// mm: every row tail (M % 4), column tail (N % 16, N past one 64-wide panel), both A
// layouts and beta 0 / 1. Both sum in k order; they differ only by FMA rounding, so
// |diff| <= 1e-6 · Σ_k |a||b| (K <= 70, values in [-1, 1]) is checked as atol 2e-5.
static void check_mm(const char *level, zy__flash_mm_fn mm) {
    const int Ms[] = {1, 3, 4, 7, 64}, Ns[] = {1, 15, 16, 33, 64, 70, 130}, Ks[] = {1, 9, 64};
    float *A = zt_floats(64 * 70), *B = zt_floats(70 * 130), *C0 = zt_floats(64 * 140);
    float *C1 = zt_floats(64 * 140), *C2 = zt_floats(64 * 140);
    zt_fill_uniform(A, 64 * 70, 31, -1, 1);
    zt_fill_uniform(B, 70 * 130, 32, -1, 1);
    zt_fill_uniform(C0, 64 * 140, 33, -1, 1);
    double worst = 0;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 7; b++)
            for (int c = 0; c < 3; c++)
                for (int ta = 0; ta < 2; ta++)
                    for (int beta = 0; beta < 2; beta++) {
                        int M = Ms[a], N = Ns[b], K = Ks[c];
                        int lda = ta ? M + 3 : K + 1, ldb = N + 2, ldc = N + 1;
                        memcpy(C1, C0, sizeof(float) * 64 * 140);
                        memcpy(C2, C0, sizeof(float) * 64 * 140);
                        zy__flash_mm_ref(M, N, K, 0.7f, A, lda, ta, B, ldb, (float)beta, C1,
                                         ldc);
                        mm(M, N, K, 0.7f, A, lda, ta, B, ldb, (float)beta, C2, ldc);
                        // Compare the whole buffer: also catches writes outside the tile.
                        for (int i = 0; i < 64 * 140; i++) {
                            double d = fabs((double)C1[i] - C2[i]);
                            worst = d > worst ? d : worst;
                            if (d > 2e-5) {
                                zt_fail(__FILE__, __LINE__,
                                        "%s M=%d N=%d K=%d transA=%d beta=%d: C[%d] %g vs %g",
                                        level, M, N, K, ta, beta, i, C1[i], C2[i]);
                                goto done;
                            }
                        }
                    }
done:
    zt_note("mm: worst |%s - ref| %.3g over 420 shapes [atol 2e-5]", level, worst);
    free(A), free(B), free(C0), free(C1), free(C2);
}

TEST(flash_kernels_mm_simd_matches_ref) {
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++)
        if (zt_use_simd(levels[i])) check_mm(zy_simd_name(levels[i]), zy__flash_kernels_get().mm);
}

// The softmax / exp kernels: the polynomial exp is within ~2 ulp of libm's expf, so
// values agree to 1e-6 relative; masked (-inf) scores give exactly 0 in both; running
// sums to 1e-6 relative. Tiles have tail rows and columns and a fully masked column.
static void check_softmax(zy__flash_kernels kn) {
    enum { NK = 37, MQ = 29, LD = 40 };
    float *s1 = zt_floats(NK * LD), *s2 = zt_floats(NK * LD);
    zt_fill_uniform(s1, NK * LD, 41, -30, 10);
    for (int j = 0; j < NK; j++)
        for (int r = 0; r < MQ; r++)
            if (r == 3 || r == 4 || (r < 10 && j > 20 + r)) s1[j * LD + r] = -INFINITY; // masks
    memcpy(s2, s1, sizeof(float) * NK * LD);
    float m1[MQ], l1[MQ], a1[MQ], m2[MQ], l2[MQ], a2[MQ];
    for (int r = 0; r < MQ; r++) {
        m1[r] = m2[r] = r % 4 == 0 ? -INFINITY : 2.0f - r * 0.5f; // some unseen columns
        l1[r] = l2[r] = r % 4 == 0 ? 0.0f : 1.5f;
    }
    zy__flash_softmax_cols_ref(s1, NK, MQ, LD, m1, l1, a1);
    kn.softmax_cols(s2, NK, MQ, LD, m2, l2, a2);
    CHECK_CLOSE("softmax_cols P", s2, s1, NK * LD, 1e-30, 1e-6);
    CHECK_CLOSE("softmax_cols alpha", a2, a1, MQ, 1e-30, 1e-6);
    CHECK_CLOSE("softmax_cols l", l2, l1, MQ, 1e-30, 1e-6);
    CHECK(!memcmp(m1, m2, sizeof m1) && m1[4] == -INFINITY && l2[4] == 0.0f);
    for (int j = 0; j < NK; j++) CHECK(s2[j * LD + 3] == 0.0f && s2[j * LD + 4] == 0.0f);

    // exp_rows: rows with sub = -inf become zeros; the rest exp(x - sub).
    float sub[NK];
    zt_fill_uniform(s1, NK * LD, 42, -30, 10);
    s1[5] = -INFINITY;
    memcpy(s2, s1, sizeof(float) * NK * LD);
    for (int r = 0; r < NK; r++) sub[r] = r == 7 ? -INFINITY : 3.0f + r * 0.1f;
    zy__flash_exp_rows_ref(s1, NK, MQ, LD, sub);
    kn.exp_rows(s2, NK, MQ, LD, sub);
    CHECK_CLOSE("exp_rows", s2, s1, NK * LD, 1e-37, 1e-6);
    CHECK(s2[5] == 0.0f && s2[7 * LD] == 0.0f);

    // ds: P∘(dP - Δ), Δ a length-33 dot product (sums in different orders: 1e-6 abs).
    float *P = zt_floats(NK * LD), *dO = zt_floats(NK * 33), *O = zt_floats(NK * 33);
    zt_fill_uniform(P, NK * LD, 43, 0, 1);
    zt_fill_uniform(dO, NK * 33, 44, -1, 1);
    zt_fill_uniform(O, NK * 33, 45, -1, 1);
    zt_fill_uniform(s1, NK * LD, 46, -1, 1);
    memcpy(s2, s1, sizeof(float) * NK * LD);
    zy__flash_ds_ref(s1, P, NK, MQ, LD, dO, O, 33);
    kn.ds(s2, P, NK, MQ, LD, dO, O, 33);
    CHECK_CLOSE("ds", s2, s1, NK * LD, 1e-6, 1e-6);
    free(s1), free(s2), free(P), free(dO), free(O);
}

TEST(flash_kernels_softmax_simd_matches_ref) {
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++)
        if (zt_use_simd(levels[i])) check_softmax(zy__flash_kernels_get());
}

// transpose: a copy, so bit for bit, on every block tail (rows and columns around 8 and 16)
// and strides; the whole destination is compared, so nothing outside the tile is written.
static void check_transpose(const char *level, zy__flash_transpose_fn transpose) {
    const int Rs[] = {1, 7, 8, 9, 15, 16, 17, 33, 64}, Cs[] = {1, 5, 8, 16, 31, 64, 70};
    enum { LDD = 70, CAP = 80 * LDD };
    float *src = zt_floats(64 * 80), *d1 = zt_floats(CAP), *d2 = zt_floats(CAP);
    zt_fill_uniform(src, 64 * 80, 47, -1, 1);
    int bad = 0;
    for (int a = 0; a < 9 && !bad; a++)
        for (int b = 0; b < 7 && !bad; b++) {
            const int rows = Rs[a], cols = Cs[b], lds = cols + 3;
            for (int i = 0; i < CAP; i++) d1[i] = d2[i] = -7.0f;
            zy__flash_transpose_ref(src, lds, rows, cols, d1, LDD);
            transpose(src, lds, rows, cols, d2, LDD);
            if (memcmp(d1, d2, sizeof(float) * CAP)) {
                zt_fail(__FILE__, __LINE__, "%s transpose %d x %d differs", level, rows, cols);
                bad = 1;
            }
        }
    zt_note("transpose: %s = ref bit for bit over 63 shapes", level);
    free(src), free(d1), free(d2);
}

TEST(flash_kernels_transpose_simd_matches_ref) {
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++)
        if (zt_use_simd(levels[i]))
            check_transpose(zy_simd_name(levels[i]), zy__flash_kernels_get().transpose);
}

TEST(flash_kernels_follow_simd_level) {
    zy_simd saved = zy_simd_level();
    zy_simd_set(ZY_SIMD_SCALAR);
    CHECK(zy__flash_kernels_get().mm == zy__flash_mm_ref);
    CHECK(zy__flash_kernels_get().transpose == zy__flash_transpose_ref);
    if (zy_simd_set(ZY_SIMD_AVX2) == ZY_SIMD_AVX2) {
        CHECK(zy__flash_kernels_get().mm == zy__flash_mm_avx2);
        CHECK(zy__flash_kernels_get().transpose == zy__flash_transpose_avx2);
    }
    if (zy_simd_set(ZY_SIMD_AVX512) == ZY_SIMD_AVX512) {
        CHECK(zy__flash_kernels_get().mm == zy__flash_mm_avx512);
        CHECK(zy__flash_kernels_get().transpose == zy__flash_transpose_avx512);
    }
    zy_simd_set(saved);
}
