// What the benchmarks share: the clock, the median and minimum of repeated timings, an
// exit on error, and the timed training step of a whole model (bench_gpt.c,
// bench_bert.c). Header-only, because make builds one binary from each bench/*.c alone;
// everything is static inline, so a benchmark that uses part of it compiles without
// warnings. A file defines BENCH_NAME (its program name, for messages) before including it.
#ifndef ZHUYI_BENCH_H
#define ZHUYI_BENCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "zhuyi/model.h"
#include "zhuyi/zhuyi.h"

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench.h"
#endif

enum { BENCH_MAX_REPS = 64, BENCH_MAX_GROUPS = 512 };

static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// The median of x (n); sorts x.
static inline double bench_median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, bench_cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static inline double bench_min(const double *x, int n) {
    double m = x[0];
    for (int i = 1; i < n; i++) m = x[i] < m ? x[i] : m;
    return m;
}

// Exit with "BENCH_NAME: what: <the library's error>" unless s is ZY_STATUS_OK.
static inline void bench_check(zy_status s, const char *what) {
    if (s == ZY_STATUS_OK) return;
    fprintf(stderr, BENCH_NAME ": %s: %s\n", what, zy_last_error());
    exit(1);
}

static inline void *bench_must(void *p) {
    if (!p) {
        fprintf(stderr, BENCH_NAME ": out of memory: %s\n", zy_last_error());
        exit(1);
    }
    return p;
}

// ---- one training step of a model, timed ---------------------------------------------------
typedef struct bench_steps {
    double step, fwd, bwd, adamw; // medians over the timed steps, seconds
    double best;                  // the fastest step
    double flops;                 // per step: zy_model_train_flops (the formula the .py use)
    float loss;                   // of the last step
} bench_steps;

// reps (1 to BENCH_MAX_REPS) training steps after one warm-up, as the trainer runs them:
// zero the gradients, forward, backward, AdamW at lr (beta2 0.95; decay 0.1 on the tensors
// the table marks, one group per tensor), on the same batch in a session made with sp
// (training and the batch's shape set here).
static inline bench_steps bench_train_steps(zy_model *m, zy_session_params sp,
                                            const zy_batch *batch, float lr, int reps) {
    sp.batch = batch->B, sp.seq = batch->T, sp.seq_dec = batch->T_dec, sp.training = true;
    zy_session *s;
    bench_check(zy_session_create(&s, m, &sp), "session");
    size_t n;
    float *params = zy_model_params(m, NULL), *grads = zy_session_grads(s, &n);
    float *mom = bench_must(zy_calloc(n, sizeof(float)));
    float *var = bench_must(zy_calloc(n, sizeof(float)));
    const zy_tensor_table *tab = zy_model_tensors(m);
    static zy_param_group groups[BENCH_MAX_GROUPS];
    int ng = zy_tensor_table_count(tab);
    if (ng > BENCH_MAX_GROUPS) bench_check(ZY_STATUS_INVALID_ARGUMENT, "too many tensors");
    for (int i = 0; i < ng; i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        groups[i] = (zy_param_group){t->offset, t->count, t->decay ? 0.1f : 0.0f};
    }
    zy_adamw_params ap = zy_adamw_default_params();
    ap.beta2 = 0.95f;
    double tf[BENCH_MAX_REPS], tb[BENCH_MAX_REPS], to[BENCH_MAX_REPS], tt[BENCH_MAX_REPS];
    bench_steps r = {.flops = zy_model_train_flops(m, batch->B, batch->T)};
    for (int i = -1; i < reps; i++) { // i = -1 is the warm-up
        double t0 = bench_now();
        zy_session_zero_grads(s);
        bench_check(zy_session_forward(s, batch, &r.loss, NULL), "forward");
        double t1 = bench_now();
        bench_check(zy_session_backward(s, 1.0f), "backward");
        double t2 = bench_now();
        zy_adamw_step(&ap, lr, i + 2, params, grads, mom, var, n, groups, ng);
        double t3 = bench_now();
        if (i < 0) continue;
        tf[i] = t1 - t0;
        tb[i] = t2 - t1;
        to[i] = t3 - t2;
        tt[i] = t3 - t0;
    }
    r.best = bench_min(tt, reps);
    r.step = bench_median(tt, reps);
    r.fwd = bench_median(tf, reps);
    r.bwd = bench_median(tb, reps);
    r.adamw = bench_median(to, reps);
    zy_free(mom);
    zy_free(var);
    zy_session_free(s);
    return r;
}

// "LABEL  123.4 ms  (fwd .., bwd .., adamw ..)  .. GFLOP/s  [min .. ms; .. GFLOP/step, loss ..]"
static inline void bench_print_steps(const char *label, const bench_steps *r) {
    printf("%s %8.1f ms  (fwd %.1f, bwd %.1f, adamw %.1f)  %.1f GFLOP/s  [min %.1f ms; %.1f "
           "GFLOP/step, loss %.3f]\n",
           label, 1e3 * r->step, 1e3 * r->fwd, 1e3 * r->bwd, 1e3 * r->adamw,
           r->flops / r->step * 1e-9, 1e3 * r->best, r->flops * 1e-9, r->loss);
}

#endif
