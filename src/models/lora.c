// LoRA adapters on a model (lora.h), the model side: the settings, which linear layers a
// config targets (PEFT's rule: the module name is the target or ends in ".target"), the
// adapter tensors appended to the model's tensor table (so trainer, optimizer groups,
// checkpoints and resume treat them as any tensor), modules_to_save and the trained
// biases, the freezing, the adapter of a weight as a session's implementation sees it,
// and merging. Files (adapter_config.json, adapter_model.safetensors, loading a base with
// an adapter) are lora_io.c; the arithmetic is src/nn/lora.c; applying it at each linear
// layer is the model's (the shared blocks, and gpt*.c / bert*.c for their own linears).
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "zhuyi/gemm.h"

#include "core/internal.h"
#include "models/lora_internal.h"
#include "models/model_internal.h"

#define NAME_MAX_LEN 512

zy_lora_config zy_lora_default_config(void) {
    return (zy_lora_config){.r = 8, .alpha = 8.0f, .dropout = 0.0f, .use_rslora = false,
                            .targets = NULL, .bias = ZY_LORA_BIAS_NONE,
                            .modules_to_save = NULL, .seed = 0,
                            .base_model_name_or_path = NULL};
}

void zy__lora_free(zy__lora *l) {
    if (!l) return;
    zy_free(l->targets);
    zy_free(l->modules);
    zy_free(l->base);
    zy_free(l->sites);
    zy_free(l->site_of);
    zy_free(l->keep);
    zy_free(l);
}

bool zy_model_has_adapter(const zy_model *m) { return m && m->lora; }

const zy_lora_config *zy_model_lora_config(const zy_model *m) {
    return m && m->lora ? &m->lora->cfg : NULL;
}

// ---- names ------------------------------------------------------------------------------------

static bool ends_with(const char *s, size_t n, const char *suffix) {
    size_t k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

// The module name s[0..n) is target or ends in "." + target (PEFT's target_modules rule).
static bool module_is(const char *s, size_t n, const char *target) {
    size_t k = strlen(target);
    return n >= k && !memcmp(s + n - k, target, k) && (n == k || s[n - k - 1] == '.');
}

// Item *i of a comma-separated list into buf (spaces around it dropped); false at the end.
static zy_status list_item(const char **p, char *buf, size_t cap, bool *more, const char *what) {
    const char *s = *p;
    while (*s == ' ') s++;
    const char *e = strchr(s, ',');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    *p = e ? e + 1 : s + n;
    *more = e != NULL;
    while (n && s[n - 1] == ' ') n--;
    if (n == 0 || n >= cap)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: %s: an empty or too long name in "
                         "'%s'", what, s);
    memcpy(buf, s, n);
    buf[n] = 0;
    return ZY_STATUS_OK;
}

// Table entry e's module name: the name without its last component (".weight", ".bias").
static size_t module_len(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot ? (size_t)(dot - name) : 0;
}

// The linear layers' module names, short (the part after the last ".<layer number>.", so
// every block's appears once: "attn.c_attn (in transformer.h.N)") and distinct, into buf.
static void linear_names(const zy_tensor_table *t, int n, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < n && len + 1 < cap; i++) {
        const zy_tensor *e = zy_tensor_table_at(t, i);
        if (!e->linear) continue;
        size_t mlen = module_len(e->name), start = 0;
        for (size_t k = 0; k + 2 < mlen; k++) // after the last ".<digits>."
            if (e->name[k] == '.' && e->name[k + 1] >= '0' && e->name[k + 1] <= '9') {
                size_t j = k + 1;
                while (j < mlen && e->name[j] >= '0' && e->name[j] <= '9') j++;
                if (j < mlen && e->name[j] == '.') start = j + 1;
            }
        char item[NAME_MAX_LEN];
        int w = snprintf(item, sizeof item, "%.*s", (int)(mlen - start), e->name + start);
        if (w <= 0 || (size_t)w >= sizeof item) continue;
        bool seen = false;
        for (const char *p = buf; !seen && (p = strstr(p, item)); p += w)
            seen = (p == buf || (p - buf >= 2 && p[-2] == ',' && p[-1] == ' ')) &&
                   (p[w] == ',' || p[w] == 0);
        if (seen) continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", item);
    }
    if (len + 1 >= cap && cap > 4) memcpy(buf + cap - 4, "...", 4);
}

// ---- attaching an adapter to a declared table -------------------------------------------------

const char *zy__lora_task_type(const zy_model *m) {
    const char *a = m->info.architecture ? m->info.architecture : "";
    size_t n = strlen(a);
    if (ends_with(a, n, "LMHeadModel") || ends_with(a, n, "ForCausalLM")) return "CAUSAL_LM";
    if (ends_with(a, n, "ForSequenceClassification")) return "SEQ_CLS";
    if (ends_with(a, n, "ForTokenClassification")) return "TOKEN_CLS";
    if (ends_with(a, n, "ForQuestionAnswering")) return "QUESTION_ANS";
    return "FEATURE_EXTRACTION";
}

// PEFT's defaults (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING), or NULL.
static const char *default_targets(const char *model_type) {
    if (!strcmp(model_type, "gpt2")) return "c_attn";
    if (!strcmp(model_type, "bert")) return "query,value";
    return NULL;
}

// The task heads PEFT trains and saves by task_type (PeftModelForSequenceClassification
// and friends add them to modules_to_save); a model may lack some of them.
static const char *default_modules(const char *task_type) {
    if (!strcmp(task_type, "SEQ_CLS") || !strcmp(task_type, "TOKEN_CLS"))
        return "classifier,score";
    if (!strcmp(task_type, "QUESTION_ANS")) return "qa_outputs";
    return NULL;
}

static bool is_peft_head_name(const char *s) {
    return !strcmp(s, "classifier") || !strcmp(s, "score") || !strcmp(s, "qa_outputs");
}

static zy_status check_config(const zy_lora_config *lc) {
    if (lc->r < 1 || lc->r > 65536)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: r = %d is not in [1, 65536]", lc->r);
    if (!(lc->alpha > 0.0f && isfinite(lc->alpha)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: alpha = %g must be a finite "
                         "number > 0", (double)lc->alpha);
    if (!(lc->dropout >= 0.0f && lc->dropout < 1.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: dropout = %g is not in [0, 1)",
                         (double)lc->dropout);
    if ((unsigned)lc->bias > ZY_LORA_BIAS_LORA_ONLY)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: bias %d is not none (0), all (1) "
                         "or lora_only (2)", (int)lc->bias);
    return ZY_STATUS_OK;
}

// chosen[i] for the linear entries the targets name; every target must name one.
static zy_status resolve_targets(const zy_model *m, const char *targets, int n, bool *chosen) {
    const zy_tensor_table *t = m->table;
    char item[NAME_MAX_LEN], names[1024];
    const char *arch = m->info.architecture ? m->info.architecture : m->ops->model_type;
    if (!strcmp(targets, "all-linear")) { // PEFT's shorthand: every linear layer but heads
        int k = 0;
        for (int i = 0; i < n; i++) {
            const zy_tensor *e = zy_tensor_table_at(t, i);
            k += chosen[i] = e->linear && !e->head;
        }
        if (k) return ZY_STATUS_OK;
        linear_names(t, n, names, sizeof names);
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: targets 'all-linear': %s has no "
                         "linear layer outside its heads (its linear layers: %s)", arch,
                         names[0] ? names : "none");
    }
    bool more = true;
    for (const char *p = targets; more;) {
        zy_status st = list_item(&p, item, sizeof item, &more, "targets");
        if (st) return st;
        int k = 0;
        for (int i = 0; i < n; i++) {
            const zy_tensor *e = zy_tensor_table_at(t, i);
            if (!e->linear || !module_is(e->name, module_len(e->name), item)) continue;
            chosen[i] = true;
            k++;
        }
        if (k) continue;
        linear_names(t, n, names, sizeof names);
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: target '%s' matches no linear "
                         "layer of %s (its linear layers: %s; a target is a module's name or "
                         "its last dotted components)", item, arch, names[0] ? names : "none");
    }
    return ZY_STATUS_OK;
}

// Entry `name` lies in a module (one of its dotted prefixes) whose name ends with target,
// PEFT's modules_to_save rule (str.endswith, no dot needed).
static bool in_module(const char *name, const char *target) {
    for (size_t k = 0; name[k]; k++)
        if (name[k] == '.' && ends_with(name, k, target)) return true;
    return false;
}

// keep[i] for modules_to_save and the trained biases.
static zy_status resolve_keep(const zy_model *m, const char *modules, zy_lora_bias bias, int n,
                              const bool *chosen, unsigned char *keep) {
    const zy_tensor_table *t = m->table;
    char item[NAME_MAX_LEN];
    bool more = modules && *modules;
    for (const char *p = modules; more;) {
        zy_status st = list_item(&p, item, sizeof item, &more, "modules_to_save");
        if (st) return st;
        int k = 0;
        for (int i = 0; i < n; i++) {
            const zy_tensor *e = zy_tensor_table_at(t, i);
            if (!in_module(e->name, item)) continue;
            if (chosen[i])
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: '%s' is both a target "
                                 "and in modules_to_save ('%s'): train it in full or adapt "
                                 "it, not both", e->name, item);
            keep[i] = ZY__LORA_KEEP_MODULE;
            k++;
        }
        if (!k && !is_peft_head_name(item))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: modules_to_save '%s' matches "
                             "no module of %s", item, m->info.architecture
                             ? m->info.architecture : m->ops->model_type);
    }
    if (bias == ZY_LORA_BIAS_NONE) return ZY_STATUS_OK;
    for (int i = 0; i < n; i++) {
        const zy_tensor *e = zy_tensor_table_at(t, i);
        if (!chosen[i] && bias == ZY_LORA_BIAS_ALL && ends_with(e->name, strlen(e->name), ".bias")
            && !keep[i])
            keep[i] = ZY__LORA_KEEP_BIAS;
        if (!chosen[i] || bias != ZY_LORA_BIAS_LORA_ONLY) continue;
        char name[NAME_MAX_LEN]; // the adapted module's own bias
        int w = snprintf(name, sizeof name, "%.*s.bias", (int)module_len(e->name), e->name);
        int b = w > 0 && (size_t)w < sizeof name ? zy_tensor_table_find(t, name) : -1;
        if (b >= 0 && b < n && !keep[b]) keep[b] = ZY__LORA_KEEP_BIAS;
    }
    return ZY_STATUS_OK;
}

// Adapter entries A (r, in) and B (out, r) for the linear weight i.
static zy_status add_site(zy_model *m, zy__lora *l, int i, int r) {
    const zy_tensor *e = zy_tensor_table_at(m->table, i);
    int64_t in = e->transposed ? e->shape[0] : e->shape[1];
    int64_t out = e->transposed ? e->shape[1] : e->shape[0];
    if (in > (1 << 30) || out > (1 << 30))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: '%s' is too large to adapt", e->name);
    char a[NAME_MAX_LEN], b[NAME_MAX_LEN];
    int mlen = (int)module_len(e->name);
    snprintf(a, sizeof a, "%.*s.lora_A.weight", mlen, e->name);
    snprintf(b, sizeof b, "%.*s.lora_B.weight", mlen, e->name);
    // PEFT's init: A Kaiming-uniform (a = √5): U(-1/√in, 1/√in); B zero
    zy_tensor_def da = {.name = a, .ndim = 2, .shape = {r, in}, .decay = true,
                        .init = ZY_INIT_UNIFORM, .init_std = 1.0f / sqrtf((float)in),
                        .dims = "r, in_features", .adapter = true};
    zy_tensor_def db = {.name = b, .ndim = 2, .shape = {out, r}, .decay = true,
                        .init = ZY_INIT_ZEROS, .dims = "out_features, r", .adapter = true};
    zy__lora_site *s = &l->sites[l->n_sites];
    *s = (zy__lora_site){.weight = i, .in = (int)in, .out = (int)out};
    zy_status st;
    if ((st = zy_tensor_table_add(m->table, &da, &s->a)) ||
        (st = zy_tensor_table_add(m->table, &db, &s->b)))
        return st;
    l->site_of[i] = l->n_sites++;
    return ZY_STATUS_OK;
}

zy_status zy__lora_attach(zy_model *m, const zy_lora_config *lc, const char *base_dir) {
    zy_status st = check_config(lc);
    if (st) return st;
    const int n = zy_tensor_table_count(m->table);
    const char *targets = lc->targets ? lc->targets : default_targets(m->ops->model_type);
    if (!targets)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: model_type '%s' has no default "
                         "targets: name the linear layers to adapt", m->ops->model_type);
    const char *modules = lc->modules_to_save ? lc->modules_to_save
                                              : default_modules(zy__lora_task_type(m));
    zy__lora *l = zy_calloc(1, sizeof *l);
    bool *chosen = zy_calloc((size_t)n, sizeof *chosen);
    if (!l || !chosen ||
        !(l->site_of = zy_alloc((size_t)n * sizeof *l->site_of)) ||
        !(l->keep = zy_calloc((size_t)n, sizeof *l->keep)) ||
        !(l->targets = zy__strdup(targets)) || (modules && !(l->modules = zy__strdup(modules))) ||
        (lc->base_model_name_or_path && !(l->base = zy__strdup(lc->base_model_name_or_path))) ||
        (!lc->base_model_name_or_path && base_dir && !(l->base = zy__strdup(base_dir)))) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "lora: out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++) l->site_of[i] = -1;
    if ((st = resolve_targets(m, targets, n, chosen)) ||
        (st = resolve_keep(m, modules, lc->bias, n, chosen, l->keep)))
        goto fail;
    int sites = 0;
    for (int i = 0; i < n; i++) sites += chosen[i];
    if (!(l->sites = zy_alloc((size_t)sites * sizeof *l->sites))) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "lora: out of memory");
        goto fail;
    }
    l->n_base = n;
    for (int i = 0; i < n; i++)
        if (chosen[i] && (st = add_site(m, l, i, lc->r))) goto fail;
    l->cfg = *lc;
    l->cfg.targets = l->targets;
    l->cfg.modules_to_save = l->modules;
    l->cfg.base_model_name_or_path = l->base;
    l->scale = lc->use_rslora ? lc->alpha / sqrtf((float)lc->r) : lc->alpha / (float)lc->r;
    m->lora = l;
    m->info.n_params = zy_tensor_table_floats(m->table);
    zy_free(chosen);
    return ZY_STATUS_OK;
fail:
    // entries added before a failure are the caller's to drop with the model
    zy_free(chosen);
    zy__lora_free(l);
    return st;
}

// Module `name[0..n)` appended to l->modules (a comma-separated list) unless listed.
static zy_status add_module(zy__lora *l, const char *name, size_t n) {
    size_t have = l->modules ? strlen(l->modules) : 0;
    for (const char *p = l->modules; p && *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && !memcmp(p, name, n)) return ZY_STATUS_OK;
        p = e ? e + 1 : p + k;
    }
    char *s = zy_alloc(have + n + 2);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "lora: out of memory");
    if (have) memcpy(s, l->modules, have), s[have++] = ',';
    memcpy(s + have, name, n);
    s[have + n] = '\0';
    zy_free(l->modules);
    l->modules = s;
    l->cfg.modules_to_save = s;
    return ZY_STATUS_OK;
}

zy_status zy__lora_init(zy_model *m) {
    zy__lora *l = m->lora;
    for (int i = 0; i < l->n_base; i++) {
        if (!m->missing[i] || l->keep[i] == ZY__LORA_KEEP_MODULE) continue;
        const char *name = zy_tensor_table_at(m->table, i)->name;
        if (l->site_of[i] >= 0)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: '%s' is not in the base "
                             "model's file (it was initialised), so it cannot be adapted: "
                             "leave its module out of the targets (it then trains in full)",
                             name);
        zy_status st = add_module(l, name, module_len(name));
        if (st) return st;
        l->keep[i] = ZY__LORA_KEEP_MODULE;
    }
    for (int k = 0; k < l->n_sites; k++) {
        zy_tensor_table_init_entry(m->table, m->params, l->sites[k].a, l->cfg.seed);
        zy_tensor_table_init_entry(m->table, m->params, l->sites[k].b, l->cfg.seed);
    }
    for (int i = 0; i < zy_tensor_table_count(m->table); i++)
        m->trainable[i] = i >= l->n_base || l->keep[i] != ZY__LORA_KEEP_NONE;
    return ZY_STATUS_OK;
}

zy_status zy__lora_keep_name(const zy_model *m, int i, char *buf, size_t cap) {
    const zy__lora *l = m->lora;
    const char *name = zy_tensor_table_at(m->table, i)->name;
    int w = -1;
    if (l->keep[i] == ZY__LORA_KEEP_BIAS) { // an adapted module's bias is its base layer's
        char weight[NAME_MAX_LEN];
        int mlen = (int)module_len(name);
        int k = snprintf(weight, sizeof weight, "%.*s.weight", mlen, name);
        int j = k > 0 && (size_t)k < sizeof weight ? zy_tensor_table_find(m->table, weight) : -1;
        if (j >= 0 && j < l->n_base && l->site_of[j] >= 0)
            w = snprintf(buf, cap, "base_model.model.%.*s.base_layer.bias", mlen, name);
    }
    if (w < 0) w = snprintf(buf, cap, "base_model.model.%s", name);
    if (w < 0 || (size_t)w >= cap)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lora: tensor name '%s' too long", name);
    return ZY_STATUS_OK;
}

// ---- implementations, merging -----------------------------------------------------------------

bool zy_session_lora(const zy_session *s, int tensor, zy_lora *out) {
    const zy_model *m = s->m;
    const zy__lora *l = m->lora;
    if (!l || tensor < 0 || tensor >= l->n_base || l->site_of[tensor] < 0) return false;
    const zy__lora_site *k = &l->sites[l->site_of[tensor]];
    *out = (zy_lora){.A = m->ptrs[k->a], .B = m->ptrs[k->b],
                     .dA = s->has_grads ? s->grad_ptrs[k->a] : NULL,
                     .dB = s->has_grads ? s->grad_ptrs[k->b] : NULL,
                     .r = l->cfg.r, .in = k->in, .rows = k->out, .col0 = 0, .scale = l->scale};
    return true;
}

void zy__lora_block_add(const zy_session *s, zy_block_lora *b, int j, int tensor, int col0) {
    zy_lora a;
    if (!zy_session_lora(s, tensor, &a)) return;
    ZY_ASSERT(b->n[j] < ZY_BLOCK_LORA_MAX);
    a.col0 = col0;
    b->a[j][b->n[j]++] = a;
}

bool zy__lora_block_trains(const zy_block_lora *b) {
    for (int j = 0; b && j < ZY_BLOCK_LINEARS; j++)
        for (int k = 0; k < b->n[j]; k++)
            if (b->a[j][k].dA || b->a[j][k].dB) return true;
    return false;
}

bool zy__block_params_any(const zy_block_params *g) {
    const zy_mha_params *m[2] = {&g->self_attn, &g->cross_attn};
    for (int i = 0; i < 2; i++)
        if (m[i]->in_proj_weight || m[i]->in_proj_bias || m[i]->out_proj_weight ||
            m[i]->out_proj_bias)
            return true;
    return g->w1 || g->b1 || g->w2 || g->b2 || g->ln1w || g->ln1b || g->ln2w || g->ln2b ||
           g->ln3w || g->ln3b;
}

zy_status zy_model_merge_adapter(zy_model *m) {
    zy__lora *l = m->lora;
    if (!l)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "merge adapter: the model has no adapter");
    zy_status st = zy_tensor_table_truncate(m->table, l->n_base);
    if (st) return st;
    for (int k = 0; k < l->n_sites; k++) { // W (out, in) += scale · B (out, r) · A (r, in)
        const zy__lora_site *s = &l->sites[k];
        zy_sgemm(false, false, s->out, s->in, l->cfg.r, l->scale, m->ptrs[s->b], l->cfg.r,
                 m->ptrs[s->a], s->in, 1.0f, m->ptrs[s->weight], s->in);
    }
    for (int i = 0; i < l->n_base; i++) m->trainable[i] = true;
    m->info.n_params = zy_tensor_table_floats(m->table);
    m->lora = NULL;
    zy__lora_free(l);
    return ZY_STATUS_OK;
}
