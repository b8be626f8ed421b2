// Properties shared by the fine-tuning data harnesses (task_check.h).
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "task_check.h"
#include "util.h"

static int utf8_ok(const char *s, size_t n) {
    // The library's rule (no overlong forms, surrogates or values past U+10FFFF).
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t k = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!k || k > n - i) return 0;
        unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
        unsigned hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        if (k > 1 && (u[i + 1] < lo || u[i + 1] > hi)) return 0;
        for (size_t j = 2; j < k; j++)
            if ((u[i + j] & 0xC0) != 0x80) return 0;
        i += k;
    }
    return 1;
}

void ft_check_error(zy_status st, const zy_task_data *d, const char *name, const char *text,
                    size_t len) {
    FZ_CHECK(d == NULL);
    FZ_CHECKF(st == ZY_STATUS_BAD_FORMAT || st == ZY_STATUS_NOT_FOUND ||
                  st == ZY_STATUS_UNSUPPORTED,
              "status %d", (int)st);
    static const char *const file_level[] = {"empty", "no example", "no header", "format"};
    fz_check_read_message(name, text, len, file_level, 4);
}

void ft_check_data(const zy_task_data *d, const char *text, size_t len) {
    size_t n = zy_task_data_count(d), lines = fz_lines(text, len);
    const zy_task_read_report *r = zy_task_data_report(d);
    FZ_CHECK(n > 0 && r->n_examples == n);
    FZ_CHECK(r->n_reasons <= ZY_TASK_REPORT_REASONS && (uint64_t)r->n_reasons <= r->n_skipped);
    const zy_label_set *L = zy_task_data_labels(d);
    int K = zy_label_set_count(L);
    bool labelled = true;
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        const zy_task_example *e = zy_task_data_example(d, i);
        FZ_CHECK(e->line >= 1 && e->line <= lines && e->line >= prev);
        prev = e->line;
        if (e->text) FZ_CHECK(utf8_ok(e->text, e->text_len) && e->text[e->text_len] == 0);
        if (e->pair) FZ_CHECK(utf8_ok(e->pair, e->pair_len));
        FZ_CHECK(e->label >= -1 && e->label < K);
        for (int k = 0; k < e->n_labels; k++) {
            FZ_CHECK(e->labels[k] >= 0 && e->labels[k] < K);
            FZ_CHECK(k == 0 || e->labels[k] > e->labels[k - 1]);
        }
        for (int w = 0; w < e->n_words; w++) {
            FZ_CHECK(e->word_lens[w] > 0 && utf8_ok(e->words[w], e->word_lens[w]));
            if (e->tags) FZ_CHECK(e->tags[w] >= 0 && e->tags[w] < K);
        }
        for (int a = 0; a < e->n_answers; a++) {
            size_t b = e->answer_byte_starts[a], l = e->answer_lens[a];
            FZ_CHECK(b + l <= e->text_len && memcmp(e->text + b, e->answer_texts[a], l) == 0);
            size_t chars = 0;
            for (size_t k = 0; k < b; k++) chars += ((unsigned char)e->text[k] & 0xC0) != 0x80;
            FZ_CHECK(chars == e->answer_starts[a]);
        }
        zy_task task = zy_task_data_task(d);
        labelled = labelled &&
                   (task == ZY_TASK_TAG ? e->tags != NULL
                    : task == ZY_TASK_QA ? e->n_answers >= 0
                    : zy_task_data_problem(d) == ZY_PROBLEM_SINGLE_LABEL ? e->label >= 0
                    : zy_task_data_problem(d) == ZY_PROBLEM_MULTI_LABEL ? e->n_labels >= 0
                    : e->value == e->value);
    }
    FZ_CHECK(labelled == zy_task_data_labelled(d));
    // Label names sorted bytewise (the set was built from this text).
    // (Names holding a NUL byte, which strcmp cannot order, are left out.)
    for (int k = 1; k < K; k++) {
        const char *a = zy_label_set_name(L, k - 1), *b = zy_label_set_name(L, k);
        if (zy_label_set_find(L, a, strlen(a)) == k - 1 && zy_label_set_find(L, b, strlen(b)) == k)
            FZ_CHECKF(strcmp(a, b) < 0, "labels %d '%s' and %d '%s' out of order", k - 1, a, k, b);
    }
}

static zy_tokenizer *tok;

static zy_tokenizer *tokenizer(void) {
    if (tok) return tok;
    static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\n##s\nsat\non\n"
                                "a\nb\nc\n##b\n##c\n,\n.\n\xe4\xb8\xad\nx\n##x\n";
    const char *path = fz_write("task_vocab.txt", vocab, sizeof vocab - 1);
    if (zy_tokenizer_load(&tok, path)) abort();
    return tok;
}

void ft_check_features(const zy_task_data *d, int T, int stride, int batch) {
    zy_task_feature_params fp = zy_task_feature_default_params();
    fp.max_length = T, fp.doc_stride = stride;
    zy_task_features *f = NULL;
    zy_status st = zy_task_features_create(&f, d, tokenizer(), &fp);
    if (st) { // only QA can refuse: a question leaving no room beyond the stride
        FZ_CHECKF(st == ZY_STATUS_INVALID_ARGUMENT && zy_task_data_task(d) == ZY_TASK_QA,
                  "features: %s", zy_last_error());
        return;
    }
    size_t n = zy_task_features_count(f);
    FZ_CHECK(n >= zy_task_data_count(d));
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        const zy_task_feature *g = zy_task_features_get(f, i);
        FZ_CHECK(g->n >= 0 && g->n <= T && g->example < zy_task_data_count(d));
        FZ_CHECK(g->example >= prev);
        prev = g->example;
        for (int t = 0; g->targets && t < g->n; t++) {
            // A tag only on a word's first piece.
            bool first = g->word_ids[t] >= 0 && (t == 0 || g->word_ids[t - 1] != g->word_ids[t]);
            FZ_CHECK(first ? g->targets[t] >= 0 : g->targets[t] == -1);
        }
        if (zy_task_data_task(d) == ZY_TASK_QA) {
            FZ_CHECK(g->context_start <= g->context_end && g->context_end <= g->n);
            bool none = g->span_start <= 0 && g->span_end <= 0;
            FZ_CHECK(none || (g->span_start >= g->context_start && g->span_start <= g->span_end &&
                              g->span_end < g->context_end));
        }
    }
    for (int one_pass = 0; one_pass < 2; one_pass++) {
        zy_task_source_params sp = zy_task_source_default_params();
        sp.batch = batch, sp.one_pass = one_pass, sp.shuffle = !one_pass, sp.bucket_batches = 2;
        zy_data_source *s = NULL;
        st = zy_task_source_create(&s, f, &sp);
        if (st) {
            FZ_CHECK(!one_pass && n < (size_t)batch && st == ZY_STATUS_INVALID_ARGUMENT);
            continue;
        }
        zy_batch b;
        FZ_CHECK(zy_batch_init(&b, &zy_data_source_get_info(s)->dims) == 0);
        size_t seen = 0;
        for (size_t k = 0; k < n / (size_t)batch + 2; k++) {
            FZ_CHECK(zy_data_source_next(s, &b) == 0);
            for (int r = 0; r < b.B; r++) FZ_CHECK(b.lengths[r] <= b.T && b.T <= T);
            seen += (size_t)b.B;
        }
        if (one_pass) FZ_CHECK(seen == n);
        zy_batch_destroy(&b);
        zy_data_source_free(s);
    }
    zy_task_features_free(f);
}
