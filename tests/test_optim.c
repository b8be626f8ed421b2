// Tests of src/train optimizers, clipping and schedules against PyTorch 1.13
// (tests/ref/optim.zyr, written by tests/ref_optim.py), against double-precision formulas,
// and for bit-exact independence of the thread count.
//
// Tolerances. Torch and zhuyi do the same float32 operations in the same order, but torch's
// vectorised kernels fuse some multiply-adds (FMA) and we do not, so results differ by a few
// ulps per step. Parameters are O(1) and move O(1e-2) per step, so after 10 steps
// atol 2e-6 + rtol 2e-6 is tight: a wrong decay (lr*wd*|p| ~ 1e-3), a wrong bias correction
// or a missing dampening is off by 1e-4..1e-2. Schedules are a double formula rounded once
// against torch's double arithmetic stored as float32: rtol 1e-6.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/optim.h"

#define REF_PATH "tests/ref/optim.zyr"
#define STEPS 10

// The flat layout of tests/ref_optim.py: three tensors back to back, and the zhuyi groups
// for torch's param groups A = {p0, p2} (decayed) and B = {p1}.
typedef struct {
    zt_ref *ref;
    size_t n;
    const float *init;  // (n)
    const float *grads; // (STEPS, n)
    zy_param_group groups[3];
} fixture;

static int fixture_load(fixture *f) {
    memset(f, 0, sizeof *f);
    f->ref = zt_ref_load(REF_PATH);
    if (!f->ref) return 0;
    size_t ng, nrow;
    f->init = zt_ref_f(f->ref, "init", &f->n);
    f->grads = zt_ref_f(f->ref, "grads", &ng);
    const int *rows = zt_ref_i(f->ref, "groups", &nrow);
    if (!f->init || !f->grads || !rows || ng != STEPS * f->n || nrow != 6) {
        zt_fail(__FILE__, __LINE__, "%s: unexpected layout", REF_PATH);
        return 0;
    }
    for (int k = 0; k < 3; k++)
        f->groups[k] = (zy_param_group){(size_t)rows[2 * k], (size_t)rows[2 * k + 1], 0.0f};
    return 1;
}

// ---- AdamW ----------------------------------------------------------------------------------

TEST(optim_adamw_matches_torch) {
    fixture f;
    if (!fixture_load(&f)) goto done;
    size_t n = f.n;
    const float *want = zt_ref_f(f.ref, "adamw.after", NULL);
    const float *lr = zt_ref_f(f.ref, "adamw.lr", NULL);
    const float *hyper = zt_ref_f(f.ref, "adamw.hyper", NULL);
    const float *wd = zt_ref_f(f.ref, "adamw.wd", NULL);
    const float *want_m = zt_ref_f(f.ref, "adamw.m", NULL);
    const float *want_v = zt_ref_f(f.ref, "adamw.v", NULL);
    if (!want || !lr || !hyper || !wd || !want_m || !want_v) goto done;

    zy_adamw_params p = zy_adamw_default_params();
    p.beta1 = hyper[0], p.beta2 = hyper[1], p.eps = hyper[2];
    p.weight_decay = 123.0f; // must be ignored when groups are given
    for (int k = 0; k < 3; k++) f.groups[k].weight_decay = wd[k];
    CHECK(wd[0] > 0 && wd[1] == 0); // the dump exercises a decayed and an undecayed group

    float *params = zt_floats(n), *m = zt_floats(n), *v = zt_floats(n);
    memcpy(params, f.init, n * sizeof(float));
    for (int s = 0; s < STEPS; s++) {
        zy_adamw_step(&p, lr[s], s + 1, params, f.grads + s * n, m, v, n, f.groups, 3);
        char what[32];
        snprintf(what, sizeof what, "params after step %d", s + 1);
        CHECK_CLOSE(what, params, want + s * n, n, 2e-6, 2e-6);
    }
    // Moments: m is O(grad) ~ 1, v is O(grad²); both are plain float recurrences.
    CHECK_CLOSE("exp_avg", m, want_m, n, 1e-6, 1e-6);
    CHECK_CLOSE("exp_avg_sq", v, want_v, n, 1e-7, 1e-6);
    free(params), free(m), free(v);
done:
    zt_ref_free(f.ref);
}

// One step at t = 3 from nonzero moments, against the header's formula in double, with
// groups NULL (whole buffer, p.weight_decay). Float vs double: rel 1e-6 on the update.
TEST(optim_adamw_double_formula) {
    enum { N = 1000 };
    float params[N], grads[N], m[N], v[N];
    zt_fill_uniform(params, N, 1, -2.0f, 2.0f);
    zt_fill_uniform(grads, N, 2, -1.0f, 1.0f);
    zt_fill_uniform(m, N, 3, -0.5f, 0.5f);
    zt_fill_uniform(v, N, 4, 0.0f, 0.3f);
    float want_p[N], want_m[N], want_v[N];
    zy_adamw_params p = {.beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f, .weight_decay = 0.2f};
    float lr = 0.03f;
    long t = 3;
    for (int i = 0; i < N; i++) {
        double b1 = p.beta1, b2 = p.beta2, g = grads[i];
        double x = params[i] * (1.0 - (double)lr * p.weight_decay);
        double mi = b1 * m[i] + (1 - b1) * g, vi = b2 * v[i] + (1 - b2) * g * g;
        double mhat = mi / (1 - pow(b1, t)), vhat = vi / (1 - pow(b2, t));
        want_p[i] = (float)(x - lr * mhat / (sqrt(vhat) + p.eps));
        want_m[i] = (float)mi, want_v[i] = (float)vi;
    }
    zy_adamw_step(&p, lr, t, params, grads, m, v, N, NULL, 0);
    // The update is ~lr = 3e-2; rel 1e-6 of |p| <= 2 plus 1e-6 abs would catch a 1e-4 slip.
    CHECK_CLOSE("params", params, want_p, N, 1e-6, 1e-6);
    CHECK_CLOSE("m", m, want_m, N, 1e-7, 1e-6);
    CHECK_CLOSE("v", v, want_v, N, 1e-8, 1e-6);
}

// Floats outside every group stay as they were (their gradients are ignored), and empty
// groups / an empty buffer are no-ops.
TEST(optim_groups_leave_gaps_untouched) {
    enum { N = 50 };
    float params[N], grads[N], m[N] = {0}, v[N] = {0}, buf[N] = {0}, orig[N];
    zt_fill_uniform(params, N, 5, -1.0f, 1.0f);
    zt_fill_uniform(grads, N, 6, -1.0f, 1.0f);
    memcpy(orig, params, sizeof orig);
    zy_param_group g[3] = {{0, 10, 0.1f}, {20, 0, 0.1f}, {30, 20, 0.0f}};
    zy_adamw_params ap = zy_adamw_default_params();
    zy_adamw_step(&ap, 0.1f, 1, params, grads, m, v, N, g, 3);
    for (int i = 0; i < N; i++) {
        int in = i < 10 || i >= 30;
        CHECK(in ? params[i] != orig[i] : params[i] == orig[i]);
        CHECK(in ? m[i] != 0.0f : m[i] == 0.0f);
    }
    memcpy(params, orig, sizeof orig);
    zy_sgd_params sp = zy_sgd_default_params();
    sp.momentum = 0.9f;
    zy_sgd_step(&sp, 0.1f, 1, params, grads, buf, N, g, 3);
    for (int i = 0; i < N; i++) {
        int in = i < 10 || i >= 30;
        CHECK(in ? params[i] != orig[i] : params[i] == orig[i]);
        // First step: buf = grad + wd * param (L2), wd 0.1 in [0, 10), 0 in [30, 50).
        float want_buf = i < 10 ? grads[i] + 0.1f * orig[i] : in ? grads[i] : 0.0f;
        CHECK(fabsf(buf[i] - want_buf) <= 1e-7f);
    }
    zy_adamw_step(&ap, 0.1f, 1, NULL, NULL, NULL, NULL, 0, NULL, 0);
    zy_sgd_step(&sp, 0.1f, 1, NULL, NULL, NULL, 0, NULL, 0);
    CHECK(zy_grad_norm(NULL, 0) == 0.0f);
}

// ---- SGD ------------------------------------------------------------------------------------

static void sgd_case(fixture *f, const char *name) {
    char key[64];
    size_t n = f->n;
    snprintf(key, sizeof key, "sgd.%s.hyper", name);
    const float *h = zt_ref_f(f->ref, key, NULL);
    snprintf(key, sizeof key, "sgd.%s.after", name);
    const float *want = zt_ref_f(f->ref, key, NULL);
    float lr = zt_ref_scalar(f->ref, "sgd.lr");
    if (!h || !want) return;
    zy_sgd_params p = {.momentum = h[0], .dampening = h[1], .weight_decay = 0.0f,
                       .nesterov = h[3] != 0.0f};
    bool flat = h[4] != 0.0f;
    zy_param_group g[3];
    memcpy(g, f->groups, sizeof g);
    g[0].weight_decay = g[2].weight_decay = h[2]; // group A decayed, B not
    if (flat) p.weight_decay = h[2];

    float *params = zt_floats(n), *buf = p.momentum != 0.0f ? zt_floats(n) : NULL;
    memcpy(params, f->init, n * sizeof(float));
    for (int s = 0; s < STEPS; s++) {
        zy_sgd_step(&p, lr, s + 1, params, f->grads + s * n, buf, n, flat ? NULL : g,
                    flat ? 0 : 3);
        char what[64];
        snprintf(what, sizeof what, "sgd %s step %d", name, s + 1);
        CHECK_CLOSE(what, params, want + s * n, n, 2e-6, 2e-6);
    }
    if (buf) {
        snprintf(key, sizeof key, "sgd.%s.buf", name);
        const float *want_buf = zt_ref_f(f->ref, key, NULL);
        snprintf(key, sizeof key, "sgd %s momentum buffer", name);
        if (want_buf) CHECK_CLOSE(key, buf, want_buf, n, 2e-6, 2e-6);
    }
    free(params), free(buf);
}

// Momentum 0.9; Nesterov with L2 decay on group A; dampening 0.1 with decay; plain SGD with
// one decay for the whole buffer (groups NULL, buf NULL).
TEST(optim_sgd_matches_torch) {
    fixture f;
    if (!fixture_load(&f)) goto done;
    sgd_case(&f, "momentum");
    sgd_case(&f, "nesterov");
    sgd_case(&f, "dampening");
    sgd_case(&f, "plain");
done:
    zt_ref_free(f.ref);
}

// ---- clipping -------------------------------------------------------------------------------

// torch computes the norm in float32, we in double: rel 1e-6. The clipped gradients carry
// the coefficient's rounding on top: rel 1e-6, atol 1e-8.
TEST(optim_clip_matches_torch) {
    fixture f;
    if (!fixture_load(&f)) goto done;
    size_t n;
    const float *g0 = zt_ref_f(f.ref, "clip.grads", &n);
    if (!g0) goto done;
    const char *names[2] = {"above", "below"};
    for (int c = 0; c < 2; c++) {
        char key[64];
        snprintf(key, sizeof key, "clip.%s.max_norm", names[c]);
        float max_norm = zt_ref_scalar(f.ref, key);
        snprintf(key, sizeof key, "clip.%s.norm", names[c]);
        float want_norm = zt_ref_scalar(f.ref, key);
        snprintf(key, sizeof key, "clip.%s.grads", names[c]);
        const float *want = zt_ref_f(f.ref, key, NULL);
        if (!want) break;
        float *g = zt_floats(n);
        memcpy(g, g0, n * sizeof(float));
        float norm = zy_grad_clip_norm(g, n, max_norm);
        zt_note("clip %s: norm %.9g, torch %.9g, max_norm %.9g", names[c], norm, want_norm,
                max_norm);
        CHECK(fabs(norm - want_norm) <= 1e-6 * want_norm);
        CHECK(zy_grad_norm(g0, n) == norm); // same summation, same bits
        snprintf(key, sizeof key, "clipped grads (%s)", names[c]);
        CHECK_CLOSE(key, g, want, n, 1e-8, 1e-6);
        if (c == 1) CHECK(!memcmp(g, g0, n * sizeof(float))); // below: untouched, bit-exact
        free(g);
    }
done:
    zt_ref_free(f.ref);
}

// Non-positive max_norm only measures; the norm of a large buffer agrees with a plain
// double sum to float rounding.
TEST(optim_clip_edges) {
    size_t n = 300001;
    float *g = zt_floats(n), *orig = zt_floats(n);
    zt_fill_uniform(g, n, 9, -1.0f, 1.0f);
    memcpy(orig, g, n * sizeof(float));
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    float want = (float)sqrt(s);
    float got = zy_grad_clip_norm(g, n, 0.0f);
    zt_note("norm %.9g, naive double %.9g", got, want);
    CHECK(fabs(got - want) <= 1e-7 * want);
    CHECK(!memcmp(g, orig, n * sizeof(float)));
    // Clip to 1: the new norm is 1 (minus the 1e-6 guard) to float rounding.
    got = zy_grad_clip_norm(g, n, 1.0f);
    float after = zy_grad_norm(g, n);
    zt_note("norm after clipping to 1: %.9g", after);
    CHECK(fabs(after - 1.0) <= 2e-6);
    free(g), free(orig);

    // The 1e-6 guard matters for tiny norms: norm 1e-5, max_norm 5e-6 scales by
    // 5e-6 / (1e-5 + 1e-6) = 0.4545..., not 0.5.
    float tiny[4] = {6e-6f, 8e-6f, 0.0f, 0.0f};
    double tn = sqrt(6e-6 * (double)6e-6f + 8e-6 * (double)8e-6f);
    double coef = 5e-6 / (tn + 1e-6);
    float want_tiny[4] = {(float)(6e-6f * coef), (float)(8e-6f * coef), 0.0f, 0.0f};
    zy_grad_clip_norm(tiny, 4, 5e-6f);
    CHECK_CLOSE("tiny-norm clip", tiny, want_tiny, 4, 0.0, 1e-6);
}

// Scaling fused with clipping (the trainer's division of summed gradients by their
// count): the norm of scale x g, and one pass giving what scaling first and clipping
// after gives; below the clip, plain scaling; scale 1 and no clipping: untouched.
TEST(optim_scale_clip_norm) {
    size_t n = 100003;
    float *g = zt_floats(n), *want = zt_floats(n), *orig = zt_floats(n);
    zt_fill_uniform(orig, n, 11, -1.0f, 1.0f);
    const float scales[3] = {0.125f, 1.0f / 3.0f, 1e-3f};
    for (int k = 0; k < 3; k++) {
        memcpy(g, orig, n * sizeof(float));
        for (size_t i = 0; i < n; i++) want[i] = orig[i] * scales[k];
        float want_norm = zy_grad_clip_norm(want, n, 1.0f);
        float norm = zy_grad_scale_clip_norm(g, n, scales[k], 1.0f);
        zt_note("scale %g: norm %.9g, scaled then clipped %.9g", (double)scales[k], norm,
                want_norm);
        CHECK(fabsf(norm - want_norm) <= 1e-6f * want_norm);
        CHECK_CLOSE("scaled and clipped", g, want, n, 1e-9, 1e-6);
    }
    memcpy(g, orig, n * sizeof(float));
    zy_grad_scale_clip_norm(g, n, 1.0f, 0.0f);
    CHECK(!memcmp(g, orig, n * sizeof(float)));
    free(g), free(want), free(orig);
}

// ---- schedules ------------------------------------------------------------------------------

static void schedule_case(zt_ref *ref, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "sched.%s.cfg", name);
    const float *cfg = zt_ref_f(ref, key, NULL);
    size_t n;
    snprintf(key, sizeof key, "sched.%s.lr", name);
    const float *want = zt_ref_f(ref, key, &n);
    if (!cfg || !want) return;
    const int *steps = NULL;
    if (!strcmp(name, "noam")) steps = zt_ref_i(ref, "sched.noam.steps", NULL);
    zy_schedule s = {.kind = (zy_schedule_kind)cfg[0], .lr = cfg[1], .min_lr = cfg[2],
                     .warmup = (long)cfg[3], .total = (long)cfg[4], .d_model = (int)cfg[5]};
    float *got = zt_floats(n);
    for (size_t i = 0; i < n; i++) got[i] = zy_schedule_lr(&s, steps ? steps[i] : (long)i);
    snprintf(key, sizeof key, "schedule %s", name);
    CHECK_CLOSE(key, got, want, n, 1e-12, 1e-6);
    free(got);
}

// Every step 0..total+10 (noam: 0, 1, 2, 100, warmup-2..warmup+1, 2*warmup, 3*warmup)
// against torch's LinearLR / SequentialLR / CosineAnnealingLR / ConstantLR / LambdaLR.
TEST(optim_schedule_matches_torch) {
    zt_ref *ref = zt_ref_load(REF_PATH);
    if (!ref) return;
    schedule_case(ref, "constant");
    schedule_case(ref, "cosine");
    schedule_case(ref, "linear");
    schedule_case(ref, "noam");
    zt_ref_free(ref);
}

TEST(optim_schedule_edges) {
    // No warmup: the peak at step 0; the floor at and after total; negative steps clamp.
    zy_schedule s = {ZY_SCHEDULE_COSINE, 1e-3f, 1e-5f, 0, 10, 0};
    CHECK(zy_schedule_lr(&s, 0) == 1e-3f);
    CHECK(zy_schedule_lr(&s, -3) == 1e-3f);
    CHECK(zy_schedule_lr(&s, 10) == 1e-5f && zy_schedule_lr(&s, 1000) == 1e-5f);
    ASSERT_NEAR(zy_schedule_lr(&s, 5), 0.5 * (1e-3 + 1e-5), 1e-10); // cos(pi/2) = 0
    // Warmup longer than total: ramp, then the floor (no division by zero).
    s = (zy_schedule){ZY_SCHEDULE_LINEAR, 1.0f, 0.25f, 8, 4, 0};
    CHECK(zy_schedule_lr(&s, 1) == 0.25f && zy_schedule_lr(&s, 7) == 1.0f);
    CHECK(zy_schedule_lr(&s, 8) == 0.25f);
    // Constant with warmup, and noam without warmup / d_model.
    s = (zy_schedule){ZY_SCHEDULE_CONSTANT, 2.0f, 0.0f, 4, 0, 0};
    CHECK(zy_schedule_lr(&s, 0) == 0.5f && zy_schedule_lr(&s, 3) == 2.0f);
    CHECK(zy_schedule_lr(&s, 1000000) == 2.0f);
    s = (zy_schedule){ZY_SCHEDULE_NOAM, 1.0f, 0.0f, 0, 0, 0};
    ASSERT_NEAR(zy_schedule_lr(&s, 3), 0.5, 1e-7);
}

// INVERSE_SQRT: the warmup ramp to lr at step warmup - 1, then lr * sqrt(warmup / s); with
// lr = zy_schedule_noam_peak(f, d, w) every step equals NOAM's (the paper's eq. 3 for f = 1).
TEST(optim_schedule_inverse_sqrt) {
    zy_schedule s = {ZY_SCHEDULE_INVERSE_SQRT, 2e-3f, 0.0f, 100, 0, 0};
    ASSERT_NEAR(zy_schedule_lr(&s, 0), 2e-5, 1e-11);
    ASSERT_NEAR(zy_schedule_lr(&s, 49), 1e-3, 1e-9);
    CHECK(zy_schedule_lr(&s, 99) == 2e-3f);             // the peak at s = warmup
    ASSERT_NEAR(zy_schedule_lr(&s, 399), 1e-3, 1e-9);   // sqrt(100 / 400) = 1/2
    ASSERT_NEAR(zy_schedule_lr(&s, 9999), 2e-4, 1e-10); // sqrt(100 / 10000)
    for (long t = 1; t < 5000; t += 7) CHECK(zy_schedule_lr(&s, t) <= 2e-3f);
    // No warmup: lr at step 0, then lr / sqrt(step + 1).
    s = (zy_schedule){ZY_SCHEDULE_INVERSE_SQRT, 1.0f, 0.0f, 0, 0, 0};
    CHECK(zy_schedule_lr(&s, 0) == 1.0f);
    ASSERT_NEAR(zy_schedule_lr(&s, 3), 0.5, 1e-7);
    // Against the paper: d_model 512, warmup 4000 (peak 512^-0.5 * 4000^-0.5 ~ 7.0e-4).
    const int dm[] = {512, 64, 1};
    const long wu[] = {4000, 10, 1};
    const float fac[] = {1.0f, 2.0f, 0.5f};
    for (int c = 0; c < 3; c++) {
        zy_schedule noam = {ZY_SCHEDULE_NOAM, fac[c], 0.0f, wu[c], 0, dm[c]};
        zy_schedule inv = {ZY_SCHEDULE_INVERSE_SQRT, zy_schedule_noam_peak(fac[c], dm[c], wu[c]),
                           0.0f, wu[c], 0, 0};
        for (long t = 0; t < 20000; t += t < 50 ? 1 : 97) {
            double paper = fac[c] / sqrt((double)dm[c]) *
                           fmin(1.0 / sqrt(t + 1.0), (t + 1.0) * pow((double)wu[c], -1.5));
            float a = zy_schedule_lr(&noam, t), b = zy_schedule_lr(&inv, t);
            if (fabs(a - paper) > 1e-6 * paper || fabs(b - paper) > 1e-6 * paper) {
                zt_fail(__FILE__, __LINE__, "case %d step %ld: noam %g inverse_sqrt %g paper %g",
                        c, t, (double)a, (double)b, paper);
                break;
            }
        }
    }
    ASSERT_NEAR(zy_schedule_noam_peak(1.0f, 512, 4000), 1.0 / sqrt(512.0 * 4000.0), 1e-9);
    CHECK(zy_schedule_noam_peak(3.0f, 0, 0) == 3.0f);
}

TEST(optim_schedule_parse) {
    zy_schedule_kind k = ZY_SCHEDULE_CONSTANT;
    CHECK(zy_schedule_kind_parse("cosine", &k) == ZY_STATUS_OK && k == ZY_SCHEDULE_COSINE);
    CHECK(zy_schedule_kind_parse("linear", &k) == ZY_STATUS_OK && k == ZY_SCHEDULE_LINEAR);
    CHECK(zy_schedule_kind_parse("noam", &k) == ZY_STATUS_OK && k == ZY_SCHEDULE_NOAM);
    CHECK(zy_schedule_kind_parse("constant", &k) == ZY_STATUS_OK && k == ZY_SCHEDULE_CONSTANT);
    CHECK(zy_schedule_kind_parse("Cosine!", &k) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(k == ZY_SCHEDULE_CONSTANT); // untouched on failure
    CHECK(strstr(zy_last_error(), "Cosine!") != NULL);
    CHECK(strstr(zy_last_error(), "constant, cosine, linear, noam, inverse_sqrt") != NULL);
    CHECK(zy_schedule_kind_parse("inverse_sqrt", &k) == ZY_STATUS_OK &&
          k == ZY_SCHEDULE_INVERSE_SQRT);
    CHECK(zy_schedule_kind_parse(NULL, &k) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_schedule_kind_parse("", &k) == ZY_STATUS_INVALID_ARGUMENT);
}

// ---- thread-count independence --------------------------------------------------------------

// Internal (src/train/clip.c): the double sum of squares behind zy_grad_norm, so the test
// sees differences that rounding the norm to float would hide.
double zy__grad_sumsq(const float *grads, size_t n);

// Large enough for every kernel to take its threaded path; odd so the split is uneven.
#define BIG ((size_t)(1u << 20) + 13)

typedef struct {
    float *params, *m, *v;   // AdamW state
    float *sgd_params, *buf; // SGD (Nesterov, L2) state
    float *grads, *clipped;  // last gradients, and a clipped copy
    float norm, clip_norm;
    double sumsq;
} big_run;

static void big_run_do(big_run *r, int threads) {
    zy_threads_set(threads);
    size_t n = BIG;
    r->params = zt_floats(n), r->m = zt_floats(n), r->v = zt_floats(n);
    r->sgd_params = zt_floats(n), r->buf = zt_floats(n);
    r->grads = zt_floats(n), r->clipped = zt_floats(n);
    zt_fill_uniform(r->params, n, 11, -1.0f, 1.0f);
    memcpy(r->sgd_params, r->params, n * sizeof(float));
    zy_param_group g[2] = {{0, n / 3, 0.1f}, {n / 3, n - n / 3, 0.0f}};
    zy_adamw_params ap = zy_adamw_default_params();
    zy_sgd_params sp = {.momentum = 0.9f, .dampening = 0.0f, .weight_decay = 0.01f,
                        .nesterov = true};
    for (long t = 1; t <= 3; t++) {
        zt_fill_uniform(r->grads, n, 100 + (uint64_t)t, -1.0f, 1.0f);
        zy_adamw_step(&ap, 1e-2f, t, r->params, r->grads, r->m, r->v, n, g, 2);
        zy_sgd_step(&sp, 1e-2f, t, r->sgd_params, r->grads, r->buf, n, NULL, 0);
    }
    r->norm = zy_grad_norm(r->grads, n);
    r->sumsq = zy__grad_sumsq(r->grads, n);
    memcpy(r->clipped, r->grads, n * sizeof(float));
    r->clip_norm = zy_grad_clip_norm(r->clipped, n, 1.0f);
}

static void big_run_free(big_run *r) {
    free(r->params), free(r->m), free(r->v), free(r->sgd_params), free(r->buf);
    free(r->grads), free(r->clipped);
}

TEST(optim_threads_bit_exact) {
    big_run a, b;
    big_run_do(&a, 1);
    int got = zy_threads_set(2);
    big_run_do(&b, 2);
    zy_threads_set(0);
    zt_note("threads 1 vs %d (1 means built without OpenMP), n = %zu", got, BIG);
    size_t bytes = BIG * sizeof(float);
    CHECK(!memcmp(a.params, b.params, bytes));
    CHECK(!memcmp(a.m, b.m, bytes) && !memcmp(a.v, b.v, bytes));
    CHECK(!memcmp(a.sgd_params, b.sgd_params, bytes) && !memcmp(a.buf, b.buf, bytes));
    CHECK(!memcmp(a.clipped, b.clipped, bytes));
    CHECK(memcmp(&a.norm, &b.norm, sizeof a.norm) == 0);
    CHECK(memcmp(&a.sumsq, &b.sumsq, sizeof a.sumsq) == 0);
    CHECK(memcmp(&a.clip_norm, &b.clip_norm, sizeof a.clip_norm) == 0);
    CHECK(a.norm == a.clip_norm && a.norm > 1.0f); // so the clip really scaled
    big_run_free(&a), big_run_free(&b);
}

// AdamW over ranges with compact state (what the trainer does when tensors are frozen)
// equals the group form on full-size state, float for float, and leaves the parameters
// outside every range alone.
TEST(optim_adamw_ranges_compact_state) {
    enum { N = 70000 }; // a range larger than one parallel chunk
    float *p1 = zt_floats(N), *p2 = zt_floats(N), *g = zt_floats(N), *m = zt_floats(N),
          *v = zt_floats(N), *gc = zt_floats(N), *mc = zt_floats(N), *vc = zt_floats(N);
    zt_fill_uniform(p1, N, 1, -1, 1);
    memcpy(p2, p1, N * sizeof *p1);
    zt_fill_uniform(g, N, 2, -1, 1);
    // Trainable: [100, 40100) decayed and [50000, 50010) not; the rest frozen.
    zy_param_group groups[2] = {{100, 40000, 0.1f}, {50000, 10, 0.0f}};
    zy_param_range ranges[2] = {{100, 0, 40000, 0.1f}, {50000, 40000, 10, 0.0f}};
    memcpy(gc, g + 100, 40000 * sizeof *g);
    memcpy(gc + 40000, g + 50000, 10 * sizeof *g);
    zy_adamw_params ap = zy_adamw_default_params();
    for (long t = 1; t <= 3; t++) {
        zy_adamw_step(&ap, 1e-2f, t, p1, g, m, v, N, groups, 2);
        zy_adamw_step_ranges(&ap, 1e-2f, t, p2, gc, mc, vc, ranges, 2);
    }
    CHECK(memcmp(p1, p2, N * sizeof *p1) == 0);
    CHECK(memcmp(m + 100, mc, 40000 * sizeof *m) == 0 && memcmp(v + 50000, vc + 40000, 40) == 0);
    free(p1), free(p2), free(g), free(m), free(v), free(gc), free(mc), free(vc);
}
