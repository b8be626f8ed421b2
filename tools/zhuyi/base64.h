// Base64 (RFC 4648 section 4: the standard alphabet, '=' padding) for the server's JSON
// bodies: embeddings sent as base64 float32s, images received as base64 file bytes. Not
// here: the URL-safe alphabet (RFC 4648 section 5), which no endpoint takes.
#ifndef ZHUYI_CLI_BASE64_H
#define ZHUYI_CLI_BASE64_H

#include <stddef.h>

#include "strbuf.h"

// p[0..n) as base64, padded, appended to b (no line breaks).
void zy_cli_base64_encode(zy_strbuf *b, const unsigned char *p, size_t n);

// The most bytes s of n characters decodes to: room for zy_cli_base64_decode's out.
size_t zy_cli_base64_decoded_max(size_t n);

// s[0..n) decoded into out (zy_cli_base64_decoded_max(n) bytes): *out_n bytes. ASCII
// white space anywhere is skipped (`base64` wraps its lines at 76); the final padding
// may be given or left out, but nothing but white space follows it; a lone character in
// the last group (which holds no whole byte) is an error; non-zero bits left over in the
// last group are ignored (as most decoders do). 0, or -1 with *bad_at the offset of the
// first character at fault (n when the text ends too early) and *why a static reason.
int zy_cli_base64_decode(const char *s, size_t n, unsigned char *out, size_t *out_n,
                         size_t *bad_at, const char **why);

#endif
