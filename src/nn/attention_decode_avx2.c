// AVX2 kernel of the decoding step's attention (contract in attention_internal.h; the
// scalar reference is attention_decode.c, the AVX-512 kernel attention_decode_avx512.c):
// scores q·k_j four keys at a time, the row softmax of softmax_avx2.c, then
// out = Σ_j p_j v_j with the output held in registers 32 columns at a time; the same over
// a 16-bit (f16 / bf16) cache, widened with F16C or a shift. Compiled with AVX2 + FMA +
// F16C flags: call only at that SIMD level.
#include <immintrin.h>
#include <string.h>

#include "kernels/exp_avx2.h"
#include "nn/attention_internal.h"
#include "nn/exp_rows.h"

// 8 floats of an f32 row, lanes past `left` read as 0 and never touched.
static inline __m256 load32(const float *p, int left) {
    return left >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, zy__tail8(left));
}

// 8 values of a 16-bit row widened to floats (whole vectors only: D, Dv multiples of 8).
static inline __m256 load16(const uint16_t *p, bool bf16) {
    const __m128i h = _mm_loadu_si128((const __m128i *)p);
    return bf16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))
                : _mm256_cvtph_ps(h);
}

// f32 or 16-bit storage: `kind` 0 = f32, 1 = f16, 2 = bf16 (constant in each caller, so the
// branches fold away once inlined).
static inline __m256 load(const void *row, int d, int n, int kind) {
    if (kind == 0) return load32((const float *)row + d, n - d);
    return load16((const uint16_t *)row + d, kind == 2);
}

static inline __attribute__((always_inline)) void
decode(float *out, const float *q, const void *K, ptrdiff_t ldk, const void *V, ptrdiff_t ldv,
       int Tk, int D, int Dv, float scale, float *s, const int kind) {
    const size_t esize = kind ? 2 : 4;
    if (Tk <= 0) {
        memset(out, 0, (size_t)Dv * sizeof *out);
        return;
    }
    const char *Kb = K, *Vb = V;
    int j = 0;
    for (; j + 4 <= Tk; j += 4) {
        const char *k0 = Kb + (size_t)j * ldk * esize, *k1 = k0 + ldk * esize;
        const char *k2 = k1 + ldk * esize, *k3 = k2 + ldk * esize;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < D; d += 8) {
            const __m256 qv = load32(q + d, D - d);
            a0 = _mm256_fmadd_ps(load(k0, d, D, kind), qv, a0);
            a1 = _mm256_fmadd_ps(load(k1, d, D, kind), qv, a1);
            a2 = _mm256_fmadd_ps(load(k2, d, D, kind), qv, a2);
            a3 = _mm256_fmadd_ps(load(k3, d, D, kind), qv, a3);
        }
        s[j] = zy__hsum256(a0) * scale;
        s[j + 1] = zy__hsum256(a1) * scale;
        s[j + 2] = zy__hsum256(a2) * scale;
        s[j + 3] = zy__hsum256(a3) * scale;
    }
    for (; j < Tk; j++) {
        const char *k = Kb + (size_t)j * ldk * esize;
        __m256 a = _mm256_setzero_ps();
        for (int d = 0; d < D; d += 8)
            a = _mm256_fmadd_ps(load(k, d, D, kind), load32(q + d, D - d), a);
        s[j] = zy__hsum256(a) * scale;
    }
    zy__softmax_row_avx2(s, s, NULL, Tk);
    for (int d0 = 0; d0 < Dv; d0 += 32) {
        const int w = Dv - d0 < 32 ? Dv - d0 : 32;
        __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        const char *v = Vb + (size_t)d0 * esize;
        for (int jj = 0; jj < Tk; jj++, v += ldv * esize) {
            const __m256 p = _mm256_set1_ps(s[jj]);
            o0 = _mm256_fmadd_ps(p, load(v, 0, w, kind), o0);
            if (w > 8) o1 = _mm256_fmadd_ps(p, load(v, 8, w, kind), o1);
            if (w > 16) o2 = _mm256_fmadd_ps(p, load(v, 16, w, kind), o2);
            if (w > 24) o3 = _mm256_fmadd_ps(p, load(v, 24, w, kind), o3);
        }
        float *o = out + d0;
        _mm256_maskstore_ps(o, zy__tail8(w), o0);
        if (w > 8) _mm256_maskstore_ps(o + 8, zy__tail8(w - 8), o1);
        if (w > 16) _mm256_maskstore_ps(o + 16, zy__tail8(w - 16), o2);
        if (w > 24) _mm256_maskstore_ps(o + 24, zy__tail8(w - 24), o3);
    }
}

void zy__attn_decode_avx2(float *out, const float *q, const float *K, ptrdiff_t ldk,
                          const float *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                          float *s) {
    decode(out, q, K, ldk, V, ldv, Tk, D, Dv, scale, s, 0);
}

// D and Dv multiples of 8 (the reference otherwise: 16-bit rows have no masked load).
void zy__attn_decode16_avx2(float *out, const float *q, const uint16_t *K, ptrdiff_t ldk,
                            const uint16_t *V, ptrdiff_t ldv, int Tk, int D, int Dv,
                            float scale, float *s, bool bf16) {
    if (D % 8 || Dv % 8)
        zy__attn_decode16_ref(out, q, K, ldk, V, ldv, Tk, D, Dv, scale, s, bf16);
    else if (bf16)
        decode(out, q, K, ldk, V, ldv, Tk, D, Dv, scale, s, 2);
    else
        decode(out, q, K, ldk, V, ldv, Tk, D, Dv, scale, s, 1);
}
