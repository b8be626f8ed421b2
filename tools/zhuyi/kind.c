// The table of model kinds (kind.h) and lookups by name and by model.
#include <stdio.h>
#include <string.h>

#include "kind.h"

static const cli_kind *const KINDS[] = {&zy_cli_kind_gpt, &zy_cli_kind_bert};
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
