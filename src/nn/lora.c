// LoRA's arithmetic on one linear layer (nn.h zy_lora): the adapter's forward added into
// the layer's output and its backward, as three GEMMs each, over raw arrays. Which layers
// carry adapters, their tensors and files are lora.h's (src/models/lora*.c); the blocks
// and models call these at their linear layers (block*.c, bert*.c, gpt*.c).
//
//   forward   t  (N, r)   = drop(x)·Aᵀ                     (saved)
//             y  (N, rows) += scale · t·Bᵀ                 (beta 1: the add is the GEMM's)
//   backward  u  (N, r)   = scale · dy·B
//             dB (rows, r) += scale · dyᵀ·t
//             dA (r, in)  += uᵀ·drop(x)                    (the mask drawn again)
//             dx (N, in)  += drop'(u·A)
// The rank r is small (4-64), so each GEMM is as cheap as a thin slice of the layer's own.
#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "nn/lora_internal.h"

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

void zy_lora_forward(float *y, int ldy, float *t, float *xd, const float *x, int N,
                     const zy_lora *a, float p, uint64_t seed, uint64_t offset) {
    const float *in = x;
    if (p > 0.0f) {
        zy_dropout_forward(xd, x, (size_t)N * a->in, p, seed, offset);
        in = xd;
    }
    // t (N, r) = drop(x) (N, in) · Aᵀ, A (r, in)
    zy_sgemm(false, true, N, a->r, a->in, 1.0f, in, a->in, a->A, a->in, 0.0f, t, a->r);
    // y[:, col0:] (N, rows) += scale · t (N, r) · Bᵀ, B (rows, r)
    zy_sgemm(false, true, N, a->rows, a->r, a->scale, t, a->r, a->B, a->r, 1.0f, y + a->col0,
             ldy);
}

// u (N, r), then (with dropout) drop(x) (N, in) and u·A (N, in)
size_t zy_lora_backward_floats(int N, const zy_lora *a, float p) {
    size_t nx = p > 0.0f ? 2 * round16((size_t)N * a->in) : 0;
    return round16((size_t)N * a->r) + nx;
}

void zy_lora_backward(float *dx, float *scratch, const float *dy, int ldy, const float *t,
                      const float *x, int N, const zy_lora *a, float p, uint64_t seed,
                      uint64_t offset) {
    const int r = a->r, in = a->in, rows = a->rows;
    const float *dyc = dy + a->col0;
    const size_t nx = (size_t)N * in;
    float *u = scratch, *xd = scratch + round16((size_t)N * r), *ua = xd + round16(nx);
    // u (N, r) = scale · dy (N, rows) · B (rows, r)
    zy_sgemm(false, false, N, r, rows, a->scale, dyc, ldy, a->B, r, 0.0f, u, r);
    // dB (rows, r) += scale · dyᵀ (rows, N) · t (N, r)
    if (a->dB) zy_sgemm(true, false, rows, r, N, a->scale, dyc, ldy, t, r, 1.0f, a->dB, r);
    if (a->dA) { // dA (r, in) += uᵀ (r, N) · drop(x) (N, in)
        const float *xin = x;
        if (p > 0.0f) {
            zy_dropout_forward(xd, x, nx, p, seed, offset);
            xin = xd;
        }
        zy_sgemm(true, false, r, in, N, 1.0f, u, r, xin, in, 1.0f, a->dA, in);
    }
    if (!dx) return;
    if (p <= 0.0f) { // dx (N, in) += u (N, r) · A (r, in)
        zy_sgemm(false, false, N, in, r, 1.0f, u, r, a->A, in, 1.0f, dx, in);
        return;
    }
    zy_sgemm(false, false, N, in, r, 1.0f, u, r, a->A, in, 0.0f, ua, in);
    zy_dropout_backward(dx, ua, nx, p, seed, offset);
}

// ---- the adapters of one linear layer of a block (lora_internal.h) -------------------------

// Adapter k of r in the coordinates of columns [lo, hi), or false if it lies elsewhere.
static bool in_columns(const zy__lora_run *r, int k, int lo, int hi, zy_lora *out) {
    const zy_lora *a = &r->a[k];
    if (a->col0 < lo || a->col0 + a->rows > hi) return false;
    *out = *a;
    out->col0 -= lo;
    return true;
}

void zy__lora_run_forward(const zy__lora_run *r, float *y, int ldy, int lo, int hi,
                          const float *x, int N) {
    zy_lora a;
    for (int k = 0; r && k < r->n; k++)
        if (in_columns(r, k, lo, hi, &a))
            zy_lora_forward(y, ldy, r->t[k], r->scratch, x, N, &a, r->p, r->seed[k],
                            r->offset);
}

void zy__lora_run_backward(const zy__lora_run *r, float *dx, const float *dy, int ldy, int lo,
                           int hi, const float *x, int N) {
    zy_lora a;
    for (int k = 0; r && k < r->n; k++)
        if (in_columns(r, k, lo, hi, &a))
            zy_lora_backward(dx, r->scratch, dy, ldy, r->t[k], x, N, &a, r->p, r->seed[k],
                             r->offset);
}
