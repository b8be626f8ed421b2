// Shared by the image-set files (image_data.h): image_set.c (the set, its builder, IDX
// pairs, dispatch by path), image_set_files.c (manifests and ImageFolder directories) and
// image_source.c (batches). Private to src/data.
#ifndef ZHUYI_DATA_IMAGE_SET_INTERNAL_H
#define ZHUYI_DATA_IMAGE_SET_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "zhuyi/image_data.h"

struct zy_image_set {
    int C, H, W;              // 0 until the first image sets them
    size_t n, cap;            // images kept; room reserved (the most a read can keep)
    uint8_t *pixels;          // (cap, H, W, C)
    int32_t *labels;          // (cap) ids, -1 unlabelled
    char **files;             // (cap) each image's file, or NULL for IDX (then path)
    uint64_t *lines;          // (cap)
    char *path;               // what was read, for messages (a copy)
    char *first;              // the file of the first image, which set the size
    zy_label_set *label_set;
    bool labels_given, labelled;
    zy_image_set_params p;    // the caller's (strings borrowed during the read only)
    zy_task_read_report report;
    uint64_t fingerprint;
};

// The parameters' ranges (INVALID_ARGUMENT naming what is wrong).
zy_status zy__image_set_check_params(const zy_image_set_params *p);
// A new empty set for reading `path` (labels copied, or a new set to fill); cap images at
// most (no pixels allocated until the first image).
zy_status zy__image_set_new(zy_image_set **out, const char *path,
                            const zy_image_set_params *p, const zy_label_set *labels,
                            size_t cap);
// Read image file `file` (line: its manifest line, 0 otherwise; where: "MANIFEST:LINE: "
// or "" put before its errors) with label id `label` (-1 none) and append it. The first
// image fixes the channels (p->channels NATIVE: gray or RGB by its own) and, unless
// p->height/width are set, the size; the pixels of cap images are then allocated (after
// the memory check). Errors of this image go through zy__image_set_row_error.
zy_status zy__image_set_add_file(zy_image_set *s, const char *file, uint64_t line,
                                 const char *where, int label);
// An error st of one image or row: with skip_bad_rows, anything but running out of memory
// or a bad argument is recorded in the report and skipped (ZY_STATUS_OK); otherwise st.
zy_status zy__image_set_row_error(zy_image_set *s, zy_status st);
// After the last image: "no image" refused, labelled and the fingerprint set.
zy_status zy__image_set_finish(zy_image_set *s);

#endif
