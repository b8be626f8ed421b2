// Cross-entropy backward over the logits in place (cross_entropy_inplace.h): what GPT's and
// BERT's tied heads run, so the largest buffer of a small-T step is held once. Each row is
// copied to a per-chunk scratch row (it stays in L2), the row zeroed, and
// zy_cross_entropy_backward adds the gradient into it. Not the forward (cross_entropy.c).
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "nn/cross_entropy_inplace.h"
#include "zhuyi/nn.h"

static size_t row_stride(int V) { return ((size_t)V + 15) & ~(size_t)15; }

size_t zy__cross_entropy_inplace_floats(int V) {
    return (size_t)ZY__XENT_INPLACE_CHUNKS * row_stride(V);
}

typedef struct xent_job {
    float *logits, *rows;
    const float *lse;
    const int *targets;
    int N, V, chunks;
    size_t stride;
    float eps, scale;
} xent_job;

static void xent_chunks(void *ctx, size_t c0, size_t c1, int thread) {
    (void)thread;
    const xent_job *j = ctx;
    for (size_t c = c0; c < c1; c++) {
        float *tmp = j->rows + c * j->stride;
        int r0 = (int)((long long)c * j->N / j->chunks);
        int r1 = (int)((long long)(c + 1) * j->N / j->chunks);
        for (int r = r0; r < r1; r++) {
            float *x = j->logits + (size_t)r * j->V;
            if (j->targets[r] != -1) memcpy(tmp, x, (size_t)j->V * sizeof *x);
            memset(x, 0, (size_t)j->V * sizeof *x);
            if (j->targets[r] == -1) continue;
            // One row with count 1: dloss already divided by the batch's valid rows.
            zy_cross_entropy_backward(x, tmp, j->lse + r, j->targets + r, 1, j->V, -1, j->eps,
                                      j->scale);
        }
    }
}

void zy__cross_entropy_backward_inplace(float *logits, float *rows, const float *lse,
                                        const int *targets, int N, int V, int n_valid,
                                        float label_smoothing, float dloss) {
    int chunks = ZY_MIN(N, ZY__XENT_INPLACE_CHUNKS);
    xent_job j = {logits, rows, lse, targets, N, V, chunks, row_stride(V), label_smoothing,
                  n_valid ? dloss / (float)n_valid : 0.0f};
    if ((long long)N * V < (1 << 16)) xent_chunks(&j, 0, (size_t)chunks, 0);
    else zy__parallel((size_t)chunks, 1, 0, xent_chunks, &j);
}
