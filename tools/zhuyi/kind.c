// The table of model kinds (kind.h) and lookups by name and by model.
#include <string.h>

#include "kind.h"

static const cli_kind *const KINDS[] = {&zy_cli_kind_gpt, &zy_cli_kind_bert};
#define N_KINDS (sizeof KINDS / sizeof KINDS[0])

const cli_kind *zy_cli_kind_named(const char *name) {
    for (size_t i = 0; i < N_KINDS; i++)
        if (!strcmp(KINDS[i]->name, name)) return KINDS[i];
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

const char *zy_cli_kind_names(void) { return "gpt, bert"; }
