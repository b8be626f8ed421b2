// zhuyi image input: PNG (libpng), PGM/PPM (Netpbm P2/P3/P5/P6) and IDX (the MNIST /
// Fashion-MNIST files, plain or gzip-compressed) decoded into 8-bit pixels, and pixels
// turned into the normalised float planes a vision model reads.
//
// Every reader validates the sizes a file claims before allocating (dimensions, their
// product, the bytes the file must then hold) and fails with a zy_status and a message
// naming the file and what is wrong. Nothing prints; nothing exits. Each format has a
// path entry point and a memory one (`name` is what messages call the bytes).
#ifndef ZHUYI_IMAGE_H
#define ZHUYI_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

// Largest width or height any reader accepts, and the largest width x height.
#define ZY_IMAGE_MAX_DIM 65535
#define ZY_IMAGE_MAX_PIXELS (1u << 28)

// An 8-bit image, rows top to bottom, channels interleaved (HWC): channel c of pixel
// (y, x) is data[((size_t)y * width + x) * channels + c]. channels is 1 (gray), 2 (gray +
// alpha), 3 (RGB) or 4 (RGBA). The caller owns the struct; zy_image_destroy frees data.
typedef struct zy_image {
    uint8_t *data; // (height, width, channels), zy_alloc'd
    int width, height, channels;
} zy_image;

// The channels a reader gives: the file's own, or converted to gray or RGB. To gray:
// alpha is dropped, RGB becomes Pillow's convert("L") luma,
// (R·19595 + G·38470 + B·7471 + 32768) >> 16. To RGB: gray is repeated, alpha dropped
// (not composited: Pillow's convert("RGB")).
typedef enum zy_image_channels {
    ZY_IMAGE_NATIVE = 0,
    ZY_IMAGE_GRAY = 1,
    ZY_IMAGE_RGB = 3,
} zy_image_channels;

void zy_image_destroy(zy_image *img);

// Any supported image file, told by its first bytes (PNG signature, or "P2", "P3", "P5",
// "P6"); another start is ZY_STATUS_UNSUPPORTED naming the file.
zy_status zy_image_read(zy_image *img, const char *path, zy_image_channels want);
zy_status zy_image_read_memory(zy_image *img, const void *data, size_t n, const char *name,
                               zy_image_channels want);

// PNG through libpng: gray, gray + alpha, RGB, RGBA, palette (with tRNS: RGBA), 1/2/4/8/16
// bits, interlaced or not. 16-bit samples are scaled to 8 bits with rounding (libpng's
// png_set_scale_16: round(v·255/65535)); low bit depths are expanded to 0..255. Gamma and
// colour-space chunks are ignored: the values are the stored ones. Native channels: 1, 2,
// 3 or 4. A corrupt file (bad signature, CRC error in a critical chunk, bad zlib data,
// truncation) is ZY_STATUS_BAD_FORMAT with libpng's reason.
zy_status zy_image_read_png(zy_image *img, const char *path, zy_image_channels want);
zy_status zy_image_read_png_memory(zy_image *img, const void *data, size_t n,
                                   const char *name, zy_image_channels want);

// Netpbm PGM/PPM: binary P5/P6 and ASCII P2/P3, maxval 1..65535 (two big-endian bytes a
// sample above 255), '#' comments in the header (and between ASCII samples). Samples are
// scaled to 8 bits as (v·255 + maxval/2) / maxval (so maxval 255 is kept exactly). A sample
// above maxval or a raster shorter than the header says is ZY_STATUS_BAD_FORMAT. Bytes
// after the first image are ignored (Netpbm streams may hold several). Native channels: 1
// (PGM) or 3 (PPM).
zy_status zy_image_read_pnm(zy_image *img, const char *path, zy_image_channels want);
zy_status zy_image_read_pnm_memory(zy_image *img, const void *data, size_t n,
                                   const char *name, zy_image_channels want);

// Image (HWC bytes) -> planes (C, H, W) of floats: out[c][y][x] = (p/255 - mean[c]) / std[c]
// (Hugging Face's ViTImageProcessor: rescale by 1/255, then normalise). mean, std
// (channels) or NULL for 0 and 1; every std must be non-zero.
void zy_image_to_chw(float *out, const zy_image *img, const float *mean, const float *std);

// An 8-bit image (1 to 4 channels: gray, gray + alpha, RGB, RGBA) as a PNG file, through
// libpng, written atomically (whole or not at all). Errors name the file.
zy_status zy_image_write_png(const zy_image *img, const char *path);

// ---- IDX (MNIST-style data sets) ----------------------------------------------------------
// Big-endian: bytes 0, 0, a type (0x08 = unsigned byte: the only one read), the number of
// dimensions (1..4), then each dimension as u32, then the values, row-major. Images are
// 0x00000803 (count, rows, cols), labels 0x00000801 (count). A file starting with the gzip
// magic (1f 8b) is decompressed first (Debian's dataset-fashion-mnist ships them so).
#define ZY_IDX_MAX_DIMS 4
typedef struct zy_idx {
    uint8_t *data;                // (dims[0], ..., dims[ndim-1]), zy_alloc'd
    int ndim;
    uint32_t dims[ZY_IDX_MAX_DIMS];
    size_t count;                 // the product of the dims (values in data)
} zy_idx;

// The whole file must be the header and exactly the values it declares: a file shorter
// (or longer) is ZY_STATUS_BAD_FORMAT saying how many bytes it has and needs; another
// value type is ZY_STATUS_UNSUPPORTED naming it.
zy_status zy_idx_read(zy_idx *x, const char *path);
zy_status zy_idx_read_memory(zy_idx *x, const void *data, size_t n, const char *name);
void zy_idx_destroy(zy_idx *x);

#ifdef __cplusplus
}
#endif
#endif
