// Helpers of the image-set tests (image_data_util.h).
#include "image_data_util.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"

static char scratch[64];

uint8_t zt_pix(int i, int y, int x, int c) {
    return (uint8_t)(i * 37 + y * 11 + x * 5 + c * 83 + (x * y) % 7);
}

const char *zt_scratch(void) {
    zt_scratch_remove();
    snprintf(scratch, sizeof scratch, "/tmp/zy_imgdata_XXXXXX");
    if (!mkdtemp(scratch)) {
        zt_fail(__FILE__, __LINE__, "mkdtemp failed");
        scratch[0] = 0;
        return NULL;
    }
    return scratch;
}

void zt_scratch_remove(void) {
    if (scratch[0]) zt_rm_tree(scratch);
    scratch[0] = 0;
}

const char *zt_at(char *buf, size_t cap, const char *rel) {
    snprintf(buf, cap, "%s/%s", scratch, rel);
    return buf;
}

bool zt_mkdir(const char *rel) {
    char path[1024];
    zt_at(path, sizeof path, rel);
    for (char *p = path + strlen(scratch) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(path, 0700);
        *p = '/';
    }
    if (mkdir(path, 0700) != 0) {
        zt_fail(__FILE__, __LINE__, "mkdir %s failed", path);
        return false;
    }
    return true;
}

bool zt_write_bytes(const char *rel, const void *data, size_t n, bool gz) {
    char path[1024];
    zt_at(path, sizeof path, rel);
    bool ok;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ok = f && gzwrite(f, data, (unsigned)n) == (int)n;
        ok = f && gzclose(f) == Z_OK && ok;
    } else {
        FILE *f = fopen(path, "wb");
        ok = f && fwrite(data, 1, n, f) == n;
        ok = f && fclose(f) == 0 && ok;
    }
    if (!ok) zt_fail(__FILE__, __LINE__, "cannot write %s", path);
    return ok;
}

bool zt_write_image(const char *rel, int i, int w, int h, int c) {
    size_t n = (size_t)w * (size_t)h * (size_t)c;
    uint8_t *px = zt_malloc(n + 64);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) px[((size_t)y * w + x) * c + k] = zt_pix(i, y, x, k);
    bool ok;
    size_t len = strlen(rel);
    if (len > 4 && !strcmp(rel + len - 4, ".png")) {
        char path[1024];
        png_image img;
        memset(&img, 0, sizeof img);
        img.version = PNG_IMAGE_VERSION;
        img.width = (png_uint_32)w;
        img.height = (png_uint_32)h;
        img.format = c == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
        ok = png_image_write_to_file(&img, zt_at(path, sizeof path, rel), 0, px, 0, NULL);
        if (!ok) zt_fail(__FILE__, __LINE__, "libpng cannot write %s", path);
    } else {
        char head[64];
        int k = snprintf(head, sizeof head, "P%c\n%d %d\n255\n", c == 1 ? '5' : '6', w, h);
        uint8_t *f = zt_malloc(n + (size_t)k);
        memcpy(f, head, (size_t)k);
        memcpy(f + k, px, n);
        ok = zt_write_bytes(rel, f, n + (size_t)k, false);
        free(f);
    }
    free(px);
    return ok;
}

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

bool zt_write_idx(const char *images_rel, const char *labels_rel, int n, int h, int w,
                  const uint8_t *labels, bool gz) {
    size_t sz = 16 + (size_t)n * h * w;
    uint8_t *f = zt_malloc(sz);
    f[0] = f[1] = 0, f[2] = 0x08, f[3] = 3;
    be32(f + 4, (uint32_t)n), be32(f + 8, (uint32_t)h), be32(f + 12, (uint32_t)w);
    for (int i = 0; i < n; i++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) f[16 + ((size_t)i * h + y) * w + x] = zt_pix(i, y, x, 0);
    bool ok = zt_write_bytes(images_rel, f, sz, gz);
    free(f);
    if (ok && labels) {
        uint8_t *l = zt_malloc(8 + (size_t)n);
        l[0] = l[1] = 0, l[2] = 0x08, l[3] = 1;
        be32(l + 4, (uint32_t)n);
        memcpy(l + 8, labels, (size_t)n);
        ok = zt_write_bytes(labels_rel, l, 8 + (size_t)n, gz);
        free(l);
    }
    return ok;
}

bool zt_fails_with(zy_status got, zy_status st, const char *const *needles) {
    const char *msg = zy_last_error();
    bool ok = got == st;
    for (int i = 0; needles && needles[i]; i++) ok = ok && strstr(msg, needles[i]);
    if (!ok)
        zt_fail(__FILE__, __LINE__, "status %d (want %d), message: %s", (int)got, (int)st, msg);
    else zt_note("%s", msg);
    return ok;
}
