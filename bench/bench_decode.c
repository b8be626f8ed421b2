// Decoding speed by weight type: GPT-2 124M (random weights, V = 50257) in f32, f16, bf16,
// Q8_0 and Q4_0 (the block types in both arithmetics, quant.h), at 1 and 2 threads:
// a 128-token prompt (tokens per second through the chunked GEMM path), then greedy
// generation with the KV cache (tokens per second of the decoding steps after the
// first), and the library's allocations per generated token (counted through the
// allocator hook: the decode path must make none). Each figure is the best of `reps`
// runs, the least disturbed by other load on a shared machine.
// Usage: bench_decode [reps] [new_tokens] [types...]   (types: f32 f16 bf16 q8_0 q4_0
// q8_0:int8 q4_0:int8; default all). Environment: BENCH_PROMPT (prompt tokens, default
// 128), BENCH_KV=f16|bf16 (the KV cache's type, zy_session_params.kv_cache; default f32),
// BENCH_PRECISION=fp32|bf16 (the prompt chunks' GEMMs, zy_gemm_precision_set; default as
// `zhuyi generate` runs them: bf16 where the CPU has AMX or AVX512-BF16, else fp32).
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_NAME "bench_decode"
#include "bench.h"
#include "zhuyi/quant.h"
#include "zhuyi/sample.h"

static atomic_long n_allocs;

static void *count_alloc(size_t size, size_t align, void *user) {
    (void)user;
    atomic_fetch_add(&n_allocs, 1);
    void *p = NULL;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size ? size : 1))
        return NULL;
    return p;
}

static void count_free(void *p, void *user) {
    (void)user;
    free(p);
}

typedef struct gen_times {
    double first, last;
    long allocs_first, allocs_last;
} gen_times;

static int on_token(int token, int i, void *user) {
    (void)token;
    gen_times *g = user;
    double t = bench_now();
    long a = atomic_load(&n_allocs);
    if (i == 0) g->first = t, g->allocs_first = a;
    g->last = t, g->allocs_last = a;
    return 0;
}

typedef struct run {
    const char *name;
    zy_wtype type;
    zy_quant_arith arith;
} run;

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 3, new_tokens = argc > 2 ? atoi(argv[2]) : 64;
    if (reps < 1) reps = 1;
    if (new_tokens < 2) new_tokens = 2;
    const run all[] = {{"f32", ZY_WTYPE_F32, ZY_QUANT_ARITH_FP32},
                       {"f16", ZY_WTYPE_F16, ZY_QUANT_ARITH_FP32},
                       {"bf16", ZY_WTYPE_BF16, ZY_QUANT_ARITH_FP32},
                       {"q8_0", ZY_WTYPE_Q8_0, ZY_QUANT_ARITH_FP32},
                       {"q8_0:int8", ZY_WTYPE_Q8_0, ZY_QUANT_ARITH_INT8},
                       {"q4_0", ZY_WTYPE_Q4_0, ZY_QUANT_ARITH_FP32},
                       {"q4_0:int8", ZY_WTYPE_Q4_0, ZY_QUANT_ARITH_INT8}};
    const int n_all = (int)(sizeof all / sizeof all[0]);
    zy_allocator a = {count_alloc, count_free, NULL};
    zy_allocator_set(&a);
    zy_config *c;
    bench_check(zy_model_preset(&c, "gpt2-124m"), "preset");
    zy_model *m;
    bench_check(zy_model_create(&m, c), "create");
    zy_config_free(c);
    zy_model_init_weights(m, 1);
    size_t n;
    float *params = zy_model_params(m, &n);
    float *saved = bench_must(malloc(n * sizeof(float)));
    memcpy(saved, params, n * sizeof(float));
    const zy_model_info *info = zy_model_get_info(m);
    const char *ep = getenv("BENCH_PROMPT"), *ekv = getenv("BENCH_KV");
    const int PROMPT = ep && atoi(ep) > 0 && atoi(ep) < 1000 ? atoi(ep) : 128;
    zy_wtype kv = ZY_WTYPE_F32;
    if (ekv && zy_wtype_parse(ekv, &kv)) kv = ZY_WTYPE_F32;
    const char *epr = getenv("BENCH_PRECISION");
    const bool bf16_gemm = epr ? !strcmp(epr, "bf16") : zy_bf16_level() != ZY_BF16_EMULATED;
    zy_gemm_precision_set(bf16_gemm ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32);
    int prompt[1000];
    zy_rng r;
    zy_rng_seed(&r, 2);
    for (int i = 0; i < PROMPT; i++) prompt[i] = (int)zy_rng_below(&r, (uint64_t)info->vocab_size);
    printf("zhuyi %s, simd %s, gpt2-124m, prompt %d (%s GEMMs), %d new tokens, KV cache %s, "
           "best of %d\n", zy_version(), zy_simd_name(zy_simd_level()), PROMPT,
           bf16_gemm ? "bf16" : "fp32", new_tokens, zy_wtype_name(kv), reps);
    for (int k = 0; k < n_all; k++) {
        bool want = argc <= 3;
        for (int i = 3; i < argc; i++) want |= !strcmp(argv[i], all[k].name);
        if (!want) continue;
        bench_check(zy_model_set_weight_type(m, ZY_WTYPE_F32), "weight type f32");
        memcpy(params, saved, n * sizeof(float));
        bench_check(zy_model_set_weight_type(m, all[k].type), "weight type");
        zy_quant_arith_set(all[k].arith);
        for (int th = 1; th <= 2; th++) {
            zy_threads_set(th);
            zy_session *s;
            zy_session_params sp = zy_session_default_params();
            sp.kv_cache = kv;
            bench_check(zy_session_create(&s, m, &sp), "session");
            zy_generate_params p = zy_generate_default_params();
            p.sample.temperature = 0, p.max_tokens = new_tokens, p.on_token = on_token;
            double best_dec = 0, best_pre = 0;
            long per_token = -1;
            for (int i = -1; i < reps; i++) { // -1: warm-up (allocates the KV cache)
                gen_times g = {0};
                p.user = &g;
                int made = 0;
                double t0 = bench_now();
                bench_check(zy_generate(s, prompt, PROMPT, &p, NULL, &made), "generate");
                if (i < 0 || made < 2) continue;
                double dec = (made - 1) / (g.last - g.first), pre = PROMPT / (g.first - t0);
                best_dec = dec > best_dec ? dec : best_dec;
                best_pre = pre > best_pre ? pre : best_pre;
                long pt = (g.allocs_last - g.allocs_first) / (made - 1);
                per_token = pt > per_token ? pt : per_token;
            }
            printf("%-10s threads %d: generation %6.1f tok/s, prompt %7.1f tok/s, "
                   "allocations per token %ld\n", all[k].name, th, best_dec, best_pre,
                   per_token);
            fflush(stdout);
            zy_session_free(s);
        }
    }
    free(saved);
    zy_model_free(m);
    return 0;
}
