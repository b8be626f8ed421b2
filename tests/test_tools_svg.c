// Tests of the CLI's loss chart smoothing (tools/zhuyi/svg.c, linked into the tests): the
// smoothed line starts at the first raw loss and is, at every step, the exponentially
// weighted mean of the losses so far. The old average, begun at the first loss, gave that
// loss the weight beta^t (0.35 at step 10 with beta 0.9), so on a fast-falling loss the
// line stayed far above the raw curve; it fails the comparison below.
#include <math.h>
#include <stdio.h>

#include "../tools/zhuyi/metrics.h"
#include "harness.h"

// out[t] = sum_{i<=t} beta^(t-i) x[i] / sum_{i<=t} beta^(t-i), in double, term by term.
static void weighted_means(float *out, const float *x, size_t n, double beta) {
    for (size_t t = 0; t < n; t++) {
        double num = 0, den = 0;
        for (size_t i = 0; i <= t; i++) {
            double w = pow(beta, (double)(t - i));
            num += w * x[i];
            den += w;
        }
        out[t] = (float)(num / den);
    }
}

TEST(tools_svg_smooth_debiased) {
    enum { N = 300 };
    float x[N], got[N], want[N];
    // A training curve: falls fast from 10.8 towards 2, with noise.
    zt_fill_uniform(x, N, 77, -0.3f, 0.3f);
    for (int i = 0; i < N; i++) x[i] += 2.0f + 8.8f * expf(-(float)i / 8.0f);
    const double betas[] = {0.0, 0.5, 0.9, 1.0 - 30.0 / N, 0.99};
    for (int b = 0; b < 5; b++) {
        zy_svg_smooth(got, x, N, betas[b]);
        ASSERT(got[0] == x[0]); // the first smoothed point is the first raw loss
        weighted_means(want, x, N, betas[b]);
        char what[48];
        snprintf(what, sizeof what, "smoothed loss, beta %.2f", betas[b]);
        CHECK_CLOSE(what, got, want, N, 1e-6, 1e-5);
    }
    // beta 0 is no smoothing at all.
    zy_svg_smooth(got, x, N, 0.0);
    CHECK_CLOSE("beta 0 = raw", got, x, N, 0, 0);
    // A constant stays exactly constant from the first point on (an average begun at 0
    // without the correction would rise from 0 towards it).
    float c[50], cs[50];
    for (int i = 0; i < 50; i++) c[i] = 3.25f;
    zy_svg_smooth(cs, c, 50, 0.97);
    CHECK_CLOSE("constant loss", cs, c, 50, 0, 1e-6);
}
