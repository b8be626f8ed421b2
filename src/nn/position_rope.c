// Rotary positional embeddings (RoPE, Su et al. 2021) on q or k laid out (BH, T, D):
// forward rotates feature pairs by pos·θ_i, backward rotates the gradient back (a rotation
// matrix's transpose is its inverse). Conventions (rotate-half / interleaved) are in
// include/zhuyi/position.h. Not here: sinusoidal tables (position_sinusoid.c).
#include <math.h>

#include "core/internal.h"
#include "core/pool.h"
#include "zhuyi/position.h"

zy_rope_params zy_rope_default_params(void) {
    zy_rope_params p = {0, 10000.0f, 0, ZY_ROPE_NEOX};
    return p;
}

static zy_status check(int BH, int T, int D, zy_rope_params p, const char *who) {
    int R = p.rot_dim ? p.rot_dim : D;
    if (BH < 0 || T < 0 || D < 0 || p.offset < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: bad shape BH=%d T=%d D=%d offset=%d",
                         who, BH, T, D, p.offset);
    if (R < 0 || R > D || R % 2)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: rot_dim %d must be even and <= D=%d",
                         who, R, D);
    if (!(p.base > 1.0f) || !isfinite(p.base))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: base %g must be finite and > 1", who,
                         (double)p.base);
    if (p.style != ZY_ROPE_NEOX && p.style != ZY_ROPE_GPTJ)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: unknown style %d", who, (int)p.style);
    return ZY_STATUS_OK;
}

typedef struct rope_job {
    float *out;
    const float *inp;
    int BH, T, D;
    zy_rope_params p;
    double dir;
    int accumulate;
} rope_job;

// Positions [t0, t1). dir = +1 rotates forward (out = R x), -1 rotates back
// (out += Rᵀ x). `accumulate` adds into out (backward) instead of writing it.
static void rope_positions(void *ctx, size_t t0, size_t t1, int thread) {
    (void)thread;
    const rope_job *j = ctx;
    const zy_rope_params p = j->p;
    const int BH = j->BH, T = j->T, D = j->D, accumulate = j->accumulate;
    const float *inp = j->inp;
    float *out = j->out;
    const int R = p.rot_dim ? p.rot_dim : D, half = R / 2;
    // Pair i sits at (i, i + R/2) (rotate half) or (2i, 2i + 1) (interleaved).
    const int stride_lo = p.style == ZY_ROPE_NEOX ? 1 : 2;
    const int second = p.style == ZY_ROPE_NEOX ? half : 1;
    for (int t = (int)t0; t < (int)t1; t++) {
        const double pos = (double)p.offset + t;
        // Angles for one position serve every row block; chunks keep the buffer small.
        float cs[64], sn[64];
        for (int i0 = 0; i0 < half; i0 += 64) {
            const int n = ZY_MIN(64, half - i0);
            for (int i = 0; i < n; i++) {
                double theta = pos * pow((double)p.base, -2.0 * (i0 + i) / (double)R);
                cs[i] = (float)cos(theta);
                sn[i] = (float)(j->dir * sin(theta));
            }
            for (int bh = 0; bh < BH; bh++) {
                const size_t row = ((size_t)bh * T + t) * D;
                const float *x = inp + row;
                float *y = out + row;
                for (int i = 0; i < n; i++) {
                    const int a = (i0 + i) * stride_lo, b = a + second;
                    const float xa = x[a], xb = x[b];
                    const float ya = xa * cs[i] - xb * sn[i], yb = xb * cs[i] + xa * sn[i];
                    if (accumulate) {
                        y[a] += ya;
                        y[b] += yb;
                    } else {
                        y[a] = ya;
                        y[b] = yb;
                    }
                }
            }
        }
        // Features past R pass through (only once per row, after the rotated chunks).
        if (R < D)
            for (int bh = 0; bh < BH; bh++) {
                const size_t row = ((size_t)bh * T + t) * D;
                for (int d = R; d < D; d++)
                    out[row + d] = accumulate ? out[row + d] + inp[row + d] : inp[row + d];
            }
    }
}

// Positions are independent; small tensors stay on the calling thread.
static void rope(float *out, const float *inp, int BH, int T, int D, zy_rope_params p,
                 double dir, int accumulate) {
    if (T <= 0) return;
    rope_job j = {out, inp, BH, T, D, p, dir, accumulate};
    long long elems = (long long)BH * T * D;
    if (elems <= 65536) rope_positions(&j, 0, (size_t)T, 0);
    else zy__parallel((size_t)T, (size_t)ZY_MAX(1, 16384 / ZY_MAX(1, BH * D)), 0,
                      rope_positions, &j);
}

zy_status zy_rope_forward(float *out, const float *inp, int BH, int T, int D,
                          zy_rope_params p) {
    zy_status st = check(BH, T, D, p, "zy_rope_forward");
    if (st) return st;
    rope(out, inp, BH, T, D, p, 1.0, 0);
    return ZY_STATUS_OK;
}

zy_status zy_rope_backward(float *dinp, const float *dout, int BH, int T, int D,
                           zy_rope_params p) {
    zy_status st = check(BH, T, D, p, "zy_rope_backward");
    if (st) return st;
    rope(dinp, dout, BH, T, D, p, -1.0, 1);
    return ZY_STATUS_OK;
}
