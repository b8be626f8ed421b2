// LoRA against full fine-tuning of GPT-2 124M, one training step each in turn, in one
// process: issue 12's step-time aim (LoRA <= 0.7x the full step) measured so that load
// from other processes on a shared machine falls on both alike. bench/lora_step.sh runs
// the two through the CLI one after the other, minutes apart, and its ratio moves with
// whatever else the machine runs in between.
// Both are zy_trainer steps (forward, backward, clipping, AdamW) at B=4, T=256 on one
// batch of random tokens, every position a target: full on the randomly initialised model
// without dropout (bench/lora_step.sh's model, which `zhuyi pretrain gpt` saved with its
// default dropout 0), LoRA r 8, alpha 16, dropout 0.05 on c_attn (the CLI's defaults with
// lora_step.sh's flags) on the same base. Each is timed by the wall
// clock and by the process's CPU time (all threads: with ZY_THREADS=1, what the step
// costs whatever the machine does, short of cache and memory-bandwidth sharing); the
// medians, the minima and the ratios LoRA / full are printed.
// The base is saved once to a temporary directory (zy_model_load_lora reads a directory)
// and removed at the end.
// Usage: bench_lora [steps]   (default 4 of each, after one warm-up of each)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "bench_lora"
#include "bench.h"
#include "zhuyi/data.h"
#include "zhuyi/lora.h"
#include "zhuyi/trainer.h"

enum { B = 4, T = 256 };

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// ---- one batch of random tokens, forever ------------------------------------------------
typedef struct batch_src {
    int ids[B * T], targets[B * T];
    uint64_t pos;
} batch_src;

static zy_status src_next(void *impl, zy_batch *b) {
    batch_src *s = impl;
    b->B = B, b->T = T;
    memcpy(b->input_ids, s->ids, sizeof s->ids);
    memcpy(b->targets, s->targets, sizeof s->targets);
    s->pos++;
    return ZY_STATUS_OK;
}
static void src_tell(const void *impl, zy_data_pos *p) {
    *p = (zy_data_pos){0, ((const batch_src *)impl)->pos};
}
static zy_status src_seek(void *impl, zy_data_pos p) {
    ((batch_src *)impl)->pos = p.pos;
    return ZY_STATUS_OK;
}
static zy_status src_shard(void *impl, int rank, int world) {
    (void)impl;
    return rank == 0 && world == 1 ? ZY_STATUS_OK : ZY_STATUS_UNSUPPORTED;
}
static const zy_data_source_ops SRC_OPS = {src_next, src_tell, src_seek, src_shard, free};

static zy_data_source *random_source(int V) {
    batch_src *s = bench_must(calloc(1, sizeof *s));
    zy_rng r;
    zy_rng_seed(&r, 3);
    for (int i = 0; i < B * T; i++) s->ids[i] = (int)zy_rng_below(&r, (uint64_t)V);
    for (int i = 0; i < B * T; i++) s->targets[i] = (int)zy_rng_below(&r, (uint64_t)V);
    zy_data_source_info info = {.kind = "bench-random", .dims = {.batch = B, .seq = T,
                                                                 .fields = ZY_BATCH_TARGETS},
                                .n_items = B * T, .fingerprint = 1};
    zy_data_source *d = NULL;
    bench_check(zy_data_source_create(&d, &SRC_OPS, s, &info), "data source");
    return d;
}

typedef struct run {
    const char *name;
    zy_model *m;
    zy_trainer *t;
    double wall[BENCH_MAX_REPS], cpu[BENCH_MAX_REPS];
} run;

static void step(run *r, int i) {
    double w0 = bench_now(), c0 = cpu_now();
    zy_step_info info;
    bench_check(zy_trainer_step(r->t, &info), r->name);
    double w1 = bench_now(), c1 = cpu_now();
    if (i < 0) return; // the warm-up
    r->wall[i] = w1 - w0;
    r->cpu[i] = c1 - c0;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 4;
    if (reps < 1 || reps > BENCH_MAX_REPS) reps = 4;
    char dir[] = "/tmp/zy_bench_lora_XXXXXX";
    if (!mkdtemp(dir)) {
        perror(BENCH_NAME ": mkdtemp");
        return 1;
    }
    zy_config *c = NULL;
    zy_model *base = NULL;
    bench_check(zy_model_preset(&c, "gpt2-124m"), "preset");
    bench_check(zy_model_create(&base, c), "create");
    bench_check(zy_model_set_dropout(base, 0.0f), "dropout");
    bench_check(zy_model_save(base, dir), "save the base");
    const int V = zy_model_get_info(base)->vocab_size;
    zy_model_free(base);
    zy_config_free(c);

    run runs[2] = {{.name = "full"}, {.name = "lora"}};
    bench_check(zy_model_load(&runs[0].m, dir), "load");
    zy_lora_config lc = zy_lora_default_config();
    lc.r = 8, lc.alpha = 16.0f, lc.dropout = 0.05f, lc.targets = "c_attn";
    bench_check(zy_model_load_lora(&runs[1].m, dir, NULL, &lc), "load with LoRA");
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, BENCH_NAME ": could not remove %s\n", dir);

    zy_data_source *src = random_source(V);
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = B, p.seq = T, p.steps = reps + 1, p.lr = 1e-4f, p.min_lr = 1e-4f, p.warmup = 0;
    p.schedule = ZY_SCHEDULE_CONSTANT, p.dropout = zy_model_get_info(runs[0].m)->dropout;
    for (int k = 0; k < 2; k++)
        bench_check(zy_trainer_create(&runs[k].t, runs[k].m, src, NULL, &p), runs[k].name);

    char load[64] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(load, sizeof load, f)) strcpy(load, "?");
        load[strcspn(load, "\n")] = 0;
        fclose(f);
    }
    printf("zhuyi  gpt2-124m fine-tuning step B=%d T=%d, full and LoRA (r 8 on c_attn) in "
           "turn, threads=%d, load %s\n", B, T, zy_threads_get(), load);
    for (int i = -1; i < reps; i++)
        for (int k = 0; k < 2; k++) step(&runs[k], i);
    double med[2][2], mn[2][2];
    for (int k = 0; k < 2; k++) {
        mn[k][0] = bench_min(runs[k].wall, reps);
        mn[k][1] = bench_min(runs[k].cpu, reps);
        med[k][0] = bench_median(runs[k].wall, reps);
        med[k][1] = bench_median(runs[k].cpu, reps);
        printf("%-5s step  wall %8.1f ms (min %8.1f)  cpu %8.1f ms (min %8.1f)  [%d steps]\n",
               runs[k].name, 1e3 * med[k][0], 1e3 * mn[k][0], 1e3 * med[k][1], 1e3 * mn[k][1],
               reps);
    }
    printf("LoRA / full: wall %.2fx (min %.2fx), cpu %.2fx (min %.2fx)  (aim <= 0.70)\n",
           med[1][0] / med[0][0], mn[1][0] / mn[0][0], med[1][1] / med[0][1],
           mn[1][1] / mn[0][1]);
    for (int k = 0; k < 2; k++) {
        zy_trainer_free(runs[k].t);
        zy_model_free(runs[k].m);
    }
    zy_data_source_free(src);
    return 0;
}
