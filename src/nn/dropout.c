// Inverted dropout with a mask that is never stored: element i is kept when the hash
// zy_hash64(seed, offset + i), read as a 24-bit uniform in [0, 1), is >= p. Forward and
// backward recompute the same mask, and since it depends only on (seed, offset + i) it is
// identical at any thread count and for any split of a tensor into calls (pass the
// slice's start as offset). Not a source of randomness for anything else. The chunk
// kernels: the scalar references here, AVX2 and AVX-512 in dropout_avx2.c and
// dropout_avx512.c (8 and 16 hashes at a time, the same bits), chosen at run time.
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "nn/dropout.h"
#include "zhuyi/nn.h"

#define DROPOUT_PARALLEL_MIN 65536
#define DROPOUT_CHUNK 16384

static inline int keep(float p, uint64_t seed, uint64_t index) {
    // The top 24 bits make every uniform exactly representable, as zy_rng_uniform does.
    float u = (float)(zy_hash64(seed, index) >> 40) * 0x1.0p-24f;
    return u >= p;
}

int zy_dropout_keep(float p, uint64_t seed, uint64_t index) { return keep(p, seed, index); }

void zy__dropout_forward_scalar(float *out, const float *inp, size_t n, float p, float scale,
                                uint64_t seed, uint64_t offset) {
    for (size_t i = 0; i < n; i++) out[i] = keep(p, seed, offset + i) ? inp[i] * scale : 0.0f;
}

void zy__dropout_backward_scalar(float *out, const float *inp, size_t n, float p, float scale,
                                 uint64_t seed, uint64_t offset) {
    for (size_t i = 0; i < n; i++)
        if (keep(p, seed, offset + i)) out[i] += inp[i] * scale;
}

typedef struct drop_job {
    float *out;
    const float *inp;
    float p, scale;
    uint64_t seed, offset;
    zy__dropout_fn fn; // the chunk kernel
} drop_job;

static void range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const drop_job *j = ctx;
    j->fn(j->out + lo, j->inp + lo, hi - lo, j->p, j->scale, j->seed, j->offset + lo);
}

// The mask depends on the index only, so any split gives the same bits.
static void run(size_t n, drop_job *j) {
    if (n < DROPOUT_PARALLEL_MIN) range(j, 0, n, 0);
    else zy__parallel(n, DROPOUT_CHUNK, 0, range, j);
}

static zy__dropout_fn forward_kernel(void) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) return zy__dropout_forward_avx512;
    if (zy_simd_level() >= ZY_SIMD_AVX2) return zy__dropout_forward_avx2;
    return zy__dropout_forward_scalar;
}

static zy__dropout_fn backward_kernel(void) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) return zy__dropout_backward_avx512;
    if (zy_simd_level() >= ZY_SIMD_AVX2) return zy__dropout_backward_avx2;
    return zy__dropout_backward_scalar;
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
    drop_job j = {out, inp, p, 1.0f / (1.0f - p), seed, offset,
                  forward_kernel()};
    run(n, &j);
}

void zy_dropout_backward(float *dinp, const float *dout, size_t n, float p, uint64_t seed,
                         uint64_t offset) {
    if (!dinp || !(p < 1.0f)) return; // p = 1: every gradient is zero
    if (p <= 0.0f) {
        for (size_t i = 0; i < n; i++) dinp[i] += dout[i];
        return;
    }
    drop_job j = {dinp, dout, p, 1.0f / (1.0f - p), seed, offset,
                  backward_kernel()};
    run(n, &j);
}
