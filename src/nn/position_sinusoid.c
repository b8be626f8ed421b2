// Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5): a fixed table, no
// parameters. Formulas in include/zhuyi/position.h. Not here: learned positions
// (zy_embedding_* in nn.h) and rotary embeddings (position_rope.c).
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "zhuyi/position.h"

// Row of PE(pos) (C). Angles in double: pos / 10000^(2i/C) reaches 10⁴ and more, where a
// float angle would already be off by ~1e-3 rad.
static void sinusoid_row(float *row, double pos, int C) {
    for (int c = 0; c < C; c += 2) {
        double angle = pos * exp(-log(10000.0) * (double)c / (double)C);
        row[c] = (float)sin(angle);
        if (c + 1 < C) row[c + 1] = (float)cos(angle);
    }
}

// The same angles, sines in columns [0, ceil(C/2)) and cosines after them (Marian's).
static void sinusoid_row_split(float *row, double pos, int C) {
    int half = (C + 1) / 2;
    for (int i = 0; i < half; i++) {
        double angle = pos * exp(-log(10000.0) * (double)(2 * i) / (double)C);
        row[i] = (float)sin(angle);
        if (half + i < C) row[half + i] = (float)cos(angle);
    }
}

typedef struct sin_job {
    float *out;
    const float *inp;
    int B, T, C, offset;
} sin_job;

static void table_rows(void *ctx, size_t t0, size_t t1, int thread) {
    (void)thread;
    const sin_job *j = ctx;
    for (size_t t = t0; t < t1; t++)
        sinusoid_row(j->out + t * j->C, (double)j->offset + (double)t, j->C);
}

static void table_rows_split(void *ctx, size_t t0, size_t t1, int thread) {
    (void)thread;
    const sin_job *j = ctx;
    for (size_t t = t0; t < t1; t++)
        sinusoid_row_split(j->out + t * j->C, (double)j->offset + (double)t, j->C);
}

static void add_rows(void *ctx, size_t t0, size_t t1, int thread) {
    (void)thread;
    const sin_job *j = ctx;
    const int B = j->B, T = j->T, C = j->C;
    for (int t = (int)t0; t < (int)t1; t++) {
        // One row of angles serves every batch entry; computed in chunks so nothing
        // larger than a small stack buffer is needed.
        float pe[256];
        for (int c0 = 0; c0 < C; c0 += 256) {
            int n = ZY_MIN(256, C - c0);
            // c0 is even, so column c0 + c has parity c and frequency index (c0 + c) / 2.
            for (int c = 0; c < n; c += 2) {
                double pos = (double)j->offset + t;
                double angle = pos * exp(-log(10000.0) * (double)(c0 + c) / (double)C);
                pe[c] = (float)sin(angle);
                if (c + 1 < n) pe[c + 1] = (float)cos(angle);
            }
            for (int b = 0; b < B; b++) {
                size_t base = ((size_t)b * T + t) * C + c0;
                for (int c = 0; c < n; c++) j->out[base + c] = j->inp[base + c] + pe[c];
            }
        }
    }
}

// Rows (positions) are independent: past `par_min` elements they go to the pool, about
// 16K elements of work per chunk.
static void run(sin_job *j, long long elems, long long par_min, long long per_row,
                zy__range_fn fn) {
    if (j->T <= 0) return;
    if (elems <= par_min) fn(j, 0, (size_t)j->T, 0);
    else zy__parallel((size_t)j->T, (size_t)ZY_MAX(1, 16384 / ZY_MAX(1, per_row)), 0, fn,
                      j);
}

void zy_sinusoid_table(float *table, int T, int C, int offset) {
    sin_job j = {table, NULL, 1, T, C, offset};
    run(&j, (long long)T * C, 65536, C, table_rows);
}

void zy_sinusoid_table_split(float *table, int T, int C, int offset) {
    sin_job j = {table, NULL, 1, T, C, offset};
    run(&j, (long long)T * C, 65536, C, table_rows_split);
}

void zy_sinusoid_add_forward(float *out, const float *inp, int B, int T, int C, int offset) {
    sin_job j = {out, inp, B, T, C, offset};
    run(&j, (long long)T * C, 16384, (long long)B * C, add_rows);
}

void zy_sinusoid_add_backward(float *dinp, const float *dout, int B, int T, int C) {
    size_t n = (size_t)B * T * C;
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i];
}
