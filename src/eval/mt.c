// What BLEU (bleu.c) and chrF (chrf.c) share: UTF-8 decoding, the checks of their
// arguments, and sacrebleu's signature lines. Not the metrics themselves.
#include <stdio.h>
#include <string.h>

#include <utf8proc.h>

#include "core/internal.h"
#include "eval_internal.h"

size_t zy__utf8_next(const char *s, size_t n, int32_t *cp) {
    utf8proc_int32_t c;
    utf8proc_ssize_t len =
        utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)(n < 4 ? n : 4), &c);
    if (len <= 0) return 0;
    *cp = c;
    return (size_t)len;
}

// 0 if s is UTF-8, else 1 with the offset of the first bad byte.
static int bad_utf8(const char *s, size_t *at) {
    const size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        int32_t c;
        size_t len = zy__utf8_next(s + i, n - i, &c);
        if (!len) {
            *at = i;
            return 1;
        }
        i += len;
    }
    return 0;
}

zy_status zy__mt_check(const char *what, const char *const *hyps, size_t n,
                       const char *const *const *refs, size_t n_refs, int *nrefs) {
    if (n && !hyps) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: hypotheses are NULL", what);
    if (n_refs == 0 || !refs)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: no reference streams", what);
    if (n_refs > 1u << 20)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: %zu reference streams (at most %u)",
                         what, n_refs, 1u << 20);
    for (size_t r = 0; r < n_refs; r++)
        if (n && !refs[r])
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: reference stream %zu is NULL",
                             what, r);
    int seen = -2; // references per segment so far; -1 once it varies
    size_t at;
    for (size_t i = 0; i < n; i++) {
        if (!hyps[i])
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: hypothesis %zu is NULL", what, i);
        if (bad_utf8(hyps[i], &at))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "%s: hypothesis %zu is not valid UTF-8 (byte %zu)", what, i, at);
        int k = 0;
        for (size_t r = 0; r < n_refs; r++) {
            const char *ref = refs[r][i];
            if (!ref) continue;
            k++;
            if (bad_utf8(ref, &at))
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "%s: reference %zu of segment %zu is not valid UTF-8 (byte %zu)",
                                 what, r, i, at);
        }
        if (!k)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: segment %zu has no reference",
                             what, i);
        seen = seen == -2 || seen == k ? k : -1;
    }
    // no segments: the streams given (what sacrebleu's signature would count)
    *nrefs = seen == -2 ? (int)n_refs : seen;
    return ZY_STATUS_OK;
}

// sacrebleu writes nrefs "var" when segments have different numbers of references.
static void nrefs_text(int nrefs, char buf[16]) {
    if (nrefs < 0) snprintf(buf, 16, "var");
    else snprintf(buf, 16, "%d", nrefs);
}

int zy_bleu_signature(const zy_bleu_score *s, char *buf, size_t cap) {
    char nr[16];
    nrefs_text(s ? s->nrefs : 1, nr);
    return snprintf(buf, cap, "BLEU|nrefs:%s|case:mixed|eff:no|tok:13a|smooth:exp|version:zhuyi-%s",
                    nr, ZY_VERSION_STRING);
}

int zy_chrf_signature(const zy_chrf_score *s, char *buf, size_t cap) {
    char nr[16];
    nrefs_text(s ? s->nrefs : 1, nr);
    return snprintf(buf, cap,
                    "chrF2|nrefs:%s|case:mixed|eff:yes|nc:6|nw:0|space:no|version:zhuyi-%s", nr,
                    ZY_VERSION_STRING);
}
