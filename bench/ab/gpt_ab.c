// A/B of whole builds on a shared machine (not built by `make bench`): several builds of
// libzhuyi.so are loaded side by side (dlopen, RTLD_LOCAL) and run alternately, step by
// step, so that load from other processes hits every build alike. Per build and
// iteration: one GPT-2 124M training step (B=4, T=64: forward, backward, AdamW) and a
// greedy generation of 20 tokens after a 20-token prompt, each after a 50 ms pause so the
// previous build's idle threads (libgomp spins for milliseconds) have stopped.
// Build and run (docs/BENCHMARKS.md, "Threads on a busy machine"):
//   make build/libzhuyi.so && cp build/libzhuyi.so /tmp/after.so   (same for other trees)
//   cc -O2 -Iinclude bench/ab/gpt_ab.c -o /tmp/gpt_ab -ldl
//   /tmp/gpt_ab THREADS REPS /tmp/before.so /tmp/after.so ...   (at most 4 builds)
// Prints, per build, the median step time and generation rate with their quartiles.
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "zhuyi/zhuyi.h"

enum { MAX_BUILDS = 4, MAX_REPS = 256, B = 4, T = 64, PROMPT = 20, MAX_GROUPS = 256 };

// The entry points used, looked up in one build, and that build's model and optimizer.
typedef struct build {
    const char *path;
    zy_status (*preset)(const char *, zy_gpt_config *);
    zy_status (*create)(zy_gpt **, const zy_gpt_config *);
    void (*init_weights)(zy_gpt *, uint64_t);
    void (*set_dropout)(zy_gpt *, bool, uint64_t);
    float *(*get_params)(zy_gpt *, size_t *);
    float *(*get_grads)(zy_gpt *, size_t *);
    void *(*alloc_zeroed)(size_t, size_t);
    int (*param_groups)(const zy_gpt *, float, zy_param_group *, int);
    zy_adamw_params (*adamw_defaults)(void);
    zy_status (*prepare)(zy_gpt *, int, int);
    void (*zero_grads)(zy_gpt *);
    zy_status (*forward)(zy_gpt *, const int *, const int *, int, int, float *);
    zy_status (*backward)(zy_gpt *, float);
    void (*adamw)(const zy_adamw_params *, float, long, float *, const float *, float *,
                  float *, size_t, const zy_param_group *, int);
    zy_generate_params (*generate_defaults)(void);
    zy_status (*generate)(zy_gpt *, const int *, int, const zy_generate_params *, int *,
                          int *);
    int (*threads_set)(int);
    zy_gpt *m;
    float *params, *grads, *m1, *m2;
    size_t n;
    zy_param_group groups[MAX_GROUPS];
    int ngroups;
    double step_ms[MAX_REPS], tok_s[MAX_REPS];
} build;

static void *sym(void *h, const char *path, const char *name) {
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "gpt_ab: %s has no %s\n", path, name);
        exit(1);
    }
    return p;
}

static void load(build *b, const char *path, int threads) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "gpt_ab: %s\n", dlerror());
        exit(1);
    }
    b->path = path;
    *(void **)&b->preset = sym(h, path, "zy_gpt_config_preset");
    *(void **)&b->create = sym(h, path, "zy_gpt_create");
    *(void **)&b->init_weights = sym(h, path, "zy_gpt_init_weights");
    *(void **)&b->set_dropout = sym(h, path, "zy_gpt_set_dropout");
    *(void **)&b->get_params = sym(h, path, "zy_gpt_params");
    *(void **)&b->get_grads = sym(h, path, "zy_gpt_grads");
    *(void **)&b->alloc_zeroed = sym(h, path, "zy_calloc");
    *(void **)&b->param_groups = sym(h, path, "zy_gpt_param_groups");
    *(void **)&b->adamw_defaults = sym(h, path, "zy_adamw_default_params");
    *(void **)&b->prepare = sym(h, path, "zy_gpt_prepare");
    *(void **)&b->zero_grads = sym(h, path, "zy_gpt_zero_grads");
    *(void **)&b->forward = sym(h, path, "zy_gpt_forward");
    *(void **)&b->backward = sym(h, path, "zy_gpt_backward");
    *(void **)&b->adamw = sym(h, path, "zy_adamw_step");
    *(void **)&b->generate_defaults = sym(h, path, "zy_generate_default_params");
    *(void **)&b->generate = sym(h, path, "zy_generate");
    *(void **)&b->threads_set = sym(h, path, "zy_threads_set");
    b->threads_set(threads);
    zy_gpt_config c;
    if (b->preset("gpt2-124m", &c) || b->create(&b->m, &c)) exit(1);
    b->init_weights(b->m, 1);
    b->set_dropout(b->m, false, 0);
    b->params = b->get_params(b->m, &b->n);
    b->grads = b->get_grads(b->m, &b->n);
    b->m1 = b->alloc_zeroed(b->n, sizeof(float));
    b->m2 = b->alloc_zeroed(b->n, sizeof(float));
    b->ngroups = b->param_groups(b->m, 0.1f, b->groups, MAX_GROUPS);
    if (!b->m1 || !b->m2 || b->prepare(b->m, B, T)) {
        fprintf(stderr, "gpt_ab: %s: out of memory\n", path);
        exit(1);
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void pause_50ms(void) {
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 4 || argc - 3 > MAX_BUILDS) {
        fprintf(stderr, "usage: gpt_ab THREADS REPS lib.so [lib.so ...] (at most %d)\n",
                MAX_BUILDS);
        return 2;
    }
    int threads = atoi(argv[1]), reps = atoi(argv[2]), nb = argc - 3;
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    static build builds[MAX_BUILDS];
    for (int i = 0; i < nb; i++) load(&builds[i], argv[3 + i], threads);
    int x[B * T], y[B * T], prompt[PROMPT];
    srand(1);
    for (int i = 0; i < B * T; i++) x[i] = rand() % 50257, y[i] = rand() % 50257;
    for (int i = 0; i < PROMPT; i++) prompt[i] = rand() % 50257;
    for (int r = -1; r < reps; r++) { // r = -1 warms every build up
        for (int i = 0; i < nb; i++) {
            build *b = &builds[i];
            zy_adamw_params ap = b->adamw_defaults();
            float loss;
            pause_50ms();
            double t0 = now();
            b->zero_grads(b->m);
            b->forward(b->m, x, y, B, T, &loss);
            b->backward(b->m, 1.0f);
            b->adamw(&ap, 6e-4f, 2, b->params, b->grads, b->m1, b->m2, b->n, b->groups,
                     b->ngroups);
            double t1 = now();
            zy_generate_params gp = b->generate_defaults();
            gp.sample.temperature = 0;
            gp.max_tokens = 20;
            int made = 0;
            pause_50ms();
            double t2 = now();
            b->generate(b->m, prompt, PROMPT, &gp, NULL, &made);
            double t3 = now();
            if (r >= 0) {
                b->step_ms[r] = 1e3 * (t1 - t0);
                b->tok_s[r] = made / (t3 - t2);
            }
        }
    }
    for (int i = 0; i < nb; i++) {
        build *b = &builds[i];
        qsort(b->step_ms, reps, sizeof(double), cmp_double);
        qsort(b->tok_s, reps, sizeof(double), cmp_double);
        printf("%-28s threads=%d  step %7.1f ms [%7.1f, %7.1f]  generation %5.1f tok/s "
               "[%5.1f, %5.1f]  (median [q1, q3] of %d)\n",
               b->path, threads, b->step_ms[reps / 2], b->step_ms[reps / 4],
               b->step_ms[3 * reps / 4], b->tok_s[reps / 2], b->tok_s[reps / 4],
               b->tok_s[3 * reps / 4], reps);
    }
    return 0;
}
