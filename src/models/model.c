// The generic model object (model.h): creation from a config through the registry, the
// flat parameter array laid out by the implementation's tensor table, model directories
// (config.json + model.safetensors, both driven by the table), size and finiteness checks,
// freezing. A LoRA adapter (lora*.c) attaches between declaring the table and allocating
// the parameters; an adapter directory (adapter_config.json) loads as base + adapter; a
// directory loaded for decoding only goes straight into its typed copies
// (zy_model_load_decoder).
// Not here: sessions (session.c), any architecture (gpt*.c).
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "kernels/wgemv.h"
#include "zhuyi/io.h"
#include "zhuyi/lora.h"
#include "models/lora_internal.h"
#include "models/model_internal.h"

void zy_model_free(zy_model *m) {
    if (!m) return;
    if (m->ops && m->ops->free) m->ops->free(m);
    zy_tensor_table_free(m->table);
    zy_free(m->params);
    zy_free(m->kept);
    zy_free(m->trainable);
    zy_free(m->missing);
    zy_free(m->ptrs);
    zy_free(m->unused);
    zy__lora_free(m->lora);
    zy__model_free_typed(m);
    zy_free(m);
}

// Creating a model is two steps, so a model directory is checked between them: declare
// (the implementation reads the config and declares its tensor table: small, whatever the
// sizes) and allocate (the flat parameters the table lays out). Between them the file is
// checked against the table (zy_model_load) and the size against the machine.
zy_status zy__model_declare(zy_model **out, const zy_config *config) {
    *out = NULL;
    const zy_model_ops *ops;
    zy_status st = zy__model_find_ops(config, &ops);
    if (st) return st;
    zy_model *m = zy_calloc(1, sizeof *m);
    if (!m) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "model: out of memory");
    m->ops = ops;
    if ((st = zy_tensor_table_create(&m->table))) goto fail;
    zy_model_info info = {.model_type = ops->model_type};
    if ((st = ops->init(m, config, &info))) goto fail;
    info.n_params = zy_tensor_table_floats(m->table);
    if (zy_tensor_table_count(m->table) == 0 || info.n_params == 0) {
        st = zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: the model declares no tensors",
                       zy_config_name(config));
        goto fail;
    }
    m->info = info;
    *out = m;
    return ZY_STATUS_OK;
fail:
    zy_model_free(m);
    return st;
}

// Parameters that cannot fit in this machine's memory are refused before anything is
// allocated, naming the sizes the config gave and the largest tensor with its fields.
static zy_status check_size(const zy_model *m, const char *name) {
    const zy_model_info *in = &m->info;
    size_t bytes;
    if (zy__mul_size(in->n_params, sizeof(float), &bytes) && !zy__exceeds_memory(bytes))
        return ZY_STATUS_OK;
    const zy_tensor *big = zy_tensor_table_at(m->table, 0);
    for (int i = 1; i < zy_tensor_table_count(m->table); i++) {
        const zy_tensor *e = zy_tensor_table_at(m->table, i);
        if (e->count > big->count) big = e;
    }
    return zy__error(ZY_STATUS_OUT_OF_MEMORY,
                     "%s: the model has %zu parameters (%.1f GiB as float32), more than this "
                     "machine's %.1f GiB of memory; from n_layer = %d, d_model = %d, vocab_size "
                     "= %d, max_positions = %d (largest tensor '%s'%s%s%s)",
                     name, in->n_params, ZY_GIB((double)in->n_params * sizeof(float)),
                     ZY_GIB(zy__physical_memory()), in->n_layer, in->d_model, in->vocab_size,
                     in->max_positions, big->name, big->dims ? ": (" : "",
                     big->dims ? big->dims : "", big->dims ? ")" : "");
}

// The per-tensor tables (every tensor trainable) and `floats` zeroed floats at *values.
static zy_status allocate_tables(zy_model *m, float **values, size_t floats) {
    int nt = zy_tensor_table_count(m->table);
    *values = zy_calloc(floats, sizeof **values);
    m->trainable = zy_calloc((size_t)nt, sizeof *m->trainable);
    m->missing = zy_calloc((size_t)nt, sizeof *m->missing);
    m->ptrs = zy_calloc((size_t)nt, sizeof *m->ptrs);
    if (!*values || !m->trainable || !m->missing || !m->ptrs)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "model: out of memory for %zu parameters "
                         "(%.1f MiB)", floats, (double)floats * 4 / (1 << 20));
    for (int i = 0; i < nt; i++) m->trainable[i] = true;
    return ZY_STATUS_OK;
}

zy_status zy__model_allocate(zy_model *m, const char *name) {
    zy_status st = check_size(m, name);
    if (!st) st = allocate_tables(m, &m->params, m->info.n_params);
    for (int i = 0; !st && i < zy_tensor_table_count(m->table); i++)
        m->ptrs[i] = m->params + zy_tensor_table_at(m->table, i)->offset;
    return st;
}

zy_status zy__model_allocate_typed(zy_model *m, zy_wtype t, const char *name) {
    if (!m->info.typed_decode_only || t == ZY_WTYPE_F32 || !zy_wtype_name(t))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: a model that only decodes needs a "
                         "weight type other than f32 and an architecture whose decoding reads "
                         "only the typed copies", name);
    const int nt = zy_tensor_table_count(m->table);
    const size_t typed = zy__model_lay_out_typed(m, t, NULL, NULL);
    const size_t kept = zy__model_point_kept(m, NULL);
    if (zy__exceeds_memory(typed + kept * sizeof(float)))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: the %s weights take %.1f GiB, more than "
                         "this machine's memory", name, zy_wtype_name(t),
                         ZY_GIB((double)typed + (double)kept * sizeof(float)));
    zy_status st = allocate_tables(m, &m->kept, kept);
    if (st) return st;
    m->typed = zy_calloc((size_t)nt, sizeof *m->typed);
    m->typed_data = zy_alloc(typed);
    if (!m->typed || !m->typed_data)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for the %s weights "
                         "(%.1f MiB)", name, zy_wtype_name(t), (double)typed / (1 << 20));
    zy__model_lay_out_typed(m, t, m->typed, m->typed_data);
    zy__model_point_kept(m, m->kept);
    m->wtype = t;
    return ZY_STATUS_OK;
}

zy_status zy_model_create(zy_model **out, const zy_config *config) {
    *out = NULL;
    zy_model *m;
    zy_status st = zy__model_declare(&m, config);
    if (st) return st;
    if ((st = zy__model_allocate(m, zy_config_name(config)))) {
        zy_model_free(m);
        return st;
    }
    *out = m;
    return ZY_STATUS_OK;
}

// dir + "/" + name into buf, or an error naming the directory.
static zy_status join(char *buf, size_t cap, const char *dir, const char *name) {
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "model directory path too long: %s", dir);
    return ZY_STATUS_OK;
}

// Says what a load read and what it did not: a WARN per table entry the file lacked
// (initialised), one INFO line for the file's tensors the table does not read.
void zy__model_report_load(const zy_model *m, const char *dir) {
    for (int i = 0; i < zy_tensor_table_count(m->table); i++) {
        if (!m->missing[i]) continue;
        const char *name = zy_tensor_table_at(m->table, i)->name;
        bool other = false; // another head's in the file (convert), now unused
        for (int k = 0; k < m->n_unused && !other; k++) other = !strcmp(m->unused[k], name);
        zy__log(ZY_LOG_WARN, "%s/model.safetensors: tensor '%s' %s: initialised", dir, name,
                other ? "is another head's in the file (other labels or another architecture)"
                      : "is not in the file");
    }
    if (m->n_unused)
        zy__log(ZY_LOG_INFO, "%s/model.safetensors: %d tensor%s of the file not used by %s "
                "(first: '%s')", dir, m->n_unused, m->n_unused == 1 ? "" : "s",
                m->info.architecture ? m->info.architecture : m->ops->model_type,
                m->unused[0]);
}

// *out = F16 or BF16 when every 2-D tensor of the safetensors file at path has that dtype,
// else F32 (zy_model_file_weight_type).
static zy_status file_weight_type(const char *path, zy_wtype *out) {
    zy_safetensors *st;
    zy_status s = zy_safetensors_open(&st, path);
    if (s) return s;
    int f16 = 0, bf16 = 0, other = 0;
    for (int i = 0; i < zy_safetensors_count(st); i++) {
        const zy_tensor_info *t = zy_safetensors_info(st, i);
        if (t->ndim != 2) continue;
        f16 += t->dtype == ZY_DTYPE_F16;
        bf16 += t->dtype == ZY_DTYPE_BF16;
        other += t->dtype != ZY_DTYPE_F16 && t->dtype != ZY_DTYPE_BF16;
    }
    zy_safetensors_free(st);
    *out = other || (f16 && bf16) ? ZY_WTYPE_F32
           : f16                  ? ZY_WTYPE_F16
           : bf16                 ? ZY_WTYPE_BF16
                                  : ZY_WTYPE_F32;
    return ZY_STATUS_OK;
}

// Whether dir/config.json names another architecture ("architectures"[0]) than cfg: the
// checkpoint's heads then do another job than cfg's heads of the same names (a token
// classifier's `classifier` is no sequence classifier's). Unknown (no file or no field
// on either side) counts as the same.
static bool other_architecture(const char *dir, const zy_config *cfg) {
    char path[4096];
    zy_config *src;
    const char *was = NULL, *now = NULL;
    if (join(path, sizeof path, dir, "config.json") || zy_config_load(&src, path)) return false;
    bool other = zy_config_array_count(src, "architectures") > 0 &&
                 zy_config_array_count(cfg, "architectures") > 0 &&
                 !zy_config_get_string_at(src, "architectures", 0, &was) &&
                 !zy_config_get_string_at(cfg, "architectures", 0, &now) && strcmp(was, now);
    zy_config_free(src);
    return other;
}

// dir/model.safetensors read through the table cfg declares (see zy_model_load), with a
// new adapter lc on it (NULL: none), its weights read from adapter (NULL: none). convert:
// into another head (zy_model_load_with_config): a head of other labels, or any head when
// the checkpoint is of another architecture, is new.
zy_status zy__model_load(zy_model **out, const char *dir, const zy_config *cfg,
                         const zy_lora_config *lc, const char *adapter, bool convert) {
    *out = NULL;
    char path[4096];
    zy_model *m;
    zy_status st = zy__model_declare(&m, cfg);
    if (st) return st;
    zy_tensor_table_set_replace_mismatched_heads(m->table, convert);
    zy_tensor_table_set_new_heads(m->table, convert && other_architecture(dir, cfg));
    // The files must match the table, and the table fit in memory, before the parameters
    // are allocated: a config.json that disagrees with its weights costs nothing.
    if ((lc && (st = zy__lora_attach(m, lc, dir))) ||
        (st = join(path, sizeof path, dir, "model.safetensors")) ||
        (st = zy_tensor_table_check(m->table, path)) ||
        (adapter && (st = zy__lora_check_weights(m, adapter))) ||
        (st = zy__model_allocate(m, zy_config_name(cfg))) ||
        (st = zy_tensor_table_load(m->table, path, m->params, 0, m->missing)) ||
        (st = zy_tensor_table_unused(m->table, path, &m->unused, &m->n_unused)) ||
        (st = file_weight_type(path, &m->file_wtype))) {
        zy_model_free(m);
        return st;
    }
    if ((lc && (st = zy__lora_init(m))) || (adapter && (st = zy__lora_read_weights(m, adapter)))) {
        zy_model_free(m);
        return st;
    }
    *out = m;
    return ZY_STATUS_OK;
}

zy_status zy_model_load(zy_model **out, const char *dir) {
    *out = NULL;
    if (zy__lora_is_adapter_dir(dir)) return zy__lora_load(out, NULL, dir, NULL);
    char path[4096];
    zy_config *cfg;
    zy_status st = join(path, sizeof path, dir, "config.json");
    if (st || (st = zy_config_load(&cfg, path))) return st;
    st = zy__model_load(out, dir, cfg, NULL, NULL, false);
    if (!st) zy__model_report_load(*out, dir);
    zy_config_free(cfg);
    return st;
}

zy_status zy_model_load_with_config(zy_model **out, const char *dir,
                                    const zy_config *config) {
    *out = NULL;
    if (!config)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "load %s: no config given", dir);
    if (zy__lora_is_adapter_dir(dir)) return zy__lora_load(out, NULL, dir, config);
    zy_status st = zy__model_load(out, dir, config, NULL, NULL, true);
    if (!st) zy__model_report_load(*out, dir);
    return st;
}

// dir read straight into the typed copies of a typed_decode_only model (wtype resolved
// against the file's type): *out, or NULL with *fallback when the model or the type
// needs the fp32 weights loaded first.
static zy_status load_typed_only(zy_model **out, const char *dir, int wtype,
                                 bool *fallback) {
    *out = NULL;
    *fallback = true;
    char path[4096];
    zy_config *cfg;
    zy_model *m = NULL;
    zy_wtype file_type = ZY_WTYPE_F32;
    zy_status st = join(path, sizeof path, dir, "config.json");
    if (st || (st = zy_config_load(&cfg, path))) return st;
    if (!(st = zy__model_declare(&m, cfg)) && !(st = join(path, sizeof path, dir,
                                                          "model.safetensors")) &&
        !(st = zy_tensor_table_check(m->table, path)) &&
        !(st = file_weight_type(path, &file_type))) {
        const zy_wtype t = wtype < 0 ? file_type : (zy_wtype)wtype;
        *fallback = t == ZY_WTYPE_F32 || !m->info.typed_decode_only;
        if (!*fallback && !(st = zy__model_allocate_typed(m, t, zy_config_name(cfg))) &&
            !(st = zy_tensor_table_load_each(m->table, path, m->ptrs, zy__model_put_typed, m,
                                             0, m->missing)))
            st = zy_tensor_table_unused(m->table, path, &m->unused, &m->n_unused);
        m->file_wtype = file_type;
    }
    zy_config_free(cfg);
    if (st || *fallback) {
        zy_model_free(m);
        return st;
    }
    zy__model_report_load(m, dir);
    *out = m;
    return ZY_STATUS_OK;
}

zy_status zy_model_load_decoder(zy_model **out, const char *dir, int wtype) {
    *out = NULL;
    if (wtype >= (int)ZY_WTYPE_COUNT)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "load %s: weight type %d is not one of "
                         "f32, f16, bf16, q8_0, q4_0", dir, wtype);
    bool fallback = true;
    zy_status st = zy__lora_is_adapter_dir(dir) ? ZY_STATUS_OK
                                                 : load_typed_only(out, dir, wtype, &fallback);
    if (st || !fallback) return st;
    zy_model *m;
    if ((st = zy_model_load(&m, dir))) return st;
    const zy_wtype t = wtype < 0 ? zy_model_file_weight_type(m) : (zy_wtype)wtype;
    if ((zy_model_has_adapter(m) && (st = zy_model_merge_adapter(m))) ||
        (st = zy_model_set_weight_type(m, t)) ||
        (t != ZY_WTYPE_F32 && m->info.typed_decode_only && (st = zy_model_drop_fp32(m)))) {
        zy_model_free(m);
        return st;
    }
    *out = m;
    return ZY_STATUS_OK;
}

int zy_model_unused_tensors(const zy_model *m, const char **names, int max) {
    for (int i = 0; i < m->n_unused && i < max; i++) names[i] = m->unused[i];
    return m->n_unused;
}

void zy_model_init_missing(zy_model *m, uint64_t seed) {
    for (int i = 0; m->params && i < zy_tensor_table_count(m->table); i++)
        if (m->missing[i]) zy_tensor_table_init_entry(m->table, m->params, i, seed);
}

zy_status zy_model_get_config(const zy_model *m, zy_config **out) {
    const char *arch[1] = {m->info.architecture};
    zy_status st = zy_config_create(out, "config.json");
    if (!st) st = zy_config_set_string(*out, "model_type", m->ops->model_type);
    if (!st && arch[0]) st = zy_config_set_strings(*out, "architectures", arch, 1);
    if (!st) st = m->ops->write_config(m, *out);
    if (st) {
        zy_config_free(*out);
        *out = NULL;
    }
    return st;
}

static const char *const PLAIN_FILES[] = {"config.json", "model.safetensors"};
static const char *const ADAPTER_FILES[] = {"adapter_config.json", "adapter_model.safetensors",
                                            "config.json"};

int zy_model_file_names(const zy_model *m, const char **names, int max) {
    const char *const *f = m->lora ? ADAPTER_FILES : PLAIN_FILES;
    int n = m->lora ? 3 : 2;
    for (int i = 0; i < n && i < max; i++) names[i] = f[i];
    return n;
}

zy_status zy_model_save(const zy_model *m, const char *dir) {
    return zy_model_save_dtype(m, dir, ZY_DTYPE_F32);
}

zy_status zy_model_save_dtype(const zy_model *m, const char *dir, zy_dtype dtype) {
    if (m->lora && dtype != ZY_DTYPE_F32)
        return zy__error(ZY_STATUS_UNSUPPORTED, "save %s: a model with a LoRA adapter is saved "
                         "as its adapter (F32); merge it to save the model in %s", dir,
                         zy_dtype_name(dtype) ? zy_dtype_name(dtype) : "another dtype");
    if (m->lora) return zy_model_save_adapter(m, dir);
    char path[4096];
    zy_status st = join(path, sizeof path, dir, "model.safetensors");
    if (st || (st = zy__model_need_fp32(m, path))) return st;
    if (dtype != ZY_DTYPE_F32 && dtype != ZY_DTYPE_F16 && dtype != ZY_DTYPE_BF16)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "save %s: model.safetensors holds F32, F16 "
                         "or BF16, not %s", path, zy_dtype_name(dtype) ? zy_dtype_name(dtype)
                         : "an unknown dtype");
    if ((st = zy_mkdirs(dir))) return st;
    if ((st = zy_tensor_table_save(m->table, path, m->params, dtype))) return st;
    zy_config *cfg;
    if ((st = zy_model_get_config(m, &cfg))) return st;
    if (!(st = join(path, sizeof path, dir, "config.json"))) st = zy_config_save(cfg, path);
    zy_config_free(cfg);
    // An adapter saved here before would make the directory load as that adapter.
    for (int i = 0; !st && i < 2; i++)
        if (!(st = join(path, sizeof path, dir, ADAPTER_FILES[i])) && unlink(path) &&
            errno != ENOENT)
            st = zy__error(ZY_STATUS_IO, "cannot remove %s: %s", path, strerror(errno));
    return st;
}

const zy_model_info *zy_model_get_info(const zy_model *m) { return &m->info; }

void zy_model_init_weights(zy_model *m, uint64_t seed) {
    if (m->params) zy_tensor_table_init(m->table, m->params, seed);
}

zy_status zy_model_set_dropout(zy_model *m, float p) {
    if (!(p >= 0.0f && p < 1.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "dropout %g is not in [0, 1)", (double)p);
    if (!m->ops->set_dropout) {
        if (p == 0.0f) return ZY_STATUS_OK;
        return zy__error(ZY_STATUS_UNSUPPORTED, "model_type '%s' has no dropout",
                         m->ops->model_type);
    }
    return m->ops->set_dropout(m, p, &m->info);
}

double zy_model_train_flops(const zy_model *m, int B, int T) {
    return m->ops->train_flops ? m->ops->train_flops(m, B, T) : 0.0;
}

const zy_tensor_table *zy_model_tensors(const zy_model *m) { return m->table; }

float *zy_model_params(zy_model *m, size_t *n) {
    if (n) *n = m->params ? m->info.n_params : 0;
    return m->params;
}

const float *zy_model_tensor_data(const zy_model *m, int tensor) {
    return tensor >= 0 && tensor < zy_tensor_table_count(m->table) ? m->ptrs[tensor] : NULL;
}

bool zy_model_tensor_missing(const zy_model *m, int tensor) {
    return tensor >= 0 && tensor < zy_tensor_table_count(m->table) && m->missing[tensor];
}

// The first of x[0..n) that is NaN or infinite, or n. The test is on the exponent bits,
// integer arithmetic that vectorises: a scan of every weight costs about a memory read.
static size_t first_nonfinite(const float *x, size_t n) {
    for (size_t i0 = 0; i0 < n; i0 += 4096) {
        size_t i1 = ZY_MIN(n, i0 + 4096);
        uint32_t bad = 0;
        for (size_t i = i0; i < i1; i++) {
            uint32_t u;
            memcpy(&u, x + i, sizeof u);
            bad |= (u & 0x7f800000u) == 0x7f800000u;
        }
        for (size_t i = i0; bad && i < i1; i++)
            if (!isfinite(x[i])) return i;
    }
    return n;
}

// The first non-finite value of typed matrix w, decoded row by row into buf (w->cols):
// its element index and value, and in *bad how many there are; w->rows * w->cols if none.
static size_t first_nonfinite_typed(const zy_wmatrix *w, float *buf, float *value,
                                    size_t *bad) {
    size_t first = (size_t)w->rows * (size_t)w->cols;
    *bad = 0;
    for (int r = 0; r < w->rows; r++) {
        zy__wdecode_row(w->type, (const uint8_t *)w->data + (size_t)r * w->row_bytes, buf,
                        (size_t)w->cols);
        size_t k = first_nonfinite(buf, (size_t)w->cols);
        if (k == (size_t)w->cols) continue;
        if (!*bad) first = (size_t)r * (size_t)w->cols + k, *value = buf[k];
        for (size_t j = k; j < (size_t)w->cols; j++) *bad += !isfinite(buf[j]);
    }
    return first;
}

zy_status zy_model_check_finite(const zy_model *m) {
    zy_status st = ZY_STATUS_OK;
    for (int i = 0; !st && i < zy_tensor_table_count(m->table); i++) {
        const zy_tensor *e = zy_tensor_table_at(m->table, i);
        const float *x = m->ptrs[i];
        const zy_wmatrix *w = x ? NULL : zy_model_tensor_typed(m, i);
        size_t k = e->count, bad = 0;
        float v = 0.0f;
        if (x && (k = first_nonfinite(x, e->count)) < e->count) { // fp32 values
            v = x[k];
            for (size_t j = k; j < e->count; j++) bad += !isfinite(x[j]);
        } else if (w) { // only the typed copy (zy_model_drop_fp32): its decoded values
            float *buf = zy_alloc((size_t)w->cols * sizeof *buf);
            if (!buf)
                return zy__error(ZY_STATUS_OUT_OF_MEMORY, "checking the weights: out of memory");
            k = first_nonfinite_typed(w, buf, &v, &bad);
            zy_free(buf);
        }
        if (bad)
            st = zy__error(ZY_STATUS_INVALID_ARGUMENT,
                           "the model's weights are not finite: tensor '%s'%s%s holds %s at "
                           "element %zu (%zu of its %zu values are NaN or infinite)", e->name,
                           w ? ", as " : "", w ? zy_wtype_name(w->type) : "",
                           isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf", k, bad, e->count);
    }
    return st;
}

zy_status zy_model_set_trainable(zy_model *m, int tensor, bool trainable) {
    int nt = zy_tensor_table_count(m->table);
    if (tensor < -1 || tensor >= nt)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "model: tensor %d of %d", tensor, nt);
    for (int i = tensor < 0 ? 0 : tensor; i < (tensor < 0 ? nt : tensor + 1); i++)
        m->trainable[i] = trainable;
    return ZY_STATUS_OK;
}

bool zy_model_is_trainable(const zy_model *m, int tensor) {
    return tensor >= 0 && tensor < zy_tensor_table_count(m->table) && m->trainable[tensor];
}

bool zy_model_tensor_is_head(const zy_model *m, int tensor) {
    const zy_tensor *e = zy_tensor_table_at(m->table, tensor);
    return e && e->head;
}

zy_status zy_model_freeze_body(zy_model *m) {
    int nt = zy_tensor_table_count(m->table), heads = 0;
    for (int i = 0; i < nt; i++) heads += zy_tensor_table_at(m->table, i)->head;
    if (!heads)
        return zy__error(ZY_STATUS_UNSUPPORTED, "freeze body: %s has no task head to train "
                         "alone (a sequence/token classifier or question-answering model "
                         "has one)", m->info.architecture ? m->info.architecture
                                                          : m->ops->model_type);
    for (int i = 0; i < nt; i++) m->trainable[i] = zy_tensor_table_at(m->table, i)->head;
    return ZY_STATUS_OK;
}

size_t zy_model_trainable_floats(const zy_model *m) {
    size_t n = 0;
    for (int i = 0; i < zy_tensor_table_count(m->table); i++)
        if (m->trainable[i]) n += zy_tensor_table_at(m->table, i)->count;
    return n;
}

zy_tensor_table *zy_model_table(zy_model *m) { return m->table; }
void zy_model_set_impl(zy_model *m, void *impl) { m->impl = impl; }
void *zy_model_impl(const zy_model *m) { return m->impl; }
const zy_model_ops *zy_model_get_ops(const zy_model *m) { return m->ops; }
