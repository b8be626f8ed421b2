// libFuzzer harness: the PGM/PPM reader (include/zhuyi/image.h, src/data/image_pnm.c). The
// input is the file. Properties checked on every input (image_check.h for the first three):
//  - a refusal is ZY_STATUS_BAD_FORMAT (UNSUPPORTED for P1, P4, P7; OUT_OF_MEMORY) naming
//    the file, and every read refuses alike;
//  - an accepted image is within the size limits, 1 (P2, P5) or 3 (P3, P6) channels, and
//    every byte of it is readable;
//  - the gray and RGB reads are exactly image.h's conversions of the native pixels, and
//    the dispatch by content gives the same image;
//  - written back as binary (P5/P6, maxval 255) and as ASCII (P2/P3) with comments, then
//    read again, the pixels come back identical.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_check.h"
#include "util.h"

static void check_back(const zy_image *img, const char *text, size_t n) {
    zy_image back;
    FZ_CHECKF(zy_image_read_pnm_memory(&back, text, n, "back.pnm", ZY_IMAGE_NATIVE) ==
                  ZY_STATUS_OK, "written back: %s", zy_last_error());
    FZ_CHECK(back.width == img->width && back.height == img->height &&
             back.channels == img->channels);
    FZ_CHECK(!memcmp(back.data, img->data, (size_t)img->width * img->height * img->channels));
    zy_image_destroy(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    zy_image img;
    if (!fz_check_image(zy_image_read_pnm_memory, data, size, "fuzz.pnm",
                        ZY_STATUS_UNSUPPORTED, &img))
        return 0;
    FZ_CHECK(img.channels == 1 || img.channels == 3);
    FZ_CHECK(size >= 2 && data[0] == 'P');
    FZ_CHECK(img.channels == (data[1] == '3' || data[1] == '6' ? 3 : 1));
    size_t count = (size_t)img.width * img.height * img.channels;
    if (count <= (1u << 16)) {
        size_t cap = 64 + count * 5;
        char *out = malloc(cap);
        FZ_CHECK(out);
        int h = snprintf(out, cap, "P%c\n%d %d\n255\n", img.channels == 3 ? '6' : '5',
                         img.width, img.height);
        memcpy(out + h, img.data, count);
        check_back(&img, out, (size_t)h + count);
        size_t k = (size_t)snprintf(out, cap, "P%c # ascii\n%d\t%d\r\n#c\n255\n",
                                    img.channels == 3 ? '3' : '2', img.width, img.height);
        for (size_t i = 0; i < count; i++)
            k += (size_t)snprintf(out + k, cap - k, "%u%c", img.data[i], i % 7 ? ' ' : '\n');
        check_back(&img, out, k);
        free(out);
    }
    zy_image_destroy(&img);
    return 0;
}
