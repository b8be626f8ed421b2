// Tests of binary cross-entropy on logits (src/nn/bce.c), the loss of multi-label heads.
// Names start "losses_". Evidence: the PyTorch reference (tests/ref/losses.zyr from
// tests/ref_losses.py: BCEWithLogitsLoss, mean reduction, logits up to |x| = 100, 0/1 and
// soft targets), a finite-difference gradient check, backward adding (+=) with dloss.
#include <math.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/nn.h"

#define REF_PATH "tests/ref/losses.zyr"
enum { NB = 60 };

// Loss 1e-6 abs (a float mean of 60 terms of size ~1); gradients 1e-7 abs + 1e-5 rel (each
// is (σ(x) - y)/60, computed in double and rounded once).
TEST(losses_bce_logits_matches_torch) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    size_t n;
    const float *x = zt_ref_f(r, "bce_logits", &n), *y = zt_ref_f(r, "bce_targets", NULL);
    ASSERT(x && y && n == NB);
    float loss = zy_bce_logits_forward(x, y, n), want = zt_ref_scalar(r, "bce_loss");
    zt_note("bce loss %.8f, torch %.8f", loss, want);
    CHECK(isfinite(loss) && fabsf(loss - want) <= 1e-6f);
    float d[NB];
    for (int i = 0; i < NB; i++) d[i] = 0.5f;
    zy_bce_logits_backward(d, x, y, n, 2.0f); // adds 2 x the gradient to 0.5
    for (int i = 0; i < NB; i++) d[i] = (d[i] - 0.5f) / 2.0f;
    CHECK_CLOSE("bce dlogits", d, zt_ref_f(r, "bce_dlogits", NULL), n, 1e-7, 1e-5);
    CHECK(zy_bce_logits_forward(x, y, 0) == 0.0f);
    zt_ref_free(r);
}

typedef struct bce_ctx {
    const float *x, *y;
    size_t n;
} bce_ctx;

static double bce_loss(void *ctx) {
    const bce_ctx *c = ctx;
    return zy_bce_logits_forward(c->x, c->y, c->n);
}

TEST(losses_bce_logits_gradcheck) {
    enum { N = 24 };
    float x[N], y[N], d[N] = {0};
    zt_fill_uniform(x, N, 31, -4, 4);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3 == 0) + (i % 7 == 0 ? 0.3f : 0.0f);
    for (int i = 0; i < N; i++) y[i] = y[i] > 1 ? 0.3f : y[i];
    bce_ctx c = {x, y, N};
    zy_bce_logits_backward(d, x, y, N, 1.0f);
    GRADCHECK("bce dlogits", bce_loss, &c, x, d, N, 1e-2, 1e-2);
    // Extreme logits stay finite, with the limits' values: loss -> |x| when wrong, 0 when
    // right; gradient -> ±1/n.
    float big[4] = {200.0f, -200.0f, 200.0f, -200.0f}, t[4] = {0, 1, 1, 0}, g[4] = {0};
    float l = zy_bce_logits_forward(big, t, 4);
    zy_bce_logits_backward(g, big, t, 4, 1.0f);
    zt_note("bce at |x| = 200: loss %g (expected 100), grads %g %g %g %g", l, g[0], g[1], g[2],
            g[3]);
    CHECK(fabsf(l - 100.0f) < 1e-3f);
    CHECK(g[0] == 0.25f && g[1] == -0.25f && fabsf(g[2]) < 1e-30f && fabsf(g[3]) < 1e-30f);
}
