// Reference dumps against a model's tensor table: see ref_model.h.
#include "ref_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void zt_hf_layout(float *out, const float *base, const zy_tensor *t) {
    const float *p = base + t->offset;
    if (!t->transposed) {
        memcpy(out, p, t->count * sizeof *out);
        return;
    }
    int64_t in = t->shape[0], o = t->shape[1]; // stored (o, in)
    for (int64_t r = 0; r < o; r++)
        for (int64_t c = 0; c < in; c++) out[c * o + r] = p[r * in + c];
}

const float *zt_ref_tensor(zt_ref *r, const char *prefix, const zy_tensor *t) {
    char name[160];
    snprintf(name, sizeof name, "%s%s", prefix, t->name);
    size_t n;
    const float *p = zt_ref_f(r, name, &n);
    if (p && n == t->count) return p;
    zt_fail(__FILE__, __LINE__, "%s: missing or wrong size", name);
    return NULL;
}

void zt_ref_check_tensors(zt_ref *r, const zy_model *m, const float *base, const char *prefix,
                          const char *grad_prefix, double atol, double rtol) {
    const zy_tensor_table *tab = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(tab); i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        const float *want = zt_ref_tensor(r, prefix, t);
        if (!want) continue;
        size_t n = t->count;
        float *got = zt_floats(n);
        zt_hf_layout(got, base, t);
        if (grad_prefix) {
            char gname[160];
            snprintf(gname, sizeof gname, "%s%s", grad_prefix, t->name);
            const float *gr = zt_ref_f(r, gname, NULL);
            size_t skipped = 0;
            for (size_t k = 0; gr && k < n; k++)
                if (fabsf(gr[k]) < 1e-7f) got[k] = want[k], skipped++;
            if (skipped) zt_note("%s: %zu elements with |grad| < 1e-7 not compared", t->name,
                                 skipped);
        }
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        CHECK_CLOSE(name, got, want, n, atol, rtol);
        free(got);
    }
}
