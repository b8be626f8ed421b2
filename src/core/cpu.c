// CPU feature detection and the choice of kernel family. Detection asks CPUID and, for
// the wide registers, XGETBV (the OS must save YMM/ZMM state or the instructions fault).
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static unsigned detect(void) {
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, avx = (c >> 28) & 1;
    int f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return 0;
    uint64_t xcr0 = xgetbv0();
    int ymm_ok = (xcr0 & 0x6) == 0x6;
    int zmm_ok = (xcr0 & 0xE6) == 0xE6;
    if (ymm_ok && f16c) f |= ZY_CPU_F16C;
    if (__get_cpuid_max(0, NULL) < 7) return f;
    __cpuid_count(7, 1, a, b, c, d); // leaf 7, sub-leaf 1: AVX-VNNI, AVX512-BF16
    const unsigned eax71 = a;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned ecx7 = c;
    if (ymm_ok && fma && ((b >> 5) & 1)) f |= ZY_CPU_AVX2;
    if (ymm_ok && ((eax71 >> 4) & 1)) f |= ZY_CPU_AVXVNNI;
    if (zmm_ok && ((b >> 16) & 1)) {
        f |= ZY_CPU_AVX512F;
        if ((b >> 30) & 1) f |= ZY_CPU_AVX512BW;
        if ((b >> 31) & 1) f |= ZY_CPU_AVX512VL;
        if ((ecx7 >> 11) & 1) f |= ZY_CPU_AVX512VNNI;
        if ((eax71 >> 5) & 1) f |= ZY_CPU_AVX512BF16;
    }
    return f;
}
#else
static unsigned detect(void) { return 0; }
#endif

static int detected;
static unsigned features;
static zy_simd level = ZY_SIMD_SCALAR;

static zy_simd best_supported(void) {
    // The AVX-512 kernels also use FMA from AVX2's set.
    if ((features & ZY_CPU_AVX512F) && (features & ZY_CPU_AVX2)) return ZY_SIMD_AVX512;
    if (features & ZY_CPU_AVX2) return ZY_SIMD_AVX2;
    return ZY_SIMD_SCALAR;
}

static void init_once(void) {
    if (detected) return;
    features = detect();
    level = best_supported();
    const char *env = getenv("ZY_SIMD");
    if (env) {
        zy_simd want = level;
        if (!strcmp(env, "scalar")) want = ZY_SIMD_SCALAR;
        else if (!strcmp(env, "avx2")) want = ZY_SIMD_AVX2;
        else if (!strcmp(env, "avx512")) want = ZY_SIMD_AVX512;
        if (want < level) level = want;
    }
    detected = 1;
}

unsigned zy_cpu_features(void) {
    init_once();
    return features;
}

zy_simd zy_simd_level(void) {
    init_once();
    return level;
}

zy_simd zy_simd_set(zy_simd want) {
    init_once();
    zy_simd best = best_supported();
    level = want > best ? best : want;
    return level;
}

const char *zy_simd_name(zy_simd l) {
    switch (l) {
    case ZY_SIMD_SCALAR: return "scalar";
    case ZY_SIMD_AVX2: return "avx2";
    case ZY_SIMD_AVX512: return "avx512";
    }
    return "unknown";
}
