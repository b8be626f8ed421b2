// Private to src/nn: layernorm's backward with its input gradient written instead of added
// to, for callers whose buffer would otherwise be cleared only to be added into (the
// post-LN block's backward), and its AVX-512 rows. Not public API.
#ifndef ZHUYI_NN_LAYERNORM_H
#define ZHUYI_NN_LAYERNORM_H

#include <stdbool.h>

// zy_layernorm_backward, but dinp (N, C) = the input gradient (not +=); dweight and dbias
// are still added to.
void zy__layernorm_backward_assign(float *dinp, float *dweight, float *dbias,
                                   const float *dout, const float *inp, const float *weight,
                                   const float *mean, const float *rstd, int N, int C);

// One row of the forward and of the backward (layernorm.c: ln_forward_row and
// ln_backward_row, whose bits they give) with AVX-512: only where zy_simd_level() >=
// ZY_SIMD_AVX512.
void zy__ln_forward_row_avx512(const float *x, const float *w, const float *b, int C,
                               float eps, float *o, float *mean, float *rstd);
void zy__ln_backward_row_avx512(const float *x, const float *d, const float *w, float m,
                                float s, int C, double *pw, double *pb, float *dx,
                                bool assign);

#endif
