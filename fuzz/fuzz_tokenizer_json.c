// libFuzzer harness: Hugging Face tokenizer.json (zy_tokenizer_load, src/text/load.c) and
// everything a loaded tokenizer does (save.c, encode.c, bpe_merge.c, pretok.c). The input
// is the file. Properties checked on every input:
//  - a refusal is ZY_STATUS_BAD_FORMAT or ZY_STATUS_UNSUPPORTED with a message naming
//    the file;
//  - an accepted tokenizer has the properties of tokenizer_check.c: a consistent
//    vocabulary, a lossless save -> load (same vocabulary size, tokens, kinds, merges and
//    ids for fixed strings and for the bytes of the input itself), exact decode of every
//    encoding, and the same BPE from both merge algorithms.
#include "tokenizer_check.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("tokenizer.json", data, size);
    zy_tokenizer *t = NULL;
    zy_status s = zy_tokenizer_load(&t, path);
    if (s) {
        FZ_CHECK(t == NULL);
        fz_expect_error(s, path, ZY_STATUS_BAD_FORMAT, ZY_STATUS_UNSUPPORTED,
                        ZY_STATUS_BAD_FORMAT);
        return 0;
    }
    fz_check_tokenizer(t, data, size);
    zy_tokenizer_free(t);
    return 0;
}
