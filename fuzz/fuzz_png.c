// libFuzzer harness: the PNG reader (include/zhuyi/image.h, src/data/image_png.c: libpng
// with our transforms, size bounds and setjmp error handling). The input is the file.
// Properties checked on every input (image_check.h for the first three):
//  - a refusal is ZY_STATUS_BAD_FORMAT (or OUT_OF_MEMORY) naming the file, nothing leaks
//    (libpng's longjmp out of any depth frees everything), every read refuses alike;
//  - an accepted image is within the size limits and every byte of it is readable;
//  - the gray and RGB reads are exactly image.h's conversions of the native pixels, and
//    the dispatch by content (zy_image_read_memory) gives the same image;
//  - written back by libpng as an 8-bit PNG of its native channels (images up to 2^16
//    pixels) and read again, the pixels come back identical.
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "image_check.h"
#include "util.h"

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
} membuf;

static void on_write(png_structp png, png_bytep d, size_t n) {
    membuf *b = png_get_io_ptr(png);
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        FZ_CHECK(b->p);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void on_flush(png_structp png) { (void)png; }

// img as an 8-bit PNG (malloc'd into *b); 0 if libpng refused.
static int write_png(const zy_image *img, membuf *b, png_bytep *rows) {
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGBA};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    FZ_CHECK(info);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return 0;
    }
    png_set_write_fn(png, b, on_write, on_flush);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 types[img->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 1);
    size_t stride = (size_t)img->width * img->channels;
    for (int y = 0; y < img->height; y++) rows[y] = img->data + (size_t)y * stride;
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    zy_image img;
    if (!fz_check_image(zy_image_read_png_memory, data, size, "fuzz.png",
                        ZY_STATUS_BAD_FORMAT, &img))
        return 0;
    if ((size_t)img.width * img.height <= (1u << 16)) {
        membuf b = {0};
        png_bytep *rows = malloc((size_t)img.height * sizeof *rows);
        FZ_CHECK(rows);
        FZ_CHECKF(write_png(&img, &b, rows), "libpng could not write a %dx%dx%d image back",
                  img.width, img.height, img.channels);
        zy_image back;
        FZ_CHECKF(zy_image_read_png_memory(&back, b.p, b.n, "back.png", ZY_IMAGE_NATIVE) ==
                      ZY_STATUS_OK, "written back: %s", zy_last_error());
        FZ_CHECK(back.width == img.width && back.height == img.height &&
                 back.channels == img.channels);
        FZ_CHECK(!memcmp(back.data, img.data,
                         (size_t)img.width * img.height * img.channels));
        zy_image_destroy(&back);
        free(rows), free(b.p);
    }
    zy_image_destroy(&img);
    return 0;
}
