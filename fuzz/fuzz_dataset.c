// libFuzzer harness: the text readers behind `zhuyi pretrain`, `eval` and `tokenizer
// train` (--data files): zy_dataset_encode_files (src/data/encode.c) with the byte-level
// BPE encoder, BPE training on the text (src/text/train.c), and the language-model token
// stream over the result (src/data/lm_stream.c, source.c).
//
// Input: 5 control bytes, then the text.
//   [0] bit 0 shuffle, bit 1 one pass, bit 2 two files (the text cut in half), bit 3 a
//       long text (parallel encoding; only with bit 7 of [4]), bit 4 two shards, bit 5
//       train the tokenizer on the text (else a fixed one trained at start-up), bit 6
//       min_frequency 1 (else 2)
//   [1] batch 1..4   [2] seq 1..16   [3] seed; extra merges when training
//   [4] bits 0-2: batches read before tell/seek
// Properties checked on every input:
//  - an empty file is ZY_STATUS_BAD_FORMAT naming it; otherwise the token stream decodes
//    to exactly the files' bytes, joined by "<|endoftext|>", and equals each file encoded
//    on its own (ZY_ENCODE_SPECIAL off: special-token text in the data is plain bytes);
//  - parallel encoding (a 64 KiB+ text, 2 threads) gives the ids of sequential encoding;
//  - a tokenizer trained on the text has at most the vocabulary asked for, encodes and
//    decodes the text exactly, and passes tokenizer_check.c (save/load, both BPEs);
//  - the stream's batches follow the rules of include/zhuyi/data.h, checked against an
//    independent model of them: sequential windows, the one-pass tail and then empty
//    batches, the shuffled epochs (offset and Fisher-Yates order from the documented
//    seeds); targets are the inputs shifted by one;
//  - tell/seek: a fresh stream seeked to a told position yields the same batches;
//  - two shards of B rows yield, together, the rows of one stream of 2B rows;
//  - bad parameters (shuffle with one pass, too little data) are
//    ZY_STATUS_INVALID_ARGUMENT.
#include <stdlib.h>
#include <string.h>

#include "tokenizer_check.h"
#include "util.h"

static zy_tokenizer *fixed_tok;

static const char TRAIN_TEXT[] =
    "In the beginning God created the heaven and the earth. And the earth was without "
    "form, and void; and darkness was upon the face of the deep. And the Spirit of God "
    "moved upon the face of the waters. And God said, Let there be light: and there was "
    "light. 1234 5678 don't I'm we've they'll caf\xc3\xa9 na\xc3\xafve \xe4\xb8\xad\xe6\x96"
    "\x87 \xe6\xb3\xa8\xe6\x84\x8f\n\n  indented\tline\r\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    zy_threads_set(2);
    zy_bpe_train_params p = zy_bpe_train_default_params();
    p.vocab_size = 400;
    const char *text = TRAIN_TEXT;
    size_t len = sizeof TRAIN_TEXT - 1;
    if (zy_tokenizer_train_bpe_texts(&fixed_tok, &text, &len, 1, p)) abort();
    return 0;
}

// ---- the stream model (data.h, written from the documentation) ---------------------------
typedef struct model {
    const int32_t *tok;
    size_t n;
    size_t B, T, R, first; // rows of this rank, seq, rows of a global batch, first row
    int shuffle, one_pass;
    uint64_t seed, epoch, pos; // pos: tokens (sequential) or windows taken (shuffled)
    size_t off, W;
    uint32_t *perm;
} model;

static void model_epoch(model *m, uint64_t e) {
    m->off = 0;
    if (e > 0) {
        m->off = (size_t)(zy_hash64(m->seed, e) % m->T);
        if ((m->n - 1 - m->off) / m->T < m->R) m->off = 0;
    }
    m->W = (m->n - 1 - m->off) / m->T;
    for (size_t i = 0; i < m->W; i++) m->perm[i] = (uint32_t)i;
    zy_rng r;
    zy_rng_seed(&r, zy_hash64(m->seed ^ ZY_LM_STREAM_SALT, e));
    for (size_t i = m->W - 1; i > 0; i--) {
        size_t j = (size_t)zy_rng_below(&r, (uint64_t)i + 1);
        uint32_t t = m->perm[i];
        m->perm[i] = m->perm[j];
        m->perm[j] = t;
    }
    m->epoch = e;
    m->pos = 0;
}

static void model_init(model *m, const int32_t *tok, size_t n, const zy_lm_stream_params *p,
                       int rank, int world) {
    *m = (model){.tok = tok, .n = n, .B = (size_t)p->batch, .T = (size_t)p->seq,
                 .R = (size_t)p->batch * (size_t)world, .first = (size_t)rank * p->batch,
                 .shuffle = p->shuffle, .one_pass = p->one_pass, .seed = p->seed};
    if (m->shuffle) {
        m->perm = malloc(((n - 1) / m->T + 1) * sizeof *m->perm);
        FZ_CHECK(m->perm);
        model_epoch(m, 0);
    }
}

// The next batch: src[r] = start of row r's T + 1 tokens; returns the row count.
static size_t model_next(model *m, const int32_t **src) {
    size_t rows = 0;
    if (m->shuffle) {
        if (m->W - m->pos < m->R) model_epoch(m, m->epoch + 1);
        for (size_t r = 0; r < m->B; r++)
            src[rows++] = m->tok + m->off + (size_t)m->perm[m->pos + m->first + r] * m->T;
        m->pos += m->R;
        return rows;
    }
    size_t global = m->R;
    if (m->one_pass) {
        size_t W = (m->n - 1) / m->T, w = m->pos / m->T;
        global = w < W ? (W - w < m->R ? W - w : m->R) : 0;
    } else if (m->n - m->pos < m->R * m->T + 1) {
        m->pos = 0;
    }
    for (size_t r = m->first; r < global && r < m->first + m->B; r++)
        src[rows++] = m->tok + m->pos + r * m->T;
    m->pos += global * m->T;
    if (!m->one_pass && m->n - m->pos < m->R * m->T + 1) m->pos = 0;
    return rows;
}

// b holds exactly the rows src[0..rows).
static void check_batch(const zy_batch *b, const int32_t *const *src, size_t rows, size_t T,
                        int k) {
    FZ_CHECKF((size_t)b->B == rows, "batch %d: %d rows, the rules give %zu", k, b->B, rows);
    if (rows) FZ_CHECK((size_t)b->T == T);
    for (size_t r = 0; r < rows; r++)
        for (size_t t = 0; t < T; t++) {
            FZ_CHECKF(b->input_ids[r * T + t] == src[r][t], "batch %d row %zu: input %zu", k,
                      r, t);
            FZ_CHECKF(b->targets[r * T + t] == src[r][t + 1], "batch %d row %zu: target %zu",
                      k, r, t);
        }
}

static int same_batch(const zy_batch *a, const zy_batch *b) {
    size_t n = (size_t)a->B * (size_t)a->T;
    return a->B == b->B && (a->B == 0 || a->T == b->T) &&
           !memcmp(a->input_ids, b->input_ids, n * sizeof *a->input_ids) &&
           !memcmp(a->targets, b->targets, n * sizeof *a->targets);
}

static void check_stream(const int32_t *tok, size_t n, const zy_lm_stream_params *p,
                         int told_after) {
    zy_data_source *s;
    zy_status st = zy_lm_stream_create(&s, tok, n, p);
    size_t need = p->one_pass ? (size_t)p->seq + 1 : (size_t)p->batch * p->seq + 1;
    if (p->shuffle && p->one_pass) {
        FZ_CHECK(st == ZY_STATUS_INVALID_ARGUMENT);
        return;
    }
    if (n < need) {
        FZ_CHECKF(st == ZY_STATUS_INVALID_ARGUMENT, "a %zu-token stream accepted", n);
        return;
    }
    FZ_CHECKF(st == ZY_STATUS_OK, "stream of %zu tokens refused", n);
    const zy_data_source_info *info = zy_data_source_get_info(s);
    FZ_CHECK(info->n_items == n && info->one_pass == p->one_pass);
    FZ_CHECK(info->dims.batch == p->batch && info->dims.seq == p->seq);
    zy_batch b, b2;
    FZ_CHECK(zy_batch_init(&b, &info->dims) == ZY_STATUS_OK);
    FZ_CHECK(zy_batch_init(&b2, &info->dims) == ZY_STATUS_OK);
    model m;
    model_init(&m, tok, n, p, 0, 1);
    const int32_t *src[4];
    zy_data_pos told = {0, 0};
    int k = 0, told_k = -1;
    for (; k < 24; k++) {
        if (k == told_after) zy_data_source_tell(s, &told), told_k = k;
        FZ_CHECK(zy_data_source_next(s, &b) == ZY_STATUS_OK);
        size_t rows = model_next(&m, src);
        check_batch(&b, src, rows, m.T, k);
        if (p->one_pass && rows == 0) break;
    }
    if (told_k < 0) zy_data_source_tell(s, &told), told_k = k + (k < 24);
    // A fresh stream seeked to the told position continues as the first one did.
    zy_data_source *s2, *s3;
    FZ_CHECK(zy_lm_stream_create(&s2, tok, n, p) == ZY_STATUS_OK);
    FZ_CHECK(zy_lm_stream_create(&s3, tok, n, p) == ZY_STATUS_OK);
    FZ_CHECK(zy_data_source_seek(s2, told) == ZY_STATUS_OK);
    for (k = 0; k < told_k; k++) FZ_CHECK(zy_data_source_next(s3, &b) == 0);
    for (k = 0; k < 3; k++) {
        FZ_CHECK(zy_data_source_next(s2, &b) == 0 && zy_data_source_next(s3, &b2) == 0);
        FZ_CHECKF(same_batch(&b, &b2), "after seek to (%llu, %llu): batch %d differs",
                  (unsigned long long)told.epoch, (unsigned long long)told.pos, k);
    }
    // Positions that cannot be: refused, not crashed on.
    zy_data_pos bad = {p->shuffle ? told.epoch : 1, told.pos};
    if (!p->shuffle) FZ_CHECK(zy_data_source_seek(s2, bad) == ZY_STATUS_INVALID_ARGUMENT);
    bad = (zy_data_pos){told.epoch, (uint64_t)n + 1};
    FZ_CHECK(zy_data_source_seek(s2, bad) == ZY_STATUS_INVALID_ARGUMENT);
    zy_data_source_free(s3);
    zy_data_source_free(s2);
    free(m.perm);
    zy_batch_destroy(&b2);
    zy_batch_destroy(&b);
    zy_data_source_free(s);
}

// Two shards of B rows each = one stream of 2B rows.
static void check_shards(const int32_t *tok, size_t n, const zy_lm_stream_params *p) {
    zy_lm_stream_params pg = *p;
    pg.batch = 2 * p->batch;
    zy_data_source *g, *s[2];
    if (p->shuffle && p->one_pass) return;
    if (zy_lm_stream_create(&g, tok, n, &pg)) return; // too short for 2B rows
    zy_batch bg, b[2];
    const zy_data_source_info *ig = zy_data_source_get_info(g);
    FZ_CHECK(zy_batch_init(&bg, &ig->dims) == ZY_STATUS_OK);
    for (int r = 0; r < 2; r++) {
        FZ_CHECK(zy_lm_stream_create(&s[r], tok, n, p) == ZY_STATUS_OK);
        FZ_CHECK(zy_data_source_shard(s[r], r, 2) == ZY_STATUS_OK);
        FZ_CHECK(zy_batch_init(&b[r], &zy_data_source_get_info(s[r])->dims) == ZY_STATUS_OK);
    }
    FZ_CHECK(zy_data_source_shard(s[0], 2, 2) == ZY_STATUS_INVALID_ARGUMENT);
    size_t T = (size_t)p->seq;
    for (int k = 0; k < 8; k++) {
        FZ_CHECK(zy_data_source_next(g, &bg) == 0);
        FZ_CHECK(zy_data_source_next(s[0], &b[0]) == 0 && zy_data_source_next(s[1], &b[1]) == 0);
        FZ_CHECKF(b[0].B + b[1].B == bg.B, "batch %d: shards %d + %d rows, global %d", k,
                  b[0].B, b[1].B, bg.B);
        for (int r = 0; r < 2; r++) {
            size_t at = (size_t)r * (size_t)p->batch * T, len = (size_t)b[r].B * T;
            FZ_CHECKF(!memcmp(b[r].input_ids, bg.input_ids + at, len * sizeof *bg.input_ids) &&
                      !memcmp(b[r].targets, bg.targets + at, len * sizeof *bg.targets),
                      "batch %d: shard %d's rows are not the global batch's", k, r);
        }
        if (bg.B == 0) break;
    }
    for (int r = 0; r < 2; r++) {
        zy_batch_destroy(&b[r]);
        zy_data_source_free(s[r]);
    }
    zy_batch_destroy(&bg);
    zy_data_source_free(g);
}

// ids of text[0..n) (sequential, no special tokens); malloc'd.
static int32_t *encode(zy_tokenizer *t, const char *text, size_t n, size_t *got) {
    int32_t *ids = malloc((n + 1) * sizeof *ids);
    FZ_CHECK(ids);
    FZ_CHECK(zy_tokenizer_encode(t, text, n, 0, ids, n, got) == ZY_STATUS_OK);
    return ids;
}

static void check_parallel(zy_tokenizer *t, const char *text, size_t n) {
    size_t cap = 70000 + n + 1, len = 0;
    char *big = malloc(cap);
    FZ_CHECK(big);
    while (len < 70000) { // the text again and again, on lines of its own
        memcpy(big + len, text, n);
        len += n;
        big[len++] = '\n';
    }
    size_t na, nb;
    int32_t *a = encode(t, big, len, &na);
    int32_t *b = malloc(len * sizeof *b);
    FZ_CHECK(b);
    FZ_CHECK(zy_tokenizer_encode_parallel(t, big, len, 0, b, len, &nb) == ZY_STATUS_OK);
    FZ_CHECKF(na == nb && !memcmp(a, b, na * sizeof *a), "parallel encoding differs: %zu and "
              "%zu ids", na, nb);
    free(b);
    free(a);
    free(big);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 5) return 0;
    unsigned flags = data[0];
    zy_lm_stream_params p = {.batch = 1 + data[1] % 4, .seq = 1 + data[2] % 16,
                             .shuffle = flags & 1, .one_pass = (flags >> 1) & 1,
                             .seed = data[3]};
    int told_after = data[4] % 8;
    const char *text = (const char *)data + 5;
    size_t len = size - 5;

    zy_tokenizer *tok = fixed_tok, *trained = NULL;
    if (flags & 32) {
        zy_bpe_train_params tp = zy_bpe_train_default_params();
        tp.vocab_size = 256 + 1 + data[3] % 64;
        tp.min_frequency = flags & 64 ? 1 : 2;
        zy_status s = zy_tokenizer_train_bpe_texts(&trained, &text, &len, 1, tp);
        FZ_CHECKF(s == ZY_STATUS_OK, "training on %zu bytes failed", len);
        FZ_CHECK(zy_tokenizer_vocab_size(trained) <= tp.vocab_size);
        fz_check_tokenizer(trained, (const uint8_t *)text, len);
        tok = trained;
    }

    // One file, or the text cut in two.
    int nf = flags & 4 ? 2 : 1;
    size_t cut = nf == 2 ? len / 2 : len;
    const char *files[2] = {fz_write("data1.txt", text, cut),
                            fz_write("data2.txt", text + cut, len - cut)};
    int32_t *tokens = NULL;
    size_t n = 0;
    zy_status s = zy_dataset_encode_files(tok, files, nf, &tokens, &n);
    if (cut == 0 || (nf == 2 && len - cut == 0)) {
        fz_expect_error(s, cut == 0 ? files[0] : files[1], ZY_STATUS_BAD_FORMAT,
                        ZY_STATUS_BAD_FORMAT, ZY_STATUS_BAD_FORMAT);
        FZ_CHECK(tokens == NULL);
        zy_tokenizer_free(trained);
        return 0;
    }
    FZ_CHECKF(s == ZY_STATUS_OK, "encoding %zu bytes failed", len);
    int eot = zy_tokenizer_find(tok, "<|endoftext|>", 13);
    FZ_CHECK(eot >= 0);

    // The stream is each file's ids, joined by <|endoftext|>, and decodes to the bytes.
    size_t n1, n2 = 0;
    int32_t *e1 = encode(tok, text, cut, &n1), *e2 = NULL;
    if (nf == 2) e2 = encode(tok, text + cut, len - cut, &n2);
    FZ_CHECK(n == n1 + (nf == 2) + n2);
    FZ_CHECK(!memcmp(tokens, e1, n1 * sizeof *e1));
    if (nf == 2) FZ_CHECK(tokens[n1] == eot && !memcmp(tokens + n1 + 1, e2, n2 * sizeof *e2));
    size_t want = len + (nf == 2 ? 13 : 0), got = 0;
    char *out = malloc(want + 1);
    FZ_CHECK(out);
    FZ_CHECK(zy_tokenizer_decode(tok, tokens, n, out, want, &got) == ZY_STATUS_OK);
    FZ_CHECK(got == want && !memcmp(out, text, cut));
    if (nf == 2)
        FZ_CHECK(!memcmp(out + cut, "<|endoftext|>", 13) &&
                 !memcmp(out + cut + 13, text + cut, len - cut));
    free(out);
    free(e2);
    free(e1);

    if ((flags & 8) && (data[4] & 0x80)) check_parallel(tok, text, len); // slow: 1 in 4
    check_stream(tokens, n, &p, told_after);
    if (flags & 16) check_shards(tokens, n, &p);
    zy_free(tokens);
    zy_tokenizer_free(trained);
    return 0;
}
