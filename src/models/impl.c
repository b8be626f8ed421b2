// What model implementations share (impl.h).
#include <string.h>

#include "core/internal.h"
#include "models/impl.h"

float *zy__weight_view(const void *m, int i) {
    return (float *)zy_model_tensor_data((const zy_model *)m, i);
}

float *zy__grad_view(const void *s, int i) { return zy_session_tensor_grad((zy_session *)s, i); }

zy_status zy__tensor_add(zy_tensor_table *t, const char *name, int ndim, const int64_t *shape,
                         zy_init init, float std, bool decay, bool head, const char *dims) {
    zy_tensor_def d = {.name = name, .ndim = ndim, .init = init, .init_std = std,
                       .decay = decay, .optional = head, .head = head, .dims = dims,
                       .quantize = decay && ndim == 2};
    memcpy(d.shape, shape, (size_t)ndim * sizeof *shape);
    return zy_tensor_table_add(t, &d, NULL);
}

zy_status zy__config_opt_int(const zy_config *c, const char *key, int lo, int hi, int *out) {
    return zy_config_has(c, key) ? zy_config_get_int(c, key, lo, hi, out) : ZY_STATUS_OK;
}

zy_status zy__config_opt_float(const zy_config *c, const char *key, double lo, double hi,
                               float *out) {
    return zy_config_has(c, key) ? zy_config_get_float(c, key, lo, hi, out) : ZY_STATUS_OK;
}

zy_status zy__config_gelu(const zy_config *c, const char *name, const char *what, bool *tanh) {
    if (!zy_config_has(c, "hidden_act")) return ZY_STATUS_OK;
    const char *act;
    zy_status st = zy_config_get_string(c, "hidden_act", &act);
    if (st) return st;
    if (strcmp(act, "gelu") && strcmp(act, "gelu_new") && strcmp(act, "gelu_pytorch_tanh"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: hidden_act \"%s\" is not one zhuyi's %s "
                         "runs (\"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\")", name, act, what);
    *tanh = strcmp(act, "gelu") != 0;
    return ZY_STATUS_OK;
}

zy_status zy__check_fused3(const zy_model *m, int t, const char *who) {
    bool q = zy_model_is_trainable(m, t);
    if (zy_model_is_trainable(m, t + 1) != q || zy_model_is_trainable(m, t + 2) != q)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: %s and the two projections next to it "
                         "must all train or all be frozen (one fused projection)", who,
                         zy_tensor_table_at(zy_model_tensors(m), t)->name);
    return ZY_STATUS_OK;
}
