// Private to src/models/*: parsing the output names implementations share, so every model
// spells them alike ("attentions.L" for layer L's kept attention weights).
#ifndef ZHUYI_MODELS_OUTPUTS_H
#define ZHUYI_MODELS_OUTPUTS_H

#include <string.h>

// "attentions.L" with L a decimal number (no sign, no spaces, at most 6 digits) in
// [0, n_layer) -> L; any other name -> -1.
static inline int zy__attention_output_layer(const char *name, int n_layer) {
    static const char prefix[] = "attentions.";
    if (strncmp(name, prefix, sizeof prefix - 1)) return -1;
    const char *num = name + sizeof prefix - 1;
    if (!*num || strlen(num) > 6) return -1;
    int l = 0;
    for (const char *c = num; *c; c++) {
        if (*c < '0' || *c > '9') return -1;
        l = 10 * l + (*c - '0');
    }
    return l < n_layer ? l : -1;
}

#endif
