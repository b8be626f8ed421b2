// libFuzzer harness: BLEU's 13a tokenizer, corpus BLEU and chrF (include/zhuyi/metrics.h,
// src/eval/bleu.c, chrf.c, mt.c) on arbitrary bytes. The input is pieces separated by NUL
// bytes: the hypotheses, then up to 3 reference streams, each a segment a line. Properties
// checked on every input:
//  - 13a of the first piece: refused (INVALID_ARGUMENT saying UTF-8) exactly when it is not
//    UTF-8; else the tokens are UTF-8 joined by single spaces, no space at either end, no
//    other whitespace left, and tokenizing them again gives the same text;
//  - with references: refused exactly when some line is not UTF-8 (INVALID_ARGUMENT naming
//    a hypothesis or reference); else BLEU and chrF in [0, 100] (+1e-9: exp(log 100) may
//    round up), BLEU's precisions in [0, 100], counts <= totals, totals falling with the
//    order, BP in [0, 1]; chrF's matches <= both counts;
//  - the hypotheses as their own reference: chrF 100 when any segment has a character
//    that is not whitespace (else 0), BLEU 100 when some segment has 4 tokens, and both
//    metrics' statistics match exactly.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "eval/eval_internal.h"
#include "util.h"
#include "zhuyi/metrics.h"

static int is_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &c);
        if (l <= 0) return 0;
        i += (size_t)l;
    }
    return 1;
}

static void check_tokens(const char *s) {
    char *t;
    size_t n;
    zy_status st = zy_bleu_tokenize_13a(s, &t, &n);
    if (!is_utf8(s, strlen(s))) {
        FZ_CHECK(st == ZY_STATUS_INVALID_ARGUMENT && strstr(zy_last_error(), "UTF-8"));
        return;
    }
    FZ_CHECK(st == ZY_STATUS_OK && strlen(t) == n && is_utf8(t, n));
    FZ_CHECK(n == 0 || (t[0] != ' ' && t[n - 1] != ' '));
    for (size_t i = 0; i + 1 < n; i++) FZ_CHECK(!(t[i] == ' ' && t[i + 1] == ' '));
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l =
            utf8proc_iterate((const utf8proc_uint8_t *)t + i, (utf8proc_ssize_t)(n - i), &c);
        FZ_CHECK(c == ' ' || !zy__py_isspace(c));
        i += (size_t)l;
    }
    // Tokenizing the tokens again changes nothing, unless a '.' or ',' is in them: 13a splits
    // those by their neighbours (a comma before a digit stays attached: "UTF,,8" -> "UTF ,
    // ,8", whose second comma now follows a space and is split off: "UTF , , 8"), as
    // mteval-v13a and SacreBLEU do.
    if (!strpbrk(t, ".,")) {
        char *again;
        FZ_CHECK(zy_bleu_tokenize_13a(t, &again, NULL) == ZY_STATUS_OK);
        FZ_CHECKF(!strcmp(again, t), "13a is not idempotent: '%s' -> '%s'", t, again);
        zy_free(again);
    }
    zy_free(t);
}

// The lines of a piece (cut in place), malloc'd.
static const char **split_lines(char *s, size_t *n) {
    size_t k = 1;
    for (char *p = s; *p; p++) k += *p == '\n';
    const char **v = malloc(k * sizeof *v);
    FZ_CHECK(v);
    *n = 0;
    for (char *p = s;;) {
        v[(*n)++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    return v;
}

static void check_scores(const zy_bleu_score *b, const zy_chrf_score *f) {
    FZ_CHECKF(b->score >= 0 && b->score <= 100 + 1e-9, "bleu %.17g", b->score);
    FZ_CHECK(b->bp >= 0 && b->bp <= 1);
    for (int i = 0; i < 4; i++) {
        FZ_CHECK(b->precisions[i] >= 0 && b->precisions[i] <= 100);
        FZ_CHECK(b->counts[i] >= 0 && b->counts[i] <= b->totals[i]);
        if (i) FZ_CHECK(b->totals[i] <= b->totals[i - 1]);
    }
    FZ_CHECKF(f->score >= 0 && f->score <= 100 + 1e-9, "chrf %.17g", f->score);
    for (int i = 0; i < 6; i++) FZ_CHECK(f->match[i] <= f->hyp[i] && f->match[i] <= f->ref[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    FZ_CHECK(text);
    memcpy(text, data, size);
    text[size] = 0;
    check_tokens(text);

    // pieces at NUL bytes: hypotheses, reference streams
    char *piece[4];
    size_t n_piece = 0;
    for (char *p = text; n_piece < 4 && p <= text + size; p += strlen(p) + 1) piece[n_piece++] = p;
    int valid = 1, piece_ok[4]; // before split_lines cuts the pieces at their newlines
    for (size_t i = 0; i < n_piece; i++) valid &= piece_ok[i] = is_utf8(piece[i], strlen(piece[i]));
    const char **lines[4];
    size_t n_lines[4];
    for (size_t i = 0; i < n_piece; i++) lines[i] = split_lines(piece[i], &n_lines[i]);
    const size_t n = n_lines[0];
    size_t n_refs = 0;
    const char *const *refs[3];
    for (size_t i = 1; i < n_piece; i++)
        if (n_lines[i] == n) refs[n_refs++] = lines[i];
    zy_bleu_score b;
    zy_chrf_score f;
    if (n_refs) {
        zy_status sb = zy_bleu_corpus(lines[0], n, refs, n_refs, &b);
        zy_status sc = zy_chrf_corpus(lines[0], n, refs, n_refs, &f);
        if (!valid) {
            // a piece not used as a stream may be the only invalid one
            FZ_CHECK(sb == sc);
            FZ_CHECK(sb == ZY_STATUS_OK || sb == ZY_STATUS_INVALID_ARGUMENT);
            if (sb) FZ_CHECK(strstr(zy_last_error(), "UTF-8"));
        } else {
            FZ_CHECK(sb == ZY_STATUS_OK && sc == ZY_STATUS_OK);
        }
        if (!sb && !sc) check_scores(&b, &f);
    }
    if (piece_ok[0]) {
        const char *const *self[1] = {lines[0]};
        FZ_CHECK(zy_bleu_corpus(lines[0], n, self, 1, &b) == ZY_STATUS_OK);
        FZ_CHECK(zy_chrf_corpus(lines[0], n, self, 1, &f) == ZY_STATUS_OK);
        check_scores(&b, &f);
        for (int i = 0; i < 4; i++) FZ_CHECK(b.counts[i] == b.totals[i]);
        for (int i = 0; i < 6; i++) FZ_CHECK(f.match[i] == f.hyp[i] && f.hyp[i] == f.ref[i]);
        const int chars = f.hyp[0] > 0;
        FZ_CHECKF(chars ? fabs(f.score - 100) < 1e-9 : f.score == 0, "chrf of itself %.17g",
                  f.score);
        FZ_CHECKF(b.totals[3] > 0 ? fabs(b.score - 100) < 1e-9 : 1, "bleu of itself %.17g",
                  b.score);
        FZ_CHECK(b.sys_len == b.ref_len && b.bp == 1.0);
    }
    for (size_t i = 0; i < n_piece; i++) free(lines[i]);
    free(text);
    return 0;
}
