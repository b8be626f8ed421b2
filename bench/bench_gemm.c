// GEMM benchmark: zy_sgemm against OpenBLAS's cblas_sgemm on the shapes GPT-2 training
// runs, in the three transpose cases of a linear layer:
//   fwd   out (M,N)  = inp (M,K) · W (N,K)ᵀ      (transA=0, transB=1)
//   dinp  dinp (M,K) = dout (M,N) · W (N,K)      (transA=0, transB=0)
//   dwt   dW (N,K)   = dout (M,N)ᵀ · inp (M,K)   (transA=1, transB=0)
// Both libraries run with the same thread count on the same buffers, alternating per shape
// in two rounds (zy first, then OpenBLAS first), each after a warm-up (see best_of); the
// best repetition is reported, fewer repetitions for the largest shapes.
// OpenBLAS 0.3.21's DYNAMIC_ARCH does not recognise some newer Xeons and falls back to its
// SSE3 "Prescott" kernels; on an AVX-512 CPU we then re-run ourselves with
// OPENBLAS_CORETYPE=SkylakeX so the comparison is against its best kernels.
// Then (table "bf16") zy_sgemm with bf16 matmuls (zy_gemm_precision_set; on the fastest
// bf16 path this CPU has: AMX, AVX512-BF16, or the emulation, which is far too slow to
// time and skipped) against zy_sgemm in fp32, on the same shapes; PyTorch's bf16 matmul
// on these shapes is bench/bench_gemm_bf16.py.
// Then (table "bf16in") zy_gemm_bf16 given bf16 copies of the same operands -- what
// PyTorch's bf16 torch.mm is given -- against zy_sgemm with bf16 matmuls on the fp32 ones.
// Usage: bench_gemm [max_M] [case] [fp32|bf16|bf16in]   e.g. bench_gemm 256 fwd
// (defaults: all; --help prints this, a word it does not know is an error)
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zhuyi/core.h"
#include "zhuyi/gemm.h"
#include "zhuyi/io.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

typedef struct shape {
    int rows, cols, inner; // C (rows, cols), inner dimension
    bool ta, tb;
    int lda, ldb;
} shape;

// Who computes: zy_sgemm in fp32 or with bf16 matmuls, zy_gemm_bf16 on bf16 copies of the
// same operands (as PyTorch's bf16 matmul is given them), or OpenBLAS.
enum { ZY_FP32, ZY_BF16, ZY_BF16_IN, BLAS };

// The bf16 copy of each operand buffer (for ZY_BF16_IN).
static const float *src32[3];
static const uint16_t *src16[3];

static const uint16_t *twin(const float *p) {
    for (int i = 0; i < 3; i++)
        if (src32[i] == p) return src16[i];
    return NULL;
}

static double time_zy16(const shape *s, const float *A, const float *B, float *C) {
    double t = now();
    zy_gemm_bf16(s->ta, s->tb, s->rows, s->cols, s->inner, 1.0f, twin(A), ZY_DTYPE_BF16, s->lda,
                 twin(B), ZY_DTYPE_BF16, s->ldb, 0.0f, C, s->cols);
    return now() - t;
}

static double time_zy(const shape *s, const float *A, const float *B, float *C) {
    double t = now();
    zy_sgemm(s->ta, s->tb, s->rows, s->cols, s->inner, 1.0f, A, s->lda, B, s->ldb, 0.0f, C,
             s->cols);
    return now() - t;
}

static double time_blas(const shape *s, const float *A, const float *B, float *C) {
    double t = now();
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                s->tb ? CblasTrans : CblasNoTrans, s->rows, s->cols, s->inner, 1.0f, A,
                s->lda, B, s->ldb, 0.0f, C, s->cols);
    return now() - t;
}

// Best time of at least n calls and WINDOW seconds of them, after a warm-up of at least
// WARMUP seconds of calls: that covers page faults and workspaces, and outlasts the other
// library's idle threads, which spin for a while after each call (OpenBLAS's for up to
// ~0.1 s) and would steal a core. The window: on this shared VM a product's call times
// spread by 5-10 %, and the best of a few calls of 0.1-0.3 ms (7 of them: 1 ms) moved by
// as much from one run to the next (bench/bench_gemm_bf16.py times PyTorch the same way).
#define WARMUP 0.15
#define WINDOW 0.1
static double best_of(int who, const shape *s, const float *A, const float *B, float *C,
                      int n) {
    zy_gemm_precision_set(who == ZY_BF16 ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32);
    double (*timed)(const shape *, const float *, const float *, float *) =
        who == BLAS ? time_blas : who == ZY_BF16_IN ? time_zy16 : time_zy;
    double t0 = now();
    do timed(s, A, B, C);
    while (now() - t0 < WARMUP);
    double best = 1e30;
    t0 = now();
    for (int i = 0; i < n || now() - t0 < WINDOW; i++) {
        double t = timed(s, A, B, C);
        best = t < best ? t : best;
    }
    return best;
}

typedef struct table {
    const char *name;
    int who[2]; // the two sides compared: [0] / [1] is the ratio
    const char *head[2];
} table;

static const char usage[] =
    "usage: bench_gemm [max_M] [fwd|dinp|dwt] [fp32|bf16|bf16in]   e.g. bench_gemm 256 fwd\n"
    "  max_M  the largest row count timed (64, 256, 1024, 4096; default all)\n"
    "  case   one transpose case (default all three); table: one table (default all)\n";

int main(int argc, char **argv) {
    char *end = NULL;
    if (argc > 1 && (strtol(argv[1], &end, 10) <= 0 || *end)) {
        bool help = !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help");
        if (!help) fprintf(stderr, "bench_gemm: max_M '%s' is not a positive number\n", argv[1]);
        fputs(usage, help ? stdout : stderr);
        return help ? 0 : 2;
    }
    if (!getenv("OPENBLAS_CORETYPE") && !strcmp(openblas_get_corename(), "Prescott") &&
        (zy_cpu_features() & ZY_CPU_AVX512F)) {
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
        execv("/proc/self/exe", argv);
    }
    int max_m = argc > 1 ? atoi(argv[1]) : 1 << 30;
    const char *only = argc > 2 ? argv[2] : NULL;
    static const int Ms[] = {64, 256, 1024, 4096};
    static const int KN[][2] = {
        {768, 2304}, {768, 768}, {768, 3072}, {3072, 768}, {768, 50257}};
    static const char *cases[] = {"fwd", "dinp", "dwt"};

    int nt = zy_threads_get();
    openblas_set_num_threads(nt);
    const char *which = argc > 3 ? argv[3] : NULL;
    table tables[3] = {{"fp32", {ZY_FP32, BLAS}, {"zhuyi", "openblas"}},
                       {"bf16", {ZY_BF16, ZY_FP32}, {"bf16", "fp32"}},
                       {"bf16in", {ZY_BF16_IN, ZY_BF16}, {"bf16 in", "fp32 in"}}};
    bool case_known = !only, table_known = !which;
    for (int i = 0; i < 3; i++) {
        case_known |= only && !strcmp(only, cases[i]);
        table_known |= which && !strcmp(which, tables[i].name);
    }
    if (!case_known || !table_known) {
        fprintf(stderr, "bench_gemm: unknown %s '%s'\n%s", case_known ? "table" : "case",
                case_known ? which : only, usage);
        return 2;
    }

    // One set of buffers big enough for every shape (largest: 4096 x 50257), 64-byte
    // aligned as PyTorch's tensors are (malloc's large blocks start 16 bytes past a page,
    // which makes every 64-byte row store of C straddle two cache lines).
    size_t maxM = 4096, maxN = 50257, maxK = 3072;
    size_t na = maxM * maxK;
    size_t nw = maxN * 768 > 3072 * 768 ? maxN * 768 : 3072 * 768;
    size_t nd = maxM * maxN;
    float *inp = zy_alloc(sizeof(float) * na), *W = zy_alloc(sizeof(float) * nw);
    float *dout = zy_alloc(sizeof(float) * nd), *C = zy_alloc(sizeof(float) * nd);
    if (!inp || !W || !dout || !C) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        return 1;
    }
    zy_rng r;
    zy_rng_seed(&r, 1);
    zy_rng_fill_uniform(&r, inp, na, -1.0f, 1.0f);
    zy_rng_fill_uniform(&r, W, nw, -1.0f, 1.0f);
    zy_rng_fill_uniform(&r, dout, nd, -1.0f, 1.0f);
    memset(C, 0, sizeof(float) * nd);
    // bf16 copies, made only when that table runs.
    uint16_t *inp16 = NULL, *W16 = NULL, *dout16 = NULL;
    if (!which || !strcmp(which, "bf16in")) {
        inp16 = zy_alloc(2 * na), W16 = zy_alloc(2 * nw), dout16 = zy_alloc(2 * nd);
        if (!inp16 || !W16 || !dout16) {
            fprintf(stderr, "bench_gemm: out of memory\n");
            return 1;
        }
        zy_f32_to_bf16_array(inp16, inp, na);
        zy_f32_to_bf16_array(W16, W, nw);
        zy_f32_to_bf16_array(dout16, dout, nd);
    }
    src32[0] = inp, src32[1] = W, src32[2] = dout;
    src16[0] = inp16, src16[1] = W16, src16[2] = dout16;

    for (int tb = 0; tb < 3; tb++) {
        const table *T = &tables[tb];
        if (which && strcmp(which, T->name)) continue;
        if (tb == 0)
            printf("zy_sgemm (%s) vs%scblas_sgemm (core %s), %d threads each, GFLOP/s "
                   "(best of reps)\n",
                   zy_simd_name(zy_simd_level()), OPENBLAS_VERSION, openblas_get_corename(),
                   nt);
        else if (zy_bf16_level() == ZY_BF16_EMULATED) {
            if (tb == 2) continue;
            printf("bf16: this CPU has neither AMX nor AVX512-BF16 (emulated only): "
                   "skipped\n");
            continue;
        } else if (tb == 1)
            printf("zy_sgemm with bf16 matmuls (%s) vs fp32 (%s), %d threads, GFLOP/s "
                   "(best of reps)\n",
                   zy_bf16_name(zy_bf16_level()), zy_simd_name(zy_simd_level()), nt);
        else
            printf("zy_gemm_bf16 on bf16 operands vs zy_sgemm with bf16 matmuls on fp32 ones "
                   "(%s), %d threads, GFLOP/s (best of reps)\n",
                   zy_bf16_name(zy_bf16_level()), nt);
        printf("%-5s %5s %5s %6s  %8s %8s %6s  %s\n", "case", "M", "K", "N", T->head[0],
               T->head[1], "ratio", "reps");
        double log_sum = 0.0;
        int count = 0, wins = 0;
        for (int c = 0; c < 3; c++) {
            if (only && strcmp(only, cases[c])) continue;
            for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++) {
                int M = Ms[mi];
                if (M > max_m) continue;
                for (size_t p = 0; p < sizeof KN / sizeof *KN; p++) {
                    int K = KN[p][0], N = KN[p][1];
                    shape s;
                    const float *A, *B;
                    if (c == 0) s = (shape){M, N, K, false, true, K, K}, A = inp, B = W;
                    else if (c == 1) s = (shape){M, K, N, false, false, N, K}, A = dout, B = W;
                    else s = (shape){N, K, M, true, false, N, K}, A = dout, B = inp;
                    double flops = 2.0 * M * N * K;
                    // 2 to 7 timed calls a side (about 1 s of work for the large
                    // products), and no less than a window of them (best_of).
                    int reps = (int)(1.0e11 / flops);
                    reps = reps < 2 ? 2 : reps > 7 ? 7 : reps;
                    double best[2] = {1e30, 1e30};
                    for (int round = 0; round < 2; round++) { // [0] first, then [1] first
                        for (int side = 0; side < 2; side++) {
                            int x = (side + round) % 2, n = (reps + 1 - round) / 2;
                            double b = best_of(T->who[x], &s, A, B, C, n);
                            best[x] = b < best[x] ? b : best[x];
                        }
                    }
                    double g0 = flops / best[0] * 1e-9, g1 = flops / best[1] * 1e-9;
                    printf("%-5s %5d %5d %6d  %8.1f %8.1f %6.2f  %d\n", cases[c], M, K, N, g0,
                           g1, g0 / g1, reps);
                    fflush(stdout);
                    log_sum += __builtin_log(g0 / g1);
                    count++;
                    wins += g0 >= g1;
                }
            }
        }
        if (count)
            printf("%s: geometric mean ratio %.3f, %s >= %s on %d of %d shapes\n", T->name,
                   __builtin_exp(log_sum / count), T->head[0], T->head[1], wins, count);
    }
    zy_free(inp16);
    zy_free(W16);
    zy_free(dout16);
    zy_free(inp);
    zy_free(W);
    zy_free(dout);
    zy_free(C);
    return 0;
}
