// Models as GGUF files (gguf.h, "models"), the part every architecture shares: export
// walks the model's tensor table (names mapped by the architecture, the weights as zhuyi
// keeps them: a (out, in) matrix is ggml's ne = {in, out} as it is), import builds the
// config from the metadata, checks every tensor the table needs against the file before
// allocating, then reads them as floats. The architectures: gguf_gpt.c, gguf_bert.c.
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "models/gguf_internal.h"
#include "models/model_internal.h"

static const zy__gguf_arch *const ARCHS[] = {&zy__gguf_gpt2, &zy__gguf_bert};
#define N_ARCHS (int)(sizeof ARCHS / sizeof ARCHS[0])

zy_gguf_export_params zy_gguf_export_default_params(void) {
    return (zy_gguf_export_params){.wtype = ZY_WTYPE_F32};
}

// ---- names -------------------------------------------------------------------------------
// Does name match pattern (one "%d" standing for a decimal number)? *l receives it.
static bool match(const char *pattern, const char *name, int *l) {
    const char *d = strstr(pattern, "%d");
    if (!d) return !strcmp(pattern, name);
    size_t pre = (size_t)(d - pattern);
    if (strncmp(pattern, name, pre)) return false;
    const char *p = name + pre;
    long v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 9) v = v * 10 + (*p++ - '0'), digits++;
    if (!digits || (digits > 1 && name[pre] == '0')) return false;
    *l = (int)v;
    return !strcmp(p, d + 2);
}

// hf without the architecture's prefix.
static const char *unprefixed(const zy__gguf_arch *a, const char *hf) {
    size_t n = a->prefix ? strlen(a->prefix) : 0;
    return n && !strncmp(hf, a->prefix, n) ? hf + n : hf;
}

bool zy__gguf_skipped(const zy__gguf_arch *a, const char *hf) {
    hf = unprefixed(a, hf);
    for (const char *const *k = a->skip; k && *k; k++)
        if (!strncmp(hf, *k, strlen(*k))) return true;
    return false;
}

bool zy__gguf_map_name(const zy__gguf_arch *a, const char *hf, char *out, size_t cap) {
    hf = unprefixed(a, hf);
    for (int i = 0; i < a->n_names; i++) {
        int l = 0;
        if (!match(a->names[i].hf, hf, &l)) continue;
        int n = strstr(a->names[i].gguf, "%d") ? snprintf(out, cap, a->names[i].gguf, l)
                                               : snprintf(out, cap, "%s", a->names[i].gguf);
        return n > 0 && (size_t)n < cap;
    }
    return false;
}

static bool keep_f32(const zy__gguf_arch *a, const char *gguf) {
    for (const char *const *k = a->keep_f32; k && *k; k++)
        if (!strcmp(*k, gguf)) return true;
    return false;
}

// ggml's shape of a table entry as zhuyi keeps it: a matrix stored (rows, cols) is
// ne = {cols, rows}; a vector ne = {n}.
static int entry_ne(const zy_tensor *e, uint64_t ne[ZY_GGUF_MAX_DIMS]) {
    if (e->ndim == 1) {
        ne[0] = (uint64_t)e->shape[0];
        return 1;
    }
    int64_t rows = e->transposed ? e->shape[1] : e->shape[0];
    int64_t cols = e->transposed ? e->shape[0] : e->shape[1];
    ne[0] = (uint64_t)cols, ne[1] = (uint64_t)rows;
    return 2;
}

// llama.cpp's llama_ftype for a file whose matrices are of type t.
static uint32_t file_type_of(zy_wtype t) {
    switch (t) {
    case ZY_WTYPE_F16: return 1;  // MOSTLY_F16
    case ZY_WTYPE_Q4_0: return 2; // MOSTLY_Q4_0
    case ZY_WTYPE_Q8_0: return 7; // MOSTLY_Q8_0
    case ZY_WTYPE_BF16: return 32; // MOSTLY_BF16
    default: return 0;            // ALL_F32
    }
}

static const zy__gguf_arch *arch_of_model_type(const char *model_type) {
    for (int i = 0; i < N_ARCHS; i++)
        if (!strcmp(ARCHS[i]->model_type, model_type)) return ARCHS[i];
    return NULL;
}

// ---- export ------------------------------------------------------------------------------
static zy_status add_tensors(const zy_model *m, const zy__gguf_arch *a, zy_wtype wtype,
                             zy_gguf_writer *w, const char *path) {
    const zy_tensor_table *tt = zy_model_tensors(m);
    int fallback = 0, matrices = 0;
    size_t fb_row = 0;
    for (int i = 0; i < zy_tensor_table_count(tt); i++) {
        const zy_tensor *e = zy_tensor_table_at(tt, i);
        char name[ZY_GGUF_MAX_NAME];
        if (zy__gguf_skipped(a, e->name)) continue;
        if (!zy__gguf_map_name(a, e->name, name, sizeof name))
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: tensor '%s' has no name in GGUF's "
                             "'%s' architecture", path, e->name, a->name);
        if (e->part_total || e->ndim > 2)
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: tensor '%s' is stored in parts or has "
                             "more than 2 dimensions", path, e->name);
        uint64_t ne[ZY_GGUF_MAX_DIMS];
        int nd = entry_ne(e, ne);
        zy_wtype t = ZY_WTYPE_F32;
        if (nd == 2 && !keep_f32(a, name)) {
            t = wtype;
            matrices++;
            if (!zy_wtype_row_bytes(t, (size_t)ne[0])) { // rows that are not whole blocks
                t = ZY_WTYPE_F16;
                fallback++;
                fb_row = (size_t)ne[0];
            }
        }
        zy_status s = zy_gguf_writer_add_tensor_f32(w, name, t, nd, ne,
                                                    zy_model_tensor_data(m, i));
        if (s) return s;
    }
    if (fallback)
        zy__log(ZY_LOG_WARN, "%s: %d of %d matrices are stored as f16, not %s: their rows (%zu "
                "values) are not whole blocks of %d (as llama.cpp's converter does)", path,
                fallback, matrices, zy_wtype_name(wtype), fb_row, ZY_QBLOCK);
    return ZY_STATUS_OK;
}

static zy_status write_chat_template(zy_gguf_writer *w, const zy_chat_template *t) {
    zy_status s = zy_gguf_writer_set_string(w, "tokenizer.chat_template", t->jinja,
                                            strlen(t->jinja));
    return s ? s : zy_gguf_writer_set_string(w, "zhuyi.chat_template", t->name, strlen(t->name));
}

zy_status zy_model_save_gguf(const zy_model *m, const zy_tokenizer *tok, const char *path,
                             zy_gguf_export_params p) {
    if (!m || !tok || !path)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gguf export: NULL argument");
    const zy_model_info *in = zy_model_get_info(m);
    const zy__gguf_arch *a = arch_of_model_type(in->model_type);
    if (!a)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: a '%s' model has no GGUF architecture "
                         "zhuyi writes (gpt2, bert)", path, in->model_type);
    bool known = false;
    for (const char *const *c = a->architectures; *c && !known; c++)
        known = !strcmp(in->architecture, *c);
    if (!known)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: a %s cannot be written as GGUF's '%s' "
                         "(only %s%s)", path, in->architecture, a->name, a->architectures[0],
                         a->architectures[1] ? " and its pretraining forms" : "");
    if (zy_model_has_adapter(m))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: the model has a LoRA adapter; merge it "
                         "into the weights first (zy_model_merge_adapter)", path);
    zy_status s = zy__model_need_fp32(m, path); // the export quantizes the fp32 weights
    if (s) return s;
    if (zy_tokenizer_vocab_size(tok) != in->vocab_size)
        return zy__error(ZY_STATUS_SHAPE_MISMATCH, "%s: the tokenizer has %d tokens but the "
                         "model's vocab_size is %d", path, zy_tokenizer_vocab_size(tok),
                         in->vocab_size);
    if ((unsigned)p.wtype >= ZY_WTYPE_COUNT)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: unknown weight type %d", path,
                         (int)p.wtype);
    zy_gguf_writer *w;
    s = zy_gguf_writer_create(&w);
    if (s) return s;
    s = zy_gguf_writer_set_string(w, "general.architecture", a->name, strlen(a->name));
    if (!s) s = zy_gguf_writer_set_string(w, "general.type", "model", 5);
    if (!s && p.name) s = zy_gguf_writer_set_string(w, "general.name", p.name, strlen(p.name));
    if (!s) s = a->write_meta(m, tok, w);
    if (!s && p.chat_template) s = write_chat_template(w, p.chat_template);
    if (!s) s = zy_gguf_writer_set_uint(w, "general.file_type", ZY_GGUF_UINT32,
                                        file_type_of(p.wtype));
    if (!s) s = zy_gguf_writer_set_uint(w, "general.quantization_version", ZY_GGUF_UINT32, 2);
    if (!s) s = add_tensors(m, a, p.wtype, w, path);
    if (!s) s = zy_gguf_writer_write(w, path, p.progress, p.user);
    zy_gguf_writer_free(w);
    return s;
}

// ---- import ------------------------------------------------------------------------------
// Every tensor the table needs is in the file, with the shape the metadata implies and a
// type zhuyi converts. Nothing is read or allocated.
static zy_status check_tensors(const zy_gguf *g, const zy__gguf_arch *a, const zy_model *m) {
    const char *path = zy_gguf_path(g);
    const zy_tensor_table *tt = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(tt); i++) {
        const zy_tensor *e = zy_tensor_table_at(tt, i);
        char name[ZY_GGUF_MAX_NAME];
        if (!zy__gguf_map_name(a, e->name, name, sizeof name) || e->part_total || e->ndim > 2)
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: zhuyi's tensor '%s' has no GGUF name",
                             path, e->name);
        const zy_gguf_tensor *t = zy_gguf_find_tensor(g, name);
        if (!t)
            return zy__error(ZY_STATUS_NOT_FOUND, "%s: tensor '%s' missing (a '%s' model needs "
                             "it: zhuyi's '%s')", path, name, a->name, e->name);
        uint64_t ne[ZY_GGUF_MAX_DIMS];
        int nd = entry_ne(e, ne);
        if (t->ndim != nd || t->ne[0] != ne[0] || (nd == 2 && t->ne[1] != ne[1]))
            return zy__error(ZY_STATUS_SHAPE_MISMATCH, "%s: tensor '%s' has ne = {%llu, %llu, "
                             "%llu, %llu} (%d dimensions) but the metadata implies {%llu%s%llu}",
                             path, name, (unsigned long long)t->ne[0],
                             (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
                             (unsigned long long)t->ne[3], t->ndim, (unsigned long long)ne[0],
                             nd == 2 ? ", " : "", nd == 2 ? (unsigned long long)ne[1] : 0ull);
        if (!zy_wtype_of_ggml_type(t->type, NULL))
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: tensor '%s' is %s; zhuyi reads f32, "
                             "f16, bf16, q8_0 and q4_0", path, name,
                             zy_ggml_type_name(t->type));
    }
    return ZY_STATUS_OK;
}

// A tied copy in the file (the LM head as output.weight) must equal what it is tied to.
static zy_status check_tied(const zy_gguf *g, const zy__gguf_arch *a, const zy_model *m) {
    const zy_gguf_tensor *t = a->tied ? zy_gguf_find_tensor(g, a->tied) : NULL;
    if (!t) return ZY_STATUS_OK;
    const char *path = zy_gguf_path(g);
    const zy_tensor_table *tt = zy_model_tensors(m);
    const zy_tensor *e = NULL;
    int idx = -1;
    char name[ZY_GGUF_MAX_NAME];
    for (int i = 0; i < zy_tensor_table_count(tt) && !e; i++)
        if (zy__gguf_map_name(a, zy_tensor_table_at(tt, i)->name, name, sizeof name) &&
            !strcmp(name, a->tied_to))
            e = zy_tensor_table_at(tt, idx = i);
    if (!e || t->numel != e->count)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: tensor '%s' does not have the shape of "
                         "'%s', to which zhuyi ties it", path, a->tied, a->tied_to);
    float *x = zy_alloc(e->count * sizeof *x);
    if (!x) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    zy_status s = zy_gguf_read_f32(g, a->tied, x, e->count);
    if (!s && memcmp(x, zy_model_tensor_data(m, idx), e->count * sizeof *x))
        s = zy__error(ZY_STATUS_UNSUPPORTED, "%s: tensor '%s' differs from '%s'; zhuyi's model "
                      "ties them (one matrix for both)", path, a->tied, a->tied_to);
    zy_free(x);
    return s;
}

// The type most of the file's matrix elements are stored in.
static zy_wtype main_type(const zy_gguf *g) {
    uint64_t per[ZY_WTYPE_COUNT] = {0};
    for (int i = 0; i < zy_gguf_tensor_count(g); i++) {
        const zy_gguf_tensor *t = zy_gguf_tensor_at(g, i);
        zy_wtype w;
        if (t->ndim >= 2 && zy_wtype_of_ggml_type(t->type, &w)) per[w] += t->numel;
    }
    zy_wtype best = ZY_WTYPE_F32;
    for (int w = 0; w < ZY_WTYPE_COUNT; w++)
        if (per[w] > per[best]) best = (zy_wtype)w;
    return best;
}

// Whether file tensor f holds the bytes of typed copy w as they are (stored in its type,
// rows of its width).
static bool stored_as(const zy_gguf_tensor *f, const zy_wmatrix *w) {
    zy_wtype t;
    return f && zy_wtype_of_ggml_type(f->type, &t) && t == w->type &&
           f->ne[0] == (uint64_t)w->cols && f->nbytes == w->row_bytes * (size_t)w->rows;
}

// zy_model_load_gguf, or (decode, a weight type other than F32) its decode-only form.
static zy_status load(zy_model **model, zy_tokenizer **tok, const char *path,
                      zy_gguf_model_info *info, bool decode, int want) {
    if (!model || !tok || !path)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gguf import: NULL argument");
    *model = NULL, *tok = NULL;
    zy_gguf *g = NULL;
    zy_config *c = NULL;
    zy_model *m = NULL;
    zy_tokenizer *t = NULL;
    const zy__gguf_arch *a = NULL;
    const char *arch;
    zy_status s = zy_gguf_open(&g, path);
    if (!s) s = zy_gguf_get_string(g, "general.architecture", &arch);
    for (int i = 0; !s && i < N_ARCHS && !a; i++)
        if (!strcmp(ARCHS[i]->name, arch)) a = ARCHS[i];
    if (!s && (!a || !a->read_config))
        s = zy__error(ZY_STATUS_UNSUPPORTED, "%s: architecture '%.40s' (zhuyi reads gpt2%s)",
                      path, arch, a ? "; it writes bert but does not read it back" : "");
    if (!s) s = zy_config_create(&c, path);
    if (!s) s = a->read_config(g, c);
    if (!s) s = zy__model_declare(&m, c);
    if (!s) s = check_tensors(g, a, m);
    if (!s) s = a->read_tokenizer(g, &t); // before the parameters: it is much smaller
    if (!s && zy_tokenizer_vocab_size(t) != zy_model_get_info(m)->vocab_size)
        s = zy__error(ZY_STATUS_SHAPE_MISMATCH, "%s: tokenizer.ggml.tokens has %d tokens but "
                      "token_embd.weight has %d rows", path, zy_tokenizer_vocab_size(t),
                      zy_model_get_info(m)->vocab_size);
    const zy_wtype wt = !s && want < 0 ? main_type(g) : (zy_wtype)ZY_MAX(want, 0);
    // Decode-only in a typed weight type, with no tied copy in the file to check against
    // the fp32 values: the matrices go straight into the typed copies -- as they are when
    // the file stores them in their type, else through fp32 one at a time, rounded as
    // zy_model_set_weight_type rounds them -- and no fp32 matrix array is ever held.
    const bool direct = !s && decode && wt != ZY_WTYPE_F32 &&
                        zy_model_get_info(m)->typed_decode_only &&
                        !(a->tied && zy_gguf_find_tensor(g, a->tied));
    if (!s) s = direct ? zy__model_allocate_typed(m, wt, path) : zy__model_allocate(m, path);
    const zy_tensor_table *tt = m ? zy_model_tensors(m) : NULL;
    size_t most = 0; // the floats of the largest matrix converted on its way in
    for (int i = 0; !s && direct && i < zy_tensor_table_count(tt); i++) {
        const zy_wmatrix *w = zy_model_tensor_typed(m, i);
        char name[ZY_GGUF_MAX_NAME];
        zy__gguf_map_name(a, zy_tensor_table_at(tt, i)->name, name, sizeof name);
        if (w && !stored_as(zy_gguf_find_tensor(g, name), w))
            most = ZY_MAX(most, zy_tensor_table_at(tt, i)->count);
    }
    float *conv = most ? zy_alloc(most * sizeof *conv) : NULL;
    if (most && !conv) s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    for (int i = 0; !s && i < zy_tensor_table_count(tt); i++) {
        const zy_tensor *e = zy_tensor_table_at(tt, i);
        const zy_wmatrix *w = direct ? zy_model_tensor_typed(m, i) : NULL;
        char name[ZY_GGUF_MAX_NAME];
        zy__gguf_map_name(a, e->name, name, sizeof name); // checked above
        if (!w)
            s = zy_gguf_read_f32(g, name, (float *)zy_model_tensor_data(m, i), e->count);
        else if (stored_as(zy_gguf_find_tensor(g, name), w))
            s = zy_gguf_read_raw(g, name, (void *)w->data, w->row_bytes * (size_t)w->rows);
        else if (!(s = zy_gguf_read_f32(g, name, conv, e->count)))
            s = zy__model_put_typed(m, i, 0, e->count, conv);
    }
    zy_free(conv);
    if (!s && !direct) s = check_tied(g, a, m);
    // Decode-only otherwise (a tied copy to compare): loaded in fp32, then typed and
    // dropped (the peak of both).
    if (!s && decode && !direct && wt != ZY_WTYPE_F32) {
        s = zy_model_set_weight_type(m, wt);
        if (!s && zy_model_get_info(m)->typed_decode_only) s = zy_model_drop_fp32(m);
    }
    if (!s && info) {
        uint64_t ft = UINT32_MAX;
        if (zy_gguf_find(g, "general.file_type") &&
            (s = zy_gguf_get_uint(g, "general.file_type", 0, UINT32_MAX, &ft)))
            goto done;
        memset(info, 0, sizeof *info);
        snprintf(info->architecture, sizeof info->architecture, "%s", a->name);
        info->wtype = main_type(g);
        info->file_type = (uint32_t)ft;
    }
done:
    zy_gguf_free(g);
    zy_config_free(c);
    if (s) {
        zy_model_free(m);
        zy_tokenizer_free(t);
        return s;
    }
    *model = m, *tok = t;
    return ZY_STATUS_OK;
}

zy_status zy_model_load_gguf(zy_model **model, zy_tokenizer **tok, const char *path,
                             zy_gguf_model_info *info) {
    return load(model, tok, path, info, false, (int)ZY_WTYPE_F32);
}

zy_status zy_model_load_gguf_decoder(zy_model **model, zy_tokenizer **tok, const char *path,
                                     int wtype, zy_gguf_model_info *info) {
    if (wtype >= (int)ZY_WTYPE_COUNT)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: weight type %d is not one of f32, "
                         "f16, bf16, q8_0, q4_0", path ? path : "gguf import", wtype);
    return load(model, tok, path, info, true, wtype);
}

zy_status zy_gguf_chat_template(const char *path, const zy_chat_template **out) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gguf chat template: NULL argument");
    *out = NULL;
    zy_gguf *g;
    zy_status s = zy_gguf_open(&g, path);
    const char *name;
    if (s || !zy_gguf_find(g, "zhuyi.chat_template")) goto done;
    if ((s = zy_gguf_get_string(g, "zhuyi.chat_template", &name))) goto done;
    if (!(*out = zy_chat_template_find(name)))
        s = zy__error(ZY_STATUS_UNSUPPORTED, "%s: zhuyi.chat_template '%.40s' is not a template "
                      "this zhuyi knows (%s)", path, name, zy_chat_template_default()->name);
done:
    zy_gguf_free(g);
    return s;
}
