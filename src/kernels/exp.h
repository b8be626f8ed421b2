// Private to the library: the vectorised exp. One AVX-512 version (exp_avx512.h,
// zy__exp512) and one AVX2 version (exp_avx2.h, zy__exp256), inline for the row kernels
// that call them (softmax, cross-entropy, GELU, tiled attention); libm expf is the
// scalar reference.
//
// What both promise, for every input:
// - normal results within 1-2 ulp of expf, subnormal results within 2 units of 2^-149;
// - e^x = +inf for x > ~88.72 and for +inf, 0 for x < ~-103.97 and for -inf;
// - NaN in, NaN out.
// Callers that need something else say so where they call it: tiled attention maps the
// NaN of (-inf) - (-inf) to 0 itself, GELU clamps its argument so e^x stays finite.
#ifndef ZHUYI_KERNELS_EXP_H
#define ZHUYI_KERNELS_EXP_H

#include <stddef.h>

// y (n) = e^x (n), for the test that bounds the error against libm expf (and for any
// caller with a whole array). _avx512: call only when zy_simd_level() is AVX512; _avx2:
// only when the CPU has AVX2 and FMA.
void zy__expf_avx512(float *y, const float *x, size_t n);
void zy__expf_avx2(float *y, const float *x, size_t n);

#endif
