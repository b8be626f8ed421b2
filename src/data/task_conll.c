// Tagging files in the two plain-text layouts (task.h):
//  - CoNLL columns: a word a line, columns separated by spaces or tabs, the word the first
//    column and its tag the last (CoNLL-2003's "EU NNP B-NP B-ORG" gives "EU" / "B-ORG");
//    a blank line ends a sentence; lines whose first column is -DOCSTART- are skipped.
//    Every line has as many columns as the file's first word line (a line that differs
//    is an error naming it, and with skip_bad_rows its sentence is skipped). One column:
//    words without tags (allowed only when labels are not required).
//  - word/TAG: a sentence a line, tokens separated by spaces or tabs, each split at its
//    LAST '/' ("1\/2/CD" is the word "1\/2" tagged CD). A line where no token has a '/'
//    is words without tags (allowed only when labels are not required).
// Both: lines end at "\n", "\r\n" or a lone "\r" (zy__task_line); the sentence's line is
// that of its first word.
#include <string.h>

#include "core/internal.h"
#include "data/task_internal.h"

typedef unsigned long long ull;

typedef struct words {
    const char **w, **t;
    size_t *wl, *tl;
    int n, cap;
} words;

static zy_status push(zy_task_data *d, words *s, const char *w, size_t wl, const char *t,
                      size_t tl) {
    if (s->n == s->cap) {
        if (s->cap >= (1 << 24))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: a sentence of more than %d words",
                             d->name, 1 << 24);
        int cap = s->cap ? s->cap * 2 : 64;
        size_t m = (size_t)cap;
        const char **w2 = zy_alloc(m * sizeof *w2), **t2 = zy_alloc(m * sizeof *t2);
        size_t *wl2 = zy_alloc(m * sizeof *wl2), *tl2 = zy_alloc(m * sizeof *tl2);
        if (!w2 || !t2 || !wl2 || !tl2) {
            zy_free(w2);
            zy_free(t2);
            zy_free(wl2);
            zy_free(tl2);
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name);
        }
        if (s->n) {
            memcpy(w2, s->w, (size_t)s->n * sizeof *w2);
            memcpy(t2, s->t, (size_t)s->n * sizeof *t2);
            memcpy(wl2, s->wl, (size_t)s->n * sizeof *wl2);
            memcpy(tl2, s->tl, (size_t)s->n * sizeof *tl2);
        }
        zy_free(s->w);
        zy_free(s->t);
        zy_free(s->wl);
        zy_free(s->tl);
        s->w = w2;
        s->t = t2;
        s->wl = wl2;
        s->tl = tl2;
        s->cap = cap;
    }
    s->w[s->n] = w;
    s->wl[s->n] = wl;
    s->t[s->n] = t;
    s->tl[s->n] = tl;
    s->n++;
    return ZY_STATUS_OK;
}

static void words_free(words *s) {
    zy_free(s->w);
    zy_free(s->t);
    zy_free(s->wl);
    zy_free(s->tl);
}

// The sentence gathered in s becomes an example (or a counted row error).
static zy_status commit(zy_task_data *d, words *s, uint64_t line, bool tagged) {
    if (s->n == 0) return ZY_STATUS_OK;
    zy_task_example *e = zy__task_begin(d, line);
    if (!e) return ZY_STATUS_OUT_OF_MEMORY;
    zy_status st = zy__task_words(d, e, s->w, s->wl, tagged ? s->t : NULL, s->tl, s->n, s->n);
    if (st) zy__task_drop(d);
    s->n = 0;
    return zy__task_row_error(d, st);
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The white-space separated fields of line[0..n): up to cap starts/lengths; returns the
// count (which may exceed cap).
static int split(const char *line, size_t n, const char **f, size_t *fl, int cap) {
    int k = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && blank(line[i])) i++;
        size_t j = i;
        while (j < n && !blank(line[j])) j++;
        if (j > i) {
            if (k < cap) {
                f[k] = line + i;
                fl[k] = j - i;
            }
            k++;
        }
        i = j;
    }
    return k;
}

zy_status zy__task_read_conll(zy_task_data *d, const char *data, size_t len) {
    words s = {0};
    zy_status st = ZY_STATUS_OK;
    uint64_t line = 0, first_line = 0, sent_line = 0;
    int n_cols = 0;
    bool bad = false; // the current sentence had a skipped line: drop it whole
    for (size_t i = 0; i <= len && !st; line++) {
        size_t m = 0, step = i < len ? zy__task_line(data + i, len - i, &m) : 0;
        const char *f[2];
        size_t fl[2];
        int k = i < len ? split(data + i, m, f, fl, 1) : 0;
        const char *last = NULL;
        size_t last_len = 0;
        if (k > 0) { // the last field: scan back from the line's end
            size_t b = m;
            while (b > 0 && blank(data[i + b - 1])) b--;
            size_t a = b;
            while (a > 0 && !blank(data[i + a - 1])) a--;
            last = data + i + a;
            last_len = b - a;
        }
        if (k == 0) { // blank line or the end: the sentence ends
            if (!bad) st = commit(d, &s, sent_line, n_cols >= 2);
            s.n = 0;
            bad = false;
        } else if (fl[0] == 10 && memcmp(f[0], "-DOCSTART-", 10) == 0) {
            // a document marker, not a word
        } else {
            if (n_cols == 0) {
                n_cols = k;
                first_line = line + 1;
            }
            if (s.n == 0 && !bad) sent_line = line + 1;
            if (k != n_cols) {
                st = zy__task_row_error(
                    d, zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %d columns, but the file's "
                                 "first line (%llu) has %d", d->name, (ull)(line + 1), k,
                                 (ull)first_line, n_cols));
                bad = true;
                s.n = 0;
            } else if (!bad) {
                st = push(d, &s, f[0], fl[0], last, last_len);
            }
        }
        if (i == len) break;
        i += step; // the next line, or the end (one more pass: it ends the sentence)
    }
    words_free(&s);
    return st;
}

zy_status zy__task_read_word_tag(zy_task_data *d, const char *data, size_t len) {
    words s = {0};
    zy_status st = ZY_STATUS_OK;
    uint64_t line = 0;
    for (size_t i = 0; i < len && !st;) {
        size_t m, step = zy__task_line(data + i, len - i, &m);
        line++;
        s.n = 0;
        int tagged = 0, n = 0;
        const char *missing = NULL;
        size_t missing_len = 0;
        for (size_t a = i; a < i + m && !st;) {
            while (a < i + m && blank(data[a])) a++;
            size_t b = a;
            while (b < i + m && !blank(data[b])) b++;
            if (b == a) break;
            size_t slash = b;
            for (size_t c = a; c < b; c++)
                if (data[c] == '/') slash = c;
            n++;
            if (slash > a && slash + 1 < b) {
                tagged++;
                st = push(d, &s, data + a, slash - a, data + slash + 1, b - slash - 1);
            } else {
                if (!missing) {
                    missing = data + a;
                    missing_len = b - a;
                }
                st = push(d, &s, data + a, b - a, NULL, 0);
            }
            a = b;
        }
        if (!st && n > 0) {
            if (tagged > 0 && tagged < n)
                st = zy__task_row_error(
                    d, zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: token '%.*s' is not "
                                 "word/TAG (a word, a '/', a tag)", d->name, (ull)line,
                                 (int)ZY_MIN(missing_len, 100), missing));
            else
                st = commit(d, &s, line, tagged == n);
        }
        i += step;
    }
    words_free(&s);
    return st;
}
