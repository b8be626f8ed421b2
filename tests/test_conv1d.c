// Tests of the 1-D convolution over time (src/nn/conv1d.c): PyTorch's Conv1d on
// time-major rows (tests/ref_conv1d.py -> tests/ref/conv1d.zyr), forward and every
// gradient; finite-difference gradient checks with overlapping windows and padding;
// backward adds into its gradients; output lengths.
//
// The op is linear in each of inp, weight and bias, so central differences have only
// float rounding: tol 1e-3 at eps 1e-2, as for the linear layer and the patch embedding.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/nn.h"

#define REF_PATH "tests/ref/conv1d.zyr"
#define TORCH_ATOL 1e-5
#define TORCH_RTOL 1e-5

typedef struct {
    float *inp, *weight, *bias, *out, *scratch;
    const float *w;
    int B, T, Cin, Cout, K, S, P;
} cv_ctx;

static size_t n_out(const cv_ctx *c) {
    return (size_t)c->B * zy_conv1d_out_len(c->T, c->K, c->S, c->P) * c->Cout;
}

static double cv_loss(void *p) {
    cv_ctx *c = p;
    zy_conv1d_forward(c->out, c->scratch, c->inp, c->weight, c->bias, c->B, c->T, c->Cin,
                      c->Cout, c->K, c->S, c->P);
    return zt_dot(c->out, c->w, n_out(c));
}

TEST(conv1d_out_len) {
    CHECK(zy_conv1d_out_len(20, 3, 2, 1) == 10);
    CHECK(zy_conv1d_out_len(11, 3, 2, 1) == 6);
    CHECK(zy_conv1d_out_len(1, 3, 2, 1) == 1);
    CHECK(zy_conv1d_out_len(0, 3, 2, 1) == 0);
    CHECK(zy_conv1d_out_len(2, 5, 1, 0) == 0); // the window never fits
    CHECK(zy_conv1d_out_len(9, 5, 3, 2) == 3);
}

TEST(conv1d_gradcheck) {
    int sizes[2][7] = {{2, 9, 3, 4, 3, 2, 1}, {1, 7, 2, 3, 5, 1, 2}};
    for (int k = 0; k < 2; k++) {
        int *s = sizes[k];
        cv_ctx c = {.B = s[0], .T = s[1], .Cin = s[2], .Cout = s[3], .K = s[4], .S = s[5],
                    .P = s[6]};
        size_t ni = (size_t)c.B * c.T * c.Cin, nw = (size_t)c.Cout * c.Cin * c.K;
        c.inp = zt_floats(ni), c.weight = zt_floats(nw), c.bias = zt_floats(c.Cout);
        c.out = zt_floats(n_out(&c));
        c.scratch = zt_floats(zy_conv1d_scratch_floats(c.B, c.T, c.Cin, c.K, c.S, c.P));
        zt_fill_uniform(c.inp, ni, 30 + (uint64_t)k, -1, 1);
        zt_fill_uniform(c.weight, nw, 31 + (uint64_t)k, -1, 1);
        zt_fill_uniform(c.bias, c.Cout, 32 + (uint64_t)k, -1, 1);
        float *w = zt_floats(n_out(&c)), *dinp = zt_floats(ni), *dweight = zt_floats(nw);
        float *dbias = zt_floats(c.Cout);
        zt_fill_uniform(w, n_out(&c), 40 + (uint64_t)k, -1, 1);
        c.w = w;
        cv_loss(&c);
        zy_conv1d_backward(dinp, dweight, dbias, c.scratch, w, c.inp, c.weight, c.B, c.T, c.Cin,
                           c.Cout, c.K, c.S, c.P);
        GRADCHECK("conv1d dinp", cv_loss, &c, c.inp, dinp, ni, 1e-2, 1e-3);
        GRADCHECK("conv1d dweight", cv_loss, &c, c.weight, dweight, nw, 1e-2, 1e-3);
        GRADCHECK("conv1d dbias", cv_loss, &c, c.bias, dbias, c.Cout, 1e-2, 1e-3);
        free(w), free(dinp), free(dweight), free(dbias);
        free(c.inp), free(c.weight), free(c.bias), free(c.out), free(c.scratch);
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
    if (!sh || ns != 9) {
        zt_fail(__FILE__, __LINE__, "%s: no shape", pfx);
        return;
    }
    int B = sh[0], T = sh[1], Cin = sh[2], Cout = sh[3], K = sh[4], S = sh[5], P = sh[6];
    int has_bias = sh[7], To = sh[8];
    CHECK(zy_conv1d_out_len(T, K, S, P) == To);
    size_t ni = (size_t)B * T * Cin, nw = (size_t)Cout * Cin * K, no = (size_t)B * To * Cout;
    const float *inp = ref_n(R, pfx, "inp", ni), *weight = ref_n(R, pfx, "weight", nw);
    const float *w = ref_n(R, pfx, "w", no), *want = ref_n(R, pfx, "out", no);
    const float *want_dinp = ref_n(R, pfx, "dinp", ni);
    const float *want_dw = ref_n(R, pfx, "dweight", nw);
    const float *bias = has_bias ? ref_n(R, pfx, "bias", Cout) : NULL;
    const float *want_db = has_bias ? ref_n(R, pfx, "dbias", Cout) : NULL;
    if (zt_failed()) return;
    size_t nsc = zy_conv1d_scratch_floats(B, T, Cin, K, S, P);
    float *out = zt_floats(no), *dinp = zt_floats(ni), *dw = zt_floats(nw);
    float *db = zt_floats(Cout), *scratch = zt_floats(nsc);
    zy_conv1d_forward(out, scratch, inp, weight, bias, B, T, Cin, Cout, K, S, P);
    memset(scratch, 0x7f, nsc * sizeof(float)); // backward gathers again
    zy_conv1d_backward(dinp, dw, has_bias ? db : NULL, scratch, w, inp, weight, B, T, Cin,
                       Cout, K, S, P);
    char what[64];
    snprintf(what, sizeof what, "%s.out", pfx);
    CHECK_CLOSE(what, out, want, no, TORCH_ATOL, TORCH_RTOL);
    snprintf(what, sizeof what, "%s.dinp", pfx);
    CHECK_CLOSE(what, dinp, want_dinp, ni, TORCH_ATOL, TORCH_RTOL);
    snprintf(what, sizeof what, "%s.dweight", pfx);
    CHECK_CLOSE(what, dw, want_dw, nw, TORCH_ATOL, TORCH_RTOL);
    if (has_bias) {
        snprintf(what, sizeof what, "%s.dbias", pfx);
        CHECK_CLOSE(what, db, want_db, Cout, TORCH_ATOL, TORCH_RTOL);
    }
    free(out), free(dinp), free(dw), free(db), free(scratch);
}

TEST(conv1d_matches_torch) {
    zt_ref *R = zt_ref_load(REF_PATH);
    ASSERT(R);
    const char *cases[] = {"mel", "hidden", "wide", "valid", "nobias"};
    for (int i = 0; i < 5; i++) vs_torch(R, cases[i]);
    zt_ref_free(R);
}

// Backward adds: two calls give twice one call.
TEST(conv1d_backward_accumulates) {
    int B = 2, T = 10, Cin = 3, Cout = 4, K = 3, S = 2, P = 1;
    int To = zy_conv1d_out_len(T, K, S, P);
    size_t ni = (size_t)B * T * Cin, nw = (size_t)Cout * Cin * K, no = (size_t)B * To * Cout;
    float *inp = zt_floats(ni), *weight = zt_floats(nw), *dout = zt_floats(no);
    float *scratch = zt_floats(zy_conv1d_scratch_floats(B, T, Cin, K, S, P));
    float *a[3] = {zt_floats(ni), zt_floats(nw), zt_floats(Cout)};
    float *b[3] = {zt_floats(ni), zt_floats(nw), zt_floats(Cout)};
    zt_fill_uniform(inp, ni, 50, -1, 1);
    zt_fill_uniform(weight, nw, 51, -1, 1);
    zt_fill_uniform(dout, no, 52, -1, 1);
    zy_conv1d_backward(a[0], a[1], a[2], scratch, dout, inp, weight, B, T, Cin, Cout, K, S, P);
    for (int i = 0; i < 2; i++)
        zy_conv1d_backward(b[0], b[1], b[2], scratch, dout, inp, weight, B, T, Cin, Cout, K, S,
                           P);
    size_t n[3] = {ni, nw, (size_t)Cout};
    for (int j = 0; j < 3; j++) {
        for (size_t i = 0; i < n[j]; i++) a[j][i] *= 2;
        CHECK_CLOSE("twice", b[j], a[j], n[j], 1e-6, 1e-6);
        free(a[j]), free(b[j]);
    }
    free(inp), free(weight), free(dout), free(scratch);
}
