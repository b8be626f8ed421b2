// The format-independent properties of decoded images (image_check.h).
#include <string.h>

#include "image_check.h"
#include "util.h"

static unsigned luma(const uint8_t *p) {
    return (p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16;
}

// conv (want's channels) is native converted as image.h says.
static void check_conversion(const zy_image *native, const zy_image *conv, int want) {
    FZ_CHECK(conv->width == native->width && conv->height == native->height);
    int nc = native->channels;
    FZ_CHECK(conv->channels == (want == ZY_IMAGE_NATIVE ? nc : want));
    size_t n = (size_t)native->width * (size_t)native->height;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = native->data + i * (size_t)nc;
        const uint8_t *d = conv->data + i * (size_t)conv->channels;
        if (want == ZY_IMAGE_GRAY) {
            unsigned g = nc >= 3 ? luma(s) : s[0];
            FZ_CHECKF(d[0] == g, "pixel %zu: gray %u, expected %u", i, d[0], g);
        } else if (want == ZY_IMAGE_RGB) {
            for (int c = 0; c < 3; c++)
                FZ_CHECKF(d[c] == (nc <= 2 ? s[0] : s[c]), "pixel %zu channel %d", i, c);
        }
    }
}

int fz_check_image(fz_image_reader rd, const uint8_t *data, size_t size, const char *name,
                   zy_status allowed, zy_image *native) {
    zy_status s = rd(native, data, size, name, ZY_IMAGE_NATIVE);
    zy_image other;
    if (s) {
        fz_expect_error(s, name, ZY_STATUS_BAD_FORMAT, ZY_STATUS_OUT_OF_MEMORY, allowed);
        FZ_CHECK(native->data == NULL);
        zy_status s2 = rd(&other, data, size, name, ZY_IMAGE_GRAY);
        FZ_CHECKF(s2 == s, "native read: %d, gray read: %d", (int)s, (int)s2);
        FZ_CHECK(other.data == NULL);
        return 0;
    }
    FZ_CHECK(native->width >= 1 && native->width <= ZY_IMAGE_MAX_DIM);
    FZ_CHECK(native->height >= 1 && native->height <= ZY_IMAGE_MAX_DIM);
    FZ_CHECK((uint64_t)native->width * (uint64_t)native->height <= ZY_IMAGE_MAX_PIXELS);
    FZ_CHECK(native->channels >= 1 && native->channels <= 4 && native->data);
    size_t bytes = (size_t)native->width * native->height * native->channels;
    unsigned sum = 0;
    for (size_t i = 0; i < bytes; i++) sum += native->data[i];
    (void)sum;
    const zy_image_channels wants[2] = {ZY_IMAGE_GRAY, ZY_IMAGE_RGB};
    for (int k = 0; k < 2; k++) {
        FZ_CHECKF(rd(&other, data, size, name, wants[k]) == ZY_STATUS_OK,
                  "native read succeeded, channels %d failed", (int)wants[k]);
        check_conversion(native, &other, wants[k]);
        zy_image_destroy(&other);
    }
    FZ_CHECK(zy_image_read_memory(&other, data, size, name, ZY_IMAGE_NATIVE) == ZY_STATUS_OK);
    FZ_CHECK(other.channels == native->channels && !memcmp(other.data, native->data, bytes));
    zy_image_destroy(&other);
    return 1;
}
