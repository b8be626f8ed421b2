// Training data: text files -> one token stream, and the stream -> (B,T) batches, either
// sequentially (the --no-shuffle rule, reproducible in any framework) or in a seeded
// random order of windows. Not here: the training loop (src/train/trainer.c).
//
// The batching rules are spelled out in include/zhuyi/trainer.h; the position of a
// batcher is two integers (zy_batcher_tell), which the training state stores.
#include <string.h>

#include "core/internal.h"
#include "zhuyi/trainer.h"

// ---- token streams --------------------------------------------------------------------

zy_status zy_dataset_encode_files(zy_tokenizer *tok, const char *const *files, int n,
                                  int32_t **tokens, size_t *n_tokens) {
    if (!tok || !files || n <= 0 || !tokens || !n_tokens)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "dataset: no files to encode");
    *tokens = NULL;
    *n_tokens = 0;
    int eot = zy_tokenizer_find(tok, "<|endoftext|>", 13);
    int32_t *all = NULL;
    size_t len_all = 0;
    zy_status s = ZY_STATUS_OK;
    for (int i = 0; i < n && !s; i++) {
        char *text;
        size_t len;
        if ((s = zy_file_read(files[i], &text, &len))) break;
        if (len == 0) {
            zy_free(text);
            s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: the file is empty", files[i]);
            break;
        }
        // Every token covers at least one byte, so len ids always suffice; +1 for the
        // separator between files.
        size_t cap = len_all + len + 1;
        int32_t *grown = zy_alloc(cap * sizeof *grown);
        if (!grown) {
            zy_free(text);
            s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for %zu tokens",
                          files[i], cap);
            break;
        }
        if (len_all) memcpy(grown, all, len_all * sizeof *all);
        zy_free(all);
        all = grown;
        if (i > 0 && eot >= 0) all[len_all++] = eot;
        size_t got = 0;
        s = zy_tokenizer_encode_parallel(tok, text, len, 0, all + len_all, cap - len_all, &got);
        zy_free(text);
        if (s) {
            s = zy__error(s, "%s: %s", files[i], zy_last_error());
            break;
        }
        len_all += got;
    }
    if (s) {
        zy_free(all);
        return s;
    }
    *tokens = all;
    *n_tokens = len_all;
    return ZY_STATUS_OK;
}

// ---- batching -------------------------------------------------------------------------

struct zy_batcher {
    const int32_t *tokens;
    size_t n;
    int B, T;
    bool shuffle;
    uint64_t seed;
    // sequential: pos = p. shuffled: pos = windows taken in epoch `epoch`, whose order is
    // perm[0..n_windows) with windows starting at offset + i*T.
    uint64_t epoch, pos;
    size_t offset, n_windows;
    uint32_t *perm; // capacity: the windows of epoch 0 (the most any epoch has)
};

// The cut and order of one epoch: a pure function of (seed, epoch).
static void shuffle_epoch(zy_batcher *b, uint64_t epoch) {
    size_t T = (size_t)b->T, off = 0;
    if (epoch > 0) {
        off = (size_t)(zy_hash64(b->seed, epoch) % T);
        if ((b->n - 1 - off) / T < (size_t)b->B) off = 0;
    }
    b->offset = off;
    b->n_windows = (b->n - 1 - off) / T;
    for (size_t i = 0; i < b->n_windows; i++) b->perm[i] = (uint32_t)i;
    zy_rng r;
    zy_rng_seed(&r, zy_hash64(b->seed ^ ZY_BATCHER_SALT, epoch));
    for (size_t i = b->n_windows - 1; i > 0; i--) {
        size_t j = (size_t)zy_rng_below(&r, (uint64_t)i + 1);
        uint32_t t = b->perm[i];
        b->perm[i] = b->perm[j];
        b->perm[j] = t;
    }
    b->epoch = epoch;
    b->pos = 0;
}

zy_status zy_batcher_create(zy_batcher **out, const int32_t *tokens, size_t n, int B, int T,
                            bool shuffle, uint64_t seed) {
    if (!out || !tokens || B <= 0 || T <= 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "batcher: bad arguments (B %d, T %d)",
                         B, T);
    *out = NULL;
    size_t need = (size_t)B * (size_t)T + 1;
    if (n < need)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "the training data has %zu tokens, fewer than one batch needs "
                         "(batch %d x seq %d + 1 = %zu)", n, B, T, need);
    size_t windows = (n - 1) / (size_t)T;
    if (shuffle && windows > UINT32_MAX)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "batcher: %zu windows is too many to "
                         "shuffle (at most 2^32)", windows);
    zy_batcher *b = zy_calloc(1, sizeof *b);
    if (!b) return ZY_STATUS_OUT_OF_MEMORY;
    *b = (zy_batcher){.tokens = tokens, .n = n, .B = B, .T = T, .shuffle = shuffle,
                      .seed = seed};
    if (shuffle) {
        b->perm = zy_alloc(windows * sizeof *b->perm);
        if (!b->perm) {
            zy_free(b);
            return ZY_STATUS_OUT_OF_MEMORY;
        }
        shuffle_epoch(b, 0);
    }
    *out = b;
    return ZY_STATUS_OK;
}

void zy_batcher_free(zy_batcher *b) {
    if (!b) return;
    zy_free(b->perm);
    zy_free(b);
}

void zy_batcher_next(zy_batcher *b, int *inputs, int *targets) {
    size_t B = (size_t)b->B, T = (size_t)b->T;
    if (!b->shuffle) {
        // One read of B·T+1 consecutive tokens: row r is tokens[p + rT .. p + rT + T].
        const int32_t *src = b->tokens + b->pos;
        for (size_t i = 0; i < B * T; i++) {
            inputs[i] = src[i];
            targets[i] = src[i + 1];
        }
        b->pos += B * T;
        if (b->n - b->pos < B * T + 1) b->pos = 0;
        return;
    }
    if (b->n_windows - b->pos < B) shuffle_epoch(b, b->epoch + 1);
    for (size_t r = 0; r < B; r++) {
        const int32_t *src = b->tokens + b->offset + (size_t)b->perm[b->pos + r] * T;
        for (size_t t = 0; t < T; t++) {
            inputs[r * T + t] = src[t];
            targets[r * T + t] = src[t + 1];
        }
    }
    b->pos += B;
}

void zy_batcher_tell(const zy_batcher *b, uint64_t *epoch, uint64_t *pos) {
    *epoch = b->shuffle ? b->epoch : 0;
    *pos = b->pos;
}

zy_status zy_batcher_seek(zy_batcher *b, uint64_t epoch, uint64_t pos) {
    size_t BT = (size_t)b->B * (size_t)b->T;
    if (!b->shuffle) {
        // Only positions the sequential rule reaches: multiples of B·T with a batch left.
        if (epoch != 0 || pos % BT || pos > b->n - BT - 1)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data position (%llu, %llu) is not "
                             "one of this %zu-token stream", (unsigned long long)epoch,
                             (unsigned long long)pos, b->n);
        b->pos = pos;
        return ZY_STATUS_OK;
    }
    shuffle_epoch(b, epoch);
    if (pos > b->n_windows)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data position: window %llu is past the "
                         "%zu windows of epoch %llu", (unsigned long long)pos, b->n_windows,
                         (unsigned long long)epoch);
    b->pos = pos;
    return ZY_STATUS_OK;
}
