// Elementwise activations: GELU (tanh approximation and exact erf form) and ReLU, forward
// and backward. The work is split into fixed chunks handed to the pool's threads; each
// element's result depends only on its own inputs, so the thread count never changes the
// answer.
// The scalar kernels here are the reference; activation_avx2.c and activation_avx512.c
// vectorise both GELUs.
#include <math.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "nn/activation.h"

// Elements per chunk: about 10 us of work, well above the cost of claiming a chunk from
// the pool (a contended compare-and-swap, ~0.3 us). GELU-tanh costs ~0.6 ns per element
// on AVX-512 (4096-element chunks were 20-30% slower than OpenMP's static halves on
// 256x3072); ReLU is memory-bound.
#define GELU_CHUNK 16384
#define RELU_CHUNK 16384

void zy__gelu_forward_scalar(float *out, const float *inp, size_t n, zy_gelu_kind kind) {
    if (kind == ZY_GELU_TANH) {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float u = ZY__GELU_K0 * (x + ZY__GELU_K1 * x * x * x);
            out[i] = 0.5f * x * (1.0f + tanhf(u));
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            out[i] = 0.5f * x * (1.0f + erff(x * ZY__INV_SQRT2));
        }
    }
}

// tanh form: d/dx = 0.5 (1 + t) + 0.5 x (1 - t²) · √(2/π) (1 + 3·0.044715 x²), t = tanh(u)
// erf form:  d/dx = Φ(x) + x φ(x)
void zy__gelu_backward_scalar(float *dinp, const float *dout, const float *inp, size_t n,
                              zy_gelu_kind kind) {
    if (kind == ZY_GELU_TANH) {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float u = ZY__GELU_K0 * (x + ZY__GELU_K1 * x * x * x);
            float t = tanhf(u);
            float du = ZY__GELU_K0 * (1.0f + 3.0f * ZY__GELU_K1 * x * x);
            float g = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
            dinp[i] += dout[i] * g;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float cdf = 0.5f * (1.0f + erff(x * ZY__INV_SQRT2));
            float pdf = ZY__INV_SQRT_2PI * expf(-0.5f * x * x);
            dinp[i] += dout[i] * (cdf + x * pdf);
        }
    }
}

zy__gelu_fwd_fn zy__gelu_fwd_kernel(void) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) return zy__gelu_forward_avx512;
    if (zy_simd_level() >= ZY_SIMD_AVX2) return zy__gelu_forward_avx2;
    return zy__gelu_forward_scalar;
}

zy__gelu_bwd_fn zy__gelu_bwd_kernel(void) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) return zy__gelu_backward_avx512;
    if (zy_simd_level() >= ZY_SIMD_AVX2) return zy__gelu_backward_avx2;
    return zy__gelu_backward_scalar;
}

// One call's work: the chunk kernel and its buffers.
typedef struct act_job {
    zy__gelu_fwd_fn fwd;
    zy__gelu_bwd_fn bwd;
    zy_gelu_kind kind;
    float *out;
    const float *inp, *dout;
} act_job;

static void gelu_fwd_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const act_job *j = ctx;
    j->fwd(j->out + lo, j->inp + lo, hi - lo, j->kind);
}

static void gelu_bwd_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const act_job *j = ctx;
    j->bwd(j->out + lo, j->dout + lo, j->inp + lo, hi - lo, j->kind);
}

static void relu_fwd_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const act_job *j = ctx;
    for (size_t i = lo; i < hi; i++) j->out[i] = j->inp[i] < 0.0f ? 0.0f : j->inp[i];
}

static void relu_bwd_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const act_job *j = ctx;
    for (size_t i = lo; i < hi; i++) { // dout read either way: a select, not a branch
        float d = j->dout[i];
        j->out[i] += j->inp[i] > 0.0f ? d : 0.0f;
    }
}

// SiLU (swish): x·σ(x), σ(x) = 1 / (1 + e^-x); its derivative σ(x)·(1 + x·(1 - σ(x))).
void zy__silu_forward_scalar(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = inp[i] / (1.0f + expf(-inp[i]));
}

void zy__silu_backward_scalar(float *dinp, const float *dout, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-inp[i]));
        dinp[i] += dout[i] * s * (1.0f + inp[i] * (1.0f - s));
    }
}

zy__silu_fwd_fn zy__silu_fwd_kernel(void) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) return zy__silu_forward_avx512;
    if (zy_simd_level() >= ZY_SIMD_AVX2) return zy__silu_forward_avx2;
    return zy__silu_forward_scalar;
}

zy__silu_bwd_fn zy__silu_bwd_kernel(void) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) return zy__silu_backward_avx512;
    if (zy_simd_level() >= ZY_SIMD_AVX2) return zy__silu_backward_avx2;
    return zy__silu_backward_scalar;
}

static void silu_fwd_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const act_job *j = ctx;
    zy__silu_fwd_kernel()(j->out + lo, j->inp + lo, hi - lo);
}

static void silu_bwd_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const act_job *j = ctx;
    zy__silu_bwd_kernel()(j->out + lo, j->dout + lo, j->inp + lo, hi - lo);
}

// Elementwise: any split gives the same bits, so up to `inline_max` elements run on the
// calling thread with no pool call at all (one-token decoding is all such calls).
static void run(size_t n, size_t chunk, size_t inline_max, zy__range_fn fn, act_job *j) {
    if (n <= inline_max) fn(j, 0, n, 0);
    else zy__parallel(n, chunk, 0, fn, j);
}

// inp (n) -> out (n); out may alias inp.
void zy_gelu_forward(float *out, const float *inp, size_t n, zy_gelu_kind kind) {
    act_job j = {.fwd = zy__gelu_fwd_kernel(), .kind = kind, .out = out, .inp = inp};
    run(n, GELU_CHUNK, GELU_CHUNK, gelu_fwd_range, &j);
}

// dout, inp (n) -> dinp (n) += dout * gelu'(inp)
void zy_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n,
                      zy_gelu_kind kind) {
    act_job j = {.bwd = zy__gelu_bwd_kernel(), .kind = kind, .out = dinp, .inp = inp,
                 .dout = dout};
    run(n, GELU_CHUNK, GELU_CHUNK, gelu_bwd_range, &j);
}

// inp (n) -> out (n) = max(inp, 0); NaN passes through so a diverged run stays visible.
void zy_relu_forward(float *out, const float *inp, size_t n) {
    act_job j = {.out = out, .inp = inp};
    run(n, RELU_CHUNK, 4 * RELU_CHUNK, relu_fwd_range, &j);
}

void zy_silu_forward(float *out, const float *inp, size_t n) {
    act_job j = {.out = out, .inp = inp};
    run(n, GELU_CHUNK, GELU_CHUNK, silu_fwd_range, &j);
}

void zy_silu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    act_job j = {.out = dinp, .inp = inp, .dout = dout};
    run(n, GELU_CHUNK, GELU_CHUNK, silu_bwd_range, &j);
}

// dout, inp (n) -> dinp (n) += dout where inp > 0 (0 at exactly 0, as in PyTorch)
void zy_relu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    act_job j = {.out = dinp, .inp = inp, .dout = dout};
    run(n, RELU_CHUNK, 4 * RELU_CHUNK, relu_bwd_range, &j);
}
