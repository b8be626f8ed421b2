// The safetensors reader: opens a file, validates its whole header, and reads tensors on
// demand with pread (F32 as is, F16/BF16 converted to F32). Not the writer
// (safetensors_write.c) and not model code (which names to expect).
//
// Format (Hugging Face safetensors), little-endian:
//   u64 N                      header size in bytes
//   N bytes                    UTF-8 JSON object: name -> {"dtype": "F32", "shape": [..],
//                              "data_offsets": [begin, end]}, optional "__metadata__":
//                              {string: string}; may end with padding spaces
//   data                       the rest of the file; offsets are relative to its start
// Validated before any tensor data is touched (every failure is ZY_STATUS_BAD_FORMAT with
// the file, the tensor and the field in the message):
//   - file >= 8 bytes; N <= ZY_SAFETENSORS_MAX_HEADER and N <= file size - 8
//   - header is UTF-8 with no NUL byte, one JSON object, only whitespace after it
//   - "__metadata__" (at most once) maps strings to strings; keys unique
//   - each tensor: an object with each of dtype (a known dtype name), shape (array of at
//     most ZY_SAFETENSORS_MAX_DIMS integers in [0, 2^53]) and data_offsets (two integers,
//     begin <= end <= data size) exactly once; product(shape) * dtype size computed
//     without overflow and equal to end - begin; unknown extra fields are ignored (as the
//     reference implementation does)
//   - names unique, non-empty, UTF-8
//   - sorted by offset, tensors tile the data region exactly: first begins at 0, each
//     begins where the previous ends (overlaps and holes are both reported), the last
//     ends at the end of the file
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "safetensors.h"
#include "zhuyi/io.h"

// Tensor bytes are copied between file and memory as they are: safetensors is little-endian.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors I/O assumes a little-endian host"
#endif

#define BAD(...) zy__error(ZY_STATUS_BAD_FORMAT, __VA_ARGS__)

zy_status zy_safetensors_open(zy_safetensors **out, const char *path) {
    *out = NULL;
    zy_status s;
    char *header = NULL;
    zy_safetensors *st = zy_calloc(1, sizeof *st);
    if (!st) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    st->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (st->fd < 0) {
        s = zy__error(ZY_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (!(st->path = zy__strdup(path))) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
        goto fail;
    }
    struct stat sb;
    if (fstat(st->fd, &sb) != 0) {
        s = zy__error(ZY_STATUS_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        s = zy__error(ZY_STATUS_IO, "%s: not a regular file", path);
        goto fail;
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size < 8) {
        s = BAD("%s: file is %llu bytes, too short for the 8-byte header size", path,
                (unsigned long long)size);
        goto fail;
    }
    unsigned char nb[8];
    if ((s = zy__pread_full(st->fd, nb, 8, 0, path))) goto fail;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | nb[i];
    if (n > ZY_SAFETENSORS_MAX_HEADER) {
        s = BAD("%s: header size %llu exceeds the limit of %u bytes", path,
                (unsigned long long)n, ZY_SAFETENSORS_MAX_HEADER);
        goto fail;
    }
    if (n > size - 8) {
        s = BAD("%s: header size %llu past end of file (%llu bytes after the size field)", path,
                (unsigned long long)n, (unsigned long long)(size - 8));
        goto fail;
    }
    if (n < 2) {
        s = BAD("%s: header of %llu bytes cannot hold a JSON object", path,
                (unsigned long long)n);
        goto fail;
    }
    st->data_start = 8 + n;
    if (!(header = zy_alloc((size_t)n + 1))) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for a %llu-byte header", path,
                      (unsigned long long)n);
        goto fail;
    }
    if ((s = zy__pread_full(st->fd, header, (size_t)n, 8, path))) goto fail;
    header[n] = '\0';
    if ((s = zy__st_parse_header(st, header, (size_t)n, size - st->data_start, path))) goto fail;
    zy_free(header);
    *out = st;
    return ZY_STATUS_OK;

fail:
    zy_free(header);
    zy_safetensors_free(st);
    return s;
}

void zy_safetensors_free(zy_safetensors *st) {
    if (!st) return;
    if (st->fd >= 0) close(st->fd);
    zy_free(st->path);
    zy_free(st->tensors);
    zy_free(st->by_name);
    zy_free(st->meta);
    zy_free(st->pool);
    zy_free(st);
}

// ---- queries --------------------------------------------------------------------------
int zy_safetensors_count(const zy_safetensors *st) { return st->n; }

const zy_tensor_info *zy_safetensors_info(const zy_safetensors *st, int i) {
    return i >= 0 && i < st->n ? &st->tensors[i] : NULL;
}

const zy_tensor_info *zy_safetensors_find(const zy_safetensors *st, const char *name) {
    int lo = 0, hi = st->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(st->tensors[st->by_name[mid]].name, name);
        if (c == 0) return &st->tensors[st->by_name[mid]];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int zy_safetensors_metadata_count(const zy_safetensors *st) { return st->n_meta; }

void zy_safetensors_metadata(const zy_safetensors *st, int i, const char **key,
                             const char **value) {
    int ok = i >= 0 && i < st->n_meta;
    *key = ok ? st->meta[2 * i] : NULL;
    *value = ok ? st->meta[2 * i + 1] : NULL;
}

const char *zy_safetensors_metadata_get(const zy_safetensors *st, const char *key) {
    for (int i = 0; i < st->n_meta; i++)
        if (!strcmp(st->meta[2 * i], key)) return st->meta[2 * i + 1];
    return NULL;
}

// ---- reading data ---------------------------------------------------------------------
static zy_status find_or_fail(const zy_safetensors *st, const char *name,
                              const zy_tensor_info **t) {
    *t = zy_safetensors_find(st, name);
    if (!*t) return zy__error(ZY_STATUS_NOT_FOUND, "%s: no tensor '%s'", st->path, name);
    return ZY_STATUS_OK;
}

zy_status zy_safetensors_read_raw(const zy_safetensors *st, const char *name, void *dst,
                                  size_t nbytes) {
    const zy_tensor_info *t;
    zy_status s = find_or_fail(st, name, &t);
    if (s) return s;
    if (nbytes != t->nbytes)
        return zy__error(ZY_STATUS_SHAPE_MISMATCH, "%s: tensor '%s': %llu bytes, caller expects %zu",
                         st->path, name, (unsigned long long)t->nbytes, nbytes);
    return zy__pread_full(st->fd, dst, nbytes, t->offset, st->path);
}

zy_status zy_safetensors_read_f32_range(const zy_safetensors *st, const char *name,
                                        size_t first, size_t n, float *dst) {
    const zy_tensor_info *t;
    zy_status s = find_or_fail(st, name, &t);
    if (s) return s;
    if (t->dtype != ZY_DTYPE_F32 && t->dtype != ZY_DTYPE_F16 && t->dtype != ZY_DTYPE_BF16)
        return zy__error(ZY_STATUS_UNSUPPORTED,
                         "%s: tensor '%s': dtype %s cannot be loaded as float (F32, F16, BF16 can)",
                         st->path, name, zy_dtype_name(t->dtype));
    if (first > t->numel || n > t->numel - first)
        return zy__error(ZY_STATUS_SHAPE_MISMATCH,
                         "%s: tensor '%s': has %llu elements, caller reads %zu from element %zu",
                         st->path, name, (unsigned long long)t->numel, n, first);
    size_t esize = t->dtype == ZY_DTYPE_F32 ? 4 : 2;
    uint64_t at = t->offset + first * esize;
    if (t->dtype == ZY_DTYPE_F32) return zy__pread_full(st->fd, dst, n * 4, at, st->path);
    // Halves go through a small stack buffer, converted chunk by chunk: no allocation.
    uint16_t buf[8192];
    for (size_t i = 0; i < n; i += 8192) {
        size_t k = ZY_MIN(n - i, (size_t)8192);
        if ((s = zy__pread_full(st->fd, buf, k * 2, at + i * 2, st->path))) return s;
        if (t->dtype == ZY_DTYPE_F16) zy_f16_to_f32_array(dst + i, buf, k);
        else zy_bf16_to_f32_array(dst + i, buf, k);
    }
    return ZY_STATUS_OK;
}

zy_status zy_safetensors_read_f32(const zy_safetensors *st, const char *name, float *dst,
                                  size_t n) {
    const zy_tensor_info *t;
    zy_status s = find_or_fail(st, name, &t);
    if (s) return s;
    if (n != t->numel && (t->dtype == ZY_DTYPE_F32 || t->dtype == ZY_DTYPE_F16 ||
                          t->dtype == ZY_DTYPE_BF16))
        return zy__error(ZY_STATUS_SHAPE_MISMATCH,
                         "%s: tensor '%s': has %llu elements, caller expects %zu", st->path,
                         name, (unsigned long long)t->numel, n);
    return zy_safetensors_read_f32_range(st, name, 0, n, dst);
}

static void shape_str(char *buf, size_t cap, const int64_t *shape, int ndim) {
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "",
                                (long long)shape[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

zy_status zy_safetensors_read_shaped(const zy_safetensors *st, const char *name, float *dst,
                                     const int64_t *shape, int ndim) {
    const zy_tensor_info *t;
    zy_status s = find_or_fail(st, name, &t);
    if (s) return s;
    int same = ndim == t->ndim;
    for (int i = 0; same && i < ndim; i++) same = shape[i] == t->shape[i];
    if (!same) {
        char want[256], have[256];
        shape_str(want, sizeof want, shape, ndim);
        shape_str(have, sizeof have, t->shape, t->ndim);
        return zy__error(ZY_STATUS_SHAPE_MISMATCH, "%s: tensor '%s': shape %s, expected %s",
                         st->path, name, have, want);
    }
    return zy_safetensors_read_f32(st, name, dst, (size_t)t->numel);
}
