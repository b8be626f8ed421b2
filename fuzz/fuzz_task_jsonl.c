// libFuzzer harness: JSON-lines fine-tuning files for the three tasks
// (src/data/task_jsonl.c, task_data.c, task_read.c), then features and sources.
//
// Input: 1 control byte, then the file.
//   [0] bits 0-1 task (0 classify, 1 tag, 2 qa, 3 classify multi-label), bit 2
//       skip_bad_rows, bit 3 labels not required, bit 4 regression (classify), bits 5-7
//       max_length 8 + 4k and doc_stride k
// Properties:
//  - a failed read is BAD_FORMAT / NOT_FOUND naming the file and a line of the text;
//  - a read gives examples that task_check.c accepts (answers at their character
//    offsets, one tag per word, ...);
//  - round trip: the examples written back as JSON lines (cJSON) and read against the
//    label set give the same texts, words, labels, tags and answers;
//  - features (QA windows: spans inside the context or (0, 0)) and batches.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_check.h"
#include "util.h"

static cJSON *names(const zy_label_set *L, const int32_t *ids, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int k = 0; k < n; k++)
        cJSON_AddItemToArray(a, cJSON_CreateString(zy_label_set_name(L, ids[k])));
    return a;
}

static char *write_back(const zy_task_data *d, const zy_task_read_params *p, size_t *len) {
    const zy_label_set *L = zy_task_data_labels(d);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    for (size_t i = 0; i < zy_task_data_count(d); i++) {
        const zy_task_example *e = zy_task_data_example(d, i);
        cJSON *o = cJSON_CreateObject();
        if (p->task == ZY_TASK_CLASSIFY) {
            cJSON_AddItemToObject(o, "text", cJSON_CreateString(e->text));
            if (e->label >= 0)
                cJSON_AddItemToObject(o, "label", cJSON_CreateString(zy_label_set_name(L, e->label)));
            if (e->n_labels >= 0) cJSON_AddItemToObject(o, "label", names(L, e->labels, e->n_labels));
            if (e->value == e->value) cJSON_AddItemToObject(o, "label", cJSON_CreateNumber(e->value));
        } else if (p->task == ZY_TASK_TAG) {
            cJSON_AddItemToObject(o, "tokens", cJSON_CreateStringArray(e->words, e->n_words));
            if (e->tags) cJSON_AddItemToObject(o, "tags", names(L, e->tags, e->n_words));
        } else {
            cJSON_AddItemToObject(o, "id", cJSON_CreateString(e->id));
            cJSON_AddItemToObject(o, "context", cJSON_CreateString(e->text));
            cJSON_AddItemToObject(o, "question", cJSON_CreateString(e->pair));
            if (e->n_answers >= 0) {
                cJSON *a = cJSON_CreateObject(), *t = cJSON_CreateArray(), *s = cJSON_CreateArray();
                for (int k = 0; k < e->n_answers; k++) {
                    cJSON_AddItemToArray(t, cJSON_CreateString(e->answer_texts[k]));
                    cJSON_AddItemToArray(s, cJSON_CreateNumber((double)e->answer_starts[k]));
                }
                cJSON_AddItemToObject(a, "text", t);
                cJSON_AddItemToObject(a, "answer_start", s);
                cJSON_AddItemToObject(o, "answers", a);
            }
        }
        fz_put_json_line(&out, &n, &cap, o);
    }
    *len = n;
    return out;
}

// Strings read from JSON end at a NUL (cJSON): a text holding "\u0000" comes back cut,
// which is why such examples are left out of the comparison.
static bool has_nul_escape(const char *text, size_t len) {
    for (size_t i = 0; i + 5 < len; i++)
        if (text[i] == '\\' && text[i + 1] == 'u' && !memcmp(text + i + 2, "0000", 4)) return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned c = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    static const zy_task tasks[4] = {ZY_TASK_CLASSIFY, ZY_TASK_TAG, ZY_TASK_QA, ZY_TASK_CLASSIFY};
    zy_task_read_params p = zy_task_read_default_params(tasks[c & 3]);
    if ((c & 3) == 3) p.problem = ZY_PROBLEM_MULTI_LABEL;
    if ((c & 3) == 0 && (c & 16)) p.problem = ZY_PROBLEM_REGRESSION;
    p.skip_bad_rows = c & 4;
    p.require_labels = !(c & 8);
    zy_task_data *d = NULL;
    zy_status st = zy_task_data_read_buffer(&d, "fuzz.jsonl", text, len, &p, NULL);
    if (st) {
        ft_check_error(st, d, "fuzz.jsonl", text, len);
        return 0;
    }
    ft_check_data(d, text, len);
    if (!has_nul_escape(text, len)) {
        size_t n = 0;
        char *out = write_back(d, &p, &n);
        zy_task_data *back = NULL;
        p.skip_bad_rows = false;
        st = zy_task_data_read_buffer(&back, "back.jsonl", out, n, &p,
                                      p.problem == ZY_PROBLEM_REGRESSION ? NULL
                                                                         : zy_task_data_labels(d));
        FZ_CHECKF(st == ZY_STATUS_OK, "the examples written back do not read: %s", zy_last_error());
        FZ_CHECK(zy_task_data_count(back) == zy_task_data_count(d));
        for (size_t i = 0; i < zy_task_data_count(d); i++) {
            const zy_task_example *a = zy_task_data_example(d, i), *b = zy_task_data_example(back, i);
            FZ_CHECK((!a->text && !b->text) || (a->text_len == b->text_len &&
                                                !memcmp(a->text, b->text, a->text_len)));
            FZ_CHECK(!a->pair || !strcmp(a->pair, b->pair));
            FZ_CHECK(a->label == b->label && a->n_labels == b->n_labels && a->n_words == b->n_words);
            for (int k = 0; k < a->n_labels; k++) FZ_CHECK(a->labels[k] == b->labels[k]);
            for (int k = 0; k < a->n_words; k++) {
                FZ_CHECK(!strcmp(a->words[k], b->words[k]));
                FZ_CHECK(!a->tags || a->tags[k] == b->tags[k]);
            }
            FZ_CHECK(a->n_answers == b->n_answers);
            for (int k = 0; k < a->n_answers; k++)
                FZ_CHECK(a->answer_byte_starts[k] == b->answer_byte_starts[k] &&
                         !strcmp(a->answer_texts[k], b->answer_texts[k]));
            FZ_CHECK(a->value == b->value || (a->value != a->value && b->value != b->value));
        }
        zy_task_data_free(back);
        free(out);
    }
    int k = (int)(c >> 5);
    ft_check_features(d, 8 + 4 * k, k, 2);
    zy_task_data_free(d);
    return 0;
}
