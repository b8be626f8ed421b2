// GEMM driver: picks the kernel family from zy_simd_level(), blocks the problem for the
// caches (GotoBLAS loop order: nc columns of B -> kc deep -> mc rows of A -> nr x mr tiles),
// packs the blocks into per-thread workspaces and splits the work over the pool's threads.
// Packing and micro-kernels live in gemm_pack.c and gemm_<isa>.c; this file only decides.
//
// Threading: C is cut into chunks (rectangles of whole register tiles), each computed as an
// independent serial GEMM that packs what it needs itself, handed out dynamically. Every
// element of C sees the same arithmetic whatever the thread count or chunking, so results
// are bitwise identical for 1 and 2 threads (tests/test_gemm.c checks it).
#include <pthread.h>
#include <string.h>
#include <xmmintrin.h>

#include "core/internal.h"
#include "core/pool.h"
#include "gemm_internal.h"
#include "kernels/gemm_bias.h"
#include "kernels/gemm_copy.h"
#include "kernels/wgemv.h"
#include "zhuyi/gemm.h"
#include "zhuyi/quant.h"

// Below this many flops (2*M*N*K) packing costs more than it saves: use the direct loop
// (fp32 families only: see plan).
#define SMALL_FLOPS 32768.0
// Below this many flops one thread is faster than waking the pool.
#define THREAD_FLOPS 4.0e6
// A product with beta 0 writing more C than this (bytes; twice a core's L2 here) once (in
// one k block, or with the sums of earlier blocks kept apart from C) writes it with
// non-temporal stores: it cannot stay in the caches, and ordinary stores would first read
// every line they overwrite (half the memory traffic of a 64-deep product's output). Not
// when a later k block reads C back: it would come from memory.
#define STREAM_BYTES (4.0 * 1024 * 1024)
// A packed B block larger than this (bytes) does not stay in L2 from one mc block of A to
// the next: a kernel that takes the pull hint brings each B panel back while it computes
// on the one before (the AMX kernel alone, 256 rows x 768 deep over 2,304 columns of
// packed B: 1,350 -> 1,470 GFLOP/s a core).
#define PULL_B_BYTES (1024 * 1024)
// A bf16 A read in place past this many bytes is not in L2 when the product starts: the
// next block of its rows is pulled in while the kernels compute on this one (x W^T over
// 256 rows, W 50257 x 768, one core: 640 -> 694 GFLOP/s; a 768 x 768 W, which L2 keeps,
// lost 2-4 % to it).
#define PULL_A_BYTES (2.0 * 1024 * 1024)
// C within this many bytes stays in L2 (a core's, here) between the kernels' passes.
#define SMALL_C (2.0 * 1024 * 1024)
// A thread's room for its tiles' sums between k blocks (zy__gemm_hints: sums): a chunk
// whose C tiles fit keeps them there (dout W 256 x 768 on 2 threads: 96 tiles a chunk;
// 256 x 3072 on one thread, 768 tiles: plan_depth).
#define SUMS_BYTES (4 * 1024 * 1024)

// An operand given as rows of a weight type (zy__wgemm's W): row r at p + r * row bytes,
// decoded a few rows at a time as it is packed (pack_typed). p NULL: not typed.
typedef struct typed_src {
    const uint8_t *p;
    zy_wtype type;
    size_t row;
} typed_src;

typedef struct gemm_args {
    bool ta, tb;
    int M, N, K;
    float alpha, beta;
    const void *A, *B; // fp32, or bf16 where a16 / b16 (zy_gemm_bf16; bf16 families only)
    float *C;
    int lda, ldb, ldc;
    const float *bias; // (N) added to every row of C after the product, or NULL
    bool tc;           // C stored transposed: element (i,j) at C[j*ldc + i] (see orient)
    bool a16, b16;
    // A or B as typed rows instead (zy__wgemm; that pointer NULL): its rows run along k
    // (not ta for A, tb for B), op(A)'s row i or op(B)'s column j being the typed row.
    typed_src aq, bq;
    bool packed_only; // never the fp32 shortcut for tiny products (bf16 families: plan)
    bool stream;      // beta 0, C past STREAM_BYTES (whole product's): streamed if written once
    int kc;           // the deepest k block: the family's kc or kc_small (plan_depth)
} gemm_args;

// n elements on from p, in a source of fp32 or (b16) bf16 values.
static inline const void *advance(const void *p, ptrdiff_t n, bool b16) {
    return (const char *)p + n * (ptrdiff_t)(b16 ? sizeof(uint16_t) : sizeof(float));
}

// The product as asked: no bias, C as it lies, fp32 sources, the fp32 shortcut allowed.
static gemm_args product_args(bool ta, bool tb, int M, int N, int K, float alpha,
                              const void *A, int lda, const void *B, int ldb, float beta,
                              float *C, int ldc) {
    return (gemm_args){.ta = ta, .tb = tb, .M = M, .N = N, .K = K, .alpha = alpha,
                       .beta = beta, .A = A, .B = B, .C = C, .lda = lda, .ldb = ldb,
                       .ldc = ldc};
}

// Where element (i,j) of the product lives in C.
static inline size_t c_at(const gemm_args *g, int i, int j) {
    return g->tc ? (size_t)j * g->ldc + i : (size_t)i * g->ldc + j;
}

// The calling thread's matmul precision (gemm.h). Pool threads never read it: the caller
// picks the family and hands it to them.
static _Thread_local zy_precision tls_precision = ZY_PRECISION_FP32;

zy_precision zy_gemm_precision_set(zy_precision p) {
    zy_precision old = tls_precision;
    tls_precision = p == ZY_PRECISION_BF16 ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32;
    return old;
}

zy_precision zy_gemm_precision(void) { return tls_precision; }

// ---- bf16 copies of fp32 operands (gemm_copy.h) -----------------------------------------
#define ROUND_CHUNK 65536 // values a pool item rounds

typedef struct round_job {
    uint16_t *dst;
    const float *src;
    size_t n;
} round_job;

static void round_items(void *ctx, size_t c0, size_t c1, int thread) {
    (void)thread;
    const round_job *j = ctx;
    bool hw = zy_bf16_level() >= ZY_BF16_AVX512;
    for (size_t c = c0; c < c1; c++) {
        size_t i = c * ROUND_CHUNK, n = ZY_MIN(ROUND_CHUNK, j->n - i);
        if (hw) zy__gemm_bf16_in_array_avx512bf16(j->dst + i, j->src + i, n);
        else zy__gemm_bf16_in_array(j->dst + i, j->src + i, n);
    }
}

void zy__gemm_bf16_round(uint16_t *dst, const float *src, size_t n) {
    round_job j = {dst, src, n};
    zy__parallel((n + ROUND_CHUNK - 1) / ROUND_CHUNK, 1, 0, round_items, &j);
}

static _Thread_local struct {
    uintptr_t base, end; // [base, end) bytes of the fp32 values copied
    const uint16_t *copy;
} tls_copy;

void zy__gemm_bf16_copy_set(const float *base, size_t n, const uint16_t *copy) {
    if (!base || !copy || !n) {
        tls_copy.copy = NULL;
        return;
    }
    tls_copy.base = (uintptr_t)base;
    tls_copy.end = (uintptr_t)(base + n);
    tls_copy.copy = copy;
}

// The bf16 copy of an fp32 operand of `rows` rows of `cols` values, ld apart, when all of
// it lies in the copied range; NULL otherwise.
static const uint16_t *copy_of(const float *p, int rows, int cols, int ld) {
    uintptr_t a = (uintptr_t)p;
    if (a < tls_copy.base || a >= tls_copy.end || (a - tls_copy.base) % sizeof(float)) return NULL;
    size_t extent = ((size_t)rows - 1) * (size_t)ld + (size_t)cols; // floats from p
    if (extent > (tls_copy.end - a) / sizeof(float)) return NULL;
    return tls_copy.copy + (a - tls_copy.base) / sizeof(float);
}

// g with its fp32 operands that have bf16 copies read from those (same bits: the packers
// would round them to the same values).
static void use_copies(gemm_args *g) {
    if (!tls_copy.copy || g->K == 0) return;
    const uint16_t *a = g->a16 || g->aq.p
                            ? NULL
                            : copy_of(g->A, g->ta ? g->K : g->M, g->ta ? g->M : g->K, g->lda);
    const uint16_t *b = g->b16 || g->bq.p
                            ? NULL
                            : copy_of(g->B, g->tb ? g->N : g->K, g->tb ? g->K : g->N, g->ldb);
    if (a) g->A = a, g->a16 = true;
    if (b) g->B = b, g->b16 = true;
}

static const zy__gemm_arch *bf16_arch(void) {
    switch (zy_bf16_level()) {
    case ZY_BF16_AMX: return &zy__gemm_bf16_amx;
    case ZY_BF16_AVX512: return &zy__gemm_bf16_dp;
    default: return &zy__gemm_bf16_amx_emul;
    }
}

static const zy__gemm_arch *pick_arch(void) {
    if (tls_precision == ZY_PRECISION_BF16) return bf16_arch();
    switch (zy_simd_level()) {
    case ZY_SIMD_AVX512: return &zy__gemm_avx512;
    case ZY_SIMD_AVX2: return &zy__gemm_avx2;
    default: return &zy__gemm_scalar;
    }
}

// ---- per-thread packing workspace ------------------------------------------------------
// Allocated on a thread's first packed product, at the largest blocks any family uses
// (~7 MB) and the room for tile sums (SUMS_BYTES, 4 MB), then reused: nothing is
// allocated per call. A thread-specific key's destructor frees it when the thread exits,
// so a long-running program that starts and ends threads does not grow. If the
// allocation (or the key) fails the caller takes the reference path, which needs no
// workspace.
typedef struct workspace {
    void *a;     // (mc, kc) packed A block
    void *b;     // (kc, nc) packed B block
    float *w;    // (max(mr, nr), kc + 2 blocks) rows of a typed operand decoded for packing
    float *sums; // SUMS_BYTES: the tiles' sums between k blocks (gemm_blocked)
} workspace;

static _Thread_local workspace tls_ws; // this thread's; a points at the whole block
static pthread_key_t ws_key;           // its value is the block, for the destructor
static pthread_once_t ws_once = PTHREAD_ONCE_INIT;
static bool ws_key_ok;

static int padded_depth(const zy__gemm_arch *ar, int kc) {
    return (kc + ar->kpad - 1) / ar->kpad * ar->kpad;
}

// Bytes of the largest packed A (which == 0) or B block (1) of any family, or (2) of the
// decoded rows of a typed operand's panel (pack_typed).
static size_t max_bytes(int which) {
    const zy__gemm_arch *all[] = {&zy__gemm_scalar,       &zy__gemm_avx2,
                                  &zy__gemm_avx512,       &zy__gemm_bf16_dp,
                                  &zy__gemm_bf16_dp_emul, &zy__gemm_bf16_amx,
                                  &zy__gemm_bf16_amx_emul};
    size_t best = 0;
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        const zy__gemm_arch *ar = all[i];
        size_t n = which == 2 ? (size_t)(ar->kc + 2 * ZY_QBLOCK) * (size_t)ZY_MAX(ar->mr, ar->nr) *
                                    sizeof(float)
                   : (size_t)padded_depth(ar, ar->kc) * (which ? ar->nc : ar->mc) * ar->elem;
        if (n > best) best = n;
    }
    return best;
}

static void free_workspace(void *block) {
    tls_ws = (workspace){NULL, NULL, NULL, NULL}; // in case a later destructor calls zy_sgemm
    zy_free(block);
}

static void make_key(void) { ws_key_ok = pthread_key_create(&ws_key, free_workspace) == 0; }

static workspace *get_workspace(void) {
    if (tls_ws.a) return &tls_ws;
    pthread_once(&ws_once, make_key);
    if (!ws_key_ok) return NULL; // no way to free it at thread exit: do not allocate
    size_t na = (max_bytes(0) + 63) / 64 * 64; // keeps b, sums and w 64-byte aligned
    size_t nb = (max_bytes(1) + 63) / 64 * 64;
    char *block = zy_alloc(na + nb + SUMS_BYTES + max_bytes(2));
    if (!block) return NULL;
    if (pthread_setspecific(ws_key, block)) {
        zy_free(block);
        return NULL;
    }
    tls_ws = (workspace){block, block + na, (float *)(block + na + nb + SUMS_BYTES),
                         (float *)(block + na + nb)};
    return &tls_ws;
}

// ---- serial paths ----------------------------------------------------------------------
// C = beta * C (K == 0): nothing of A or B is read. (Never transposed: see orient.)
static void scale_c(const gemm_args *g) {
    for (int i = 0; i < g->M; i++) {
        float *c = g->C + (size_t)i * g->ldc;
        if (g->beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)g->N);
        else
            for (int j = 0; j < g->N; j++) c[j] *= g->beta;
    }
}

// Tiny products: no packing, a row of C at a time in 64-column chunks.
static void gemm_small(const gemm_args *g) {
    enum { CHUNK = 64 };
    const float *A = g->A, *B = g->B; // fp32 (bf16 sources are packed_only)
    float acc[CHUNK];
    for (int i = 0; i < g->M; i++) {
        for (int j0 = 0; j0 < g->N; j0 += CHUNK) {
            int nj = g->N - j0 < CHUNK ? g->N - j0 : CHUNK;
            for (int j = 0; j < nj; j++) acc[j] = 0.0f;
            for (int k = 0; k < g->K; k++) {
                float a = g->ta ? A[(size_t)k * g->lda + i] : A[(size_t)i * g->lda + k];
                if (g->tb) {
                    const float *b = B + (size_t)j0 * g->ldb + k;
                    for (int j = 0; j < nj; j++) acc[j] += a * b[(size_t)j * g->ldb];
                } else {
                    const float *b = B + (size_t)k * g->ldb + j0;
                    for (int j = 0; j < nj; j++) acc[j] += a * b[j];
                }
            }
            for (int j = 0; j < nj; j++) {
                float *c = g->C + c_at(g, i, j0 + j);
                *c = g->beta == 0.0f ? g->alpha * acc[j] : g->alpha * acc[j] + g->beta * *c;
            }
        }
    }
}

// Weights a typed row is decoded in at least (a block of the block formats).
static int wblock(zy_wtype t) { return t == ZY_WTYPE_Q8_0 || t == ZY_WTYPE_Q4_0 ? ZY_QBLOCK : 1; }

// Rows [r0, r0+n) of a typed operand over the depth [k0, k0+kc), packed as the family
// packs its A (rows i, a_side) or B (columns j) panels of `unit` rows: each panel's rows
// decoded (the whole blocks around the depth) into ws->w, then packed as if the operand
// were that matrix -- the same values, so the same bits. A bf16 family with AVX512-BF16
// decodes straight to bf16, rounded as its packers round, for its 16-bit packers (half the
// bytes through ws->w, no rounding pass in the packer); the others get fp32 values.
static void pack_typed(const zy__gemm_arch *ar, const workspace *ws, typed_src q, bool a_side,
                       int r0, int n, int k0, int kc, int unit, void *dst) {
    const int blk = wblock(q.type);
    const int kb = k0 / blk * blk, width = (k0 + kc + blk - 1) / blk * blk - kb;
    const size_t skip = zy_wtype_row_bytes(q.type, (size_t)kb);
    const size_t panel = (size_t)padded_depth(ar, kc) * ar->elem * unit;
    const bool to16 = ar->pack16_a && zy_bf16_level() >= ZY_BF16_AVX512;
    uint16_t *w16 = (uint16_t *)ws->w;
    const uint16_t *s16 = w16 + (k0 - kb);
    const float *s32 = ws->w + (k0 - kb);
    for (int p = 0; p < n; p += unit) {
        int rows = ZY_MIN(unit, n - p);
        char *out = (char *)dst + (size_t)(p / unit) * panel;
        for (int r = 0; r < rows; r++) {
            const uint8_t *row = q.p + (size_t)(r0 + p + r) * q.row + skip;
            if (to16)
                zy__wdecode_row_bf16_avx512bf16(q.type, row, w16 + (size_t)r * width,
                                                (size_t)width);
            else zy__wdecode_row(q.type, row, ws->w + (size_t)r * width, (size_t)width);
        }
        if (a_side && to16) ar->pack16_a(false, s16, width, 0, rows, 0, kc, unit, out);
        else if (a_side) ar->pack_a(false, s32, width, 0, rows, 0, kc, unit, out);
        else if (to16) ar->pack16_b(true, s16, width, 0, kc, 0, rows, unit, out);
        else ar->pack_b(true, s32, width, 0, kc, 0, rows, unit, out);
    }
}

// Where the kernels should prefetch while computing on B panel [j, j+nr) of the k block
// [k0, k0+kc): the source of the next panel (columns j+nr ..), spread over the first few
// kernel calls on this panel (part 0, 1, ...; each prefetches 2*kc lines). Without it the
// first pass over B waits on memory for every panel, which costs a third of the time when
// M is small and that pass is all there is.
static zy__gemm_hints next_panel(const gemm_args *g, int nr, int k0, int kc, int j, int part,
                                 const float *idle) {
    zy__gemm_hints hint = {.base = idle};
    if (j + nr >= g->N || g->b16 || g->bq.p) return hint; // (below: addresses in fp32 sources)
    const float *B = g->B;
    // Lines per source row (+1: rows need not start on a line), two per k iteration.
    int lines = g->tb ? (kc + 15) / 16 + 1 : (nr + 15) / 16 + 1;
    int per = (lines + 1) / 2, rows = g->tb ? nr : kc;
    int first = part * ZY_MAX(kc / per, 1);
    if (first >= rows) return hint;
    if (g->tb) hint.base = B + (size_t)(j + nr + first) * g->ldb + k0; // B (N,K)
    else hint.base = B + (size_t)(k0 + first) * g->ldb + j + nr;       // B (K,N)
    hint.row = g->ldb;
    hint.per = per;
    return hint;
}

// C += bias over the product's rows [i0, i0 + m) and columns [j0, j0 + n): bias[j] on
// every row, or, with C transposed, bias[i] (it runs along the product's rows then).
static void add_bias(const gemm_args *g, int i0, int m, int j0, int n) {
    if (g->tc) {
        for (int j = j0; j < j0 + n; j++) {
            float *c = g->C + (size_t)j * g->ldc;
            for (int i = i0; i < i0 + m; i++) c[i] += g->bias[i];
        }
        return;
    }
    for (int i = i0; i < i0 + m; i++) {
        float *c = g->C + (size_t)i * g->ldc;
        for (int j = j0; j < j0 + n; j++) c[j] += g->bias[j];
    }
}

// Kernel call `call` of `calls` pulls its part of the `bytes` from `next` on (the parts
// together cover them); nothing when next is NULL.
static void pull_part(zy__gemm_hints *hint, const char *next, size_t bytes, int calls,
                      int call) {
    if (!next || calls <= 0) return;
    size_t part = (bytes + (size_t)calls - 1) / (size_t)calls;
    hint->pull = next + (size_t)call * part;
    hint->pull_bytes = part;
}

// k blocks of equal depth, at most g->kc: 768 deep in 1 block, not 512 + 256. Depths are
// multiples of 8 and of the family's padding unit (kc and kc_small are).
static int block_depth(const zy__gemm_arch *ar, const gemm_args *g) {
    int blocks = (g->K + g->kc - 1) / g->kc;
    int kc = (g->K + blocks - 1) / blocks, unit = ZY_MAX(8, ar->kpad);
    return ZY_MIN((kc + unit - 1) / unit * unit, g->kc);
}

// Whether the tiles of `rows` rows of a product n columns wide fit SUMS_BYTES.
static bool sums_fit_rows(const zy__gemm_arch *ar, int rows, int n) {
    size_t tiles = (size_t)((rows + ar->mr - 1) / ar->mr) * (size_t)((n + ar->nr - 1) / ar->nr);
    return tiles * (size_t)ar->mr * (size_t)ar->nr * sizeof(float) <= SUMS_BYTES;
}

// Whether product g may keep its tiles' sums apart from C between k blocks (zy__gemm_hints:
// sums): with cont (alpha 1, beta 0), and all its tiles within SUMS_BYTES.
static bool sums_fit(const zy__gemm_arch *ar, const gemm_args *g) {
    return g->alpha == 1.0f && g->beta == 0.0f && sums_fit_rows(ar, g->M, g->N);
}

// Tile (i, j)'s block in ws->sums (product rows i, columns j, whole tiles from the
// corner), its tiles tiles_n to a row; NULL when the product keeps its sums in C.
static float *tile_sums(const zy__gemm_arch *ar, const workspace *ws, bool keep, int tiles_n,
                        int i, int j) {
    if (!keep) return NULL;
    size_t tile = (size_t)(i / ar->mr) * (size_t)tiles_n + (size_t)(j / ar->nr);
    return ws->sums + tile * (size_t)ar->mr * (size_t)ar->nr;
}

// Whether a block of `rows` x `cols` of product g reads its bf16 A where it lies
// (kernel_direct; the last partial panel of rows is packed, as the kernel reads whole
// tiles): A's rows run along k, every depth block is a whole number of the family's chunks
// (nothing past a row is read), and the block is no wider than the family reads A in
// place for (direct_n: where packing A would pay, because many B panels reuse it).
static bool reads_a_in_place(const zy__gemm_arch *ar, const gemm_args *g, int rows, int cols) {
    return ar->kernel_direct && g->a16 && !g->ta && g->K % ar->kpad == 0 &&
           cols <= ar->direct_n[rows <= ar->mc];
}

// The blocked, packed product on one thread. B panels are packed just before their first
// use (during the first mc block) so packing overlaps with the prefetches above; or, in
// families whose kernels do not prefetch, a slab of them at a time (b_slab).
static bool gemm_blocked(const zy__gemm_arch *ar, workspace *ws, const gemm_args *g) {
    const int mr = ar->mr, nr = ar->nr, slab = ZY_MAX(ar->b_slab, 1) * nr;
    int packed_ic = -1, packed_pc = -1; // the A block in ws->a
    // With one mc block each packed B panel serves only the calls that follow its packing:
    // a slab's panels then go to the start of the workspace, slab after slab, so they are
    // written into lines L2 holds instead of into a block of several MB, each of whose
    // lines would first be read from memory (dout W 256 x 3072 x 768, 2 threads: 1,940 ->
    // 2,170 GFLOP/s).
    bool reuse_b = g->M <= ar->mc;
    bool direct = reads_a_in_place(ar, g, g->M, g->N);
    bool c_cached = (double)g->M * g->N * sizeof(float) <= SMALL_C; // (this chunk's C)
    const int kcb = block_depth(ar, g);
    const int tiles_n = (g->N + nr - 1) / nr;
    const int blocks_k = (g->K + kcb - 1) / kcb, blocks_m = (g->M + ar->mc - 1) / ar->mc;
    // Over several row blocks the k blocks are usually the outer loop: one k block of B is
    // packed at a time and serves every row block. Rows go outer instead (rows_outer) when
    // every k block of B fits the room at once: each row block then runs through all the
    // k blocks, and its tiles' sums, not the whole chunk's, wait in ws->sums in between
    // (they stay in L2, where the whole chunk's would not).
    const bool rows_outer = blocks_m > 1 && blocks_k > 1 && g->alpha == 1.0f &&
                            g->beta == 0.0f && sums_fit_rows(ar, ar->mc, g->N) &&
                            blocks_k * padded_depth(ar, kcb) <= padded_depth(ar, ar->kc);
    // Over several k blocks each tile's sums wait in ws->sums between them, when the
    // family's kernels take cont and all the chunk's tiles fit there (or a row block's,
    // rows outer); C's lines are then written once, and may then be streamed.
    const bool keep_sums = ar->cont && g->K > kcb && (rows_outer || sums_fit(ar, g));
    const bool stream = g->stream && (blocks_k == 1 || keep_sums);
    for (int jc = 0; jc < g->N; jc += ar->nc) {
        int nc = ZY_MIN(ar->nc, g->N - jc);
        // With rows outer, k block b's panels start at b * b_block in ws->b.
        size_t b_block = (size_t)(nc + nr - 1) / nr * nr * padded_depth(ar, kcb) * ar->elem;
        for (int step = 0; step < blocks_k * blocks_m; step++) {
            int bk = rows_outer ? step % blocks_k : step / blocks_m;
            int bm = rows_outer ? step / blocks_k : step % blocks_m;
            int pc = bk * kcb, kc = ZY_MIN(kcb, g->K - pc);
            size_t depth_bytes = (size_t)padded_depth(ar, kc) * ar->elem; // per row/col
            // Later k blocks add to what the first one wrote (or, cont, carry its sums on).
            float beta = pc == 0 ? g->beta : 1.0f;
            bool cont = pc > 0 && g->alpha == 1.0f && g->beta == 0.0f;
            bool more = pc + kc < g->K && g->alpha == 1.0f && g->beta == 0.0f;
            bool pull_b = !rows_outer &&
                          (size_t)padded_depth(ar, kc) * ar->elem * (size_t)nc > PULL_B_BYTES;
            int ic = bm * ar->mc, mc = ZY_MIN(ar->mc, g->M - ic);
            int sums_i = rows_outer ? 0 : ic; // the row of ws->sums that row ic takes
            // The A block depends on (ic, pc) only: when it is the one packed last
            // (a single ic and pc block, as with M <= mc and K <= kc), every column
            // block jc reuses it.
            int whole = direct ? mc / mr * mr : 0; // rows read in place
            if ((ic != packed_ic || pc != packed_pc) && whole < mc) {
                if (g->aq.p)
                    pack_typed(ar, ws, g->aq, true, ic, mc, pc, kc, mr, ws->a);
                else if (g->a16)
                    ar->pack16_a(g->ta, g->A, g->lda, ic + whole, mc - whole, pc, kc, mr,
                                 ws->a);
                else ar->pack_a(g->ta, g->A, g->lda, ic, mc, pc, kc, mr, ws->a);
            }
            packed_ic = ic, packed_pc = pc;
            // A read in place, whole rows in one k block or rows outer (the row block
            // runs through every k block before the next): the next row block's rows are
            // pulled into L2 in parts over this row block's calls (its first B panel
            // would read them from memory with strided tile loads, which the hardware
            // prefetchers do not follow). Rows outer, the parts spread over the calls of
            // every k block (dout W 4096 x 256 x 768 on one core: 1,360 -> 1,460 GFLOP/s).
            int direct_calls = (nc + nr - 1) / nr * (whole / mr);
            int pull_calls = direct_calls, pull_first = 0;
            const char *next_a = NULL;
            size_t a_bytes = 0;
            if (direct_calls && (kc == g->K || rows_outer) && g->lda == g->K &&
                ic + mc < g->M && (double)g->M * g->lda * ar->elem > PULL_A_BYTES) {
                size_t rows = (size_t)ZY_MIN(ar->mc, g->M - ic - mc);
                next_a = (const char *)g->A + (size_t)(ic + mc) * g->lda * ar->elem;
                a_bytes = rows * (size_t)g->lda * ar->elem;
                if (rows_outer) pull_first = bk * direct_calls, pull_calls *= blocks_k;
            }
            // jr outer: each B panel serves every A micro-panel of the block (L1/L2)
            // while the A micro-panels stream from L2.
            for (int jr = 0; jr < nc; jr += nr) {
                char *pb = (char *)ws->b + (rows_outer ? (size_t)bk * b_block : 0) +
                           (size_t)(reuse_b ? jr % slab : jr) * depth_bytes;
                int n = ZY_MIN(nr, nc - jr);
                if (ic == 0 && jr % slab == 0) { // this panel and the slab's others
                    int ns = ZY_MIN(slab, nc - jr);
                    if (g->bq.p) pack_typed(ar, ws, g->bq, false, jc + jr, ns, pc, kc, nr, pb);
                    else if (g->b16)
                        ar->pack16_b(g->tb, g->B, g->ldb, pc, kc, jc + jr, ns, nr, pb);
                    else ar->pack_b(g->tb, g->B, g->ldb, pc, kc, jc + jr, ns, nr, pb);
                }
                float *c = g->C + c_at(g, ic, jc + jr);
                size_t row_step = g->tc ? 1 : (size_t)g->ldc; // C offset of row ir
                for (int ir = 0; ir < whole; ir += mr) {
                    const uint16_t *a = (const uint16_t *)g->A +
                                        (size_t)(ic + ir) * g->lda + pc;
                    zy__gemm_hints hint = {
                        .cont = cont, .more = more, .c_cached = c_cached, .stream = stream,
                        .sums = tile_sums(ar, ws, keep_sums, tiles_n, sums_i + ir, jc + jr)};
                    pull_part(&hint, next_a, a_bytes, pull_calls,
                              pull_first + jr / nr * (whole / mr) + ir / mr);
                    ar->kernel_direct(padded_depth(ar, kc), a, (size_t)g->lda, pb,
                                      c + (size_t)ir * row_step, g->ldc, n, g->alpha,
                                      beta, g->tc, &hint);
                }
                // The panel computed after this one, when it was packed before (a
                // later mc block) and the caches may have lost it: pulled back in
                // parts, one per call below.
                const char *next = NULL;
                if (pull_b && jr + nr < nc) next = ic > 0 ? pb + nr * depth_bytes : NULL;
                else if (pull_b && ic + mc < g->M) next = ws->b; // the next block's first
                for (int ir = whole; ir < mc; ir += mr) {
                    const char *pa =
                        (const char *)ws->a + (size_t)(ir - whole) * depth_bytes;
                    zy__gemm_hints hint = {.base = (const float *)pa};
                    if (ic == 0)
                        hint = next_panel(g, nr, pc, kc, jc + jr, ir / mr,
                                          (const float *)pa);
                    hint.stream = stream; // (C written once: beta is g's, 0)
                    hint.cont = cont;
                    hint.more = more;
                    pull_part(&hint, next, (size_t)nr * depth_bytes,
                              (mc - whole + mr - 1) / mr, (ir - whole) / mr);
                    hint.c_cached = c_cached;
                    hint.sums = tile_sums(ar, ws, keep_sums, tiles_n, sums_i + ir, jc + jr);
                    (g->tc ? ar->kernel_t : ar->kernel)(
                        padded_depth(ar, kc), pa, pb, c + (size_t)ir * row_step, g->ldc,
                        ZY_MIN(mr, mc - ir), n, g->alpha, beta, &hint);
                }
                if (g->bias && !stream && pc + kc >= g->K) {
                    if (ar->flush) ar->flush(); // (what its kernels left pending)
                    add_bias(g, ic, mc, jc + jr, n);
                }
            }
        }
    }
    if (ar->flush) ar->flush();
    if (stream) _mm_sfence(); // the non-temporal stores visible before anyone reads C
    return stream;
}

// zy_gemm_bf16 with no workspace: the products of the bf16 values (an fp32 source
// rounded as the packers round it) summed in fp32 in k order, one element at a time --
// the bf16 rounding of the inputs, not the bf16 path's order of sums.
static float source16(const void *p, size_t idx, bool b16) {
    uint16_t h = b16 ? ((const uint16_t *)p)[idx] : zy__gemm_bf16_in(((const float *)p)[idx]);
    return zy_bf16_to_f32(h);
}

static void gemm_ref16(const gemm_args *g) {
    for (int i = 0; i < g->M; i++) {
        for (int j = 0; j < g->N; j++) {
            float acc = 0.0f;
            for (int k = 0; k < g->K; k++) {
                size_t ia = g->ta ? (size_t)k * g->lda + i : (size_t)i * g->lda + k;
                size_t ib = g->tb ? (size_t)j * g->ldb + k : (size_t)k * g->ldb + j;
                acc += source16(g->A, ia, g->a16) * source16(g->B, ib, g->b16);
            }
            float *c = g->C + c_at(g, i, j);
            *c = g->beta == 0.0f ? g->alpha * acc : g->alpha * acc + g->beta * *c;
        }
    }
}

// A typed operand without packing (tiny products, or no workspace): each typed row decoded
// a piece at a time, float sums in k order as gemm_small (fp32) or gemm_ref16 (round16:
// both values rounded to bf16 first) sum them, so the bits are theirs over the decoded
// matrix. The other operand is fp32 (zy__wgemm).
static void gemm_small_typed(const gemm_args *g, bool round16) {
    enum { PIECE = 8 * ZY_QBLOCK }; // whole blocks: a row holds whole blocks
    float w[PIECE];
    const bool on_a = g->aq.p != NULL;
    const typed_src q = on_a ? g->aq : g->bq;
    const float *X = on_a ? g->B : g->A; // element (r, k) of the other operand's op
    const bool tx = on_a ? !g->tb : g->ta;
    const int ldx = on_a ? g->ldb : g->lda;
    for (int i = 0; i < g->M; i++) {
        for (int j = 0; j < g->N; j++) {
            const int r = on_a ? j : i; // the fp32 operand's row (k along it, or down it)
            const uint8_t *row = q.p + (size_t)(on_a ? i : j) * q.row;
            float acc = 0.0f;
            for (int k0 = 0; k0 < g->K; k0 += PIECE) {
                int n = ZY_MIN(PIECE, g->K - k0);
                zy_dequantize_row(q.type, row + zy_wtype_row_bytes(q.type, (size_t)k0), w,
                                  (size_t)n);
                for (int k = 0; k < n; k++) {
                    float x = tx ? X[(size_t)(k0 + k) * ldx + r] : X[(size_t)r * ldx + k0 + k];
                    if (round16) acc += source16(&x, 0, false) * source16(w, (size_t)k, false);
                    else acc += x * w[k];
                }
            }
            float *c = g->C + c_at(g, i, j);
            *c = g->beta == 0.0f ? g->alpha * acc : g->alpha * acc + g->beta * *c;
        }
    }
}

// The product on one thread; true when the bias was added too (the blocked path).
static bool gemm_product(const zy__gemm_arch *ar, const gemm_args *g) {
    if (g->K == 0) {
        scale_c(g);
        return false;
    }
    bool small = !g->packed_only && 2.0 * g->M * g->N * g->K < SMALL_FLOPS;
    workspace *ws = small ? NULL : get_workspace();
    if ((g->aq.p || g->bq.p) && !ws) {
        gemm_small_typed(g, g->packed_only);
        return false;
    }
    if (small) {
        gemm_small(g);
        return false;
    }
    if (!ws && g->packed_only)
        gemm_ref16(g);
    else if (!ws && g->tc) // the product as asked: C = op(B')^T op(A')^T
        zy_sgemm_ref(!g->tb, !g->ta, g->N, g->M, g->K, g->alpha, g->B, g->ldb, g->A, g->lda,
                     g->beta, g->C, g->ldc);
    else if (!ws)
        zy_sgemm_ref(g->ta, g->tb, g->M, g->N, g->K, g->alpha, g->A, g->lda, g->B, g->ldb,
                     g->beta, g->C, g->ldc);
    if (!ws) return false;
    return !gemm_blocked(ar, ws, g); // (streamed C is out of the caches: the bias after)
}

// The product on one thread, then the bias (a second rounding, exactly as a separate pass
// over C would do it, but in the same parallel region; the blocked path adds it to each
// panel of C as its last k block completes, while the panel is still in cache).
static void gemm_serial(const zy__gemm_arch *ar, const gemm_args *g) {
    if (g->M == 0 || g->N == 0) return;
    if (!gemm_product(ar, g) && g->bias) add_bias(g, 0, g->M, 0, g->N);
}

// ---- threading ------------------------------------------------------------------------
// C is cut into a grid of rm x rn chunks (whole mr row tiles x whole nr column panels),
// each an independent serial GEMM that packs what it needs, handed out dynamically
// (run_items).
// Several chunks per thread when that is cheap, because on a shared machine one thread is
// often descheduled for a while, and with one fixed half each the other would idle at the
// barrier. The price is duplicated packing: each of the rm row blocks packs its columns of
// B, each of the rn column blocks its rows of A. A packed element costs about as much as
// the family's pack_cost multiply-adds (its own for each operand, as it lies or
// transposed), so the extra packing is cost_B * (rm-1)/M + cost_A * (rn-1)/N of the
// arithmetic; grids over MAX_EXTRA are not used (except the plain nt-way split).
// A bf16 A that chunks at most direct_n[0] wide would read where it lies (reads_a_in_place)
// is cut by columns alone, into the fewest such chunks (a whole round of them, where it
// has panels enough), when the product is wider and has several row blocks: each chunk
// then streams all of A's rows past its own B columns, which stay in L2, instead of
// packing A once a chunk and fetching a B of several panels' worth back from L3 for every
// row block (x W^T over 1024 rows, computed as C^T with W as A, 2 threads: 768 x 2304
// 2,370-2,590 -> 2,630-2,960 GFLOP/s, x 768 +10 %, x 3072 +8 %; dout W over 1024 rows
// +2-5 %; over 4096 rows +0-11 %; in-process alternation, 2026-12-07). With one row block
// the plain split already reads A in place up to direct_n[1], and narrower chunks lost up
// to 16 % there. (A family that reads A in place at any width, direct_n[0] INT_MAX, never
// cuts so.)
typedef struct grid {
    int rm, rn;
} grid;

#define CHUNKS_PER_THREAD 4
#define CHUNK_FLOPS 2.0e6 // no chunk smaller than this (scheduling overhead)
#define MAX_EXTRA 0.015

static grid plan_grid(const zy__gemm_arch *ar, const gemm_args *g, int nt) {
    int um = (g->M + ar->mr - 1) / ar->mr, un = (g->N + ar->nr - 1) / ar->nr;
    const int narrow = ar->direct_n[0];
    if (g->M > ar->mc && g->N > narrow && reads_a_in_place(ar, g, g->M, narrow)) {
        int per = narrow / ar->nr, rn = (un + per - 1) / per;
        rn = (rn + nt - 1) / nt * nt;
        if (rn <= un) return (grid){1, rn}; // (else too few columns for the threads)
    }
    double cost_a = ar->pack_cost[0][g->ta], cost_b = ar->pack_cost[1][g->tb];
    double flops = 2.0 * g->M * g->N * g->K;
    int most = (int)ZY_MIN((double)nt * CHUNKS_PER_THREAD, flops / CHUNK_FLOPS);
    most = ZY_MAX(most, nt);
    grid best = {0, 0};
    double best_extra = 0.0;
    for (int rm = 1; rm <= ZY_MIN(um, most); rm++) {
        for (int rn = 1; rn <= ZY_MIN(un, most / rm); rn++) {
            int chunks = rm * rn;
            if (chunks % nt) continue; // whole rounds: every thread gets as many chunks
            double extra = cost_b * (rm - 1.0) / g->M + cost_a * (rn - 1.0) / g->N;
            if (extra > MAX_EXTRA && chunks > nt) continue;
            int best_chunks = best.rm * best.rn;
            bool better = chunks > nt && best_chunks == nt && extra <= MAX_EXTRA;
            if (!best_chunks || better ||
                (chunks > best_chunks && best_chunks > nt) ||
                (chunks == best_chunks && extra < best_extra)) {
                best = (grid){rm, rn};
                best_extra = extra;
            }
        }
    }
    if (!best.rm) { // fewer tiles than threads in a whole round: split the longer side
        best = g->M >= g->N ? (grid){ZY_MIN(um, nt), 1} : (grid){1, ZY_MIN(un, nt)};
    }
    return best;
}

// Chunk c of grid gr (row-major, so consecutive chunks share rows of A).
static void gemm_chunk(const zy__gemm_arch *ar, const gemm_args *g, grid gr, int c) {
    int r = c / gr.rn, q = c % gr.rn;
    int um = (g->M + ar->mr - 1) / ar->mr, un = (g->N + ar->nr - 1) / ar->nr;
    int i0 = (int)((long long)um * r / gr.rm) * ar->mr;
    int i1 = ZY_MIN((int)((long long)um * (r + 1) / gr.rm) * ar->mr, g->M);
    int j0 = (int)((long long)un * q / gr.rn) * ar->nr;
    int j1 = ZY_MIN((int)((long long)un * (q + 1) / gr.rn) * ar->nr, g->N);
    if (i0 >= i1 || j0 >= j1) return;
    gemm_args p = *g;
    p.M = i1 - i0;
    p.N = j1 - j0;
    if (g->aq.p) p.aq.p += (size_t)i0 * g->aq.row; // (its rows are op(A)'s)
    else p.A = advance(g->A, g->ta ? (ptrdiff_t)i0 : (ptrdiff_t)i0 * g->lda, g->a16);
    if (g->bq.p) p.bq.p += (size_t)j0 * g->bq.row; // (its rows are op(B)'s columns)
    else p.B = advance(g->B, g->tb ? (ptrdiff_t)j0 * g->ldb : (ptrdiff_t)j0, g->b16);
    p.C += c_at(g, i0, j0);
    if (p.bias) p.bias += g->tc ? i0 : j0;
    gemm_serial(ar, &p);
}

// How many threads a product of this size deserves (1 inside a parallel region).
static int threads_for(int M, int N, int K) {
    if (zy__in_parallel()) return 1;
    int nt = zy_threads_get();
    if (nt <= 1 || 2.0 * M * N * K < THREAD_FLOPS) return 1;
    return nt;
}

// Runs fn(ctx, 0 .. n-1) on up to nt threads of the pool, each taking the next item as it
// frees up (src/core/pool.h: idle threads yield the CPU instead of spinning at a barrier).
typedef void (*item_fn)(void *ctx, int i);

typedef struct items_job {
    item_fn fn;
    void *ctx;
} items_job;

static void items_range(void *ctx, size_t begin, size_t end, int thread) {
    (void)thread;
    const items_job *j = ctx;
    for (size_t i = begin; i < end; i++) j->fn(j->ctx, (int)i);
}

static void run_items(int nt, int n, item_fn fn, void *ctx) {
    items_job j = {fn, ctx};
    zy__parallel((size_t)n, 1, nt, items_range, &j);
}

typedef struct chunk_job {
    const zy__gemm_arch *ar;
    const gemm_args *g;
    grid gr;
} chunk_job;

static void chunk_item(void *ctx, int c) {
    const chunk_job *j = ctx;
    gemm_chunk(j->ar, j->g, j->gr, c);
}

// The bf16 AMX layouts (gemm_bf16.c) pack op(A) cheaply when its rows run along k (A not
// transposed) and op(B) when its rows are k rows (B not transposed); the other two cases
// transpose while packing, which costs several times more. C^T = op(B)^T op(A)^T turns
// each operand's case around, so a family with a transposed-store kernel computes that
// instead when it transposes fewer elements: a linear layer's forward product (x W^T)
// then converts W as it lies and transposes the smaller x. Each element's sum is the
// same either way (the products are the same, in the same k order).
// Whether C^T pays for a family with a transposed-store kernel (whether ar has one or
// not: plan_depth asks it of both).
// Besides the transposes, each way pays for its stores into C, counted per element of C
// in units of one element transposed while packing (fitted on the AMX machine to
// bench_gemm's fwd and dW shapes over 64 to 4096 rows, 1 and 2 threads, fp32 and bf16
// operands, each product timed both ways in alternation; 2026-12-07):
// - as C lies, a C beyond L2 (SMALL_C) takes the kernel's vector stores after the
//   products, once per k block: the family's store_cost[0] (AMX: 1.0);
// - transposed, the store is made during the next tile's products (gemm_bf16_amx.c:
//   pending), and only the last k block's (earlier ones keep the sums as they lie); what
//   the products do not hide shrinks with their depth: store_cost[1] at 256 deep (AMX:
//   1.5), by the square of the ratio of the depths beyond.
// The model of 2026-12-04 (the transposed store at 2/3, every k block, nothing for the
// other) predates the pending store. Against it, x W^T over 1024 rows and more now runs
// transposed (1024 x 768 x 2304, bf16 operands, 2 threads: 2,030 -> 2,350 GFLOP/s), and so
// does dW over 1024 rows and more (50257 x 768 x 1024: 1,230 -> 1,560), while dW over 256
// rows stays as it is (transposed it lost 15-25 %).
static bool swap_pays(const zy__gemm_arch *ar, const gemm_args *g) {
    bool small = !g->packed_only && 2.0 * g->M * g->N * g->K < SMALL_FLOPS; // gemm_small
    // Below 128 deep a tile's few products cost less than its transposed store: as is.
    if (g->tc || g->K < 128 || small) return false;
    double mk = (double)g->M * g->K, nk = (double)g->N * g->K, mn = (double)g->M * g->N;
    double as_is = (g->ta ? mk : 0.0) + (g->tb ? nk : 0.0);
    double swapped = (g->tb ? 0.0 : nk) + (g->ta ? 0.0 : mk);
    int blocks = (g->K + ar->kc - 1) / ar->kc;
    double shallow = 256.0 * blocks / g->K; // 256 over a k block's depth
    if (mn * sizeof(float) > SMALL_C) as_is += ar->store_cost[0] * mn * blocks;
    swapped += ar->store_cost[1] * shallow * shallow * mn;
    return swapped < as_is;
}

static gemm_args orient(const zy__gemm_arch *ar, const gemm_args *g) {
    if (!ar->kernel_t || !swap_pays(ar, g)) return *g;
    gemm_args t = *g;
    t.ta = !g->tb, t.tb = !g->ta;
    t.M = g->N, t.N = g->M;
    t.A = g->B, t.B = g->A;
    t.lda = g->ldb, t.ldb = g->lda;
    t.a16 = g->b16, t.b16 = g->a16;
    t.aq = g->bq, t.bq = g->aq;
    t.tc = true;
    return t;
}

// The k block of product g (as asked, before orient): the family's kc_small where it has
// one, C is not one that would be computed transposed (the transposed store costs more
// per pass; asked of the product, not of the family, so that both orientations still give
// the same bits) and C stays in L2 between its extra passes (SMALL_C). A C of a few MB
// took kc_small too until 2026-12-06, when the full k block measured faster there on
// both thread counts (AMX machine: dout W 1024 x 768 x 2304, 2 threads, 1,690 -> 1,865
// GFLOP/s; x W^T 1024 x 3072 x 768 1,680 -> 1,810; dout W 256 x 3072 x 768 one core 660
// -> 715), while a C within L2 gains from it (dout W 256 x 768 x 768 against the full
// block: one core 1,235-1,255 -> 1,330 GFLOP/s, 2 threads 2,490-2,530 -> 2,540-2,610).
// Products deeper than kc took kc from 2026-12-06, when each extra pass went through C;
// since the AMX kernel keeps the sums between blocks apart from C (zy__gemm_hints: sums)
// they take kc_small again (2026-12-07, in-process alternation, 1 and 2 threads: dout W
// 256 x 768 x 50257 +31 / +23 %, 256 x 768 x 3072 +22 / +22 %, 64 x 768 x 2304 +15 /
// +9 %); computed transposed they still lose (x W^T 64 x 768 x 2304, one core: -36 %).
// With one row block of A (M <= mc) a C past L2 whose tiles' sums fit their room takes it
// too: each B panel is then used once per k block, from L1 at 256 deep (dout W 256 x 3072
// x 768, 2 threads: 1,774 -> 1,964 GFLOP/s, best of 3 alternations). Over several row
// blocks, a product at most kc deep whose B stays in L2 (SMALL_C) takes it too, computed
// rows outer (gemm_blocked): every k block of B packed once and kept, each row block run
// through them all with only its own tiles' sums waiting in their room, and C streamed
// where it is large (dout W over 1024 rows, 2 threads: 2,336 -> 2,566 GFLOP/s; 4096 rows
// 2,336 -> 2,665; one core 1024 rows 1,138 -> 1,253; in-process alternation, 2026-12-07).
// Before rows outer the same depth lost 7 % there; with a B of 4.7 MB (4096 x 3072 x 768)
// rows outer lost 20 %, so a B past L2 keeps kc.
static int plan_depth(const zy__gemm_arch *ar, const gemm_args *g) {
    double c = (double)g->M * g->N * sizeof(float);
    if (!ar->kc_small || g->tc || swap_pays(ar, g)) return ar->kc;
    bool rows_outer = g->M > ar->mc && g->K <= ar->kc && g->alpha == 1.0f && g->beta == 0.0f &&
                      (double)g->K * g->N * ar->elem <= SMALL_C;
    return c <= SMALL_C || (g->M <= ar->mc && sums_fit(ar, g)) || rows_outer ? ar->kc_small
                                                                               : ar->kc;
}

// How the product is computed: its orientation, k block and stores. A bf16 family packs
// every product, however small: an fp32 shortcut for the tiny ones would make a row's bits
// depend on how many rows share its product (with cont, nothing else does).
static gemm_args plan(const zy__gemm_arch *ar, const gemm_args *g_in) {
    gemm_args in = *g_in;
    in.packed_only |= ar->pack16_a != NULL;
    gemm_args g = orient(ar, &in);
    g.kc = plan_depth(ar, &in);
    g.stream = ar->streams && g.beta == 0.0f &&
               (double)g.M * g.N * sizeof(float) > STREAM_BYTES;
    return g;
}

static void sgemm_with(const zy__gemm_arch *ar, const gemm_args *g_in) {
    gemm_args planned = plan(ar, g_in);
    const gemm_args *g = &planned;
    int nt = g->K == 0 ? 1 : threads_for(g->M, g->N, g->K);
    grid gr = nt > 1 ? plan_grid(ar, g, nt) : (grid){1, 1};
    int chunks = gr.rm * gr.rn;
    if (chunks <= 1) {
        gemm_serial(ar, g);
        return;
    }
    chunk_job job = {ar, g, gr};
    run_items(nt, chunks, chunk_item, &job);
}

static void sgemm(const gemm_args *g_in) {
    if (tls_precision != ZY_PRECISION_BF16) {
        sgemm_with(pick_arch(), g_in);
        return;
    }
    gemm_args g = *g_in;
    use_copies(&g);
    sgemm_with(bf16_arch(), &g);
}

void zy__sgemm_arch(const zy__gemm_arch *ar, bool transA, bool transB, int M, int N, int K,
                    float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                    float *C, int ldc) {
    if (M <= 0 || N <= 0 || K < 0) return;
    gemm_args g = product_args(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    sgemm_with(ar, &g);
}

void zy_sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0 || K < 0) return;
    gemm_args g = product_args(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    sgemm(&g);
}

zy_status zy_gemm_bf16(bool transA, bool transB, int M, int N, int K, float alpha,
                       const void *A, zy_dtype a_type, int lda, const void *B, zy_dtype b_type,
                       int ldb, float beta, float *C, int ldc) {
    bool ok_a = a_type == ZY_DTYPE_F32 || a_type == ZY_DTYPE_BF16;
    bool ok_b = b_type == ZY_DTYPE_F32 || b_type == ZY_DTYPE_BF16;
    if (!ok_a || !ok_b) {
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "zy_gemm_bf16: %s's type must be F32 or BF16", ok_a ? "B" : "A");
    }
    if (M <= 0 || N <= 0 || K < 0) return ZY_STATUS_OK;
    gemm_args g = product_args(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    g.a16 = a_type == ZY_DTYPE_BF16, g.b16 = b_type == ZY_DTYPE_BF16;
    g.packed_only = true;
    sgemm_with(bf16_arch(), &g);
    return ZY_STATUS_OK;
}

void zy__sgemm_bias(bool transA, bool transB, int M, int N, int K, const float *A, int lda,
                    const float *B, int ldb, const float *bias, float *C, int ldc) {
    if (M <= 0 || N <= 0 || K < 0) return;
    gemm_args g = product_args(transA, transB, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
    g.bias = bias;
    sgemm(&g);
}

void zy__wgemm(float *out, int ldo, const zy_wmatrix *W, const float *in, int ldi,
               const float *bias, int R) {
    if (R <= 0 || W->rows <= 0 || W->cols < 0) return;
    gemm_args g = product_args(false, true, R, W->rows, W->cols, 1.0f, in, ldi, W->data,
                               (int)(W->row_bytes / sizeof(float)), 0.0f, out, ldo);
    g.bias = bias;
    if (W->type == ZY_WTYPE_BF16 && tls_precision == ZY_PRECISION_BF16) {
        g.b16 = true, g.ldb = (int)(W->row_bytes / sizeof(uint16_t)); // used as it lies
    } else if (W->type != ZY_WTYPE_F32) {
        g.B = NULL, g.ldb = 0;
        g.bq = (typed_src){.p = W->data, .type = W->type, .row = W->row_bytes};
    }
    sgemm(&g);
}

typedef struct batch_job {
    const zy__gemm_arch *ar;
    const gemm_args *g; // matrix 0
    ptrdiff_t sa, sb, sc;
} batch_job;

static void batch_item(void *ctx, int i) {
    const batch_job *j = ctx;
    gemm_args g = *j->g;
    g.A = advance(g.A, i * j->sa, g.a16);
    g.B = advance(g.B, i * j->sb, g.b16);
    g.C += i * j->sc;
    gemm_serial(j->ar, &g);
}

void zy_sgemm_batched(bool transA, bool transB, int M, int N, int K, float alpha,
                      const float *A, int lda, ptrdiff_t strideA, const float *B, int ldb,
                      ptrdiff_t strideB, float beta, float *C, int ldc, ptrdiff_t strideC,
                      int batch) {
    if (batch <= 0 || M <= 0 || N <= 0 || K < 0) return;
    const zy__gemm_arch *ar = pick_arch();
    int nt = zy__in_parallel() ? 1 : zy_threads_get();
    if (2.0 * M * N * K * batch < THREAD_FLOPS) nt = 1; // less than waking the pool costs
    // Whole matrices per thread when there are enough of them to balance (or they are too
    // small to split): no duplicated packing, no per-matrix parallel region.
    bool per_matrix = nt > 1 && batch > 1 &&
                      (batch % nt == 0 || batch >= 4 * nt || threads_for(M, N, K) == 1);
    if (!per_matrix) {
        for (int i = 0; i < batch; i++)
            zy_sgemm(transA, transB, M, N, K, alpha, A + i * strideA, lda, B + i * strideB,
                     ldb, beta, C + i * strideC, ldc);
        return;
    }
    gemm_args g0 = product_args(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    gemm_args g = plan(ar, &g0); // A and B (and their strides) may trade places
    batch_job job = {ar, &g, g.tc ? strideB : strideA, g.tc ? strideA : strideB, strideC};
    run_items(nt, batch, batch_item, &job);
}
