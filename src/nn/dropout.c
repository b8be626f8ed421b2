// Inverted dropout with a mask that is never stored: element i is kept when the hash
// zy_hash64(seed, offset + i), read as a 24-bit uniform in [0, 1), is >= p. Forward and
// backward recompute the same mask, and since it depends only on (seed, offset + i) it is
// identical at any thread count and for any split of a tensor into calls (pass the
// slice's start as offset). Not a source of randomness for anything else.
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "zhuyi/nn.h"

#define DROPOUT_PARALLEL_MIN 65536
#define DROPOUT_CHUNK 16384

static inline int keep(float p, uint64_t seed, uint64_t index) {
    // The top 24 bits make every uniform exactly representable, as zy_rng_uniform does.
    float u = (float)(zy_hash64(seed, index) >> 40) * 0x1.0p-24f;
    return u >= p;
}

int zy_dropout_keep(float p, uint64_t seed, uint64_t index) { return keep(p, seed, index); }

typedef struct drop_job {
    float *out;
    const float *inp;
    float p, scale;
    uint64_t seed, offset;
} drop_job;

static void forward_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const drop_job *j = ctx;
    for (size_t i = lo; i < hi; i++)
        j->out[i] = keep(j->p, j->seed, j->offset + i) ? j->inp[i] * j->scale : 0.0f;
}

static void backward_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const drop_job *j = ctx;
    for (size_t i = lo; i < hi; i++)
        if (keep(j->p, j->seed, j->offset + i)) j->out[i] += j->inp[i] * j->scale;
}

// The mask depends on the index only, so any split gives the same bits.
static void run(size_t n, zy__range_fn fn, drop_job *j) {
    if (n < DROPOUT_PARALLEL_MIN) fn(j, 0, n, 0);
    else zy__parallel(n, DROPOUT_CHUNK, 0, fn, j);
}

void zy_dropout_forward(float *out, const float *inp, size_t n, float p, uint64_t seed,
                        uint64_t offset) {
    if (p <= 0.0f) { // nothing dropped: a copy (no hashing, bit-exact)
        if (out != inp) memmove(out, inp, n * sizeof *out);
        return;
    }
    if (!(p < 1.0f)) { // everything dropped: write zeros, never inp * 0 * (1 / 0)
        memset(out, 0, n * sizeof *out);
        return;
    }
    drop_job j = {out, inp, p, 1.0f / (1.0f - p), seed, offset};
    run(n, forward_range, &j);
}

void zy_dropout_backward(float *dinp, const float *dout, size_t n, float p, uint64_t seed,
                         uint64_t offset) {
    if (!dinp || !(p < 1.0f)) return; // p = 1: every gradient is zero
    if (p <= 0.0f) {
        for (size_t i = 0; i < n; i++) dinp[i] += dout[i];
        return;
    }
    drop_job j = {dinp, dout, p, 1.0f / (1.0f - p), seed, offset};
    run(n, backward_range, &j);
}
