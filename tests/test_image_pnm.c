// Tests of the PGM/PPM reader (src/data/image_pnm.c): binary and ASCII, maxval scaling,
// 16-bit samples, comments and whitespace, and the malformed headers and rasters it must
// refuse with a message naming the file.
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/image.h"

static zy_status rd(zy_image *img, const char *text, size_t n, zy_image_channels want) {
    zy_status s = zy_image_read_pnm_memory(img, text, n, "t.pnm", want);
    if (s) zt_note("%s", zy_last_error());
    return s;
}
#define RD(img, lit, want) rd(img, lit, sizeof(lit) - 1, want)

TEST(image_pnm_binary) {
    zy_image img;
    ASSERT(RD(&img, "P5\n# a comment\n3 2\n255\n\0\1\2\375\376\377", ZY_IMAGE_NATIVE) == 0);
    unsigned char g[6] = {0, 1, 2, 253, 254, 255};
    CHECK(img.width == 3 && img.height == 2 && img.channels == 1 && !memcmp(img.data, g, 6));
    zy_image_destroy(&img);
    ASSERT(RD(&img, "P6 2 1 255 \x10\x20\x30\xff\x00\x80", ZY_IMAGE_NATIVE) == 0);
    unsigned char c[6] = {0x10, 0x20, 0x30, 0xff, 0x00, 0x80};
    CHECK(img.channels == 3 && !memcmp(img.data, c, 6));
    zy_image_destroy(&img);
    ASSERT(RD(&img, "P6 2 1 255 \x10\x20\x30\xff\x00\x80", ZY_IMAGE_GRAY) == 0);
    CHECK(img.channels == 1 &&
          img.data[0] == (0x10 * 19595u + 0x20 * 38470u + 0x30 * 7471u + 0x8000u) >> 16);
    zy_image_destroy(&img);
    // Trailing bytes (a second image) are not read.
    ASSERT(RD(&img, "P5 1 1 255\n\x07P5 1 1 255\n\x08", ZY_IMAGE_RGB) == 0);
    CHECK(img.channels == 3 && img.data[0] == 7 && img.data[2] == 7);
    zy_image_destroy(&img);
}

// maxval scaling: (v·255 + maxval/2) / maxval; two big-endian bytes above 255.
TEST(image_pnm_maxval_and_16bit) {
    zy_image img;
    ASSERT(RD(&img, "P5 4 1 15\n\0\1\10\17", ZY_IMAGE_NATIVE) == 0);
    CHECK(img.data[0] == 0 && img.data[1] == 17 && img.data[2] == 136 && img.data[3] == 255);
    zy_image_destroy(&img);
    ASSERT(RD(&img, "P5 3 1 65535\n\x00\x00\x80\x80\xff\xff", ZY_IMAGE_NATIVE) == 0);
    CHECK(img.data[0] == 0 && img.data[1] == 128 && img.data[2] == 255);
    zy_image_destroy(&img);
    ASSERT(RD(&img, "P5 2 1 1000\n\x01\xf4\x03\xe8", ZY_IMAGE_NATIVE) == 0); // 500, 1000
    CHECK(img.data[0] == (500 * 255 + 500) / 1000 && img.data[1] == 255);
    zy_image_destroy(&img);
    ASSERT(RD(&img, "P5 1 1 1\n\1", ZY_IMAGE_NATIVE) == 0);
    CHECK(img.data[0] == 255);
    zy_image_destroy(&img);
}

TEST(image_pnm_ascii) {
    zy_image img;
    ASSERT(RD(&img, "P2\n# gray\n3 2 # size\n10\n0 5 10\n# row two\n 1\t2\r\n3",
              ZY_IMAGE_NATIVE) == 0);
    unsigned char g[6] = {0, 128, 255, 26, 51, 77};
    CHECK(img.channels == 1 && !memcmp(img.data, g, 6));
    zy_image_destroy(&img);
    ASSERT(RD(&img, "P3 1 2 255 1 2 3 250 251 252\n", ZY_IMAGE_NATIVE) == 0);
    unsigned char c[6] = {1, 2, 3, 250, 251, 252};
    CHECK(img.channels == 3 && img.height == 2 && !memcmp(img.data, c, 6));
    zy_image_destroy(&img);
    ASSERT(RD(&img, "P2 1 1 65535 65535", ZY_IMAGE_NATIVE) == 0);
    CHECK(img.data[0] == 255);
    zy_image_destroy(&img);
}

TEST(image_pnm_refuses_bad_files) {
    static const struct {
        const char *text;
        size_t n;
        zy_status want;
        const char *says;
    } bad[] = {
#define B(lit, st, says) {lit, sizeof(lit) - 1, st, says}
        B("", ZY_STATUS_BAD_FORMAT, "not a PGM/PPM"),
        B("P9 1 1 255 x", ZY_STATUS_BAD_FORMAT, "magic"),
        B("P4 1 1 \x80", ZY_STATUS_UNSUPPORTED, "P4"),
        B("P1 1 1 1", ZY_STATUS_UNSUPPORTED, "P1"),
        B("P7\nWIDTH 1\n", ZY_STATUS_UNSUPPORTED, "P7"),
        B("P53 2 255\n\0\0\0\0\0\0", ZY_STATUS_BAD_FORMAT, "whitespace after the magic"),
        B("P5 0 2 255\n", ZY_STATUS_BAD_FORMAT, "width is 0"),
        B("P5 2 -1 255\n", ZY_STATUS_BAD_FORMAT, "height"),
        B("P5 65536 1 255\n", ZY_STATUS_BAD_FORMAT, "width is over 65535"),
        B("P5 99999999999999999999 1 255\n", ZY_STATUS_BAD_FORMAT, "width is over"),
        B("P5 65535 65535 255\n\0", ZY_STATUS_BAD_FORMAT, "over the limit"),
        B("P5 2 2 0\n\0\0\0\0", ZY_STATUS_BAD_FORMAT, "maxval is 0"),
        B("P5 2 2 65536\n\0\0\0\0", ZY_STATUS_BAD_FORMAT, "maxval is over 65535"),
        B("P5 2x2 255\n\0\0\0\0", ZY_STATUS_BAD_FORMAT, "after the width"),
        B("P5 2 2 255", ZY_STATUS_BAD_FORMAT, "truncated"),
        B("P5 2 2 255#\n\0\0\0\0", ZY_STATUS_BAD_FORMAT, "whitespace byte after maxval"),
        B("P5 2 2 255\n\0\0\0", ZY_STATUS_BAD_FORMAT, "needs 4 bytes, the file has 3"),
        B("P6 2 2 300\n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", ZY_STATUS_BAD_FORMAT,
          "needs 24 bytes"),
        B("P5 2 1 100\n\x10\x65", ZY_STATUS_BAD_FORMAT,
          "(x 1, y 0): sample 101 is over maxval 100"),
        B("P5 1 1 300\n\x01\x2d", ZY_STATUS_BAD_FORMAT, "sample 301 is over maxval 300"),
        B("P2 2 2 10 1 2 3", ZY_STATUS_BAD_FORMAT, "truncated"),
        B("P2 2 1 10 1 11", ZY_STATUS_BAD_FORMAT, "sample 2 of 2"),
        B("P2 2 1 10 1 x", ZY_STATUS_BAD_FORMAT, "sample 2 of 2"),
        B("P2 3 1 10 1 2,3", ZY_STATUS_BAD_FORMAT, "between samples"),
        B("P3 1 1 255 1 2 -3", ZY_STATUS_BAD_FORMAT, "sample 3 of 3"),
#undef B
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zy_image img;
        zy_status s = zy_image_read_pnm_memory(&img, bad[i].text, bad[i].n, "bad.pgm",
                                               ZY_IMAGE_NATIVE);
        if (s != bad[i].want || !strstr(zy_last_error(), "bad.pgm") ||
            !strstr(zy_last_error(), bad[i].says))
            zt_fail(__FILE__, __LINE__, "case %zu: status %d (want %d), message '%s' (want '%s')",
                    i, s, bad[i].want, zy_last_error(), bad[i].says);
        CHECK(img.data == NULL);
    }
}

// Every proper prefix of a valid file is refused as truncated (or a missing field).
TEST(image_pnm_every_prefix_refused) {
    const char *files[] = {"P6\n# c\n2 2\n255\n0123456789AB", "P2 2 2 255\n1 2\n3 44"};
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(files[k]);
        zy_image img;
        ASSERT(zy_image_read_pnm_memory(&img, files[k], n, "ok.pnm", ZY_IMAGE_NATIVE) == 0);
        zy_image_destroy(&img);
        for (size_t m = 0; m + (k == 1) < n; m++) {
            zy_status s = zy_image_read_pnm_memory(&img, files[k], m, "cut.pnm", ZY_IMAGE_NATIVE);
            if (s != ZY_STATUS_BAD_FORMAT || !strstr(zy_last_error(), "cut.pnm")) {
                zt_fail(__FILE__, __LINE__, "file %d cut at %zu: status %d '%s'", k, m, s,
                        zy_last_error());
                break;
            }
        }
    }
}
