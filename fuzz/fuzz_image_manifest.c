// libFuzzer harness: image-classification manifests (src/data/image_set_files.c through
// the fine-tuning CSV/JSONL readers, image_set.c), then the image source over the set.
//
// The scratch directory holds a.pgm (3x2 gray), b.ppm (3x2 RGB), c.pgm (4x2 gray: another
// size) and d.pgm (a truncated PGM); the manifest names them (or anything else).
// Input: 1 control byte, then the manifest.
//   [0] bits 0-1 format (0 CSV, 1 TSV, 2 JSONL, 3 CSV), bit 2 skip_bad_rows, bit 3 labels
//       not required, bits 4-5 channels (0 native, 1 gray, 2 RGB, 3 native), bit 6 read
//       against the label set {"0", "1", "cat"}, bit 7 crop and flip in training
// Inputs holding '/' are passed over: paths stay inside the scratch directory.
// Properties:
//  - a failed read names the manifest, and the line of a row's error within the text;
//  - a read gives 1..lines images of one size with the channels asked, lines in range and
//    not descending, each image's pixels those of its file read alone, labels in range
//    (sorted names when built), -1 only when labels are not required, the report's count;
//  - a one-pass source yields every image once; a training source yields full batches.
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *setup(void) {
    static const char *dir;
    if (dir) return dir;
    static const unsigned char a[] = "P5 3 2 255\n\x00\x10\x20\x30\x40\xff";
    static const unsigned char b[] = "P6 3 2 255\n\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
                                     "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12";
    static const unsigned char c[] = "P5 4 2 255\n\x01\x02\x03\x04\x05\x06\x07\x08";
    static const unsigned char d[] = "P5 4 2 255\n\x01\x02";
    fz_write("a.pgm", a, sizeof a - 1);
    fz_write("b.ppm", b, sizeof b - 1);
    fz_write("c.pgm", c, sizeof c - 1);
    fz_write("d.pgm", d, sizeof d - 1);
    const char *any = fz_path("a.pgm");
    static char buf[512];
    size_t n = strlen(any) - strlen("a.pgm");
    memcpy(buf, any, n);
    buf[n] = 0;
    dir = buf;
    return dir;
}

static void check_source(const zy_image_set *s, bool augment) {
    size_t n = zy_image_set_count(s);
    zy_image_source_params p = zy_image_source_default_params();
    p.batch = 3, p.shuffle = false, p.one_pass = true;
    zy_data_source *src = NULL;
    FZ_CHECKF(zy_image_source_create(&src, s, &p) == 0, "one-pass source: %s", zy_last_error());
    zy_batch b;
    FZ_CHECK(zy_batch_init(&b, &zy_data_source_get_info(src)->dims) == 0);
    size_t seen = 0;
    for (;;) {
        FZ_CHECK(zy_data_source_next(src, &b) == 0);
        if (!b.B) break;
        seen += (size_t)b.B;
        for (int r = 0; b.labels && r < b.B; r++)
            FZ_CHECK(b.labels[r] == zy_image_set_item(s, seen - (size_t)b.B + r).label);
    }
    FZ_CHECK(seen == n);
    zy_data_source_free(src);
    p = zy_image_source_default_params();
    p.batch = 1, p.crop_padding = augment ? 1 : 0, p.flip = augment;
    FZ_CHECKF(zy_image_source_create(&src, s, &p) == 0, "training source: %s", zy_last_error());
    for (int j = 0; j < 3; j++) FZ_CHECK(zy_data_source_next(src, &b) == 0 && b.B == 1);
    zy_data_source_free(src);
    zy_batch_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned c = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (memchr(text, '/', len)) return 0;
    setup();
    static const char *const files[] = {"m.csv", "m.tsv", "m.jsonl", "m.csv"};
    const char *path = fz_write(files[c & 3], text, len);
    zy_image_set_params p = zy_image_set_default_params();
    p.skip_bad_rows = c & 4;
    p.require_labels = !(c & 8);
    static const zy_image_channels ch[] = {ZY_IMAGE_NATIVE, ZY_IMAGE_GRAY, ZY_IMAGE_RGB,
                                           ZY_IMAGE_NATIVE};
    p.channels = ch[(c >> 4) & 3];
    zy_label_set *given = NULL;
    if (c & 64) {
        const char *names[] = {"0", "1", "cat"};
        FZ_CHECK(zy_label_set_create(&given, names, 3) == 0);
    }
    zy_image_set *s = NULL;
    zy_status st = zy_image_set_read_manifest(&s, path, &p, given);
    if (st) {
        static const char *const words[] = {"empty", "no example", "no image", "no header",
                                            "column", "quoted", "out of memory"};
        FZ_CHECK(s == NULL);
        fz_check_read_message(path, text, len, words, 7);
        zy_label_set_free(given);
        return 0;
    }
    size_t n = zy_image_set_count(s), lines = fz_lines(text, len);
    int C, H, W;
    zy_image_set_size(s, &C, &H, &W);
    FZ_CHECK(n >= 1 && n <= lines && zy_image_set_report(s)->n_examples == n);
    FZ_CHECK(p.channels == ZY_IMAGE_NATIVE ? (C == 1 || C == 3) : C == (int)p.channels);
    const zy_label_set *L = zy_image_set_labels(s);
    int K = zy_label_set_count(L);
    FZ_CHECK(!given || K == 3);
    for (int k = 1; !given && k < K; k++)
        FZ_CHECK(strcmp(zy_label_set_name(L, k - 1), zy_label_set_name(L, k)) < 0);
    uint64_t last = 1;
    for (size_t i = 0; i < n; i++) {
        zy_image_item it = zy_image_set_item(s, i);
        // Not strictly: a CSV row ending at a lone '\r' lets another start on its line.
        FZ_CHECK(it.line >= 1 && it.line >= last && it.line <= lines);
        last = it.line;
        FZ_CHECK(it.label < K && (it.label >= 0 || !p.require_labels));
        FZ_CHECK(it.image.channels == C && it.image.height == H && it.image.width == W);
        zy_image alone;
        FZ_CHECKF(zy_image_read(&alone, it.file, (zy_image_channels)C) == 0, "%s: %s", it.file,
                  zy_last_error());
        FZ_CHECK(alone.height == H && alone.width == W &&
                 !memcmp(alone.data, it.image.data, (size_t)C * H * W));
        zy_image_destroy(&alone);
    }
    check_source(s, c & 128);
    zy_image_set_free(s);
    zy_label_set_free(given);
    return 0;
}
