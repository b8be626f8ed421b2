// Typed-weight GEMV speed (src/kernels/wgemv*.c): GPT-2 124M's matrices (a layer's four
// and the tied LM head) in every weight type and arithmetic, one input and four, at 1 and
// 2 threads: microseconds per product and the weight bytes streamed per second (the bound
// of a memory-bound decoding step). Each product reads one of several copies of the
// matrix in turn, 256 MiB in all, so the weights come from memory as when decoding, not
// from the last-level cache. Times are the minimum over reps (the least disturbed by other
// load on a shared machine). Then a prompt chunk's products (256 rows, the four layer
// matrices, bf16 matmuls where the CPU has them, as `zhuyi generate` runs them): the GEMM
// over the typed rows (zy__wgemm, decoding a panel at a time) against the GEMM over the
// fp32 matrix of the same values, side by side, one thread and two. Usage: bench_quant [reps]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_NAME "bench_quant"
#include "bench.h"
#include "kernels/gemm_bias.h"
#include "kernels/wgemv.h"
#include "zhuyi/quant.h"

typedef struct shape {
    const char *name;
    int N, K;
} shape;

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (reps < 1) reps = 1;
    if (reps > BENCH_MAX_REPS) reps = BENCH_MAX_REPS;
    const shape shapes[] = {{"c_attn 2304x768", 2304, 768}, {"c_proj 768x768", 768, 768},
                            {"c_fc 3072x768", 3072, 768}, {"mlp.c_proj 768x3072", 768, 3072},
                            {"lm_head 50257x768", 50257, 768}};
    const zy_wtype types[] = {ZY_WTYPE_F32, ZY_WTYPE_F16, ZY_WTYPE_BF16, ZY_WTYPE_Q8_0,
                              ZY_WTYPE_Q4_0};
    printf("zhuyi %s, simd %s\n", zy_version(), zy_simd_name(zy_simd_level()));
    int max_n = 50257, max_k = 3072;
    float *Wf = bench_must(malloc(sizeof(float) * (size_t)max_n * 768));
    float *X = bench_must(malloc(sizeof(float) * 4 * max_k));
    float *Y = bench_must(malloc(sizeof(float) * 4 * (size_t)max_n));
    zy_rng r;
    zy_rng_seed(&r, 1);
    for (size_t i = 0; i < (size_t)max_n * 768; i++) Wf[i] = zy_rng_uniform(&r) - 0.5f;
    for (int i = 0; i < 4 * max_k; i++) X[i] = zy_rng_uniform(&r) - 0.5f;
    for (int si = 0; si < 5; si++) {
        const shape *sh = &shapes[si];
        for (int ti = 0; ti < 5; ti++) {
            zy_wtype t = types[ti];
            size_t rb = zy_wtype_row_bytes(t, (size_t)sh->K);
            const size_t bytes1 = rb * (size_t)sh->N;
            const int copies = (int)((256u << 20) / bytes1) + 1;
            uint8_t *buf = bench_must(malloc(bytes1 * copies));
            for (int i = 0; i < sh->N; i++)
                zy_quantize_row(t, Wf + (size_t)i * sh->K % ((size_t)max_n * 768 - sh->K),
                                buf + rb * i, (size_t)sh->K);
            for (int c = 1; c < copies; c++) memcpy(buf + bytes1 * c, buf, bytes1);
            int narith = t == ZY_WTYPE_Q8_0 || t == ZY_WTYPE_Q4_0 ? 2 : 1;
            for (int a = 0; a < narith; a++) {
                zy_quant_arith_set(a ? ZY_QUANT_ARITH_INT8 : ZY_QUANT_ARITH_FP32);
                for (int M = 1; M <= 4; M += 3) {
                    double us[2];
                    for (int th = 1; th <= 2; th++) {
                        zy_threads_set(th);
                        double tt[BENCH_MAX_REPS];
                        for (int i = -1; i < reps; i++) { // -1: warm-up
                            zy_wmatrix W = {t, sh->N, sh->K, rb,
                                            buf + bytes1 * (size_t)((i + copies) % copies)};
                            double t0 = bench_now();
                            zy__wgemv(Y, sh->N, &W, X, sh->K, NULL, M);
                            if (i >= 0) tt[i] = bench_now() - t0;
                        }
                        us[th - 1] = 1e6 * bench_min(tt, reps);
                    }
                    double bytes = (double)bytes1;
                    printf("%-20s %-4s %-4s M=%d  1 thread %8.1f us %5.1f GB/s   2 threads "
                           "%8.1f us %5.1f GB/s\n", sh->name, zy_wtype_name(t),
                           narith == 1 ? "" : a ? "int8" : "fp32", M, us[0],
                           bytes / us[0] * 1e-3, us[1], bytes / us[1] * 1e-3);
                }
            }
            free(buf);
        }
    }
    // Prompt chunks: 256 rows through each layer matrix, typed GEMM against fp32 GEMM.
    enum { R = 256 };
    if (zy_bf16_level() != ZY_BF16_EMULATED) zy_gemm_precision_set(ZY_PRECISION_BF16);
    printf("prompt chunks of %d rows, %s matmuls: GFLOP/s of the typed GEMM (zy__wgemm) "
           "and of the fp32 one on the same values\n", R,
           zy_gemm_precision() == ZY_PRECISION_BF16 ? "bf16" : "fp32");
    float *Xr = bench_must(malloc(sizeof(float) * R * max_k));
    float *Yr = bench_must(malloc(sizeof(float) * R * 3072));
    float *Wd = bench_must(malloc(sizeof(float) * 3072 * 768));
    for (int i = 0; i < R * max_k; i++) Xr[i] = zy_rng_uniform(&r) - 0.5f;
    for (int si = 0; si < 4; si++) {
        const shape *sh = &shapes[si];
        for (int ti = 1; ti < 5; ti++) {
            zy_wtype t = types[ti];
            size_t rb = zy_wtype_row_bytes(t, (size_t)sh->K);
            uint8_t *q = bench_must(malloc(rb * (size_t)sh->N));
            for (int i = 0; i < sh->N; i++) {
                zy_quantize_row(t, Wf + (size_t)i * sh->K, q + rb * i, (size_t)sh->K);
                zy_dequantize_row(t, q + rb * i, Wd + (size_t)i * sh->K, (size_t)sh->K);
            }
            zy_wmatrix W = {t, sh->N, sh->K, rb, q};
            double gf[2][2];
            for (int th = 1; th <= 2; th++) {
                zy_threads_set(th);
                double tt[2][BENCH_MAX_REPS];
                for (int i = -1; i < reps; i++) { // alternated, -1: warm-up
                    double t0 = bench_now();
                    zy__wgemm(Yr, sh->N, &W, Xr, sh->K, NULL, R);
                    double t1 = bench_now();
                    zy__sgemm_bias(false, true, R, sh->N, sh->K, Xr, sh->K, Wd, sh->K, NULL, Yr,
                                   sh->N);
                    if (i >= 0) tt[0][i] = t1 - t0, tt[1][i] = bench_now() - t1;
                }
                for (int k = 0; k < 2; k++)
                    gf[th - 1][k] = 2e-9 * R * sh->N * sh->K / bench_min(tt[k], reps);
            }
            printf("%-20s %-4s  1 thread %7.1f / %7.1f (%.2fx)   2 threads %7.1f / %7.1f "
                   "(%.2fx)\n", sh->name, zy_wtype_name(t), gf[0][0], gf[0][1],
                   gf[0][0] / gf[0][1], gf[1][0], gf[1][1], gf[1][0] / gf[1][1]);
            free(q);
        }
    }
    free(Xr), free(Yr), free(Wd);
    free(Wf), free(X), free(Y);
    return 0;
}
