// libFuzzer harness: CSV and TSV classification files (src/data/task_csv.c through
// libcsv, task_data.c, task_read.c), then features and sources over what was read.
//
// Input: 1 control byte, then the file.
//   [0] bit 0 TSV (else CSV), bit 1 skip_bad_rows, bit 2 multi-label, bit 3 a text pair
//       column "b", bit 4 labels not required, bit 5 regression (over bit 2)
// Properties:
//  - a failed read is BAD_FORMAT / NOT_FOUND naming the file, and the line of a row's
//    error within the text (task_check.c);
//  - a read gives examples that task_check.c accepts (lines ascending and in range, UTF-8
//    texts, label ids in range and sorted names, the report consistent);
//  - round trip: the examples written back as CSV/TSV with every field quoted (quotes
//    doubled) and read against the label set give the same texts, pairs and labels;
//  - features and batches (task_check.c).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_check.h"
#include "util.h"

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void quoted(buf *b, const char *s, size_t n) {
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        put(b, s + i, 1);
        if (s[i] == '"') put(b, "\"", 1); // doubled inside quotes
    }
    put(b, "\"", 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned c = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    bool tsv = c & 1;
    const char *name = tsv ? "fuzz.tsv" : "fuzz.csv";
    char sep = tsv ? '\t' : ',';
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    p.skip_bad_rows = c & 2;
    p.problem = c & 32 ? ZY_PROBLEM_REGRESSION : c & 4 ? ZY_PROBLEM_MULTI_LABEL
                                                       : ZY_PROBLEM_SINGLE_LABEL;
    if (c & 8) p.text_pair_column = "b";
    p.require_labels = !(c & 16);
    zy_task_data *d = NULL;
    zy_status st = zy_task_data_read_buffer(&d, name, text, len, &p, NULL);
    if (st) {
        ft_check_error(st, d, name, text, len);
        return 0;
    }
    ft_check_data(d, text, len);

    // Round trip.
    buf out = {0};
    put(&out, "text", 4);
    if (p.text_pair_column) put(&out, &sep, 1), put(&out, "b", 1);
    put(&out, &sep, 1), put(&out, "label\n", 6);
    const zy_label_set *L = zy_task_data_labels(d);
    size_t n = zy_task_data_count(d);
    for (size_t i = 0; i < n; i++) {
        const zy_task_example *e = zy_task_data_example(d, i);
        quoted(&out, e->text, e->text_len);
        if (p.text_pair_column) put(&out, &sep, 1), quoted(&out, e->pair, e->pair_len);
        put(&out, &sep, 1);
        char num[64];
        if (p.problem == ZY_PROBLEM_SINGLE_LABEL && e->label >= 0) {
            const char *s = zy_label_set_name(L, e->label);
            quoted(&out, s, strlen(s));
        } else if (p.problem == ZY_PROBLEM_REGRESSION && e->value == e->value) {
            snprintf(num, sizeof num, "%.9g", (double)e->value);
            put(&out, num, strlen(num));
        } else if (p.problem == ZY_PROBLEM_MULTI_LABEL) {
            buf names = {0};
            for (int k = 0; k < e->n_labels; k++) {
                const char *s = zy_label_set_name(L, e->labels[k]);
                if (k) put(&names, ",", 1);
                put(&names, s, strlen(s));
            }
            if (e->n_labels > 0) quoted(&out, names.p, names.n);
            free(names.p);
        }
        put(&out, "\n", 1);
    }
    // Names with a NUL byte cannot be written back by name: skip the round trip then.
    bool nul = false;
    for (int k = 0; k < zy_label_set_count(L); k++)
        nul = nul || zy_label_set_find(L, zy_label_set_name(L, k),
                                       strlen(zy_label_set_name(L, k))) != k;
    zy_task_data *back = NULL;
    p.skip_bad_rows = false;
    st = nul ? ZY_STATUS_OK
             : zy_task_data_read_buffer(&back, name, out.p, out.n, &p,
                                        p.problem == ZY_PROBLEM_REGRESSION ? NULL : L);
    FZ_CHECKF(st == ZY_STATUS_OK, "the examples written back do not read: %s", zy_last_error());
    for (size_t i = 0; back && i < n; i++) {
        const zy_task_example *a = zy_task_data_example(d, i), *b = zy_task_data_example(back, i);
        FZ_CHECK(zy_task_data_count(back) == n);
        FZ_CHECK(a->text_len == b->text_len && memcmp(a->text, b->text, a->text_len) == 0);
        FZ_CHECK(!a->pair || (a->pair_len == b->pair_len && !memcmp(a->pair, b->pair, a->pair_len)));
        FZ_CHECK(a->label == b->label && a->n_labels == b->n_labels);
        for (int k = 0; k < a->n_labels; k++) FZ_CHECK(a->labels[k] == b->labels[k]);
        FZ_CHECK(a->value == b->value || (a->value != a->value && b->value != b->value));
    }
    zy_task_data_free(back);
    free(out.p);
    ft_check_features(d, 4 + (int)(c >> 6) * 5, 0, 2);
    zy_task_data_free(d);
    return 0;
}
