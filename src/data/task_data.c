// Fine-tuning datasets in memory (task.h): the examples the readers make (each owning its
// strings), the checks every format shares (UTF-8, labels, tags, answers), the row-error
// policy (fail, or skip and count), format choice by file name, and the label ids made
// final (sorted) once a training file is read. The formats themselves: task_csv.c,
// task_jsonl.c, task_conll.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "data/task_internal.h"
#include "io/safetensors.h"

static const char EMPTY[] = "";
typedef unsigned long long ull;

zy_task_read_params zy_task_read_default_params(zy_task task) {
    return (zy_task_read_params){
        .task = task, .format = ZY_TASK_FORMAT_AUTO, .problem = ZY_PROBLEM_SINGLE_LABEL,
        .text_column = "text", .label_column = "label", .tokens_key = "tokens",
        .tags_key = "tags", .label_separator = ',', .require_labels = true,
    };
}

const char *zy_task_format_name(zy_task_format f) {
    static const char *names[] = {"auto", "csv", "tsv", "jsonl", "conll", "word-tag"};
    return (unsigned)f < 6 ? names[f] : "unknown";
}

zy_status zy_task_format_parse(const char *name, zy_task_format *out) {
    for (int f = 0; f < 6; f++)
        if (name && strcmp(name, zy_task_format_name((zy_task_format)f)) == 0) {
            *out = (zy_task_format)f;
            return ZY_STATUS_OK;
        }
    return zy__error(ZY_STATUS_NOT_FOUND, "unknown data format '%s' (auto, csv, tsv, jsonl, "
                     "conll, word-tag)", name ? name : "");
}

const char *zy_task_problem_name(zy_task_problem p) {
    static const char *names[] = {"single_label_classification",
                                  "multi_label_classification", "regression"};
    return (unsigned)p < 3 ? names[p] : "unknown";
}

size_t zy__utf8_count(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

// ---- examples --------------------------------------------------------------------------
static void example_free(zy_task_example *e) {
    if (e->id != EMPTY) zy_free((void *)e->id);
    zy_free((void *)e->text);
    zy_free((void *)e->pair);
    zy_free((void *)e->labels);
    zy_free((void *)e->words); // one block: pointers, lengths, bytes
    zy_free((void *)e->tags);
    zy_free((void *)e->answer_texts); // one block too
}

zy_task_example *zy__task_begin(zy_task_data *d, uint64_t line) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        zy_task_example *ex = zy_alloc(cap * sizeof *ex);
        if (!ex) {
            zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for %llu examples",
                      d->name, (ull)cap);
            return NULL;
        }
        if (d->n) memcpy(ex, d->ex, d->n * sizeof *ex);
        zy_free(d->ex);
        d->ex = ex;
        d->cap = cap;
    }
    zy_task_example *e = &d->ex[d->n++];
    *e = (zy_task_example){.line = line, .id = EMPTY, .label = -1, .n_labels = -1,
                           .value = NAN, .n_answers = -1};
    return e;
}

void zy__task_drop(zy_task_data *d) {
    if (d->n == 0) return;
    example_free(&d->ex[--d->n]);
}

zy_status zy__read_nonempty(const char *name, const char *data, size_t len) {
    size_t k = 0;
    while (k < len && (data[k] == ' ' || data[k] == '\t' || data[k] == '\r' ||
                       data[k] == '\n'))
        k++;
    if (k == len) return zy__error(ZY_STATUS_BAD_FORMAT, "%s: the file is empty", name);
    return ZY_STATUS_OK;
}

zy_status zy__read_row_error(zy_task_read_report *r, bool skip, zy_status st) {
    if (st != ZY_STATUS_BAD_FORMAT || !skip) return st;
    if (r->n_reasons < ZY_TASK_REPORT_REASONS)
        snprintf(r->reasons[r->n_reasons++], sizeof r->reasons[0], "%s", zy_last_error());
    r->n_skipped++;
    zy_clear_error();
    return ZY_STATUS_OK;
}

zy_status zy__read_no_example(const char *name, const zy_task_read_report *r,
                              const char *what) {
    if (r->n_skipped)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: no example: all %llu %s were bad; the "
                         "first: %s", name, (ull)r->n_skipped, what, r->reasons[0]);
    return zy__error(ZY_STATUS_BAD_FORMAT, "%s: no example in the file", name);
}

zy_status zy__task_row_error(zy_task_data *d, zy_status st) {
    return zy__read_row_error(&d->report, d->p.skip_bad_rows, st);
}

zy_status zy__task_text(zy_task_data *d, uint64_t line, const char *field, const char *s,
                        size_t len, const char **dst, size_t *dst_len) {
    size_t bad = 0;
    if (!zy__utf8_valid(s, len, &bad))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %s: invalid UTF-8 at byte %llu",
                         d->name, (ull)line, field, (ull)bad);
    char *c = zy_alloc(len + 1);
    if (!c) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name);
    memcpy(c, s, len);
    c[len] = 0;
    if (*dst && *dst != EMPTY) zy_free((void *)*dst);
    *dst = c;
    if (dst_len) *dst_len = len;
    return ZY_STATUS_OK;
}

// The id of a label name, added to a set built from this file; an unknown name (given
// set) or invalid UTF-8 is an error naming it.
static zy_status label_id(zy_task_data *d, uint64_t line, const char *field, const char *s,
                          size_t len, int *id) {
    size_t bad = 0;
    if (!zy__utf8_valid(s, len, &bad))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %s: invalid UTF-8 at byte %llu",
                         d->name, (ull)line, field, (ull)bad);
    if (memchr(s, 0, len)) // names are C strings (zy_label_set_name, config.json)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %s: a label holds a NUL byte",
                         d->name, (ull)line, field);
    zy_status st = zy__label_set_intern(d->labels, s, len, !d->labels_given, id);
    if (st) return st;
    if (*id < 0)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %s: unknown label '%.*s' (not one of "
                         "the %d labels of the training data or model)", d->name, (ull)line,
                         field, (int)ZY_MIN(len, 200), s, d->labels->n);
    return ZY_STATUS_OK;
}

static zy_status missing_label(zy_task_data *d, zy_task_example *e, const char *field) {
    if (!d->p.require_labels) return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %s: the label is missing or empty",
                     d->name, (ull)e->line, field);
}

static int cmp_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

zy_status zy__task_label_list(zy_task_data *d, zy_task_example *e, const char *field,
                              const char *const *names, const size_t *lens, int n) {
    if (n == 0) return missing_label(d, e, field);
    int32_t *ids = zy_alloc((size_t)n * sizeof *ids);
    if (!ids) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name);
    for (int i = 0; i < n; i++) {
        int id;
        zy_status st = label_id(d, e->line, field, names[i], lens[i], &id);
        if (st) {
            zy_free(ids);
            return st;
        }
        ids[i] = id;
    }
    qsort(ids, (size_t)n, sizeof *ids, cmp_int32);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (k == 0 || ids[k - 1] != ids[i]) ids[k++] = ids[i];
    zy_free((void *)e->labels);
    e->labels = ids;
    e->n_labels = k;
    return ZY_STATUS_OK;
}

zy_status zy__task_label_value(zy_task_data *d, zy_task_example *e, const char *field,
                               double v) {
    // The bound holds for the value as stored: a double just under it can round to a float
    // just over it, which would then not read back (fuzz_task_jsonl).
    if (!isfinite(v) || fabs(v) > 3.0e38 || fabs((double)(float)v) > 3.0e38)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %s: %g is not a finite float",
                         d->name, (ull)e->line, field, v);
    e->value = (float)v;
    return ZY_STATUS_OK;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

zy_status zy__task_label(zy_task_data *d, zy_task_example *e, const char *field,
                         const char *s, size_t len) {
    if (len == 0) return missing_label(d, e, field);
    if (d->problem == ZY_PROBLEM_SINGLE_LABEL)
        return label_id(d, e->line, field, s, len, &e->label);
    if (d->problem == ZY_PROBLEM_REGRESSION) {
        char buf[64];
        size_t a = 0, b = len;
        while (a < b && is_space(s[a])) a++;
        while (b > a && is_space(s[b - 1])) b--;
        char *end = buf;
        double v = 0;
        if (b > a && b - a < sizeof buf) {
            memcpy(buf, s + a, b - a);
            buf[b - a] = 0;
            v = strtod(buf, &end);
        }
        if (b == a || b - a >= sizeof buf || *end != 0)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %s: '%.*s' is not a number",
                             d->name, (ull)e->line, field, (int)ZY_MIN(len, 60), s);
        return zy__task_label_value(d, e, field, v);
    }
    // Multi-label: names split at the separator, white space around each trimmed.
    int n = 0;
    for (size_t i = 0; i <= len; i++) n += i == len || s[i] == d->p.label_separator;
    const char **names = zy_alloc((size_t)n * sizeof *names);
    size_t *lens = zy_alloc((size_t)n * sizeof *lens);
    if (!names || !lens) {
        zy_free(names);
        zy_free(lens);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name);
    }
    int k = 0;
    for (size_t i = 0, start = 0; i <= len; i++) {
        if (i < len && s[i] != d->p.label_separator) continue;
        size_t a = start, b = i;
        while (a < b && is_space(s[a])) a++;
        while (b > a && is_space(s[b - 1])) b--;
        if (b > a) {
            names[k] = s + a;
            lens[k++] = b - a;
        }
        start = i + 1;
    }
    zy_status st = zy__task_label_list(d, e, field, names, lens, k);
    zy_free(names);
    zy_free(lens);
    return st;
}

// One block: (n) pointers, (n) lengths, (extra x n) size_t, then the bytes, each NUL-ended.
static void *strings_block(zy_task_data *d, const char *const *s, const size_t *lens, int n,
                           int extra, const char ***ptrs, size_t **out_lens, size_t **ext) {
    size_t bytes = 0;
    for (int i = 0; i < n; i++) bytes += lens[i] + 1;
    size_t head = (size_t)n * (sizeof(char *) + (size_t)(1 + extra) * sizeof(size_t));
    char *block = zy_alloc(head + bytes);
    if (!block) {
        zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name);
        return NULL;
    }
    *ptrs = (const char **)block;
    *out_lens = (size_t *)(block + (size_t)n * sizeof(char *));
    if (ext) *ext = *out_lens + n;
    char *p = block + head;
    for (int i = 0; i < n; i++) {
        memcpy(p, s[i], lens[i]);
        p[lens[i]] = 0;
        (*ptrs)[i] = p;
        (*out_lens)[i] = lens[i];
        p += lens[i] + 1;
    }
    return block;
}

zy_status zy__task_words(zy_task_data *d, zy_task_example *e, const char *const *words,
                         const size_t *word_lens, const char *const *tags,
                         const size_t *tag_lens, int n, int n_tags) {
    if (n == 0)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: a sentence without words", d->name,
                         (ull)e->line);
    if (tags && n_tags != n)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %d words but %d tags", d->name,
                         (ull)e->line, n, n_tags);
    if (!tags && d->p.require_labels)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: the words have no tags", d->name,
                         (ull)e->line);
    for (int i = 0; i < n; i++) {
        size_t bad = 0;
        if (word_lens[i] == 0 || !zy__utf8_valid(words[i], word_lens[i], &bad))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: word %d: %s", d->name,
                             (ull)e->line, i + 1, word_lens[i] ? "invalid UTF-8" : "empty");
    }
    const char **ptrs;
    size_t *lens;
    if (!strings_block(d, words, word_lens, n, 0, &ptrs, &lens, NULL))
        return ZY_STATUS_OUT_OF_MEMORY;
    e->words = ptrs;
    e->word_lens = lens;
    e->n_words = n;
    if (!tags) return ZY_STATUS_OK;
    int32_t *ids = zy_alloc((size_t)n * sizeof *ids);
    if (!ids) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name);
    e->tags = ids;
    for (int i = 0; i < n; i++) {
        char field[48];
        snprintf(field, sizeof field, "tag of word %d", i + 1);
        if (tag_lens[i] == 0)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %s is empty", d->name,
                             (ull)e->line, field);
        int id;
        zy_status st = label_id(d, e->line, field, tags[i], tag_lens[i], &id);
        if (st) return st;
        ids[i] = id;
    }
    return ZY_STATUS_OK;
}

zy_status zy__task_answers(zy_task_data *d, zy_task_example *e, const char *const *texts,
                           const size_t *lens, const double *starts, int n) {
    const char **ptrs;
    size_t *alens, *ext;
    for (int i = 0; i < n; i++)
        if (!zy__utf8_valid(texts[i], lens[i], NULL))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: answer %d: invalid UTF-8",
                             d->name, (ull)e->line, i + 1);
    if (!strings_block(d, texts, lens, n, 2, &ptrs, &alens, &ext))
        return ZY_STATUS_OUT_OF_MEMORY;
    e->answer_texts = ptrs;
    e->answer_lens = alens;
    e->answer_starts = ext;
    e->answer_byte_starts = ext + n;
    e->n_answers = n;
    for (int i = 0; i < n; i++) {
        double s = starts[i];
        if (!(s >= 0 && s <= 4e9 && s == floor(s)))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: answer %d: answer_start %g is "
                             "not a character offset", d->name, (ull)e->line, i + 1, s);
        // Character offset -> byte offset in the context.
        size_t c = (size_t)s, b = 0, k = 0;
        while (b < e->text_len && k < c) {
            b++;
            while (b < e->text_len && ((unsigned char)e->text[b] & 0xC0) == 0x80) b++;
            k++;
        }
        ext[i] = c;
        ext[n + i] = b;
        if (k < c || lens[i] == 0 || b + lens[i] > e->text_len ||
            memcmp(e->text + b, texts[i], lens[i]) != 0) {
            size_t show = b < e->text_len ? ZY_MIN(e->text_len - b, ZY_MAX(lens[i], 1)) : 0;
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: answer %d '%.*s' is not at "
                             "answer_start %llu of the context (%llu characters; there it "
                             "reads '%.*s')", d->name, (ull)e->line, i + 1,
                             (int)ZY_MIN(lens[i], 100), texts[i], (ull)c,
                             (ull)zy__utf8_count(e->text, e->text_len),
                             (int)ZY_MIN(show, 100), e->text + ZY_MIN(b, e->text_len));
        }
    }
    return ZY_STATUS_OK;
}
