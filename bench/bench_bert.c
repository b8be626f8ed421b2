// BERT-base benchmark: one pretraining step -- forward (MLM + NSP loss) + backward + AdamW
// -- of BertForPreTraining (12 layers, 12 heads, 768 wide, V = 30522) at B = 8, T = 128,
// fp32, random init, no padding, 15 % of the positions masked (19 a row) and a
// next-sentence label a row: the step bench/bench_bert.py times in PyTorch 1.13
// (scripts/bench.sh runs both). Two zhuyi rows: the MLM head over every position (what
// Hugging Face's BertForPreTraining computes, the same work as the PyTorch model), and a
// loss-only session, as the trainer runs it, whose head runs at the masked positions only.
// Times are medians (and the minimum, less sensitive to other load on the machine) over
// several steps after one warm-up; GFLOP/s uses zy_model_train_flops (the head over every
// position), the formula bench_bert.py uses, so the rates compare. Both rows in fp32, then
// again with bf16 matmuls where the CPU has AMX or AVX512-BF16 (zy_gemm_precision_set;
// bench_bert.py's bf16 autocast is its PyTorch side), each from the same initial weights.
// Usage: bench_bert [steps]
#include <stdio.h>
#include <stdlib.h>

#define BENCH_NAME "bench_bert"
#include "bench.h"
#include "zhuyi/model.h"
#include "zhuyi/zhuyi.h"

enum { B = 8, T = 128, MASKED = 19 };

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

static void train_step_bench(zy_model *m, int reps, bool loss_only, zy_precision prec) {
    static int x[B * T], y[B * T], types[B * T], labels[B];
    make_batch(zy_model_get_info(m)->vocab_size, x, y, types, labels);
    zy_batch batch = {.B = B, .T = T, .input_ids = x, .targets = y, .token_type_ids = types,
                      .labels = labels};
    zy_session_params sp = zy_session_default_params();
    sp.loss_only = loss_only;
    zy_model_init_weights(m, 1); // each row from the same weights (a step changes them)
    zy_precision old = zy_gemm_precision_set(prec);
    bench_steps r = bench_train_steps(m, sp, &batch, 1e-4f, reps);
    zy_gemm_precision_set(old);
    char label[160], pname[48] = "fp32";
    if (prec == ZY_PRECISION_BF16)
        snprintf(pname, sizeof pname, "bf16 %s", zy_bf16_name(zy_bf16_level()));
    snprintf(label, sizeof label, "zhuyi  bert-base train step B=%d T=%d threads=%d %s, MLM "
             "head %-17s", B, T, zy_threads_get(), pname,
             loss_only ? "at masked only:" : "at every position:");
    bench_print_steps(label, &r);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) reps = 1;
    if (reps > BENCH_MAX_REPS) reps = BENCH_MAX_REPS;
    zy_config *c;
    bench_check(zy_model_preset(&c, "bert-base"), "preset");
    zy_model *m;
    bench_check(zy_model_create(&m, c), "create");
    zy_config_free(c);
    // as the PyTorch side (eval-mode dropout)
    bench_check(zy_model_set_dropout(m, 0.0f), "dropout");
    printf("zhuyi %s, simd %s\n", zy_version(), zy_simd_name(zy_simd_level()));
    int runs = zy_bf16_level() != ZY_BF16_EMULATED ? 2 : 1;
    for (int run = 0; run < runs; run++) {
        zy_precision prec = run ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32;
        train_step_bench(m, reps, false, prec);
        train_step_bench(m, reps, true, prec);
    }
    zy_model_free(m);
    return 0;
}
