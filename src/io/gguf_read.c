// The GGUF reader: opens a file, validates its header, metadata and tensor infos, and reads
// tensors on demand with pread (raw, or as floats for quant.h's formats). Not the writer
// (gguf_write.c), not model code (src/models/gguf_*.c).
//
// Format (GGUF, ggml's docs/gguf.md), little-endian:
//   "GGUF", u32 version, u64 n_tensors, u64 n_kv,
//   n_kv x (string key, u32 type, value), n_tensors x (string name, u32 n_dims,
//   u64 ne[n_dims], u32 ggml type, u64 offset), zero padding to the alignment, data.
//   string = u64 length + bytes; array = u32 element type, u64 count, the elements.
// Validated before anything is returned (ZY_STATUS_BAD_FORMAT naming the file, the key or
// tensor and the field; ZY_STATUS_UNSUPPORTED for valid files this reader does not take):
//   - magic; version 2 or 3 (1 and big-endian files: unsupported)
//   - every length, count and offset against the bytes the file has left before anything
//     is allocated for it, so a file can never make the reader allocate more than a small
//     multiple of its own size; a short file is "truncated" with the offset and the field
//   - keys: 1..65535 bytes, no NUL byte, unique; value types known; bools 0 or 1; array
//     element types known and not arrays (nested arrays: unsupported, as in ggml)
//   - general.alignment, if present: a UINT32 power of two
//   - tensors: names 1..64 bytes, no NUL, unique; n_dims <= 4; the element count fits in
//     int64; type known; ne[0] a whole number of the type's blocks; offset a multiple of
//     the alignment; data inside the file; no two tensors' bytes overlap
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "io/gguf_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "GGUF I/O assumes a little-endian host"
#endif

#define BAD(...) zy__error(ZY_STATUS_BAD_FORMAT, __VA_ARGS__)
#define WINDOW ((size_t)1 << 20) // bytes of the file the parser holds at a time

// ---- the handle's memory ------------------------------------------------------------------
void *zy__gguf_pool(zy_gguf *g, size_t size) {
    size = (size + 15) & ~(size_t)15;
    zy__gguf_block *b = g->blocks;
    if (!b || b->cap - b->used < size) {
        size_t cap = ZY_MAX(size, (size_t)1 << 20);
        size_t head = (sizeof *b + 15) & ~(size_t)15;
        if (cap > SIZE_MAX - head || !(b = zy_alloc(head + cap))) return NULL;
        b->next = g->blocks, b->used = 0, b->cap = cap;
        g->blocks = b;
    }
    void *p = (char *)b + ((sizeof *b + 15) & ~(size_t)15) + b->used;
    b->used += size;
    return p;
}

// ---- reading the file ---------------------------------------------------------------------
// The parser's position and a window of the file around it.
typedef struct cursor {
    zy_gguf *g;
    uint64_t pos;
    uint8_t *win;
    uint64_t win_start;
    size_t win_len;
    char what[160]; // the field being read, for messages
} cursor;

static uint64_t left(const cursor *c) { return c->g->file_size - c->pos; }

// n bytes at the cursor -> dst (may be NULL to skip), or an error naming c->what.
static zy_status take(cursor *c, void *dst, uint64_t n) {
    zy_gguf *g = c->g;
    if (n > left(c))
        return BAD("%s: truncated: %s needs %llu bytes at offset %llu, the file has %llu",
                   g->path, c->what, (unsigned long long)n, (unsigned long long)c->pos,
                   (unsigned long long)left(c));
    uint8_t *d = dst;
    while (n > 0) {
        if (c->pos < c->win_start || c->pos >= c->win_start + c->win_len) {
            if (n >= WINDOW && d) { // a large string or array: straight into place
                zy_status s = zy__pread_full(g->fd, d, (size_t)n, c->pos, g->path);
                if (s) return s;
                c->pos += n;
                return ZY_STATUS_OK;
            }
            size_t k = (size_t)ZY_MIN((uint64_t)WINDOW, left(c));
            zy_status s = zy__pread_full(g->fd, c->win, k, c->pos, g->path);
            if (s) return s;
            c->win_start = c->pos, c->win_len = k;
        }
        size_t at = (size_t)(c->pos - c->win_start);
        size_t k = (size_t)ZY_MIN(n, (uint64_t)(c->win_len - at));
        if (d) memcpy(d, c->win + at, k), d += k;
        c->pos += k;
        n -= k;
    }
    return ZY_STATUS_OK;
}

static zy_status take_u32(cursor *c, uint32_t *v) {
    uint8_t b[4];
    zy_status s = take(c, b, 4);
    if (!s) *v = (uint32_t)zy__get_le(b, 4);
    return s;
}

static zy_status take_u64(cursor *c, uint64_t *v) {
    uint8_t b[8];
    zy_status s = take(c, b, 8);
    if (!s) *v = zy__get_le(b, 8);
    return s;
}

// A string of at most max bytes into the pool (NUL-terminated).
static zy_status take_string(cursor *c, uint64_t max, zy_gguf_str *out) {
    uint64_t n;
    zy_status s = take_u64(c, &n);
    if (s) return s;
    if (n > max)
        return BAD("%s: %s is %llu bytes long; the limit is %llu", c->g->path, c->what,
                   (unsigned long long)n, (unsigned long long)max);
    if (n > left(c))
        return BAD("%s: truncated: %s is %llu bytes long but %llu bytes are left at offset "
                   "%llu", c->g->path, c->what, (unsigned long long)n,
                   (unsigned long long)left(c), (unsigned long long)c->pos);
    char *p = zy__gguf_pool(c->g, (size_t)n + 1);
    if (!p) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", c->g->path);
    if ((s = take(c, p, n))) return s;
    p[n] = '\0';
    out->s = p, out->len = n;
    return ZY_STATUS_OK;
}

__attribute__((format(printf, 2, 3))) static void set_what(cursor *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->what, sizeof c->what, fmt, ap);
    va_end(ap);
}

// ---- metadata ------------------------------------------------------------------------------
static int64_t sign_extend(uint64_t v, int bytes) {
    int shift = 64 - 8 * bytes;
    return (int64_t)(v << shift) >> shift;
}

static double float_of(uint64_t bits, int bytes) {
    if (bytes == 4) {
        uint32_t u = (uint32_t)bits;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

static zy_status read_value(cursor *c, zy_gguf_kv *kv, const char *key) {
    zy_gguf *g = c->g;
    zy_status s;
    uint32_t t;
    set_what(c, "the type of key '%.80s'", key);
    if ((s = take_u32(c, &t))) return s;
    if (t >= ZY_GGUF_TYPE_COUNT)
        return BAD("%s: key '%.80s': unknown value type %u", g->path, key, t);
    kv->type = (zy_gguf_type)t;
    set_what(c, "the value of key '%.80s'", key);
    if (t == ZY_GGUF_STRING) return take_string(c, UINT64_MAX, &kv->str);
    if (t != ZY_GGUF_ARRAY) {
        int n = (int)zy_gguf_type_size(kv->type);
        uint8_t b[8];
        if ((s = take(c, b, (uint64_t)n))) return s;
        uint64_t u = zy__get_le(b, n);
        if (t == ZY_GGUF_BOOL && u > 1)
            return BAD("%s: key '%.80s': a bool is 0 or 1, not %llu", g->path, key,
                       (unsigned long long)u);
        if (t == ZY_GGUF_FLOAT32 || t == ZY_GGUF_FLOAT64) kv->v.f = float_of(u, n);
        else if (t == ZY_GGUF_BOOL) kv->v.b = u != 0;
        else if (t == ZY_GGUF_INT8 || t == ZY_GGUF_INT16 || t == ZY_GGUF_INT32 ||
                 t == ZY_GGUF_INT64) kv->v.i = sign_extend(u, n);
        else kv->v.u = u;
        return ZY_STATUS_OK;
    }
    uint32_t e;
    set_what(c, "the element type of array '%.80s'", key);
    if ((s = take_u32(c, &e)) || (s = take_u64(c, &kv->n))) return s;
    if (e >= ZY_GGUF_TYPE_COUNT)
        return BAD("%s: key '%.80s': array of unknown value type %u", g->path, key, e);
    if (e == ZY_GGUF_ARRAY)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: key '%.80s': arrays of arrays are not "
                         "supported (nor by ggml)", g->path, key);
    kv->elem = (zy_gguf_type)e;
    uint64_t size = e == ZY_GGUF_STRING ? 8 : zy_gguf_type_size(kv->elem); // least per item
    if (kv->n > left(c) / size)
        return BAD("%s: key '%.80s': an array of %llu %s values cannot fit in the %llu bytes "
                   "left in the file", g->path, key, (unsigned long long)kv->n,
                   zy_gguf_type_name(kv->elem), (unsigned long long)left(c));
    if (e != ZY_GGUF_STRING) {
        uint8_t *p = zy__gguf_pool(g, (size_t)(kv->n * size) + 1);
        if (!p) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", g->path);
        if ((s = take(c, p, kv->n * size))) return s;
        for (uint64_t i = 0; e == ZY_GGUF_BOOL && i < kv->n; i++)
            if (p[i] > 1)
                return BAD("%s: key '%.80s': element %llu: a bool is 0 or 1, not %u", g->path,
                           key, (unsigned long long)i, p[i]);
        kv->arr = p;
        return ZY_STATUS_OK;
    }
    zy_gguf_str *strs = zy__gguf_pool(g, (size_t)kv->n * sizeof *strs + 1);
    if (!strs) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", g->path);
    for (uint64_t i = 0; i < kv->n; i++) {
        set_what(c, "string %llu of array '%.80s'", (unsigned long long)i, key);
        if ((s = take_string(c, UINT64_MAX, &strs[i]))) return s;
    }
    kv->arr = strs;
    return ZY_STATUS_OK;
}

// Grow *arr (elements of size) to hold at least n + 1; doubling, so the total is bounded
// by twice what the file really holds.
static zy_status grow(void **arr, int *cap, int n, size_t size, const char *path) {
    if (n < *cap) return ZY_STATUS_OK;
    int c = *cap ? *cap * 2 : 16;
    void *p = zy_alloc((size_t)c * size);
    if (!p) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    if (n) memcpy(p, *arr, (size_t)n * size);
    zy_free(*arr);
    *arr = p, *cap = c;
    return ZY_STATUS_OK;
}

// Sorting indices by the strings or offsets they point at (qsort has no context, so the
// keys are copied next to the indices).
typedef struct sort_item {
    const char *s;
    uint64_t off;
    int i;
} sort_item;

static int by_string(const void *a, const void *b) {
    return strcmp(((const sort_item *)a)->s, ((const sort_item *)b)->s);
}
static int by_offset(const void *a, const void *b) {
    uint64_t x = ((const sort_item *)a)->off, y = ((const sort_item *)b)->off;
    return x < y ? -1 : x > y;
}

// Indices 0..n of the kv pairs (tensors) sorted by key (name, or offset); NULL when out of
// memory. n may be 0.
static int *sorted(const zy_gguf *g, bool tensors, bool offsets) {
    int n = tensors ? g->n_tensors : g->n_kv;
    sort_item *it = zy_alloc(((size_t)n + 1) * sizeof *it);
    int *idx = zy_alloc(((size_t)n + 1) * sizeof *idx);
    if (!it || !idx) {
        zy_free(it), zy_free(idx);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        it[i] = (sort_item){tensors ? g->tensors[i].name : g->kv[i].key,
                            tensors ? g->tensors[i].offset : 0, i};
    qsort(it, (size_t)n, sizeof *it, offsets ? by_offset : by_string);
    for (int i = 0; i < n; i++) idx[i] = it[i].i;
    zy_free(it);
    return idx;
}

static zy_status read_metadata(cursor *c, uint64_t n_kv) {
    zy_gguf *g = c->g;
    int cap = 0;
    zy_status s;
    for (uint64_t i = 0; i < n_kv; i++) {
        if ((s = grow((void **)&g->kv, &cap, g->n_kv, sizeof *g->kv, g->path))) return s;
        zy_gguf_kv *kv = &g->kv[g->n_kv];
        memset(kv, 0, sizeof *kv);
        zy_gguf_str key;
        set_what(c, "the key of metadata pair %llu", (unsigned long long)i);
        if ((s = take_string(c, ZY_GGUF_MAX_KEY, &key))) return s;
        if (key.len == 0) return BAD("%s: metadata pair %llu has an empty key", g->path,
                                     (unsigned long long)i);
        if (strlen(key.s) != key.len)
            return BAD("%s: the key of metadata pair %llu holds a NUL byte", g->path,
                       (unsigned long long)i);
        kv->key = key.s;
        if ((s = read_value(c, kv, key.s))) return s;
        g->n_kv++;
    }
    if (!(g->kv_by_key = sorted(g, false, false)))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", g->path);
    for (int i = 1; i < g->n_kv; i++)
        if (!strcmp(g->kv[g->kv_by_key[i]].key, g->kv[g->kv_by_key[i - 1]].key))
            return BAD("%s: key '%.80s' appears twice", g->path, g->kv[g->kv_by_key[i]].key);
    g->alignment = ZY_GGUF_DEFAULT_ALIGNMENT;
    const zy_gguf_kv *a = zy_gguf_find(g, "general.alignment");
    if (a) {
        if (a->type != ZY_GGUF_UINT32)
            return BAD("%s: key 'general.alignment' must be a uint32, not a %s", g->path,
                       zy_gguf_type_name(a->type));
        if (a->v.u == 0 || (a->v.u & (a->v.u - 1)))
            return BAD("%s: key 'general.alignment' = %llu is not a power of two", g->path,
                       (unsigned long long)a->v.u);
        g->alignment = (uint32_t)a->v.u;
    }
    return ZY_STATUS_OK;
}

// ---- tensor infos --------------------------------------------------------------------------
static zy_status read_tensor(cursor *c, uint64_t i, zy_gguf_tensor *t) {
    zy_gguf *g = c->g;
    zy_status s;
    zy_gguf_str name;
    set_what(c, "the name of tensor %llu", (unsigned long long)i);
    if ((s = take_string(c, ZY_GGUF_MAX_NAME, &name))) return s;
    if (name.len == 0) return BAD("%s: tensor %llu has an empty name", g->path,
                                  (unsigned long long)i);
    if (strlen(name.s) != name.len)
        return BAD("%s: the name of tensor %llu holds a NUL byte", g->path,
                   (unsigned long long)i);
    t->name = name.s;
    uint32_t nd, type;
    set_what(c, "the dimensions of tensor '%s'", t->name);
    if ((s = take_u32(c, &nd))) return s;
    if (nd > ZY_GGUF_MAX_DIMS)
        return BAD("%s: tensor '%s' has %u dimensions; at most %d", g->path, t->name, nd,
                   ZY_GGUF_MAX_DIMS);
    t->ndim = (int)nd;
    t->numel = 1;
    for (int d = 0; d < ZY_GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d >= t->ndim) continue;
        if ((s = take_u64(c, &t->ne[d]))) return s;
        if (t->ne[d] > (uint64_t)INT64_MAX ||
            (t->ne[d] && t->numel > (uint64_t)INT64_MAX / t->ne[d]))
            return BAD("%s: tensor '%s': ne[%d] = %llu makes more than 2^63 elements", g->path,
                       t->name, d, (unsigned long long)t->ne[d]);
        t->numel *= t->ne[d];
    }
    set_what(c, "the type of tensor '%s'", t->name);
    if ((s = take_u32(c, &type))) return s;
    size_t block, bytes;
    if (!zy_ggml_type_block(type, &block, &bytes))
        return BAD("%s: tensor '%s' has unknown ggml type %u", g->path, t->name, type);
    t->type = type;
    if (t->ne[0] % block)
        return BAD("%s: tensor '%s': ne[0] = %llu is not a multiple of %s's block of %zu",
                   g->path, t->name, (unsigned long long)t->ne[0], zy_ggml_type_name(type),
                   block);
    // Rows of ne[0] elements are ne[0] / block blocks; numel <= 2^63 keeps this exact.
    // Both products are checked: a row alone can pass 2^64 bytes (2^62 f32 values).
    uint64_t blocks = t->ne[0] / block, rows = t->ne[0] ? t->numel / t->ne[0] : 0;
    if (blocks > UINT64_MAX / bytes)
        return BAD("%s: tensor '%s' is more than 2^64 bytes", g->path, t->name);
    uint64_t row = blocks * bytes;
    if (rows && row > UINT64_MAX / rows)
        return BAD("%s: tensor '%s' is more than 2^64 bytes", g->path, t->name);
    t->nbytes = row * rows;
    set_what(c, "the offset of tensor '%s'", t->name);
    return take_u64(c, &t->offset);
}

static zy_status read_tensors(cursor *c, uint64_t n) {
    zy_gguf *g = c->g;
    int cap = 0;
    zy_status s;
    for (uint64_t i = 0; i < n; i++) {
        if ((s = grow((void **)&g->tensors, &cap, g->n_tensors, sizeof *g->tensors, g->path)))
            return s;
        if ((s = read_tensor(c, i, &g->tensors[g->n_tensors]))) return s;
        g->n_tensors++;
    }
    if (!(g->tensor_by_name = sorted(g, true, false)))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", g->path);
    for (int i = 1; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[g->tensor_by_name[i]].name,
                    g->tensors[g->tensor_by_name[i - 1]].name))
            return BAD("%s: tensor '%s' appears twice", g->path,
                       g->tensors[g->tensor_by_name[i]].name);
    // The data section starts at the next multiple of the alignment.
    uint64_t pad = (g->alignment - c->pos % g->alignment) % g->alignment;
    g->data_offset = c->pos + pad;
    if (g->n_tensors && (pad > left(c)))
        return BAD("%s: truncated: the data section would start at offset %llu, past the end "
                   "of the file (%llu bytes)", g->path, (unsigned long long)g->data_offset,
                   (unsigned long long)g->file_size);
    uint64_t data = g->data_offset <= g->file_size ? g->file_size - g->data_offset : 0;
    for (int i = 0; i < g->n_tensors; i++) {
        zy_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment)
            return BAD("%s: tensor '%s': offset %llu is not a multiple of the alignment %u",
                       g->path, t->name, (unsigned long long)t->offset, g->alignment);
        if (t->offset > data || t->nbytes > data - t->offset)
            return BAD("%s: tensor '%s': its %llu bytes at offset %llu run past the end of the "
                       "data section (%llu bytes)", g->path, t->name,
                       (unsigned long long)t->nbytes, (unsigned long long)t->offset,
                       (unsigned long long)data);
    }
    int *idx = sorted(g, true, true);
    if (!idx) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", g->path);
    for (int i = 1; i < g->n_tensors; i++) {
        const zy_gguf_tensor *a = &g->tensors[idx[i - 1]], *b = &g->tensors[idx[i]];
        if (a->offset + a->nbytes > b->offset) {
            s = BAD("%s: tensors '%s' (bytes %llu..%llu) and '%s' (from byte %llu) overlap",
                    g->path, a->name, (unsigned long long)a->offset,
                    (unsigned long long)(a->offset + a->nbytes), b->name,
                    (unsigned long long)b->offset);
            zy_free(idx);
            return s;
        }
    }
    zy_free(idx);
    for (int i = 0; i < g->n_tensors; i++) g->tensors[i].offset += g->data_offset;
    return ZY_STATUS_OK;
}

// ---- open / free ---------------------------------------------------------------------------
static zy_status read_header(cursor *c) {
    zy_gguf *g = c->g;
    uint8_t magic[4];
    zy_status s;
    set_what(c, "the header");
    if (g->file_size < 4 || take(c, magic, 4) || memcmp(magic, ZY__GGUF_MAGIC, 4))
        return BAD("%s: not a GGUF file (it does not start with \"GGUF\")", g->path);
    uint64_t n_tensors, n_kv;
    if ((s = take_u32(c, &g->version)) || (s = take_u64(c, &n_tensors)) ||
        (s = take_u64(c, &n_kv)))
        return s;
    if (g->version == 1)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: GGUF version 1 is not supported (only 2 "
                         "and 3, as ggml)", g->path);
    if (g->version > 3 && (g->version >> 24) >= 1 && (g->version >> 24) <= 3 &&
        !(g->version & 0xFFFFFF))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: a big-endian GGUF file (version %u "
                         "byte-swapped); only little-endian files are read", g->path,
                         g->version >> 24);
    if (g->version != 2 && g->version != 3)
        return BAD("%s: unknown GGUF version %u (2 and 3 are read)", g->path, g->version);
    // Every metadata pair takes at least 13 bytes (key length, type, a one-byte value) and
    // every tensor info 24 (name length, n_dims, type, offset).
    if (n_kv > left(c) / 13 || n_tensors > left(c) / 24 ||
        n_kv * 13 + n_tensors * 24 > left(c) || n_kv > INT32_MAX || n_tensors > INT32_MAX)
        return BAD("%s: header claims %llu metadata pairs and %llu tensors, more than the "
                   "%llu bytes after it can hold", g->path, (unsigned long long)n_kv,
                   (unsigned long long)n_tensors, (unsigned long long)left(c));
    if ((s = read_metadata(c, n_kv))) return s;
    return read_tensors(c, n_tensors);
}

zy_status zy_gguf_open(zy_gguf **out, const char *path) {
    if (!out || !path) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gguf open: NULL argument");
    *out = NULL;
    zy_status s;
    cursor c = {0};
    zy_gguf *g = zy_calloc(1, sizeof *g);
    if (!g) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    g->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (g->fd < 0) {
        s = zy__error(errno == ENOENT ? ZY_STATUS_NOT_FOUND : ZY_STATUS_IO, "%s: cannot open: %s",
                      path, strerror(errno));
        goto fail;
    }
    if (!(g->path = zy__strdup(path))) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
        goto fail;
    }
    struct stat sb;
    if (fstat(g->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        s = zy__error(ZY_STATUS_IO, "%s: not a regular file", path);
        goto fail;
    }
    g->file_size = (uint64_t)sb.st_size;
    c.g = g;
    if (!(c.win = zy_alloc(WINDOW))) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
        goto fail;
    }
    if ((s = read_header(&c))) goto fail;
    zy_free(c.win);
    *out = g;
    return ZY_STATUS_OK;
fail:
    zy_free(c.win);
    zy_gguf_free(g);
    return s;
}

void zy_gguf_free(zy_gguf *g) {
    if (!g) return;
    if (g->fd >= 0) close(g->fd);
    for (zy__gguf_block *b = g->blocks, *n; b; b = n) {
        n = b->next;
        zy_free(b);
    }
    zy_free(g->kv);
    zy_free(g->tensors);
    zy_free(g->kv_by_key);
    zy_free(g->tensor_by_name);
    zy_free(g->path);
    zy_free(g);
}

bool zy_gguf_is_gguf(const char *path) {
    char m[4];
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) return false;
    struct stat sb;
    bool ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && pread(fd, m, 4, 0) == 4 &&
              !memcmp(m, ZY__GGUF_MAGIC, 4);
    close(fd);
    return ok;
}

// ---- queries -------------------------------------------------------------------------------
const char *zy_gguf_path(const zy_gguf *g) { return g->path; }
uint32_t zy_gguf_version(const zy_gguf *g) { return g->version; }
uint32_t zy_gguf_alignment(const zy_gguf *g) { return g->alignment; }
uint64_t zy_gguf_data_offset(const zy_gguf *g) { return g->data_offset; }
int zy_gguf_kv_count(const zy_gguf *g) { return g->n_kv; }
int zy_gguf_tensor_count(const zy_gguf *g) { return g->n_tensors; }

const zy_gguf_kv *zy_gguf_kv_at(const zy_gguf *g, int i) {
    return i >= 0 && i < g->n_kv ? &g->kv[i] : NULL;
}

const zy_gguf_tensor *zy_gguf_tensor_at(const zy_gguf *g, int i) {
    return i >= 0 && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const zy_gguf_kv *zy_gguf_find(const zy_gguf *g, const char *key) {
    int lo = 0, hi = g->n_kv;
    while (lo < hi && g->kv_by_key) {
        int mid = lo + (hi - lo) / 2, c = strcmp(g->kv[g->kv_by_key[mid]].key, key);
        if (!c) return &g->kv[g->kv_by_key[mid]];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const zy_gguf_tensor *zy_gguf_find_tensor(const zy_gguf *g, const char *name) {
    int lo = 0, hi = g->n_tensors;
    while (lo < hi && g->tensor_by_name) {
        int mid = lo + (hi - lo) / 2, c = strcmp(g->tensors[g->tensor_by_name[mid]].name, name);
        if (!c) return &g->tensors[g->tensor_by_name[mid]];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static zy_status need(const zy_gguf *g, const char *key, const zy_gguf_kv **kv) {
    if (!(*kv = zy_gguf_find(g, key)))
        return zy__error(ZY_STATUS_NOT_FOUND, "%s: key '%s' missing", g->path, key);
    return ZY_STATUS_OK;
}

static zy_status wrong_type(const zy_gguf *g, const zy_gguf_kv *kv, const char *want) {
    return BAD("%s: key '%s' must be %s, not a%s %s", g->path, kv->key, want,
               kv->type == ZY_GGUF_INT8 || kv->type == ZY_GGUF_INT16 ||
               kv->type == ZY_GGUF_INT32 || kv->type == ZY_GGUF_INT64 ||
               kv->type == ZY_GGUF_ARRAY ? "n" : "",
               zy_gguf_type_name(kv->type));
}

zy_status zy_gguf_get_uint(const zy_gguf *g, const char *key, uint64_t lo, uint64_t hi,
                           uint64_t *out) {
    const zy_gguf_kv *kv;
    zy_status s = need(g, key, &kv);
    if (s) return s;
    uint64_t v;
    switch (kv->type) {
    case ZY_GGUF_UINT8: case ZY_GGUF_UINT16: case ZY_GGUF_UINT32: case ZY_GGUF_UINT64:
        v = kv->v.u;
        break;
    case ZY_GGUF_INT8: case ZY_GGUF_INT16: case ZY_GGUF_INT32: case ZY_GGUF_INT64:
        if (kv->v.i < 0)
            return BAD("%s: key '%s' = %lld must be in [%llu, %llu]", g->path, key,
                       (long long)kv->v.i, (unsigned long long)lo, (unsigned long long)hi);
        v = (uint64_t)kv->v.i;
        break;
    default: return wrong_type(g, kv, "an integer");
    }
    if (v < lo || v > hi)
        return BAD("%s: key '%s' = %llu must be in [%llu, %llu]", g->path, key,
                   (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
    *out = v;
    return ZY_STATUS_OK;
}

zy_status zy_gguf_get_float(const zy_gguf *g, const char *key, double *out) {
    const zy_gguf_kv *kv;
    zy_status s = need(g, key, &kv);
    if (s) return s;
    if (kv->type != ZY_GGUF_FLOAT32 && kv->type != ZY_GGUF_FLOAT64)
        return wrong_type(g, kv, "a float32 or float64");
    *out = kv->v.f;
    return ZY_STATUS_OK;
}

zy_status zy_gguf_get_bool(const zy_gguf *g, const char *key, bool *out) {
    const zy_gguf_kv *kv;
    zy_status s = need(g, key, &kv);
    if (s) return s;
    if (kv->type != ZY_GGUF_BOOL) return wrong_type(g, kv, "a bool");
    *out = kv->v.b;
    return ZY_STATUS_OK;
}

zy_status zy_gguf_get_string(const zy_gguf *g, const char *key, const char **out) {
    const zy_gguf_kv *kv;
    zy_status s = need(g, key, &kv);
    if (s) return s;
    if (kv->type != ZY_GGUF_STRING) return wrong_type(g, kv, "a string");
    if (strlen(kv->str.s) != kv->str.len)
        return BAD("%s: key '%s': the string holds a NUL byte", g->path, key);
    *out = kv->str.s;
    return ZY_STATUS_OK;
}

zy_status zy_gguf_get_array(const zy_gguf *g, const char *key, zy_gguf_type elem,
                            const zy_gguf_kv **out) {
    const zy_gguf_kv *kv;
    zy_status s = need(g, key, &kv);
    if (s) return s;
    if (kv->type != ZY_GGUF_ARRAY || kv->elem != elem) {
        char want[48];
        snprintf(want, sizeof want, "an array of %s", zy_gguf_type_name(elem));
        if (kv->type == ZY_GGUF_ARRAY)
            return BAD("%s: key '%s' must be %s, not of %s", g->path, key, want,
                       zy_gguf_type_name(kv->elem));
        return wrong_type(g, kv, want);
    }
    *out = kv;
    return ZY_STATUS_OK;
}

// ---- tensor data ---------------------------------------------------------------------------
static zy_status find_tensor(const zy_gguf *g, const char *name, const zy_gguf_tensor **t) {
    if (!(*t = zy_gguf_find_tensor(g, name)))
        return zy__error(ZY_STATUS_NOT_FOUND, "%s: no tensor '%s'", g->path, name);
    return ZY_STATUS_OK;
}

zy_status zy_gguf_read_raw(const zy_gguf *g, const char *name, void *dst, size_t nbytes) {
    const zy_gguf_tensor *t;
    zy_status s = find_tensor(g, name, &t);
    if (s) return s;
    if (nbytes != t->nbytes)
        return zy__error(ZY_STATUS_SHAPE_MISMATCH, "%s: tensor '%s' is %llu bytes, the caller "
                         "expects %zu", g->path, name, (unsigned long long)t->nbytes, nbytes);
    return zy__pread_full(g->fd, dst, nbytes, t->offset, g->path);
}

zy_status zy_gguf_read_f32(const zy_gguf *g, const char *name, float *dst, size_t n) {
    const zy_gguf_tensor *t;
    zy_status s = find_tensor(g, name, &t);
    if (s) return s;
    zy_wtype w;
    if (!zy_wtype_of_ggml_type(t->type, &w))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: tensor '%s' is %s, which zhuyi cannot "
                         "convert to float (f32, f16, bf16, q8_0 and q4_0 it can)", g->path,
                         name, zy_ggml_type_name(t->type));
    if (n != t->numel)
        return zy__error(ZY_STATUS_SHAPE_MISMATCH, "%s: tensor '%s' has %llu elements, the "
                         "caller expects %zu", g->path, name, (unsigned long long)t->numel, n);
    if (w == ZY_WTYPE_F32 || n == 0) return zy__pread_full(g->fd, dst, t->nbytes, t->offset, g->path);
    // Whole rows at a time through a buffer of about 4 MiB (one row if rows are larger).
    size_t row = (size_t)t->ne[0], row_bytes = zy_wtype_row_bytes(w, row);
    size_t rows = n / row, per = ZY_MAX((size_t)1, ((size_t)4 << 20) / row_bytes);
    uint8_t *buf = zy_alloc(ZY_MIN(per, rows) * row_bytes);
    if (!buf) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory reading '%s'",
                               g->path, name);
    for (size_t r = 0; r < rows && !s; r += per) {
        size_t k = ZY_MIN(per, rows - r);
        s = zy__pread_full(g->fd, buf, k * row_bytes, t->offset + (uint64_t)r * row_bytes, g->path);
        for (size_t j = 0; j < k && !s; j++)
            zy_dequantize_row(w, buf + j * row_bytes, dst + (r + j) * row, row);
    }
    zy_free(buf);
    return s;
}
