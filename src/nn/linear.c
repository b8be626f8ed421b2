// Linear layer (PyTorch nn.Linear layout: weight is (Cout, Cin)) forward and backward.
// The three matrix products go through zy_sgemm (forward: its bias epilogue), which owns
// blocking, SIMD and threads; this file only reduces dbias.
#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "kernels/gemm_bias.h"
#include "nn/colsum.h"

// Columns per dbias block: each block is owned by one thread and summed over all rows in
// row order, so the result is the same at any thread count (no shared accumulators).
#define LINEAR_COL_BLOCK 64
// Below this many elements a parallel region costs more than it saves.
#define LINEAR_PAR_MIN (1 << 15)

typedef struct bias_job {
    float *dbias;      // (Cout)
    const float *dout; // (N, Cout)
    int N, Cout;
} bias_job;

// inp (N, Cin), weight (Cout, Cin), bias (Cout) or NULL -> out (N, Cout)
void zy_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int N, int Cin, int Cout) {
    // out = inp · Wᵀ + bias: A = inp (N,Cin), op(B) = Wᵀ with W stored (Cout,Cin). The
    // GEMM adds the bias to each block of out it computes (one parallel region, not two).
    zy__sgemm_bias(false, true, N, Cout, Cin, inp, Cin, weight, Cin, bias, out, Cout);
}

// acc[c] += rows[r * ld + c], r < n in order, c < C (colsum.h): with AVX-512 16 columns a
// step (colsum_avx512.c; 4,096 x 2,048 on 2 threads, AMX machine: 1.7-2.1 -> 0.8-0.9 ms;
// 64-column blocks of 256 x 2,304: 0.10 -> 0.055 ms), else this loop; the same bits.
static void colsum(double *acc, const float *rows, size_t ld, size_t n, int C) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) {
        zy__colsum_avx512(acc, rows, ld, n, C);
        return;
    }
    for (size_t r = 0; r < n; r++) {
        const float *d = rows + r * ld;
        if (r + ZY_ROW_AHEAD < n) zy__prefetch_floats(d + ZY_ROW_AHEAD * ld, C);
        for (int c = 0; c < C; c++) acc[c] += d[c];
    }
}

// Column blocks [b0, b1) of dbias += Σ_n dout[n, :], summed in double in row order.
static void dbias_blocks(void *ctx, size_t b0, size_t b1, int thread) {
    (void)thread;
    const bias_job *j = ctx;
    for (size_t blk = b0; blk < b1; blk++) {
        int j0 = (int)blk * LINEAR_COL_BLOCK, nj = ZY_MIN(LINEAR_COL_BLOCK, j->Cout - j0);
        double acc[LINEAR_COL_BLOCK] = {0};
        colsum(acc, j->dout + j0, (size_t)j->Cout, (size_t)j->N, nj);
        for (int c = 0; c < nj; c++) j->dbias[j0 + c] += (float)acc[c];
    }
}

// Rows [n0, n1) of dout added into acc (Cout doubles).
static void dbias_rows(void *ctx, size_t n0, size_t n1, double *acc) {
    const bias_job *j = ctx;
    colsum(acc, j->dout + n0 * (size_t)j->Cout, (size_t)j->Cout, n1 - n0, j->Cout);
}

// dbias (Cout) += Σ_n dout[n, :], dout (N, Cout). From LINEAR_GROUP_ROWS rows on, by
// fixed groups of rows, each row read along its length (zy__parallel_row_sums): a column
// block at a time strides through dout a row apart (4,096 x 512: 0.42 -> 0.33 ms, 4,096 x
// 2,048: 1.7 -> 1.15 ms on the AMX machine). Fewer rows (GPT-2's 256 x 2,304: 0.05 ms
// against 0.07), or no scratch for the groups: by column blocks.
#define LINEAR_GROUP_ROWS 1024
static void linear_dbias(float *dbias, const float *dout, int N, int Cout) {
    if (Cout <= 0) return;
    bias_job j = {.dbias = dbias, .dout = dout, .N = N, .Cout = Cout};
    int par = (long long)N * Cout >= LINEAR_PAR_MIN;
    double *sums = par && N >= LINEAR_GROUP_ROWS ? zy_alloc((size_t)Cout * sizeof *sums) : NULL;
    if (sums && zy__parallel_row_sums((size_t)N, (size_t)Cout, 0, dbias_rows, &j, sums)) {
        for (int c = 0; c < Cout; c++) dbias[c] += (float)sums[c];
        zy_free(sums);
        return;
    }
    zy_free(sums);
    size_t nblocks = (size_t)(Cout + LINEAR_COL_BLOCK - 1) / LINEAR_COL_BLOCK;
    zy__parallel(nblocks, 1, par ? 0 : 1, dbias_blocks, &j);
}

// dout (N, Cout), inp (N, Cin), weight (Cout, Cin) ->
// dinp (N, Cin) += dout·W, dweight (Cout, Cin) += doutᵀ·inp, dbias (Cout) += Σ_n dout
void zy_linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, int N, int Cin, int Cout) {
    // beta = 1 makes the GEMMs accumulate, which is the "backward adds" contract.
    if (dinp)
        zy_sgemm(false, false, N, Cin, Cout, 1.0f, dout, Cout, weight, Cin, 1.0f, dinp, Cin);
    if (dweight)
        zy_sgemm(true, false, Cout, Cin, N, 1.0f, dout, Cout, inp, Cin, 1.0f, dweight, Cin);
    if (dbias) linear_dbias(dbias, dout, N, Cout);
}
