// Multi-head self-attention benchmark: zy_mha_forward + zy_mha_backward (PyTorch
// nn.MultiheadAttention layout, batch-first), B=4, C=768, H=12, T ∈ {128, 512}, no mask,
// dropout 0, on the tiled core (the default) and on the plain core (need_weights). bench/bench_mha.py times torch.nn.MultiheadAttention on the same shapes and
// thread count; put the two side by side (scripts/bench.sh runs both).
// Times are the median of several repetitions after one warm-up.
// Usage: bench_mha [reps]
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuyi/zhuyi.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *alloc_floats(size_t n) {
    float *p = zy_calloc(n, sizeof(float));
    if (!p) {
        fprintf(stderr, "bench_mha: out of memory (%zu floats): %s\n", n, zy_last_error());
        exit(1);
    }
    return p;
}

static void run(int B, int T, int C, int H, int reps, bool plain) {
    zy_mha_config c = zy_mha_default_config(B, T, T, C, H);
    c.need_weights = plain;
    size_t np = zy_mha_param_count(C), nx = (size_t)B * T * C;
    float *params = alloc_floats(np), *grads = alloc_floats(np);
    float *x = alloc_floats(nx), *dx = alloc_floats(nx), *out = alloc_floats(nx);
    float *dout = alloc_floats(nx);
    float *acts = alloc_floats(zy_mha_acts_floats(&c));
    size_t ns = zy_mha_scratch_floats(&c);
    float *scratch = alloc_floats(ns);
    zy_rng r;
    zy_rng_seed(&r, 1);
    zy_rng_fill_uniform(&r, params, np, -0.03f, 0.03f);
    zy_rng_fill_normal(&r, x, nx, 0.0f, 1.0f);
    zy_rng_fill_normal(&r, dout, nx, 0.0f, 1.0f);
    zy_mha_params p, g;
    zy_mha_params_init(&p, params, C);
    zy_mha_params_init(&g, grads, C);
    double *tf = malloc(sizeof(double) * reps), *tb = malloc(sizeof(double) * reps);
    if (!tf || !tb) exit(1);
    for (int i = -1; i < reps; i++) { // i = -1 is the warm-up
        double t0 = now();
        if (zy_mha_forward(out, acts, scratch, ns, x, x, &p, &c) != ZY_STATUS_OK) {
            fprintf(stderr, "bench_mha: %s\n", zy_last_error());
            exit(1);
        }
        double t1 = now();
        if (zy_mha_backward(dx, NULL, &g, scratch, ns, dout, acts, x, x, &p, &c)) {
            fprintf(stderr, "bench_mha: %s\n", zy_last_error());
            exit(1);
        }
        double t2 = now();
        if (i >= 0) tf[i] = t1 - t0, tb[i] = t2 - t1;
    }
    double tt[64];
    int n = reps < 64 ? reps : 64;
    for (int i = 0; i < n; i++) tt[i] = tf[i] + tb[i];
    qsort(tf, reps, sizeof *tf, cmp_double);
    qsort(tb, reps, sizeof *tb, cmp_double);
    qsort(tt, n, sizeof *tt, cmp_double);
    printf("zhuyi  mha self %s B=%d T=%-4d C=%d H=%d threads=%d: fwd %8.2f ms  bwd %8.2f ms  "
           "fwd+bwd %8.2f ms\n",
           plain ? "plain" : "tiled", B, T, C, H, zy_threads_get(), 1e3 * tf[reps / 2], 1e3 * tb[reps / 2],
           1e3 * tt[n / 2]);
    free(tf), free(tb);
    zy_free(params), zy_free(grads), zy_free(x), zy_free(dx), zy_free(out), zy_free(dout);
    zy_free(acts), zy_free(scratch);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) reps = 1;
    printf("simd %s\n", zy_simd_name(zy_simd_level()));
    for (int plain = 0; plain < 2; plain++) {
        run(4, 128, 768, 12, reps, plain);
        run(4, 512, 768, 12, reps, plain);
    }
    return 0;
}
