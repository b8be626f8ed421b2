// Private to src/nn: multi-head attention cut at the seam the transformer blocks need —
// input projections + attention core ("attend", up to the merged context ctx) — so a
// block can run the output projection itself (bias folded into its residual pass) and
// choose whether the input gradient is added or written. zy_mha_forward/backward are
// these plus the output projection.
#ifndef ZHUYI_NN_MHA_INTERNAL_H
#define ZHUYI_NN_MHA_INTERNAL_H

#include <stdbool.h>

#include "zhuyi/attention.h"

#include "nn/lora_internal.h"

// Rounds a buffer length up to whole 64-byte lines, so carved buffers stay aligned.
static inline size_t zy__round16(size_t n) { return (n + 15) & ~(size_t)15; }

// Saved by zy__mha_attend, carved from one block of floats.
typedef struct zy__mha_acts {
    float *projq;  // self: (B,Tq,3C) = q | k | v per row; cross: q (B,Tq,C)
    float *projkv; // cross: (B,Tk,2C) = k | v per row; self: NULL
    float *ctx;    // (B,Tq,C) attention output, heads side by side (the out-proj input)
    float *lse;    // tiled core: (B,H,Tq)
    float *att;    // plain core: (B,H,Tq,Tk) weights before dropout
    float *saved;  // plain core: zy_attn_saved_floats of its desc
} zy__mha_acts;

// The desc a core runs: c->attn with the head widths and the in-place layouts of the
// projections (self: one (3C) buffer, cross: (C) and (2C) buffers) and of ctx.
zy_attn_desc zy__mha_desc(const zy_mha_config *c, bool self);
// Checks c (and xq/xkv consistency when self); messages start with `who`.
zy_status zy__mha_validate(const zy_mha_config *c, bool self, const char *who);
// Carves a from base (NULL: only counts); returns the floats used.
size_t zy__mha_carve(zy__mha_acts *a, float *base, const zy_mha_config *c, bool self);
// Scratch of the attention core alone, forward or backward (plain: its dS; tiled: one
// per-thread share for every thread zy__parallel may use now).
size_t zy__mha_core_scratch_floats(const zy_mha_config *c, bool self);

// xq (B,Tq,C), xkv (B,Tk,C) (the same pointer and self = true for self-attention) ->
// a's projections, ctx and lse/att. scratch: core scratch (zy__mha_core_scratch_floats).
// lora (NULL: none): the in-projection's adapters, added to the projections before the
// core runs (their scratch may be the core's).
zy_status zy__mha_attend(const zy__mha_acts *a, float *scratch, size_t scratch_floats,
                         const float *xq, const float *xkv, bool self, const zy_mha_params *p,
                         const zy_mha_config *c, const zy__lora_run *lora);
// dctx (B,Tq,C) -> dxq (B,Tq,C) = beta·dxq + ∂/∂xq (beta 0 writes without reading; NULL
// skips), dxkv (B,Tk,C) += (cross only; NULL skips), dp += (NULL or NULL fields: frozen).
// scratch: dproj (B,Tq,C) + (B,Tk,2C) then the core scratch. lora (NULL: none): the
// in-projection's adapters (their scratch apart from this one), their dx added after the
// base's.
size_t zy__mha_attend_backward_floats(const zy_mha_config *c, bool self);
zy_status zy__mha_attend_backward(float *dxq, float beta, float *dxkv, const zy_mha_params *dp,
                                  float *scratch, size_t scratch_floats, const float *dctx,
                                  const zy__mha_acts *a, const float *xq, const float *xkv,
                                  bool self, const zy_mha_params *p, const zy_mha_config *c,
                                  const zy__lora_run *lora);

#endif
