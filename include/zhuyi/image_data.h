// zhuyi image-classification data: a set of images of one size with a label each, read
// from an IDX pair (MNIST, Fashion-MNIST), a manifest (CSV/TSV with a header, or JSON
// lines, naming image files and their labels) or an ImageFolder directory
// (DIR/<label>/<image files>), and a data source over such a set (normalised pixels,
// seeded augmentation for training: random crop with padding, horizontal flip).
// docs/FORMATS.md ("Image classification data") states the layouts. Not here: decoding
// (image.h), the model (src/models/vit*.c), the CLI.
//
// A header of its own rather than more of task.h: task.h is text fine-tuning (files of
// texts, a tokenizer, features); this reuses its label sets (zy_label_set: names sorted
// bytewise when built from the data, the caller's order when given) and its read report,
// and its CSV/JSONL readers under the manifest.
//
// What a program does, in order:
//   train:    zy_image_set_read(train, params, NULL)          -> labels built from it
//             zy_image_set_read(val, params with the train set's size, its labels)
//             zy_image_source_create(train set, shuffle, augmentation) / (val, one_pass)
//             the label set's names -> config.json id2label
//   evaluate: zy_label_set_create(id2label) -> read(file, labels) -> one-pass source;
//             batch j of the one-pass source holds images [j·B, j·B + B)
#ifndef ZHUYI_IMAGE_DATA_H
#define ZHUYI_IMAGE_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "data.h"
#include "image.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- image sets -------------------------------------------------------------------------
typedef struct zy_image_set zy_image_set;

typedef struct zy_image_set_params {
    // The channels every image is converted to (image.h's rules): ZY_IMAGE_GRAY or
    // ZY_IMAGE_RGB; ZY_IMAGE_NATIVE: gray if the first image read is gray (with or without
    // alpha), else RGB.
    zy_image_channels channels;
    int height, width;        // every image's size; 0, 0: the first image's
    zy_task_format format;    // manifests: AUTO (from the name: .csv, .tsv/.tab,
                              // .jsonl/.json/.ndjson), CSV, TSV or JSONL
    const char *image_column, *label_column; // manifest columns / JSON keys ("image",
                              // "label")
    bool require_labels;      // every image needs a label (true); false: a manifest may
                              // lack them (predict), an IDX set its labels file
    bool skip_bad_rows;       // count bad images and rows (zy_image_set_report) instead of
                              // failing: unreadable or corrupt images, another size, an
                              // unknown label, a bad manifest row
} zy_image_set_params;

// NATIVE, 0 x 0, AUTO, "image", "label", require_labels true, skip_bad_rows false.
zy_image_set_params zy_image_set_default_params(void);

// labels (every reader): NULL builds the label set from the data; otherwise the data is
// read against it (copied), so validation and test data get the training set's ids, and
// a label outside it is an error naming the file (and line, or index).
//
// Errors name the file (a manifest's rows: file and line): an unreadable file
// (ZY_STATUS_IO), a corrupt image (BAD_FORMAT, UNSUPPORTED: the reader's message), an
// image of another size than the set's (BAD_FORMAT naming both sizes and the file that set
// it), an unknown label, no image (BAD_FORMAT). Sizes are checked before the pixels are
// allocated (count x C x H x W against the machine's memory).

// An IDX pair: images 0x803 (count, rows, cols) and labels 0x801 (count), plain or gzip
// (image.h); labels_path NULL when labels are not required. Label names: "0", "1", ...,
// up to the largest label in the file, label v being id v; with a given set, v must be
// below its count (an error naming the file and the image's index otherwise).
zy_status zy_image_set_read_idx(zy_image_set **out, const char *images_path,
                                const char *labels_path, const zy_image_set_params *p,
                                const zy_label_set *labels);
// A manifest (read as task.h's classification files are, with image_column as the text):
// one image per row, its path relative to the manifest's directory (absolute paths as
// they are). Rows keep the file's order; labels built from it are sorted bytewise.
zy_status zy_image_set_read_manifest(zy_image_set **out, const char *path,
                                     const zy_image_set_params *p,
                                     const zy_label_set *labels);
// An ImageFolder directory (torchvision's): every subdirectory DIR/<label>/ (not starting
// with '.') is a label, the files in it (not starting with '.') ending in .png, .pgm or
// .ppm (any case) its images; other files and deeper directories are passed over. Labels
// sorted bytewise (with a given set, every subdirectory must be one of its labels), images
// in label order, then by file name (bytewise).
zy_status zy_image_set_read_folder(zy_image_set **out, const char *dir,
                                   const zy_image_set_params *p, const zy_label_set *labels);
// Images in memory (a server's uploads): data[i] (sizes[i] bytes) is a PNG, PGM or PPM
// file's bytes (image.h's zy_image_read_memory), names[i] what messages (and the item's
// file) call it; path names the whole set in messages. Unlabelled (label -1), in the given
// order (p->require_labels does not apply); the first image sets the size unless
// p->height/width do.
zy_status zy_image_set_read_memory(zy_image_set **out, const char *path,
                                   const void *const *data, const size_t *sizes,
                                   const char *const *names, size_t n,
                                   const zy_image_set_params *p, const zy_label_set *labels);
// By what path is: a directory -> folder; a name ending .csv, .tsv, .tab, .jsonl, .json,
// .ndjson (or p->format set) -> manifest; a name holding "images-idx3" -> IDX, the labels
// file the same name with "labels-idx1" there (Fashion-MNIST's names); else
// ZY_STATUS_UNSUPPORTED.
zy_status zy_image_set_read(zy_image_set **out, const char *path,
                            const zy_image_set_params *p, const zy_label_set *labels);
void zy_image_set_free(zy_image_set *s);

// One image of a set: views valid while the set lives (do not destroy or change them).
typedef struct zy_image_item {
    zy_image image;    // (height, width, channels) pixels (image.h's layout)
    int label;         // its id; -1 when unlabelled
    const char *file;  // the image's file (IDX: the images file)
    uint64_t line;     // manifest: its 1-based line; IDX: its index; folder: 0
} zy_image_item;

size_t zy_image_set_count(const zy_image_set *s);
zy_image_item zy_image_set_item(const zy_image_set *s, size_t i); // i < count
void zy_image_set_size(const zy_image_set *s, int *channels, int *height, int *width);
const zy_label_set *zy_image_set_labels(const zy_image_set *s); // owned by the set
bool zy_image_set_labelled(const zy_image_set *s); // every image has a label
const zy_task_read_report *zy_image_set_report(const zy_image_set *s);
// A hash of the size, pixels, labels and label names (not of file names).
uint64_t zy_image_set_fingerprint(const zy_image_set *s);

// ---- the data source ------------------------------------------------------------------------
// Batches of B images: pixels (B, C, H, W), T = 1 (input_ids 0, unused), and labels (B)
// when the set is labelled. Order, epochs, shards and positions are the fine-tuning
// sources' (task.h without buckets): epoch e visits the floor(n / R) * R first images of a
// Fisher-Yates permutation from zy_hash64(seed ^ ZY_IMAGE_ORDER_SALT, e) (shuffle) or in
// order, R = world x B per global batch, rank r taking rows [rB, rB + B) of each; the
// position is (epoch, images taken in it). One pass: every image once in order, the last
// batch short, then batches of 0 rows.
//
// Pixels: out[c][y][x] = (v/255 - mean[c]) / std[c] of the image's byte v (image.h's
// zy_image_to_chw). Augmentation (training only): image i in epoch e draws from a zy_rng
// seeded with zy_hash64(zy_hash64(seed ^ ZY_IMAGE_AUG_SALT, e), i), in this order: with
// crop_padding p > 0, dy = zy_rng_below(2p + 1) then dx = zy_rng_below(2p + 1); with flip,
// f = zy_rng_below(2) (1: flipped). Then
//   out[c][y][x] = in[c][y + dy - p][x' + dx - p],  x' = W - 1 - x if f else x,
// a position outside the image reading the value of a black pixel, (0 - mean[c]) / std[c]:
// torchvision's RandomCrop(size, padding=p) (zero padding of the 8-bit image, before
// ToTensor and Normalize) followed by RandomHorizontalFlip(0.5). An image's augmentation
// is a function of (seed, epoch, index) only, so seek, resume and shards see the same.
#define ZY_IMAGE_ORDER_SALT 0x5a59494d474f5244ull // "ZYIMGORD"
#define ZY_IMAGE_AUG_SALT 0x5a59494d47415547ull   // "ZYIMGAUG"

typedef struct zy_image_source_params {
    int batch;          // B rows per rank
    uint64_t seed;
    bool shuffle;
    bool one_pass;      // evaluation (needs shuffle and augmentation off)
    float mean[3], std[3]; // per channel (the first C used); every std > 0
    int crop_padding;   // p: random crop of the image padded by p pixels on each side
                        // (0: none; at most the image's smaller side)
    bool flip;          // random horizontal flip, probability 1/2
    bool omit_labels;   // no labels field even when the set has labels
} zy_image_source_params;

// batch 8, seed 12345, shuffle, mean 0.5 and std 0.5 (Hugging Face's ViTImageProcessor),
// no augmentation.
zy_image_source_params zy_image_source_default_params(void);

// The source borrows s (keep it until the source is freed). n_items = images; the
// fingerprint hashes the set's and every parameter that changes the batches' content or
// order (not batch or one_pass). Errors: bad params, fewer images than a global batch
// (training).
zy_status zy_image_source_create(zy_data_source **out, const zy_image_set *s,
                                 const zy_image_source_params *p);

#ifdef __cplusplus
}
#endif
#endif
