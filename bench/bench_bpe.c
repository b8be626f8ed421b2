// BPE tokenizer benchmark: GPT-2 encode throughput (MB/s) on the King James text, one
// thread and all threads (checking both give the same ids), decode throughput, and the
// time to train an 8k vocabulary on the same text. Data comes from scripts/data.sh
// (run here if build/data is missing it). Figures go to stdout for docs/BENCHMARKS.md.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuyi/zhuyi.h"
#include "zhuyi/tokenizer.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(*n + 1);
    if (b) *n = fread(b, 1, *n, f);
    fclose(f);
    return b;
}

static int need(const char *path, const char *what) {
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        return 0;
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "scripts/data.sh %s", what);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_bpe: %s missing and '%s' failed\n", path, cmd);
        return 1;
    }
    return 0;
}

int main(void) {
    if (need("build/data/gpt2/encoder.json", "gpt2-tokenizer") || need("build/data/kjv.txt", "kjv"))
        return 1;
    zy_tokenizer *t;
    if (zy_tokenizer_load_gpt2(&t, "build/data/gpt2/encoder.json", "build/data/gpt2/vocab.bpe")) {
        fprintf(stderr, "bench_bpe: %s\n", zy_last_error());
        return 1;
    }
    size_t n;
    char *text = slurp("build/data/kjv.txt", &n);
    if (!text) return 1;
    int32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    char *back = malloc(n);
    size_t na = 0, nb = 0, m = 0;
    double mb = n / 1e6, best1 = 1e9, bestp = 1e9, bestd = 1e9, cold;
    double t0 = now();
    zy_tokenizer_encode(t, text, n, 0, a, n, &na);
    cold = now() - t0;
    for (int r = 0; r < 3; r++) {
        t0 = now();
        zy_tokenizer_encode(t, text, n, 0, a, n, &na);
        double dt = now() - t0;
        best1 = dt < best1 ? dt : best1;
        t0 = now();
        zy_tokenizer_encode_parallel(t, text, n, 0, b, n, &nb);
        dt = now() - t0;
        bestp = dt < bestp ? dt : bestp;
        t0 = now();
        zy_tokenizer_decode(t, a, na, back, n, &m);
        dt = now() - t0;
        bestd = dt < bestd ? dt : bestd;
    }
    int same = na == nb && !memcmp(a, b, na * sizeof *a) && m == n && !memcmp(back, text, n);
    printf("BPE encode, GPT-2 vocabulary, King James text (%.2f MB -> %zu tokens)\n", mb, na);
    printf("  encode 1 thread (cold cache)  %8.1f MB/s\n", mb / cold);
    printf("  encode 1 thread (warm cache)  %8.1f MB/s\n", mb / best1);
    printf("  encode %d threads              %8.1f MB/s  (same ids as 1 thread: %s)\n",
           zy_threads_get(), mb / bestp, same ? "yes" : "NO");
    printf("  decode 1 thread               %8.1f MB/s\n", mb / bestd);
    zy_bpe_train_params p = zy_bpe_train_default_params();
    p.vocab_size = 8192;
    const char *files[] = {"build/data/kjv.txt"};
    zy_tokenizer *tr;
    t0 = now();
    if (zy_tokenizer_train_bpe(&tr, files, 1, p)) {
        fprintf(stderr, "bench_bpe: train: %s\n", zy_last_error());
        return 1;
    }
    printf("  train 8192-token BPE on it    %8.2f s (%d merges)\n", now() - t0,
           zy_tokenizer_merge_count(tr));
    zy_tokenizer_free(tr);
    zy_tokenizer_free(t);
    free(a);
    free(b);
    free(back);
    free(text);
    return same ? 0 : 1;
}
