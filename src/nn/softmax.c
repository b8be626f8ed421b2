// Softmax over the rows of a matrix with an optional additive mask (attention scores),
// and its backward. Chunks of rows go to the pool's threads; each row is computed by one
// thread in a fixed order, so results do not depend on the thread count. Not for the output layer's
// log-softmax: cross_entropy.c fuses that with the loss and never stores probabilities.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "nn/exp_rows.h"
#include "zhuyi/nn.h"

// Rows are only worth the pool when there is this much work in total.
#define SOFTMAX_PARALLEL_MIN 16384

// Scalar reference: x (N), m (N) or NULL -> out (N). Sum in double so the reference is
// as exact as float inputs allow.
static void softmax_row_scalar(float *out, const float *x, const float *m, int N) {
    float mx = -INFINITY;
    for (int j = 0; j < N; j++) {
        float v = m ? x[j] + m[j] : x[j];
        if (v > mx) mx = v;
    }
    if (mx == -INFINITY) { // every position excluded: zeros rather than 0/0
        memset(out, 0, (size_t)N * sizeof *out);
        return;
    }
    double sum = 0;
    for (int j = 0; j < N; j++) {
        float v = m ? x[j] + m[j] : x[j];
        float e = expf(v - mx);
        out[j] = e;
        sum += e;
    }
    float inv = (float)(1.0 / sum);
    for (int j = 0; j < N; j++) out[j] *= inv;
}

typedef void (*softmax_row_fn)(float *out, const float *x, const float *m, int N);

// The row kernel for the SIMD level in force (chosen once per call, not per row).
static softmax_row_fn pick_softmax_row(void) {
    switch (zy_simd_level()) {
    case ZY_SIMD_AVX512:
        return zy__softmax_row_avx512;
    case ZY_SIMD_AVX2:
        return zy__softmax_row_avx2;
    default:
        return softmax_row_scalar;
    }
}

// Rows per chunk: about SOFTMAX_CHUNK_ELEMS elements (rows are independent).
#define SOFTMAX_CHUNK_ELEMS 16384

typedef struct softmax_job {
    softmax_row_fn row;
    float *out; // forward: out (R, N); backward: dinp (R, N)
    const float *inp, *mask, *dout, *y;
    int mask_rows, N;
} softmax_job;

static void forward_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const softmax_job *j = ctx;
    const size_t N = (size_t)j->N;
    for (size_t r = r0; r < r1; r++) {
        const float *m = j->mask ? j->mask + (r % (size_t)j->mask_rows) * N : NULL;
        j->row(j->out + r * N, j->inp + r * N, m, j->N);
    }
}

static void backward_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const softmax_job *j = ctx;
    const int N = j->N;
    for (size_t r = r0; r < r1; r++) {
        const float *dy = j->dout + r * N, *y = j->y + r * N;
        float *dx = j->out + r * N;
        // A fully masked row has y = 0, so it gets a zero gradient with no special case.
        double dot = 0;
        for (int i = 0; i < N; i++) dot += (double)dy[i] * y[i];
        float d = (float)dot;
        for (int i = 0; i < N; i++) dx[i] += y[i] * (dy[i] - d);
    }
}

static void run(int R, int N, zy__range_fn fn, softmax_job *j) {
    if ((long)R * N < SOFTMAX_PARALLEL_MIN) fn(j, 0, (size_t)R, 0);
    else zy__parallel((size_t)R, (size_t)ZY_MAX(1, SOFTMAX_CHUNK_ELEMS / N), 0, fn, j);
}

void zy_softmax_forward(float *out, const float *inp, const float *mask, int mask_rows, int R,
                        int N) {
    if (R <= 0 || N <= 0) return;
    ZY_ASSERT(!mask || mask_rows > 0);
    softmax_job j = {.row = pick_softmax_row(), .out = out, .inp = inp, .mask = mask,
                     .mask_rows = mask_rows, .N = N};
    run(R, N, forward_rows, &j);
}

void zy_softmax_backward(float *dinp, const float *dout, const float *out, int R, int N) {
    if (!dinp || R <= 0 || N <= 0) return;
    softmax_job j = {.out = dinp, .dout = dout, .y = out, .N = N};
    run(R, N, backward_rows, &j);
}
