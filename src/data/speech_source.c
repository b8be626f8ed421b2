// A speech set as a data source (speech_data.h): a row source (row_source.h) whose rows
// are utterances, each read and featurised when its batch is made (zy_audio_read_wav,
// zy_speech_features), masked by SpecAugment in training, with its transcript's CTC
// labels. Not here: epochs, positions and shards (row_source.c), the manifest and the
// features (speech_set.c), the vocabulary (speech_vocab.c).
//
// A row source's put() cannot fail, but reading a WAV can (the file changed or went away
// since the set was read): put() records the first failure, the rows after it are left
// alone, and the wrapper around the row source returns it from next() after seeking the
// row source back to where the batch started, so a caller may retry.
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "data/row_source.h"
#include "zhuyi/speech_data.h"

typedef unsigned long long ull;

typedef struct speech_rows {
    zy__row_source rows;        // first: the shared core
    const zy_speech_set *set;   // borrowed
    int32_t *labels;            // every row's label ids, row i at labels[loff[i]..loff[i+1])
    uint64_t *loff;             // (n + 1)
    zy_mel *mel;
    int n_freq, freq_width, n_time, time_width;
    float time_ratio;
    zy_status err;              // the first failure of a put() in this batch
    char msg[1024];
} speech_rows;

typedef struct speech_source {
    zy_data_source *inner; // the row source
    speech_rows *rows;     // its struct (owned by inner)
} speech_source;

zy_speech_source_params zy_speech_source_default_params(void) {
    return (zy_speech_source_params){.batch = 8, .seed = 12345, .shuffle = true,
                                     .n_freq_masks = 2, .freq_width = 15, .n_time_masks = 2,
                                     .time_width = 20, .time_ratio = 0.1f};
}

static int row_length(const speech_rows *s, uint64_t i) {
    uint64_t f = zy_speech_set_item(s->set, i).frames, l = s->loff[i + 1] - s->loff[i];
    return (int)ZY_MAX(f, l);
}

static int length(const zy__row_source *rs, uint64_t i) {
    return row_length((const speech_rows *)rs, i);
}


// SpecAugment on row x (frames, ZY_MEL_BINS) of utterance i (speech_data.h's rule).
static void augment(const speech_rows *s, float *x, uint64_t frames, uint64_t i) {
    const zy__row_source *rs = &s->rows;
    zy_rng r;
    zy_rng_seed(&r, zy_hash64(zy_hash64(rs->seed ^ ZY_SPEECH_AUG_SALT, rs->epoch), i));
    for (int m = 0; m < s->n_freq; m++) {
        uint64_t w = zy_rng_below(&r, (uint64_t)s->freq_width + 1);
        uint64_t f0 = zy_rng_below(&r, ZY_MEL_BINS - w + 1);
        for (uint64_t t = 0; t < frames; t++)
            memset(x + t * ZY_MEL_BINS + f0, 0, w * sizeof *x);
    }
    uint64_t W = ZY_MIN((uint64_t)s->time_width, (uint64_t)(s->time_ratio * (double)frames));
    for (int m = 0; m < s->n_time; m++) {
        uint64_t w = zy_rng_below(&r, W + 1);
        uint64_t t0 = zy_rng_below(&r, frames - w + 1);
        memset(x + t0 * ZY_MEL_BINS, 0, w * ZY_MEL_BINS * sizeof *x);
    }
}

static void put_row(const zy__row_source *rs, zy_batch *b, int row, uint64_t i) {
    speech_rows *s = (speech_rows *)rs; // the error fields are the only thing put changes
    int T = b->T;
    float *x = b->features + (size_t)row * (size_t)T * ZY_MEL_BINS;
    int *y = b->targets + (size_t)row * T, *ids = b->input_ids + (size_t)row * T;
    memset(x, 0, (size_t)T * ZY_MEL_BINS * sizeof *x);
    for (int t = 0; t < T; t++) y[t] = -1, ids[t] = 0;
    b->lengths[row] = 0;
    if (s->err) return;
    zy_speech_item it = zy_speech_set_item(s->set, i);
    zy_audio a;
    zy_status st = zy_audio_read_wav(&a, it.audio);
    if (st) {
        s->err = st;
        snprintf(s->msg, sizeof s->msg, "speech source: manifest line %llu: %s",
                 (ull)it.line, zy_last_error());
        return;
    }
    uint64_t frames = zy_mel_frames(a.n);
    if (frames != it.frames || frames > (uint64_t)T) {
        s->err = ZY_STATUS_BAD_FORMAT;
        snprintf(s->msg, sizeof s->msg, "speech source: %s (manifest line %llu) changed "
                 "since the set was read (%llu frames, not %llu)", it.audio, (ull)it.line,
                 (ull)frames, (ull)it.frames);
        zy_audio_destroy(&a);
        return;
    }
    st = zy_speech_features(s->mel, &a, x);
    zy_audio_destroy(&a);
    if (st) {
        s->err = st;
        snprintf(s->msg, sizeof s->msg, "speech source: %s (manifest line %llu): %s",
                 it.audio, (ull)it.line, zy_last_error());
        return;
    }
    if (!rs->one_pass && (s->n_freq || s->n_time)) augment(s, x, frames, i);
    b->lengths[row] = (int)frames;
    for (uint64_t k = s->loff[i]; k < s->loff[i + 1]; k++) y[k - s->loff[i]] = s->labels[k];
}

static void free_rows(zy__row_source *rs) {
    speech_rows *s = (speech_rows *)rs;
    zy_free(s->labels);
    zy_free(s->loff);
    zy_mel_free(s->mel);
}

static const zy__row_kind SPEECH_ROWS = {
    .name = "speech", .items = "utterances", .salt = ZY_SPEECH_ORDER_SALT, .length = length,
    .put = put_row, .free = free_rows,
};

// ---- the wrapper ------------------------------------------------------------------------
static zy_status ss_next(void *impl, zy_batch *b) {
    speech_source *s = impl;
    zy_data_pos at;
    zy_data_source_tell(s->inner, &at);
    s->rows->err = ZY_STATUS_OK;
    zy_status st = zy_data_source_next(s->inner, b);
    if (st) return st;
    if (!(st = s->rows->err)) return ZY_STATUS_OK;
    s->rows->err = ZY_STATUS_OK;
    b->B = 0;
    zy_data_source_seek(s->inner, at); // a position it had: cannot fail
    return zy__error(st, "%s", s->rows->msg);
}

static void ss_tell(const void *impl, zy_data_pos *pos) {
    zy_data_source_tell(((const speech_source *)impl)->inner, pos);
}

static zy_status ss_seek(void *impl, zy_data_pos pos) {
    return zy_data_source_seek(((speech_source *)impl)->inner, pos);
}

static zy_status ss_shard(void *impl, int rank, int world) {
    return zy_data_source_shard(((speech_source *)impl)->inner, rank, world);
}

static void ss_free(void *impl) {
    speech_source *s = impl;
    zy_data_source_free(s->inner);
    zy_free(s);
}

static const zy_data_source_ops SPEECH_OPS = {
    .next = ss_next, .tell = ss_tell, .seek = ss_seek, .shard = ss_shard, .free = ss_free,
};

static uint64_t fingerprint(const zy_speech_set *set, const zy_char_vocab *v,
                            const zy_speech_source_params *p) {
    uint64_t q[] = {p->seed, p->shuffle, (uint64_t)p->n_freq_masks, (uint64_t)p->freq_width,
                    (uint64_t)p->n_time_masks, (uint64_t)p->time_width};
    uint64_t h = zy_hash64(zy_speech_set_fingerprint(set), zy_hash_bytes(q, sizeof q));
    h = zy_hash64(h, zy_hash_bytes(&p->time_ratio, sizeof p->time_ratio));
    for (int i = 0; i < zy_char_vocab_size(v); i++) {
        const char *t = zy_char_vocab_token(v, i);
        h = zy_hash64(h, zy_hash_bytes(t, strlen(t) + 1));
    }
    return h;
}

zy_status zy_speech_source_create(zy_data_source **out, const zy_speech_set *set,
                                  const zy_char_vocab *vocab,
                                  const zy_speech_source_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech source: nowhere to put it");
    *out = NULL;
    if (!set || !vocab || !p)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech source: no set, vocabulary or "
                         "parameters");
    if (p->batch <= 0 || p->batch > (1 << 20))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech source: batch %d is out of range",
                         p->batch);
    if (p->n_freq_masks < 0 || p->n_freq_masks > 64 || p->n_time_masks < 0 ||
        p->n_time_masks > 64 || p->freq_width < 0 || p->freq_width > ZY_MEL_BINS ||
        p->time_width < 0 || !(p->time_ratio >= 0.0f && p->time_ratio <= 1.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech source: SpecAugment masks %d "
                         "(0..64) of 0..%d bins (0..%d), %d (0..64) of 0..%d frames (>= 0) "
                         "and ratio %g (0..1)", p->n_freq_masks, p->freq_width, ZY_MEL_BINS,
                         p->n_time_masks, p->time_width, (double)p->time_ratio);
    size_t n = zy_speech_set_count(set);
    // Labels first: their count sets a row's length.
    uint64_t *loff = zy_alloc((n + 1) * sizeof *loff);
    if (!loff) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "speech source: out of memory");
    uint64_t total = 0, seq = 1;
    loff[0] = 0;
    for (size_t i = 0; i < n; i++) {
        zy_speech_item it = zy_speech_set_item(set, i);
        size_t k;
        zy_status st = zy_char_vocab_encode(vocab, it.text, strlen(it.text), NULL, 0, &k);
        if (st && st != ZY_STATUS_INVALID_ARGUMENT) {
            zy_free(loff);
            return zy__error(st, "speech source: manifest line %llu: %s", (ull)it.line,
                             zy_last_error());
        }
        total += k;
        loff[i + 1] = total;
        seq = ZY_MAX(seq, ZY_MAX(it.frames, (uint64_t)k));
    }
    zy_clear_error();
    if (seq > (1u << 30)) {
        zy_free(loff);
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech source: a row of %llu frames or "
                         "labels is too long", (ull)seq);
    }
    double bytes = (double)p->batch * (double)seq * (ZY_MEL_BINS * 4.0 + 8.0);
    if (bytes > 9e18 || zy__exceeds_memory((uint64_t)bytes)) {
        zy_free(loff);
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech source: a batch of %d rows of "
                         "%llu frames needs %.1f GiB, more than this machine's memory",
                         p->batch, (ull)seq, ZY_GIB(bytes));
    }
    zy__row_source *rs;
    zy__row_params rp = {.batch = p->batch, .seed = p->seed, .shuffle = p->shuffle,
                         .one_pass = p->one_pass};
    zy_status st = zy__row_source_new(&rs, &SPEECH_ROWS, sizeof(speech_rows), n, &rp);
    if (st) {
        zy_free(loff);
        return st;
    }
    speech_rows *s = (speech_rows *)rs;
    s->set = set;
    s->loff = loff;
    s->n_freq = p->n_freq_masks, s->freq_width = p->freq_width;
    s->n_time = p->n_time_masks, s->time_width = p->time_width;
    s->time_ratio = p->time_ratio;
    if (!(s->labels = zy_alloc((total ? total : 1) * sizeof *s->labels))) {
        zy__row_source_free(rs);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "speech source: out of memory for %llu "
                         "labels", (ull)total);
    }
    for (size_t i = 0; i < n; i++) {
        zy_speech_item it = zy_speech_set_item(set, i);
        size_t k;
        st = zy_char_vocab_encode(vocab, it.text, strlen(it.text), s->labels + loff[i],
                                  loff[i + 1] - loff[i], &k);
        if (st) break;
    }
    if (st || (st = zy_mel_create(&s->mel))) {
        zy__row_source_free(rs);
        return st;
    }
    zy_data_source_info info = {
        .kind = "speech-ctc",
        .dims = {.seq = (int)seq, .n_features = ZY_MEL_BINS,
                 .fields = ZY_BATCH_FEATURES | ZY_BATCH_LENGTHS | ZY_BATCH_TARGETS},
        .fingerprint = fingerprint(set, vocab, p),
    };
    zy_data_source *inner;
    if ((st = zy__row_source_open(&inner, rs, info))) return st;
    speech_source *w = zy_calloc(1, sizeof *w);
    if (!w) {
        zy_data_source_free(inner);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "speech source: out of memory");
    }
    w->inner = inner;
    w->rows = s;
    if ((st = zy_data_source_create(out, &SPEECH_OPS, w, zy_data_source_get_info(inner))))
        ss_free(w);
    return st;
}
