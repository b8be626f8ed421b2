// Tests of the positional encodings (src/nn/position_*.c): the sinusoidal table and its
// add against tests/ref_position.py (PyTorch, float64), incremental rows; RoPE forward and
// backward against the same dump in both pairings (rotate half / interleaved, partial
// rotary, offsets), finite differences, the inverse property and relative positions.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/position.h"

#define REF_PATH "tests/ref/position.zyr"

// Float rounding of values in [-1, 1] from double angles: 1e-6 absolute is ~8 ulp at 1;
// an angle off by one frequency step or a swapped sin/cos is off by ~1e-1.
TEST(position_sinusoid_matches_torch) {
    zt_ref *R = zt_ref_load(REF_PATH);
    ASSERT(R != NULL);
    const char *names[2] = {"sin_a", "sin_b"};
    for (int c = 0; c < 2; c++) {
        char key[64];
        snprintf(key, sizeof key, "%s.shape", names[c]);
        const int *shape = zt_ref_i(R, key, NULL);
        snprintf(key, sizeof key, "%s.table", names[c]);
        size_t n;
        const float *want = zt_ref_f(R, key, &n);
        ASSERT(shape && want);
        int T = shape[0], C = shape[1], offset = shape[2];
        ASSERT_EQ_INT(n, (size_t)T * C);
        float *table = zt_floats(n), *row = zt_floats((size_t)C);
        zy_sinusoid_table(table, T, C, offset);
        CHECK_CLOSE(names[c], table, want, n, 1e-6, 0);
        // Incremental decoding asks for one row at a time: the same bits as the table.
        for (int t = 0; t < T; t++) {
            zy_sinusoid_table(row, 1, C, offset + t);
            CHECK(!memcmp(row, table + (size_t)t * C, sizeof(float) * C));
        }
        // Adding to zeros (2 batch rows) gives the table itself, odd C included.
        float *added = zt_floats(2 * n);
        zy_sinusoid_add_forward(added, added, 2, T, C, offset);
        CHECK(!memcmp(added, table, n * sizeof(float)));
        CHECK(!memcmp(added + n, table, n * sizeof(float)));
        free(table), free(row), free(added);
    }
    // x + PE, out of place and in place; backward passes the gradient through.
    const int *s = zt_ref_i(R, "sin_add.shape", NULL);
    size_t n;
    const float *x = zt_ref_f(R, "sin_add.x", &n), *want = zt_ref_f(R, "sin_add.out", NULL);
    ASSERT(s && x && want);
    float *out = zt_floats(n), *inplace = zt_floats(n), *dx = zt_floats(n);
    zy_sinusoid_add_forward(out, x, s[0], s[1], s[2], s[3]);
    CHECK_CLOSE("sin_add", out, want, n, 1e-6, 0);
    memcpy(inplace, x, n * sizeof(float));
    zy_sinusoid_add_forward(inplace, inplace, s[0], s[1], s[2], s[3]);
    CHECK(!memcmp(inplace, out, n * sizeof(float)));
    zy_sinusoid_add_backward(dx, x, s[0], s[1], s[2]);
    CHECK(!memcmp(dx, x, n * sizeof(float)));
    free(out), free(inplace), free(dx);
    zt_ref_free(R);
}

static zy_rope_params rope_params(const int *shape, float base) {
    zy_rope_params p = zy_rope_default_params();
    p.rot_dim = shape[3];
    p.offset = shape[4];
    p.style = shape[5] ? ZY_ROPE_GPTJ : ZY_ROPE_NEOX;
    p.base = base;
    return p;
}

// Outputs and gradients to 1e-6 absolute (inputs in [-1, 1], each output two products):
// a wrong pairing or sign is off by ~1.
// Marian's layout of the same angles: sines in the first ceil(C/2) columns, cosines after
// them (C even and odd), against the formula in double; a row asked alone (offset) equals
// that row of the table. tests/ref_marian.py builds HF's table the same way and the model
// tests compare the whole forward.
TEST(position_sinusoid_split_layout) {
    for (int C = 6; C <= 7; C++) {
        enum { P = 40 };
        float table[P * 7], row[7];
        zy_sinusoid_table_split(table, P, C, 0);
        int half = (C + 1) / 2;
        for (int t = 0; t < P; t++) {
            for (int i = 0; i < half; i++) {
                double a = t / pow(10000.0, 2.0 * i / C);
                CHECK(fabs(table[t * C + i] - sin(a)) < 1e-6);
                if (half + i < C) CHECK(fabs(table[t * C + half + i] - cos(a)) < 1e-6);
            }
            zy_sinusoid_table_split(row, 1, C, t);
            CHECK(!memcmp(row, table + t * C, (size_t)C * sizeof *row));
        }
    }
}

TEST(position_rope_matches_torch) {
    zt_ref *R = zt_ref_load(REF_PATH);
    ASSERT(R != NULL);
    const char *names[4] = {"rope_neox", "rope_neox_partial", "rope_gptj", "rope_gptj_offset"};
    for (int c = 0; c < 4; c++) {
        char key[64];
#define GET_F(field) (snprintf(key, sizeof key, "%s." field, names[c]), zt_ref_f(R, key, &n))
        size_t n;
        snprintf(key, sizeof key, "%s.shape", names[c]);
        const int *shape = zt_ref_i(R, key, NULL);
        const float *base = GET_F("base"), *w = GET_F("w"), *want = GET_F("out"),
                    *want_dx = GET_F("dx"), *x = GET_F("x");
#undef GET_F
        ASSERT(shape && base && w && want && want_dx && x);
        int BH = shape[0], T = shape[1], D = shape[2];
        ASSERT_EQ_INT(n, (size_t)BH * T * D);
        zy_rope_params p = rope_params(shape, base[0]);
        float *out = zt_floats(n), *dx = zt_floats(n);
        ASSERT_EQ_INT(zy_rope_forward(out, x, BH, T, D, p), ZY_STATUS_OK);
        ASSERT_EQ_INT(zy_rope_backward(dx, w, BH, T, D, p), ZY_STATUS_OK);
        zt_note("%s", names[c]);
        CHECK_CLOSE("  out", out, want, n, 1e-6, 0);
        CHECK_CLOSE("  dx", dx, want_dx, n, 1e-6, 0);
        // In place gives the same bits.
        memcpy(dx, x, n * sizeof(float));
        ASSERT_EQ_INT(zy_rope_forward(dx, dx, BH, T, D, p), ZY_STATUS_OK);
        CHECK(!memcmp(dx, out, n * sizeof(float)));
        free(out), free(dx);
    }
    zt_ref_free(R);
}

typedef struct {
    float *x, *w, *out;
    int BH, T, D;
    zy_rope_params p;
} rctx;

static double rope_loss(void *vc) {
    rctx *c = vc;
    zy_rope_forward(c->out, c->x, c->BH, c->T, c->D, c->p);
    return zt_dot(c->out, c->w, (size_t)c->BH * c->T * c->D);
}

// RoPE is linear, so central differences are exact up to float rounding of the loss
// (~1e-7 · |loss| / eps ≈ 1e-5 here); tol 1e-3 still fails a sign or pairing error.
TEST(position_rope_gradcheck) {
    for (int style = 0; style < 2; style++) {
        rctx c = {0};
        c.BH = 2, c.T = 5, c.D = 12;
        c.p = zy_rope_default_params();
        c.p.rot_dim = 8;
        c.p.offset = 3;
        c.p.style = style ? ZY_ROPE_GPTJ : ZY_ROPE_NEOX;
        size_t n = 2 * 5 * 12;
        c.x = zt_floats(n), c.w = zt_floats(n), c.out = zt_floats(n);
        float *dx = zt_floats(n);
        zt_fill_uniform(c.x, n, 51, -1, 1);
        zt_fill_uniform(c.w, n, 52, -1, 1);
        ASSERT_EQ_INT(zy_rope_backward(dx, c.w, c.BH, c.T, c.D, c.p), ZY_STATUS_OK);
        GRADCHECK(style ? "dx gptj" : "dx neox", rope_loss, &c, c.x, dx, n, 1e-2, 1e-3);
        free(c.x), free(c.w), free(c.out), free(dx);
    }
}

// backward(forward(x)) == x (the rotation is orthogonal), and a rotated query·key depends
// on the two positions only through their difference. Both to 1e-5 (float rounding of
// sums over D = 64 at large positions).
TEST(position_rope_inverse_and_relative) {
    const int BH = 2, T = 6, D = 64;
    const size_t n = (size_t)BH * T * D;
    float *x = zt_floats(n), *y = zt_floats(n), *back = zt_floats(n);
    zt_fill_uniform(x, n, 61, -1, 1);
    for (int style = 0; style < 2; style++) {
        zy_rope_params p = zy_rope_default_params();
        p.style = style ? ZY_ROPE_GPTJ : ZY_ROPE_NEOX;
        p.offset = 1000;
        memset(back, 0, n * sizeof(float));
        ASSERT_EQ_INT(zy_rope_forward(y, x, BH, T, D, p), ZY_STATUS_OK);
        ASSERT_EQ_INT(zy_rope_backward(back, y, BH, T, D, p), ZY_STATUS_OK);
        CHECK_CLOSE(style ? "inverse gptj" : "inverse neox", back, x, n, 1e-5, 0);
        // q at position a + 4 and k at position a: the dot product is the same for every a.
        float qk[3];
        const int offsets[3] = {0, 37, 5000};
        for (int a = 0; a < 3; a++) {
            float rq[64], rk[64];
            zy_rope_params pq = p, pk = p;
            pq.offset = offsets[a] + 4;
            pk.offset = offsets[a];
            ASSERT_EQ_INT(zy_rope_forward(rq, x, 1, 1, D, pq), ZY_STATUS_OK);
            ASSERT_EQ_INT(zy_rope_forward(rk, x + D, 1, 1, D, pk), ZY_STATUS_OK);
            double s = 0;
            for (int d = 0; d < D; d++) s += (double)rq[d] * rk[d];
            qk[a] = (float)s;
        }
        ASSERT_NEAR(qk[1], qk[0], 1e-5);
        ASSERT_NEAR(qk[2], qk[0], 1e-5);
        zt_note("style %d: q·k at offsets 0, 37, 5000: %.7f %.7f %.7f", style, qk[0], qk[1],
                qk[2]);
    }
    free(x), free(y), free(back);
}

TEST(position_rope_rejects_bad_arguments) {
    float x[24] = {0};
    zy_rope_params p = zy_rope_default_params();
    p.rot_dim = 5; // odd
    CHECK(zy_rope_forward(x, x, 1, 2, 12, p) == ZY_STATUS_INVALID_ARGUMENT);
    p.rot_dim = 14; // > D
    CHECK(zy_rope_forward(x, x, 1, 2, 12, p) == ZY_STATUS_INVALID_ARGUMENT);
    p.rot_dim = 0;
    p.base = 0.5f;
    CHECK(zy_rope_backward(x, x, 1, 2, 12, p) == ZY_STATUS_INVALID_ARGUMENT);
    p.base = 10000.0f;
    CHECK(zy_rope_forward(x, x, 1, 2, 12, p) == ZY_STATUS_OK);
}
