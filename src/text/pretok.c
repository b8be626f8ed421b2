// The GPT-2 pre-tokenizer as a hand-written scanner (no regex library), with exactly the
// semantics of Python `regex` on the pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// Alternatives are tried in order at the current position and the first that matches
// wins (regex alternation is ordered, not longest). Not for other pre-tokenizer patterns.
#include <utf8proc.h>

#include "bpe.h"

enum { C_OTHER = 0, C_LETTER = 1, C_NUMBER = 2, C_SPACE = 3 };

int zy__pretok_class_cp(int32_t cp) {
    // \s in Python `regex` on str patterns is the Unicode White_Space property. Its 25
    // members are listed by hand because utf8proc has no property lookup for it (the
    // list is fixed by Unicode and has not changed since 6.3).
    switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return C_SPACE;
    default: break;
    }
    if (cp >= 0x2000 && cp <= 0x200A) return C_SPACE;
    if (cp < 0x80) { // ASCII fast path
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return C_LETTER;
        if (cp >= '0' && cp <= '9') return C_NUMBER;
        return C_OTHER;
    }
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return C_LETTER;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return C_NUMBER;
    default: return C_OTHER;
    }
}

// ASCII classes, the common case, by table (same values as zy__pretok_class_cp).
#define A(c) ((((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z') ? C_LETTER                      \
              : ((c) >= '0' && (c) <= '9')                 ? C_NUMBER                      \
              : ((c) == ' ' || ((c) >= 9 && (c) <= 13))    ? C_SPACE                       \
                                                           : C_OTHER)
#define A4(c) A(c), A(c + 1), A(c + 2), A(c + 3)
#define A16(c) A4(c), A4(c + 4), A4(c + 8), A4(c + 12)
static const uint8_t ascii_class[128] = {A16(0),  A16(16), A16(32), A16(48),
                                         A16(64), A16(80), A16(96), A16(112)};

int zy__pretok_class(const uint8_t *s, size_t len, size_t *n) {
    uint8_t c = s[0];
    if (c < 0x80) {
        *n = 1;
        return ascii_class[c];
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate(s, (utf8proc_ssize_t)(len < 4 ? len : 4), &cp);
    if (k <= 0 || cp < 0) { // invalid byte: a character of its own, class "other"
        *n = 1;
        return C_OTHER;
    }
    *n = (size_t)k;
    return zy__pretok_class_cp(cp);
}

// End of the run of characters of class cls starting at i (i itself not checked).
static size_t run_of(const uint8_t *s, size_t len, size_t i, int cls) {
    while (i < len) {
        size_t n;
        int c = zy__pretok_class(s + i, len - i, &n);
        if (c != cls) break;
        i += n;
    }
    return i;
}

// Run of "[^\s\p{L}\p{N}]": class other.
size_t zy__pretok_next(const uint8_t *s, size_t len) {
    // 's 't 're 've 'm 'll 'd (lowercase only, like GPT-2's pattern).
    if (s[0] == '\'' && len >= 2) {
        uint8_t a = s[1];
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (len >= 3) {
            uint8_t b = s[2];
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
                return 3;
        }
    }
    size_t n0;
    int c0 = zy__pretok_class(s, len, &n0);
    // ` ?X+` for X = letter, number, other: an optional single U+0020 then a run.
    if (s[0] == ' ' && len > 1) {
        size_t n1;
        int c1 = zy__pretok_class(s + 1, len - 1, &n1);
        if (c1 != C_SPACE) return run_of(s, len, 1 + n1, c1);
    }
    if (c0 != C_SPACE) return run_of(s, len, n0, c0);
    // Whitespace. \s+(?!\S): the whole run if it ends the text (or is followed by more
    // space, impossible for a maximal run); otherwise backtrack one character so the
    // next token (" word" or a lone "\n" before a word) gets the last one -- possible
    // only if the run has at least two characters. Else \s+ takes the single character.
    size_t end = n0, last = 0; // last = start of the run's final character
    while (end < len) {
        size_t n;
        if (zy__pretok_class(s + end, len - end, &n) != C_SPACE) break;
        last = end;
        end += n;
    }
    if (end == len) return end;
    return last > 0 ? last : end;
}
