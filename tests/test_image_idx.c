// Tests of the IDX reader (src/data/image_idx.c): MNIST-style image and label files, plain
// and gzip-compressed (one member or several), from memory and from a path; wrong magic,
// other value types, dimension overflow, files shorter or longer than their header, and
// corrupt or hostile gzip data, each refused with a message naming the file. With Debian's
// dataset-fashion-mnist installed, its four files are read too.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "zhuyi/image.h"

// An IDX file of unsigned bytes: header for dims[0..ndim), then the values.
static unsigned char *idx_file(const unsigned *dims, int ndim, const unsigned char *vals,
                               size_t nvals, size_t *n) {
    *n = 4 + 4 * (size_t)ndim + nvals;
    unsigned char *f = zt_malloc(*n);
    f[0] = 0, f[1] = 0, f[2] = 0x08, f[3] = (unsigned char)ndim;
    for (int d = 0; d < ndim; d++)
        for (int k = 0; k < 4; k++) f[4 + 4 * d + k] = (unsigned char)(dims[d] >> (24 - 8 * k));
    if (nvals) memcpy(f + 4 + 4 * ndim, vals, nvals);
    return f;
}

// data gzip-compressed as one member (malloc'd).
static unsigned char *gz(const unsigned char *d, size_t n, size_t *out_n) {
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    size_t cap = deflateBound(&z, n) + 64;
    unsigned char *o = zt_malloc(cap);
    z.next_in = (Bytef *)d, z.avail_in = (uInt)n;
    z.next_out = o, z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    *out_n = cap - z.avail_out;
    deflateEnd(&z);
    return o;
}

static zy_status rd(zy_idx *x, const void *d, size_t n, const char *name) {
    zy_status s = zy_idx_read_memory(x, d, n, name);
    if (s) zt_note("%s", zy_last_error());
    return s;
}

static int says(const char *name, const char *what) {
    if (strstr(zy_last_error(), name) && strstr(zy_last_error(), what)) return 1;
    zt_fail(__FILE__, __LINE__, "message '%s' should name %s and say '%s'", zy_last_error(),
            name, what);
    return 0;
}

static void fill(unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 37 + i / 7);
}

TEST(image_idx_plain_and_gzip) {
    unsigned dims[3] = {2, 3, 4};
    unsigned char v[24];
    fill(v, 24);
    size_t n, zn;
    unsigned char *f = idx_file(dims, 3, v, 24, &n);
    zy_idx x;
    ASSERT(rd(&x, f, n, "img.idx") == 0);
    CHECK(x.ndim == 3 && x.dims[0] == 2 && x.dims[1] == 3 && x.dims[2] == 4 && x.count == 24);
    CHECK(!memcmp(x.data, v, 24));
    zy_idx_destroy(&x);
    CHECK(x.data == NULL);
    unsigned char *z = gz(f, n, &zn);
    ASSERT(rd(&x, z, zn, "img.idx.gz") == 0);
    CHECK(x.ndim == 3 && x.count == 24 && !memcmp(x.data, v, 24));
    zy_idx_destroy(&x);
    // Two members back to back (cat a.gz b.gz), split inside the header.
    size_t z1n, z2n;
    unsigned char *z1 = gz(f, 6, &z1n), *z2 = gz(f + 6, n - 6, &z2n);
    unsigned char *both = zt_malloc(z1n + z2n);
    memcpy(both, z1, z1n), memcpy(both + z1n, z2, z2n);
    ASSERT(rd(&x, both, z1n + z2n, "two.gz") == 0);
    CHECK(x.count == 24 && !memcmp(x.data, v, 24));
    zy_idx_destroy(&x);
    // ... and with junk after the last member.
    memcpy(both + z1n, "junk!", 5);
    CHECK(rd(&x, both, z1n + 5, "junk.gz") == ZY_STATUS_BAD_FORMAT);
    says("junk.gz", "after the end of the gzip data");
    // Labels: one dimension.
    unsigned ld[1] = {5};
    unsigned char lab[5] = {9, 0, 3, 3, 7};
    free(f);
    f = idx_file(ld, 1, lab, 5, &n);
    ASSERT(rd(&x, f, n, "labels") == 0);
    CHECK(x.ndim == 1 && x.dims[0] == 5 && !memcmp(x.data, lab, 5));
    zy_idx_destroy(&x);
    // A zero count is an empty set, not an error.
    unsigned zd[3] = {0, 28, 28};
    free(f);
    f = idx_file(zd, 3, NULL, 0, &n);
    ASSERT(rd(&x, f, n, "empty") == 0);
    CHECK(x.count == 0 && x.dims[1] == 28);
    zy_idx_destroy(&x);
    free(f), free(z), free(z1), free(z2), free(both);
}

TEST(image_idx_from_path) {
    char path[128];
    snprintf(path, sizeof path, "/tmp/zy_idx_%ld.gz", (long)getpid());
    unsigned dims[2] = {3, 5};
    unsigned char v[15];
    fill(v, 15);
    size_t n, zn;
    unsigned char *f = idx_file(dims, 2, v, 15, &n), *z = gz(f, n, &zn);
    FILE *o = fopen(path, "wb");
    ASSERT(o && fwrite(z, 1, zn, o) == zn);
    fclose(o);
    zy_idx x;
    ASSERT(zy_idx_read(&x, path) == 0);
    CHECK(x.count == 15 && !memcmp(x.data, v, 15));
    zy_idx_destroy(&x);
    unlink(path);
    CHECK(zy_idx_read(&x, path) == ZY_STATUS_IO);
    says(path, "cannot open");
    free(f), free(z);
}

TEST(image_idx_refuses_bad_files) {
    zy_idx x;
    unsigned char h[32] = {0x01, 0x02, 0x08, 0x03};
    CHECK(rd(&x, h, 16, "a") == ZY_STATUS_BAD_FORMAT && says("a", "not an IDX file"));
    memcpy(h, "\0\0\x0d\x01\0\0\0\1\0\0\0\0", 12); // one f32
    CHECK(rd(&x, h, 12, "b") == ZY_STATUS_UNSUPPORTED && says("b", "32-bit float"));
    memcpy(h, "\0\0\x08\x00", 4);
    CHECK(rd(&x, h, 4, "c") == ZY_STATUS_BAD_FORMAT && says("c", "0 dimensions"));
    memcpy(h, "\0\0\x08\x05", 4);
    CHECK(rd(&x, h, 24, "d") == ZY_STATUS_BAD_FORMAT && says("d", "5 dimensions"));
    unsigned big[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 2};
    size_t n, zn;
    unsigned char *f = idx_file(big, 4, NULL, 0, &n);
    CHECK(rd(&x, f, n, "e") == ZY_STATUS_BAD_FORMAT && says("e", "too large"));
    free(f);
    unsigned mn[3] = {60000, 28, 28}; // MNIST's header over 10 bytes of pixels
    unsigned char v[10] = {0};
    f = idx_file(mn, 3, v, 10, &n);
    CHECK(rd(&x, f, n, "f") == ZY_STATUS_BAD_FORMAT && says("f", "truncated") &&
          says("f", "60000x28x28 needs 47040000 bytes of values, the file has 10"));
    unsigned char *z = gz(f, n, &zn);
    CHECK(rd(&x, z, zn, "f.gz") == ZY_STATUS_BAD_FORMAT && says("f.gz", "truncated"));
    free(f), free(z);
    unsigned two[1] = {2};
    f = idx_file(two, 1, v, 3, &n); // one value more than declared
    CHECK(rd(&x, f, n, "g") == ZY_STATUS_BAD_FORMAT && says("g", "too long"));
    z = gz(f, n, &zn);
    CHECK(rd(&x, z, zn, "g.gz") == ZY_STATUS_BAD_FORMAT && says("g.gz", "too long"));
    free(z);
    CHECK(x.data == NULL);
    free(f);
}

// Every proper prefix of a file, plain or compressed, is refused; a flipped byte in the
// compressed data is caught (deflate's structure or the gzip CRC-32) or harmless.
TEST(image_idx_truncated_and_corrupt_gzip) {
    unsigned dims[3] = {4, 8, 8};
    unsigned char v[256];
    fill(v, 256);
    size_t n, zn;
    unsigned char *f = idx_file(dims, 3, v, 256, &n), *z = gz(f, n, &zn);
    zy_idx x;
    for (size_t k = 0; k < n; k++)
        if (zy_idx_read_memory(&x, f, k, "cut") != ZY_STATUS_BAD_FORMAT ||
            !strstr(zy_last_error(), "cut")) {
            zt_fail(__FILE__, __LINE__, "plain cut at %zu: '%s'", k, zy_last_error());
            break;
        }
    for (size_t k = 2; k < zn; k++)
        if (zy_idx_read_memory(&x, z, k, "cut.gz") != ZY_STATUS_BAD_FORMAT ||
            !strstr(zy_last_error(), "cut.gz")) {
            zt_fail(__FILE__, __LINE__, "gzip cut at %zu: '%s'", k, zy_last_error());
            break;
        }
    // A flip may leave an equivalent deflate stream (the same bytes out, the CRC-32 intact):
    // then the values must be exactly the original ones; any other outcome is a refusal.
    int refused = 0;
    for (size_t k = 10; k < zn; k++) {
        z[k] ^= 0x10;
        zy_status s = zy_idx_read_memory(&x, z, zn, "flip.gz");
        if (s == ZY_STATUS_OK) {
            CHECK(x.count == 256 && !memcmp(x.data, v, 256));
            zy_idx_destroy(&x);
        } else {
            CHECK(s == ZY_STATUS_BAD_FORMAT && strstr(zy_last_error(), "flip.gz"));
            refused++;
        }
        z[k] ^= 0x10;
    }
    zt_note("%d of %zu flipped bytes refused", refused, zn - 10);
    CHECK(refused >= (int)(zn - 10) * 9 / 10);
    free(f), free(z);
}

// Debian's dataset-fashion-mnist, when installed: 60,000 + 10,000 images of 28x28, labels
// 0..9.
TEST(image_idx_fashion_mnist) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    char p[256];
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", dir);
    if (access(p, R_OK) != 0) {
        zt_skip("%s not installed (apt-get install dataset-fashion-mnist)", dir);
        return;
    }
    const char *files[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
    unsigned counts[4] = {60000, 60000, 10000, 10000};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        zy_idx x;
        ASSERT(zy_idx_read(&x, p) == 0);
        CHECK(x.dims[0] == counts[i] && x.ndim == (i % 2 ? 1 : 3));
        if (i % 2 == 0) CHECK(x.dims[1] == 28 && x.dims[2] == 28);
        if (i % 2) {
            unsigned hist[10] = {0};
            int ok = 1;
            for (size_t k = 0; k < x.count; k++) {
                ok &= x.data[k] < 10;
                if (x.data[k] < 10) hist[x.data[k]]++;
            }
            CHECK(ok);
            for (int c = 0; c < 10; c++) CHECK(hist[c] == counts[i] / 10); // balanced
        }
        zy_idx_destroy(&x);
    }
}
