// Speech CTC encoder hyper-parameters: presets, and config.json (model_type "speech_ctc",
// zhuyi's own: Hugging Face has no class of this shape; docs/FORMATS.md).
//
// config.json fields READ (model_type "speech_ctc" is checked by the registry):
//   architectures[0]       "SpeechEncoderForCTC" (also when absent)
//   hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size
//                          required positive integers; hidden_size a multiple of
//                          num_attention_heads; vocab_size >= 2 (the blank and a label)
//   num_mel_bins           default 80: features per input frame
//   num_conv_layers        default 2 (1..4): stride-2 convolutions before the encoder
//   conv_kernel_size       default 3; odd
//   pad_token_id           default 0: the CTC blank, in [0, vocab_size)
//   max_source_positions   default 6000: the longest input in frames (60 s at 10 ms)
//   hidden_act             default "gelu" (erf); "gelu_new", "gelu_pytorch_tanh" (tanh)
//   layer_norm_eps         default 1e-5
//   hidden_dropout, attention_dropout   default 0.1, 0.0
//   initializer_range      default 0.02 (the std of new linear weights)
// Everything else is ignored. All of them are WRITTEN.
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "models/impl.h"
#include "models/speech_internal.h"

const char *const zy__speech_arch_names[] = {"SpeechEncoderForCTC", NULL};

typedef struct preset {
    const char *name;
    int L, C, H, FF;
} preset;

// speech-small: a 6-layer encoder of 144 (Conformer-S's width, without its convolution
// modules) that trains on a CPU in tens of minutes; speech-tiny: for tests.
static const preset PRESETS[] = {
    {"speech-small", 6, 144, 4, 576},
    {"speech-tiny", 2, 64, 2, 128},
};

const char *const zy__speech_presets[] = {"speech-small", "speech-tiny", NULL};

int zy__speech_conv_len(const speech_hparams *h, int T, int i) {
    for (int j = 0; j <= i; j++) T = zy_conv1d_out_len(T, h->conv_kernel, 2, h->conv_kernel / 2);
    return T;
}

int zy__speech_out_len(const speech_hparams *h, int T) {
    return zy__speech_conv_len(h, T, h->n_conv - 1);
}

zy_status zy__speech_read_config(const zy_config *c, speech_hparams *h) {
    memset(h, 0, sizeof *h);
    h->n_mels = 80, h->n_conv = 2, h->conv_kernel = 3, h->max_frames = 6000;
    h->eps = 1e-5f, h->hidden_dropout = 0.1f, h->init_range = 0.02f;
    const char *name = zy_config_name(c);
    zy_status st;
    if ((st = zy_config_get_int(c, "hidden_size", 1, 65536, &h->hidden)) ||
        (st = zy_config_get_int(c, "num_hidden_layers", 1, 4096, &h->n_layer)) ||
        (st = zy_config_get_int(c, "num_attention_heads", 1, 65536, &h->n_head)) ||
        (st = zy_config_get_int(c, "intermediate_size", 1, 1 << 20, &h->intermediate)) ||
        (st = zy_config_get_int(c, "vocab_size", 2, 1 << 20, &h->vocab)) ||
        (st = zy__config_opt_int(c, "num_mel_bins", 1, 4096, &h->n_mels)) ||
        (st = zy__config_opt_int(c, "num_conv_layers", 1, SPEECH_MAX_CONV, &h->n_conv)) ||
        (st = zy__config_opt_int(c, "conv_kernel_size", 1, 63, &h->conv_kernel)) ||
        (st = zy__config_opt_int(c, "pad_token_id", 0, h->vocab - 1, &h->blank)) ||
        (st = zy__config_opt_int(c, "max_source_positions", 1, 1 << 20, &h->max_frames)) ||
        (st = zy__config_opt_float(c, "layer_norm_eps", 1e-30, 1.0, &h->eps)) ||
        (st = zy__config_opt_float(c, "hidden_dropout", 0.0, 0.999, &h->hidden_dropout)) ||
        (st = zy__config_opt_float(c, "attention_dropout", 0.0, 0.999, &h->attn_dropout)) ||
        (st = zy__config_opt_float(c, "initializer_range", 0.0, 100.0, &h->init_range)))
        return st;
    if ((st = zy__config_gelu(c, name, "speech encoder", &h->gelu_tanh))) return st;
    if (h->hidden % h->n_head)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: hidden_size = %d is not a multiple "
                         "of num_attention_heads = %d", name, h->hidden, h->n_head);
    if (h->conv_kernel % 2 == 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: conv_kernel_size = %d is even (odd "
                         "kernels keep frames centred)", name, h->conv_kernel);
    return ZY_STATUS_OK;
}

zy_status zy__speech_write_config(const speech_hparams *h, zy_config *c) {
    zy_status st;
    if ((st = zy_config_set_float(c, "attention_dropout", h->attn_dropout)) ||
        (st = zy_config_set_int(c, "conv_kernel_size", h->conv_kernel)) ||
        (st = zy_config_set_string(c, "hidden_act", h->gelu_tanh ? "gelu_new" : "gelu")) ||
        (st = zy_config_set_float(c, "hidden_dropout", h->hidden_dropout)) ||
        (st = zy_config_set_int(c, "hidden_size", h->hidden)) ||
        (st = zy_config_set_float(c, "initializer_range", h->init_range)) ||
        (st = zy_config_set_int(c, "intermediate_size", h->intermediate)) ||
        (st = zy_config_set_float(c, "layer_norm_eps", h->eps)) ||
        (st = zy_config_set_int(c, "max_source_positions", h->max_frames)) ||
        (st = zy_config_set_int(c, "num_attention_heads", h->n_head)) ||
        (st = zy_config_set_int(c, "num_conv_layers", h->n_conv)) ||
        (st = zy_config_set_int(c, "num_hidden_layers", h->n_layer)) ||
        (st = zy_config_set_int(c, "num_mel_bins", h->n_mels)) ||
        (st = zy_config_set_int(c, "pad_token_id", h->blank)))
        return st;
    return zy_config_set_int(c, "vocab_size", h->vocab);
}

zy_status zy__speech_preset(const char *name, zy_config *c) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        const preset *p = &PRESETS[i];
        if (strcmp(p->name, name)) continue;
        // vocab_size: a placeholder the caller replaces with its vocabulary's
        speech_hparams h = {.n_layer = p->L, .n_head = p->H, .hidden = p->C,
                            .intermediate = p->FF, .n_mels = 80, .n_conv = 2,
                            .conv_kernel = 3, .vocab = 32, .max_frames = 6000, .eps = 1e-5f,
                            .hidden_dropout = 0.1f, .init_range = 0.02f};
        const char *arch[] = {zy__speech_arch_names[0]};
        zy_status st = zy_config_set_strings(c, "architectures", arch, 1);
        return st ? st : zy__speech_write_config(&h, c);
    }
    return zy__error(ZY_STATUS_NOT_FOUND, "speech_ctc: unknown preset '%s'", name);
}
