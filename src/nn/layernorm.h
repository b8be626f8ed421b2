// Private to src/nn: layernorm's backward with its input gradient written instead of added
// to, for callers whose buffer would otherwise be cleared only to be added into (the
// post-LN block's backward). Not public API.
#ifndef ZHUYI_NN_LAYERNORM_H
#define ZHUYI_NN_LAYERNORM_H

// zy_layernorm_backward, but dinp (N, C) = the input gradient (not +=); dweight and dbias
// are still added to.
void zy__layernorm_backward_assign(float *dinp, float *dweight, float *dbias,
                                   const float *dout, const float *inp, const float *weight,
                                   const float *mean, const float *rstd, int N, int C);

#endif
