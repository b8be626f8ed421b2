// Encoder-decoder benchmark: one training step -- forward (label-smoothed cross-entropy,
// ε 0.1) + backward + AdamW -- of transformer-base (MarianMT layout: 6 + 6 post-LN layers,
// d_model 512, 8 heads, FF 2048, ReLU, shared embeddings tied to the output projection,
// sinusoidal positions), vocabulary 8000, random init, no dropout, on B = 128 pairs
// of 32 source and 32 target tokens, no padding (4,096 target tokens): the step
// bench/bench_seq2seq.py times in PyTorch 1.13 (scripts/bench.sh runs both). tokens/s
// counts target tokens, as the PyTorch side does. The step in fp32, then with bf16 matmuls
// where the CPU has AMX or AVX512-BF16 (the PyTorch side: bf16 autocast). Decoding speed
// is not measured here (see `zhuyi translate`).
// Usage: bench_seq2seq [steps]
#include <stdio.h>
#include <stdlib.h>

#define BENCH_NAME "bench_seq2seq"
#include "bench.h"
#include "zhuyi/model.h"
#include "zhuyi/zhuyi.h"

enum { B = 128, T = 32, TD = 32, V = 8000 };

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) reps = 1;
    if (reps > BENCH_MAX_REPS) reps = BENCH_MAX_REPS;
    zy_config *c;
    bench_check(zy_model_preset(&c, "transformer-base"), "preset");
    bench_check(zy_config_set_int(c, "vocab_size", V), "vocab");
    bench_check(zy_config_set_int(c, "decoder_vocab_size", V), "vocab");
    bench_check(zy_config_set_int(c, "pad_token_id", V - 1), "pad");
    bench_check(zy_config_set_int(c, "eos_token_id", 0), "eos");
    bench_check(zy_config_set_int(c, "decoder_start_token_id", V - 1), "start");
    zy_model *m;
    bench_check(zy_model_create(&m, c), "create");
    zy_config_free(c);
    zy_model_init_weights(m, 1);
    bench_check(zy_model_set_dropout(m, 0.0f), "dropout");
    static int src[B * T], dec[B * TD], tgt[B * TD];
    zy_rng r;
    zy_rng_seed(&r, 1);
    for (int i = 0; i < B * T; i++) src[i] = 1 + (int)zy_rng_below(&r, V - 2);
    for (int i = 0; i < B * TD; i++) tgt[i] = 1 + (int)zy_rng_below(&r, V - 2);
    for (int b = 0; b < B; b++) { // decoder input: start, then the targets shifted
        dec[b * TD] = V - 1;
        for (int t = 1; t < TD; t++) dec[b * TD + t] = tgt[b * TD + t - 1];
    }
    zy_batch batch = {.B = B, .T = T, .input_ids = src, .T_dec = TD, .dec_input_ids = dec,
                      .dec_targets = tgt};
    zy_session_params sp = zy_session_default_params();
    sp.label_smoothing = 0.1f;
    sp.loss_only = true;
    printf("zhuyi %s, simd %s\n", zy_version(), zy_simd_name(zy_simd_level()));
    // fp32, then bf16 matmuls where the CPU has them (bench_seq2seq.py: bf16 autocast).
    int runs = zy_bf16_level() != ZY_BF16_EMULATED ? 2 : 1;
    for (int run = 0; run < runs; run++) {
        zy_precision prec = run ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32;
        zy_precision old = zy_gemm_precision_set(prec);
        bench_steps st = bench_train_steps(m, sp, &batch, 5e-4f, reps);
        zy_gemm_precision_set(old);
        char label[160];
        snprintf(label, sizeof label, "zhuyi  transformer-base train step B=%d src %d tgt %d "
                 "V=%d threads=%d %s:", B, T, TD, V, zy_threads_get(),
                 run ? zy_bf16_name(zy_bf16_level()) : "fp32");
        bench_print_steps(label, &st);
        printf("zhuyi  transformer-base %s: %.0f target tokens/s (median step)\n",
               run ? "bf16" : "fp32", (double)B * TD / st.step);
    }
    zy_model_free(m);
    return 0;
}
