// AVX-512 kernel of the decoding step's attention (contract in attention_internal.h; the
// scalar reference is attention_decode.c): scores q·k_j four keys at a time, the row
// softmax of softmax_avx512.c, then out = Σ_j p_j v_j with the output held in registers
// 64 columns at a time; the same over a 16-bit (f16 / bf16) cache. Compiled with AVX-512
// flags: call only at that SIMD level.
#include <immintrin.h>
#include <string.h>

#include "nn/attention_internal.h"
#include "nn/exp_rows.h"

static inline __mmask16 tail(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

void zy__attn_decode_avx512(float *out, const float *q, const float *K, ptrdiff_t ldk,
                            const float *V, ptrdiff_t ldv, int Tk, int D, int Dv, float scale,
                            float *s) {
    if (Tk <= 0) {
        memset(out, 0, (size_t)Dv * sizeof *out);
        return;
    }
    int j = 0;
    for (; j + 4 <= Tk; j += 4) {
        const float *k0 = K + j * ldk, *k1 = k0 + ldk, *k2 = k1 + ldk, *k3 = k2 + ldk;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < D; d += 16) {
            __mmask16 m = tail(D - d);
            __m512 qv = _mm512_maskz_loadu_ps(m, q + d);
            a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, k0 + d), qv, a0);
            a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, k1 + d), qv, a1);
            a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, k2 + d), qv, a2);
            a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, k3 + d), qv, a3);
        }
        s[j] = _mm512_reduce_add_ps(a0) * scale;
        s[j + 1] = _mm512_reduce_add_ps(a1) * scale;
        s[j + 2] = _mm512_reduce_add_ps(a2) * scale;
        s[j + 3] = _mm512_reduce_add_ps(a3) * scale;
    }
    for (; j < Tk; j++) {
        const float *k = K + j * ldk;
        __m512 a = _mm512_setzero_ps();
        for (int d = 0; d < D; d += 16) {
            __mmask16 m = tail(D - d);
            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, k + d), _mm512_maskz_loadu_ps(m, q + d), a);
        }
        s[j] = _mm512_reduce_add_ps(a) * scale;
    }
    zy__softmax_row_avx512(s, s, NULL, Tk);
    for (int d0 = 0; d0 < Dv; d0 += 64) {
        const int w = Dv - d0 < 64 ? Dv - d0 : 64;
        const __mmask16 m0 = tail(w), m1 = tail(w - 16), m2 = tail(w - 32), m3 = tail(w - 48);
        __m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        const float *v = V + d0;
        for (int jj = 0; jj < Tk; jj++, v += ldv) {
            const __m512 p = _mm512_set1_ps(s[jj]);
            o0 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m0, v), o0);
            if (w > 16) o1 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m1, v + 16), o1);
            if (w > 32) o2 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m2, v + 32), o2);
            if (w > 48) o3 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m3, v + 48), o3);
        }
        _mm512_mask_storeu_ps(out + d0, m0, o0);
        if (w > 16) _mm512_mask_storeu_ps(out + d0 + 16, m1, o1);
        if (w > 32) _mm512_mask_storeu_ps(out + d0 + 32, m2, o2);
        if (w > 48) _mm512_mask_storeu_ps(out + d0 + 48, m3, o3);
    }
}

// ---- a 16-bit cache (f16 or bf16) -----------------------------------------------------------
static inline __m512 widen16(const uint16_t *p, bool bf16) {
    const __m256i h = _mm256_loadu_si256((const __m256i *)p);
    return bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16))
                : _mm512_cvtph_ps(h);
}

// The f32 kernel's passes over widened keys and values; D and Dv multiples of 16 (the
// reference otherwise: no masked 16-bit loads, which would need AVX-512BW).
void zy__attn_decode16_avx512(float *out, const float *q, const uint16_t *K, ptrdiff_t ldk,
                              const uint16_t *V, ptrdiff_t ldv, int Tk, int D, int Dv,
                              float scale, float *s, bool bf16) {
    if (D % 16 || Dv % 16) {
        zy__attn_decode16_ref(out, q, K, ldk, V, ldv, Tk, D, Dv, scale, s, bf16);
        return;
    }
    if (Tk <= 0) {
        memset(out, 0, (size_t)Dv * sizeof *out);
        return;
    }
    int j = 0;
    for (; j + 4 <= Tk; j += 4) {
        const uint16_t *k0 = K + j * ldk, *k1 = k0 + ldk, *k2 = k1 + ldk, *k3 = k2 + ldk;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < D; d += 16) {
            const __m512 qv = _mm512_loadu_ps(q + d);
            a0 = _mm512_fmadd_ps(widen16(k0 + d, bf16), qv, a0);
            a1 = _mm512_fmadd_ps(widen16(k1 + d, bf16), qv, a1);
            a2 = _mm512_fmadd_ps(widen16(k2 + d, bf16), qv, a2);
            a3 = _mm512_fmadd_ps(widen16(k3 + d, bf16), qv, a3);
        }
        s[j] = _mm512_reduce_add_ps(a0) * scale;
        s[j + 1] = _mm512_reduce_add_ps(a1) * scale;
        s[j + 2] = _mm512_reduce_add_ps(a2) * scale;
        s[j + 3] = _mm512_reduce_add_ps(a3) * scale;
    }
    for (; j < Tk; j++) {
        const uint16_t *k = K + j * ldk;
        __m512 a = _mm512_setzero_ps();
        for (int d = 0; d < D; d += 16)
            a = _mm512_fmadd_ps(widen16(k + d, bf16), _mm512_loadu_ps(q + d), a);
        s[j] = _mm512_reduce_add_ps(a) * scale;
    }
    zy__softmax_row_avx512(s, s, NULL, Tk);
    for (int d0 = 0; d0 < Dv; d0 += 64) {
        const int w = Dv - d0 < 64 ? Dv - d0 : 64; // 16, 32, 48 or 64
        __m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        const uint16_t *v = V + d0;
        for (int jj = 0; jj < Tk; jj++, v += ldv) {
            const __m512 p = _mm512_set1_ps(s[jj]);
            o0 = _mm512_fmadd_ps(p, widen16(v, bf16), o0);
            if (w > 16) o1 = _mm512_fmadd_ps(p, widen16(v + 16, bf16), o1);
            if (w > 32) o2 = _mm512_fmadd_ps(p, widen16(v + 32, bf16), o2);
            if (w > 48) o3 = _mm512_fmadd_ps(p, widen16(v + 48, bf16), o3);
        }
        _mm512_storeu_ps(out + d0, o0);
        if (w > 16) _mm512_storeu_ps(out + d0 + 16, o1);
        if (w > 32) _mm512_storeu_ps(out + d0 + 32, o2);
        if (w > 48) _mm512_storeu_ps(out + d0 + 48, o3);
    }
}
