// zhuyi differentiable ops: forward/backward pairs over raw float arrays.
//
// Conventions (all ops):
// - Shapes are in the comments, row-major, last index fastest.
// - Backward ADDS (+=) into every gradient it writes, inputs and parameters alike, so
//   gradient accumulation and residual branches need no extra code. Zero gradients
//   before the first backward. A gradient pointer may be NULL to skip that gradient.
// - Functions that can be handed bad data (token ids, targets) return zy_status and name
//   the offending position in zy_last_error(); the rest are pure arithmetic.
// - Nothing here allocates; scratch buffers are passed in.
#ifndef ZHUYI_NN_H
#define ZHUYI_NN_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- linear: out = inp · Wᵀ + b (PyTorch nn.Linear layout) ----------------------------
// inp (N, Cin), weight (Cout, Cin), bias (Cout) or NULL -> out (N, Cout)
void zy_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int N, int Cin, int Cout);
// dout (N, Cout) -> dinp (N, Cin) += dout·W, dweight (Cout, Cin) += doutᵀ·inp,
// dbias (Cout) += Σ_n dout
void zy_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int N, int Cin, int Cout);

// ---- patch embedding (ViT): a Conv2d with kernel = stride = P, as one GEMM -------------
// inp (B, C, H, W), weight (D, C, P, P) (Hugging Face ViT's
// patch_embeddings.projection.weight), bias (D) or NULL -> out (B, N, D), N = Hp·Wp with
// Hp = H/P, Wp = W/P (rounded down: rows and columns past the last whole patch are not
// read, as Conv2d drops them). Patch (py, px) is row n = py·Wp + px: ViTPatchEmbeddings'
// projection(x).flatten(2).transpose(1, 2). The patches are gathered into scratch as
// rows (B·N, C·P·P) in the weight's (c, ky, kx) order, then out = rows·Wᵀ + bias.
// scratch: zy_patch_embed_scratch_floats(B, C, H, W, P) floats (B·N·C·P·P).
size_t zy_patch_embed_scratch_floats(int B, int C, int H, int W, int P);
void zy_patch_embed_forward(float *out, float *scratch, const float *inp, const float *weight,
                            const float *bias, int B, int C, int H, int W, int P, int D);
// dout (B, N, D) -> dinp (B, C, H, W) += (pixels outside every patch get nothing),
// dweight (D, C, P, P) += doutᵀ·rows, dbias (D) += Σ dout; any of the three may be NULL.
// scratch as forward's (what it holds on entry does not matter: the rows are gathered
// again from inp).
void zy_patch_embed_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                             const float *dout, const float *inp, const float *weight, int B,
                             int C, int H, int W, int P, int D);

// ---- 1-D convolution over time (speech front ends), as im2col + GEMM ---------------------
// PyTorch's nn.Conv1d(Cin, Cout, K, stride=S, padding=P) on time-major rows: inp (B, T,
// Cin) (frame t of row b is inp[b, t, :]), weight (Cout, Cin, K) (Conv1d's layout), bias
// (Cout) or NULL -> out (B, To, Cout), To = (T + 2P - K) / S + 1 (zy_conv1d_out_len):
//   out[b, o, d] = bias[d] + Σ_{c,k} weight[d, c, k] · inp[b, o·S - P + k, c]
// (frames outside [0, T) read as zeros). It is Conv1d on inp.transpose(1, 2), transposed
// back. The windows are gathered into scratch as rows (B·To, Cin·K) in the weight's (c, k)
// order, then out = rows·Wᵀ + bias. scratch: zy_conv1d_scratch_floats(B, T, Cin, K, S, P).
int zy_conv1d_out_len(int T, int K, int S, int P); // 0 if the window never fits
size_t zy_conv1d_scratch_floats(int B, int T, int Cin, int K, int S, int P);
void zy_conv1d_forward(float *out, float *scratch, const float *inp, const float *weight,
                       const float *bias, int B, int T, int Cin, int Cout, int K, int S, int P);
// dout (B, To, Cout) -> dinp (B, T, Cin) +=, dweight (Cout, Cin, K) +=, dbias (Cout) +=;
// any may be NULL. scratch as forward's (its content on entry does not matter).
void zy_conv1d_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                        const float *dout, const float *inp, const float *weight, int B,
                        int T, int Cin, int Cout, int K, int S, int P);

// ---- LoRA: a low-rank adapter on a linear layer (lora.h) ------------------------------
// One adapter on the layer y = x·Wᵀ (W (out, in), maybe one part of a fused projection):
//   y[:, col0 : col0 + rows] += scale · (drop(x)·Aᵀ)·Bᵀ,   A (r, in), B (rows, r)
// drop is inverted dropout with probability p (zy_dropout_forward: element (n, c) of x
// uses index offset + n·in + c of stream `seed`; backward recomputes the mask).
typedef struct zy_lora {
    const float *A, *B; // (r, in), (rows, r)
    float *dA, *dB;     // their gradients (added into), or NULL: frozen
    int r, in, rows;
    int col0;           // the first column of y it adds to
    float scale;        // alpha / r (alpha / √r with rsLoRA)
} zy_lora;

// x (N, in) -> y (N, ·) with row stride ldy += as above; t (N, r) = drop(x)·Aᵀ saved for
// backward; xd (N, in) scratch for drop(x) (NULL allowed when p == 0).
void zy_lora_forward(float *y, int ldy, float *t, float *xd, const float *x, int N,
                     const zy_lora *a, float p, uint64_t seed, uint64_t offset);
// Floats of zy_lora_backward's scratch for N rows.
size_t zy_lora_backward_floats(int N, const zy_lora *a, float p);
// dy (N, ·) of row stride ldy (its columns [col0, col0 + rows) are the adapter's) ->
// dx (N, in) += (NULL: skipped), a->dA += (scale·dy·B)ᵀ·drop(x), a->dB += scale·dyᵀ·t.
void zy_lora_backward(float *dx, float *scratch, const float *dy, int ldy, const float *t,
                      const float *x, int N, const zy_lora *a, float p, uint64_t seed,
                      uint64_t offset);

// ---- embedding: out[b,t] = wte[tokens[b,t]] + wpe[t] -----------------------------------
// tokens (B, T) in [0, V), wte (V, C), wpe (maxT >= T, C) or NULL -> out (B, T, C)
// Returns ZY_STATUS_INVALID_ARGUMENT naming (b, t, id) if an id is outside [0, V).
zy_status zy_embedding_forward(float *out, const int *tokens, const float *wte,
                               const float *wpe, int B, int T, int C, int V);
// dout (B, T, C) -> dwte (V, C) += scatter by token, dwpe (maxT, C) += Σ_b dout[b, t]
// Token ids must already have passed zy_embedding_forward.
void zy_embedding_backward(float *dwte, float *dwpe, const float *dout, const int *tokens,
                           int B, int T, int C);

// ---- layernorm over the last dimension -------------------------------------------------
// inp (N, C), weight (C), bias (C) -> out (N, C); mean, rstd (N) saved for backward.
// out = (inp - mean) * rstd * weight + bias, rstd = 1 / sqrt(var + eps), var biased.
void zy_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int N, int C, float eps);
// dout (N, C) -> dinp (N, C), dweight (C), dbias (C), all +=
void zy_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int N, int C);

// ---- activations (elementwise over n values) -------------------------------------------
typedef enum zy_gelu_kind {
    ZY_GELU_TANH = 0, // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))  (GPT-2, "gelu_new")
    ZY_GELU_ERF = 1,  // 0.5 x (1 + erf(x / √2))                     (BERT, exact)
} zy_gelu_kind;
void zy_gelu_forward(float *out, const float *inp, size_t n, zy_gelu_kind kind);
void zy_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n,
                      zy_gelu_kind kind);
void zy_relu_forward(float *out, const float *inp, size_t n);
// dinp += dout where inp > 0 (the gradient at exactly 0 is 0, as in PyTorch)
void zy_relu_backward(float *dinp, const float *dout, const float *inp, size_t n);
// SiLU / swish (PyTorch's F.silu, Hugging Face's "swish" and "silu"): out = x·σ(x); out
// may alias inp. Backward: dinp += dout · σ(x)·(1 + x·(1 - σ(x))).
void zy_silu_forward(float *out, const float *inp, size_t n);
void zy_silu_backward(float *dinp, const float *dout, const float *inp, size_t n);

// ---- residual add ----------------------------------------------------------------------
// a, b (n) -> out (n) = a + b; out may alias a or b.
void zy_residual_forward(float *out, const float *a, const float *b, size_t n);
// da += dout, db += dout
void zy_residual_backward(float *da, float *db, const float *dout, size_t n);

// ---- softmax over rows ------------------------------------------------------------------
// inp (R, N) -> out (R, N), each row softmax(inp[r] + mask[r % mask_rows]).
// mask: NULL, or an additive mask (mask_rows, N) broadcast over rows (use -INFINITY to
// exclude a position; 0 to keep). Numerically stable (max subtracted). A row whose
// positions are all excluded gives all zeros, not NaN (and a zero gradient).
void zy_softmax_forward(float *out, const float *inp, const float *mask, int mask_rows, int R,
                        int N);
// out, dout (R, N) -> dinp (R, N) += out * (dout - Σ_j dout_j out_j)
void zy_softmax_backward(float *dinp, const float *dout, const float *out, int R, int N);

// ---- dropout ----------------------------------------------------------------------------
// inp (n) -> out (n) = inp * keep_i / (1 - p), keep_i = zy_hash64(seed, offset + i) is
// >= p (as a uniform in [0,1)). The mask depends only on (seed, offset + i): the same at
// any thread count, and recomputed (not stored) by backward. p = 0 copies; p = 1 zeros.
// out may alias inp.
void zy_dropout_forward(float *out, const float *inp, size_t n, float p, uint64_t seed,
                        uint64_t offset);
// dinp (n) += dout * keep_i / (1 - p)
void zy_dropout_backward(float *dinp, const float *dout, size_t n, float p, uint64_t seed,
                         uint64_t offset);
// The keep decision of dropout_forward for element i (1 kept, 0 dropped), for tests/tools.
int zy_dropout_keep(float p, uint64_t seed, uint64_t index);

// ---- cross-entropy over logits, fused with log-softmax ----------------------------------
// logits (N, V), targets (N) in [0, V) or == ignore_index -> *loss = mean over the
// non-ignored rows of  (1-ε)·(-log p[target]) + ε·mean_v(-log p[v])  (ε = label_smoothing,
// PyTorch's nn.CrossEntropyLoss semantics). lse (N) receives each row's log-sum-exp for
// backward. *count (may be NULL) receives the number of non-ignored rows; if it is 0 the
// loss is 0 (PyTorch gives NaN) and backward adds nothing.
// lse is written for every row, ignored ones included. Returns ZY_STATUS_INVALID_ARGUMENT
// naming the row if a target is outside [0, V) and is not ignore_index, or if
// label_smoothing is outside [0, 1].
zy_status zy_cross_entropy_forward(float *loss, int *count, float *lse, const float *logits,
                                   const int *targets, int N, int V, int ignore_index,
                                   float label_smoothing);
// dlogits (N, V) += dloss * ∂loss/∂logits, using lse from forward. Targets as validated by
// forward.
void zy_cross_entropy_backward(float *dlogits, const float *logits, const float *lse,
                               const int *targets, int N, int V, int ignore_index,
                               float label_smoothing, float dloss);

// ---- mean-squared error -----------------------------------------------------------------
// pred, target (n) -> returns mean((pred - target)²); n == 0 gives 0.
float zy_mse_forward(const float *pred, const float *target, size_t n);
// dpred (n) += dloss * 2 (pred - target) / n
void zy_mse_backward(float *dpred, const float *pred, const float *target, size_t n,
                     float dloss);

// ---- binary cross-entropy on logits ----------------------------------------------------
// logits, targets (n), targets in [0, 1] (0/1 for multi-label classification) -> returns
// mean over n of  -(y·log σ(x) + (1-y)·log(1-σ(x)))  (PyTorch's BCEWithLogitsLoss, mean
// reduction), computed stably as max(x,0) - x·y + log(1 + exp(-|x|)); n == 0 gives 0.
float zy_bce_logits_forward(const float *logits, const float *targets, size_t n);
// dlogits (n) += dloss · (σ(x) - y) / n
void zy_bce_logits_backward(float *dlogits, const float *logits, const float *targets,
                            size_t n, float dloss);

// ---- CTC loss over logits, fused with log-softmax (ctc.c) --------------------------------
// Connectionist temporal classification (Graves et al. 2006) as
//   torch.nn.functional.ctc_loss(log_softmax(logits, -1).transpose(0, 1), targets,
//                                input_lengths, target_lengths, blank, reduction,
//                                zero_infinity)
// except for the layout: logits are batch-first (B, T, V), as an encoder's output is
// (PyTorch wants (T, B, V) log-probabilities); the log-softmax over V is done inside.
//   logits (B, T, V); frames t >= input_lengths[b] of row b are padding, never read
//   targets (B, L) int32, padded: row b's labels are targets[b, 0 .. target_lengths[b])
//   input_lengths (B) in [0, T], target_lengths (B) in [0, L]; labels in [0, V), != blank
// Per row, loss_b = -log Σ over the alignments of the input_lengths[b] frames that
// collapse (repeats merged, then blanks dropped) to the target, of Π_t p_t(label) — a
// repeated label needs a blank between its two frames. It is +inf when no alignment
// exists (the target needs more frames than there are: L + the number of repeated
// neighbours). An empty input gives 0 for an empty target and +inf otherwise (PyTorch's
// CPU kernel reads outside its buffer there). With zero_infinity, +inf becomes 0.
// Reductions (PyTorch's): NONE out (B) = loss_b; SUM out (1) = Σ_b loss_b; MEAN out (1) =
// mean over b of loss_b / max(1, target_lengths[b]).
// The recursions run in log space in double (log-sum-exp), one row per task on the thread
// pool; the result does not depend on the thread count.
typedef enum zy_ctc_reduction {
    ZY_CTC_REDUCTION_MEAN = 0,
    ZY_CTC_REDUCTION_SUM = 1,
    ZY_CTC_REDUCTION_NONE = 2,
} zy_ctc_reduction;

typedef struct zy_ctc_params {
    int blank;                  // the blank label (0)
    zy_ctc_reduction reduction; // (ZY_CTC_REDUCTION_MEAN)
    int zero_infinity;          // an impossible row's loss is 0 instead of +inf (0)
} zy_ctc_params;

zy_ctc_params zy_ctc_default_params(void);

// Bytes of the work buffer zy_ctc_forward fills and zy_ctc_backward reads (each frame's
// log-sum-exp, each row's loss, the alphas (B, T, 2L+1), two rows of betas per row), in
// doubles; 0 if the size overflows. 8-byte aligned memory (zy_alloc's is).
size_t zy_ctc_work_size(int B, int T, int L);

// -> out (B) for NONE, else out (1). Checks everything first and writes nothing on error:
// ZY_STATUS_INVALID_ARGUMENT naming the row (and position) of a length outside its bounds,
// a label outside [0, V) or equal to blank, a blank outside [0, V), a bad reduction or a
// bad shape (B, T, L >= 0; V >= 1).
zy_status zy_ctc_forward(float *out, void *work, const float *logits, const int32_t *targets,
                         const int32_t *input_lengths, const int32_t *target_lengths, int B,
                         int T, int V, int L, zy_ctc_params p);
// dlogits (B, T, V) += dout · ∂out/∂logits, dout (B) for NONE, else (1); work as forward
// left it, arguments as forward checked them. Per row and frame t < input_lengths[b]:
// ∂loss_b/∂logits[b,t,v] = softmax_v - Σ_{states s of label v} α_t(s) β_t(s) / p_b; padding
// frames get nothing. A row whose loss is +inf adds nothing, with or without
// zero_infinity (PyTorch's gradient is NaN there without it; a caller stops on the loss).
void zy_ctc_backward(float *dlogits, const float *dout, const void *work, const float *logits,
                     const int32_t *targets, const int32_t *input_lengths,
                     const int32_t *target_lengths, int B, int T, int V, int L,
                     zy_ctc_params p);

#ifdef __cplusplus
}
#endif
#endif
