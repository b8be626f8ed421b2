// Tests of src/io/half.c and half_avx512.c: F16/BF16 <-> F32 against reference conversions
// written here in double arithmetic (a different method from the library's bit tricks),
// exhaustively where the domain is 2^16 (every half, every tie between neighbours) and on
// random bit patterns otherwise; the AVX-512 kernels bit for bit against the scalar code.
// Tolerance everywhere: 0 (bit-exact); NaN results compared as bit patterns too.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/io.h"

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float bitsf(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// ---- references -------------------------------------------------------------------------
static float ref_f16_decode(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    double s = (h & 0x8000) ? -1.0 : 1.0;
    if (e == 31) return m ? bitsf((h & 0x8000u) << 16 | 0x7FC00000u | (uint32_t)m << 13)
                          : (float)(s * INFINITY);
    if (e == 0) return (float)(s * ldexp(m, -24));
    return (float)(s * ldexp(1024 + m, e - 25));
}

// Round |f| to the nearest F16 with nearbyint (ties to even) on the exactly scaled value.
static uint16_t ref_f32_to_f16(float f) {
    uint16_t s = signbit(f) ? 0x8000 : 0;
    if (isnan(f)) return s | 0x7E00 | ((fbits(f) >> 13) & 0x3FF); // documented NaN rule
    double a = fabs((double)f);
    if (a >= 65520.0) return s | 0x7C00;
    if (a < ldexp(1, -14)) return s | (uint16_t)nearbyint(ldexp(a, 24)); // 1024 = min normal
    int e;
    frexp(a, &e);
    int E = e - 1; // a in [2^E, 2^(E+1))
    double m = nearbyint(ldexp(a, 10 - E));
    if (m == 2048) E++, m = 1024;
    if (E > 15) return s | 0x7C00;
    return s | (uint16_t)((E + 15) << 10) | (uint16_t)(m - 1024);
}

// The nearer of the two BF16 neighbours of f (ties: even), distances in double.
static uint16_t ref_f32_to_bf16(float f) {
    uint32_t x = fbits(f);
    if (isnan(f)) return (uint16_t)((x >> 16) | 0x40);
    uint32_t lo = x & 0xFFFF0000u, hi = lo + 0x10000u;
    double a = fabs((double)f), dl = fabs((double)bitsf(lo));
    double dh = (hi & 0x7FFFFFFFu) == 0x7F800000u ? ldexp(1, 128) : fabs((double)bitsf(hi));
    if ((x & 0x7FFFFFFFu) == 0x7F800000u) return (uint16_t)(x >> 16); // Inf
    if (a - dl < dh - a) return (uint16_t)(lo >> 16);
    if (a - dl > dh - a) return (uint16_t)(hi >> 16);
    return (uint16_t)(((lo >> 16) & 1) ? hi >> 16 : lo >> 16);
}

// xorshift for bit patterns covering every exponent
static uint32_t rnd32(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 16);
}

TEST(st_half_f16_specials) {
    struct {
        float in;
        uint16_t out;
    } cases[] = {
        {0.0f, 0x0000},          {-0.0f, 0x8000},          {1.0f, 0x3C00},
        {-2.0f, 0xC000},         {65504.0f, 0x7BFF},        {65519.99f, 0x7BFF},
        {65520.0f, 0x7C00},      {-1e9f, 0xFC00},           {INFINITY, 0x7C00},
        {-INFINITY, 0xFC00},     {0x1p-24f, 0x0001},        {0x1p-25f, 0x0000},
        {0x1.000002p-25f, 0x0001}, {0x3p-25f, 0x0002},      {0x1p-14f, 0x0400},
        {0x1.ff8p-15f, 0x03FF},  {0x1.ffcp-15f, 0x0400},    {1e-45f, 0x0000},
        {-1e-45f, 0x8000},       {1.0f + 0x1p-11f, 0x3C00}, {1.0f + 0x3p-11f, 0x3C02},
        {0.1f, 0x2E66},          {bitsf(0x7FC00000u), 0x7E00}, {bitsf(0xFFC00000u), 0xFE00},
        {bitsf(0x7F800001u), 0x7E00}, {bitsf(0x7FA02000u), 0x7F01},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint16_t got = zy_f32_to_f16(cases[i].in);
        if (got != cases[i].out)
            zt_fail(__FILE__, __LINE__, "f32_to_f16(%a) = 0x%04x, expected 0x%04x",
                    (double)cases[i].in, got, cases[i].out);
        CHECK(ref_f32_to_f16(cases[i].in) == cases[i].out); // the reference agrees too
    }
    CHECK(zy_f16_to_f32(0x0001) == 0x1p-24f && zy_f16_to_f32(0x03FF) == 0x1.ff8p-15f);
    CHECK(zy_f16_to_f32(0x7BFF) == 65504.0f && isinf(zy_f16_to_f32(0xFC00)));
    CHECK(fbits(zy_f16_to_f32(0x8000)) == 0x80000000u && isnan(zy_f16_to_f32(0x7C01)));
    zt_note("%zu special values exact", sizeof cases / sizeof *cases);
}

TEST(st_half_f16_exhaustive) {
    // Every half decodes exactly and re-encodes to itself (signalling NaNs come back
    // quiet); every tie between neighbouring finite halves goes to the even one, and one
    // float ulp either side of it goes to the nearer one.
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = zy_f16_to_f32((uint16_t)h);
        if (fbits(f) != fbits(ref_f16_decode((uint16_t)h))) bad++;
        int nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
        if (zy_f32_to_f16(f) != (nan ? (h | 0x200) : h)) bad++;
        if ((h & 0x7FFF) >= 0x7BFF) continue; // no finite upper neighbour
        float lo = f, hi = zy_f16_to_f32((uint16_t)(h + 1));
        float mid = (float)(((double)lo + (double)hi) / 2); // exact: F16 has 13 fewer bits
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        if (zy_f32_to_f16(mid) != even || ref_f32_to_f16(mid) != even) bad++;
        float up = nextafterf(mid, signbit(mid) ? -INFINITY : INFINITY);
        float down = nextafterf(mid, 0.0f);
        if (zy_f32_to_f16(up) != h + 1 || zy_f32_to_f16(down) != h) bad++;
    }
    zt_note("65536 halves, ties and neighbours: %d mismatches", bad);
    CHECK(bad == 0);
}

TEST(st_half_bf16_exhaustive) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = zy_bf16_to_f32((uint16_t)h);
        if (fbits(f) != h << 16) bad++;
        int nan = (h & 0x7F80) == 0x7F80 && (h & 0x7F);
        if (zy_f32_to_bf16(f) != (nan ? (h | 0x40) : h)) bad++;
        if ((h & 0x7FFF) >= 0x7F7F) continue;
        // Midpoint of h and h+1: the low 16 bits 0x8000 (exactly halfway).
        float mid = bitsf(h << 16 | 0x8000);
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        if (zy_f32_to_bf16(mid) != even || ref_f32_to_bf16(mid) != even) bad++;
        if (zy_f32_to_bf16(bitsf(h << 16 | 0x8001)) != h + 1) bad++;
        if (zy_f32_to_bf16(bitsf(h << 16 | 0x7FFF)) != h) bad++;
    }
    // Past the largest finite BF16 by half an ulp or more: Inf.
    CHECK(zy_f32_to_bf16(bitsf(0x7F7F8000u)) == 0x7F80);
    CHECK(zy_f32_to_bf16(bitsf(0x7F7F7FFFu)) == 0x7F7F);
    CHECK(zy_f32_to_bf16(-INFINITY) == 0xFF80 && zy_f32_to_bf16(bitsf(0xFF800001u)) == 0xFFC0);
    zt_note("65536 bf16 values, ties and neighbours: %d mismatches", bad);
    CHECK(bad == 0);
}

TEST(st_half_random_vs_reference) {
    // 2M random bit patterns (all exponents, subnormals, NaNs) against the references.
    uint64_t s = 0x9E3779B97F4A7C15ull;
    int bad16 = 0, badbf = 0;
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = rnd32(&s);
        // Odd i: exponents 90..153 only, where F16 results go subnormal, normal and Inf.
        if (i & 1) u = (u & 0x807FFFFFu) | (90 + (rnd32(&s) & 63)) << 23;
        float f = bitsf(u);
        if (zy_f32_to_f16(f) != ref_f32_to_f16(f)) bad16++;
        if (zy_f32_to_bf16(f) != ref_f32_to_bf16(f)) badbf++;
    }
    // Values near the F16 range, where the rounding work is.
    for (int i = 0; i < 500000; i++) {
        float f = bitsf(0x33000000u + rnd32(&s) % (0x47800000u - 0x33000000u));
        if (i & 1) f = -f;
        if (zy_f32_to_f16(f) != ref_f32_to_f16(f)) bad16++;
    }
    zt_note("2.5M random floats: %d F16 and %d BF16 mismatches vs the double reference",
            bad16, badbf);
    CHECK(bad16 == 0 && badbf == 0);
}

TEST(st_half_simd_matches_scalar) {
    if (!zt_use_simd(ZY_SIMD_AVX512)) return; // only the scalar path exists: skipped
    enum { N = 65536 + 13 }; // a tail that is not a multiple of 16
    uint16_t *h = zt_malloc(N * 2), *o16 = zt_malloc(N * 2);
    float *f = zt_malloc(N * 4), *src = zt_malloc(N * 4);
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) h[i] = (uint16_t)i;
    for (int i = 0; i < N; i++) src[i] = bitsf(rnd32(&s));
    // Exact ties (F16 midpoints, BF16 low halves 0x8000) where rounding is decided.
    for (int i = 0; i < 8192; i++) {
        uint16_t a = (uint16_t)(i * 7 % 0x7BFF | (i & 1) << 15);
        src[i] = (float)(((double)zy_f16_to_f32(a) + zy_f16_to_f32((uint16_t)(a + 1))) / 2);
    }
    for (int i = 8192; i < 16384; i++) src[i] = bitsf((rnd32(&s) & 0xFFFF0000u) | 0x8000u);
    src[5] = bitsf(0x7F800001u), src[6] = bitsf(0xFFA00000u), src[7] = 65520.0f;
    int bad = 0;
    // Several lengths and start offsets so masked tails and unaligned loads are covered.
    size_t lens[] = {0, 1, 15, 16, 17, 33, 100, N - 3};
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t n = lens[li], off = li % 3;
        zy_f16_to_f32_array(f, h + off, n);
        for (size_t i = 0; i < n; i++) bad += fbits(f[i]) != fbits(zy_f16_to_f32(h[off + i]));
        zy_bf16_to_f32_array(f, h + off, n);
        for (size_t i = 0; i < n; i++) bad += fbits(f[i]) != fbits(zy_bf16_to_f32(h[off + i]));
        zy_f32_to_f16_array(o16, src + off, n);
        for (size_t i = 0; i < n; i++) bad += o16[i] != zy_f32_to_f16(src[off + i]);
        zy_f32_to_bf16_array(o16, src + off, n);
        for (size_t i = 0; i < n; i++) bad += o16[i] != zy_f32_to_bf16(src[off + i]);
        // Nothing past n is written.
        o16[n] = 0xABCD;
        zy_f32_to_f16_array(o16, src, n);
        bad += o16[n] != 0xABCD;
    }
    zt_note("AVX-512 vs scalar, 4 conversions x 8 lengths: %d mismatches", bad);
    CHECK(bad == 0);
    zy_simd_set(ZY_SIMD_SCALAR);
    zy_f32_to_f16_array(o16, src, 1000); // the scalar path through the same entry point
    int bad_ref = 0;
    for (int i = 0; i < 1000; i++) bad_ref += o16[i] != ref_f32_to_f16(src[i]);
    CHECK(bad_ref == 0);
    free(h), free(o16), free(f), free(src);
}
