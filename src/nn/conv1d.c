// 1-D convolution over time (nn.h), PyTorch's Conv1d on time-major rows, as im2col + GEMM
// like the patch embedding: the windows are gathered into rows (B·To, Cin·K) and the
// products are the linear layer's (zy_linear_*, zy_sgemm), which own blocking, SIMD and
// threads. Windows overlap when S < K, so the adjoint of the gather is a scatter-add.
// Nothing is allocated.
#include <string.h>

#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"

int zy_conv1d_out_len(int T, int K, int S, int P) {
    ZY_ASSERT(T >= 0 && K > 0 && S > 0 && P >= 0);
    long long span = (long long)T + 2LL * P - K;
    return span < 0 ? 0 : (int)(span / S + 1);
}

size_t zy_conv1d_scratch_floats(int B, int T, int Cin, int K, int S, int P) {
    ZY_ASSERT(B >= 0 && Cin >= 0);
    return (size_t)B * (size_t)zy_conv1d_out_len(T, K, S, P) * (size_t)Cin * (size_t)K;
}

// inp (B, T, Cin) -> rows (B·To, Cin·K): rows[b·To + o][c·K + k] = inp[b][o·S - P + k][c],
// zero outside [0, T).
static void gather(float *rows, const float *inp, int B, int T, int Cin, int K, int S, int P) {
    int To = zy_conv1d_out_len(T, K, S, P);
    size_t W = (size_t)Cin * K;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < To; o++) {
            float *r = rows + ((size_t)b * To + o) * W;
            for (int k = 0; k < K; k++) {
                int t = o * S - P + k;
                if (t < 0 || t >= T) {
                    for (int c = 0; c < Cin; c++) r[(size_t)c * K + k] = 0.0f;
                    continue;
                }
                const float *x = inp + ((size_t)b * T + t) * Cin;
                for (int c = 0; c < Cin; c++) r[(size_t)c * K + k] = x[c];
            }
        }
}

// The adjoint of gather: dinp (B, T, Cin) += each row's pieces put back where they came
// from (padding positions dropped).
static void scatter_add(float *dinp, const float *rows, int B, int T, int Cin, int K, int S,
                        int P) {
    int To = zy_conv1d_out_len(T, K, S, P);
    size_t W = (size_t)Cin * K;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < To; o++) {
            const float *r = rows + ((size_t)b * To + o) * W;
            for (int k = 0; k < K; k++) {
                int t = o * S - P + k;
                if (t < 0 || t >= T) continue;
                float *d = dinp + ((size_t)b * T + t) * Cin;
                for (int c = 0; c < Cin; c++) d[c] += r[(size_t)c * K + k];
            }
        }
}

void zy_conv1d_forward(float *out, float *scratch, const float *inp, const float *weight,
                       const float *bias, int B, int T, int Cin, int Cout, int K, int S,
                       int P) {
    ZY_ASSERT(B >= 0 && T >= 0 && Cin > 0 && Cout > 0 && K > 0 && S > 0 && P >= 0);
    int N = B * zy_conv1d_out_len(T, K, S, P);
    if (N == 0) return;
    gather(scratch, inp, B, T, Cin, K, S, P);
    zy_linear_forward(out, scratch, weight, bias, N, Cin * K, Cout);
}

void zy_conv1d_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                        const float *dout, const float *inp, const float *weight, int B,
                        int T, int Cin, int Cout, int K, int S, int P) {
    ZY_ASSERT(B >= 0 && T >= 0 && Cin > 0 && Cout > 0 && K > 0 && S > 0 && P >= 0);
    int N = B * zy_conv1d_out_len(T, K, S, P), W = Cin * K;
    if (N == 0) return;
    if (dweight) gather(scratch, inp, B, T, Cin, K, S, P);
    if (dweight || dbias) zy_linear_backward(NULL, dweight, dbias, dout, scratch, weight, N, W, Cout);
    if (dinp) {
        // drows (N, W) = dout · W, written over the rows (beta 0), then put back.
        zy_sgemm(false, false, N, W, Cout, 1.0f, dout, Cout, weight, W, 0.0f, scratch, W);
        scatter_add(dinp, scratch, B, T, Cin, K, S, P);
    }
}
