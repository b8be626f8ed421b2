// AVX512-BF16 GEMM micro-kernel: the fp32 kernel's 14x32 register tile (28 zmm
// accumulators, 2 zmm of B), but each vdpbf16ps consumes a k pair: 32 multiply-adds per
// lane-pair instruction instead of 16. Panels in the pairs layout (gemm_bf16.c), A's pair
// broadcast into a register once per row, from a packed panel or where a bf16 A lies;
// the tile stored as C lies or transposed (kernel_t: the driver computes C^T), streamed
// or with its lines claimed as the hints say. Compiled with -mavx512bf16 -mprfchw; the
// driver calls it only when zy_bf16_path() allows. Its scalar twin is kernel_dp_emul.
#include <immintrin.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "gemm_internal.h"
#include "kernels/gemm_avx512.h"
#include "kernels/transpose_avx512.h"

enum { MR = ZY_BF16_DP_MR, NV = 2, NR = ZY_BF16_DP_NR };

#define ZY_INLINE static inline __attribute__((always_inline))

// A's k pair p of row i at pa + i * a_row + p * a_step: packed (a_row 2, a_step 2 * MR) or
// where it lies (a_row lda, a_step 2).
ZY_INLINE void tile(const int ROWS, int kc, const uint16_t *pa, size_t a_row, size_t a_step,
                    const uint16_t *pb, float *c, int ldc, int n, float alpha, float beta,
                    bool transposed, const zy__gemm_hints *hint) {
    // C's lines claimed (fetched for writing) while the tile computes, unless its stores
    // stream: as it lies, ROWS rows of n floats; transposed, n rows of ROWS; a row every
    // `every` k pairs (at most 8: the lines arrive before the stores). Otherwise each
    // store into a C past the caches waits on memory for its line (Zen 5, 2 threads,
    // in-process alternation, 2026-12-08: x W^T 1024 x 768 x 3072 815-865 -> 894-896
    // GFLOP/s, x 50257 734-853 -> 825-883; dW 3072 x 768 over 1024 rows 791-842 ->
    // 875-880). Into a C the driver counts as cached too (c_cached: within 2 MB, which
    // Zen 5's 1 MB L2 is not) it costs nothing measurable and gained 2-5 % over 256 rows
    // (x W^T 256 x 768 x 2304 787 -> 799, dW 2304 x 768 824 -> 845 GFLOP/s).
    bool stream = hint->stream;
    bool claim = !zy__gemm_lines_stream(c, ldc, beta, stream);
    int claim_rows = claim ? (transposed ? n : ROWS) : 0, claimed = 0;
    size_t claim_bytes = (size_t)(transposed ? ROWS : n) * sizeof(float);
    int every = claim_rows ? kc / 2 / claim_rows : 0, next = 0;
    every = every < 1 ? 1 : every > 8 ? 8 : every;
    __m512 acc[MR][NV];
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    }
#pragma GCC unroll 2
    for (int p = 0; p < kc / 2; p++) {
        __m512 b[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) b[v] = _mm512_load_ps((const float *)(pb + 32 * v));
#pragma GCC unroll 14
        for (int i = 0; i < ROWS; i++) {
            // A's k pair broadcast once per row, then its 2 dot products from registers,
            // as the fp32 kernel does (gemm_avx512.c): the pair folded into each
            // instruction ({1to16}) measured 5-10 % slower on the AMX machine (x W^T
            // 1024 x 768 x 2304 on this path, one core: 100-104 -> 112-113 GFLOP/s).
            int32_t pair;
            memcpy(&pair, pa + a_row * i, sizeof pair);
            __m512 a = (__m512)_mm512_set1_epi32(pair);
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++)
                acc[i][v] = _mm512_dpbf16_ps(acc[i][v], (__m512bh)a, (__m512bh)b[v]);
        }
        pa += a_step;
        pb += 2 * NR;
        if (claimed < claim_rows && p == next) {
            next += every;
            const char *line = (const char *)(c + (size_t)claimed++ * (size_t)ldc);
            __builtin_prefetch(line, 1, 3); // (up to 128 bytes from any float: 3 lines)
            __builtin_prefetch(line + claim_bytes / 2, 1, 3);
            __builtin_prefetch(line + claim_bytes - 1, 1, 3);
        }
    }
    if (!transposed) {
        zy__gemm_store_tile(c, ldc, &acc[0][0], NV, ROWS, NV, n, alpha, beta, stream);
        return;
    }
    // Element (i, j) at c[j * ldc + i]: each 16-column half of the tile, its rows padded
    // to 16 with zeros, transposed in registers into 16 rows of C of ROWS sums each.
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) {
        int cols = n - 16 * v;
        if (cols <= 0) break;
        __m512 r[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) r[i] = i < ROWS ? acc[i][v] : _mm512_setzero_ps();
        zy__transpose16(r);
        zy__gemm_store_tile(c + (size_t)(16 * v) * (size_t)ldc, ldc, r, 1, cols < 16 ? cols : 16,
                            1, ROWS, alpha, beta, false);
    }
}

static void kernel_rows(int kc, const void *pa, const void *pb, float *c, int ldc, int m,
                        int n, float alpha, float beta, bool transposed,
                        const zy__gemm_hints *hint) {
    switch (m) {
#define ROWS_CASE(r)                                                                       \
    case r: tile(r, kc, pa, 2, 2 * MR, pb, c, ldc, n, alpha, beta, transposed, hint); break;
        ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5) ROWS_CASE(6)
        ROWS_CASE(7) ROWS_CASE(8) ROWS_CASE(9) ROWS_CASE(10) ROWS_CASE(11) ROWS_CASE(12)
        ROWS_CASE(13) ROWS_CASE(14)
#undef ROWS_CASE
    default: break;
    }
}

static void kernel_dp(int kc, const void *pa, const void *pb, float *c, int ldc, int m, int n,
                      float alpha, float beta, const zy__gemm_hints *hint) {
    kernel_rows(kc, pa, pb, c, ldc, m, n, alpha, beta, false, hint);
}

static void kernel_dp_t(int kc, const void *pa, const void *pb, float *c, int ldc, int m,
                        int n, float alpha, float beta, const zy__gemm_hints *hint) {
    kernel_rows(kc, pa, pb, c, ldc, m, n, alpha, beta, true, hint);
}

// Whole tiles of A read where it lies (gemm_internal.h: kernel_direct), the same sums.
static void kernel_dp_direct(int kc, const uint16_t *a, size_t lda, const void *pb, float *c,
                             int ldc, int n, float alpha, float beta, bool transposed,
                             const zy__gemm_hints *hint) {
    tile(MR, kc, a, lda, 2, pb, c, ldc, n, alpha, beta, transposed, hint);
}

const zy__gemm_arch zy__gemm_bf16_dp = {
    .name = "avx512-bf16", .mr = MR, .nr = NR, .kc = ZY_BF16_DP_KC, .mc = ZY_BF16_DP_MC,
    .nc = ZY_BF16_DP_NC, .elem = 2, .kpad = 2, .b_slab = 8,
    .pack_cost = {{20, 20}, {20, 20}},
    // Stores as C lies cost nothing beyond the tile's own; a transposed one (two 16 x 16
    // register transposes a tile) 5 at 256 deep, fitted on Zen 5 (2 threads, bf16
    // operands, each product timed both ways in in-process alternation, 2026-12-07): x W^T
    // over 64 rows, computed as C^T with W read in place, +8-31 % (x 50257 582 against
    // 444 GFLOP/s), over 256 rows x 2304 / x 50257 +4 / +12 % (x 768 level, x 3072 -3 %,
    // the model's one miss); over 1024 rows and dW (as they lie) level or worse transposed,
    // dW over 64 and 256 rows by 3-47 %.
    .store_cost = {0.0, 5.0},
    // A large C written once goes with non-temporal stores (gemm.c: STREAM_BYTES), its
    // lines not read first: +1-5 % over claiming them (x W^T 4096 x 768 x 768 889 -> 908-933
    // GFLOP/s, dout W 4096 x 768 x 768 893-899 -> 913-916; dW level; same measurements).
    .streams = true,
    .pack_a = zy__gemm_pack_a_pairs_avx512bf16, .pack_b = zy__gemm_pack_b_pairs2_avx512bf16,
    .pack16_a = zy__gemm_pack16_a_pairs_avx512bf16, .pack16_b = zy__gemm_pack16_b_pairs2_avx512bf16,
    .kernel = kernel_dp, .kernel_t = kernel_dp_t, .kernel_direct = kernel_dp_direct,
    // A read in place at every width: its pairs are broadcast from wherever they lie, so a
    // packed A saves no work in the kernel, only the strided walk of 14 rows, and packing
    // it cost more than that (Zen 5, 2 threads, the bench's bf16 shapes, in-process
    // alternation against never: +0-8 %, dout W 1024 x 768 x 3072 669 -> 726 GFLOP/s,
    // 256 x 3072 x 768 776 -> 810, x W^T 256 x 768 x 3072 707 -> 769; 2026-12-07).
    .direct_n = {INT_MAX, INT_MAX},
};
