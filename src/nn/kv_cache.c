// KV cache for incremental decoding of a batch of sequences: per (layer, sequence) the keys
// and values of every position seen so far, so each new token costs one query against the
// cache instead of a full recomputation. Forward only (inference); training uses the
// full-sequence paths. The attention reads the cache in place: through the descriptor's
// layouts on the tiled core (several queries), or the one-query decode kernel.
//
// Layout: mem (layers, n_seq, 2, H, maxT, D) — per (layer, sequence) k (H, maxT, D) then
// v (H, maxT, D), elements of the cache's type: f32, or f16 / bf16 (half the memory and
// half the bytes a decoding step reads; written rounded to nearest even). len (n_seq):
// advanced positions; fill (layers, n_seq): positions present at each layer (>= len once
// written), so attend and advance can check what is there. A 16-bit cache is read as is
// by the one-query kernel; several queries (a prompt chunk) widen the sequence's keys and
// values into the scratch for the tiled core.
#include <string.h>

#include "zhuyi/attention.h"
#include "zhuyi/io.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "nn/attention_internal.h"

struct zy_kv_cache {
    int layers, n_seq, H, maxT, D;
    zy_wtype type; // F32, F16 or BF16
    size_t esz;    // bytes an element
    int *len;      // (n_seq)
    int *fill;     // (layers, n_seq)
    uint8_t *mem;  // (layers, n_seq, 2, H, maxT, D) elements
};

// Elements of one head's keys (or values): maxT rows of D.
static size_t head_floats(const zy_kv_cache *c) { return (size_t)c->maxT * c->D; }
static uint8_t *seq_k(const zy_kv_cache *c, int layer, int seq) {
    return c->mem + ((size_t)layer * c->n_seq + seq) * 2 * c->H * head_floats(c) * c->esz;
}
static uint8_t *seq_v(const zy_kv_cache *c, int layer, int seq) {
    return seq_k(c, layer, seq) + (size_t)c->H * head_floats(c) * c->esz;
}
static int *fill_of(const zy_kv_cache *c, int layer, int seq) {
    return c->fill + (size_t)layer * c->n_seq + seq;
}

zy_status zy_kv_cache_create(zy_kv_cache **out, int layers, int n_seq, int H, int maxT, int D) {
    return zy_kv_cache_create_typed(out, layers, n_seq, H, maxT, D, ZY_WTYPE_F32);
}

zy_status zy_kv_cache_create_typed(zy_kv_cache **out, int layers, int n_seq, int H, int maxT,
                                   int D, zy_wtype type) {
    *out = NULL;
    if (layers <= 0 || n_seq <= 0 || H <= 0 || maxT <= 0 || D <= 0 || maxT > (1 << 24) ||
        D > 65536)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "kv cache: bad sizes layers=%d n_seq=%d H=%d maxT=%d D=%d", layers,
                         n_seq, H, maxT, D);
    if (type != ZY_WTYPE_F32 && type != ZY_WTYPE_F16 && type != ZY_WTYPE_BF16)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "kv cache: type %s; it holds f32, f16 or "
                         "bf16", zy_wtype_name(type) ? zy_wtype_name(type) : "(unknown)");
    const size_t esz = type == ZY_WTYPE_F32 ? 4 : 2;
    // The product can pass 2^64 (4096 layers x 65536 sequences x ...): checked, and
    // refused above the machine's memory before anything is allocated.
    size_t bytes;
    if (!zy__mul_size((size_t)layers * (size_t)n_seq, 2 * (size_t)H, &bytes) ||
        !zy__mul_size(bytes, (size_t)maxT * (size_t)D, &bytes) ||
        !zy__mul_size(bytes, esz, &bytes) || zy__exceeds_memory(bytes))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY,
                         "kv cache: %d layers x %d sequences x 2 x %d heads x %d positions x %d "
                         "%s (%.3g GiB) is more than this machine's %.1f GiB of memory",
                         layers, n_seq, H, maxT, D, zy_wtype_name(type),
                         ZY_GIB((double)esz * layers * n_seq * 2.0 * H * (double)maxT * D),
                         ZY_GIB(zy__physical_memory()));
    zy_kv_cache *c = zy_calloc(1, sizeof *c);
    if (!c) goto fail_struct;
    c->len = zy_calloc((size_t)n_seq, sizeof *c->len);
    if (!c->len) goto fail_len;
    c->fill = zy_calloc((size_t)layers * n_seq, sizeof *c->fill);
    if (!c->fill) goto fail_fill;
    c->mem = zy_calloc((size_t)layers * n_seq * 2 * H * maxT, (size_t)D * esz);
    if (!c->mem) goto fail_mem;
    c->layers = layers, c->n_seq = n_seq, c->H = H, c->maxT = maxT, c->D = D;
    c->type = type, c->esz = esz;
    *out = c;
    return ZY_STATUS_OK;
fail_mem:
    zy_free(c->fill);
fail_fill:
    zy_free(c->len);
fail_len:
    zy_free(c);
fail_struct:
    return zy__error(ZY_STATUS_OUT_OF_MEMORY, "kv cache: out of memory for %d layers x %d "
                     "sequences x %d positions", layers, n_seq, maxT);
}

void zy_kv_cache_free(zy_kv_cache *c) {
    if (!c) return;
    zy_free(c->mem);
    zy_free(c->fill);
    zy_free(c->len);
    zy_free(c);
}

zy_wtype zy_kv_cache_type(const zy_kv_cache *c) { return c->type; }

void zy_kv_cache_shape(const zy_kv_cache *c, int *layers, int *n_seq, int *H, int *maxT,
                       int *D) {
    if (layers) *layers = c->layers;
    if (n_seq) *n_seq = c->n_seq;
    if (H) *H = c->H;
    if (maxT) *maxT = c->maxT;
    if (D) *D = c->D;
}

static zy_status check_seq(const zy_kv_cache *c, int seq, const char *who) {
    if (seq < 0 || seq >= c->n_seq)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "kv cache %s: sequence %d of %d", who, seq,
                         c->n_seq);
    return ZY_STATUS_OK;
}
static zy_status check_layer_seq(const zy_kv_cache *c, int layer, int seq, const char *who) {
    if (layer < 0 || layer >= c->layers)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "kv cache %s: layer %d of %d", who, layer,
                         c->layers);
    return check_seq(c, seq, who);
}

void zy_kv_cache_reset(zy_kv_cache *c) {
    memset(c->len, 0, (size_t)c->n_seq * sizeof *c->len);
    memset(c->fill, 0, (size_t)c->layers * c->n_seq * sizeof *c->fill);
}

zy_status zy_kv_cache_reset_seq(zy_kv_cache *c, int seq) {
    zy_status st = check_seq(c, seq, "reset");
    if (st != ZY_STATUS_OK) return st;
    c->len[seq] = 0;
    for (int l = 0; l < c->layers; l++) *fill_of(c, l, seq) = 0;
    return ZY_STATUS_OK;
}

int zy_kv_cache_len(const zy_kv_cache *c, int seq) {
    if (check_seq(c, seq, "len") != ZY_STATUS_OK) return -1;
    return c->len[seq];
}

zy_status zy_kv_cache_copy_seq(zy_kv_cache *c, int dst, int src) {
    zy_status st;
    if ((st = check_seq(c, dst, "copy")) || (st = check_seq(c, src, "copy"))) return st;
    if (dst == src) return ZY_STATUS_OK;
    for (int l = 0; l < c->layers; l++) {
        int n = *fill_of(c, l, src);
        const size_t hb = head_floats(c) * c->esz;
        for (int h = 0; h < 2 * c->H; h++) // the k heads then the v heads
            memcpy(seq_k(c, l, dst) + h * hb, seq_k(c, l, src) + h * hb,
                   (size_t)n * c->D * c->esz);
        *fill_of(c, l, dst) = n;
    }
    c->len[dst] = c->len[src];
    return ZY_STATUS_OK;
}

// D floats of x -> a row of the cache's type at dst.
static void put_row(const zy_kv_cache *c, uint8_t *dst, const float *x) {
    if (c->type == ZY_WTYPE_F16) zy_f32_to_f16_array((uint16_t *)(void *)dst, x, (size_t)c->D);
    else if (c->type == ZY_WTYPE_BF16) zy_f32_to_bf16_array((uint16_t *)(void *)dst, x, (size_t)c->D);
    else memcpy(dst, x, (size_t)c->D * sizeof(float));
}

zy_status zy_kv_cache_write(zy_kv_cache *c, int layer, int seq, const float *k,
                            const float *v, int n, int ld) {
    zy_status st = check_layer_seq(c, layer, seq, "write");
    if (st != ZY_STATUS_OK) return st;
    const int t0 = c->len[seq], H = c->H, D = c->D;
    if (n < 0 || n > c->maxT - t0 || ld < H * D)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "kv cache write: sequence %d holds %d of %d positions, cannot add %d "
                         "(row stride %d, need >= %d)",
                         seq, t0, c->maxT, n, ld, H * D);
    uint8_t *K = seq_k(c, layer, seq), *V = seq_v(c, layer, seq);
    for (int h = 0; h < H; h++) {
        uint8_t *kh = K + (h * head_floats(c) + (size_t)t0 * D) * c->esz;
        uint8_t *vh = V + (h * head_floats(c) + (size_t)t0 * D) * c->esz;
        for (int t = 0; t < n; t++) {
            put_row(c, kh + (size_t)t * D * c->esz, k + (size_t)t * ld + (size_t)h * D);
            put_row(c, vh + (size_t)t * D * c->esz, v + (size_t)t * ld + (size_t)h * D);
        }
    }
    *fill_of(c, layer, seq) = t0 + n;
    return ZY_STATUS_OK;
}

zy_status zy_kv_cache_advance(zy_kv_cache *c, int seq, int n) {
    zy_status st = check_seq(c, seq, "advance");
    if (st != ZY_STATUS_OK) return st;
    const int want = c->len[seq] + n;
    if (n < 0 || n > c->maxT - c->len[seq])
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "kv cache advance: sequence %d holds %d of %d positions, cannot add %d",
                         seq, c->len[seq], c->maxT, n);
    for (int l = 0; l < c->layers; l++)
        if (*fill_of(c, l, seq) < want)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "kv cache advance: layer %d of sequence %d holds %d positions, "
                             "not the %d it would advance to (write every layer first)",
                             l, seq, *fill_of(c, l, seq), want);
    c->len[seq] = want;
    return ZY_STATUS_OK;
}

// ---- attention over the cache ------------------------------------------------------------
// Per-thread share of the scratch: the decode kernel's scores (maxT), or a tiled tile set.
static size_t share_floats(const zy_kv_cache *c, int n) {
    size_t s = (size_t)c->maxT;
    if (n > 1) {
        zy_attn_desc d = zy_attn_default_desc(1, c->H, n, c->maxT, c->D, c->D);
        size_t f = zy_flash_scratch_floats(&d);
        s = s > f ? s : f;
    }
    return (s + 15) & ~(size_t)15;
}

// Ahead of the per-thread shares: the tiled core's lse (H*n), and for a 16-bit cache and
// several queries the sequence's keys and values widened to floats (2 x H x maxT x D).
static size_t widened_floats(const zy_kv_cache *c, int n) {
    return c->type != ZY_WTYPE_F32 && n > 1 ? 2 * (size_t)c->H * head_floats(c) : 0;
}

static size_t head_of_scratch(const zy_kv_cache *c, int n) {
    return (((size_t)c->H * n + 15) & ~(size_t)15) + widened_floats(c, n);
}

size_t zy_kv_cache_scratch_floats(const zy_kv_cache *c, int n) {
    return head_of_scratch(c, n) + share_floats(c, n) * (size_t)zy__parallel_threads();
}

// Keys a causal / non-causal attend of n queries of seq sees, or -1 with a message.
static int key_count(const zy_kv_cache *c, int layer, int seq, bool causal, int n,
                     const char *who) {
    const int have = *fill_of(c, layer, seq), len = c->len[seq];
    const int need = causal ? len + n : len;
    if (have < need) {
        zy__error(ZY_STATUS_INVALID_ARGUMENT,
                  "kv cache %s: layer %d of sequence %d holds %d positions, the %s query "
                  "needs %d (write the new positions first)",
                  who, layer, seq, have, causal ? "causal" : "memory", need);
        return -1;
    }
    return need;
}

typedef struct step_job {
    const zy_kv_cache *c;
    int layer;
    const int *seqs;
    const float *q;
    float *out, *scratch;
    int ldq, ldo, one_seq; // one_seq >= 0: one query of that sequence
    int one_keys;          // its key count
    bool causal;           // otherwise: query i sees len + causal keys of seqs[i]
    size_t share;
    float scale;
    zy__attn_decode_fn kernel;     // an f32 cache
    zy__attn_decode16_fn kernel16; // a 16-bit one
} step_job;

// task = query i, head h
static void step_tasks(void *ctx, size_t t0, size_t t1, int thread) {
    const step_job *j = ctx;
    const zy_kv_cache *c = j->c;
    float *s = j->scratch + (size_t)thread * j->share;
    for (size_t t = t0; t < t1; t++) {
        const int i = (int)(t / c->H), h = (int)(t % c->H);
        const int seq = j->one_seq >= 0 ? j->one_seq : j->seqs[i];
        const int nk = j->one_seq >= 0 ? j->one_keys : c->len[seq] + (j->causal ? 1 : 0);
        const uint8_t *K = seq_k(c, j->layer, seq) + h * head_floats(c) * c->esz;
        const uint8_t *V = seq_v(c, j->layer, seq) + h * head_floats(c) * c->esz;
        float *out = j->out + (size_t)i * j->ldo + (size_t)h * c->D;
        const float *q = j->q + (size_t)i * j->ldq + (size_t)h * c->D;
        if (c->type == ZY_WTYPE_F32)
            j->kernel(out, q, (const float *)(const void *)K, c->D,
                      (const float *)(const void *)V, c->D, nk, c->D, c->D, j->scale, s);
        else
            j->kernel16(out, q, (const uint16_t *)(const void *)K, c->D,
                        (const uint16_t *)(const void *)V, c->D, nk, c->D, c->D, j->scale, s,
                        c->type == ZY_WTYPE_BF16);
    }
}

static zy_status run_steps(step_job *j, int n, int max_keys, float scale,
                           size_t scratch_floats) {
    const zy_kv_cache *c = j->c;
    j->share = share_floats(c, 1);
    if (!j->scratch || scratch_floats < j->share)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "kv cache attend: scratch of %zu floats, need at least %zu",
                         j->scratch ? scratch_floats : (size_t)0, j->share);
    j->scale = scale != 0.0f ? scale : 1.0f / sqrtf((float)c->D);
    j->kernel = zy__attn_decode_kernel();
    j->kernel16 = zy__attn_decode16_kernel();
    size_t fit = scratch_floats / j->share;
    int nt = zy__parallel_threads();
    nt = (size_t)nt < fit ? nt : (int)fit;
    size_t per_task = (size_t)max_keys * c->D * 2 * c->esz + 1;
    size_t grain = ZY_MAX((size_t)1, ((size_t)1 << 16) / per_task);
    zy__parallel((size_t)n * c->H, grain, nt, step_tasks, j);
    return ZY_STATUS_OK;
}

// n elements of a 16-bit cache at src -> floats.
static void widen(const zy_kv_cache *c, float *dst, const uint8_t *src, size_t n) {
    const uint16_t *h = (const uint16_t *)(const void *)src;
    if (c->type == ZY_WTYPE_F16) zy_f16_to_f32_array(dst, h, n);
    else zy_bf16_to_f32_array(dst, h, n);
}

static zy_status check_rows(const zy_kv_cache *c, int n, int ldq, int ldo, const float *q,
                            const float *out, const char *who) {
    if (n <= 0 || ldq < c->H * c->D || ldo < c->H * c->D || !q || !out)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "kv cache %s: %d queries, row strides %d / %d (need >= %d)", who, n,
                         ldq, ldo, c->H * c->D);
    return ZY_STATUS_OK;
}

zy_status zy_kv_cache_attend(const zy_kv_cache *c, int layer, int seq, bool causal,
                             float scale, const float *q, int ldq, int n, float *out, int ldo,
                             float *scratch, size_t scratch_floats) {
    zy_status st = check_layer_seq(c, layer, seq, "attend");
    if (st || (st = check_rows(c, n, ldq, ldo, q, out, "attend"))) return st;
    const int Tk = key_count(c, layer, seq, causal, n, "attend");
    if (Tk < 0) return ZY_STATUS_INVALID_ARGUMENT;
    const size_t head = head_of_scratch(c, n);
    if (!scratch || scratch_floats < head)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "kv cache attend: scratch of %zu floats",
                         scratch ? scratch_floats : (size_t)0);
    if (n == 1) { // one query: the decode kernel
        step_job j = {c, layer, NULL, q, out, scratch + head, ldq, ldo, seq, Tk, causal, 0, 0,
                      NULL, NULL};
        return run_steps(&j, 1, Tk, scale, scratch_floats - head);
    }
    zy_attn_desc d = zy_attn_default_desc(1, c->H, n, Tk, c->D, c->D);
    d.causal = causal;
    d.scale = scale;
    d.q_layout = zy_attn_layout_rows(n, c->D, ldq);
    d.out_layout = zy_attn_layout_rows(n, c->D, ldo);
    d.k_layout = d.v_layout = (zy_attn_layout){0, (ptrdiff_t)head_floats(c), c->D};
    const float *K = (const float *)(const void *)seq_k(c, layer, seq);
    const float *V = (const float *)(const void *)seq_v(c, layer, seq);
    const size_t wide = widened_floats(c, n);
    if (wide) { // a 16-bit cache: the Tk keys and values of each head as floats
        float *wk = scratch + head - wide, *wv = wk + wide / 2;
        for (int h = 0; h < c->H; h++) {
            const size_t at = (size_t)h * head_floats(c);
            widen(c, wk + at, seq_k(c, layer, seq) + at * c->esz, (size_t)Tk * c->D);
            widen(c, wv + at, seq_v(c, layer, seq) + at * c->esz, (size_t)Tk * c->D);
        }
        K = wk, V = wv;
    }
    // the tiled core's lse (one per query row and head) sits in the scratch's head
    return zy_flash_forward(out, scratch, q, K, V, &d, scratch + head, scratch_floats - head);
}

zy_status zy_kv_cache_attend_step(const zy_kv_cache *c, int layer, const int *seqs, int n,
                                  bool causal, float scale, const float *q, int ldq, float *out,
                                  int ldo, float *scratch, size_t scratch_floats) {
    zy_status st = check_rows(c, n, ldq, ldo, q, out, "attend step");
    if (st != ZY_STATUS_OK) return st;
    if (!seqs) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "kv cache attend step: no seqs");
    // Every sequence is checked before anything runs.
    const size_t head = head_of_scratch(c, n);
    if (!scratch || scratch_floats < head)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "kv cache attend step: scratch of %zu floats",
                         scratch ? scratch_floats : (size_t)0);
    int max_keys = 0;
    for (int i = 0; i < n; i++) {
        if ((st = check_layer_seq(c, layer, seqs[i], "attend step"))) return st;
        int nk = key_count(c, layer, seqs[i], causal, 1, "attend step");
        if (nk < 0) return ZY_STATUS_INVALID_ARGUMENT;
        max_keys = ZY_MAX(max_keys, nk);
    }
    step_job j = {c, layer, seqs, q, out, scratch + head, ldq, ldo, -1, 0, causal, 0, 0, NULL,
                  NULL};
    return run_steps(&j, n, max_keys, scale, scratch_floats - head);
}

// ---- MHA over the cache --------------------------------------------------------------------
size_t zy_mha_cached_scratch_floats(const zy_kv_cache *c, int n, int C) {
    size_t rows = (size_t)n * C;
    // proj (n, 3C) | ctx (n, C) | attention scratch
    return ((4 * rows + 15) & ~(size_t)15) + zy_kv_cache_scratch_floats(c, n);
}

zy_status zy_mha_forward_cached(float *out, float *scratch, size_t scratch_floats,
                                zy_kv_cache *cache, int layer, int seq, const float *xnew,
                                int n, const zy_mha_params *p, int C) {
    if (C != cache->H * cache->D || n <= 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "mha cached: C=%d but the cache has %d heads x %d, n=%d", C, cache->H,
                         cache->D, n);
    size_t rows = (size_t)n * C, head = (4 * rows + 15) & ~(size_t)15;
    if (scratch_floats < head)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "mha cached: scratch of %zu floats",
                         scratch_floats);
    float *proj = scratch, *ctx = proj + 3 * rows;
    zy_linear_forward(proj, xnew, p->in_proj_weight, p->in_proj_bias, n, C, 3 * C);
    zy_status st = zy_kv_cache_write(cache, layer, seq, proj + C, proj + 2 * C, n, 3 * C);
    if (st != ZY_STATUS_OK) return st;
    st = zy_kv_cache_attend(cache, layer, seq, true, 0.0f, proj, 3 * C, n, ctx, C,
                            scratch + head, scratch_floats - head);
    if (st != ZY_STATUS_OK) return st;
    zy_linear_forward(out, ctx, p->out_proj_weight, p->out_proj_bias, n, C, C);
    return ZY_STATUS_OK;
}
