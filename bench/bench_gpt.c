// GPT-2 124M benchmark: (1) one training step -- forward + backward + AdamW -- at B=4,
// T=64, fp32, random init, V=50257, the same step bench/bench_gpt.py times in PyTorch
// 1.13 (scripts/bench.sh runs both); (2) greedy generation with the KV cache: a 20-token
// prompt, then 100 new tokens, in tokens per second.
// Times are medians (and the minimum, less sensitive to other load on the machine) over
// several steps after one warm-up; GFLOP/s uses zy_model_train_flops (6·N·params-style
// count plus attention), the same formula the .py uses, so the two rates compare.
// Usage: bench_gpt [steps] [new_tokens]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuyi/model.h"
#include "zhuyi/sample.h"
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

static double median(double *x, int n) {
    qsort(x, n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static void check(zy_status s, const char *what) {
    if (s == ZY_STATUS_OK) return;
    fprintf(stderr, "bench_gpt: %s: %s\n", what, zy_last_error());
    exit(1);
}

static void *must(void *p) {
    if (!p) {
        fprintf(stderr, "bench_gpt: out of memory: %s\n", zy_last_error());
        exit(1);
    }
    return p;
}

enum { MAX_REPS = 64, MAX_GROUPS = 256 };

static void train_step_bench(zy_model *m, int reps) {
    const zy_model_info *c = zy_model_get_info(m);
    const int B = 4, T = 64;
    zy_session_params sp = zy_session_default_params();
    sp.batch = B, sp.seq = T, sp.training = true;
    zy_session *s;
    check(zy_session_create(&s, m, &sp), "session");
    size_t n;
    float *params = zy_model_params(m, &n), *grads = zy_session_grads(s, &n);
    float *mom = must(zy_calloc(n, sizeof(float))), *var = must(zy_calloc(n, sizeof(float)));
    // The trainer's AdamW: decay 0.1 on the tensors the table marks, one group per tensor.
    const zy_tensor_table *tab = zy_model_tensors(m);
    zy_param_group groups[MAX_GROUPS];
    int ng = zy_tensor_table_count(tab);
    if (ng > MAX_GROUPS) check(ZY_STATUS_INVALID_ARGUMENT, "too many tensors");
    for (int i = 0; i < ng; i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        groups[i] = (zy_param_group){t->offset, t->count, t->decay ? 0.1f : 0.0f};
    }
    zy_adamw_params ap = zy_adamw_default_params();
    ap.beta2 = 0.95f;
    int *x = must(malloc(sizeof(int) * B * T)), *y = must(malloc(sizeof(int) * B * T));
    zy_rng r;
    zy_rng_seed(&r, 1);
    for (int i = 0; i < B * T; i++) x[i] = (int)zy_rng_below(&r, (uint64_t)c->vocab_size);
    for (int i = 0; i < B * T; i++) y[i] = (int)zy_rng_below(&r, (uint64_t)c->vocab_size);
    zy_batch batch = {.B = B, .T = T, .input_ids = x, .targets = y};
    double tf[MAX_REPS], tb[MAX_REPS], to[MAX_REPS], tt[MAX_REPS];
    float loss = 0;
    for (int i = -1; i < reps; i++) { // i = -1 is the warm-up
        double t0 = now();
        zy_session_zero_grads(s);
        check(zy_session_forward(s, &batch, &loss, NULL), "forward");
        double t1 = now();
        check(zy_session_backward(s, 1.0f), "backward");
        double t2 = now();
        zy_adamw_step(&ap, 6e-4f, i + 2, params, grads, mom, var, n, groups, ng);
        double t3 = now();
        if (i >= 0) tf[i] = t1 - t0, tb[i] = t2 - t1, to[i] = t3 - t2, tt[i] = t3 - t0;
    }
    double flops = zy_model_train_flops(m, B, T), step = median(tt, reps), best = tt[0];
    printf("zhuyi  gpt2-124m train step B=%d T=%d threads=%d: %8.1f ms  (fwd %.1f, bwd %.1f, "
           "adamw %.1f)  %.1f GFLOP/s  [min %.1f ms; %.1f GFLOP/step, loss %.3f]\n",
           B, T, zy_threads_get(), 1e3 * step, 1e3 * median(tf, reps), 1e3 * median(tb, reps),
           1e3 * median(to, reps), flops / step * 1e-9, 1e3 * best, flops * 1e-9, loss);
    zy_free(mom), zy_free(var), free(x), free(y);
    zy_session_free(s);
}

typedef struct {
    double first, last;
} gen_times;

static int on_token(int token, int i, void *user) {
    (void)token;
    gen_times *g = user;
    double t = now();
    if (i == 0) g->first = t;
    g->last = t;
    return 0;
}

static void generate_bench(zy_model *m, int new_tokens, int reps) {
    const zy_model_info *c = zy_model_get_info(m);
    zy_session *s;
    check(zy_session_create(&s, m, NULL), "session");
    int prompt[20];
    zy_rng r;
    zy_rng_seed(&r, 2);
    for (int i = 0; i < 20; i++) prompt[i] = (int)zy_rng_below(&r, (uint64_t)c->vocab_size);
    zy_generate_params p = zy_generate_default_params();
    p.sample.temperature = 0, p.max_tokens = new_tokens, p.on_token = on_token;
    double tot[MAX_REPS], dec[MAX_REPS], pre[MAX_REPS];
    int made = 0;
    for (int i = -1; i < reps; i++) {
        gen_times g = {0, 0};
        p.user = &g;
        double t0 = now();
        check(zy_generate(s, prompt, 20, &p, NULL, &made), "generate");
        double t1 = now();
        if (i >= 0 && made > 1) {
            tot[i] = made / (t1 - t0);
            dec[i] = (made - 1) / (g.last - g.first); // one decode step per token after the first
            pre[i] = g.first - t0;                     // prompt (20 positions) + first sample
        }
    }
    printf("zhuyi  gpt2-124m greedy generation, KV cache, prompt 20 + %d new tokens, threads=%d: "
           "%.1f tok/s overall, %.1f tok/s per decode step, prompt %.1f ms\n",
           made, zy_threads_get(), median(tot, reps), median(dec, reps), 1e3 * median(pre, reps));
    zy_session_free(s);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5, new_tokens = argc > 2 ? atoi(argv[2]) : 100;
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    if (new_tokens < 2) new_tokens = 2;
    zy_config *c;
    check(zy_model_preset(&c, "gpt2-124m"), "preset");
    zy_model *m;
    check(zy_model_create(&m, c), "create");
    zy_config_free(c);
    zy_model_init_weights(m, 1);
    printf("zhuyi %s, simd %s\n", zy_version(), zy_simd_name(zy_simd_level()));
    train_step_bench(m, reps);
    generate_bench(m, new_tokens, 3);
    zy_model_free(m);
    return 0;
}
