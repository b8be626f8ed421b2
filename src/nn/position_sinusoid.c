// Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5): a fixed table, no
// parameters. Formulas in include/zhuyi/position.h. Not here: learned positions
// (zy_embedding_* in nn.h) and rotary embeddings (position_rope.c).
#include <math.h>
#include <string.h>

#include "core/internal.h"
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

void zy_sinusoid_table(float *table, int T, int C, int offset) {
#ifdef _OPENMP
#pragma omp parallel for if (T * (long)C > 65536 && !zy__in_parallel())
#endif
    for (int t = 0; t < T; t++) sinusoid_row(table + (size_t)t * C, (double)offset + t, C);
}

void zy_sinusoid_add_forward(float *out, const float *inp, int B, int T, int C, int offset) {
#ifdef _OPENMP
#pragma omp parallel for if (T * (long)C > 16384 && !zy__in_parallel())
#endif
    for (int t = 0; t < T; t++) {
        // One row of angles serves every batch entry; computed in chunks so nothing
        // larger than a small stack buffer is needed.
        float pe[256];
        for (int c0 = 0; c0 < C; c0 += 256) {
            int n = ZY_MIN(256, C - c0);
            // c0 is even, so column c0 + c has parity c and frequency index (c0 + c) / 2.
            for (int c = 0; c < n; c += 2) {
                double angle =
                    ((double)offset + t) * exp(-log(10000.0) * (double)(c0 + c) / (double)C);
                pe[c] = (float)sin(angle);
                if (c + 1 < n) pe[c + 1] = (float)cos(angle);
            }
            for (int b = 0; b < B; b++) {
                size_t base = ((size_t)b * T + t) * C + c0;
                for (int c = 0; c < n; c++) out[base + c] = inp[base + c] + pe[c];
            }
        }
    }
}

void zy_sinusoid_add_backward(float *dinp, const float *dout, int B, int T, int C) {
    size_t n = (size_t)B * T * C;
    for (size_t i = 0; i < n; i++) dinp[i] += dout[i];
}
