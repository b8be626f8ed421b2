// Tests of the image readers (include/zhuyi/image.h, src/data/image*.c): PNG in every
// colour type and bit depth, interlaced and not, written here with libpng itself and read
// back pixel for pixel; the channel conversions; PGM/PPM binary and ASCII; corrupt,
// truncated and hostile files, each refused with a message naming the file. IDX files are
// tests/test_image_idx.c.
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "zhuyi/image.h"

// ---- a PNG writer (libpng) into memory ---------------------------------------------------
typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
} membuf;

static void put(membuf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void on_write(png_structp png, png_bytep d, size_t n) { put(png_get_io_ptr(png), d, n); }
static void on_flush(png_structp png) { (void)png; }

typedef struct png_spec {
    int w, h, type, depth, interlace;
    const unsigned char *rows; // h rows of the PNG's own packed row bytes
    const png_color *palette;
    int n_palette;
    const unsigned char *trns; // palette alpha, n_trns entries
    int n_trns;
    const png_color_16 *trns_color; // gray or RGB transparent colour
} png_spec;

static png_spec spec(int w, int h, int type, int depth, int interlace,
                     const unsigned char *rows) {
    return (png_spec){.w = w, .h = h, .type = type, .depth = depth, .interlace = interlace,
                      .rows = rows};
}

static size_t png_rowbytes(const png_spec *s) {
    int ch = s->type == PNG_COLOR_TYPE_GRAY || s->type == PNG_COLOR_TYPE_PALETTE ? 1
             : s->type == PNG_COLOR_TYPE_GRAY_ALPHA                           ? 2
             : s->type == PNG_COLOR_TYPE_RGB                                  ? 3
                                                                              : 4;
    return ((size_t)s->w * ch * s->depth + 7) / 8;
}

// The PNG file of spec s (malloc'd, *n bytes), or NULL after recording a failure.
static unsigned char *make_png(const png_spec *s, size_t *n) {
    membuf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) abort();
    png_bytep *rows = calloc((size_t)s->h, sizeof *rows);
    if (setjmp(png_jmpbuf(png))) {
        zt_fail(__FILE__, __LINE__, "libpng could not write the test image");
        png_destroy_write_struct(&png, &info);
        free(rows), free(b.p);
        return NULL;
    }
    png_set_write_fn(png, &b, on_write, on_flush);
    png_set_IHDR(png, info, (png_uint_32)s->w, (png_uint_32)s->h, s->depth, s->type,
                 s->interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette) png_set_PLTE(png, info, s->palette, s->n_palette);
    if (s->trns || s->trns_color)
        png_set_tRNS(png, info, s->trns, s->n_trns, s->trns_color);
    for (int y = 0; y < s->h; y++) rows[y] = (png_bytep)s->rows + (size_t)y * png_rowbytes(s);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    *n = b.n;
    return b.p;
}

static int read_png(zy_image *img, const png_spec *s, zy_image_channels want) {
    size_t n;
    unsigned char *f = make_png(s, &n);
    if (!f) return -1;
    zy_status st = zy_image_read_png_memory(img, f, n, "test.png", want);
    if (st) zt_note("error: %s", zy_last_error());
    free(f);
    return st;
}

// Deterministic bytes.
static void fill_bytes(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

static unsigned luma(const unsigned char *p) {
    return (p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16;
}

// ---- PNG colour types ----------------------------------------------------------------------
TEST(image_png_gray8_and_conversions) {
    int w = 7, h = 5;
    unsigned char px[35];
    fill_bytes(px, sizeof px, 1);
    png_spec s = spec(w, h, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, px);
    zy_image img;
    ASSERT(read_png(&img, &s, ZY_IMAGE_NATIVE) == 0);
    ASSERT(img.width == w && img.height == h && img.channels == 1);
    CHECK(!memcmp(img.data, px, sizeof px));
    zy_image_destroy(&img);
    CHECK(img.data == NULL);
    ASSERT(read_png(&img, &s, ZY_IMAGE_RGB) == 0);
    ASSERT(img.channels == 3);
    for (int i = 0; i < w * h; i++)
        CHECK(img.data[3 * i] == px[i] && img.data[3 * i + 1] == px[i] &&
              img.data[3 * i + 2] == px[i]);
    zy_image_destroy(&img);
}

TEST(image_png_gray_alpha_rgb_rgba) {
    int w = 6, h = 4;
    unsigned char ga[48], rgb[72], rgba[96];
    fill_bytes(ga, sizeof ga, 2), fill_bytes(rgb, sizeof rgb, 3), fill_bytes(rgba, sizeof rgba, 4);
    zy_image img;
    png_spec s = spec(w, h, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, ga);
    ASSERT(read_png(&img, &s, ZY_IMAGE_NATIVE) == 0);
    ASSERT(img.channels == 2 && !memcmp(img.data, ga, sizeof ga));
    zy_image_destroy(&img);
    ASSERT(read_png(&img, &s, ZY_IMAGE_GRAY) == 0);
    for (int i = 0; i < w * h; i++) CHECK(img.data[i] == ga[2 * i]); // alpha dropped
    zy_image_destroy(&img);

    s = spec(w, h, PNG_COLOR_TYPE_RGB, 8, 0, rgb);
    ASSERT(read_png(&img, &s, ZY_IMAGE_NATIVE) == 0);
    ASSERT(img.channels == 3 && !memcmp(img.data, rgb, sizeof rgb));
    zy_image_destroy(&img);
    ASSERT(read_png(&img, &s, ZY_IMAGE_GRAY) == 0);
    ASSERT(img.channels == 1);
    for (int i = 0; i < w * h; i++) CHECK(img.data[i] == luma(rgb + 3 * i));
    zy_image_destroy(&img);

    s = spec(w, h, PNG_COLOR_TYPE_RGBA, 8, 0, rgba);
    ASSERT(read_png(&img, &s, ZY_IMAGE_NATIVE) == 0);
    ASSERT(img.channels == 4 && !memcmp(img.data, rgba, sizeof rgba));
    zy_image_destroy(&img);
    ASSERT(read_png(&img, &s, ZY_IMAGE_RGB) == 0);
    for (int i = 0; i < w * h; i++) CHECK(!memcmp(img.data + 3 * i, rgba + 4 * i, 3));
    zy_image_destroy(&img);
    ASSERT(read_png(&img, &s, ZY_IMAGE_GRAY) == 0);
    for (int i = 0; i < w * h; i++) CHECK(img.data[i] == luma(rgba + 4 * i));
    zy_image_destroy(&img);
}

// Pillow's luma on known values: white stays 255, pure red/green/blue give 76/150/29.
TEST(image_luma_known_values) {
    unsigned char rgb[12] = {255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255};
    png_spec s = spec(4, 1, PNG_COLOR_TYPE_RGB, 8, 0, rgb);
    zy_image img;
    ASSERT(read_png(&img, &s, ZY_IMAGE_GRAY) == 0);
    CHECK(img.data[0] == 255 && img.data[1] == 76 && img.data[2] == 150 && img.data[3] == 29);
    zy_image_destroy(&img);
}

TEST(image_png_palette) {
    png_color pal[4] = {{0, 0, 0}, {255, 0, 0}, {10, 200, 30}, {1, 2, 3}};
    unsigned char alpha[3] = {0, 128, 255}; // entry 3 has no alpha: opaque
    int w = 9, h = 3;
    // 2-bit indices, packed 4 to a byte (MSB first): 3 bytes a row.
    unsigned char idx[27], packed[9] = {0};
    for (int i = 0; i < w * h; i++) idx[i] = (unsigned char)((i * 7 + i / 5) % 4);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            packed[y * 3 + x / 4] |= (unsigned char)(idx[y * w + x] << (6 - 2 * (x % 4)));
    png_spec s = spec(w, h, PNG_COLOR_TYPE_PALETTE, 2, 0, packed);
    s.palette = pal;
    s.n_palette = 4;
    zy_image img;
    ASSERT(read_png(&img, &s, ZY_IMAGE_NATIVE) == 0);
    ASSERT(img.channels == 3);
    for (int i = 0; i < w * h; i++) {
        const png_color *c = &pal[idx[i]];
        CHECK(img.data[3 * i] == c->red && img.data[3 * i + 1] == c->green &&
              img.data[3 * i + 2] == c->blue);
    }
    zy_image_destroy(&img);
    s.trns = alpha, s.n_trns = 3;
    ASSERT(read_png(&img, &s, ZY_IMAGE_NATIVE) == 0);
    ASSERT(img.channels == 4);
    for (int i = 0; i < w * h; i++)
        CHECK(img.data[4 * i] == pal[idx[i]].red &&
              img.data[4 * i + 3] == (idx[i] < 3 ? alpha[idx[i]] : 255));
    zy_image_destroy(&img);
    ASSERT(read_png(&img, &s, ZY_IMAGE_RGB) == 0);
    for (int i = 0; i < w * h; i++) CHECK(img.data[3 * i + 1] == pal[idx[i]].green);
    zy_image_destroy(&img);
}

// 1, 2, 4-bit gray expand to the full range: v · 255 / (2^bits - 1).
TEST(image_png_low_bit_gray) {
    for (int bits = 1; bits <= 4; bits *= 2) {
        int w = 11, h = 2, maxv = (1 << bits) - 1;
        int rb = (w * bits + 7) / 8;
        unsigned char v[22], packed[2 * 6] = {0};
        for (int i = 0; i < w * h; i++) v[i] = (unsigned char)((i * 5 + 1) % (maxv + 1));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                packed[y * rb + x * bits / 8] |=
                    (unsigned char)(v[y * w + x] << (8 - bits - (x * bits) % 8));
        png_spec s = spec(w, h, PNG_COLOR_TYPE_GRAY, bits, 0, packed);
        zy_image img;
        ASSERT(read_png(&img, &s, ZY_IMAGE_NATIVE) == 0);
        ASSERT(img.channels == 1);
        for (int i = 0; i < w * h; i++)
            if (img.data[i] != v[i] * 255 / maxv) {
                zt_fail(__FILE__, __LINE__, "%d-bit pixel %d: %d, expected %d", bits, i,
                        img.data[i], v[i] * 255 / maxv);
                break;
            }
        zy_image_destroy(&img);
    }
}

// 16-bit samples (big-endian in the file) scale to round(v · 255 / 65535).
TEST(image_png_16bit) {
    int w = 5, h = 3;
    unsigned short v[5 * 3 * 4];
    unsigned char raw[sizeof v];
    for (size_t i = 0; i < sizeof v / 2; i++) v[i] = (unsigned short)(i * 4099 + 127 * (i % 3));
    v[0] = 0, v[1] = 65535, v[2] = 128, v[3] = 32896; // edges and the rounding midpoints
    for (size_t i = 0; i < sizeof v / 2; i++) raw[2 * i] = v[i] >> 8, raw[2 * i + 1] = v[i] & 255;
    int types[4] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                    PNG_COLOR_TYPE_RGBA};
    for (int t = 0; t < 4; t++) {
        png_spec s = spec(w, h, types[t], 16, 0, raw);
        zy_image img;
        ASSERT(read_png(&img, &s, ZY_IMAGE_NATIVE) == 0);
        ASSERT(img.channels == t + 1);
        for (int i = 0; i < w * h * (t + 1); i++) {
            unsigned want = (v[i] * 255u + 32767u) / 65535u;
            if (img.data[i] != want) {
                zt_fail(__FILE__, __LINE__, "type %d sample %d (%u): %u, expected %u", types[t],
                        i, v[i], img.data[i], want);
                break;
            }
        }
        zy_image_destroy(&img);
    }
}

// Adam7 interlacing gives the same pixels as the plain file, at odd sizes too.
TEST(image_png_interlaced) {
    int sizes[3][2] = {{13, 11}, {1, 1}, {3, 9}};
    for (int k = 0; k < 3; k++) {
        int w = sizes[k][0], h = sizes[k][1];
        unsigned char *px = zt_malloc((size_t)w * h * 4);
        fill_bytes(px, (size_t)w * h * 4, 5 + k);
        png_spec s = spec(w, h, PNG_COLOR_TYPE_RGBA, 8, PNG_INTERLACE_ADAM7, px);
        zy_image img;
        ASSERT(read_png(&img, &s, ZY_IMAGE_NATIVE) == 0);
        CHECK(img.width == w && img.height == h && !memcmp(img.data, px, (size_t)w * h * 4));
        zy_image_destroy(&img);
        s.type = PNG_COLOR_TYPE_GRAY, s.depth = 1; // 1-bit rows: the first w/8 bytes of px
        ASSERT(read_png(&img, &s, ZY_IMAGE_RGB) == 0);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int bit = px[y * ((w + 7) / 8) + x / 8] >> (7 - x % 8) & 1;
                CHECK(img.data[3 * (y * w + x)] == (bit ? 255 : 0));
            }
        zy_image_destroy(&img);
        free(px);
    }
}

// gray and RGB with a tRNS colour: that colour gets alpha 0, the rest 255.
TEST(image_png_trns_color) {
    unsigned char g[4] = {10, 20, 10, 30};
    png_color_16 key = {0};
    key.gray = 10;
    png_spec s = spec(4, 1, PNG_COLOR_TYPE_GRAY, 8, 0, g);
    s.trns_color = &key;
    zy_image img;
    ASSERT(read_png(&img, &s, ZY_IMAGE_NATIVE) == 0);
    ASSERT(img.channels == 2);
    unsigned char want[8] = {10, 0, 20, 255, 10, 0, 30, 255};
    CHECK(!memcmp(img.data, want, 8));
    zy_image_destroy(&img);
}

// ---- bad PNGs ---------------------------------------------------------------------------------
static int names(const char *what) {
    if (strstr(zy_last_error(), what)) return 1;
    zt_fail(__FILE__, __LINE__, "message '%s' does not name %s", zy_last_error(), what);
    return 0;
}

TEST(image_png_corrupt_and_truncated) {
    unsigned char px[8 * 8 * 3];
    fill_bytes(px, sizeof px, 9);
    png_spec s = spec(8, 8, PNG_COLOR_TYPE_RGB, 8, 0, px);
    size_t n;
    unsigned char *f = make_png(&s, &n);
    ASSERT(f);
    zy_image img;
    // Every proper prefix is refused (the last ones lack IEND), none crashes or leaks.
    for (size_t k = 0; k < n; k++) {
        zy_status st = zy_image_read_png_memory(&img, f, k, "cut.png", ZY_IMAGE_NATIVE);
        if (st != ZY_STATUS_BAD_FORMAT || !strstr(zy_last_error(), "cut.png")) {
            zt_fail(__FILE__, __LINE__, "prefix of %zu bytes: status %d, '%s'", k, st,
                    zy_last_error());
            break;
        }
        CHECK(img.data == NULL);
    }
    // A flipped byte inside the IDAT chunk's data: its CRC no longer matches.
    unsigned char *idat = NULL;
    for (size_t i = 0; i + 4 <= n && !idat; i++)
        if (!memcmp(f + i, "IDAT", 4)) idat = f + i;
    ASSERT(idat);
    idat[6] ^= 0x40;
    CHECK(zy_image_read_png_memory(&img, f, n, "flip.png", ZY_IMAGE_NATIVE) ==
          ZY_STATUS_BAD_FORMAT);
    names("flip.png"), names("CRC");
    free(f);
    unsigned char junk[16] = "\x89PNG\r\n\x1a\nJUNKJUNK";
    CHECK(zy_image_read_png_memory(&img, junk, 16, "junk.png", ZY_IMAGE_NATIVE) ==
          ZY_STATUS_BAD_FORMAT);
    names("junk.png");
    CHECK(zy_image_read_png_memory(&img, "GIF89a", 6, "x.gif", ZY_IMAGE_NATIVE) ==
          ZY_STATUS_BAD_FORMAT);
    names("x.gif");
}

static void chunk(membuf *b, const char *type, const unsigned char *d, unsigned n) {
    unsigned char len[4] = {n >> 24, n >> 16 & 255, n >> 8 & 255, n & 255};
    put(b, len, 4);
    put(b, type, 4);
    if (n) put(b, d, n);
    uLong crc = crc32(crc32(0, (const Bytef *)type, 4), d, n);
    unsigned char c[4] = {crc >> 24, crc >> 16 & 255, crc >> 8 & 255, crc & 255};
    put(b, c, 4);
}

// A valid header claiming w x h over a few bytes of deflate data.
static unsigned char *hostile_png(unsigned w, unsigned h, size_t *n) {
    membuf b = {0};
    put(&b, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ihdr[13] = {w >> 24, w >> 16 & 255, w >> 8 & 255, w & 255,
                              h >> 24, h >> 16 & 255, h >> 8 & 255, h & 255, 8, 2, 0, 0, 0};
    chunk(&b, "IHDR", ihdr, 13);
    unsigned char z[64];
    uLongf zn = sizeof z;
    unsigned char row[4] = {0};
    compress(z, &zn, row, 4);
    chunk(&b, "IDAT", z, (unsigned)zn);
    chunk(&b, "IEND", NULL, 0);
    *n = b.n;
    return b.p;
}

TEST(image_png_hostile_sizes) {
    zy_image img;
    size_t n;
    unsigned char *f = hostile_png(16000, 16000, &n); // 768 MB of RGB from ~60 bytes
    CHECK(zy_image_read_png_memory(&img, f, n, "big.png", ZY_IMAGE_NATIVE) ==
          ZY_STATUS_BAD_FORMAT);
    names("big.png"), names("truncated");
    free(f);
    f = hostile_png(60000, 60000, &n); // over the pixel limit
    CHECK(zy_image_read_png_memory(&img, f, n, "huge.png", ZY_IMAGE_NATIVE) ==
          ZY_STATUS_BAD_FORMAT);
    names("huge.png"), names("over the limit");
    free(f);
    f = hostile_png(70000, 1, &n); // over the side limit: libpng's user limit
    CHECK(zy_image_read_png_memory(&img, f, n, "wide.png", ZY_IMAGE_NATIVE) ==
          ZY_STATUS_BAD_FORMAT);
    names("wide.png");
    free(f);
    f = hostile_png(40, 40, &n); // plausible size, data missing: libpng's own error
    CHECK(zy_image_read_png_memory(&img, f, n, "short.png", ZY_IMAGE_NATIVE) ==
          ZY_STATUS_BAD_FORMAT);
    names("short.png");
    zt_note("%s", zy_last_error());
    free(f);
}

// ---- files and dispatch -------------------------------------------------------------------
static void tmp_path(char *buf, size_t cap, const char *suffix) {
    snprintf(buf, cap, "/tmp/zy_image_%ld_%s", (long)getpid(), suffix);
}

static void write_file(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n) zt_fail(__FILE__, __LINE__, "cannot write %s", path);
    if (f) fclose(f);
}

TEST(image_read_files_by_content) {
    char png_path[256], pgm_path[256], bad_path[256], missing[256];
    tmp_path(png_path, sizeof png_path, "a.png");
    tmp_path(pgm_path, sizeof pgm_path, "a.pgm");
    tmp_path(bad_path, sizeof bad_path, "a.bmp");
    tmp_path(missing, sizeof missing, "missing.png");
    unsigned char px[6] = {1, 2, 3, 4, 5, 6};
    png_spec s = spec(3, 2, PNG_COLOR_TYPE_GRAY, 8, 0, px);
    size_t n;
    unsigned char *f = make_png(&s, &n);
    ASSERT(f);
    write_file(png_path, f, n);
    free(f);
    write_file(pgm_path, "P5 3 2 255\n\1\2\3\4\5\6", 17);
    write_file(bad_path, "BM\0\0", 4);
    zy_image img;
    ASSERT(zy_image_read(&img, png_path, ZY_IMAGE_NATIVE) == 0);
    CHECK(img.channels == 1 && !memcmp(img.data, px, 6));
    zy_image_destroy(&img);
    ASSERT(zy_image_read_png(&img, png_path, ZY_IMAGE_RGB) == 0);
    CHECK(img.channels == 3 && img.data[15] == 6);
    zy_image_destroy(&img);
    ASSERT(zy_image_read(&img, pgm_path, ZY_IMAGE_NATIVE) == 0);
    CHECK(img.width == 3 && img.height == 2 && !memcmp(img.data, px, 6));
    zy_image_destroy(&img);
    CHECK(zy_image_read(&img, bad_path, ZY_IMAGE_NATIVE) == ZY_STATUS_UNSUPPORTED);
    names(bad_path);
    CHECK(zy_image_read(&img, missing, ZY_IMAGE_NATIVE) == ZY_STATUS_IO);
    names(missing);
    CHECK(zy_image_read_png(&img, pgm_path, ZY_IMAGE_NATIVE) == ZY_STATUS_BAD_FORMAT);
    names(pgm_path);
    CHECK(zy_image_read(&img, png_path, (zy_image_channels)2) == ZY_STATUS_INVALID_ARGUMENT);
    unlink(png_path), unlink(pgm_path), unlink(bad_path);
}

TEST(image_to_chw_normalises) {
    unsigned char px[2 * 3] = {0, 255, 51, 102, 204, 0}; // 2 RGB pixels
    zy_image img = {px, 2, 1, 3};
    float mean[3] = {0.5f, 0.5f, 0.5f}, sd[3] = {0.5f, 0.5f, 0.25f}, out[6];
    zy_image_to_chw(out, &img, mean, sd);
    float want[6] = {-1.0f, -0.2f, 1.0f, 0.6f, (0.2f - 0.5f) / 0.25f, -2.0f};
    CHECK_CLOSE("chw", out, want, 6, 1e-6, 1e-6);
    zy_image_to_chw(out, &img, NULL, NULL);
    CHECK(out[1] == 102.0f / 255.0f && out[2] == 1.0f);
}

// An ancillary chunk claiming 2 GB in a tiny file (fuzz_png's find): refused without any
// large allocation (libpng's memory goes through zy_alloc, so the hook sees it).
static size_t largest;
static void *capped_alloc(size_t size, size_t align, void *user) {
    (void)user;
    if (size > largest) largest = size;
    if (size > (16u << 20)) return NULL;
    return aligned_alloc(align, (size + align - 1) / align * align);
}
static void capped_free(void *p, void *user) {
    (void)user;
    free(p);
}

TEST(image_png_hostile_chunk_length) {
    unsigned char px[3] = {1, 2, 3};
    png_spec s = spec(3, 1, PNG_COLOR_TYPE_GRAY, 8, 0, px);
    size_t n;
    unsigned char *f = make_png(&s, &n);
    ASSERT(f);
    // Insert after IHDR (8 + 25 bytes): a chunk of each kind with length 0x7a000000.
    const char *kinds[] = {"zTXt", "iCCP", "tRNS", "fuzz", "PLTE"};
    for (int k = 0; k < 5; k++) {
        membuf b = {0};
        put(&b, f, 33);
        put(&b, "\x7a\0\0\0", 4);
        put(&b, kinds[k], 4);
        put(&b, "some bytes, nothing like 2 GB", 29);
        put(&b, f + 33, n - 33);
        zy_allocator a = {capped_alloc, capped_free, NULL};
        largest = 0;
        zy_allocator_set(&a);
        zy_image img;
        zy_status st = zy_image_read_png_memory(&img, b.p, b.n, "chunk.png", ZY_IMAGE_NATIVE);
        zy_allocator_set(NULL);
        zt_note("%s: status %d, largest allocation %zu: %s", kinds[k], st, largest,
                zy_last_error());
        CHECK(largest <= (1u << 20) + 4096);
        if (st == ZY_STATUS_OK) zy_image_destroy(&img);
        else CHECK(st == ZY_STATUS_BAD_FORMAT && strstr(zy_last_error(), "chunk.png"));
        free(b.p);
    }
    free(f);
}
