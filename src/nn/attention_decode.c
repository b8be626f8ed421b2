// The decoding step's attention: ONE query against the Tk keys of a KV cache, the scalar
// reference kernel and the choice of kernel (the AVX-512 one is attention_decode_avx512.c).
// With one query the tiled core would use one lane in 16 and the plain core's GEMMs spend
// more time packing than multiplying; this is two passes over the cached keys and values.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "zhuyi/io.h"
#include "nn/attention_internal.h"

void zy__attn_decode_ref(float *out, const float *q, const float *K, ptrdiff_t ldk,
                         const float *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                         float *s) {
    memset(out, 0, (size_t)Dv * sizeof *out);
    if (Tk <= 0) return;
    float mx = -INFINITY;
    for (int j = 0; j < Tk; j++) {
        const float *k = K + j * ldk;
        float acc = 0.0f;
        for (int d = 0; d < D; d++) acc += q[d] * k[d];
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
        const float p = s[j] * inv, *v = V + j * ldv;
        for (int d = 0; d < Dv; d++) out[d] += p * v[d];
    }
}

// The f32 reference's arithmetic on the widened values.
void zy__attn_decode16_ref(float *out, const float *q, const uint16_t *K, ptrdiff_t ldk,
                           const uint16_t *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                           float *s, bool bf16) {
    memset(out, 0, (size_t)Dv * sizeof *out);
    if (Tk <= 0) return;
    float mx = -INFINITY;
    for (int j = 0; j < Tk; j++) {
        const uint16_t *k = K + j * ldk;
        float acc = 0.0f;
        for (int d = 0; d < D; d++) acc += q[d] * (bf16 ? zy_bf16_to_f32(k[d]) : zy_f16_to_f32(k[d]));
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
        const uint16_t *v = V + j * ldv;
        for (int d = 0; d < Dv; d++) out[d] += p * (bf16 ? zy_bf16_to_f32(v[d]) : zy_f16_to_f32(v[d]));
    }
}

zy__attn_decode16_fn zy__attn_decode16_kernel(void) {
    return zy_simd_level() >= ZY_SIMD_AVX512 ? zy__attn_decode16_avx512 : zy__attn_decode16_ref;
}

zy__attn_decode_fn zy__attn_decode_kernel(void) {
    return zy_simd_level() >= ZY_SIMD_AVX512 ? zy__attn_decode_avx512 : zy__attn_decode_ref;
}
