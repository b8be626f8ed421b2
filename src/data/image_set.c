// Image sets (image_data.h): the set and its builder (each image checked against the size
// the first one set, the pixels allocated once, after the memory check), IDX pairs, sets
// of image files held in memory, the choice of reader by path, the accessors. Not here: manifests and ImageFolder
// directories (image_set_files.c), batches (image_source.c), decoding (image*.c).
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "data/image_internal.h"
#include "data/image_set_internal.h"
#include "data/task_internal.h"

typedef unsigned long long ull;

zy_image_set_params zy_image_set_default_params(void) {
    return (zy_image_set_params){.channels = ZY_IMAGE_NATIVE, .format = ZY_TASK_FORMAT_AUTO,
                                 .image_column = "image", .label_column = "label",
                                 .require_labels = true};
}

zy_status zy__image_set_check_params(const zy_image_set_params *p) {
    if (p->channels != ZY_IMAGE_NATIVE && p->channels != ZY_IMAGE_GRAY &&
        p->channels != ZY_IMAGE_RGB)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: channels %d (0 = as the "
                         "first image, 1 = gray, 3 = RGB)", (int)p->channels);
    if (p->height < 0 || p->width < 0 || (p->height == 0) != (p->width == 0) ||
        p->height > ZY_IMAGE_MAX_DIM || p->width > ZY_IMAGE_MAX_DIM)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: size %dx%d (both 0, or "
                         "both in 1..%d)", p->width, p->height, ZY_IMAGE_MAX_DIM);
    if ((unsigned)p->format > ZY_TASK_FORMAT_JSONL)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: format %d (a manifest is "
                         "csv, tsv or jsonl)", (int)p->format);
    if (!p->image_column || !*p->image_column || !p->label_column || !*p->label_column)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: the image and label column "
                         "names must be set");
    return ZY_STATUS_OK;
}

zy_status zy__image_set_new(zy_image_set **out, const char *path,
                            const zy_image_set_params *p, const zy_label_set *labels,
                            size_t cap) {
    *out = NULL;
    zy_status st = zy__image_set_check_params(p);
    if (st) return st;
    zy_image_set *s = zy_calloc(1, sizeof *s);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    s->p = *p;
    s->cap = cap;
    s->labels_given = labels != NULL;
    if (!(s->path = zy__strdup(path)) ||
        (st = labels ? zy__label_set_copy(&s->label_set, labels)
                     : zy__label_set_new(&s->label_set))) {
        zy_image_set_free(s);
        return st ? st : zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    }
    *out = s;
    return ZY_STATUS_OK;
}

void zy_image_set_free(zy_image_set *s) {
    if (!s) return;
    for (size_t i = 0; s->files && i < s->n; i++) zy_free(s->files[i]);
    zy_free(s->files);
    zy_free(s->pixels);
    zy_free(s->labels);
    zy_free(s->lines);
    zy_free(s->path);
    zy_free(s->first);
    zy_label_set_free(s->label_set);
    zy_free(s);
}

zy_status zy__image_set_row_error(zy_image_set *s, zy_status st) {
    if (!st || !s->p.skip_bad_rows || st == ZY_STATUS_OUT_OF_MEMORY ||
        st == ZY_STATUS_INVALID_ARGUMENT)
        return st;
    return zy__read_row_error(&s->report, true, ZY_STATUS_BAD_FORMAT);
}

// The size and channels are known: room for cap images (files: with_files).
static zy_status reserve(zy_image_set *s, int C, int H, int W, bool with_files) {
    s->C = C, s->H = H, s->W = W;
    size_t img = (size_t)C * (size_t)H * (size_t)W, bytes;
    if (!zy__mul_size(img, s->cap, &bytes) || zy__exceeds_memory(bytes))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: %llu images of %dx%dx%d need %.1f "
                         "GiB, more than this machine's memory", s->path, (ull)s->cap, C, H,
                         W, ZY_GIB((double)img * (double)s->cap));
    size_t m = ZY_MAX(s->cap, (size_t)1);
    if (!(s->pixels = zy_alloc(ZY_MAX(bytes, (size_t)1))) ||
        !(s->labels = zy_alloc(m * sizeof *s->labels)) ||
        !(s->lines = zy_alloc(m * sizeof *s->lines)) ||
        (with_files && !(s->files = zy_calloc(m, sizeof *s->files))))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for %llu images of "
                         "%dx%dx%d", s->path, (ull)s->cap, C, H, W);
    return ZY_STATUS_OK;
}

// An image's error, its message put after `where` (a manifest's "FILE:LINE: ").
static zy_status image_error(const char *where, zy_status st) {
    if (!*where) return st;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", zy_last_error());
    return zy__error(st, "%s%s", where, msg);
}

// An image of w x h in a set of W x H (the first image's, or the size asked for).
static zy_status size_error(const zy_image_set *s, const char *where, const char *file,
                            unsigned long w, unsigned long h, int W, int H) {
    if (!s->first)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s%s: an image of %lux%lu pixels, but %dx%d "
                         "were asked for", where, file, w, h, W, H);
    return zy__error(ZY_STATUS_BAD_FORMAT, "%s%s: an image of %lux%lu pixels, but the set's "
                     "are %dx%d (%s)", where, file, w, h, W, H, s->first);
}

// Image `file` (its bytes data[0..n) when data is not NULL, else read from the file) into
// the set: zy__image_set_add_file's rules.
static zy_status add_image(zy_image_set *s, const char *file, const void *data, size_t n,
                           uint64_t line, const char *where, int label) {
    ZY_ASSERT(s->n < s->cap);
    zy_image img;
    zy_image_channels want = s->C ? (zy_image_channels)s->C : s->p.channels;
    int H = s->H ? s->H : s->p.height, W = s->W ? s->W : s->p.width;
    uint32_t pw, ph;
    // A PNG of another size is refused before it is inflated (a few bytes of one can
    // claim a large image: a server's upload should not cost more than the size it wants).
    if (data && H && zy__image_png_size(data, n, &pw, &ph) &&
        (pw != (uint32_t)W || ph != (uint32_t)H))
        return zy__image_set_row_error(s, size_error(s, where, file, pw, ph, W, H));
    zy_status st = data ? zy_image_read_memory(&img, data, n, file, want)
                        : zy_image_read(&img, file, want);
    if (st) return zy__image_set_row_error(s, image_error(where, st));
    if (!s->C && img.channels != 1 && img.channels != 3) { // NATIVE: gray or RGB by it
        int c = img.channels <= 2 ? 1 : 3;
        if ((st = zy__image_finish(&img, img.data, img.width, img.height, img.channels,
                                   (zy_image_channels)c, file)))
            return st;
    }
    if (H && (img.height != H || img.width != W)) {
        st = size_error(s, where, file, (unsigned long)img.width, (unsigned long)img.height,
                        W, H);
        zy_image_destroy(&img);
        return zy__image_set_row_error(s, st);
    }
    if (!s->C) {
        if (!(s->first = zy__strdup(file)) ||
            (st = reserve(s, img.channels, img.height, img.width, true))) {
            zy_image_destroy(&img);
            return st ? st : ZY_STATUS_OUT_OF_MEMORY;
        }
    }
    if (!(s->files[s->n] = zy__strdup(file))) {
        zy_image_destroy(&img);
        return ZY_STATUS_OUT_OF_MEMORY;
    }
    size_t sz = (size_t)s->C * (size_t)s->H * (size_t)s->W;
    memcpy(s->pixels + s->n * sz, img.data, sz);
    zy_image_destroy(&img);
    s->labels[s->n] = label;
    s->lines[s->n] = line;
    s->n++;
    return ZY_STATUS_OK;
}

zy_status zy__image_set_add_file(zy_image_set *s, const char *file, uint64_t line,
                                 const char *where, int label) {
    return add_image(s, file, NULL, 0, line, where, label);
}

zy_status zy__image_set_finish(zy_image_set *s) {
    if (s->n == 0) {
        if (s->report.n_skipped)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: no image: all %llu were bad; the "
                             "first: %s", s->path, (ull)s->report.n_skipped,
                             s->report.reasons[0]);
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: no image", s->path);
    }
    s->labelled = true;
    for (size_t i = 0; i < s->n; i++) s->labelled = s->labelled && s->labels[i] >= 0;
    s->report.n_examples = s->n;
    uint64_t h = zy_hash64(0x5a59494d47534554ull, s->n); // "ZYIMGSET"
    uint64_t dims[3] = {(uint64_t)s->C, (uint64_t)s->H, (uint64_t)s->W};
    h = zy_hash64(h, zy_hash_bytes(dims, sizeof dims));
    h = zy_hash64(h, zy_hash_bytes(s->pixels, s->n * (size_t)s->C * (size_t)s->H * (size_t)s->W));
    h = zy_hash64(h, zy_hash_bytes(s->labels, s->n * sizeof *s->labels));
    for (int k = 0; k < zy_label_set_count(s->label_set); k++) {
        const char *name = zy_label_set_name(s->label_set, k);
        h = zy_hash64(h, zy_hash_bytes(name, strlen(name) + 1));
    }
    s->fingerprint = h;
    s->p.image_column = s->p.label_column = NULL;
    return ZY_STATUS_OK;
}

// ---- IDX pairs ---------------------------------------------------------------------------
static zy_status idx_labels(zy_image_set *s, const zy_idx *l) {
    if (s->labels_given) return ZY_STATUS_OK;
    int top = -1;
    for (size_t i = 0; i < l->count; i++) top = ZY_MAX(top, (int)l->data[i]);
    for (int v = 0; v <= top; v++) {
        char name[8];
        int id;
        snprintf(name, sizeof name, "%d", v);
        zy_status st = zy__label_set_intern(s->label_set, name, strlen(name), true, &id);
        if (st) return st;
    }
    return ZY_STATUS_OK;
}

zy_status zy_image_set_read_idx(zy_image_set **out, const char *images_path,
                                const char *labels_path, const zy_image_set_params *p,
                                const zy_label_set *labels) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: nowhere to put it");
    *out = NULL;
    if (!p || !images_path || (!labels_path && p->require_labels))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: no parameters, images "
                         "file or labels file (needed unless labels are not required)");
    zy_idx xi = {0}, xl = {0};
    zy_image_set *s = NULL;
    zy_status st = zy__image_set_check_params(p);
    if (st || (st = zy_idx_read(&xi, images_path))) return st;
    if (xi.ndim != 3) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: an IDX file of %d dimensions, not images "
                       "(count, rows, columns: 0x00000803)", images_path, xi.ndim);
        goto done;
    }
    size_t n = xi.dims[0];
    int H = (int)ZY_MIN(xi.dims[1], (uint32_t)ZY_IMAGE_MAX_DIM + 1);
    int W = (int)ZY_MIN(xi.dims[2], (uint32_t)ZY_IMAGE_MAX_DIM + 1);
    if ((st = zy__image_check_dims(images_path, (uint64_t)W, (uint64_t)H, 1))) goto done;
    if (labels_path) {
        if ((st = zy_idx_read(&xl, labels_path))) goto done;
        if (xl.ndim != 1 || xl.dims[0] != n) {
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: %s labels, but %s holds %llu images",
                           labels_path, xl.ndim != 1 ? "not an IDX file of" : "another count "
                           "of", images_path, (ull)n);
            goto done;
        }
    }
    if (p->height && (p->height != H || p->width != W)) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: images of %dx%d pixels, but %dx%d were "
                       "asked for", images_path, W, H, p->width, p->height);
        goto done;
    }
    if ((st = zy__image_set_new(&s, images_path, p, labels, n)) ||
        (st = reserve(s, p->channels == ZY_IMAGE_RGB ? 3 : 1, H, W, false)))
        goto done;
    if (labels_path && (st = idx_labels(s, &xl))) goto done;
    s->first = zy__strdup(images_path);
    int n_names = zy_label_set_count(s->label_set);
    size_t hw = (size_t)H * (size_t)W;
    for (size_t i = 0; i < n; i++) {
        int label = labels_path ? xl.data[i] : -1;
        if (label >= n_names) {
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: image %llu: label %d is not one of the "
                           "%d labels", labels_path, (ull)i, label, n_names);
            if ((st = zy__image_set_row_error(s, st))) goto done;
            continue;
        }
        const uint8_t *src = xi.data + i * hw;
        uint8_t *dst = s->pixels + s->n * hw * (size_t)s->C;
        if (s->C == 1) memcpy(dst, src, hw);
        else
            for (size_t k = 0; k < hw; k++) dst[3 * k] = dst[3 * k + 1] = dst[3 * k + 2] = src[k];
        s->labels[s->n] = label;
        s->lines[s->n] = i;
        s->n++;
    }
    st = zy__image_set_finish(s);
done:
    zy_idx_destroy(&xi);
    zy_idx_destroy(&xl);
    if (st) zy_image_set_free(s);
    else *out = s;
    return st;
}

// ---- images in memory ----------------------------------------------------------------------
zy_status zy_image_set_read_memory(zy_image_set **out, const char *path,
                                   const void *const *data, const size_t *sizes,
                                   const char *const *names, size_t n,
                                   const zy_image_set_params *p, const zy_label_set *labels) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: nowhere to put it");
    *out = NULL;
    if (!path || !p || (n && (!data || !sizes || !names)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: no path, parameters or "
                         "images");
    zy_image_set *s;
    zy_status st = zy__image_set_new(&s, path, p, labels, n);
    if (st) return st;
    for (size_t i = 0; i < n && !st; i++)
        if (!data[i] || !names[i])
            st = zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: image %llu has no bytes or name",
                           path, (ull)i);
        else
            st = add_image(s, names[i], data[i], sizes[i], 0, "", -1);
    if (!st) st = zy__image_set_finish(s);
    if (st) zy_image_set_free(s);
    else *out = s;
    return st;
}

// ---- by path -----------------------------------------------------------------------------
zy_status zy_image_set_read(zy_image_set **out, const char *path,
                            const zy_image_set_params *p, const zy_label_set *labels) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: nowhere to put it");
    *out = NULL;
    if (!path || !p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: no path");
    zy_status ps = zy__image_set_check_params(p);
    if (ps) return ps;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return zy_image_set_read_folder(out, path, p, labels);
    if (p->format != ZY_TASK_FORMAT_AUTO || zy__ends_with(path, ".csv") ||
        zy__ends_with(path, ".tsv") || zy__ends_with(path, ".tab") ||
        zy__ends_with(path, ".jsonl") || zy__ends_with(path, ".json") ||
        zy__ends_with(path, ".ndjson"))
        return zy_image_set_read_manifest(out, path, p, labels);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *at = strstr(base, "images-idx3");
    if (!at)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: neither a directory, a manifest (.csv, "
                         ".tsv, .jsonl) nor an IDX images file (*images-idx3*)", path);
    size_t len = strlen(path), k = (size_t)(at - path);
    char *lab = zy_alloc(len + 1);
    if (!lab) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    memcpy(lab, path, len + 1);
    memcpy(lab + k, "labels-idx1", 11);
    struct stat ls;
    bool have = stat(lab, &ls) == 0;
    zy_status s = zy_image_set_read_idx(out, path, have || p->require_labels ? lab : NULL, p,
                                        labels);
    zy_free(lab);
    return s;
}

// ---- accessors -----------------------------------------------------------------------------
size_t zy_image_set_count(const zy_image_set *s) { return s ? s->n : 0; }

zy_image_item zy_image_set_item(const zy_image_set *s, size_t i) {
    ZY_ASSERT(s && i < s->n);
    size_t sz = (size_t)s->C * (size_t)s->H * (size_t)s->W;
    return (zy_image_item){
        .image = {.data = s->pixels + i * sz, .width = s->W, .height = s->H, .channels = s->C},
        .label = s->labels[i],
        .file = s->files ? s->files[i] : s->path,
        .line = s->lines[i],
    };
}

void zy_image_set_size(const zy_image_set *s, int *channels, int *height, int *width) {
    if (channels) *channels = s->C;
    if (height) *height = s->H;
    if (width) *width = s->W;
}

const zy_label_set *zy_image_set_labels(const zy_image_set *s) { return s->label_set; }
bool zy_image_set_labelled(const zy_image_set *s) { return s->labelled; }
const zy_task_read_report *zy_image_set_report(const zy_image_set *s) { return &s->report; }
uint64_t zy_image_set_fingerprint(const zy_image_set *s) { return s->fingerprint; }
