// Internal helpers shared by the attention files (attention*.c, flash*.c, mha*.c,
// block*.c, kv_cache.c). Not public API.
#ifndef ZHUYI_NN_ATTENTION_INTERNAL_H
#define ZHUYI_NN_ATTENTION_INTERNAL_H

#include <math.h>

#include "zhuyi/attention.h"

// Below this many score elements a parallel region costs more than it saves.
#define ZY__ATTN_PAR_MIN (1 << 14)

static inline int zy__attn_is_additive(const zy_attn_desc *d) {
    return d->score == ZY_ATTN_ADDITIVE || d->score == ZY_ATTN_CONCAT;
}
static inline int zy__attn_is_dot(const zy_attn_desc *d) {
    return d->score == ZY_ATTN_DOT || d->score == ZY_ATTN_SCALED_DOT;
}
static inline float zy__attn_scale(const zy_attn_desc *d) {
    if (d->score != ZY_ATTN_SCALED_DOT) return 1.0f;
    return d->scale != 0.0f ? d->scale : 1.0f / sqrtf((float)d->Dk);
}

// zy_flash_backward, but dq, dk and dv are written (=) instead of added to, every row of
// them (zero where no score reaches it), so the caller need not clear them first: MHA's
// gradient buffers, which would otherwise be zeroed only to be read back and added to.
zy_status zy__flash_backward_assign(float *dq, float *dk, float *dv, const float *dout,
                                    const float *q, const float *k, const float *v,
                                    const float *out, const float *lse, const zy_attn_desc *d,
                                    float *scratch, size_t scratch_floats);

// A layout with the default filled in for a tensor of T rows of D floats per head.
static inline zy_attn_layout zy__attn_resolve(zy_attn_layout l, int H, int T, int D) {
    if (l.batch == 0 && l.head == 0 && l.row == 0)
        return (zy_attn_layout){(ptrdiff_t)H * T * D, (ptrdiff_t)T * D, D};
    return l;
}
static inline zy_attn_layout zy__attn_lq(const zy_attn_desc *d) {
    return zy__attn_resolve(d->q_layout, d->H, d->Tq, d->Dq);
}
static inline zy_attn_layout zy__attn_lk(const zy_attn_desc *d) {
    return zy__attn_resolve(d->k_layout, d->H, d->Tk, d->Dk);
}
static inline zy_attn_layout zy__attn_lv(const zy_attn_desc *d) {
    return zy__attn_resolve(d->v_layout, d->H, d->Tk, d->Dv);
}
static inline zy_attn_layout zy__attn_lo(const zy_attn_desc *d) {
    return zy__attn_resolve(d->out_layout, d->H, d->Tq, d->Dv);
}
// Offset of row 0 of problem bh in a tensor of layout l.
static inline ptrdiff_t zy__attn_off(zy_attn_layout l, int bh, int H) {
    return (ptrdiff_t)(bh / H) * l.batch + (ptrdiff_t)(bh % H) * l.head;
}

// attention.c: checks shared by both paths (sizes, dropout, layouts, key lengths); `who`
// starts the message.
zy_status zy__attn_validate(const zy_attn_desc *d, const char *who);

// One matrix per problem bh: p + b*batch + h*head, rows ld floats apart.
typedef struct zy__attn_mat {
    const float *p;
    ptrdiff_t batch, head;
    int ld;
} zy__attn_mat;
static inline zy__attn_mat zy__attn_mat_of(const float *p, zy_attn_layout l) {
    return (zy__attn_mat){p, l.batch, l.head, (int)l.row};
}
// A contiguous (BH, rows, ld) buffer.
static inline zy__attn_mat zy__attn_mat_dense(const float *p, int H, int rows, int ld) {
    return (zy__attn_mat){p, (ptrdiff_t)H * rows * ld, (ptrdiff_t)rows * ld, ld};
}
// For every bh: C_bh = alpha op(A_bh) op(B_bh) + beta C_bh (zy_sgemm semantics); one
// batched GEMM when the problems step uniformly, else one per batch b. C.p is written.
void zy__attn_gemm(int B, int H, bool tA, bool tB, int M, int N, int K, float alpha,
                   zy__attn_mat A, zy__attn_mat Bm, float beta, zy__attn_mat C);

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

// attention_decode.c / _avx2.c / _avx512.c: one query against Tk keys (decoding a token):
// q (D), K (Tk rows of D, ldk apart), V (Tk rows of Dv, ldv apart) ->
// out (Dv) = Σ_j softmax_j(scale · q·k_j) v_j. s (Tk) is scratch. Tk == 0 gives zeros.
// The scalar reference sums in key order with expf; the AVX2 and AVX-512 kernels are called
// only at their zy_simd_level(). zy__attn_decode_kernel() picks by the level in force.
typedef void (*zy__attn_decode_fn)(float *out, const float *q, const float *K, ptrdiff_t ldk,
                                   const float *V, ptrdiff_t ldv, int Tk, int D, int Dv,
                                   float scale, float *s);
void zy__attn_decode_ref(float *out, const float *q, const float *K, ptrdiff_t ldk,
                         const float *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                         float *s);
void zy__attn_decode_avx2(float *out, const float *q, const float *K, ptrdiff_t ldk,
                          const float *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                          float *s);
void zy__attn_decode_avx512(float *out, const float *q, const float *K, ptrdiff_t ldk,
                            const float *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                            float *s);
zy__attn_decode_fn zy__attn_decode_kernel(void);
// The same over a 16-bit KV cache: K and V of f16 (bf16 false) or bf16 values, each
// widened to its exact float before the same arithmetic. The AVX2 and AVX-512 kernels
// handle D and Dv that are multiples of 8 and 16 (they call the reference otherwise).
typedef void (*zy__attn_decode16_fn)(float *out, const float *q, const uint16_t *K,
                                     ptrdiff_t ldk, const uint16_t *V, ptrdiff_t ldv, int Tk,
                                     int D, int Dv, float scale, float *s, bool bf16);
void zy__attn_decode16_ref(float *out, const float *q, const uint16_t *K, ptrdiff_t ldk,
                           const uint16_t *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                           float *s, bool bf16);
void zy__attn_decode16_avx2(float *out, const float *q, const uint16_t *K, ptrdiff_t ldk,
                            const uint16_t *V, ptrdiff_t ldv, int Tk, int D, int Dv,
                            float scale, float *s, bool bf16);
void zy__attn_decode16_avx512(float *out, const float *q, const uint16_t *K, ptrdiff_t ldk,
                              const uint16_t *V, ptrdiff_t ldv, int Tk, int D, int Dv,
                              float scale, float *s, bool bf16);
zy__attn_decode16_fn zy__attn_decode16_kernel(void);

// mha.c: head split / merge between (B,T,·) rows and (B,H,T,hd) heads (for callers that
// want heads-outer copies; the attention cores read token-major rows in place).
// src rows (B,T) of row stride `ld` floats starting at column `col` -> dst (B,H,T,hd)
void zy__mha_split_heads(float *dst, const float *src, int B, int T, int H, int hd, int ld,
                         int col);
// src (B,H,T,hd) -> dst rows (B,T) at column `col` of row stride ld; add != 0 adds.
void zy__mha_merge_heads(float *dst, const float *src, int B, int T, int H, int hd, int ld,
                         int col, int add);

#endif
