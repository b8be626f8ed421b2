// Linear layer (PyTorch nn.Linear layout: weight is (Cout, Cin)) forward and backward.
// The three matrix products go through zy_sgemm, which owns blocking, SIMD and threads;
// this file only adds the bias and reduces dbias. Not a fused GEMM epilogue.
#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"

// Columns per dbias block: each block is owned by one thread and summed over all rows in
// row order, so the result is the same at any thread count (no shared accumulators).
#define LINEAR_COL_BLOCK 64
// Below this many elements a parallel region costs more than it saves.
#define LINEAR_PAR_MIN (1 << 15)

// inp (N, Cin), weight (Cout, Cin), bias (Cout) or NULL -> out (N, Cout)
void zy_linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                       int N, int Cin, int Cout) {
    // out = inp · Wᵀ: A = inp (N,Cin), op(B) = Wᵀ with W stored (Cout,Cin).
    zy_sgemm(false, true, N, Cout, Cin, 1.0f, inp, Cin, weight, Cin, 0.0f, out, Cout);
    if (!bias) return;
    int par = (long long)N * Cout >= LINEAR_PAR_MIN && !zy__in_parallel();
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (int n = 0; n < N; n++) {
        float *o = out + (size_t)n * Cout;
        for (int j = 0; j < Cout; j++) o[j] += bias[j];
    }
}

// dbias (Cout) += Σ_n dout[n, :], dout (N, Cout). Summed in double per column block.
static void linear_dbias(float *dbias, const float *dout, int N, int Cout) {
    int nblocks = (Cout + LINEAR_COL_BLOCK - 1) / LINEAR_COL_BLOCK;
    int par = (long long)N * Cout >= LINEAR_PAR_MIN && nblocks > 1 && !zy__in_parallel();
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (int blk = 0; blk < nblocks; blk++) {
        int j0 = blk * LINEAR_COL_BLOCK, nj = ZY_MIN(LINEAR_COL_BLOCK, Cout - j0);
        double acc[LINEAR_COL_BLOCK] = {0};
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * Cout + j0;
            for (int j = 0; j < nj; j++) acc[j] += d[j];
        }
        for (int j = 0; j < nj; j++) dbias[j0 + j] += (float)acc[j];
    }
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
