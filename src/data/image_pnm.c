// Netpbm PGM and PPM (image.h): P5/P6 binary and P2/P3 ASCII, one image per call.
//
// Layout: "P5" (gray, binary), "P6" (RGB, binary), "P2"/"P3" (the same in ASCII); then
// width, height and maxval as decimal numbers separated by whitespace (space, \t, \n, \v,
// \f, \r), with '#' comments running to the end of a line anywhere before maxval; then
// exactly one whitespace byte. A binary raster follows at once: height rows of width
// pixels of 1 (gray) or 3 (RGB) samples, each one byte when maxval < 256, else two bytes
// big-endian. An ASCII raster is the samples as decimal numbers separated by whitespace
// (comments allowed, as Netpbm's own reader allows them).
//
// Validated: the magic (P1, P4 and P7 are named as unsupported), each number is digits
// only and in range (width and height 1..ZY_IMAGE_MAX_DIM, maxval 1..65535), the
// whitespace after each field, the image size (image_internal.h) and the bytes the raster
// needs, all before allocating; then every sample <= maxval. Bytes after the raster are
// not read (a Netpbm file may hold several images; this reads the first).
#include <string.h>

#include "core/internal.h"
#include "data/image_internal.h"

typedef struct pnm_cursor {
    const uint8_t *p;
    size_t n, pos;
    const char *name;
} pnm_cursor;

static int is_space(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Skip whitespace and comments; 1 if any was skipped.
static int skip_blank(pnm_cursor *c) {
    size_t start = c->pos;
    while (c->pos < c->n) {
        uint8_t ch = c->p[c->pos];
        if (is_space(ch)) {
            c->pos++;
        } else if (ch == '#') {
            while (c->pos < c->n && c->p[c->pos] != '\n' && c->p[c->pos] != '\r') c->pos++;
        } else {
            break;
        }
    }
    return c->pos > start;
}

// A decimal number in [lo, hi] at the cursor (after blanks); `what` names it in errors.
static zy_status read_uint(pnm_cursor *c, const char *what, unsigned lo, unsigned hi,
                           unsigned *out) {
    skip_blank(c);
    if (c->pos >= c->n)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: truncated: the file ends before the %s",
                         c->name, what);
    uint8_t ch = c->p[c->pos];
    if (ch < '0' || ch > '9')
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: byte %zu: expected the %s (a decimal number), found 0x%02x",
                         c->name, c->pos, what, ch);
    unsigned long v = 0;
    while (c->pos < c->n && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
        v = v * 10 + (unsigned long)(c->p[c->pos++] - '0');
        if (v > hi)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: the %s is over %u", c->name, what,
                             hi);
    }
    if (v < lo)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: the %s is %lu (at least %u)", c->name,
                         what, v, lo);
    *out = (unsigned)v;
    return ZY_STATUS_OK;
}

// The byte after a header field must be whitespace or a comment (or the end, which the
// next read reports as truncation).
static zy_status need_separator(pnm_cursor *c, const char *after) {
    if (c->pos < c->n && !is_space(c->p[c->pos]) && c->p[c->pos] != '#')
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: byte %zu: expected whitespace after the %s, found 0x%02x",
                         c->name, c->pos, after, c->p[c->pos]);
    return ZY_STATUS_OK;
}

static zy_status read_raster_binary(pnm_cursor *c, uint8_t *pix, size_t count,
                                    unsigned maxval, int channels, unsigned width) {
    size_t bps = maxval < 256 ? 1 : 2;
    const uint8_t *r = c->p + c->pos;
    for (size_t i = 0; i < count; i++) {
        unsigned v = bps == 1 ? r[i] : (unsigned)r[2 * i] << 8 | r[2 * i + 1];
        if (v > maxval) {
            size_t px = i / (size_t)channels;
            return zy__error(ZY_STATUS_BAD_FORMAT,
                             "%s: pixel (x %zu, y %zu): sample %u is over maxval %u", c->name,
                             px % width, px / width, v, maxval);
        }
        pix[i] = (uint8_t)((v * 255u + maxval / 2) / maxval);
    }
    return ZY_STATUS_OK;
}

static zy_status read_raster_ascii(pnm_cursor *c, uint8_t *pix, size_t count,
                                   unsigned maxval) {
    for (size_t i = 0; i < count; i++) {
        if (i > 0 && !skip_blank(c) && c->pos < c->n)
            return zy__error(ZY_STATUS_BAD_FORMAT,
                             "%s: byte %zu: expected whitespace between samples, found 0x%02x",
                             c->name, c->pos, c->p[c->pos]);
        unsigned v;
        zy_status s = read_uint(c, "sample", 0, maxval, &v);
        if (s) return zy__error(s, "%s (sample %zu of %zu)", zy_last_error(), i + 1, count);
        pix[i] = (uint8_t)((v * 255u + maxval / 2) / maxval);
    }
    return ZY_STATUS_OK;
}

zy_status zy_image_read_pnm_memory(zy_image *img, const void *data, size_t n,
                                   const char *name, zy_image_channels want) {
    memset(img, 0, sizeof *img);
    if (want != ZY_IMAGE_NATIVE && want != ZY_IMAGE_GRAY && want != ZY_IMAGE_RGB)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: channels %d asked for", name,
                         (int)want);
    pnm_cursor c = {data, n, 0, name};
    if (n < 2 || c.p[0] != 'P')
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a PGM/PPM file (no 'P' magic)", name);
    char kind = (char)c.p[1];
    if (kind == '1' || kind == '4' || kind == '7')
        return zy__error(ZY_STATUS_UNSUPPORTED,
                         "%s: Netpbm format P%c is not read (only P2, P3, P5, P6)", name, kind);
    if (kind != '2' && kind != '3' && kind != '5' && kind != '6')
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a PGM/PPM file (magic 'P%c')", name,
                         kind >= 0x20 && kind < 0x7f ? kind : '?');
    c.pos = 2;
    int channels = kind == '3' || kind == '6' ? 3 : 1;
    int ascii = kind == '2' || kind == '3';
    unsigned width, height, maxval;
    zy_status s;
    if ((s = need_separator(&c, "magic"))) return s;
    if ((s = read_uint(&c, "width", 1, ZY_IMAGE_MAX_DIM, &width))) return s;
    if ((s = need_separator(&c, "width"))) return s;
    if ((s = read_uint(&c, "height", 1, ZY_IMAGE_MAX_DIM, &height))) return s;
    if ((s = need_separator(&c, "height"))) return s;
    if ((s = read_uint(&c, "maxval", 1, 65535, &maxval))) return s;
    if (c.pos >= c.n || !is_space(c.p[c.pos]))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: %s after maxval", name,
                         c.pos >= c.n ? "truncated: no raster" : "expected one whitespace byte");
    c.pos++;
    if ((s = zy__image_check_dims(name, width, height, channels))) return s;
    size_t count = (size_t)width * height * (size_t)channels;
    // What the raster needs at least: every binary sample; an ASCII digit per sample and a
    // separator between samples.
    size_t need = ascii ? 2 * count - 1 : count * (maxval < 256 ? 1 : 2);
    if (c.n - c.pos < need)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s: truncated: a %ux%u %s raster needs %s%zu bytes, the file has %zu "
                         "after its header", name, width, height,
                         channels == 3 ? "PPM" : "PGM", ascii ? "at least " : "", need,
                         c.n - c.pos);
    uint8_t *pix = zy_alloc(count);
    if (!pix)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for a %ux%u image", name,
                         width, height);
    s = ascii ? read_raster_ascii(&c, pix, count, maxval)
              : read_raster_binary(&c, pix, count, maxval, channels, width);
    if (s) {
        zy_free(pix);
        return s;
    }
    return zy__image_finish(img, pix, (int)width, (int)height, channels, want, name);
}

zy_status zy_image_read_pnm(zy_image *img, const char *path, zy_image_channels want) {
    memset(img, 0, sizeof *img);
    char *buf;
    size_t n;
    zy_status s = zy_file_read(path, &buf, &n);
    if (s) return s;
    s = zy_image_read_pnm_memory(img, buf, n, path, want);
    zy_free(buf);
    return s;
}
