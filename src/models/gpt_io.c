// GPT model directories in the Hugging Face GPT-2 layout: dir/config.json (gpt_config.c)
// and dir/model.safetensors. Not the tokenizer (text/), not training state (train/).
//
// model.safetensors, as GPT2LMHeadModel.save_pretrained writes it:
//   transformer.wte.weight (V,C), transformer.wpe.weight (P,C),
//   transformer.h.{l}.ln_1.{weight,bias} (C), .attn.c_attn.weight (C,3C), .attn.c_attn.bias
//   (3C), .attn.c_proj.weight (C,C), .attn.c_proj.bias (C), .ln_2.{weight,bias} (C),
//   .mlp.c_fc.weight (C,4C), .mlp.c_fc.bias (4C), .mlp.c_proj.weight (4C,C),
//   .mlp.c_proj.bias (C), transformer.ln_f.{weight,bias} (C).
// The four Conv1D weights are (in, out) in the file and transposed to (out, in) here.
// Reading: names with or without "transformer." (GPT2Model checkpoints such as the hub's
// gpt2 have none); F32, F16 or BF16; extra tensors (attn.bias / attn.masked_bias causal
// buffers of old checkpoints) ignored; lm_head.weight, if present, must equal wte (tied).
// Every shape is checked against config.json before data is read. Writing: F32, with
// the prefix, without lm_head.weight (HF drops tied weights), metadata {"format": "pt"}.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "models/gpt_internal.h"
#include "zhuyi/io.h"

#define PREFIX "transformer."

// dst (cols, rows) = srcᵀ, src (rows, cols)
static void transpose(float *dst, const float *src, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
}

static const zy_tensor_info *find(const zy_safetensors *st, const char *name) {
    const zy_tensor_info *t = zy_safetensors_find(st, name);
    if (!t && !strncmp(name, PREFIX, strlen(PREFIX)))
        t = zy_safetensors_find(st, name + strlen(PREFIX));
    return t;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    int k = snprintf(buf, n, "(");
    for (int i = 0; i < ndim && k > 0 && (size_t)k < n; i++)
        k += snprintf(buf + k, n - (size_t)k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, ")");
}

static zy_status check_shape(const char *file, const zy_gpt_tensor *t,
                             const zy_tensor_info *info) {
    bool same = info->ndim == t->ndim;
    for (int i = 0; same && i < t->ndim; i++) same = info->shape[i] == t->shape[i];
    if (same) return ZY_STATUS_OK;
    char want[64], got[160];
    shape_str(want, sizeof want, t->ndim, t->shape);
    shape_str(got, sizeof got, info->ndim, info->shape);
    return zy__error(ZY_STATUS_SHAPE_MISMATCH,
                     "%s: tensor '%s' has shape %s but config.json implies %s", file,
                     info->name, got, want);
}

// Reads every tensor of m's table from st (tmp: the largest tensor's floats).
static zy_status load_tensors(zy_gpt *m, const zy_safetensors *st, const char *file,
                              float *tmp) {
    zy_status s;
    // Shapes first, so a mismatched file is rejected before any data is read.
    for (int i = 0; i < m->n_tensors; i++) {
        const zy_gpt_tensor *t = &m->tensors[i];
        const zy_tensor_info *info = find(st, t->name);
        if (!info)
            return zy__error(ZY_STATUS_NOT_FOUND, "%s: tensor '%s' missing (also looked for "
                             "'%s')", file, t->name, t->name + strlen(PREFIX));
        if ((s = check_shape(file, t, info))) return s;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const zy_gpt_tensor *t = &m->tensors[i];
        const zy_tensor_info *info = find(st, t->name);
        float *dst = m->params + t->offset;
        if ((s = zy_safetensors_read_f32(st, info->name, t->transposed ? tmp : dst, t->count)))
            return s;
        if (t->transposed) transpose(dst, tmp, t->shape[0], t->shape[1]);
    }
    const zy_tensor_info *head = zy_safetensors_find(st, "lm_head.weight");
    if (head) {
        const zy_gpt_tensor *wte = &m->tensors[0];
        if ((s = check_shape(file, wte, head))) return s;
        if ((s = zy_safetensors_read_f32(st, head->name, tmp, wte->count))) return s;
        if (memcmp(tmp, m->params + wte->offset, wte->count * sizeof *tmp))
            return zy__error(ZY_STATUS_UNSUPPORTED,
                             "%s: lm_head.weight differs from wte (only a tied LM head is "
                             "supported)",
                             file);
    }
    return ZY_STATUS_OK;
}

zy_status zy_gpt_load(zy_gpt **out, const char *dir) {
    *out = NULL;
    char path[4096];
    zy_gpt_config cfg;
    zy_status s;
    if ((size_t)snprintf(path, sizeof path, "%s/config.json", dir) >= sizeof path)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gpt load: path too long");
    if ((s = zy_gpt_config_load(path, &cfg))) return s;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    zy_safetensors *st;
    if ((s = zy_safetensors_open(&st, path))) return s;
    zy_gpt *m;
    if ((s = zy_gpt_create(&m, &cfg))) goto fail_create;
    size_t biggest = 0;
    for (int i = 0; i < m->n_tensors; i++) biggest = ZY_MAX(biggest, m->tensors[i].count);
    float *tmp = zy_alloc(biggest * sizeof *tmp);
    if (!tmp) {
        s = ZY_STATUS_OUT_OF_MEMORY;
        goto fail_tmp;
    }
    if ((s = load_tensors(m, st, path, tmp))) goto fail_load;
    zy_free(tmp);
    zy_safetensors_free(st);
    *out = m;
    return ZY_STATUS_OK;
fail_load:
    zy_free(tmp);
fail_tmp:
    zy_gpt_free(m);
fail_create:
    zy_safetensors_free(st);
    return s;
}

// mkdir -p: each missing component of dir is created (0755).
static zy_status make_dirs(const char *dir) {
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gpt save: bad directory '%s'", dir);
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char keep = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0755) && errno != EEXIST)
            return zy__error(ZY_STATUS_IO, "%s: cannot create directory: %s", buf,
                             strerror(errno));
        buf[i] = keep;
    }
    struct stat sb;
    if (stat(dir, &sb) || !S_ISDIR(sb.st_mode))
        return zy__error(ZY_STATUS_IO, "%s: not a directory", dir);
    return ZY_STATUS_OK;
}

zy_status zy_gpt_save(const zy_gpt *m, const char *dir) {
    zy_status s;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/model.safetensors", dir) >= sizeof path)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gpt save: path too long");
    if ((s = make_dirs(dir))) return s;
    // The Conv1D weights go out transposed: one copy of the parameters holds them.
    float *copy = zy_alloc(m->n_params * sizeof *copy);
    zy_safetensors_tensor *ts = zy_calloc((size_t)m->n_tensors, sizeof *ts);
    if (!copy || !ts) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "gpt save: out of memory");
        goto done;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const zy_gpt_tensor *t = &m->tensors[i];
        float *p = copy + t->offset;
        if (t->transposed) // stored (out, in) = (shape[1], shape[0]) -> file (in, out)
            transpose(p, m->params + t->offset, t->shape[1], t->shape[0]);
        else
            memcpy(p, m->params + t->offset, t->count * sizeof *p);
        ts[i].name = t->name;
        ts[i].data = p;
        ts[i].ndim = t->ndim;
        ts[i].shape[0] = t->shape[0];
        ts[i].shape[1] = t->shape[1];
    }
    zy_safetensors_kv meta = {"format", "pt"};
    zy_safetensors_write_params wp = zy_safetensors_write_default_params();
    wp.metadata = &meta;
    wp.n_metadata = 1;
    if ((s = zy_safetensors_write(path, ts, m->n_tensors, wp))) goto done;
    snprintf(path, sizeof path, "%s/config.json", dir);
    s = zy_gpt_config_save(path, &m->cfg);
done:
    zy_free(ts);
    zy_free(copy);
    return s;
}
