// libFuzzer harness: parallel text (src/data/pairs_read.c, pairs_encode.c, pairs_source.c).
//
// Input: 1 control byte, then the file(s).
//   [0] bits 0-1 format (0 TSV by name, 1 JSONL, 2 LINES: the source file up to the first
//       NUL byte, the target file after it, 3 TSV given), bit 2 skip_bad_rows, bit 3 the
//       "translation" language keys given, bits 4-7 k: max_src = max_tgt = 2 + k,
//       max_tokens = 8 + 8k
// Properties:
//  - a failed read is BAD_FORMAT naming a file and, for a line's error, a line of it;
//  - the pairs read are non-blank UTF-8 without NUL, at increasing lines within the file;
//  - round trips: written back as JSON lines (cJSON), and as TSV when no text holds a tab
//    or line break, they read back the same;
//  - encoding: each side's ids are zy_tokenizer_encode's cut to max - 1, cuts counted;
//  - the source: a row longer than max_tokens is refused naming a pair; otherwise one pass
//    gives every pair once within the area bound, and a training epoch every batch once.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static zy_tokenizer *tok;

static zy_tokenizer *tokenizer(void) {
    if (tok) return tok;
    static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\n##s\nsat\non\n"
                                "a\nb\nc\n##b\n##c\n,\n.\n\xe4\xb8\xad\nx\n##x\n";
    const char *path = fz_write("pairs_vocab.txt", vocab, sizeof vocab - 1);
    if (zy_tokenizer_load(&tok, path)) abort();
    return tok;
}

static void check_pairs(const zy_pairs *d, const char *src, size_t sl) {
    size_t n = zy_pairs_count(d), lines = fz_lines(src, sl);
    FZ_CHECK(n >= 1 && zy_pairs_report(d)->n_examples == n);
    FZ_CHECK(n + zy_pairs_report(d)->n_skipped <= lines);
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        zy_pair q = zy_pairs_get(d, i);
        FZ_CHECK(q.line > prev && q.line <= lines);
        prev = q.line;
        const char *s[2] = {q.src, q.tgt};
        size_t m[2] = {q.src_len, q.tgt_len};
        for (int k = 0; k < 2; k++) {
            FZ_CHECK(strlen(s[k]) == m[k]);
            bool blank = true;
            for (size_t j = 0; j < m[k]; j++) blank &= strchr(" \t\r\n\v\f", s[k][j]) != NULL;
            FZ_CHECK(!blank);
        }
    }
}

static void same_pairs(const zy_pairs *a, const zy_pairs *b) {
    FZ_CHECK(zy_pairs_count(a) == zy_pairs_count(b));
    for (size_t i = 0; i < zy_pairs_count(a); i++) {
        zy_pair p = zy_pairs_get(a, i), q = zy_pairs_get(b, i);
        FZ_CHECK(!strcmp(p.src, q.src) && !strcmp(p.tgt, q.tgt));
    }
}

static void round_trips(const zy_pairs *d) {
    zy_pairs_read_params p = zy_pairs_read_default_params();
    size_t cap = 1 << 12, n = 0;
    char *out = malloc(cap);
    bool tsv_ok = true;
    for (size_t i = 0; i < zy_pairs_count(d); i++) {
        zy_pair q = zy_pairs_get(d, i);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "src", cJSON_CreateString(q.src));
        cJSON_AddItemToObject(o, "tgt", cJSON_CreateString(q.tgt));
        fz_put_json_line(&out, &n, &cap, o);
        tsv_ok &= !strpbrk(q.src, "\t\n") && !strpbrk(q.tgt, "\t\n") &&
                  q.tgt[q.tgt_len - 1] != '\r' && !(i == 0 && !strncmp(q.src, "\xEF\xBB\xBF", 3));
    }
    zy_pairs *back = NULL;
    zy_status st = zy_pairs_read_buffer(&back, "back.jsonl", out, n, NULL, NULL, 0, &p);
    FZ_CHECKF(st == ZY_STATUS_OK, "pairs written back as JSON lines do not read: %s", zy_last_error());
    same_pairs(d, back);
    zy_pairs_free(back);
    if (tsv_ok) {
        n = 0;
        for (size_t i = 0; i < zy_pairs_count(d); i++) {
            zy_pair q = zy_pairs_get(d, i);
            if (n + q.src_len + q.tgt_len + 2 > cap) out = realloc(out, cap = 2 * (n + q.src_len + q.tgt_len + 2));
            memcpy(out + n, q.src, q.src_len);
            out[n += q.src_len] = '\t';
            memcpy(out + ++n, q.tgt, q.tgt_len);
            out[n += q.tgt_len] = '\n';
            n++;
        }
        st = zy_pairs_read_buffer(&back, "back.tsv", out, n, NULL, NULL, 0, &p);
        FZ_CHECKF(st == ZY_STATUS_OK, "pairs written back as TSV do not read: %s", zy_last_error());
        same_pairs(d, back);
        zy_pairs_free(back);
    }
    free(out);
}

static void check_source(const zy_pairs_ids *e, int max_tokens) {
    zy_pairs_source_params p = zy_pairs_source_default_params();
    p.max_tokens = max_tokens, p.pad_id = 0, p.eos_id = 3, p.decoder_start_id = 2;
    p.shuffle = false, p.one_pass = true;
    zy_data_source *s = NULL;
    zy_status st = zy_pairs_source_create(&s, e, &p);
    if (e->longest_src + 1 > max_tokens || e->longest_tgt + 1 > max_tokens) {
        FZ_CHECK(st == ZY_STATUS_INVALID_ARGUMENT && strstr(zy_last_error(), "fuzz."));
        return;
    }
    FZ_CHECKF(st == ZY_STATUS_OK, "source: %s", zy_last_error());
    const zy_data_source_info *info = zy_data_source_get_info(s);
    zy_batch b;
    FZ_CHECK(zy_batch_init(&b, &info->dims) == ZY_STATUS_OK);
    uint64_t rows = 0, nb = 0;
    for (;;) {
        FZ_CHECK(zy_data_source_next(s, &b) == ZY_STATUS_OK);
        if (b.B == 0) break;
        nb++;
        rows += (uint64_t)b.B;
        FZ_CHECK(b.B * (b.T > b.T_dec ? b.T : b.T_dec) <= max_tokens);
        for (int r = 0; r < b.B; r++) {
            FZ_CHECK(b.input_ids[r * b.T + b.lengths[r] - 1] == 3);
            FZ_CHECK(b.dec_input_ids[r * b.T_dec] == 2);
            FZ_CHECK(b.dec_targets[r * b.T_dec + b.dec_lengths[r] - 1] == 3);
        }
    }
    FZ_CHECK(rows == e->n);
    zy_data_source_free(s);
    p.shuffle = true, p.one_pass = false, p.seed = nb;
    FZ_CHECK(zy_pairs_source_create(&s, e, &p) == ZY_STATUS_OK);
    rows = 0;
    for (uint64_t k = 0; k < nb; k++) {
        FZ_CHECK(zy_data_source_next(s, &b) == ZY_STATUS_OK && b.B > 0);
        rows += (uint64_t)b.B;
    }
    FZ_CHECK(rows == e->n); // an epoch: every batch once, so every pair once
    zy_data_pos pos;
    zy_data_source_tell(s, &pos); // the epochs are one stream: the next one has begun
    FZ_CHECK(pos.epoch == 1 && pos.pos == 0);
    zy_batch_destroy(&b);
    zy_data_source_free(s);
}

static void check_encoding(const zy_pairs *d, int max_len, int max_tokens) {
    zy_pairs_encode_params ep = zy_pairs_encode_default_params();
    ep.max_src = ep.max_tgt = max_len;
    zy_pairs_ids e;
    zy_status st = zy_pairs_encode(&e, d, tokenizer(), &ep);
    FZ_CHECKF(st == ZY_STATUS_OK, "encode: %s", zy_last_error());
    uint64_t cuts[2] = {0, 0};
    for (size_t i = 0; i < e.n; i++) {
        zy_pair q = zy_pairs_get(d, i);
        for (int k = 0; k < 2; k++) {
            size_t len = k ? q.tgt_len : q.src_len, m = 0;
            int32_t *want = malloc((len + 1) * sizeof *want);
            FZ_CHECK(zy_tokenizer_encode(tokenizer(), k ? q.tgt : q.src, len, 0, want, len, &m) == 0);
            if (m > (size_t)max_len - 1) m = (size_t)max_len - 1, cuts[k]++;
            uint64_t a = e.start[2 * i + (size_t)k], b = e.start[2 * i + (size_t)k + 1];
            FZ_CHECK(b - a == m && !memcmp(e.ids + a, want, m * sizeof *want));
            free(want);
        }
    }
    FZ_CHECK(cuts[0] == e.n_cut_src && cuts[1] == e.n_cut_tgt);
    check_source(&e, max_tokens);
    zy_pairs_ids_destroy(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned c = data[0];
    const char *text = (const char *)data + 1, *tgt = NULL;
    size_t len = size - 1, tl = 0;
    zy_pairs_read_params p = zy_pairs_read_default_params();
    p.skip_bad_rows = c & 4;
    if (c & 8) p.src_lang = "en", p.tgt_lang = "es";
    const char *name = (c & 3) == 1 ? "fuzz.jsonl" : (c & 3) == 2 ? "fuzz.src" : "fuzz.tsv";
    const char *tname = NULL;
    if ((c & 3) == 3) p.format = ZY_PAIRS_FORMAT_TSV;
    if ((c & 3) == 2) {
        const char *z = memchr(text, 0, len);
        tgt = z ? z + 1 : text + len;
        tl = z ? len - (size_t)(tgt - text) : 0;
        len = z ? (size_t)(z - text) : len;
        tname = "fuzz.tgt";
    }
    zy_pairs *d = NULL;
    zy_status st = zy_pairs_read_buffer(&d, name, text, len, tname, tgt, tl, &p);
    if (st) {
        FZ_CHECKF(st == ZY_STATUS_BAD_FORMAT && !d, "status %d: %s", st, zy_last_error());
        static const char *const words[] = {"empty", "no example", "lines"};
        bool in_tgt = tname && !strncmp(zy_last_error(), tname, strlen(tname));
        fz_check_read_message(in_tgt ? tname : name, in_tgt ? tgt : text, in_tgt ? tl : len,
                              words, 3);
        return 0;
    }
    check_pairs(d, text, len);
    round_trips(d);
    int k = (int)(c >> 4);
    check_encoding(d, 2 + k, 8 + 8 * k);
    zy_pairs_free(d);
    return 0;
}
