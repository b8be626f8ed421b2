// GPT-2's byte <-> unicode mapping (bytes_to_unicode in encoder.py): token strings in
// vocab.json / tokenizer.json spell raw bytes as printable characters, e.g. 'Ġ' (U+0120)
// for the space byte. Used only when reading and writing files; encoding works on raw
// bytes throughout.
#include "bpe.h"

// Code point for each byte: printable '!'..'~', '¡'..'¬', '®'..'ÿ' map to themselves;
// the other 68 bytes (0..32, 127..160, 173) get U+0100, U+0101, ... in byte order.
static int32_t cp_of(int b) {
    if (b <= 32) return 256 + b;
    if (b >= 127 && b <= 160) return 256 + 33 + (b - 127);
    if (b == 173) return 256 + 67;
    return b;
}

// The inverse: byte for a code point, -1 if outside the 256-character alphabet.
static int byte_of(int32_t cp) {
    if ((cp >= '!' && cp <= '~') || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return cp;
    int k = cp - 256;
    if (k < 0 || k > 67) return -1;
    if (k < 33) return k;
    if (k < 67) return 127 + (k - 33);
    return 173;
}

size_t zy__bytelevel_encode(const uint8_t *in, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t cp = cp_of(in[i]);
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else { // all mapped code points are below U+0800: two UTF-8 bytes
            out[o++] = (char)(0xC0 | (cp >> 6));
            out[o++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return o;
}

long zy__bytelevel_decode(const char *in, size_t n, uint8_t *out) {
    const uint8_t *s = (const uint8_t *)in;
    size_t i = 0, o = 0;
    while (i < n) {
        int32_t cp;
        if (s[i] < 0x80) {
            cp = s[i++];
        } else if ((s[i] & 0xE0) == 0xC0 && i + 1 < n && (s[i + 1] & 0xC0) == 0x80) {
            cp = ((s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F);
            if (cp < 0x80) return -1; // overlong
            i += 2;
        } else {
            return -1; // 3- and 4-byte characters are all outside the alphabet
        }
        int b = byte_of(cp);
        if (b < 0) return -1;
        out[o++] = (uint8_t)b;
    }
    return (long)o;
}
