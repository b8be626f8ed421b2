// Private to the image readers (src/data/image*.c): the size checks and the channel
// conversion every format shares, so each reader only decodes its own bytes.
#ifndef ZHUYI_DATA_IMAGE_INTERNAL_H
#define ZHUYI_DATA_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuyi/image.h"

// Dimensions a reader found, checked before it allocates: each in [1, ZY_IMAGE_MAX_DIM],
// width x height <= ZY_IMAGE_MAX_PIXELS, and the 8-bit image of `channels` (the most the
// reader will hold at once) not larger than the machine's memory. Errors name the file.
zy_status zy__image_check_dims(const char *name, uint64_t width, uint64_t height,
                               int channels);

// Hand a decoded image to the caller: pix (height, width, native) from zy_alloc becomes
// img->data as it is, or is converted to `want` channels (image.h's rules) and freed. On
// failure pix is freed too.
zy_status zy__image_finish(zy_image *img, uint8_t *pix, int width, int height, int native,
                           zy_image_channels want, const char *name);

// The width and height a PNG's IHDR states, read without decoding anything (true); false
// when data does not start with the PNG signature and an IHDR whose CRC checks, and the
// decoder will say why. Lets a reader that knows the size it wants refuse another before inflating it.
bool zy__image_png_size(const void *data, size_t n, uint32_t *width, uint32_t *height);

#endif
