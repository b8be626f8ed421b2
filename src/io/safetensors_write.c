// The safetensors writer: float tensors (stored as F32, F16 or BF16) plus metadata to one
// file, atomically (zy_file_writer). Not the reader (safetensors_read.c).
//
// Output is a function of the input alone, laid out as the reference implementation
// (Hugging Face's Rust crate, which Python's save_file uses) lays out same-dtype tensors:
//   - header: compact JSON, "__metadata__" first (omitted when there is none; keys sorted
//     here, where the reference's order is a hash map's), then one entry per tensor as
//     {"dtype":"F32","shape":[..],"data_offsets":[b,e]}, tensors sorted by name (bytes)
//   - strings escaped as serde_json does: \" \\ \b \f \n \r \t, other controls \u00xx,
//     everything else (UTF-8) as is
//   - header padded with spaces to a multiple of 8 bytes, so data starts 8-byte aligned
//   - data in the same order as the header, contiguous, little-endian
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "safetensors.h"
#include "zhuyi/io.h"

// Tensor bytes are copied between file and memory as they are: safetensors is little-endian.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O assumes a little-endian host"
#endif

zy_safetensors_write_params zy_safetensors_write_default_params(void) {
    zy_safetensors_write_params p = {ZY_DTYPE_F32, NULL, 0};
    return p;
}

// ---- a growing string -----------------------------------------------------------------
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = zy_alloc(cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        if (b->len) memcpy(p, b->p, b->len);
        zy_free(b->p);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(sbuf *b, uint64_t v) {
    char tmp[24];
    int i = 23;
    tmp[i] = '\0';
    do tmp[--i] = (char)('0' + v % 10);
    while (v /= 10);
    sb_str(b, tmp + i);
}

static void sb_json_string(sbuf *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        switch (*p) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (*p >= 0x20) {
                sb_put(b, (const char *)p, 1);
                continue;
            }
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
        }
        sb_str(b, esc);
    }
    sb_put(b, "\"", 1);
}

// ---- validation -----------------------------------------------------------------------
static _Thread_local const zy_safetensors_tensor *sort_tensors;
static _Thread_local const zy_safetensors_kv *sort_kv;
static int cmp_tensor(const void *a, const void *b) {
    return strcmp(sort_tensors[*(const int *)a].name, sort_tensors[*(const int *)b].name);
}
static int cmp_kv(const void *a, const void *b) {
    return strcmp(sort_kv[*(const int *)a].key, sort_kv[*(const int *)b].key);
}

#define INVALID(...) zy__error(ZY_STATUS_INVALID_ARGUMENT, __VA_ARGS__)

static int valid_string(const char *s) { return s && zy__utf8_valid(s, strlen(s), NULL); }

// Element count of t, or a message: dims in [0, 2^53], no overflow of the byte size.
static zy_status tensor_numel(const zy_safetensors_tensor *t, size_t esize, uint64_t *numel,
                              const char *path) {
    if (t->ndim < 0 || t->ndim > ZY_SAFETENSORS_MAX_DIMS)
        return INVALID("%s: tensor '%s': ndim %d outside [0, %d]", path, t->name, t->ndim,
                       ZY_SAFETENSORS_MAX_DIMS);
    uint64_t n = 1;
    int overflow = 0, zero = 0;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0 || t->shape[d] > ((int64_t)1 << 53))
            return INVALID("%s: tensor '%s': shape[%d] = %lld outside [0, 2^53]", path,
                           t->name, d, (long long)t->shape[d]);
        zero |= t->shape[d] == 0;
        overflow |= __builtin_mul_overflow(n, (uint64_t)t->shape[d], &n);
    }
    uint64_t bytes;
    overflow |= __builtin_mul_overflow(n, (uint64_t)esize, &bytes);
    if (zero) n = 0, overflow = 0;
    if (overflow || bytes > ((uint64_t)1 << 53))
        return INVALID("%s: tensor '%s': too many elements", path, t->name);
    if (n > 0 && !t->data) return INVALID("%s: tensor '%s': data is NULL", path, t->name);
    *numel = n;
    return ZY_STATUS_OK;
}

static zy_status validate(const zy_safetensors_tensor *tensors, int n,
                          const zy_safetensors_write_params *p, int *order, int *morder,
                          uint64_t *numel, const char *path) {
    for (int i = 0; i < n; i++) {
        const zy_safetensors_tensor *t = &tensors[i];
        if (!t->name || !*t->name) return INVALID("%s: tensor %d has no name", path, i);
        if (!valid_string(t->name))
            return INVALID("%s: tensor %d: name is not valid UTF-8", path, i);
        if (!strcmp(t->name, "__metadata__"))
            return INVALID("%s: tensor name '__metadata__' is reserved", path);
        zy_status s = tensor_numel(t, zy_dtype_size(p->dtype), &numel[i], path);
        if (s) return s;
        order[i] = i;
    }
    sort_tensors = tensors;
    qsort(order, (size_t)n, sizeof *order, cmp_tensor);
    for (int k = 1; k < n; k++)
        if (!strcmp(tensors[order[k]].name, tensors[order[k - 1]].name))
            return INVALID("%s: tensor '%s': duplicate name", path, tensors[order[k]].name);
    for (int i = 0; i < p->n_metadata; i++) {
        if (!valid_string(p->metadata[i].key) || !valid_string(p->metadata[i].value))
            return INVALID("%s: metadata pair %d: key or value missing or not UTF-8", path, i);
        morder[i] = i;
    }
    sort_kv = p->metadata;
    qsort(morder, (size_t)p->n_metadata, sizeof *morder, cmp_kv);
    for (int k = 1; k < p->n_metadata; k++)
        if (!strcmp(p->metadata[morder[k]].key, p->metadata[morder[k - 1]].key))
            return INVALID("%s: metadata key '%s' appears twice", path,
                           p->metadata[morder[k]].key);
    return ZY_STATUS_OK;
}

// ---- writing --------------------------------------------------------------------------
static void build_header(sbuf *h, const zy_safetensors_tensor *tensors, int n,
                         const zy_safetensors_write_params *p, const int *order,
                         const int *morder, const uint64_t *numel) {
    sb_str(h, "{");
    if (p->n_metadata > 0) {
        sb_str(h, "\"__metadata__\":{");
        for (int k = 0; k < p->n_metadata; k++) {
            if (k) sb_str(h, ",");
            sb_json_string(h, p->metadata[morder[k]].key);
            sb_str(h, ":");
            sb_json_string(h, p->metadata[morder[k]].value);
        }
        sb_str(h, "}");
    }
    uint64_t pos = 0, esize = zy_dtype_size(p->dtype);
    for (int k = 0; k < n; k++) {
        const zy_safetensors_tensor *t = &tensors[order[k]];
        if (k || p->n_metadata > 0) sb_str(h, ",");
        sb_json_string(h, t->name);
        sb_str(h, ":{\"dtype\":\"");
        sb_str(h, zy_dtype_name(p->dtype));
        sb_str(h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d) sb_str(h, ",");
            sb_u64(h, (uint64_t)t->shape[d]);
        }
        sb_str(h, "],\"data_offsets\":[");
        sb_u64(h, pos);
        sb_str(h, ",");
        pos += numel[order[k]] * esize;
        sb_u64(h, pos);
        sb_str(h, "]}");
    }
    sb_str(h, "}");
    while (!h->oom && h->len % 8) sb_str(h, " ");
}

static zy_status write_data(zy_file_writer *w, const float *x, uint64_t n, zy_dtype dtype) {
    if (dtype == ZY_DTYPE_F32) return zy_file_writer_write(w, x, (size_t)n * 4);
    uint16_t buf[8192]; // converted chunk by chunk: no allocation per tensor
    for (uint64_t i = 0; i < n; i += 8192) {
        size_t k = (size_t)ZY_MIN(n - i, (uint64_t)8192);
        if (dtype == ZY_DTYPE_F16) zy_f32_to_f16_array(buf, x + i, k);
        else zy_f32_to_bf16_array(buf, x + i, k);
        zy_status s = zy_file_writer_write(w, buf, k * 2);
        if (s) return s;
    }
    return ZY_STATUS_OK;
}

zy_status zy_safetensors_write(const char *path, const zy_safetensors_tensor *tensors, int n,
                               zy_safetensors_write_params p) {
    if (!path) return INVALID("safetensors write: path is NULL");
    if (p.dtype != ZY_DTYPE_F32 && p.dtype != ZY_DTYPE_F16 && p.dtype != ZY_DTYPE_BF16)
        return INVALID("%s: can only write F32, F16 or BF16, not dtype %d", path, (int)p.dtype);
    if (n < 0 || (n > 0 && !tensors) || p.n_metadata < 0 || (p.n_metadata > 0 && !p.metadata))
        return INVALID("%s: bad tensor or metadata count", path);
    zy_status s;
    sbuf h = {0};
    zy_file_writer *w = NULL;
    int *order = zy_alloc(((size_t)n + 1) * sizeof *order);
    int *morder = zy_alloc(((size_t)p.n_metadata + 1) * sizeof *morder);
    uint64_t *numel = zy_alloc(((size_t)n + 1) * sizeof *numel);
    if (!order || !morder || !numel) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
        goto done;
    }
    if ((s = validate(tensors, n, &p, order, morder, numel, path))) goto done;
    build_header(&h, tensors, n, &p, order, morder, numel);
    if (h.oom) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for the header", path);
        goto done;
    }
    unsigned char nb[8];
    for (int i = 0; i < 8; i++) nb[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    if ((s = zy_file_writer_create(&w, path))) goto done;
    s = zy_file_writer_write(w, nb, 8);
    if (!s) s = zy_file_writer_write(w, h.p, h.len);
    for (int k = 0; k < n && !s; k++)
        s = write_data(w, tensors[order[k]].data, numel[order[k]], p.dtype);
    if (s) zy_file_writer_abort(w);
    else s = zy_file_writer_commit(w);

done:
    zy_free(h.p);
    zy_free(numel);
    zy_free(morder);
    zy_free(order);
    return s;
}
