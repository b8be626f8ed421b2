// libFuzzer harness: the safetensors reader and writer (include/zhuyi/io.h,
// src/io/safetensors_*.c). The input is a file (or a header plus data; fz_safetensors_bytes).
// Properties checked on every input:
//  - zy_safetensors_open fails with ZY_STATUS_BAD_FORMAT and a message naming the file, or
//    the handle describes a well-formed file: names non-empty, valid UTF-8, unique, not
//    "__metadata__", each found by zy_safetensors_find; 0..8 dims within [0, 2^53];
//    numel = the product of the shape; nbytes = numel x dtype size; the data regions tile
//    the file from the end of the header to its last byte;
//  - every tensor reads back (read_raw) as exactly its bytes of the file; F32/F16/BF16 also
//    through read_f32 and read_shaped, bit for bit the scalar conversions, and through
//    read_f32_range over a few ranges (the same values); other dtypes are refused by
//    read_f32 and read_f32_range (ZY_STATUS_UNSUPPORTED); a wrong size or shape, or a range
//    past the end, is ZY_STATUS_SHAPE_MISMATCH;
//  - metadata: keys unique and UTF-8, metadata_get finds each value;
//  - written back with zy_safetensors_write (one file per float dtype present, all the
//    metadata in each; metadata alone when no float tensor) and reopened: the same names,
//    dtypes, shapes, data bytes (a NaN comes back quiet, as io.h documents) and metadata;
//    writing the reopened tensors again gives a byte-identical file.
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "io/safetensors.h"

static int is_float(zy_dtype d) {
    return d == ZY_DTYPE_F32 || d == ZY_DTYPE_F16 || d == ZY_DTYPE_BF16;
}

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// What a half written back after the F32 round trip looks like: a NaN made quiet.
static uint16_t quieted(uint16_t h, zy_dtype d) {
    if (d == ZY_DTYPE_F16 && (h & 0x7C00) == 0x7C00 && (h & 0x03FF)) return h | 0x0200;
    if (d == ZY_DTYPE_BF16 && (h & 0x7F80) == 0x7F80 && (h & 0x007F)) return h | 0x0040;
    return h;
}

static int cmp_off(const void *a, const void *b) {
    const zy_tensor_info *x = *(const zy_tensor_info *const *)a;
    const zy_tensor_info *y = *(const zy_tensor_info *const *)b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return 0;
}

// Every tensor of st: its description, its bytes, its floats (kept in f[i] for the writer).
static void check_tensors(const zy_safetensors *st, const unsigned char *file, size_t n,
                          uint64_t data_start, float **f) {
    int cnt = zy_safetensors_count(st);
    FZ_CHECK(cnt >= 0);
    FZ_CHECK(!zy_safetensors_info(st, -1) && !zy_safetensors_info(st, cnt));
    FZ_CHECK(!zy_safetensors_find(st, ""));
    const zy_tensor_info **by_off = malloc(((size_t)cnt + 1) * sizeof *by_off);
    FZ_CHECK(by_off);
    for (int i = 0; i < cnt; i++) {
        const zy_tensor_info *t = zy_safetensors_info(st, i);
        FZ_CHECK(t && t->name && t->name[0] && strcmp(t->name, "__metadata__"));
        FZ_CHECK(zy__utf8_valid(t->name, strlen(t->name), NULL));
        FZ_CHECKF(zy_safetensors_find(st, t->name) == t, "tensor '%s' not found by name",
                  t->name);
        FZ_CHECK((unsigned)t->dtype < ZY_DTYPE_COUNT);
        FZ_CHECK(t->ndim >= 0 && t->ndim <= ZY_SAFETENSORS_MAX_DIMS);
        uint64_t numel = 1;
        int zero = 0, overflow = 0;
        for (int d = 0; d < t->ndim; d++) {
            FZ_CHECK(t->shape[d] >= 0 && t->shape[d] <= ((int64_t)1 << 53));
            zero |= t->shape[d] == 0;
            overflow |= __builtin_mul_overflow(numel, (uint64_t)t->shape[d], &numel);
        }
        if (zero) numel = 0;
        else FZ_CHECK(!overflow);
        FZ_CHECK(t->numel == numel);
        FZ_CHECK(t->nbytes == numel * zy_dtype_size(t->dtype));
        FZ_CHECK(t->offset >= data_start && t->offset <= n && t->nbytes <= n - t->offset);
        by_off[i] = t;

        size_t nb = (size_t)t->nbytes;
        unsigned char *raw = malloc(nb + 1);
        FZ_CHECK(raw);
        FZ_CHECK(zy_safetensors_read_raw(st, t->name, raw, nb) == ZY_STATUS_OK);
        FZ_CHECKF(!memcmp(raw, file + t->offset, nb), "tensor '%s': bytes differ", t->name);
        FZ_CHECK(zy_safetensors_read_raw(st, t->name, raw, nb + 1) == ZY_STATUS_SHAPE_MISMATCH);
        size_t ne = (size_t)numel;
        float *x = malloc((ne + 1) * sizeof *x);
        FZ_CHECK(x);
        if (!is_float(t->dtype)) {
            FZ_CHECK(zy_safetensors_read_f32(st, t->name, x, ne) == ZY_STATUS_UNSUPPORTED);
            FZ_CHECK(zy_safetensors_read_f32_range(st, t->name, 0, 0, x) ==
                     ZY_STATUS_UNSUPPORTED);
            free(x);
            free(raw);
            continue;
        }
        FZ_CHECK(zy_safetensors_read_f32(st, t->name, x, ne) == ZY_STATUS_OK);
        for (size_t k = 0; k < ne; k++) {
            uint16_t h;
            float want;
            if (t->dtype == ZY_DTYPE_F32) {
                memcpy(&want, raw + 4 * k, 4);
            } else {
                memcpy(&h, raw + 2 * k, 2);
                want = t->dtype == ZY_DTYPE_F16 ? zy_f16_to_f32(h) : zy_bf16_to_f32(h);
            }
            FZ_CHECKF(bits(x[k]) == bits(want), "tensor '%s' element %zu: %08x, want %08x",
                      t->name, k, bits(x[k]), bits(want));
        }
        FZ_CHECK(zy_safetensors_read_f32(st, t->name, x, ne + 1) == ZY_STATUS_SHAPE_MISMATCH);
        float *y = malloc((ne + 1) * sizeof *y);
        FZ_CHECK(y);
        // Ranges: the halves, a middle piece, the last element, and one past the end.
        const size_t firsts[4] = {0, ne / 2, ne / 3, ne ? ne - 1 : 0};
        const size_t counts[4] = {ne / 2, ne - ne / 2, ne / 3, ne ? 1 : 0};
        for (int r = 0; r < 4; r++) {
            FZ_CHECK(zy_safetensors_read_f32_range(st, t->name, firsts[r], counts[r], y) ==
                     ZY_STATUS_OK);
            FZ_CHECKF(!memcmp(y, x + firsts[r], counts[r] * sizeof *y),
                      "tensor '%s': range %zu+%zu differs", t->name, firsts[r], counts[r]);
        }
        FZ_CHECK(zy_safetensors_read_f32_range(st, t->name, ne, 1, y) ==
                 ZY_STATUS_SHAPE_MISMATCH);
        FZ_CHECK(zy_safetensors_read_shaped(st, t->name, y, t->shape, t->ndim) == ZY_STATUS_OK);
        FZ_CHECK(!memcmp(x, y, ne * sizeof *x));
        if (t->ndim < ZY_SAFETENSORS_MAX_DIMS) {
            int64_t shape[ZY_SAFETENSORS_MAX_DIMS + 1];
            memcpy(shape, t->shape, sizeof t->shape);
            shape[t->ndim] = 1; // one more dimension: the same count, another shape
            FZ_CHECK(zy_safetensors_read_shaped(st, t->name, y, shape, t->ndim + 1) ==
                     ZY_STATUS_SHAPE_MISMATCH);
        }
        free(y);
        free(raw);
        f[i] = x;
    }
    // The data regions tile [data_start, n) exactly.
    qsort(by_off, (size_t)cnt, sizeof *by_off, cmp_off);
    uint64_t pos = data_start;
    for (int i = 0; i < cnt; i++) {
        FZ_CHECKF(by_off[i]->offset == pos, "tensor '%s' at %llu, previous ends at %llu",
                  by_off[i]->name, (unsigned long long)by_off[i]->offset,
                  (unsigned long long)pos);
        pos += by_off[i]->nbytes;
    }
    FZ_CHECK(pos == n);
    free(by_off);
}

static void check_metadata(const zy_safetensors *st) {
    int m = zy_safetensors_metadata_count(st);
    FZ_CHECK(m >= 0);
    const char *k, *v;
    zy_safetensors_metadata(st, m, &k, &v);
    FZ_CHECK(!k && !v);
    for (int i = 0; i < m; i++) {
        zy_safetensors_metadata(st, i, &k, &v);
        FZ_CHECK(k && v);
        FZ_CHECK(zy__utf8_valid(k, strlen(k), NULL) && zy__utf8_valid(v, strlen(v), NULL));
        FZ_CHECKF(zy_safetensors_metadata_get(st, k) == v, "metadata '%s' not found", k);
        for (int j = 0; j < i && j < 256; j++) { // keys unique (bounded: quadratic)
            const char *k2, *v2;
            zy_safetensors_metadata(st, j, &k2, &v2);
            FZ_CHECK(strcmp(k, k2));
        }
    }
}

// The tensors of dtype d (floats f) and all the metadata -> a file -> reopened and compared.
static void roundtrip(const zy_safetensors *st, const unsigned char *file, zy_dtype d,
                      float **f) {
    int cnt = zy_safetensors_count(st), m = zy_safetensors_metadata_count(st), k = 0;
    zy_safetensors_tensor *ts = calloc((size_t)cnt + 1, sizeof *ts);
    zy_safetensors_kv *kv = calloc((size_t)m + 1, sizeof *kv);
    FZ_CHECK(ts && kv);
    for (int i = 0; i < cnt; i++) {
        const zy_tensor_info *t = zy_safetensors_info(st, i);
        if (t->dtype != d) continue;
        ts[k].name = t->name;
        ts[k].data = f[i];
        ts[k].ndim = t->ndim;
        memcpy(ts[k].shape, t->shape, sizeof t->shape);
        k++;
    }
    for (int i = 0; i < m; i++) zy_safetensors_metadata(st, i, &kv[i].key, &kv[i].value);
    zy_safetensors_write_params wp = zy_safetensors_write_default_params();
    wp.dtype = d;
    wp.metadata = kv;
    wp.n_metadata = m;
    const char *out = fz_path("out.safetensors");
    zy_status s = zy_safetensors_write(out, ts, k, wp);
    FZ_CHECKF(s == ZY_STATUS_OK, "writing back %d %s tensors failed", k, zy_dtype_name(d));

    zy_safetensors *st2;
    FZ_CHECK(zy_safetensors_open(&st2, out) == ZY_STATUS_OK);
    FZ_CHECK(zy_safetensors_count(st2) == k);
    float **f2 = calloc((size_t)k + 1, sizeof *f2);
    FZ_CHECK(f2);
    for (int i = 0; i < k; i++) {
        const zy_tensor_info *a = zy_safetensors_find(st, ts[i].name);
        const zy_tensor_info *b = zy_safetensors_find(st2, ts[i].name);
        FZ_CHECKF(b, "tensor '%s' lost", ts[i].name);
        FZ_CHECK(b->dtype == d && b->ndim == a->ndim && b->nbytes == a->nbytes);
        FZ_CHECK(!memcmp(b->shape, a->shape, (size_t)a->ndim * sizeof a->shape[0]));
        unsigned char *raw = malloc((size_t)b->nbytes + 1);
        FZ_CHECK(raw);
        FZ_CHECK(zy_safetensors_read_raw(st2, b->name, raw, (size_t)b->nbytes) == 0);
        const unsigned char *orig = file + a->offset;
        if (d == ZY_DTYPE_F32) {
            FZ_CHECKF(!memcmp(raw, orig, (size_t)a->nbytes), "tensor '%s': F32 bytes differ",
                      a->name);
        } else {
            for (uint64_t e = 0; e < a->numel; e++) {
                uint16_t h0, h1;
                memcpy(&h0, orig + 2 * e, 2);
                memcpy(&h1, raw + 2 * e, 2);
                FZ_CHECKF(h1 == quieted(h0, d), "tensor '%s' element %llu: %04x written "
                          "back as %04x", a->name, (unsigned long long)e, h0, h1);
            }
        }
        free(raw);
        f2[i] = malloc(((size_t)b->numel + 1) * sizeof **f2);
        FZ_CHECK(f2[i]);
        FZ_CHECK(zy_safetensors_read_f32(st2, b->name, f2[i], (size_t)b->numel) == 0);
    }
    FZ_CHECK(zy_safetensors_metadata_count(st2) == m);
    for (int i = 0; i < m; i++) {
        const char *v = zy_safetensors_metadata_get(st2, kv[i].key);
        FZ_CHECKF(v && !strcmp(v, kv[i].value), "metadata '%s' lost or changed", kv[i].key);
    }

    // Written again from what was read back: the same bytes.
    for (int i = 0; i < k; i++) ts[i].data = f2[i];
    const char *out2 = fz_path("out2.safetensors");
    FZ_CHECK(zy_safetensors_write(out2, ts, k, wp) == ZY_STATUS_OK);
    size_t n1, n2;
    unsigned char *b1 = fz_read(out, &n1), *b2 = fz_read(out2, &n2);
    FZ_CHECK(b1 && b2);
    FZ_CHECK(n1 == n2 && !memcmp(b1, b2, n1));
    free(b1);
    free(b2);
    for (int i = 0; i < k; i++) free(f2[i]);
    free(f2);
    zy_safetensors_free(st2);
    free(kv);
    free(ts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n;
    unsigned char *file = fz_safetensors_bytes(data, size, &n);
    const char *path = fz_write("in.safetensors", file, n);
    zy_safetensors *st = NULL;
    zy_status s = zy_safetensors_open(&st, path);
    if (s) {
        FZ_CHECK(st == NULL);
        fz_expect_error(s, path, ZY_STATUS_BAD_FORMAT, ZY_STATUS_BAD_FORMAT,
                        ZY_STATUS_BAD_FORMAT);
        free(file);
        return 0;
    }
    FZ_CHECK(st && n >= 8);
    uint64_t data_start = 8 + fz_le64(file);
    FZ_CHECK(data_start <= n);
    int cnt = zy_safetensors_count(st);
    float **f = calloc((size_t)cnt + 1, sizeof *f);
    FZ_CHECK(f);
    check_tensors(st, file, n, data_start, f);
    check_metadata(st);
    int any_float = 0;
    const zy_dtype floats[] = {ZY_DTYPE_F32, ZY_DTYPE_F16, ZY_DTYPE_BF16};
    for (int j = 0; j < 3; j++) {
        zy_dtype d = floats[j];
        int has = 0;
        for (int i = 0; i < cnt; i++) has |= zy_safetensors_info(st, i)->dtype == d;
        if (has) roundtrip(st, file, d, f);
        any_float |= has;
    }
    if (!any_float) roundtrip(st, file, ZY_DTYPE_F32, f); // the metadata alone
    for (int i = 0; i < cnt; i++) free(f[i]);
    free(f);
    zy_safetensors_free(st);
    free(file);
    return 0;
}
