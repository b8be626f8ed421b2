// Text files -> one token stream (zy_dataset_encode_files, data.h). Not here: cutting the
// stream into batches (lm_stream.c).
#include <string.h>

#include "core/internal.h"
#include "zhuyi/data.h"

zy_status zy_dataset_encode_files(zy_tokenizer *tok, const char *const *files, int n,
                                  int32_t **tokens, size_t *n_tokens) {
    if (!tok || !files || n <= 0 || !tokens || !n_tokens)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "dataset: no files to encode");
    *tokens = NULL;
    *n_tokens = 0;
    int eot = zy_tokenizer_find(tok, "<|endoftext|>", 13);
    int32_t *all = NULL;
    size_t len_all = 0;
    zy_status s = ZY_STATUS_OK;
    for (int i = 0; i < n && !s; i++) {
        char *text;
        size_t len;
        if ((s = zy_file_read(files[i], &text, &len))) break;
        if (len == 0) {
            zy_free(text);
            s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: the file is empty", files[i]);
            break;
        }
        // Every token covers at least one byte, so len ids always suffice; +1 for the
        // separator between files.
        size_t cap = len_all + len + 1;
        int32_t *grown = zy_alloc(cap * sizeof *grown);
        if (!grown) {
            zy_free(text);
            s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for %zu tokens",
                          files[i], cap);
            break;
        }
        if (len_all) memcpy(grown, all, len_all * sizeof *all);
        zy_free(all);
        all = grown;
        if (i > 0 && eot >= 0) all[len_all++] = eot;
        size_t got = 0;
        s = zy_tokenizer_encode_parallel(tok, text, len, 0, all + len_all, cap - len_all, &got);
        zy_free(text);
        if (s) {
            s = zy__error(s, "%s: %s", files[i], zy_last_error());
            break;
        }
        len_all += got;
    }
    if (s) {
        zy_free(all);
        return s;
    }
    *tokens = all;
    *n_tokens = len_all;
    return ZY_STATUS_OK;
}
