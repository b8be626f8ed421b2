// The fine-tuning features against tests/ref_task.py, an independent Python reference of
// the documented rules (classification template and longest-first truncation, tag
// alignment and truncation, QA windows with stride and answer spans through character
// offsets): every case of tests/ref/task_cases.jsonl is read through the library (the
// case's input as a one-line JSONL file), encoded with the reference's WordPiece
// vocabulary, and every feature compared field by field.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "data_task_util.h"

#define CASES "tests/ref/task_cases.jsonl"

static int check_case(const cJSON *c, zy_tokenizer *tok, int index) {
    const char *kind = cJSON_GetObjectItem(c, "kind")->valuestring;
    zy_task task = strcmp(kind, "classify") == 0 ? ZY_TASK_CLASSIFY
                   : strcmp(kind, "tag") == 0    ? ZY_TASK_TAG
                                                 : ZY_TASK_QA;
    zy_task_read_params rp = zy_task_read_default_params(task);
    rp.text_pair_column = "text_pair";
    // The pair column only where the case has one.
    const cJSON *in = cJSON_GetObjectItem(c, "input");
    if (!cJSON_GetObjectItem(in, "text_pair")) rp.text_pair_column = NULL;
    char *line = cJSON_PrintUnformatted(in);
    zy_task_data *d = NULL;
    zy_task_features *f = NULL;
    int bad = 0;
    if (zy_task_data_read_buffer(&d, "case.jsonl", line, strlen(line), &rp, NULL)) {
        zt_fail(__FILE__, __LINE__, "case %d: read: %s", index, zy_last_error());
        free(line);
        return 1;
    }
    free(line);
    zy_task_feature_params fp = zy_task_feature_default_params();
    fp.max_length = cJSON_GetObjectItem(c, "T")->valueint;
    fp.doc_stride = cJSON_GetObjectItem(c, "stride")->valueint;
    if (zy_task_features_create(&f, d, tok, &fp)) {
        zt_fail(__FILE__, __LINE__, "case %d: features: %s", index, zy_last_error());
        zy_task_data_free(d);
        return 1;
    }
    const cJSON *want = cJSON_GetObjectItem(c, "features");
    if ((int)zy_task_features_count(f) != cJSON_GetArraySize(want)) {
        zt_fail(__FILE__, __LINE__, "case %d (%s): %d features, the reference has %d", index,
                kind, (int)zy_task_features_count(f), cJSON_GetArraySize(want));
        bad = 1;
    }
    int k = 0;
    for (const cJSON *w = want->child; w && !bad; w = w->next, k++) {
        const zy_task_feature *g = zy_task_features_get(f, (size_t)k);
        const cJSON *j;
        const char *field = NULL;
        if (!zt_json_same_ints(g->ids, g->n, cJSON_GetObjectItem(w, "ids"))) field = "ids";
        else if ((j = cJSON_GetObjectItem(w, "types")) && !zt_json_same_ints(g->type_ids, g->n, j))
            field = "types";
        else if ((j = cJSON_GetObjectItem(w, "targets")) && !zt_json_same_ints(g->targets, g->n, j))
            field = "targets";
        else if ((j = cJSON_GetObjectItem(w, "words")) && !zt_json_same_ints(g->word_ids, g->n, j))
            field = "words";
        else if ((j = cJSON_GetObjectItem(w, "offsets")) && !zt_json_same_ints(g->offsets, 2 * g->n, j))
            field = "offsets";
        else if ((j = cJSON_GetObjectItem(w, "span")) &&
                 !zt_json_same_ints((const int32_t[]){g->span_start, g->span_end}, 2, j))
            field = "span";
        else if ((j = cJSON_GetObjectItem(w, "ctx")) &&
                 !zt_json_same_ints((const int32_t[]){g->context_start, g->context_end}, 2, j))
            field = "ctx";
        if (field) {
            char *text = cJSON_PrintUnformatted(c);
            zt_fail(__FILE__, __LINE__, "case %d (%s) feature %d: %s differ from the "
                    "reference: %s", index, kind, k, field, text);
            free(text);
            bad = 1;
        }
    }
    zy_task_features_free(f);
    zy_task_data_free(d);
    return bad;
}

typedef struct cases {
    zy_tokenizer *tok;
    int n, kinds[3];
} cases;

static int each_case(const cJSON *c, void *ctx) {
    cases *x = ctx;
    const cJSON *vocab = cJSON_GetObjectItem(c, "vocab");
    if (vocab) { // the first line: the reference's vocabulary
        int nv = cJSON_GetArraySize(vocab), i = 0;
        const char **v = zt_malloc((size_t)nv * sizeof *v);
        for (const cJSON *t = vocab->child; t; t = t->next) v[i++] = t->valuestring;
        x->tok = zt_task_wordpiece(v, nv);
        free(v);
        return 0;
    }
    if (!x->tok) return 0;
    const char *kind = cJSON_GetObjectItem(c, "kind")->valuestring;
    x->kinds[kind[0] == 'c' ? 0 : kind[0] == 't' ? 1 : 2]++;
    return check_case(c, x->tok, x->n++);
}

TEST(task_features_match_python_reference) {
    cases x = {0};
    int failed = 0;
    if (zt_ref_cases(CASES, each_case, &x, &failed) >= 0) {
        zt_note("%d cases (%d classify, %d tag, %d qa), %d differ", x.n, x.kinds[0],
                x.kinds[1], x.kinds[2], failed);
        CHECK(x.n >= 300 && failed == 0);
    }
    zy_tokenizer_free(x.tok);
}
