// Private to src/nn: dropout's chunk kernels, shared by dropout.c (scalar reference and
// dispatch), dropout_avx2.c and dropout_avx512.c (vector paths). Element i of a chunk is kept when
// zy_hash64(seed, offset + i), read as a 24-bit uniform in [0, 1), is >= p. Not public API.
#ifndef ZHUYI_NN_DROPOUT_H
#define ZHUYI_NN_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

// Forward: out[i] = kept ? inp[i] * scale : 0 (out may be inp). Backward: out[i] +=
// inp[i] * scale where kept, untouched elsewhere. i in [0, n).
typedef void (*zy__dropout_fn)(float *out, const float *inp, size_t n, float p, float scale,
                               uint64_t seed, uint64_t offset);

// Scalar references.
void zy__dropout_forward_scalar(float *out, const float *inp, size_t n, float p, float scale,
                                uint64_t seed, uint64_t offset);
void zy__dropout_backward_scalar(float *out, const float *inp, size_t n, float p, float scale,
                                 uint64_t seed, uint64_t offset);

// AVX2, 8 elements per step (the tail through the scalar references): the same bits.
// Call only when zy_simd_level() >= ZY_SIMD_AVX2.
void zy__dropout_forward_avx2(float *out, const float *inp, size_t n, float p, float scale,
                              uint64_t seed, uint64_t offset);
void zy__dropout_backward_avx2(float *out, const float *inp, size_t n, float p, float scale,
                               uint64_t seed, uint64_t offset);

// AVX-512F, 16 elements per step (the tail through the scalar references): the same bits.
// Call only when zy_simd_level() >= ZY_SIMD_AVX512.
void zy__dropout_forward_avx512(float *out, const float *inp, size_t n, float p, float scale,
                                uint64_t seed, uint64_t offset);
void zy__dropout_backward_avx512(float *out, const float *inp, size_t n, float p, float scale,
                                 uint64_t seed, uint64_t offset);

#endif
