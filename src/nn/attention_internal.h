// Internal helpers shared by the plain attention files (attention*.c, mha*.c, block*.c,
// kv_cache.c). Not public API.
#ifndef ZHUYI_NN_ATTENTION_INTERNAL_H
#define ZHUYI_NN_ATTENTION_INTERNAL_H

#include <math.h>

#include "zhuyi/attention.h"

// Below this many score elements a parallel region costs more than it saves.
#define ZY__ATTN_PAR_MIN (1 << 14)

static inline int zy__attn_is_additive(const zy_attn_desc *d) {
    return d->score == ZY_ATTN_ADDITIVE || d->score == ZY_ATTN_CONCAT;
}
static inline float zy__attn_scale(const zy_attn_desc *d) {
    if (d->score != ZY_ATTN_SCALED_DOT) return 1.0f;
    return d->scale != 0.0f ? d->scale : 1.0f / sqrtf((float)d->Dk);
}
static inline ptrdiff_t zy__attn_k_stride(const zy_attn_desc *d) {
    return d->k_stride ? d->k_stride : (ptrdiff_t)d->Tk * d->Dk;
}
static inline ptrdiff_t zy__attn_v_stride(const zy_attn_desc *d) {
    return d->v_stride ? d->v_stride : (ptrdiff_t)d->Tk * d->Dv;
}

// attention_mask.c: in place over S (BH,Tq,Tk): apply every mask of d and softmax each
// row; rows with no visible key become zeros.
void zy__attn_masked_softmax(float *S, const zy_attn_desc *d);
// In place: dS (BH,Tq,Tk) holds dP on entry, P ⊙ (dP - rowsum(dP ⊙ P)) on return.
void zy__attn_softmax_backward(float *dS, const float *P, const zy_attn_desc *d);

// attention_score.c. `extra` is the part of `saved` after the dropped weights; `tmp` the
// part of the backward scratch after dS.
void zy__attn_general_forward(float *S, float *extra, const float *q, const float *k,
                              const zy_attn_weights *w, const zy_attn_desc *d);
void zy__attn_general_backward(float *dq, float *dk, const zy_attn_grads *dw, float *tmp,
                               const float *dS, const float *extra, const float *q,
                               const float *k, const zy_attn_weights *w,
                               const zy_attn_desc *d);
void zy__attn_additive_forward(float *S, float *extra, const float *q, const float *k,
                               const zy_attn_weights *w, const zy_attn_desc *d);
void zy__attn_additive_backward(float *dq, float *dk, const zy_attn_grads *dw, float *tmp,
                                const float *dS, const float *extra, const float *q,
                                const float *k, const zy_attn_weights *w,
                                const zy_attn_desc *d);

// mha.c: head split / merge between (B,T,·) rows and (B,H,T,hd) heads.
// src rows (B,T) of row stride `ld` floats starting at column `col` -> dst (B,H,T,hd)
void zy__mha_split_heads(float *dst, const float *src, int B, int T, int H, int hd, int ld,
                         int col);
// src (B,H,T,hd) -> dst rows (B,T) at column `col` of row stride ld; add != 0 adds.
void zy__mha_merge_heads(float *dst, const float *src, int B, int T, int H, int hd, int ld,
                         int col, int add);

#endif
