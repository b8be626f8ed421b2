// LoRA adapter directories (lora.h, docs/FORMATS.md), in PEFT's layout:
//   adapter_config.json        LoraConfig's fields (peft_type "LORA", r, lora_alpha, ...)
//   adapter_model.safetensors  base_model.model.<module>.lora_A.weight (r, in) and
//                              .lora_B.weight (out, r) per adapted module, modules_to_save
//                              under base_model.model.<name>, trained biases (an adapted
//                              module's as <module>.base_layer.bias), F32
//   config.json                the adapted architecture (its labels), zhuyi's own addition
// Reading adapter_config.json: peft_type must be "LORA"; r, lora_alpha, lora_dropout,
// target_modules, bias, use_rslora, modules_to_save, base_model_name_or_path are read
// with PEFT's defaults; a field of a LoRA variant zhuyi does not run (DoRA, rank or alpha
// patterns, layers_to_transform, an init_lora_weights that changed the base) is an error
// naming it; other fields are ignored.
// Reading the weights: every tensor the config implies must be there with its shape (an
// adapter of another base model is named with both shapes); F32/F16/BF16. Loading a base
// with its adapter, and writing both files atomically, are here too; which tensors exist
// is lora.c's.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "models/lora_internal.h"
#include "models/model_internal.h"

#define CONFIG_FILE "adapter_config.json"
#define WEIGHTS_FILE "adapter_model.safetensors"

static zy_status join(char *buf, size_t cap, const char *dir, const char *name) {
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "adapter directory path too long: %s", dir);
    return ZY_STATUS_OK;
}

static bool is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_file(const char *path) { return access(path, F_OK) == 0; }

// ---- adapter_config.json ------------------------------------------------------------------

void zy__lora_file_free(zy__lora_file *f) {
    zy_free(f->targets);
    zy_free(f->modules);
    zy_free(f->base);
    zy_free(f->task_type);
    memset(f, 0, sizeof *f);
}

static zy_status bad(const zy_config *c, const char *key, const char *why) {
    return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field '%s' %s", zy_config_name(c), key, why);
}

// A list of strings joined with commas into *out (NULL when the field is null or absent);
// each item non-empty and without a comma.
static zy_status read_list(const zy_config *c, const char *key, char **out) {
    *out = NULL;
    if (!zy_config_has(c, key)) return ZY_STATUS_OK;
    int n = zy_config_array_count(c, key);
    if (n < 0) return (zy_status)n;
    size_t len = 1;
    for (int i = 0; i < n; i++) {
        const char *s;
        zy_status st = zy_config_get_string_at(c, key, i, &s);
        if (st) return st;
        if (!*s || strchr(s, ','))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field '%s' item %d ('%s') must be a "
                             "non-empty module name without commas", zy_config_name(c), key, i,
                             s);
        len += strlen(s) + 1;
    }
    char *j = zy_alloc(len);
    if (!j) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", zy_config_name(c));
    j[0] = 0;
    for (int i = 0, k = 0; i < n; i++) {
        const char *s;
        zy_config_get_string_at(c, key, i, &s);
        k += snprintf(j + k, len - (size_t)k, "%s%s", i ? "," : "", s);
    }
    *out = j;
    return ZY_STATUS_OK;
}

// A LoRA variant zhuyi does not run: key must be absent, null, false, or empty.
static zy_status not_used(const zy_config *c, const char *key, const char *what) {
    if (!zy_config_has(c, key)) return ZY_STATUS_OK;
    bool b;
    if (zy_config_get_bool(c, key, &b) == ZY_STATUS_OK && !b) return ZY_STATUS_OK;
    int n = zy_config_object_count(c, key);
    if (n == 0) return ZY_STATUS_OK;
    if (n < 0 && zy_config_array_count(c, key) == 0) return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_UNSUPPORTED, "%s: field '%s': %s is not supported by zhuyi "
                     "(it must be absent, null, false or empty)", zy_config_name(c), key, what);
}

static zy_status optional_string(const zy_config *c, const char *key, char **out) {
    const char *s;
    *out = NULL;
    if (!zy_config_has(c, key)) return ZY_STATUS_OK;
    zy_status st = zy_config_get_string(c, key, &s);
    if (st) return st;
    if (!(*out = zy__strdup(s)))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", zy_config_name(c));
    return ZY_STATUS_OK;
}

static zy_status read_fields(const zy_config *c, zy__lora_file *f) {
    static const struct {
        const char *key, *what;
    } variants[] = {
        {"use_dora", "DoRA"},
        {"rank_pattern", "a rank per module"},
        {"alpha_pattern", "an alpha per module"},
        {"layers_to_transform", "adapting some layers only"},
        {"layer_replication", "layer replication"},
        {"exclude_modules", "excluding modules"},
        {"lora_bias", "a bias on lora_B"},
        {"target_parameters", "adapting parameters"},
        {"trainable_token_indices", "trainable tokens"},
        {"use_qalora", "QALoRA"},
        {"alora_invocation_tokens", "activated LoRA"},
        {"use_bdlora", "block-diagonal LoRA"},
    };
    zy_lora_config *lc = &f->cfg;
    const char *s;
    zy_status st = zy_config_get_string(c, "peft_type", &s);
    if (st) return st;
    if (strcmp(s, "LORA"))
        return bad(c, "peft_type", "must be \"LORA\" (zhuyi reads LoRA adapters only)");
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++)
        if ((st = not_used(c, variants[i].key, variants[i].what))) return st;
    // Initialisations that change the base weights (PiSSA, OLoRA, CorDA, LoftQ): such an
    // adapter fits only the residual base PEFT made, not the base it names.
    if (zy_config_get_string(c, "init_lora_weights", &s) == ZY_STATUS_OK &&
        (!strncmp(s, "pissa", 5) || !strcmp(s, "olora") || !strcmp(s, "corda") ||
         !strcmp(s, "loftq")))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: field 'init_lora_weights' is \"%s\", "
                         "which changes the base model's weights: the adapter fits only "
                         "that changed base (convert it with PEFT first)", zy_config_name(c),
                         s);
    if (zy_config_has(c, "r") && (st = zy_config_get_int(c, "r", 1, 65536, &lc->r))) return st;
    if (zy_config_has(c, "lora_alpha") &&
        (st = zy_config_get_float(c, "lora_alpha", 1e-30, 1e30, &lc->alpha)))
        return st;
    if (zy_config_has(c, "lora_dropout") &&
        (st = zy_config_get_float(c, "lora_dropout", 0.0, 0.9999, &lc->dropout)))
        return st;
    if (zy_config_has(c, "use_rslora") &&
        (st = zy_config_get_bool(c, "use_rslora", &lc->use_rslora)))
        return st;
    if (zy_config_has(c, "fan_in_fan_out") &&
        (st = zy_config_get_bool(c, "fan_in_fan_out", &f->fan_in_fan_out)))
        return st;
    if (zy_config_has(c, "bias")) {
        if ((st = zy_config_get_string(c, "bias", &s))) return st;
        if (!strcmp(s, "none")) lc->bias = ZY_LORA_BIAS_NONE;
        else if (!strcmp(s, "all")) lc->bias = ZY_LORA_BIAS_ALL;
        else if (!strcmp(s, "lora_only")) lc->bias = ZY_LORA_BIAS_LORA_ONLY;
        else return bad(c, "bias", "must be \"none\", \"all\" or \"lora_only\"");
    }
    // target_modules: a list, "all-linear", or null (the model type's default)
    if (zy_config_has(c, "target_modules") &&
        zy_config_get_string(c, "target_modules", &s) == ZY_STATUS_OK) {
        if (strcmp(s, "all-linear"))
            return bad(c, "target_modules", "is a string: a regular expression, which zhuyi "
                       "does not match (give a list of module names, or \"all-linear\")");
        if (!(f->targets = zy__strdup(s)))
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", zy_config_name(c));
    } else if ((st = read_list(c, "target_modules", &f->targets))) {
        return st;
    }
    if (f->targets && !*f->targets) return bad(c, "target_modules", "is an empty list");
    if ((st = read_list(c, "modules_to_save", &f->modules)) ||
        (st = optional_string(c, "base_model_name_or_path", &f->base)) ||
        (st = optional_string(c, "task_type", &f->task_type)))
        return st;
    lc->targets = f->targets;
    lc->modules_to_save = f->modules;
    lc->base_model_name_or_path = f->base;
    return ZY_STATUS_OK;
}

zy_status zy__lora_file_read(const zy_config *c, zy__lora_file *f) {
    memset(f, 0, sizeof *f);
    f->cfg = zy_lora_default_config();
    zy_status st = read_fields(c, f);
    if (st) zy__lora_file_free(f);
    return st;
}

// key = the comma-separated names of s as a list of strings.
static zy_status set_list(zy_config *c, const char *key, const char *s) {
    int n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    char *copy = zy__strdup(s), **items = zy_alloc((size_t)n * sizeof *items);
    zy_status st = ZY_STATUS_OK;
    if (!copy || !items) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", zy_config_name(c));
    } else {
        int k = 0;
        for (char *p = copy, *e; p; p = e ? e + 1 : NULL) {
            if ((e = strchr(p, ','))) *e = 0;
            while (*p == ' ') p++;
            for (size_t j = strlen(p); j && p[j - 1] == ' ';) p[--j] = 0;
            if (*p) items[k++] = p;
        }
        st = zy_config_set_strings(c, key, (const char *const *)items, k);
    }
    zy_free(items);
    zy_free(copy);
    return st;
}

static zy_status write_config(const zy_model *m, const char *path) {
    const zy__lora *l = m->lora;
    zy_config *c;
    zy_status st = zy_config_create(&c, path);
    if (st) return st;
    // target_modules and modules_to_save are lists (PEFT writes its sets as lists)
    st = !strcmp(l->cfg.targets, "all-linear")
             ? zy_config_set_string(c, "target_modules", "all-linear")
             : set_list(c, "target_modules", l->cfg.targets);
    if (!st) st = l->modules ? set_list(c, "modules_to_save", l->modules)
                             : zy_config_set_null(c, "modules_to_save");
    static const char *const nulls[] = {
        "auto_mapping", "corda_config", "eva_config", "exclude_modules", "layer_replication",
        "layers_pattern", "layers_to_transform", "megatron_config", "revision",
        "target_parameters", "trainable_token_indices"};
    static const char *const empty_objects[] = {"alpha_pattern", "loftq_config", "rank_pattern"};
    static const char *const bias_names[] = {"none", "all", "lora_only"};
    for (size_t i = 0; !st && i < sizeof nulls / sizeof nulls[0]; i++)
        st = zy_config_set_null(c, nulls[i]);
    for (size_t i = 0; !st && i < sizeof empty_objects / sizeof empty_objects[0]; i++)
        st = zy_config_set_object_ints(c, empty_objects[i], NULL, NULL, 0);
    bool conv1d = false; // GPT-2's Conv1D weights: PEFT's fan_in_fan_out
    for (int k = 0; k < l->n_sites; k++)
        conv1d |= zy_tensor_table_at(m->table, l->sites[k].weight)->transposed;
    if (!st) st = zy_config_set_string(c, "peft_type", "LORA");
    if (!st) st = zy_config_set_string(c, "task_type", zy__lora_task_type(m));
    if (!st) st = l->base ? zy_config_set_string(c, "base_model_name_or_path", l->base)
                          : zy_config_set_null(c, "base_model_name_or_path");
    if (!st) st = zy_config_set_int(c, "r", l->cfg.r);
    if (!st) st = zy_config_set_float(c, "lora_alpha", l->cfg.alpha);
    if (!st) st = zy_config_set_float(c, "lora_dropout", l->cfg.dropout);
    if (!st) st = zy_config_set_string(c, "bias", bias_names[l->cfg.bias]);
    if (!st) st = zy_config_set_bool(c, "use_rslora", l->cfg.use_rslora);
    if (!st) st = zy_config_set_bool(c, "fan_in_fan_out", conv1d);
    if (!st) st = zy_config_set_bool(c, "inference_mode", true); // as PEFT saves it
    if (!st) st = zy_config_set_bool(c, "init_lora_weights", true);
    if (!st) st = zy_config_set_bool(c, "use_dora", false);
    if (!st) st = zy_config_set_bool(c, "lora_bias", false);
    if (!st) st = zy_config_set_bool(c, "use_qalora", false);
    if (!st) st = zy_config_set_int(c, "qalora_group_size", 16);
    if (!st) st = zy_config_set_string(c, "megatron_core", "megatron.core");
    if (!st) st = zy_config_save(c, path);
    zy_config_free(c);
    return st;
}

// ---- adapter_model.safetensors ------------------------------------------------------------

// The file's tensors as a table of their own (PEFT names, the model's shapes and storage)
// whose flat layout is the model entries src[0..n) one after another.
static zy_status file_table(const zy_model *m, zy_tensor_table **out, int **src, int *count) {
    const zy__lora *l = m->lora;
    int n = 0;
    for (int i = 0; i < l->n_base; i++) n += l->keep[i] != ZY__LORA_KEEP_NONE;
    n += 2 * l->n_sites;
    *out = NULL;
    *src = zy_alloc((size_t)(n ? n : 1) * sizeof **src);
    zy_status st = *src ? zy_tensor_table_create(out)
                        : zy__error(ZY_STATUS_OUT_OF_MEMORY, "adapter: out of memory");
    int k = 0;
    char name[600];
    for (int s = 0; !st && s < l->n_sites; s++)
        for (int j = 0; !st && j < 2; j++) {
            int i = j ? l->sites[s].b : l->sites[s].a;
            const zy_tensor *e = zy_tensor_table_at(m->table, i);
            snprintf(name, sizeof name, "base_model.model.%s", e->name);
            zy_tensor_def d = {.name = name, .ndim = 2, .shape = {e->shape[0], e->shape[1]}};
            (*src)[k++] = i;
            st = zy_tensor_table_add(*out, &d, NULL);
        }
    for (int i = 0; !st && i < l->n_base; i++) {
        if (l->keep[i] == ZY__LORA_KEEP_NONE) continue;
        const zy_tensor *e = zy_tensor_table_at(m->table, i);
        if ((st = zy__lora_keep_name(m, i, name, sizeof name))) break;
        zy_tensor_def d = {.name = name, .ndim = e->ndim, .transposed = e->transposed,
                           .part_dim = e->part_dim, .part_start = e->part_start,
                           .part_total = e->part_total};
        memcpy(d.shape, e->shape, sizeof d.shape);
        (*src)[k++] = i;
        st = zy_tensor_table_add(*out, &d, NULL);
    }
    *count = k;
    if (st) {
        zy_tensor_table_free(*out);
        zy_free(*src);
        *out = NULL;
        *src = NULL;
    }
    return st;
}

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    int k = snprintf(buf, cap, "(");
    for (int i = 0; i < ndim && k > 0 && (size_t)k < cap; i++)
        k += snprintf(buf + k, cap - (size_t)k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k > 0 && (size_t)k < cap) snprintf(buf + k, cap - (size_t)k, ")");
}

// Every tensor of t in the file, of t's shape (an adapter of another base model differs).
static zy_status check_file(const zy_model *m, const zy_tensor_table *t, const char *path) {
    zy_safetensors *st;
    zy_status s = zy_safetensors_open(&st, path);
    if (s) return s;
    for (int i = 0; !s && i < zy_tensor_table_count(t); i++) {
        const zy_tensor *e = zy_tensor_table_at(t, i);
        if (i > 0 && !strcmp(zy_tensor_table_at(t, i - 1)->name, e->name)) continue; // a part
        const zy_tensor_info *info = zy_safetensors_find(st, e->name);
        if (!info) {
            s = zy__error(ZY_STATUS_NOT_FOUND, "%s: tensor '%s' missing (adapter_config.json's "
                          "target_modules, modules_to_save and bias imply it)", path, e->name);
            break;
        }
        int64_t want[ZY_TENSOR_MAX_DIMS];
        memcpy(want, e->shape, sizeof want);
        if (e->part_total) want[e->part_dim] = e->part_total;
        bool same = info->ndim == e->ndim;
        for (int k = 0; same && k < e->ndim; k++) same = info->shape[k] == want[k];
        if (same) continue;
        char got[200], need[96];
        shape_str(got, sizeof got, info->ndim, info->shape);
        shape_str(need, sizeof need, e->ndim, want);
        s = zy__error(ZY_STATUS_SHAPE_MISMATCH, "%s: tensor '%s' has shape %s, but the base "
                      "model (%s, %s) needs %s: an adapter for another base model?", path,
                      e->name, got, m->info.architecture ? m->info.architecture : "",
                      m->lora->base ? m->lora->base : "", need);
    }
    zy_safetensors_free(st);
    return s;
}

zy_status zy__lora_check_weights(const zy_model *m, const char *path) {
    zy_tensor_table *t;
    int *src, n;
    zy_status st = file_table(m, &t, &src, &n);
    if (st) return st;
    st = check_file(m, t, path);
    zy_free(src);
    zy_tensor_table_free(t);
    return st;
}

zy_status zy__lora_read_weights(zy_model *m, const char *path) {
    zy_tensor_table *t;
    int *src, n;
    zy_status st = file_table(m, &t, &src, &n);
    if (st) return st;
    float *buf = NULL;
    char **unused = NULL;
    int n_unused = 0;
    if ((st = check_file(m, t, path)) ||
        (st = zy_tensor_table_unused(t, path, &unused, &n_unused)))
        goto done;
    for (int i = 0; i < n_unused; i++) {
        if (!strstr(unused[i], "lora_")) continue;
        st = zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: tensor '%s' adapts a module the "
                       "adapter_config.json's target_modules ('%s') do not name for %s", path,
                       unused[i], m->lora->cfg.targets,
                       m->info.architecture ? m->info.architecture : m->ops->model_type);
        goto done;
    }
    if (n_unused)
        zy__log(ZY_LOG_WARN, "%s: %d tensor%s not used (first: '%s')", path, n_unused,
                n_unused == 1 ? "" : "s", unused[0]);
    size_t floats = zy_tensor_table_floats(t);
    if (!(buf = zy_alloc((floats ? floats : 1) * sizeof *buf))) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
        goto done;
    }
    if ((st = zy_tensor_table_load(t, path, buf, 0, NULL))) goto done;
    for (int j = 0; j < n; j++) {
        const zy_tensor *e = zy_tensor_table_at(t, j);
        memcpy(m->ptrs[src[j]], buf + e->offset, e->count * sizeof *buf);
        m->missing[src[j]] = false;
    }
done:
    zy_free(unused);
    zy_free(buf);
    zy_free(src);
    zy_tensor_table_free(t);
    return st;
}

static zy_status write_weights(const zy_model *m, const char *path) {
    zy_tensor_table *t;
    int *src, n;
    zy_status st = file_table(m, &t, &src, &n);
    if (st) return st;
    size_t floats = zy_tensor_table_floats(t);
    float *buf = zy_alloc((floats ? floats : 1) * sizeof *buf);
    if (!buf) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    } else {
        for (int j = 0; j < n; j++) {
            const zy_tensor *e = zy_tensor_table_at(t, j);
            memcpy(buf + e->offset, m->ptrs[src[j]], e->count * sizeof *buf);
        }
        st = zy_tensor_table_save(t, path, buf, ZY_DTYPE_F32);
    }
    zy_free(buf);
    zy_free(src);
    zy_tensor_table_free(t);
    return st;
}

zy_status zy_model_save_adapter(const zy_model *m, const char *dir) {
    if (!m->lora)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "save adapter %s: the model has no "
                         "adapter", dir);
    char path[4096];
    zy_status st = zy_mkdirs(dir);
    if (st || (st = join(path, sizeof path, dir, WEIGHTS_FILE)) ||
        (st = write_weights(m, path)) || (st = join(path, sizeof path, dir, CONFIG_FILE)) ||
        (st = write_config(m, path)))
        return st;
    // the adapted architecture (a task head's labels), read back before the base's own
    zy_config *cfg;
    if ((st = zy_model_get_config(m, &cfg))) return st;
    if (!(st = join(path, sizeof path, dir, "config.json"))) st = zy_config_save(cfg, path);
    zy_config_free(cfg);
    return st;
}

// ---- loading a base with an adapter -------------------------------------------------------

// path made absolute (the working directory before a relative one) into *out (zy_free).
static zy_status absolute(const char *path, char **out) {
    char cwd[4096];
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd))
        return zy__error(ZY_STATUS_IO, "cannot read the working directory: %s", strerror(errno));
    size_t n = strlen(path) + (path[0] == '/' ? 0 : strlen(cwd) + 1) + 1;
    if (!(*out = zy_alloc(n))) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "out of memory");
    if (path[0] == '/') snprintf(*out, n, "%s", path);
    else snprintf(*out, n, "%s/%s", cwd, path);
    return ZY_STATUS_OK;
}

// The base directory: base as given (absolute, or relative to the working directory),
// else relative to the adapter's directory, then as its absolute path (*resolved: the
// adapter, saved elsewhere, still names its base).
static zy_status find_base(const char *adapter_dir, const char *base, char *buf, size_t cap,
                           char **resolved) {
    *resolved = NULL;
    if ((size_t)snprintf(buf, cap, "%s", base) >= cap)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "base model path too long: %s", base);
    if (is_dir(buf)) return ZY_STATUS_OK;
    if (base[0] != '/') {
        zy_status st = join(buf, cap, adapter_dir, base);
        if (st) return st;
        if (is_dir(buf)) return absolute(buf, resolved);
    }
    return zy__error(ZY_STATUS_NOT_FOUND, "%s/" CONFIG_FILE ": field 'base_model_name_or_path' "
                     "is '%s', which is no directory%s%s (zhuyi loads a base model from a "
                     "directory, never from the network: give its path)", adapter_dir, base,
                     base[0] != '/' ? " here nor at " : "", base[0] != '/' ? buf : "");
}

// The adapter's config.json (cfg) and the base's name the same model_type: an adapter
// made for a BERT is refused on a GPT-2 by name, before any weight is looked at.
static zy_status same_model_type(const zy_config *cfg, const char *adapter_dir,
                                 const char *base) {
    char path[4096];
    zy_config *bc;
    const char *a = NULL, *b = NULL;
    zy_status st = join(path, sizeof path, base, "config.json");
    if (st || (st = zy_config_load(&bc, path))) return st;
    if (!zy_config_get_string(cfg, "model_type", &a) &&
        !zy_config_get_string(bc, "model_type", &b) && strcmp(a, b))
        st = zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: the adapter was made for a '%s' model "
                       "(its config.json), but %s holds a '%s': give the base model it was "
                       "trained on", adapter_dir, a, base, b);
    zy_config_free(bc);
    return st;
}

zy_status zy__lora_load(zy_model **out, const char *base_dir, const char *adapter_dir,
                        const zy_config *config) {
    *out = NULL;
    char path[4096], base[4096];
    zy_config *ac = NULL, *cfg = NULL;
    zy__lora_file f = {0};
    zy_model *m = NULL;
    char *resolved = NULL;
    zy_status st = join(path, sizeof path, adapter_dir, CONFIG_FILE);
    if (st || (st = zy_config_load(&ac, path)) || (st = zy__lora_file_read(ac, &f))) goto done;
    if (base_dir) {
        if ((size_t)snprintf(base, sizeof base, "%s", base_dir) >= sizeof base) {
            st = zy__error(ZY_STATUS_INVALID_ARGUMENT, "base path too long: %s", base_dir);
            goto done;
        }
    } else if (!f.base) {
        st = zy__error(ZY_STATUS_NOT_FOUND, "%s: field 'base_model_name_or_path' missing (give "
                       "the base model's directory)", path);
        goto done;
    } else if ((st = find_base(adapter_dir, f.base, base, sizeof base, &resolved))) {
        goto done;
    }
    if (resolved) f.cfg.base_model_name_or_path = resolved;
    if (!f.cfg.base_model_name_or_path) f.cfg.base_model_name_or_path = base_dir;
    // The architecture: the caller's config, the adapter's config.json (a task head's
    // labels), or the base's.
    if (!config) {
        if ((st = join(path, sizeof path, adapter_dir, "config.json"))) goto done;
        bool own = is_file(path);
        if (!own && (st = join(path, sizeof path, base, "config.json"))) goto done;
        if ((st = zy_config_load(&cfg, path))) goto done;
        config = cfg;
        if (own && (st = same_model_type(cfg, adapter_dir, base))) goto done;
    }
    if ((st = join(path, sizeof path, adapter_dir, WEIGHTS_FILE))) goto done;
    if (!is_file(path)) {
        st = zy__error(ZY_STATUS_NOT_FOUND, "%s: missing (zhuyi reads adapter weights from "
                       "safetensors only, not adapter_model.bin)", path);
        goto done;
    }
    if ((st = zy__model_load(&m, base, config, &f.cfg, path, false))) {
        // the adapter's settings came from adapter_config.json: say so
        const char *msg = zy_last_error();
        if (!strncmp(msg, "lora: ", 6))
            st = zy__error(st, "%s/" CONFIG_FILE ": %s", adapter_dir, msg + 6);
        goto done;
    }
    // An adapter trained with a task head on a base loaded without it would lose the head.
    const char *task = zy__lora_task_type(m);
    if (f.task_type && strcmp(f.task_type, task) &&
        (!strcmp(f.task_type, "SEQ_CLS") || !strcmp(f.task_type, "TOKEN_CLS") ||
         !strcmp(f.task_type, "QUESTION_ANS"))) {
        st = zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s/" CONFIG_FILE ": field 'task_type' is "
                       "'%s', but the model loads as %s (%s): put the task architecture's "
                       "config.json beside the adapter, or load with "
                       "zy_model_load_with_config", adapter_dir, f.task_type,
                       m->info.architecture ? m->info.architecture : m->ops->model_type, task);
        goto done;
    }
    zy__model_report_load(m, base);
    *out = m;
    m = NULL;
done:
    zy_free(resolved);
    zy_model_free(m);
    zy__lora_file_free(&f);
    zy_config_free(ac);
    zy_config_free(cfg);
    return st;
}

zy_status zy_model_load_adapter(zy_model **out, const char *base_dir, const char *adapter_dir) {
    return zy__lora_load(out, base_dir, adapter_dir, NULL);
}

zy_status zy_model_load_lora(zy_model **out, const char *dir, const zy_config *config,
                             const zy_lora_config *lc) {
    *out = NULL;
    if (!lc) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "load lora %s: no LoRA config", dir);
    char path[4096];
    zy_config *cfg = NULL;
    zy_status st;
    if (!config) {
        if ((st = join(path, sizeof path, dir, "config.json")) ||
            (st = zy_config_load(&cfg, path)))
            return st;
        config = cfg;
    }
    st = zy__model_load(out, dir, config, lc, NULL, !cfg);
    if (!st) zy__model_report_load(*out, dir);
    zy_config_free(cfg);
    return st;
}

bool zy__lora_is_adapter_dir(const char *dir) {
    char path[4096];
    return !join(path, sizeof path, dir, CONFIG_FILE) && is_file(path);
}
