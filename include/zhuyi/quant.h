// zhuyi weight storage formats for inference: a matrix row kept as fp32, f16, bf16 or in
// GGUF's 8- and 4-bit block formats, with the conversions to and from fp32.
//
// Block formats (byte layouts exactly as GGUF / ggml store them, so a row can be written
// to or read from a GGUF file unchanged; little-endian):
//   Q8_0: blocks of 32 weights, 34 bytes each: an f16 scale d, then 32 int8 q;
//         x = d * q. Quantizing: d = max|x| / 127, q = round(x / d) (0 when d = 0).
//   Q4_0: blocks of 32 weights, 18 bytes each: an f16 scale d, then 16 bytes whose low
//         nibbles are weights 0..15 and high nibbles weights 16..31; x = d * (nibble - 8).
//         Quantizing: m = the weight of largest magnitude (its sign kept), d = m / -8,
//         nibble = min(15, trunc(x / d + 8.5)).
// A row of a block format holds a whole number of blocks (n % 32 == 0).
#ifndef ZHUYI_QUANT_H
#define ZHUYI_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zy_wtype {
    ZY_WTYPE_F32 = 0,
    ZY_WTYPE_F16,
    ZY_WTYPE_BF16,
    ZY_WTYPE_Q8_0,
    ZY_WTYPE_Q4_0,
    ZY_WTYPE_COUNT
} zy_wtype;

#define ZY_QBLOCK 32           // weights per block of Q8_0 and Q4_0
#define ZY_Q8_0_BLOCK_BYTES 34 // f16 scale + 32 int8
#define ZY_Q4_0_BLOCK_BYTES 18 // f16 scale + 16 bytes of nibbles

// "f32", "f16", "bf16", "q8_0", "q4_0" (NULL out of range).
const char *zy_wtype_name(zy_wtype t);
// Parses those names (case-insensitive); ZY_STATUS_NOT_FOUND otherwise.
zy_status zy_wtype_parse(const char *name, zy_wtype *out);
// Bytes of a row of n weights; 0 when t is out of range or n is not a whole number of
// blocks of a block format.
size_t zy_wtype_row_bytes(zy_wtype t, size_t n);

// x (n) -> dst (zy_wtype_row_bytes(t, n) bytes). Scalar, deterministic, the reference for
// every vectorised form. n must be valid for t (see zy_wtype_row_bytes).
void zy_quantize_row(zy_wtype t, const float *x, void *dst, size_t n);
// src -> x (n), the inverse mapping (exact for f32/f16/bf16; x = d*q for the blocks).
void zy_dequantize_row(zy_wtype t, const void *src, float *x, size_t n);

// A weight matrix stored in a format: rows x cols, row r at data + r * row_bytes
// (row_bytes = zy_wtype_row_bytes(type, cols)), each row as zy_quantize_row writes it.
// A view: whoever made it owns data (a model's typed copies, zy_model_set_weight_type).
// The decoding path multiplies by it directly (without an fp32 copy of the matrix).
typedef struct zy_wmatrix {
    zy_wtype type;
    int rows, cols;
    size_t row_bytes;
    const void *data;
} zy_wmatrix;

// How products with Q8_0 / Q4_0 weights are computed when decoding (a process-wide
// choice, like zy_simd_set; default $ZY_QUANT_ARITH = fp32 | int8, else AUTO):
typedef enum zy_quant_arith {
    ZY_QUANT_ARITH_AUTO = 0, // the faster of the two for the kernels in force: INT8 with
                             // AVX-512 VNNI or at the AVX2 level, FP32 on AVX-512 CPUs
                             // without VNNI and in scalar code
    ZY_QUANT_ARITH_FP32,     // each weight's exact value d*q times x in fp32: the product
                             // with the dequantized matrix, up to the order of the sums
    ZY_QUANT_ARITH_INT8,     // as llama.cpp: x rounded to Q8_0 blocks for each product,
                             // integer dot products per block scaled by d_w*d_x; x's
                             // rounding changes results a little (perplexity: RESULTS.md)
} zy_quant_arith;
void zy_quant_arith_set(zy_quant_arith a);
zy_quant_arith zy_quant_arith_get(void);

#ifdef __cplusplus
}
#endif
#endif
