// Tests of the ViT patch embedding (src/nn/patch_embed.c): PyTorch's Conv2d with kernel =
// stride = P, flattened as Hugging Face's ViTPatchEmbeddings does (tests/ref_patch.py ->
// tests/ref/patch.zyr), forward and every gradient; finite-difference gradient checks,
// sizes that are not multiples of P included; backward adds into its gradients.
//
// The op is linear in each of inp, weight and bias, so central differences have no
// truncation error, only float rounding: tol 1e-3 at eps 1e-2, as test_layers.c uses for
// the linear layer. A mis-ordered gather (say (ky, kx, c) instead of (c, ky, kx), or
// patches column-major) moves values to other places and fails every check by O(1).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/nn.h"

#define REF_PATH "tests/ref/patch.zyr"
// fp32 against a float64 reference from the same fp32 inputs; sums of up to C·P·P = 49
// products (forward, dweight: B·N = 48 terms).
#define TORCH_ATOL 1e-5
#define TORCH_RTOL 1e-5

typedef struct {
    float *inp, *weight, *bias, *out, *scratch;
    const float *w;
    int B, C, H, W, P, D;
} pe_ctx;

static size_t n_out(const pe_ctx *c) {
    return (size_t)c->B * (c->H / c->P) * (c->W / c->P) * c->D;
}

static double pe_loss(void *p) {
    pe_ctx *c = p;
    zy_patch_embed_forward(c->out, c->scratch, c->inp, c->weight, c->bias, c->B, c->C, c->H,
                           c->W, c->P, c->D);
    return zt_dot(c->out, c->w, n_out(c));
}

static pe_ctx pe_make(int B, int C, int H, int W, int P, int D, uint64_t seed) {
    pe_ctx c = {.B = B, .C = C, .H = H, .W = W, .P = P, .D = D};
    size_t ni = (size_t)B * C * H * W, nw = (size_t)D * C * P * P;
    c.inp = zt_floats(ni), c.weight = zt_floats(nw), c.bias = zt_floats(D);
    c.out = zt_floats(n_out(&c));
    c.scratch = zt_floats(zy_patch_embed_scratch_floats(B, C, H, W, P));
    zt_fill_uniform(c.inp, ni, seed, -1, 1);
    zt_fill_uniform(c.weight, nw, seed + 1, -1, 1);
    zt_fill_uniform(c.bias, D, seed + 2, -1, 1);
    return c;
}

static void pe_free(pe_ctx *c) {
    free(c->inp), free(c->weight), free(c->bias), free(c->out), free(c->scratch);
}

TEST(patch_embed_gradcheck) {
    // 7 x 9 with P = 3: two rows and no columns left over (Conv2d's floor).
    int sizes[2][6] = {{2, 3, 7, 9, 3, 4}, {1, 1, 4, 4, 2, 3}};
    for (int k = 0; k < 2; k++) {
        int *s = sizes[k];
        pe_ctx c = pe_make(s[0], s[1], s[2], s[3], s[4], s[5], 10 + (uint64_t)k);
        size_t ni = (size_t)c.B * c.C * c.H * c.W, nw = (size_t)c.D * c.C * c.P * c.P;
        float *w = zt_floats(n_out(&c)), *dinp = zt_floats(ni), *dweight = zt_floats(nw);
        float *dbias = zt_floats(c.D);
        zt_fill_uniform(w, n_out(&c), 20 + (uint64_t)k, -1, 1);
        c.w = w;
        pe_loss(&c);
        zy_patch_embed_backward(dinp, dweight, dbias, c.scratch, w, c.inp, c.weight, c.B, c.C,
                                c.H, c.W, c.P, c.D);
        GRADCHECK("patch dinp", pe_loss, &c, c.inp, dinp, ni, 1e-2, 1e-3);
        GRADCHECK("patch dweight", pe_loss, &c, c.weight, dweight, nw, 1e-2, 1e-3);
        GRADCHECK("patch dbias", pe_loss, &c, c.bias, dbias, c.D, 1e-2, 1e-3);
        // The pixels no patch covers get exactly nothing.
        for (int b = 0; b < c.B; b++)
            for (int ch = 0; ch < c.C; ch++)
                for (int y = c.H / c.P * c.P; y < c.H; y++)
                    for (int x = 0; x < c.W; x++)
                        CHECK(dinp[(((size_t)b * c.C + ch) * c.H + y) * c.W + x] == 0.0f);
        free(w), free(dinp), free(dweight), free(dbias);
        pe_free(&c);
    }
}

static const float *ref_n(zt_ref *R, const char *pfx, const char *name, size_t n) {
    char k[64];
    snprintf(k, sizeof k, "%s.%s", pfx, name);
    size_t got;
    const float *p = zt_ref_f(R, k, &got);
    if (p && got != n) {
        zt_fail(__FILE__, __LINE__, "%s has %zu elements, expected %zu", k, got, n);
        return NULL;
    }
    return p;
}

static void vs_torch(zt_ref *R, const char *pfx) {
    size_t ns;
    char k[64];
    snprintf(k, sizeof k, "%s.shape", pfx);
    const int *sh = zt_ref_i(R, k, &ns);
    if (!sh || ns != 7) {
        zt_fail(__FILE__, __LINE__, "%s: no shape", pfx);
        return;
    }
    int B = sh[0], C = sh[1], H = sh[2], W = sh[3], P = sh[4], D = sh[5], has_bias = sh[6];
    size_t ni = (size_t)B * C * H * W, nw = (size_t)D * C * P * P;
    size_t no = (size_t)B * (H / P) * (W / P) * D;
    const float *inp = ref_n(R, pfx, "inp", ni), *weight = ref_n(R, pfx, "weight", nw);
    const float *w = ref_n(R, pfx, "w", no), *want = ref_n(R, pfx, "out", no);
    const float *want_dinp = ref_n(R, pfx, "dinp", ni);
    const float *want_dw = ref_n(R, pfx, "dweight", nw);
    const float *bias = has_bias ? ref_n(R, pfx, "bias", D) : NULL;
    const float *want_db = has_bias ? ref_n(R, pfx, "dbias", D) : NULL;
    if (zt_failed()) return;
    float *out = zt_floats(no), *dinp = zt_floats(ni), *dw = zt_floats(nw), *db = zt_floats(D);
    float *scratch = zt_floats(zy_patch_embed_scratch_floats(B, C, H, W, P));
    zy_patch_embed_forward(out, scratch, inp, weight, bias, B, C, H, W, P, D);
    // Backward gathers again: scratch holding garbage on entry must not matter.
    memset(scratch, 0x7f, zy_patch_embed_scratch_floats(B, C, H, W, P) * sizeof(float));
    zy_patch_embed_backward(dinp, dw, has_bias ? db : NULL, scratch, w, inp, weight, B, C, H,
                            W, P, D);
    char what[64];
    snprintf(what, sizeof what, "%s.out", pfx);
    CHECK_CLOSE(what, out, want, no, TORCH_ATOL, TORCH_RTOL);
    snprintf(what, sizeof what, "%s.dinp", pfx);
    CHECK_CLOSE(what, dinp, want_dinp, ni, TORCH_ATOL, TORCH_RTOL);
    snprintf(what, sizeof what, "%s.dweight", pfx);
    CHECK_CLOSE(what, dw, want_dw, nw, TORCH_ATOL, TORCH_RTOL);
    if (has_bias) {
        snprintf(what, sizeof what, "%s.dbias", pfx);
        CHECK_CLOSE(what, db, want_db, D, TORCH_ATOL, TORCH_RTOL);
    }
    free(out), free(dinp), free(dw), free(db), free(scratch);
}

TEST(patch_embed_matches_torch) {
    zt_ref *R = zt_ref_load(REF_PATH);
    ASSERT(R);
    const char *cases[] = {"vit", "mnist", "floor", "nobias"};
    for (int i = 0; i < 4; i++) vs_torch(R, cases[i]);
    zt_ref_free(R);
}

// Backward adds: two calls give twice one call; NULL gradients are skipped.
TEST(patch_embed_backward_accumulates) {
    pe_ctx c = pe_make(2, 3, 8, 8, 4, 5, 77);
    size_t ni = (size_t)2 * 3 * 8 * 8, nw = (size_t)5 * 3 * 4 * 4, no = n_out(&c);
    float *dout = zt_floats(no), *d1[3] = {zt_floats(ni), zt_floats(nw), zt_floats(5)};
    float *d2[3] = {zt_floats(ni), zt_floats(nw), zt_floats(5)};
    zt_fill_uniform(dout, no, 78, -1, 1);
    zy_patch_embed_backward(d1[0], d1[1], d1[2], c.scratch, dout, c.inp, c.weight, 2, 3, 8, 8,
                            4, 5);
    for (int r = 0; r < 2; r++) {
        zy_patch_embed_backward(d2[0], NULL, NULL, c.scratch, dout, c.inp, c.weight, 2, 3, 8,
                                8, 4, 5);
        zy_patch_embed_backward(NULL, d2[1], NULL, c.scratch, dout, c.inp, c.weight, 2, 3, 8,
                                8, 4, 5);
        zy_patch_embed_backward(NULL, NULL, d2[2], c.scratch, dout, c.inp, c.weight, 2, 3, 8,
                                8, 4, 5);
    }
    size_t n[3] = {ni, nw, 5};
    const char *names[3] = {"2 x dinp", "2 x dweight", "2 x dbias"};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n[k]; i++) d1[k][i] *= 2.0f;
        CHECK_CLOSE(names[k], d2[k], d1[k], n[k], 1e-6, 1e-6);
        free(d1[k]), free(d2[k]);
    }
    free(dout);
    pe_free(&c);
}

// Row n of the output is patch (n / Wp, n % Wp): a one-hot image lights one patch.
TEST(patch_embed_patch_order) {
    int B = 1, C = 2, H = 6, W = 9, P = 3, D = 1; // Hp = 2, Wp = 3
    float inp[2 * 6 * 9] = {0}, weight[2 * 9], out[6], scratch[6 * 18];
    for (int i = 0; i < 18; i++) weight[i] = (float)(i + 1);
    // Pixel (c 1, y 4, x 7): patch (1, 2) = row 5, kernel position (c 1, ky 1, kx 1).
    inp[(1 * H + 4) * W + 7] = 1.0f;
    zy_patch_embed_forward(out, scratch, inp, weight, NULL, B, C, H, W, P, D);
    for (int n = 0; n < 6; n++) CHECK(out[n] == (n == 5 ? weight[9 + 3 + 1] : 0.0f));
}
