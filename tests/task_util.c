// Task-head test helpers (task_util.h).
#include "task_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

zy_config *zt_task_config(const char *dir, const char *arch, int K, const char *problem) {
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    zy_config *c = NULL;
    zy_status st = zy_config_load(&c, path);
    if (!st) st = zy_config_set_strings(c, "architectures", &arch, 1);
    if (!st) st = zy_config_set_int(c, "num_labels", K);
    if (!st && problem) st = zy_config_set_string(c, "problem_type", problem);
    if (st) {
        zt_fail(__FILE__, __LINE__, "task config %s: %s", dir, zy_last_error());
        zy_config_free(c);
        return NULL;
    }
    return c;
}

zy_model *zt_task_load(const char *dir, const char *arch, int K, const char *problem) {
    zy_config *c = zt_task_config(dir, arch, K, problem);
    if (!c) return NULL;
    zy_model *m = NULL;
    if (zy_model_load_with_config(&m, dir, c) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "load %s as %s: %s", dir, arch, zy_last_error());
    zy_config_free(c);
    return m;
}

float *zt_tensor(zy_model *m, const char *name, size_t *n) {
    const zy_tensor_table *t = zy_model_tensors(m);
    int i = zy_tensor_table_find(t, name);
    if (i < 0) {
        zt_fail(__FILE__, __LINE__, "tensor '%s' not in the model", name);
        return NULL;
    }
    if (n) *n = zy_tensor_table_at(t, i)->count;
    return zy_model_params(m, NULL) + zy_tensor_table_at(t, i)->offset;
}

void zt_set_head(zy_model *m, zt_ref *r, const char *prefix, const char *head_w,
                 const char *head_b) {
    const char *dst[2] = {head_w, head_b}, *src[2] = {"weight", "bias"};
    for (int k = 0; k < 2 && dst[k]; k++) {
        char name[128];
        snprintf(name, sizeof name, "%s.%s", prefix, src[k]);
        size_t n = 0, want = 0;
        float *p = zt_tensor(m, dst[k], &n);
        const float *v = zt_ref_f(r, name, &want);
        if (!p || !v || n != want) {
            zt_fail(__FILE__, __LINE__, "head %s: %zu values, the dump has %zu", dst[k], n, want);
            continue;
        }
        memcpy(p, v, n * sizeof *p);
    }
}

void zt_check_grads(zt_ref *r, zy_session *s, const char *prefix, double atol, double rtol) {
    const zy_model *m = zy_session_model(s);
    const zy_tensor_table *t = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(t); i++) {
        const zy_tensor *e = zy_tensor_table_at(t, i);
        char name[160];
        snprintf(name, sizeof name, "%s.grad.%s", prefix, e->name);
        const float *g = zy_session_tensor_grad(s, i);
        size_t n;
        const float *want = zt_ref_f(r, name, &n);
        if (!g || !want || n != e->count) {
            zt_fail(__FILE__, __LINE__, "%s: %s", name, !g ? "no gradient" : "not in the dump");
            continue;
        }
        if (e->transposed) { // kept (out, in): compare with the file layout transposed
            float *tr = zt_floats(n);
            int64_t R = e->shape[0], Cc = e->shape[1];
            for (int64_t i0 = 0; i0 < R; i0++)
                for (int64_t j = 0; j < Cc; j++) tr[j * R + i0] = want[i0 * Cc + j];
            CHECK_CLOSE(name, g, tr, n, atol, rtol);
            free(tr);
        } else {
            CHECK_CLOSE(name, g, want, n, atol, rtol);
        }
    }
}

const float *zt_output(const zy_session *s, const char *name, size_t n) {
    int nd = 0;
    int64_t shape[4];
    const float *o = zy_session_output(s, name, &nd, shape);
    size_t count = 1;
    for (int i = 0; i < nd; i++) count *= (size_t)shape[i];
    if (!o || count != n) {
        zt_fail(__FILE__, __LINE__, "output '%s': %s (%zu values, expected %zu)", name,
                o ? "wrong shape" : "missing", count, n);
        return NULL;
    }
    return o;
}
