// IDX files (image.h), the format of MNIST and Fashion-MNIST: plain, or gzip-compressed as
// Debian's dataset-fashion-mnist ships them (inflated through zlib, never to a file).
//
// Layout, big-endian: u8 0, u8 0, u8 type (0x08 unsigned byte, 0x09 signed byte, 0x0B i16,
// 0x0C i32, 0x0D f32, 0x0E f64; only 0x08 is read), u8 ndim; ndim x u32 dimensions; then
// the product of the dimensions values, row-major. MNIST's images are 0x00000803 (count,
// 28, 28), its labels 0x00000801 (count).
//
// Validated: the two zero bytes, the type, 1 <= ndim <= ZY_IDX_MAX_DIMS, the product of the
// dimensions (no overflow, not beyond the machine's memory), and before allocating, that
// the bytes left can hold it: exactly, for a plain file; for a gzip file, within deflate's
// 1032:1 bound. Then the values must end the file (a longer file is refused too: it is not
// the file its header describes). A gzip file may be several members back to back (as
// `cat a.gz b.gz` makes); bytes after the last member are an error.
#include <string.h>
#include <zlib.h>

#include "core/internal.h"
#include "zhuyi/image.h"

#define DEFLATE_MAX_RATIO 1032u

// Bytes pulled in order from memory, inflated or not.
typedef struct idx_src {
    const uint8_t *p;
    size_t n, pos; // the input; pos: bytes consumed (plain) or handed to zlib (gzip)
    int gz, z_open, z_end;
    z_stream z;
    const char *name;
} idx_src;

static int is_gzip(const uint8_t *p, size_t n) { return n >= 2 && p[0] == 0x1f && p[1] == 0x8b; }

// Up to len bytes into out; *got how many (fewer only at the end of the data).
static zy_status pull(idx_src *s, uint8_t *out, size_t len, size_t *got) {
    *got = 0;
    if (!s->gz) {
        size_t k = ZY_MIN(len, s->n - s->pos);
        memcpy(out, s->p + s->pos, k);
        s->pos += k;
        *got = k;
        return ZY_STATUS_OK;
    }
    while (*got < len && !s->z_end) {
        // avail_in / avail_out are 32-bit: feed and drain in pieces of at most 1 GiB.
        if (s->z.avail_in == 0 && s->pos < s->n) {
            size_t k = ZY_MIN(s->n - s->pos, (size_t)1 << 30);
            s->z.next_in = (Bytef *)(s->p + s->pos);
            s->z.avail_in = (uInt)k;
            s->pos += k;
        }
        size_t want = ZY_MIN(len - *got, (size_t)1 << 30);
        s->z.next_out = out + *got;
        s->z.avail_out = (uInt)want;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        *got += want - s->z.avail_out;
        if (rc == Z_STREAM_END) {
            // Another member may follow; anything else after the stream is an error.
            size_t rest = s->z.avail_in + (s->n - s->pos); // input is fed in order
            if (rest == 0) {
                s->z_end = 1;
            } else if (is_gzip(s->p + s->n - rest, rest)) {
                inflateReset(&s->z);
            } else {
                return zy__error(ZY_STATUS_BAD_FORMAT,
                                 "%s: %zu bytes after the end of the gzip data", s->name, rest);
            }
        } else if (rc == Z_BUF_ERROR && s->z.avail_in == 0 && s->pos >= s->n) {
            return zy__error(ZY_STATUS_BAD_FORMAT,
                             "%s: truncated: the gzip data ends before its end marker",
                             s->name);
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return zy__error(rc == Z_MEM_ERROR ? ZY_STATUS_OUT_OF_MEMORY : ZY_STATUS_BAD_FORMAT,
                             "%s: corrupt gzip data: %s", s->name,
                             s->z.msg ? s->z.msg : zError(rc));
        }
    }
    return ZY_STATUS_OK;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *type_name(int t) {
    switch (t) {
    case 0x09: return "signed byte";
    case 0x0B: return "16-bit integer";
    case 0x0C: return "32-bit integer";
    case 0x0D: return "32-bit float";
    case 0x0E: return "64-bit float";
    }
    return NULL;
}

static zy_status parse(zy_idx *x, idx_src *s) {
    const char *name = s->name;
    uint8_t h[4 * ZY_IDX_MAX_DIMS];
    size_t got;
    zy_status st = pull(s, h, 4, &got);
    if (st) return st;
    if (got < 4)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: truncated: %zu bytes, an IDX header has 4 "
                         "or more", name, got);
    if (h[0] != 0 || h[1] != 0 || (h[2] != 0x08 && !type_name(h[2])))
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: not an IDX file (magic 0x%02x%02x%02x%02x; images are "
                         "0x00000803, labels 0x00000801)", name, h[0], h[1], h[2], h[3]);
    if (h[2] != 0x08)
        return zy__error(ZY_STATUS_UNSUPPORTED,
                         "%s: IDX values of type 0x%02x (%s): only unsigned bytes (0x08) are "
                         "read", name, h[2], type_name(h[2]));
    int ndim = h[3];
    if (ndim < 1 || ndim > ZY_IDX_MAX_DIMS)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: IDX file of %d dimensions (1 to %d read)",
                         name, ndim, ZY_IDX_MAX_DIMS);
    if ((st = pull(s, h, 4 * (size_t)ndim, &got))) return st;
    if (got < 4 * (size_t)ndim)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: truncated: the header declares %d dimensions, the file ends "
                         "after %zu of their bytes", name, ndim, got);
    uint64_t count = 1;
    int overflow = 0;
    char shape[96] = "";
    for (int d = 0; d < ndim; d++) {
        x->dims[d] = be32(h + 4 * d);
        overflow |= __builtin_mul_overflow(count, (uint64_t)x->dims[d], &count);
        size_t k = strlen(shape);
        snprintf(shape + k, sizeof shape - k, "%s%u", d ? "x" : "", (unsigned)x->dims[d]);
    }
    if (count == 0) overflow = 0; // a zero dimension empties it whatever the others are
    if (overflow || count > SIZE_MAX || zy__exceeds_memory(count))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: IDX shape %s is too large for this machine",
                         name, shape);
    size_t left = s->n - s->pos;
    if (!s->gz && count != left)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: %s: the IDX shape %s needs %llu bytes of values, the file has %zu",
                         name, count > left ? "truncated" : "too long", shape,
                         (unsigned long long)count, left);
    if (s->gz && count > ((uint64_t)left + s->z.avail_in + 64) * DEFLATE_MAX_RATIO)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: truncated: the IDX shape %s needs %llu bytes of values, more "
                         "than the %zu compressed bytes left can inflate to",
                         name, shape, (unsigned long long)count, left + s->z.avail_in);
    x->data = zy_alloc((size_t)count);
    if (!x->data)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for IDX shape %s", name,
                         shape);
    x->ndim = ndim;
    x->count = (size_t)count;
    if ((st = pull(s, x->data, (size_t)count, &got))) return st;
    if (got < count)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: truncated: the IDX shape %s needs %llu bytes of values, the "
                         "gzip data holds %zu", name, shape, (unsigned long long)count, got);
    uint8_t extra[1];
    if ((st = pull(s, extra, 1, &got))) return st;
    if (got)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: too long: the gzip data holds more than the %llu bytes of "
                         "values the IDX shape %s needs", name, (unsigned long long)count,
                         shape);
    return ZY_STATUS_OK;
}

void zy_idx_destroy(zy_idx *x) {
    if (!x) return;
    zy_free(x->data);
    memset(x, 0, sizeof *x);
}

zy_status zy_idx_read_memory(zy_idx *x, const void *data, size_t n, const char *name) {
    memset(x, 0, sizeof *x);
    idx_src s = {.p = data, .n = n, .name = name};
    s.gz = is_gzip(s.p, n);
    if (s.gz) {
        // 16 + MAX_WBITS: a gzip wrapper (header and CRC-32 trailer checked by zlib).
        int rc = inflateInit2(&s.z, 16 + MAX_WBITS);
        if (rc != Z_OK)
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: cannot start zlib: %s", name,
                             zError(rc));
        s.z_open = 1;
    }
    zy_status st = parse(x, &s);
    if (s.z_open) inflateEnd(&s.z);
    if (st) zy_idx_destroy(x);
    return st;
}

zy_status zy_idx_read(zy_idx *x, const char *path) {
    memset(x, 0, sizeof *x);
    char *buf;
    size_t n;
    zy_status s = zy_file_read(path, &buf, &n);
    if (s) return s;
    s = zy_idx_read_memory(x, buf, n, path);
    zy_free(buf);
    return s;
}
