// CTC loss (connectionist temporal classification) over logits, fused with log-softmax:
// the speech recogniser's training loss, PyTorch's F.ctc_loss semantics on batch-first
// logits (nn.h states them). Not a decoder (src/infer/ctc_decode.c) and not a general
// loss over given log-probabilities (pass those as logits: log-softmax leaves them as
// they are up to rounding).
//
// Row b has Tb = input_lengths[b] frames and target l (Lb labels); the extended target
// l' puts a blank before, between and after the labels: S = 2 Lb + 1 states, l'(s) blank
// for even s, l[(s-1)/2] for odd s. In log space (double), with lp_t(v) = x_t(v) - lse_t:
//   α_0(0) = lp_0(blank), α_0(1) = lp_0(l'(1)), else -inf
//   α_t(s) = lp_t(l'(s)) + lse(α_{t-1}(s), α_{t-1}(s-1), α_{t-1}(s-2) if skip(s))
//   skip(s): l'(s) is not blank and l'(s) != l'(s-2)   (a repeat needs the blank between)
//   log p = lse(α_{Tb-1}(S-1), α_{Tb-1}(S-2)),  loss = -log p
// β_t(s) is the log-probability of the frames after t given state s at t (the emission at
// t excluded), so γ_t(s) = exp(α_t(s) + β_t(s) - log p) is the posterior of s at t and
//   ∂loss/∂x_t(v) = softmax_t(v) - Σ_{s: l'(s) = v} γ_t(s).
// Backward runs β from the last frame down, two rows at a time, and adds each frame's
// gradient as soon as its β row exists, so only the α are kept from forward.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "zhuyi/nn.h"

// Below this many (frame x (V + states)) operations a call stays on the calling thread.
#define CTC_PARALLEL_MIN 32768

zy_ctc_params zy_ctc_default_params(void) {
    return (zy_ctc_params){.blank = 0, .reduction = ZY_CTC_REDUCTION_MEAN, .zero_infinity = 0};
}

// The work buffer, in doubles: lse (B, T), nll (B), alpha (B, T, S), beta (B, 2, S).
typedef struct ctc_work {
    double *lse, *nll, *alpha, *beta;
} ctc_work;

static ctc_work work_split(const void *work, int B, int T, int S) {
    double *w = (double *)work;
    ctc_work k;
    k.lse = w;
    k.nll = k.lse + (size_t)B * T;
    k.alpha = k.nll + B;
    k.beta = k.alpha + (size_t)B * T * S;
    return k;
}

size_t zy_ctc_work_size(int B, int T, int L) {
    if (B < 0 || T < 0 || L < 0) return 0;
    size_t S = 2 * (size_t)L + 1, bt, bts, n;
    if (!zy__mul_size((size_t)B, (size_t)T, &bt) || !zy__mul_size(bt, S, &bts)) return 0;
    n = bt + (size_t)B + bts + 2 * (size_t)B * S;
    if (n < bts || !zy__mul_size(n, sizeof(double), &n)) return 0;
    return n;
}

// log(e^a + e^b), exact for -inf operands.
static inline double lse2(double a, double b) {
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

typedef struct ctc_job {
    ctc_work w;
    float *dlogits;
    const float *logits;
    const int32_t *targets, *input_lengths, *target_lengths;
    const double *scale; // backward: the factor in dout of row b0 + i's loss, scale[i]
    int b0, T, V, L, S, blank;
} ctc_job;

// Label of state s of row b's extended target.
static inline int label_of(const ctc_job *j, const int32_t *tgt, int s) {
    return (s & 1) ? tgt[s >> 1] : j->blank;
}

static inline int skip_ok(const ctc_job *j, const int32_t *tgt, int s) {
    return s >= 2 && (s & 1) && tgt[s >> 1] != tgt[(s >> 1) - 1];
}

static void forward_row(const ctc_job *j, int b) {
    const int T = j->T, V = j->V, S = j->S, Tb = j->input_lengths[b];
    const int Sb = 2 * j->target_lengths[b] + 1;
    const int32_t *tgt = j->targets ? j->targets + (size_t)b * j->L : NULL;
    const float *x = j->logits + (size_t)b * T * V;
    double *lse = j->w.lse + (size_t)b * T, *alpha = j->w.alpha + (size_t)b * T * S;
    if (Tb == 0) { // only the empty target can come from no frames
        j->w.nll[b] = Sb == 1 ? 0.0 : INFINITY;
        return;
    }
    for (int t = 0; t < Tb; t++) {
        const float *xt = x + (size_t)t * V;
        float mx = -INFINITY;
        for (int v = 0; v < V; v++)
            if (xt[v] > mx) mx = xt[v];
        double se = 0;
        for (int v = 0; v < V; v++) se += exp((double)xt[v] - mx);
        lse[t] = mx + log(se);
    }
    for (int s = 0; s < Sb; s++) alpha[s] = -INFINITY;
    alpha[0] = x[j->blank] - lse[0];
    if (Sb > 1) alpha[1] = x[tgt[0]] - lse[0];
    for (int t = 1; t < Tb; t++) {
        const float *xt = x + (size_t)t * V;
        const double *prev = alpha + (size_t)(t - 1) * S;
        double *cur = alpha + (size_t)t * S;
        for (int s = 0; s < Sb; s++) {
            double a = prev[s];
            if (s >= 1) a = lse2(a, prev[s - 1]);
            if (skip_ok(j, tgt, s)) a = lse2(a, prev[s - 2]);
            cur[s] = a == -INFINITY ? a : a + (xt[label_of(j, tgt, s)] - lse[t]);
        }
    }
    const double *last = alpha + (size_t)(Tb - 1) * S;
    double logp = Sb > 1 ? lse2(last[Sb - 1], last[Sb - 2]) : last[0];
    j->w.nll[b] = -logp;
}

static void backward_row(const ctc_job *j, int b) {
    const int T = j->T, V = j->V, S = j->S, Tb = j->input_lengths[b];
    const int Sb = 2 * j->target_lengths[b] + 1;
    const double nll = j->w.nll[b], g = j->scale[b - j->b0];
    if (Tb == 0 || !isfinite(nll) || g == 0) return;
    const int32_t *tgt = j->targets ? j->targets + (size_t)b * j->L : NULL;
    const float *x = j->logits + (size_t)b * T * V;
    const double *lse = j->w.lse + (size_t)b * T, *alpha = j->w.alpha + (size_t)b * T * S;
    // e rows hold β_t(s) + lp_t(l'(s)): what frame t - 1's β sums over.
    double *e_next = j->w.beta + (size_t)b * 2 * S, *e_cur = e_next + S;
    float *d = j->dlogits + (size_t)b * T * V;
    for (int t = Tb - 1; t >= 0; t--) {
        const float *xt = x + (size_t)t * V;
        const double *at = alpha + (size_t)t * S;
        float *dt = d + (size_t)t * V;
        double blank_occ = 0;
        for (int s = 0; s < Sb; s++) {
            double be;
            if (t == Tb - 1) {
                be = s >= Sb - 2 ? 0.0 : -INFINITY;
            } else {
                be = e_next[s];
                if (s + 1 < Sb) be = lse2(be, e_next[s + 1]);
                if (s + 2 < Sb && skip_ok(j, tgt, s + 2)) be = lse2(be, e_next[s + 2]);
            }
            int v = label_of(j, tgt, s);
            e_cur[s] = be == -INFINITY ? be : be + (xt[v] - lse[t]);
            double lg = at[s] + be + nll;
            if (lg == -INFINITY || isnan(lg)) continue;
            double gamma = exp(lg);
            if (s & 1) dt[v] -= (float)(g * gamma);
            else blank_occ += gamma;
        }
        for (int v = 0; v < V; v++) {
            double sm = exp((double)xt[v] - lse[t]);
            if (v == j->blank) sm -= blank_occ;
            dt[v] += (float)(g * sm);
        }
        double *tmp = e_next;
        e_next = e_cur;
        e_cur = tmp;
    }
}

static void forward_rows(void *ctx, size_t b0, size_t b1, int thread) {
    (void)thread;
    for (size_t b = b0; b < b1; b++) forward_row(ctx, (int)b);
}

static void backward_rows(void *ctx, size_t b0, size_t b1, int thread) {
    (void)thread;
    const ctc_job *j = ctx;
    for (size_t i = b0; i < b1; i++) backward_row(j, j->b0 + (int)i);
}

static zy_status check_args(const float *out, const void *work, const float *logits,
                            const int32_t *targets, const int32_t *input_lengths,
                            const int32_t *target_lengths, int B, int T, int V, int L,
                            zy_ctc_params p) {
    if (B < 0 || T < 0 || V < 1 || L < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "ctc: bad shape B=%d, T=%d, V=%d, L=%d",
                         B, T, V, L);
    if (p.blank < 0 || p.blank >= V)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "ctc: blank %d is outside [0, %d)",
                         p.blank, V);
    if (p.reduction != ZY_CTC_REDUCTION_MEAN && p.reduction != ZY_CTC_REDUCTION_SUM &&
        p.reduction != ZY_CTC_REDUCTION_NONE)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "ctc: reduction %d is not mean (0), sum (1) or none (2)",
                         (int)p.reduction);
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "ctc: out is NULL");
    if (B == 0) return ZY_STATUS_OK;
    if (!zy_ctc_work_size(B, T, L))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "ctc: the work buffer of B=%d, T=%d, L=%d overflows size_t", B, T, L);
    if (!work || !input_lengths || !target_lengths || (T > 0 && !logits) ||
        (L > 0 && !targets))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "ctc: NULL %s", !work ? "work" : !input_lengths ? "input_lengths"
                                         : !target_lengths            ? "target_lengths"
                                         : !logits                    ? "logits"
                                                                      : "targets");
    for (int b = 0; b < B; b++) {
        if (input_lengths[b] < 0 || input_lengths[b] > T)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "ctc: input_lengths[%d] = %d is outside [0, T=%d]", b,
                             input_lengths[b], T);
        int tl = target_lengths[b];
        if (tl < 0 || tl > L)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "ctc: target_lengths[%d] = %d is outside [0, L=%d]", b, tl, L);
        for (int i = 0; i < tl; i++) {
            int32_t c = targets[(size_t)b * L + i];
            if (c < 0 || c >= V)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "ctc: target %d at row %d, position %d is outside [0, %d)",
                                 c, b, i, V);
            if (c == p.blank)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "ctc: target at row %d, position %d is the blank (%d)", b, i,
                                 c);
        }
    }
    return ZY_STATUS_OK;
}

static int worth_threads(int B, int T, int V, int L) {
    return B > 1 && (double)B * T * (V + 2.0 * L + 1) >= CTC_PARALLEL_MIN;
}

zy_status zy_ctc_forward(float *out, void *work, const float *logits, const int32_t *targets,
                         const int32_t *input_lengths, const int32_t *target_lengths, int B,
                         int T, int V, int L, zy_ctc_params p) {
    zy_status st = check_args(out, work, logits, targets, input_lengths, target_lengths, B, T,
                              V, L, p);
    if (st) return st;
    if (B == 0) {
        if (p.reduction != ZY_CTC_REDUCTION_NONE) out[0] = 0.0f;
        return ZY_STATUS_OK;
    }
    ctc_job j = {.w = work_split(work, B, T, 2 * L + 1), .logits = logits, .targets = targets,
                 .input_lengths = input_lengths, .target_lengths = target_lengths, .T = T,
                 .V = V, .L = L, .S = 2 * L + 1, .blank = p.blank};
    zy__parallel((size_t)B, 1, worth_threads(B, T, V, L) ? 0 : 1, forward_rows, &j);
    double total = 0;
    for (int b = 0; b < B; b++) {
        double l = j.w.nll[b];
        if (p.zero_infinity && l == INFINITY) l = 0;
        if (p.reduction == ZY_CTC_REDUCTION_NONE) out[b] = (float)l;
        else if (p.reduction == ZY_CTC_REDUCTION_SUM) total += l;
        else total += l / ZY_MAX(1, target_lengths[b]);
    }
    if (p.reduction == ZY_CTC_REDUCTION_SUM) out[0] = (float)total;
    else if (p.reduction == ZY_CTC_REDUCTION_MEAN) out[0] = (float)(total / B);
    return ZY_STATUS_OK;
}

// Rows at a time in a stack buffer of scales, so backward needs no memory of its own.
#define CTC_SCALE_ROWS 256

void zy_ctc_backward(float *dlogits, const float *dout, const void *work, const float *logits,
                     const int32_t *targets, const int32_t *input_lengths,
                     const int32_t *target_lengths, int B, int T, int V, int L,
                     zy_ctc_params p) {
    if (!dlogits || B <= 0 || T <= 0) return;
    double scale[CTC_SCALE_ROWS];
    ctc_job j = {.w = work_split(work, B, T, 2 * L + 1), .dlogits = dlogits, .logits = logits,
                 .targets = targets, .input_lengths = input_lengths,
                 .target_lengths = target_lengths, .scale = scale, .T = T, .V = V, .L = L,
                 .S = 2 * L + 1, .blank = p.blank};
    for (int b0 = 0; b0 < B; b0 += CTC_SCALE_ROWS) {
        int n = ZY_MIN(CTC_SCALE_ROWS, B - b0);
        for (int i = 0; i < n; i++) {
            int b = b0 + i;
            if (p.reduction == ZY_CTC_REDUCTION_NONE) scale[i] = dout[b];
            else if (p.reduction == ZY_CTC_REDUCTION_SUM) scale[i] = dout[0];
            else scale[i] = (double)dout[0] / ((double)B * ZY_MAX(1, target_lengths[b]));
        }
        j.b0 = b0;
        zy__parallel((size_t)n, 1, worth_threads(n, T, V, L) ? 0 : 1, backward_rows, &j);
    }
}
