// Tests of the instruction data (src/data/instruct_*.c) on small inputs written here: both
// shapes of a line, every documented error naming file, line and field, skip_bad_rows
// counting, the template's exact text and its pieces encoded one by one (with a BPE whose
// merges would join them if the text were encoded whole), the record in
// tokenizer_config.json (written, merged, read back, refused), truncation and packing by
// hand, and the data source's argument checks, fingerprints and shards. The Python
// reference (test_data_instruct_ref.c) covers the rules on many random cases.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_task_util.h"
#include "harness.h"
#include "instruct_util.h"
#include "zhuyi/zhuyi.h"

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

static bool message_is(const zy_chat_message *m, zy_chat_role role, const char *text) {
    return m->role == role && m->len == strlen(text) && !strcmp(m->content, text);
}

TEST(instruct_read_both_shapes) {
    const char *text =
        "\xEF\xBB\xBF{\"prompt\": \"2+2?\", \"completion\": \"4\", \"id\": 7}\r\n"
        "\n"
        "{\"system\": \"Be brief.\", \"prompt\": \"\", \"completion\": \"ok\"}\n"
        "{\"system\": \"\", \"prompt\": \"p\", \"completion\": \"c\", \"messages\": null}\n"
        "   \t\n"
        "{\"messages\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", "
        "\"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}, {\"role\": "
        "\"user\", \"content\": \"and?\"}, {\"role\": \"assistant\", \"content\": \"\\u6ce8\"}]}\n"
        "{\"messages\": [{\"role\": \"assistant\", \"content\": \"alone\"}], \"prompt\": null}";
    zy_instruct_data *d = zt_instruct_read("a.jsonl", text, false);
    ASSERT(d);
    ASSERT_EQ_INT(zy_instruct_data_count(d), 5);
    const zy_instruct_example *e = zy_instruct_data_example(d, 0);
    CHECK(e->line == 1 && e->prompt_completion && e->n_messages == 2);
    CHECK(message_is(&e->messages[0], ZY_CHAT_USER, "2+2?"));
    CHECK(message_is(&e->messages[1], ZY_CHAT_ASSISTANT, "4"));
    e = zy_instruct_data_example(d, 1);
    CHECK(e->line == 3 && e->n_messages == 3);
    CHECK(message_is(&e->messages[0], ZY_CHAT_SYSTEM, "Be brief."));
    CHECK(message_is(&e->messages[1], ZY_CHAT_USER, ""));
    e = zy_instruct_data_example(d, 2); // an empty system is no message
    CHECK(e->line == 4 && e->n_messages == 2 && e->messages[0].role == ZY_CHAT_USER);
    e = zy_instruct_data_example(d, 3);
    CHECK(e->line == 6 && !e->prompt_completion && e->n_messages == 5);
    CHECK(message_is(&e->messages[2], ZY_CHAT_ASSISTANT, "yo"));
    CHECK(message_is(&e->messages[4], ZY_CHAT_ASSISTANT, "\xe6\xb3\xa8"));
    e = zy_instruct_data_example(d, 4);
    CHECK(e->line == 7 && e->n_messages == 1 && e->messages[0].role == ZY_CHAT_ASSISTANT);
    CHECK(zy_instruct_data_example(d, 5) == NULL);
    CHECK(zy_instruct_data_report(d)->n_examples == 5 && !zy_instruct_data_report(d)->n_skipped);
    zy_instruct_data_free(d);
}

TEST(instruct_read_errors_name_file_line_and_field) {
    const char *ok = "{\"prompt\": \"a\", \"completion\": \"b\"}\n";
    char buf[1024];
#define FAILS(line, ...)                                                                   \
    do {                                                                                   \
        snprintf(buf, sizeof buf, "%s%s\n", ok, line);                                     \
        zt_instruct_fails("e.jsonl", buf, NEEDLES("e.jsonl:2:", __VA_ARGS__));             \
    } while (0)
    FAILS("{\"prompt\": \"no reply\"}", "'completion' is missing");
    FAILS("{\"prompt\": \"x\", \"completion\": null}", "'completion' is missing");
    FAILS("{\"prompt\": \"x\", \"completion\": 3}", "'completion' is not a string");
    FAILS("{\"prompt\": \"x\", \"completion\": \"\"}", "'completion' is empty");
    FAILS("{\"completion\": \"y\"}", "'prompt' is missing");
    FAILS("{\"prompt\": [], \"completion\": \"y\"}", "'prompt' is not a string");
    FAILS("{\"prompt\": \"x\", \"completion\": \"y\", \"system\": 1}", "'system'");
    FAILS("{\"text\": \"x\"}", "neither 'messages' nor 'prompt'");
    FAILS("{\"messages\": []}", "'messages' is empty");
    FAILS("{\"messages\": {}}", "'messages' is not a list");
    FAILS("{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}",
          "messages[0].role 'tool' is not system, user or assistant");
    FAILS("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"content\": \"y\"}]}",
          "messages[1].role is missing");
    FAILS("{\"messages\": [{\"role\": \"user\", \"content\": 2}]}",
          "messages[0].content is missing or not a string");
    FAILS("{\"messages\": [\"hi\"]}", "messages[0] is not an object");
    FAILS("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"system\", "
          "\"content\": \"s\"}, {\"role\": \"assistant\", \"content\": \"y\"}]}",
          "messages[1] is a system message");
    FAILS("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
          "no assistant message");
    FAILS("{\"messages\": [{\"role\": \"assistant\", \"content\": \"y\"}, {\"role\": \"user\", "
          "\"content\": \"x\"}]}",
          "the last message (messages[1]) is a user message");
    FAILS("{\"messages\": [{\"role\": \"assistant\", \"content\": \"\"}]}",
          "messages[0].content is empty");
    FAILS("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"prompt\": \"p\"}",
          "both 'messages' and 'prompt'");
    FAILS("{\"prompt\": \"x\", \"completion\": \"y\"", "not valid JSON");
    FAILS("{\"prompt\": \"x\", \"completion\": \"y\"} {}", "text after the JSON value");
    FAILS("[1, 2]", "not a JSON object");
    FAILS("{\"prompt\": \"bad \xff\", \"completion\": \"y\"}", "prompt: invalid UTF-8");
    FAILS("{\"messages\": [{\"role\": \"assistant\", \"content\": \"\xc3\"}]}",
          "messages[0].content: invalid UTF-8");
#undef FAILS
    zt_instruct_fails("empty.jsonl", " \n\n", NEEDLES("empty.jsonl", "empty"));
    zy_instruct_data *d = NULL;
    zy_instruct_read_params p = zy_instruct_read_default_params();
    CHECK(zy_instruct_data_read(&d, "/nonexistent/x.jsonl", &p) == ZY_STATUS_IO && !d);
}

TEST(instruct_skip_bad_rows_counts) {
    const char *text = "{\"prompt\": \"a\", \"completion\": \"b\"}\n"
                       "{\"prompt\": \"a\"}\n"
                       "not json\n"
                       "{\"messages\": [{\"role\": \"bot\", \"content\": \"x\"}]}\n"
                       "{\"messages\": []}\n"
                       "{\"messages\": [{\"role\": \"assistant\", \"content\": \"b\"}]}\n"
                       "{\"completion\": 1}\n";
    zy_instruct_data *d = zt_instruct_read("s.jsonl", text, true);
    ASSERT(d);
    const zy_task_read_report *r = zy_instruct_data_report(d);
    ASSERT_EQ_INT(zy_instruct_data_count(d), 2);
    ASSERT_EQ_INT(r->n_skipped, 5);
    ASSERT_EQ_INT(r->n_examples, 2);
    ASSERT_EQ_INT(r->n_reasons, ZY_TASK_REPORT_REASONS);
    CHECK(strstr(r->reasons[0], "s.jsonl:2:") && strstr(r->reasons[0], "completion"));
    CHECK(strstr(r->reasons[1], "s.jsonl:3:") && strstr(r->reasons[1], "JSON"));
    CHECK(strstr(r->reasons[2], "s.jsonl:4:") && strstr(r->reasons[2], "'bot'"));
    CHECK(strstr(r->reasons[3], "s.jsonl:5:") && strstr(r->reasons[3], "empty"));
    CHECK(zy_instruct_data_example(d, 1)->line == 6);
    zy_instruct_data_free(d);
    zy_instruct_read_params p = zy_instruct_read_default_params();
    p.skip_bad_rows = true;
    CHECK(zy_instruct_data_read_buffer(&d, "all.jsonl", "x\n{}\n", 5, &p) ==
          ZY_STATUS_BAD_FORMAT);
    CHECK(strstr(zy_last_error(), "no example") && strstr(zy_last_error(), "all.jsonl:1:"));
}

TEST(instruct_template_text) {
    const zy_chat_template *t = zy_chat_template_default();
    ASSERT(t && !strcmp(t->name, "zhuyi-1") && zy_chat_template_find("zhuyi-1") == t);
    CHECK(zy_chat_template_find("chatml") == NULL && zy_chat_template_find(NULL) == NULL);
    zy_chat_message m[] = {{ZY_CHAT_SYSTEM, "Be brief.", 9}, {ZY_CHAT_USER, "2+2?", 4},
                           {ZY_CHAT_ASSISTANT, "4", 1}, {ZY_CHAT_USER, "and 3+3?", 8}};
    char *text = NULL;
    size_t len = 0;
    ASSERT(zy_chat_render(t, m, 4, true, &text, &len) == ZY_STATUS_OK);
    const char *want = "Be brief.\n\n### User:\n2+2?\n\n### Assistant:\n4<|endoftext|>"
                       "### User:\nand 3+3?\n\n### Assistant:\n";
    CHECK(!strcmp(text, want) && len == strlen(want));
    zy_free(text);
    ASSERT(zy_chat_render(t, m, 0, false, &text, &len) == ZY_STATUS_OK);
    CHECK(len == 0 && text && !text[0]);
    zy_free(text);
    zy_chat_role r;
    CHECK(zy_chat_role_parse("assistant", &r) == ZY_STATUS_OK && r == ZY_CHAT_ASSISTANT);
    CHECK(zy_chat_role_parse("Assistant", &r) == ZY_STATUS_NOT_FOUND);
    CHECK(!strcmp(zy_chat_role_name(ZY_CHAT_USER), "user"));
}

// Encoding goes piece by piece: with a BPE that merges across the pieces' boundaries
// ("\n\n" + "###", ":" + "\n"), the ids are each piece's own, and the scored flags mark the
// reply and its end token.
TEST(instruct_template_encodes_piece_by_piece) {
    // Trained on the pieces as texts of their own (twice: merges need 2 occurrences), so
    // "\n\n" is one token; in the whole text it is two pre-tokens.
    const char *texts[] = {"### User:\n", "hi", "\n\n", "### Assistant:\n", "yo",
                           "### User:\n", "hi", "\n\n", "### Assistant:\n", "yo"};
    size_t lens[10];
    for (int i = 0; i < 10; i++) lens[i] = strlen(texts[i]);
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 300;
    zy_tokenizer *tok = NULL;
    ASSERT(zy_tokenizer_train_bpe_texts(&tok, texts, lens, 10, bp) == ZY_STATUS_OK);
    int32_t end = zy_tokenizer_find(tok, "<|endoftext|>", 13);
    ASSERT(end >= 0);
    const zy_chat_template *t = zy_chat_template_default();
    zy_chat_message m[] = {{ZY_CHAT_USER, "hi", 2}, {ZY_CHAT_ASSISTANT, "yo", 2}};
    zy_chat_tokens x;
    zy_chat_tokens_init(&x);
    ASSERT(zy_chat_encode(t, tok, m, 2, true, &x) == ZY_STATUS_OK);
    // The same pieces encoded one by one.
    const char *pieces[] = {t->user_prefix, "hi", t->user_suffix, t->assistant_prefix, "yo",
                            NULL, t->assistant_prefix};
    const int scored[] = {0, 0, 0, 0, 1, 1, 0};
    int32_t want[256];
    uint8_t want_sc[256];
    size_t n = 0;
    for (int i = 0; i < 7; i++) {
        size_t k = 1;
        if (pieces[i]) ASSERT(zy_tokenizer_encode(tok, pieces[i], strlen(pieces[i]), 0,
                                                  want + n, 256 - n, &k) == ZY_STATUS_OK);
        else want[n] = end;
        memset(want_sc + n, scored[i], k);
        n += k;
    }
    ASSERT_EQ_INT(x.n, n);
    CHECK(memcmp(x.ids, want, n * sizeof *want) == 0 && memcmp(x.scored, want_sc, n) == 0);
    // Whole-text encoding would differ (the merges cross the boundaries): the test means
    // something.
    char *text;
    size_t len, whole = 0;
    ASSERT(zy_chat_render(t, m, 2, true, &text, &len) == ZY_STATUS_OK);
    int32_t ids[256];
    ASSERT(zy_tokenizer_encode(tok, text, len, ZY_ENCODE_SPECIAL, ids, 256, &whole) == 0);
    CHECK(whole != n || memcmp(ids, want, n * sizeof *ids) != 0);
    zy_free(text);
    // A conversation's tokens are its messages' tokens one after another.
    zy_chat_tokens y;
    zy_chat_tokens_init(&y);
    ASSERT(zy_chat_encode(t, tok, m, 1, false, &y) == ZY_STATUS_OK);
    ASSERT(zy_chat_encode(t, tok, m + 1, 1, true, &y) == ZY_STATUS_OK);
    CHECK(y.n == x.n && memcmp(y.ids, x.ids, x.n * sizeof *x.ids) == 0);
    zy_chat_tokens_destroy(&y);
    zy_chat_tokens_destroy(&x);
    zy_tokenizer_free(tok);
    // A tokenizer without the end token cannot render replies.
    const char *const vocab[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"};
    zy_tokenizer *wp = zt_task_wordpiece(vocab, 6);
    ASSERT(wp);
    zy_chat_tokens_init(&x);
    CHECK(zy_chat_encode(t, wp, m, 2, false, &x) == ZY_STATUS_NOT_FOUND && x.n == 0);
    CHECK(strstr(zy_last_error(), "<|endoftext|>") != NULL);
    zy_chat_tokens_destroy(&x);
    zy_tokenizer_free(wp);
}

static char *slurp(const char *path) {
    char *data = NULL;
    size_t len;
    if (zy_file_read(path, &data, &len)) return NULL;
    return data;
}

TEST(instruct_template_record_in_tokenizer_config) {
    char dir[] = "/tmp/zt-chat-XXXXXX", path[64];
    ASSERT(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    const zy_chat_template *t = (const zy_chat_template *)1;
    CHECK(zy_chat_template_load(dir, &t) == ZY_STATUS_OK && t == NULL); // no file
    ASSERT(zy_chat_template_save(zy_chat_template_default(), dir) == ZY_STATUS_OK);
    CHECK(zy_chat_template_load(dir, &t) == ZY_STATUS_OK && t == zy_chat_template_default());
    char *s = slurp(path);
    CHECK(s && strstr(s, "\"zhuyi_chat_template\"") && strstr(s, "\"chat_template\"") &&
          strstr(s, "\"eos_token\"") && strstr(s, "add_generation_prompt"));
    zy_free(s);
    // An existing file keeps its keys (and its own eos_token).
    FILE *f = fopen(path, "w");
    ASSERT(f);
    fputs("{\"model_max_length\": 1024, \"eos_token\": \"</s>\", \"chat_template\": \"x\"}", f);
    fclose(f);
    CHECK(zy_chat_template_load(dir, &t) == ZY_STATUS_OK && t == NULL); // Jinja alone: none
    ASSERT(zy_chat_template_save(zy_chat_template_default(), dir) == ZY_STATUS_OK);
    s = slurp(path);
    CHECK(s && strstr(s, "\"model_max_length\":\t1024") && strstr(s, "\"</s>\"") &&
          !strstr(s, "\"x\"") && strstr(s, "zhuyi-1"));
    zy_free(s);
    // Refused: an unknown template, a name that is no string, a file that is no object.
    f = fopen(path, "w");
    fputs("{\"zhuyi_chat_template\": \"zhuyi-9\"}", f);
    fclose(f);
    CHECK(zy_chat_template_load(dir, &t) == ZY_STATUS_UNSUPPORTED && t == NULL);
    CHECK(strstr(zy_last_error(), "zhuyi-9") && strstr(zy_last_error(), "tokenizer_config"));
    f = fopen(path, "w");
    fputs("{\"zhuyi_chat_template\": 1}", f);
    fclose(f);
    CHECK(zy_chat_template_load(dir, &t) == ZY_STATUS_BAD_FORMAT);
    f = fopen(path, "w");
    fputs("[1]", f);
    fclose(f);
    CHECK(zy_chat_template_load(dir, &t) == ZY_STATUS_BAD_FORMAT);
    CHECK(zy_chat_template_save(zy_chat_template_default(), dir) == ZY_STATUS_BAD_FORMAT);
    unlink(path);
    rmdir(dir);
}

// Truncation and packing by hand with the byte tokenizer: "### User:\nhi\n\n### Assistant:\n"
// is 29 tokens, "yo" + end 3, so the example is 32 tokens with 3 scored.
TEST(instruct_rows_truncate_and_pack) {
    zy_tokenizer *tok = zt_byte_tokenizer();
    ASSERT(tok);
    const char *line = "{\"prompt\": \"hi\", \"completion\": \"yo\"}\n";
    char text[256];
    snprintf(text, sizeof text, "%s%s%s", line, line, line);
    zy_instruct_data *d = zt_instruct_read("p.jsonl", text, false);
    ASSERT(d);
    const zy_chat_template *t = zy_chat_template_default();
    zy_instruct_rows *r = NULL;
    zy_instruct_rows_params p = zy_instruct_rows_default_params();
    struct {
        int seq;
        bool packing;
        int rows, truncated, skipped;
    } cases[] = {
        {95, true, 1, 0, 0},  // 3 x 32 = 96 = T + 1 tokens: one row
        {94, true, 2, 0, 0},  // 64 + 32
        {63, true, 2, 0, 0},  // 64 + 32
        {63, false, 3, 0, 0}, // one each
        {31, true, 3, 0, 0},  // exactly T + 1 each
        {10, true, 3, 3, 0},  // the last 11 tokens each
        {3, true, 3, 3, 0},   // "\nyo<end>": the reply is 3 = T tokens
        {2, true, 0, 0, 3},   // the reply is longer than T: left out
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        p.seq = cases[c].seq;
        p.packing = cases[c].packing;
        ASSERT(zy_instruct_rows_create(&r, d, t, tok, &p) == ZY_STATUS_OK);
        const zy_instruct_row_stats *s = zy_instruct_rows_stats(r);
        if ((int)zy_instruct_rows_count(r) != cases[c].rows ||
            (int)s->n_truncated != cases[c].truncated || (int)s->n_skipped != cases[c].skipped ||
            (int)s->n_scored != 3 * (3 - cases[c].skipped))
            zt_fail(__FILE__, __LINE__, "seq %d packing %d: %d rows, %d truncated, %d skipped, "
                    "%d scored", p.seq, p.packing, (int)zy_instruct_rows_count(r),
                    (int)s->n_truncated, (int)s->n_skipped, (int)s->n_scored);
        if (cases[c].seq == 10) {
            const int32_t *ids;
            const uint8_t *sc;
            int n;
            zy_instruct_rows_get(r, 0, &ids, &sc, &n);
            CHECK(n == 11 && ids[7] == '\n' && ids[8] == 'y' && ids[10] == 256);
            CHECK(sc[0] == 0 && sc[7] == 0 && sc[8] == 1 && sc[9] == 1 && sc[10] == 1);
        }
        if (cases[c].skipped == 3) { // no rows: the source says why
            zy_data_source *src = NULL;
            zy_instruct_source_params sp = zy_instruct_source_default_params();
            sp.batch = 1;
            CHECK(zy_instruct_source_create(&src, r, &sp) == ZY_STATUS_INVALID_ARGUMENT &&
                  !src && strstr(zy_last_error(), "longer than seq 2"));
        }
        zy_instruct_rows_free(r);
    }
    p.seq = 0;
    CHECK(zy_instruct_rows_create(&r, d, t, tok, &p) == ZY_STATUS_INVALID_ARGUMENT && !r);
    zy_instruct_data_free(d);
    zy_tokenizer_free(tok);
}

TEST(instruct_source_checks_and_fingerprints) {
    zy_tokenizer *tok = zt_byte_tokenizer();
    ASSERT(tok);
    const char *text = "{\"prompt\": \"a\", \"completion\": \"b\"}\n"
                       "{\"prompt\": \"cc\", \"completion\": \"dd\"}\n"
                       "{\"prompt\": \"eee\", \"completion\": \"fff\"}\n";
    zy_instruct_data *d = zt_instruct_read("f.jsonl", text, false);
    ASSERT(d);
    zy_instruct_rows *r = NULL;
    zy_instruct_rows_params rp = zy_instruct_rows_default_params();
    rp.packing = false;
    ASSERT(zy_instruct_rows_create(&r, d, zy_chat_template_default(), tok, &rp) == 0);
    zy_instruct_source_params p = zy_instruct_source_default_params();
    zy_data_source *s = NULL, *s2 = NULL;
    p.batch = 4; // more than the 3 rows
    CHECK(zy_instruct_source_create(&s, r, &p) == ZY_STATUS_INVALID_ARGUMENT && !s);
    p.batch = 0;
    CHECK(zy_instruct_source_create(&s, r, &p) == ZY_STATUS_INVALID_ARGUMENT);
    p.batch = 2, p.one_pass = true;
    CHECK(zy_instruct_source_create(&s, r, &p) == ZY_STATUS_INVALID_ARGUMENT); // shuffled
    p.one_pass = false;
    ASSERT(zy_instruct_source_create(&s, r, &p) == ZY_STATUS_OK);
    p.seed++;
    ASSERT(zy_instruct_source_create(&s2, r, &p) == ZY_STATUS_OK);
    const zy_data_source_info *a = zy_data_source_get_info(s), *b = zy_data_source_get_info(s2);
    CHECK(a->fingerprint != b->fingerprint && a->n_items == 3 && !strcmp(a->kind, "instruct"));
    CHECK(a->dims.fields == (ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS) && a->dims.batch == 2);
    // "### User:\neee\n\n### Assistant:\nfff<end>": 34 tokens, 33 inputs.
    CHECK(a->dims.seq == 33);
    CHECK(zy_data_source_shard(s, 1, 2) == ZY_STATUS_INVALID_ARGUMENT); // 4 rows a batch
    CHECK(zy_data_source_seek(s, (zy_data_pos){0, 4}) == ZY_STATUS_INVALID_ARGUMENT);
    zy_data_source_free(s);
    zy_data_source_free(s2);
    zy_instruct_rows_free(r);
    zy_instruct_data_free(d);
    zy_tokenizer_free(tok);
}
