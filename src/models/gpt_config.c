// GPT configuration: presets, validation, and config.json in Hugging Face GPT-2 form.
//
// config.json fields READ: model_type (must be "gpt2"), n_layer, n_head, n_embd,
// vocab_size (required, positive integers), n_positions (or n_ctx; required),
// layer_norm_epsilon (default 1e-5), resid_pdrop (default 0.1 as HF; embd_pdrop and
// attn_pdrop must equal it if present, since zhuyi has one dropout value),
// activation_function (if present "gelu_new" or "gelu_pytorch_tanh"), n_inner (if present
// and not null, must be 4·n_embd), scale_attn_by_inverse_layer_idx and
// reorder_and_upcast_attn (if present must be false). Everything else is ignored.
// Fields WRITTEN: the GPT2LMHeadModel set HF writes (see config_to_json below).
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "zhuyi/gpt.h"
#include "zhuyi/io.h"

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

zy_status zy_gpt_config_preset(const char *name, zy_gpt_config *out) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++) {
        const preset *p = &PRESETS[i];
        if (strcmp(p->name, name)) continue;
        memset(out, 0, sizeof *out);
        out->n_layer = p->L;
        out->n_head = p->H;
        out->n_embd = p->C;
        out->n_positions = p->P;
        out->vocab_size = p->V;
        out->layer_norm_epsilon = 1e-5f;
        out->dropout = 0.0f;
        return ZY_STATUS_OK;
    }
    return zy__error(ZY_STATUS_NOT_FOUND,
                     "gpt: unknown preset '%s' (gpt2-124m, gpt2-medium, gpt2-large, gpt2-xl, "
                     "gpt-mini, gpt-micro, gpt-nano)",
                     name);
}

zy_status zy_gpt_config_validate(const zy_gpt_config *c) {
    const struct {
        const char *name;
        int v;
    } f[] = {{"n_layer", c->n_layer},
             {"n_head", c->n_head},
             {"n_embd", c->n_embd},
             {"n_positions", c->n_positions},
             {"vocab_size", c->vocab_size}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v <= 0)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gpt config: %s = %d must be positive",
                             f[i].name, f[i].v);
    if (c->n_embd % c->n_head)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "gpt config: n_embd = %d is not a multiple of n_head = %d", c->n_embd,
                         c->n_head);
    // Sizes stay far from int overflow in the (B*T, V) and (4C, C) index arithmetic.
    if (c->n_embd > 65536 || c->n_layer > 4096 || c->n_positions > (1 << 20) ||
        c->vocab_size > (1 << 24))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "gpt config: sizes too large (n_embd %d, n_layer %d, n_positions %d, "
                         "vocab_size %d)",
                         c->n_embd, c->n_layer, c->n_positions, c->vocab_size);
    if (!(c->layer_norm_epsilon > 0.0f && isfinite(c->layer_norm_epsilon)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "gpt config: layer_norm_epsilon = %g must be positive",
                         (double)c->layer_norm_epsilon);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gpt config: dropout = %g not in [0, 1)",
                         (double)c->dropout);
    return ZY_STATUS_OK;
}

// ---- config.json ----------------------------------------------------------------------

static char *read_text(const char *path, zy_status *st) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *st = zy__error(ZY_STATUS_NOT_FOUND, "%s: cannot open (missing config.json?)", path);
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 8192;
            if (cap > (1u << 24)) { // 16 MB: no real config.json is anywhere near that
                *st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: too large for a config", path);
                goto fail;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                *st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        *st = zy__error(ZY_STATUS_IO, "%s: read error", path);
        goto fail;
    }
    fclose(f);
    buf[n] = 0;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

static zy_status get_int(const cJSON *j, const char *path, const char *key, int *out,
                         bool required) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v) {
        if (!required) return ZY_STATUS_OK;
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field '%s' missing", path, key);
    }
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (!cJSON_IsNumber(v) || d != floor(d) || d <= 0 || d > 1e9)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field '%s' must be a positive integer",
                         path, key);
    *out = (int)d;
    return ZY_STATUS_OK;
}

static zy_status get_float(const cJSON *j, const char *path, const char *key, float *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) return ZY_STATUS_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field '%s' must be a non-negative number",
                         path, key);
    *out = (float)v->valuedouble;
    return ZY_STATUS_OK;
}

static zy_status parse_config(const cJSON *j, const char *path, zy_gpt_config *c) {
    zy_status st;
    if (!cJSON_IsObject(j))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a JSON object", path);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
    if (!cJSON_IsString(mt))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'model_type' missing", path);
    if (strcmp(mt->valuestring, "gpt2"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: model_type '%s' is not \"gpt2\"", path,
                         mt->valuestring);
    memset(c, 0, sizeof *c);
    c->layer_norm_epsilon = 1e-5f;
    c->dropout = 0.1f; // HF's default for every *_pdrop
    if ((st = get_int(j, path, "n_layer", &c->n_layer, true))) return st;
    if ((st = get_int(j, path, "n_head", &c->n_head, true))) return st;
    if ((st = get_int(j, path, "n_embd", &c->n_embd, true))) return st;
    if ((st = get_int(j, path, "vocab_size", &c->vocab_size, true))) return st;
    bool has_pos = cJSON_GetObjectItemCaseSensitive(j, "n_positions") != NULL;
    if ((st = get_int(j, path, has_pos ? "n_positions" : "n_ctx", &c->n_positions, true)))
        return st;
    if ((st = get_float(j, path, "layer_norm_epsilon", &c->layer_norm_epsilon))) return st;
    if ((st = get_float(j, path, "resid_pdrop", &c->dropout))) return st;
    const char *drops[] = {"embd_pdrop", "attn_pdrop"};
    for (int i = 0; i < 2; i++) {
        float p = c->dropout;
        if ((st = get_float(j, path, drops[i], &p))) return st;
        if (p != c->dropout)
            return zy__error(ZY_STATUS_UNSUPPORTED,
                             "%s: %s = %g differs from resid_pdrop = %g (zhuyi uses one "
                             "dropout value)",
                             path, drops[i], (double)p, (double)c->dropout);
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "activation_function");
    if (act && (!cJSON_IsString(act) || (strcmp(act->valuestring, "gelu_new") &&
                                         strcmp(act->valuestring, "gelu_pytorch_tanh"))))
        return zy__error(ZY_STATUS_UNSUPPORTED,
                         "%s: activation_function must be \"gelu_new\" (GELU tanh)", path);
    const cJSON *inner = cJSON_GetObjectItemCaseSensitive(j, "n_inner");
    if (inner && !cJSON_IsNull(inner) &&
        (!cJSON_IsNumber(inner) || inner->valuedouble != 4.0 * c->n_embd))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: n_inner must be null or 4 * n_embd = %d",
                         path, 4 * c->n_embd);
    const char *flags[] = {"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"};
    for (int i = 0; i < 2; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, flags[i]);
        if (f && !cJSON_IsFalse(f))
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: %s must be false", path, flags[i]);
    }
    const cJSON *scale = cJSON_GetObjectItemCaseSensitive(j, "scale_attn_weights");
    if (scale && !cJSON_IsTrue(scale))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: scale_attn_weights must be true", path);
    st = zy_gpt_config_validate(c);
    if (st) {
        char msg[256]; // copied: the message buffer is also zy__error's destination
        snprintf(msg, sizeof msg, "%s", zy_last_error());
        return zy__error(st, "%s: %s", path, msg);
    }
    return ZY_STATUS_OK;
}

zy_status zy_gpt_config_load(const char *path, zy_gpt_config *out) {
    zy_status st = ZY_STATUS_OK;
    char *text = read_text(path, &st);
    if (!text) return st;
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j) return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not valid JSON", path);
    zy_gpt_config c;
    st = parse_config(j, path, &c);
    cJSON_Delete(j);
    if (st == ZY_STATUS_OK) *out = c;
    return st;
}

// The fields GPT2LMHeadModel.save_pretrained writes (bos/eos only for the GPT-2 vocab,
// where 50256 is <|endoftext|>; other tokenizers name their own end-of-text).
// A float as the shortest decimal that reads back to it (0.1f is written "0.1", not
// "0.100000001490116").
static double short_decimal(float x) {
    char buf[32];
    for (int prec = 6; prec < 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)x);
        if (strtof(buf, NULL) == x) break;
    }
    return strtod(buf, NULL);
}

static cJSON *config_to_json(const zy_gpt_config *c) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON *arch = cJSON_AddArrayToObject(j, "architectures");
    if (arch) cJSON_AddItemToArray(arch, cJSON_CreateString("GPT2LMHeadModel"));
    cJSON_AddStringToObject(j, "activation_function", "gelu_new");
    cJSON_AddNumberToObject(j, "attn_pdrop", short_decimal(c->dropout));
    if (c->vocab_size == 50257) {
        cJSON_AddNumberToObject(j, "bos_token_id", 50256);
        cJSON_AddNumberToObject(j, "eos_token_id", 50256);
    }
    cJSON_AddNumberToObject(j, "embd_pdrop", short_decimal(c->dropout));
    cJSON_AddNumberToObject(j, "initializer_range", 0.02);
    cJSON_AddNumberToObject(j, "layer_norm_epsilon", short_decimal(c->layer_norm_epsilon));
    cJSON_AddStringToObject(j, "model_type", "gpt2");
    cJSON_AddNumberToObject(j, "n_ctx", c->n_positions);
    cJSON_AddNumberToObject(j, "n_embd", c->n_embd);
    cJSON_AddNumberToObject(j, "n_head", c->n_head);
    cJSON_AddNullToObject(j, "n_inner");
    cJSON_AddNumberToObject(j, "n_layer", c->n_layer);
    cJSON_AddNumberToObject(j, "n_positions", c->n_positions);
    cJSON_AddBoolToObject(j, "reorder_and_upcast_attn", false);
    cJSON_AddNumberToObject(j, "resid_pdrop", short_decimal(c->dropout));
    cJSON_AddBoolToObject(j, "scale_attn_by_inverse_layer_idx", false);
    cJSON_AddBoolToObject(j, "scale_attn_weights", true);
    cJSON_AddBoolToObject(j, "use_cache", true);
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab_size);
    return j;
}

// cJSON indents with tabs and writes "key":\tvalue; Hugging Face files use two spaces and
// "key": value. Raw tabs occur nowhere else (cJSON escapes them inside strings).
static char *hf_style(const char *text) {
    size_t n = strlen(text);
    char *out = malloc(2 * n + 2); // a tab becomes at most two characters
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\t' && i > 0 && text[i - 1] == ':') {
            out[k++] = ' ';
        } else if (text[i] == '\t') {
            out[k++] = ' ';
            out[k++] = ' ';
        } else {
            out[k++] = text[i];
        }
    }
    out[k++] = '\n';
    out[k] = 0;
    return out;
}

zy_status zy_gpt_config_save(const char *path, const zy_gpt_config *c) {
    zy_status st = zy_gpt_config_validate(c);
    if (st) return st;
    cJSON *j = config_to_json(c);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    char *hf = text ? hf_style(text) : NULL;
    free(text);
    if (!hf) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    st = zy_file_write_atomic(path, hf, strlen(hf));
    free(hf);
    return st;
}
