// AVX-512 GEMM micro-kernel: a 14x32 register tile (28 zmm accumulators, 2 zmm of B, one
// of A's element broadcast), i.e. 28 FMAs per 2 vector loads and 14 broadcasts per k,
// plus the prefetch of the next B panel's source (see zy__gemm_hints). Compiled with
// -mavx512f...; the driver calls it only when zy_simd_level() == ZY_SIMD_AVX512.
// Partial tiles: rows are a compile-time count (one instantiation per m, no wasted FMAs);
// columns past n are zero in the packed B panel and masked out of the loads and stores, so
// a partial tile does exactly the same arithmetic per element as a full one.
#include <immintrin.h>

#include "gemm_internal.h"
#include "kernels/gemm_avx512.h"

enum { MR = 14, NV = 2, NR = 16 * NV }; // NV vectors of 16 floats across

#define ZY_INLINE static inline __attribute__((always_inline))

// pa (MR, kc) k-major, pb (kc, NR) k-major and 64-byte aligned -> C tile (ROWS, n).
ZY_INLINE void tile(const int ROWS, int kc, const float *pa, const float *pb, float *c,
                    int ldc, int n, float alpha, float beta, const zy__gemm_hints *hint) {
    __m512 acc[MR][NV];
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
        _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)i * ldc + NR - 1), _MM_HINT_T0);
    }
    // Prefetch walk as two loops (rows of `per` k each), so the addresses are plain
    // pointer increments (the shift/mask form cost ~5% when the other core was busy).
    const char *pfrow = (const char *)hint->base;
    int per = hint->per > 0 ? hint->per : kc;
    for (int k0 = 0; k0 < kc; k0 += per, pfrow += sizeof(float) * hint->row) {
        const char *p = pfrow;
        int ke = kc - k0 < per ? kc - k0 : per;
#pragma GCC unroll 2
        for (int k = 0; k < ke; k++, p += 128) {
            __m512 b[NV];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) b[v] = _mm512_load_ps(pb + 16 * v);
            _mm_prefetch(p, _MM_HINT_T1);
            _mm_prefetch(p + 64, _MM_HINT_T1);
            // A broadcast once per row, then its 2 FMAs from registers: 16 loads per k.
            // Folding the broadcast into each FMA ({1to16} memory operand, 2 fused uops
            // per row instead of 3) loads it twice, 30 loads per k, and measured 3-7 %
            // slower on the AMX machine (x W^T 1024 x 768 x 2304, one core: 181-186 ->
            // 189-198 GFLOP/s): presumably its front end has room for the extra uop, and
            // its load ports none for the extra loads.
#pragma GCC unroll 14
            for (int i = 0; i < ROWS; i++) {
                __m512 a = _mm512_set1_ps(pa[i]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
            }
            pa += MR;
            pb += NR;
        }
    }
    // Never streamed (hint->stream): at this kernel's speed the caches absorb C's stores,
    // and non-temporal ones measured 5-15 % slower on 64-deep products.
    zy__gemm_store_tile(c, ldc, &acc[0][0], NV, ROWS, NV, n, alpha, beta, false);
}

static void kernel_14x32(int kc, const void *pa, const void *pb, float *c, int ldc, int m,
                         int n, float alpha, float beta, const zy__gemm_hints *hint) {
    switch (m) {
#define ROWS_CASE(r)                                                                       \
    case r: tile(r, kc, pa, pb, c, ldc, n, alpha, beta, hint); break;
        ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5) ROWS_CASE(6)
        ROWS_CASE(7) ROWS_CASE(8) ROWS_CASE(9) ROWS_CASE(10) ROWS_CASE(11) ROWS_CASE(12)
        ROWS_CASE(13) ROWS_CASE(14)
#undef ROWS_CASE
    default: break;
    }
}

const zy__gemm_arch zy__gemm_avx512 = {
    // kc up to 768 (GPT-2's 768-deep products in one pass over C, which for the large
    // outputs costs more memory traffic than streaming a 96 KB B panel from L2 does);
    // mc x kc A block (<= 817 KB) in the 2 MB L2, mc at least 256 so that 256 rows are
    // one block, whose B panels then reuse the workspace's lines (gemm_blocked; 224 made
    // them a block of 224 and one of 32: x W^T 256 x 768 x 768, 2 threads, 410 -> 440
    // GFLOP/s, dout W 256 x 3072 x 768 382 -> 409); nc bounds the packed B block (6 MB).
    .name = "avx512", .mr = MR, .nr = NR, .kc = 768, .mc = MR * 19, .nc = 2048,
    .elem = 4, .kpad = 1, .pack_cost = {{10, 10}, {10, 10}},
    .pack_a = zy__gemm_pack_a_avx512, .pack_b = zy__gemm_pack_b_avx512,
    .kernel = kernel_14x32,
};
