// Inverted dropout with a mask that is never stored: element i is kept when the hash
// zy_hash64(seed, offset + i), read as a 24-bit uniform in [0, 1), is >= p. Forward and
// backward recompute the same mask, and since it depends only on (seed, offset + i) it is
// identical at any thread count and for any split of a tensor into calls (pass the
// slice's start as offset). Not a source of randomness for anything else.
#include <string.h>

#include "core/internal.h"
#include "zhuyi/nn.h"

#define DROPOUT_PARALLEL_MIN 65536

static inline int keep(float p, uint64_t seed, uint64_t index) {
    // The top 24 bits make every uniform exactly representable, as zy_rng_uniform does.
    float u = (float)(zy_hash64(seed, index) >> 40) * 0x1.0p-24f;
    return u >= p;
}

int zy_dropout_keep(float p, uint64_t seed, uint64_t index) { return keep(p, seed, index); }

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
    float scale = 1.0f / (1.0f - p);
    int par = n >= DROPOUT_PARALLEL_MIN && !zy__in_parallel();
    (void)par;
#pragma omp parallel for schedule(static) if (par)
    for (size_t i = 0; i < n; i++) out[i] = keep(p, seed, offset + i) ? inp[i] * scale : 0.0f;
}

void zy_dropout_backward(float *dinp, const float *dout, size_t n, float p, uint64_t seed,
                         uint64_t offset) {
    if (!dinp || !(p < 1.0f)) return; // p = 1: every gradient is zero
    if (p <= 0.0f) {
        for (size_t i = 0; i < n; i++) dinp[i] += dout[i];
        return;
    }
    float scale = 1.0f / (1.0f - p);
    int par = n >= DROPOUT_PARALLEL_MIN && !zy__in_parallel();
    (void)par;
#pragma omp parallel for schedule(static) if (par)
    for (size_t i = 0; i < n; i++)
        if (keep(p, seed, offset + i)) dinp[i] += dout[i] * scale;
}
