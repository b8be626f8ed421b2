// KV cache for incremental decoding: per layer, the keys and values of every position
// seen so far, so each new token costs one query against the cache instead of a full
// recomputation. Forward only (inference); training uses the full-sequence paths.
// Layout per layer: k (B,H,maxT,D) then v (B,H,maxT,D); attention reads them in place
// through the desc's k/v strides.
#include <string.h>

#include "zhuyi/attention.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "nn/attention_internal.h"

struct zy_kv_cache {
    int layers, B, H, maxT, D;
    int *len;   // (layers) positions held by each layer
    float *mem; // (layers, 2, B, H, maxT, D)
};

static float *layer_k(const zy_kv_cache *c, int layer) {
    return c->mem + (size_t)layer * 2 * c->B * c->H * c->maxT * c->D;
}
static float *layer_v(const zy_kv_cache *c, int layer) {
    return layer_k(c, layer) + (size_t)c->B * c->H * c->maxT * c->D;
}

zy_status zy_kv_cache_create(zy_kv_cache **out, int layers, int B, int H, int maxT, int D) {
    *out = NULL;
    if (layers <= 0 || B <= 0 || H <= 0 || maxT <= 0 || D <= 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "kv cache: bad sizes layers=%d B=%d H=%d maxT=%d D=%d", layers, B, H,
                         maxT, D);
    zy_kv_cache *c = zy_calloc(1, sizeof *c);
    if (!c) goto fail_struct;
    c->len = zy_calloc((size_t)layers, sizeof *c->len);
    if (!c->len) goto fail_len;
    c->mem = zy_calloc((size_t)layers * 2 * B * H * maxT, (size_t)D * sizeof(float));
    if (!c->mem) goto fail_mem;
    c->layers = layers, c->B = B, c->H = H, c->maxT = maxT, c->D = D;
    *out = c;
    return ZY_STATUS_OK;
fail_mem:
    zy_free(c->len);
fail_len:
    zy_free(c);
fail_struct:
    return ZY_STATUS_OUT_OF_MEMORY;
}

void zy_kv_cache_free(zy_kv_cache *c) {
    if (!c) return;
    zy_free(c->mem);
    zy_free(c->len);
    zy_free(c);
}

void zy_kv_cache_reset(zy_kv_cache *c) { memset(c->len, 0, (size_t)c->layers * sizeof *c->len); }

int zy_kv_cache_len(const zy_kv_cache *c, int layer) {
    return layer >= 0 && layer < c->layers ? c->len[layer] : 0;
}

// k, v (B,H,Tn,D)
zy_status zy_kv_cache_append(zy_kv_cache *c, int layer, const float *k, const float *v,
                             int Tn) {
    if (layer < 0 || layer >= c->layers)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "kv cache: layer %d of %d", layer,
                         c->layers);
    int t0 = c->len[layer];
    if (Tn < 0 || Tn > c->maxT - t0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "kv cache: layer %d holds %d of %d positions, cannot append %d",
                         layer, t0, c->maxT, Tn);
    size_t row = (size_t)c->D, n = (size_t)Tn * row;
    float *K = layer_k(c, layer), *V = layer_v(c, layer);
    for (int bh = 0; bh < c->B * c->H; bh++) {
        size_t dst = ((size_t)bh * c->maxT + t0) * row;
        memcpy(K + dst, k + (size_t)bh * n, n * sizeof *K);
        memcpy(V + dst, v + (size_t)bh * n, n * sizeof *V);
    }
    c->len[layer] = t0 + Tn;
    return ZY_STATUS_OK;
}

// q (B,H,Tn,D) -> out (B,H,Tn,D); att (B*H*Tn*maxT) scratch
zy_status zy_kv_cache_attend(const zy_kv_cache *c, int layer, float *out, float *att,
                             const float *q, int Tn, const int *key_lengths) {
    if (layer < 0 || layer >= c->layers || Tn <= 0 || Tn > c->len[layer])
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "kv cache: attend layer %d with %d queries (holds %d)", layer, Tn,
                         layer >= 0 && layer < c->layers ? c->len[layer] : 0);
    zy_attn_desc d = zy_attn_default_desc(c->B, c->H, Tn, c->len[layer], c->D, c->D);
    d.causal = true; // the Tn queries are the last Tn cached positions
    d.key_lengths = key_lengths;
    d.k_layout = d.v_layout = (zy_attn_layout){(ptrdiff_t)c->H * c->maxT * c->D,
                                                (ptrdiff_t)c->maxT * c->D, c->D};
    return zy_attn_forward(out, att, NULL, q, layer_k(c, layer), layer_v(c, layer), NULL, &d);
}

size_t zy_mha_cached_scratch_floats(const zy_kv_cache *c, int Tn, int C) {
    size_t n = (size_t)c->B * Tn * C;
    // proj (3n) | qh | kh | vh | oh | ctx | att
    return 8 * n + (size_t)c->B * c->H * Tn * c->maxT;
}

// xnew (B,Tn,C) -> out (B,Tn,C)
zy_status zy_mha_forward_cached(float *out, float *scratch, zy_kv_cache *cache, int layer,
                                const float *xnew, int Tn, const zy_mha_params *p, int C) {
    int B = cache->B, H = cache->H, hd = cache->D;
    if (C != H * hd)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "kv cache: C=%d but cache has %d x %d",
                         C, H, hd);
    size_t n = (size_t)B * Tn * C;
    float *proj = scratch, *qh = proj + 3 * n, *kh = qh + n, *vh = kh + n, *oh = vh + n;
    float *ctx = oh + n, *att = ctx + n;
    zy_linear_forward(proj, xnew, p->in_proj_weight, p->in_proj_bias, B * Tn, C, 3 * C);
    zy__mha_split_heads(qh, proj, B, Tn, H, hd, 3 * C, 0);
    zy__mha_split_heads(kh, proj, B, Tn, H, hd, 3 * C, C);
    zy__mha_split_heads(vh, proj, B, Tn, H, hd, 3 * C, 2 * C);
    zy_status st = zy_kv_cache_append(cache, layer, kh, vh, Tn);
    if (st != ZY_STATUS_OK) return st;
    st = zy_kv_cache_attend(cache, layer, oh, att, qh, Tn, NULL);
    if (st != ZY_STATUS_OK) return st;
    zy__mha_merge_heads(ctx, oh, B, Tn, H, hd, C, 0, 0);
    zy_linear_forward(out, ctx, p->out_proj_weight, p->out_proj_bias, B * Tn, C, C);
    return ZY_STATUS_OK;
}
