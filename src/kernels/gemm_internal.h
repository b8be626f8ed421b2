// GEMM internals shared by the driver (gemm.c), the packing routines (gemm_pack.c) and
// the micro-kernels (gemm_scalar.c, gemm_avx2.c, gemm_avx512.c). Not public API.
//
// The scheme is GotoBLAS/BLIS: C is cut into blocks, op(A) and op(B) are copied
// ("packed") into contiguous panels so a register-blocked micro-kernel can stream them:
//   packed A panel: MR rows x kc, stored k-major: pa[k*MR + i]   (rows past m are 0)
//   packed B panel: kc x NR cols, stored k-major: pb[k*NR + j]   (cols past n are 0)
// Packing absorbs transA/transB and the strides, so one micro-kernel serves all cases.
// The fp32 families pack floats so; the bf16 families (gemm_bf16.c) pack bf16 values in
// their instructions' layouts, with the depth padded to a multiple of their `kpad` (zeros),
// which is why panels are passed as untyped memory and sized by `elem` and `kpad`.
#ifndef ZHUYI_GEMM_INTERNAL_H
#define ZHUYI_GEMM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// What the driver tells a kernel about memory; kernels may ignore any of it.
// - Memory to pull towards L2 while it computes (data a later pack needs): two
//   consecutive cache lines per k, walking `per` iterations (2*per lines) along a row,
//   then moving to the next row `row` floats further:
//     k -> base + (k / per) * row + (k % per) * 32 floats, and 16 floats after that.
//   per <= 0 means "one row" (the walk just runs on). Prefetches never fault, so any
//   address is safe.
// - stream: C is far larger than the caches and beta is 0, so a full tile may be written
//   with non-temporal stores (no read of the lines it overwrites); the driver fences after.
// - cont: a later k block of a product with alpha 1 and beta 0 (the kernel is called with
//   beta 1): C holds the sums of the earlier blocks as they left the accumulators, and a
//   kernel may start its accumulators from C and overwrite it, so the sums run on as in
//   one block and the k blocking never changes the bits. A family takes it or leaves it
//   in all its kernels and its emulation alike (the AMX family takes it: its k block
//   depends on C's size, and so on the row count, gemm.c: plan_depth).
// - pull: pull_bytes of memory to bring into L2 during the call, as much of it as the
//   kernel's loop has room for (the AMX kernel: 256 bytes a 32-deep chunk; the next
//   B panel, when the packed B block is larger than L2 keeps; with A read in place, a
//   part of the next block of A's rows; gemm.c).
// - c_cached: the product's C fits in L2, so its lines are there to store into (the AMX
//   kernel then stores whole tiles straight from its tile registers; where C's lines
//   come from memory it stores through vector registers, whose stores drain while the
//   next tile computes; where C is past the caches and will not stream, it fetches the
//   lines a tile will be stored into for writing while it computes, as the AVX512-BF16
//   kernel does into any C it does not stream).
// - more: a later k block continues these sums with cont (the driver sets it on every
//   block of such a product but the last). A kernel that stores transposed may leave a
//   whole tile's sums in its square of C as they lie until the last block (its cont
//   calls then start from them as they lie) -- its family alike in every kernel.
// - sums: with cont or more, a 64-byte aligned block of mr x nr floats (rows nr apart)
//   private to this tile of this product and thread, or NULL. A kernel may keep the
//   tile's sums there between k blocks instead of in C: every call but the last (more)
//   writes them there, and every call after the first (cont) starts from them; the last
//   then stores into C as usual. Its family alike in every kernel: C's lines are then
//   written once, not at every k block, so that two threads whose chunks share C's rows
//   do not pull each other's lines back and forth between their caches at every pass
//   (the AMX kernel, dout W 256 x 768 x 768 in three 256-deep blocks, 2 threads:
//   1,910 -> 2,160 GFLOP/s).
typedef struct zy__gemm_hints {
    const float *base;
    ptrdiff_t row; // floats
    int per;
    bool stream;
    bool cont;
    const char *pull;
    size_t pull_bytes;
    bool c_cached;
    bool more;
    float *sums;
} zy__gemm_hints;

// C tile (m,n) at c with row stride ldc, m <= MR, n <= NR:
//   C = alpha * (pa · pb) + beta * C, with beta == 0 never reading C.
// pa: packed A panel (MR, kc) k-major; pb: packed B panel (kc, NR) k-major (kc here is
// the depth as packed, a multiple of the family's kpad).
// Full and partial tiles must do the same arithmetic per element, so a result does not
// depend on where tile edges fall (and so not on the thread count).
typedef void (*zy__gemm_kernel_fn)(int kc, const void *pa, const void *pb, float *c, int ldc,
                                   int m, int n, float alpha, float beta,
                                   const zy__gemm_hints *hint);

typedef void (*zy__gemm_kernel_direct_fn)(int kc, const uint16_t *a, size_t lda, const void *pb,
                                          float *c, int ldc, int n, float alpha, float beta,
                                          bool transposed, const zy__gemm_hints *hint);

// Packing (see zy__gemm_pack_a / zy__gemm_pack_b below for the contract; kc is the depth
// read from the source, the panels are padded with zeros to the family's kpad).
typedef void (*zy__gemm_pack_a_fn)(bool transA, const float *A, int lda, int i0, int m,
                                   int k0, int kc, int mr, void *dst);
typedef void (*zy__gemm_pack_b_fn)(bool transB, const float *B, int ldb, int k0, int kc,
                                   int j0, int n, int nr, void *dst);
// The same from bf16 sources (the bf16 families only: values used as they are).
typedef void (*zy__gemm_pack16_a_fn)(bool transA, const uint16_t *A, int lda, int i0, int m,
                                     int k0, int kc, int mr, void *dst);
typedef void (*zy__gemm_pack16_b_fn)(bool transB, const uint16_t *B, int ldb, int k0, int kc,
                                     int j0, int n, int nr, void *dst);

// One kernel family: its register tile, the cache blocks chosen for it, its packers.
typedef struct zy__gemm_arch {
    const char *name;
    int mr, nr;     // register tile
    int kc, mc, nc; // cache blocks: kc x nr B panel in L1, mc x kc A block in L2, kc x nc B
    // 0, or a shallower k block for products whose C stays in the caches between k blocks
    // and is stored as it lies (gemm.c: plan_depth): the AMX kernel's B panel then stays in
    // L1 while A streams from L2 (at 768 deep both stream from L2, 1,190 GFLOP/s a core
    // against 1,380-1,740 at 256).
    int kc_small;
    int elem;       // bytes per packed element (4: fp32, 2: bf16)
    int kpad;       // packed depth is a multiple of this (1: none)
    // What packing one element costs in the family's multiply-adds, for the thread grid
    // (gemm.c: plan_grid prices duplicated packing with it): [0] an element of op(A),
    // [1] of op(B); [.][0] the operand as it lies, [.][1] transposed (ta, tb). About 10
    // for the fp32 kernels (AVX-512: 32 multiply-adds a cycle). AMX multiplies 16x faster:
    // 200 where its layouts transpose the operand (fitted when every element counted so:
    // the transformer-base bf16 step 2,025 -> 1,889 ms against 10, in four A/B pairs), 100
    // for op(A)'s rows along k, copied as they lie (x W^T 1024 x 768 x 768 from one core:
    // 0.11 ns an element of x, 0.21 of W), 150 for op(B)'s k rows, paired (dout W 1024 x
    // 768 x 768, 2 threads: each packing half of W and all of dout instead of all of W
    // and half of dout, 2,560-2,610 -> 2,670-2,720 GFLOP/s; x W^T 1024 x 768 x 768: half
    // of W and all of x instead of all of W, 2,580 -> 2,820).
    double pack_cost[2][2];
    // What C's stores cost a product computed as C lies [0] or as C^T [1], per element of
    // C, in units of one element transposed while packing (gemm.c: swap_pays, which also
    // describes how each is counted); unused without kernel_t.
    double store_cost[2];
    bool streams; // its kernels write C with non-temporal stores when the hint says stream
    // Its kernels take the hint cont (and so may keep sums apart with more and sums:
    // zy__gemm_hints); without, a later k block adds its sums to C (beta 1), so C is
    // written at every k block and never streamed over several.
    bool cont;
    // B panels packed at a time (0 or 1: one, just before its first use). Kernels that
    // prefetch the next panel's source (hint) want one; the others several, so that with B
    // not transposed the packer reads each source row along a longer stretch than one
    // panel's 32 values (64 or 128 bytes, a cache miss per row of a strided walk).
    int b_slab;
    zy__gemm_kernel_fn kernel;
    // The same product stored transposed -- element (i,j) of the tile at c[j*ldc + i] --
    // or NULL. With it the driver may compute C^T = op(B)^T op(A)^T instead, when that
    // packs more cheaply (gemm.c: orient); the arithmetic of each element is the same.
    zy__gemm_kernel_fn kernel_t;
    // The product with A read where it lies, or NULL: mr full rows of a bf16 source (A not
    // transposed), lda elements apart, the depth a multiple of kpad (no padding read);
    // stored as kernel (transposed: as kernel_t; cont and pull as the hint's). Same bits
    // as packing A (a copy) first.
    zy__gemm_kernel_direct_fn kernel_direct;
    // The widest block of C (columns) whose A kernel_direct reads in place: [0] over several
    // mc blocks of rows, [1] over one (gemm.c: reads_a_in_place); wider, A is packed, as
    // many B panels then reuse it.
    int direct_n[2];
    // NULL, or what stores the C blocks its kernels left pending on the calling thread:
    // such a family's kernels may leave a store to their next call, and the driver calls
    // this before it or anyone reads C (the AMX kernel leaves its transposed stores, whose
    // vector transposes then run while the next tile's products do).
    void (*flush)(void);
    zy__gemm_pack_a_fn pack_a;
    zy__gemm_pack_b_fn pack_b;
    zy__gemm_pack16_a_fn pack16_a; // NULL in the fp32 families
    zy__gemm_pack16_b_fn pack16_b;
} zy__gemm_arch;

extern const zy__gemm_arch zy__gemm_scalar;
extern const zy__gemm_arch zy__gemm_avx2;   // only use when zy_simd_level() >= AVX2
extern const zy__gemm_arch zy__gemm_avx512; // only use when zy_simd_level() >= AVX512

// bf16 families (gemm_bf16*.c): each hardware kernel and its scalar emulation share the
// tile, the blocks and the packed layout, so they compute the same bits.
#define ZY_BF16_DP_MR 14
#define ZY_BF16_DP_NR 32
#define ZY_BF16_DP_KC 768
#define ZY_BF16_DP_MC (14 * 16)
#define ZY_BF16_DP_NC 2048
#define ZY_BF16_AMX_MR 32
#define ZY_BF16_AMX_NR 32
#define ZY_BF16_AMX_KC 768
#define ZY_BF16_AMX_KC_SMALL 256
#define ZY_BF16_AMX_MC 256
#define ZY_BF16_AMX_NC 2048
extern const zy__gemm_arch zy__gemm_bf16_dp_emul;  // vdpbf16ps's arithmetic, in C
extern const zy__gemm_arch zy__gemm_bf16_amx_emul; // tdpbf16ps's arithmetic, in C
extern const zy__gemm_arch zy__gemm_bf16_dp;  // only when zy_bf16_path() >= AVX512-BF16
extern const zy__gemm_arch zy__gemm_bf16_amx; // only when zy_bf16_path() == AMX

// fp32 -> bf16 as every bf16 packer rounds (vcvtne2ps2bf16): nearest, ties to even,
// subnormals to zero of the same sign, NaN made quiet (gemm_bf16.c).
uint16_t zy__gemm_bf16_in(float x);
// dst[i] = zy__gemm_bf16_in(src[i]), i < n; the second with AVX512-BF16's conversion (only
// where zy_bf16_level() >= ZY_BF16_AVX512).
void zy__gemm_bf16_in_array(uint16_t *dst, const float *src, size_t n);
void zy__gemm_bf16_in_array_avx512bf16(uint16_t *dst, const float *src, size_t n);

// The bf16 packers (gemm_bf16.c), same contract as zy__gemm_pack_a/b with bf16 output in
// the layouts described there: A in k pairs (AVX512-BF16) or 32-deep chunks (AMX), B in k
// pairs padded to a depth of 2 or 32.
void zy__gemm_pack_a_pairs(bool transA, const float *A, int lda, int i0, int m, int k0,
                           int kc, int mr, void *dst);
void zy__gemm_pack_a_chunks(bool transA, const float *A, int lda, int i0, int m, int k0,
                            int kc, int mr, void *dst);
void zy__gemm_pack_b_pairs2(bool transB, const float *B, int ldb, int k0, int kc, int j0,
                            int n, int nr, void *dst);
void zy__gemm_pack_b_pairs32(bool transB, const float *B, int ldb, int k0, int kc, int j0,
                             int n, int nr, void *dst);
void zy__gemm_pack16_a_pairs(bool transA, const uint16_t *A, int lda, int i0, int m, int k0,
                             int kc, int mr, void *dst);
void zy__gemm_pack16_a_chunks(bool transA, const uint16_t *A, int lda, int i0, int m, int k0,
                              int kc, int mr, void *dst);
void zy__gemm_pack16_b_pairs2(bool transB, const uint16_t *B, int ldb, int k0, int kc, int j0,
                              int n, int nr, void *dst);
void zy__gemm_pack16_b_pairs32(bool transB, const uint16_t *B, int ldb, int k0, int kc,
                               int j0, int n, int nr, void *dst);

// The same with AVX512-BF16's conversion (gemm_bf16_pack_avx512bf16.c; only where
// zy_bf16_level() >= ZY_BF16_AVX512).
void zy__gemm_pack_a_pairs_avx512bf16(bool transA, const float *A, int lda, int i0, int m,
                                      int k0, int kc, int mr, void *dst);
void zy__gemm_pack_a_chunks_avx512bf16(bool transA, const float *A, int lda, int i0, int m,
                                       int k0, int kc, int mr, void *dst);
void zy__gemm_pack_b_pairs2_avx512bf16(bool transB, const float *B, int ldb, int k0,
                                       int kc, int j0, int n, int nr, void *dst);
void zy__gemm_pack_b_pairs32_avx512bf16(bool transB, const float *B, int ldb, int k0,
                                        int kc, int j0, int n, int nr, void *dst);
void zy__gemm_pack16_a_pairs_avx512bf16(bool transA, const uint16_t *A, int lda, int i0, int m,
                                        int k0, int kc, int mr, void *dst);
void zy__gemm_pack16_a_chunks_avx512bf16(bool transA, const uint16_t *A, int lda, int i0,
                                         int m, int k0, int kc, int mr, void *dst);
void zy__gemm_pack16_b_pairs2_avx512bf16(bool transB, const uint16_t *B, int ldb, int k0,
                                         int kc, int j0, int n, int nr, void *dst);
void zy__gemm_pack16_b_pairs32_avx512bf16(bool transB, const uint16_t *B, int ldb, int k0,
                                          int kc, int j0, int n, int nr, void *dst);

// zy_sgemm with the family given (tests: an emulation against its hardware kernel).
void zy__sgemm_arch(const zy__gemm_arch *ar, bool transA, bool transB, int M, int N, int K,
                    float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                    float *C, int ldc);

// op(A) rows [i0, i0+m) x cols [k0, k0+kc) -> ceil(m/mr) panels of mr x kc at dst.
// A is (M,K) with row stride lda, or (K,M) when transA.
void zy__gemm_pack_a(bool transA, const float *A, int lda, int i0, int m, int k0, int kc,
                     int mr, void *dst);
// op(B) rows [k0, k0+kc) x cols [j0, j0+n) -> ceil(n/nr) panels of kc x nr at dst.
// B is (K,N) with row stride ldb, or (N,K) when transB.
void zy__gemm_pack_b(bool transB, const float *B, int ldb, int k0, int kc, int j0, int n,
                     int nr, void *dst);

// The same contracts, with the transposing copies done 16x16 in AVX-512 registers
// (gemm_pack_avx512.c; only call at ZY_SIMD_AVX512).
void zy__gemm_pack_a_avx512(bool transA, const float *A, int lda, int i0, int m, int k0,
                            int kc, int mr, void *dst);
void zy__gemm_pack_b_avx512(bool transB, const float *B, int ldb, int k0, int kc, int j0,
                            int n, int nr, void *dst);

#endif
