// Writing PNG through libpng (image.h): 8-bit gray, gray + alpha, RGB or RGBA, encoded in
// memory and written atomically (zy_file_write_atomic), so a file is whole or absent.
// libpng's errors longjmp to the setjmp in encode(); what must be freed afterwards lives in
// a png_out owned by its caller, as in the reader (image_png.c).
#include <png.h>
#include <setjmp.h>
#include <string.h>

#include "core/internal.h"
#include "zhuyi/image.h"

typedef struct png_out {
    png_structp png;
    png_infop info;
    uint8_t *buf; // the encoded file, grown by on_write (zy_alloc)
    size_t n, cap;
    bool oom;
    char err[160];
} png_out;

static void on_error(png_structp png, png_const_charp msg) {
    png_out *o = png_get_error_ptr(png);
    snprintf(o->err, sizeof o->err, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void on_write(png_structp png, png_bytep data, size_t len) {
    png_out *o = png_get_io_ptr(png);
    if (len > o->cap - o->n) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap - o->n < len) cap *= 2;
        uint8_t *b = zy_alloc(cap);
        if (!b) {
            o->oom = true;
            png_error(png, "out of memory");
        }
        if (o->n) memcpy(b, o->buf, o->n);
        zy_free(o->buf);
        o->buf = b, o->cap = cap;
    }
    memcpy(o->buf + o->n, data, len);
    o->n += len;
}

static void on_flush(png_structp png) { (void)png; }

static void steps(png_out *o, const zy_image *img) {
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_write_fn(o->png, o, on_write, on_flush);
    png_set_IHDR(o->png, o->info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 types[img->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(o->png, o->info);
    size_t stride = (size_t)img->width * (size_t)img->channels;
    for (int y = 0; y < img->height; y++)
        png_write_row(o->png, (png_const_bytep)(img->data + (size_t)y * stride));
    png_write_end(o->png, NULL);
}

static int encode(png_out *o, const zy_image *img) {
    if (setjmp(png_jmpbuf(o->png))) return -1;
    steps(o, img);
    return 0;
}

zy_status zy_image_write_png(const zy_image *img, const char *path) {
    if (!img || !img->data || img->channels < 1 || img->channels > 4 || img->width < 1 ||
        img->height < 1 || img->width > ZY_IMAGE_MAX_DIM || img->height > ZY_IMAGE_MAX_DIM)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: an image of %d x %d with %d "
                         "channels cannot be written as PNG", path,
                         img ? img->width : 0, img ? img->height : 0, img ? img->channels : 0);
    png_out o = {0};
    o.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &o, on_error, on_warning);
    if (o.png) o.info = png_create_info_struct(o.png);
    zy_status st = ZY_STATUS_OK;
    if (!o.png || !o.info) st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    else if (encode(&o, img))
        st = zy__error(o.oom ? ZY_STATUS_OUT_OF_MEMORY : ZY_STATUS_IO, "%s: PNG: %s", path,
                       o.err);
    png_destroy_write_struct(o.png ? &o.png : NULL, o.info ? &o.info : NULL);
    if (!st) st = zy_file_write_atomic(path, o.buf, o.n);
    zy_free(o.buf);
    return st;
}
