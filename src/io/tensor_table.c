// The named-tensor table (hf.h): building it (entries, ties, prefixes), finding entries by
// name, the checkpoint-name aliases, and initialisation by each entry's rule. Reading and
// writing model.safetensors through the table is tensor_table_io.c. Not here: which
// tensors a model has (the models add them).
//
// Entries take consecutive ranges of the flat array in the order they are added. A name
// index (open addressing over FNV-1a hashes) maps each file tensor's name to its first
// entry, so adding and finding stay O(1) for tables of thousands of tensors; the parts of
// a split file tensor are chained through link[].next.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "io/safetensors.h"
#include "io/tensor_table.h"

#define INVALID(...) zy__error(ZY_STATUS_INVALID_ARGUMENT, __VA_ARGS__)
// Far beyond any tensor, and keeps (i << 32) | k of the init rule collision-free.
#define MAX_ENTRY_FLOATS ((size_t)1 << 46)

zy_status zy_tensor_table_create(zy_tensor_table **out) {
    *out = zy_calloc(1, sizeof **out);
    if (!*out) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tensor table: out of memory");
    return ZY_STATUS_OK;
}

void zy_tensor_table_free(zy_tensor_table *t) {
    if (!t) return;
    for (int i = 0; i < t->n; i++) {
        zy_free((char *)t->e[i].name);
        zy_free((char *)t->e[i].dims);
    }
    for (int i = 0; i < t->n_ties; i++) zy_free(t->ties[i].name);
    for (int i = 0; i < t->n_prefixes; i++) zy_free(t->prefixes[i]);
    zy_free(t->e);
    zy_free(t->link);
    zy_free(t->ties);
    zy_free(t->prefixes);
    zy_free(t->slots);
    zy_free(t);
}

// ---- the name index ---------------------------------------------------------------------

static uint64_t hash_name(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

// The slot holding `name`, or the empty slot where it would go.
static size_t slot_of(const zy_tensor_table *t, const char *name) {
    size_t mask = t->n_slots - 1, j = (size_t)hash_name(name) & mask;
    while (t->slots[j] >= 0 && strcmp(t->e[t->slots[j]].name, name)) j = (j + 1) & mask;
    return j;
}

int zy_tensor_table_find(const zy_tensor_table *t, const char *name) {
    return t->n_slots ? t->slots[slot_of(t, name)] : -1;
}

// Room for one more file tensor in the index (`groups` file tensors so far).
static zy_status index_reserve(zy_tensor_table *t, size_t groups) {
    if (2 * (groups + 1) <= t->n_slots) return ZY_STATUS_OK;
    size_t n = t->n_slots ? 2 * t->n_slots : 64;
    int *slots = zy_alloc(n * sizeof *slots), *old = t->slots;
    if (!slots) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tensor table: out of memory");
    for (size_t j = 0; j < n; j++) slots[j] = -1;
    t->slots = slots;
    t->n_slots = n;
    for (int i = 0; i < t->n; i++)
        if (t->link[i].first == i) t->slots[slot_of(t, t->e[i].name)] = i;
    zy_free(old);
    return ZY_STATUS_OK;
}

static bool is_tie(const zy_tensor_table *t, const char *name) {
    for (int i = 0; i < t->n_ties; i++)
        if (!strcmp(t->ties[i].name, name)) return true;
    return false;
}

// A name the table can store and safetensors can hold.
static zy_status check_name(const char *name) {
    if (!name || !*name) return INVALID("tensor table: empty tensor name");
    if (!zy__utf8_valid(name, strlen(name), NULL))
        return INVALID("tensor table: tensor name is not valid UTF-8");
    if (!strcmp(name, "__metadata__"))
        return INVALID("tensor table: '__metadata__' cannot name a tensor");
    return ZY_STATUS_OK;
}

// ---- adding entries ---------------------------------------------------------------------

// Everything about def that does not depend on other entries; *count its floats.
static zy_status check_def(const zy_tensor_def *d, size_t *count) {
    zy_status s = check_name(d->name);
    if (s) return s;
    if (d->ndim < 1 || d->ndim > ZY_TENSOR_MAX_DIMS)
        return INVALID("tensor table: '%s': %d dimensions (1 to %d)", d->name, d->ndim,
                       ZY_TENSOR_MAX_DIMS);
    size_t n = 1;
    for (int k = 0; k < d->ndim; k++) {
        if (d->shape[k] < 1 || (uint64_t)d->shape[k] > MAX_ENTRY_FLOATS / n)
            return INVALID("tensor table: '%s': bad size %lld of dimension %d", d->name,
                           (long long)d->shape[k], k);
        n *= (size_t)d->shape[k];
    }
    if (d->transposed && d->ndim != 2)
        return INVALID("tensor table: '%s': only 2-D tensors can be kept transposed", d->name);
    if (d->init != ZY_INIT_ZEROS && d->init != ZY_INIT_ONES && d->init != ZY_INIT_NORMAL &&
        d->init != ZY_INIT_UNIFORM)
        return INVALID("tensor table: '%s': unknown init rule %d", d->name, (int)d->init);
    if ((d->init == ZY_INIT_NORMAL || d->init == ZY_INIT_UNIFORM) &&
        !(d->init_std >= 0.0f && isfinite(d->init_std)))
        return INVALID("tensor table: '%s': init_std %g", d->name, (double)d->init_std);
    size_t len = strlen(d->name);
    if (d->linear && (d->ndim != 2 || len < 8 || strcmp(d->name + len - 7, ".weight")))
        return INVALID("tensor table: '%s': a linear layer's weight is 2-D and named "
                       "'<module>.weight'", d->name);
    if (d->quantize && d->ndim != 2)
        return INVALID("tensor table: '%s': only a 2-D tensor has a weight type", d->name);
    if (d->adapter && (d->linear || d->quantize || d->part_total || d->optional))
        return INVALID("tensor table: '%s': an adapter tensor is not linear, optional or a "
                       "part", d->name);
    if (d->part_total < 0) return INVALID("tensor table: '%s': part_total < 0", d->name);
    if (d->part_total > 0) {
        if (d->part_dim < 0 || d->part_dim >= d->ndim)
            return INVALID("tensor table: '%s': part_dim %d of a %d-D tensor", d->name,
                           d->part_dim, d->ndim);
        if (d->part_start < 0 || d->part_start > d->part_total - d->shape[d->part_dim] ||
            (uint64_t)d->part_total > MAX_ENTRY_FLOATS / (n / (size_t)d->shape[d->part_dim]))
            return INVALID("tensor table: '%s': part [%lld, %lld) does not fit in %lld along "
                           "dimension %d",
                           d->name, (long long)d->part_start,
                           (long long)(d->part_start + d->shape[d->part_dim]),
                           (long long)d->part_total, d->part_dim);
    }
    *count = n;
    return ZY_STATUS_OK;
}

// def is another part of the file tensor whose first entry is f.
static zy_status check_part(const zy_tensor_table *t, const zy_tensor_def *d, int f) {
    const zy_tensor *a = &t->e[f];
    if (!a->part_total || !d->part_total)
        return INVALID("tensor table: duplicate tensor name '%s'", d->name);
    bool same = a->ndim == d->ndim && a->part_dim == d->part_dim &&
                a->part_total == d->part_total;
    for (int k = 0; same && k < d->ndim; k++)
        same = k == d->part_dim || a->shape[k] == d->shape[k];
    if (!same)
        return INVALID("tensor table: parts of '%s' disagree on the file tensor's shape or "
                       "split dimension", d->name);
    int64_t lo = d->part_start, hi = lo + d->shape[d->part_dim];
    for (int p = f; p >= 0; p = t->link[p].next) {
        int64_t plo = t->e[p].part_start, phi = plo + t->e[p].shape[d->part_dim];
        if (lo < phi && plo < hi)
            return INVALID("tensor table: parts of '%s' overlap ([%lld, %lld) and [%lld, "
                           "%lld) along dimension %d)",
                           d->name, (long long)plo, (long long)phi, (long long)lo,
                           (long long)hi, d->part_dim);
    }
    return ZY_STATUS_OK;
}

static zy_status grow_entries(zy_tensor_table *t) {
    if (t->n < t->cap) return ZY_STATUS_OK;
    if (t->cap > (1 << 28)) return INVALID("tensor table: too many entries");
    int cap = t->cap ? 2 * t->cap : 64;
    zy_tensor *e = zy_alloc((size_t)cap * sizeof *e);
    zy__tt_link *link = zy_alloc((size_t)cap * sizeof *link);
    if (!e || !link) {
        zy_free(e);
        zy_free(link);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tensor table: out of memory");
    }
    if (t->n) {
        memcpy(e, t->e, (size_t)t->n * sizeof *e);
        memcpy(link, t->link, (size_t)t->n * sizeof *link);
    }
    zy_free(t->e);
    zy_free(t->link);
    t->e = e;
    t->link = link;
    t->cap = cap;
    return ZY_STATUS_OK;
}

zy_status zy_tensor_table_add(zy_tensor_table *t, const zy_tensor_def *d, int *index) {
    size_t count = 0;
    zy_status s = check_def(d, &count);
    if (s) return s;
    if (is_tie(t, d->name)) return INVALID("tensor table: '%s' is already a tie", d->name);
    int f = zy_tensor_table_find(t, d->name);
    if (f >= 0 && (s = check_part(t, d, f))) return s;
    if (count > MAX_ENTRY_FLOATS - t->floats)
        return INVALID("tensor table: '%s': the table would exceed 2^46 floats", d->name);
    if (f < 0 && (s = index_reserve(t, (size_t)t->groups))) return s;
    if ((s = grow_entries(t))) return s;
    char *name = zy__strdup(d->name), *dims = d->dims ? zy__strdup(d->dims) : NULL;
    if (!name || (d->dims && !dims)) {
        zy_free(name);
        zy_free(dims);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tensor table: out of memory");
    }
    int i = t->n++;
    zy_tensor *e = &t->e[i];
    memset(e, 0, sizeof *e);
    e->name = name;
    e->dims = dims;
    e->ndim = d->ndim;
    memcpy(e->shape, d->shape, (size_t)d->ndim * sizeof *e->shape);
    e->offset = t->floats;
    e->count = count;
    e->transposed = d->transposed;
    e->decay = d->decay;
    e->optional = d->optional;
    e->head = d->head;
    e->linear = d->linear;
    e->adapter = d->adapter;
    e->quantize = d->quantize;
    e->init = d->init;
    e->init_std = d->init == ZY_INIT_NORMAL || d->init == ZY_INIT_UNIFORM ? d->init_std : 0.0f;
    if (d->part_total > 0) {
        e->part_dim = d->part_dim;
        e->part_start = d->part_start;
        e->part_total = d->part_total;
    }
    t->link[i] = (zy__tt_link){.first = f >= 0 ? f : i, .next = -1, .chunk0 = t->chunks};
    if (f >= 0) {
        int p = f;
        while (t->link[p].next >= 0) p = t->link[p].next;
        t->link[p].next = i;
    } else {
        t->slots[slot_of(t, name)] = i;
        t->groups++;
    }
    t->floats += count;
    t->chunks += (count + ZY_INIT_CHUNK - 1) / ZY_INIT_CHUNK;
    t->longest_name = ZY_MAX(t->longest_name, strlen(name));
    if (index) *index = i;
    return ZY_STATUS_OK;
}

zy_status zy_tensor_table_tie(zy_tensor_table *t, const char *name, int target) {
    zy_status s = check_name(name);
    if (s) return s;
    if (target < 0 || target >= t->n)
        return INVALID("tensor table: tie '%s': no entry %d", name, target);
    if (t->e[target].part_total)
        return INVALID("tensor table: tie '%s': its target '%s' is part of a split tensor",
                       name, t->e[target].name);
    if (zy_tensor_table_find(t, name) >= 0 || is_tie(t, name))
        return INVALID("tensor table: duplicate tensor name '%s'", name);
    if (t->n_ties == t->cap_ties) {
        int cap = t->cap_ties ? 2 * t->cap_ties : 8;
        zy__tt_tie *ties = zy_alloc((size_t)cap * sizeof *ties);
        if (!ties) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tensor table: out of memory");
        if (t->n_ties) memcpy(ties, t->ties, (size_t)t->n_ties * sizeof *ties);
        zy_free(t->ties);
        t->ties = ties;
        t->cap_ties = cap;
    }
    char *copy = zy__strdup(name);
    if (!copy) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tensor table: out of memory");
    t->ties[t->n_ties++] = (zy__tt_tie){copy, target};
    t->longest_name = ZY_MAX(t->longest_name, strlen(name));
    return ZY_STATUS_OK;
}

zy_status zy_tensor_table_add_prefix(zy_tensor_table *t, const char *prefix) {
    if (!prefix || !*prefix) return INVALID("tensor table: empty prefix");
    for (int i = 0; i < t->n_prefixes; i++)
        if (!strcmp(t->prefixes[i], prefix)) return ZY_STATUS_OK;
    if (t->n_prefixes >= 64) return INVALID("tensor table: too many prefixes");
    char **p = zy_alloc((size_t)(t->n_prefixes + 1) * sizeof *p);
    char *copy = zy__strdup(prefix);
    if (!p || !copy) {
        zy_free(p);
        zy_free(copy);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tensor table: out of memory");
    }
    if (t->n_prefixes) memcpy(p, t->prefixes, (size_t)t->n_prefixes * sizeof *p);
    p[t->n_prefixes++] = copy;
    zy_free(t->prefixes);
    t->prefixes = p;
    t->longest_prefix = ZY_MAX(t->longest_prefix, strlen(prefix));
    return ZY_STATUS_OK;
}

zy_status zy_tensor_table_truncate(zy_tensor_table *t, int n) {
    if (n < 0 || n > t->n) return INVALID("tensor table: truncate to %d of %d entries", n, t->n);
    for (int i = 0; i < t->n_ties; i++)
        if (t->ties[i].target >= n)
            return INVALID("tensor table: truncate to %d entries: tie '%s' names entry %d", n,
                           t->ties[i].name, t->ties[i].target);
    for (int i = 0; i < n; i++)
        if (t->link[i].next >= n)
            return INVALID("tensor table: truncate to %d entries would split '%s'", n,
                           t->e[i].name);
    for (int i = n; i < t->n; i++) {
        if (t->link[i].first == i) t->groups--;
        zy_free((char *)t->e[i].name);
        zy_free((char *)t->e[i].dims);
    }
    t->n = n;
    t->floats = n ? t->e[n - 1].offset + t->e[n - 1].count : 0;
    t->chunks = n ? t->link[n - 1].chunk0 + (t->e[n - 1].count + ZY_INIT_CHUNK - 1) /
                                                ZY_INIT_CHUNK
                  : 0;
    // Open addressing has no deletion: the index is rebuilt from the entries kept.
    for (size_t j = 0; j < t->n_slots; j++) t->slots[j] = -1;
    for (int i = 0; i < n; i++)
        if (t->link[i].first == i) t->slots[slot_of(t, t->e[i].name)] = i;
    return ZY_STATUS_OK;
}

int zy_tensor_table_count(const zy_tensor_table *t) { return t->n; }

const zy_tensor *zy_tensor_table_at(const zy_tensor_table *t, int i) {
    return i >= 0 && i < t->n ? &t->e[i] : NULL;
}

size_t zy_tensor_table_floats(const zy_tensor_table *t) { return t->floats; }

// ---- shapes and aliases -----------------------------------------------------------------

void zy__tt_file_shape(const zy_tensor *e, int64_t shape[ZY_TENSOR_MAX_DIMS]) {
    memcpy(shape, e->shape, ZY_TENSOR_MAX_DIMS * sizeof *shape);
    if (e->part_total) shape[e->part_dim] = e->part_total;
}

size_t zy__tt_file_numel(const zy_tensor *e) {
    return e->part_total ? e->count / (size_t)e->shape[e->part_dim] * (size_t)e->part_total
                         : e->count;
}

size_t zy__tt_alias_cap(const zy_tensor_table *t) {
    return t->longest_name + t->longest_prefix + 8; // + "gamma" for "bias" + NUL
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

const char *zy__tt_alias(const zy_tensor_table *t, const char *name, int ndim, int k,
                         char *buf) {
    int per_base = 1 + t->n_prefixes, base = k / per_base, variant = k % per_base;
    // Base 0 is the name; base 1 the LayerNorm spelling of old checkpoints (1-D only).
    char spelled[16];
    size_t keep = strlen(name);
    if (base == 1 && ndim == 1 && ends_with(name, ".weight")) {
        keep -= strlen("weight");
        snprintf(spelled, sizeof spelled, "gamma");
    } else if (base == 1 && ndim == 1 && ends_with(name, ".bias")) {
        keep -= strlen("bias");
        snprintf(spelled, sizeof spelled, "beta");
    } else if (base == 0) {
        spelled[0] = 0;
    } else {
        return NULL;
    }
    char *b = buf;
    if (variant > 0) {
        const char *p = t->prefixes[variant - 1];
        size_t np = strlen(p);
        if (np <= keep && !strncmp(name, p, np)) { // the checkpoint may lack the prefix ...
            name += np;
            keep -= np;
        } else { // ... or carry one the table's name lacks
            memcpy(b, p, np);
            b += np;
        }
    }
    memcpy(b, name, keep);
    snprintf(b + keep, strlen(spelled) + 1, "%s", spelled);
    return buf;
}

// ---- initialisation ---------------------------------------------------------------------

typedef struct init_job {
    const zy_tensor_table *t;
    float *params;
    uint64_t seed;
    int only;   // one entry's chunks (numbered from 0), or -1: the whole table's
    float *dst; // with only: that entry's values here instead of at params + its offset
} init_job;

static void init_chunk(const zy_tensor_table *t, float *params, float *dst, int i, size_t k,
                       uint64_t seed) {
    const zy_tensor *e = &t->e[i];
    size_t off = k * ZY_INIT_CHUNK, n = ZY_MIN((size_t)ZY_INIT_CHUNK, e->count - off);
    float *p = (dst ? dst : params + e->offset) + off;
    if (e->init == ZY_INIT_ZEROS) {
        memset(p, 0, n * sizeof *p);
    } else if (e->init == ZY_INIT_ONES) {
        for (size_t j = 0; j < n; j++) p[j] = 1.0f;
    } else {
        zy_rng rng;
        zy_rng_seed(&rng, zy_hash64(seed, ((uint64_t)i << 32) | (uint64_t)k));
        if (e->init == ZY_INIT_UNIFORM)
            zy_rng_fill_uniform(&rng, p, n, -e->init_std, e->init_std);
        else
            zy_rng_fill_normal(&rng, p, n, 0.0f, e->init_std);
    }
}

static void init_range(void *ctx, size_t begin, size_t end, int thread) {
    (void)thread;
    const init_job *j = ctx;
    const zy_tensor_table *t = j->t;
    for (size_t c = begin; c < end; c++) {
        int i = j->only;
        if (i < 0) { // the entry owning chunk c: the last with chunk0 <= c
            int lo = 0, hi = t->n - 1;
            while (lo < hi) {
                int mid = lo + (hi - lo + 1) / 2;
                if (t->link[mid].chunk0 <= c) lo = mid;
                else hi = mid - 1;
            }
            i = lo;
        }
        init_chunk(t, j->params, j->dst, i, j->only < 0 ? c - t->link[i].chunk0 : c, j->seed);
    }
}

// Every chunk is a separate item (grain 1): a chunk is ~65536 normals, long enough that
// handing them out one by one costs nothing, and entries of one chunk spread too.
void zy_tensor_table_init(const zy_tensor_table *t, float *params, uint64_t seed) {
    init_job j = {t, params, seed, -1, NULL};
    zy__parallel(t->chunks, 1, 0, init_range, &j);
}

void zy__tt_init_entry_at(const zy_tensor_table *t, float *dst, int i, uint64_t seed) {
    ZY_ASSERT(i >= 0 && i < t->n);
    init_job j = {t, NULL, seed, i, dst};
    zy__parallel((t->e[i].count + ZY_INIT_CHUNK - 1) / ZY_INIT_CHUNK, 1, 0, init_range, &j);
}

void zy_tensor_table_init_entry(const zy_tensor_table *t, float *params, int i,
                                uint64_t seed) {
    zy__tt_init_entry_at(t, params + t->e[i].offset, i, seed);
}
