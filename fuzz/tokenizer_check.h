// The properties every loaded tokenizer must have, shared by the tokenizer harnesses
// (fuzz_tokenizer_json.c, fuzz_gpt2_files.c). See tokenizer_check.c.
#ifndef ZHUYI_FUZZ_TOKENIZER_CHECK_H
#define ZHUYI_FUZZ_TOKENIZER_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "zhuyi/tokenizer.h"

// Check t (loaded from fuzzed files; `input` is the fuzz input, whose bytes are encoded
// too) and its tokenizer.json round trip. Aborts on a violated property.
void fz_check_tokenizer(zy_tokenizer *t, const uint8_t *input, size_t n);

#endif
