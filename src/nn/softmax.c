// Softmax over the rows of a matrix with an optional additive mask (attention scores),
// and its backward. Threads over rows; each row is computed by one thread in a fixed
// order, so results do not depend on the thread count. Not for the output layer's
// log-softmax: cross_entropy.c fuses that with the loss and never stores probabilities.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "nn/exp_rows.h"
#include "zhuyi/nn.h"

// Rows are only worth a thread team when there is this much work in total.
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

void zy_softmax_forward(float *out, const float *inp, const float *mask, int mask_rows, int R,
                        int N) {
    if (R <= 0 || N <= 0) return;
    ZY_ASSERT(!mask || mask_rows > 0);
    softmax_row_fn row = pick_softmax_row();
    int par = (long)R * N >= SOFTMAX_PARALLEL_MIN && R > 1 && !zy__in_parallel();
    (void)par;
#pragma omp parallel for schedule(static) if (par)
    for (int r = 0; r < R; r++) {
        const float *x = inp + (size_t)r * N;
        const float *m = mask ? mask + (size_t)(r % mask_rows) * N : NULL;
        float *o = out + (size_t)r * N;
        row(o, x, m, N);
    }
}

void zy_softmax_backward(float *dinp, const float *dout, const float *out, int R, int N) {
    if (!dinp || R <= 0 || N <= 0) return;
    int par = (long)R * N >= SOFTMAX_PARALLEL_MIN && R > 1 && !zy__in_parallel();
    (void)par;
#pragma omp parallel for schedule(static) if (par)
    for (int r = 0; r < R; r++) {
        const float *dy = dout + (size_t)r * N, *y = out + (size_t)r * N;
        float *dx = dinp + (size_t)r * N;
        // A fully masked row has y = 0, so it gets a zero gradient with no special case.
        double dot = 0;
        for (int j = 0; j < N; j++) dot += (double)dy[j] * y[j];
        float d = (float)dot;
        for (int j = 0; j < N; j++) dx[j] += y[j] * (dy[j] - d);
    }
}
