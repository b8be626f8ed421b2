// Test helpers: see bert_util.h.
#include "bert_util.h"

#include "harness.h"

zy_config *zt_bert_config(const zt_bert_dims *d) {
    zy_config *c;
    if (zy_config_create(&c, "bert test config") != ZY_STATUS_OK) return NULL;
    zy_status st = zy_config_set_string(c, "model_type", "bert");
    if (!st && d->arch) st = zy_config_set_strings(c, "architectures", &d->arch, 1);
    if (!st) st = zy_config_set_int(c, "num_hidden_layers", d->L);
    if (!st) st = zy_config_set_int(c, "num_attention_heads", d->H);
    if (!st) st = zy_config_set_int(c, "hidden_size", d->C);
    if (!st) st = zy_config_set_int(c, "intermediate_size", d->FF);
    if (!st) st = zy_config_set_int(c, "max_position_embeddings", d->P);
    if (!st) st = zy_config_set_int(c, "type_vocab_size", d->TV);
    if (!st) st = zy_config_set_int(c, "vocab_size", d->V);
    if (!st) st = zy_config_set_float(c, "hidden_dropout_prob", d->dropout);
    if (!st) st = zy_config_set_float(c, "attention_probs_dropout_prob", d->dropout);
    if (st) {
        zt_fail(__FILE__, __LINE__, "bert config: %s", zy_last_error());
        zy_config_free(c);
        return NULL;
    }
    return c;
}

zy_model *zt_bert_create(const zt_bert_dims *d, uint64_t seed) {
    zy_config *c = zt_bert_config(d);
    if (!c) return NULL;
    zy_model *m = NULL;
    if (zy_model_create(&m, c) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "bert create: %s", zy_last_error());
    else
        zy_model_init_weights(m, seed);
    zy_config_free(c);
    return m;
}

zy_session *zt_bert_session(const zy_model *m, int B, int T, bool training, bool attention) {
    zy_session_params p = zy_session_default_params();
    p.batch = B, p.seq = T, p.training = training, p.attention_weights = attention;
    zy_session *s = NULL;
    if (zy_session_create(&s, m, &p) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "bert session: %s", zy_last_error());
        return NULL;
    }
    return s;
}
