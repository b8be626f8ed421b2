// Private to src/nn: the GELU chunk kernels shared by activation.c (scalar reference and
// dispatch), activation_avx2.c and activation_avx512.c (vector paths) and block.c (the FF
// activation). Not public API.
#ifndef ZHUYI_NN_ACTIVATION_H
#define ZHUYI_NN_ACTIVATION_H

#include <stddef.h>

#include "zhuyi/nn.h"

// inp (n) -> out (n)
// SiLU over n values (the block's FF runs these per chunk): out = x·σ(x); dinp += ...
void zy__silu_rows(float *out, const float *inp, size_t n);
void zy__silu_grad_rows(float *dinp, const float *dout, const float *inp, size_t n);
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
