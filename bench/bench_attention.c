// Attention benchmark: plain (materialised) vs tiled ("flash") scaled dot-product attention,
// forward + backward, B=1, 12 heads, d_head 64, T ∈ {256, 1024, 4096, 8192}.
//   plain: S = scale·Q·Kᵀ (zy_sgemm_batched), P = zy_softmax_forward(S), O = P·V; backward
//          dV = Pᵀ·dO, dP = dO·Vᵀ, dS = zy_softmax_backward, dQ = scale·dS·K,
//          dK = scale·dSᵀ·Q. It holds three (BH, T, T) buffers: P (saved for backward),
//          S (reused for dS) and dP.
//   tiled: zy_flash_forward / zy_flash_backward (include/zhuyi/flash.h), which hold lse
//          (BH, T) and a per-thread scratch of a few tiles.
// Memory is reported two ways: the bytes of the buffers each path needs beyond the tensors
// both share (q, k, v, out, dout, dq, dk, dv), computed from the sizes, and the peak RSS
// growth measured while the path runs (VmHWM after resetting it through
// /proc/self/clear_refs; "-" where the kernel does not allow the reset).
// Non-causal in the main columns (the same work for both); "tiled causal" skips the
// masked half. Times are the best of a few repetitions after a warm-up run (plain at
// T = 8192: one), the two paths alternating. On a shared machine rerun when figures jump.
// Usage: bench_attention [max_T [min_T]]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuyi/zhuyi.h"

enum { H = 12, D = 64 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Peak RSS tracking: reset the high-water mark, read it back (kB), -1 if unavailable.
static long status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n)) v = atol(line + n + 1);
    fclose(f);
    return v;
}
static int reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return 0;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

typedef struct {
    int T;
    float *q, *k, *v, *dout, *out, *dq, *dk, *dv;
} problem;

// ---- plain ------------------------------------------------------------------------------
typedef struct {
    float *P, *S, *dP;
} plain_bufs;

static void plain_fwd_bwd(const problem *pr, plain_bufs *b) {
    const int T = pr->T, BH = H;
    const float scale = 1.0f / sqrtf((float)D);
    const ptrdiff_t sq = (ptrdiff_t)T * D, ss = (ptrdiff_t)T * T;
    zy_sgemm_batched(false, true, T, T, D, scale, pr->q, D, sq, pr->k, D, sq, 0.0f, b->S, T,
                     ss, BH);
    zy_softmax_forward(b->P, b->S, NULL, 0, BH * T, T);
    zy_sgemm_batched(false, false, T, D, T, 1.0f, b->P, T, ss, pr->v, D, sq, 0.0f, pr->out, D,
                     sq, BH);
    // backward (dq, dk, dv overwritten: beta 0)
    zy_sgemm_batched(true, false, T, D, T, 1.0f, b->P, T, ss, pr->dout, D, sq, 0.0f, pr->dv, D,
                     sq, BH);
    zy_sgemm_batched(false, true, T, T, D, 1.0f, pr->dout, D, sq, pr->v, D, sq, 0.0f, b->dP, T,
                     ss, BH);
    memset(b->S, 0, sizeof(float) * BH * (size_t)ss); // S becomes dS (backward adds)
    zy_softmax_backward(b->S, b->dP, b->P, BH * T, T);
    zy_sgemm_batched(false, false, T, D, T, scale, b->S, T, ss, pr->k, D, sq, 0.0f, pr->dq, D,
                     sq, BH);
    zy_sgemm_batched(true, false, T, D, T, scale, b->S, T, ss, pr->q, D, sq, 0.0f, pr->dk, D,
                     sq, BH);
}

// ---- tiled ------------------------------------------------------------------------------
static int tiled_fwd_bwd(const problem *pr, float *lse, float *scratch, size_t ns, bool causal) {
    zy_attn_desc p = zy_attn_default_desc(1, H, pr->T, pr->T, D, D);
    p.causal = causal;
    size_t n = (size_t)H * pr->T * D;
    memset(pr->dq, 0, n * sizeof(float));
    memset(pr->dk, 0, n * sizeof(float));
    memset(pr->dv, 0, n * sizeof(float));
    if (zy_flash_forward(pr->out, lse, pr->q, pr->k, pr->v, &p, scratch, ns)) return 0;
    return zy_flash_backward(pr->dq, pr->dk, pr->dv, pr->dout, pr->q, pr->k, pr->v, pr->out,
                             lse, &p, scratch, ns) == ZY_STATUS_OK;
}

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

int main(int argc, char **argv) {
    int max_T = argc > 1 ? atoi(argv[1]) : 8192, min_T = argc > 2 ? atoi(argv[2]) : 0;
    static const int Ts[] = {256, 1024, 4096, 8192};
    const int nt = zy_threads_get();
    printf("attention fwd+bwd, B=1 H=%d D=%d, %d threads, simd %s (times: best of reps)\n", H,
           D, nt, zy_simd_name(zy_simd_level()));
    printf("%6s %11s %11s %8s %13s | %12s %12s | %12s %12s | %9s\n", "T", "plain ms",
           "tiled ms", "speedup", "tiled causal", "plain bytes", "tiled bytes", "plain RSS+",
           "tiled RSS+", "max|diff|");
    for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++) {
        const int T = Ts[ti];
        if (T > max_T) break;
        if (T < min_T) continue;
        problem pr = {0};
        pr.T = T;
        const size_t n = (size_t)H * T * D;
        float **bufs[8] = {&pr.q, &pr.k, &pr.v, &pr.dout, &pr.out, &pr.dq, &pr.dk, &pr.dv};
        for (int i = 0; i < 8; i++) *bufs[i] = zy_calloc(n, sizeof(float));
        zy_rng rng;
        zy_rng_seed(&rng, 7);
        zy_rng_fill_normal(&rng, pr.q, n, 0, 1);
        zy_rng_fill_normal(&rng, pr.k, n, 0, 1);
        zy_rng_fill_normal(&rng, pr.v, n, 0, 1);
        zy_rng_fill_normal(&rng, pr.dout, n, 0, 1);
        const int reps = T <= 256 ? 10 : T <= 1024 ? 4 : 2;

        // Tiled peak RSS counts its own buffers (lse, scratch): measured from before they
        // exist. (Plain's buffers are untouched until its first run, so they add nothing.)
        const long tiled_base = status_kb("VmRSS:");
        const int tiled_can_peak = reset_peak();
        zy_attn_desc fp = zy_attn_default_desc(1, H, T, T, D, D);
        const size_t ns = zy_flash_scratch_floats(&fp) * nt;
        float *lse = zy_calloc((size_t)H * T, sizeof(float));
        float *scratch = zy_calloc(ns, sizeof(float));
        const size_t tiled_bytes = ((size_t)H * T + ns) * sizeof(float);
        const size_t tt = (size_t)H * T * T;
        const size_t plain_bytes = 3 * tt * sizeof(float);
        plain_bufs pb = {zy_alloc(tt * 4), zy_alloc(tt * 4), zy_alloc(tt * 4)};
        const int have_plain = pb.P && pb.S && pb.dP;
        float *tiled_res = malloc(2 * n * sizeof(float));

        // Round 0 is a warm-up (threads, first touch of the buffers) and measures peak RSS;
        // then the two paths alternate, so a load spike on a shared machine hits both.
        double t_tiled = 1e30, t_plain = have_plain ? 1e30 : -1, t_causal = 1e30, diff = -1;
        long tiled_peak = -1, plain_peak = -1;
        for (int r = 0; r <= reps; r++) {
            double t0 = now();
            if (!tiled_fwd_bwd(&pr, lse, scratch, ns, false)) {
                fprintf(stderr, "tiled failed: %s\n", zy_last_error());
                return 1;
            }
            if (r) t_tiled = fmin(t_tiled, now() - t0);
            if (r == 0 && tiled_can_peak) tiled_peak = status_kb("VmHWM:") - tiled_base;
            if (r == 0) {
                memcpy(tiled_res, pr.out, n * sizeof(float));
                memcpy(tiled_res + n, pr.dq, n * sizeof(float));
            }
            if (!have_plain || (T >= 8192 && r > 1)) continue; // plain 8192: ~10 s a run
            long base = status_kb("VmRSS:");
            int can_peak = r == 0 && reset_peak();
            t0 = now();
            plain_fwd_bwd(&pr, &pb);
            if (r) t_plain = fmin(t_plain, now() - t0);
            if (can_peak) plain_peak = status_kb("VmHWM:") - base;
            if (r == 0)
                diff = fmax(max_diff(pr.out, tiled_res, n), max_diff(pr.dq, tiled_res + n, n));
        }
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            tiled_fwd_bwd(&pr, lse, scratch, ns, true);
            t_causal = fmin(t_causal, now() - t0);
        }
        zy_free(scratch), zy_free(lse);
        zy_free(pb.P), zy_free(pb.S), zy_free(pb.dP);
        free(tiled_res);

        char rss_p[32] = "-", rss_t[32] = "-";
        if (plain_peak >= 0) snprintf(rss_p, sizeof rss_p, "%.1f MB", plain_peak / 1024.0);
        if (tiled_peak >= 0) snprintf(rss_t, sizeof rss_t, "%.1f MB", tiled_peak / 1024.0);
        printf("%6d %11.1f %11.1f %7.2fx %13.1f | %9.1f MB %9.2f MB | %12s %12s | %9.2g\n", T,
               t_plain * 1e3, t_tiled * 1e3, t_plain / t_tiled, t_causal * 1e3,
               plain_bytes / 1048576.0, tiled_bytes / 1048576.0, rss_p, rss_t, diff);
        fflush(stdout);
        for (int i = 0; i < 8; i++) zy_free(*bufs[i]);
    }
    printf("shared tensors (q,k,v,out,dout,dq,dk,dv) not counted: 8·H·T·D·4 B "
           "(%.1f MB at T=8192); max|diff| = plain vs tiled out and dq\n",
           8.0 * H * 8192 * D * 4 / 1048576.0);
    return 0;
}
