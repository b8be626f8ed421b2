// libFuzzer harness: instruction files (src/data/instruct_read.c), then the chat
// template's tokens, rows (truncation, packing) and the data source
// (instruct_template.c, instruct_rows.c, instruct_source.c).
//
// Input: 1 control byte, then the file.
//   [0] bit 0 skip_bad_rows, bits 1-3 seq = 2 + 6k, bit 4 no packing, bits 5-7 batch 1 + k
// Properties:
//  - a failed read is BAD_FORMAT naming the file, and a line of the text ("name:N:") or
//    the whole file ("empty", "no example");
//  - a read gives conversations the documented rules allow: at least one message, the
//    last the assistant's with text, a system message only first, valid UTF-8;
//  - round trip: the examples written back as JSON lines (cJSON, in their shape) read
//    back the same;
//  - the byte tokenizer's encoding has one token per byte of the rendered text (the end
//    token one for its 13 bytes), replies and end tokens scored;
//  - rows hold at most seq + 1 tokens, no target at a row's start, counts add up; the
//    source's training batches and one pass cover the rows with next-token targets.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void check_error(zy_status st, const zy_instruct_data *d, const char *name,
                        const char *text, size_t len) {
    FZ_CHECK(d == NULL);
    FZ_CHECKF(st == ZY_STATUS_BAD_FORMAT, "status %d", (int)st);
    static const char *const file_level[] = {"empty", "no example"};
    fz_check_read_message(name, text, len, file_level, 2);
}

static void check_data(const zy_instruct_data *d, const char *text, size_t len) {
    size_t n = zy_instruct_data_count(d), lines = fz_lines(text, len);
    const zy_task_read_report *r = zy_instruct_data_report(d);
    FZ_CHECK(n > 0 && r->n_examples == n);
    FZ_CHECK(r->n_reasons <= ZY_TASK_REPORT_REASONS && (uint64_t)r->n_reasons <= r->n_skipped);
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        const zy_instruct_example *e = zy_instruct_data_example(d, i);
        FZ_CHECK(e->line > last && e->line <= lines);
        last = e->line;
        FZ_CHECK(e->n_messages >= 1);
        const zy_chat_message *m = e->messages;
        FZ_CHECK(m[e->n_messages - 1].role == ZY_CHAT_ASSISTANT && m[e->n_messages - 1].len > 0);
        for (int k = 0; k < e->n_messages; k++) {
            FZ_CHECK((unsigned)m[k].role <= ZY_CHAT_ASSISTANT);
            FZ_CHECK(m[k].role != ZY_CHAT_SYSTEM || k == 0);
            FZ_CHECK(m[k].role != ZY_CHAT_ASSISTANT || m[k].len > 0);
            FZ_CHECK(strlen(m[k].content) == m[k].len);
        }
        if (e->prompt_completion)
            FZ_CHECK(e->n_messages >= 2 && m[e->n_messages - 2].role == ZY_CHAT_USER &&
                     (e->n_messages == 2 || m[0].role == ZY_CHAT_SYSTEM));
    }
}

static char *write_back(const zy_instruct_data *d, size_t *len) {
    size_t cap = 1 << 12, n = 0;
    char *out = malloc(cap);
    for (size_t i = 0; i < zy_instruct_data_count(d); i++) {
        const zy_instruct_example *e = zy_instruct_data_example(d, i);
        const zy_chat_message *m = e->messages;
        int k = e->n_messages;
        cJSON *o = cJSON_CreateObject();
        if (e->prompt_completion) {
            if (k == 3) cJSON_AddItemToObject(o, "system", cJSON_CreateString(m[0].content));
            cJSON_AddItemToObject(o, "prompt", cJSON_CreateString(m[k - 2].content));
            cJSON_AddItemToObject(o, "completion", cJSON_CreateString(m[k - 1].content));
        } else {
            cJSON *a = cJSON_CreateArray();
            for (int j = 0; j < k; j++) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddItemToObject(x, "role", cJSON_CreateString(zy_chat_role_name(m[j].role)));
                cJSON_AddItemToObject(x, "content", cJSON_CreateString(m[j].content));
                cJSON_AddItemToArray(a, x);
            }
            cJSON_AddItemToObject(o, "messages", a);
        }
        fz_put_json_line(&out, &n, &cap, o);
    }
    *len = n;
    return out;
}

static void check_round_trip(const zy_instruct_data *d) {
    size_t n = 0;
    char *out = write_back(d, &n);
    zy_instruct_read_params p = zy_instruct_read_default_params();
    zy_instruct_data *back = NULL;
    zy_status st = zy_instruct_data_read_buffer(&back, "back.jsonl", out, n, &p);
    FZ_CHECKF(st == ZY_STATUS_OK, "the examples written back do not read: %s", zy_last_error());
    FZ_CHECK(zy_instruct_data_count(back) == zy_instruct_data_count(d));
    for (size_t i = 0; i < zy_instruct_data_count(d); i++) {
        const zy_instruct_example *a = zy_instruct_data_example(d, i);
        const zy_instruct_example *b = zy_instruct_data_example(back, i);
        FZ_CHECK(a->n_messages == b->n_messages && a->prompt_completion == b->prompt_completion);
        for (int k = 0; k < a->n_messages; k++)
            FZ_CHECK(a->messages[k].role == b->messages[k].role &&
                     a->messages[k].len == b->messages[k].len &&
                     !memcmp(a->messages[k].content, b->messages[k].content, a->messages[k].len));
    }
    zy_instruct_data_free(back);
    free(out);
}

static void check_tokens(const zy_instruct_data *d, zy_tokenizer *tok) {
    const zy_chat_template *t = zy_chat_template_default();
    zy_chat_tokens x;
    zy_chat_tokens_init(&x);
    for (size_t i = 0; i < zy_instruct_data_count(d); i++) {
        const zy_instruct_example *e = zy_instruct_data_example(d, i);
        char *text = NULL;
        size_t len = 0, replies = 0, scored = 0, sc = 0;
        FZ_CHECK(zy_chat_render(t, e->messages, e->n_messages, false, &text, &len) == 0);
        x.n = 0;
        FZ_CHECK(zy_chat_encode(t, tok, e->messages, e->n_messages, false, &x) == 0);
        for (int k = 0; k < e->n_messages; k++)
            if (e->messages[k].role == ZY_CHAT_ASSISTANT)
                replies++, scored += e->messages[k].len + 1;
        for (size_t k = 0; k < x.n; k++) sc += x.scored[k];
        FZ_CHECKF(x.n == len - 12 * replies && sc == scored, "%zu tokens for %zu bytes",
                  x.n, len);
        FZ_CHECK(x.ids[x.n - 1] == 256 && x.scored[x.n - 1]);
        zy_free(text);
    }
    zy_chat_tokens_destroy(&x);
}

static void check_rows(const zy_instruct_data *d, zy_tokenizer *tok, int T, bool packing,
                       int batch) {
    zy_instruct_rows_params p = {.seq = T, .packing = packing};
    zy_instruct_rows *r = NULL;
    FZ_CHECK(zy_instruct_rows_create(&r, d, zy_chat_template_default(), tok, &p) == 0);
    const zy_instruct_row_stats *s = zy_instruct_rows_stats(r);
    size_t n = zy_instruct_rows_count(r), kept = s->n_examples - s->n_skipped;
    FZ_CHECK(s->n_examples == zy_instruct_data_count(d) && s->n_rows == n);
    FZ_CHECK(s->n_truncated + s->n_skipped <= s->n_examples && n <= kept);
    FZ_CHECK(packing || n == kept);
    uint64_t tokens = 0, scored = 0;
    for (size_t i = 0; i < n; i++) {
        const int32_t *ids;
        const uint8_t *sc;
        int m;
        zy_instruct_rows_get(r, i, &ids, &sc, &m);
        FZ_CHECK(m >= 2 && m <= T + 1 && !sc[0] && ids[m - 1] == 256 && sc[m - 1]);
        tokens += (uint64_t)m;
        for (int k = 1; k < m; k++) scored += sc[k];
    }
    FZ_CHECK(tokens == s->n_tokens && scored == s->n_scored);
    for (int one_pass = 0; n && one_pass < 2; one_pass++) {
        zy_instruct_source_params sp = {.batch = batch, .seed = 7, .shuffle = !one_pass,
                                        .one_pass = one_pass};
        zy_data_source *src = NULL;
        zy_status st = zy_instruct_source_create(&src, r, &sp);
        if (st) {
            FZ_CHECK(!one_pass && n < (size_t)batch && st == ZY_STATUS_INVALID_ARGUMENT);
            continue;
        }
        zy_batch b;
        FZ_CHECK(zy_batch_init(&b, &zy_data_source_get_info(src)->dims) == 0);
        size_t rows = 0, calls = one_pass ? n + 2 : n / (size_t)batch + 1;
        for (size_t c = 0; c < calls; c++) {
            FZ_CHECK(zy_data_source_next(src, &b) == 0);
            FZ_CHECK(b.B >= 0 && b.B <= batch && b.T >= 1 && b.T <= T);
            if (!one_pass) FZ_CHECK(b.B == batch);
            for (int k = 0; k < b.B; k++) {
                FZ_CHECK(b.lengths[k] >= 1 && b.lengths[k] <= b.T);
                for (int t = 0; t < b.T; t++) {
                    int y = b.targets[(size_t)k * b.T + t];
                    FZ_CHECK(y == -1 || (t < b.lengths[k] && y >= 0 && y <= 256 &&
                                         (t + 1 >= b.lengths[k] ||
                                          y == b.input_ids[(size_t)k * b.T + t + 1])));
                }
            }
            rows += (size_t)b.B;
        }
        if (one_pass) FZ_CHECK(rows == n);
        zy_batch_destroy(&b);
        zy_data_source_free(src);
    }
    zy_instruct_rows_free(r);
}

static zy_tokenizer *byte_tokenizer(void) {
    static zy_tokenizer *tok;
    if (!tok) {
        zy_bpe_train_params bp = zy_bpe_train_default_params();
        bp.vocab_size = 257;
        FZ_CHECK(zy_tokenizer_train_bpe_texts(&tok, NULL, NULL, 0, bp) == 0);
    }
    return tok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned c = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    zy_instruct_read_params p = zy_instruct_read_default_params();
    p.skip_bad_rows = c & 1;
    zy_instruct_data *d = NULL;
    zy_status st = zy_instruct_data_read_buffer(&d, "fuzz.jsonl", text, len, &p);
    if (st) {
        check_error(st, d, "fuzz.jsonl", text, len);
        return 0;
    }
    check_data(d, text, len);
    check_round_trip(d);
    zy_tokenizer *tok = byte_tokenizer();
    check_tokens(d, tok);
    check_rows(d, tok, 2 + 6 * (int)((c >> 1) & 7), !(c & 16), 1 + (int)(c >> 5));
    zy_instruct_data_free(d);
    return 0;
}
