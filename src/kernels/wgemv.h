// Private to the library: products with typed weights (quant.h's zy_wmatrix: fp32, f16,
// bf16, Q8_0, Q4_0) for decoding. Like gemv.h's fp32 kernels they stream each weight
// once per call, for one input or a few (M inputs read against each weight row while it
// is in registers); the formats only change how a row's bytes become floats.
//
// Two kinds of arithmetic:
// - fp32 (every type): each weight is converted to its exact fp32 value (f16/bf16
//   widened, a block's d * q) and multiplied with x in fp32, so the result is the fp32
//   product with the dequantized matrix up to the order of the sums. The reference is
//   zy__wgemv_rows_ref: zy_dequantize_row's values, float sums in k order.
// - int8 activations (Q8_0 and Q4_0, as llama.cpp's vec_dot_q8_0 / q4_0): x is first
//   rounded to 8-bit blocks of 32 (zy__wgemv_quantize_x, once per product), then each
//   block's product is an integer dot product scaled by d_w * d_x (VNNI's vpdpbusd where
//   the CPU has it). Results differ from the fp32 product by x's rounding; the reference
//   is zy__q8_ref.
#ifndef ZHUYI_KERNELS_WGEMV_H
#define ZHUYI_KERNELS_WGEMV_H

#include <stdint.h>

#include "zhuyi/quant.h"

// W (N, K) typed, X (M, K) rows ldx apart, b (N) or NULL -> Y (M, N) rows ldy apart,
// Y = X·Wᵀ + b. Rows of W are split over threads (each output is one thread's sum: the
// same bits at any thread count). The kind of arithmetic: zy_quant_arith_get() (quant.h).
// Y must not alias X. Nothing is allocated.
void zy__wgemv(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
               const float *b, int M);

// ---- the row kernels (rows [r0, r1) of W against all M inputs) ----------------------------
typedef void (*zy__wgemv_rows_fn)(float *Y, int ldy, const zy_wmatrix *W, const float *X,
                                  int ldx, const float *b, int M, int r0, int r1);
// The fp32 reference: each row dequantized in 32-weight pieces, float sums in k order.
void zy__wgemv_rows_ref(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                        const float *b, int M, int r0, int r1);
// fp32 arithmetic per SIMD family (wgemv_avx512.c, wgemv_avx2.c; call only at that level
// or above). Every type; F32 goes to gemv.h's kernels.
void zy__wgemv_rows_avx512(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                           const float *b, int M, int r0, int r1);
void zy__wgemv_rows_avx2(float *Y, int ldy, const zy_wmatrix *W, const float *X, int ldx,
                         const float *b, int M, int r0, int r1);

// A typed row's n weights from a block boundary (src) -> x: zy_dequantize_row's values,
// with AVX-512 where zy_simd_level() has it (the GEMM's packer of typed rows, gemm.c:
// decoding is most of what packing such a panel costs). The second only at AVX-512.
void zy__wdecode_row(zy_wtype t, const void *src, float *x, size_t n);
void zy__wdecode_row_avx512(zy_wtype t, const void *src, float *x, size_t n);
// The same values rounded to bf16 as the GEMM's bf16 packers round them (for a bf16
// family's 16-bit packer; gemm_bf16_pack_avx512bf16.c, only where zy_bf16_level() >=
// ZY_BF16_AVX512). Not F32.
void zy__wdecode_row_bf16_avx512bf16(zy_wtype t, const void *src, uint16_t *dst, size_t n);

// Bytes ahead of the weights being read that the kernels prefetch (the hardware
// prefetcher alone, with 4 rows read at once, held the typed kernels to 8-12 GB/s on 2
// threads where f32 got 20; measured 2-6 KiB: best at 3-4 KiB).
#define ZY__WGEMV_PREFETCH 4096

// Every f16 value as fp32 (256 KiB, filled once, on first use, by zy__f16_lut_init; thread
// safe): a block's scale is one load, where F16C's conversion is two or three µops.
extern float zy__f16_lut[65536];
void zy__f16_lut_init(void);

// ---- int8 activations (Q8_0 and Q4_0 weights) ----------------------------------------------
// Each input x (K) is rounded to Q8_0 blocks: d_b = max|x| / 127 over block b, q = x / d_b
// rounded to nearest, ties to even (the SIMD conversions' rounding, so every kernel family
// rounds alike), the scale then kept as Q8_0 stores it, in f16 (zy__q8_scale), so the
// products are those of llama.cpp, which quantizes activations into Q8_0 blocks too.
// The reference layout: q (K) and d (K/32).
void zy__wgemv_quantize_x(int8_t *q, float *d, const float *x, int K);

// A block's scale d as a Q8_0 block holds it: rounded to f16 (nearest even), or d itself
// past f16's range (|x| over 8e6, where llama.cpp's scale would be infinite).
float zy__q8_scale(float d);

// A kernel family: its input layout (bytes per input of K; prep rounds x into it, once
// per product and input, for weights of type t) and its rows [r0, r1) against M prepared
// inputs xstride bytes apart.
typedef struct zy__q8_kernel {
    const char *name;
    size_t (*bytes)(int K);
    void (*prep)(void *dst, zy_wtype t, const float *x, int K);
    void (*rows)(float *Y, int ldy, const zy_wmatrix *W, const void *X, size_t xstride,
                 const float *b, int M, int r0, int r1);
} zy__q8_kernel;
// The reference (wgemv.c; zy__wgemv_quantize_x's layout): per block the exact integer dot
// product, times d_w * d_x in float, added in block order.
extern const zy__q8_kernel zy__q8_ref;
// AVX2 (vpmaddubsw, wgemv_q8_avx2.c) and AVX-VNNI (wgemv_q8_avxvnni.c; needs
// ZY_CPU_AVXVNNI): one body (wgemv_q8.h), a block per YMM register, the reference layout.
// AVX-512 VNNI (wgemv_q8_avx512vnni.c; needs ZY_CPU_AVX512VNNI at the AVX-512 level): two
// blocks per ZMM register, its own layout.
extern const zy__q8_kernel zy__q8_avx2, zy__q8_avxvnni, zy__q8_avx512vnni;

#endif
