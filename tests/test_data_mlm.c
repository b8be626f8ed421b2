// Tests of the BERT pretraining source (src/data/mlm_*.c, corpus.c) by its properties:
// the row layout ([CLS] A [SEP] B [SEP], token types, lengths, padding), segments that
// are contiguous corpus text, IsNext pairs that really follow each other in a document and
// NotNext pairs from another one, ~50 % labels, the masking counts and the 80/10/10 split,
// specials never masked, whole-word masking, determinism, tell/seek, shards, one pass,
// packed text without NSP, the corpus builder (text, files) and bad input. Training a
// tiny BERT on the source: test_data_mlm_train.c.
//
// The corpora give token g of the corpus the id FIRST + g, so every id in a row says where
// in the corpus it came from.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "zhuyi/data.h"

enum { PAD = 0, CLS = 2, SEP = 3, MASK = 5, FIRST = 8, MAXT = 64 };

// docs documents of [s_lo, s_hi] sentences of [l_lo, l_hi] tokens, ids FIRST + position.
static void make_corpus(zy_corpus *c, uint64_t seed, int docs, int s_lo, int s_hi, int l_lo,
                        int l_hi) {
    zy_corpus_init(c);
    zy_rng r;
    zy_rng_seed(&r, seed);
    int32_t buf[256];
    for (int d = 0; d < docs; d++) {
        int ns = s_lo + (int)zy_rng_below(&r, (uint64_t)(s_hi - s_lo + 1));
        for (int s = 0; s < ns; s++) {
            int len = l_lo + (int)zy_rng_below(&r, (uint64_t)(l_hi - l_lo + 1));
            for (int j = 0; j < len; j++) buf[j] = FIRST + (int32_t)c->n_tokens + j;
            if (zy_corpus_add_sentence(c, buf, (size_t)len))
                zt_fail(__FILE__, __LINE__, "add sentence: %s", zy_last_error());
        }
        zy_corpus_end_document(c);
    }
}

static zy_mlm_source_params params(const zy_corpus *c, int B, int T, uint64_t seed) {
    zy_mlm_source_params p = zy_mlm_source_default_params();
    p.batch = B, p.seq = T, p.seed = seed;
    p.vocab_size = FIRST + (int)c->n_tokens;
    p.cls_id = CLS, p.sep_id = SEP, p.mask_id = MASK, p.pad_id = PAD;
    return p;
}

static zy_data_source *source(const zy_corpus *c, const zy_mlm_source_params *p) {
    zy_data_source *s = NULL;
    if (zy_mlm_source_create(&s, c, p) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "mlm source: %s", zy_last_error());
    return s;
}

// The sentence holding corpus token g, and the document holding sentence i.
static uint64_t sentence_of(const zy_corpus *c, uint64_t g) {
    uint64_t lo = 0, hi = c->n_sentences; // sentences[lo] <= g < sentences[hi]
    while (hi - lo > 1) {
        uint64_t mid = (lo + hi) / 2;
        if (c->sentences[mid] <= g) lo = mid;
        else hi = mid;
    }
    return lo;
}

static uint64_t document_of(const zy_corpus *c, uint64_t i) {
    uint64_t lo = 0, hi = c->n_documents;
    while (hi - lo > 1) {
        uint64_t mid = (lo + hi) / 2;
        if (c->documents[mid] <= i) lo = mid;
        else hi = mid;
    }
    return lo;
}

static bool is_special(int id) { return id == PAD || id == CLS || id == SEP || id == MASK; }

// One row taken apart: the ids before masking, where A and B are.
typedef struct row {
    int n, la, lb, label;
    int orig[MAXT];
    uint64_t a, b; // corpus positions of A's and B's first tokens
} row;

// Checks row r of b against the layout rules (data.h) and takes it apart. Returns 0
// after recording a failure if a rule is broken.
static int parse_row(const zy_batch *b, int r, bool nsp, int V, row *w) {
    int T = b->T, n = b->lengths[r];
    const int *x = b->input_ids + (size_t)r * T, *y = b->targets + (size_t)r * T;
    const int *ty = b->token_type_ids ? b->token_type_ids + (size_t)r * T : NULL;
    if (n < (nsp ? 5 : 3) || n > T || x[0] != CLS || x[n - 1] != SEP || y[0] != -1 ||
        y[n - 1] != -1) {
        zt_fail(__FILE__, __LINE__, "row %d: length %d, ids[0] %d, ids[n-1] %d", r, n, x[0],
                x[n > 0 ? n - 1 : 0]);
        return 0;
    }
    int sep1 = n - 1, seps = 0;
    for (int t = 1; t < n - 1; t++)
        if (x[t] == SEP) sep1 = t, seps++;
    if (seps != (nsp ? 1 : 0) || (nsp && (sep1 < 2 || sep1 > n - 3)) || y[sep1] != -1) {
        zt_fail(__FILE__, __LINE__, "row %d: %d inner [SEP] (first at %d) in a row of %d", r,
                seps, sep1, n);
        return 0;
    }
    *w = (row){.n = n, .la = sep1 - 1, .lb = nsp ? n - sep1 - 2 : 0,
               .label = b->labels ? b->labels[r] : -1};
    for (int t = 0; t < T; t++) {
        bool text = t > 0 && t < n - 1 && t != sep1;
        int want_type = t > sep1 && t < n;
        if (ty && ty[t] != want_type) {
            zt_fail(__FILE__, __LINE__, "row %d: token type %d at %d (want %d)", r, ty[t], t,
                    want_type);
            return 0;
        }
        if (!text) {
            if ((t >= n && (x[t] != PAD || y[t] != -1)) || (t < n && y[t] != -1)) {
                zt_fail(__FILE__, __LINE__, "row %d: position %d (not text) has id %d, "
                        "target %d", r, t, x[t], y[t]);
                return 0;
            }
            w->orig[t] = x[t];
            continue;
        }
        // Text: a target means masked (its id [MASK], random or itself); no target means
        // the corpus id itself.
        int o = y[t] >= 0 ? y[t] : x[t];
        if (o < FIRST || o >= V || (y[t] < 0 && x[t] == MASK) || x[t] < 0 || x[t] >= V ||
            (x[t] != MASK && is_special(x[t]))) {
            zt_fail(__FILE__, __LINE__, "row %d: position %d has id %d, target %d", r, t, x[t],
                    y[t]);
            return 0;
        }
        w->orig[t] = o;
    }
    // Each segment is contiguous corpus text.
    for (int t = 2; t < n - 1; t++)
        if (t != sep1 && t != sep1 + 1 && w->orig[t] != w->orig[t - 1] + 1) {
            zt_fail(__FILE__, __LINE__, "row %d: ids %d, %d at %d are not consecutive text", r,
                    w->orig[t - 1], w->orig[t], t);
            return 0;
        }
    w->a = (uint64_t)(w->orig[1] - FIRST);
    w->b = nsp ? (uint64_t)(w->orig[sep1 + 1] - FIRST) : 0;
    return 1;
}

// The next batch into b; returns its rows (-1 on error).
static int next(zy_data_source *s, zy_batch *b) {
    if (zy_data_source_next(s, b) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "next: %s", zy_last_error());
        return -1;
    }
    return b->B;
}

// Everything a batch holds, flattened into buf (3·B·T + 2·B ints), for comparisons.
static size_t snapshot(const zy_batch *b, int *buf) {
    size_t BT = (size_t)b->B * b->T, k = 0;
    memcpy(buf + k, b->input_ids, BT * sizeof *buf), k += BT;
    memcpy(buf + k, b->targets, BT * sizeof *buf), k += BT;
    memcpy(buf + k, b->lengths, (size_t)b->B * sizeof *buf), k += (size_t)b->B;
    if (b->token_type_ids) memcpy(buf + k, b->token_type_ids, BT * sizeof *buf), k += BT;
    if (b->labels) memcpy(buf + k, b->labels, (size_t)b->B * sizeof *buf), k += (size_t)b->B;
    return k;
}

// Two batches hold the same (buf_x and buf_y: room for a snapshot each).
static bool same_batch(const zy_batch *x, const zy_batch *y, int *buf_x, int *buf_y) {
    size_t nx = snapshot(x, buf_x), ny = snapshot(y, buf_y);
    return nx == ny && !memcmp(buf_x, buf_y, nx * sizeof *buf_x);
}

// The targets a row of n text tokens holds: max(1, floor(0.15·n + 0.5)), at most cap (0:
// no cap).
static int mask_count(int n, int cap) {
    int want = (int)floor(n * 0.15 + 0.5);
    want = want < 1 ? 1 : want;
    return cap && want > cap ? cap : want;
}

static zy_batch batch_for(zy_data_source *s) {
    zy_batch b;
    if (zy_batch_init(&b, &zy_data_source_get_info(s)->dims))
        zt_fail(__FILE__, __LINE__, "batch: %s", zy_last_error());
    return b;
}

// ---- layout, segments, labels ---------------------------------------------------------------
// One epoch of a shuffled source: every row follows the layout; IsNext pairs are
// consecutive text of one document (B starts where A ends unless the pair was truncated,
// which only a full row can be), NotNext pairs come from two documents; ~half the labels
// are NotNext; every example is visited once; truncation cuts fronts and backs.
TEST(mlm_layout_and_next_sentence) {
    zy_corpus c;
    make_corpus(&c, 1, 120, 4, 20, 2, 12);
    // A few long sentences so that pairs get truncated.
    int32_t longs[100];
    for (int d = 0; d < 6; d++) {
        for (int j = 0; j < 100; j++) longs[j] = FIRST + (int32_t)c.n_tokens + j;
        zy_corpus_add_sentence(&c, longs, 40 + 10 * (size_t)d);
        for (int j = 0; j < 8; j++) longs[j] = FIRST + (int32_t)c.n_tokens + j;
        zy_corpus_add_sentence(&c, longs, 8);
        zy_corpus_end_document(&c);
    }
    enum { B = 8, T = 32 };
    long short_without = 0;
    for (int shortp = 0; shortp < 2; shortp++) {
        zy_mlm_source_params p = params(&c, B, T, 7);
        p.short_seq_prob = shortp ? 0.1f : 0.0f;
        zy_data_source *s = source(&c, &p);
        ASSERT(s != NULL);
        const zy_data_source_info *info = zy_data_source_get_info(s);
        CHECK(!strcmp(info->kind, "bert-mlm") && !info->one_pass && info->dims.batch == B &&
              info->dims.seq == T &&
              info->dims.fields == (ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS |
                                    ZY_BATCH_TOKEN_TYPES | ZY_BATCH_LABELS));
        uint64_t n = info->n_items;
        unsigned char *seen = calloc(c.n_tokens, 1);
        zy_batch b = batch_for(s);
        long rows = 0, not_next = 0, full = 0, front_cut = 0, back_cut = 0, dup = 0, bad = 0;
        long short_rows = 0;
        for (uint64_t k = 0; k < n / B && !bad; k++) {
            if (next(s, &b) != B) break;
            for (int r = 0; r < B && !bad; r++) {
                row w;
                if (!parse_row(&b, r, true, p.vocab_size, &w)) {
                    bad++;
                    break;
                }
                rows++;
                dup += seen[w.a]++ > 0;
                uint64_t a_end = w.a + (uint64_t)w.la, b_end = w.b + (uint64_t)w.lb;
                uint64_t sa = sentence_of(&c, w.a), sb = sentence_of(&c, w.b);
                uint64_t sa_last = sentence_of(&c, a_end - 1);
                bool is_full = w.la + w.lb == T - 3;
                full += is_full;
                short_rows += w.n < T - 8;
                front_cut += c.sentences[sa] != w.a;
                back_cut += c.sentences[sentence_of(&c, b_end - 1) + 1] != b_end;
                if (!is_full && (c.sentences[sa] != w.a || c.sentences[sa_last + 1] != a_end ||
                                 c.sentences[sb] != w.b)) {
                    zt_fail(__FILE__, __LINE__, "row of %d + %d tokens (not truncated) does "
                            "not start and end at sentence boundaries", w.la, w.lb);
                    bad++;
                }
                if (w.label == 0) {
                    // A sentence boundary lies between A's end and B's start (what
                    // truncation cut); untruncated, B starts exactly where A ends.
                    bool ok = document_of(&c, sa) == document_of(&c, sb) && w.b >= a_end &&
                              c.sentences[sb] >= a_end && (w.b == a_end || is_full);
                    if (!ok) {
                        zt_fail(__FILE__, __LINE__, "IsNext pair: A = [%llu, %llu), B = "
                                "[%llu, %llu) (documents %llu, %llu)",
                                (unsigned long long)w.a, (unsigned long long)a_end,
                                (unsigned long long)w.b, (unsigned long long)b_end,
                                (unsigned long long)document_of(&c, sa),
                                (unsigned long long)document_of(&c, sb));
                        bad++;
                    }
                } else if (w.label == 1) {
                    not_next++;
                    if (document_of(&c, sa) == document_of(&c, sb)) {
                        zt_fail(__FILE__, __LINE__, "NotNext pair from one document");
                        bad++;
                    }
                } else {
                    zt_fail(__FILE__, __LINE__, "label %d", w.label);
                    bad++;
                }
            }
        }
        double frac = rows ? (double)not_next / rows : 0;
        zt_note("short_seq_prob %.1f: %llu examples, %ld rows checked, %.3f NotNext, %ld full "
                "(truncated: %ld front, %ld back), %ld rows shorter than T - 8, %ld repeated",
                (double)p.short_seq_prob, (unsigned long long)n, rows, frac, full, front_cut,
                back_cut, short_rows, dup);
        CHECK(bad == 0 && dup == 0 && rows == (long)(n / B) * B);
        CHECK(frac > 0.44 && frac < 0.62);
        CHECK(front_cut > 3 && back_cut > 3);
        if (shortp) CHECK(short_rows > short_without);
        short_without = short_rows;
        zy_batch_destroy(&b);
        zy_data_source_free(s);
        free(seen);
    }
    zy_corpus_destroy(&c);
}

// ---- masking ------------------------------------------------------------------------------
// Over many rows: each row has exactly max(1, floor(0.15·n + 0.5)) targets among its n text
// tokens (never [CLS], [SEP] or padding, checked by parse_row); of the targets ~80 % read
// [MASK], ~10 % a random non-special id, ~10 % their own id; every text position is
// chosen about as often (~15 %). With max_predictions the count is capped.
TEST(mlm_masking_statistics) {
    zy_corpus c;
    make_corpus(&c, 2, 200, 3, 12, 2, 14);
    enum { B = 16, T = 40 };
    for (int cap = 0; cap < 2; cap++) {
        zy_mlm_source_params p = params(&c, B, T, 3);
        p.dupe_factor = 2;
        p.max_predictions = cap ? 3 : 0;
        zy_data_source *s = source(&c, &p);
        ASSERT(s != NULL);
        zy_batch b = batch_for(s);
        long text = 0, targets = 0, as_mask = 0, as_self = 0, as_random = 0, bad_count = 0;
        long cand[T] = {0}, chosen[T] = {0}, rows = 0;
        int V = p.vocab_size;
        for (int k = 0; k < 3 * (int)(zy_data_source_get_info(s)->n_items / B); k++) {
            if (next(s, &b) != B) break;
            for (int r = 0; r < B; r++) {
                row w;
                if (!parse_row(&b, r, true, V, &w)) goto done;
                const int *x = b.input_ids + (size_t)r * T, *y = b.targets + (size_t)r * T;
                int n = w.la + w.lb, want = mask_count(n, cap ? 3 : 0), got = 0;
                for (int t = 0; t < T; t++) {
                    if (y[t] < 0) continue;
                    got++;
                    chosen[t]++;
                    if (x[t] == MASK) as_mask++;
                    else if (x[t] == y[t]) as_self++;
                    else as_random++;
                }
                for (int t = 1; t < w.n - 1; t++) cand[t] += t != w.la + 1;
                bad_count += got != want;
                text += n, targets += got, rows++;
            }
        }
    done:;
        double f_mask = (double)as_mask / targets, f_self = (double)as_self / targets;
        double f_rand = (double)as_random / targets, f_target = (double)targets / text;
        // Per position: the share chosen, over positions with enough candidates.
        double lo = 1, hi = 0;
        for (int t = 1; t < T - 1; t++)
            if (cand[t] >= 1000) {
                double f = (double)chosen[t] / cand[t];
                lo = f < lo ? f : lo, hi = f > hi ? f : hi;
            }
        zt_note("max_predictions %d: %ld rows, %ld of %ld text tokens chosen (%.4f), %ld rows "
                "with another count; [MASK] %.4f, random %.4f, unchanged %.4f; per position "
                "%.3f..%.3f", p.max_predictions, rows, targets, text, f_target, bad_count,
                f_mask, f_rand, f_self, lo, hi);
        CHECK(rows > 1000 && bad_count == 0);
        CHECK(fabs(f_mask - 0.8) < 0.02 && fabs(f_rand - 0.1) < 0.015 &&
              fabs(f_self - 0.1) < 0.015);
        // (The exact count per row is checked above; rounding it moves the share a little
        // above 0.15 for these row lengths.)
        if (!cap) CHECK(fabs(f_target - 0.15) < 0.015 && lo > 0.12 && hi < 0.19);
        zy_batch_destroy(&b);
        zy_data_source_free(s);
    }
    zy_corpus_destroy(&c);
}

// Random replacements are drawn over the vocabulary without the special ids: with a
// 12-id vocabulary and every chosen token replaced at random, all 8 text ids appear, the
// specials never (nor [MASK]: mask_token_prob 0).
TEST(mlm_random_tokens) {
    zy_corpus c;
    zy_corpus_init(&c);
    const int32_t text[] = {4, 6, 7, 9, 10, 11, 1, 8};
    for (int d = 0; d < 8; d++) {
        for (int s = 0; s < 3; s++) zy_corpus_add_sentence(&c, text, 8);
        zy_corpus_end_document(&c);
    }
    zy_mlm_source_params p = params(&c, 4, 24, 5);
    p.vocab_size = 12;
    p.cls_id = 2, p.sep_id = 3, p.mask_id = 5, p.pad_id = 0;
    p.mask_token_prob = 0, p.random_token_prob = 1;
    zy_data_source *s = source(&c, &p);
    ASSERT(s != NULL);
    zy_batch b = batch_for(s);
    long hist[12] = {0};
    for (int k = 0; k < 200; k++) {
        next(s, &b);
        for (int i = 0; i < b.B * b.T; i++)
            if (b.targets[i] >= 0) hist[b.input_ids[i]]++;
    }
    zt_note("random ids: 0:%ld 1:%ld 2:%ld 3:%ld 4:%ld 5:%ld 6:%ld 7:%ld 8:%ld 9:%ld 10:%ld "
            "11:%ld", hist[0], hist[1], hist[2], hist[3], hist[4], hist[5], hist[6], hist[7],
            hist[8], hist[9], hist[10], hist[11]);
    CHECK(hist[0] == 0 && hist[2] == 0 && hist[3] == 0 && hist[5] == 0);
    for (int id = 0; id < 12; id++)
        if (!is_special(id)) CHECK(hist[id] > 100);
    zy_batch_destroy(&b);
    zy_data_source_free(s);
    zy_corpus_destroy(&c);
}

// Whole-word masking: a token whose id is flagged as a continuation belongs to the word
// before it (within its segment), and a word's tokens are all targets or none; multi-token
// words do get masked, and a row never holds more targets than the count unless a single
// word stands in for it.
TEST(mlm_whole_word_masking) {
    zy_corpus c;
    make_corpus(&c, 4, 100, 3, 10, 2, 14);
    enum { B = 8, T = 32 };
    zy_mlm_source_params p = params(&c, B, T, 9);
    uint8_t *cont = calloc((size_t)p.vocab_size, 1);
    for (int id = FIRST; id < p.vocab_size; id++) cont[id] = zy_hash64(77, (uint64_t)id) % 3 != 0;
    p.word_continuation = cont;
    zy_data_source *s = source(&c, &p);
    ASSERT(s != NULL);
    free(cont); // copied by the source
    cont = calloc((size_t)p.vocab_size, 1);
    for (int id = FIRST; id < p.vocab_size; id++) cont[id] = zy_hash64(77, (uint64_t)id) % 3 != 0;
    zy_batch b = batch_for(s);
    long split = 0, multi = 0, over = 0, rows = 0, words = 0;
    for (int k = 0; k < 3 * (int)(zy_data_source_get_info(s)->n_items / B); k++) {
        if (next(s, &b) != B) break;
        for (int r = 0; r < B; r++) {
            row w;
            if (!parse_row(&b, r, true, p.vocab_size, &w)) goto done;
            const int *y = b.targets + (size_t)r * T;
            int want = mask_count(w.la + w.lb, 0), got = 0;
            const int start[2] = {1, w.la + 2}, len[2] = {w.la, w.lb};
            for (int g = 0; g < 2; g++)
                for (int t = start[g]; t < start[g] + len[g];) {
                    int e = t + 1;
                    while (e < start[g] + len[g] && cont[w.orig[e]]) e++;
                    int masked = 0;
                    for (int u = t; u < e; u++) masked += y[u] >= 0;
                    split += masked != 0 && masked != e - t;
                    multi += masked == e - t && e - t > 1;
                    words += masked > 0;
                    got += masked;
                    t = e;
                }
            // More than the count only as the one-word fallback.
            if (got > want) {
                int wds = 0;
                for (int t = 1; t < w.n - 1; t++)
                    wds += y[t] >= 0 && (t == 1 || t == w.la + 2 || !cont[w.orig[t]]);
                over += wds != 1;
            }
            rows++;
        }
    }
done:
    zt_note("%ld rows, %ld masked words (%ld of several tokens), %ld split, %ld over the "
            "count", rows, words, multi, split, over);
    CHECK(rows > 500 && split == 0 && over == 0 && multi > rows / 4);
    free(cont);
    zy_batch_destroy(&b);
    zy_data_source_free(s);
    zy_corpus_destroy(&c);
}

// ---- determinism, positions, shards ---------------------------------------------------------
// The same seed gives the same batches, another seed others; tell() after k batches (in an
// epoch, at its end, in a later one) and seek() on a fresh source continue bit-exactly;
// positions a source cannot have are refused. Shuffled and in list order.
TEST(mlm_deterministic_tell_seek) {
    zy_corpus c;
    make_corpus(&c, 5, 30, 3, 9, 2, 10);
    enum { B = 4, T = 24 };
    size_t cap = 5 * B * T;
    int *ba = zt_malloc(cap * sizeof(int)), *bb = zt_malloc(cap * sizeof(int));
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        zy_mlm_source_params p = params(&c, B, T, 11);
        p.shuffle = shuffle;
        zy_mlm_source_params q = p;
        q.seed = 12;
        zy_data_source *a = source(&c, &p), *b = source(&c, &p), *o = source(&c, &q);
        ASSERT(a && b && o);
        uint64_t n = zy_data_source_get_info(a)->n_items;
        CHECK(zy_data_source_get_info(a)->fingerprint == zy_data_source_get_info(b)->fingerprint &&
              zy_data_source_get_info(a)->fingerprint != zy_data_source_get_info(o)->fingerprint);
        zy_batch x = batch_for(a), y = batch_for(b), z = batch_for(o);
        int per_epoch = (int)(n / B), same = 0, other = 0;
        for (int k = 0; k < 3 * per_epoch; k++) {
            next(a, &x), next(b, &y), next(o, &z);
            same += same_batch(&x, &y, ba, bb);
            other += same_batch(&x, &z, ba, bb); // (snapshots of one size: same B, T, fields)
        }
        zt_note("shuffle %d: %llu examples; %d of %d batches equal, %d equal under another "
                "seed", shuffle, (unsigned long long)n, same, 3 * per_epoch, other);
        CHECK(same == 3 * per_epoch && other == 0);
        // Positions: mid-epoch, the end of the first epoch, in the third.
        const int stops[] = {3, per_epoch, 2 * per_epoch + 1};
        for (int i = 0; i < 3; i++) {
            zy_data_source *f = source(&c, &p), *g = source(&c, &p);
            ASSERT(f && g);
            for (int k = 0; k < stops[i]; k++) next(f, &x);
            zy_data_pos pos;
            zy_data_source_tell(f, &pos);
            ASSERT(zy_data_source_seek(g, pos) == ZY_STATUS_OK);
            int equal = 0;
            for (int k = 0; k < per_epoch + 2; k++) {
                next(f, &x), next(g, &y);
                equal += same_batch(&x, &y, ba, bb);
            }
            zt_note("after %d batches at (%llu, %llu): %d of %d following batches equal",
                    stops[i], (unsigned long long)pos.epoch, (unsigned long long)pos.pos, equal,
                    per_epoch + 2);
            CHECK(equal == per_epoch + 2);
            zy_data_source_free(f);
            zy_data_source_free(g);
        }
        CHECK(zy_data_source_seek(a, (zy_data_pos){5, n}) == ZY_STATUS_OK);
        CHECK(zy_data_source_seek(a, (zy_data_pos){0, n + 1}) == ZY_STATUS_INVALID_ARGUMENT);
        CHECK(strstr(zy_last_error(), "not one of") != NULL);
        zy_batch_destroy(&x), zy_batch_destroy(&y), zy_batch_destroy(&z);
        zy_data_source_free(a), zy_data_source_free(b), zy_data_source_free(o);
    }
    free(ba), free(bb);
    zy_corpus_destroy(&c);
}

// Masks are dynamic: the same example gets a new mask each epoch (list order makes row k
// of epoch 0 and epoch 1 the same example), the same text; static_masking keeps them.
TEST(mlm_dynamic_and_static_masks) {
    zy_corpus c;
    make_corpus(&c, 6, 20, 3, 9, 3, 10);
    enum { B = 4, T = 32 };
    for (int stat = 0; stat < 2; stat++) {
        zy_mlm_source_params p = params(&c, B, T, 13);
        p.shuffle = false;
        p.static_masking = stat;
        zy_data_source *s = source(&c, &p);
        ASSERT(s != NULL);
        int per_epoch = (int)(zy_data_source_get_info(s)->n_items / B);
        zy_batch b = batch_for(s);
        int *e0 = zt_malloc((size_t)per_epoch * 2 * B * T * sizeof(int));
        int same_text = 1, same_mask = 0;
        for (int e = 0; e < 2; e++)
            for (int k = 0; k < per_epoch; k++) {
                next(s, &b);
                int *m = e0 + ((size_t)k * 2 * B * T);
                for (int i = 0; i < B * T; i++) {
                    int orig = b.targets[i] >= 0 ? b.targets[i] : b.input_ids[i];
                    if (e == 0) {
                        m[i] = orig, m[B * T + i] = b.targets[i];
                    } else {
                        same_text &= m[i] == orig;
                    }
                }
                if (e == 1)
                    same_mask += !memcmp(m + B * T, b.targets, (size_t)B * T * sizeof(int));
            }
        zt_note("static %d: %d of %d batches with the same targets in epoch 1 as in epoch 0",
                stat, same_mask, per_epoch);
        CHECK(same_text);
        CHECK(stat ? same_mask == per_epoch : same_mask == 0);
        free(e0);
        zy_batch_destroy(&b);
        zy_data_source_free(s);
    }
    zy_corpus_destroy(&c);
}

// Shards: rank r of 2 yields rows [rB, (r+1)B) of each global batch, which a 2B-row source
// yields whole; the positions are global and equal. One pass too, to the ragged end.
TEST(mlm_shards) {
    zy_corpus c;
    make_corpus(&c, 7, 40, 3, 9, 2, 10);
    enum { B = 3, T = 24 };
    for (int mode = 0; mode < 2; mode++) { // 0 shuffled training, 1 one pass
        zy_mlm_source_params p = params(&c, 2 * B, T, 17);
        p.shuffle = mode == 0, p.one_pass = mode == 1;
        zy_data_source *whole = source(&c, &p);
        p.batch = B;
        zy_data_source *r0 = source(&c, &p), *r1 = source(&c, &p);
        ASSERT(whole && r0 && r1);
        ASSERT(zy_data_source_shard(r0, 0, 2) == ZY_STATUS_OK);
        ASSERT(zy_data_source_shard(r1, 1, 2) == ZY_STATUS_OK);
        zy_batch w = batch_for(whole), b0 = batch_for(r0), b1 = batch_for(r1);
        uint64_t n = zy_data_source_get_info(whole)->n_items;
        int steps = mode ? (int)(n / (2 * B)) + 3 : 3 * (int)(n / (2 * B)), equal = 0;
        long rows = 0;
        for (int k = 0; k < steps; k++) {
            next(whole, &w), next(r0, &b0), next(r1, &b1);
            int n0 = b0.B, n1 = b1.B;
            rows += n0 + n1;
            bool ok = n0 + n1 == w.B && n0 == (w.B < B ? w.B : B);
            for (int part = 0; part < 2 && ok; part++) {
                zy_batch *s = part ? &b1 : &b0;
                size_t off = (size_t)part * B * T, m = (size_t)s->B * T, ro = (size_t)part * B;
                ok = !memcmp(w.input_ids + off, s->input_ids, m * sizeof(int)) &&
                     !memcmp(w.targets + off, s->targets, m * sizeof(int)) &&
                     !memcmp(w.token_type_ids + off, s->token_type_ids, m * sizeof(int)) &&
                     !memcmp(w.lengths + ro, s->lengths, (size_t)s->B * sizeof(int)) &&
                     !memcmp(w.labels + ro, s->labels, (size_t)s->B * sizeof(int));
            }
            equal += ok;
        }
        zy_data_pos pw, p0, p1;
        zy_data_source_tell(whole, &pw), zy_data_source_tell(r0, &p0), zy_data_source_tell(r1, &p1);
        zt_note("%s: %d of %d global batches equal, %ld rows", mode ? "one pass" : "shuffled",
                equal, steps, rows);
        CHECK(equal == steps && pw.epoch == p0.epoch && pw.pos == p0.pos && p0.pos == p1.pos);
        if (mode) CHECK(rows == (long)n);
        zy_batch_destroy(&w), zy_batch_destroy(&b0), zy_batch_destroy(&b1);
        zy_data_source_free(whole), zy_data_source_free(r0), zy_data_source_free(r1);
    }
    zy_corpus_destroy(&c);
}

// ---- one pass, no NSP, labels left out --------------------------------------------------------
// One pass: every example exactly once (the A segments are distinct corpus places), the
// last batch short, then empty batches; the masks are those of epoch 0 and the same in
// every pass and every source made alike, so evaluations compare.
TEST(mlm_one_pass) {
    zy_corpus c;
    make_corpus(&c, 8, 25, 3, 9, 2, 10);
    enum { B = 5, T = 24 };
    zy_mlm_source_params p = params(&c, B, T, 19);
    p.shuffle = false, p.one_pass = true;
    zy_data_source *s = source(&c, &p), *t = source(&c, &p);
    p.one_pass = false;
    zy_data_source *train = source(&c, &p);
    ASSERT(s && t && train);
    uint64_t n = zy_data_source_get_info(s)->n_items;
    CHECK(zy_data_source_get_info(s)->one_pass);
    zy_batch b = batch_for(s), bt = batch_for(t), tr = batch_for(train);
    unsigned char *seen = calloc(c.n_tokens, 1);
    int *first = zt_malloc((n / B + 1) * B * T * sizeof(int));
    for (int pass = 0; pass < 2; pass++) {
        long rows = 0, dup = 0, batches = 0, differ = 0, like_train = 0;
        int last = -1;
        for (int k = 0; k < (int)(n / B) + 3; k++) {
            int got = next(s, &b);
            next(t, &bt);
            if (pass == 0) next(train, &tr);
            if (got > 0) batches++, last = got;
            for (int r = 0; r < got; r++) {
                row w;
                if (!parse_row(&b, r, true, p.vocab_size, &w)) break;
                if (pass == 0) dup += seen[w.a]++ > 0;
            }
            size_t m = (size_t)got * T;
            differ += memcmp(b.input_ids, bt.input_ids, m * sizeof(int)) != 0 ||
                      memcmp(b.targets, bt.targets, m * sizeof(int)) != 0;
            if (got > 0) {
                int *f = first + (size_t)k * B * T;
                if (pass == 0) memcpy(f, b.targets, m * sizeof(int));
                else differ += memcmp(f, b.targets, m * sizeof(int)) != 0;
            }
            if (pass == 0 && got == B)
                like_train += !memcmp(b.targets, tr.targets, m * sizeof(int));
            rows += got;
        }
        zt_note("pass %d: %ld rows of %llu examples in %ld batches (last %d), %ld repeated, "
                "%ld batches differing, %ld full batches as the training source's epoch 0",
                pass, rows, (unsigned long long)n, batches, last, dup, differ, like_train);
        CHECK(rows == (long)n && dup == 0 && differ == 0);
        CHECK(batches == (long)((n + B - 1) / B) && last == (int)(n - (batches - 1) * B));
        if (pass == 0) CHECK(like_train == (long)(n / B));
        ASSERT(zy_data_source_seek(s, (zy_data_pos){0, 0}) == ZY_STATUS_OK);
        ASSERT(zy_data_source_seek(t, (zy_data_pos){0, 0}) == ZY_STATUS_OK);
    }
    CHECK(zy_data_source_seek(s, (zy_data_pos){1, 0}) == ZY_STATUS_INVALID_ARGUMENT);
    free(first);
    free(seen);
    zy_batch_destroy(&b), zy_batch_destroy(&bt), zy_batch_destroy(&tr);
    zy_data_source_free(s), zy_data_source_free(t), zy_data_source_free(train);
    zy_corpus_destroy(&c);
}

// Without NSP: rows are [CLS] text [SEP] with no token types or labels; with
// short_seq_prob 0 each pass covers every corpus token exactly once, each example the
// longest run of whole sentences of one document that fits T - 2, a sentence longer than
// that cut into pieces of T - 2.
TEST(mlm_without_nsp) {
    zy_corpus c;
    make_corpus(&c, 9, 15, 2, 8, 2, 9);
    int32_t longs[70];
    for (int j = 0; j < 70; j++) longs[j] = FIRST + (int32_t)c.n_tokens + j;
    zy_corpus_add_sentence(&c, longs, 70); // 3 pieces of 22, then 4 + the next
    for (int j = 0; j < 5; j++) longs[j] = FIRST + (int32_t)c.n_tokens + j;
    zy_corpus_add_sentence(&c, longs, 5);
    zy_corpus_end_document(&c);
    enum { B = 4, T = 24 };
    zy_mlm_source_params p = params(&c, B, T, 23);
    p.nsp = false, p.short_seq_prob = 0, p.shuffle = false, p.one_pass = true;
    zy_data_source *s = source(&c, &p);
    ASSERT(s != NULL);
    CHECK(zy_data_source_get_info(s)->dims.fields == (ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS));
    zy_batch b = batch_for(s);
    CHECK(b.token_type_ids == NULL && b.labels == NULL);
    unsigned char *seen = calloc(c.n_tokens, 1);
    long rows = 0, bad = 0, pieces = 0;
    while (next(s, &b) > 0) {
        for (int r = 0; r < b.B; r++) {
            row w;
            if (!parse_row(&b, r, false, p.vocab_size, &w)) {
                bad++;
                continue;
            }
            rows++;
            uint64_t a = w.a, e = w.a + (uint64_t)w.la, sa = sentence_of(&c, a);
            uint64_t se = sentence_of(&c, e - 1), d = document_of(&c, sa);
            for (uint64_t g = a; g < e; g++) bad += seen[g]++ > 0;
            bool starts = c.sentences[sa] == a, ends = c.sentences[se + 1] == e;
            bad += document_of(&c, se) != d;
            // Cut inside a sentence only when it alone is longer than T - 2: a full piece
            // of it, or its rest (with whole sentences after it, as they fit).
            pieces += !starts || !ends;
            if (!ends) bad += sa != se || w.la != T - 2;
            if (!starts) bad += c.sentences[sa + 1] - c.sentences[sa] <= T - 2;
            // Ending at a sentence end: the next sentence of the document would not fit.
            if (ends && se + 1 < c.documents[d + 1])
                bad += w.la + (int)(c.sentences[se + 2] - c.sentences[se + 1]) <= T - 2;
        }
    }
    long covered = 0;
    for (uint64_t g = 0; g < c.n_tokens; g++) covered += seen[g] == 1;
    zt_note("%ld rows, %ld pieces of the long sentence, %ld of %llu tokens covered once, %ld "
            "bad", rows, pieces, covered, (unsigned long long)c.n_tokens, bad);
    CHECK(bad == 0 && covered == (long)c.n_tokens && pieces == 4);
    free(seen);
    zy_batch_destroy(&b);
    zy_data_source_free(s);
    zy_corpus_destroy(&c);
}

// omit_labels: the same pairs and masks, token types kept, no labels field (so the model's
// loss is the masked-LM loss alone).
TEST(mlm_omit_labels) {
    zy_corpus c;
    make_corpus(&c, 10, 20, 3, 9, 2, 10);
    zy_mlm_source_params p = params(&c, 4, 24, 29);
    p.shuffle = false, p.one_pass = true;
    zy_data_source *with = source(&c, &p);
    p.omit_labels = true;
    zy_data_source *without = source(&c, &p);
    ASSERT(with && without);
    CHECK(zy_data_source_get_info(without)->dims.fields ==
          (ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS | ZY_BATCH_TOKEN_TYPES));
    zy_batch a = batch_for(with), b = batch_for(without);
    CHECK(b.labels == NULL);
    int same = 1, k = 0;
    while (next(with, &a) > 0 && next(without, &b) == a.B) {
        size_t m = (size_t)a.B * a.T;
        same &= !memcmp(a.input_ids, b.input_ids, m * sizeof(int)) &&
                !memcmp(a.targets, b.targets, m * sizeof(int)) &&
                !memcmp(a.token_type_ids, b.token_type_ids, m * sizeof(int));
        k++;
    }
    CHECK(same && k > 3);
    zy_batch_destroy(&a), zy_batch_destroy(&b);
    zy_data_source_free(with), zy_data_source_free(without);
    zy_corpus_destroy(&c);
}

// ---- fallbacks and bad input ----------------------------------------------------------------
// Documents of one sentence give NotNext pairs only (B from another document); a single
// long sentence against a short one is truncated to fit.
TEST(mlm_short_documents) {
    zy_corpus c;
    make_corpus(&c, 11, 30, 1, 1, 2, 30);
    zy_mlm_source_params p = params(&c, 4, 16, 31);
    p.one_pass = true, p.shuffle = false;
    zy_data_source *s = source(&c, &p);
    ASSERT(s != NULL);
    CHECK(zy_data_source_get_info(s)->n_items == 30);
    zy_batch b = batch_for(s);
    long rows = 0, next_label = 0, same_doc = 0, truncated = 0;
    while (next(s, &b) > 0)
        for (int r = 0; r < b.B; r++) {
            row w;
            if (!parse_row(&b, r, true, p.vocab_size, &w)) break;
            rows++;
            next_label += w.label != 1;
            same_doc += document_of(&c, sentence_of(&c, w.a)) ==
                        document_of(&c, sentence_of(&c, w.b));
            truncated += w.la + w.lb == 16 - 3;
        }
    zt_note("%ld rows, %ld not NotNext, %ld from one document, %ld truncated", rows,
            next_label, same_doc, truncated);
    CHECK(rows == 30 && next_label == 0 && same_doc == 0 && truncated > 5);
    zy_batch_destroy(&b);
    zy_data_source_free(s);
    zy_corpus_destroy(&c);
}

// Each error is refused before anything is allocated, with a message naming the problem.
static void expect_error(const zy_corpus *c, const zy_mlm_source_params *p, const char *what,
                         int line) {
    zy_data_source *s = NULL;
    zy_status st = zy_mlm_source_create(&s, c, p);
    if (st != ZY_STATUS_INVALID_ARGUMENT || s != NULL || !strstr(zy_last_error(), what))
        zt_fail(__FILE__, line, "expected an error with '%s', got status %d: '%s'", what,
                (int)st, zy_last_error());
    else
        zt_note("%s", zy_last_error());
    zy_data_source_free(s);
}
#define EXPECT_ERROR(c, p, what) expect_error(c, p, what, __LINE__)

TEST(mlm_bad_input) {
    zy_corpus c, empty;
    make_corpus(&c, 12, 6, 2, 4, 2, 6);
    zy_corpus_init(&empty);
    zy_mlm_source_params p = params(&c, 2, 16, 1), q;
    EXPECT_ERROR(&empty, &p, "empty");
    EXPECT_ERROR(NULL, &p, "empty");
    zy_data_source *s = NULL;
    CHECK(zy_mlm_source_create(&s, &c, NULL) == ZY_STATUS_INVALID_ARGUMENT && !s);
    q = zy_mlm_source_default_params(), q.batch = 2, q.seq = 16; // special ids unset
    EXPECT_ERROR(&c, &q, "vocab_size -1");
    q.vocab_size = p.vocab_size;
    EXPECT_ERROR(&c, &q, "[CLS] id -1");
    q = p, q.mask_id = q.sep_id;
    EXPECT_ERROR(&c, &q, "[SEP] and [MASK] have the same id");
    q = p, q.pad_id = q.vocab_size;
    EXPECT_ERROR(&c, &q, "[PAD] id");
    q = p, q.seq = 4;
    EXPECT_ERROR(&c, &q, "seq 4 is too short");
    q.nsp = false, q.seq = 2;
    EXPECT_ERROR(&c, &q, "seq 2 is too short");
    q = p, q.batch = 0;
    EXPECT_ERROR(&c, &q, "batch 0");
    q = p, q.mask_prob = 0;
    EXPECT_ERROR(&c, &q, "mask_prob");
    q = p, q.mask_prob = NAN;
    EXPECT_ERROR(&c, &q, "mask_prob");
    q = p, q.mask_token_prob = 0.8f, q.random_token_prob = 0.3f;
    EXPECT_ERROR(&c, &q, "random_token_prob");
    q = p, q.short_seq_prob = -0.1f;
    EXPECT_ERROR(&c, &q, "short_seq_prob");
    q = p, q.dupe_factor = 0;
    EXPECT_ERROR(&c, &q, "dupe_factor");
    q = p, q.max_predictions = -1;
    EXPECT_ERROR(&c, &q, "max_predictions");
    q = p, q.one_pass = true;
    EXPECT_ERROR(&c, &q, "turn shuffle off");
    q = p, q.batch = 1000;
    EXPECT_ERROR(&c, &q, "fewer than one batch");

    // Ids: out of range and special, named by document, sentence and position.
    uint64_t i = c.sentences[3] + 2, d = document_of(&c, 3);
    char want[96];
    int32_t keep = c.tokens[i];
    c.tokens[i] = p.vocab_size;
    snprintf(want, sizeof want, "document %llu, sentence 3, position 2: id %d is outside",
             (unsigned long long)d, p.vocab_size);
    EXPECT_ERROR(&c, &p, want);
    c.tokens[i] = -4;
    EXPECT_ERROR(&c, &p, "id -4 is outside");
    c.tokens[i] = MASK;
    EXPECT_ERROR(&c, &p, "is the [MASK] id");
    c.tokens[i] = keep;

    // Offsets: an empty sentence, an empty document, counts that disagree.
    uint64_t sv = c.sentences[2];
    c.sentences[2] = c.sentences[1];
    EXPECT_ERROR(&c, &p, "sentence 1 is empty");
    c.sentences[2] = sv;
    uint64_t dv = c.documents[1];
    c.documents[1] = 0;
    EXPECT_ERROR(&c, &p, "document 0 has no sentence");
    c.documents[1] = dv;
    c.n_tokens--;
    EXPECT_ERROR(&c, &p, "offsets must run from 0");
    c.n_tokens++;

    // NSP needs two documents; without NSP one is enough.
    zy_corpus one;
    make_corpus(&one, 13, 1, 20, 20, 3, 6);
    q = p, q.vocab_size = FIRST + (int)one.n_tokens;
    EXPECT_ERROR(&one, &q, "at least 2 documents");
    q.nsp = false;
    ASSERT(zy_mlm_source_create(&s, &one, &q) == ZY_STATUS_OK);
    zy_data_source_free(s);

    // A source built fine refuses shards it cannot fill and seeks past its end.
    ASSERT(zy_mlm_source_create(&s, &c, &p) == ZY_STATUS_OK);
    uint64_t n = zy_data_source_get_info(s)->n_items;
    CHECK(zy_data_source_shard(s, 0, (int)n) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_data_source_shard(s, 2, 2) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_data_source_seek(s, (zy_data_pos){0, n + 1}) == ZY_STATUS_INVALID_ARGUMENT);
    zy_data_source_free(s);
    zy_corpus_destroy(&one);
    zy_corpus_destroy(&c);
}

// ---- the corpus builder -------------------------------------------------------------------
static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

// Ids equal to the bytes (a byte-level BPE with no merges; 256 is <|endoftext|>).
static zy_tokenizer *byte_tokenizer(void) {
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 257;
    zy_tokenizer *tok = NULL;
    if (zy_tokenizer_train_bpe_texts(&tok, NULL, NULL, 0, bp))
        zt_fail(__FILE__, __LINE__, "tokenizer: %s", zy_last_error());
    return tok;
}

// The sentence i of c as text (ids are bytes).
static int sentence_is(const zy_corpus *c, uint64_t i, const char *text) {
    uint64_t a = c->sentences[i], n = c->sentences[i + 1] - a;
    if (n != strlen(text)) return 0;
    for (uint64_t k = 0; k < n; k++)
        if (c->tokens[a + k] != (unsigned char)text[k]) return 0;
    return 1;
}

// Lines are sentences (stripped of ASCII white space at both ends), blank or white-space
// lines end documents (several in a row make one boundary), and so does the text's end.
TEST(mlm_corpus_from_text) {
    zy_tokenizer *tok = byte_tokenizer();
    ASSERT(tok != NULL);
    zy_corpus c;
    zy_corpus_init(&c);
    const char *text = "  Hello world \r\nSecond line\n\n \t \r\n\nDoc two\nno newline";
    ASSERT(zy_corpus_add_text(&c, tok, text, strlen(text)) == ZY_STATUS_OK);
    ASSERT(zy_corpus_add_text(&c, tok, "\n\nthird\n", 8) == ZY_STATUS_OK);
    ASSERT_EQ_INT(c.n_documents, 3);
    ASSERT_EQ_INT(c.n_sentences, 5);
    CHECK(c.documents[0] == 0 && c.documents[1] == 2 && c.documents[2] == 4 &&
          c.documents[3] == 5 && c.sentences[5] == c.n_tokens);
    CHECK(sentence_is(&c, 0, "Hello world") && sentence_is(&c, 1, "Second line") &&
          sentence_is(&c, 2, "Doc two") && sentence_is(&c, 3, "no newline") &&
          sentence_is(&c, 4, "third"));
    // Through a source: specials above the byte ids.
    zy_mlm_source_params p = zy_mlm_source_default_params();
    p.batch = 1, p.seq = 32, p.vocab_size = 260, p.shuffle = false, p.one_pass = true;
    p.pad_id = 256, p.cls_id = 257, p.sep_id = 258, p.mask_id = 259;
    zy_data_source *s = NULL;
    ASSERT(zy_mlm_source_create(&s, &c, &p) == ZY_STATUS_OK);
    zy_batch b = batch_for(s);
    ASSERT(next(s, &b) == 1);
    CHECK(b.input_ids[0] == 257 && b.lengths[0] >= 5);
    zy_batch_destroy(&b);
    zy_data_source_free(s);
    zy_corpus_destroy(&c);
    CHECK(c.tokens == NULL && c.n_documents == 0);

    // Files: each file's end ends a document; a file without sentences, or missing, is an
    // error naming it.
    char dir[] = "/tmp/zy_mlm_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char f1[64], f2[64], f3[64], f4[64];
    snprintf(f1, sizeof f1, "%s/a.txt", dir);
    snprintf(f2, sizeof f2, "%s/b.txt", dir);
    snprintf(f3, sizeof f3, "%s/blank.txt", dir);
    snprintf(f4, sizeof f4, "%s/missing.txt", dir);
    write_file(f1, "one\ntwo\n\nthree\n");
    write_file(f2, "four\nfive\n");
    write_file(f3, "\n  \n\n");
    const char *files[] = {f1, f2};
    zy_corpus_init(&c);
    ASSERT(zy_corpus_add_files(&c, tok, files, 2) == ZY_STATUS_OK);
    CHECK(c.n_documents == 3 && c.n_sentences == 5 && c.documents[2] == 3 &&
          sentence_is(&c, 2, "three") && sentence_is(&c, 3, "four"));
    const char *blank[] = {f1, f3};
    CHECK(zy_corpus_add_files(&c, tok, blank, 2) == ZY_STATUS_BAD_FORMAT);
    CHECK(strstr(zy_last_error(), "blank.txt") && strstr(zy_last_error(), "no sentence"));
    zt_note("%s", zy_last_error());
    const char *missing[] = {f4};
    CHECK(zy_corpus_add_files(&c, tok, missing, 1) == ZY_STATUS_IO);
    CHECK(strstr(zy_last_error(), "missing.txt") != NULL);
    CHECK(zy_corpus_add_files(&c, tok, files, 0) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_corpus_add_sentence(&c, NULL, 3) == ZY_STATUS_INVALID_ARGUMENT);
    zy_corpus_destroy(&c);
    zy_corpus_destroy(&c); // twice is harmless
    unlink(f1), unlink(f2), unlink(f3);
    rmdir(dir);
    zy_tokenizer_free(tok);
}

// Prose: paragraphs (blank lines between) joined and cut after . ! ? (runs of them, closing
// quotes) before white space, not after initials or titles; line breaks become spaces;
// a document ends at the paragraph that brings it to doc_sentences, and at the end.
TEST(mlm_corpus_from_prose) {
    zy_tokenizer *tok = byte_tokenizer();
    ASSERT(tok != NULL);
    zy_corpus c;
    zy_corpus_init(&c);
    const char *text = "Mr. Darcy met J. Smith at 3.14 pm.  \"Who?\" he\r\nasked!? Then\n"
                       "he left...\n \n\n"
                       "Second paragraph, e.g. this one.\u2019 Yes\n"
                       "\n"
                       "Third.";
    ASSERT(zy_corpus_add_prose(&c, tok, text, strlen(text), 3) == ZY_STATUS_OK);
    const char *want[] = {"Mr. Darcy met J. Smith at 3.14 pm.", "\"Who?\" he  asked!?",
                          "Then he left...", "Second paragraph, e.g. this one.\u2019", "Yes",
                          "Third."};
    ASSERT_EQ_INT(c.n_sentences, 6);
    for (int i = 0; i < 6; i++)
        if (!sentence_is(&c, (uint64_t)i, want[i]))
            zt_fail(__FILE__, __LINE__, "sentence %d is not '%s'", i, want[i]);
    // doc_sentences 3: the first paragraph (3 sentences) is a document; the rest one more.
    CHECK(c.n_documents == 2 && c.documents[1] == 3 && c.documents[2] == 6);
    zy_corpus_destroy(&c);
    // doc_sentences 0: one document; "\r\n" before the blank line counts as blank.
    zy_corpus_init(&c);
    ASSERT(zy_corpus_add_prose(&c, tok, text, strlen(text), 0) == ZY_STATUS_OK);
    CHECK(c.n_documents == 1 && c.n_sentences == 6);
    // Whitespace only: nothing; a later call continues the count of an open document.
    ASSERT(zy_corpus_add_prose(&c, tok, " \n\t\n", 4, 0) == ZY_STATUS_OK);
    CHECK(c.n_documents == 1 && c.n_sentences == 6);
    zy_corpus_destroy(&c);
    CHECK(zy_corpus_add_prose(&c, NULL, "x", 1, 0) == ZY_STATUS_INVALID_ARGUMENT);
    zy_tokenizer_free(tok);
}
