// Helpers of the instruction-data tests (instruct_util.h).
#include <string.h>

#include "harness.h"
#include "instruct_util.h"

zy_tokenizer *zt_byte_tokenizer(void) {
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 257;
    zy_tokenizer *tok = NULL;
    if (zy_tokenizer_train_bpe_texts(&tok, NULL, NULL, 0, bp)) {
        zt_fail(__FILE__, __LINE__, "byte tokenizer: %s", zy_last_error());
        return NULL;
    }
    int32_t ids[4];
    size_t n = 0;
    if (zy_tokenizer_find(tok, "<|endoftext|>", 13) != 256 ||
        zy_tokenizer_encode(tok, "A\xc3\xa9", 3, 0, ids, 4, &n) || n != 3 || ids[0] != 65 ||
        ids[1] != 0xc3 || ids[2] != 0xa9) {
        zt_fail(__FILE__, __LINE__, "the byte tokenizer is not id = byte, 256 = end");
        zy_tokenizer_free(tok);
        return NULL;
    }
    return tok;
}

zy_instruct_data *zt_instruct_read(const char *name, const char *text, bool skip_bad_rows) {
    zy_instruct_read_params p = zy_instruct_read_default_params();
    p.skip_bad_rows = skip_bad_rows;
    zy_instruct_data *d = NULL;
    if (zy_instruct_data_read_buffer(&d, name, text, strlen(text), &p)) {
        zt_fail(__FILE__, __LINE__, "%s: %s", name, zy_last_error());
        return NULL;
    }
    return d;
}

bool zt_instruct_fails(const char *name, const char *text, const char *const *needles) {
    zy_instruct_read_params p = zy_instruct_read_default_params();
    zy_instruct_data *d = NULL;
    zy_status st = zy_instruct_data_read_buffer(&d, name, text, strlen(text), &p);
    if (!st) {
        zt_fail(__FILE__, __LINE__, "%s: read, expected an error", name);
        zy_instruct_data_free(d);
        return false;
    }
    bool ok = st == ZY_STATUS_BAD_FORMAT && d == NULL;
    for (int i = 0; needles[i]; i++) ok = ok && strstr(zy_last_error(), needles[i]) != NULL;
    if (!ok)
        zt_fail(__FILE__, __LINE__, "%s: status %d, message '%s'", name, (int)st,
                zy_last_error());
    return ok;
}
