// Reading a fine-tuning file (task.h): parameters checked, the format chosen (by name or
// given), the reader run, then the dataset finished: label ids sorted when the set was
// built from this file, "no example" refused. Accessors of the dataset.
#include <string.h>

#include "core/internal.h"
#include "data/task_internal.h"

// A file name's suffix, ASCII case ignored (suffix lower-case): the format guesses.
bool zy__ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m) return false;
    for (size_t i = 0; i < m; i++) {
        char c = s[n - m + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suffix[i]) return false;
    }
    return true;
}

size_t zy__task_line(const char *s, size_t n, size_t *text) {
    size_t k = 0, end = n;
    while (k < n && s[k] != '\n' && s[k] != '\r') k++;
    if (k < n) end = s[k] == '\r' && k + 1 < n && s[k + 1] == '\n' ? k + 2 : k + 1;
    if (text) *text = k;
    return end;
}

// .txt for tagging: word/TAG when every white-space separated token of the first line
// with any holds a '/' (not at either end), else CoNLL columns.
static zy_task_format sniff_txt(const char *data, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t m, step = zy__task_line(data + i, len - i, &m), e = i + m;
        bool any = false, all = true;
        for (size_t a = i; a < e;) {
            while (a < e && (data[a] == ' ' || data[a] == '\t' || data[a] == '\r')) a++;
            size_t b = a;
            while (b < e && data[b] != ' ' && data[b] != '\t' && data[b] != '\r') b++;
            if (b > a) {
                any = true;
                const char *slash = NULL;
                for (size_t k = a + 1; k + 1 < b; k++)
                    if (data[k] == '/') slash = data + k;
                if (!slash) all = false;
            }
            a = b;
        }
        if (any) return all ? ZY_TASK_FORMAT_WORD_TAG : ZY_TASK_FORMAT_CONLL;
        i += step;
    }
    return ZY_TASK_FORMAT_CONLL;
}

static zy_status choose_format(const zy_task_read_params *p, const char *name,
                               const char *data, size_t len, zy_task_format *f) {
    *f = p->format;
    if (*f == ZY_TASK_FORMAT_AUTO) {
        if (zy__ends_with(name, ".csv")) *f = ZY_TASK_FORMAT_CSV;
        else if (zy__ends_with(name, ".tsv") || zy__ends_with(name, ".tab")) *f = ZY_TASK_FORMAT_TSV;
        else if (zy__ends_with(name, ".jsonl") || zy__ends_with(name, ".json") ||
                 zy__ends_with(name, ".ndjson"))
            *f = ZY_TASK_FORMAT_JSONL;
        else if (zy__ends_with(name, ".conll") || zy__ends_with(name, ".conll03") ||
                 zy__ends_with(name, ".bio") || zy__ends_with(name, ".iob") || zy__ends_with(name, ".iob2"))
            *f = ZY_TASK_FORMAT_CONLL;
        else if (zy__ends_with(name, ".txt") && p->task == ZY_TASK_TAG)
            *f = sniff_txt(data, len);
        else
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: cannot tell the format from the "
                             "name (.csv, .tsv, .jsonl, .json, .conll%s); name it", name,
                             p->task == ZY_TASK_TAG ? ", .txt" : "");
    }
    bool ok = *f == ZY_TASK_FORMAT_JSONL ||
              ((*f == ZY_TASK_FORMAT_CSV || *f == ZY_TASK_FORMAT_TSV) &&
               p->task == ZY_TASK_CLASSIFY) ||
              ((*f == ZY_TASK_FORMAT_CONLL || *f == ZY_TASK_FORMAT_WORD_TAG) &&
               p->task == ZY_TASK_TAG);
    if (!ok)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: the %s format does not hold %s data "
                         "(classify: csv, tsv, jsonl; tag: conll, word-tag, jsonl; qa: jsonl)",
                         name, zy_task_format_name(*f),
                         p->task == ZY_TASK_CLASSIFY ? "classification"
                         : p->task == ZY_TASK_TAG    ? "tagging"
                                                     : "question-answering");
    return ZY_STATUS_OK;
}

static zy_status check_params(const zy_task_read_params *p) {
    if ((unsigned)p->task > ZY_TASK_QA || (unsigned)p->format > ZY_TASK_FORMAT_WORD_TAG ||
        (unsigned)p->problem > ZY_PROBLEM_REGRESSION)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task data: task %d, format %d or "
                         "problem %d is out of range", (int)p->task, (int)p->format,
                         (int)p->problem);
    if (p->task != ZY_TASK_CLASSIFY && p->problem != ZY_PROBLEM_SINGLE_LABEL)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task data: multi-label and regression "
                         "are for classification");
    if (p->task == ZY_TASK_CLASSIFY &&
        (!p->text_column || !*p->text_column || !p->label_column || !*p->label_column))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task data: the text and label column "
                         "names must be set");
    if (p->task == ZY_TASK_TAG && (!p->tokens_key || !*p->tokens_key || !p->tags_key ||
                                   !*p->tags_key))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task data: the tokens and tags keys "
                         "must be set");
    return ZY_STATUS_OK;
}

// Labels built from this file get their sorted ids.
static zy_status finish(zy_task_data *d) {
    if (d->labels_given || d->labels->n == 0) return ZY_STATUS_OK;
    int32_t *map = zy_alloc((size_t)d->labels->n * sizeof *map);
    if (!map) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name);
    zy_status st = zy__label_set_sort(d->labels, map);
    for (size_t i = 0; !st && i < d->n; i++) {
        zy_task_example *e = &d->ex[i];
        if (e->label >= 0) e->label = map[e->label];
        int32_t *l = (int32_t *)e->labels;
        for (int k = 0; k < e->n_labels; k++) l[k] = map[l[k]];
        for (int k = 1; k < e->n_labels; k++) // ascending again
            for (int j = k; j > 0 && l[j - 1] > l[j]; j--) {
                int32_t t = l[j];
                l[j] = l[j - 1];
                l[j - 1] = t;
            }
        int32_t *t = (int32_t *)e->tags;
        for (int k = 0; t && k < e->n_words; k++) t[k] = map[t[k]];
    }
    zy_free(map);
    return st;
}

static bool labelled(const zy_task_data *d, const zy_task_example *e) {
    switch (d->task) {
    case ZY_TASK_TAG: return e->tags != NULL;
    case ZY_TASK_QA: return e->n_answers >= 0;
    default:
        return d->problem == ZY_PROBLEM_SINGLE_LABEL ? e->label >= 0
               : d->problem == ZY_PROBLEM_MULTI_LABEL ? e->n_labels >= 0
                                                      : e->value == e->value;
    }
}

zy_status zy_task_data_read_buffer(zy_task_data **out, const char *name, const char *data,
                                   size_t len, const zy_task_read_params *p,
                                   const zy_label_set *labels) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task data: nowhere to put it");
    *out = NULL;
    if (!p || !name || (!data && len))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task data: no parameters, name or data");
    zy_status st;
    zy_task_format f;
    if ((st = check_params(p)) || (st = choose_format(p, name, data, len, &f))) return st;
    if (p->task == ZY_TASK_CLASSIFY && p->problem == ZY_PROBLEM_REGRESSION && labels)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: regression has no label set", name);
    if ((st = zy__read_nonempty(name, data, len))) return st;

    zy_task_data *d = zy_calloc(1, sizeof *d);
    if (!d) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", name);
    d->task = p->task;
    d->problem = p->problem;
    d->p = *p;
    if (!(d->path = zy__strdup(name))) {
        zy_free(d);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", name);
    }
    d->name = d->path;
    d->labels_given = labels != NULL;
    st = labels ? zy__label_set_copy(&d->labels, labels) : zy__label_set_new(&d->labels);
    if (st) goto fail;
    switch (f) {
    case ZY_TASK_FORMAT_CSV: st = zy__task_read_csv(d, data, len, ','); break;
    case ZY_TASK_FORMAT_TSV: st = zy__task_read_csv(d, data, len, '\t'); break;
    case ZY_TASK_FORMAT_JSONL: st = zy__task_read_jsonl(d, data, len); break;
    case ZY_TASK_FORMAT_CONLL: st = zy__task_read_conll(d, data, len); break;
    default: st = zy__task_read_word_tag(d, data, len); break;
    }
    if (st) goto fail;
    if (d->n == 0) {
        st = zy__read_no_example(name, &d->report, "rows");
        goto fail;
    }
    if ((st = finish(d))) goto fail;
    d->labelled = true;
    for (size_t i = 0; i < d->n; i++) d->labelled = d->labelled && labelled(d, &d->ex[i]);
    d->report.n_examples = d->n;
    if (p->task == ZY_TASK_CLASSIFY && p->problem == ZY_PROBLEM_REGRESSION) {
        zy_label_set_free(d->labels);
        d->labels = NULL;
    }
    d->p.text_column = d->p.text_pair_column = d->p.label_column = NULL;
    d->p.tokens_key = d->p.tags_key = NULL;
    *out = d;
    return ZY_STATUS_OK;
fail:
    zy_task_data_free(d);
    return st;
}

zy_status zy_task_data_read(zy_task_data **out, const char *path,
                            const zy_task_read_params *p, const zy_label_set *labels) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task data: nowhere to put it");
    *out = NULL;
    if (!path) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task data: no file");
    char *data = NULL;
    size_t len = 0;
    zy_status st = zy_file_read(path, &data, &len);
    if (st) return st;
    st = zy_task_data_read_buffer(out, path, data, len, p, labels);
    zy_free(data);
    return st;
}

void zy_task_data_free(zy_task_data *d) {
    if (!d) return;
    while (d->n) zy__task_drop(d);
    zy_free(d->ex);
    zy_label_set_free(d->labels);
    zy_free(d->path);
    zy_free(d);
}

zy_task zy_task_data_task(const zy_task_data *d) { return d->task; }
zy_task_problem zy_task_data_problem(const zy_task_data *d) { return d->problem; }
size_t zy_task_data_count(const zy_task_data *d) { return d ? d->n : 0; }
const zy_task_example *zy_task_data_example(const zy_task_data *d, size_t i) {
    return d && i < d->n ? &d->ex[i] : NULL;
}
const zy_label_set *zy_task_data_labels(const zy_task_data *d) { return d->labels; }
bool zy_task_data_labelled(const zy_task_data *d) { return d->labelled; }
const zy_task_read_report *zy_task_data_report(const zy_task_data *d) { return &d->report; }
