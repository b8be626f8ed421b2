// libFuzzer harness: the IDX reader (include/zhuyi/image.h, src/data/image_idx.c), plain
// or gzip-compressed. The input is the file. Properties checked on every input:
//  - a refusal is ZY_STATUS_BAD_FORMAT (UNSUPPORTED for other value types, OUT_OF_MEMORY)
//    with a message naming the file, and leaves the struct empty;
//  - an accepted file has 1..4 dimensions, count = their product, unused dims 0, and every
//    value is readable; the input was either exactly header + values, or gzip data;
//  - the values written back as a plain IDX file, and that file gzip-compressed (up to 2^16
//    values), read back to the same dims and values.
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util.h"

static void check_same(const zy_idx *a, const unsigned char *file, size_t n, const char *name) {
    zy_idx b;
    FZ_CHECKF(zy_idx_read_memory(&b, file, n, name) == ZY_STATUS_OK, "written back: %s",
              zy_last_error());
    FZ_CHECK(b.ndim == a->ndim && b.count == a->count);
    FZ_CHECK(!memcmp(b.dims, a->dims, sizeof a->dims));
    FZ_CHECK(!a->count || !memcmp(b.data, a->data, a->count));
    zy_idx_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    zy_idx x;
    zy_status s = zy_idx_read_memory(&x, data, size, "fuzz.idx");
    if (s) {
        fz_expect_error(s, "fuzz.idx", ZY_STATUS_BAD_FORMAT, ZY_STATUS_UNSUPPORTED,
                        ZY_STATUS_OUT_OF_MEMORY);
        FZ_CHECK(x.data == NULL && x.count == 0 && x.ndim == 0);
        return 0;
    }
    FZ_CHECK(x.ndim >= 1 && x.ndim <= ZY_IDX_MAX_DIMS && x.data);
    uint64_t count = 1;
    for (int d = 0; d < ZY_IDX_MAX_DIMS; d++) {
        if (d < x.ndim) count *= x.dims[d]; // no overflow: the reader refuses that
        else FZ_CHECK(x.dims[d] == 0);
    }
    FZ_CHECK(count == x.count);
    int gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    FZ_CHECK(gz || size == 4 + 4 * (size_t)x.ndim + x.count);
    unsigned sum = 0;
    for (size_t i = 0; i < x.count; i++) sum += x.data[i];
    (void)sum;
    if (x.count <= (1u << 16)) {
        size_t n = 4 + 4 * (size_t)x.ndim + x.count;
        unsigned char *f = malloc(n);
        FZ_CHECK(f);
        f[0] = 0, f[1] = 0, f[2] = 0x08, f[3] = (unsigned char)x.ndim;
        for (int d = 0; d < x.ndim; d++)
            for (int k = 0; k < 4; k++) f[4 + 4 * d + k] = (unsigned char)(x.dims[d] >> (24 - 8 * k));
        memcpy(f + 4 + 4 * x.ndim, x.data, x.count);
        if (!gz) FZ_CHECK(!memcmp(f, data, n));
        check_same(&x, f, n, "back.idx");
        z_stream z = {0};
        FZ_CHECK(deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
        size_t cap = deflateBound(&z, n) + 64;
        unsigned char *c = malloc(cap);
        FZ_CHECK(c);
        z.next_in = f, z.avail_in = (uInt)n, z.next_out = c, z.avail_out = (uInt)cap;
        FZ_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
        check_same(&x, c, cap - z.avail_out, "back.idx.gz");
        deflateEnd(&z);
        free(c), free(f);
    }
    zy_idx_destroy(&x);
    return 0;
}
