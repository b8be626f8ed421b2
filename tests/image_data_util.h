// Helpers of the image-set tests (test_image_data*.c): a scratch directory per test, and
// the files the tests read written by hand (IDX, plain or gzip; PGM/PPM; PNG through
// libpng) with pixels a known function of (image, y, x, channel).
#ifndef ZHUYI_TESTS_IMAGE_DATA_UTIL_H
#define ZHUYI_TESTS_IMAGE_DATA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuyi/image_data.h"

// Pixel c of (y, x) of test image i (any i, y, x, c).
uint8_t zt_pix(int i, int y, int x, int c);
// A fresh scratch directory (mkdtemp under /tmp), removed with everything in it by
// zt_scratch_remove; dir/rel into buf. NULL and a recorded failure if it cannot be made.
const char *zt_scratch(void);
void zt_scratch_remove(void);
const char *zt_at(char *buf, size_t cap, const char *rel); // scratch/rel
// mkdir -p of scratch/rel.
bool zt_mkdir(const char *rel);
// Image i (zt_pix) of w x h with c channels (1 or 3) as scratch/rel: .pgm/.ppm binary
// Netpbm, .png through libpng. True on success (a failure recorded otherwise).
bool zt_write_image(const char *rel, int i, int w, int h, int c);
// Raw bytes / text as scratch/rel (gz: gzip-compressed).
bool zt_write_bytes(const char *rel, const void *data, size_t n, bool gz);
// An IDX images file (n images zt_pix(i, ...) of h x w, type 0x803) and a labels file
// (0x801) holding labels[0..n) (NULL: none written).
bool zt_write_idx(const char *images_rel, const char *labels_rel, int n, int h, int w,
                  const uint8_t *labels, bool gz);
// The read of an image set failed with st and a message holding every string of needles
// (NULL-terminated); true if so.
bool zt_fails_with(zy_status got, zy_status st, const char *const *needles);

#endif
