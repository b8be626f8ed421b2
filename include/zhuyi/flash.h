// zhuyi tiled ("flash") attention: exact scaled dot-product attention computed in blocks
// with an online softmax, so the Tq×Tk score matrix is never stored. Forward keeps only
// the output and one log-sum-exp per query row; backward recomputes the score blocks
// (FlashAttention-2, Dao 2023). Memory is O(T), not O(T²).
//
// Not here: arbitrary boolean/additive masks, score functions other than the scaled dot
// product, returning the attention weights (use the plain path in attention.h for
// those), and the Q/K/V projections.
//
// Semantics (shared with the plain path, so the two agree to fp32 precision):
// - Layout: heads outermost. q (BH, Tq, D), k (BH, Tk, D), v (BH, Tk, Dv),
//   out (BH, Tq, Dv), lse (BH, Tq); BH = B*H and the batch of row block bh is bh / H.
//   Contiguous, row-major.
// - s_ij = scale * q_i·k_j, scale = 1/√D unless given; out_i = Σ_j softmax_j(s_i) v_j
//   over the keys j that query i may see:
//     causal:      j <= i + (Tk - Tq)  (queries aligned to the END of the keys, so one
//                  query against a KV cache of length Tk sees all of it);
//     key padding: j < key_lengths[b]  (key_lengths (B), or NULL for all Tk keys).
// - A query row that sees no key outputs zeros (not NaN), its lse is -INFINITY, and it
//   contributes zero gradient to dq, dk and dv.
// - lse_i = log Σ_j exp(s_ij) over the visible keys (natural log, scale included).
// - Dropout on the weights (p.dropout > 0): weight (bh, i, j) is kept, and scaled by
//   1/(1 - dropout), iff zy_dropout_keep(dropout, seed, offset + (bh*Tq + i)*Tk + j), the
//   same mask as the plain path and zy_dropout_forward; lse is of the weights before
//   dropout. The mask is recomputed by backward, never stored.
#ifndef ZHUYI_FLASH_H
#define ZHUYI_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zy_flash_params {
    int B, H;               // batch and heads: BH = B*H row blocks
    int Tq, Tk;             // query and key lengths (Tq != Tk for cross-attention / cache)
    int D, Dv;              // head size of q/k and of v/out
    float scale;            // score scale; 0 means 1/√D
    bool causal;            // mask keys after the (end-aligned) query position
    const int *key_lengths; // (B), each in [0, Tk], or NULL (no padding)
    int block_q, block_k;   // tile sizes in rows; 0 means the tuned defaults (64 x 64)
    float dropout;          // on the attention weights, in [0, 1); 0 = off
    uint64_t seed, offset;  // dropout mask: see the semantics above
} zy_flash_params;

// Shapes set, no mask, no dropout, default scale and tiles.
zy_flash_params zy_flash_default_params(int B, int H, int Tq, int Tk, int D, int Dv);

// Floats of scratch ONE thread needs for forward or backward (the larger of the two).
// Pass scratch of n * this many floats to run on up to n threads (min with
// zy_threads_get()); the kernels allocate nothing themselves.
size_t zy_flash_scratch_floats(zy_flash_params p);

// q (BH,Tq,D), k (BH,Tk,D), v (BH,Tk,Dv) -> out (BH,Tq,Dv), lse (BH,Tq).
// scratch (scratch_floats >= zy_flash_scratch_floats(p)). Returns
// ZY_STATUS_INVALID_ARGUMENT for bad shapes, a key length outside [0, Tk], dropout outside
// [0, 1) or too little scratch. Results do not depend on the thread count (bit-exact).
zy_status zy_flash_forward(float *out, float *lse, const float *q, const float *k,
                           const float *v, zy_flash_params p, float *scratch,
                           size_t scratch_floats);

// dout (BH,Tq,Dv), and q, k, v, out, lse as given to / returned by forward ->
// dq (BH,Tq,D) +=, dk (BH,Tk,D) +=, dv (BH,Tk,Dv) += (any may be NULL to skip it, though
// the work is the same). Score blocks are recomputed from q, k and lse:
//   P = exp(S - lse), dP = M∘(dout·vᵀ), Δ_i = Σ dout_i∘out_i, dS = P∘(dP - Δ),
//   dv += (M∘P)ᵀ·dout, dk += scale·dSᵀ·q, dq += scale·dS·k
// (M the scaled dropout mask, all ones without dropout).
// Deterministic: the same bits at any thread count.
zy_status zy_flash_backward(float *dq, float *dk, float *dv, const float *dout,
                            const float *q, const float *k, const float *v, const float *out,
                            const float *lse, zy_flash_params p, float *scratch,
                            size_t scratch_floats);

#ifdef __cplusplus
}
#endif
#endif
