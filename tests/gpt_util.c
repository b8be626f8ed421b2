// Test helpers: see gpt_util.h.
#include "gpt_util.h"

#include <stddef.h>

#include "harness.h"

zy_config *zt_gpt_config(int L, int H, int C, int P, int V, float dropout) {
    zy_config *c;
    if (zy_config_create(&c, "test config") != ZY_STATUS_OK) return NULL;
    zy_status st = zy_config_set_string(c, "model_type", "gpt2");
    if (!st) st = zy_config_set_int(c, "n_layer", L);
    if (!st) st = zy_config_set_int(c, "n_head", H);
    if (!st) st = zy_config_set_int(c, "n_embd", C);
    if (!st) st = zy_config_set_int(c, "n_positions", P);
    if (!st) st = zy_config_set_int(c, "vocab_size", V);
    if (!st) st = zy_config_set_float(c, "resid_pdrop", dropout);
    if (!st) st = zy_config_set_float(c, "embd_pdrop", dropout);
    if (!st) st = zy_config_set_float(c, "attn_pdrop", dropout);
    if (st) {
        zt_fail(__FILE__, __LINE__, "gpt config: %s", zy_last_error());
        zy_config_free(c);
        return NULL;
    }
    return c;
}

zy_model *zt_gpt_create(int L, int H, int C, int P, int V, float dropout, uint64_t seed) {
    zy_config *c = zt_gpt_config(L, H, C, P, V, dropout);
    if (!c) return NULL;
    zy_model *m = NULL;
    if (zy_model_create(&m, c) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "gpt create: %s", zy_last_error());
    else
        zy_model_init_weights(m, seed);
    zy_config_free(c);
    return m;
}

zy_session *zt_session(const zy_model *m, int B, int T, bool training) {
    zy_session_params p = zy_session_default_params();
    p.batch = B, p.seq = T, p.training = training;
    zy_session *s = NULL;
    if (zy_session_create(&s, m, &p) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "session: %s", zy_last_error());
        return NULL;
    }
    return s;
}

zy_batch zt_batch(int *inputs, int *targets, int B, int T) {
    return (zy_batch){.B = B, .T = T, .input_ids = inputs, .targets = targets};
}

const float *zt_logits(const zy_session *s) {
    return zy_session_output(s, "logits", NULL, NULL);
}
