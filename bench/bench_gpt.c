// GPT-2 124M benchmark: (1) one training step -- forward + backward + AdamW -- at B=4,
// T=64, fp32, random init, V=50257, the same step bench/bench_gpt.py times in PyTorch
// 1.13 (scripts/bench.sh runs both), then the same step with bf16 matmuls where the CPU
// has AMX or AVX512-BF16 (zy_gemm_precision_set; bench_gpt.py's bf16 autocast is its
// PyTorch side); (2) greedy generation with the KV cache: a 20-token
// prompt, then 100 new tokens, in tokens per second.
// Times are medians (and the minimum, less sensitive to other load on the machine) over
// several steps after one warm-up; GFLOP/s uses zy_model_train_flops (6·N·params-style
// count plus attention), the same formula the .py uses, so the two rates compare.
// Usage: bench_gpt [steps] [new_tokens]
#include <stdio.h>
#include <stdlib.h>

#define BENCH_NAME "bench_gpt"
#include "bench.h"
#include "zhuyi/model.h"
#include "zhuyi/sample.h"
#include "zhuyi/zhuyi.h"

static void train_step_bench(zy_model *m, int reps, zy_precision prec) {
    const int B = 4, T = 64, V = zy_model_get_info(m)->vocab_size;
    int *x = bench_must(malloc(sizeof(int) * B * T));
    int *y = bench_must(malloc(sizeof(int) * B * T));
    zy_rng r;
    zy_rng_seed(&r, 1);
    for (int i = 0; i < B * T; i++) x[i] = (int)zy_rng_below(&r, (uint64_t)V);
    for (int i = 0; i < B * T; i++) y[i] = (int)zy_rng_below(&r, (uint64_t)V);
    zy_batch batch = {.B = B, .T = T, .input_ids = x, .targets = y};
    zy_model_init_weights(m, 1); // each run from the same weights (a step changes them)
    zy_precision old = zy_gemm_precision_set(prec);
    bench_steps t = bench_train_steps(m, zy_session_default_params(), &batch, 6e-4f, reps);
    zy_gemm_precision_set(old);
    char label[128], pname[48] = "fp32";
    if (prec == ZY_PRECISION_BF16)
        snprintf(pname, sizeof pname, "bf16 %s", zy_bf16_name(zy_bf16_level()));
    snprintf(label, sizeof label, "zhuyi  gpt2-124m train step B=%d T=%d threads=%d %s:", B, T,
             zy_threads_get(), pname);
    bench_print_steps(label, &t);
    free(x), free(y);
}

typedef struct {
    double first, last;
} gen_times;

static int on_token(int token, int i, void *user) {
    (void)token;
    gen_times *g = user;
    double t = bench_now();
    if (i == 0) g->first = t;
    g->last = t;
    return 0;
}

static void generate_bench(zy_model *m, int new_tokens, int reps) {
    const zy_model_info *c = zy_model_get_info(m);
    zy_session *s;
    bench_check(zy_session_create(&s, m, NULL), "session");
    int prompt[20];
    zy_rng r;
    zy_rng_seed(&r, 2);
    for (int i = 0; i < 20; i++) prompt[i] = (int)zy_rng_below(&r, (uint64_t)c->vocab_size);
    zy_generate_params p = zy_generate_default_params();
    p.sample.temperature = 0, p.max_tokens = new_tokens, p.on_token = on_token;
    double tot[BENCH_MAX_REPS], dec[BENCH_MAX_REPS], pre[BENCH_MAX_REPS];
    int made = 0;
    for (int i = -1; i < reps; i++) {
        gen_times g = {0, 0};
        p.user = &g;
        double t0 = bench_now();
        bench_check(zy_generate(s, prompt, 20, &p, NULL, &made), "generate");
        double t1 = bench_now();
        if (i >= 0 && made > 1) {
            tot[i] = made / (t1 - t0);
            dec[i] = (made - 1) / (g.last - g.first); // one decode step per token after the first
            pre[i] = g.first - t0;                     // prompt (20 positions) + first sample
        }
    }
    printf("zhuyi  gpt2-124m greedy generation, KV cache, prompt 20 + %d new tokens, threads=%d: "
           "%.1f tok/s overall, %.1f tok/s per decode step, prompt %.1f ms\n",
           made, zy_threads_get(), bench_median(tot, reps), bench_median(dec, reps),
           1e3 * bench_median(pre, reps));
    zy_session_free(s);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5, new_tokens = argc > 2 ? atoi(argv[2]) : 100;
    if (reps < 1) reps = 1;
    if (reps > BENCH_MAX_REPS) reps = BENCH_MAX_REPS;
    if (new_tokens < 2) new_tokens = 2;
    zy_config *c;
    bench_check(zy_model_preset(&c, "gpt2-124m"), "preset");
    zy_model *m;
    bench_check(zy_model_create(&m, c), "create");
    zy_config_free(c);
    printf("zhuyi %s, simd %s\n", zy_version(), zy_simd_name(zy_simd_level()));
    train_step_bench(m, reps, ZY_PRECISION_FP32);
    if (zy_bf16_level() != ZY_BF16_EMULATED) train_step_bench(m, reps, ZY_PRECISION_BF16);
    generate_bench(m, new_tokens, 3);
    zy_model_free(m);
    return 0;
}
