// GGUF's two type systems: metadata value types and ggml tensor types (names, sizes), and
// how quant.h's weight formats map onto the latter. Block sizes and bytes are ggml's
// (gguf-py's GGML_QUANT_SIZES): the reader needs them to size every tensor of a file,
// including the types zhuyi cannot convert.
#include <string.h>

#include "io/gguf_internal.h"

static const char *const value_names[ZY_GGUF_TYPE_COUNT] = {
    "uint8", "int8",   "uint16", "int16", "uint32", "int32",  "float32",
    "bool",  "string", "array",  "uint64", "int64", "float64"};
static const unsigned char value_sizes[ZY_GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4,
                                                              1, 0, 0, 8, 8, 8};

const char *zy_gguf_type_name(zy_gguf_type t) {
    return (unsigned)t < ZY_GGUF_TYPE_COUNT ? value_names[t] : NULL;
}

size_t zy_gguf_type_size(zy_gguf_type t) {
    return (unsigned)t < ZY_GGUF_TYPE_COUNT ? value_sizes[t] : 0;
}

typedef struct ggml_traits {
    const char *name;
    unsigned short block, bytes;
} ggml_traits;

#define QK_K 256
static const ggml_traits ggml[ZY_GGML_TYPE_COUNT] = {
    [ZY_GGML_F32] = {"f32", 1, 4},
    [ZY_GGML_F16] = {"f16", 1, 2},
    [ZY_GGML_Q4_0] = {"q4_0", 32, 2 + 16},
    [ZY_GGML_Q4_1] = {"q4_1", 32, 2 + 2 + 16},
    [ZY_GGML_Q5_0] = {"q5_0", 32, 2 + 4 + 16},
    [ZY_GGML_Q5_1] = {"q5_1", 32, 2 + 2 + 4 + 16},
    [ZY_GGML_Q8_0] = {"q8_0", 32, 2 + 32},
    [ZY_GGML_Q8_1] = {"q8_1", 32, 4 + 4 + 32},
    [ZY_GGML_Q2_K] = {"q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4},
    [ZY_GGML_Q3_K] = {"q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12},
    [ZY_GGML_Q4_K] = {"q4_K", QK_K, 2 + 2 + QK_K / 2 + 12},
    [ZY_GGML_Q5_K] = {"q5_K", QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12},
    [ZY_GGML_Q6_K] = {"q6_K", QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16},
    [ZY_GGML_Q8_K] = {"q8_K", QK_K, 4 + QK_K + QK_K / 8},
    [ZY_GGML_IQ2_XXS] = {"iq2_xxs", QK_K, 2 + QK_K / 4},
    [ZY_GGML_IQ2_XS] = {"iq2_xs", QK_K, 2 + QK_K / 4 + QK_K / 32},
    [ZY_GGML_IQ3_XXS] = {"iq3_xxs", QK_K, 2 + QK_K / 4 + QK_K / 8},
    [ZY_GGML_IQ1_S] = {"iq1_s", QK_K, 2 + QK_K / 8 + QK_K / 16},
    [ZY_GGML_IQ4_NL] = {"iq4_nl", 32, 2 + 16},
    [ZY_GGML_IQ3_S] = {"iq3_s", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4},
    [ZY_GGML_IQ2_S] = {"iq2_s", QK_K, 2 + QK_K / 4 + QK_K / 16},
    [ZY_GGML_IQ4_XS] = {"iq4_xs", QK_K, 2 + 2 + QK_K / 2 + QK_K / 64},
    [ZY_GGML_I8] = {"i8", 1, 1},
    [ZY_GGML_I16] = {"i16", 1, 2},
    [ZY_GGML_I32] = {"i32", 1, 4},
    [ZY_GGML_I64] = {"i64", 1, 8},
    [ZY_GGML_F64] = {"f64", 1, 8},
    [ZY_GGML_IQ1_M] = {"iq1_m", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32},
    [ZY_GGML_BF16] = {"bf16", 1, 2},
    [ZY_GGML_TQ1_0] = {"tq1_0", QK_K, 2 + 4 * 13},
    [ZY_GGML_TQ2_0] = {"tq2_0", QK_K, 2 + 64},
    [ZY_GGML_MXFP4] = {"mxfp4", 32, 1 + 16},
};

const char *zy_ggml_type_name(uint32_t type) {
    return type < ZY_GGML_TYPE_COUNT ? ggml[type].name : NULL;
}

bool zy_ggml_type_block(uint32_t type, size_t *block, size_t *bytes) {
    if (type >= ZY_GGML_TYPE_COUNT || !ggml[type].name) return false;
    if (block) *block = ggml[type].block;
    if (bytes) *bytes = ggml[type].bytes;
    return true;
}

static const zy_ggml_type of_wtype[ZY_WTYPE_COUNT] = {
    [ZY_WTYPE_F32] = ZY_GGML_F32, [ZY_WTYPE_F16] = ZY_GGML_F16, [ZY_WTYPE_BF16] = ZY_GGML_BF16,
    [ZY_WTYPE_Q8_0] = ZY_GGML_Q8_0, [ZY_WTYPE_Q4_0] = ZY_GGML_Q4_0};

zy_ggml_type zy_ggml_type_of_wtype(zy_wtype t) {
    return (unsigned)t < ZY_WTYPE_COUNT ? of_wtype[t] : ZY_GGML_TYPE_COUNT;
}

bool zy_wtype_of_ggml_type(uint32_t type, zy_wtype *out) {
    for (int t = 0; t < ZY_WTYPE_COUNT; t++) {
        if (of_wtype[t] == type) {
            if (out) *out = (zy_wtype)t;
            return true;
        }
    }
    return false;
}
