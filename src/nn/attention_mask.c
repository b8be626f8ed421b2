// The masked softmax of plain attention, fused: causal, key-padding, boolean and additive
// masks are applied while each score row is normalized, so no (Tq,Tk) mask is built.
// Rows with no visible key give zeros (not NaN). The exp work is nn.h's row softmax
// (SIMD at the level in force); the tiled path (flash*.c) has its own kernels.
#include <math.h>
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "nn/attention_internal.h"

// One past the last key that causal + padding leave visible to query i of batch b; keys
// beyond are hidden whatever the other masks say.
static int row_end(const zy_attn_desc *d, int b, int i) {
    int end = d->Tk;
    if (d->causal) end = ZY_MIN(end, i + (d->Tk - d->Tq) + 1);
    if (d->key_lengths) end = ZY_MIN(end, d->key_lengths[b]);
    return ZY_MAX(end, 0);
}

// s (Tk): keys [0, end) may be visible; bm, am (Tk) or NULL. The masks are applied in
// place, then the row goes through nn.h's softmax (SIMD, max-subtracted; a row whose
// scores are all -inf gives zeros); keys past `end` are zeroed without being looked at.
static void softmax_row(float *s, int Tk, int end, const uint8_t *bm, const float *am) {
    if (bm || am)
        for (int j = 0; j < end; j++) {
            if (bm && bm[j]) s[j] = -INFINITY;
            else if (am) s[j] += am[j];
        }
    zy_softmax_forward(s, s, NULL, 0, 1, end); // in place is safe: each row reads x[j]
                                               // before writing out[j]
    if (end < Tk) memset(s + end, 0, (size_t)(Tk - end) * sizeof *s);
}

typedef struct rows_job {
    float *S;
    const float *P;
    const zy_attn_desc *d;
} rows_job;

// Rows per pool chunk: about ZY__ATTN_PAR_MIN scores, so small problems run inline.
static size_t rows_grain(int Tk) { return ZY_MAX((size_t)1, ZY__ATTN_PAR_MIN / ((size_t)Tk + 1)); }

static void softmax_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const rows_job *j = ctx;
    const zy_attn_desc *d = j->d;
    const int Tq = d->Tq, Tk = d->Tk;
    for (size_t r = r0; r < r1; r++) {
        int bh = (int)(r / Tq), i = (int)(r % Tq);
        size_t mrow = d->mask_per_head ? r : (size_t)i;
        const uint8_t *bm = d->bool_mask ? d->bool_mask + mrow * Tk : NULL;
        const float *am = d->add_mask ? d->add_mask + mrow * Tk : NULL;
        softmax_row(j->S + r * Tk, Tk, row_end(d, bh / d->H, i), bm, am);
    }
}

// S (BH,Tq,Tk) in place; each row is one chunk's: the same result at any thread count
void zy__attn_masked_softmax(float *S, const zy_attn_desc *d) {
    rows_job j = {S, NULL, d};
    size_t rows = (size_t)d->B * d->H * d->Tq;
    zy__parallel(rows, rows_grain(d->Tk), 0, softmax_rows, &j);
}

static void backward_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const rows_job *j = ctx;
    const int Tk = j->d->Tk;
    for (size_t r = r0; r < r1; r++) {
        float *g = j->S + r * Tk;
        const float *p = j->P + r * Tk;
        float dot = 0.0f;
        for (int c = 0; c < Tk; c++) dot += g[c] * p[c];
        for (int c = 0; c < Tk; c++) g[c] = p[c] * (g[c] - dot);
    }
}

// dS (BH,Tq,Tk) holds dP; P (BH,Tq,Tk) the softmax output
void zy__attn_softmax_backward(float *dS, const float *P, const zy_attn_desc *d) {
    rows_job j = {dS, P, d};
    size_t rows = (size_t)d->B * d->H * d->Tq;
    zy__parallel(rows, rows_grain(d->Tk), 0, backward_rows, &j);
}
