// Tiled ("flash") attention: parameters, validation, scratch sizes and the forward pass.
// The backward pass is flash_backward.c, the block kernels flash_kernels.c (scalar) and
// flash_avx512.c. Semantics are in include/zhuyi/flash.h.
//
// Forward, per (row block bh, query tile): stream the key tiles the tile can see, keeping
// for each query row a running max m, a running sum l of exp(s - m) and an unnormalised
// output acc. A new tile with max m' rescales l and acc by exp(m - m') (the online
// softmax, Milakov & Gimelshein 2018), so the Tq×Tk scores are never stored; at the end
// out = acc / l and lse = m + log l. Every (bh, query tile) is independent, so threads
// never share an output and the result does not depend on their number.
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/internal.h"
#include "flash_internal.h"
#include "zhuyi/nn.h"

zy_flash_params zy_flash_default_params(int B, int H, int Tq, int Tk, int D, int Dv) {
    zy_flash_params p = {0};
    p.B = B;
    p.H = H;
    p.Tq = Tq;
    p.Tk = Tk;
    p.D = D;
    p.Dv = Dv;
    return p;
}

// Forward, one thread: Qt (D, bq), St (bk, bq), acc (bq, Dv), m, l and alpha (bq).
size_t zy__flash_fwd_floats(int bq, int bk, int D, int Dv) {
    return (size_t)D * bq + (size_t)bk * bq + (size_t)bq * Dv + 3 * (size_t)bq;
}

static int tile_or_default(int t, int def) { return t > 0 ? t : def; }

void zy__flash_dropout_tile(const zy__flash_plan *pl, float *X, int ld, bool transposed,
                            int bh, int i0, int mq, int j0, int nk) {
    const zy_flash_params *p = &pl->p;
    const float scale = 1.0f / (1.0f - p->dropout);
    for (int r = 0; r < mq; r++) {
        const uint64_t row = p->offset + ((uint64_t)bh * p->Tq + i0 + r) * p->Tk + j0;
        for (int j = 0; j < nk; j++) {
            float *x = transposed ? &X[(size_t)j * ld + r] : &X[(size_t)r * ld + j];
            *x = zy_dropout_keep(p->dropout, p->seed, row + j) ? *x * scale : 0.0f;
        }
    }
}

size_t zy_flash_scratch_floats(zy_flash_params p) {
    if (p.D <= 0 || p.Dv <= 0 || p.block_q < 0 || p.block_k < 0) return 0;
    int bq = tile_or_default(p.block_q, ZY__FLASH_BQ);
    int bk = tile_or_default(p.block_k, ZY__FLASH_BK);
    size_t f = zy__flash_fwd_floats(bq, bk, p.D, p.Dv);
    size_t b = zy__flash_bwd_floats(bq, bk, p.D, p.Dv);
    return f > b ? f : b;
}

zy_status zy__flash_plan_init(zy__flash_plan *pl, zy_flash_params p, const float *scratch,
                              size_t scratch_floats, const char *who) {
    // Sizes are capped so every index below fits comfortably in size_t arithmetic and
    // tile offsets fit in int.
    const int big = 1 << 24;
    if (p.B <= 0 || p.H <= 0 || p.Tq < 0 || p.Tk < 0 || p.D <= 0 || p.Dv <= 0 ||
        p.Tq > big || p.Tk > big || p.D > 65536 || p.Dv > 65536 ||
        (long long)p.B * p.H > big)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: bad shape B=%d H=%d Tq=%d Tk=%d D=%d Dv=%d", who, p.B, p.H,
                         p.Tq, p.Tk, p.D, p.Dv);
    if (p.block_q < 0 || p.block_k < 0 || p.block_q > 4096 || p.block_k > 4096)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: bad tile %d x %d", who, p.block_q,
                         p.block_k);
    if (!isfinite(p.scale))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: scale is not finite", who);
    if (!(p.dropout >= 0.0f && p.dropout < 1.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: dropout %g not in [0, 1)", who,
                         (double)p.dropout);
    if (p.key_lengths)
        for (int b = 0; b < p.B; b++)
            if (p.key_lengths[b] < 0 || p.key_lengths[b] > p.Tk)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "%s: key_lengths[%d] = %d outside [0, %d]", who, b,
                                 p.key_lengths[b], p.Tk);
    size_t per = zy_flash_scratch_floats(p);
    if (!scratch || scratch_floats < per)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: scratch of %zu floats, need at least %zu (per thread)", who,
                         scratch ? scratch_floats : (size_t)0, per);
    pl->p = p;
    pl->BH = p.B * p.H;
    pl->bq = tile_or_default(p.block_q, ZY__FLASH_BQ);
    pl->bk = tile_or_default(p.block_k, ZY__FLASH_BK);
    pl->nqb = (p.Tq + pl->bq - 1) / pl->bq;
    pl->nkb = (p.Tk + pl->bk - 1) / pl->bk;
    pl->scale = p.scale != 0.0f ? p.scale : 1.0f / sqrtf((float)p.D);
    pl->kn = zy__flash_kernels_get();
    size_t fit = scratch_floats / per;
    int nt = zy__in_parallel() ? 1 : zy_threads_get();
    pl->nthreads = (size_t)nt < fit ? nt : (int)(fit < 4096 ? fit : 4096);
    return ZY_STATUS_OK;
}

// One (bh, query tile): out rows [i0, i0 + mq) and their lse. ws: this thread's scratch.
// Scores are kept transposed, St = K·Qᵀ (keys x queries): the query tile is transposed
// once and every key tile is then read as it lies, and the softmax statistics of 16
// queries sit in one vector (see zy__flash_softmax_cols_fn).
static void forward_tile(const zy__flash_plan *pl, float *out, float *lse, const float *q,
                         const float *k, const float *v, int bh, int qb, float *ws) {
    const zy_flash_params *p = &pl->p;
    const int D = p->D, Dv = p->Dv, bq = pl->bq, bk = pl->bk;
    const int i0 = qb * bq, mq = ZY_MIN(bq, p->Tq - i0);
    float *Qt = ws, *St = Qt + (size_t)D * bq, *acc = St + (size_t)bk * bq;
    float *m = acc + (size_t)bq * Dv, *l = m + bq, *alpha = l + bq;
    const float *Q = q + ((size_t)bh * p->Tq + i0) * D;
    const float *K = k + (size_t)bh * p->Tk * D, *V = v + (size_t)bh * p->Tk * Dv;

    for (int r = 0; r < mq; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
        for (int d = 0; d < D; d++) Qt[(size_t)d * bq + r] = Q[(size_t)r * D + d];
    }
    memset(acc, 0, (size_t)mq * Dv * sizeof(float));
    // Visible keys only grow with i, so the tile's last row bounds the key tiles to visit
    // and its first row tells whether a key tile needs masking at all.
    const int kmax = zy__flash_kend(pl, bh, i0 + mq - 1);
    const int kmin = zy__flash_kend(pl, bh, i0);
    for (int j0 = 0; j0 < kmax; j0 += bk) {
        const int nk = ZY_MIN(bk, kmax - j0);
        pl->kn.mm(nk, mq, D, pl->scale, K + (size_t)j0 * D, D, false, Qt, bq, 0.0f, St, bq);
        if (kmin < j0 + nk) // key j0 + j is hidden from the first queries (a prefix of r)
            for (int j = 0; j < nk; j++)
                for (int r = 0; r < mq && zy__flash_kend(pl, bh, i0 + r) <= j0 + j; r++)
                    St[(size_t)j * bq + r] = -INFINITY;
        pl->kn.softmax_cols(St, nk, mq, bq, m, l, alpha);
        if (p->dropout > 0.0f) // after l took the full weights: lse is of the undropped ones
            zy__flash_dropout_tile(pl, St, bq, true, bh, i0, mq, j0, nk);
        for (int r = 0; r < mq; r++)
            if (alpha[r] != 1.0f) {
                float *a = acc + (size_t)r * Dv;
                for (int d = 0; d < Dv; d++) a[d] *= alpha[r];
            }
        pl->kn.mm(mq, Dv, nk, 1.0f, St, bq, true, V + (size_t)j0 * Dv, Dv, 1.0f, acc, Dv);
    }
    for (int r = 0; r < mq; r++) {
        float *o = out + ((size_t)bh * p->Tq + i0 + r) * Dv;
        const float *a = acc + (size_t)r * Dv;
        if (l[r] > 0.0f) {
            float inv = 1.0f / l[r];
            for (int d = 0; d < Dv; d++) o[d] = a[d] * inv;
            lse[(size_t)bh * p->Tq + i0 + r] = m[r] + logf(l[r]);
        } else { // no visible key: zeros, not NaN (see flash.h)
            memset(o, 0, (size_t)Dv * sizeof(float));
            lse[(size_t)bh * p->Tq + i0 + r] = -INFINITY;
        }
    }
}

zy_status zy_flash_forward(float *out, float *lse, const float *q, const float *k,
                           const float *v, zy_flash_params p, float *scratch,
                           size_t scratch_floats) {
    zy__flash_plan pl = {0};
    zy_status st = zy__flash_plan_init(&pl, p, scratch, scratch_floats, "zy_flash_forward");
    if (st) return st;
    if (p.Tq == 0) return ZY_STATUS_OK;
    if (!out || !lse || !q || (p.Tk > 0 && (!k || !v)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "zy_flash_forward: NULL tensor");
#ifdef _OPENMP
    const size_t per = zy_flash_scratch_floats(p);
#endif
    const int ntasks = pl.BH * pl.nqb;
    // Causal tiles differ in cost (later query tiles see more keys): dynamic schedule.
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(pl.nthreads) if (pl.nthreads > 1)
#endif
    for (int t = 0; t < ntasks; t++) {
        float *ws = scratch;
#ifdef _OPENMP
        ws += (size_t)omp_get_thread_num() * per;
#endif
        forward_tile(&pl, out, lse, q, k, v, t / pl.nqb, t % pl.nqb, ws);
    }
    return ZY_STATUS_OK;
}
