// GPT-2 hyper-parameters: presets, and config.json in Hugging Face GPT-2 form.
//
// config.json fields READ: n_layer, n_head, n_embd, vocab_size (required, positive
// integers), n_positions (or n_ctx; required), layer_norm_epsilon (default 1e-5),
// resid_pdrop (default 0.1 as HF; embd_pdrop and attn_pdrop must equal it if present,
// since zhuyi has one dropout value), activation_function (if present "gelu_new" or
// "gelu_pytorch_tanh"), n_inner (if present and not null, must be 4·n_embd),
// scale_attn_by_inverse_layer_idx and reorder_and_upcast_attn (if present must be false),
// scale_attn_weights (if present must be true); architectures[0] "GPT2LMHeadModel" or
// "GPT2Model" (the LM) or "GPT2ForSequenceClassification" (also num_labels, id2label,
// label2id, problem_type and pad_token_id: gpt_task.c). Everything else is ignored.
// model_type "gpt2" is checked by the registry. Fields WRITTEN: the set GPT2LMHeadModel
// writes (see zy__gpt_write_config), and the classifier's fields.
#include <string.h>

#include "core/internal.h"
#include "models/gpt_internal.h"

typedef struct preset {
    const char *name;
    int L, H, C, P, V;
} preset;

static const preset PRESETS[] = {
    {"gpt2-124m", 12, 12, 768, 1024, 50257},  {"gpt2-medium", 24, 16, 1024, 1024, 50257},
    {"gpt2-large", 36, 20, 1280, 1024, 50257}, {"gpt2-xl", 48, 25, 1600, 1024, 50257},
    {"gpt-mini", 6, 6, 384, 256, 0},          {"gpt-micro", 4, 4, 128, 128, 0},
    {"gpt-nano", 3, 3, 48, 64, 0},
};

const char *const zy__gpt_presets[] = {"gpt2-124m", "gpt2-medium", "gpt2-large", "gpt2-xl",
                                       "gpt-mini",  "gpt-micro",   "gpt-nano",   NULL};

// Validation of the numbers (the limits keep (B*T, V) and (4C, C) index arithmetic far
// from int overflow); messages name the field.
static zy_status validate(const gpt_hparams *h, const char *name) {
    if (h->n_embd % h->n_head)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: n_embd = %d is not a multiple of "
                         "n_head = %d", name, h->n_embd, h->n_head);
    return ZY_STATUS_OK;
}

zy_status zy__gpt_read_config(const zy_config *c, gpt_hparams *h) {
    memset(h, 0, sizeof *h);
    h->pad_token_id = -1;
    h->layer_norm_epsilon = 1e-5f;
    const char *arch;
    h->seq_cls = zy_config_array_count(c, "architectures") > 0 &&
                 !zy_config_get_string_at(c, "architectures", 0, &arch) &&
                 !strcmp(arch, "GPT2ForSequenceClassification");
    h->dropout = 0.1f; // HF's default for every *_pdrop
    const char *name = zy_config_name(c);
    zy_status st;
    if ((st = zy_config_get_int(c, "n_layer", 1, 4096, &h->n_layer)) ||
        (st = zy_config_get_int(c, "n_head", 1, 65536, &h->n_head)) ||
        (st = zy_config_get_int(c, "n_embd", 1, 65536, &h->n_embd)) ||
        (st = zy_config_get_int(c, "vocab_size", 1, 1 << 24, &h->vocab_size)) ||
        (st = zy_config_get_int(c, zy_config_has(c, "n_positions") ? "n_positions" : "n_ctx",
                                1, 1 << 20, &h->n_positions)))
        return st;
    if (zy_config_has(c, "layer_norm_epsilon") &&
        (st = zy_config_get_float(c, "layer_norm_epsilon", 1e-30, 1.0, &h->layer_norm_epsilon)))
        return st;
    if (zy_config_has(c, "resid_pdrop") &&
        (st = zy_config_get_float(c, "resid_pdrop", 0.0, 0.999, &h->dropout)))
        return st;
    const char *drops[] = {"embd_pdrop", "attn_pdrop"};
    for (int i = 0; i < 2; i++) {
        float p = h->dropout;
        if (zy_config_has(c, drops[i]) && (st = zy_config_get_float(c, drops[i], 0.0, 0.999, &p)))
            return st;
        if (p != h->dropout)
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: %s = %g differs from resid_pdrop = "
                             "%g (zhuyi uses one dropout value)", name, drops[i], (double)p,
                             (double)h->dropout);
    }
    const char *act;
    if (zy_config_has(c, "activation_function") &&
        (zy_config_get_string(c, "activation_function", &act) ||
         (strcmp(act, "gelu_new") && strcmp(act, "gelu_pytorch_tanh"))))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: activation_function must be \"gelu_new\" "
                         "(GELU tanh)", name);
    int inner;
    if (zy_config_has(c, "n_inner") &&
        (zy_config_get_int(c, "n_inner", 1, 1 << 30, &inner) || inner != 4 * h->n_embd))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: n_inner must be null or 4 * n_embd = %d",
                         name, 4 * h->n_embd);
    const char *off[] = {"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"};
    for (int i = 0; i < 2; i++) {
        bool v = false;
        if (zy_config_has(c, off[i]) && (zy_config_get_bool(c, off[i], &v) || v))
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: %s must be false", name, off[i]);
    }
    bool scale = true;
    if (zy_config_has(c, "scale_attn_weights") &&
        (zy_config_get_bool(c, "scale_attn_weights", &scale) || !scale))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: scale_attn_weights must be true", name);
    if ((st = validate(h, name))) return st;
    // Last: the only field that allocates (the label names; zy__labels_free).
    return h->seq_cls ? zy__gpt_read_task_config(c, h) : ZY_STATUS_OK;
}

// The fields GPT2LMHeadModel.save_pretrained writes (model_type and architectures are
// written by the generic code; bos/eos only for the GPT-2 vocabulary, where 50256 is
// <|endoftext|>; other tokenizers name their own end-of-text).
zy_status zy__gpt_write_config(const gpt_hparams *h, zy_config *c) {
    zy_status st;
    if ((st = zy_config_set_string(c, "activation_function", "gelu_new")) ||
        (st = zy_config_set_float(c, "attn_pdrop", h->dropout)) ||
        (st = zy_config_set_float(c, "embd_pdrop", h->dropout)) ||
        (st = zy_config_set_float(c, "resid_pdrop", h->dropout)) ||
        (st = zy_config_set_float(c, "initializer_range", 0.02f)) ||
        (st = zy_config_set_float(c, "layer_norm_epsilon", h->layer_norm_epsilon)) ||
        (st = zy_config_set_int(c, "n_ctx", h->n_positions)) ||
        (st = zy_config_set_int(c, "n_embd", h->n_embd)) ||
        (st = zy_config_set_int(c, "n_head", h->n_head)) ||
        (st = zy_config_set_null(c, "n_inner")) ||
        (st = zy_config_set_int(c, "n_layer", h->n_layer)) ||
        (st = zy_config_set_int(c, "n_positions", h->n_positions)) ||
        (st = zy_config_set_bool(c, "reorder_and_upcast_attn", false)) ||
        (st = zy_config_set_bool(c, "scale_attn_by_inverse_layer_idx", false)) ||
        (st = zy_config_set_bool(c, "scale_attn_weights", true)) ||
        (st = zy_config_set_bool(c, "use_cache", true)) ||
        (st = zy_config_set_int(c, "vocab_size", h->vocab_size)))
        return st;
    if (h->vocab_size == 50257 && ((st = zy_config_set_int(c, "bos_token_id", 50256)) ||
                                   (st = zy_config_set_int(c, "eos_token_id", 50256))))
        return st;
    return h->seq_cls ? zy__gpt_write_task_config(h, c) : ZY_STATUS_OK;
}

zy_status zy__gpt_preset(const char *name, zy_config *c) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        const preset *p = &PRESETS[i];
        if (strcmp(p->name, name)) continue;
        gpt_hparams h = {.n_layer = p->L, .n_head = p->H, .n_embd = p->C, .n_positions = p->P,
                         .vocab_size = p->V, .layer_norm_epsilon = 1e-5f, .dropout = 0.0f};
        return zy__gpt_write_config(&h, c);
    }
    return zy__error(ZY_STATUS_NOT_FOUND, "gpt: unknown preset '%s'", name);
}
