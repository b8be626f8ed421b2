// The data-source wrapper: argument checks around an implementation's operations (data.h),
// so every source reports the same errors, and the byte hash used for fingerprints.
#include <string.h>

#include "core/internal.h"
#include "zhuyi/data.h"

struct zy_data_source {
    const zy_data_source_ops *ops;
    void *impl;
    zy_data_source_info info;
};

zy_status zy_data_source_create(zy_data_source **out, const zy_data_source_ops *ops,
                                void *impl, const zy_data_source_info *info) {
    *out = NULL;
    if (!ops || !ops->next || !ops->tell || !ops->seek || !ops->shard || !info ||
        info->dims.batch <= 0 || info->dims.seq <= 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data source: incomplete operations or "
                         "dimensions");
    zy_data_source *s = zy_calloc(1, sizeof *s);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "data source: out of memory");
    *s = (zy_data_source){.ops = ops, .impl = impl, .info = *info};
    *out = s;
    return ZY_STATUS_OK;
}

void zy_data_source_free(zy_data_source *s) {
    if (!s) return;
    if (s->ops->free) s->ops->free(s->impl);
    zy_free(s);
}

const zy_data_source_info *zy_data_source_get_info(const zy_data_source *s) {
    return &s->info;
}

zy_status zy_data_source_next(zy_data_source *s, zy_batch *b) {
    const zy_batch_dims *d = &s->info.dims;
    // The batch must have every field the source fills (sized by zy_batch_init(dims)).
    unsigned f = d->fields;
    if (!b || !b->input_ids || ((f & ZY_BATCH_TARGETS) && !b->targets) ||
        ((f & ZY_BATCH_LENGTHS) && !b->lengths) ||
        ((f & ZY_BATCH_TOKEN_TYPES) && !b->token_type_ids) ||
        ((f & ZY_BATCH_LABELS) && !b->labels) || ((f & ZY_BATCH_VALUES) && !b->values) ||
        ((f & ZY_BATCH_SPANS) && (!b->span_starts || !b->span_ends)) ||
        ((f & ZY_BATCH_DECODER) && (!b->dec_input_ids || !b->dec_targets || !b->dec_lengths)) ||
        ((f & ZY_BATCH_PIXELS) && (!b->pixels || b->channels != d->channels ||
                                   b->height != d->height || b->width != d->width)) ||
        ((f & ZY_BATCH_FEATURES) && (!b->features || b->n_features != d->n_features)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s source: the batch lacks fields the "
                         "source fills (allocate it with zy_batch_init of the source's dims)",
                         s->info.kind ? s->info.kind : "data");
    zy_status st = s->ops->next(s->impl, b);
    ZY_ASSERT(st || (b->B >= 0 && b->B <= d->batch && b->T <= d->seq &&
                     (!(f & ZY_BATCH_DECODER) || b->T_dec <= d->seq_dec) &&
                     (d->tokens <= 0 || ((long long)b->B * b->T <= d->tokens &&
                                         (long long)b->B * b->T_dec <= d->tokens))));
    return st;
}

void zy_data_source_tell(const zy_data_source *s, zy_data_pos *pos) {
    s->ops->tell(s->impl, pos);
}

zy_status zy_data_source_seek(zy_data_source *s, zy_data_pos pos) {
    return s->ops->seek(s->impl, pos);
}

zy_status zy_data_source_shard(zy_data_source *s, int rank, int world) {
    if (world < 1 || rank < 0 || rank >= world)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data source: rank %d of %d processes",
                         rank, world);
    return s->ops->shard(s->impl, rank, world);
}

uint64_t zy_hash_bytes(const void *data, size_t n) {
    // Word-at-a-time multiply-xorshift: fast over hundreds of MB, enough to tell two
    // different parameter sets or token streams apart (not an adversarial setting).
    const unsigned char *p = data;
    uint64_t h = 0x243F6A8885A308D3ull ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
    return zy_hash64(h, n);
}
