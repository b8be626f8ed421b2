// Private to the library: bf16 copies of fp32 operands that several products read. Under
// ZY_PRECISION_BF16 every product rounds its fp32 operands to bf16 while packing them, so a
// training step rounds each weight matrix at least twice (the forward's x W^T, the
// backward's dout W), once per chunk of the thread grid that packs it. A training session
// rounds all its weights once per forward instead (src/models/session.c) and names the copy
// here; the products then read the bf16 values where they lie, half the bytes and no
// rounding, with the same bits (the copy holds exactly what the packers would make).
#ifndef ZHUYI_KERNELS_GEMM_COPY_H
#define ZHUYI_KERNELS_GEMM_COPY_H

#include <stddef.h>
#include <stdint.h>

// dst[i] = src[i] rounded to bf16 as the bf16 products round their inputs (nearest, ties to
// even; subnormals to zero of the same sign; NaN made quiet), i < n, on the pool's threads.
void zy__gemm_bf16_round(uint16_t *dst, const float *src, size_t n);

// For the calling thread's products under ZY_PRECISION_BF16 (zy_sgemm and the linear
// layers' products on it): an fp32 operand lying wholly in [base, base + n) is read from
// copy at the same offset, which must hold zy__gemm_bf16_round(base) for as long as it is
// set. NULL (or n 0) clears it. Thread-local, like the precision: products the pool's
// threads start inside a parallel region do not see it (they round as usual).
void zy__gemm_bf16_copy_set(const float *base, size_t n, const uint16_t *copy);

#endif
