// Elementwise activations: GELU (tanh approximation and exact erf form) and ReLU, forward
// and backward. The work is split into fixed chunks handed to threads; each element's
// result depends only on its own inputs, so the thread count never changes the answer.
// The scalar kernels here are the reference; activation_avx512.c vectorises GELU-tanh.
#include <math.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "nn/activation.h"

// Elements per chunk. GELU costs ~10-20 ns per element (tanhf/erff), so a few thousand
// elements already amortise a parallel region; ReLU is memory-bound and needs more.
#define GELU_CHUNK 4096
#define RELU_CHUNK 16384

#define GELU_K0 0.7978845608028654f  // √(2/π)
#define GELU_K1 0.044715f
#define INV_SQRT2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

void zy__gelu_forward_scalar(float *out, const float *inp, size_t n, zy_gelu_kind kind) {
    if (kind == ZY_GELU_TANH) {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float u = GELU_K0 * (x + GELU_K1 * x * x * x);
            out[i] = 0.5f * x * (1.0f + tanhf(u));
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            out[i] = 0.5f * x * (1.0f + erff(x * INV_SQRT2));
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
            float u = GELU_K0 * (x + GELU_K1 * x * x * x);
            float t = tanhf(u);
            float du = GELU_K0 * (1.0f + 3.0f * GELU_K1 * x * x);
            float g = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
            dinp[i] += dout[i] * g;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float x = inp[i];
            float cdf = 0.5f * (1.0f + erff(x * INV_SQRT2));
            float pdf = INV_SQRT_2PI * expf(-0.5f * x * x);
            dinp[i] += dout[i] * (cdf + x * pdf);
        }
    }
}

// The chunk kernels for the current SIMD level (erf has no vector path: scalar always).
static zy__gelu_fwd_fn gelu_fwd_kernel(zy_gelu_kind kind) {
    if (kind == ZY_GELU_TANH && zy_simd_level() >= ZY_SIMD_AVX512)
        return zy__gelu_forward_avx512;
    return zy__gelu_forward_scalar;
}
static zy__gelu_bwd_fn gelu_bwd_kernel(zy_gelu_kind kind) {
    if (kind == ZY_GELU_TANH && zy_simd_level() >= ZY_SIMD_AVX512)
        return zy__gelu_backward_avx512;
    return zy__gelu_backward_scalar;
}

// inp (n) -> out (n); out may alias inp.
void zy_gelu_forward(float *out, const float *inp, size_t n, zy_gelu_kind kind) {
    zy__gelu_fwd_fn f = gelu_fwd_kernel(kind);
    long long nchunks = (long long)((n + GELU_CHUNK - 1) / GELU_CHUNK);
    int par = nchunks > 1 && !zy__in_parallel();
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (long long k = 0; k < nchunks; k++) {
        size_t lo = (size_t)k * GELU_CHUNK;
        f(out + lo, inp + lo, ZY_MIN(n - lo, (size_t)GELU_CHUNK), kind);
    }
}

// dout, inp (n) -> dinp (n) += dout * gelu'(inp)
void zy_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n,
                      zy_gelu_kind kind) {
    zy__gelu_bwd_fn f = gelu_bwd_kernel(kind);
    long long nchunks = (long long)((n + GELU_CHUNK - 1) / GELU_CHUNK);
    int par = nchunks > 1 && !zy__in_parallel();
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (long long k = 0; k < nchunks; k++) {
        size_t lo = (size_t)k * GELU_CHUNK;
        f(dinp + lo, dout + lo, inp + lo, ZY_MIN(n - lo, (size_t)GELU_CHUNK), kind);
    }
}

// inp (n) -> out (n) = max(inp, 0); NaN passes through so a diverged run stays visible.
void zy_relu_forward(float *out, const float *inp, size_t n) {
    long long nchunks = (long long)((n + RELU_CHUNK - 1) / RELU_CHUNK);
    int par = nchunks > 4 && !zy__in_parallel();
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (long long k = 0; k < nchunks; k++) {
        size_t lo = (size_t)k * RELU_CHUNK, hi = ZY_MIN(n, lo + RELU_CHUNK);
        for (size_t i = lo; i < hi; i++) out[i] = inp[i] < 0.0f ? 0.0f : inp[i];
    }
}

// dout, inp (n) -> dinp (n) += dout where inp > 0 (0 at exactly 0, as in PyTorch)
void zy_relu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    long long nchunks = (long long)((n + RELU_CHUNK - 1) / RELU_CHUNK);
    int par = nchunks > 4 && !zy__in_parallel();
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (long long k = 0; k < nchunks; k++) {
        size_t lo = (size_t)k * RELU_CHUNK, hi = ZY_MIN(n, lo + RELU_CHUNK);
        for (size_t i = lo; i < hi; i++) dinp[i] += inp[i] > 0.0f ? dout[i] : 0.0f;
    }
}
