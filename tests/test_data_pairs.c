// Tests of parallel text (src/data/pairs_read.c, pairs_encode.c, pairs_source.c): each
// format, every documented error naming file and line, skip-and-count, encoding (the same
// ids as sequential encoding, on any thread count; truncation counted or refused), and the
// source: the rows of a batch, the area bound, the sort order and greedy cut checked
// against an independent model, epochs in the documented seeded order, determinism,
// tell/seek resume mid-epoch and across epochs, shards covering every batch once per
// epoch, one pass covering every pair once.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "data_task_util.h"
#include "zhuyi/pairs.h"

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

// ---- helpers --------------------------------------------------------------------------------
static zy_pairs *read_mem(const char *name, const char *text, const char *tgt_name,
                          const char *tgt, const zy_pairs_read_params *p) {
    zy_pairs *d = NULL;
    if (zy_pairs_read_buffer(&d, name, text, strlen(text), tgt_name, tgt,
                             tgt ? strlen(tgt) : 0, p))
        zt_fail(__FILE__, __LINE__, "read %s: %s", name, zy_last_error());
    return d;
}

// The read fails with st and a message holding every needle.
static void fails(int line, const char *name, const char *text, const char *tgt_name,
                  const char *tgt, const zy_pairs_read_params *p, zy_status st,
                  const char *const *needles) {
    zy_pairs *d = (zy_pairs *)1;
    zy_status got = zy_pairs_read_buffer(&d, name, text, strlen(text), tgt_name, tgt,
                                         tgt ? strlen(tgt) : 0, p);
    if (got != st || d != NULL) {
        zt_fail(__FILE__, line, "read %s: status %d (want %d): %s", name, got, st,
                zy_last_error());
        zy_pairs_free(got ? NULL : d);
        return;
    }
    for (int i = 0; needles[i]; i++)
        if (!strstr(zy_last_error(), needles[i]))
            zt_fail(__FILE__, line, "message '%s' lacks '%s'", zy_last_error(), needles[i]);
}
#define FAILS(...) fails(__LINE__, __VA_ARGS__)

static void check_pair(int line, const zy_pairs *d, size_t i, const char *src, const char *tgt,
                       uint64_t at) {
    zy_pair q = zy_pairs_get(d, i);
    if (!q.src || strcmp(q.src, src) || strcmp(q.tgt, tgt) || q.src_len != strlen(src) ||
        q.tgt_len != strlen(tgt) || q.line != at)
        zt_fail(__FILE__, line, "pair %zu: '%s' / '%s' at line %llu, expected '%s' / '%s' at "
                "%llu", i, q.src ? q.src : "(null)", q.tgt ? q.tgt : "(null)",
                (unsigned long long)q.line, src, tgt, (unsigned long long)at);
}
#define CHECK_PAIR(...) check_pair(__LINE__, __VA_ARGS__)

// ---- reading -------------------------------------------------------------------------------
TEST(pairs_read_lines) {
    zy_pairs_read_params p = zy_pairs_read_default_params();
    // A BOM, CRLF, a last line without '\n', spaces kept; files by path.
    const char *src = zt_task_file("a.en", "\xEF\xBB\xBFthe cat\r\n the dog \nsat");
    const char *tgt = zt_task_file("a.es", "el gato\nel perro\r\nsentado\n");
    zy_pairs *d = NULL;
    ASSERT(zy_pairs_read(&d, src, tgt, &p) == ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_pairs_count(d), 3);
    CHECK_PAIR(d, 0, "the cat", "el gato", 1);
    CHECK_PAIR(d, 1, " the dog ", "el perro", 2);
    CHECK_PAIR(d, 2, "sat", "sentado", 3);
    zy_pair q = zy_pairs_get(d, 1);
    CHECK(!strcmp(q.src_file, src) && !strcmp(q.tgt_file, tgt));
    CHECK(zy_pairs_get(d, 3).src == NULL);
    CHECK(zy_pairs_report(d)->n_examples == 3 && zy_pairs_report(d)->n_skipped == 0);
    zy_pairs_free(d);
    // An unreadable file names it.
    CHECK(zy_pairs_read(&d, "/nonexistent/x.en", tgt, &p) == ZY_STATUS_IO && !d);
    CHECK(strstr(zy_last_error(), "/nonexistent/x.en") != NULL);
}

TEST(pairs_read_tsv_jsonl) {
    zy_pairs_read_params p = zy_pairs_read_default_params();
    // TSV: no header assumed, quotes are characters.
    zy_pairs *d = read_mem("c.tsv", "hello\thola\r\n\"quoted\" x\t\"y\"\nb\tc", NULL, NULL, &p);
    ASSERT(d);
    ASSERT_EQ_INT(zy_pairs_count(d), 3);
    CHECK_PAIR(d, 0, "hello", "hola", 1);
    CHECK_PAIR(d, 1, "\"quoted\" x", "\"y\"", 2);
    CHECK_PAIR(d, 2, "b", "c", 3);
    CHECK(zy_pairs_get(d, 0).src_file == zy_pairs_get(d, 0).tgt_file);
    zy_pairs_free(d);
    // JSONL: both shapes, blank lines skipped (line numbers kept), escapes decoded.
    p.src_lang = "en", p.tgt_lang = "es";
    d = read_mem("d.jsonl", "{\"src\": \"a\\tb\", \"tgt\": \"\\u00e9\"}\n\n"
                 "{\"translation\": {\"es\": \"hola\", \"en\": \"hello\"}}\n", NULL, NULL, &p);
    ASSERT(d);
    ASSERT_EQ_INT(zy_pairs_count(d), 2);
    CHECK_PAIR(d, 0, "a\tb", "\xc3\xa9", 1);
    CHECK_PAIR(d, 1, "hello", "hola", 3);
    zy_pairs_free(d);
    // Keys of one's own; the format given rather than guessed.
    p = zy_pairs_read_default_params();
    p.src_key = "de", p.tgt_key = "en", p.format = ZY_PAIRS_FORMAT_JSONL;
    d = read_mem("e.data", "{\"en\": \"yes\", \"de\": \"ja\"}", NULL, NULL, &p);
    ASSERT(d);
    CHECK_PAIR(d, 0, "ja", "yes", 1);
    zy_pairs_free(d);
    zy_pairs_format f = ZY_PAIRS_FORMAT_AUTO;
    CHECK(zy_pairs_format_parse("tsv", &f) == 0 && f == ZY_PAIRS_FORMAT_TSV);
    CHECK(!strcmp(zy_pairs_format_name(ZY_PAIRS_FORMAT_LINES), "lines"));
    CHECK(zy_pairs_format_parse("csv", &f) == ZY_STATUS_NOT_FOUND);
}

TEST(pairs_read_errors) {
    zy_pairs_read_params p = zy_pairs_read_default_params();
    // Line counts: both files, both counts.
    FAILS("s.en", "a\nb\nc\n", "t.es", "x\ny\n", &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("s.en has 3 lines", "t.es has 2"));
    // An empty side names the file it is in and the line; an empty line pair both.
    FAILS("s.en", "a\nb\nc\n", "t.es", "x\n  \nz\n", &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("t.es:2:", "target side is empty"));
    FAILS("s.en", "a\n\r\nc\n", "t.es", "x\ny\nz\n", &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("s.en:2:", "source side is empty"));
    FAILS("s.en", "a\n\nc\n", "t.es", "x\n\nz\n", &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("s.en:2:", "t.es:2", "empty line pair"));
    // Invalid UTF-8 and NUL bytes, by file:line.
    FAILS("s.en", "a\nb\xff\n", "t.es", "x\ny\n", &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("s.en:2:", "invalid UTF-8"));
    FAILS("u.tsv", "a\tb\nc\td\xc3\n", NULL, NULL, &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("u.tsv:2:", "target side", "invalid UTF-8"));
    zy_pairs *d = NULL;
    CHECK(zy_pairs_read_buffer(&d, "n.tsv", "a\tb\0c\n", 6, NULL, NULL, 0, &p) ==
          ZY_STATUS_BAD_FORMAT && !d);
    CHECK(strstr(zy_last_error(), "n.tsv:1:") && strstr(zy_last_error(), "NUL"));
    // TSV: exactly one tab.
    FAILS("v.tsv", "a\tb\nno tab here\n", NULL, NULL, &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("v.tsv:2:", "0 tabs"));
    FAILS("v.tsv", "a\tb\tc\n", NULL, NULL, &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("v.tsv:1:", "2 tabs"));
    FAILS("v.tsv", "a\tb\n\nc\td\n", NULL, NULL, &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("v.tsv:2:", "empty pair"));
    FAILS("v.tsv", "\tb\n", NULL, NULL, &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("v.tsv:1:", "source side is empty"));
    // JSONL: syntax, fields, the translation shape without its languages.
    FAILS("w.jsonl", "{\"src\": \"a\", \"tgt\": \"b\"}\n{\"src\": \"a\"\n", NULL, NULL, &p,
          ZY_STATUS_BAD_FORMAT, NEEDLES("w.jsonl:2:", "not valid JSON"));
    FAILS("w.jsonl", "{\"src\": \"a\", \"tgt\": 3}\n", NULL, NULL, &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("w.jsonl:1:", "'tgt'"));
    FAILS("w.jsonl", "{\"translation\": {\"en\": \"a\", \"es\": \"b\"}}\n", NULL, NULL, &p,
          ZY_STATUS_BAD_FORMAT, NEEDLES("w.jsonl:1:", "src_lang"));
    p.src_lang = "en", p.tgt_lang = "fr";
    FAILS("w.jsonl", "{\"translation\": {\"en\": \"a\", \"es\": \"b\"}}\n", NULL, NULL, &p,
          ZY_STATUS_BAD_FORMAT, NEEDLES("w.jsonl:1:", "'translation.fr'"));
    FAILS("w.jsonl", "{\"src\": \"a\", \"tgt\": \" \"}\n", NULL, NULL, &p,
          ZY_STATUS_BAD_FORMAT, NEEDLES("w.jsonl:1:", "target side is empty"));
    p.tgt_lang = "en";
    FAILS("w.jsonl", "{}", NULL, NULL, &p, ZY_STATUS_INVALID_ARGUMENT, NEEDLES("differ"));
    // The file's errors: empty, the format unknown or wrong for the file count.
    p = zy_pairs_read_default_params();
    FAILS("x.tsv", " \n\n", NULL, NULL, &p, ZY_STATUS_BAD_FORMAT, NEEDLES("x.tsv", "empty"));
    FAILS("x.csv", "a\tb\n", NULL, NULL, &p, ZY_STATUS_INVALID_ARGUMENT, NEEDLES("x.csv"));
    p.format = ZY_PAIRS_FORMAT_TSV;
    FAILS("x.tsv", "a\n", "y.tsv", "b\n", &p, ZY_STATUS_INVALID_ARGUMENT, NEEDLES("one file"));
    p.format = ZY_PAIRS_FORMAT_LINES;
    FAILS("x.en", "a\n", NULL, NULL, &p, ZY_STATUS_INVALID_ARGUMENT, NEEDLES("two files"));
}

TEST(pairs_read_skip_bad_rows) {
    zy_pairs_read_params p = zy_pairs_read_default_params();
    p.skip_bad_rows = true;
    zy_pairs *d = read_mem("s.tsv", "a\tb\nbad\n\t\nc\td\xff\ne\tf\n", NULL, NULL, &p);
    ASSERT(d);
    ASSERT_EQ_INT(zy_pairs_count(d), 2);
    CHECK_PAIR(d, 0, "a", "b", 1);
    CHECK_PAIR(d, 1, "e", "f", 5);
    const zy_task_read_report *r = zy_pairs_report(d);
    CHECK(r->n_examples == 2 && r->n_skipped == 3 && r->n_reasons == 3);
    CHECK(strstr(r->reasons[0], "s.tsv:2:") && strstr(r->reasons[1], "s.tsv:3:") &&
          strstr(r->reasons[2], "s.tsv:4:"));
    zy_pairs_free(d);
    // Every line bad: no pair, naming the first reason. Line counts still fail.
    FAILS("t.tsv", "x\ny\n", NULL, NULL, &p, ZY_STATUS_BAD_FORMAT,
          NEEDLES("all 2 lines were bad", "t.tsv:1:"));
    FAILS("s.en", "a\n", "t.es", "x\ny\n", &p, ZY_STATUS_BAD_FORMAT, NEEDLES("s.en has 1"));
}

// ---- encoding -------------------------------------------------------------------------------
static const char *WORDS[] = {"the", "cat", "sat", "on", "mat", "dog", "big", "red", "walks"};

// n pairs of 1..max_s and 1..max_t words as TSV, read.
static zy_pairs *make_pairs(int n, int max_s, int max_t, uint64_t seed) {
    zy_rng r;
    zy_rng_seed(&r, seed);
    size_t cap = (size_t)n * (size_t)(max_s + max_t) * 8 + 64;
    char *tsv = zt_malloc(cap), *o = tsv;
    for (int i = 0; i < n; i++) {
        int a = 1 + (int)zy_rng_below(&r, (uint64_t)max_s);
        int b = 1 + (int)zy_rng_below(&r, (uint64_t)max_t);
        for (int k = 0; k < a; k++) o += sprintf(o, "%s%s", k ? " " : "", WORDS[zy_rng_below(&r, 9)]);
        *o++ = '\t';
        for (int k = 0; k < b; k++) o += sprintf(o, "%s%s", k ? " " : "", WORDS[zy_rng_below(&r, 9)]);
        *o++ = '\n';
    }
    *o = 0;
    zy_pairs_read_params p = zy_pairs_read_default_params();
    zy_pairs *d = read_mem("gen.tsv", tsv, NULL, NULL, &p);
    free(tsv);
    return d;
}

TEST(pairs_encode_ids_and_truncation) {
    zy_tokenizer *t = zt_task_wordpiece(ZT_TASK_VOCAB, ZT_TASK_VOCAB_N);
    ASSERT(t);
    zy_pairs *d = make_pairs(300, 12, 10, 7);
    ASSERT(d);
    // The ids of every side are zy_tokenizer_encode's, on 1 or 2 threads.
    zy_pairs_encode_params ep = zy_pairs_encode_default_params();
    for (int threads = 1; threads <= 2; threads++) {
        zy_threads_set(threads);
        zy_pairs_ids e;
        ASSERT(zy_pairs_encode(&e, d, t, &ep) == ZY_STATUS_OK);
        ASSERT(e.n == 300 && e.pairs == d && e.n_cut_src == 0 && e.n_cut_tgt == 0);
        int longest[2] = {0, 0};
        for (size_t i = 0; i < 300; i++) {
            zy_pair q = zy_pairs_get(d, i);
            for (int side = 0; side < 2; side++) {
                int32_t want[64];
                size_t m = 0;
                ASSERT(zy_tokenizer_encode(t, side ? q.tgt : q.src, side ? q.tgt_len : q.src_len,
                                           0, want, 64, &m) == 0);
                uint64_t a = e.start[2 * i + (size_t)side], b = e.start[2 * i + (size_t)side + 1];
                CHECK(b - a == m && !memcmp(e.ids + a, want, m * sizeof *want));
                longest[side] = (int)(m > (size_t)longest[side] ? m : (size_t)longest[side]);
            }
        }
        CHECK(e.longest_src == longest[0] && e.longest_tgt == longest[1]);
        zy_pairs_ids_destroy(&e);
    }
    // Cut to max - 1 ids and counted; the first pair cut remembered.
    zy_pairs_read_params rp = zy_pairs_read_default_params();
    zy_pairs *d2 = read_mem("cut.tsv", "the cat\tthe\nthe cat sat on\tthe big red dog\n"
                            "a\tthe cat sat on the mat\n", NULL, NULL, &rp);
    ASSERT(d2);
    ep.max_src = 3, ep.max_tgt = 4;
    zy_pairs_ids e;
    ASSERT(zy_pairs_encode(&e, d2, t, &ep) == ZY_STATUS_OK);
    CHECK(e.n_cut_src == 1 && e.n_cut_tgt == 2 && e.first_cut == 1);
    CHECK(e.longest_src == 2 && e.longest_tgt == 3);
    CHECK(e.start[3] - e.start[2] == 2 && e.ids[e.start[2]] == zt_task_id("the") &&
          e.ids[e.start[2] + 1] == zt_task_id("cat"));
    CHECK(e.start[6] - e.start[5] == 3);
    zy_pairs_ids_destroy(&e);
    // Or refused, naming file:line, the length and the limit.
    ep.error_on_long = true;
    CHECK(zy_pairs_encode(&e, d2, t, &ep) == ZY_STATUS_BAD_FORMAT && e.ids == NULL);
    CHECK(strstr(zy_last_error(), "cut.tsv:2:") && strstr(zy_last_error(), "source is 4") &&
          strstr(zy_last_error(), "max_src 3"));
    ep.max_src = 1;
    CHECK(zy_pairs_encode(&e, d2, t, &ep) == ZY_STATUS_INVALID_ARGUMENT);
    zy_pairs_free(d2);
    zy_pairs_free(d);
    zy_tokenizer_free(t);
}

// ---- the source -----------------------------------------------------------------------------
typedef struct fixture {
    zy_tokenizer *t;
    zy_pairs *d;
    zy_pairs_ids e;
} fixture;

static bool setup(fixture *x, int n, uint64_t seed) {
    memset(x, 0, sizeof *x);
    x->t = zt_task_wordpiece(ZT_TASK_VOCAB, ZT_TASK_VOCAB_N);
    x->d = x->t ? make_pairs(n, 14, 12, seed) : NULL;
    zy_pairs_encode_params ep = zy_pairs_encode_default_params();
    if (!x->d || zy_pairs_encode(&x->e, x->d, x->t, &ep)) {
        zt_fail(__FILE__, __LINE__, "setup: %s", zy_last_error());
        return false;
    }
    return true;
}

static void teardown(fixture *x) {
    zy_pairs_ids_destroy(&x->e);
    zy_pairs_free(x->d);
    zy_tokenizer_free(x->t);
}

enum { PAD = 0, EOS = 3, START = 2 };

static zy_pairs_source_params params(int max_tokens, bool shuffle, bool one_pass) {
    zy_pairs_source_params p = zy_pairs_source_default_params();
    p.max_tokens = max_tokens, p.shuffle = shuffle, p.one_pass = one_pass;
    p.pad_id = PAD, p.eos_id = EOS, p.decoder_start_id = START;
    p.seed = 99;
    return p;
}

static zy_data_source *source(const zy_pairs_ids *e, const zy_pairs_source_params *p) {
    zy_data_source *s = NULL;
    if (zy_pairs_source_create(&s, e, p))
        zt_fail(__FILE__, __LINE__, "source: %s", zy_last_error());
    return s;
}

static uint64_t sig(const zy_batch *b) {
    uint64_t h = zy_hash64((uint64_t)b->B, (uint64_t)b->T * 65536 + (uint64_t)b->T_dec);
    size_t n = (size_t)b->B * (size_t)b->T, m = (size_t)b->B * (size_t)b->T_dec;
    h = zy_hash64(h, zy_hash_bytes(b->input_ids, n * sizeof(int)));
    h = zy_hash64(h, zy_hash_bytes(b->dec_input_ids, m * sizeof(int)));
    h = zy_hash64(h, zy_hash_bytes(b->dec_targets, m * sizeof(int)));
    h = zy_hash64(h, zy_hash_bytes(b->lengths, (size_t)b->B * sizeof(int)));
    return zy_hash64(h, zy_hash_bytes(b->dec_lengths, (size_t)b->B * sizeof(int)));
}

// The test's own model of the cut: pairs sorted by (source, target, index), cut greedily.
typedef struct model {
    uint32_t *rows;  // sorted pairs
    uint64_t *first; // (nb + 1)
    uint64_t nb;
} model;

static const zy_pairs_ids *g_e;
static int slen(uint64_t i) { return (int)(g_e->start[2 * i + 1] - g_e->start[2 * i]); }
static int tlen(uint64_t i) { return (int)(g_e->start[2 * i + 2] - g_e->start[2 * i + 1]); }
static int cmp_rows(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (slen(x) != slen(y)) return slen(x) - slen(y);
    if (tlen(x) != tlen(y)) return tlen(x) - tlen(y);
    return (x > y) - (x < y);
}

static void build_model(model *m, const zy_pairs_ids *e, int max_tokens, int max_rows) {
    g_e = e;
    m->rows = zt_malloc(e->n * sizeof *m->rows);
    m->first = zt_malloc((e->n + 1) * sizeof *m->first);
    for (uint64_t i = 0; i < e->n; i++) m->rows[i] = (uint32_t)i;
    qsort(m->rows, e->n, sizeof *m->rows, cmp_rows);
    m->nb = 0;
    m->first[0] = 0;
    int T = 0, rows = 0;
    for (uint64_t i = 0; i < e->n; i++) {
        int need = slen(m->rows[i]) + 1 > tlen(m->rows[i]) + 1 ? slen(m->rows[i]) + 1
                                                              : tlen(m->rows[i]) + 1;
        int nT = need > T ? need : T;
        if (rows && ((rows + 1) * nT > max_tokens || (max_rows && rows + 1 > max_rows))) {
            m->first[++m->nb] = i;
            rows = 0;
            nT = need;
        }
        rows++;
        T = nT;
    }
    m->first[++m->nb] = e->n;
}

static void free_model(model *m) {
    free(m->rows);
    free(m->first);
}

// Batch k of the model against b: every row's fields as pairs.h lays them out.
static void check_batch(int line, const model *m, uint64_t k, const zy_batch *b) {
    const zy_pairs_ids *e = g_e;
    int B = (int)(m->first[k + 1] - m->first[k]), T = 1, Td = 1;
    for (int r = 0; r < B; r++) {
        uint32_t i = m->rows[m->first[k] + (uint64_t)r];
        T = slen(i) + 1 > T ? slen(i) + 1 : T;
        Td = tlen(i) + 1 > Td ? tlen(i) + 1 : Td;
    }
    if (b->B != B || b->T != T || b->T_dec != Td) {
        zt_fail(__FILE__, line, "batch %llu: %d x (%d, %d), expected %d x (%d, %d)",
                (unsigned long long)k, b->B, b->T, b->T_dec, B, T, Td);
        return;
    }
    for (int r = 0; r < B; r++) {
        uint32_t i = m->rows[m->first[k] + (uint64_t)r];
        const int32_t *x = e->ids + e->start[2 * (uint64_t)i];
        const int32_t *y = e->ids + e->start[2 * (uint64_t)i + 1];
        int s = slen(i), q = tlen(i);
        bool ok = b->lengths[r] == s + 1 && b->dec_lengths[r] == q + 1;
        for (int j = 0; j < T; j++)
            ok = ok && b->input_ids[r * T + j] == (j < s ? x[j] : j == s ? EOS : PAD);
        for (int j = 0; j < Td; j++) {
            ok = ok && b->dec_input_ids[r * Td + j] == (j == 0 ? START : j <= q ? y[j - 1] : PAD);
            ok = ok && b->dec_targets[r * Td + j] == (j < q ? y[j] : j == q ? EOS : -1);
        }
        if (!ok) {
            zt_fail(__FILE__, line, "batch %llu row %d (pair %u) differs", (unsigned long long)k,
                    r, i);
            return;
        }
    }
}

// Epoch e's order of nb batches (pairs.h: Fisher-Yates from zy_hash64(seed ^ salt, e)).
static void epoch_order(uint32_t *o, uint64_t nb, uint64_t seed, uint64_t e, bool shuffle) {
    for (uint64_t b = 0; b < nb; b++) o[b] = (uint32_t)b;
    if (!shuffle) return;
    zy_rng r;
    zy_rng_seed(&r, zy_hash64(seed ^ ZY_PAIRS_ORDER_SALT, e));
    for (uint64_t i = nb; i > 1; i--) {
        uint64_t j = zy_rng_below(&r, i);
        uint32_t t = o[i - 1];
        o[i - 1] = o[j];
        o[j] = t;
    }
}

TEST(pairs_source_one_pass_cut_and_rows) {
    fixture x;
    ASSERT(setup(&x, 500, 3));
    const int caps[][2] = {{64, 0}, {100, 0}, {256, 5}, {32, 0}};
    for (int c = 0; c < 4; c++) {
        zy_pairs_source_params p = params(caps[c][0], false, true);
        p.max_rows = caps[c][1];
        zy_data_source *s = source(&x.e, &p);
        ASSERT(s);
        const zy_data_source_info *info = zy_data_source_get_info(s);
        model m;
        build_model(&m, &x.e, caps[c][0], caps[c][1]);
        CHECK(info->n_items == 500 && info->one_pass && !strcmp(info->kind, "pairs"));
        CHECK(info->dims.fields == (ZY_BATCH_LENGTHS | ZY_BATCH_DECODER));
        CHECK(info->dims.tokens > 0 && info->dims.tokens <= caps[c][0]);
        zy_batch b;
        ASSERT(zy_batch_init(&b, &info->dims) == 0);
        // Every batch of the model in order, then 0 rows; every pair once; the area bound
        // met, and the dims the largest seen.
        int most = 0, seq = 0, seq_dec = 0, area = 0;
        uint64_t rows = 0;
        for (uint64_t k = 0; k < m.nb; k++) {
            ASSERT(zy_data_source_next(s, &b) == 0);
            check_batch(__LINE__, &m, k, &b);
            CHECK(b.B * (b.T > b.T_dec ? b.T : b.T_dec) <= caps[c][0]);
            CHECK(!caps[c][1] || b.B <= caps[c][1]);
            most = b.B > most ? b.B : most;
            seq = b.T > seq ? b.T : seq;
            seq_dec = b.T_dec > seq_dec ? b.T_dec : seq_dec;
            int a = b.B * (b.T > b.T_dec ? b.T : b.T_dec);
            area = a > area ? a : area;
            rows += (uint64_t)b.B;
        }
        CHECK(rows == 500);
        CHECK(info->dims.batch == most && info->dims.seq == seq && info->dims.seq_dec == seq_dec &&
              info->dims.tokens == area);
        for (int k = 0; k < 2; k++) {
            ASSERT(zy_data_source_next(s, &b) == 0);
            CHECK(b.B == 0);
        }
        zy_data_pos pos;
        zy_data_source_tell(s, &pos);
        CHECK(pos.epoch == 0 && pos.pos == m.nb);
        zy_batch_destroy(&b);
        free_model(&m);
        zy_data_source_free(s);
    }
    teardown(&x);
}

TEST(pairs_source_errors) {
    fixture x;
    ASSERT(setup(&x, 20, 4));
    zy_data_source *s = NULL;
    // A row longer than max_tokens names its pair's file:line.
    uint64_t worst = 0;
    for (uint64_t i = 1; i < 20; i++) {
        g_e = &x.e;
        int a = slen(i) > tlen(i) ? slen(i) : tlen(i), w = slen(worst) > tlen(worst) ? slen(worst) : tlen(worst);
        if (a > w) worst = i;
    }
    g_e = &x.e;
    int need = (slen(worst) > tlen(worst) ? slen(worst) : tlen(worst)) + 1;
    zy_pairs_source_params p = params(need - 1, true, false);
    CHECK(zy_pairs_source_create(&s, &x.e, &p) == ZY_STATUS_INVALID_ARGUMENT && !s);
    char at[64];
    snprintf(at, sizeof at, "gen.tsv:%llu", (unsigned long long)zy_pairs_get(x.d, worst).line);
    CHECK(strstr(zy_last_error(), at) && strstr(zy_last_error(), "max_tokens"));
    p = params(need, true, false);
    ASSERT(zy_pairs_source_create(&s, &x.e, &p) == 0);
    // The largest row fits exactly.
    CHECK(zy_data_source_get_info(s)->dims.tokens <= need);
    // More ranks than batches: shard fails. Seek outside the epoch fails.
    CHECK(zy_data_source_shard(s, 0, 1000) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_data_source_seek(s, (zy_data_pos){0, 10000}) == ZY_STATUS_INVALID_ARGUMENT);
    zy_data_source_free(s);
    s = NULL;
    // Special ids unset, shuffle with one pass, max_tokens too small.
    p = zy_pairs_source_default_params();
    CHECK(zy_pairs_source_create(&s, &x.e, &p) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "pad_id") != NULL);
    p = params(4096, true, true);
    CHECK(zy_pairs_source_create(&s, &x.e, &p) == ZY_STATUS_INVALID_ARGUMENT);
    p = params(1, false, false);
    CHECK(zy_pairs_source_create(&s, &x.e, &p) == ZY_STATUS_INVALID_ARGUMENT && !s);
    teardown(&x);
}

// k-th batch signatures of the one-pass source (batch k of the sorted cut).
static uint64_t *batch_sigs(const zy_pairs_ids *e, int max_tokens, uint64_t *nb) {
    zy_pairs_source_params p = params(max_tokens, false, true);
    zy_data_source *s = source(e, &p);
    zy_batch b;
    if (!s || zy_batch_init(&b, &zy_data_source_get_info(s)->dims)) return NULL;
    uint64_t *sg = zt_malloc((e->n + 1) * sizeof *sg), k = 0;
    for (;; k++) {
        if (zy_data_source_next(s, &b) || b.B == 0) break;
        sg[k] = sig(&b);
    }
    *nb = k;
    zy_batch_destroy(&b);
    zy_data_source_free(s);
    return sg;
}

TEST(pairs_source_epochs_seek_determinism) {
    fixture x;
    ASSERT(setup(&x, 400, 5));
    const int MT = 96;
    uint64_t nb = 0;
    uint64_t *sg = batch_sigs(&x.e, MT, &nb);
    ASSERT(sg && nb > 10);
    zy_pairs_source_params p = params(MT, true, false);
    zy_data_source *s = source(&x.e, &p), *s2 = source(&x.e, &p);
    ASSERT(s && s2);
    CHECK(zy_data_source_get_info(s)->fingerprint == zy_data_source_get_info(s2)->fingerprint);
    zy_batch b, b2;
    ASSERT(zy_batch_init(&b, &zy_data_source_get_info(s)->dims) == 0);
    ASSERT(zy_batch_init(&b2, &zy_data_source_get_info(s)->dims) == 0);
    // Three epochs in the documented order; each batch once per epoch; two sources alike.
    uint32_t *o = zt_malloc(nb * sizeof *o);
    uint64_t *saved = zt_malloc(3 * nb * sizeof *saved);
    bool differ = false;
    for (uint64_t e = 0; e < 3; e++) {
        epoch_order(o, nb, 99, e, true);
        for (uint64_t k = 0; k < nb; k++) {
            ASSERT(zy_data_source_next(s, &b) == 0 && zy_data_source_next(s2, &b2) == 0);
            uint64_t h = sig(&b);
            CHECK(h == sg[o[k]]);
            CHECK(h == sig(&b2));
            differ |= o[k] != k;
            saved[e * nb + k] = h;
        }
    }
    CHECK(differ); // the order is not the sorted one
    zy_data_pos end;
    zy_data_source_tell(s, &end);
    CHECK(end.epoch == 3 && end.pos == 0);
    // Resume: a fresh source sought to a mid-epoch position sees what the first saw.
    const zy_data_pos at[] = {{0, 0}, {0, 7}, {1, nb - 1}, {2, 3}, {1, nb}};
    for (int i = 0; i < 5; i++) {
        zy_data_source *r = source(&x.e, &p);
        ASSERT(r && zy_data_source_seek(r, at[i]) == 0);
        uint64_t from = at[i].epoch * nb + at[i].pos;
        for (uint64_t k = from; k < 3 * nb && k < from + 12; k++) {
            ASSERT(zy_data_source_next(r, &b) == 0);
            CHECK(sig(&b) == saved[k]);
        }
        zy_data_source_free(r);
    }
    // tell after some batches, seek back, the same batches again.
    zy_data_pos mid;
    zy_data_source_tell(s2, &mid);
    uint64_t again[5];
    for (int k = 0; k < 5; k++) {
        ASSERT(zy_data_source_next(s2, &b) == 0);
        again[k] = sig(&b);
    }
    ASSERT(zy_data_source_seek(s2, mid) == 0);
    for (int k = 0; k < 5; k++) {
        ASSERT(zy_data_source_next(s2, &b) == 0);
        CHECK(sig(&b) == again[k]);
    }
    // Another seed, another order and fingerprint.
    zy_pairs_source_params q = p;
    q.seed = 100;
    zy_data_source *s3 = source(&x.e, &q);
    ASSERT(s3);
    CHECK(zy_data_source_get_info(s3)->fingerprint != zy_data_source_get_info(s)->fingerprint);
    zy_data_source_free(s3);
    free(o);
    free(saved);
    free(sg);
    zy_batch_destroy(&b);
    zy_batch_destroy(&b2);
    zy_data_source_free(s);
    zy_data_source_free(s2);
    teardown(&x);
}

TEST(pairs_source_shards) {
    fixture x;
    ASSERT(setup(&x, 300, 6));
    const int MT = 80;
    uint64_t nb = 0;
    uint64_t *sg = batch_sigs(&x.e, MT, &nb);
    ASSERT(sg && nb > 6);
    for (int world = 2; world <= 3; world++) {
        uint64_t W = (uint64_t)world, steps = 2 * nb / W;
        zy_pairs_source_params p = params(MT, true, false);
        zy_data_source *r[3] = {0};
        zy_batch b;
        ASSERT(zy_batch_init(&b, &zy_data_source_get_info(r[0] = source(&x.e, &p))->dims) == 0);
        for (int k = 1; k < world; k++) r[k] = source(&x.e, &p);
        for (int k = 0; k < world; k++) ASSERT(zy_data_source_shard(r[k], k, world) == 0);
        // The epochs' orders as one stream: step t, rank k takes its batch t·world + k, a
        // step running on into the next epoch's order where one ends (nb mod world != 0
        // for one of the two world sizes); nothing is left out.
        uint32_t *o = zt_malloc(3 * nb * sizeof *o);
        for (uint64_t e = 0; e < 3; e++) epoch_order(o + e * nb, nb, 99, e, true);
        for (uint64_t t = 0; t < steps; t++)
            for (int k = 0; k < world; k++) {
                ASSERT(zy_data_source_next(r[k], &b) == 0);
                CHECK(sig(&b) == sg[o[t * W + (uint64_t)k]]);
            }
        zy_data_pos pos;
        zy_data_source_tell(r[world - 1], &pos);
        zt_note("world %d: %llu batches an epoch, %llu steps: at (%llu, %llu)", world,
                (unsigned long long)nb, (unsigned long long)steps,
                (unsigned long long)pos.epoch, (unsigned long long)pos.pos);
        CHECK(pos.epoch == steps * W / nb && pos.pos == steps * W % nb);
        // One pass sharded: ranks together give every batch once, in sorted order.
        zy_pairs_source_params q = params(MT, false, true);
        zy_data_source *op[3] = {0};
        for (int k = 0; k < world; k++) {
            op[k] = source(&x.e, &q);
            ASSERT(zy_data_source_shard(op[k], k, world) == 0);
        }
        uint64_t got = 0;
        for (uint64_t t = 0; t * (uint64_t)world < nb + 2 * (uint64_t)world; t++)
            for (int k = 0; k < world; k++) {
                ASSERT(zy_data_source_next(op[k], &b) == 0);
                uint64_t want = t * (uint64_t)world + (uint64_t)k;
                if (want < nb) {
                    CHECK(b.B > 0 && sig(&b) == sg[want]);
                    got++;
                } else {
                    CHECK(b.B == 0);
                }
            }
        CHECK(got == nb);
        for (int k = 0; k < world; k++) {
            zy_data_source_free(op[k]);
            zy_data_source_free(r[k]);
        }
        free(o);
        zy_batch_destroy(&b);
    }
    free(sg);
    teardown(&x);
}
