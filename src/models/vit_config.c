// ViT hyper-parameters: presets, and config.json in Hugging Face ViTConfig form.
//
// config.json fields READ (model_type "vit" is checked by the registry):
//   architectures[0]       "ViTForImageClassification" (also when absent)
//   hidden_size, num_hidden_layers, num_attention_heads, intermediate_size   required
//                          positive integers; hidden_size a multiple of num_attention_heads
//   image_size             default 224; an integer (square images)
//   patch_size             default 16; image_size a multiple of it
//   num_channels           default 3; 1 (gray) to 4
//   hidden_act             default "gelu" (erf); "gelu_new", "gelu_pytorch_tanh" (tanh)
//   layer_norm_eps         default 1e-12
//   hidden_dropout_prob, attention_probs_dropout_prob   default 0.0 each
//   initializer_range      default 0.02 (the std of new weights)
//   qkv_bias               if present, true (query, key and value without biases are not
//                          implemented)
//   encoder_stride         default 16 (kept; used by HF's masked-image-modeling head only)
//   num_labels, id2label, label2id, problem_type   the classifier (task_head.c)
// Everything else is ignored. Fields WRITTEN: those ViTConfig.save_pretrained writes.
#include <string.h>

#include "core/internal.h"
#include "models/impl.h"
#include "models/vit_internal.h"

const char *const zy__vit_arch_names[] = {"ViTForImageClassification", NULL};

typedef struct preset {
    const char *name;
    int L, C, H, S, P, ch;
} preset;

// vit-base: ViT-B/16 (Dosovitskiy et al. 2021) at 224 x 224 RGB; vit-tiny: DeiT-Ti's
// widths (Touvron et al. 2021); vit-mnist: a small one for 28 x 28 gray images (MNIST,
// Fashion-MNIST) that trains on a CPU in minutes. FF = 4·C everywhere.
static const preset PRESETS[] = {
    {"vit-mnist", 6, 128, 4, 28, 4, 1},
    {"vit-tiny", 12, 192, 3, 224, 16, 3},
    {"vit-base", 12, 768, 12, 224, 16, 3},
};

const char *const zy__vit_presets[] = {"vit-mnist", "vit-tiny", "vit-base", NULL};

zy_status zy__vit_read_config(const zy_config *c, vit_hparams *h) {
    memset(h, 0, sizeof *h);
    h->image_size = 224, h->patch_size = 16, h->channels = 3, h->encoder_stride = 16;
    h->eps = 1e-12f;
    h->init_range = 0.02f;
    const char *name = zy_config_name(c);
    zy_status st;
    if ((st = zy_config_get_int(c, "hidden_size", 1, 65536, &h->hidden)) ||
        (st = zy_config_get_int(c, "num_hidden_layers", 1, 4096, &h->n_layer)) ||
        (st = zy_config_get_int(c, "num_attention_heads", 1, 65536, &h->n_head)) ||
        (st = zy_config_get_int(c, "intermediate_size", 1, 1 << 20, &h->intermediate)) ||
        (st = zy__config_opt_int(c, "image_size", 1, 1 << 14, &h->image_size)) ||
        (st = zy__config_opt_int(c, "patch_size", 1, 1 << 14, &h->patch_size)) ||
        (st = zy__config_opt_int(c, "num_channels", 1, 4, &h->channels)) ||
        (st = zy__config_opt_int(c, "encoder_stride", 1, 1 << 14, &h->encoder_stride)) ||
        (st = zy__config_opt_float(c, "layer_norm_eps", 1e-30, 1.0, &h->eps)) ||
        (st = zy__config_opt_float(c, "hidden_dropout_prob", 0.0, 0.999, &h->hidden_dropout)) ||
        (st = zy__config_opt_float(c, "attention_probs_dropout_prob", 0.0, 0.999,
                                   &h->attn_dropout)) ||
        (st = zy__config_opt_float(c, "initializer_range", 0.0, 100.0, &h->init_range)))
        return st;
    if ((st = zy__config_gelu(c, name, "ViT", &h->gelu_tanh))) return st;
    bool qkv_bias = true;
    if (zy_config_has(c, "qkv_bias") && ((st = zy_config_get_bool(c, "qkv_bias", &qkv_bias))))
        return st;
    if (!qkv_bias)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: qkv_bias false (no query, key and value "
                         "biases) is not implemented", name);
    if (h->hidden % h->n_head)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: hidden_size = %d is not a multiple "
                         "of num_attention_heads = %d", name, h->hidden, h->n_head);
    if (h->image_size % h->patch_size)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: image_size = %d is not a multiple "
                         "of patch_size = %d", name, h->image_size, h->patch_size);
    int side = h->image_size / h->patch_size;
    if ((long long)side * side + 1 > (1 << 20))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: image_size / patch_size = %d gives "
                         "more than 2^20 patches", name, side);
    h->n_patches = side * side;
    // Last: the only field that allocates (the label names; zy__labels_free).
    return zy__labels_read(c, &h->labels);
}

zy_status zy__vit_write_config(const vit_hparams *h, zy_config *c) {
    zy_status st;
    if ((st = zy_config_set_float(c, "attention_probs_dropout_prob", h->attn_dropout)) ||
        (st = zy_config_set_int(c, "encoder_stride", h->encoder_stride)) ||
        (st = zy_config_set_string(c, "hidden_act", h->gelu_tanh ? "gelu_new" : "gelu")) ||
        (st = zy_config_set_float(c, "hidden_dropout_prob", h->hidden_dropout)) ||
        (st = zy_config_set_int(c, "hidden_size", h->hidden)) ||
        (st = zy_config_set_int(c, "image_size", h->image_size)) ||
        (st = zy_config_set_float(c, "initializer_range", h->init_range)) ||
        (st = zy_config_set_int(c, "intermediate_size", h->intermediate)) ||
        (st = zy_config_set_float(c, "layer_norm_eps", h->eps)) ||
        (st = zy_config_set_int(c, "num_attention_heads", h->n_head)) ||
        (st = zy_config_set_int(c, "num_channels", h->channels)) ||
        (st = zy_config_set_int(c, "num_hidden_layers", h->n_layer)) ||
        (st = zy_config_set_int(c, "patch_size", h->patch_size)) ||
        (st = zy_config_set_bool(c, "qkv_bias", true)))
        return st;
    return zy__labels_write(&h->labels, c);
}

zy_status zy__vit_preset(const char *name, zy_config *c) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        const preset *p = &PRESETS[i];
        if (strcmp(p->name, name)) continue;
        vit_hparams h = {.n_layer = p->L, .n_head = p->H, .hidden = p->C,
                         .intermediate = 4 * p->C, .image_size = p->S, .patch_size = p->P,
                         .channels = p->ch, .eps = 1e-12f, .init_range = 0.02f,
                         .encoder_stride = p->P, .labels = {.n = 2}};
        char *names[2] = {"LABEL_0", "LABEL_1"};
        h.labels.names = names;
        const char *arch[] = {zy__vit_arch_names[0]};
        zy_status st = zy_config_set_strings(c, "architectures", arch, 1);
        return st ? st : zy__vit_write_config(&h, c);
    }
    return zy__error(ZY_STATUS_NOT_FOUND, "vit: unknown preset '%s'", name);
}
