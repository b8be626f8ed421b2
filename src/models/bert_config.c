// BERT hyper-parameters: presets, and config.json in Hugging Face BERT form.
//
// config.json fields READ (model_type "bert" is checked by the registry):
//   architectures[0]       "BertForPreTraining" (also when absent), "BertForMaskedLM",
//                          "BertModel", "BertForSequenceClassification",
//                          "BertForTokenClassification" or "BertForQuestionAnswering":
//                          which heads the model has (bert_internal.h)
//   vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
//   max_position_embeddings   required positive integers; hidden_size a multiple of
//                          num_attention_heads
//   type_vocab_size        default 2
//   hidden_act             default "gelu" (erf); "gelu_new", "gelu_pytorch_tanh" (tanh)
//                          and "relu" also run; anything else is refused
//   layer_norm_eps         default 1e-12
//   hidden_dropout_prob, attention_probs_dropout_prob   default 0.1 each (two values:
//                          zy_model_set_dropout sets both)
//   pad_token_id           default 0, in [0, vocab_size)
//   initializer_range      default 0.02 (the std of new weights)
//   position_embedding_type   if present, "absolute"
//   is_decoder, add_cross_attention   if present, false
//   the task architectures also: num_labels, id2label, label2id, problem_type (the two
//   classifiers; task_head.c), classifier_dropout (the classifiers: null or absent means
//   hidden_dropout_prob, else in [0, 1)) - bert_task.c
// Everything else (use_cache, torch_dtype, ...) is ignored.
// Fields WRITTEN: the set BertForPreTraining.save_pretrained writes (zy__bert_write_config),
// and for the task architectures the label fields and classifier_dropout.
#include <string.h>

#include "core/internal.h"
#include "models/impl.h"
#include "models/bert_internal.h"

const char *const zy__bert_arch_names[] = {"BertForPreTraining",
                                           "BertForMaskedLM",
                                           "BertModel",
                                           "BertForSequenceClassification",
                                           "BertForTokenClassification",
                                           "BertForQuestionAnswering",
                                           NULL};
const char *const zy__bert_act_names[] = {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu"};

typedef struct preset {
    const char *name;
    int L, C, H;
} preset;

// Google's BERT miniatures and BERT-base (Turc et al. 2019; Devlin et al. 2019): uncased
// WordPiece vocabulary of 30522, 512 positions, two segments, FF = 4·C.
static const preset PRESETS[] = {
    {"bert-tiny", 2, 128, 2},
    {"bert-mini", 4, 256, 4},
    {"bert-small", 4, 512, 8},
    {"bert-base", 12, 768, 12},
};

const char *const zy__bert_presets[] = {"bert-tiny", "bert-mini", "bert-small", "bert-base",
                                        NULL};

static zy_status read_arch(const zy_config *c, bert_hparams *h) {
    h->arch = BERT_PRETRAINING;
    const char *arch;
    if (zy_config_array_count(c, "architectures") > 0 &&
        !zy_config_get_string_at(c, "architectures", 0, &arch))
        for (int a = 0; zy__bert_arch_names[a]; a++)
            if (!strcmp(arch, zy__bert_arch_names[a])) h->arch = (bert_arch)a;
    // (the registry has refused other architectures already)
    // As Hugging Face builds them: token classification and QA have no pooler.
    h->has_pooler = h->arch == BERT_PRETRAINING || h->arch == BERT_MODEL ||
                    h->arch == BERT_SEQ_CLS;
    h->has_mlm = h->arch == BERT_PRETRAINING || h->arch == BERT_MASKED_LM;
    h->has_nsp = h->arch == BERT_PRETRAINING;
    h->has_task = h->arch >= BERT_SEQ_CLS;
    return ZY_STATUS_OK;
}

static zy_status opt_false(const zy_config *c, const char *key, const char *name) {
    bool v = false;
    if (zy_config_has(c, key) && (zy_config_get_bool(c, key, &v) || v))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: %s must be false (zhuyi's BERT is an "
                         "encoder)", name, key);
    return ZY_STATUS_OK;
}

zy_status zy__bert_read_config(const zy_config *c, bert_hparams *h) {
    memset(h, 0, sizeof *h);
    h->type_vocab = 2;
    h->eps = 1e-12f;
    h->hidden_dropout = h->attn_dropout = 0.1f; // HF's defaults
    h->init_range = 0.02f;
    h->act = BERT_ACT_GELU;
    const char *name = zy_config_name(c);
    zy_status st;
    if ((st = read_arch(c, h)) ||
        (st = zy_config_get_int(c, "vocab_size", 1, 1 << 24, &h->vocab)) ||
        (st = zy_config_get_int(c, "hidden_size", 1, 65536, &h->hidden)) ||
        (st = zy_config_get_int(c, "num_hidden_layers", 1, 4096, &h->n_layer)) ||
        (st = zy_config_get_int(c, "num_attention_heads", 1, 65536, &h->n_head)) ||
        (st = zy_config_get_int(c, "intermediate_size", 1, 1 << 20, &h->intermediate)) ||
        (st = zy_config_get_int(c, "max_position_embeddings", 1, 1 << 20, &h->max_positions)))
        return st;
    if (zy_config_has(c, "type_vocab_size") &&
        (st = zy_config_get_int(c, "type_vocab_size", 1, 1 << 16, &h->type_vocab)))
        return st;
    if (zy_config_has(c, "pad_token_id") &&
        (st = zy_config_get_int(c, "pad_token_id", 0, h->vocab - 1, &h->pad_token_id)))
        return st;
    if ((st = zy__config_opt_float(c, "layer_norm_eps", 1e-30, 1.0, &h->eps)) ||
        (st = zy__config_opt_float(c, "hidden_dropout_prob", 0.0, 0.999, &h->hidden_dropout)) ||
        (st = zy__config_opt_float(c, "attention_probs_dropout_prob", 0.0, 0.999,
                                   &h->attn_dropout)) ||
        (st = zy__config_opt_float(c, "initializer_range", 0.0, 100.0, &h->init_range)))
        return st;
    if (zy_config_has(c, "hidden_act")) {
        const char *act;
        if ((st = zy_config_get_string(c, "hidden_act", &act))) return st;
        int a = 0;
        while (a < 4 && strcmp(act, zy__bert_act_names[a])) a++;
        if (a == 4)
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: hidden_act \"%s\" is not one zhuyi "
                             "runs (\"gelu\", \"gelu_new\", \"gelu_pytorch_tanh\", \"relu\")",
                             name, act);
        h->act = (bert_act)a;
    }
    const char *pos;
    if (zy_config_has(c, "position_embedding_type") &&
        (zy_config_get_string(c, "position_embedding_type", &pos) || strcmp(pos, "absolute")))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: position_embedding_type must be "
                         "\"absolute\" (relative position embeddings are not implemented)",
                         name);
    if ((st = opt_false(c, "is_decoder", name)) ||
        (st = opt_false(c, "add_cross_attention", name)))
        return st;
    if (h->hidden % h->n_head)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: hidden_size = %d is not a multiple "
                         "of num_attention_heads = %d", name, h->hidden, h->n_head);
    // Last: the only field that allocates (the label names; zy__labels_free).
    return h->has_task ? zy__bert_read_task_config(c, h) : ZY_STATUS_OK;
}

// The fields BertForPreTraining.save_pretrained writes, but torch_dtype and
// transformers_version (model_type and architectures are written by the generic code).
zy_status zy__bert_write_config(const bert_hparams *h, zy_config *c) {
    zy_status st;
    if ((st = zy_config_set_float(c, "attention_probs_dropout_prob", h->attn_dropout)) ||
        (st = zy_config_set_null(c, "classifier_dropout")) ||
        (st = zy_config_set_string(c, "hidden_act", zy__bert_act_names[h->act])) ||
        (st = zy_config_set_float(c, "hidden_dropout_prob", h->hidden_dropout)) ||
        (st = zy_config_set_int(c, "hidden_size", h->hidden)) ||
        (st = zy_config_set_float(c, "initializer_range", h->init_range)) ||
        (st = zy_config_set_int(c, "intermediate_size", h->intermediate)) ||
        (st = zy_config_set_float(c, "layer_norm_eps", h->eps)) ||
        (st = zy_config_set_int(c, "max_position_embeddings", h->max_positions)) ||
        (st = zy_config_set_int(c, "num_attention_heads", h->n_head)) ||
        (st = zy_config_set_int(c, "num_hidden_layers", h->n_layer)) ||
        (st = zy_config_set_int(c, "pad_token_id", h->pad_token_id)) ||
        (st = zy_config_set_string(c, "position_embedding_type", "absolute")) ||
        (st = zy_config_set_int(c, "type_vocab_size", h->type_vocab)) ||
        (st = zy_config_set_bool(c, "use_cache", true)) ||
        (st = zy_config_set_int(c, "vocab_size", h->vocab)))
        return st;
    return h->has_task ? zy__bert_write_task_config(h, c) : ZY_STATUS_OK;
}

zy_status zy__bert_preset(const char *name, zy_config *c) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        const preset *p = &PRESETS[i];
        if (strcmp(p->name, name)) continue;
        bert_hparams h = {.n_layer = p->L, .n_head = p->H, .hidden = p->C,
                          .intermediate = 4 * p->C, .max_positions = 512, .type_vocab = 2,
                          .vocab = 30522, .pad_token_id = 0, .act = BERT_ACT_GELU,
                          .eps = 1e-12f, .hidden_dropout = 0.1f, .attn_dropout = 0.1f,
                          .init_range = 0.02f};
        const char *arch[] = {zy__bert_arch_names[BERT_PRETRAINING]};
        zy_status st = zy_config_set_strings(c, "architectures", arch, 1);
        return st ? st : zy__bert_write_config(&h, c);
    }
    return zy__error(ZY_STATUS_NOT_FOUND, "bert: unknown preset '%s'", name);
}
