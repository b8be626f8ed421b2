// AMX GEMM micro-kernel: a 32x32 block of C in four 16x16 fp32 tiles (tmm0-3), A's two
// 16-row tiles (tmm4-5, 32 bf16 deep) and B's two 16-column tiles (tmm6-7, 16 k pairs)
// loaded per 32-deep chunk, four tdpbf16ps per chunk; stored as it is or transposed
// (kernel_t: the driver's C^T orientation); A may also be read where it lies in a bf16
// source (kernel_direct: no packing of A). On a later k block with cont (gemm_internal.h)
// the tiles start from C's sums instead of zero. A block's transposed store into C is
// left to the next call on the thread, which makes it a quarter at a time
// between its own tile products (flush_amx: the rest). Panels: A in the chunks layout, B in
// pairs (gemm_bf16.c). The tile configuration is loaded once per thread. Compiled with
// -mamx-tile -mamx-bf16 -mprfchw (prefetchw: product's claim); the driver calls it only
// when zy_bf16_path() is AMX (the CPU has it and Linux granted the tile state). Its scalar
// twin is kernel_amx_emul.
#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "gemm_internal.h"
#include "kernels/gemm_avx512.h"
#include "kernels/transpose_avx512.h"

enum { MR = ZY_BF16_AMX_MR, NR = ZY_BF16_AMX_NR };

typedef struct tilecfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg;

static _Thread_local bool configured;

// The 32x32 block whose transposed store a call left to the next ones on this thread: its
// sums as the tiles left them, where and how they go, and how many of its four 16x16
// quarters are still to be stored (the last).
static _Thread_local struct {
    float acc[MR][NR] __attribute__((aligned(64)));
    float *c;
    int ldc, m, n, left;
    float alpha, beta;
    bool stream;
} pending;

// The next quarter of the pending block into C, transposed: 16 columns of 16 sums, with
// the arithmetic and the non-temporal rule of the stores as C lies (zy__gemm_store_tile)
// per quarter. Not inlined: called from inside the tile loop, between products, where the
// AMX unit computes while these vector instructions run.
static __attribute__((noinline)) void store_quarter(void) {
    int q = 4 - pending.left--, bi = q >> 1, bj = q & 1;
    int rows = pending.m - 16 * bi, cols = pending.n - 16 * bj; // (16 past 16)
    if (rows <= 0 || cols <= 0) return;
    rows = rows > 16 ? 16 : rows, cols = cols > 16 ? 16 : cols;
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_load_ps(&pending.acc[16 * bi + i][16 * bj]);
    zy__transpose16(r);
    zy__gemm_store_tile(pending.c + (size_t)(16 * bj) * (size_t)pending.ldc + 16 * bi,
                        pending.ldc, r, 1, cols, 1, rows, pending.alpha, pending.beta,
                        pending.stream);
}

// Whatever the calls on this thread left pending, stored (the driver, before C is read).
static void flush_amx(void) {
    while (pending.left) store_quarter();
}

static void configure(void) {
    tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) { // every tile 16 rows of 64 bytes
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    _tile_loadconfig(&cfg);
    configured = true;
}

// The 32x32 block's fp32 sums, starting from zero or from the 32x32 floats at init (rows
// ld floats apart), stored as 32 rows of 32 floats `ldo` apart at out. A's rows are `row`
// elements apart and its 32-deep chunks `chunk` apart: packed (32, 32 * MR), or read where
// it lies in a bf16 source (lda, 32). Software-pipelined: each tile is loaded for the next
// chunk as soon as the last product reading it has been issued (tiles are not renamed), so
// the loads overlap the products (256 x 768 x 256 from L2: 1,620 -> 1,670 GFLOP/s a core).
// With pull, `pull_bytes` of memory from there are prefetched towards L2 over the chunks
// (4 lines a chunk at most): the next B panel, when the driver knows it lies beyond L2.
// A pending block is stored a quarter every kc/128 chunks meanwhile, the rest
// before the tiles are stored: a transposed 32x32 store costs about 400 vector
// instructions, which the AMX unit's products hide (x W^T computed as C^T, one core:
// 256 x 768 x 3072 930 -> 1,060 GFLOP/s, 64 x 768 x 768 1,080 -> 1,190). With claim, the
// claim_rows rows of 32 floats from there (claim_ld apart), where this block's sums will
// be stored, are fetched for writing over the chunks: a C past the caches whose stores
// cannot stream (rows not starting on lines: a 50,257-wide C) otherwise waits on memory
// for every line it stores into (x W^T 1024 x 768 x 50257, 2 threads: 1,004 -> 2,116
// GFLOP/s; 256 rows 2,512 -> 2,646; in-process alternation, 2026-12-07).
static inline __attribute__((always_inline)) void product(int kc, const uint16_t *pa,
                                                          size_t row, size_t chunk,
                                                          const uint16_t *pb, const float *init,
                                                          size_t ld, float *out, size_t ldo,
                                                          const char *pull, size_t pull_bytes,
                                                          const float *claim, size_t claim_ld,
                                                          int claim_rows) {
    if (!configured) configure();
    if (init) {
        size_t stride = ld * sizeof(float);
        _tile_loadd(0, init, stride);
        _tile_loadd(1, init + 16, stride);
        _tile_loadd(2, init + 16 * ld, stride);
        _tile_loadd(3, init + 16 * ld + 16, stride);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    size_t stride = row * sizeof(uint16_t);
    size_t pulls = pull ? (pull_bytes + 255) / 256 : 0; // chunks that prefetch
    int every = kc >= 256 ? kc / 128 : 1, chunk_no = 0; // a pending quarter every so many
    int claim_per = claim ? (claim_rows * 32 + kc - 1) / kc : 0, claimed = 0; // rows a chunk
    _tile_loadd(4, pa, stride);
    _tile_loadd(6, pb, 4 * NR);
    _tile_loadd(7, pb + 32, 4 * NR);
    _tile_loadd(5, pa + 16 * row, stride);
    for (int q = 0; q < kc; q += 32) {
        const uint16_t *a = pa + (size_t)(q / 32 + 1) * chunk, *b = pb + (size_t)(q + 32) * NR;
        bool more = q + 32 < kc;
        _tile_dpbf16ps(0, 4, 6);
        if (pulls) {
            _mm_prefetch(pull, _MM_HINT_T1);
            _mm_prefetch(pull + 64, _MM_HINT_T1);
        }
        _tile_dpbf16ps(1, 4, 7);
        if (more) _tile_loadd(4, a, stride);
        _tile_dpbf16ps(2, 5, 6);
        if (pulls) {
            _mm_prefetch(pull + 128, _MM_HINT_T1);
            _mm_prefetch(pull + 192, _MM_HINT_T1);
            pull += 256;
            pulls--;
        }
        if (pending.left && chunk_no++ % every == 0) store_quarter();
        for (int r = 0; r < claim_per && claimed < claim_rows; r++, claimed++) {
            const char *line = (const char *)(claim + (size_t)claimed * claim_ld);
            __builtin_prefetch(line, 1, 3); // 128 bytes from any float: 2 or 3 lines
            __builtin_prefetch(line + 64, 1, 3);
            __builtin_prefetch(line + 127, 1, 3);
        }
        if (more) _tile_loadd(6, b, 4 * NR);
        _tile_dpbf16ps(3, 5, 7);
        if (more) {
            _tile_loadd(5, a + 16 * row, stride);
            _tile_loadd(7, b + 32, 4 * NR);
        }
    }
    flush_amx();
    size_t ostride = ldo * sizeof(float);
    _tile_stored(0, out, ostride);
    _tile_stored(1, out + 16, ostride);
    _tile_stored(2, out + 16 * ldo, ostride);
    _tile_stored(3, out + 16 * ldo + 16, ostride);
}

// dst = src^T for a 32x32 block as 32 rows of 2 vectors: the four 16x16 quarters
// transposed in registers, the off-diagonal two trading places.
static inline __attribute__((always_inline)) void transpose32(__m512 dst[MR][2],
                                                              __m512 src[MR][2]) {
    for (int bi = 0; bi < 2; bi++) {
        for (int bj = 0; bj < 2; bj++) {
            __m512 q[16];
            for (int r = 0; r < 16; r++) q[r] = src[16 * bi + r][bj];
            zy__transpose16(q);
            for (int r = 0; r < 16; r++) dst[16 * bj + r][bi] = q[r];
        }
    }
}

// For cont on a partial tile, which the tiles cannot load from C: C's m x n block
// (transposed: n rows of m) as the accumulators, zeros outside it.
static inline __attribute__((always_inline)) void load(__m512 acc[MR][2], const float *c,
                                                       int ldc, int m, int n,
                                                       bool transposed) {
    int rows = transposed ? n : m, cols = transposed ? m : n;
    __m512 t[MR][2];
    __m512(*dst)[2] = transposed ? t : acc;
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < 2; v++)
            dst[r][v] = r < rows ? _mm512_maskz_loadu_ps(zy__mask16(cols - 16 * v),
                                                         c + (size_t)r * ldc + 16 * v)
                                 : _mm512_setzero_ps();
    if (transposed) transpose32(acc, t);
}

// The tile's product from panels or a bf16 A in place, stored as it is or transposed, as
// the hints say (zy__gemm_hints: stream, cont, pull, c_cached, more, sums); with cont the
// sums carry on from C or from sums (alpha is then 1 and the block is overwritten). A
// whole tile kept as it is, with alpha 1 and beta 0, into a C that is in the caches
// (c_cached) goes from the tiles into C directly: 1,530 -> 1,670 GFLOP/s a core at 256 x
// 768 x 256. The other stores pass through acc, and so do those into a C whose lines come
// from memory: there a tile store holds up the next tile until its lines arrive, while
// vector stores drain behind it (768 x 256 x 768: 930 against 1,040); non-temporal when
// the driver says stream: a shallow product makes C faster than memory takes it in with
// each line read first (dW 50257 x 768 of a 64-deep product: 300 -> 1,070 GFLOP/s). A
// transposed store is left pending (product: stored during the next call's tile
// products, flush_amx: the rest); the same with stores as they lie cost more than they
// hid (1024 x 768 x 2304, streamed: 975 -> 890 GFLOP/s a core).
static inline __attribute__((always_inline)) void tile(int kc, const uint16_t *pa, size_t row,
                                                       size_t chunk, const void *pb, float *c,
                                                       int ldc, int m, int n, float alpha,
                                                       float beta, bool transposed,
                                                       const zy__gemm_hints *hint) {
    bool stream = hint->stream, cont = hint->cont, whole = m == MR && n == NR;
    __m512 acc[MR][2];
    const float *init = NULL; // cont: where the sums so far are, ld floats a row
    size_t ld = NR;
    if (cont) {
        if (pending.left && pending.c == c) flush_amx(); // this block, the k block before
        alpha = 1.0f, beta = 0.0f;
        if (hint->sums) { // the sums so far, kept apart from C (gemm_internal.h)
            init = hint->sums;
        } else if (whole) { // (a transposed one's sums lie as they are: more, below)
            init = c, ld = (size_t)ldc;
        } else {
            load(acc, c, ldc, m, n, transposed);
            init = (const float *)acc;
        }
    }
    if (hint->sums && hint->more) { // not the last block: the sums stay apart from C
        product(kc, pa, row, chunk, pb, init, ld, hint->sums, NR, hint->pull, hint->pull_bytes,
                NULL, 0, 0);
        return;
    }
    // Whole tiles go from the tiles into C: kept as they are, with alpha 1 and beta 0,
    // into a C in the caches; or a transposed tile's sums between its k blocks (more),
    // which stay in its square of C as they lie, so the next block starts from them with
    // tile loads instead of a transposed load and only the last block transposes.
    bool as_is = hint->c_cached && !stream && alpha == 1.0f && beta == 0.0f;
    if (whole && (transposed ? hint->more : as_is)) {
        product(kc, pa, row, chunk, pb, init, ld, c, (size_t)ldc, hint->pull,
                hint->pull_bytes, NULL, 0, 0);
        return;
    }
    // C's lines claimed while the tiles compute (product) when C is past the caches and
    // its stores will not stream: transposed, n rows of m; as it lies, m rows of n.
    bool claim = !hint->c_cached && !zy__gemm_lines_stream(c, ldc, beta, stream);
    if (transposed) {
        product(kc, pa, row, chunk, pb, init, ld, &pending.acc[0][0], NR, hint->pull,
                hint->pull_bytes, claim ? c : NULL, (size_t)ldc, n);
        pending.c = c, pending.ldc = ldc, pending.m = m, pending.n = n;
        pending.alpha = alpha, pending.beta = beta, pending.stream = stream;
        pending.left = 4;
        return;
    }
    product(kc, pa, row, chunk, pb, init, ld, (float *)acc, 2 * 16, hint->pull,
            hint->pull_bytes, claim ? c : NULL, (size_t)ldc, m);
    zy__gemm_store_tile(c, ldc, &acc[0][0], 2, m, 2, n, alpha, beta, stream);
}

static void kernel_amx(int kc, const void *pa, const void *pb, float *c, int ldc, int m, int n,
                       float alpha, float beta, const zy__gemm_hints *hint) {
    tile(kc, pa, 32, 32 * MR, pb, c, ldc, m, n, alpha, beta, false, hint);
}

static void kernel_amx_t(int kc, const void *pa, const void *pb, float *c, int ldc, int m,
                         int n, float alpha, float beta, const zy__gemm_hints *hint) {
    tile(kc, pa, 32, 32 * MR, pb, c, ldc, m, n, alpha, beta, true, hint);
}

// A read where it lies: 32 full rows of a bf16 source, lda elements apart. Never streamed:
// its large products (x W^T over many rows, computed as C^T in column chunks) were fitted
// and measured with C's lines claimed (tile), and streaming them is not measured yet.
static void kernel_amx_direct(int kc, const uint16_t *a, size_t lda, const void *pb, float *c,
                              int ldc, int n, float alpha, float beta, bool transposed,
                              const zy__gemm_hints *hint) {
    zy__gemm_hints h = *hint;
    h.stream = false;
    tile(kc, a, lda, 32, pb, c, ldc, MR, n, alpha, beta, transposed, &h);
}

const zy__gemm_arch zy__gemm_bf16_amx = {
    .name = "amx", .mr = MR, .nr = NR, .kc = ZY_BF16_AMX_KC, .kc_small = ZY_BF16_AMX_KC_SMALL,
    .mc = ZY_BF16_AMX_MC,
    .nc = ZY_BF16_AMX_NC, .elem = 2, .kpad = 32, .b_slab = 8,
    .pack_cost = {{100, 200}, {150, 200}}, .store_cost = {1.0, 1.5},
    .streams = true, .cont = true,
    .pack_a = zy__gemm_pack_a_chunks_avx512bf16, .pack_b = zy__gemm_pack_b_pairs32_avx512bf16,
    .pack16_a = zy__gemm_pack16_a_chunks_avx512bf16,
    .pack16_b = zy__gemm_pack16_b_pairs32_avx512bf16,
    .kernel = kernel_amx, .kernel_t = kernel_amx_t, .kernel_direct = kernel_amx_direct,
    // A read in place up to 256 columns: packing it costs more than it saves only when few
    // B panels reuse it (x W^T over 256 rows, computed as C^T with W as A: 1,790 -> 2,100
    // GFLOP/s at 768 x 2304; at 128 it was packed; 1024 rows, reusing A over more panels,
    // gain nothing). With one row block (M <= mc), up to 512: dout W over 64 and 256 rows,
    // whose 2-thread column chunks are 384 wide, +2-6 % (256 x 768 x 768 2,351 -> 2,451
    // GFLOP/s, 256 x 768 x 3072 2,190 -> 2,329; in-process alternation, 2026-12-07); a
    // 1,536-wide chunk (256 x 3072 x 768) lost 5 % to it, and so did 1024 rows at 384.
    .direct_n = {256, 512},
    .flush = flush_amx,
};
