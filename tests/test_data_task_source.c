// Tests of the fine-tuning data source (src/data/task_source.c): batches padded to their
// longest row, the one-pass order for evaluation, training epochs checked against an
// independent model of the documented order (seeded permutation, length-sorted windows
// of k global batches, permuted batches), determinism, tell/seek resume across epochs,
// shards that together give the unsharded batches, the fields of each task.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "data_task_util.h"

#define ZY_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ZY_MAX(a, b) ((a) > (b) ? (a) : (b))

static const char *WORDS[] = {"the", "cat", "sat", "on", "mat", "dog", "big", "red"};

// n classification examples of 1..12 words, labels "x"/"y"/"z".
static zy_task_data *make_data(int n, uint64_t seed) {
    zy_rng r;
    zy_rng_seed(&r, seed);
    size_t cap = (size_t)n * 128 + 64;
    char *csv = zt_malloc(cap), *p = csv;
    p += sprintf(p, "text,label\n");
    for (int i = 0; i < n; i++) {
        int w = 1 + (int)zy_rng_below(&r, 12);
        for (int k = 0; k < w; k++)
            p += sprintf(p, "%s%s", k ? " " : "", WORDS[zy_rng_below(&r, 8)]);
        p += sprintf(p, ",%c\n", "xyz"[zy_rng_below(&r, 3)]);
    }
    zy_task_read_params rp = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    zy_task_data *d = zt_task_read("src.csv", csv, &rp, NULL);
    free(csv);
    return d;
}

static zy_task_features *make_features(const zy_task_data *d, zy_tokenizer *t, int T) {
    zy_task_feature_params fp = zy_task_feature_default_params();
    fp.max_length = T;
    zy_task_features *f = NULL;
    if (zy_task_features_create(&f, d, t, &fp))
        zt_fail(__FILE__, __LINE__, "features: %s", zy_last_error());
    return f;
}

static zy_data_source *source(const zy_task_features *f, const zy_task_source_params *p) {
    zy_data_source *s = NULL;
    if (zy_task_source_create(&s, f, p))
        zt_fail(__FILE__, __LINE__, "source: %s", zy_last_error());
    return s;
}

typedef struct fixture {
    zy_tokenizer *t;
    zy_task_data *d;
    zy_task_features *f;
} fixture;

static bool setup(fixture *x, int n, uint64_t seed) {
    x->t = zt_task_wordpiece(ZT_TASK_VOCAB, ZT_TASK_VOCAB_N);
    x->d = x->t ? make_data(n, seed) : NULL;
    x->f = x->d ? make_features(x->d, x->t, 16) : NULL;
    return x->f != NULL;
}

static void teardown(fixture *x) {
    zy_task_features_free(x->f);
    zy_task_data_free(x->d);
    zy_tokenizer_free(x->t);
}

// Row r of b is feature i: ids, padding, lengths, label.
static bool row_is(const zy_batch *b, int r, const zy_task_feature *f) {
    if (b->lengths[r] != f->n || b->labels[r] != f->label) return false;
    for (int t = 0; t < b->T; t++) {
        int want = t < f->n ? f->ids[t] : ZT_PAD;
        if (b->input_ids[(size_t)r * b->T + t] != want) return false;
        if (b->token_type_ids[(size_t)r * b->T + t] != (t < f->n ? f->type_ids[t] : 0))
            return false;
    }
    return true;
}

TEST(task_source_one_pass) {
    fixture x;
    ASSERT(setup(&x, 10, 1));
    zy_task_source_params p = zy_task_source_default_params();
    p.batch = 3, p.shuffle = false, p.one_pass = true;
    zy_data_source *s = source(x.f, &p);
    ASSERT(s);
    const zy_data_source_info *info = zy_data_source_get_info(s);
    CHECK(info->one_pass && info->n_items == 10);
    CHECK(info->dims.fields == (ZY_BATCH_LENGTHS | ZY_BATCH_TOKEN_TYPES | ZY_BATCH_LABELS));
    zy_batch b;
    ASSERT(zy_batch_init(&b, &info->dims) == 0);
    size_t next = 0;
    const int rows[5] = {3, 3, 3, 1, 0};
    for (int k = 0; k < 5; k++) {
        ASSERT(zy_data_source_next(s, &b) == 0);
        ASSERT_EQ_INT(b.B, rows[k]);
        int T = 1;
        for (int r = 0; r < b.B; r++) T = ZY_MAX(T, zy_task_features_get(x.f, next + (size_t)r)->n);
        if (b.B) CHECK(b.T == T); // the batch's longest row
        for (int r = 0; r < b.B; r++, next++)
            CHECK(row_is(&b, r, zy_task_features_get(x.f, next)));
    }
    zy_batch_destroy(&b);
    zy_data_source_free(s);
    // Bad parameters.
    p.shuffle = true;
    CHECK(zy_task_source_create(&s, x.f, &p) == ZY_STATUS_INVALID_ARGUMENT);
    p.shuffle = false, p.one_pass = false, p.batch = 11;
    CHECK(zy_task_source_create(&s, x.f, &p) == ZY_STATUS_INVALID_ARGUMENT);
    teardown(&x);
}

// ---- the documented training order, modelled independently -----------------------------
static void shuffle_u32(uint32_t *a, uint64_t n, uint64_t seed) {
    zy_rng r;
    zy_rng_seed(&r, seed);
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = zy_rng_below(&r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

// order[0 .. floor(n/R)·R) of epoch e.
static void model_epoch(const zy_task_features *f, uint64_t seed, int k, uint64_t R,
                        uint64_t e, bool shuffle, uint32_t *order) {
    uint64_t n = zy_task_features_count(f), nb = n / R, m = nb * R;
    uint32_t *P = zt_malloc(n * 4), *perm = zt_malloc((nb + 1) * 4);
    for (uint64_t i = 0; i < n; i++) P[i] = (uint32_t)i;
    if (shuffle) shuffle_u32(P, n, zy_hash64(seed ^ ZY_TASK_ORDER_SALT, e));
    for (uint64_t w = 0; k > 0 && w < m; w += (uint64_t)k * R) {
        uint64_t end = ZY_MIN(w + (uint64_t)k * R, m);
        // Insertion sort: longer first, ties keep P's order.
        for (uint64_t i = w + 1; i < end; i++)
            for (uint64_t j = i; j > w && zy_task_features_get(f, P[j - 1])->n <
                                             zy_task_features_get(f, P[j])->n; j--) {
                uint32_t t = P[j];
                P[j] = P[j - 1];
                P[j - 1] = t;
            }
    }
    for (uint64_t j = 0; j < nb; j++) perm[j] = (uint32_t)j;
    if (shuffle) shuffle_u32(perm, nb, zy_hash64(seed ^ ZY_TASK_BATCH_SALT, e));
    for (uint64_t j = 0; j < nb; j++)
        for (uint64_t r = 0; r < R; r++) order[j * R + r] = P[perm[j] * R + r];
    free(P);
    free(perm);
}

TEST(task_source_training_order) {
    fixture x;
    ASSERT(setup(&x, 23, 2));
    for (int shuffle = 0; shuffle < 2; shuffle++)
        for (int k = 0; k < 3; k++) {
            zy_task_source_params p = zy_task_source_default_params();
            p.batch = 3, p.seed = 77, p.bucket_batches = k, p.shuffle = shuffle;
            zy_data_source *s = source(x.f, &p);
            ASSERT(s);
            zy_batch b;
            ASSERT(zy_batch_init(&b, &zy_data_source_get_info(s)->dims) == 0);
            uint32_t order[23];
            // 7 batches an epoch (2 features left out each time); 3 epochs.
            for (uint64_t e = 0; e < 3; e++) {
                model_epoch(x.f, 77, k, 3, e, shuffle, order);
                for (int j = 0; j < 7; j++) {
                    ASSERT(zy_data_source_next(s, &b) == 0);
                    ASSERT_EQ_INT(b.B, 3);
                    for (int r = 0; r < 3; r++)
                        if (!row_is(&b, r, zy_task_features_get(x.f, order[j * 3 + r]))) {
                            zt_fail(__FILE__, __LINE__, "shuffle %d k %d epoch %d batch %d "
                                    "row %d differs from the model", shuffle, k, (int)e, j, r);
                            break;
                        }
                }
            }
            zy_data_pos pos;
            zy_data_source_tell(s, &pos);
            CHECK(pos.epoch == 2 && pos.pos == 21);
            zy_batch_destroy(&b);
            zy_data_source_free(s);
        }
    teardown(&x);
}

// Batches a..b of a source (flattened ids and lengths) for comparisons.
static void run(zy_data_source *s, int n, int *ids, int *lens, int T, int B) {
    zy_batch b;
    if (zy_batch_init(&b, &zy_data_source_get_info(s)->dims)) return;
    for (int k = 0; k < n; k++) {
        if (zy_data_source_next(s, &b)) break;
        for (int r = 0; r < B; r++) {
            lens[k * B + r] = r < b.B ? b.lengths[r] : -1;
            for (int t = 0; t < T; t++)
                ids[((size_t)k * B + r) * T + t] =
                    r < b.B && t < b.T ? b.input_ids[(size_t)r * b.T + t] : -7;
        }
    }
    zy_batch_destroy(&b);
}

TEST(task_source_resume_and_shards) {
    fixture x;
    ASSERT(setup(&x, 30, 3));
    enum { N = 20, B = 4, T = 16 };
    static int a_ids[N * B * T], a_len[N * B], c_ids[N * B * T], c_len[N * B];
    zy_task_source_params p = zy_task_source_default_params();
    p.batch = B, p.seed = 5, p.bucket_batches = 2;
    zy_data_source *a = source(x.f, &p), *c = source(x.f, &p);
    ASSERT(a && c);
    CHECK(zy_data_source_get_info(a)->fingerprint == zy_data_source_get_info(c)->fingerprint);
    run(a, N, a_ids, a_len, T, B);
    // Resume: c reads 9 batches (across the epoch of 7), tells; d seeks there and must
    // give what a gave from then on.
    run(c, 9, c_ids, c_len, T, B);
    zy_data_pos pos;
    zy_data_source_tell(c, &pos);
    CHECK(pos.epoch == 1 && pos.pos == 8);
    zy_data_source *d = source(x.f, &p);
    ASSERT(d);
    ASSERT(zy_data_source_seek(d, pos) == 0);
    run(d, N - 9, c_ids + 9 * B * T, c_len + 9 * B, T, B);
    CHECK(memcmp(a_ids, c_ids, sizeof a_ids) == 0 && memcmp(a_len, c_len, sizeof a_len) == 0);
    CHECK(zy_data_source_seek(d, (zy_data_pos){0, 31}) == ZY_STATUS_INVALID_ARGUMENT);
    zy_data_source_free(d);
    // Another seed: another order; another bucketing: another fingerprint.
    p.seed = 6;
    d = source(x.f, &p);
    run(d, N, c_ids, c_len, T, B);
    CHECK(memcmp(a_ids, c_ids, sizeof a_ids) != 0);
    CHECK(zy_data_source_get_info(d)->fingerprint != zy_data_source_get_info(a)->fingerprint);
    zy_data_source_free(d);
    // Two shards of B/2 rows = the rows of one source of B (ranks take halves).
    p.seed = 5, p.batch = B / 2;
    zy_data_source *r0 = source(x.f, &p), *r1 = source(x.f, &p);
    ASSERT(r0 && r1);
    ASSERT(zy_data_source_shard(r0, 0, 2) == 0 && zy_data_source_shard(r1, 1, 2) == 0);
    static int h0[N * 2 * T], l0[N * 2], h1[N * 2 * T], l1[N * 2];
    run(r0, N, h0, l0, T, 2);
    run(r1, N, h1, l1, T, 2);
    bool same = true;
    for (int k = 0; k < N; k++)
        for (int r = 0; r < B; r++) {
            const int *h = r < 2 ? h0 : h1, *l = r < 2 ? l0 : l1;
            int rr = r % 2;
            same = same && l[k * 2 + rr] == a_len[k * B + r];
            // The shard's batch is padded to its own longest row: compare the real tokens.
            for (int t = 0; t < a_len[k * B + r]; t++)
                same = same && h[((size_t)k * 2 + rr) * T + t] == a_ids[((size_t)k * B + r) * T + t];
        }
    CHECK(same);
    CHECK(zy_data_source_shard(r0, 0, 100) == ZY_STATUS_INVALID_ARGUMENT);
    zy_data_source_free(r0);
    zy_data_source_free(r1);
    zy_data_source_free(a);
    zy_data_source_free(c);
    teardown(&x);
}

TEST(task_source_fields_per_task) {
    zy_tokenizer *t = zt_task_wordpiece(ZT_TASK_VOCAB, ZT_TASK_VOCAB_N);
    ASSERT(t);
    zy_task_feature_params fp = zy_task_feature_default_params();
    fp.max_length = 12, fp.doc_stride = 2;
    zy_task_source_params sp = zy_task_source_default_params();
    sp.batch = 2, sp.shuffle = false, sp.one_pass = true;
    // Tagging: targets padded with -1.
    zy_task_read_params rp = zy_task_read_default_params(ZY_TASK_TAG);
    zy_task_data *d = zt_task_read("k.txt", "the/A cats/B\nthe/B\n", &rp, NULL);
    zy_task_features *f = NULL;
    zy_data_source *s = NULL;
    zy_batch b;
    ASSERT(d && zy_task_features_create(&f, d, t, &fp) == 0 && zy_task_source_create(&s, f, &sp) == 0);
    CHECK(zy_data_source_get_info(s)->dims.fields & ZY_BATCH_TARGETS);
    ASSERT(zy_batch_init(&b, &zy_data_source_get_info(s)->dims) == 0);
    ASSERT(zy_data_source_next(s, &b) == 0);
    ASSERT(b.B == 2 && b.T == 5);
    const int y[10] = {-1, 0, 1, -1, -1, -1, 1, -1, -1, -1};
    for (int i = 0; i < 10; i++) CHECK(b.targets[i] == y[i]);
    zy_batch_destroy(&b), zy_data_source_free(s), zy_task_features_free(f), zy_task_data_free(d);
    // Multi-label: values (B, K) of 0/1.
    rp = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    rp.problem = ZY_PROBLEM_MULTI_LABEL;
    d = zt_task_read("m.jsonl", "{\"text\":\"the\",\"label\":[\"b\",\"c\"]}\n{\"text\":\"cat\",\"label\":[\"a\"]}\n", &rp, NULL);
    ASSERT(d && zy_task_features_create(&f, d, t, &fp) == 0 && zy_task_source_create(&s, f, &sp) == 0);
    CHECK(zy_data_source_get_info(s)->dims.n_values == 3);
    ASSERT(zy_batch_init(&b, &zy_data_source_get_info(s)->dims) == 0);
    ASSERT(zy_data_source_next(s, &b) == 0);
    const float v[6] = {0, 1, 1, 1, 0, 0};
    for (int i = 0; i < 6; i++) CHECK(b.values[i] == v[i]);
    zy_batch_destroy(&b), zy_data_source_free(s);
    // omit_labels: no label fields.
    sp.omit_labels = true;
    ASSERT(zy_task_source_create(&s, f, &sp) == 0);
    CHECK(zy_data_source_get_info(s)->dims.fields == (ZY_BATCH_LENGTHS | ZY_BATCH_TOKEN_TYPES));
    zy_data_source_free(s), zy_task_features_free(f), zy_task_data_free(d);
    sp.omit_labels = false;
    // QA: spans.
    rp = zy_task_read_default_params(ZY_TASK_QA);
    d = zt_task_read("q.jsonl", "{\"context\":\"a b c the cat sat on the mat dog\",\"question\":"
                     "\"who?\",\"answers\":{\"text\":[\"mat\"],\"answer_start\":[25]}}\n", &rp, NULL);
    ASSERT(d && zy_task_features_create(&f, d, t, &fp) == 0 && zy_task_source_create(&s, f, &sp) == 0);
    ASSERT(zy_batch_init(&b, &zy_data_source_get_info(s)->dims) == 0);
    ASSERT(zy_data_source_next(s, &b) == 0);
    // L = 12 - 2 - 3 = 7, windows 0..6, 5..9: "mat" (token 8) in the second at 4 + 3.
    CHECK(b.B == 2 && b.span_starts[0] == 0 && b.span_starts[1] == 7 && b.span_ends[1] == 7);
    zy_batch_destroy(&b), zy_data_source_free(s), zy_task_features_free(f), zy_task_data_free(d);
    // Regression: values (B, 1).
    rp = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    rp.problem = ZY_PROBLEM_REGRESSION;
    d = zt_task_read("r.csv", "text,label\nthe,0.5\ncat,2\n", &rp, NULL);
    ASSERT(d && zy_task_features_create(&f, d, t, &fp) == 0 && zy_task_source_create(&s, f, &sp) == 0);
    ASSERT(zy_batch_init(&b, &zy_data_source_get_info(s)->dims) == 0);
    ASSERT(zy_data_source_next(s, &b) == 0);
    CHECK(b.n_values == 1 && b.values[0] == 0.5f && b.values[1] == 2.0f);
    zy_batch_destroy(&b), zy_data_source_free(s), zy_task_features_free(f), zy_task_data_free(d);
    zy_tokenizer_free(t);
}
