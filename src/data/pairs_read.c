// Parallel text files (pairs.h) read into pairs that own their texts: two line-aligned
// files, "source<TAB>target" lines, or JSON lines ({"src", "tgt"}, or Hugging Face
// datasets' {"translation": {L1, L2}}). The checks every format shares (a side empty,
// invalid UTF-8, a NUL byte) are here once; the lines and JSON objects of a JSONL file and
// the skip-and-count policy are the task readers' (task_jsonl.c, task_data.c). TSV has no
// quoting: a quote is a character, as in the TSV files of parallel corpora (Tatoeba, OPUS).
//
// Sizes are known before anything is allocated: the lines are counted first, and every
// text of a file fits in its bytes plus two NULs a line (a JSON string decodes to no more
// bytes than its spelling), so the pairs and one text block are allocated once.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "data/task_internal.h"
#include "io/safetensors.h"
#include "zhuyi/pairs.h"

typedef unsigned long long ull;

typedef struct pair_rec {
    uint64_t src, tgt;   // offsets into text
    size_t src_len, tgt_len;
    uint64_t line;
} pair_rec;

struct zy_pairs {
    char *src_name, *tgt_name; // tgt_name == src_name for one file
    pair_rec *p;
    size_t n, cap;
    char *text;                // every text, each NUL-terminated
    size_t used, text_cap;
    zy_pairs_read_params prm;  // the caller's (strings borrowed during the read only)
    zy_task_read_report report;
};

zy_pairs_read_params zy_pairs_read_default_params(void) {
    return (zy_pairs_read_params){.format = ZY_PAIRS_FORMAT_AUTO, .src_key = "src",
                                  .tgt_key = "tgt"};
}

static const char *const FORMATS[] = {"auto", "lines", "tsv", "jsonl"};

const char *zy_pairs_format_name(zy_pairs_format f) {
    return (unsigned)f < 4 ? FORMATS[f] : "unknown";
}

zy_status zy_pairs_format_parse(const char *name, zy_pairs_format *out) {
    for (int f = 0; f < 4; f++)
        if (name && out && strcmp(name, FORMATS[f]) == 0) {
            *out = (zy_pairs_format)f;
            return ZY_STATUS_OK;
        }
    return zy__error(ZY_STATUS_NOT_FOUND, "unknown parallel-text format '%s' (auto, lines, "
                     "tsv, jsonl)", name ? name : "");
}

// ---- lines ----------------------------------------------------------------------------
static size_t bom(const char *data, size_t len) {
    return len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

// Lines of data[0..len): '\n' ends one; a last line without it counts.
static uint64_t count_lines(const char *data, size_t len) {
    uint64_t n = 0;
    for (size_t i = bom(data, len); i < len; n++) {
        const char *nl = memchr(data + i, '\n', len - i);
        i = nl ? (size_t)(nl - data) + 1 : len;
    }
    return n;
}

// The line at *i (advanced past it), without "\n" and a trailing "\r".
static const char *next_line(const char *data, size_t len, size_t *i, size_t *n) {
    const char *s = data + *i, *nl = memchr(s, '\n', len - *i);
    size_t m = nl ? (size_t)(nl - s) : len - *i;
    *i += m + (nl != NULL);
    if (m && s[m - 1] == '\r') m--;
    *n = m;
    return s;
}

static bool blank(const char *s, size_t n) {
    for (size_t k = 0; k < n; k++)
        if (s[k] != ' ' && s[k] != '\t' && s[k] != '\r' && s[k] != '\n' && s[k] != '\v' &&
            s[k] != '\f')
            return false;
    return true;
}

// ---- the checks of a pair and its storage -------------------------------------------
static zy_status check_side(const char *file, uint64_t line, const char *side, const char *s,
                            size_t n) {
    size_t bad = 0;
    if (blank(s, n))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: the %s side is empty", file,
                         (ull)line, side);
    if (!zy__utf8_valid(s, n, &bad))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: the %s side: invalid UTF-8 at byte "
                         "%llu", file, (ull)line, side, (ull)bad);
    const char *z = memchr(s, 0, n);
    if (z)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: the %s side: a NUL byte at byte %llu",
                         file, (ull)line, side, (ull)(z - s));
    return ZY_STATUS_OK;
}

static uint64_t put_text(zy_pairs *d, const char *s, size_t n) {
    ZY_ASSERT(d->used + n + 1 <= d->text_cap); // the bound made at the start
    uint64_t at = d->used;
    memcpy(d->text + at, s, n);
    d->text[at + n] = 0;
    d->used += n + 1;
    return at;
}

// A pair of texts (not yet checked) from line `line`, or its error.
static zy_status add_pair(zy_pairs *d, uint64_t line, const char *s, size_t sn, const char *t,
                          size_t tn) {
    if (blank(s, sn) && blank(t, tn)) {
        if (d->tgt_name != d->src_name)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: an empty line pair (%s:%llu is "
                             "empty too)", d->src_name, (ull)line, d->tgt_name, (ull)line);
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: an empty pair (both sides empty)",
                         d->src_name, (ull)line);
    }
    zy_status st = check_side(d->src_name, line, "source", s, sn);
    if (!st) st = check_side(d->tgt_name, line, "target", t, tn);
    if (st) return st;
    ZY_ASSERT(d->n < d->cap);
    pair_rec *r = &d->p[d->n++];
    r->src = put_text(d, s, sn);
    r->tgt = put_text(d, t, tn);
    r->src_len = sn;
    r->tgt_len = tn;
    r->line = line;
    return ZY_STATUS_OK;
}

static zy_status row(zy_pairs *d, zy_status st) {
    return zy__read_row_error(&d->report, d->prm.skip_bad_rows, st);
}

// ---- the formats ---------------------------------------------------------------------
static zy_status read_lines(zy_pairs *d, const char *src, size_t sl, const char *tgt,
                            size_t tl) {
    size_t i = bom(src, sl), j = bom(tgt, tl);
    for (uint64_t line = 1; i < sl; line++) {
        size_t a, b;
        const char *s = next_line(src, sl, &i, &a), *t = next_line(tgt, tl, &j, &b);
        zy_status st = row(d, add_pair(d, line, s, a, t, b));
        if (st) return st;
    }
    return ZY_STATUS_OK;
}

static zy_status tsv_line(zy_pairs *d, uint64_t line, const char *s, size_t n) {
    const char *tab = memchr(s, '\t', n);
    if (!tab && blank(s, n)) return add_pair(d, line, s, 0, s, 0);
    size_t tabs = 0;
    for (size_t k = 0; k < n; k++) tabs += s[k] == '\t';
    if (tabs != 1)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %llu tabs (a line is "
                         "source<TAB>target: exactly one tab)", d->src_name, (ull)line,
                         (ull)tabs);
    size_t a = (size_t)(tab - s);
    return add_pair(d, line, s, a, tab + 1, n - a - 1);
}

static zy_status read_tsv(zy_pairs *d, const char *data, size_t len) {
    size_t i = bom(data, len);
    for (uint64_t line = 1; i < len; line++) {
        size_t n;
        const char *s = next_line(data, len, &i, &n);
        zy_status st = row(d, tsv_line(d, line, s, n));
        if (st) return st;
    }
    return ZY_STATUS_OK;
}

static zy_status json_string(const zy_pairs *d, uint64_t line, const cJSON *o, const char *key,
                             const char *path, const char **s) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(j))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: field '%s' is missing or not a "
                         "string", d->src_name, (ull)line, path);
    *s = j->valuestring;
    return ZY_STATUS_OK;
}

static zy_status json_pair(zy_pairs *d, uint64_t line, const cJSON *o) {
    const zy_pairs_read_params *p = &d->prm;
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(o, "translation");
    const char *s = NULL, *t = NULL;
    zy_status st;
    if (tr) {
        if (!cJSON_IsObject(tr))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: field 'translation' is not an "
                             "object", d->src_name, (ull)line);
        if (!p->src_lang || !p->tgt_lang)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: a 'translation' object needs "
                             "its language keys given (src_lang, tgt_lang: which is the "
                             "source)", d->src_name, (ull)line);
        char ps[96], pt[96];
        snprintf(ps, sizeof ps, "translation.%.80s", p->src_lang);
        snprintf(pt, sizeof pt, "translation.%.80s", p->tgt_lang);
        if ((st = json_string(d, line, tr, p->src_lang, ps, &s)) ||
            (st = json_string(d, line, tr, p->tgt_lang, pt, &t)))
            return st;
    } else if ((st = json_string(d, line, o, p->src_key, p->src_key, &s)) ||
               (st = json_string(d, line, o, p->tgt_key, p->tgt_key, &t))) {
        return st;
    }
    return add_pair(d, line, s, strlen(s), t, strlen(t));
}

static zy_status json_line(void *ctx, const char *s, size_t n, uint64_t line) {
    zy_pairs *d = ctx;
    cJSON *o;
    zy_status st = zy__jsonl_object(d->src_name, line, s, n, &o);
    if (!st) {
        st = json_pair(d, line, o);
        cJSON_Delete(o);
    }
    return row(d, st);
}

// ---- the read -------------------------------------------------------------------------
static zy_status pick_format(const char *name, bool two, zy_pairs_format f,
                             zy_pairs_format *out) {
    if (f == ZY_PAIRS_FORMAT_AUTO) {
        if (two) f = ZY_PAIRS_FORMAT_LINES;
        else if (zy__ends_with(name, ".tsv") || zy__ends_with(name, ".tab") || zy__ends_with(name, ".txt"))
            f = ZY_PAIRS_FORMAT_TSV;
        else if (zy__ends_with(name, ".jsonl") || zy__ends_with(name, ".json") ||
                 zy__ends_with(name, ".ndjson"))
            f = ZY_PAIRS_FORMAT_JSONL;
        else
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: cannot tell the parallel-text "
                             "format from the name (.tsv, .tab, .txt, .jsonl, .json, .ndjson; "
                             "or give the format)", name);
    }
    if ((unsigned)f > ZY_PAIRS_FORMAT_JSONL)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: format %d is not a zy_pairs_format",
                         name, (int)f);
    if (two != (f == ZY_PAIRS_FORMAT_LINES))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: the %s format reads %s", name,
                         FORMATS[f], two ? "one file (no target file)" : "two files (source "
                         "and target)");
    *out = f;
    return ZY_STATUS_OK;
}

static zy_status open_pairs(zy_pairs **out, const char *src_name, const char *tgt_name,
                            uint64_t lines, size_t bytes, const zy_pairs_read_params *p) {
    if (lines > UINT32_MAX)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: %llu lines, more than %llu pairs",
                         src_name, (ull)lines, (ull)UINT32_MAX);
    if (bytes > SIZE_MAX / 2 - 2 * lines - 16)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: too large", src_name);
    zy_pairs *d = zy_calloc(1, sizeof *d);
    if (!d) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", src_name);
    d->prm = *p;
    d->cap = (size_t)lines;
    d->text_cap = bytes + 2 * (size_t)lines + 2;
    d->src_name = zy__strdup(src_name);
    d->tgt_name = tgt_name ? zy__strdup(tgt_name) : d->src_name;
    d->p = zy_alloc(ZY_MAX(d->cap, 1) * sizeof *d->p);
    d->text = zy_alloc(d->text_cap);
    *out = d;
    if (!d->src_name || !d->tgt_name || !d->p || !d->text) {
        zy_pairs_free(d);
        *out = NULL;
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for %llu lines",
                         src_name, (ull)lines);
    }
    return ZY_STATUS_OK;
}

zy_status zy_pairs_read_buffer(zy_pairs **out, const char *src_name, const char *src,
                               size_t src_len, const char *tgt_name, const char *tgt,
                               size_t tgt_len, const zy_pairs_read_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs: nowhere to put them");
    *out = NULL;
    if (!p || !src_name || (!src && src_len) || (tgt_name && !tgt && tgt_len))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs: no parameters, name or data");
    zy_pairs_format f = ZY_PAIRS_FORMAT_AUTO;
    zy_status st = pick_format(src_name, tgt_name != NULL, p->format, &f);
    if (st) return st;
    // One string read as both sides would outgrow the text block's bound (and is a mistake).
    if (f == ZY_PAIRS_FORMAT_JSONL &&
        (!p->src_key || !p->tgt_key || !strcmp(p->src_key, p->tgt_key) ||
         (p->src_lang && p->tgt_lang && !strcmp(p->src_lang, p->tgt_lang))))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: src_key and tgt_key (and src_lang "
                         "and tgt_lang) must be given and differ", src_name);
    if ((st = zy__read_nonempty(src_name, src, src_len)) ||
        (tgt_name && (st = zy__read_nonempty(tgt_name, tgt, tgt_len))))
        return st;
    uint64_t lines = count_lines(src, src_len);
    if (tgt_name) {
        uint64_t m = count_lines(tgt, tgt_len);
        if (m != lines)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s has %llu lines but %s has %llu "
                             "(line-aligned files need the same number)", src_name,
                             (ull)lines, tgt_name, (ull)m);
    }
    zy_pairs *d;
    if ((st = open_pairs(&d, src_name, tgt_name, lines, src_len + (tgt_name ? tgt_len : 0), p)))
        return st;
    if (f == ZY_PAIRS_FORMAT_LINES) st = read_lines(d, src, src_len, tgt, tgt_len);
    else if (f == ZY_PAIRS_FORMAT_TSV) st = read_tsv(d, src, src_len);
    else st = zy__jsonl_each(src, src_len, json_line, d);
    if (!st && d->n == 0) st = zy__read_no_example(src_name, &d->report, "lines");
    if (st) {
        zy_pairs_free(d);
        return st;
    }
    d->prm.src_key = d->prm.tgt_key = d->prm.src_lang = d->prm.tgt_lang = NULL;
    d->report.n_examples = d->n;
    *out = d;
    return ZY_STATUS_OK;
}

zy_status zy_pairs_read(zy_pairs **out, const char *src_path, const char *tgt_path,
                        const zy_pairs_read_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs: nowhere to put them");
    *out = NULL;
    if (!src_path) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs: no file");
    char *s = NULL, *t = NULL;
    size_t sl = 0, tl = 0;
    zy_status st = zy_file_read(src_path, &s, &sl);
    if (!st && tgt_path) st = zy_file_read(tgt_path, &t, &tl);
    if (!st) st = zy_pairs_read_buffer(out, src_path, s, sl, tgt_path, t, tl, p);
    zy_free(s);
    zy_free(t);
    return st;
}

void zy_pairs_free(zy_pairs *d) {
    if (!d) return;
    if (d->tgt_name != d->src_name) zy_free(d->tgt_name);
    zy_free(d->src_name);
    zy_free(d->p);
    zy_free(d->text);
    zy_free(d);
}

size_t zy_pairs_count(const zy_pairs *d) { return d ? d->n : 0; }

zy_pair zy_pairs_get(const zy_pairs *d, size_t i) {
    if (!d || i >= d->n) return (zy_pair){0};
    const pair_rec *r = &d->p[i];
    return (zy_pair){.src = d->text + r->src, .tgt = d->text + r->tgt, .src_len = r->src_len,
                     .tgt_len = r->tgt_len, .src_file = d->src_name, .tgt_file = d->tgt_name,
                     .line = r->line};
}

const zy_task_read_report *zy_pairs_report(const zy_pairs *d) { return &d->report; }
