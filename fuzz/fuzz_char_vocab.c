// libFuzzer harness: the CTC character vocabulary's files (src/data/speech_vocab.c):
// vocab.json with an optional tokenizer_config.json, loaded with zy_char_vocab_load, and
// what a loaded one does (encode, decode, save).
//
// Input: 1 control byte, then the body.
//   [0] bit 0: the body is vocab.json up to its first NUL byte and tokenizer_config.json
//       after it (otherwise vocab.json alone, no config); bit 1: also build a vocabulary
//       from the body's lines as texts (when the body is valid UTF-8)
// Properties:
//  - a refusal is BAD_FORMAT (OUT_OF_MEMORY aside) naming vocab.json or
//    tokenizer_config.json, and gives no vocabulary;
//  - accepted: at least 3 tokens, each non-empty, pad at 0, unk and delimiter distinct;
//    save -> load gives the same tokens and roles, and saving again the same bytes;
//  - encoding the body (as text) and fixed strings gives ids in range, which decode;
//  - built from lines: <pad> <unk> | first, then tokens in increasing code-point order,
//    and each line encodes without <unk> or <pad>.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static void check_encode(const zy_char_vocab *v, const char *t, size_t len) {
    size_t k;
    zy_status st = zy_char_vocab_encode(v, t, len, NULL, 0, &k);
    if (st == ZY_STATUS_BAD_FORMAT) return; // not UTF-8
    FZ_CHECK(k ? st == ZY_STATUS_INVALID_ARGUMENT : st == ZY_STATUS_OK);
    int32_t *ids = malloc((k + 1) * sizeof *ids);
    size_t k2;
    FZ_CHECK(zy_char_vocab_encode(v, t, len, ids, k, &k2) == 0 && k2 == k);
    for (size_t i = 0; i < k; i++) FZ_CHECK(ids[i] > 0 && ids[i] < zy_char_vocab_size(v));
    char *back;
    FZ_CHECK(zy_char_vocab_decode(v, ids, k, &back) == 0);
    zy_free(back);
    free(ids);
}

static void check_build(const char *body, size_t len) {
    // Lines as NUL-terminated texts (a NUL inside a line ends it early).
    char *copy = malloc(len + 1);
    memcpy(copy, body, len);
    copy[len] = 0;
    const char **texts = malloc((len + 1) * sizeof *texts);
    size_t n = 0;
    for (char *p = copy;;) {
        texts[n++] = p;
        char *nl = memchr(p, '\n', (size_t)(copy + len - p));
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    zy_char_vocab *v = NULL;
    zy_status st = zy_char_vocab_build(&v, texts, n);
    if (st) {
        FZ_CHECK(st == ZY_STATUS_BAD_FORMAT && !v && strstr(zy_last_error(), "text "));
    } else {
        int V = zy_char_vocab_size(v);
        FZ_CHECK(V >= 3 && !strcmp(zy_char_vocab_token(v, 0), "<pad>") &&
                 !strcmp(zy_char_vocab_token(v, 1), "<unk>") &&
                 !strcmp(zy_char_vocab_token(v, 2), "|"));
        // Code-point order is the UTF-8 strings' byte order.
        for (int i = 4; i < V; i++)
            FZ_CHECK(strcmp(zy_char_vocab_token(v, i - 1), zy_char_vocab_token(v, i)) < 0);
        for (size_t i = 0; i < n; i++) {
            size_t k;
            zy_char_vocab_encode(v, texts[i], strlen(texts[i]), NULL, 0, &k);
            int32_t *ids = malloc((k + 1) * sizeof *ids);
            FZ_CHECK(zy_char_vocab_encode(v, texts[i], strlen(texts[i]), ids, k, &k) == 0);
            for (size_t j = 0; j < k; j++) FZ_CHECK(ids[j] >= 2 && ids[j] < V);
            free(ids);
        }
        zy_char_vocab_free(v);
    }
    free(texts);
    free(copy);
}

static void check_same(const zy_char_vocab *a, const zy_char_vocab *b) {
    FZ_CHECK(zy_char_vocab_size(a) == zy_char_vocab_size(b));
    for (int i = 0; i < zy_char_vocab_size(a); i++)
        FZ_CHECK(!strcmp(zy_char_vocab_token(a, i), zy_char_vocab_token(b, i)));
    FZ_CHECK(zy_char_vocab_pad(a) == zy_char_vocab_pad(b) &&
             zy_char_vocab_unk(a) == zy_char_vocab_unk(b) &&
             zy_char_vocab_delim(a) == zy_char_vocab_delim(b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned c = data[0];
    const char *body = (const char *)data + 1;
    size_t len = size - 1, vlen = len;
    const char *nul = (c & 1) ? memchr(body, 0, len) : NULL;
    if (nul) vlen = (size_t)(nul - body);
    const char *vocab_path = fz_write("vocab.json", body, vlen);
    if (nul) fz_write("tokenizer_config.json", nul + 1, len - vlen - 1);
    else unlink(fz_path("tokenizer_config.json"));
    char dir[512];
    snprintf(dir, sizeof dir, "%.*s", (int)(strlen(vocab_path) - strlen("/vocab.json")),
             vocab_path);
    zy_char_vocab *v = NULL;
    zy_status st = zy_char_vocab_load(&v, dir);
    if (st) {
        FZ_CHECK(!v);
        FZ_CHECKF(st == ZY_STATUS_BAD_FORMAT || st == ZY_STATUS_OUT_OF_MEMORY, "status %d: %s",
                  (int)st, zy_last_error());
        FZ_CHECKF(strstr(zy_last_error(), "vocab.json") ||
                  strstr(zy_last_error(), "tokenizer_config.json"), "%s", zy_last_error());
    } else {
        int V = zy_char_vocab_size(v);
        FZ_CHECK(V >= 3 && zy_char_vocab_pad(v) == 0);
        FZ_CHECK(zy_char_vocab_unk(v) != zy_char_vocab_delim(v) && zy_char_vocab_unk(v) > 0 &&
                 zy_char_vocab_delim(v) > 0);
        for (int i = 0; i < V; i++) FZ_CHECK(zy_char_vocab_token(v, i)[0]);
        char out[600];
        snprintf(out, sizeof out, "%s/saved", dir);
        FZ_CHECKF(zy_char_vocab_save(v, out) == 0, "save: %s", zy_last_error());
        zy_char_vocab *w = NULL;
        FZ_CHECKF(zy_char_vocab_load(&w, out) == 0, "load of the saved: %s", zy_last_error());
        check_same(v, w);
        char vj[700];
        snprintf(vj, sizeof vj, "%s/vocab.json", out);
        size_t n1, n2;
        unsigned char *b1 = fz_read(vj, &n1);
        FZ_CHECK(b1 && zy_char_vocab_save(w, out) == 0);
        unsigned char *b2 = fz_read(vj, &n2);
        FZ_CHECK(b2 && n1 == n2 && !memcmp(b1, b2, n1));
        free(b1);
        free(b2);
        zy_char_vocab_free(w);
        static const char *const fixed[] = {"", " hello  World ", "a|b", "\xef\xb7\xba x"};
        for (int i = 0; i < 4; i++) check_encode(v, fixed[i], strlen(fixed[i]));
        check_encode(v, body, len);
        zy_char_vocab_free(v);
    }
    if (c & 2) check_build(body, len);
    return 0;
}
