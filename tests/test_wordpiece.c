// Tests of the WordPiece tokenizer against the independent Python reference
// (tests/ref_wordpiece.py -> tests/ref/wordpiece_bert.json) on the real bert-base-uncased
// vocabulary (build/data/bert-base-uncased/vocab.txt, scripts/data.sh bert-vocab):
// per-code-point Unicode data, hard strings in four modes (ids and byte offsets), every
// line of the King James Bible and Jane Austen's novels (digests per 256 lines), pairs
// with truncation and padding, decoding. Files, errors and training: test_wordpiece_files.c.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "harness.h"
#include "test_bpe.h"
#include "test_wordpiece.h"
#include "text/wordpiece.h"
#include "zhuyi/core.h"
#include "zhuyi/tokenizer.h"

static const char *const mode_names[] = {"uncased", "cased", "lower_keep_accents",
                                         "uncased_no_cjk"};

zy_tokenizer *zt_bert(const char *mode) {
    static zy_tokenizer *t[4];
    static int tried[4];
    int m = 0;
    while (m < 4 && strcmp(mode, mode_names[m])) m++;
    if (m == 4) {
        zt_fail(__FILE__, __LINE__, "unknown mode %s", mode);
        return NULL;
    }
    if (!tried[m]) {
        tried[m] = 1;
        zy_tokenizer_load_params p = zy_tokenizer_load_default_params();
        if (m == 1) p.lowercase = 0;
        if (m == 2) p.strip_accents = 0;
        if (m == 3) p.tokenize_chinese_chars = 0;
        if (zy_tokenizer_load_with(&t[m], ZT_BERT_VOCAB, p)) t[m] = NULL;
    }
    if (!t[m])
        zt_fail(__FILE__, __LINE__, "%s missing or unreadable (run: scripts/data.sh "
                "bert-vocab): %s", ZT_BERT_VOCAB, zy_last_error());
    return t[m];
}

// Encode with offsets, no added tokens. Returns the count; ids/off need len + 1 entries.
size_t zt_wp_encode(zy_tokenizer *t, const uint8_t *s, size_t n, unsigned flags,
                    int32_t *ids, size_t *off) {
    zy_encode_params p = zy_encode_default_params();
    p.add_special = 0;
    p.flags = flags;
    zy_encoding e = {.ids = ids, .offsets = off, .cap = n + 1};
    if (zy_tokenizer_encode_pair(t, (const char *)s, n, NULL, 0, p, &e)) {
        zt_fail(__FILE__, __LINE__, "encode failed: %s", zy_last_error());
        return 0;
    }
    return e.n;
}

static int in_runs(const cJSON *runs, int32_t cp) {
    const cJSON *r;
    cJSON_ArrayForEach(r, runs) {
        if (cp >= cJSON_GetArrayItem(r, 0)->valueint && cp <= cJSON_GetArrayItem(r, 1)->valueint)
            return 1;
    }
    return 0;
}

TEST(wordpiece_unicode_tables_match_python) {
    cJSON *j = zt_bpe_json("tests/ref/wordpiece_bert.json");
    ASSERT(j);
    const cJSON *unassigned = cJSON_GetObjectItem(j, "unassigned");
    const char *what[] = {"classes", "ccc"};
    for (int k = 0; k < 2; k++) {
        cJSON *runs = cJSON_GetObjectItem(j, what[k]);
        int nr = cJSON_GetArraySize(runs), bad = 0, newer = 0;
        for (int r = 0; r < nr; r++) {
            cJSON *run = cJSON_GetArrayItem(runs, r);
            int32_t lo = cJSON_GetArrayItem(run, 0)->valueint, want = cJSON_GetArrayItem(run, 1)->valueint;
            int32_t hi = r + 1 < nr ? cJSON_GetArrayItem(cJSON_GetArrayItem(runs, r + 1), 0)->valueint
                                    : 0x110000;
            for (int32_t cp = lo; cp < hi; cp++) {
                if (cp >= 0xD800 && cp <= 0xDFFF) continue;
                int got = k ? utf8proc_get_property(cp)->combining_class : zy__wp_class(cp);
                if (got == want) continue;
                // Assigned in utf8proc's newer Unicode, unassigned in Python's: expected.
                if (in_runs(unassigned, cp)) {
                    newer++;
                    continue;
                }
                if (bad++ < 5) zt_note("%s U+%04X: %d, python %d", what[k], (unsigned)cp, got, want);
            }
        }
        zt_note("%s: %d code points differ from Python's unicodedata %s (tolerance 0); %d more "
                "are unassigned in Python's Unicode but not in utf8proc %s", what[k], bad,
                cJSON_GetObjectItem(j, "unicode")->valuestring, newer, utf8proc_unicode_version());
        CHECK(bad == 0);
    }
    // Lower-casing and NFD, code point by code point (listed: those that change).
    const char *maps[] = {"lower", "nfd"};
    for (int k = 0; k < 2; k++) {
        int bad = 0, n = 0, newer = 0;
        const cJSON *e;
        uint8_t listed[0x110000 / 8] = {0};
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, maps[k])) {
            int32_t cp = cJSON_GetArrayItem(e, 0)->valueint, out[4];
            int m = k ? zy__wp_decompose(cp, out) : zy__wp_lower(cp, out), want = cJSON_GetArraySize(e) - 1;
            listed[cp / 8] |= (uint8_t)(1 << (cp % 8));
            int same = m == want;
            for (int i = 0; same && i < m; i++) same = out[i] == cJSON_GetArrayItem(e, i + 1)->valueint;
            if (!same && bad++ < 5) zt_note("%s U+%04X differs from Python", maps[k], (unsigned)cp);
            n++;
        }
        // Code points Python leaves alone must stay alone (Hangul NFD is checked by cases).
        for (int32_t cp = 0; cp < 0x110000; cp++) {
            if ((cp >= 0xD800 && cp <= 0xDFFF) || (k && cp >= 0xAC00 && cp <= 0xD7A3) ||
                (listed[cp / 8] >> (cp % 8) & 1))
                continue;
            int32_t out[4];
            int m = k ? zy__wp_decompose(cp, out) : zy__wp_lower(cp, out);
            if (m == 1 && out[0] == cp) continue;
            if (in_runs(unassigned, cp)) {
                newer++;
                continue;
            }
            if (bad++ < 5) zt_note("%s U+%04X changes here, not in Python", maps[k], (unsigned)cp);
        }
        zt_note("%s: %d mappings listed, %d differences (tolerance 0), %d on code points "
                "Python's Unicode does not assign", maps[k], n, bad, newer);
        CHECK(bad == 0);
    }
    cJSON_Delete(j);
}

TEST(wordpiece_bert_hello) {
    zy_tokenizer *t = zt_bert("uncased");
    ASSERT(t);
    ASSERT_EQ_INT(zy_tokenizer_vocab_size(t), 30522);
    ASSERT_EQ_INT(zy_tokenizer_get_type(t), ZY_TOKENIZER_WORDPIECE);
    int32_t ids[16];
    size_t n;
    ASSERT(!zy_tokenizer_encode(t, "Hello world! unaffable", 22, 0, ids, 16, &n));
    const int32_t want[] = {7592, 2088, 999, 14477, 20961, 3468};
    ASSERT_EQ_INT(n, 6);
    CHECK(!memcmp(ids, want, sizeof want));
    int32_t id;
    const int32_t roles[][2] = {{ZY_SPECIAL_PAD, 0}, {ZY_SPECIAL_UNK, 100}, {ZY_SPECIAL_CLS, 101},
                                {ZY_SPECIAL_SEP, 102}, {ZY_SPECIAL_MASK, 103}};
    for (int r = 0; r < 5; r++) {
        CHECK(!zy_tokenizer_special_id(t, (zy_special)roles[r][0], &id));
        CHECK(id == roles[r][1]);
    }
    CHECK(zy_tokenizer_special_id(t, ZY_SPECIAL_EOS, &id) == ZY_STATUS_NOT_FOUND && id == -1);
    CHECK(strstr(zy_last_error(), "vocab.txt") != NULL);
}

TEST(wordpiece_bert_matches_reference) {
    cJSON *j = zt_bpe_json("tests/ref/wordpiece_bert.json");
    ASSERT(j && zt_bert("uncased"));
    uint8_t *s = zt_malloc(1 << 16);
    int32_t *ids = zt_malloc((1 << 16) * sizeof *ids), *seq = zt_malloc((1 << 16) * sizeof *seq);
    size_t *off = zt_malloc((1 << 17) * sizeof *off);
    int n_cases = 0, bad = 0;
    size_t total = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "cases")) {
        const char *mode = cJSON_GetObjectItem(c, "mode")->valuestring;
        unsigned flags = cJSON_GetObjectItem(c, "special")->valueint ? ZY_ENCODE_SPECIAL : 0;
        zy_tokenizer *t = zt_bert(mode);
        ASSERT(t);
        size_t n = zt_unhex(cJSON_GetObjectItem(c, "hex")->valuestring, s);
        size_t k = zt_wp_encode(t, s, n, flags, ids, off), k2 = 0;
        const cJSON *want_ids = cJSON_GetObjectItem(c, "ids"), *want_off = cJSON_GetObjectItem(c, "offsets");
        int ok = (int)k == cJSON_GetArraySize(want_ids);
        for (size_t i = 0; ok && i < k; i++)
            ok = ids[i] == cJSON_GetArrayItem(want_ids, (int)i)->valueint &&
                 off[2 * i] == (size_t)cJSON_GetArrayItem(want_off, (int)(2 * i))->valueint &&
                 off[2 * i + 1] == (size_t)cJSON_GetArrayItem(want_off, (int)(2 * i + 1))->valueint;
        // The plain encoder gives the same ids.
        ok = ok && !zy_tokenizer_encode(t, (char *)s, n, flags, seq, n + 1, &k2) && k2 == k &&
             !memcmp(seq, ids, k * sizeof *ids);
        if (!ok && bad++ < 5) {
            size_t i = 0;
            while (i < k && (int)i < cJSON_GetArraySize(want_ids) &&
                   ids[i] == cJSON_GetArrayItem(want_ids, (int)i)->valueint)
                i++;
            zt_note("case %d (%s%s, %zu bytes: %.40s): %zu tokens, reference %d; first id "
                    "difference at %zu", n_cases, mode, flags ? ", special" : "", n, (char *)s,
                    k, cJSON_GetArraySize(want_ids), i);
        }
        total += k;
        n_cases++;
    }
    zt_note("%d reference strings in 4 modes, %zu tokens: %d differ in ids or offsets "
            "(tolerance 0)", n_cases, total, bad);
    CHECK(n_cases > 500 && bad == 0);
    free(s);
    free(ids);
    free(seq);
    free(off);
    cJSON_Delete(j);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static void put_le32(uint8_t *o, uint32_t v) {
    for (int i = 0; i < 4; i++) o[i] = (uint8_t)(v >> (8 * i));
}

TEST(wordpiece_bert_corpora_match_reference) {
    cJSON *j = zt_bpe_json("tests/ref/wordpiece_bert.json");
    ASSERT(j);
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "corpora")) {
        const char *file = cJSON_GetObjectItem(c, "file")->valuestring;
        const char *mode = cJSON_GetObjectItem(c, "mode")->valuestring;
        int block = cJSON_GetObjectItem(c, "block")->valueint;
        zy_tokenizer *t = zt_bert(mode);
        ASSERT(t);
        char path[256];
        snprintf(path, sizeof path, "build/data/%s", file);
        char *text;
        size_t len;
        if (zy_file_read(path, &text, &len)) {
            zt_fail(__FILE__, __LINE__, "%s missing (run: scripts/data.sh %s)", path,
                    !strcmp(file, "kjv.txt") ? "kjv" : "austen");
            continue;
        }
        int32_t *ids = zt_malloc((len + 1) * sizeof *ids);
        size_t *off = zt_malloc(2 * (len + 1) * sizeof *off), tokens = 0;
        const cJSON *blocks = cJSON_GetObjectItem(c, "blocks");
        int nb = cJSON_GetArraySize(blocks), lines = 0, bad_text = 0, bad = 0;
        char *p = text, *end = text + len;
        for (int b = 0; b < nb; b++) {
            uint64_t ht = 0xcbf29ce484222325ull, hk = ht;
            for (int l = 0; l < block && p < end; l++, lines++) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
                ht = fnv(fnv(ht, p, n), "\n", 1);
                size_t k = zt_wp_encode(t, (uint8_t *)p, n, 0, ids, off);
                for (size_t i = 0; i < k; i++) {
                    uint8_t rec[12];
                    put_le32(rec, (uint32_t)ids[i]);
                    put_le32(rec + 4, (uint32_t)off[2 * i]);
                    put_le32(rec + 8, (uint32_t)off[2 * i + 1]);
                    hk = fnv(hk, rec, 12);
                }
                hk = fnv(hk, "\xff\xff\xff\xff", 4);
                tokens += k;
                p += n + (nl != NULL);
            }
            char a[17], k2[17];
            snprintf(a, sizeof a, "%016llx", (unsigned long long)ht);
            snprintf(k2, sizeof k2, "%016llx", (unsigned long long)hk);
            const cJSON *want = cJSON_GetArrayItem(blocks, b);
            if (strcmp(a, cJSON_GetArrayItem(want, 0)->valuestring)) {
                if (bad_text++ < 3)
                    zt_note("%s lines %d..: the text differs from the one the reference was "
                            "made from (rerun: /usr/bin/python3 tests/ref_wordpiece.py)", file,
                            b * block + 1);
            } else if (strcmp(k2, cJSON_GetArrayItem(want, 1)->valuestring) && bad++ < 3) {
                zt_note("%s (%s) lines %d..%d: tokens differ (compare: /usr/bin/python3 "
                        "tests/ref_wordpiece.py --show %s:LINE %s)", file, mode, b * block + 1,
                        (b + 1) * block, file, mode);
            }
        }
        zt_note("%s (%s): %d lines, %zu tokens (reference %d lines, %d tokens): %d of %d "
                "blocks of %d lines differ in ids or offsets, %d in text (tolerance 0)", file,
                mode, lines, tokens, cJSON_GetObjectItem(c, "lines")->valueint,
                cJSON_GetObjectItem(c, "tokens")->valueint, bad, nb, block, bad_text);
        CHECK(bad == 0 && bad_text == 0 && lines == cJSON_GetObjectItem(c, "lines")->valueint &&
              (int)tokens == cJSON_GetObjectItem(c, "tokens")->valueint);
        free(ids);
        free(off);
        zy_free(text);
    }
    cJSON_Delete(j);
}

TEST(wordpiece_pairs_match_reference) {
    cJSON *j = zt_bpe_json("tests/ref/wordpiece_bert.json");
    zy_tokenizer *t = zt_bert("uncased");
    ASSERT(j && t);
    uint8_t a[512], b[512];
    int32_t ids[512], types[512];
    int8_t seq[512];
    size_t off[1024];
    int n = 0, bad = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "pairs")) {
        size_t na = zt_unhex(cJSON_GetObjectItem(c, "a")->valuestring, a), nb = 0;
        const cJSON *bh = cJSON_GetObjectItem(c, "b");
        if (cJSON_IsString(bh)) nb = zt_unhex(bh->valuestring, b);
        zy_encode_params p = zy_encode_default_params();
        p.max_length = (size_t)cJSON_GetObjectItem(c, "max_length")->valueint;
        const char *tr = cJSON_GetObjectItem(c, "truncation")->valuestring;
        p.truncation = !strcmp(tr, "only_second") ? ZY_TRUNCATE_ONLY_SECOND
                       : !strcmp(tr, "only_first") ? ZY_TRUNCATE_ONLY_FIRST
                                                   : ZY_TRUNCATE_LONGEST_FIRST;
        p.pad = cJSON_GetObjectItem(c, "pad")->valueint;
        size_t cap = zy_tokenizer_encode_pair_cap(t, na, nb, p);
        zy_encoding e = {ids, types, seq, off, cap, 0, 0, 0};
        zy_status s = zy_tokenizer_encode_pair(t, (char *)a, na, cJSON_IsString(bh) ? (char *)b : NULL,
                                               nb, p, &e);
        const cJSON *wi = cJSON_GetObjectItem(c, "ids"), *wt = cJSON_GetObjectItem(c, "type_ids");
        const cJSON *ws = cJSON_GetObjectItem(c, "seq"), *wo = cJSON_GetObjectItem(c, "offsets");
        int ok = !s && (int)e.n == cJSON_GetArraySize(wi) &&
                 (int)e.n_attend == cJSON_GetObjectItem(c, "n_attend")->valueint &&
                 (int)e.n_truncated == cJSON_GetObjectItem(c, "n_truncated")->valueint;
        for (size_t i = 0; ok && i < e.n; i++)
            ok = ids[i] == cJSON_GetArrayItem(wi, (int)i)->valueint &&
                 types[i] == cJSON_GetArrayItem(wt, (int)i)->valueint &&
                 seq[i] == cJSON_GetArrayItem(ws, (int)i)->valueint &&
                 off[2 * i] == (size_t)cJSON_GetArrayItem(wo, (int)(2 * i))->valueint &&
                 off[2 * i + 1] == (size_t)cJSON_GetArrayItem(wo, (int)(2 * i + 1))->valueint;
        if (!ok && bad++ < 5)
            zt_note("pair %d (max_length %zu, %s, pad %d): %s; %zu tokens, reference %d", n,
                    p.max_length, tr, p.pad, s ? zy_last_error() : "differs", e.n,
                    cJSON_GetArraySize(wi));
        n++;
    }
    zt_note("%d pair encodings (truncation, padding, type ids, offsets): %d differ", n, bad);
    CHECK(n > 30 && bad == 0);
    cJSON_Delete(j);
}

TEST(wordpiece_decode_matches_reference) {
    cJSON *j = zt_bpe_json("tests/ref/wordpiece_bert.json");
    zy_tokenizer *t = zt_bert("uncased");
    ASSERT(j && t);
    const cJSON *c;
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "decode")) {
        int32_t ids[256];
        int k = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(c, "ids")) ids[k++] = x->valueint;
        char out[1024];
        size_t len;
        const char *want = cJSON_GetObjectItem(c, "text")->valuestring;
        CHECK(!zy_tokenizer_decode(t, ids, (size_t)k, out, sizeof out, &len));
        if (len != strlen(want) || memcmp(out, want, len))
            zt_fail(__FILE__, __LINE__, "decode '%.*s', reference '%s'", (int)len, out, want);
        n++;
    }
    CHECK(n >= 4);
    cJSON_Delete(j);
}

// Parallel encoding cuts after newlines: the same ids as one thread.
TEST(wordpiece_parallel_equals_sequential) {
    zy_tokenizer *t = zt_bert("uncased");
    ASSERT(t);
    size_t cap = 1 << 19, n = 0;
    char *s = zt_malloc(cap);
    static const char *lines[] = {"In the beginning God created the heaven.\n", "\n\n",
                                  "Café [MASK] naïve\n", "中文\n", "x\xff\n"};
    for (int i = 0; n + 64 < cap; i++) {
        const char *l = lines[(i * 7) % 5];
        memcpy(s + n, l, strlen(l));
        n += strlen(l);
    }
    int32_t *a = zt_malloc(n * sizeof *a), *b = zt_malloc(n * sizeof *b);
    for (unsigned flags = 0; flags <= ZY_ENCODE_SPECIAL; flags++) {
        size_t na, nb;
        ASSERT(!zy_tokenizer_encode(t, s, n, flags, a, n, &na));
        zy_threads_set(2);
        ASSERT(!zy_tokenizer_encode_parallel(t, s, n, flags, b, n, &nb));
        CHECK(na == nb && !memcmp(a, b, na * sizeof *a));
    }
    free(s);
    free(a);
    free(b);
}
