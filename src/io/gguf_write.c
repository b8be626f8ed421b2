// The GGUF writer: metadata pairs and tensors collected in memory (values encoded as the
// file holds them; tensor data by reference), then written in one go through the atomic
// file writer (temporary file, fsync, rename). Not the reader (gguf_read.c).
//
// Output: "GGUF", version 3, counts, the pairs in the order their keys were first set,
// the tensor infos in the order tensors were added, zero padding to the alignment, and
// each tensor's data at the next multiple of the alignment (padding zero). Same calls,
// same bytes. Everything is checked when it is set or added, so writing fails only on
// I/O, memory or an interrupting progress callback.
#include <string.h>

#include "core/internal.h"
#include "io/gguf_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "GGUF I/O assumes a little-endian host"
#endif

#define INVALID(...) zy__error(ZY_STATUS_INVALID_ARGUMENT, __VA_ARGS__)

typedef struct wkv {
    char *key;
    uint8_t *value; // the u32 type and the value, encoded
    size_t n;
} wkv;

typedef struct wtensor {
    char *name;
    uint32_t type;
    int ndim;
    uint64_t ne[ZY_GGUF_MAX_DIMS];
    uint64_t nbytes;
    const void *data; // raw bytes, or
    const float *src; // floats converted to wtype when written
    zy_wtype wtype;
} wtensor;

struct zy_gguf_writer {
    wkv *kv;
    int n_kv, cap_kv;
    wtensor *t;
    int n_t, cap_t;
    uint32_t alignment;
};

zy_status zy_gguf_writer_create(zy_gguf_writer **out) {
    if (!out) return INVALID("gguf writer: NULL argument");
    if (!(*out = zy_calloc(1, sizeof **out)))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gguf writer: out of memory");
    (*out)->alignment = ZY_GGUF_DEFAULT_ALIGNMENT;
    return ZY_STATUS_OK;
}

void zy_gguf_writer_free(zy_gguf_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n_kv; i++) zy_free(w->kv[i].key), zy_free(w->kv[i].value);
    for (int i = 0; i < w->n_t; i++) zy_free(w->t[i].name);
    zy_free(w->kv);
    zy_free(w->t);
    zy_free(w);
}

static zy_status grow(void **p, int *cap, int n, size_t size) {
    if (n < *cap) return ZY_STATUS_OK;
    int c = *cap ? *cap * 2 : 16;
    void *q = zy_alloc((size_t)c * size);
    if (!q) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gguf writer: out of memory");
    if (n) memcpy(q, *p, (size_t)n * size);
    zy_free(*p);
    *p = q, *cap = c;
    return ZY_STATUS_OK;
}

// ---- metadata ------------------------------------------------------------------------------
static zy_status check_key(const char *key) {
    if (!key || !key[0]) return INVALID("gguf writer: empty metadata key");
    if (strlen(key) > ZY_GGUF_MAX_KEY)
        return INVALID("gguf writer: key '%.60s...' is longer than %d bytes", key,
                       ZY_GGUF_MAX_KEY);
    return ZY_STATUS_OK;
}

// Store key -> value (n encoded bytes, taken over), replacing an earlier value in place.
static zy_status put(zy_gguf_writer *w, const char *key, uint8_t *value, size_t n) {
    for (int i = 0; i < w->n_kv; i++) {
        if (!strcmp(w->kv[i].key, key)) {
            zy_free(w->kv[i].value);
            w->kv[i].value = value, w->kv[i].n = n;
            return ZY_STATUS_OK;
        }
    }
    zy_status s = grow((void **)&w->kv, &w->cap_kv, w->n_kv, sizeof *w->kv);
    char *k = s ? NULL : zy__strdup(key);
    if (!k) {
        zy_free(value);
        return s ? s : zy__error(ZY_STATUS_OUT_OF_MEMORY, "gguf writer: out of memory");
    }
    w->kv[w->n_kv++] = (wkv){k, value, n};
    return ZY_STATUS_OK;
}

// A scalar of a fixed-size type: its n-byte little-endian form.
static zy_status put_scalar(zy_gguf_writer *w, const char *key, zy_gguf_type t, uint64_t bits) {
    zy_status s = check_key(key);
    if (s) return s;
    size_t n = zy_gguf_type_size(t);
    if (!strcmp(key, "general.alignment") &&
        (t != ZY_GGUF_UINT32 || bits == 0 || (bits & (bits - 1)) || bits > UINT32_MAX))
        return INVALID("gguf writer: general.alignment must be a uint32 power of two");
    uint8_t *v = zy_alloc(4 + n);
    if (!v) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gguf writer: out of memory");
    zy__put_le(v, (uint64_t)t, 4);
    zy__put_le(v + 4, bits, (int)n);
    if (!strcmp(key, "general.alignment")) w->alignment = (uint32_t)bits;
    return put(w, key, v, 4 + n);
}

zy_status zy_gguf_writer_set_uint(zy_gguf_writer *w, const char *key, zy_gguf_type type,
                                  uint64_t v) {
    uint64_t max = type == ZY_GGUF_UINT8 ? UINT8_MAX : type == ZY_GGUF_UINT16 ? UINT16_MAX
                 : type == ZY_GGUF_UINT32 ? UINT32_MAX : UINT64_MAX;
    if (type != ZY_GGUF_UINT8 && type != ZY_GGUF_UINT16 && type != ZY_GGUF_UINT32 &&
        type != ZY_GGUF_UINT64)
        return INVALID("gguf writer: key '%.80s': %s is not an unsigned integer type", key,
                       zy_gguf_type_name(type) ? zy_gguf_type_name(type) : "?");
    if (v > max)
        return INVALID("gguf writer: key '%.80s': %llu does not fit in a %s", key,
                       (unsigned long long)v, zy_gguf_type_name(type));
    return put_scalar(w, key, type, v);
}

zy_status zy_gguf_writer_set_int(zy_gguf_writer *w, const char *key, zy_gguf_type type,
                                 int64_t v) {
    int bits = type == ZY_GGUF_INT8 ? 8 : type == ZY_GGUF_INT16 ? 16 : type == ZY_GGUF_INT32 ? 32
             : type == ZY_GGUF_INT64 ? 64 : 0;
    if (!bits)
        return INVALID("gguf writer: key '%.80s': %s is not a signed integer type", key,
                       zy_gguf_type_name(type) ? zy_gguf_type_name(type) : "?");
    if (bits < 64 && (v < -((int64_t)1 << (bits - 1)) || v >= ((int64_t)1 << (bits - 1))))
        return INVALID("gguf writer: key '%.80s': %lld does not fit in a %s", key, (long long)v,
                       zy_gguf_type_name(type));
    return put_scalar(w, key, type, (uint64_t)v);
}

zy_status zy_gguf_writer_set_float(zy_gguf_writer *w, const char *key, zy_gguf_type type,
                                   double v) {
    uint64_t bits;
    if (type == ZY_GGUF_FLOAT32) {
        float f = (float)v;
        uint32_t u;
        memcpy(&u, &f, 4);
        bits = u;
    } else if (type == ZY_GGUF_FLOAT64) {
        memcpy(&bits, &v, 8);
    } else {
        return INVALID("gguf writer: key '%.80s': %s is not a float type", key,
                       zy_gguf_type_name(type) ? zy_gguf_type_name(type) : "?");
    }
    return put_scalar(w, key, type, bits);
}

zy_status zy_gguf_writer_set_bool(zy_gguf_writer *w, const char *key, bool v) {
    return put_scalar(w, key, ZY_GGUF_BOOL, v ? 1 : 0);
}

zy_status zy_gguf_writer_set_string(zy_gguf_writer *w, const char *key, const char *str,
                                    size_t len) {
    zy_status s = check_key(key);
    if (s) return s;
    if (!str && len) return INVALID("gguf writer: key '%.80s': NULL string", key);
    uint8_t *v = zy_alloc(12 + len);
    if (!v) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gguf writer: out of memory");
    zy__put_le(v, ZY_GGUF_STRING, 4);
    zy__put_le(v + 4, len, 8);
    if (len) memcpy(v + 12, str, len);
    return put(w, key, v, 12 + len);
}

zy_status zy_gguf_writer_set_array(zy_gguf_writer *w, const char *key, zy_gguf_type elem,
                                   const void *data, uint64_t n) {
    zy_status s = check_key(key);
    if (s) return s;
    size_t size = zy_gguf_type_size(elem), bytes;
    if (!size)
        return INVALID("gguf writer: key '%.80s': an array of %s needs "
                       "zy_gguf_writer_set_array_strings or is not supported", key,
                       zy_gguf_type_name(elem) ? zy_gguf_type_name(elem) : "?");
    if (!data && n) return INVALID("gguf writer: key '%.80s': NULL data", key);
    if (n > SIZE_MAX / size || !zy__mul_size((size_t)n, size, &bytes) || bytes > SIZE_MAX - 16)
        return INVALID("gguf writer: key '%.80s': an array of %llu values is too large", key,
                       (unsigned long long)n);
    for (uint64_t i = 0; elem == ZY_GGUF_BOOL && i < n; i++)
        if (((const uint8_t *)data)[i] > 1)
            return INVALID("gguf writer: key '%.80s': element %llu is not a bool (0 or 1)",
                           key, (unsigned long long)i);
    uint8_t *v = zy_alloc(16 + bytes);
    if (!v) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gguf writer: out of memory");
    zy__put_le(v, ZY_GGUF_ARRAY, 4);
    zy__put_le(v + 4, (uint64_t)elem, 4);
    zy__put_le(v + 8, n, 8);
    if (bytes) memcpy(v + 16, data, bytes);
    return put(w, key, v, 16 + bytes);
}

zy_status zy_gguf_writer_set_array_strings(zy_gguf_writer *w, const char *key,
                                           const char *const *str, const size_t *len,
                                           uint64_t n) {
    zy_status s = check_key(key);
    if (s) return s;
    if (!str && n) return INVALID("gguf writer: key '%.80s': NULL strings", key);
    size_t bytes = 16;
    for (uint64_t i = 0; i < n; i++) {
        size_t l = len ? len[i] : str[i] ? strlen(str[i]) : 0;
        if (!str[i] && l) return INVALID("gguf writer: key '%.80s': string %llu is NULL", key,
                                         (unsigned long long)i);
        if (l > SIZE_MAX - 8 - bytes)
            return INVALID("gguf writer: key '%.80s': the strings are too long", key);
        bytes += 8 + l;
    }
    uint8_t *v = zy_alloc(bytes), *p = v + 16;
    if (!v) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gguf writer: out of memory");
    zy__put_le(v, ZY_GGUF_ARRAY, 4);
    zy__put_le(v + 4, ZY_GGUF_STRING, 4);
    zy__put_le(v + 8, n, 8);
    for (uint64_t i = 0; i < n; i++) {
        size_t l = len ? len[i] : str[i] ? strlen(str[i]) : 0;
        zy__put_le(p, l, 8);
        if (l) memcpy(p + 8, str[i], l);
        p += 8 + l;
    }
    return put(w, key, v, bytes);
}

// ---- tensors -------------------------------------------------------------------------------
static zy_status add(zy_gguf_writer *w, const char *name, uint32_t type, int ndim,
                     const uint64_t *ne, const void *data, const float *src, zy_wtype wtype) {
    size_t block, bytes, len = name ? strlen(name) : 0;
    if (!len || len >= ZY_GGUF_MAX_NAME)
        return INVALID("gguf writer: tensor name '%.80s' must be 1 to %d bytes", name ? name : "",
                       ZY_GGUF_MAX_NAME - 1);
    for (int i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name))
            return INVALID("gguf writer: tensor '%s' added twice", name);
    if (ndim < 1 || ndim > ZY_GGUF_MAX_DIMS || !ne)
        return INVALID("gguf writer: tensor '%s': %d dimensions (1 to %d)", name, ndim,
                       ZY_GGUF_MAX_DIMS);
    if (!zy_ggml_type_block(type, &block, &bytes))
        return INVALID("gguf writer: tensor '%s': unknown ggml type %u", name, type);
    if (ne[0] % block)
        return INVALID("gguf writer: tensor '%s': ne[0] = %llu is not a multiple of %s's "
                       "block of %zu", name, (unsigned long long)ne[0], zy_ggml_type_name(type),
                       block);
    wtensor t = {.type = type, .ndim = ndim, .data = data, .src = src, .wtype = wtype};
    uint64_t numel = 1;
    for (int d = 0; d < ZY_GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < ndim ? ne[d] : 1;
        if (t.ne[d] > (uint64_t)INT64_MAX || (t.ne[d] && numel > (uint64_t)INT64_MAX / t.ne[d]))
            return INVALID("gguf writer: tensor '%s' has more than 2^63 elements", name);
        numel *= t.ne[d];
    }
    uint64_t row = t.ne[0] / block * bytes, rows = t.ne[0] ? numel / t.ne[0] : 0;
    if (rows && row > (uint64_t)INT64_MAX / rows)
        return INVALID("gguf writer: tensor '%s' is more than 2^63 bytes", name);
    t.nbytes = row * rows;
    if (t.nbytes && !data && !src) return INVALID("gguf writer: tensor '%s': NULL data", name);
    zy_status s = grow((void **)&w->t, &w->cap_t, w->n_t, sizeof *w->t);
    if (s) return s;
    if (!(t.name = zy__strdup(name)))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gguf writer: out of memory");
    w->t[w->n_t++] = t;
    return ZY_STATUS_OK;
}

zy_status zy_gguf_writer_add_tensor(zy_gguf_writer *w, const char *name, uint32_t type,
                                    int ndim, const uint64_t *ne, const void *data) {
    return add(w, name, type, ndim, ne, data, NULL, ZY_WTYPE_F32);
}

zy_status zy_gguf_writer_add_tensor_f32(zy_gguf_writer *w, const char *name, zy_wtype type,
                                        int ndim, const uint64_t *ne, const float *src) {
    if ((unsigned)type >= ZY_WTYPE_COUNT)
        return INVALID("gguf writer: tensor '%.80s': unknown weight type %d", name ? name : "",
                       (int)type);
    return add(w, name, zy_ggml_type_of_wtype(type), ndim, ne, NULL, src, type);
}

// ---- writing -------------------------------------------------------------------------------
typedef struct out {
    zy_file_writer *f;
    uint64_t done, total;
    zy_gguf_progress_fn progress;
    void *user;
} out;

static zy_status emit(out *o, const void *p, size_t n) {
    return n ? zy_file_writer_write(o->f, p, n) : ZY_STATUS_OK;
}

static zy_status emit_le(out *o, uint64_t v, int n) {
    uint8_t b[8];
    zy__put_le(b, v, n);
    return emit(o, b, (size_t)n);
}

static zy_status pad(out *o, uint32_t alignment) {
    static const uint8_t zero[64];
    uint64_t k = (alignment - zy_file_writer_size(o->f) % alignment) % alignment;
    zy_status s = ZY_STATUS_OK;
    while (k && !s) {
        size_t c = (size_t)ZY_MIN(k, (uint64_t)sizeof zero);
        s = emit(o, zero, c);
        k -= c;
    }
    return s;
}

// Data written: tell the callback; ZY_STATUS_INTERRUPTED when it asks to stop.
static zy_status advance(out *o, uint64_t n) {
    o->done += n;
    if (o->progress && o->progress(o->done, o->total, o->user))
        return zy__error(ZY_STATUS_INTERRUPTED, "gguf writer: stopped by the caller");
    return ZY_STATUS_OK;
}

#define CHUNK ((size_t)4 << 20)

static zy_status emit_tensor(out *o, const wtensor *t, uint8_t *buf) {
    zy_status s = ZY_STATUS_OK;
    if (t->data || t->wtype == ZY_WTYPE_F32) { // the bytes as they are
        const uint8_t *p = t->data ? t->data : (const void *)t->src;
        for (uint64_t at = 0; at < t->nbytes && !s; at += CHUNK) {
            size_t k = (size_t)ZY_MIN((uint64_t)CHUNK, t->nbytes - at);
            if (!(s = emit(o, p + at, k))) s = advance(o, k);
        }
        return s;
    }
    // Rows of ne[0] floats, converted a chunk of rows at a time.
    size_t row = (size_t)t->ne[0], rb = zy_wtype_row_bytes(t->wtype, row);
    size_t rows = row ? (size_t)(t->nbytes / rb) : 0;
    size_t per = ZY_MAX((size_t)1, CHUNK / rb);
    for (size_t r = 0; r < rows && !s; r += per) {
        size_t k = ZY_MIN(per, rows - r);
        for (size_t j = 0; j < k; j++)
            zy_quantize_row(t->wtype, t->src + (r + j) * row, buf + j * rb, row);
        if (!(s = emit(o, buf, k * rb))) s = advance(o, k * rb);
    }
    return s;
}

zy_status zy_gguf_writer_write(const zy_gguf_writer *w, const char *path,
                               zy_gguf_progress_fn progress, void *user) {
    if (!w || !path) return INVALID("gguf writer: NULL argument");
    size_t buf_bytes = CHUNK;
    for (int i = 0; i < w->n_t; i++) // a conversion buffer that holds a row at least
        if (w->t[i].src && w->t[i].nbytes) // (not for an empty tensor of long "rows")
            buf_bytes = ZY_MAX(buf_bytes, zy_wtype_row_bytes(w->t[i].wtype, (size_t)w->t[i].ne[0]));
    uint8_t *buf = zy_alloc(buf_bytes);
    if (!buf) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    out o = {.progress = progress, .user = user};
    for (int i = 0; i < w->n_t; i++) o.total += w->t[i].nbytes;
    zy_status s = zy_file_writer_create(&o.f, path);
    if (s) {
        zy_free(buf);
        return s;
    }
    s = emit(&o, ZY__GGUF_MAGIC, 4);
    if (!s) s = emit_le(&o, 3, 4);
    if (!s) s = emit_le(&o, (uint64_t)w->n_t, 8);
    if (!s) s = emit_le(&o, (uint64_t)w->n_kv, 8);
    for (int i = 0; i < w->n_kv && !s; i++) {
        size_t n = strlen(w->kv[i].key);
        if (!(s = emit_le(&o, n, 8)) && !(s = emit(&o, w->kv[i].key, n)))
            s = emit(&o, w->kv[i].value, w->kv[i].n);
    }
    uint64_t offset = 0; // of each tensor within the data section
    for (int i = 0; i < w->n_t && !s; i++) {
        const wtensor *t = &w->t[i];
        size_t n = strlen(t->name);
        if (!(s = emit_le(&o, n, 8)) && !(s = emit(&o, t->name, n)) &&
            !(s = emit_le(&o, (uint64_t)t->ndim, 4))) {
            for (int d = 0; d < t->ndim && !s; d++) s = emit_le(&o, t->ne[d], 8);
            if (!s && !(s = emit_le(&o, t->type, 4))) s = emit_le(&o, offset, 8);
        }
        offset += t->nbytes + (w->alignment - t->nbytes % w->alignment) % w->alignment;
    }
    if (!s && w->n_t) s = pad(&o, w->alignment);
    // Each tensor is padded to the alignment, the last one too (ggml's readers may read
    // the data section as the sum of the padded sizes).
    for (int i = 0; i < w->n_t && !s; i++) {
        if (!(s = pad(&o, w->alignment)) && !(s = emit_tensor(&o, &w->t[i], buf)))
            s = pad(&o, w->alignment);
    }
    zy_free(buf);
    if (s) {
        zy_file_writer_abort(o.f);
        return s;
    }
    return zy_file_writer_commit(o.f);
}
