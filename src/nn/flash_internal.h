// Private to src/nn/flash*.c: the block kernels tiled attention is built from, as a scalar
// reference (flash_kernels.c), an AVX2 version (flash_avx2.c) and an AVX-512 version
// (flash_avx512.c) with the same contracts. flash.c picks one set at run time from
// zy_simd_level().
#ifndef ZHUYI_NN_FLASH_INTERNAL_H
#define ZHUYI_NN_FLASH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

// C (M,N) = alpha * op(A) (M,K) · B (K,N) + beta * C, B row-major with row stride ldb,
// A (M,K) with row stride lda, or (K,M) when transA. beta == 0 does not read C.
// Block sizes are small (tens of rows): this is a register-tile loop, not a packed GEMM.
typedef void (*zy__flash_mm_fn)(int M, int N, int K, float alpha, const float *A, int lda,
                                bool transA, const float *B, int ldb, float beta, float *C,
                                int ldc);

// One online-softmax step (forward) over a score tile stored TRANSPOSED, St (nk, mq) with
// row stride ld: row j is a key, column r a query, masked scores are -INFINITY. For each
// column r, with running max m[r] and running sum l[r] (m = -INFINITY, l = 0 at first):
//   m' = max(m[r], max_j St[j][r]),  alpha[r] = exp(m[r] - m')  (0 while m[r] = -INFINITY)
//   St[j][r] = exp(St[j][r] - m')   (0 for masked scores; a column with m' = -INFINITY is 0)
//   l[r] = l[r] alpha[r] + Σ_j St[j][r],  m[r] = m'
// Columns are independent, so the vector versions run 8 or 16 queries per vector.
typedef void (*zy__flash_softmax_cols_fn)(float *St, int nk, int mq, int ld, float *m,
                                          float *l, float *alpha);

// P (rows, cols) with row stride ld, in place: P[r][j] = exp(P[r][j] - sub[r]) (backward's
// recomputation, sub = lse). Masked scores are -INFINITY (-> 0); a row whose sub is
// -INFINITY (it saw no key) becomes all zeros.
typedef void (*zy__flash_exp_rows_fn)(float *P, int rows, int cols, int ld, const float *sub);

// dS (rows, cols), stride ld, holds dP on entry: dS = P ∘ (dP - Δ_r) with
// Δ_r = Σ_d dO[r][d] O[r][d] over dO, O (rows, Dv) contiguous.
typedef void (*zy__flash_ds_fn)(float *dS, const float *P, int rows, int cols, int ld,
                                const float *dO, const float *O, int Dv);

// dst (cols, rows) with row stride ldd = src (rows, cols), row stride lds, transposed:
// dst[c * ldd + r] = src[r * lds + c] (a query or key tile turned column-major; a copy, so
// every level gives the same bits).
typedef void (*zy__flash_transpose_fn)(const float *src, ptrdiff_t lds, int rows, int cols,
                                       float *dst, int ldd);

typedef struct zy__flash_kernels {
    zy__flash_mm_fn mm;
    zy__flash_softmax_cols_fn softmax_cols;
    zy__flash_exp_rows_fn exp_rows;
    zy__flash_ds_fn ds;
    zy__flash_transpose_fn transpose;
} zy__flash_kernels;

void zy__flash_mm_ref(int M, int N, int K, float alpha, const float *A, int lda, bool transA,
                      const float *B, int ldb, float beta, float *C, int ldc);
void zy__flash_softmax_cols_ref(float *St, int nk, int mq, int ld, float *m, float *l,
                                float *alpha);
void zy__flash_exp_rows_ref(float *P, int rows, int cols, int ld, const float *sub);
void zy__flash_ds_ref(float *dS, const float *P, int rows, int cols, int ld, const float *dO,
                      const float *O, int Dv);
void zy__flash_transpose_ref(const float *src, ptrdiff_t lds, int rows, int cols, float *dst,
                             int ldd);

void zy__flash_mm_avx512(int M, int N, int K, float alpha, const float *A, int lda,
                         bool transA, const float *B, int ldb, float beta, float *C, int ldc);
void zy__flash_softmax_cols_avx512(float *St, int nk, int mq, int ld, float *m, float *l,
                                   float *alpha);
void zy__flash_exp_rows_avx512(float *P, int rows, int cols, int ld, const float *sub);
void zy__flash_ds_avx512(float *dS, const float *P, int rows, int cols, int ld,
                         const float *dO, const float *O, int Dv);
void zy__flash_transpose_avx512(const float *src, ptrdiff_t lds, int rows, int cols,
                                float *dst, int ldd);

void zy__flash_mm_avx2(int M, int N, int K, float alpha, const float *A, int lda, bool transA,
                       const float *B, int ldb, float beta, float *C, int ldc);
void zy__flash_softmax_cols_avx2(float *St, int nk, int mq, int ld, float *m, float *l,
                                 float *alpha);
void zy__flash_exp_rows_avx2(float *P, int rows, int cols, int ld, const float *sub);
void zy__flash_ds_avx2(float *dS, const float *P, int rows, int cols, int ld, const float *dO,
                       const float *O, int Dv);
void zy__flash_transpose_avx2(const float *src, ptrdiff_t lds, int rows, int cols, float *dst,
                              int ldd);

// The kernel set for the current zy_simd_level(): AVX-512, AVX2 or the scalar reference.
zy__flash_kernels zy__flash_kernels_get(void);

// ---- shared by flash.c (forward) and flash_backward.c --------------------------------
#include <stddef.h>

#include "nn/attention_internal.h"

#define ZY__FLASH_BQ 64 // default query rows per tile
#define ZY__FLASH_BK 64 // default key rows per tile

// A validated call: the desc, its resolved layouts, tile sizes, the kernels in force, the
// threads and each one's share of the scratch. `panels`: backward may gather one
// problem's strided rows into contiguous per-thread panels (the share has room for them).
typedef struct zy__flash_plan {
    zy_attn_desc p;
    zy_attn_layout lq, lk, lv, lo;
    int BH, D, bq, bk, nqb, nkb, nthreads;
    size_t share;
    bool panels;
    float scale;
    zy__flash_kernels kn;
} zy__flash_plan;

// Floats of one problem's panels (backward, strided layouts; 0 when every layout is dense):
// Q, dQ (Tq, D), dO, O (Tq, Dv), K (Tk, D), V (Tk, Dv).
size_t zy__flash_panel_floats(const zy_attn_desc *d);

// Checks d and the scratch size, picks the kernels and the thread count.
zy_status zy__flash_plan_init(zy__flash_plan *pl, const zy_attn_desc *d, const float *scratch,
                              size_t scratch_floats, const char *who);

// How many keys query i of row block bh sees: keys [0, n) (causal and padding combined).
static inline int zy__flash_kend(const zy__flash_plan *pl, int bh, int i) {
    const zy_attn_desc *p = &pl->p;
    int n = p->key_lengths ? p->key_lengths[bh / p->H] : p->Tk;
    if (p->causal) {
        int c = i + p->Tk - p->Tq + 1;
        n = c < n ? c : n;
    }
    return n > 0 ? n : 0;
}

// Strided rows (a token-major layout's are KBs apart) are each a miss the hardware
// prefetcher does not predict: the kernels request rows ahead of their use.
static inline void zy__flash_prefetch_row(const float *p, int width) {
    for (int e = 0; e < width; e += 16) __builtin_prefetch(p + e);
}
static inline void zy__flash_prefetch_rows(const float *p, ptrdiff_t ld, int n, int width) {
    for (int r = 0; r < n; r++) zy__flash_prefetch_row(p + r * ld, width);
}

// Dropout on a weight tile of query rows [i0, i0+mq) x key columns [j0, j0+nk): X (mq, nk)
// with row stride ld, or stored transposed (nk, mq). Same mask and scaling as
// zy_dropout_forward over the flat (BH, Tq, Tk) weights (see attention.h).
void zy__flash_dropout_tile(const zy__flash_plan *pl, float *X, int ld, bool transposed,
                            int bh, int i0, int mq, int j0, int nk);

// Per-thread scratch of forward and backward in floats (without panels).
size_t zy__flash_fwd_floats(int bq, int bk, int D, int Dv);
size_t zy__flash_bwd_floats(int bq, int bk, int D, int Dv);

#endif
