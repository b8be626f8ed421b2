// BERT's basic tokenizer (transformers' BasicTokenizer, BertNormalizer +
// BertPreTokenizer in tokenizers) on UTF-8 bytes, keeping for every character the byte
// range of the input character it came from. Per whitespace-separated token, in order:
// clean (drop), CJK (own word), lower-case, strip accents (NFD, drop Mn, with canonical
// reordering across the token as NFD does), split off punctuation. Unicode data is
// utf8proc's. Not for the WordPiece vocabulary search (wp_encode.c).
#include <string.h>
#include <utf8proc.h>

#include "core/internal.h"
#include "wordpiece.h"

static int is_cjk(int32_t cp) {
    // The ranges of BERT's _is_chinese_char (CJK Unified Ideographs and extensions A-E,
    // compatibility ideographs); not Hangul, Hiragana or Katakana.
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

int zy__wp_class(int32_t cp) {
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return ZY__WP_SPACE;
    if (cp < 0x80) {
        if (cp < 0x20 || cp == 0x7F) return ZY__WP_DROP;
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
            (cp >= 123 && cp <= 126))
            return ZY__WP_PUNCT;
        return ZY__WP_OTHER;
    }
    if (cp == 0xFFFD) return ZY__WP_DROP;
    // U+2028/U+2029 are not Zs, so BERT's cleaning keeps them, but Python's str.split()
    // (whitespace_tokenize) splits on them, as tokenizers' BertPreTokenizer does.
    if (cp == 0x2028 || cp == 0x2029) return ZY__WP_SPACE;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_ZS: return ZY__WP_SPACE;
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CS:
        return ZY__WP_DROP;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return ZY__WP_PUNCT;
    case UTF8PROC_CATEGORY_MN: return ZY__WP_MARK;
    default: return is_cjk(cp) ? ZY__WP_CJK : ZY__WP_OTHER;
    }
}

int zy__wp_lower(int32_t cp, int32_t out[2]) {
    // Python's str.lower() uses the full mappings (SpecialCasing.txt); the only
    // unconditional one that differs from the simple mapping utf8proc gives is U+0130.
    // The conditional Final_Sigma rule never applies: BertTokenizer lower-cases each
    // character alone (its do_lower_case pass), and tokenizers' BertNormalizer maps
    // characters one by one, so U+03A3 always becomes U+03C3.
    if (cp == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = cp < 0x80 ? ((cp >= 'A' && cp <= 'Z') ? cp + 32 : cp) : utf8proc_tolower(cp);
    return 1;
}

int zy__wp_decompose(int32_t cp, int32_t out[4]) {
    if (cp < 0xC0) {
        out[0] = cp;
        return 1;
    }
    utf8proc_int32_t buf[8];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(cp, buf, 8, UTF8PROC_DECOMPOSE, &last);
    if (n < 1 || n > 4) { // cannot happen with Unicode's data; keep the character
        out[0] = cp;
        return 1;
    }
    for (utf8proc_ssize_t i = 0; i < n; i++) out[i] = buf[i];
    return (int)n;
}

void zy__wp_scratch_free(zy__wp_scratch *sc) {
    zy_free(sc->a);
    zy_free(sc->b);
    zy_free(sc->buf);
    zy_free(sc->pos);
    *sc = (zy__wp_scratch){0};
}

static zy_status grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return ZY_STATUS_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = zy_alloc(c * elem);
    if (!q) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "wordpiece: out of memory");
    if (*p) memcpy(q, *p, *cap * elem);
    zy_free(*p);
    *p = q;
    *cap = c;
    return ZY_STATUS_OK;
}

static int ccc(int32_t cp) {
    return cp < 0x300 ? 0 : utf8proc_get_property(cp)->combining_class;
}

// One whitespace-separated token sc->a[0..n): lower-case, strip accents, split off
// punctuation, and hand each resulting word to fn.
static zy_status flush(const zy__wp *opt, zy__wp_scratch *sc, size_t n, zy__wp_word_fn fn,
                       void *ctx) {
    zy_status s;
    if (!n) return ZY_STATUS_OK;
    if (opt->lowercase) {
        if ((s = grow((void **)&sc->b, &sc->cap_b, 2 * n, sizeof *sc->b))) return s;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t lo[2];
            int k = zy__wp_lower(sc->a[i].cp, lo);
            for (int j = 0; j < k; j++) sc->b[o++] = (zy__wp_char){lo[j], sc->a[i].start, sc->a[i].end};
        }
        zy__wp_char *x = sc->a;
        size_t cx = sc->cap_a;
        sc->a = sc->b, sc->cap_a = sc->cap_b;
        sc->b = x, sc->cap_b = cx;
        n = o;
    }
    if (zy__wp_strips(opt)) {
        if ((s = grow((void **)&sc->b, &sc->cap_b, 4 * n, sizeof *sc->b))) return s;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t d[4];
            int k = zy__wp_decompose(sc->a[i].cp, d);
            for (int j = 0; j < k; j++) {
                // Canonical ordering: a non-starter moves before the non-starters of
                // higher class just before it (a stable insertion sort of each run).
                zy__wp_char c = {d[j], sc->a[i].start, sc->a[i].end};
                int cc = ccc(c.cp);
                size_t at = o;
                while (cc && at > 0 && ccc(sc->b[at - 1].cp) > cc) at--;
                memmove(sc->b + at + 1, sc->b + at, (o - at) * sizeof *sc->b);
                sc->b[at] = c;
                o++;
            }
        }
        if ((s = grow((void **)&sc->a, &sc->cap_a, o, sizeof *sc->a))) return s;
        size_t m = 0;
        for (size_t i = 0; i < o; i++)
            if (zy__wp_class(sc->b[i].cp) != ZY__WP_MARK) sc->a[m++] = sc->b[i];
        n = m;
    }
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (zy__wp_class(sc->a[i].cp) != ZY__WP_PUNCT) continue;
        if (i > from && (s = fn(ctx, sc->a + from, i - from))) return s;
        if ((s = fn(ctx, sc->a + i, 1))) return s;
        from = i + 1;
    }
    if (n > from && (s = fn(ctx, sc->a + from, n - from))) return s;
    return ZY_STATUS_OK;
}

zy_status zy__wp_basic(const zy__wp *opt, const uint8_t *s, size_t len, size_t base,
                       zy__wp_scratch *sc, zy__wp_word_fn fn, void *ctx) {
    zy_status st;
    size_t n = 0; // characters of the current token in sc->a
    for (size_t i = 0; i < len;) {
        int32_t cp = s[i];
        size_t k = 1;
        if (cp >= 0x80) {
            utf8proc_int32_t c;
            utf8proc_ssize_t r = utf8proc_iterate(s + i, (utf8proc_ssize_t)ZY_MIN(len - i, 4), &c);
            if (r <= 0) { // invalid UTF-8: dropped, as U+FFFD would be
                i++;
                continue;
            }
            cp = c;
            k = (size_t)r;
        }
        int cls = zy__wp_class(cp);
        if (cls == ZY__WP_DROP) {
            i += k;
            continue;
        }
        if (cls == ZY__WP_SPACE || (cls == ZY__WP_CJK && opt->chinese)) {
            if ((st = flush(opt, sc, n, fn, ctx))) return st;
            n = 0;
        }
        if (cls != ZY__WP_SPACE) {
            // Room for the token's characters and their expansion (x2 lower, x4 NFD).
            if ((st = grow((void **)&sc->a, &sc->cap_a, 8 * (n + 1), sizeof *sc->a))) return st;
            sc->a[n++] = (zy__wp_char){cp, base + i, base + i + k};
            if (cls == ZY__WP_CJK && opt->chinese) {
                if ((st = flush(opt, sc, n, fn, ctx))) return st;
                n = 0;
            }
        }
        i += k;
    }
    return flush(opt, sc, n, fn, ctx);
}
