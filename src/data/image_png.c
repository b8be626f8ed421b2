// PNG through libpng (image.h): every colour type and bit depth, interlaced or not, from
// memory (a path is read whole first: PNG files are compressed, so no larger than the
// pixels they hold). No decoding of our own: libpng parses chunks, checks CRCs and inflates;
// this file chooses its transforms, bounds the sizes, and turns its errors into zy_status.
//
// libpng reports errors by longjmp to the setjmp in png_decode(); everything that must be
// freed afterwards lives in a png_ctx owned by the caller of that function (not in its
// locals, which longjmp may leave indeterminate), and the function that does the work is
// a separate one, so no local of the setjmp's frame is live across it. Warnings go to the
// log callback at debug level; libpng itself never prints (both handlers are ours) and its
// memory comes from zy_alloc.
//
// Only the chunks that define the pixels are read (IHDR, PLTE, tRNS, IDAT, IEND); the other
// ancillary chunks are skipped (read through a small buffer; a CRC error in one is only a
// warning, libpng's default for ancillary chunks), so a hostile length in one cannot make
// libpng allocate it (fuzz_png found a 2 GB request from a 77-byte file before this).
//
// Validated before the pixel buffer is allocated: width and height (libpng's user limits
// and image_internal.h's checks), and that the file can hold the image at all: deflate
// expands at most 1032:1, so a header claiming more raw bytes than that bound allows for
// the bytes left is refused as truncated (a few-byte file cannot make us allocate a
// gigabyte).
#include <png.h>
#include <zlib.h>
#include <setjmp.h>
#include <string.h>

#include "core/internal.h"
#include "data/image_internal.h"

// zlib's bound on deflate's expansion (uncompressed : compressed).
#define DEFLATE_MAX_RATIO 1032u
// The most libpng may allocate for one chunk it keeps (PLTE and tRNS need under 1 KB).
#define PNG_CHUNK_MAX (1u << 20)

typedef struct png_ctx {
    const uint8_t *p;
    size_t n, pos;
    const char *name;
    png_structp png;
    png_infop info;
    uint8_t *pix;    // (height, rowbytes) after the transforms
    png_bytep *rows; // (height) pointers into pix
    int width, height, channels;
    char msg[200];   // libpng's last error
} png_ctx;

static void on_error(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    png_ctx *c = png_get_error_ptr(png);
    zy__log(ZY_LOG_DEBUG, "%s: libpng: %s", c->name, msg ? msg : "");
}

static png_voidp on_malloc(png_structp png, png_alloc_size_t size) {
    (void)png;
    return zy_alloc(size);
}

static void on_free(png_structp png, png_voidp p) {
    (void)png;
    zy_free(p);
}

static void on_read(png_structp png, png_bytep out, size_t len) {
    png_ctx *c = png_get_io_ptr(png);
    if (len > c->n - c->pos) png_error(png, "truncated: the file ends inside a chunk");
    memcpy(out, c->p + c->pos, len);
    c->pos += len;
}

// The work between png_decode's setjmp and its return; any libpng call may longjmp out.
static zy_status png_steps(png_ctx *c) {
    png_structp png = c->png;
    png_infop info = c->info;
    png_set_read_fn(png, c, on_read);
    png_set_user_limits(png, ZY_IMAGE_MAX_DIM, ZY_IMAGE_MAX_DIM);
    // Ancillary chunks other than tRNS say nothing about the stored values: skip them
    // unread (no buffer for their claimed length, no decompression of iCCP/zTXt/iTXt), and
    // bound what libpng may allocate for any chunk it does keep.
    static const png_byte skip[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0"
                                   "pHYs\0sBIT\0sCAL\0sPLT\0sRGB\0tEXt\0tIME\0zTXt";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skip, (int)(sizeof skip / 5));
    png_set_chunk_malloc_max(png, PNG_CHUNK_MAX);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, type, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &type, &interlace, NULL, NULL);
    // The most channels the transforms below can give (palette or tRNS -> RGBA).
    zy_status s = zy__image_check_dims(c->name, w, h, 4);
    if (s) return s;
    // Raw (filtered) bytes of the image without interlacing: interlaced data is no smaller.
    uint64_t bits = (uint64_t)w * (uint64_t)png_get_channels(png, info) * (uint64_t)depth;
    uint64_t raw = (uint64_t)h * (1 + (bits + 7) / 8);
    uint64_t left = c->n - c->pos;
    if (raw > (left + 64) * DEFLATE_MAX_RATIO)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: truncated: a %ux%u PNG of %d-bit samples holds %llu bytes of "
                         "pixel data, more than the %llu bytes left in the file can inflate to",
                         c->name, (unsigned)w, (unsigned)h, depth, (unsigned long long)raw,
                         (unsigned long long)left);

    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || channels < 1 || channels > 4 ||
        rowbytes != (size_t)w * (size_t)channels)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: PNG of colour type %d, %d-bit: transforms gave %d channels of "
                         "%d bits", c->name, type, depth, channels,
                         png_get_bit_depth(png, info));
    c->pix = zy_alloc((size_t)h * rowbytes);
    c->rows = zy_alloc((size_t)h * sizeof *c->rows);
    if (!c->pix || !c->rows)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for a %ux%u image",
                         c->name, (unsigned)w, (unsigned)h);
    for (png_uint_32 y = 0; y < h; y++) c->rows[y] = c->pix + (size_t)y * rowbytes;
    png_read_image(png, c->rows);
    png_read_end(png, NULL);
    c->width = (int)w;
    c->height = (int)h;
    c->channels = channels;
    return ZY_STATUS_OK;
}

static zy_status png_decode(png_ctx *c) {
    if (setjmp(png_jmpbuf(c->png)))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: corrupt PNG: %s", c->name, c->msg);
    return png_steps(c);
}

zy_status zy_image_read_png_memory(zy_image *img, const void *data, size_t n,
                                   const char *name, zy_image_channels want) {
    memset(img, 0, sizeof *img);
    if (want != ZY_IMAGE_NATIVE && want != ZY_IMAGE_GRAY && want != ZY_IMAGE_RGB)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: channels %d asked for", name,
                         (int)want);
    if (n < 8 || png_sig_cmp((png_const_bytep)data, 0, 8))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a PNG file (no PNG signature)", name);
    png_ctx c = {.p = data, .n = n, .name = name};
    c.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning, NULL,
                                     on_malloc, on_free);
    if (c.png) c.info = png_create_info_struct(c.png);
    if (!c.png || !c.info) {
        png_destroy_read_struct(c.png ? &c.png : NULL, NULL, NULL);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory starting libpng", name);
    }
    zy_status s = png_decode(&c);
    png_destroy_read_struct(&c.png, &c.info, NULL);
    zy_free(c.rows);
    if (s) {
        zy_free(c.pix);
        return s;
    }
    return zy__image_finish(img, c.pix, c.width, c.height, c.channels, want, name);
}

zy_status zy_image_read_png(zy_image *img, const char *path, zy_image_channels want) {
    memset(img, 0, sizeof *img);
    char *buf;
    size_t n;
    zy_status s = zy_file_read(path, &buf, &n);
    if (s) return s;
    s = zy_image_read_png_memory(img, buf, n, path, want);
    zy_free(buf);
    return s;
}

bool zy__image_png_size(const void *data, size_t n, uint32_t *width, uint32_t *height) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    const uint8_t *p = data;
    // signature, then IHDR's length (13) and type, then width and height, big-endian
    // and IHDR's CRC: a damaged header is the decoder's to report
    if (n < 33 || memcmp(p, sig, 8) || memcmp(p + 8, "\0\0\0\15IHDR", 8)) return false;
    uint32_t crc = (uint32_t)p[29] << 24 | (uint32_t)p[30] << 16 | (uint32_t)p[31] << 8 | p[32];
    if ((uint32_t)crc32(0, p + 12, 17) != crc) return false;
    *width = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 | (uint32_t)p[18] << 8 | p[19];
    *height = (uint32_t)p[20] << 24 | (uint32_t)p[21] << 16 | (uint32_t)p[22] << 8 | p[23];
    return true;
}
