// The decoding step's attention: ONE query against the Tk keys of a KV cache, the scalar
// reference kernel and the choice of kernel (the vector ones are attention_decode_avx2.c and
// attention_decode_avx512.c).
// With one query the tiled core would use one lane in 16 and the plain core's GEMMs spend
// more time packing than multiplying; this is two passes over the cached keys and values.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "zhuyi/io.h"
#include "nn/attention_internal.h"

// Keys and values stored as f32 (0), f16 (1) or bf16 (2); element i of a row, widened.
static inline float elem(const void *row, int i, int kind) {
    if (kind == 0) return ((const float *)row)[i];
    uint16_t h = ((const uint16_t *)row)[i];
    return kind == 2 ? zy_bf16_to_f32(h) : zy_f16_to_f32(h);
}

// The reference's arithmetic for every storage: scores in k order, the softmax, then the
// weighted sum of values in j order.
static void decode_ref(float *out, const float *q, const void *K, ptrdiff_t ldk,
                       const void *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                       float *s, int kind) {
    size_t esize = kind ? 2 : 4;
    memset(out, 0, (size_t)Dv * sizeof *out);
    if (Tk <= 0) return;
    float mx = -INFINITY;
    for (int j = 0; j < Tk; j++) {
        const char *k = (const char *)K + (size_t)j * ldk * esize;
        float acc = 0.0f;
        for (int d = 0; d < D; d++) acc += q[d] * elem(k, d, kind);
        s[j] = acc * scale;
        mx = fmaxf(mx, s[j]);
    }
    float sum = 0.0f;
    for (int j = 0; j < Tk; j++) {
        s[j] = expf(s[j] - mx);
        sum += s[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < Tk; j++) {
        const float p = s[j] * inv;
        const char *v = (const char *)V + (size_t)j * ldv * esize;
        for (int d = 0; d < Dv; d++) out[d] += p * elem(v, d, kind);
    }
}

void zy__attn_decode_ref(float *out, const float *q, const float *K, ptrdiff_t ldk,
                         const float *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                         float *s) {
    decode_ref(out, q, K, ldk, V, ldv, Tk, D, Dv, scale, s, 0);
}

// The f32 reference's arithmetic on the widened values.
void zy__attn_decode16_ref(float *out, const float *q, const uint16_t *K, ptrdiff_t ldk,
                           const uint16_t *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                           float *s, bool bf16) {
    decode_ref(out, q, K, ldk, V, ldv, Tk, D, Dv, scale, s, bf16 ? 2 : 1);
}

zy__attn_decode16_fn zy__attn_decode16_kernel(void) {
    return zy_simd_level() >= ZY_SIMD_AVX512 ? zy__attn_decode16_avx512
           : zy_simd_level() >= ZY_SIMD_AVX2 ? zy__attn_decode16_avx2
                                             : zy__attn_decode16_ref;
}

zy__attn_decode_fn zy__attn_decode_kernel(void) {
    return zy_simd_level() >= ZY_SIMD_AVX512 ? zy__attn_decode_avx512
           : zy_simd_level() >= ZY_SIMD_AVX2 ? zy__attn_decode_avx2
                                             : zy__attn_decode_ref;
}
