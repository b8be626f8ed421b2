// Tiled ("flash") attention backward (FlashAttention-2, Dao 2023, algorithm 2), recomputing
// each score tile from q, k and the forward's lse instead of reading a stored Tq×Tk matrix.
// For a (query tile, key tile) pair:
//   P  = exp(scale·Q·Kᵀ - lse)          (0 where masked or the row sees no key)
//   dP = dO·Vᵀ,  Δ_i = Σ_d dO_id O_id,  dS = P ∘ (dP - Δ)
//   dV += Pᵀ·dO,  dK += scale·dSᵀ·Q,  dQ += scale·dS·K
// With dropout (mask M, already scaled by 1/(1-p)), dP is M∘(dO·Vᵀ) and dV takes M∘P; Δ
// needs no change since out already holds the dropped weights.
//
// Determinism: dk/dv of a key tile are summed over query tiles in ascending order by one
// thread; dq of a query tile is summed over key tiles in ascending order. Two schedules
// produce exactly those sums, so the bits do not depend on the thread count:
// - per row block (enough row blocks to keep every thread busy): one thread walks all
//   key tiles of a bh and does dq, dk and dv in one sweep;
// - two passes (few row blocks, e.g. B*H = 1): threads split (bh, key tile) for dk/dv,
//   then (bh, group of query tiles) for dq, recomputing P and dS (about 1.4x the
//   arithmetic, but every thread busy).
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "flash_internal.h"

// Backward, one thread: Kt (D, bk), Vt (Dv, bk), P and dS (bq, bk), dK (bk, D),
// dV (bk, Dv); for layouts whose rows are not contiguous (token-major, a KV cache),
// contiguous copies of the tiles the kernels read repeatedly: Q, dO, O (bq rows), K (bk
// rows) and the dq tile (bq, D). Rows a few KB apart alias in the L1 cache's sets, which
// made the strided backward ~15% slower at T = 1024 before these copies.
size_t zy__flash_bwd_floats(int bq, int bk, int D, int Dv) {
    return (size_t)D * bk + (size_t)Dv * bk + 2 * (size_t)bq * bk + (size_t)bk * D +
           (size_t)bk * Dv + 2 * (size_t)bq * D + 2 * (size_t)bq * Dv + (size_t)bk * D;
}

// The tensors, and the layouts they are read (q, k, v, out/dout) and dq is added through:
// the call's layouts, or contiguous panels of one problem (offset 0 for any bh). dk and dv
// are always added through the call's layouts (pl->lk, pl->lv).
typedef struct {
    float *dq, *dk, *dv;
    const float *dout, *q, *k, *v, *out, *lse;
    zy_attn_layout lq, lk, lv, lo;
    bool assign; // dq, dk, dv are written (=), not added to (zy__flash_backward_assign)
} tensors;

typedef struct {
    float *Kt, *Vt, *P, *dS, *dK, *dV;
    float *Qc, *dQc, *dOc, *Oc, *Kc; // contiguous tile copies (strided layouts only)
    // the current query tile: row pointers and strides the kernels read
    const float *Q, *dO, *O;
    int ldq, ldo;
} workspace;

static workspace carve(const zy__flash_plan *pl, float *ws) {
    const int D = pl->D, Dv = pl->p.Dv, bq = pl->bq, bk = pl->bk;
    workspace w;
    w.Kt = ws;
    w.Vt = w.Kt + (size_t)D * bk;
    w.P = w.Vt + (size_t)Dv * bk;
    w.dS = w.P + (size_t)bq * bk;
    w.dK = w.dS + (size_t)bq * bk;
    w.dV = w.dK + (size_t)bk * D;
    w.Qc = w.dV + (size_t)bk * Dv;
    w.dQc = w.Qc + (size_t)bq * D;
    w.dOc = w.dQc + (size_t)bq * D;
    w.Oc = w.dOc + (size_t)bq * Dv;
    w.Kc = w.Oc + (size_t)bq * Dv;
    return w;
}

// Are the rows of a tensor contiguous (row stride = width)? Then tiles are read in place.
static int dense(zy_attn_layout l, int width) { return l.row == width; }

// Rows this far ahead are requested while a row is copied: strided rows (KBs apart) are
// each a separate miss that the hardware prefetcher does not predict.
#define PREFETCH_ROWS 8

// rows (n, width) of stride ld -> dst (n, width) contiguous
static void copy_rows(float *dst, const float *src, ptrdiff_t ld, int n, int width) {
    for (int r = 0; r < n; r++) {
        if (r + PREFETCH_ROWS < n)
            zy__flash_prefetch_row(src + (r + PREFETCH_ROWS) * ld, width);
        memcpy(dst + (size_t)r * width, src + r * ld, (size_t)width * sizeof *dst);
    }
}

// dst rows (n, width), ld apart, = src (n, width) contiguous, or += it; zeros when src is
// NULL (assign only).
static void put_rows(float *dst, ptrdiff_t ld, const float *src, int n, int width,
                     bool assign) {
    for (int r = 0; r < n; r++) {
        float *d = dst + r * ld;
        if (!src) {
            memset(d, 0, (size_t)width * sizeof *d);
            continue;
        }
        const float *s = src + (size_t)r * width;
        if (assign)
            memcpy(d, s, (size_t)width * sizeof *d);
        else
            for (int e = 0; e < width; e++) d[e] += s[e];
    }
}

// Row i of problem bh of a tensor (first row of a tile, usually).
static inline ptrdiff_t row_at(zy_attn_layout l, int bh, int H, int i) {
    return zy__attn_off(l, bh, H) + (ptrdiff_t)i * l.row;
}

// Does query tile qb see any key of the tile starting at j0? (Its last row sees most.)
static int pair_live(const zy__flash_plan *pl, int bh, int qb, int j0) {
    int last = ZY_MIN((qb + 1) * pl->bq, pl->p.Tq) - 1;
    return j0 < zy__flash_kend(pl, bh, last);
}

// Kᵀ and Vᵀ of key tile [j0, j0 + nk) into w->Kt (D, bk), w->Vt (Dv, bk).
static void load_key_tile(const zy__flash_plan *pl, const tensors *t, int bh, int j0, int nk,
                          workspace *w) {
    const int D = pl->D, Dv = pl->p.Dv, bk = pl->bk, H = pl->p.H;
    const float *K = t->k + row_at(t->lk, bh, H, j0);
    const float *V = t->v + row_at(t->lv, bh, H, j0);
    pl->kn.transpose(K, t->lk.row, nk, D, w->Kt, bk);
    pl->kn.transpose(V, t->lv.row, nk, Dv, w->Vt, bk);
    if (!dense(t->lk, D)) copy_rows(w->Kc, K, t->lk.row, nk, D);
}

// The key tile's rows (nk, D) as the dq product reads them, and their stride.
static const float *key_rows(const zy__flash_plan *pl, const tensors *t, int bh, int j0,
                             const workspace *w, int *ld) {
    if (dense(t->lk, pl->D)) {
        *ld = pl->D;
        return t->k + row_at(t->lk, bh, pl->p.H, j0);
    }
    *ld = pl->D;
    return w->Kc;
}

static void prefetch_query_tile(const zy__flash_plan *pl, const tensors *t, int bh, int qb) {
    if (qb >= pl->nqb) return;
    const int i0 = qb * pl->bq, mq = ZY_MIN(pl->bq, pl->p.Tq - i0), H = pl->p.H;
    if (!dense(t->lq, pl->D))
        zy__flash_prefetch_rows(t->q + row_at(t->lq, bh, H, i0), t->lq.row, mq, pl->D);
    if (!dense(t->lo, pl->p.Dv)) {
        zy__flash_prefetch_rows(t->dout + row_at(t->lo, bh, H, i0), t->lo.row, mq, pl->p.Dv);
        zy__flash_prefetch_rows(t->out + row_at(t->lo, bh, H, i0), t->lo.row, mq, pl->p.Dv);
    }
}

static void prefetch_key_tile(const zy__flash_plan *pl, const tensors *t, int bh, int kb) {
    if (kb >= pl->nkb) return;
    const int j0 = kb * pl->bk, nk = ZY_MIN(pl->bk, pl->p.Tk - j0), H = pl->p.H;
    if (!dense(t->lk, pl->D))
        zy__flash_prefetch_rows(t->k + row_at(t->lk, bh, H, j0), t->lk.row, nk, pl->D);
    if (!dense(t->lv, pl->p.Dv))
        zy__flash_prefetch_rows(t->v + row_at(t->lv, bh, H, j0), t->lv.row, nk, pl->p.Dv);
}

// Point w at query tile qb's Q, dO and O rows: in place when dense, else copied.
static void load_query_tile(const zy__flash_plan *pl, const tensors *t, int bh, int qb,
                            workspace *w) {
    const int D = pl->D, Dv = pl->p.Dv, H = pl->p.H;
    const int i0 = qb * pl->bq, mq = ZY_MIN(pl->bq, pl->p.Tq - i0);
    const float *Q = t->q + row_at(t->lq, bh, H, i0);
    const float *dO = t->dout + row_at(t->lo, bh, H, i0), *O = t->out + row_at(t->lo, bh, H, i0);
    if (dense(t->lq, D)) {
        w->Q = Q, w->ldq = D;
    } else {
        copy_rows(w->Qc, Q, t->lq.row, mq, D);
        w->Q = w->Qc, w->ldq = D;
    }
    if (dense(t->lo, Dv)) {
        w->dO = dO, w->O = O, w->ldo = Dv;
    } else {
        copy_rows(w->dOc, dO, t->lo.row, mq, Dv);
        copy_rows(w->Oc, O, t->lo.row, mq, Dv);
        w->dO = w->dOc, w->O = w->Oc, w->ldo = Dv;
    }
}

// dq rows of query tile qb += scale · dS · K: in place when dq is dense, else through the
// contiguous dQc tile (written, then added), the same sums either way for a given layout.
static void add_dq(const zy__flash_plan *pl, const tensors *t, int bh, int qb, int j0, int nk,
                   workspace *w) {
    const int D = pl->D, i0 = qb * pl->bq, mq = ZY_MIN(pl->bq, pl->p.Tq - i0);
    int ldk;
    const float *K = key_rows(pl, t, bh, j0, w, &ldk);
    float *dq = t->dq + row_at(t->lq, bh, pl->p.H, i0);
    if (dense(t->lq, D)) { // beta 1 adds alpha·acc to dq: the same bits as the tile + add
        pl->kn.mm(mq, D, nk, pl->scale, w->dS, pl->bk, false, K, ldk, 1.0f, dq, D);
        return;
    }
    pl->kn.mm(mq, D, nk, pl->scale, w->dS, pl->bk, false, K, ldk, 0.0f, w->dQc, D);
    for (int r = 0; r < mq; r++) {
        float *d = dq + (ptrdiff_t)r * t->lq.row;
        const float *s = w->dQc + (size_t)r * D;
        for (int e = 0; e < D; e++) d[e] += s[e];
    }
}

// P (with dropout: M∘P) and dS (mq, nk) of query tile qb (loaded by load_query_tile)
// against the key tile already in w->Kt, w->Vt.
static void pair_grads(const zy__flash_plan *pl, const tensors *t, int bh, int qb, int j0,
                       int nk, workspace *w) {
    const zy_attn_desc *p = &pl->p;
    const int D = pl->D, Dv = p->Dv, bk = pl->bk;
    const int i0 = qb * pl->bq, mq = ZY_MIN(pl->bq, p->Tq - i0);
    pl->kn.mm(mq, nk, D, pl->scale, w->Q, w->ldq, false, w->Kt, bk, 0.0f, w->P, bk);
    pl->kn.mm(mq, nk, Dv, 1.0f, w->dO, w->ldo, false, w->Vt, bk, 0.0f, w->dS, bk);
    // Mask: row r sees the first nv keys of the tile (a row that saw no key at all has
    // lse = -inf, which exp_rows turns into a zero row).
    if (zy__flash_kend(pl, bh, i0) < j0 + nk)
        for (int r = 0; r < mq; r++) {
            const int nv = ZY_MAX(0, zy__flash_kend(pl, bh, i0 + r) - j0);
            for (int j = nv; j < nk; j++) w->P[(size_t)r * bk + j] = -INFINITY;
        }
    // Dropout: dP of the undropped weights is M∘(dO·Vᵀ); dV needs the dropped weights M∘P.
    const bool drop = p->dropout > 0.0f;
    if (drop) zy__flash_dropout_tile(pl, w->dS, bk, false, bh, i0, mq, j0, nk);
    pl->kn.exp_rows(w->P, mq, nk, bk, t->lse + (size_t)bh * p->Tq + i0);
    pl->kn.ds(w->dS, w->P, mq, nk, bk, w->dO, w->O, Dv); // dO, O rows are contiguous here
    if (drop) zy__flash_dropout_tile(pl, w->P, bk, false, bh, i0, mq, j0, nk);
}

// All query tiles against key tile kb: dk, dv of the tile (+=), and dq too when with_dq.
static void key_tile(const zy__flash_plan *pl, const tensors *t, int bh, int kb, int with_dq,
                     workspace *w) {
    const zy_attn_desc *p = &pl->p;
    const int D = pl->D, Dv = p->Dv, bk = pl->bk, H = p->H;
    const int j0 = kb * bk, nk = ZY_MIN(bk, p->Tk - j0);
    const int ldk = (int)pl->lk.row;
    int any = 0;
    for (int qb = 0; qb < pl->nqb; qb++) {
        if (!pair_live(pl, bh, qb, j0)) continue;
        if (!any) {
            load_key_tile(pl, t, bh, j0, nk, w);
            memset(w->dK, 0, (size_t)nk * D * sizeof(float));
            memset(w->dV, 0, (size_t)nk * Dv * sizeof(float));
            if (t->dk && ldk != D)
                zy__flash_prefetch_rows(t->dk + row_at(pl->lk, bh, H, j0), ldk, nk, D);
            if (t->dv && pl->lv.row != Dv)
                zy__flash_prefetch_rows(t->dv + row_at(pl->lv, bh, H, j0), pl->lv.row, nk, Dv);
            any = 1;
        }
        const int i0 = qb * pl->bq, mq = ZY_MIN(pl->bq, p->Tq - i0);
        load_query_tile(pl, t, bh, qb, w);
        prefetch_query_tile(pl, t, bh, qb + 1 < pl->nqb ? qb + 1 : 0);
        if (qb + 1 == pl->nqb) prefetch_key_tile(pl, t, bh, kb + 1);
        pair_grads(pl, t, bh, qb, j0, nk, w);
        pl->kn.mm(nk, Dv, mq, 1.0f, w->P, bk, true, w->dO, w->ldo, 1.0f, w->dV, Dv);
        pl->kn.mm(nk, D, mq, pl->scale, w->dS, bk, true, w->Q, w->ldq, 1.0f, w->dK, D);
        if (with_dq && t->dq) add_dq(pl, t, bh, qb, j0, nk, w);
    }
    if (!any && !t->assign) return; // no query sees these keys: nothing to add
    if (t->dk)
        put_rows(t->dk + row_at(pl->lk, bh, H, j0), ldk, any ? w->dK : NULL, nk, D, t->assign);
    if (t->dv)
        put_rows(t->dv + row_at(pl->lv, bh, H, j0), pl->lv.row, any ? w->dV : NULL, nk, Dv,
                 t->assign);
}

// assign: dq rows [i0, i0 + n) of problem bh to zero before key tiles add to them.
static void clear_dq(const zy__flash_plan *pl, const tensors *t, int bh, int i0, int n) {
    if (t->assign && t->dq)
        put_rows(t->dq + row_at(t->lq, bh, pl->p.H, i0), t->lq.row, NULL, n, pl->D, true);
}

// dq of query tiles [qb0, qb1) (the second pass of the two-pass schedule): each key tile is
// transposed once for the whole group. Every dq tile is summed over key tiles in the
// same order and with the same kernels as key_tile(with_dq), hence the same bits.
static void query_tiles(const zy__flash_plan *pl, const tensors *t, int bh, int qb0, int qb1,
                        workspace *w) {
    const zy_attn_desc *p = &pl->p;
    const int bk = pl->bk;
    clear_dq(pl, t, bh, qb0 * pl->bq, ZY_MIN(qb1 * pl->bq, p->Tq) - qb0 * pl->bq);
    for (int kb = 0; kb < pl->nkb; kb++) {
        const int j0 = kb * bk, nk = ZY_MIN(bk, p->Tk - j0);
        if (!pair_live(pl, bh, qb1 - 1, j0)) break; // the group's last tile sees the most
        load_key_tile(pl, t, bh, j0, nk, w);
        for (int qb = qb0; qb < qb1; qb++) {
            if (!pair_live(pl, bh, qb, j0)) continue;
            load_query_tile(pl, t, bh, qb, w);
            pair_grads(pl, t, bh, qb, j0, nk, w);
            add_dq(pl, t, bh, qb, j0, nk, w);
        }
    }
}

typedef struct bwd_job {
    const zy__flash_plan *pl;
    const tensors *t;
    float *scratch;
    size_t per;
    int G, ngb; // two-pass dq: groups of G query tiles, ngb groups per row block
} bwd_job;

// rows (n, width) of problem bh in layout l <-> a contiguous panel (n, width)
static void gather(float *panel, const float *x, zy_attn_layout l, int bh, int H, int n,
                   int width) {
    copy_rows(panel, x + zy__attn_off(l, bh, H), l.row, n, width);
}
static void scatter(float *x, const float *panel, zy_attn_layout l, int bh, int H, int n,
                    int width) {
    float *dst = x + zy__attn_off(l, bh, H);
    for (int r = 0; r < n; r++) {
        if (r + PREFETCH_ROWS < n)
            zy__flash_prefetch_row(dst + (r + PREFETCH_ROWS) * l.row, width);
        memcpy(dst + r * l.row, panel + (size_t)r * width, (size_t)width * sizeof *dst);
    }
}

// One problem through contiguous panels (after the tiles in the thread's share): its rows
// are read from memory once here instead of once per tile pair, and dq is accumulated in
// a panel that starts as a copy of dq's rows (the same additions in the same order).
static void row_block_panels(const bwd_job *j, int bh, workspace *w, float *panel) {
    const zy__flash_plan *pl = j->pl;
    const zy_attn_desc *p = &pl->p;
    const int D = pl->D, Dv = p->Dv, Tq = p->Tq, Tk = p->Tk, H = p->H;
    const tensors *t = j->t;
    tensors u = *t;
    float *Q = panel, *dQ = Q + (size_t)Tq * D, *dO = dQ + (size_t)Tq * D;
    float *O = dO + (size_t)Tq * Dv, *K = O + (size_t)Tq * Dv, *V = K + (size_t)Tk * D;
    const zy_attn_layout dq_l = {0, 0, D}, dv_l = {0, 0, Dv};
    gather(Q, t->q, pl->lq, bh, H, Tq, D);
    gather(dO, t->dout, pl->lo, bh, H, Tq, Dv);
    gather(O, t->out, pl->lo, bh, H, Tq, Dv);
    gather(K, t->k, pl->lk, bh, H, Tk, D);
    gather(V, t->v, pl->lv, bh, H, Tk, Dv);
    u.q = Q, u.dout = dO, u.out = O, u.k = K, u.v = V;
    u.lq = u.lk = dq_l, u.lo = u.lv = dv_l;
    if (t->dq) { // the sums start from dq's rows, or (assign) from zero
        if (t->assign)
            memset(dQ, 0, (size_t)Tq * D * sizeof *dQ);
        else
            gather(dQ, t->dq, pl->lq, bh, H, Tq, D);
        u.dq = dQ;
    }
    for (int kb = 0; kb < pl->nkb; kb++) key_tile(pl, &u, bh, kb, 1, w);
    if (t->dq) scatter(t->dq, dQ, pl->lq, bh, H, Tq, D);
}

// The first tiles' rows of problem bh (its first query tile, its first key tile): what the
// problem reads first, requested while the one before it runs.
static void prefetch_problem(const zy__flash_plan *pl, const tensors *t, int bh) {
    const int H = pl->p.H, mq = ZY_MIN(pl->bq, pl->p.Tq), nk = ZY_MIN(pl->bk, pl->p.Tk);
    zy__flash_prefetch_rows(t->q + row_at(t->lq, bh, H, 0), t->lq.row, mq, pl->D);
    zy__flash_prefetch_rows(t->dout + row_at(t->lo, bh, H, 0), t->lo.row, mq, pl->p.Dv);
    zy__flash_prefetch_rows(t->out + row_at(t->lo, bh, H, 0), t->lo.row, mq, pl->p.Dv);
    zy__flash_prefetch_rows(t->k + row_at(t->lk, bh, H, 0), t->lk.row, nk, pl->D);
    zy__flash_prefetch_rows(t->v + row_at(t->lv, bh, H, 0), t->lv.row, nk, pl->p.Dv);
}

static void per_row_block(void *ctx, size_t b0, size_t b1, int thread) {
    const bwd_job *j = ctx;
    float *share = j->scratch + (size_t)thread * j->per;
    workspace w = carve(j->pl, share);
    prefetch_problem(j->pl, j->t, (int)b0);
    for (size_t bh = b0; bh < b1; bh++) {
        if (bh + 1 < b1) prefetch_problem(j->pl, j->t, (int)bh + 1);
        if (j->pl->panels) {
            row_block_panels(j, (int)bh, &w, share + zy_flash_scratch_floats(&j->pl->p) -
                                                     zy__flash_panel_floats(&j->pl->p));
            continue;
        }
        clear_dq(j->pl, j->t, (int)bh, 0, j->pl->p.Tq);
        for (int kb = 0; kb < j->pl->nkb; kb++) key_tile(j->pl, j->t, (int)bh, kb, 1, &w);
    }
}

static void key_pass(void *ctx, size_t x0, size_t x1, int thread) {
    const bwd_job *j = ctx;
    workspace w = carve(j->pl, j->scratch + (size_t)thread * j->per);
    for (size_t x = x0; x < x1; x++)
        key_tile(j->pl, j->t, (int)(x / j->pl->nkb), (int)(x % j->pl->nkb), 0, &w);
}

static void query_pass(void *ctx, size_t x0, size_t x1, int thread) {
    const bwd_job *j = ctx;
    workspace w = carve(j->pl, j->scratch + (size_t)thread * j->per);
    for (size_t x = x0; x < x1; x++) {
        const int qb0 = (int)(x % j->ngb) * j->G;
        query_tiles(j->pl, j->t, (int)(x / j->ngb), qb0, ZY_MIN(qb0 + j->G, j->pl->nqb), &w);
    }
}

// Every row of dq (Tq of each problem) and of dk, dv (Tk) to zero: assign with no score.
static void clear_all(const zy__flash_plan *pl, const tensors *t) {
    const zy_attn_desc *p = &pl->p;
    for (int bh = 0; bh < pl->BH; bh++) {
        clear_dq(pl, t, bh, 0, p->Tq);
        if (t->dk)
            put_rows(t->dk + row_at(t->lk, bh, p->H, 0), t->lk.row, NULL, p->Tk, pl->D, true);
        if (t->dv)
            put_rows(t->dv + row_at(t->lv, bh, p->H, 0), t->lv.row, NULL, p->Tk, p->Dv, true);
    }
}

static zy_status backward(float *dq, float *dk, float *dv, const float *dout, const float *q,
                          const float *k, const float *v, const float *out, const float *lse,
                          const zy_attn_desc *d, float *scratch, size_t scratch_floats,
                          bool assign, const char *who) {
    zy__flash_plan pl;
    zy_status st = zy__flash_plan_init(&pl, d, scratch, scratch_floats, who);
    if (st) return st;
    const tensors t = {dq, dk, dv, dout, q, k, v, out, lse, pl.lq, pl.lk, pl.lv, pl.lo, assign};
    if (d->Tq == 0 || d->Tk == 0) {
        if (assign) clear_all(&pl, &t);
        return ZY_STATUS_OK;
    }
    if (!dout || !q || !k || !v || !out || !lse)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: NULL tensor", who);
    if (!dq && !dk && !dv) return ZY_STATUS_OK;
    const int nt = pl.nthreads;
    bwd_job j = {&pl, &t, scratch, pl.share, 1, 1};
    // One row block per thread at a time balances once there are a few per thread.
    const int per_bh = nt == 1 || pl.BH >= 4 * nt || pl.BH % nt == 0;
    if (per_bh) { // chunks of up to 16 row blocks, about eight a thread
        const size_t grain = (size_t)ZY_MAX(1, ZY_MIN(16, pl.BH / (8 * nt)));
        zy__parallel((size_t)pl.BH, grain, nt, per_row_block, &j);
        return ZY_STATUS_OK;
    }
    // dq pass: groups of G query tiles share each transposed key tile; about four groups
    // per thread keep the dynamic schedule balanced (causal groups differ in cost).
    j.G = ZY_MAX(1, pl.BH * pl.nqb / (4 * nt));
    j.ngb = (pl.nqb + j.G - 1) / j.G; // groups per row block
    zy__parallel((size_t)pl.BH * pl.nkb, 1, nt, key_pass, &j);
    if (dq) zy__parallel((size_t)pl.BH * j.ngb, 1, nt, query_pass, &j);
    return ZY_STATUS_OK;
}

zy_status zy_flash_backward(float *dq, float *dk, float *dv, const float *dout,
                            const float *q, const float *k, const float *v, const float *out,
                            const float *lse, const zy_attn_desc *d, float *scratch,
                            size_t scratch_floats) {
    return backward(dq, dk, dv, dout, q, k, v, out, lse, d, scratch, scratch_floats, false,
                    "zy_flash_backward");
}

zy_status zy__flash_backward_assign(float *dq, float *dk, float *dv, const float *dout,
                                    const float *q, const float *k, const float *v,
                                    const float *out, const float *lse, const zy_attn_desc *d,
                                    float *scratch, size_t scratch_floats) {
    return backward(dq, dk, dv, dout, q, k, v, out, lse, d, scratch, scratch_floats, true,
                    "zy_flash_backward");
}
