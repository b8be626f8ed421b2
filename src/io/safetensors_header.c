// Validation of a safetensors header (the JSON text) into the reader's handle, and the
// dtype table. What is checked, and the format, are described at the top of
// safetensors_read.c. Not file access: the reader reads the bytes and calls
// zy__st_parse_header.
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <errno.h>

#include "core/internal.h"
#include "safetensors.h"
#include "zhuyi/io.h"

// ---- dtypes ---------------------------------------------------------------------------
static const struct {
    const char *name;
    size_t size;
} dtypes[ZY_DTYPE_COUNT] = {
    [ZY_DTYPE_F32] = {"F32", 4},         [ZY_DTYPE_F16] = {"F16", 2},
    [ZY_DTYPE_BF16] = {"BF16", 2},       [ZY_DTYPE_F64] = {"F64", 8},
    [ZY_DTYPE_I64] = {"I64", 8},         [ZY_DTYPE_I32] = {"I32", 4},
    [ZY_DTYPE_I16] = {"I16", 2},         [ZY_DTYPE_I8] = {"I8", 1},
    [ZY_DTYPE_U64] = {"U64", 8},         [ZY_DTYPE_U32] = {"U32", 4},
    [ZY_DTYPE_U16] = {"U16", 2},         [ZY_DTYPE_U8] = {"U8", 1},
    [ZY_DTYPE_BOOL] = {"BOOL", 1},       [ZY_DTYPE_F8_E4M3] = {"F8_E4M3", 1},
    [ZY_DTYPE_F8_E5M2] = {"F8_E5M2", 1}, [ZY_DTYPE_F8_E8M0] = {"F8_E8M0", 1},
    [ZY_DTYPE_C64] = {"C64", 8},
};

const char *zy_dtype_name(zy_dtype t) {
    return (unsigned)t < ZY_DTYPE_COUNT ? dtypes[t].name : NULL;
}

size_t zy_dtype_size(zy_dtype t) { return (unsigned)t < ZY_DTYPE_COUNT ? dtypes[t].size : 0; }

zy_status zy_dtype_parse(const char *name, zy_dtype *out) {
    for (int i = 0; i < ZY_DTYPE_COUNT; i++)
        if (!strcmp(name, dtypes[i].name)) {
            *out = (zy_dtype)i;
            return ZY_STATUS_OK;
        }
    return ZY_STATUS_NOT_FOUND;
}

// ---- UTF-8 ----------------------------------------------------------------------------
int zy__utf8_valid(const char *str, size_t n, size_t *bad) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                                : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (len == 0 || len > n - i) goto fail;
        // The second byte's range excludes overlong forms, surrogates and > U+10FFFF.
        unsigned lo = 0x80, hi = 0xBF;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
        if (len > 1 && (s[i + 1] < lo || s[i + 1] > hi)) goto fail;
        for (size_t k = 2; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80) goto fail;
        i += len;
    }
    return 1;
fail:
    if (bad) *bad = i;
    return 0;
}

// ---- header validation ----------------------------------------------------------------
// An integer in [0, 2^53] (doubles hold those exactly; larger values cannot be offsets
// of a real file, and cJSON keeps numbers as doubles only).
static int json_u53(const cJSON *j, uint64_t *out) {
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0)) return 0;
    uint64_t u = (uint64_t)d;
    if ((double)u != d) return 0;
    *out = u;
    return 1;
}

#define BAD(...) zy__error(ZY_STATUS_BAD_FORMAT, __VA_ARGS__)

static zy_status parse_tensor(zy_tensor_info *t, const cJSON *e, uint64_t data_size,
                              const char *path) {
    const char *name = e->string;
    if (!cJSON_IsObject(e)) return BAD("%s: tensor '%s': entry is not a JSON object", path, name);
    const cJSON *dtype = NULL, *shape = NULL, *offs = NULL;
    for (const cJSON *f = e->child; f; f = f->next) {
        const cJSON **slot = !strcmp(f->string, "dtype")          ? &dtype
                             : !strcmp(f->string, "shape")        ? &shape
                             : !strcmp(f->string, "data_offsets") ? &offs
                                                                  : NULL;
        if (!slot) continue;
        if (*slot) return BAD("%s: tensor '%s': field '%s' appears twice", path, name, f->string);
        *slot = f;
    }
    if (!dtype) return BAD("%s: tensor '%s': field 'dtype' missing", path, name);
    if (!shape) return BAD("%s: tensor '%s': field 'shape' missing", path, name);
    if (!offs) return BAD("%s: tensor '%s': field 'data_offsets' missing", path, name);

    if (!cJSON_IsString(dtype)) return BAD("%s: tensor '%s': dtype is not a string", path, name);
    if (zy_dtype_parse(dtype->valuestring, &t->dtype))
        return BAD("%s: tensor '%s': unknown dtype '%s'", path, name, dtype->valuestring);

    if (!cJSON_IsArray(shape))
        return BAD("%s: tensor '%s': shape is not an array", path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > ZY_SAFETENSORS_MAX_DIMS)
        return BAD("%s: tensor '%s': shape has %d dimensions (at most %d supported)", path, name,
                   ndim, ZY_SAFETENSORS_MAX_DIMS);
    t->ndim = 0;
    uint64_t numel = 1;
    int overflow = 0;
    for (const cJSON *d = shape->child; d; d = d->next) {
        uint64_t v;
        if (!json_u53(d, &v))
            return BAD("%s: tensor '%s': shape[%d] is not a non-negative integer (<= 2^53)",
                       path, name, t->ndim);
        t->shape[t->ndim++] = (int64_t)v;
        overflow |= __builtin_mul_overflow(numel, v, &numel);
    }
    uint64_t nbytes;
    overflow |= __builtin_mul_overflow(numel, (uint64_t)zy_dtype_size(t->dtype), &nbytes);
    for (int i = 0; i < t->ndim; i++)
        if (t->shape[i] == 0) overflow = 0, numel = nbytes = 0; // a zero dim empties it all
    if (overflow)
        return BAD("%s: tensor '%s': shape element count times %s size overflows 64 bits", path,
                   name, zy_dtype_name(t->dtype));

    uint64_t begin, end;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 || !json_u53(offs->child, &begin) ||
        !json_u53(offs->child->next, &end))
        return BAD("%s: tensor '%s': data_offsets is not two non-negative integers", path, name);
    if (begin > end)
        return BAD("%s: tensor '%s': data_offsets [%llu, %llu] begin after end", path, name,
                   (unsigned long long)begin, (unsigned long long)end);
    if (end > data_size)
        return BAD("%s: tensor '%s': data_offsets [%llu, %llu] past end of data (%llu bytes)",
                   path, name, (unsigned long long)begin, (unsigned long long)end,
                   (unsigned long long)data_size);
    if (end - begin != nbytes)
        return BAD("%s: tensor '%s': shape holds %llu elements of %s = %llu bytes but "
                   "data_offsets [%llu, %llu] span %llu",
                   path, name, (unsigned long long)numel, zy_dtype_name(t->dtype),
                   (unsigned long long)nbytes, (unsigned long long)begin,
                   (unsigned long long)end, (unsigned long long)(end - begin));
    t->numel = numel;
    t->nbytes = nbytes;
    t->offset = begin; // relative to the data region until the handle is complete
    return ZY_STATUS_OK;
}

// qsort comparators over indices; qsort has no context argument, so the array being
// sorted is passed through this thread-local pointer.
static _Thread_local const zy_tensor_info *sort_base;
static int cmp_name(const void *a, const void *b) {
    return strcmp(sort_base[*(const int *)a].name, sort_base[*(const int *)b].name);
}
static int cmp_offset(const void *a, const void *b) {
    const zy_tensor_info *x = &sort_base[*(const int *)a], *y = &sort_base[*(const int *)b];
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return 0;
}

// Tensors must tile [0, data_size) exactly, as the specification requires.
static zy_status check_layout(zy_safetensors *st, uint64_t data_size, const char *path) {
    int *order = zy_alloc(((size_t)st->n + 1) * sizeof *order);
    if (!order) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    for (int i = 0; i < st->n; i++) order[i] = i;
    sort_base = st->tensors;
    qsort(order, (size_t)st->n, sizeof *order, cmp_offset);
    zy_status s = ZY_STATUS_OK;
    uint64_t pos = 0;
    const zy_tensor_info *prev = NULL;
    for (int k = 0; k < st->n && !s; k++) {
        const zy_tensor_info *t = &st->tensors[order[k]];
        if (t->offset < pos)
            s = BAD("%s: tensors '%s' [%llu, %llu] and '%s' [%llu, %llu] overlap", path,
                    prev->name, (unsigned long long)prev->offset,
                    (unsigned long long)(prev->offset + prev->nbytes), t->name,
                    (unsigned long long)t->offset, (unsigned long long)(t->offset + t->nbytes));
        else if (t->offset > pos)
            s = BAD("%s: hole in data: bytes [%llu, %llu) before tensor '%s' belong to no tensor",
                    path, (unsigned long long)pos, (unsigned long long)t->offset, t->name);
        pos = t->offset + t->nbytes;
        prev = t;
    }
    if (!s && pos != data_size)
        s = BAD("%s: hole in data: bytes [%llu, %llu) after the last tensor belong to no tensor",
                path, (unsigned long long)pos, (unsigned long long)data_size);
    zy_free(order);
    return s;
}

static zy_status check_unique(const zy_safetensors *st, const char *path) {
    for (int k = 1; k < st->n; k++) {
        const char *a = st->tensors[st->by_name[k - 1]].name;
        if (!strcmp(a, st->tensors[st->by_name[k]].name))
            return BAD("%s: tensor '%s': duplicate tensor name", path, a);
    }
    for (int i = 0; i < st->n_meta; i++)
        for (int j = 0; j < i; j++) // metadata is small: a quadratic check is fine
            if (!strcmp(st->meta[2 * i], st->meta[2 * j]))
                return BAD("%s: __metadata__: duplicate key '%s'", path, st->meta[2 * i]);
    return ZY_STATUS_OK;
}

static char *pool_put(char **cursor, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = *cursor;
    memcpy(d, s, n);
    *cursor += n;
    return d;
}

// Validates the parsed header into st (allocating tensors, index, metadata and pool).
static zy_status load_header(zy_safetensors *st, const cJSON *root, uint64_t data_size,
                             const char *path) {
    if (!cJSON_IsObject(root)) return BAD("%s: header is not a JSON object", path);
    const cJSON *meta = NULL;
    size_t pool_bytes = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (meta) return BAD("%s: __metadata__ appears twice", path);
            if (!cJSON_IsObject(meta = e)) return BAD("%s: __metadata__ is not an object", path);
            for (const cJSON *m = e->child; m; m = m->next) {
                if (!cJSON_IsString(m))
                    return BAD("%s: __metadata__: value of '%s' is not a string", path,
                               m->string);
                pool_bytes += strlen(m->string) + strlen(m->valuestring) + 2;
                st->n_meta++;
            }
            continue;
        }
        // JSON escapes can smuggle in what the raw check could not see (\u0000 cuts the
        // name short, so it may collide: caught as a duplicate).
        size_t len = strlen(e->string);
        if (len == 0) return BAD("%s: tensor with an empty name", path);
        if (!zy__utf8_valid(e->string, len, NULL))
            return BAD("%s: tensor name is not valid UTF-8", path);
        pool_bytes += len + 1;
        st->n++;
    }
    st->tensors = zy_calloc((size_t)st->n + 1, sizeof *st->tensors);
    st->by_name = zy_alloc(((size_t)st->n + 1) * sizeof *st->by_name);
    st->meta = zy_alloc(((size_t)st->n_meta + 1) * 2 * sizeof *st->meta);
    st->pool = zy_alloc(pool_bytes + 1);
    if (!st->tensors || !st->by_name || !st->meta || !st->pool)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for the header", path);
    char *cursor = st->pool;
    int i = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (e == meta) continue;
        zy_status s = parse_tensor(&st->tensors[i], e, data_size, path);
        if (s) return s;
        st->tensors[i].name = pool_put(&cursor, e->string);
        st->by_name[i] = i;
        i++;
    }
    int k = 0;
    for (const cJSON *m = meta ? meta->child : NULL; m; m = m->next, k++) {
        st->meta[2 * k] = pool_put(&cursor, m->string);
        st->meta[2 * k + 1] = pool_put(&cursor, m->valuestring);
    }
    sort_base = st->tensors;
    qsort(st->by_name, (size_t)st->n, sizeof *st->by_name, cmp_name);
    zy_status s = check_unique(st, path);
    if (!s) s = check_layout(st, data_size, path);
    for (int j = 0; j < st->n && !s; j++) st->tensors[j].offset += st->data_start;
    return s;
}

// header[0..n) (NUL-terminated at n) -> st's tensors, index and metadata, all validated.
zy_status zy__st_parse_header(zy_safetensors *st, const char *header, size_t n,
                              uint64_t data_size, const char *path) {
    size_t bad;
    const char *nul = memchr(header, '\0', n);
    if (nul) return BAD("%s: header has a NUL byte at offset %zu", path, (size_t)(nul - header));
    if (!zy__utf8_valid(header, n, &bad))
        return BAD("%s: header is not valid UTF-8 (byte %zu)", path, bad);
    const char *end = NULL;
    errno = 0; // cJSON allocates with malloc, which sets ENOMEM when it fails
    cJSON *root = cJSON_ParseWithLengthOpts(header, n, &end, 0);
    if (!root && errno == ENOMEM)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory parsing the header", path);
    if (!root)
        return BAD("%s: header is not valid JSON (near byte %zu)", path,
                   end ? (size_t)(end - header) : (size_t)0);
    zy_status s = ZY_STATUS_OK;
    for (const char *p = end; p < header + n && !s; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            s = BAD("%s: header has bytes after the JSON object (byte %zu)", path,
                    (size_t)(p - header));
    if (!s) s = load_header(st, root, data_size, path);
    cJSON_Delete(root);
    return s;
}
