// Properties of a tokenizer loaded from fuzzed files (tokenizer_check.h):
//  - vocabulary: 256 <= size <= 2^24; every used id's bytes are non-empty and
//    zy_tokenizer_find gives the id back (up to 65536 ids checked, spread over the range);
//    every single byte has a token;
//  - zy_tokenizer_save -> zy_tokenizer_load: the same vocabulary size and merge count,
//    every id the same bytes and the same kind (ordinary, added, special); saving the
//    reloaded tokenizer gives the same bytes;
//  - encoding a few fixed strings and the fuzz input itself, with and without
//    ZY_ENCODE_SPECIAL, gives the same ids with both tokenizers, at most one id per byte,
//    and decodes to exactly the bytes encoded; one id less of room is refused
//    (ZY_STATUS_INVALID_ARGUMENT), never overrun;
//  - the two BPE algorithms (rescan, heap) give the same ids on every pre-token of the
//    input (up to 1024 bytes) and on the input taken as one word (up to 256 bytes), and
//    those ids decode to the word;
//    pre-tokens are 1..len bytes.
#include <stdlib.h>
#include <string.h>

#include "text/bpe.h"
#include "tokenizer_check.h"
#include "util.h"

static const char *const FIXED[] = {
    "Hello world",
    " the quick brown fox's 12 jumps 've  over\n\n the dog",
    "<|endoftext|>",
    "a<|endoftext|>b<|endoftext|>",
    "h\xc3\xa9llo \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87 caf\xc3\xa9",
    "\xff\xfe\x80 \xc0\xaf \xed\xa0\x80",
    "  \n\n\t x  ",
    "",
};

// Ids to check: all of a vocabulary up to 65536, else 65536 spread evenly, and the last.
static int next_id(int id, int V) {
    int step = V <= 65536 ? 1 : V / 65536 + 1;
    if (id == V - 1) return V;
    return id + step < V ? id + step : V - 1;
}

static void check_vocab(const zy_tokenizer *t) {
    int V = zy_tokenizer_vocab_size(t);
    FZ_CHECK(V >= 256 && V <= (1 << 24));
    FZ_CHECK(zy_tokenizer_merge_count(t) >= 0);
    size_t len = 7;
    FZ_CHECK(!zy_tokenizer_token_bytes(t, -1, &len) && len == 0);
    FZ_CHECK(!zy_tokenizer_token_bytes(t, V, &len) && len == 0);
    for (int id = 0; id < V; id = next_id(id, V)) {
        const char *b = zy_tokenizer_token_bytes(t, id, &len);
        if (!b) continue;
        FZ_CHECK(len >= 1);
        FZ_CHECKF(zy_tokenizer_find(t, b, len) == id, "token %d not found by its bytes", id);
    }
    for (int c = 0; c < 256; c++) {
        char b = (char)c;
        FZ_CHECKF(zy_tokenizer_find(t, &b, 1) >= 0, "no token for byte %02x", c);
    }
}

// s[0..n) encodes to the same ids with t and u, which decode to s.
static void encode_same(zy_tokenizer *t, zy_tokenizer *u, const char *s, size_t n,
                        unsigned flags) {
    int32_t *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
    char *out = malloc(n + 1);
    FZ_CHECK(a && b && out);
    size_t na = 0, nb = 0, len = 0;
    FZ_CHECK(zy_tokenizer_encode(t, s, n, flags, a, n, &na) == ZY_STATUS_OK);
    FZ_CHECK(na <= n);
    FZ_CHECK(zy_tokenizer_encode(u, s, n, flags, b, n, &nb) == ZY_STATUS_OK);
    FZ_CHECKF(na == nb && !memcmp(a, b, na * sizeof *a),
              "ids differ after save and load (%zu and %zu ids, flags %u)", na, nb, flags);
    FZ_CHECK(zy_tokenizer_decode(t, a, na, NULL, 0, &len) == ZY_STATUS_OK && len == n);
    FZ_CHECK(zy_tokenizer_decode(t, a, na, out, n, &len) == ZY_STATUS_OK);
    FZ_CHECKF(len == n && !memcmp(out, s, n), "decode(encode(%zu bytes)) gives %zu bytes", n,
              len);
    if (na > 0) {
        // Exactly one id too few of room, in a buffer of that size (ASan sees overruns).
        int32_t *tight = malloc((na - 1) * sizeof *tight + 1);
        FZ_CHECK(tight);
        FZ_CHECK(zy_tokenizer_encode(t, s, n, flags, tight, na - 1, &nb) ==
                 ZY_STATUS_INVALID_ARGUMENT);
        free(tight);
        if (n > 0)
            FZ_CHECK(zy_tokenizer_decode(t, a, na, out, n - 1, &len) ==
                     ZY_STATUS_INVALID_ARGUMENT);
    }
    free(out);
    free(b);
    free(a);
}

// Both BPE algorithms on one word.
static void bpe_same(const zy_tokenizer *t, const uint8_t *w, size_t n) {
    if (n == 0 || n > 1024) return;
    int32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    void *scratch = malloc(zy__bpe_scratch_size(n));
    char *out = malloc(n);
    FZ_CHECK(a && b && scratch && out);
    size_t na = zy__bpe_word_scan(t, w, n, a), nb = zy__bpe_word_heap(t, w, n, b, scratch);
    FZ_CHECKF(na == nb && !memcmp(a, b, na * sizeof *a),
              "BPE rescan and heap differ on a %zu-byte word (%zu and %zu ids)", n, na, nb);
    FZ_CHECK(na >= 1 && na <= n);
    size_t len = 0;
    FZ_CHECK(zy_tokenizer_decode(t, a, na, out, n, &len) == ZY_STATUS_OK);
    FZ_CHECK(len == n && !memcmp(out, w, n));
    free(out);
    free(scratch);
    free(b);
    free(a);
}

void fz_check_tokenizer(zy_tokenizer *t, const uint8_t *input, size_t n) {
    check_vocab(t);
    const char *p1 = fz_path("tokenizer1.json"), *p2 = fz_path("tokenizer2.json");
    zy_status s = zy_tokenizer_save(t, p1);
    FZ_CHECKF(s == ZY_STATUS_OK, "save failed");
    zy_tokenizer *u = NULL;
    s = zy_tokenizer_load(&u, p1);
    FZ_CHECKF(s == ZY_STATUS_OK, "the saved tokenizer.json does not load");
    int V = zy_tokenizer_vocab_size(t);
    FZ_CHECK(zy_tokenizer_vocab_size(u) == V);
    FZ_CHECK(zy_tokenizer_merge_count(u) == zy_tokenizer_merge_count(t));
    for (int id = 0; id < V; id = next_id(id, V)) {
        size_t la, lb;
        const char *a = zy_tokenizer_token_bytes(t, id, &la);
        const char *b = zy_tokenizer_token_bytes(u, id, &lb);
        FZ_CHECKF(!a == !b && la == lb && (!a || !memcmp(a, b, la)),
                  "token %d changed by save and load", id);
        FZ_CHECKF(t->tok_added[id] == u->tok_added[id], "token %d: kind %d became %d", id,
                  t->tok_added[id], u->tok_added[id]);
    }
    for (int r = 0; r < zy_tokenizer_merge_count(t); r++)
        FZ_CHECKF(t->merge_a[r] == u->merge_a[r] && t->merge_b[r] == u->merge_b[r],
                  "merge %d changed by save and load", r);
    FZ_CHECK(zy_tokenizer_save(u, p2) == ZY_STATUS_OK);
    size_t n1, n2;
    unsigned char *b1 = fz_read(p1, &n1), *b2 = fz_read(p2, &n2);
    FZ_CHECK(b1 && b2);
    FZ_CHECKF(n1 == n2 && !memcmp(b1, b2, n1), "saving the reloaded tokenizer gives other bytes");
    free(b1);
    free(b2);

    for (size_t i = 0; i < sizeof FIXED / sizeof FIXED[0]; i++)
        for (unsigned flags = 0; flags <= ZY_ENCODE_SPECIAL; flags++)
            encode_same(t, u, FIXED[i], strlen(FIXED[i]), flags);
    for (unsigned flags = 0; flags <= ZY_ENCODE_SPECIAL; flags++)
        encode_same(t, u, (const char *)input, n, flags);

    for (size_t i = 0; i < n;) {
        size_t k = zy__pretok_next(input + i, n - i);
        FZ_CHECK(k >= 1 && k <= n - i);
        bpe_same(t, input + i, k);
        i += k;
    }
    if (n <= 256) bpe_same(t, input, n); // the rescan is quadratic: short inputs only
    zy_tokenizer_free(u);
}
