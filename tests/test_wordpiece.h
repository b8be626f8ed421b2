// Helpers shared by the WordPiece tokenizer tests (test_wordpiece.c, test_wordpiece_files.c).
#ifndef ZHUYI_TESTS_TEST_WORDPIECE_H
#define ZHUYI_TESTS_TEST_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "zhuyi/tokenizer.h"

#define ZT_BERT_VOCAB "build/data/bert-base-uncased/vocab.txt"

// bert-base-uncased's vocab.txt loaded in a mode of tests/ref_wordpiece.py ("uncased",
// "cased", "lower_keep_accents", "uncased_no_cjk"), once. NULL and a recorded failure
// naming scripts/data.sh if the file is missing: the tests fail, never skip.
zy_tokenizer *zt_bert(const char *mode);
// Encode s[0..n) without added tokens, with byte offsets; ids and off (2x) need room
// for n + 1 tokens. Returns the count (0 and a failure on error).
size_t zt_wp_encode(zy_tokenizer *t, const uint8_t *s, size_t n, unsigned flags,
                    int32_t *ids, size_t *off);

#endif
