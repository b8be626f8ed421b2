// CSV and TSV classification files (task.h) through Debian's libcsv: a header row names
// the columns, each later row is an example. Fields follow RFC 4180: a field in double
// quotes may hold the separator, line breaks and doubled quotes (""). CSV is parsed in
// libcsv's strict mode (a quote inside an unquoted field, or text after a closing quote,
// is an error); TSV is not (a quote inside an unquoted TSV field is an ordinary
// character, as TSV files written without quoting have them), but a field that starts
// with a quote is quoted in both. Spaces are part of fields. Blank lines are skipped; a
// UTF-8 byte-order mark before the header is dropped; a line ends at "\n", "\r\n" or a "\r"
// alone, as libcsv ends rows, so lines are numbered as rows are read.
//
// libcsv reports fields and row ends, not lines, so the text is fed a line at a time: a
// row starts on the line being fed when the parser is between rows at its start. The
// library's allocations go through zy_alloc (a small header keeps each block's size, for
// libcsv's realloc).
#include <csv.h>
#include <string.h>

#include "core/internal.h"
#include "data/task_internal.h"

typedef unsigned long long ull;

// ---- libcsv's allocator on zy_alloc --------------------------------------------------------
enum { HDR = 64 };

// libcsv retries a refused growth with smaller blocks; here the first refusal of a parse
// is final (csv_oom, reset when a parse starts), so running out of memory ends the read
// with ZY_STATUS_OUT_OF_MEMORY instead of going on in smaller steps.
static _Thread_local bool csv_oom;

static void *csv_zy_realloc(void *p, size_t n) {
    if (csv_oom || n > SIZE_MAX - HDR) return NULL;
    char *q = zy_alloc(n + HDR);
    if (!q) {
        csv_oom = true;
        return NULL;
    }
    memcpy(q, &n, sizeof n);
    if (p) {
        size_t old;
        memcpy(&old, (char *)p - HDR, sizeof old);
        memcpy(q + HDR, p, ZY_MIN(old, n));
        zy_free((char *)p - HDR);
    }
    return q + HDR;
}

static void csv_zy_free(void *p) {
    if (p) zy_free((char *)p - HDR);
}

// ---- rows ------------------------------------------------------------------------------
typedef struct reader {
    zy_task_data *d;
    char *buf;           // the current row's fields, back to back
    size_t len, cap;
    size_t *ends;        // (n_fields) end of each field in buf
    int n_fields, cap_fields;
    uint64_t line, row_line; // the line being fed; the line the current row started on
    bool header_done;
    int n_columns, text_col, pair_col, label_col;
    zy_status st;        // the first error; later callbacks do nothing
} reader;

static void on_field(void *s, size_t n, void *user) {
    reader *r = user;
    if (r->st) return;
    if (r->len + n > r->cap || r->n_fields == r->cap_fields) {
        size_t cap = ZY_MAX(r->cap * 2, r->len + n + 64);
        int cap_f = r->n_fields == r->cap_fields ? ZY_MAX(r->cap_fields * 2, 8) : r->cap_fields;
        if (cap_f > (1 << 20)) {
            r->st = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: more than %d fields in a row",
                              r->d->name, (ull)r->row_line, 1 << 20);
            return;
        }
        char *buf = zy_alloc(cap);
        size_t *ends = zy_alloc((size_t)cap_f * sizeof *ends);
        if (!buf || !ends) {
            zy_free(buf);
            zy_free(ends);
            r->st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", r->d->name);
            return;
        }
        if (r->len) memcpy(buf, r->buf, r->len);
        if (r->n_fields) memcpy(ends, r->ends, (size_t)r->n_fields * sizeof *ends);
        zy_free(r->buf);
        zy_free(r->ends);
        r->buf = buf;
        r->ends = ends;
        r->cap = cap;
        r->cap_fields = cap_f;
    }
    if (n) memcpy(r->buf + r->len, s, n);
    r->len += n;
    r->ends[r->n_fields++] = r->len;
}

static const char *field(const reader *r, int i, size_t *n) {
    size_t a = i ? r->ends[i - 1] : 0;
    *n = r->ends[i] - a;
    return r->buf + a;
}

static int column(const reader *r, const char *name) {
    for (int i = 0; i < r->n_fields; i++) {
        size_t n;
        const char *f = field(r, i, &n);
        if (n == strlen(name) && memcmp(f, name, n) == 0) return i;
    }
    return -1;
}

static zy_status header(reader *r) {
    const zy_task_read_params *p = &r->d->p;
    r->n_columns = r->n_fields;
    r->text_col = column(r, p->text_column);
    r->pair_col = p->text_pair_column ? column(r, p->text_pair_column) : -1;
    r->label_col = column(r, p->label_column);
    const char *missing = r->text_col < 0                           ? p->text_column
                          : p->text_pair_column && r->pair_col < 0  ? p->text_pair_column
                          : r->label_col < 0 && p->require_labels   ? p->label_column
                                                                    : NULL;
    if (missing)
        return zy__error(ZY_STATUS_NOT_FOUND, "%s:%llu: the header has no column '%s' (set "
                         "the column names)", r->d->name, (ull)r->row_line, missing);
    return ZY_STATUS_OK;
}

static zy_status row(reader *r) {
    zy_task_data *d = r->d;
    if (r->n_fields != r->n_columns)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %d fields, but the header has %d",
                         d->name, (ull)r->row_line, r->n_fields, r->n_columns);
    zy_task_example *e = zy__task_begin(d, r->row_line);
    if (!e) return ZY_STATUS_OUT_OF_MEMORY;
    size_t n;
    const char *f = field(r, r->text_col, &n);
    zy_status st = zy__task_text(d, e->line, d->p.text_column, f, n, &e->text, &e->text_len);
    if (!st && r->pair_col >= 0) {
        f = field(r, r->pair_col, &n);
        st = zy__task_text(d, e->line, d->p.text_pair_column, f, n, &e->pair, &e->pair_len);
    }
    if (!st && r->label_col >= 0) {
        f = field(r, r->label_col, &n);
        st = zy__task_label(d, e, d->p.label_column, f, n);
    }
    if (st) zy__task_drop(d);
    return st;
}

static void on_row(int c, void *user) {
    (void)c;
    reader *r = user;
    if (!r->st) {
        if (!r->header_done) {
            r->st = header(r);
            r->header_done = true;
        } else {
            r->st = zy__task_row_error(r->d, row(r));
        }
    }
    r->len = 0;
    r->n_fields = 0;
}

static int no_space(unsigned char c) {
    (void)c;
    return 0;
}

zy_status zy__task_read_csv(zy_task_data *d, const char *data, size_t len, char sep) {
    struct csv_parser p;
    unsigned char opts = CSV_STRICT_FINI | (sep == ',' ? CSV_STRICT : 0);
    if (csv_init(&p, opts))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: cannot start the CSV parser", d->name);
    csv_set_delim(&p, (unsigned char)sep);
    csv_set_space_func(&p, no_space);
    csv_set_realloc_func(&p, csv_zy_realloc);
    csv_set_free_func(&p, csv_zy_free);
    reader r = {.d = d};
    csv_oom = false;
    size_t i = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < len && !r.st) {
        size_t m = zy__task_line(data + i, len - i, NULL);
        r.line++;
        if (p.pstate == 0) r.row_line = r.line; // between rows: one starts here
        size_t done = csv_parse(&p, data + i, m, on_field, on_row, &r);
        if (done != m && !r.st) {
            int err = csv_error(&p);
            r.st = err == CSV_ENOMEM
                       ? zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name)
                       : zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: broken quoting at column "
                                   "%llu (a quote inside an unquoted field, or text after a "
                                   "closing quote; double a quote inside a quoted field)",
                                   d->name, (ull)r.line, (ull)(done + 1));
        }
        i += m;
    }
    if (!r.st && csv_fini(&p, on_field, on_row, &r) != 0 && !r.st)
        r.st = csv_error(&p) == CSV_ENOMEM
                   ? zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name)
                   : zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: a quoted field is not closed "
                               "before the end of the file", d->name, (ull)r.row_line);
    if (!r.st && !r.header_done)
        r.st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: no header row", d->name);
    csv_free(&p);
    zy_free(r.buf);
    zy_free(r.ends);
    return r.st;
}
