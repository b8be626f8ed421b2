// Shared by the image harnesses (fuzz_png.c, fuzz_pnm.c): what every decoded image must
// satisfy whatever the format. Not part of the library or the tests.
#ifndef ZHUYI_FUZZ_IMAGE_CHECK_H
#define ZHUYI_FUZZ_IMAGE_CHECK_H

#include "zhuyi/image.h"

typedef zy_status (*fz_image_reader)(zy_image *img, const void *data, size_t n,
                                     const char *name, zy_image_channels want);

// Read data[0..size) as `name` with the native channels, then as gray and as RGB:
//  - a refusal is ZY_STATUS_BAD_FORMAT (or UNSUPPORTED / OUT_OF_MEMORY: the three are
//    named by allowed) with a message naming `name`, img.data left NULL, and the other two
//    reads refuse it the same way;
//  - an accepted image has 1 <= width, height <= ZY_IMAGE_MAX_DIM, width x height <=
//    ZY_IMAGE_MAX_PIXELS, 1..4 native channels (every byte is read: ASan sees it); the
//    gray and RGB reads give the same size and exactly image.h's conversions of the
//    native pixels; zy_image_read_memory (dispatch by content) gives the native bytes too.
// Returns 1 with *native filled (zy_image_destroy it) or 0 after a refusal.
int fz_check_image(fz_image_reader rd, const uint8_t *data, size_t size, const char *name,
                   zy_status allowed, zy_image *native);

#endif
