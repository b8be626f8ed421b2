// Weight storage formats (include/zhuyi/quant.h): names, sizes and the scalar reference
// conversions. The block layouts are GGUF's, byte for byte.
#include <math.h>
#include <string.h>
#include <strings.h>

#include "zhuyi/io.h"
#include "zhuyi/quant.h"

static const char *const names[ZY_WTYPE_COUNT] = {"f32", "f16", "bf16", "q8_0", "q4_0"};

const char *zy_wtype_name(zy_wtype t) {
    return (unsigned)t < ZY_WTYPE_COUNT ? names[t] : NULL;
}

zy_status zy_wtype_parse(const char *name, zy_wtype *out) {
    for (int t = 0; t < ZY_WTYPE_COUNT; t++) {
        if (name && !strcasecmp(name, names[t])) {
            *out = (zy_wtype)t;
            return ZY_STATUS_OK;
        }
    }
    return ZY_STATUS_NOT_FOUND;
}

size_t zy_wtype_row_bytes(zy_wtype t, size_t n) {
    switch (t) {
    case ZY_WTYPE_F32: return 4 * n;
    case ZY_WTYPE_F16:
    case ZY_WTYPE_BF16: return 2 * n;
    case ZY_WTYPE_Q8_0: return n % ZY_QBLOCK ? 0 : n / ZY_QBLOCK * ZY_Q8_0_BLOCK_BYTES;
    case ZY_WTYPE_Q4_0: return n % ZY_QBLOCK ? 0 : n / ZY_QBLOCK * ZY_Q4_0_BLOCK_BYTES;
    default: return 0;
    }
}

static void put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)(v >> 8);
}

static uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static void q8_0_block(const float *x, uint8_t *b) {
    float amax = 0.0f;
    for (int j = 0; j < ZY_QBLOCK; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    put_u16(b, zy_f32_to_f16(d));
    for (int j = 0; j < ZY_QBLOCK; j++) b[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
}

static void q4_0_block(const float *x, uint8_t *b) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < ZY_QBLOCK; j++) {
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    put_u16(b, zy_f32_to_f16(d));
    for (int j = 0; j < ZY_QBLOCK / 2; j++) {
        int lo = (int)(x[j] * id + 8.5f), hi = (int)(x[j + ZY_QBLOCK / 2] * id + 8.5f);
        lo = lo > 15 ? 15 : lo;
        hi = hi > 15 ? 15 : hi;
        b[2 + j] = (uint8_t)(lo | (hi << 4));
    }
}

void zy_quantize_row(zy_wtype t, const float *x, void *dst, size_t n) {
    uint8_t *b = dst;
    switch (t) {
    case ZY_WTYPE_F32: memcpy(dst, x, 4 * n); break;
    case ZY_WTYPE_F16:
        for (size_t i = 0; i < n; i++) put_u16(b + 2 * i, zy_f32_to_f16(x[i]));
        break;
    case ZY_WTYPE_BF16:
        for (size_t i = 0; i < n; i++) put_u16(b + 2 * i, zy_f32_to_bf16(x[i]));
        break;
    case ZY_WTYPE_Q8_0:
        for (size_t i = 0; i < n; i += ZY_QBLOCK, b += ZY_Q8_0_BLOCK_BYTES) q8_0_block(x + i, b);
        break;
    case ZY_WTYPE_Q4_0:
        for (size_t i = 0; i < n; i += ZY_QBLOCK, b += ZY_Q4_0_BLOCK_BYTES) q4_0_block(x + i, b);
        break;
    default: break;
    }
}

void zy_dequantize_row(zy_wtype t, const void *src, float *x, size_t n) {
    const uint8_t *b = src;
    switch (t) {
    case ZY_WTYPE_F32: memcpy(x, src, 4 * n); break;
    case ZY_WTYPE_F16:
        for (size_t i = 0; i < n; i++) x[i] = zy_f16_to_f32(get_u16(b + 2 * i));
        break;
    case ZY_WTYPE_BF16:
        for (size_t i = 0; i < n; i++) x[i] = zy_bf16_to_f32(get_u16(b + 2 * i));
        break;
    case ZY_WTYPE_Q8_0:
        for (size_t i = 0; i < n; i += ZY_QBLOCK, b += ZY_Q8_0_BLOCK_BYTES) {
            float d = zy_f16_to_f32(get_u16(b));
            for (int j = 0; j < ZY_QBLOCK; j++) x[i + j] = d * (float)(int8_t)b[2 + j];
        }
        break;
    case ZY_WTYPE_Q4_0:
        for (size_t i = 0; i < n; i += ZY_QBLOCK, b += ZY_Q4_0_BLOCK_BYTES) {
            float d = zy_f16_to_f32(get_u16(b));
            for (int j = 0; j < ZY_QBLOCK / 2; j++) {
                x[i + j] = d * (float)((b[2 + j] & 0x0F) - 8);
                x[i + j + ZY_QBLOCK / 2] = d * (float)((b[2 + j] >> 4) - 8);
            }
        }
        break;
    default: break;
    }
}
