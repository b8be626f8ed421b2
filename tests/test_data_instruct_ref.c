// Instruction data against tests/ref_instruct.py, an independent Python reference of the
// documented rules: each case's file is read through the library (the same lines kept and
// skipped), every conversation rendered by the template (the same text), encoded with the
// byte tokenizer into rows (truncation and packing: the same ids and reply flags, the
// same counts), and served by the data source: the training batches of the case's steps
// for its rank (including epoch changes), the same again after seeking a fresh source to
// a position told half-way (resume), and the one-pass batches.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "instruct_util.h"
#include "zhuyi/zhuyi.h"

#define CASES "tests/ref/instruct_cases.jsonl"

static int num(const cJSON *c, const char *key) {
    const cJSON *j = cJSON_GetObjectItem(c, key);
    return cJSON_IsNumber(j) ? (int)j->valuedouble : cJSON_IsTrue(j) ? 1 : 0;
}

static bool same_row(const zy_instruct_rows *r, size_t i, const cJSON *want) {
    const int32_t *ids;
    const uint8_t *sc;
    int n;
    zy_instruct_rows_get(r, i, &ids, &sc, &n);
    int *a = zt_malloc((size_t)(n + 1) * sizeof *a), *b = zt_malloc((size_t)(n + 1) * sizeof *b);
    for (int k = 0; k < n; k++) a[k] = ids[k], b[k] = sc[k];
    bool ok = zt_json_same_ints(a, n, cJSON_GetObjectItem(want, "ids")) &&
              zt_json_same_ints(b, n, cJSON_GetObjectItem(want, "scored"));
    free(a);
    free(b);
    return ok;
}

// The batch the source gives next equals the reference's batch `want`.
static bool same_batch(zy_data_source *s, zy_batch *b, const cJSON *want, const char *name,
                       const char *what, int k) {
    if (zy_data_source_next(s, b)) {
        zt_fail(__FILE__, __LINE__, "%s: %s batch %d: %s", name, what, k, zy_last_error());
        return false;
    }
    const cJSON *rows = cJSON_GetObjectItem(want, "rows");
    int B = cJSON_GetArraySize(rows), T = num(want, "T");
    if (b->B != B || (B && b->T != T)) {
        zt_fail(__FILE__, __LINE__, "%s: %s batch %d is %d x %d, the reference %d x %d", name,
                what, k, b->B, b->T, B, T);
        return false;
    }
    int r = 0;
    for (const cJSON *w = rows->child; w; w = w->next, r++) {
        const int *in = b->input_ids + (size_t)r * T, *y = b->targets + (size_t)r * T;
        if (!zt_json_same_ints(in, T, cJSON_GetObjectItem(w, "input")) ||
            !zt_json_same_ints(y, T, cJSON_GetObjectItem(w, "targets")) ||
            b->lengths[r] != num(w, "length")) {
            zt_fail(__FILE__, __LINE__, "%s: %s batch %d row %d differs", name, what, k, r);
            return false;
        }
    }
    return true;
}

static zy_data_source *source(const zy_instruct_rows *r, const cJSON *c, bool one_pass) {
    zy_instruct_source_params sp = zy_instruct_source_default_params();
    sp.batch = num(c, "batch");
    sp.seed = (uint64_t)cJSON_GetObjectItem(c, "seed")->valuedouble;
    sp.shuffle = !one_pass && num(c, "shuffle");
    sp.one_pass = one_pass;
    zy_data_source *s = NULL;
    if (zy_instruct_source_create(&s, r, &sp) ||
        (num(c, "world") > 1 && zy_data_source_shard(s, num(c, "rank"), num(c, "world")))) {
        zt_fail(__FILE__, __LINE__, "source: %s", zy_last_error());
        zy_data_source_free(s);
        return NULL;
    }
    return s;
}

static int check_batches(const zy_instruct_rows *r, const cJSON *c, const char *name) {
    const cJSON *train = cJSON_GetObjectItem(c, "train"), *eval = cJSON_GetObjectItem(c, "eval");
    zy_data_source *s = source(r, c, false), *s2 = NULL, *e = source(r, c, true);
    zy_batch b;
    int bad = !s || !e || zy_batch_init(&b, &zy_data_source_get_info(s)->dims);
    if (bad) goto done;
    int steps = cJSON_GetArraySize(train), half = steps / 2, k = 0;
    zy_data_pos pos = {0, 0};
    for (const cJSON *w = train->child; w && !bad; w = w->next, k++) {
        if (k == half) zy_data_source_tell(s, &pos);
        bad = !same_batch(s, &b, w, name, "training", k);
    }
    // Resume: a fresh source sought to the position told before batch `half`.
    if (!bad && (s2 = source(r, c, false)) && !zy_data_source_seek(s2, pos)) {
        k = 0;
        for (const cJSON *w = train->child; w && !bad; w = w->next, k++)
            if (k >= half) bad = !same_batch(s2, &b, w, name, "resumed", k);
    } else if (!bad) {
        bad = 1;
        zt_fail(__FILE__, __LINE__, "%s: seek: %s", name, zy_last_error());
    }
    k = 0;
    for (const cJSON *w = eval->child; w && !bad; w = w->next, k++)
        bad = !same_batch(e, &b, w, name, "one-pass", k);
    if (!bad && (zy_data_source_next(e, &b) || b.B != 0)) {
        zt_fail(__FILE__, __LINE__, "%s: the one-pass source goes on after its rows", name);
        bad = 1;
    }
    zy_batch_destroy(&b);
done:
    zy_data_source_free(s);
    zy_data_source_free(s2);
    zy_data_source_free(e);
    return bad;
}

static int check_case(const cJSON *c, zy_tokenizer *tok, int *with_batches) {
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    const char *input = cJSON_GetObjectItem(c, "input")->valuestring;
    zy_instruct_read_params rp = zy_instruct_read_default_params();
    rp.skip_bad_rows = num(c, "skip_bad_rows");
    zy_instruct_data *d = NULL;
    zy_instruct_rows *r = NULL;
    int bad = 0;
    if (zy_instruct_data_read_buffer(&d, name, input, strlen(input), &rp)) {
        zt_fail(__FILE__, __LINE__, "%s: read: %s", name, zy_last_error());
        return 1;
    }
    const cJSON *texts = cJSON_GetObjectItem(c, "texts");
    const cJSON *skipped = cJSON_GetObjectItem(c, "skipped");
    const zy_task_read_report *rep = zy_instruct_data_report(d);
    if ((int)zy_instruct_data_count(d) != cJSON_GetArraySize(texts) ||
        (int)rep->n_skipped != cJSON_GetArraySize(skipped)) {
        zt_fail(__FILE__, __LINE__, "%s: %d examples and %d skipped, the reference %d and %d",
                name, (int)zy_instruct_data_count(d), (int)rep->n_skipped,
                cJSON_GetArraySize(texts), cJSON_GetArraySize(skipped));
        bad = 1;
        goto done;
    }
    int k = 0;
    for (const cJSON *l = skipped->child; l && k < rep->n_reasons; l = l->next, k++) {
        char at[64];
        snprintf(at, sizeof at, "%s:%d:", name, (int)l->valuedouble);
        if (!strstr(rep->reasons[k], at)) {
            zt_fail(__FILE__, __LINE__, "%s: skipped line %d: reason '%s'", name,
                    (int)l->valuedouble, rep->reasons[k]);
            bad = 1;
        }
    }
    k = 0;
    for (const cJSON *t = texts->child; t && !bad; t = t->next, k++) {
        const zy_instruct_example *e = zy_instruct_data_example(d, (size_t)k);
        char *text = NULL;
        size_t len = 0;
        if (zy_chat_render(zy_chat_template_default(), e->messages, e->n_messages, false,
                           &text, &len) ||
            strcmp(text, t->valuestring) != 0 || len != strlen(text)) {
            zt_fail(__FILE__, __LINE__, "%s: example %d renders as '%s', the reference '%s'",
                    name, k, text ? text : zy_last_error(), t->valuestring);
            bad = 1;
        }
        zy_free(text);
    }
    zy_instruct_rows_params p = zy_instruct_rows_default_params();
    p.seq = num(c, "seq");
    p.packing = num(c, "packing");
    if (!bad && zy_instruct_rows_create(&r, d, zy_chat_template_default(), tok, &p)) {
        zt_fail(__FILE__, __LINE__, "%s: rows: %s", name, zy_last_error());
        bad = 1;
    }
    if (bad) goto done;
    const cJSON *rows = cJSON_GetObjectItem(c, "rows"), *st = cJSON_GetObjectItem(c, "stats");
    const zy_instruct_row_stats *s = zy_instruct_rows_stats(r);
    if ((int)zy_instruct_rows_count(r) != cJSON_GetArraySize(rows) ||
        (int)s->n_examples != num(st, "n_examples") || (int)s->n_rows != num(st, "n_rows") ||
        (int)s->n_truncated != num(st, "n_truncated") ||
        (int)s->n_skipped != num(st, "n_skipped") || (int)s->n_tokens != num(st, "n_tokens") ||
        (int)s->n_scored != num(st, "n_scored")) {
        zt_fail(__FILE__, __LINE__, "%s: %d rows (%d truncated, %d skipped, %d tokens, %d "
                "scored); the reference %d (%d, %d, %d, %d)", name,
                (int)zy_instruct_rows_count(r), (int)s->n_truncated, (int)s->n_skipped,
                (int)s->n_tokens, (int)s->n_scored, cJSON_GetArraySize(rows),
                num(st, "n_truncated"), num(st, "n_skipped"), num(st, "n_tokens"),
                num(st, "n_scored"));
        bad = 1;
        goto done;
    }
    k = 0;
    for (const cJSON *w = rows->child; w && !bad; w = w->next, k++)
        if (!same_row(r, (size_t)k, w)) {
            zt_fail(__FILE__, __LINE__, "%s: row %d differs", name, k);
            bad = 1;
        }
    if (!bad && cJSON_GetObjectItem(c, "train")) {
        bad = check_batches(r, c, name);
        ++*with_batches;
    }
done:
    zy_instruct_rows_free(r);
    zy_instruct_data_free(d);
    return bad;
}

typedef struct cases {
    zy_tokenizer *tok;
    int with_batches;
} cases;

static int each_case(const cJSON *c, void *ctx) {
    cases *x = ctx;
    return check_case(c, x->tok, &x->with_batches);
}

TEST(instruct_data_matches_python_reference) {
    cases x = {.tok = zt_byte_tokenizer()};
    int failed = 0, n = x.tok ? zt_ref_cases(CASES, each_case, &x, &failed) : 0;
    if (n >= 0) {
        zt_note("%d cases (%d with batches), %d differ", n, x.with_batches, failed);
        CHECK(n >= 60 && x.with_batches >= 30 && failed == 0);
    }
    zy_tokenizer_free(x.tok);
}
