// Tests of the fine-tuning readers (src/data/task_read.c, task_data.c, task_labels.c,
// task_csv.c, task_jsonl.c, task_conll.c) on small files written here: each format,
// RFC 4180 quoting, label sets (sorted, given, unknown), multi-label and regression,
// unlabelled files for prediction, every documented error naming file and line,
// skip_bad_rows counting, format choice by name.
#include <math.h>
#include <string.h>

#include "harness.h"
#include "data_task_util.h"

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

static void check_text(const zy_task_example *e, const char *text) {
    if (!e || !e->text || strcmp(e->text, text) != 0 || e->text_len != strlen(text))
        zt_fail(__FILE__, __LINE__, "text '%s', expected '%s'",
                e && e->text ? e->text : "(null)", text);
}

static const char *label_of(const zy_task_data *d, size_t i) {
    return zy_label_set_name(zy_task_data_labels(d), zy_task_data_example(d, i)->label);
}

TEST(task_csv_quoting_and_labels) {
    // Quoted separators, doubled quotes, a line break inside quotes, CRLF, a blank line,
    // spaces kept, a column order of its own.
    const char *csv = "id,label,text\r\n"
                      "1,pos,\"good, very good\"\r\n"
                      "2,neg,\"he said \"\"bad\"\"\"\n"
                      "3,neg,\"two\nlines\"\n"
                      "\n"
                      "4,pos, spaced \n";
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    zy_task_data *d = zt_task_read("a.csv", csv, &p, NULL);
    ASSERT(d);
    ASSERT_EQ_INT(zy_task_data_count(d), 4);
    check_text(zy_task_data_example(d, 0), "good, very good");
    check_text(zy_task_data_example(d, 1), "he said \"bad\"");
    check_text(zy_task_data_example(d, 2), "two\nlines");
    check_text(zy_task_data_example(d, 3), " spaced ");
    const uint64_t lines[4] = {2, 3, 4, 7};
    for (int i = 0; i < 4; i++) CHECK(zy_task_data_example(d, (size_t)i)->line == lines[i]);
    // Labels sorted bytewise: neg 0, pos 1.
    const zy_label_set *L = zy_task_data_labels(d);
    ASSERT_EQ_INT(zy_label_set_count(L), 2);
    CHECK(strcmp(zy_label_set_name(L, 0), "neg") == 0);
    CHECK(strcmp(zy_label_set_name(L, 1), "pos") == 0);
    const int want[4] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) CHECK(zy_task_data_example(d, (size_t)i)->label == want[i]);
    CHECK(zy_task_data_labelled(d));
    CHECK(zy_task_data_example(d, 0)->pair == NULL);
    zy_task_data_free(d);
}

TEST(task_csv_lines_end_at_a_lone_cr) {
    // Rows ended by a carriage return alone (old Mac files) are numbered line by line,
    // in examples and in errors, as LF and CRLF rows are.
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    zy_task_data *d = zt_task_read("cr.csv", "label,text\rpos,a\r\rneg,\"b\rc\"\rpos,d", &p, NULL);
    ASSERT(d);
    ASSERT_EQ_INT(zy_task_data_count(d), 3);
    check_text(zy_task_data_example(d, 1), "b\rc");
    const uint64_t lines[3] = {2, 4, 6};
    for (int i = 0; i < 3; i++) CHECK(zy_task_data_example(d, (size_t)i)->line == lines[i]);
    zy_task_data_free(d);
    zt_task_fails("cr.csv", "label,text\rpos,a\rneg,b,extra\r", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES("cr.csv:3:"));
}

TEST(task_tsv_pairs_and_given_labels) {
    // TSV: a quote inside an unquoted field is a character; a quoted field may hold tabs.
    const char *tsv = "sentence1\tsentence2\tgold\n"
                      "a \"b\" c\tsecond\tentail\n"
                      "\"x\ty\"\tz\tcontra\n";
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    p.text_column = "sentence1", p.text_pair_column = "sentence2", p.label_column = "gold";
    // Given labels keep the caller's order.
    zy_label_set *L = NULL;
    ASSERT(zy_label_set_create(&L, (const char *const[]){"neutral", "entail", "contra"}, 3) == 0);
    zy_task_data *d = zt_task_read("b.tsv", tsv, &p, L);
    ASSERT(d);
    ASSERT_EQ_INT(zy_task_data_count(d), 2);
    check_text(zy_task_data_example(d, 0), "a \"b\" c");
    check_text(zy_task_data_example(d, 1), "x\ty");
    CHECK(strcmp(zy_task_data_example(d, 0)->pair, "second") == 0);
    CHECK(zy_task_data_example(d, 0)->label == 1 && zy_task_data_example(d, 1)->label == 2);
    CHECK(zy_label_set_count(zy_task_data_labels(d)) == 3);
    zy_task_data_free(d);
    // An unknown label in validation data names file, line and label.
    zt_task_fails("c.tsv", "sentence1\tsentence2\tgold\nx\ty\tentail\nx\ty\tmaybe\n", &p, L,
                  ZY_STATUS_BAD_FORMAT, NEEDLES(":3:", "'maybe'", "gold"));
    // Duplicate and empty names are refused when a set is given.
    zy_label_set *bad = NULL;
    CHECK(zy_label_set_create(&bad, (const char *const[]){"a", "a"}, 2) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_label_set_create(&bad, (const char *const[]){"a", ""}, 2) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_label_set_find(L, "contra", 6) == 2 && zy_label_set_find(L, "x", 1) == -1);
    zy_label_set_free(L);
}

TEST(task_csv_errors_name_file_and_line) {
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    zt_task_fails("e1.csv", "text,label\na,x\nb,y,z\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":3:", "3 fields", "header has 2"));
    zt_task_fails("e2.csv", "txt,label\na,x\n", &p, NULL, ZY_STATUS_NOT_FOUND,
                  NEEDLES(":1:", "'text'"));
    zt_task_fails("e3.csv", "text,label\na,x\n\"open,y\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":3:", "not closed"));
    zt_task_fails("e4.csv", "text,label\na,x\nab\"c,y\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":3:", "quot"));
    zt_task_fails("e5.csv", "", &p, NULL, ZY_STATUS_BAD_FORMAT, NEEDLES("empty"));
    zt_task_fails("e6.csv", " \n\n", &p, NULL, ZY_STATUS_BAD_FORMAT, NEEDLES("empty"));
    zt_task_fails("e7.csv", "text,label\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES("no example"));
    zt_task_fails("e8.csv", "text,label\nok,x\nbad \xff text,y\n", &p, NULL,
                  ZY_STATUS_BAD_FORMAT, NEEDLES(":3:", "UTF-8", "text"));
    zt_task_fails("e9.csv", "text,label\nok,x\nno label,\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":3:", "label"));
    zt_task_fails("e10.dat", "text,label\n", &p, NULL, ZY_STATUS_UNSUPPORTED,
                  NEEDLES("format"));
    p.problem = ZY_PROBLEM_REGRESSION;
    zt_task_fails("e11.csv", "text,label\na,1.5\nb,high\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":3:", "'high'", "not a number"));
}

TEST(task_skip_bad_rows_counts) {
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    p.skip_bad_rows = true;
    const char *csv = "text,label\na,x\nb,y,z\nc,\n\xff,x\nd,y\ne,x,1\nf,x,2\n";
    zy_task_data *d = zt_task_read("s.csv", csv, &p, NULL);
    ASSERT(d);
    const zy_task_read_report *r = zy_task_data_report(d);
    ASSERT_EQ_INT(zy_task_data_count(d), 2);
    ASSERT_EQ_INT(r->n_skipped, 5);
    ASSERT_EQ_INT(r->n_examples, 2);
    ASSERT_EQ_INT(r->n_reasons, ZY_TASK_REPORT_REASONS);
    CHECK(strstr(r->reasons[0], "s.csv:3:") != NULL);
    CHECK(strstr(r->reasons[1], "s.csv:4:") != NULL);
    CHECK(strstr(r->reasons[2], "s.csv:5:") != NULL);
    CHECK(strcmp(label_of(d, 1), "y") == 0);
    zy_task_data_free(d);
    // Broken quoting still fails the file; all rows bad is "no example".
    zt_task_fails("s2.csv", "text,label\na,x\n\"b,y\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES("not closed"));
    zt_task_fails("s3.csv", "text,label\na,x,1\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES("no example", "s3.csv:2:"));
    // JSONL and CoNLL rows are skipped the same way.
    zy_task_read_params t = zy_task_read_default_params(ZY_TASK_TAG);
    t.skip_bad_rows = true;
    d = zt_task_read("s.conll", "a X\nb\n\nc Y\n\nd X\ne\n", &t, NULL);
    ASSERT(d);
    CHECK(zy_task_data_count(d) == 1 && zy_task_data_report(d)->n_skipped == 2);
    zy_task_data_free(d);
    d = zt_task_read("s.jsonl", "{\"text\":\"a\",\"label\":\"x\"}\n{bad\n[1]\n", &p, NULL);
    ASSERT(d);
    CHECK(zy_task_data_count(d) == 1 && zy_task_data_report(d)->n_skipped == 2);
    zy_task_data_free(d);
}

TEST(task_jsonl_classify_forms) {
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    const char *j = "{\"text\": \"one\", \"label\": 1}\n"
                    "\n"
                    "{\"text\": \"two\", \"label\": -1}\n"
                    "{\"text\": \"three\", \"label\": \"1\"}\n";
    zy_task_data *d = zt_task_read("c.jsonl", j, &p, NULL);
    ASSERT(d);
    ASSERT_EQ_INT(zy_task_data_count(d), 3);
    // Numbers are names: "-1" < "1".
    CHECK(strcmp(label_of(d, 0), "1") == 0 && strcmp(label_of(d, 1), "-1") == 0);
    CHECK(zy_task_data_example(d, 0)->label == zy_task_data_example(d, 2)->label);
    CHECK(zy_task_data_example(d, 1)->line == 3);
    zy_task_data_free(d);
    // Multi-label: lists (JSONL) and separated names (CSV), deduplicated, ascending ids.
    p.problem = ZY_PROBLEM_MULTI_LABEL;
    d = zt_task_read("m.jsonl", "{\"text\":\"a\",\"label\":[\"z\",\"b\",\"z\"]}\n"
                                "{\"text\":\"b\",\"label\":[\"m\"]}\n", &p, NULL);
    ASSERT(d);
    const zy_task_example *e = zy_task_data_example(d, 0);
    ASSERT_EQ_INT(e->n_labels, 2);
    CHECK(e->labels[0] == 0 && e->labels[1] == 2); // b m z
    zy_task_data_free(d);
    d = zt_task_read("m.csv", "text,label\na,\"z, b\"\nb,m\n", &p, NULL);
    ASSERT(d);
    e = zy_task_data_example(d, 0);
    CHECK(e->n_labels == 2 && e->labels[0] == 0 && e->labels[1] == 2);
    zy_task_data_free(d);
    // Regression: numbers (JSON) and text numbers.
    p.problem = ZY_PROBLEM_REGRESSION;
    d = zt_task_read("r.jsonl", "{\"text\":\"a\",\"label\":0.25}\n{\"text\":\"b\",\"label\":\"-3\"}\n",
                     &p, NULL);
    ASSERT(d);
    CHECK(zy_task_data_example(d, 0)->value == 0.25f && zy_task_data_example(d, 1)->value == -3.0f);
    CHECK(zy_task_data_labels(d) == NULL);
    zy_task_data_free(d);
    // Errors.
    p.problem = ZY_PROBLEM_SINGLE_LABEL;
    zt_task_fails("j1.jsonl", "{\"text\":\"a\",\"label\":\"x\"}\n{\"text\": }\n", &p, NULL,
                  ZY_STATUS_BAD_FORMAT, NEEDLES(":2:", "JSON"));
    zt_task_fails("j2.jsonl", "{\"label\":\"x\"}\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":1:", "'text'"));
    zt_task_fails("j3.jsonl", "{\"text\":\"a\",\"label\":[\"x\"]}\n", &p, NULL,
                  ZY_STATUS_BAD_FORMAT, NEEDLES(":1:", "multi-label"));
    zt_task_fails("j4.jsonl", "{\"text\":\"a\",\"label\":\"x\"} 3\n", &p, NULL,
                  ZY_STATUS_BAD_FORMAT, NEEDLES(":1:", "after"));
    zt_task_fails("j5.jsonl", "{\"text\":\"a\"}\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":1:", "label"));
}

TEST(task_unlabelled_for_prediction) {
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    p.require_labels = false;
    zy_label_set *L = NULL;
    ASSERT(zy_label_set_create(&L, (const char *const[]){"neg", "pos"}, 2) == 0);
    zy_task_data *d = zt_task_read("u.csv", "text\nfirst\nsecond\n", &p, L);
    ASSERT(d);
    CHECK(zy_task_data_count(d) == 2 && !zy_task_data_labelled(d));
    CHECK(zy_task_data_example(d, 0)->label == -1);
    zy_task_data_free(d);
    d = zt_task_read("u.jsonl", "{\"text\":\"a\"}\n{\"text\":\"b\",\"label\":\"pos\"}\n", &p, L);
    ASSERT(d);
    CHECK(!zy_task_data_labelled(d) && zy_task_data_example(d, 1)->label == 1);
    zy_task_data_free(d);
    zy_task_read_params t = zy_task_read_default_params(ZY_TASK_TAG);
    t.require_labels = false;
    t.format = ZY_TASK_FORMAT_WORD_TAG; // by name, .txt would be CoNLL (no '/' on line 1)
    d = zt_task_read("u.txt", "the cat sat\nthe dog\n", &t, NULL);
    ASSERT(d);
    CHECK(zy_task_data_count(d) == 2 && zy_task_data_example(d, 0)->tags == NULL);
    CHECK(zy_task_data_example(d, 0)->n_words == 3);
    zy_task_data_free(d);
    zy_label_set_free(L);
}

TEST(task_conll_and_word_tag) {
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_TAG);
    const char *conll = "-DOCSTART- -X- -X- O\n\n"
                        "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n"
                        "Peter NNP B-NP B-PER\r\nBlackburn NNP I-NP I-PER\n";
    zy_task_data *d = zt_task_read("t.conll", conll, &p, NULL);
    ASSERT(d);
    ASSERT_EQ_INT(zy_task_data_count(d), 2);
    const zy_task_example *e = zy_task_data_example(d, 1);
    ASSERT_EQ_INT(e->n_words, 2);
    CHECK(strcmp(e->words[1], "Blackburn") == 0 && e->line == 7);
    CHECK(zy_task_data_example(d, 0)->line == 3);
    // Tags sorted: B-ORG B-PER I-PER O.
    const zy_label_set *L = zy_task_data_labels(d);
    ASSERT_EQ_INT(zy_label_set_count(L), 4);
    CHECK(strcmp(zy_label_set_name(L, 0), "B-ORG") == 0 && strcmp(zy_label_set_name(L, 3), "O") == 0);
    CHECK(e->tags[0] == 1 && e->tags[1] == 2);
    zy_task_data_free(d);
    // word/TAG: split at the last '/'.
    d = zt_task_read("w.txt", "The/DT 1\\/2/CD cat/NN\n\nA/DT dog/NN\n", &p, NULL);
    ASSERT(d);
    ASSERT_EQ_INT(zy_task_data_count(d), 2);
    e = zy_task_data_example(d, 0);
    CHECK(strcmp(e->words[1], "1\\/2") == 0);
    CHECK(strcmp(zy_label_set_name(zy_task_data_labels(d), e->tags[1]), "CD") == 0);
    CHECK(zy_task_data_example(d, 1)->line == 3);
    zy_task_data_free(d);
    // JSONL tagging.
    d = zt_task_read("t.jsonl", "{\"tokens\":[\"a\",\"b\"],\"tags\":[\"O\",\"B-X\"]}\n", &p, NULL);
    ASSERT(d);
    CHECK(zy_task_data_example(d, 0)->tags[1] == 0);
    zy_task_data_free(d);
    // Errors.
    zt_task_fails("t1.conll", "a X\nb Y\n\nc d Z\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":4:", "3 columns", "first line (1) has 2"));
    zt_task_fails("t2.txt", "a/X b/Y\nc/X d e/Y\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":2:", "'d'"));
    zt_task_fails("t3.jsonl", "{\"tokens\":[\"a\",\"b\"],\"tags\":[\"O\"]}\n", &p, NULL,
                  ZY_STATUS_BAD_FORMAT, NEEDLES(":1:", "2 words but 1 tags"));
    zt_task_fails("t4.conll", "a\nb\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":1:", "no tags"));
    zy_label_set *G = NULL;
    ASSERT(zy_label_set_create(&G, (const char *const[]){"O", "B-X"}, 2) == 0);
    zt_task_fails("t5.conll", "a O\nb B-X\n\nc I-X\n", &p, G, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":4:", "'I-X'", "word 1"));
    zy_label_set_free(G);
    zt_task_fails("t6.conll", "a O\n\xc3 O\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES(":1:", "word 2", "UTF-8"));
    zy_task_read_params c = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    zt_task_fails("t7.conll", "a O\n", &c, NULL, ZY_STATUS_UNSUPPORTED, NEEDLES("conll"));
}

TEST(task_tag_lines_end_at_a_lone_cr) {
    // CoNLL and word/TAG files whose lines end in a carriage return alone (old Mac files)
    // read as their LF twins: the same sentences, numbered line by line, in examples,
    // errors and the .txt format guess.
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_TAG);
    zy_task_data *d = zt_task_read("cr.conll", "a X\rb Y\r\rc Z\r\n\rd X\r", &p, NULL);
    ASSERT(d);
    ASSERT_EQ_INT(zy_task_data_count(d), 3);
    const uint64_t lines[3] = {1, 4, 6};
    for (int i = 0; i < 3; i++) CHECK(zy_task_data_example(d, (size_t)i)->line == lines[i]);
    CHECK(zy_task_data_example(d, 0)->n_words == 2 && zy_task_data_example(d, 2)->n_words == 1);
    zy_task_data_free(d);
    d = zt_task_read("cr.txt", "The/DT cat/NN\r\rA/DT dog/NN\r", &p, NULL);
    ASSERT(d);
    ASSERT_EQ_INT(zy_task_data_count(d), 2);
    CHECK(zy_task_data_example(d, 0)->n_words == 2 && zy_task_data_example(d, 1)->line == 3);
    zy_task_data_free(d);
    zt_task_fails("cr1.conll", "a X\rb Y\r\rc d Z\r", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES("cr1.conll:4:", "3 columns"));
    zt_task_fails("cr2.txt", "a/X b/Y\rc/X d e/Y\r", &p, NULL, ZY_STATUS_BAD_FORMAT,
                  NEEDLES("cr2.txt:2:", "'d'"));
}

TEST(task_qa_reader) {
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_QA);
    // "注意 the cat": answer_start counts characters, not bytes.
    const char *j = "{\"id\":\"q1\",\"context\":\"\xe6\xb3\xa8\xe6\x84\x8f the cat\","
                    "\"question\":\"who?\",\"answers\":{\"text\":[\"cat\",\"the\"],"
                    "\"answer_start\":[7,3]}}\n"
                    "{\"id\":7,\"context\":\"x\",\"question\":\"q\",\"answers\":[]}\n"
                    "{\"context\":\"ab\",\"question\":\"q\",\"answers\":[{\"text\":\"b\","
                    "\"answer_start\":1}]}\n";
    zy_task_data *d = zt_task_read("q.jsonl", j, &p, NULL);
    ASSERT(d);
    ASSERT_EQ_INT(zy_task_data_count(d), 3);
    const zy_task_example *e = zy_task_data_example(d, 0);
    CHECK(strcmp(e->id, "q1") == 0 && e->n_answers == 2);
    CHECK(e->answer_starts[0] == 7 && e->answer_byte_starts[0] == 11);
    CHECK(strcmp(zy_task_data_example(d, 1)->id, "7") == 0);
    CHECK(zy_task_data_example(d, 1)->n_answers == 0);
    CHECK(zy_task_data_example(d, 2)->answer_byte_starts[0] == 1);
    zy_task_data_free(d);
    zt_task_fails("q1.jsonl", "{\"context\":\"the cat\",\"question\":\"q\",\"answers\":"
                  "{\"text\":[\"cat\"],\"answer_start\":[3]}}\n", &p, NULL,
                  ZY_STATUS_BAD_FORMAT, NEEDLES(":1:", "'cat'", "answer_start 3"));
    zt_task_fails("q2.jsonl", "\n{\"context\":\"the cat\",\"question\":\"q\",\"answers\":"
                  "{\"text\":[\"cat\"],\"answer_start\":[9]}}\n", &p, NULL,
                  ZY_STATUS_BAD_FORMAT, NEEDLES(":2:", "answer_start 9"));
    zt_task_fails("q3.jsonl", "{\"context\":\"c\",\"question\":\"q\",\"answers\":"
                  "{\"text\":[\"c\"],\"answer_start\":[0, 1]}}\n", &p, NULL,
                  ZY_STATUS_BAD_FORMAT, NEEDLES(":1:", "one length"));
    zt_task_fails("q4.jsonl", "{\"context\":\"c\",\"answers\":[]}\n", &p, NULL,
                  ZY_STATUS_BAD_FORMAT, NEEDLES(":1:", "'question'"));
    zt_task_fails("q5.csv", "context\nx\n", &p, NULL, ZY_STATUS_UNSUPPORTED, NEEDLES("csv"));
}

TEST(task_format_names) {
    zy_task_format f;
    CHECK(zy_task_format_parse("word-tag", &f) == 0 && f == ZY_TASK_FORMAT_WORD_TAG);
    CHECK(zy_task_format_parse("xml", &f) == ZY_STATUS_NOT_FOUND);
    CHECK(strcmp(zy_task_problem_name(ZY_PROBLEM_MULTI_LABEL), "multi_label_classification") == 0);
    // An explicit format overrides the name.
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    p.format = ZY_TASK_FORMAT_TSV;
    zy_task_data *d = zt_task_read("x.csv", "text\tlabel\na,b\tc\n", &p, NULL);
    ASSERT(d);
    check_text(zy_task_data_example(d, 0), "a,b");
    zy_task_data_free(d);
    // .txt for tagging: CoNLL when the first line's tokens lack '/'.
    zy_task_read_params t = zy_task_read_default_params(ZY_TASK_TAG);
    d = zt_task_read("c.txt", "EU B-ORG\nrejects O\n", &t, NULL);
    ASSERT(d);
    CHECK(zy_task_data_count(d) == 1 && zy_task_data_example(d, 0)->n_words == 2);
    zy_task_data_free(d);
    // From memory, with a name.
    p.format = ZY_TASK_FORMAT_AUTO;
    ASSERT(zy_task_data_read_buffer(&d, "mem.jsonl", "{\"text\":\"a\",\"label\":\"x\"}", 24, &p,
                                    NULL) == 0);
    CHECK(zy_task_data_count(d) == 1);
    zy_task_data_free(d);
}

TEST(task_label_with_nul_refused) {
    // Found by fuzz_task_conll: a tag holding a NUL byte cannot be a label name (names are
    // C strings), so the row is an error naming file and line.
    zy_task_read_params p = zy_task_read_default_params(ZY_TASK_TAG);
    static const char text[] = "a X\nb Y\0Z\n";
    zy_task_data *d = NULL;
    CHECK(zy_task_data_read_buffer(&d, "n.conll", text, sizeof text - 1, &p, NULL) ==
          ZY_STATUS_BAD_FORMAT);
    // A sentence's errors name its first line and the word.
    CHECK(d == NULL && strstr(zy_last_error(), "n.conll:1:") && strstr(zy_last_error(), "word 2"));
    CHECK(strstr(zy_last_error(), "NUL") != NULL);
}
