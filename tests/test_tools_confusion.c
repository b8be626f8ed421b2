// Tests of the CLI's evaluation output (tools/zhuyi/confusion.c, linked into the tests):
// the classification reports come out character for character as scikit-learn's
// classification_report (its documentation example) and seqeval's (its README example)
// print them; the text confusion matrix has the counts and totals in place; the SVG
// holds one cell per (gold, predicted) pair whose data-count is the matrix entry and
// whose colour is the share of its row, totals for every row and column, and labels
// escaped so that no label can break the document.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/zhuyi/confusion.h"
#include "../tools/zhuyi/heatmap.h"
#include "harness.h"

static zy_confusion *sklearn_example(void) {
    const int g[] = {0, 1, 2, 2, 2}, p[] = {0, 0, 2, 2, 1};
    zy_confusion *m = NULL;
    if (zy_confusion_create(&m, 3) || zy_confusion_add(m, g, p, 5)) return NULL;
    return m;
}

static void check_text(const char *what, const char *got, const char *want) {
    if (got && !strcmp(got, want)) return;
    zt_fail(__FILE__, __LINE__, "%s:\n--- got\n%s--- want\n%s", what, got ? got : "(null)", want);
}

TEST(tools_confusion_report_sklearn) {
    zy_confusion *m = sklearn_example();
    ASSERT(m != NULL);
    zy_class_score per[3];
    zy_scores s;
    ASSERT(zy_confusion_scores(m, per, &s) == 0);
    const char *names[] = {"class 0", "class 1", "class 2"};
    zy_strbuf b = {0};
    ASSERT(zy_classification_report(&b, names, per, 3, &s, ZY_REPORT_SKLEARN, 2) == 0);
    check_text("sklearn report", b.p,
               "              precision    recall  f1-score   support\n"
               "\n"
               "     class 0       0.50      1.00      0.67         1\n"
               "     class 1       0.00      0.00      0.00         1\n"
               "     class 2       1.00      0.67      0.80         3\n"
               "\n"
               "    accuracy                           0.60         5\n"
               "   macro avg       0.50      0.56      0.49         5\n"
               "weighted avg       0.70      0.60      0.61         5\n");
    zy_strbuf_free(&b);
    zy_confusion_free(m);
}

TEST(tools_confusion_report_seqeval) {
    const char *g1[] = {"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"}, *g2[] = {"B-PER", "I-PER", "O"};
    const char *p1[] = {"O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"}, *p2[] = {"B-PER", "I-PER", "O"};
    zy_entity_eval *e;
    ASSERT(zy_entity_eval_create(&e) == 0);
    ASSERT(zy_entity_eval_add(e, g1, 7, p1, 7) == 0 && zy_entity_eval_add(e, g2, 3, p2, 3) == 0);
    zy_class_score per[2];
    zy_scores s;
    ASSERT(zy_entity_eval_scores(e, per, &s) == 0);
    const char *names[] = {zy_entity_eval_type(e, 0), zy_entity_eval_type(e, 1)};
    zy_strbuf b = {0};
    ASSERT(zy_classification_report(&b, names, per, 2, &s, ZY_REPORT_SEQEVAL, 2) == 0);
    check_text("seqeval report", b.p,
               "              precision    recall  f1-score   support\n"
               "\n"
               "        MISC       0.00      0.00      0.00         1\n"
               "         PER       1.00      1.00      1.00         1\n"
               "\n"
               "   micro avg       0.50      0.50      0.50         2\n"
               "   macro avg       0.50      0.50      0.50         2\n"
               "weighted avg       0.50      0.50      0.50         2\n");
    zy_strbuf_free(&b);
    zy_entity_eval_free(e);
}

TEST(tools_confusion_text) {
    zy_confusion *m = sklearn_example();
    ASSERT(m != NULL);
    const char *names[] = {"cat", "dog", "b\xc3\xa9\xc3\xa9te"}; // a two-byte letter pads as one
    zy_strbuf b = {0};
    ASSERT(zy_confusion_text(&b, m, names) == 0);
    check_text("table", b.p,
               "gold \\ predicted  cat  dog  b\xc3\xa9\xc3\xa9te  total\n"
               "cat                 1    0      0      1\n"
               "dog                 1    0      0      1\n"
               "b\xc3\xa9\xc3\xa9te               0    1      2      3\n"
               "total               2    1      2      5\n");
    zy_strbuf_clear(&b);
    ASSERT(zy_confusion_text(&b, m, NULL) == 0); // labels default to the ids
    check_text("table without labels", b.p,
               "gold \\ predicted    0    1    2  total\n"
               "0                   1    0    0      1\n"
               "1                   1    0    0      1\n"
               "2                   0    1    2      3\n"
               "total               2    1    2      5\n");
    // a long label is cut to 24 characters, the last one an ellipsis
    const char *longer[] = {"abcdefghijklmnopqrstuvwxyz", "b", "c"};
    zy_strbuf_clear(&b);
    ASSERT(zy_confusion_text(&b, m, longer) == 0);
    CHECK(strstr(b.p, "\nabcdefghijklmnopqrstuvw\xe2\x80\xa6  ") != NULL);
    zy_strbuf_free(&b);
    zy_confusion_free(m);
}

TEST(tools_confusion_svg) {
    enum { K = 4 };
    zy_confusion *m;
    ASSERT(zy_confusion_create(&m, K) == 0);
    int g[40], p[40];
    for (int i = 0; i < 40; i++) g[i] = i % K, p[i] = (i * 7 / 3) % K;
    ASSERT(zy_confusion_add(m, g, p, 40) == 0);
    const char *names[K] = {"<b>&\"x\"", "pos", "neg", "\x01raw"};
    zy_strbuf b = {0};
    ASSERT(zy_confusion_svg(&b, m, names, "val <set>") == 0);
    const char *svg = b.p;
    const int64_t *n = zy_confusion_counts(m);
    int seen[K][K] = {{0}}, cells = 0;
    for (const char *c = strstr(svg, "<rect class=\"cell\""); c; c = strstr(c + 1, "<rect class=\"cell\"")) {
        int gi, pi;
        long long cnt;
        char fill[8];
        ASSERT(sscanf(c, "<rect class=\"cell\" data-gold=\"%d\" data-pred=\"%d\" data-count=\"%lld\"",
                      &gi, &pi, &cnt) == 3);
        ASSERT(gi >= 0 && gi < K && pi >= 0 && pi < K);
        seen[gi][pi]++, cells++;
        CHECK(cnt == n[gi * K + pi]);
        const char *f = strstr(c, "fill=\"");
        ASSERT(f && sscanf(f, "fill=\"%7[^\"]", fill) == 1);
        int64_t row = 0;
        for (int j = 0; j < K; j++) row += n[gi * K + j];
        char want[8];
        zy_heatmap_colour(zy_heatmap_level((float)((double)cnt / (double)row)), want);
        if (strcmp(fill, want)) zt_fail(__FILE__, __LINE__, "cell %d,%d fill %s, want %s", gi, pi, fill, want);
    }
    CHECK(cells == K * K);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) CHECK(seen[i][j] == 1);
    for (int i = 0; i < K; i++) {
        char want[64];
        int64_t row = 0, col = 0;
        for (int j = 0; j < K; j++) row += n[i * K + j], col += n[j * K + i];
        snprintf(want, sizeof want, "data-gold=\"%d\"", i);
        const char *t = strstr(svg, "<text class=\"total\"");
        for (; t && strncmp(t + 20, want, strlen(want)); t = strstr(t + 1, "<text class=\"total\""))
            ;
        ASSERT(t != NULL);
        CHECK(atoll(strchr(t, '>') + 1) == row);
        snprintf(want, sizeof want, "data-pred=\"%d\"", i);
        t = strstr(svg, "<text class=\"total\"");
        for (; t && strncmp(t + 20, want, strlen(want)); t = strstr(t + 1, "<text class=\"total\""))
            ;
        ASSERT(t != NULL);
        CHECK(atoll(strchr(t, '>') + 1) == col);
    }
    CHECK(strstr(svg, "&lt;b&gt;&amp;&quot;x&quot;") != NULL);
    CHECK(strstr(svg, "\\x01raw") != NULL);
    CHECK(strstr(svg, "<title>val &lt;set&gt;</title>") != NULL);
    CHECK(strstr(svg, "<b>") == NULL && strstr(svg, "\x01") == NULL);
    CHECK(strstr(svg, "</svg>\n") != NULL);
    zy_strbuf_free(&b);
    zy_confusion_free(m);
}
