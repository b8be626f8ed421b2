// Global gradient norm and clipping by it (torch.nn.utils.clip_grad_norm_ semantics, L2).
//
// The sum of squares is accumulated in double in an order fixed by n alone: the buffer
// is cut into NORM_BLOCKS contiguous blocks whose bounds depend only on n, each block is
// summed on 8 fixed lanes, and the block sums are added in block order. Threads only
// decide who computes which block, so the norm is bit-identical for any thread count.
// Not here: other p-norms, per-tensor norms.
#include <math.h>

#include "core/internal.h"
#include "core/pool.h"
#include "zhuyi/optim.h"

#define NORM_BLOCKS 256
// Below this many floats everything runs on the calling thread.
#define CLIP_PARALLEL_MIN 65536
#define CLIP_CHUNK 65536 // floats per chunk of the scaling loop (~10 us)

// x[lo, hi): Σ x² in double on 8 lanes (fixed order; lets the compiler use SIMD lanes).
static double sumsq_block(const float *x, size_t lo, size_t hi) {
    double acc[8] = {0};
    size_t i = lo;
    for (; i + 8 <= hi; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += (double)x[i + k] * (double)x[i + k];
    for (int k = 0; i < hi; i++, k++) acc[k] += (double)x[i] * (double)x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

typedef struct clip_job {
    const float *x; // norm: the gradients read
    float *grads;   // clipping: the gradients scaled
    size_t n;
    double *part; // (NORM_BLOCKS)
    float c;
} clip_job;

// Blocks [b0, b1): block b is grads[b*n/B, (b+1)*n/B), summed into part[b].
static void sumsq_blocks(void *ctx, size_t b0, size_t b1, int thread) {
    (void)thread;
    const clip_job *j = ctx;
    for (size_t b = b0; b < b1; b++) {
        // Bounds as b*n/B without overflowing size_t for huge n.
        size_t q = j->n / NORM_BLOCKS, r = j->n % NORM_BLOCKS;
        size_t lo = b * q + (b * r) / NORM_BLOCKS;
        size_t hi = (b + 1) * q + ((b + 1) * r) / NORM_BLOCKS;
        j->part[b] = sumsq_block(j->x, lo, hi);
    }
}

// grads (n) -> Σ g² in double. Not static only so that tests/test_optim.c can check the
// double value (not just its float rounding) is the same for any thread count.
double zy__grad_sumsq(const float *grads, size_t n);
double zy__grad_sumsq(const float *grads, size_t n) {
    double part[NORM_BLOCKS];
    clip_job j = {.x = grads, .n = n, .part = part};
    zy__parallel(NORM_BLOCKS, 1, n >= CLIP_PARALLEL_MIN ? 0 : 1, sumsq_blocks, &j);
    double s = 0.0;
    for (int b = 0; b < NORM_BLOCKS; b++) s += part[b];
    return s;
}

static void scale_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const clip_job *j = ctx;
    for (size_t i = lo; i < hi; i++) j->grads[i] *= j->c;
}

// grads (n) -> sqrt(Σ g²), rounded to float by the callers only.
static double norm_double(const float *grads, size_t n) {
    return sqrt(zy__grad_sumsq(grads, n));
}

float zy_grad_norm(const float *grads, size_t n) {
    ZY_ASSERT(grads != NULL || n == 0);
    return (float)norm_double(grads, n);
}

float zy_grad_clip_norm(float *grads, size_t n, float max_norm) {
    return zy_grad_scale_clip_norm(grads, n, 1.0f, max_norm);
}

float zy_grad_scale_clip_norm(float *grads, size_t n, float scale, float max_norm) {
    ZY_ASSERT(grads != NULL || n == 0);
    double norm = (double)scale * norm_double(grads, n);
    // torch scales by min(1, max_norm / (norm + 1e-6)). A NaN norm compares false and is
    // left alone, an infinite one zeroes finite gradients: either way the caller sees the
    // returned norm and can skip the step.
    double coef = max_norm > 0.0f ? (double)max_norm / (norm + 1e-6) : 1.0;
    float c = coef < 1.0 ? (float)(scale * coef) : scale;
    if (c != 1.0f) {
        clip_job j = {.grads = grads, .n = n, .c = c};
        if (n < CLIP_PARALLEL_MIN) scale_range(&j, 0, n, 0);
        else zy__parallel(n, CLIP_CHUNK, 0, scale_range, &j);
    }
    return (float)norm;
}
