// model.safetensors through the named-tensor table (hf.h): zy_tensor_table_check, _load
// and _save. The table (tensor_table.c) says which tensors exist; the
// safetensors reader and writer (safetensors_*.c) handle the format. Not model code.
//
// Loading, in two passes so a wrong file is refused before any parameter changes:
//  1. every file tensor of the table (a split tensor once) is looked up under its name and
//     aliases (tensor_table.c: prefixes, gamma/beta), its dtype (F32/F16/BF16) and its
//     whole shape are checked; a missing tensor is an error unless all its entries are
//     optional; tied names present in the file are checked the same way against their
//     target's shape; split tensors must be tiled exactly by their parts;
//  2. data is read: a whole tensor kept as in the file straight into the parameters, a
//     transposed or split one into a scratch buffer (the largest such tensor) once and
//     scattered to its entries; missing optional entries are initialised; tied tensors
//     read last and compared bit for bit with their target.
// zy_tensor_table_load_each runs the same passes but hands the entries without a
// destination to the caller's put function (a model's typed copies) and keeps none of
// their values: whole, or in pieces of whole rows when they lie as in the file.
// zy_tensor_table_check is pass 1 alone: zy_model_load runs it before it allocates the
// parameters. Shape errors quote the entry's dims (the config fields behind the shape).
// Adapter entries (LoRA's, lora.h) are not the base model's: every pass skips them.
// Saving assembles transposed and split tensors in one buffer (at most one copy of the
// parameters; tensors kept as in the file are written from the parameters directly) and
// writes them, tied names omitted, with zy_safetensors_write (deterministic, atomic).
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/tensor_table.h"

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    int k = snprintf(buf, n, "(");
    for (int i = 0; i < ndim && k > 0 && (size_t)k < n; i++)
        k += snprintf(buf + k, n - (size_t)k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, ")");
}

// Split tensors whose parts do not cover them: parts never overlap (zy_tensor_table_add
// checks), so covering means their lengths add up to the whole.
static zy_status check_tiling(const zy_tensor_table *t, const char *path) {
    for (int i = 0; i < t->n; i++) {
        const zy_tensor *e = &t->e[i];
        if (t->link[i].first != i || !e->part_total) continue;
        int64_t covered = 0;
        for (int p = i; p >= 0; p = t->link[p].next) covered += t->e[p].shape[e->part_dim];
        if (covered != e->part_total)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "%s: tensor '%s': its parts cover %lld of %lld along dimension "
                             "%d (the table's parts must tile it exactly)",
                             path, e->name, (long long)covered, (long long)e->part_total,
                             e->part_dim);
    }
    return ZY_STATUS_OK;
}

// dst (cols, rows) = srcᵀ, src (rows, cols) with row stride ld; in tiles so both sides
// stay in cache.
static void transpose(float *dst, const float *src, int64_t rows, int64_t cols, int64_t ld) {
    for (int64_t r0 = 0; r0 < rows; r0 += 32)
        for (int64_t c0 = 0; c0 < cols; c0 += 32)
            for (int64_t r = r0; r < ZY_MIN(rows, r0 + 32); r++)
                for (int64_t c = c0; c < ZY_MIN(cols, c0 + 32); c++)
                    dst[c * rows + r] = src[r * ld + c];
}

// The extent of entry e inside its file tensor: outer blocks of `len` rows of `inner`
// floats, at `start` of `total` along the split dimension (a whole tensor is one part).
typedef struct extent {
    size_t outer, inner, len, total, start;
} extent;

static extent extent_of(const zy_tensor *e) {
    int64_t fs[ZY_TENSOR_MAX_DIMS];
    zy__tt_file_shape(e, fs);
    int d = e->part_total ? e->part_dim : 0;
    extent x = {1, 1, (size_t)e->shape[d], (size_t)fs[d], (size_t)e->part_start};
    for (int k = 0; k < d; k++) x.outer *= (size_t)fs[k];
    for (int k = d + 1; k < e->ndim; k++) x.inner *= (size_t)fs[k];
    return x;
}

// dst (e's storage) <- e's slice of file (its whole file tensor, file layout).
static void gather(float *dst, const float *file, const zy_tensor *e) {
    extent x = extent_of(e);
    if (e->transposed) { // part (r, c) of a file (R, C), stored (c, r)
        size_t C = e->part_dim == 1 ? x.total : (size_t)e->shape[1];
        size_t off = e->part_dim == 1 ? x.start : x.start * C;
        transpose(dst, file + off, e->shape[0], e->shape[1], (int64_t)C);
        return;
    }
    size_t block = x.len * x.inner;
    for (size_t o = 0; o < x.outer; o++)
        memcpy(dst + o * block, file + (o * x.total + x.start) * x.inner, block * sizeof *dst);
}

// file (the whole file tensor) <- e's storage, into e's slice.
static void scatter(float *file, const float *src, const zy_tensor *e) {
    extent x = extent_of(e);
    if (e->transposed) { // stored (c, r) -> part (r, c) of a file (R, C)
        size_t C = e->part_dim == 1 ? x.total : (size_t)e->shape[1];
        size_t off = e->part_dim == 1 ? x.start : x.start * C;
        int64_t r = e->shape[0], c = e->shape[1];
        for (int64_t r0 = 0; r0 < r; r0 += 32)
            for (int64_t c0 = 0; c0 < c; c0 += 32)
                for (int64_t i = r0; i < ZY_MIN(r, r0 + 32); i++)
                    for (int64_t j = c0; j < ZY_MIN(c, c0 + 32); j++)
                        file[off + (size_t)i * C + (size_t)j] = src[j * r + i];
        return;
    }
    size_t block = x.len * x.inner;
    for (size_t o = 0; o < x.outer; o++)
        memcpy(file + (o * x.total + x.start) * x.inner, src + o * block, block * sizeof *src);
}

// ---- load -------------------------------------------------------------------------------

// The file's tensor for table name `name` under any alias, or NULL.
static const zy_tensor_info *lookup(const zy_tensor_table *t, const zy_safetensors *st,
                                    const char *name, int ndim, char *buf) {
    const char *cand;
    for (int k = 0; (cand = zy__tt_alias(t, name, ndim, k, buf)); k++) {
        const zy_tensor_info *info = zy_safetensors_find(st, cand);
        if (info) return info;
    }
    return NULL;
}

static zy_status not_found(const zy_tensor_table *t, const char *path, const zy_tensor *e,
                           char *buf) {
    char also[600] = "";
    size_t n = 0;
    const char *cand;
    for (int k = 1; (cand = zy__tt_alias(t, e->name, e->ndim, k, buf)) && n < sizeof also;
         k++)
        n += (size_t)snprintf(also + n, sizeof also - n, "%s'%s'", n ? ", " : "", cand);
    if (n == 0)
        return zy__error(ZY_STATUS_NOT_FOUND, "%s: tensor '%s' missing", path, e->name);
    return zy__error(ZY_STATUS_NOT_FOUND, "%s: tensor '%s' missing (also looked for %s)", path,
                     e->name, also);
}

void zy_tensor_table_set_replace_mismatched_heads(zy_tensor_table *t, bool on) {
    t->replace_mismatched_heads = on;
}

void zy_tensor_table_set_new_heads(zy_tensor_table *t, bool on) { t->new_heads = on; }

static bool same_shape(const zy_tensor *e, const zy_tensor_info *info) {
    int64_t want[ZY_TENSOR_MAX_DIMS];
    zy__tt_file_shape(e, want);
    bool same = info->ndim == e->ndim;
    for (int k = 0; same && k < e->ndim; k++) same = info->shape[k] == want[k];
    return same;
}

// The file tensor `info` can stand for table entry e's whole file tensor.
static zy_status check_info(const char *path, const zy_tensor *e,
                            const zy_tensor_info *info) {
    if (info->dtype != ZY_DTYPE_F32 && info->dtype != ZY_DTYPE_F16 &&
        info->dtype != ZY_DTYPE_BF16)
        return zy__error(ZY_STATUS_UNSUPPORTED,
                         "%s: tensor '%s': dtype %s cannot be loaded as float (F32, F16, BF16 "
                         "can)", path, info->name, zy_dtype_name(info->dtype));
    if (same_shape(e, info)) return ZY_STATUS_OK;
    int64_t want[ZY_TENSOR_MAX_DIMS];
    zy__tt_file_shape(e, want);
    char w[96], g[200];
    shape_str(w, sizeof w, e->ndim, want);
    shape_str(g, sizeof g, info->ndim, info->shape);
    if (e->dims) // the fields to fix, as the model declared them
        return zy__error(ZY_STATUS_SHAPE_MISMATCH,
                         "%s: tensor '%s' has shape %s but config.json implies (%s) = %s",
                         path, info->name, g, e->dims, w);
    return zy__error(ZY_STATUS_SHAPE_MISMATCH,
                     "%s: tensor '%s' has shape %s but config.json implies %s", path,
                     info->name, g, w);
}

// Pass 1 (see the top of the file): found[i] for each file tensor's first entry and
// found[n + k] for tie k (NULL: absent); *scratch the floats pass 2 needs.
static zy_status find_all(const zy_tensor_table *t, const zy_safetensors *st, const char *path,
                          const zy_tensor_info **found, char *buf, size_t *scratch) {
    zy_status s;
    *scratch = 0;
    for (int i = 0; i < t->n; i++) {
        const zy_tensor *e = &t->e[i];
        if (t->link[i].first != i || e->adapter) continue;
        const zy_tensor_info *info = lookup(t, st, e->name, e->ndim, buf);
        if (info && e->head && t->link[i].next < 0 &&
            (t->new_heads || (t->replace_mismatched_heads && !same_shape(e, info))))
            info = NULL; // a head of other labels, or of another architecture: a new one
        if (!info) {
            for (int p = i; p >= 0; p = t->link[p].next)
                if (!t->e[p].optional) return not_found(t, path, e, buf);
            continue;
        }
        if ((s = check_info(path, e, info))) return s;
        if (e->part_total || e->transposed) *scratch = ZY_MAX(*scratch, zy__tt_file_numel(e));
        found[i] = info;
    }
    for (int k = 0; k < t->n_ties; k++) {
        const zy_tensor *e = &t->e[t->ties[k].target];
        const zy_tensor_info *info = lookup(t, st, t->ties[k].name, e->ndim, buf);
        if (!info) continue;
        if ((s = check_info(path, e, info))) return s;
        *scratch = ZY_MAX(*scratch, e->count * (e->transposed ? 2 : 1));
        found[t->n + k] = info;
    }
    return ZY_STATUS_OK;
}

// Where pass 2 puts the entries' values: at params + each entry's offset
// (zy_tensor_table_load); or at dst[i], and through put from buf where dst[i] is NULL
// (zy_tensor_table_load_each).
typedef struct sink {
    float *params;
    float *const *dst;
    zy_tensor_put_fn put;
    void *ctx;
    float *buf; // put's values (put_floats)
} sink;

// An entry that lies as in the file goes through put in whole rows of at most this many
// floats (4 MB) at a time, or a row at a time if a row is longer.
#define PUT_FLOATS ((size_t)1 << 20)

static bool through_put(const sink *d, int p) { return d->dst && !d->dst[p]; }

static float *slot(const sink *d, const zy_tensor_table *t, int p) {
    if (!d->dst) return d->params + t->e[p].offset;
    return d->dst[p] ? d->dst[p] : d->buf;
}

// The floats of one row of entry e as it lies (its first dimension indexes the rows).
static size_t row_floats(const zy_tensor *e) {
    return e->ndim > 1 && e->shape[0] > 0 ? e->count / (size_t)e->shape[0] : e->count;
}

// The floats put's buffer needs for entry p (found: its file tensor is in the file): a
// piece of rows of an entry that lies as in the file; else the whole entry (transposed,
// split, or initialised).
static size_t put_floats(const zy_tensor_table *t, int p, bool found) {
    const zy_tensor *e = &t->e[p];
    if (!found || e->part_total || e->transposed) return e->count;
    return ZY_MIN(e->count, ZY_MAX(PUT_FLOATS, row_floats(e)));
}

// Pass 2.
static zy_status read_all(const zy_tensor_table *t, const zy_safetensors *st, const char *path,
                          const zy_tensor_info **found, const sink *d, uint64_t seed,
                          bool *missing, float *tmp) {
    zy_status s;
    for (int i = 0; i < t->n; i++) {
        const zy_tensor *e = &t->e[i];
        if (t->link[i].first != i || e->adapter) continue;
        if (!found[i]) {
            for (int p = i; p >= 0; p = t->link[p].next) {
                zy__tt_init_entry_at(t, slot(d, t, p), p, seed);
                if (through_put(d, p) && (s = d->put(d->ctx, p, 0, t->e[p].count, d->buf)))
                    return s;
                if (missing) missing[p] = true;
            }
        } else if (!e->part_total && !e->transposed && through_put(d, i)) {
            size_t row = row_floats(e), step = ZY_MAX(PUT_FLOATS / ZY_MAX(row, 1), 1) * row;
            for (size_t k = 0; k < e->count; k += step) {
                size_t n = ZY_MIN(step, e->count - k);
                if ((s = zy_safetensors_read_f32_range(st, found[i]->name, k, n, d->buf)) ||
                    (s = d->put(d->ctx, i, k, n, d->buf)))
                    return s;
            }
        } else if (!e->part_total && !e->transposed) {
            if ((s = zy_safetensors_read_f32(st, found[i]->name, slot(d, t, i), e->count)))
                return s;
        } else {
            if ((s = zy_safetensors_read_f32(st, found[i]->name, tmp, zy__tt_file_numel(e))))
                return s;
            for (int p = i; p >= 0; p = t->link[p].next) {
                gather(slot(d, t, p), tmp, &t->e[p]);
                if (through_put(d, p) && (s = d->put(d->ctx, p, 0, t->e[p].count, d->buf)))
                    return s;
            }
        }
    }
    for (int k = 0; k < t->n_ties; k++) {
        const zy_tensor_info *info = found[t->n + k];
        const int target = t->ties[k].target;
        const zy_tensor *e = &t->e[target];
        if (!info) continue;
        if ((s = zy_safetensors_read_f32(st, info->name, tmp, e->count))) return s;
        const float *want = tmp + e->count;
        if (through_put(d, target)) { // its values went: its file tensor again (checked)
            if ((s = zy_safetensors_read_f32(st, found[target]->name, tmp + e->count,
                                             e->count)))
                return s;
        } else if (e->transposed) { // compare in file orientation
            transpose(tmp + e->count, slot(d, t, target), e->shape[1], e->shape[0],
                      e->shape[0]);
        } else {
            want = slot(d, t, target);
        }
        if (memcmp(tmp, want, e->count * sizeof *tmp))
            return zy__error(ZY_STATUS_UNSUPPORTED,
                             "%s: tensor '%s' differs from '%s', which it is tied to (zhuyi "
                             "keeps one copy, so the two must be equal)",
                             path, info->name, e->name);
    }
    return ZY_STATUS_OK;
}

// Pass 1 on an open file (the table's tiling already checked), with its lookup buffers
// (sized by the table's count and names, never by its shapes): *found and *buf for the
// caller to free, also on failure.
static zy_status check_open(const zy_tensor_table *t, const zy_safetensors *st,
                            const char *path, const zy_tensor_info ***found, char **buf,
                            size_t *scratch) {
    *found = zy_calloc((size_t)(t->n + t->n_ties) + 1, sizeof **found);
    *buf = zy_alloc(zy__tt_alias_cap(t));
    if (!*found || !*buf) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    return find_all(t, st, path, *found, *buf, scratch);
}

zy_status zy_tensor_table_check(const zy_tensor_table *t, const char *path) {
    zy_safetensors *st;
    zy_status s = check_tiling(t, path);
    if (s || (s = zy_safetensors_open(&st, path))) return s;
    const zy_tensor_info **found = NULL;
    char *buf = NULL;
    size_t scratch;
    s = check_open(t, st, path, &found, &buf, &scratch);
    zy_free(buf);
    zy_free(found);
    zy_safetensors_free(st);
    return s;
}

// Both passes into d; put's buffer and the scratch sized here, once pass 1 has found what
// the file holds.
static zy_status load(const zy_tensor_table *t, const char *path, sink *d, uint64_t seed,
                      bool *missing) {
    if (missing) memset(missing, 0, (size_t)t->n * sizeof *missing);
    zy_status s = check_tiling(t, path);
    if (s) return s;
    zy_safetensors *st;
    if ((s = zy_safetensors_open(&st, path))) return s;
    const zy_tensor_info **found = NULL;
    char *buf = NULL;
    float *tmp = NULL;
    size_t scratch = 0, put = 0;
    if ((s = check_open(t, st, path, &found, &buf, &scratch))) goto done;
    for (int i = 0; i < t->n && d->dst; i++) {
        if (!through_put(d, i) || t->e[i].adapter) continue;
        put = ZY_MAX(put, put_floats(t, i, found[t->link[i].first] != NULL));
    }
    for (int k = 0; k < t->n_ties && d->dst; k++) {
        const int target = t->ties[k].target;
        if (!found[t->n + k] || !through_put(d, target)) continue;
        if (!found[target] || t->e[target].part_total) { // nothing to compare it with
            s = zy__error(ZY_STATUS_UNSUPPORTED, "%s: tensor '%s' is tied to '%s', which "
                          "this load keeps only converted and which the file %s: load the "
                          "fp32 weights to compare them", path, found[t->n + k]->name,
                          t->e[target].name, found[target] ? "holds in parts" : "lacks");
            goto done;
        }
        scratch = ZY_MAX(scratch, 2 * t->e[target].count);
    }
    tmp = scratch ? zy_alloc(scratch * sizeof *tmp) : NULL;
    d->buf = put ? zy_alloc(put * sizeof *d->buf) : NULL;
    if ((scratch && !tmp) || (put && !d->buf)) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for %zu floats", path,
                      scratch + put);
        goto done;
    }
    s = read_all(t, st, path, found, d, seed, missing, tmp);
done:
    zy_free(d->buf);
    d->buf = NULL;
    zy_free(tmp);
    zy_free(buf);
    zy_free(found);
    zy_safetensors_free(st);
    return s;
}

zy_status zy_tensor_table_load(const zy_tensor_table *t, const char *path, float *params,
                               uint64_t seed, bool *missing) {
    sink d = {.params = params};
    return load(t, path, &d, seed, missing);
}

zy_status zy_tensor_table_load_each(const zy_tensor_table *t, const char *path,
                                    float *const *dst, zy_tensor_put_fn put, void *ctx,
                                    uint64_t seed, bool *missing) {
    sink d = {.dst = dst, .put = put, .ctx = ctx};
    return load(t, path, &d, seed, missing);
}

// Ascending addresses, for the search below.
static int cmp_ptr(const void *a, const void *b) {
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    return x < y ? -1 : x > y;
}

zy_status zy_tensor_table_unused(const zy_tensor_table *t, const char *path, char ***names,
                                 int *n) {
    *names = NULL;
    *n = 0;
    zy_safetensors *st;
    zy_status s = check_tiling(t, path);
    if (s || (s = zy_safetensors_open(&st, path))) return s;
    const zy_tensor_info **found = NULL;
    char *buf = NULL;
    size_t scratch, used = 0, bytes = 0;
    int nf = zy_safetensors_count(st), count = 0;
    if ((s = check_open(t, st, path, &found, &buf, &scratch))) goto done;
    // The file tensors the table read, sorted: each of the file's is looked up once.
    for (int i = 0; i < t->n + t->n_ties; i++)
        if (found[i]) found[used++] = found[i];
    qsort(found, used, sizeof *found, cmp_ptr);
    for (int i = 0; i < nf; i++) {
        const zy_tensor_info *info = zy_safetensors_info(st, i);
        if (used && bsearch(&info, found, used, sizeof *found, cmp_ptr)) continue;
        count++;
        bytes += strlen(info->name) + 1;
    }
    if (!count) goto done;
    char **out = zy_alloc((size_t)count * sizeof *out + bytes);
    if (!out) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
        goto done;
    }
    char *text = (char *)(out + count);
    for (int i = 0, k = 0; i < nf; i++) {
        const zy_tensor_info *info = zy_safetensors_info(st, i);
        if (used && bsearch(&info, found, used, sizeof *found, cmp_ptr)) continue;
        size_t len = strlen(info->name) + 1;
        memcpy(text, info->name, len);
        out[k++] = text;
        text += len;
    }
    *names = out;
    *n = count;
done:
    zy_free(buf);
    zy_free(found);
    zy_safetensors_free(st);
    return s;
}

// ---- save -------------------------------------------------------------------------------

zy_status zy_tensor_table_save(const zy_tensor_table *t, const char *path,
                               const float *params, zy_dtype dtype) {
    if (dtype != ZY_DTYPE_F32 && dtype != ZY_DTYPE_F16 && dtype != ZY_DTYPE_BF16)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: cannot save parameters as %s "
                         "(F32, F16 or BF16)", path, zy_dtype_name(dtype) ? zy_dtype_name(dtype)
                         : "an unknown dtype");
    zy_status s = check_tiling(t, path);
    if (s) return s;
    size_t assembled = 0;
    for (int i = 0; i < t->n; i++)
        if (t->link[i].first == i && !t->e[i].adapter &&
            (t->e[i].part_total || t->e[i].transposed))
            assembled += zy__tt_file_numel(&t->e[i]);
    float *copy = zy_alloc(assembled * sizeof *copy);
    zy_safetensors_tensor *ts = zy_calloc((size_t)t->groups + 1, sizeof *ts);
    if (!copy || !ts) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
        goto done;
    }
    int n = 0;
    float *next = copy;
    for (int i = 0; i < t->n; i++) {
        const zy_tensor *e = &t->e[i];
        if (t->link[i].first != i || e->adapter) continue;
        zy_safetensors_tensor *f = &ts[n++];
        f->name = e->name;
        f->ndim = e->ndim;
        zy__tt_file_shape(e, f->shape);
        if (!e->part_total && !e->transposed) {
            f->data = params + e->offset;
            continue;
        }
        for (int p = i; p >= 0; p = t->link[p].next)
            scatter(next, params + t->e[p].offset, &t->e[p]);
        f->data = next;
        next += zy__tt_file_numel(e);
    }
    zy_safetensors_kv meta = {"format", "pt"};
    zy_safetensors_write_params wp = zy_safetensors_write_default_params();
    wp.dtype = dtype;
    wp.metadata = &meta;
    wp.n_metadata = 1;
    s = zy_safetensors_write(path, ts, n, wp);
done:
    zy_free(ts);
    zy_free(copy);
    return s;
}
