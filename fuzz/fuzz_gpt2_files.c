// libFuzzer harness: GPT-2's vocab.json + merges.txt (zy_tokenizer_load_gpt2,
// src/text/load.c). The input is both files: vocab.json up to the first NUL byte,
// merges.txt after it (no NUL: an empty merges.txt). Properties checked on every input:
//  - a refusal is ZY_STATUS_BAD_FORMAT (or UNSUPPORTED for a NUL character in vocab.json,
//    as FORMATS.md says) with a message naming one of the two files;
//  - an accepted tokenizer has the properties of tokenizer_check.c (consistent
//    vocabulary, lossless tokenizer.json round trip, exact decode, same BPE from both
//    merge algorithms), and "<|endoftext|>", when the vocabulary has it, is a special
//    token: with ZY_ENCODE_SPECIAL its text is that one id.
#include <string.h>

#include "text/bpe.h"
#include "tokenizer_check.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t nv = nul ? (size_t)(nul - data) : size;
    const char *vocab = fz_write("vocab.json", data, nv);
    const char *merges = fz_write("merges.txt", nul ? nul + 1 : data, nul ? size - nv - 1 : 0);
    zy_tokenizer *t = NULL;
    zy_status s = zy_tokenizer_load_gpt2(&t, vocab, merges);
    if (s) {
        FZ_CHECK(t == NULL);
        FZ_CHECKF(s == ZY_STATUS_BAD_FORMAT ||
                  (s == ZY_STATUS_UNSUPPORTED && strstr(zy_last_error(), "NUL")),
                  "unexpected status %d", (int)s);
        FZ_CHECKF(strstr(zy_last_error(), vocab) || strstr(zy_last_error(), merges),
                  "the message names neither file");
        return 0;
    }
    int eot = zy_tokenizer_find(t, "<|endoftext|>", 13);
    if (eot >= 0) {
        FZ_CHECK(t->tok_added[eot] == 2);
        int32_t ids[13];
        size_t n = 0;
        FZ_CHECK(zy_tokenizer_encode(t, "<|endoftext|>", 13, ZY_ENCODE_SPECIAL, ids, 13, &n) ==
                 ZY_STATUS_OK);
        FZ_CHECK(n == 1 && ids[0] == eot);
    }
    fz_check_tokenizer(t, data, size);
    zy_tokenizer_free(t);
    return 0;
}
