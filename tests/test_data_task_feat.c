// Tests of the fine-tuning features (src/data/task_features.c, task_qa.c) with a tiny
// WordPiece vocabulary written here: the classification template and longest-first
// truncation, tag alignment (first piece labelled, the rest and specials -1, word ids,
// truncation counted, offsets), QA windows (HF's stride), answer spans at window edges,
// answers no window holds, character vs byte offsets, unlabelled QA; and BPE tagging.
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "data_task_util.h"

static zy_task_features *features(const zy_task_data *d, zy_tokenizer *t, int T, int stride) {
    zy_task_feature_params fp = zy_task_feature_default_params();
    fp.max_length = T;
    fp.doc_stride = stride;
    zy_task_features *f = NULL;
    if (zy_task_features_create(&f, d, t, &fp))
        zt_fail(__FILE__, __LINE__, "features: %s", zy_last_error());
    return f;
}

// ids == the tokens named (space separated).
static void check_ids(const zy_task_feature *f, const char *tokens) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", tokens);
    int n = 0;
    for (char *s = strtok(buf, " "); s; s = strtok(NULL, " "), n++) {
        if (n >= f->n || f->ids[n] != zt_task_id(s)) {
            zt_fail(__FILE__, __LINE__, "token %d: id %d, expected '%s' (%d)", n,
                    n < f->n ? f->ids[n] : -1, s, zt_task_id(s));
            return;
        }
    }
    if (n != f->n) zt_fail(__FILE__, __LINE__, "%d tokens, expected %d (%s)", f->n, n, tokens);
}

TEST(task_features_classify) {
    zy_tokenizer *t = zt_task_wordpiece(ZT_TASK_VOCAB, ZT_TASK_VOCAB_N);
    ASSERT(t);
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    p.text_pair_column = "b";
    zy_task_data *d = zt_task_read("f.csv", "text,b,label\nthe cat sat,the dog,x\n"
                                   "the cat sat on the mat,a,y\n", &p, NULL);
    ASSERT(d);
    zy_task_features *f = features(d, t, 8, 0);
    ASSERT(f);
    ASSERT_EQ_INT(zy_task_features_count(f), 2);
    const zy_task_feature *a = zy_task_features_get(f, 0), *b = zy_task_features_get(f, 1);
    // 3 + 2 + 3 specials = 8 fits; the second: 6 + 1 + 3 = 10 -> the longer loses 2.
    check_ids(a, "[CLS] the cat sat [SEP] the dog [SEP]");
    check_ids(b, "[CLS] the cat sat on [SEP] a [SEP]");
    const int types[8] = {0, 0, 0, 0, 0, 1, 1, 1};
    for (int i = 0; i < 8; i++) CHECK(a->type_ids[i] == types[i]);
    CHECK(a->label == 0 && b->label == 1 && a->example == 0 && b->example == 1);
    CHECK(zy_task_features_stats(f)->n_truncated == 1);
    zy_task_features_free(f);
    zy_task_data_free(d);
    zy_tokenizer_free(t);
}

TEST(task_features_tag_alignment) {
    zy_tokenizer *t = zt_task_wordpiece(ZT_TASK_VOCAB, ZT_TASK_VOCAB_N);
    ASSERT(t);
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_TAG);
    // cats -> cat ##s; running... "walked" -> walk ##ed; zzz -> [UNK]; 注意 -> 注 意
    zy_task_data *d = zt_task_read("g.txt", "the/A cats/B walked/C zzz/D \xe6\xb3\xa8\xe6\x84\x8f/E\n",
                                   &p, NULL);
    ASSERT(d);
    zy_task_features *f = features(d, t, 16, 0);
    ASSERT(f);
    const zy_task_feature *a = zy_task_features_get(f, 0);
    check_ids(a, "[CLS] the cat ##s walk ##ed [UNK] \xe6\xb3\xa8 \xe6\x84\x8f [SEP]");
    const int tg[10] = {-1, 0, 1, -1, 2, -1, 3, 4, -1, -1};
    const int wid[10] = {-1, 0, 1, 1, 2, 2, 3, 4, 4, -1};
    for (int i = 0; i < 10; i++) {
        CHECK(a->targets[i] == tg[i]);
        CHECK(a->word_ids[i] == wid[i]);
    }
    // Offsets within the word: characters and bytes (注意: 3 bytes a character).
    CHECK(a->offsets[2 * 3] == 3 && a->offsets[2 * 3 + 1] == 4);  // ##s of cats
    CHECK(a->offsets[2 * 8] == 1 && a->offsets[2 * 8 + 1] == 2);  // 意
    CHECK(a->byte_offsets[2 * 8] == 3 && a->byte_offsets[2 * 8 + 1] == 6);
    CHECK(a->offsets[0] == -1 && a->byte_offsets[2 * 9] == -1);
    zy_task_features_free(f);
    // T = 6: [CLS] the cat ##s walk [SEP]: walked's first piece gets in (and its tag), the
    // rest of the words do not.
    f = features(d, t, 6, 0);
    ASSERT(f);
    a = zy_task_features_get(f, 0);
    check_ids(a, "[CLS] the cat ##s walk [SEP]");
    CHECK(a->targets[4] == 2 && a->targets[5] == -1);
    const zy_task_feature_stats *st = zy_task_features_stats(f);
    CHECK(st->n_truncated == 1 && st->n_words_truncated == 2);
    zy_task_features_free(f);
    zy_task_data_free(d);
    zy_tokenizer_free(t);
}

TEST(task_features_tag_bpe) {
    // Byte-level BPE: each word encoded with a space before it, offsets within the word.
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 300;
    const char *text = "the cat sat on the mat the cat the cat";
    size_t len = strlen(text);
    zy_tokenizer *t = NULL;
    ASSERT(zy_tokenizer_train_bpe_texts(&t, &text, &len, 1, bp) == 0);
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_TAG);
    zy_task_data *d = zt_task_read("h.txt", "the/A cat/B mat/C\n", &p, NULL);
    ASSERT(d);
    zy_task_features *f = features(d, t, 32, 0);
    ASSERT(f);
    const zy_task_feature *a = zy_task_features_get(f, 0);
    int32_t want[8];
    size_t n = 0;
    ASSERT(zy_tokenizer_encode(t, " the cat mat", 12, 0, want, 8, &n) == 0);
    ASSERT_EQ_INT(a->n, (int)n);
    for (int i = 0; i < a->n; i++) CHECK(a->ids[i] == want[i]);
    CHECK(a->targets[0] == 0 && a->word_ids[0] == 0 && a->offsets[0] == 0);
    CHECK(a->offsets[1] == 3); // " the" covers the whole word "the"
    zy_task_features_free(f);
    zy_task_data_free(d);
    zy_tokenizer_free(t);
}

// One QA example: context of words w0..w(n-1) (each a vocabulary word), answer = words
// [a, b] (character start computed).
static zy_task_data *qa_data(const char *question, const char *context, const char *answer,
                             int start, bool labelled) {
    char line[2048];
    if (labelled)
        snprintf(line, sizeof line, "{\"id\":\"x\",\"question\":\"%s\",\"context\":\"%s\","
                 "\"answers\":{\"text\":[\"%s\"],\"answer_start\":[%d]}}\n", question, context,
                 answer, start);
    else
        snprintf(line, sizeof line, "{\"id\":\"x\",\"question\":\"%s\",\"context\":\"%s\"}\n",
                 question, context);
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_QA);
    p.require_labels = labelled;
    return zt_task_read("qa.jsonl", line, &p, NULL);
}

TEST(task_features_qa_windows) {
    zy_tokenizer *t = zt_task_wordpiece(ZT_TASK_VOCAB, ZT_TASK_VOCAB_N);
    ASSERT(t);
    // Context tokens: a b c the cat sat on the mat dog (10), question "who ?" (2).
    const char *ctx = "a b c the cat sat on the mat dog";
    // T = 10: L = 10 - 2 - 3 = 5, stride 2: windows start 0, 3, 6 (the last reaches 10).
    zy_task_data *d = qa_data("who?", ctx, "sat on", 14, true);
    ASSERT(d);
    zy_task_features *f = features(d, t, 10, 2);
    ASSERT(f);
    ASSERT_EQ_INT(zy_task_features_count(f), 3);
    const zy_task_feature *w0 = zy_task_features_get(f, 0), *w1 = zy_task_features_get(f, 1),
                          *w2 = zy_task_features_get(f, 2);
    check_ids(w0, "[CLS] who ? [SEP] a b c the cat [SEP]");
    check_ids(w1, "[CLS] who ? [SEP] the cat sat on the [SEP]");
    check_ids(w2, "[CLS] who ? [SEP] on the mat dog [SEP]");
    CHECK(w1->context_start == 4 && w1->context_end == 9 && w2->context_end == 8);
    CHECK(w0->type_ids[3] == 0 && w0->type_ids[4] == 1 && w0->type_ids[9] == 1);
    // "sat on" = context tokens 5..6: in window 1 (tokens 3..7) at 4 + 2 .. 4 + 3; window 0
    // lacks it, window 2 (6..9) holds "on" only: (0, 0).
    CHECK(w0->span_start == 0 && w0->span_end == 0);
    CHECK(w1->span_start == 6 && w1->span_end == 7);
    CHECK(w2->span_start == 0 && w2->span_end == 0);
    CHECK(w1->window == 1 && w2->example == 0);
    // Offsets: the context's characters, -1 outside it.
    CHECK(w1->offsets[2 * 6] == 14 && w1->offsets[2 * 6 + 1] == 17);
    CHECK(w1->offsets[2 * 1] == -1 && w1->offsets[2 * 9] == -1);
    CHECK(zy_task_features_stats(f)->n_windows_without_answer == 2);
    zy_task_features_free(f);
    zy_task_data_free(d);

    // Answer at a window's edges: "a" (first token of window 0) and "dog" (last of all).
    d = qa_data("who?", ctx, "a", 0, true);
    f = features(d, t, 10, 2);
    ASSERT(f);
    CHECK(zy_task_features_get(f, 0)->span_start == 4 && zy_task_features_get(f, 0)->span_end == 4);
    zy_task_features_free(f);
    zy_task_data_free(d);
    d = qa_data("who?", ctx, "dog", 29, true);
    f = features(d, t, 10, 2);
    ASSERT(f);
    CHECK(zy_task_features_get(f, 2)->span_start == 7 && zy_task_features_get(f, 2)->span_end == 7);
    CHECK(zy_task_features_get(f, 1)->span_start == 0);
    zy_task_features_free(f);
    zy_task_data_free(d);

    // An answer longer than a window: no window holds it (all (0, 0)), counted.
    d = qa_data("who?", ctx, "c the cat sat on the", 4, true);
    f = features(d, t, 10, 2);
    ASSERT(f);
    for (size_t i = 0; i < zy_task_features_count(f); i++)
        CHECK(zy_task_features_get(f, i)->span_start == 0 && zy_task_features_get(f, i)->span_end == 0);
    CHECK(zy_task_features_stats(f)->n_answers_outside == 1);
    zy_task_features_free(f);
    zy_task_data_free(d);

    // Stride 0: windows do not overlap (0, 5). A long context at T = 64: one window.
    d = qa_data("who?", ctx, "dog", 29, true);
    f = features(d, t, 10, 0);
    ASSERT(f);
    CHECK(zy_task_features_count(f) == 2);
    zy_task_features_free(f);
    f = features(d, t, 64, 16);
    ASSERT(f);
    CHECK(zy_task_features_count(f) == 1 && zy_task_features_get(f, 0)->span_start == 13);
    zy_task_features_free(f);
    // No room for the context beyond the stride: an error naming the example's line.
    zy_task_feature_params fp = zy_task_feature_default_params();
    fp.max_length = 7, fp.doc_stride = 2;
    CHECK(zy_task_features_create(&f, d, t, &fp) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "qa.jsonl:1:") != NULL);
    zy_task_data_free(d);

    // Characters, not bytes: 注意 the cat, answer "cat" at character 7 (byte 11).
    d = qa_data("who?", "\xe6\xb3\xa8\xe6\x84\x8f the cat", "cat", 7, true);
    f = features(d, t, 32, 8);
    ASSERT(f);
    const zy_task_feature *a = zy_task_features_get(f, 0);
    CHECK(a->span_start == 7 && a->span_end == 7);
    CHECK(a->offsets[2 * 7] == 7 && a->byte_offsets[2 * 7] == 11);
    CHECK(a->offsets[2 * 5] == 1 && a->byte_offsets[2 * 5] == 3); // 意
    zy_task_features_free(f);
    zy_task_data_free(d);

    // Unlabelled: spans -1.
    d = qa_data("who?", ctx, "", 0, false);
    f = features(d, t, 10, 2);
    ASSERT(f);
    CHECK(zy_task_features_get(f, 0)->span_start == -1);
    zy_task_features_free(f);
    zy_task_data_free(d);
    zy_tokenizer_free(t);
}
