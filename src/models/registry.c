// The model registry: which zy_model_ops implements a config.json. Built-in
// implementations are listed here; applications and tests add theirs with
// zy_model_register. Not here: the model object (model.c).
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "models/model_internal.h"

#define MAX_REGISTERED 64

extern const zy_model_ops zy__gpt_ops;
extern const zy_model_ops zy__bert_ops;

extern const zy_model_ops zy__marian_ops;
extern const zy_model_ops zy__vit_ops;
extern const zy_model_ops zy__speech_ops;

static const zy_model_ops *const BUILTIN[] = {&zy__gpt_ops, &zy__bert_ops, &zy__marian_ops,
                                              &zy__vit_ops, &zy__speech_ops};
static const zy_model_ops *registered[MAX_REGISTERED];
static int n_registered;

// All implementations: built-in first, then registered, in order.
static const zy_model_ops *ops_at(int i) {
    int nb = (int)(sizeof BUILTIN / sizeof BUILTIN[0]);
    if (i < nb) return BUILTIN[i];
    return i - nb < n_registered ? registered[i - nb] : NULL;
}

zy_status zy_model_register(const zy_model_ops *ops) {
    if (!ops || !ops->model_type || !ops->init || !ops->write_config || !ops->session_init ||
        !ops->prepare || !ops->forward || !ops->backward)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "model register: incomplete operations "
                         "(model_type, init, write_config, session_init, prepare, forward "
                         "and backward are required)");
    if (ops->decode && (!ops->seq_reset || !ops->seq_len || !ops->seq_copy))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "model register: '%s' decodes but lacks "
                         "seq_reset, seq_len or seq_copy", ops->model_type);
    for (int i = 0; ops_at(i); i++)
        if (ops_at(i) == ops) return ZY_STATUS_OK;
    if (n_registered == MAX_REGISTERED)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "model register: at most %d "
                         "implementations", MAX_REGISTERED);
    registered[n_registered++] = ops;
    return ZY_STATUS_OK;
}

static bool accepts(const zy_model_ops *ops, const char *arch) {
    if (!ops->architectures || !arch) return true;
    for (const char *const *a = ops->architectures; *a; a++)
        if (!strcmp(*a, arch)) return true;
    return false;
}

zy_status zy__model_find_ops(const zy_config *c, const zy_model_ops **out) {
    const char *type, *arch = NULL;
    zy_status st = zy_config_get_string(c, "model_type", &type);
    if (st) return st;
    if (zy_config_array_count(c, "architectures") > 0 &&
        (st = zy_config_get_string_at(c, "architectures", 0, &arch)))
        return st;
    const zy_model_ops *typed = NULL;
    for (int i = 0; ops_at(i); i++) {
        const zy_model_ops *ops = ops_at(i);
        if (strcmp(ops->model_type, type)) continue;
        if (accepts(ops, arch)) {
            *out = ops;
            return ZY_STATUS_OK;
        }
        typed = ops;
    }
    if (typed) {
        char known[256] = "";
        for (const char *const *a = typed->architectures; *a; a++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                     a == typed->architectures ? "" : ", ", *a);
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: architecture '%s' of model_type '%s' is "
                         "not supported (zhuyi has: %s)", zy_config_name(c), arch, type, known);
    }
    char types[256] = "";
    for (int i = 0; ops_at(i); i++)
        snprintf(types + strlen(types), sizeof types - strlen(types), "%s\"%s\"",
                 i ? ", " : "", ops_at(i)->model_type);
    return zy__error(ZY_STATUS_UNSUPPORTED, "%s: model_type '%s' is not one zhuyi knows (%s)",
                     zy_config_name(c), type, types);
}

int zy_model_types(const char **types, int max) {
    int n = 0;
    for (int i = 0; ops_at(i); i++) {
        bool seen = false;
        for (int j = 0; j < i && !seen; j++)
            seen = !strcmp(ops_at(j)->model_type, ops_at(i)->model_type);
        if (seen) continue;
        if (n < max) types[n] = ops_at(i)->model_type;
        n++;
    }
    return n;
}

int zy_model_preset_names(const char **names, int max) {
    int n = 0;
    for (int i = 0; ops_at(i); i++)
        for (const char *const *p = ops_at(i)->presets; p && *p; p++, n++)
            if (n < max) names[n] = *p;
    return n;
}

zy_status zy_model_preset(zy_config **out, const char *name) {
    *out = NULL;
    for (int i = 0; ops_at(i); i++) {
        const zy_model_ops *ops = ops_at(i);
        for (const char *const *p = ops->presets; p && *p; p++) {
            if (strcmp(*p, name)) continue;
            zy_status st = zy_config_create(out, name);
            if (!st) st = zy_config_set_string(*out, "model_type", ops->model_type);
            if (!st) st = ops->preset(name, *out);
            if (st) {
                zy_config_free(*out);
                *out = NULL;
            }
            return st;
        }
    }
    char list[512] = "";
    const char *names[64];
    int n = zy_model_preset_names(names, 64);
    for (int i = 0; i < n && i < 64; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 names[i]);
    return zy__error(ZY_STATUS_NOT_FOUND, "unknown preset '%s' (%s)", name, list);
}
