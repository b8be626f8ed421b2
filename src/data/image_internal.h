// Private to the image readers (src/data/image*.c): the size checks and the channel
// conversion every format shares, so each reader only decodes its own bytes.
#ifndef ZHUYI_DATA_IMAGE_INTERNAL_H
#define ZHUYI_DATA_IMAGE_INTERNAL_H

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

#endif
