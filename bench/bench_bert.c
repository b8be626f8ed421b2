// BERT-base benchmark: one pretraining step -- forward (MLM + NSP loss) + backward + AdamW
// -- of BertForPreTraining (12 layers, 12 heads, 768 wide, V = 30522) at B = 8, T = 128,
// fp32, random init, no padding, 15 % of the positions masked (19 a row) and a
// next-sentence label a row: the step bench/bench_bert.py times in PyTorch 1.13
// (scripts/bench.sh runs both). Two zhuyi rows: the MLM head over every position (what
// Hugging Face's BertForPreTraining computes, the same work as the PyTorch model), and a
// loss-only session, as the trainer runs it, whose head runs at the masked positions only.
// Times are medians (and the minimum, less sensitive to other load on the machine) over
// several steps after one warm-up; GFLOP/s uses zy_model_train_flops (the head over every
// position), the formula bench_bert.py uses, so the rates compare.
// Usage: bench_bert [steps]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuyi/model.h"
#include "zhuyi/zhuyi.h"

enum { B = 8, T = 128, MASKED = 19, MAX_REPS = 64, MAX_GROUPS = 512 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *x, int n) {
    double s[MAX_REPS];
    memcpy(s, x, (size_t)n * sizeof *x);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static void check(zy_status s, const char *what) {
    if (s == ZY_STATUS_OK) return;
    fprintf(stderr, "bench_bert: %s: %s\n", what, zy_last_error());
    exit(1);
}

static void *must(void *p) {
    if (!p) {
        fprintf(stderr, "bench_bert: out of memory\n");
        exit(1);
    }
    return p;
}

// The batch: random ids, MASKED distinct positions of each row (not 0) scored with random
// targets, a random next-sentence label per row, two segments of 64.
static void make_batch(int V, int *x, int *y, int *types, int *labels) {
    zy_rng r;
    zy_rng_seed(&r, 1);
    for (int i = 0; i < B * T; i++) x[i] = (int)zy_rng_below(&r, (uint64_t)V);
    for (int i = 0; i < B * T; i++) y[i] = -1, types[i] = i % T >= T / 2;
    for (int b = 0; b < B; b++) {
        labels[b] = (int)zy_rng_below(&r, 2);
        for (int k = 0; k < MASKED;) {
            int t = 1 + (int)zy_rng_below(&r, T - 1);
            if (y[b * T + t] >= 0) continue;
            y[b * T + t] = (int)zy_rng_below(&r, (uint64_t)V);
            k++;
        }
    }
}

static void train_step_bench(zy_model *m, int reps, bool loss_only) {
    const zy_model_info *c = zy_model_get_info(m);
    zy_session_params sp = zy_session_default_params();
    sp.batch = B, sp.seq = T, sp.training = true, sp.loss_only = loss_only;
    zy_session *s;
    check(zy_session_create(&s, m, &sp), "session");
    size_t n;
    float *params = zy_model_params(m, NULL), *grads = zy_session_grads(s, &n);
    float *mom = must(zy_calloc(n, sizeof(float))), *var = must(zy_calloc(n, sizeof(float)));
    // The trainer's AdamW: decay 0.1 on the tensors the table marks, one group per tensor.
    const zy_tensor_table *tab = zy_model_tensors(m);
    static zy_param_group groups[MAX_GROUPS];
    int ng = zy_tensor_table_count(tab);
    if (ng > MAX_GROUPS) check(ZY_STATUS_INVALID_ARGUMENT, "too many tensors");
    for (int i = 0; i < ng; i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        groups[i] = (zy_param_group){t->offset, t->count, t->decay ? 0.1f : 0.0f};
    }
    zy_adamw_params ap = zy_adamw_default_params();
    ap.beta2 = 0.95f;
    static int x[B * T], y[B * T], types[B * T], labels[B];
    make_batch(c->vocab_size, x, y, types, labels);
    zy_batch batch = {.B = B, .T = T, .input_ids = x, .targets = y, .token_type_ids = types,
                      .labels = labels};
    double tf[MAX_REPS], tb[MAX_REPS], to[MAX_REPS], tt[MAX_REPS];
    float loss = 0;
    for (int i = -1; i < reps; i++) { // i = -1 is the warm-up
        double t0 = now();
        zy_session_zero_grads(s);
        check(zy_session_forward(s, &batch, &loss, NULL), "forward");
        double t1 = now();
        check(zy_session_backward(s, 1.0f), "backward");
        double t2 = now();
        zy_adamw_step(&ap, 1e-4f, i + 2, params, grads, mom, var, n, groups, ng);
        double t3 = now();
        if (i >= 0) tf[i] = t1 - t0, tb[i] = t2 - t1, to[i] = t3 - t2, tt[i] = t3 - t0;
    }
    double flops = zy_model_train_flops(m, B, T), step = median(tt, reps), best = tt[0];
    for (int i = 1; i < reps; i++) best = tt[i] < best ? tt[i] : best;
    printf("zhuyi  bert-base train step B=%d T=%d threads=%d, MLM head %-17s %8.1f ms  (fwd "
           "%.1f, bwd %.1f, adamw %.1f)  %.1f GFLOP/s  [min %.1f ms; %.1f GFLOP/step, loss "
           "%.3f]\n",
           B, T, zy_threads_get(), loss_only ? "at masked only:" : "at every position:",
           1e3 * step, 1e3 * median(tf, reps), 1e3 * median(tb, reps), 1e3 * median(to, reps),
           flops / step * 1e-9, 1e3 * best, flops * 1e-9, loss);
    zy_free(mom), zy_free(var);
    zy_session_free(s);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    zy_config *c;
    check(zy_model_preset(&c, "bert-base"), "preset");
    zy_model *m;
    check(zy_model_create(&m, c), "create");
    zy_config_free(c);
    zy_model_init_weights(m, 1);
    check(zy_model_set_dropout(m, 0.0f), "dropout"); // as the PyTorch side (eval-mode dropout)
    printf("zhuyi %s, simd %s\n", zy_version(), zy_simd_name(zy_simd_level()));
    train_step_bench(m, reps, false);
    train_step_bench(m, reps, true);
    zy_model_free(m);
    return 0;
}
