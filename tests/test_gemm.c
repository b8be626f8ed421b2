// Tests of src/kernels/gemm*.c: zy_sgemm (every SIMD level this CPU has), zy_sgemm_ref and
// zy_sgemm_batched against a naive product accumulated in double.
//
// Error scale: element (i,j) is judged against
//   s_ij = |alpha| * Σ_k |a_ik||b_kj| + |beta c_ij|,
// the size float rounding errors are proportional to. A float sum of K products can be off
// by at most about (K+2) * 2^-24 * s_ij, so the tolerance is TOL_PER_K * (K + 4) * s_ij
// with TOL_PER_K = 2.4e-7 (~2 ulps per term): a real bug (a wrong, missing or repeated
// term, a wrong alpha/beta, a skipped tile) is off by O(s_ij) and fails.
// Entries of C outside the (M,N) window (the ldc padding) must stay untouched.
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/gemm_bias.h"
#include "zhuyi/core.h"
#include "zhuyi/gemm.h"

#define TOL_PER_K 2.4e-7
#define SENTINEL 12345.0f

typedef void (*gemm_fn)(bool, bool, int, int, int, float, const float *, int, const float *,
                        int, float, float *, int);

typedef struct problem {
    bool ta, tb;
    int M, N, K, lda, ldb, ldc;
    float alpha, beta;
    float *A, *B, *C0; // inputs; C0 is C before the call (NaN when beta == 0)
    double *want, *scale;
} problem;

// Build inputs for one product with strides `pad` larger than the minimum.
static problem make_problem(bool ta, bool tb, int M, int N, int K, float alpha, float beta,
                            int pad, uint64_t seed) {
    problem p = {ta, tb, M, N, K, 0, 0, 0, alpha, beta, 0, 0, 0, 0, 0};
    int arows = ta ? K : M, acols = ta ? M : K;
    int brows = tb ? N : K, bcols = tb ? K : N;
    p.lda = acols + pad;
    p.ldb = bcols + pad + 1;
    p.ldc = N + pad + 2;
    size_t na = (size_t)arows * p.lda + 1, nb = (size_t)brows * p.ldb + 1;
    size_t nc = (size_t)M * p.ldc + 1;
    p.A = zt_floats(na);
    p.B = zt_floats(nb);
    p.C0 = zt_floats(nc);
    zt_fill_uniform(p.A, na, seed, -1.0f, 1.0f);
    zt_fill_uniform(p.B, nb, seed + 1, -1.0f, 1.0f);
    zt_fill_uniform(p.C0, nc, seed + 2, -1.0f, 1.0f);
    for (size_t i = 0; i < nc; i++) {
        int col = (int)(i % (size_t)p.ldc);
        if (i / (size_t)p.ldc >= (size_t)M || col >= N) p.C0[i] = SENTINEL;
        else if (beta == 0.0f) p.C0[i] = NAN; // must not propagate
    }
    p.want = zt_malloc(sizeof(double) * ((size_t)M * N + 1));
    p.scale = zt_malloc(sizeof(double) * ((size_t)M * N + 1));
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double acc = 0.0, mag = 0.0;
            for (int k = 0; k < K; k++) {
                double a = ta ? p.A[(size_t)k * p.lda + i] : p.A[(size_t)i * p.lda + k];
                double b = tb ? p.B[(size_t)j * p.ldb + k] : p.B[(size_t)k * p.ldb + j];
                acc += a * b;
                mag += fabs(a * b);
            }
            double c = beta == 0.0f ? 0.0 : (double)beta * p.C0[(size_t)i * p.ldc + j];
            p.want[(size_t)i * N + j] = (double)alpha * acc + c;
            p.scale[(size_t)i * N + j] = fabs((double)alpha) * mag + fabs(c) + 1e-30;
        }
    }
    return p;
}

static void free_problem(problem *p) {
    free(p->A);
    free(p->B);
    free(p->C0);
    free(p->want);
    free(p->scale);
}

// Runs fn on a copy of C0 and checks it; returns the worst error / scale ratio seen
// (in units of the tolerance: <= 1 passes), or a failure is recorded.
static double run_check(const char *what, gemm_fn fn, const problem *p) {
    size_t nc = (size_t)p->M * p->ldc + 1;
    float *C = zt_malloc(sizeof(float) * nc);
    memcpy(C, p->C0, sizeof(float) * nc);
    fn(p->ta, p->tb, p->M, p->N, p->K, p->alpha, p->A, p->lda, p->B, p->ldb, p->beta, C,
       p->ldc);
    double tol = TOL_PER_K * (p->K + 4), worst = 0.0;
    for (size_t i = 0; i < nc; i++) {
        int r = (int)(i / (size_t)p->ldc), col = (int)(i % (size_t)p->ldc);
        if (r >= p->M || col >= p->N) {
            if (C[i] != SENTINEL) {
                zt_fail(__FILE__, __LINE__, "%s: wrote outside C at row %d col %d", what, r,
                        col);
                break;
            }
            continue;
        }
        size_t w = (size_t)r * p->N + col;
        double err = fabs((double)C[i] - p->want[w]) / p->scale[w];
        if (!(err <= tol)) { // NaN fails too
            zt_fail(__FILE__, __LINE__,
                    "%s ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g: C[%d,%d] = %.9g, "
                    "want %.9g (err/scale %.3g > tol %.3g)",
                    what, p->ta, p->tb, p->M, p->N, p->K, p->alpha, p->beta, r, col, C[i],
                    p->want[w], err, tol);
            worst = err / tol;
            break;
        }
        if (err / tol > worst) worst = err / tol;
    }
    free(C);
    return worst;
}

static const int sizes[] = {1, 2, 7, 16, 17, 33, 64, 65, 257};
enum { NSIZES = sizeof sizes / sizeof sizes[0] };
static const float alphas[] = {1.0f, -0.75f, 2.5f};
static const float betas[] = {0.0f, 1.0f, 0.5f};

// Every (M,N,K) in sizes^3, cycling through the transposes, alphas, betas and paddings.
static void check_all_sizes(const char *what, gemm_fn fn, int stride) {
    double worst = 0.0, worst_deep = 0.0; // all products / those with K >= 64
    int n = 0;
    for (int c = 0; c < NSIZES * NSIZES * NSIZES; c += stride, n++) {
        int M = sizes[c % NSIZES], N = sizes[c / NSIZES % NSIZES];
        int K = sizes[c / (NSIZES * NSIZES)];
        problem p = make_problem(c & 1, (c >> 1) & 1, M, N, K, alphas[c % 3],
                                 betas[(c / 3) % 3], 1 + c % 5, 1000 + (uint64_t)c);
        double w = run_check(what, fn, &p);
        free_problem(&p);
        if (w > worst) worst = w;
        if (K >= 64 && w > worst_deep) worst_deep = w;
        if (zt_failed()) break;
    }
    zt_note("%s: %d products, worst |err| = %.3f x tol (K >= 64: %.3f x tol; tol = %.1e * "
            "(K+4) * scale)",
            what, n, worst, worst_deep, TOL_PER_K);
}

TEST(gemm_ref_matches_double) { check_all_sizes("zy_sgemm_ref", zy_sgemm_ref, 1); }

// Each SIMD level (scalar always; one this CPU lacks is recorded as skipped). The
// harness restores the original level after the test.
#define FOR_EACH_LEVEL(lv)                                                                 \
    for (zy_simd lv = ZY_SIMD_SCALAR; lv <= ZY_SIMD_AVX512; lv++)                          \
        if (zt_use_simd(lv))

TEST(gemm_all_sizes_every_level) {
    FOR_EACH_LEVEL(lv) {
        check_all_sizes(zy_simd_name(lv), zy_sgemm, 1);
    }
}

// Sizes that cross the cache blocks (kc <= 768, mc 224, nc 2048 for AVX-512) and the
// thread split, in all four transpose cases.
TEST(gemm_large_every_level) {
    static const int shapes[][3] = {
        {300, 513, 129}, {513, 300, 129}, {700, 70, 600}, {20, 4200, 40}, {129, 257, 1100}};
    FOR_EACH_LEVEL(lv) {
        double worst = 0.0;
        for (int s = 0; s < 5; s++) {
            for (int t = 0; t < 4; t++) {
                problem p = make_problem(t & 1, t >> 1, shapes[s][0], shapes[s][1],
                                         shapes[s][2], -1.5f, betas[(s + t) % 3], 3,
                                         77 + (uint64_t)s * 4 + t);
                double w = run_check(zy_simd_name(lv), zy_sgemm, &p);
                free_problem(&p);
                if (w > worst) worst = w;
            }
        }
        zt_note("%s: large shapes, 4 transposes, worst |err| = %.3f x tol", zy_simd_name(lv),
                worst);
    }
}

TEST(gemm_k0_and_empty) {
    FOR_EACH_LEVEL(lv) {
        // K == 0: C = beta * C, and beta == 0 clears NaN.
        for (int b = 0; b < 3; b++) {
            problem p = make_problem(false, true, 5, 9, 0, 2.0f, betas[b], 2, 5);
            CHECK(run_check(zy_simd_name(lv), zy_sgemm, &p) <= 1.0);
            CHECK(run_check("ref", zy_sgemm_ref, &p) <= 1.0);
            free_problem(&p);
        }
        // M == 0 or N == 0: nothing is touched (the whole buffer is sentinels).
        float C[8];
        for (int i = 0; i < 8; i++) C[i] = SENTINEL;
        float A[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        zy_sgemm(false, false, 0, 4, 2, 1.0f, A, 2, A, 4, 0.0f, C, 4);
        zy_sgemm(false, false, 2, 0, 2, 1.0f, A, 2, A, 4, 0.0f, C, 4);
        zy_sgemm_batched(false, false, 0, 4, 2, 1.0f, A, 2, 0, A, 4, 0, 0.0f, C, 4, 0, 3);
        zy_sgemm_batched(false, false, 2, 4, 2, 1.0f, A, 2, 0, A, 4, 0, 0.0f, C, 4, 0, 0);
        for (int i = 0; i < 8; i++) CHECK(C[i] == SENTINEL);
    }
}

// Batched: strided batches (strides larger than one matrix) against per-matrix doubles.
static void check_batched(bool ta, bool tb, int M, int N, int K, int batch, float beta,
                          double *worst) {
    problem *p = zt_malloc(sizeof(problem) * (size_t)batch);
    for (int b = 0; b < batch; b++)
        p[b] = make_problem(ta, tb, M, N, K, 0.5f, beta, 2, 900 + (uint64_t)b);
    size_t na = (size_t)(ta ? K : M) * p[0].lda + 7, nb = (size_t)(tb ? N : K) * p[0].ldb + 5;
    size_t nc = (size_t)M * p[0].ldc + 3;
    float *A = zt_floats(na * batch), *B = zt_floats(nb * batch), *C = zt_floats(nc * batch);
    for (int b = 0; b < batch; b++) {
        memcpy(A + b * na, p[b].A, sizeof(float) * (na - 7));
        memcpy(B + b * nb, p[b].B, sizeof(float) * (nb - 5));
        memcpy(C + b * nc, p[b].C0, sizeof(float) * (nc - 3));
    }
    zy_sgemm_batched(ta, tb, M, N, K, 0.5f, A, p[0].lda, (ptrdiff_t)na, B, p[0].ldb,
                     (ptrdiff_t)nb, beta, C, p[0].ldc, (ptrdiff_t)nc, batch);
    double tol = TOL_PER_K * (K + 4);
    for (int b = 0; b < batch && !zt_failed(); b++) {
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                size_t w = (size_t)i * N + j;
                double err = fabs(C[b * nc + (size_t)i * p[0].ldc + j] - p[b].want[w]) /
                             p[b].scale[w];
                if (!(err <= tol)) {
                    zt_fail(__FILE__, __LINE__,
                            "batched %dx%dx%d batch %d: matrix %d C[%d,%d]", M, N, K, batch,
                            b, i, j);
                    i = M;
                    break;
                }
                if (err / tol > *worst) *worst = err / tol;
            }
        }
        // The padding between and inside matrices is untouched.
        for (size_t x = 0; x < nc; x++)
            if ((x / p[0].ldc >= (size_t)M || x % p[0].ldc >= (size_t)N) &&
                x < nc - 3 && C[b * nc + x] != SENTINEL) {
                zt_fail(__FILE__, __LINE__, "batched: matrix %d wrote outside C", b);
                break;
            }
    }
    for (int b = 0; b < batch; b++) free_problem(&p[b]);
    free(p);
    free(A);
    free(B);
    free(C);
}

TEST(gemm_batched_every_level) {
    FOR_EACH_LEVEL(lv) {
        double worst = 0.0;
        check_batched(false, true, 33, 65, 17, 1, 0.0f, &worst);  // batch 1
        check_batched(false, false, 17, 33, 65, 7, 0.5f, &worst); // odd batch, mid size
        check_batched(true, false, 8, 8, 16, 48, 1.0f, &worst);   // many small matrices
        check_batched(true, true, 64, 64, 64, 4, 0.0f, &worst);   // attention-like
        check_batched(false, true, 130, 140, 90, 3, 0.5f, &worst); // threaded per matrix
        zt_note("%s: batched, worst |err| = %.3f x tol", zy_simd_name(lv), worst);
    }
}

// 1 and 2 threads must give bitwise identical C (row split, column split, and a 2x2 grid
// of chunks for 1400x1400x16; that one is also checked against the double product).
TEST(gemm_threads_identical) {
    static const int shapes[][3] = {
        {300, 200, 300}, {64, 1000, 200}, {29, 700, 513}, {1400, 1400, 16}};
    FOR_EACH_LEVEL(lv) {
        for (int s = 0; s < 4; s++) {
            for (int t = 0; t < 4; t++) {
                problem p = make_problem(t & 1, t >> 1, shapes[s][0], shapes[s][1],
                                         shapes[s][2], 1.25f, 0.5f, 1, 31 + (uint64_t)s);
                size_t nc = (size_t)p.M * p.ldc;
                float *c1 = zt_malloc(sizeof(float) * nc);
                float *c2 = zt_malloc(sizeof(float) * nc);
                memcpy(c1, p.C0, sizeof(float) * nc);
                memcpy(c2, p.C0, sizeof(float) * nc);
                zy_threads_set(1);
                zy_sgemm(p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta,
                         c1, p.ldc);
                zy_threads_set(2);
                zy_sgemm(p.ta, p.tb, p.M, p.N, p.K, p.alpha, p.A, p.lda, p.B, p.ldb, p.beta,
                         c2, p.ldc);
                if (memcmp(c1, c2, sizeof(float) * nc))
                    zt_fail(__FILE__, __LINE__, "%s %dx%dx%d t=%d: 1 vs 2 threads differ",
                            zy_simd_name(lv), p.M, p.N, p.K, t);
                if (s == 3) CHECK(run_check("2 threads, 2x2 chunks", zy_sgemm, &p) <= 1.0);
                free(c1);
                free(c2);
                free_problem(&p);
            }
        }
    }
    zt_note("1 vs 2 threads: bitwise identical on 4 shapes x 4 transposes x every level");
}

// With no memory for packing workspaces, zy_sgemm still computes the right answer (the
// reference path). A fresh thread has no workspace yet, so it is forced to allocate.
static void *run_problem_thread(void *arg) {
    problem *p = arg;
    double *w = zt_malloc(sizeof(double));
    *w = run_check("no-memory", zy_sgemm, p);
    return w;
}

TEST(gemm_no_memory_falls_back) {
    problem p = make_problem(false, true, 90, 110, 70, 1.0f, 0.5f, 1, 4242);
    zt_allocations_fail_after(0);
    pthread_t th;
    double *w = NULL;
    int rc = pthread_create(&th, NULL, run_problem_thread, &p);
    if (rc == 0) pthread_join(th, (void **)&w);
    zy_allocator_set(NULL);
    ASSERT(rc == 0 && w != NULL);
    CHECK(*w <= 1.0);
    zt_note("no workspace: worst |err| = %.3f x tol", *w);
    free(w);
    free_problem(&p);
}

// The bias epilogue (zy__sgemm_bias, used by zy_linear_forward) gives the same bits as
// zy_sgemm followed by a separate pass adding the bias, at 1 and 2 threads and every
// level: small (unpacked), packed, K deeper than one block, and threaded grids.
TEST(gemm_bias_epilogue_same_bits) {
    static const int shapes[][3] = {
        {5, 7, 3}, {64, 96, 64}, {29, 700, 1600}, {256, 2304, 768}};
    int orig = zy_threads_get();
    FOR_EACH_LEVEL(lv) {
        for (int s = 0; s < 4; s++) {
            int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            problem p = make_problem(false, true, M, N, K, 1.0f, 0.0f, 0, 77 + (uint64_t)s);
            float *bias = zt_floats((size_t)N), *want = zt_floats((size_t)M * N);
            float *got = zt_floats((size_t)M * N);
            zt_fill_uniform(bias, (size_t)N, 5 + (uint64_t)s, -1, 1);
            for (int threads = 1; threads <= 2; threads++) {
                zy_threads_set(threads);
                zy_sgemm(false, true, M, N, K, 1.0f, p.A, p.lda, p.B, p.ldb, 0.0f, want, N);
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) want[(size_t)i * N + j] += bias[j];
                zy__sgemm_bias(false, true, M, N, K, p.A, p.lda, p.B, p.ldb, bias, got, N);
                if (memcmp(got, want, sizeof(float) * (size_t)M * N))
                    zt_fail(__FILE__, __LINE__, "%s %dx%dx%d, %d threads: bias differs",
                            zy_simd_name(lv), M, N, K, threads);
            }
            free(bias), free(want), free(got);
            free_problem(&p);
        }
    }
    zy_threads_set(orig);
}

// Per-thread packing workspaces are freed when their thread exits: 50 threads that each
// run a packed (single-threaded) product through a counting allocator leave the live
// byte count where it started. Without the release each thread would keep ~7 MB.
static atomic_llong live_bytes, workspace_allocs;

static void *count_alloc(size_t size, size_t align, void *user) {
    (void)user;
    size_t rounded = (size + align - 1) / align * align;
    char *p = aligned_alloc(align, rounded + align); // the size sits in front of the block
    if (!p) return NULL;
    *(size_t *)p = size;
    atomic_fetch_add(&live_bytes, (long long)size);
    atomic_fetch_add(&workspace_allocs, 1);
    return p + align;
}

static void count_free(void *ptr, void *user) {
    (void)user;
    char *p = (char *)ptr - 64; // zy_alloc always asks for 64-byte alignment
    atomic_fetch_sub(&live_bytes, (long long)*(size_t *)p);
    free(p);
}

static void *one_product(void *arg) {
    problem *p = arg;
    float *c = zt_malloc(sizeof(float) * (size_t)p->M * p->ldc);
    // 2*64^3 flops: past the unpacked small path, below the threading threshold, so this
    // thread packs into its own workspace.
    zy_sgemm(p->ta, p->tb, p->M, p->N, p->K, 1.0f, p->A, p->lda, p->B, p->ldb, 0.0f, c,
             p->ldc);
    free(c);
    return NULL;
}

TEST(gemm_workspaces_freed_at_thread_exit) {
    problem p = make_problem(false, false, 64, 64, 64, 1.0f, 0.0f, 0, 99);
    zy_allocator a = {count_alloc, count_free, NULL};
    zy_allocator_set(&a);
    long long start = atomic_load(&live_bytes);
    int created = 0;
    for (int round = 0; round < 5; round++) {
        pthread_t th[10];
        int n = 0;
        for (; n < 10; n++)
            if (pthread_create(&th[n], NULL, one_product, &p)) break;
        for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
        created += n;
    }
    long long end = atomic_load(&live_bytes), allocs = atomic_load(&workspace_allocs);
    zy_allocator_set(NULL);
    free_problem(&p);
    ASSERT_EQ_INT(created, 50);
    CHECK(allocs >= 50); // each thread did allocate (the test exercises the release)
    ASSERT_EQ_INT(end, start);
    zt_note("50 threads: %lld allocations, live bytes back to %lld", allocs, end);
}
