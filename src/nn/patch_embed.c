// ViT patch embedding (nn.h): the Conv2d with kernel = stride = P that Hugging Face's
// ViTPatchEmbeddings applies, done as im2col + GEMM. Patches do not overlap, so the gather
// (im2col) and its adjoint (a scatter-add into dinp) are plain copies of P-float row
// pieces with no conflicts; the products are the linear layer's (zy_linear_*, zy_sgemm),
// which own blocking, SIMD and threads. Nothing is allocated: the caller's scratch holds
// the gathered rows.
#include <string.h>

#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"

size_t zy_patch_embed_scratch_floats(int B, int C, int H, int W, int P) {
    ZY_ASSERT(B >= 0 && C >= 0 && H >= 0 && W >= 0 && P > 0);
    return (size_t)B * (size_t)(H / P) * (size_t)(W / P) * (size_t)C * (size_t)P * (size_t)P;
}

// inp (B, C, H, W) -> rows (B·N, C·P·P): rows[b·N + py·Wp + px][c·P·P + ky·P + kx] =
// inp[b][c][py·P + ky][px·P + kx].
static void gather(float *rows, const float *inp, int B, int C, int H, int W, int P) {
    int Hp = H / P, Wp = W / P;
    size_t K = (size_t)C * P * P, N = (size_t)Hp * Wp;
    for (int b = 0; b < B; b++)
        for (int py = 0; py < Hp; py++)
            for (int c = 0; c < C; c++)
                for (int ky = 0; ky < P; ky++) {
                    size_t y = (size_t)py * P + ky;
                    const float *src = inp + (((size_t)b * C + c) * H + y) * W;
                    float *dst = rows + ((size_t)b * N + (size_t)py * Wp) * K +
                                 ((size_t)c * P + ky) * P;
                    for (int px = 0; px < Wp; px++)
                        memcpy(dst + (size_t)px * K, src + (size_t)px * P,
                               (size_t)P * sizeof *dst);
                }
}

// The adjoint of gather: dinp (B, C, H, W) += drows (B·N, C·P·P) put back in place.
static void scatter_add(float *dinp, const float *drows, int B, int C, int H, int W, int P) {
    int Hp = H / P, Wp = W / P;
    size_t K = (size_t)C * P * P, N = (size_t)Hp * Wp;
    for (int b = 0; b < B; b++)
        for (int py = 0; py < Hp; py++)
            for (int c = 0; c < C; c++)
                for (int ky = 0; ky < P; ky++) {
                    float *dst = dinp + (((size_t)b * C + c) * H + (size_t)py * P + ky) * W;
                    const float *src = drows + ((size_t)b * N + (size_t)py * Wp) * K +
                                       ((size_t)c * P + ky) * P;
                    for (int px = 0; px < Wp; px++) {
                        float *d = dst + (size_t)px * P;
                        const float *s = src + (size_t)px * K;
                        for (int kx = 0; kx < P; kx++) d[kx] += s[kx];
                    }
                }
}

void zy_patch_embed_forward(float *out, float *scratch, const float *inp, const float *weight,
                            const float *bias, int B, int C, int H, int W, int P, int D) {
    ZY_ASSERT(B >= 0 && C > 0 && H >= 0 && W >= 0 && P > 0 && D > 0);
    int BN = B * (H / P) * (W / P), K = C * P * P;
    gather(scratch, inp, B, C, H, W, P);
    // The weight (D, C, P, P) is a (D, K) matrix in the rows' column order.
    zy_linear_forward(out, scratch, weight, bias, BN, K, D);
}

void zy_patch_embed_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                             const float *dout, const float *inp, const float *weight, int B,
                             int C, int H, int W, int P, int D) {
    ZY_ASSERT(B >= 0 && C > 0 && H >= 0 && W >= 0 && P > 0 && D > 0);
    int BN = B * (H / P) * (W / P), K = C * P * P;
    if (dweight) gather(scratch, inp, B, C, H, W, P);
    if (dweight || dbias)
        zy_linear_backward(NULL, dweight, dbias, dout, scratch, weight, BN, K, D);
    if (dinp) {
        // drows (BN, K) = dout · W, written over the rows (beta 0), then put back.
        zy_sgemm(false, false, BN, K, D, 1.0f, dout, D, weight, K, 0.0f, scratch, K);
        scatter_add(dinp, scratch, B, C, H, W, P);
    }
}
