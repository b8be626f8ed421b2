// Regression tests for what the fuzz harnesses (fuzz/, `make fuzz`) found, one test per
// finding, each on the smallest input that showed it (its reproducer is also in the
// harness's seed corpus, fuzz/corpus/<harness>/). Meant to fail loudly under
// `make sanitize` too, where a use-after-free is reported as such.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_safetensors.h"
#include "text/bpe.h"
#include "zhuyi/task.h"
#include "zhuyi/tokenizer.h"
#include "zhuyi/trainer.h"

// fuzz_trainer_state: a training state whose format or version is not zhuyi's. The reader
// freed the file's handle and then quoted its metadata strings in the error message (a
// heap use-after-free, and a message that could show garbage).
TEST(fuzz_found_trainer_state_wrong_version_message) {
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/training_state.safetensors", dir);
    const zy_safetensors_kv meta[] = {{"format", "zhuyi-training-state"}, {"version", "2"}};
    zy_safetensors_write_params wp = zy_safetensors_write_default_params();
    wp.metadata = meta;
    wp.n_metadata = 2;
    ASSERT(zy_safetensors_write(path, NULL, 0, wp) == ZY_STATUS_OK);
    zy_trainer_params p;
    long step;
    CHECK(zy_trainer_read_params(path, &p, &step) == ZY_STATUS_BAD_FORMAT);
    const char *msg = zy_last_error();
    zt_note("%s", msg);
    CHECK(strstr(msg, path) && strstr(msg, "format 'zhuyi-training-state' version '2'"));
    char buf[16];
    CHECK(zy_trainer_state_get(path, "version", buf, sizeof buf) == ZY_STATUS_BAD_FORMAT);
    CHECK(strstr(zy_last_error(), "version '2'") != NULL);
    stt_rm_dir(dir);
}

// fuzz_tokenizer_json: a merge one of whose halves is an added token. tokenizer.json
// spelled that half as the added token's literal text, but merges are read in the
// byte-level alphabet, so the saved file did not load again ("\xe9 + a makes a token not
// in the vocab"): the literal "\xc3\xa9" reads back as the single byte 0xE9.
TEST(fuzz_found_tokenizer_merge_of_added_token_saved_byte_level) {
    // vocab: the 256 bytes (byte-level spelling) and "\xc3\xa9a" (257, spelled "Ã©a");
    // added token "\xc3\xa9" (256, literal); merges "Ã ©" (makes the added token) and
    // "Ã© a" (uses it).
    cJSON *root = cJSON_CreateObject();
    cJSON *model = cJSON_AddObjectToObject(root, "model");
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    char s[8];
    for (int b = 0; b < 256; b++) {
        uint8_t c = (uint8_t)b;
        s[zy__bytelevel_encode(&c, 1, s)] = '\0';
        cJSON_AddNumberToObject(vocab, s, b);
    }
    cJSON_AddNumberToObject(vocab, "\xc3\x83\xc2\xa9" "a", 257);
    cJSON *merges = cJSON_AddArrayToObject(model, "merges");
    cJSON_AddItemToArray(merges, cJSON_CreateString("\xc3\x83 \xc2\xa9"));
    cJSON_AddItemToArray(merges, cJSON_CreateString("\xc3\x83\xc2\xa9 a"));
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    cJSON *a = cJSON_CreateObject();
    cJSON_AddNumberToObject(a, "id", 256);
    cJSON_AddStringToObject(a, "content", "\xc3\xa9");
    cJSON_AddBoolToObject(a, "special", 0);
    cJSON_AddItemToArray(added, a);
    cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "ByteLevel");
    cJSON_AddBoolToObject(pre, "add_prefix_space", 0);
    cJSON_AddBoolToObject(pre, "use_regex", 1);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    ASSERT(text);
    const char *dir = stt_tmp_dir();
    char p0[256], p1[256];
    snprintf(p0, sizeof p0, "%s/in.json", dir);
    snprintf(p1, sizeof p1, "%s/saved.json", dir);
    stt_put_file(p0, text, strlen(text));
    free(text);
    zy_tokenizer *t = NULL, *u = NULL;
    ASSERT(zy_tokenizer_load(&t, p0) == ZY_STATUS_OK);
    ASSERT(zy_tokenizer_save(t, p1) == ZY_STATUS_OK);
    zy_status st = zy_tokenizer_load(&u, p1);
    if (st) zt_note("%s", zy_last_error());
    CHECK(st == ZY_STATUS_OK);
    if (u) {
        CHECK(zy_tokenizer_merge_count(u) == 2 && zy_tokenizer_vocab_size(u) == 258);
        int32_t ids[4] = {0}, ids2[4] = {0};
        size_t n = 0, n2 = 0;
        CHECK(zy_tokenizer_encode(t, "\xc3\xa9" "a", 3, 0, ids, 3, &n) == ZY_STATUS_OK);
        CHECK(zy_tokenizer_encode(u, "\xc3\xa9" "a", 3, 0, ids2, 3, &n2) == ZY_STATUS_OK);
        CHECK(n == 1 && ids[0] == 257 && n2 == 1 && ids2[0] == 257);
    }
    zy_tokenizer_free(u);
    zy_tokenizer_free(t);
    stt_rm_dir(dir);
}

// fuzz_dataset: parallel encoding cut the text after any '\n' followed by a non-space
// character. After a longer whitespace run ("\n\n\n" + "cd") the cut changes the
// pre-tokens: in the whole text the run splits as "\n\n" + "\n" (\s+(?!\S), then \s),
// but at the end of a chunk it is one pre-token "\n\n\n" -- other ids wherever the
// tokenizer merges "\n\n\n". Cuts now go before that '\n'. CRLF text ("\r\n" + "cd")
// had the same problem; it is checked too.
TEST(fuzz_found_parallel_encode_cut_after_whitespace_run) {
    // A tokenizer that has learned "\n\n\n" and "\r\n\r\n" (seen whole before a space).
    static const char unit[] = "ab\n\n\n cd\r\n\r\n ef\n";
    size_t n_unit = sizeof unit - 1, n_train = 64 * n_unit;
    char *train = zt_malloc(n_train);
    for (size_t i = 0; i < n_train; i += n_unit) memcpy(train + i, unit, n_unit);
    zy_bpe_train_params p = zy_bpe_train_default_params();
    p.vocab_size = 300;
    zy_tokenizer *t;
    const char *tp = train;
    ASSERT(zy_tokenizer_train_bpe_texts(&t, &tp, &n_train, 1, p) == ZY_STATUS_OK);
    free(train);
    int32_t nl3[4];
    size_t k = 0;
    ASSERT(zy_tokenizer_encode(t, "\n\n\n", 3, 0, nl3, 3, &k) == ZY_STATUS_OK);
    CHECK(k == 1); // the merges this test needs
    ASSERT(zy_tokenizer_encode(t, "\r\n\r\n", 4, 0, nl3, 4, &k) == ZY_STATUS_OK);
    CHECK(k == 1);
    // A text past the parallel threshold whose only newlines end in runs of three.
    static const char line[] = "ab\n\n\ncd ";
    size_t n_line = sizeof line - 1, len = 0, cap = 80000;
    char *text = zt_malloc(cap);
    while (len + n_line <= cap) memcpy(text + len, line, n_line), len += n_line;
    int32_t *a = zt_malloc(len * sizeof *a), *b = zt_malloc(len * sizeof *b);
    size_t na = 0, nb = 0;
    zy_threads_set(2);
    ASSERT(zy_tokenizer_encode(t, text, len, 0, a, len, &na) == ZY_STATUS_OK);
    ASSERT(zy_tokenizer_encode_parallel(t, text, len, 0, b, len, &nb) == ZY_STATUS_OK);
    zt_note("%zu ids sequential, %zu parallel", na, nb);
    CHECK(na == nb && !memcmp(a, b, na * sizeof *a));
    // CRLF lines: "\r\n" before a word is "\r" + "\n" in the whole text.
    static const char crlf[] = "ab\r\n\r\ncd ";
    size_t n_crlf = sizeof crlf - 1;
    for (len = 0; len + n_crlf <= cap; len += n_crlf) memcpy(text + len, crlf, n_crlf);
    ASSERT(zy_tokenizer_encode(t, text, len, 0, a, len, &na) == ZY_STATUS_OK);
    ASSERT(zy_tokenizer_encode_parallel(t, text, len, 0, b, len, &nb) == ZY_STATUS_OK);
    zt_note("CRLF: %zu ids sequential, %zu parallel", na, nb);
    CHECK(na == nb && !memcmp(a, b, na * sizeof *a));
    free(b);
    free(a);
    free(text);
    zy_tokenizer_free(t);
}

// fuzz_wordpiece: a vocab.txt line ending "\r\r\n" is the token "x\r" (one "\r" before the
// "\n" is dropped, for CRLF files). zy_tokenizer_save_vocab_txt wrote it back as "x\r\n",
// which reads as "x": the saved vocab.txt changed a token (and made a duplicate when "x"
// was listed too). Such a token is now written with "\r\n".
TEST(fuzz_found_vocab_txt_token_ending_in_cr_saved_whole) {
    const char *dir = stt_tmp_dir();
    char p0[256], p1[256], p2[256];
    snprintf(p0, sizeof p0, "%s/in.txt", dir);
    snprintf(p1, sizeof p1, "%s/saved.txt", dir);
    snprintf(p2, sizeof p2, "%s/again.txt", dir);
    static const char vocab[] = "[UNK]\r\ndon\r\r\n\r\r\ndon\r\n";
    stt_put_file(p0, vocab, sizeof vocab - 1);
    zy_tokenizer *t = NULL, *u = NULL;
    ASSERT(zy_tokenizer_load(&t, p0) == ZY_STATUS_OK);
    size_t n = 0;
    const char *tok = zy_tokenizer_token_bytes(t, 1, &n);
    CHECK(zy_tokenizer_vocab_size(t) == 4 && n == 4 && !memcmp(tok, "don\r", 4));
    ASSERT(zy_tokenizer_save_vocab_txt(t, p1) == ZY_STATUS_OK);
    zy_status st = zy_tokenizer_load(&u, p1);
    if (st) zt_note("%s", zy_last_error());
    CHECK(st == ZY_STATUS_OK);
    if (u) {
        CHECK(zy_tokenizer_vocab_size(u) == 4);
        for (int id = 0; id < 4; id++) {
            size_t a, b;
            const char *x = zy_tokenizer_token_bytes(t, id, &a), *y = zy_tokenizer_token_bytes(u, id, &b);
            CHECK(x && y && a == b && !memcmp(x, y, a));
        }
        ASSERT(zy_tokenizer_save_vocab_txt(u, p2) == ZY_STATUS_OK);
        size_t n1 = 0, n2 = 0;
        unsigned char *b1 = stt_get_file(p1, &n1), *b2 = stt_get_file(p2, &n2);
        CHECK(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1));
        free(b1);
        free(b2);
    }
    zy_tokenizer_free(u);
    zy_tokenizer_free(t);
    stt_rm_dir(dir);
}

// fuzz_wordpiece (its save -> load property, on a hand-made input): a file was JSON when
// its first non-blank byte was '{', whatever its name, so a vocab.txt whose first token
// starts with '{' (here " " then "{", saved from a tokenizer.json) did not load by its
// path ("not valid JSON"), though the directory lookup reads vocab.txt as vocab.txt.
// A name ending in ".txt" now means vocab.txt.
TEST(fuzz_found_vocab_txt_starting_with_brace_loads_by_path) {
    const char *dir = stt_tmp_dir();
    char pj[256], pv[256], p1[256];
    snprintf(pj, sizeof pj, "%s/tokenizer.json", dir);
    snprintf(pv, sizeof pv, "%s/vocab.txt", dir);
    snprintf(p1, sizeof p1, "%s/first.txt", dir);
    static const char json[] =
        "{\"normalizer\": {\"type\": \"BertNormalizer\"}, \"pre_tokenizer\": {\"type\": "
        "\"BertPreTokenizer\"}, \"decoder\": {\"type\": \"WordPiece\"}, \"model\": {\"type\": "
        "\"WordPiece\", \"vocab\": {\" \": 0, \"{\": 1, \"[UNK]\": 2}}}";
    stt_put_file(pj, json, sizeof json - 1);
    zy_tokenizer *t = NULL, *u = NULL, *w = NULL;
    ASSERT(zy_tokenizer_load(&t, pj) == ZY_STATUS_OK);
    ASSERT(zy_tokenizer_save_vocab_txt(t, pv) == ZY_STATUS_OK);
    zy_status st = zy_tokenizer_load(&u, pv);
    if (st) zt_note("%s", zy_last_error());
    CHECK(st == ZY_STATUS_OK && u && zy_tokenizer_vocab_size(u) == 3 &&
          zy_tokenizer_find(u, "{", 1) == 1 && zy_tokenizer_find(u, " ", 1) == 0);
    // A vocab.txt whose very first token is "{".
    stt_put_file(p1, "{\n[UNK]\n##a\n", 12);
    st = zy_tokenizer_load(&w, p1);
    if (st) zt_note("%s", zy_last_error());
    CHECK(st == ZY_STATUS_OK && w && zy_tokenizer_vocab_size(w) == 3 &&
          zy_tokenizer_get_type(w) == ZY_TOKENIZER_WORDPIECE);
    zy_tokenizer_free(w);
    zy_tokenizer_free(u);
    zy_tokenizer_free(t);
    stt_rm_dir(dir);
}

// fuzz_task_jsonl: a regression label just under the 3.0e38 bound as a double
// (-3.0000000000000000000000000125e38) rounds to a float just over it; it was accepted,
// and the examples written back (as that float) did not read again. The bound is now
// the stored float's: refused, naming the line.
TEST(fuzz_found_task_label_rounding_past_bound) {
    static const char text[] = "{\"text\":\"x\",\"label\":"
                               "-300000000000000000000000000000000000000.125}\n"
                               "{\"text\":\"y\",\"label\":-3e+38}\n";
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    p.problem = ZY_PROBLEM_REGRESSION;
    zy_task_data *d = NULL;
    zy_status st = zy_task_data_read_buffer(&d, "r.jsonl", text, sizeof text - 1, &p, NULL);
    zt_note("%s", st ? zy_last_error() : "accepted");
    CHECK(st == ZY_STATUS_BAD_FORMAT && strstr(zy_last_error(), "r.jsonl:1: label") != NULL);
    zy_task_data_free(d);
}
