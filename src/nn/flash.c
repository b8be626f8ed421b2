// Tiled ("flash") attention: validation, scratch sizes and the forward pass. The backward
// pass is flash_backward.c, the block kernels flash_kernels.c (scalar) and flash_avx512.c.
// Semantics are in include/zhuyi/attention.h (the tiled path section).
//
// Forward, per (row block bh, query tile): stream the key tiles the tile can see, keeping
// for each query row a running max m, a running sum l of exp(s - m) and an unnormalised
// output acc. A new tile with max m' rescales l and acc by exp(m - m') (the online
// softmax, Milakov & Gimelshein 2018), so the Tq×Tk scores are never stored; at the end
// out = acc / l and lse = m + log l. Every (bh, query tile) is independent, so threads
// never share an output and the result does not depend on their number.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "flash_internal.h"
#include "zhuyi/nn.h"

// Forward, one thread: Qt (D, bq), St (bk, bq), acc (bq, Dv), m, l and alpha (bq).
size_t zy__flash_fwd_floats(int bq, int bk, int D, int Dv) {
    return (size_t)D * bq + (size_t)bk * bq + (size_t)bq * Dv + 3 * (size_t)bq;
}

static int tile_or_default(int t, int def) { return t > 0 ? t : def; }

void zy__flash_dropout_tile(const zy__flash_plan *pl, float *X, int ld, bool transposed,
                            int bh, int i0, int mq, int j0, int nk) {
    const zy_attn_desc *p = &pl->p;
    const float scale = 1.0f / (1.0f - p->dropout);
    for (int r = 0; r < mq; r++) {
        const uint64_t row = p->offset + ((uint64_t)bh * p->Tq + i0 + r) * p->Tk + j0;
        for (int j = 0; j < nk; j++) {
            float *x = transposed ? &X[(size_t)j * ld + r] : &X[(size_t)r * ld + j];
            *x = zy_dropout_keep(p->dropout, p->seed, row + j) ? *x * scale : 0.0f;
        }
    }
}

zy_status zy_flash_supports(const zy_attn_desc *d) {
    if (!zy__attn_is_dot(d))
        return zy__error(ZY_STATUS_UNSUPPORTED,
                         "tiled attention: score %d is not a dot product (additive, general "
                         "and concat scores run on the plain path, zy_attn_forward)",
                         (int)d->score);
    if (d->bool_mask || d->add_mask)
        return zy__error(ZY_STATUS_UNSUPPORTED,
                         "tiled attention: boolean/additive masks are plain-path only "
                         "(zy_attn_forward); the tiled path takes causal and key_lengths");
    if (d->Dq != d->Dk)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "tiled attention: dot-product scores need Dq == Dk (%d != %d)", d->Dq,
                         d->Dk);
    return ZY_STATUS_OK;
}

static size_t base_floats(const zy_attn_desc *d) {
    if (d->Dk <= 0 || d->Dv <= 0 || d->block_q < 0 || d->block_k < 0) return 0;
    int bq = tile_or_default(d->block_q, ZY__FLASH_BQ);
    int bk = tile_or_default(d->block_k, ZY__FLASH_BK);
    size_t f = zy__flash_fwd_floats(bq, bk, d->Dk, d->Dv);
    size_t b = zy__flash_bwd_floats(bq, bk, d->Dk, d->Dv);
    return ((f > b ? f : b) + 15) & ~(size_t)15;
}

static int layout_dense(zy_attn_layout l, int width) {
    return (l.batch == 0 && l.head == 0 && l.row == 0) || l.row == width;
}

size_t zy__flash_panel_floats(const zy_attn_desc *d) {
    if (d->Tq < 0 || d->Tk < 0 || d->Dk <= 0 || d->Dv <= 0) return 0;
    if (layout_dense(d->q_layout, d->Dq) && layout_dense(d->k_layout, d->Dk) &&
        layout_dense(d->v_layout, d->Dv) && layout_dense(d->out_layout, d->Dv))
        return 0;
    return ((size_t)d->Tq * (2 * (size_t)d->Dk + 2 * (size_t)d->Dv) +
            (size_t)d->Tk * ((size_t)d->Dk + d->Dv) + 15) & ~(size_t)15;
}

// One thread's share: the tiles, and for strided layouts one problem's panels, which let
// backward read every row from contiguous memory (less scratch still works: tiles only).
size_t zy_flash_scratch_floats(const zy_attn_desc *d) {
    return base_floats(d) + zy__flash_panel_floats(d);
}

zy_status zy__flash_plan_init(zy__flash_plan *pl, const zy_attn_desc *d, const float *scratch,
                              size_t scratch_floats, const char *who) {
    zy_status st = zy__attn_validate(d, who);
    if (st != ZY_STATUS_OK) return st;
    if ((st = zy_flash_supports(d)) != ZY_STATUS_OK) return st;
    const size_t base = base_floats(d), full = zy_flash_scratch_floats(d);
    if (!scratch || scratch_floats < base)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: scratch of %zu floats, need at least %zu (per thread)", who,
                         scratch ? scratch_floats : (size_t)0, base);
    pl->p = *d;
    pl->lq = zy__attn_lq(d);
    pl->lk = zy__attn_lk(d);
    pl->lv = zy__attn_lv(d);
    pl->lo = zy__attn_lo(d);
    pl->BH = d->B * d->H;
    pl->D = d->Dk;
    pl->bq = tile_or_default(d->block_q, ZY__FLASH_BQ);
    pl->bk = tile_or_default(d->block_k, ZY__FLASH_BK);
    pl->nqb = (d->Tq + pl->bq - 1) / pl->bq;
    pl->nkb = (d->Tk + pl->bk - 1) / pl->bk;
    pl->scale = zy__attn_scale(d);
    pl->kn = zy__flash_kernels_get();
    // Threads first: panels only when they fit for as many threads as tiles alone would.
    const size_t nt = (size_t)zy__parallel_threads();
    const size_t fit_base = ZY_MIN(ZY_MIN(nt, scratch_floats / base), (size_t)4096);
    const size_t fit_full = ZY_MIN(ZY_MIN(nt, scratch_floats / full), (size_t)4096);
    pl->panels = full > base && fit_full >= fit_base;
    pl->share = pl->panels ? full : base;
    pl->nthreads = (int)(pl->panels ? fit_full : fit_base);
    return ZY_STATUS_OK;
}

typedef struct fwd_job {
    const zy__flash_plan *pl;
    float *out, *lse, *scratch;
    const float *q, *k, *v;
    size_t per;
} fwd_job;

// One (bh, query tile): out rows [i0, i0 + mq) and their lse. ws: this thread's scratch.
// Scores are kept transposed, St = K·Qᵀ (keys x queries): the query tile is transposed
// once and every key tile is then read as it lies, and the softmax statistics of 16
// queries sit in one vector (see zy__flash_softmax_cols_fn).
// K (Tk rows, ldk apart) and V (ldv) are problem bh's keys and values: in place, or a
// contiguous panel.
static void forward_tile(const fwd_job *jb, int bh, int qb, float *ws, const float *K, int ldk,
                         const float *V, int ldv) {
    const zy__flash_plan *pl = jb->pl;
    const zy_attn_desc *p = &pl->p;
    const int D = pl->D, Dv = p->Dv, bq = pl->bq, bk = pl->bk, H = p->H;
    const int i0 = qb * bq, mq = ZY_MIN(bq, p->Tq - i0);
    float *Qt = ws, *St = Qt + (size_t)D * bq, *acc = St + (size_t)bk * bq;
    float *m = acc + (size_t)bq * Dv, *l = m + bq, *alpha = l + bq;
    const float *Q = jb->q + zy__attn_off(pl->lq, bh, H) + (ptrdiff_t)i0 * pl->lq.row;

    for (int r = 0; r < mq; r++) {
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }
    pl->kn.transpose(Q, pl->lq.row, mq, D, Qt, bq);
    memset(acc, 0, (size_t)mq * Dv * sizeof(float));
    // Visible keys only grow with i, so the tile's last row bounds the key tiles to visit
    // and its first row tells whether a key tile needs masking at all.
    const int kmax = zy__flash_kend(pl, bh, i0 + mq - 1);
    const int kmin = zy__flash_kend(pl, bh, i0);
    for (int j0 = 0; j0 < kmax; j0 += bk) {
        const int nk = ZY_MIN(bk, kmax - j0);
        pl->kn.mm(nk, mq, D, pl->scale, K + (ptrdiff_t)j0 * ldk, ldk, false, Qt, bq, 0.0f, St,
                  bq);
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
        pl->kn.mm(mq, Dv, nk, 1.0f, St, bq, true, V + (ptrdiff_t)j0 * ldv, ldv, 1.0f, acc, Dv);
    }
    float *O = jb->out + zy__attn_off(pl->lo, bh, H) + (ptrdiff_t)i0 * pl->lo.row;
    float *lse = jb->lse + (size_t)bh * p->Tq + i0;
    for (int r = 0; r < mq; r++) {
        float *o = O + (ptrdiff_t)r * pl->lo.row;
        const float *a = acc + (size_t)r * Dv;
        if (l[r] > 0.0f) {
            float inv = 1.0f / l[r];
            for (int d = 0; d < Dv; d++) o[d] = a[d] * inv;
            lse[r] = m[r] + logf(l[r]);
        } else { // no visible key: zeros, not NaN (see attention.h)
            memset(o, 0, (size_t)Dv * sizeof(float));
            lse[r] = -INFINITY;
        }
    }
}

// The rows task t reads first (its queries, the first key tile), requested early.
static void prefetch_task(const fwd_job *jb, size_t t) {
    const zy__flash_plan *pl = jb->pl;
    const int bh = (int)(t / pl->nqb), qb = (int)(t % pl->nqb), H = pl->p.H;
    const int i0 = qb * pl->bq, mq = ZY_MIN(pl->bq, pl->p.Tq - i0);
    const int nk = ZY_MIN(zy__flash_kend(pl, bh, i0 + mq - 1), pl->bk);
    zy__flash_prefetch_rows(jb->q + zy__attn_off(pl->lq, bh, H) + (ptrdiff_t)i0 * pl->lq.row,
                            pl->lq.row, mq, pl->D);
    if (nk == 0) return; // (k and v may be NULL then)
    zy__flash_prefetch_rows(jb->k + zy__attn_off(pl->lk, bh, H), pl->lk.row, nk, pl->D);
    zy__flash_prefetch_rows(jb->v + zy__attn_off(pl->lv, bh, H), pl->lv.row, nk, pl->p.Dv);
}

static void forward_tasks(void *ctx, size_t t0, size_t t1, int thread) {
    const fwd_job *jb = ctx;
    const zy__flash_plan *pl = jb->pl;
    float *ws = jb->scratch + (size_t)thread * jb->per;
    prefetch_task(jb, t0);
    for (size_t t = t0; t < t1; t++) {
        if (t + 1 < t1) prefetch_task(jb, t + 1);
        const int bh = (int)(t / pl->nqb), H = pl->p.H;
        forward_tile(jb, bh, (int)(t % pl->nqb), ws, jb->k + zy__attn_off(pl->lk, bh, H),
                     (int)pl->lk.row, jb->v + zy__attn_off(pl->lv, bh, H), (int)pl->lv.row);
    }
}

// rows (n, width), ld apart -> dst (n, width); the rows ahead are requested early (strided
// rows are each a miss the hardware prefetcher does not predict)
static void gather_rows(float *dst, const float *src, ptrdiff_t ld, int n, int width) {
    for (int r = 0; r < n; r++) {
        if (r + 8 < n) zy__flash_prefetch_row(src + (r + 8) * ld, width);
        memcpy(dst + (size_t)r * width, src + r * ld, (size_t)width * sizeof *dst);
    }
}

// Whole problems: K and V gathered once into the thread's panel, then every query tile
// reads them contiguously (strided rows re-read per tile alias in the caches).
static void forward_problems(void *ctx, size_t b0, size_t b1, int thread) {
    const fwd_job *jb = ctx;
    const zy__flash_plan *pl = jb->pl;
    const int D = pl->D, Dv = pl->p.Dv, Tk = pl->p.Tk, H = pl->p.H;
    float *ws = jb->scratch + (size_t)thread * jb->per;
    float *K = ws + jb->per - zy__flash_panel_floats(&pl->p), *V = K + (size_t)Tk * D;
    for (size_t b = b0; b < b1; b++) {
        const int bh = (int)b;
        gather_rows(K, jb->k + zy__attn_off(pl->lk, bh, H), pl->lk.row, Tk, D);
        gather_rows(V, jb->v + zy__attn_off(pl->lv, bh, H), pl->lv.row, Tk, Dv);
        for (int qb = 0; qb < pl->nqb; qb++) forward_tile(jb, bh, qb, ws, K, D, V, Dv);
    }
}

zy_status zy_flash_forward(float *out, float *lse, const float *q, const float *k,
                           const float *v, const zy_attn_desc *d, float *scratch,
                           size_t scratch_floats) {
    zy__flash_plan pl;
    zy_status st = zy__flash_plan_init(&pl, d, scratch, scratch_floats, "zy_flash_forward");
    if (st) return st;
    if (d->Tq == 0) return ZY_STATUS_OK;
    if (!out || !lse || !q || (d->Tk > 0 && (!k || !v)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "zy_flash_forward: NULL tensor");
    fwd_job jb = {&pl, out, lse, scratch, q, k, v, pl.share};
    // Strided keys/values read by several query tiles, with room for panels and enough
    // problems to share out: whole problems. Otherwise (bh, query tile) tasks in chunks of
    // up to 16, each task's rows prefetched while the one before it runs, and about eight
    // chunks a thread: causal tiles differ in cost (later query tiles see more keys).
    const size_t tasks = (size_t)pl.BH * pl.nqb;
    if (pl.panels && pl.nqb > 1 && pl.BH >= 2 * pl.nthreads &&
        (pl.lk.row != pl.D || pl.lv.row != d->Dv))
        zy__parallel((size_t)pl.BH, 1, pl.nthreads, forward_problems, &jb);
    else
        zy__parallel(tasks, ZY_MAX(1, ZY_MIN(16, tasks / (8 * (size_t)pl.nthreads))),
                     pl.nthreads, forward_tasks, &jb);
    return ZY_STATUS_OK;
}
