// What the image readers share (image.h): the format told by a file's first bytes, the size
// checks made before any pixel buffer is allocated, conversion between channel layouts,
// and pixels -> normalised float planes. The decoders are image_png.c and image_pnm.c; the
// IDX data set files are image_idx.c.
#include <string.h>

#include "core/internal.h"
#include "data/image_internal.h"

void zy_image_destroy(zy_image *img) {
    if (!img) return;
    zy_free(img->data);
    memset(img, 0, sizeof *img);
}

zy_status zy__image_check_dims(const char *name, uint64_t width, uint64_t height,
                               int channels) {
    if (width == 0 || height == 0)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: empty image (%llux%llu)", name,
                         (unsigned long long)width, (unsigned long long)height);
    if (width > ZY_IMAGE_MAX_DIM || height > ZY_IMAGE_MAX_DIM)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: image of %llux%llu pixels: a side is over the limit of %d",
                         name, (unsigned long long)width, (unsigned long long)height,
                         ZY_IMAGE_MAX_DIM);
    // Both are at most 65535, so the products below cannot overflow 64 bits.
    uint64_t pixels = width * height;
    if (pixels > ZY_IMAGE_MAX_PIXELS)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: image of %llux%llu pixels: over the limit of %u pixels", name,
                         (unsigned long long)width, (unsigned long long)height,
                         ZY_IMAGE_MAX_PIXELS);
    if (zy__exceeds_memory(pixels * (uint64_t)channels))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY,
                         "%s: image of %llux%llu pixels needs %.1f GiB, more than this "
                         "machine's memory", name, (unsigned long long)width,
                         (unsigned long long)height, ZY_GIB(pixels * (uint64_t)channels));
    return ZY_STATUS_OK;
}

// Pillow's convert("L"): ITU-R 601-2 luma in 16-bit fixed point, rounded.
static uint8_t luma(const uint8_t *p) {
    return (uint8_t)((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
}

zy_status zy__image_finish(zy_image *img, uint8_t *pix, int width, int height, int native,
                           zy_image_channels want, const char *name) {
    ZY_ASSERT(native >= 1 && native <= 4);
    int out_c = want == ZY_IMAGE_NATIVE ? native : (int)want;
    ZY_ASSERT(out_c == 1 || out_c == native || out_c == 3);
    size_t n = (size_t)width * (size_t)height;
    uint8_t *out = pix;
    if (out_c != native) {
        out = zy_alloc(n * (size_t)out_c);
        if (!out) {
            zy_free(pix);
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for a %dx%d image",
                             name, width, height);
        }
        for (size_t i = 0; i < n; i++) {
            const uint8_t *s = pix + i * (size_t)native;
            uint8_t *d = out + i * (size_t)out_c;
            if (out_c == 1) { // from gray + alpha, RGB or RGBA
                d[0] = native >= 3 ? luma(s) : s[0];
            } else if (native <= 2) { // gray (+ alpha) -> RGB
                d[0] = d[1] = d[2] = s[0];
            } else { // RGBA -> RGB
                d[0] = s[0], d[1] = s[1], d[2] = s[2];
            }
        }
        zy_free(pix);
    }
    img->data = out;
    img->width = width;
    img->height = height;
    img->channels = out_c;
    return ZY_STATUS_OK;
}

static int is_png(const uint8_t *p, size_t n) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    return n >= 8 && !memcmp(p, sig, 8);
}

static int is_pnm(const uint8_t *p, size_t n) {
    return n >= 2 && p[0] == 'P' && (p[1] == '2' || p[1] == '3' || p[1] == '5' || p[1] == '6');
}

static zy_status bad_want(const char *name, zy_image_channels want) {
    return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                     "%s: channels %d asked for (0 = native, 1 = gray, 3 = RGB)", name,
                     (int)want);
}

zy_status zy_image_read_memory(zy_image *img, const void *data, size_t n, const char *name,
                               zy_image_channels want) {
    memset(img, 0, sizeof *img);
    if (want != ZY_IMAGE_NATIVE && want != ZY_IMAGE_GRAY && want != ZY_IMAGE_RGB)
        return bad_want(name, want);
    const uint8_t *p = data;
    if (is_png(p, n)) return zy_image_read_png_memory(img, data, n, name, want);
    if (is_pnm(p, n)) return zy_image_read_pnm_memory(img, data, n, name, want);
    return zy__error(ZY_STATUS_UNSUPPORTED,
                     "%s: not an image zhuyi reads (PNG, or PGM/PPM: P2, P3, P5, P6)", name);
}

zy_status zy_image_read(zy_image *img, const char *path, zy_image_channels want) {
    memset(img, 0, sizeof *img);
    char *buf;
    size_t n;
    zy_status s = zy_file_read(path, &buf, &n);
    if (s) return s;
    s = zy_image_read_memory(img, buf, n, path, want);
    zy_free(buf);
    return s;
}

void zy_image_to_chw(float *out, const zy_image *img, const float *mean, const float *std) {
    int C = img->channels;
    size_t HW = (size_t)img->width * (size_t)img->height;
    for (int c = 0; c < C; c++) {
        float m = mean ? mean[c] : 0.0f, sd = std ? std[c] : 1.0f;
        ZY_ASSERT(sd != 0.0f);
        float *o = out + (size_t)c * HW;
        const uint8_t *p = img->data + c;
        for (size_t i = 0; i < HW; i++) o[i] = ((float)p[i * (size_t)C] / 255.0f - m) / sd;
    }
}
