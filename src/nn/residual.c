// Residual add: out = a + b, and its backward (the gradient passes to both branches).
// Memory-bound, so threads only help on large buffers. Not a fused add + layernorm.
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"

// Elements per chunk; a parallel region pays off only past a few chunks.
#define RES_CHUNK 16384
#define RES_PAR_MIN (4 * RES_CHUNK)

typedef struct res_job {
    float *out, *da, *db;
    const float *a, *b, *dout;
} res_job;

static void add_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const res_job *j = ctx;
    for (size_t i = lo; i < hi; i++) j->out[i] = j->a[i] + j->b[i];
}

static void acc_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const res_job *j = ctx;
    if (j->da)
        for (size_t i = lo; i < hi; i++) j->da[i] += j->dout[i];
    if (j->db)
        for (size_t i = lo; i < hi; i++) j->db[i] += j->dout[i];
}

// Elementwise: any split gives the same bits, so small buffers skip the pool entirely.
static void run(size_t n, zy__range_fn fn, res_job *j) {
    if (n < RES_PAR_MIN) fn(j, 0, n, 0);
    else zy__parallel(n, RES_CHUNK, 0, fn, j);
}

// a, b (n) -> out (n) = a + b; out may alias a or b (elementwise, same index only).
void zy_residual_forward(float *out, const float *a, const float *b, size_t n) {
    res_job j = {.out = out, .a = a, .b = b};
    run(n, add_range, &j);
}

// dout (n) -> da (n) += dout, db (n) += dout; either may be NULL.
void zy_residual_backward(float *da, float *db, const float *dout, size_t n) {
    res_job j = {.da = da, .db = db, .dout = dout};
    run(n, acc_range, &j);
}
