// Batches: allocation of the fields a data source fills. Not here: what goes into them
// (the sources) or what reads them (the models).
#include <string.h>

#include "core/internal.h"
#include "zhuyi/data.h"

zy_status zy_batch_init(zy_batch *b, const zy_batch_dims *d) {
    memset(b, 0, sizeof *b);
    if (!d || d->batch <= 0 || d->seq <= 0 || d->seq_dec < 0 || d->n_values < 0 ||
        d->batch > (1 << 24) || d->seq > (1 << 24) || d->seq_dec > (1 << 24) ||
        (long long)d->batch * d->seq > (1LL << 31) ||
        (long long)d->batch * d->seq_dec > (1LL << 31) ||
        ((d->fields & ZY_BATCH_VALUES) && (d->n_values <= 0 || d->n_values > (1 << 20))) ||
        ((d->fields & ZY_BATCH_DECODER) && d->seq_dec <= 0) || d->tokens < 0 ||
        ((d->fields & ZY_BATCH_PIXELS) &&
         (d->channels <= 0 || d->channels > 4 || d->height <= 0 || d->height > (1 << 14) ||
          d->width <= 0 || d->width > (1 << 14) ||
          (long long)d->batch * d->channels * d->height * d->width > (1LL << 31))) ||
        ((d->fields & ZY_BATCH_FEATURES) &&
         (d->n_features <= 0 || d->n_features > (1 << 16) ||
          (long long)d->batch * d->seq * d->n_features > (1LL << 31))))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "batch: bad dimensions (batch %d, seq %d, "
                         "seq_dec %d, n_values %d, images %d x %d x %d)", d ? d->batch : 0,
                         d ? d->seq : 0, d ? d->seq_dec : 0, d ? d->n_values : 0,
                         d ? d->channels : 0, d ? d->height : 0, d ? d->width : 0);
    size_t B = (size_t)d->batch, BT = B * (size_t)d->seq, BTd = B * (size_t)d->seq_dec;
    if (d->tokens > 0) {
        BT = ZY_MIN(BT, (size_t)d->tokens);
        BTd = ZY_MIN(BTd, (size_t)d->tokens);
    }
    unsigned f = d->fields;
    bool ok = (b->input_ids = zy_alloc(BT * sizeof(int))) != NULL;
    if (f & ZY_BATCH_TARGETS) ok = ok && (b->targets = zy_alloc(BT * sizeof(int)));
    if (f & ZY_BATCH_LENGTHS) ok = ok && (b->lengths = zy_alloc(B * sizeof(int)));
    if (f & ZY_BATCH_TOKEN_TYPES) ok = ok && (b->token_type_ids = zy_alloc(BT * sizeof(int)));
    if (f & ZY_BATCH_LABELS) ok = ok && (b->labels = zy_alloc(B * sizeof(int)));
    if (f & ZY_BATCH_VALUES)
        ok = ok && (b->values = zy_alloc(B * (size_t)d->n_values * sizeof(float)));
    if (f & ZY_BATCH_SPANS)
        ok = ok && (b->span_starts = zy_alloc(B * sizeof(int))) &&
             (b->span_ends = zy_alloc(B * sizeof(int)));
    if (f & ZY_BATCH_DECODER)
        ok = ok && (b->dec_input_ids = zy_alloc(BTd * sizeof(int))) &&
             (b->dec_targets = zy_alloc(BTd * sizeof(int))) &&
             (b->dec_lengths = zy_alloc(B * sizeof(int)));
    if (f & ZY_BATCH_PIXELS) {
        ok = ok && (b->pixels = zy_alloc(B * (size_t)d->channels * (size_t)d->height *
                                         (size_t)d->width * sizeof(float)));
        b->channels = d->channels, b->height = d->height, b->width = d->width;
    }
    if (f & ZY_BATCH_FEATURES) {
        ok = ok && (b->features = zy_alloc(BT * (size_t)d->n_features * sizeof(float)));
        b->n_features = d->n_features;
    }
    b->n_values = d->n_values;
    if (!ok) {
        zy_batch_destroy(b);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "batch: out of memory for %d x %d",
                         d->batch, d->seq);
    }
    return ZY_STATUS_OK;
}

void zy_batch_destroy(zy_batch *b) {
    if (!b) return;
    zy_free(b->input_ids);
    zy_free(b->targets);
    zy_free(b->lengths);
    zy_free(b->token_type_ids);
    zy_free(b->labels);
    zy_free(b->values);
    zy_free(b->span_starts);
    zy_free(b->span_ends);
    zy_free(b->dec_input_ids);
    zy_free(b->dec_targets);
    zy_free(b->dec_lengths);
    zy_free(b->pixels);
    zy_free(b->features);
    memset(b, 0, sizeof *b);
}
