// libFuzzer harness: the training-state reader (src/train/trainer_state.c:
// zy_trainer_read_params, zy_trainer_state_get) on a fuzzed training_state.safetensors.
// The input is the file, or its header plus data (fz_safetensors_bytes), so the fuzzer
// can edit the metadata text freely. Properties checked on every input:
//  - a refusal is ZY_STATUS_BAD_FORMAT with a message naming the file;
//  - accepted parameters are in the reader's ranges: batch, seq, eval_batches in
//    [0, 2^30], grad_accum in [0, 65535], steps, warmup and the step in [0, 2^50], every
//    float finite in [0, 1e30), a known schedule, shuffle exactly as written ("true" or
//    "false"), and each value is the one the metadata holds (the integers parse back to
//    them);
//  - zy_trainer_state_get copies a value whole and NUL-terminated when it fits, refuses
//    with ZY_STATUS_INVALID_ARGUMENT (buffer untouched past cap) when it does not, and
//    says ZY_STATUS_NOT_FOUND for an absent key; the copy equals the safetensors reader's
//    value for that key; a file that is not a zhuyi state (format, version) is
//    ZY_STATUS_BAD_FORMAT for every key.
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const KEYS[] = {"format", "version", "step", "seed", "schedule", "lr",
                                   "shuffle", "data_files", "val_fraction", "eval_every",
                                   "n_params", "\x01 absent"};

static void check_get(const char *path, const zy_safetensors *st) {
    char buf[72];
    const char *f = zy_safetensors_metadata_get(st, "format");
    const char *v = zy_safetensors_metadata_get(st, "version");
    int ours = f && !strcmp(f, "zhuyi-training-state") && v && !strcmp(v, "1");
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
        const char *want = zy_safetensors_metadata_get(st, KEYS[i]);
        for (size_t cap = 1; cap <= 64; cap *= 4) {
            memset(buf, 0x5A, sizeof buf);
            zy_status s = zy_trainer_state_get(path, KEYS[i], buf, cap);
            if (!ours) {
                FZ_CHECK(s == ZY_STATUS_BAD_FORMAT && strstr(zy_last_error(), path));
            } else if (!want) {
                FZ_CHECK(s == ZY_STATUS_NOT_FOUND && strstr(zy_last_error(), path));
            } else if (strlen(want) < cap) {
                FZ_CHECK(s == ZY_STATUS_OK && !strcmp(buf, want));
            } else {
                FZ_CHECK(s == ZY_STATUS_INVALID_ARGUMENT && strstr(zy_last_error(), path));
            }
            for (size_t k = cap; k < sizeof buf; k++) FZ_CHECK(buf[k] == 0x5A);
        }
    }
}

// The metadata value of key, parsed as the reader does, equals v.
static void same_int(const zy_safetensors *st, const char *key, long v) {
    const char *s = zy_safetensors_metadata_get(st, key);
    FZ_CHECK(s);
    FZ_CHECKF(strtoll(s, NULL, 10) == v || (long)strtoull(s, NULL, 10) == v,
              "'%s' = '%s' read as %ld", key, s, v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n;
    unsigned char *file = fz_safetensors_bytes(data, size, &n);
    const char *path = fz_write("training_state.safetensors", file, n);
    free(file);
    zy_trainer_params p;
    memset(&p, 0x5A, sizeof p);
    long step = -7;
    zy_status s = zy_trainer_read_params(path, &p, &step);
    zy_safetensors *st = NULL;
    zy_status so = zy_safetensors_open(&st, path);
    if (so == ZY_STATUS_OK) {
        check_get(path, st);
    } else {
        FZ_CHECK(s == so); // an unreadable container is the reader's error too
        char buf[8];
        FZ_CHECK(zy_trainer_state_get(path, "step", buf, sizeof buf) == so);
    }
    if (s) {
        fz_expect_error(s, path, ZY_STATUS_BAD_FORMAT, ZY_STATUS_BAD_FORMAT,
                        ZY_STATUS_BAD_FORMAT);
        zy_safetensors_free(st);
        return 0;
    }
    FZ_CHECK(st);
    FZ_CHECK(p.batch >= 0 && p.batch <= (1 << 30));
    FZ_CHECK(p.seq >= 0 && p.seq <= (1 << 30));
    FZ_CHECK(p.eval_batches >= 0 && p.eval_batches <= (1 << 30));
    FZ_CHECK(p.grad_accum >= 0 && p.grad_accum <= 65535);
    FZ_CHECK(p.steps >= 0 && p.steps <= (1L << 50));
    FZ_CHECK(p.warmup >= 0 && p.warmup <= (1L << 50));
    FZ_CHECK(step >= 0 && step <= (1L << 50));
    const float fl[] = {p.lr, p.min_lr, p.weight_decay, p.beta1, p.beta2, p.eps, p.grad_clip,
                        p.dropout};
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++)
        FZ_CHECKF(fl[i] >= 0 && fl[i] < 1e30f, "float parameter %zu = %g", i, (double)fl[i]);
    FZ_CHECK((unsigned)p.schedule <= 3);
    const char *sh = zy_safetensors_metadata_get(st, "shuffle");
    FZ_CHECK(sh && !strcmp(sh, p.shuffle ? "true" : "false"));
    same_int(st, "batch", p.batch);
    same_int(st, "seq", p.seq);
    same_int(st, "grad_accum", p.grad_accum);
    same_int(st, "steps", p.steps);
    same_int(st, "warmup", p.warmup);
    same_int(st, "eval_batches", p.eval_batches);
    same_int(st, "step", step);
    FZ_CHECK(!strcmp(zy_safetensors_metadata_get(st, "format"), "zhuyi-training-state"));
    zy_safetensors_free(st);
    return 0;
}
