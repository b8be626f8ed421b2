// Tests of the bf16 GEMM families (src/kernels/gemm_bf16*.c): each hardware kernel gives
// its scalar emulation's bits exactly (on a CPU that has it; otherwise reported skipped),
// both emulations are within bf16's error of the fp32 product, and zy_sgemm under
// ZY_PRECISION_BF16 uses the path zy_bf16_level() names, with the same bits at 1 and 2
// threads.
//
// Error scale: the inputs are rounded to bf16 (relative error <= 2^-9 each, so <= ~2^-8
// per product) and accumulated in fp32, so element (i,j) may be off by about
// 2^-8 * Σ_k |a_ik b_kj| (scaled by alpha) plus fp32's K * 2^-24 of the same: the test
// allows 6e-3 of that sum. A wrong, missing or repeated term is off by O(the sum).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/gemm_bias.h"
#include "kernels/gemm_copy.h"
#include "kernels/gemm_internal.h"
#include "zhuyi/core.h"
#include "zhuyi/gemm.h"
#include "zhuyi/io.h"

typedef struct prob {
    bool ta, tb;
    int M, N, K, lda, ldb, ldc;
    float alpha, beta;
    float *A, *B, *C0;
} prob;

static prob make(bool ta, bool tb, int M, int N, int K, float alpha, float beta, uint64_t seed) {
    prob p = {ta, tb, M, N, K, (ta ? M : K) + 3, (tb ? K : N) + 5, N + 7, alpha, beta, 0, 0, 0};
    size_t na = (size_t)(ta ? K : M) * p.lda, nb = (size_t)(tb ? N : K) * p.ldb;
    size_t nc = (size_t)M * p.ldc;
    p.A = zt_floats(na + 1);
    p.B = zt_floats(nb + 1);
    p.C0 = zt_floats(nc + 1);
    zt_fill_uniform(p.A, na, seed, -1.0f, 1.0f);
    zt_fill_uniform(p.B, nb, seed + 1, -1.0f, 1.0f);
    zt_fill_uniform(p.C0, nc, seed + 2, -1.0f, 1.0f);
    // A spread of magnitudes, so the rounding of sums of unlike terms is exercised.
    for (size_t i = 0; i < na; i += 7) p.A[i] *= 1024.0f;
    for (size_t i = 0; i < nb; i += 11) p.B[i] *= 1.0f / 4096.0f;
    return p;
}

static void unmake(prob *p) {
    free(p->A);
    free(p->B);
    free(p->C0);
}

static float *run_arch(const zy__gemm_arch *ar, const prob *p) {
    size_t nc = (size_t)p->M * p->ldc;
    float *C = zt_floats(nc + 1);
    memcpy(C, p->C0, sizeof(float) * nc);
    zy__sgemm_arch(ar, p->ta, p->tb, p->M, p->N, p->K, p->alpha, p->A, p->lda, p->B, p->ldb,
                   p->beta, C, p->ldc);
    return C;
}

static float *run_sgemm(const prob *p) {
    size_t nc = (size_t)p->M * p->ldc;
    float *C = zt_floats(nc + 1);
    memcpy(C, p->C0, sizeof(float) * nc);
    zy_sgemm(p->ta, p->tb, p->M, p->N, p->K, p->alpha, p->A, p->lda, p->B, p->ldb, p->beta, C,
             p->ldc);
    return C;
}

// Bitwise equality over the whole C buffer (the ldc padding included: untouched by both).
static int same_bits(const char *what, const prob *p, const float *got, const float *want) {
    size_t nc = (size_t)p->M * p->ldc;
    for (size_t i = 0; i < nc; i++) {
        if (memcmp(&got[i], &want[i], 4)) {
            zt_fail(__FILE__, __LINE__,
                    "%s: %s%s M=%d N=%d K=%d: C[%zu] = %a, expected %a", what,
                    p->ta ? "T" : "N", p->tb ? "T" : "N", p->M, p->N, p->K, i,
                    (double)got[i], (double)want[i]);
            return 0;
        }
    }
    return 1;
}

// got against the fp32-exact product (in double), within bf16's error.
static int near_exact(const char *what, const prob *p, const float *got) {
    for (int i = 0; i < p->M; i++) {
        for (int j = 0; j < p->N; j++) {
            double s = 0, mag = 0;
            for (int k = 0; k < p->K; k++) {
                double a = p->ta ? p->A[(size_t)k * p->lda + i] : p->A[(size_t)i * p->lda + k];
                double b = p->tb ? p->B[(size_t)j * p->ldb + k] : p->B[(size_t)k * p->ldb + j];
                s += a * b;
                mag += fabs(a * b);
            }
            double c0 = p->C0[(size_t)i * p->ldc + j];
            double want = p->alpha * s + (p->beta != 0.0f ? p->beta * c0 : 0.0);
            double tol = 6e-3 * fabs(p->alpha) * mag + 1e-6 * fabs(p->beta * c0) + 1e-30;
            double g = got[(size_t)i * p->ldc + j];
            if (!(fabs(g - want) <= tol)) {
                zt_fail(__FILE__, __LINE__, "%s: M=%d N=%d K=%d (%d,%d) = %.9g, want %.9g (tol %g)",
                        what, p->M, p->N, p->K, i, j, g, want, tol);
                return 0;
            }
        }
    }
    return 1;
}

// Shapes: edges of both tiles (14x32, 32x32), depths that are and are not multiples of
// the pad units (2, 32) and of the k block (768), every transpose case.
static const int SHAPES[][3] = {{1, 1, 1},    {3, 5, 7},      {14, 32, 32},  {15, 33, 33},
                                {32, 32, 64}, {33, 31, 95},   {47, 70, 130}, {64, 96, 768},
                                {29, 45, 800}, {100, 64, 1601}, {7, 300, 40}, {300, 7, 40},
                                {260, 520, 96},  // B packed in slabs over two row blocks
                                {64, 200, 256},  // a bf16 A read in place, 200 columns
                                {40, 600, 96}};  // the same, 300-column chunks (2 threads)

static void each_shape(void (*fn)(const prob *p, void *ctx), void *ctx) {
    int n = (int)(sizeof SHAPES / sizeof *SHAPES);
    for (int s = 0; s < n; s++) {
        for (int t = 0; t < 4; t++) {
            float alpha = t == 3 ? -0.5f : 1.0f, beta = t >= 2 ? 0.75f : 0.0f;
            prob p = make(t & 1, (t >> 1) & 1, SHAPES[s][0], SHAPES[s][1], SHAPES[s][2], alpha,
                          beta, 100 + 10 * (uint64_t)s + (uint64_t)t);
            fn(&p, ctx);
            unmake(&p);
            if (zt_failed()) return;
        }
    }
}

typedef struct pair {
    const zy__gemm_arch *hw, *emul;
    const char *name;
} pair;

static void hw_vs_emul(const prob *p, void *ctx) {
    const pair *pr = ctx;
    float *want = run_arch(pr->emul, p), *got = run_arch(pr->hw, p);
    same_bits(pr->name, p, got, want);
    free(want);
    free(got);
}

TEST(gemm_bf16_avx512_matches_emulation) {
    if (!zt_use_bf16(ZY_BF16_AVX512)) return;
    pair pr = {&zy__gemm_bf16_dp, &zy__gemm_bf16_dp_emul, "avx512-bf16 vs emulation"};
    each_shape(hw_vs_emul, &pr);
}

TEST(gemm_bf16_amx_matches_emulation) {
    if (!zt_use_bf16(ZY_BF16_AMX)) return;
    pair pr = {&zy__gemm_bf16_amx, &zy__gemm_bf16_amx_emul, "amx vs emulation"};
    each_shape(hw_vs_emul, &pr);
}

static void emul_near(const prob *p, void *ctx) {
    (void)ctx;
    float *a = run_arch(&zy__gemm_bf16_dp_emul, p), *b = run_arch(&zy__gemm_bf16_amx_emul, p);
    near_exact("avx512-bf16 emulation", p, a);
    near_exact("amx emulation", p, b);
    free(a);
    free(b);
}

TEST(gemm_bf16_emulations_near_fp32) { each_shape(emul_near, NULL); }

// Values that are exact in bf16 with products and sums exact in fp32: every path gives
// the exact answer, so a misplaced element or a wrong layout cannot hide in rounding.
TEST(gemm_bf16_exact_small_integers) {
    int M = 37, N = 45, K = 131;
    float *A = zt_floats((size_t)M * K), *B = zt_floats((size_t)K * N);
    float *C = zt_floats((size_t)M * N);
    for (int i = 0; i < M * K; i++) A[i] = (float)((i * 7) % 9 - 4);
    for (int i = 0; i < K * N; i++) B[i] = (float)((i * 5) % 7 - 3);
    const zy__gemm_arch *all[] = {&zy__gemm_bf16_dp_emul, &zy__gemm_bf16_amx_emul,
                                  &zy__gemm_bf16_dp, &zy__gemm_bf16_amx};
    zy_bf16_path need[] = {ZY_BF16_EMULATED, ZY_BF16_EMULATED, ZY_BF16_AVX512, ZY_BF16_AMX};
    for (int a = 0; a < 4; a++) {
        if (!zt_use_bf16(need[a])) continue;
        memset(C, 0, sizeof(float) * (size_t)M * N);
        zy__sgemm_arch(all[a], false, false, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
        for (int i = 0; i < M && !zt_failed(); i++)
            for (int j = 0; j < N; j++) {
                float s = 0;
                for (int k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
                if (C[i * N + j] != s) {
                    zt_fail(__FILE__, __LINE__, "%s: (%d,%d) = %g, want %g", all[a]->name, i, j,
                            (double)C[i * N + j], (double)s);
                    break;
                }
            }
    }
    free(A);
    free(B);
    free(C);
}

// Subnormal inputs and products below fp32's normal range are flushed by both
// instructions; the emulations must flush the same way. The packers flush subnormal fp32
// inputs before rounding (vcvtne2ps2bf16): the largest subnormals would otherwise round up
// to bf16's smallest normal. Every transpose case, since each packs through other code.
TEST(gemm_bf16_flushes_like_hardware) {
    int M = 16, N = 32, K = 64;
    float *A = zt_floats((size_t)M * K), *B = zt_floats((size_t)K * N);
    zt_fill_uniform(A, (size_t)M * K, 7, -1.0f, 1.0f);
    zt_fill_uniform(B, (size_t)K * N, 8, -1.0f, 1.0f);
    for (int i = 0; i < M * K; i += 3) A[i] *= 0x1p-70f;
    for (int i = 0; i < K * N; i += 5) B[i] *= 0x1p-60f;
    A[5] = 0x1p-130f; // subnormal in fp32 and in bf16
    B[9] = -0x1p-128f;
    bool has_dp = zt_use_bf16(ZY_BF16_AVX512), has_amx = zt_use_bf16(ZY_BF16_AMX);
    float *C = zt_floats((size_t)M * N);
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        // Row 2 of op(A) is zero but for the largest subnormal at k = 7, and row 7 of op(B)
        // is 2: row 2 of C is 0 if it is flushed, 2^-125 if rounded up to 2^-126.
        for (int k = 0; k < K; k++) A[ta ? (size_t)k * M + 2 : 2 * (size_t)K + k] = 0.0f;
        A[ta ? 7 * (size_t)M + 2 : 2 * (size_t)K + 7] = 0x1.fffffcp-127f;
        for (int j = 0; j < N; j++) B[tb ? (size_t)j * K + 7 : 7 * (size_t)N + j] = 2.0f;
        prob p = {ta, tb, M, N, K, ta ? M : K, tb ? K : N, N, 1.0f, 0.0f, A, B, C};
        if (has_dp) {
            pair pr = {&zy__gemm_bf16_dp, &zy__gemm_bf16_dp_emul, "avx512-bf16 flushing"};
            hw_vs_emul(&p, &pr);
        }
        if (has_amx) {
            pair pr = {&zy__gemm_bf16_amx, &zy__gemm_bf16_amx_emul, "amx flushing"};
            hw_vs_emul(&p, &pr);
        }
    }
    free(A);
    free(B);
    free(C);
}

// The driver computes some products as C^T = op(B)^T op(A)^T (gemm.c: orient); each
// element's sum is the same, so the bits equal those of the family without that option.
static void oriented_vs_not(const prob *p, void *ctx) {
    const zy__gemm_arch *ar = ctx;
    zy__gemm_arch plain = *ar;
    plain.kernel_t = NULL;
    float *want = run_arch(&plain, p), *got = run_arch(ar, p);
    same_bits(ar->name, p, got, want);
    free(want);
    free(got);
}

TEST(gemm_bf16_transposed_product_same_bits) {
    each_shape(oriented_vs_not, (void *)&zy__gemm_bf16_amx_emul);
    each_shape(oriented_vs_not, (void *)&zy__gemm_bf16_dp_emul);
    if (zt_use_bf16(ZY_BF16_AVX512)) each_shape(oriented_vs_not, (void *)&zy__gemm_bf16_dp);
    if (zt_use_bf16(ZY_BF16_AMX)) each_shape(oriented_vs_not, (void *)&zy__gemm_bf16_amx);
}

// A beta-0 product writing more C than the driver's STREAM_BYTES (4 MB), rows 64-byte
// aligned: written with non-temporal stores, as it lies, x W^T 160 deep (AMX: computed as
// C^T) and over 1,040 rows (AMX: two k blocks whose sums wait apart from C, rows outer);
// and one whose rows do not start on lines (16,511 wide: not streamed, its lines claimed
// for writing while the tiles compute). Same bits as the family's emulation, and never a
// read of the NaNs C held before.
static void streamed_same_bits(const zy__gemm_arch *hw, const zy__gemm_arch *emul) {
    static const char *const names[] = {"streamed C", "streamed x W^T", "streamed C, 1,040 rows",
                                        "x W^T, rows off lines"};
    for (int t = 0; t < 4 && !zt_failed(); t++) {
        prob p = t == 1   ? make(false, true, 64, 16512, 160, 0.5f, 0.0f, 22) // AMX: as C^T
                 : t == 2 ? make(false, false, 1040, 1024, 288, 1.0f, 0.0f, 23)
                 : t == 3 ? make(false, true, 64, 16511, 160, 1.0f, 0.0f, 24)
                          : make(false, false, 1024, 1056, 32, 1.0f, 0.0f, 21);
        p.ldc = p.N;
        size_t nc = (size_t)p.M * p.ldc;
        float *want = zy_alloc(sizeof(float) * nc), *got = zy_alloc(sizeof(float) * nc);
        ASSERT(want && got);
        for (size_t i = 0; i < nc; i++) want[i] = got[i] = NAN;
        zy__sgemm_arch(emul, p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb,
                       p.beta, want, p.ldc);
        zy__sgemm_arch(hw, p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta,
                       got, p.ldc);
        same_bits(names[t], &p, got, want);
        zy_free(want);
        zy_free(got);
        unmake(&p);
    }
}

TEST(gemm_bf16_streamed_c_same_bits) {
    if (zt_use_bf16(ZY_BF16_AVX512)) streamed_same_bits(&zy__gemm_bf16_dp, &zy__gemm_bf16_dp_emul);
    if (zt_use_bf16(ZY_BF16_AMX)) streamed_same_bits(&zy__gemm_bf16_amx, &zy__gemm_bf16_amx_emul);
}

// Products of the given shapes (alpha 1, beta 0; B as given or transposed) on the AMX
// family against its emulation, bit for bit (skipped without AMX).
static void amx_against_emulation(const int (*shapes)[3], const char *const *names, int n,
                                  bool tb, uint64_t seed) {
    if (!zt_use_bf16(ZY_BF16_AMX)) return;
    for (int s = 0; s < n; s++) {
        prob p = make(false, tb, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.0f,
                      seed + (uint64_t)s);
        float *want = run_arch(&zy__gemm_bf16_amx_emul, &p);
        float *got = run_arch(&zy__gemm_bf16_amx, &p);
        same_bits(names[s], &p, got, want);
        free(want);
        free(got);
        unmake(&p);
        if (zt_failed()) return;
    }
}

// A packed B block past the driver's PULL_B_BYTES (1 MB: 768 deep -- the k block of a C
// past L2 -- x 2,048 columns) over two row blocks of A, so the AMX kernel prefetches
// each B panel again while it computes the one before, into a C past L2 (stored through
// vector registers); and a C within L2 (the kernel stores whole tiles from its tile
// registers). Same bits as the emulation.
TEST(gemm_bf16_amx_pulled_panels_same_bits) {
    static const int shapes[][3] = {{288, 8192, 288}, {64, 2100, 288}};
    static const char *const names[] = {"pulled B panels", "C within L2"};
    amx_against_emulation(shapes, names, 2, false, 30);
}

// x W^T over three k blocks, computed as C^T (fewer rows than columns): the AMX kernel
// leaves a block's transposed store pending until its next call, and the next k block's
// call on that same block (one partial tile here; with cont its sums start from C) must
// store it first; whole tiles (several) keep their sums in C as they lie between k
// blocks and transpose at the last. Same bits as the emulation.
TEST(gemm_bf16_amx_deferred_stores_same_bits) {
    static const int shapes[][3] = {{16, 32, 1601}, {40, 96, 1601}};
    static const char *const names[] = {"C^T, one tile", "C^T, several tiles"};
    amx_against_emulation(shapes, names, 2, true, 40);
}

// Over several k blocks the AMX kernel keeps each tile's sums apart from C (the hint's
// sums) when the chunk's tiles fit the thread's room for them (4 MB), and in C
// otherwise: dout W in three 256-deep blocks (as it lies; at 2 threads the two chunks
// share C's rows), the same over 600 rows (rows outer: each row block through the three
// k blocks; partial row blocks, tiles and pad), x W^T 1601 deep over a few tiles, and 800
// deep over more tiles than fit at 1 thread (computed as C^T, whose whole tiles then keep
// their sums in C as they lie). Same bits as the emulation at 1 and 2 threads.
TEST(gemm_bf16_amx_sums_apart_same_bits) {
    static const int as_is[][3] = {{256, 768, 768}, {600, 200, 700}},
                     transposed[][3] = {{40, 96, 1601}, {40, 16416, 800}};
    static const char *const as_is_names[] = {"dout W, sums apart", "dout W, rows outer"};
    static const char *const transposed_names[] = {"C^T, sums apart", "C^T, sums in C"};
    for (int threads = 1; threads <= 2 && !zt_failed(); threads++) {
        zy_threads_set(threads);
        amx_against_emulation(as_is, as_is_names, 2, false, 50);
        amx_against_emulation(transposed, transposed_names, 2, true, 51);
    }
}

// A linear layer's product with its bias (x W^T + b: computed transposed on AMX) equals
// the product then the bias added, at every bf16 path.
TEST(gemm_bf16_bias_same_as_separate_pass) {
    prob p = make(false, true, 70, 300, 200, 1.0f, 0.0f, 9);
    float *bias = zt_floats((size_t)p.N);
    zt_fill_uniform(bias, (size_t)p.N, 10, -1.0f, 1.0f);
    zy_precision old = zy_gemm_precision_set(ZY_PRECISION_BF16);
    for (int path = ZY_BF16_EMULATED; path <= ZY_BF16_AMX; path++) {
        if (path != ZY_BF16_EMULATED && !zt_use_bf16(path)) continue;
        zy_bf16_path was = zy_bf16_set((zy_bf16_path)path);
        float *want = run_sgemm(&p), *got = zt_floats((size_t)p.M * p.ldc + 1);
        memcpy(got, want, sizeof(float) * (size_t)p.M * p.ldc); // the ldc padding
        for (int i = 0; i < p.M; i++)
            for (int j = 0; j < p.N; j++) want[(size_t)i * p.ldc + j] += bias[j];
        zy__sgemm_bias(p.ta, p.tb, p.M, p.N, p.K, p.A, p.lda, p.B, p.ldb, bias, got, p.ldc);
        same_bits(zy_bf16_name((zy_bf16_path)path), &p, got, want);
        zy_bf16_set(was);
        free(want);
        free(got);
    }
    zy_gemm_precision_set(old);
    free(bias);
    unmake(&p);
}

// zy_gemm_bf16: bf16 sources give the bits of fp32 sources holding the same values, in
// every combination and transpose case, at every path (so the 16-bit packers, scalar and
// AVX-512, write what the fp32 ones write).
static uint16_t *to_bf16(float *x, size_t n) { // x rounded in place; its bf16 copy
    uint16_t *h = malloc(n * sizeof *h + 2);
    for (size_t i = 0; i < n; i++) {
        h[i] = zy_f32_to_bf16(x[i]);
        x[i] = zy_bf16_to_f32(h[i]);
    }
    return h;
}

static void sources_agree(const prob *p, void *ctx) {
    (void)ctx;
    size_t na = (size_t)(p->ta ? p->K : p->M) * p->lda, nb = (size_t)(p->tb ? p->N : p->K) * p->ldb;
    uint16_t *A16 = to_bf16(p->A, na), *B16 = to_bf16(p->B, nb);
    const void *as[2] = {p->A, A16}, *bs[2] = {p->B, B16};
    zy_dtype ty[2] = {ZY_DTYPE_F32, ZY_DTYPE_BF16};
    size_t nc = (size_t)p->M * p->ldc;
    float *want = NULL;
    for (int v = 0; v < 4; v++) {
        float *C = zt_floats(nc + 1);
        memcpy(C, p->C0, sizeof(float) * nc);
        int a = v & 1, b = v >> 1;
        zy_status st = zy_gemm_bf16(p->ta, p->tb, p->M, p->N, p->K, p->alpha, as[a], ty[a],
                                    p->lda, bs[b], ty[b], p->ldb, p->beta, C, p->ldc);
        CHECK(st == ZY_STATUS_OK);
        if (!want) want = C;
        else {
            same_bits(a ? (b ? "bf16 x bf16" : "bf16 x fp32") : "fp32 x bf16", p, C, want);
            free(C);
        }
    }
    // Past the fp32 shortcut for tiny products, zy_sgemm under BF16 precision too.
    if (2.0 * p->M * p->N * p->K >= 32768.0) {
        zy_precision old = zy_gemm_precision_set(ZY_PRECISION_BF16);
        float *C = run_sgemm(p);
        zy_gemm_precision_set(old);
        same_bits("zy_sgemm (bf16 precision)", p, C, want);
        free(C);
    }
    free(want);
    free(A16);
    free(B16);
}

TEST(gemm_bf16_sources_as_fp32_ones) {
    for (int path = ZY_BF16_EMULATED; path <= ZY_BF16_AMX; path++) {
        if (path != ZY_BF16_EMULATED && !zt_use_bf16(path)) continue;
        zy_bf16_path was = zy_bf16_set((zy_bf16_path)path);
        each_shape(sources_agree, NULL);
        zy_bf16_set(was);
    }
}

// A bf16 A read in place past the driver's PULL_A_BYTES (2 MB): the AMX kernel pulls the
// next block of A's rows into L2 while it computes on this one -- 4,500 rows x 256 deep for
// each of two threads, 64 columns; and 2,100 rows x 512 deep on one thread, in two k
// blocks, rows outer (the pull spread over both blocks' calls). And A read in place by
// chunks of columns (600 x 600, 2 threads: four chunks at most 256 wide, each through all
// of A's rows). Same bits as fp32 sources, packed.
TEST(gemm_bf16_amx_pulled_rows_same_bits) {
    if (!zt_use_bf16(ZY_BF16_AMX)) return;
    zy_bf16_path was = zy_bf16_set(ZY_BF16_AMX);
    int threads = zy_threads_get();
    static const int shapes[][4] = {{9000, 64, 256, 2}, {2100, 64, 512, 1}, {600, 600, 288, 2}};
    for (int s = 0; s < 3 && !zt_failed(); s++) {
        zy_threads_set(shapes[s][3]);
        prob p = make(false, false, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.0f,
                      40 + (uint64_t)s);
        p.lda = p.K; // rows back to back, as a weight matrix's (the pull's condition)
        sources_agree(&p, NULL);
        unmake(&p);
    }
    zy_threads_set(threads);
    zy_bf16_set(was);
}

TEST(gemm_bf16_refuses_other_types) {
    float A[4] = {1, 2, 3, 4}, C[4] = {7, 7, 7, 7};
    zy_status st = zy_gemm_bf16(false, false, 2, 2, 2, 1.0f, A, ZY_DTYPE_F16, 2, A,
                                ZY_DTYPE_F32, 2, 0.0f, C, 2);
    CHECK(st == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "A's type") != NULL);
    CHECK(C[0] == 7.0f && C[3] == 7.0f);
}

// A row's bits do not depend on how many rows share its product, on every bf16 path: a
// linear layer's x W^T over 400 rows (on AMX: as it lies, in 256-deep k blocks carried on
// through C) against rows 0, 1-3 and 397-399 alone (computed as C^T, one 768-deep block),
// a depth of 1601 (several blocks either way), and 8 x 8 rows, whose slices are small
// enough for the fp32 families' unpacked shortcut, which bf16 never takes.
TEST(gemm_bf16_rows_independent_of_row_count) {
    static const int shapes[][3] = {{400, 256, 768}, {200, 64, 1601}, {300, 8, 8}};
    static const int slices[][2] = {{0, 1}, {1, 3}, {-3, 3}}; // first row (from the end), rows
    zy_precision old = zy_gemm_precision_set(ZY_PRECISION_BF16);
    for (int path = ZY_BF16_EMULATED; path <= ZY_BF16_AMX; path++) {
        if (path != ZY_BF16_EMULATED && !zt_use_bf16(path)) continue;
        zy_bf16_path was = zy_bf16_set((zy_bf16_path)path);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes && !zt_failed(); s++) {
            prob p = make(false, true, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.0f,
                          70 + (uint64_t)s);
            float *all = run_sgemm(&p);
            for (size_t c = 0; c < sizeof slices / sizeof *slices; c++) {
                int r0 = slices[c][0] < 0 ? p.M + slices[c][0] : slices[c][0];
                prob q = p;
                q.M = slices[c][1];
                q.A = p.A + (size_t)r0 * p.lda;
                q.C0 = p.C0 + (size_t)r0 * p.ldc;
                float *alone = run_sgemm(&q);
                same_bits(zy_bf16_name((zy_bf16_path)path), &q, alone,
                          all + (size_t)r0 * p.ldc);
                free(alone);
            }
            free(all);
            unmake(&p);
        }
        zy_bf16_set(was);
    }
    zy_gemm_precision_set(old);
}

// zy_sgemm under BF16 precision: the path zy_bf16_level() names, fp32 again after
// switching back, and the same bits at 1 and 2 threads.
TEST(gemm_bf16_precision_switch) {
    prob p = make(false, true, 200, 300, 768, 1.0f, 0.0f, 42);
    const zy__gemm_arch *arch[] = {&zy__gemm_bf16_amx_emul, &zy__gemm_bf16_dp,
                                   &zy__gemm_bf16_amx};
    float *fp32 = run_sgemm(&p);
    for (int path = ZY_BF16_EMULATED; path <= ZY_BF16_AMX; path++) {
        if (!zt_use_bf16(path)) continue;
        CHECK(zy_gemm_precision_set(ZY_PRECISION_BF16) == ZY_PRECISION_FP32);
        zy_threads_set(1);
        float *one = run_sgemm(&p);
        zy_threads_set(2);
        float *two = run_sgemm(&p);
        float *direct = run_arch(arch[path], &p);
        same_bits("1 vs 2 threads", &p, two, one);
        same_bits("zy_sgemm vs its family", &p, one, direct);
        CHECK(zy_gemm_precision_set(ZY_PRECISION_FP32) == ZY_PRECISION_BF16);
        float *back = run_sgemm(&p);
        same_bits("fp32 after bf16", &p, back, fp32);
        free(one);
        free(two);
        free(direct);
        free(back);
    }
    free(fp32);
    unmake(&p);
}

// zy__gemm_bf16_round writes what the packers round to, on each path, over values that
// exercise it: ties either way, the largest subnormal (which would round up to a normal
// unless flushed), signed zeros, infinities, quiet and signalling NaNs, and a length that
// is no multiple of the vector or of the pool's chunks.
TEST(gemm_bf16_round_as_packers) {
    size_t n = 3 * 65536 + 37;
    float *x = zt_floats(n);
    uint16_t *got = malloc(n * sizeof *got);
    ASSERT(got != NULL);
    zt_fill_uniform(x, n, 5, -4.0f, 4.0f);
    static const uint32_t special[] = {0x3F808000u, 0x3F818000u, 0x007FFFFFu, 0x807FFFFFu,
                                       0x00000001u, 0x80000000u, 0x00000000u, 0x7F800000u,
                                       0xFF800000u, 0x7FC00001u, 0x7F800001u, 0xFFA00000u,
                                       0x7F7FFFFFu, 0x00800000u};
    for (size_t i = 0; i < n; i += 997) {
        uint32_t u = special[(i / 997) % (sizeof special / sizeof *special)];
        memcpy(&x[i], &u, sizeof u);
    }
    for (int path = ZY_BF16_EMULATED; path <= ZY_BF16_AMX; path++) {
        if (path != ZY_BF16_EMULATED && !zt_use_bf16(path)) continue;
        zy_bf16_path was = zy_bf16_set((zy_bf16_path)path);
        memset(got, 0xA5, n * sizeof *got);
        zy__gemm_bf16_round(got, x, n);
        zy_bf16_set(was);
        for (size_t i = 0; i < n; i++) {
            if (got[i] != zy__gemm_bf16_in(x[i])) {
                zt_fail(__FILE__, __LINE__, "%s: value %zu (%a) -> 0x%04x, want 0x%04x",
                        zy_bf16_name((zy_bf16_path)path), i, (double)x[i], got[i],
                        zy__gemm_bf16_in(x[i]));
                break;
            }
        }
    }
    free(x);
    free(got);
}

// Products under BF16 precision read an operand from a bf16 copy set for its range
// (gemm_copy.h) with the bits of rounding it while packing, for either operand or both,
// in every transpose case; an operand that only starts in the range is rounded as usual
// (the copy here is poisoned, so reading it would show).
static void copies_agree(const prob *p, void *ctx) {
    (void)ctx;
    if (2.0 * p->M * p->N * p->K < 32768.0) return; // zy_sgemm's fp32 shortcut
    size_t na = (size_t)(p->ta ? p->K : p->M) * p->lda, nb = (size_t)(p->tb ? p->N : p->K) * p->ldb;
    uint16_t *a16 = malloc(na * sizeof *a16), *b16 = malloc(nb * sizeof *b16);
    zy__gemm_bf16_round(a16, p->A, na);
    zy__gemm_bf16_round(b16, p->B, nb);
    zy_precision old = zy_gemm_precision_set(ZY_PRECISION_BF16);
    float *want = run_sgemm(p);
    // A's copy, B's, then each with a range one float short of the operand's last value
    // (and a zeroed copy).
    size_t ea = (size_t)((p->ta ? p->K : p->M) - 1) * p->lda + (size_t)(p->ta ? p->M : p->K);
    size_t eb = (size_t)((p->tb ? p->N : p->K) - 1) * p->ldb + (size_t)(p->tb ? p->K : p->N);
    const float *base[4] = {p->A, p->B, p->A, p->B};
    size_t len[4] = {na, nb, ea - 1, eb - 1};
    const char *what[4] = {"A from its copy", "B from its copy", "A past the range",
                           "B past the range"};
    for (int v = 0; v < 4 && !zt_failed(); v++) {
        uint16_t *copy = v % 2 ? b16 : a16;
        if (v >= 2) memset(copy, 0, len[v] * sizeof *copy);
        zy__gemm_bf16_copy_set(base[v], len[v], copy);
        float *C = run_sgemm(p);
        zy__gemm_bf16_copy_set(NULL, 0, NULL);
        same_bits(what[v], p, C, want);
        free(C);
    }
    zy_gemm_precision_set(old);
    free(want);
    free(a16);
    free(b16);
}

TEST(gemm_bf16_copies_same_bits) {
    for (int path = ZY_BF16_EMULATED; path <= ZY_BF16_AMX; path++) {
        if (path != ZY_BF16_EMULATED && !zt_use_bf16(path)) continue;
        zy_bf16_path was = zy_bf16_set((zy_bf16_path)path);
        each_shape(copies_agree, NULL);
        zy_bf16_set(was);
    }
}
