// GPT model object: creation, the flat parameter layout and its Hugging Face tensor table,
// GPT-2 initialisation, optimizer parameter groups and the FLOP count. Forward/backward
// are in gpt_forward.c / gpt_backward.c, decoding in gpt_decode.c, files in gpt_io.c.
//
// Flat layout (floats, in this order; HF GPT2LMHeadModel.named_parameters() order):
//   wte (V,C), wpe (P,C),
//   per block l: ln_1.weight (C), ln_1.bias (C), attn.c_attn.weight (3C,C)ᵀ,
//     attn.c_attn.bias (3C), attn.c_proj.weight (C,C)ᵀ, attn.c_proj.bias (C),
//     ln_2.weight (C), ln_2.bias (C), mlp.c_fc.weight (4C,C)ᵀ, mlp.c_fc.bias (4C),
//     mlp.c_proj.weight (C,4C)ᵀ, mlp.c_proj.bias (C),
//   ln_f.weight (C), ln_f.bias (C)
// (ᵀ: stored (out, in) for the GEMMs, while HF's Conv1D stores (in, out).)
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "models/gpt_internal.h"

#define GPT_NAME_MAX 64

typedef struct tensor_spec {
    const char *suffix;
    int rows_mul, cols_mul; // stored shape (rows_mul*C or 1-D, cols_mul*C); 0 = 1-D
    bool transposed, decay;
} tensor_spec;

// Per block, in layout order. Stored shape: 1-D tensors have cols_mul 0.
static const tensor_spec BLOCK[GPT_TENSORS_PER_LAYER] = {
    {"ln_1.weight", 1, 0, false, false},     {"ln_1.bias", 1, 0, false, false},
    {"attn.c_attn.weight", 3, 1, true, true}, {"attn.c_attn.bias", 3, 0, false, false},
    {"attn.c_proj.weight", 1, 1, true, true}, {"attn.c_proj.bias", 1, 0, false, false},
    {"ln_2.weight", 1, 0, false, false},     {"ln_2.bias", 1, 0, false, false},
    {"mlp.c_fc.weight", 4, 1, true, true},   {"mlp.c_fc.bias", 4, 0, false, false},
    {"mlp.c_proj.weight", 1, 4, true, true}, {"mlp.c_proj.bias", 1, 0, false, false},
};

static size_t block_floats(int C) {
    size_t c = (size_t)C;
    return 2 * c + 3 * c * c + 3 * c + c * c + c + 2 * c + 4 * c * c + 4 * c + 4 * c * c + c;
}

gpt_weights zy__gpt_weights(const zy_gpt *m, float *base) {
    size_t V = (size_t)m->cfg.vocab_size, C = (size_t)m->cfg.n_embd;
    size_t P = (size_t)m->cfg.n_positions, L = (size_t)m->cfg.n_layer;
    gpt_weights w;
    w.wte = base;
    w.wpe = w.wte + V * C;
    w.lnfw = w.wpe + P * C + L * block_floats((int)C);
    w.lnfb = w.lnfw + C;
    return w;
}

gpt_layer zy__gpt_layer(const zy_gpt *m, float *base, int l) {
    size_t V = (size_t)m->cfg.vocab_size, C = (size_t)m->cfg.n_embd;
    size_t P = (size_t)m->cfg.n_positions;
    float *p = base + (V + P) * C + (size_t)l * block_floats((int)C);
    gpt_layer g;
    g.ln1w = p, p += C;
    g.ln1b = p, p += C;
    zy_mha_params_init(&g.attn, p, (int)C);
    p += zy_mha_param_count((int)C);
    g.ln2w = p, p += C;
    g.ln2b = p, p += C;
    g.fcw = p, p += 4 * C * C;
    g.fcb = p, p += 4 * C;
    g.projw = p, p += 4 * C * C;
    g.projb = p;
    return g;
}

// Fill the tensor table (names into m->names) in layout order.
static void build_table(zy_gpt *m) {
    int C = m->cfg.n_embd, L = m->cfg.n_layer;
    size_t off = 0;
    int i = 0;
    char *names = m->names;
#define ADD(nm, nd, s0, s1, tr, dec)                                                       \
    do {                                                                                   \
        zy_gpt_tensor *t = &m->tensors[i++];                                               \
        snprintf(names, GPT_NAME_MAX, "%s", nm);                                           \
        t->name = names;                                                                   \
        names += GPT_NAME_MAX;                                                             \
        t->ndim = nd;                                                                      \
        t->shape[0] = s0;                                                                  \
        t->shape[1] = nd == 2 ? s1 : 0;                                                    \
        t->count = (size_t)(s0) * (nd == 2 ? (size_t)(s1) : 1);                            \
        t->offset = off;                                                                   \
        t->transposed = tr;                                                                \
        t->decay = dec;                                                                    \
        off += t->count;                                                                   \
    } while (0)
    ADD("transformer.wte.weight", 2, m->cfg.vocab_size, C, false, false);
    ADD("transformer.wpe.weight", 2, m->cfg.n_positions, C, false, false);
    for (int l = 0; l < L; l++)
        for (int k = 0; k < GPT_TENSORS_PER_LAYER; k++) {
            const tensor_spec *s = &BLOCK[k];
            char nm[GPT_NAME_MAX];
            snprintf(nm, sizeof nm, "transformer.h.%d.%s", l, s->suffix);
            int rows = s->rows_mul * C, cols = s->cols_mul * C;
            if (!s->cols_mul)
                ADD(nm, 1, rows, 0, false, false);
            else // HF shape of a Conv1D is (in, out): the transpose of what is stored
                ADD(nm, 2, cols, rows, s->transposed, s->decay);
        }
    ADD("transformer.ln_f.weight", 1, C, 0, false, false);
    ADD("transformer.ln_f.bias", 1, C, 0, false, false);
#undef ADD
    ZY_ASSERT(i == m->n_tensors && off == m->n_params);
}

zy_status zy_gpt_create(zy_gpt **out, const zy_gpt_config *c) {
    *out = NULL;
    zy_status st = zy_gpt_config_validate(c);
    if (st) return st;
    zy_gpt *m = zy_calloc(1, sizeof *m);
    if (!m) goto fail_struct;
    m->cfg = *c;
    m->n_params = ((size_t)c->vocab_size + (size_t)c->n_positions) * (size_t)c->n_embd +
                  (size_t)c->n_layer * block_floats(c->n_embd) + 2 * (size_t)c->n_embd;
    m->n_tensors = GPT_TENSORS_OUTSIDE + GPT_TENSORS_PER_LAYER * c->n_layer;
    m->tensors = zy_calloc((size_t)m->n_tensors, sizeof *m->tensors);
    if (!m->tensors) goto fail_tensors;
    m->names = zy_calloc((size_t)m->n_tensors, GPT_NAME_MAX);
    if (!m->names) goto fail_names;
    m->params = zy_calloc(m->n_params, sizeof(float));
    if (!m->params) goto fail_params;
    m->grads = zy_calloc(m->n_params, sizeof(float));
    if (!m->grads) goto fail_grads;
    build_table(m);
    *out = m;
    return ZY_STATUS_OK;
fail_grads:
    zy_free(m->params);
fail_params:
    zy_free(m->names);
fail_names:
    zy_free(m->tensors);
fail_tensors:
    zy_free(m);
fail_struct:
    return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gpt: out of memory for %zu parameters",
                     ((size_t)c->vocab_size + (size_t)c->n_positions) * (size_t)c->n_embd +
                         (size_t)c->n_layer * block_floats(c->n_embd));
}

void zy_gpt_free(zy_gpt *m) {
    if (!m) return;
    zy_kv_cache_free(m->cache);
    zy_free(m->dec);
    zy_free(m->acts);
    zy_free(m->grads);
    zy_free(m->params);
    zy_free(m->names);
    zy_free(m->tensors);
    zy_free(m);
}

const zy_gpt_config *zy_gpt_get_config(const zy_gpt *m) { return &m->cfg; }

float *zy_gpt_params(zy_gpt *m, size_t *n) {
    if (n) *n = m->n_params;
    return m->params;
}

float *zy_gpt_grads(zy_gpt *m, size_t *n) {
    if (n) *n = m->n_params;
    return m->grads;
}

void zy_gpt_zero_grads(zy_gpt *m) { memset(m->grads, 0, m->n_params * sizeof *m->grads); }

int zy_gpt_tensor_count(const zy_gpt *m) { return m->n_tensors; }

const zy_gpt_tensor *zy_gpt_tensor_at(const zy_gpt *m, int i) {
    return i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}

// Each tensor is cut into chunks of INIT_CHUNK floats and chunk k of tensor i draws from
// its own stream seeded by hash(seed, i, k): the weights depend on the seed alone (not the
// thread count), and the chunks, ~124M Box-Muller normals for gpt2-124m, fill in parallel.
#define INIT_CHUNK 65536

static void init_tensor(float *p, const zy_gpt_tensor *t, int index, uint64_t seed,
                        float proj_std) {
    const char *base = strrchr(t->name, '.'); // ".weight" or ".bias"
    if (!strcmp(base, ".bias")) {
        memset(p, 0, t->count * sizeof *p);
        return;
    }
    if (strstr(t->name, ".ln_")) { // layernorm gains
        for (size_t k = 0; k < t->count; k++) p[k] = 1.0f;
        return;
    }
    float std = strstr(t->name, "c_proj.weight") ? proj_std : 0.02f;
    long chunks = (long)((t->count + INIT_CHUNK - 1) / INIT_CHUNK);
    int par = !zy__in_parallel() && chunks > 1;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 4) if (par)
#endif
    for (long k = 0; k < chunks; k++) {
        zy_rng rng;
        zy_rng_seed(&rng, zy_hash64(seed, ((uint64_t)index << 32) | (uint64_t)k));
        size_t off = (size_t)k * INIT_CHUNK;
        size_t n = ZY_MIN((size_t)INIT_CHUNK, t->count - off);
        zy_rng_fill_normal(&rng, p + off, n, 0.0f, std);
    }
}

void zy_gpt_init_weights(zy_gpt *m, uint64_t seed) {
    float proj_std = 0.02f / sqrtf(2.0f * (float)m->cfg.n_layer);
    for (int i = 0; i < m->n_tensors; i++)
        init_tensor(m->params + m->tensors[i].offset, &m->tensors[i], i, seed, proj_std);
}

int zy_gpt_param_groups(const zy_gpt *m, float weight_decay, zy_param_group *groups, int max) {
    int n = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const zy_gpt_tensor *t = &m->tensors[i];
        float wd = t->decay ? weight_decay : 0.0f;
        // Adjacent tensors with the same decay merge: 12 blocks give ~100 groups, not 150.
        if (n > 0 && groups[n - 1].weight_decay == wd &&
            groups[n - 1].offset + groups[n - 1].count == t->offset) {
            groups[n - 1].count += t->count;
            continue;
        }
        if (n == max) break;
        groups[n].offset = t->offset;
        groups[n].count = t->count;
        groups[n].weight_decay = wd;
        n++;
    }
    return n;
}

// Matmul FLOPs (2 per multiply-add) times 3 (forward, and backward's two products), plus
// attention's QKᵀ and AV over the full T×T (as llm.c and PyTorch profilers count them).
double zy_gpt_train_flops(const zy_gpt_config *c, int B, int T) {
    double C = c->n_embd, L = c->n_layer, V = c->vocab_size, N = (double)B * T;
    double per_token = 2.0 * (L * 12.0 * C * C + C * V);
    double attn = L * 2.0 * 2.0 * (double)B * T * (double)T * C;
    return 3.0 * (per_token * N + attn);
}
