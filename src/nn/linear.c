// Linear layer (PyTorch nn.Linear layout: weight is (Cout, Cin)) forward and backward.
// The three matrix products go through zy_sgemm, which owns blocking, SIMD and threads;
// this file only adds the bias and reduces dbias. Not a fused GEMM epilogue.
#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"

// Columns per dbias block: each block is owned by one thread and summed over all rows in
// row order, so the result is the same at any thread count (no shared accumulators).
#define LINEAR_COL_BLOCK 64
// Below this many elements a parallel region costs more than it saves.
#define LINEAR_PAR_MIN (1 << 15)

// Rows per chunk for the bias add (about 16K elements; rows are independent).
#define LINEAR_CHUNK_ELEMS 16384

typedef struct bias_job {
    float *out, *dbias;       // out (N, Cout) for forward, dbias (Cout) for backward
    const float *bias, *dout; // bias (Cout), dout (N, Cout)
    int N, Cout;
} bias_job;

static void add_bias_rows(void *ctx, size_t n0, size_t n1, int thread) {
    (void)thread;
    const bias_job *j = ctx;
    for (size_t n = n0; n < n1; n++) {
        float *o = j->out + n * j->Cout;
        for (int c = 0; c < j->Cout; c++) o[c] += j->bias[c];
    }
}

// inp (N, Cin), weight (Cout, Cin), bias (Cout) or NULL -> out (N, Cout)
void zy_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int N, int Cin, int Cout) {
    // out = inp · Wᵀ: A = inp (N,Cin), op(B) = Wᵀ with W stored (Cout,Cin).
    zy_sgemm(false, true, N, Cout, Cin, 1.0f, inp, Cin, weight, Cin, 0.0f, out, Cout);
    if (!bias || N <= 0 || Cout <= 0) return;
    bias_job j = {.out = out, .bias = bias, .N = N, .Cout = Cout};
    size_t rows = (size_t)ZY_MAX(1, LINEAR_CHUNK_ELEMS / Cout);
    if ((long long)N * Cout < LINEAR_PAR_MIN) add_bias_rows(&j, 0, (size_t)N, 0);
    else zy__parallel((size_t)N, rows, 0, add_bias_rows, &j);
}

// Column blocks [b0, b1) of dbias += Σ_n dout[n, :], summed in double in row order.
static void dbias_blocks(void *ctx, size_t b0, size_t b1, int thread) {
    (void)thread;
    const bias_job *j = ctx;
    for (size_t blk = b0; blk < b1; blk++) {
        int j0 = (int)blk * LINEAR_COL_BLOCK, nj = ZY_MIN(LINEAR_COL_BLOCK, j->Cout - j0);
        double acc[LINEAR_COL_BLOCK] = {0};
        for (int n = 0; n < j->N; n++) {
            const float *d = j->dout + (size_t)n * j->Cout + j0;
            for (int c = 0; c < nj; c++) acc[c] += d[c];
        }
        for (int c = 0; c < nj; c++) j->dbias[j0 + c] += (float)acc[c];
    }
}

// dbias (Cout) += Σ_n dout[n, :], dout (N, Cout).
static void linear_dbias(float *dbias, const float *dout, int N, int Cout) {
    if (Cout <= 0) return;
    size_t nblocks = (size_t)(Cout + LINEAR_COL_BLOCK - 1) / LINEAR_COL_BLOCK;
    bias_job j = {.dbias = dbias, .dout = dout, .N = N, .Cout = Cout};
    int par = (long long)N * Cout >= LINEAR_PAR_MIN;
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
