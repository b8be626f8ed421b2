// Private to src/nn: the GELU and SiLU chunk kernels shared by activation.c (scalar
// references and dispatch), activation_avx2.c and activation_avx512.c (vector paths) and
// block.c (the FF activation). Not public API.
#ifndef ZHUYI_NN_ACTIVATION_H
#define ZHUYI_NN_ACTIVATION_H

#include <stddef.h>

#include "zhuyi/nn.h"

// GELU's constants, shared by the scalar and vector kernels.
#define ZY__GELU_K0 0.7978845608028654f // √(2/π)
#define ZY__GELU_K1 0.044715f
#define ZY__INV_SQRT2 0.7071067811865476f
#define ZY__INV_SQRT_2PI 0.3989422804014327f
// Numerical Recipes' Chebyshev fit of erfc used by the vector erf-form GELUs:
// erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2), z >= 0, P's coefficients highest first
// (Horner order; the last is P's constant term, -1.26551223).
#define ZY__ERFC_POLY                                                                      \
    {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f,                    \
     -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f}

// SiLU (swish) over n values: out = x·σ(x) = x / (1 + e^-x); backward
// dinp += dout·σ(x)·(1 + x·(1 - σ(x))). Scalar references (libm expf), AVX2 + FMA and
// AVX-512F versions (the library's vector exp), and the ones for zy_simd_level().
typedef void (*zy__silu_fwd_fn)(float *out, const float *inp, size_t n);
typedef void (*zy__silu_bwd_fn)(float *dinp, const float *dout, const float *inp, size_t n);
void zy__silu_forward_scalar(float *out, const float *inp, size_t n);
void zy__silu_backward_scalar(float *dinp, const float *dout, const float *inp, size_t n);
void zy__silu_forward_avx2(float *out, const float *inp, size_t n);
void zy__silu_backward_avx2(float *dinp, const float *dout, const float *inp, size_t n);
void zy__silu_forward_avx512(float *out, const float *inp, size_t n);
void zy__silu_backward_avx512(float *dinp, const float *dout, const float *inp, size_t n);
zy__silu_fwd_fn zy__silu_fwd_kernel(void);
zy__silu_bwd_fn zy__silu_bwd_kernel(void);

// inp (n) -> out (n)
typedef void (*zy__gelu_fwd_fn)(float *out, const float *inp, size_t n, zy_gelu_kind kind);
// dout, inp (n) -> dinp (n) +=
typedef void (*zy__gelu_bwd_fn)(float *dinp, const float *dout, const float *inp, size_t n,
                                zy_gelu_kind kind);

// Scalar references, both kinds.
void zy__gelu_forward_scalar(float *out, const float *inp, size_t n, zy_gelu_kind kind);
void zy__gelu_backward_scalar(float *dinp, const float *dout, const float *inp, size_t n,
                              zy_gelu_kind kind);

// AVX2 + FMA, both kinds. Call only when zy_simd_level() >= ZY_SIMD_AVX2.
void zy__gelu_forward_avx2(float *out, const float *inp, size_t n, zy_gelu_kind kind);
void zy__gelu_backward_avx2(float *dinp, const float *dout, const float *inp, size_t n,
                            zy_gelu_kind kind);

// AVX-512F, both kinds. Call only when zy_simd_level() >= ZY_SIMD_AVX512.
void zy__gelu_forward_avx512(float *out, const float *inp, size_t n, zy_gelu_kind kind);
void zy__gelu_backward_avx512(float *dinp, const float *dout, const float *inp, size_t n,
                              zy_gelu_kind kind);

// The chunk kernels for the current zy_simd_level() (both kinds): what zy_gelu_forward /
// backward and the block's fused FF activation run, so the two agree bit for bit.
zy__gelu_fwd_fn zy__gelu_fwd_kernel(void);
zy__gelu_bwd_fn zy__gelu_bwd_kernel(void);

#endif
