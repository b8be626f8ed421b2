// CPU feature detection and the choice of kernel family. Detection asks CPUID and, for
// the wide registers, XGETBV (the OS must save YMM/ZMM state or the instructions fault).
// AMX's tile data is also off for a process until it asks Linux for it (arch_prctl
// ARCH_REQ_XCOMP_PERM, once per process); a refusal leaves AMX out.
#define _GNU_SOURCE // syscall
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

// Linux 5.16+: permission to use the tile data state (process-wide, inherited by threads).
static int amx_granted(void) {
#ifdef SYS_arch_prctl
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return 0;
#endif
}

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
    const unsigned ecx7 = c, edx7 = d;
    if (ymm_ok && fma && ((b >> 5) & 1)) f |= ZY_CPU_AVX2;
    if (ymm_ok && ((eax71 >> 4) & 1)) f |= ZY_CPU_AVXVNNI;
    if (zmm_ok && ((b >> 16) & 1)) {
        f |= ZY_CPU_AVX512F;
        if ((b >> 30) & 1) f |= ZY_CPU_AVX512BW;
        if ((b >> 31) & 1) f |= ZY_CPU_AVX512VL;
        if ((ecx7 >> 11) & 1) f |= ZY_CPU_AVX512VNNI;
        if ((eax71 >> 5) & 1) f |= ZY_CPU_AVX512BF16;
        // AMX-BF16 (EDX bit 22) and AMX-TILE (bit 24); XTILECFG and XTILEDATA in XCR0.
        int tiles_ok = (xcr0 & 0x60000) == 0x60000;
        if (tiles_ok && ((edx7 >> 22) & 1) && ((edx7 >> 24) & 1) && amx_granted())
            f |= ZY_CPU_AMX_BF16;
    }
    return f;
}
#else
static unsigned detect(void) { return 0; }
#endif

static int detected;
static unsigned features;
static zy_simd level = ZY_SIMD_SCALAR;
static zy_bf16_path bf16_path = ZY_BF16_EMULATED;

static zy_simd best_supported(void) {
    // The AVX-512 kernels also use FMA from AVX2's set.
    if ((features & ZY_CPU_AVX512F) && (features & ZY_CPU_AVX2)) return ZY_SIMD_AVX512;
    if (features & ZY_CPU_AVX2) return ZY_SIMD_AVX2;
    return ZY_SIMD_SCALAR;
}

// The bf16 kernels also use AVX-512 F for their epilogues, so they follow the SIMD level.
static zy_bf16_path best_bf16(void) {
    if (level < ZY_SIMD_AVX512) return ZY_BF16_EMULATED;
    if (!(features & ZY_CPU_AVX512BF16)) return ZY_BF16_EMULATED; // every path's packers use it
    if (features & ZY_CPU_AMX_BF16) return ZY_BF16_AMX;
    return ZY_BF16_AVX512;
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
    bf16_path = best_bf16();
    env = getenv("ZY_BF16");
    if (env) {
        zy_bf16_path want = bf16_path;
        if (!strcmp(env, "emulated")) want = ZY_BF16_EMULATED;
        else if (!strcmp(env, "avx512-bf16")) want = ZY_BF16_AVX512;
        else if (!strcmp(env, "amx")) want = ZY_BF16_AMX;
        if (want < bf16_path) bf16_path = want;
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

// bf16_path is the path asked for; the SIMD level in force may allow less.
zy_bf16_path zy_bf16_level(void) {
    init_once();
    zy_bf16_path best = best_bf16();
    return bf16_path > best ? best : bf16_path;
}

zy_bf16_path zy_bf16_set(zy_bf16_path want) {
    init_once();
    zy_bf16_path best = best_bf16();
    bf16_path = want > best ? best : want;
    return bf16_path;
}

const char *zy_bf16_name(zy_bf16_path p) {
    switch (p) {
    case ZY_BF16_EMULATED: return "emulated";
    case ZY_BF16_AVX512: return "avx512-bf16";
    case ZY_BF16_AMX: return "amx";
    }
    return "unknown";
}

const char *zy_simd_name(zy_simd l) {
    switch (l) {
    case ZY_SIMD_SCALAR: return "scalar";
    case ZY_SIMD_AVX2: return "avx2";
    case ZY_SIMD_AVX512: return "avx512";
    }
    return "unknown";
}
