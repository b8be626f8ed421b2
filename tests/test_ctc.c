// Tests of the CTC loss (src/nn/ctc.c; nn.h). Names start "ctc_loss".
// Evidence: PyTorch references (tests/ref/ctc.zyr from tests/ref_ctc.py: F.ctc_loss on
// log_softmax of the same logits, reductions none / sum / mean, zero_infinity off and on,
// repeats, empty targets, impossible rows, blank 0 / 5 / V-1), a finite-difference
// gradient check, the same bits at 1 and 2 threads, backward adding (+=), argument
// errors naming what is wrong, empty inputs.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/core.h"
#include "zhuyi/nn.h"

#define REF_PATH "tests/ref/ctc.zyr"

// CHECK_CLOSE that also wants +inf exactly where the reference has it.
static void check_loss(const char *what, const float *got, const float *want, size_t n) {
    float g[64], w[64];
    ASSERT(n <= 64);
    for (size_t i = 0; i < n; i++) {
        if (isinf(want[i]) || isinf(got[i])) {
            if (got[i] != want[i]) zt_fail(__FILE__, __LINE__, "%s[%zu] = %g, want %g", what,
                                           i, (double)got[i], (double)want[i]);
            g[i] = w[i] = 0;
        } else {
            g[i] = got[i], w[i] = want[i];
        }
    }
    CHECK_CLOSE(what, g, w, n, 1e-6, 2e-6);
}

static const char *red_name[3] = {"mean", "sum", "none"};

static void ctc_vs_torch(zt_ref *ref, const char *tag) {
    char name[96];
    size_t nl;
#define REF_F(suffix, np) (snprintf(name, sizeof name, "%s_%s", tag, suffix), zt_ref_f(ref, name, np))
#define REF_I(suffix, np) (snprintf(name, sizeof name, "%s_%s", tag, suffix), zt_ref_i(ref, name, np))
    const float *logits = REF_F("logits", &nl), *dout_none = REF_F("dout", NULL);
    const int *targets = REF_I("targets", NULL), *il = REF_I("il", NULL),
              *tl = REF_I("tl", NULL), *shape = REF_I("shape", NULL); // B, T, V, L, blank
    if (!logits || !dout_none || !targets || !il || !tl || !shape) return;
    const int B = shape[0], T = shape[1], V = shape[2], L = shape[3];
    ASSERT((size_t)B * T * V == nl);
    const size_t n = nl;
    void *work = zt_malloc(zy_ctc_work_size(B, T, L));
    float *d = zt_floats(n), *want_d = zt_floats(n), *base = zt_floats(n);
    zt_fill_uniform(base, n, 77, -0.01f, 0.01f);
    for (int r = 0; r < 3; r++) {
        for (int zi = 0; zi < 2; zi++) {
            zy_ctc_params p = zy_ctc_default_params();
            p.blank = shape[4];
            p.reduction = (zy_ctc_reduction)r;
            p.zero_infinity = zi;
            char stem[64], what[128];
            snprintf(stem, sizeof stem, "%s_z%d", red_name[r], zi);
            snprintf(name, sizeof name, "%s_%s_loss", tag, stem);
            size_t nw;
            const float *want = zt_ref_f(ref, name, &nw);
            snprintf(name, sizeof name, "%s_%s_dlogits", tag, stem);
            const float *dref = zt_ref_f(ref, name, NULL);
            if (!want || !dref) continue;
            float loss[64];
            zy_status st = zy_ctc_forward(loss, work, logits, targets, il, tl, B, T, V, L, p);
            CHECK(st == ZY_STATUS_OK);
            size_t nout = r == ZY_CTC_REDUCTION_NONE ? (size_t)B : 1;
            CHECK(nw == nout);
            snprintf(what, sizeof what, "%s %s loss", tag, stem);
            check_loss(what, loss, want, nout);
            float dout_one = 0.7f;
            const float *dout = r == ZY_CTC_REDUCTION_NONE ? dout_none : &dout_one;
            memcpy(d, base, n * sizeof *d);
            for (size_t i = 0; i < n; i++) want_d[i] = base[i] + dref[i];
            zy_ctc_backward(d, dout, work, logits, targets, il, tl, B, T, V, L, p);
            snprintf(what, sizeof what, "%s %s dlogits", tag, stem);
            CHECK_CLOSE(what, d, want_d, n, 2e-6, 1e-5);
        }
    }
#undef REF_F
#undef REF_I
    free(work), free(d), free(want_d), free(base);
}

TEST(ctc_loss_matches_torch) {
    zt_ref *ref = zt_ref_load(REF_PATH);
    ASSERT(ref);
    ctc_vs_torch(ref, "ctc1"); // repeats, an empty target, padding frames
    ctc_vs_torch(ref, "ctc2"); // impossible rows, an exact fit
    ctc_vs_torch(ref, "ctc3"); // blank 5, V = 30, T = 40
    ctc_vs_torch(ref, "ctc4"); // one frame, blank = V - 1
    zt_ref_free(ref);
}

typedef struct {
    float *logits;
    const int32_t *targets, *il, *tl;
    void *work;
    int B, T, V, L;
    zy_ctc_params p;
    const float *w; // weights of the 'none' losses
} ctc_ctx;

static double ctc_scalar(void *q) {
    ctc_ctx *c = q;
    float out[8];
    zy_ctc_forward(out, c->work, c->logits, c->targets, c->il, c->tl, c->B, c->T, c->V, c->L,
                   c->p);
    if (c->p.reduction != ZY_CTC_REDUCTION_NONE) return out[0];
    double s = 0;
    for (int b = 0; b < c->B; b++) s += (double)c->w[b] * out[b];
    return s;
}

TEST(ctc_loss_gradcheck) {
    // Losses of ~5-10 in float (rounding ~1e-6); eps 2e-2 keeps that noise near 5e-5
    // against gradients of ~0.1, and the O(eps²) truncation ~1e-4; tol 1e-2. A gradient
    // without the softmax term, a wrong blank occupation or a skip over a repeat fail.
    enum { B = 3, T = 7, V = 5, L = 3 };
    float logits[B * T * V], d[B * T * V];
    int32_t targets[B * L] = {1, 1, 2, 3, 4, 0, 2, 0, 0};
    int32_t il[B] = {7, 5, 4}, tl[B] = {3, 2, 1};
    const float w[B] = {0.5f, -1.0f, 2.0f};
    zt_fill_uniform(logits, B * T * V, 5, -2, 2);
    void *work = zt_malloc(zy_ctc_work_size(B, T, L));
    for (int r = 0; r < 3; r++) {
        ctc_ctx c = {logits, targets, il, tl, work, B, T, V, L, zy_ctc_default_params(), w};
        c.p.reduction = (zy_ctc_reduction)r;
        ctc_scalar(&c);
        memset(d, 0, sizeof d);
        float one = 1.0f;
        zy_ctc_backward(d, r == ZY_CTC_REDUCTION_NONE ? w : &one, work, logits, targets, il, tl,
                        B, T, V, L, c.p);
        char what[64];
        snprintf(what, sizeof what, "ctc dlogits %s", red_name[r]);
        GRADCHECK(what, ctc_scalar, &c, logits, d, B * T * V, 2e-2, 1e-2);
        // padding frames (row 1 from t = 5, row 2 from t = 4) get nothing
        for (int t = 5; t < T; t++)
            for (int v = 0; v < V; v++) CHECK(d[(1 * T + t) * V + v] == 0.0f);
        for (int t = 4; t < T; t++)
            for (int v = 0; v < V; v++) CHECK(d[(2 * T + t) * V + v] == 0.0f);
    }
    free(work);
}

TEST(ctc_loss_threads_same_bits) {
    // Large enough to go to the pool: B·T·(V + 2L + 1) = 8·100·81 >= 32768.
    enum { B = 8, T = 100, V = 40, L = 20 };
    float *logits = zt_floats((size_t)B * T * V), *d1 = zt_floats((size_t)B * T * V),
          *d2 = zt_floats((size_t)B * T * V);
    int32_t targets[B * L], il[B], tl[B];
    zt_fill_uniform(logits, (size_t)B * T * V, 11, -3, 3);
    for (int b = 0; b < B; b++) {
        il[b] = T - 7 * b;
        tl[b] = L - 2 * b;
        for (int i = 0; i < L; i++) targets[b * L + i] = 1 + (b * 7 + i * 3) % (V - 1);
    }
    void *work = zt_malloc(zy_ctc_work_size(B, T, L));
    zy_ctc_params p = zy_ctc_default_params();
    p.reduction = ZY_CTC_REDUCTION_NONE;
    float l1[B], l2[B], dout[B];
    for (int b = 0; b < B; b++) dout[b] = 1.0f + 0.1f * b;
    zy_threads_set(1);
    ASSERT(zy_ctc_forward(l1, work, logits, targets, il, tl, B, T, V, L, p) == ZY_STATUS_OK);
    zy_ctc_backward(d1, dout, work, logits, targets, il, tl, B, T, V, L, p);
    zy_threads_set(2);
    ASSERT(zy_ctc_forward(l2, work, logits, targets, il, tl, B, T, V, L, p) == ZY_STATUS_OK);
    zy_ctc_backward(d2, dout, work, logits, targets, il, tl, B, T, V, L, p);
    CHECK(memcmp(l1, l2, sizeof l1) == 0);
    CHECK(memcmp(d1, d2, (size_t)B * T * V * sizeof *d1) == 0);
    for (int b = 0; b < B; b++) CHECK(isfinite(l1[b]) && l1[b] > 0);
    free(logits), free(d1), free(d2), free(work);
}

TEST(ctc_loss_empty_input_and_batch) {
    enum { B = 2, T = 3, V = 4, L = 2 };
    float logits[B * T * V], out[B], d[B * T * V];
    zt_fill_uniform(logits, B * T * V, 3, -1, 1);
    int32_t targets[B * L] = {1, 2, 3, 0}, il[B] = {0, 0}, tl[B] = {2, 0};
    void *work = zt_malloc(zy_ctc_work_size(B, T, L));
    zy_ctc_params p = zy_ctc_default_params();
    p.reduction = ZY_CTC_REDUCTION_NONE;
    // No frames: the empty target has probability 1, any other 0.
    ASSERT(zy_ctc_forward(out, work, logits, targets, il, tl, B, T, V, L, p) == ZY_STATUS_OK);
    CHECK(isinf(out[0]) && out[0] > 0 && out[1] == 0.0f);
    memset(d, 0, sizeof d);
    float dout[B] = {1, 1};
    zy_ctc_backward(d, dout, work, logits, targets, il, tl, B, T, V, L, p);
    for (int i = 0; i < B * T * V; i++) CHECK(d[i] == 0.0f);
    p.zero_infinity = 1;
    p.reduction = ZY_CTC_REDUCTION_SUM;
    ASSERT(zy_ctc_forward(out, work, logits, targets, il, tl, B, T, V, L, p) == ZY_STATUS_OK);
    CHECK(out[0] == 0.0f);
    // An empty batch: sum and mean are 0 (PyTorch's mean of nothing is NaN).
    out[0] = 5;
    p.reduction = ZY_CTC_REDUCTION_MEAN;
    CHECK(zy_ctc_forward(out, NULL, NULL, NULL, NULL, NULL, 0, T, V, L, p) == ZY_STATUS_OK);
    CHECK(out[0] == 0.0f);
    free(work);
}

TEST(ctc_loss_errors) {
    enum { B = 2, T = 4, V = 5, L = 3 };
    float logits[B * T * V], out[B] = {42, 42};
    zt_fill_uniform(logits, B * T * V, 9, -1, 1);
    int32_t targets[B * L] = {1, 2, 3, 4, 4, 0}, il[B] = {4, 3}, tl[B] = {3, 2};
    void *work = zt_malloc(zy_ctc_work_size(B, T, L));
    zy_ctc_params p = zy_ctc_default_params();
    ASSERT(zy_ctc_forward(out, work, logits, targets, il, tl, B, T, V, L, p) == ZY_STATUS_OK);
    out[0] = 42;
    struct {
        int32_t il1, tl1, t4, blank, reduction, T;
        const char *msg;
    } bad[] = {
        {5, 2, 4, 0, 0, T, "input_lengths[1] = 5 is outside [0, T=4]"},
        {-1, 2, 4, 0, 0, T, "input_lengths[1] = -1"},
        {3, 4, 4, 0, 0, T, "target_lengths[1] = 4 is outside [0, L=3]"},
        {3, 2, 5, 0, 0, T, "target 5 at row 1, position 1 is outside [0, 5)"},
        {3, 2, -2, 0, 0, T, "target -2 at row 1, position 1"},
        {3, 2, 0, 0, 0, T, "target at row 1, position 1 is the blank (0)"},
        {3, 2, 4, 4, 0, T, "target at row 1, position 0 is the blank (4)"},
        {3, 2, 4, 5, 0, T, "blank 5 is outside [0, 5)"},
        {3, 2, 4, 0, 3, T, "reduction 3"},
        {3, 2, 4, 0, 0, -1, "bad shape"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int32_t t2[B * L], il2[B] = {4, bad[k].il1}, tl2[B] = {3, bad[k].tl1};
        memcpy(t2, targets, sizeof t2);
        t2[4] = bad[k].t4;
        zy_ctc_params q = p;
        q.blank = bad[k].blank;
        q.reduction = (zy_ctc_reduction)bad[k].reduction;
        zy_clear_error();
        zy_status st = zy_ctc_forward(out, work, logits, t2, il2, tl2, B, bad[k].T, V, L, q);
        CHECK(st == ZY_STATUS_INVALID_ARGUMENT);
        if (!strstr(zy_last_error(), bad[k].msg))
            zt_fail(__FILE__, __LINE__, "case %zu: '%s' lacks '%s'", k, zy_last_error(),
                    bad[k].msg);
        CHECK(out[0] == 42.0f); // nothing written
    }
    // Padding past a row's target length is not read: any value is fine there.
    int32_t t3[B * L] = {1, 2, 3, 4, 4, -7};
    CHECK(zy_ctc_forward(out, work, logits, t3, il, tl, B, T, V, L, p) == ZY_STATUS_OK);
    CHECK(zy_ctc_forward(out, NULL, logits, t3, il, tl, B, T, V, L, p) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "NULL work") != NULL);
    CHECK(zy_ctc_work_size(1 << 30, 1 << 30, 1 << 30) == 0);
    free(work);
}
