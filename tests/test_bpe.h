// Helpers shared by the BPE tokenizer tests (test_bpe.c, test_bpe_files.c).
#ifndef ZHUYI_TESTS_TEST_BPE_H
#define ZHUYI_TESTS_TEST_BPE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuyi/tokenizer.h"

// The real GPT-2 tokenizer from build/data/gpt2 (loaded once). NULL and a recorded test
// failure naming scripts/data.sh if the files are missing: the tests fail, never skip.
zy_tokenizer *zt_bpe_gpt2(void);
// A JSON file (NULL + failure if missing or malformed); free with cJSON_Delete.
cJSON *zt_bpe_json(const char *path);
// Hex string -> bytes; returns the byte count.
size_t zt_unhex(const char *hex, uint8_t *out);
// Encode s[0..n), compare with want[0..n_want) when want is not NULL, decode and compare
// with s. Records a failure under label and returns 0 on any difference.
int zt_bpe_roundtrip(zy_tokenizer *t, const uint8_t *s, size_t n, unsigned flags,
                     const int32_t *want, size_t n_want, const char *label);

#endif
