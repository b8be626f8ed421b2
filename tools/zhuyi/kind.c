// The table of model kinds (kind.h) and lookups by name and by model.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#include "kind.h"
#include "zhuyi/zhuyi.h"

static const cli_kind *const KINDS[] = {&zy_cli_kind_gpt, &zy_cli_kind_bert,
                                        &zy_cli_kind_classify, &zy_cli_kind_tag,
                                        &zy_cli_kind_qa, &zy_cli_kind_lm,
                                        &zy_cli_kind_seq2seq, &zy_cli_kind_image,
                                        &zy_cli_kind_speech};
#define N_KINDS (sizeof KINDS / sizeof KINDS[0])

const cli_kind *zy_cli_kind_named(const char *verb, const char *name) {
    for (size_t i = 0; i < N_KINDS; i++)
        if (!strcmp(KINDS[i]->verb, verb) && !strcmp(KINDS[i]->name, name)) return KINDS[i];
    return NULL;
}

const cli_kind *zy_cli_kind_of(const zy_model_info *info) {
    for (size_t i = 0; i < N_KINDS; i++)
        if (KINDS[i]->is_model(info)) return KINDS[i];
    return NULL;
}

const cli_kind *zy_cli_kind_for_data(const zy_model_info *info, const char *const *files,
                                     int n) {
    for (size_t i = 0; i < N_KINDS; i++) {
        bool all = KINDS[i]->is_data && KINDS[i]->is_model(info) && n > 0;
        for (int f = 0; all && f < n; f++) all = KINDS[i]->is_data(files[f]);
        if (all) return KINDS[i];
    }
    return zy_cli_kind_of(info);
}

const cli_kind *zy_cli_kind_at(int i) {
    return i >= 0 && (size_t)i < N_KINDS ? KINDS[i] : NULL;
}

const char *zy_cli_kind_names(const char *verb) {
    static char buf[256];
    buf[0] = '\0';
    for (size_t i = 0; i < N_KINDS; i++)
        if (!strcmp(KINDS[i]->verb, verb))
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", buf[0] ? ", " : "",
                     KINDS[i]->name);
    return buf;
}

// Kinds may share a flag name with other values (bert's --format lines|prose, the tasks'
// --format csv|...): the first kind that takes the value wins; when none does, the first
// kind that knew the flag says why.
static int try_kind(const cli_kind *k, const char *cmd, const char *flag, const char *value) {
    if (!k->parse_flag) return -1;
    void *o = calloc(1, k->opts_size ? k->opts_size : 1);
    if (!o) return zy_cli_die("out of memory"), -2;
    if (k->opts_init) k->opts_init(o);
    int n = k->parse_flag(o, cmd, flag, value);
    free(o);
    return n;
}

static int any_flag(const char *cmd, const char *flag, const char *value) {
    const cli_kind *refused = NULL;
    zy_cli_capture(NULL, 1); // the kinds' messages dropped: only the refusing kind speaks
    for (size_t i = 0; i < N_KINDS; i++) {
        int n = try_kind(KINDS[i], cmd, flag, value);
        if (n >= 0) {
            zy_cli_capture(NULL, 0);
            return n;
        }
        if (n == -2 && !refused) refused = KINDS[i];
    }
    zy_cli_capture(NULL, 0);
    return refused ? try_kind(refused, cmd, flag, value) : -1;
}

int zy_cli_kind_model_opts(const cli_kind *k, const char *cmd, const char *dir,
                           const char *const *kflags, int n_kflags, void **out) {
    void *opts = calloc(1, k->opts_size ? k->opts_size : 1);
    if (!opts) return zy_cli_die("out of memory");
    if (k->opts_init) k->opts_init(opts);
    *out = opts;
    for (int i = 0; i < n_kflags; i += 2) {
        int n = k->parse_flag ? k->parse_flag(opts, cmd, kflags[i], kflags[i + 1]) : -1;
        if (n == -1)
            return zy_cli_die("%s: %s is not an option for the %s model in %s", cmd, kflags[i],
                              k->name, dir);
        if (n < 0) return 1;
    }
    return 0;
}

int zy_cli_kind_collect(const char *cmd, int argc, char **argv, int *i, const char **kflags,
                        int cap, int *n_kflags) {
    const char *flag = argv[*i], *value = *i + 1 < argc ? argv[*i + 1] : NULL;
    int n = any_flag(cmd, flag, value);
    if (n < 0) return n == -1 ? 0 : -1;
    if (*n_kflags + 2 > cap) return zy_cli_die("%s: too many options", cmd), -1;
    kflags[(*n_kflags)++] = flag;
    kflags[(*n_kflags)++] = n ? value : NULL;
    *i += n;
    return 1;
}

int zy_cli_kind_example_files(const cli_data_params *p) {
    if (p->n_files != 1)
        return zy_cli_die("%s: one --train file (got %d)", p->cmd, p->n_files);
    if (!p->val_file && p->val_fraction > 0 && p->val_fraction_given)
        return zy_cli_die("%s: --val-fraction: give the validation examples as --val FILE",
                          p->cmd);
    return 0;
}

void zy_cli_kind_report_skipped(const char *cmd, const char *path,
                                const zy_task_read_report *r, const char *what) {
    if (!r->n_skipped) return;
    fprintf(stderr, "zhuyi: %s: %s: skipped %llu bad %s (--skip-bad-rows), kept %llu; the "
            "first:\n", cmd, path, (unsigned long long)r->n_skipped, what,
            (unsigned long long)r->n_examples);
    for (int i = 0; i < r->n_reasons; i++) fprintf(stderr, "  %s\n", r->reasons[i]);
}

int zy_cli_kind_model_labels(const char *cmd, const zy_model *m, zy_label_set **out) {
    zy_config *c;
    if (zy_model_get_config(m, &c)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    int n = zy_config_object_count(c, "id2label"), rc = 0;
    const char **names = n > 0 ? calloc((size_t)n, sizeof *names) : NULL;
    if (n <= 0) rc = zy_cli_die("%s: the model's config.json has no id2label", cmd);
    else if (!names) rc = zy_cli_die("out of memory");
    for (int i = 0; !rc && i < n; i++) {
        const char *key, *value;
        char *end;
        long id;
        if (zy_config_get_member_string(c, "id2label", i, &key, &value))
            rc = zy_cli_die("%s: %s", cmd, zy_last_error());
        else if ((id = strtol(key, &end, 10)) < 0 || id >= n || *end || end == key || names[id])
            rc = zy_cli_die("%s: config.json: id2label key '%s' is not one of 0..%d", cmd, key,
                            n - 1);
        else names[id] = value;
    }
    if (!rc && zy_label_set_create(out, names, n)) rc = zy_cli_die("%s: %s", cmd, zy_last_error());
    free(names);
    zy_config_free(c);
    return rc;
}

int zy_cli_kind_config_labels(const char *cmd, const zy_label_set *ls, zy_config *c) {
    zy_config_remove(c, "num_labels"); // id2label says it
    int K = ls ? zy_label_set_count(ls) : 1;
    const char **names = calloc((size_t)K, sizeof *names), **keys = calloc((size_t)K, sizeof *keys);
    char *buf = calloc((size_t)K, 12);
    int *ids = calloc((size_t)K, sizeof *ids), bad = !names || !keys || !buf || !ids;
    for (int k = 0; !bad && k < K; k++) {
        snprintf(buf + 12 * k, 12, "%d", k);
        keys[k] = buf + 12 * k;
        names[k] = ls ? zy_label_set_name(ls, k) : "LABEL_0";
        ids[k] = k;
    }
    bad = bad || zy_config_set_object_strings(c, "id2label", keys, names, K) ||
          zy_config_set_object_ints(c, "label2id", names, ids, K);
    free(names);
    free(keys);
    free(buf);
    free(ids);
    return bad ? zy_cli_die("%s: %s", cmd, zy_last_error()) : 0;
}
