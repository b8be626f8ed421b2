// The masked softmax of plain attention, fused: causal, key-padding, boolean and additive
// masks are applied while each score row is normalized, so no (Tq,Tk) mask is built.
// Rows with no visible key give zeros (not NaN). The exp work is nn.h's row softmax
// (SIMD at the level in force); the tiled path (flash*.c) has its own kernels.
#include <math.h>
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
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

// S (BH,Tq,Tk) in place
void zy__attn_masked_softmax(float *S, const zy_attn_desc *d) {
    int BH = d->B * d->H, Tq = d->Tq, Tk = d->Tk;
    long rows = (long)BH * Tq;
    int par = !zy__in_parallel() && (size_t)rows * Tk >= ZY__ATTN_PAR_MIN;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (long r = 0; r < rows; r++) {
        int bh = (int)(r / Tq), i = (int)(r % Tq);
        size_t mrow = d->mask_per_head ? (size_t)r : (size_t)i;
        const uint8_t *bm = d->bool_mask ? d->bool_mask + mrow * Tk : NULL;
        const float *am = d->add_mask ? d->add_mask + mrow * Tk : NULL;
        softmax_row(S + (size_t)r * Tk, Tk, row_end(d, bh / d->H, i), bm, am);
    }
}

// dS (BH,Tq,Tk) holds dP; P (BH,Tq,Tk) the softmax output
void zy__attn_softmax_backward(float *dS, const float *P, const zy_attn_desc *d) {
    long rows = (long)d->B * d->H * d->Tq;
    int Tk = d->Tk;
    int par = !zy__in_parallel() && (size_t)rows * Tk >= ZY__ATTN_PAR_MIN;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (long r = 0; r < rows; r++) {
        float *g = dS + (size_t)r * Tk;
        const float *p = P + (size_t)r * Tk;
        float dot = 0.0f;
        for (int j = 0; j < Tk; j++) dot += g[j] * p[j];
        for (int j = 0; j < Tk; j++) g[j] = p[j] * (g[j] - dot);
    }
}
