// Image sets (include/zhuyi/image_data.h): the three readers on files made here (IDX
// pairs plain and gzip, CSV/TSV/JSONL manifests, ImageFolder directories of PNG, PGM and
// PPM), labels built and given, channel conversion, and the errors (another size, a
// missing file, an unknown label, no image, bad manifest rows) with skip_bad_rows.
// The data source over a set: test_image_data_source.c.
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image_data_util.h"

// Item i of s holds test image `img` (zt_pix), converted to c channels.
static bool same_pixels(const zy_image_set *s, size_t i, int img, int c_file) {
    zy_image_item it = zy_image_set_item(s, i);
    const zy_image *m = &it.image;
    for (int y = 0; y < m->height; y++)
        for (int x = 0; x < m->width; x++)
            for (int c = 0; c < m->channels; c++) {
                uint8_t want = zt_pix(img, y, x, c_file == 1 ? 0 : c);
                if (m->channels == 1 && c_file == 3) { // Pillow's luma (image.h)
                    unsigned r = zt_pix(img, y, x, 0), g = zt_pix(img, y, x, 1),
                             b = zt_pix(img, y, x, 2);
                    want = (uint8_t)((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
                }
                uint8_t got = m->data[((size_t)y * m->width + x) * m->channels + c];
                if (got != want) {
                    zt_fail(__FILE__, __LINE__, "item %zu (image %d) (%d,%d,%d): %u, want %u",
                            i, img, y, x, c, got, want);
                    return false;
                }
            }
    return true;
}

static const char *name(const zy_image_set *s, int id) {
    return zy_label_set_name(zy_image_set_labels(s), id);
}

TEST(image_set_idx_pair) {
    ASSERT(zt_scratch());
    const uint8_t labels[5] = {3, 0, 7, 3, 1};
    ASSERT(zt_write_idx("a-images-idx3-ubyte", "a-labels-idx1-ubyte", 5, 4, 6, labels, false));
    ASSERT(zt_write_idx("b-images-idx3-ubyte.gz", "b-labels-idx1-ubyte.gz", 5, 4, 6, labels,
                        true));
    char a[512], b[512], bl[512];
    zy_image_set_params p = zy_image_set_default_params();
    zy_image_set *s = NULL, *g = NULL, *rgb = NULL;
    // The labels file found from the images file's name (Fashion-MNIST's names).
    ASSERT(zy_image_set_read(&s, zt_at(a, sizeof a, "a-images-idx3-ubyte"), &p, NULL) == 0);
    ASSERT(zy_image_set_read(&g, zt_at(b, sizeof b, "b-images-idx3-ubyte.gz"), &p, NULL) == 0);
    int C, H, W;
    zy_image_set_size(s, &C, &H, &W);
    ASSERT_EQ_INT(zy_image_set_count(s), 5);
    CHECK(C == 1 && H == 4 && W == 6);
    ASSERT_EQ_INT(zy_label_set_count(zy_image_set_labels(s)), 8); // "0".."7"
    CHECK(!strcmp(name(s, 7), "7") && !strcmp(name(s, 0), "0"));
    CHECK(zy_image_set_labelled(s));
    for (size_t i = 0; i < 5; i++) {
        zy_image_item it = zy_image_set_item(s, i);
        CHECK(it.label == labels[i] && it.line == i && !strcmp(it.file, a));
        CHECK(same_pixels(s, i, (int)i, 1) && same_pixels(g, i, (int)i, 1));
    }
    CHECK(zy_image_set_fingerprint(s) == zy_image_set_fingerprint(g));
    // RGB asked: gray repeated; a given label set keeps its names.
    const char *names[] = {"t-shirt", "trouser", "pullover", "dress", "coat", "sandal",
                           "shirt", "sneaker", "bag", "boot"};
    zy_label_set *L;
    ASSERT(zy_label_set_create(&L, names, 10) == 0);
    p.channels = ZY_IMAGE_RGB;
    ASSERT(zy_image_set_read_idx(&rgb, b, zt_at(bl, sizeof bl, "b-labels-idx1-ubyte.gz"), &p,
                                 L) == 0);
    zy_image_set_size(rgb, &C, NULL, NULL);
    CHECK(C == 3 && !strcmp(name(rgb, zy_image_set_item(rgb, 2).label), "sneaker"));
    for (size_t i = 0; i < 5; i++) CHECK(same_pixels(rgb, i, (int)i, 1));
    CHECK(zy_image_set_fingerprint(rgb) != zy_image_set_fingerprint(s));
    zy_image_set_free(rgb);
    // A label past a given set: an error naming the file and the image's index, or skipped.
    const char *few[] = {"a", "b", "c", "d"};
    zy_label_set *L4;
    ASSERT(zy_label_set_create(&L4, few, 4) == 0);
    p.channels = ZY_IMAGE_NATIVE;
    rgb = NULL;
    CHECK(zt_fails_with(zy_image_set_read_idx(&rgb, b, bl, &p, L4), ZY_STATUS_BAD_FORMAT,
                        (const char *[]){bl, "image 2", "label 7", NULL}));
    CHECK(rgb == NULL);
    p.skip_bad_rows = true;
    ASSERT(zy_image_set_read_idx(&rgb, b, bl, &p, L4) == 0);
    CHECK(zy_image_set_count(rgb) == 4 && zy_image_set_report(rgb)->n_skipped == 1);
    CHECK(zy_image_set_item(rgb, 2).line == 3 && same_pixels(rgb, 2, 3, 1));
    zy_image_set_free(rgb);
    // Counts that differ; a labels file given as images; a size not the one asked for.
    p.skip_bad_rows = false;
    ASSERT(zt_write_idx("c-images", "c-labels", 4, 4, 6, labels, false));
    char c[512], cl[512];
    CHECK(zt_fails_with(zy_image_set_read_idx(&rgb, zt_at(c, sizeof c, "c-images"), bl, &p,
                                              NULL),
                        ZY_STATUS_BAD_FORMAT, (const char *[]){bl, "4 images", NULL}));
    CHECK(zt_fails_with(zy_image_set_read_idx(&rgb, zt_at(cl, sizeof cl, "c-labels"), bl, &p,
                                              NULL),
                        ZY_STATUS_BAD_FORMAT, (const char *[]){cl, "1 dimensions", NULL}));
    p.height = 28, p.width = 28;
    CHECK(zt_fails_with(zy_image_set_read_idx(&rgb, b, bl, &p, NULL), ZY_STATUS_BAD_FORMAT,
                        (const char *[]){b, "6x4", "28x28", NULL}));
    zy_label_set_free(L);
    zy_label_set_free(L4);
    zy_image_set_free(s);
    zy_image_set_free(g);
    zt_scratch_remove();
}

// A scratch directory with img/0.png (gray 5x4), img/1.pgm, img/2.ppm (RGB), img/3.png
// (RGB), all 5 wide and 4 high, and img/big.pgm (6x4).
static bool make_images(void) {
    return zt_mkdir("img") && zt_write_image("img/0.png", 0, 5, 4, 1) &&
           zt_write_image("img/1.pgm", 1, 5, 4, 1) && zt_write_image("img/2.ppm", 2, 5, 4, 3) &&
           zt_write_image("img/3.png", 3, 5, 4, 3) && zt_write_image("img/big.pgm", 4, 6, 4, 1);
}

TEST(image_set_manifests) {
    ASSERT(zt_scratch() && make_images());
    const char *csv = "image,label\nimg/0.png,dog\n\"img/1.pgm\",cat\nimg/2.ppm,dog\n";
    ASSERT(zt_write_bytes("train.csv", csv, strlen(csv), false));
    char path[512], file[512];
    zy_image_set_params p = zy_image_set_default_params();
    zy_image_set *s = NULL;
    ASSERT(zy_image_set_read(&s, zt_at(path, sizeof path, "train.csv"), &p, NULL) == 0);
    int C, H, W;
    zy_image_set_size(s, &C, &H, &W);
    CHECK(C == 1 && H == 4 && W == 5); // NATIVE: gray, the first image's
    ASSERT_EQ_INT(zy_image_set_count(s), 3);
    const zy_label_set *L = zy_image_set_labels(s);
    CHECK(zy_label_set_count(L) == 2 && !strcmp(name(s, 0), "cat")); // sorted
    const int want_label[3] = {1, 0, 1};
    const char *want_file[3] = {"img/0.png", "img/1.pgm", "img/2.ppm"};
    for (size_t i = 0; i < 3; i++) {
        zy_image_item it = zy_image_set_item(s, i);
        CHECK(it.label == want_label[i] && it.line == i + 2);
        CHECK(!strcmp(it.file, zt_at(file, sizeof file, want_file[i])));
        CHECK(same_pixels(s, i, (int)i, i == 2 ? 3 : 1));
    }
    // JSON lines against the training labels, in RGB; TSV with other column names.
    const char *jl = "{\"image\": \"img/3.png\", \"label\": \"cat\"}\n\n"
                     "{\"label\": \"dog\", \"image\": \"img/0.png\"}\n";
    const char *tsv = "path\tclass\nimg/2.ppm\tdog\n";
    ASSERT(zt_write_bytes("val.jsonl", jl, strlen(jl), false));
    ASSERT(zt_write_bytes("more.tsv", tsv, strlen(tsv), false));
    zy_image_set *v = NULL, *t = NULL;
    p.channels = ZY_IMAGE_RGB;
    ASSERT(zy_image_set_read_manifest(&v, zt_at(path, sizeof path, "val.jsonl"), &p, L) == 0);
    zy_image_set_size(v, &C, NULL, NULL);
    CHECK(C == 3 && zy_image_set_count(v) == 2);
    CHECK(zy_image_set_item(v, 0).label == 0 && zy_image_set_item(v, 1).label == 1);
    CHECK(zy_image_set_item(v, 1).line == 3);
    CHECK(same_pixels(v, 0, 3, 3) && same_pixels(v, 1, 0, 1));
    p.image_column = "path", p.label_column = "class";
    ASSERT(zy_image_set_read(&t, zt_at(path, sizeof path, "more.tsv"), &p, L) == 0);
    CHECK(zy_image_set_count(t) == 1 && zy_image_set_item(t, 0).label == 1);
    CHECK(same_pixels(t, 0, 2, 3));
    zy_image_set_free(t);
    // Without labels (predict): a manifest with only the image column.
    const char *bare = "image\nimg/1.pgm\n";
    ASSERT(zt_write_bytes("bare.csv", bare, strlen(bare), false));
    p = zy_image_set_default_params();
    p.require_labels = false;
    t = NULL;
    ASSERT(zy_image_set_read(&t, zt_at(path, sizeof path, "bare.csv"), &p, NULL) == 0);
    CHECK(!zy_image_set_labelled(t) && zy_image_set_item(t, 0).label == -1);
    zy_image_set_free(t);
    zy_image_set_free(v);
    zy_image_set_free(s);
    zt_scratch_remove();
}

TEST(image_set_folder) {
    ASSERT(zt_scratch());
    ASSERT(zt_mkdir("set/dog") && zt_mkdir("set/cat") && zt_mkdir("set/.cache") &&
           zt_mkdir("set/cat/deeper"));
    ASSERT(zt_write_image("set/dog/b.PNG", 0, 3, 2, 3) && zt_write_image("set/dog/a.ppm", 1, 3, 2, 3) &&
           zt_write_image("set/cat/z.pgm", 2, 3, 2, 1) && zt_write_image("set/cat/.x.pgm", 3, 3, 2, 1) &&
           zt_write_image("set/.cache/y.pgm", 3, 3, 2, 1) &&
           zt_write_image("set/cat/deeper/w.pgm", 3, 3, 2, 1));
    ASSERT(zt_write_bytes("set/cat/notes.txt", "x", 1, false));
    char dir[512], file[512];
    zy_image_set_params p = zy_image_set_default_params();
    p.channels = ZY_IMAGE_RGB;
    zy_image_set *s = NULL;
    ASSERT(zy_image_set_read(&s, zt_at(dir, sizeof dir, "set"), &p, NULL) == 0);
    ASSERT_EQ_INT(zy_image_set_count(s), 3);
    CHECK(zy_label_set_count(zy_image_set_labels(s)) == 2);
    CHECK(!strcmp(name(s, 0), "cat") && !strcmp(name(s, 1), "dog"));
    const char *files[3] = {"set/cat/z.pgm", "set/dog/a.ppm", "set/dog/b.PNG"};
    const int imgs[3] = {2, 1, 0}, labels[3] = {0, 1, 1};
    for (size_t i = 0; i < 3; i++) {
        zy_image_item it = zy_image_set_item(s, i);
        CHECK(!strcmp(it.file, zt_at(file, sizeof file, files[i])) && it.label == labels[i]);
        CHECK(same_pixels(s, i, imgs[i], i == 0 ? 1 : 3));
    }
    // Given labels: their ids; a directory that is not one of them is an error naming it.
    const char *names[] = {"dog", "cat", "bird"};
    zy_label_set *L, *L1;
    ASSERT(zy_label_set_create(&L, names, 3) == 0 && zy_label_set_create(&L1, names, 1) == 0);
    zy_image_set *g = NULL;
    ASSERT(zy_image_set_read_folder(&g, dir, &p, L) == 0);
    CHECK(zy_image_set_item(g, 0).label == 1 && zy_image_set_item(g, 2).label == 0);
    CHECK(zy_label_set_count(zy_image_set_labels(g)) == 3);
    zy_image_set_free(g);
    g = NULL;
    CHECK(zt_fails_with(zy_image_set_read_folder(&g, dir, &p, L1), ZY_STATUS_BAD_FORMAT,
                        (const char *[]){"set/cat/z.pgm", "'cat'", NULL}));
    p.skip_bad_rows = true;
    ASSERT(zy_image_set_read_folder(&g, dir, &p, L1) == 0);
    CHECK(zy_image_set_count(g) == 2 && zy_image_set_report(g)->n_skipped == 1);
    zy_image_set_free(g);
    zy_label_set_free(L);
    zy_label_set_free(L1);
    zy_image_set_free(s);
    zt_scratch_remove();
}

// The manifest `text` (written as `file`) must fail with st naming every needle.
static bool manifest_fails(const char *file, const char *text, const zy_image_set_params *p,
                           const zy_label_set *L, zy_status st, const char *const *needles) {
    char path[512];
    if (!zt_write_bytes(file, text, strlen(text), false)) return false;
    zy_image_set *s = NULL;
    bool ok = zt_fails_with(zy_image_set_read(&s, zt_at(path, sizeof path, file), p, L), st,
                            needles);
    if (s) zt_fail(__FILE__, __LINE__, "a set after a failed read");
    zy_image_set_free(s);
    return ok;
}

TEST(image_set_errors) {
    ASSERT(zt_scratch() && make_images());
    zy_image_set_params p = zy_image_set_default_params();
    // Another size: the file, both sizes and the file that set the size.
    CHECK(manifest_fails("size.csv", "image,label\nimg/0.png,a\nimg/big.pgm,b\n", &p, NULL,
                         ZY_STATUS_BAD_FORMAT,
                         (const char *[]){"size.csv:3: ", "img/big.pgm", "6x4", "5x4",
                                          "img/0.png", NULL}));
    // A missing image; a corrupt one; an empty path.
    CHECK(manifest_fails("missing.csv", "image,label\nimg/0.png,a\nimg/nope.png,b\n", &p, NULL,
                         ZY_STATUS_IO, (const char *[]){"missing.csv:3: ", "img/nope.png", NULL}));
    ASSERT(zt_write_bytes("img/bad.png", "\x89PNG\r\n\x1a\nxxxx", 12, false));
    CHECK(manifest_fails("corrupt.jsonl", "{\"image\": \"img/bad.png\", \"label\": 1}\n", &p,
                         NULL, ZY_STATUS_BAD_FORMAT,
                         (const char *[]){"corrupt.jsonl:1: ", "img/bad.png", NULL}));
    CHECK(manifest_fails("empty_path.csv", "image,label\n,a\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                         (const char *[]){"empty_path.csv:2: ", "'image' is empty", NULL}));
    // An unknown label in data read against a set: file and line.
    const char *names[] = {"a", "b"};
    zy_label_set *L;
    ASSERT(zy_label_set_create(&L, names, 2) == 0);
    CHECK(manifest_fails("unknown.csv", "image,label\nimg/0.png,a\nimg/1.pgm,zebra\n", &p, L,
                         ZY_STATUS_BAD_FORMAT,
                         (const char *[]){"unknown.csv:3", "zebra", NULL}));
    // No image: a header only, an empty file, a folder without label directories.
    CHECK(manifest_fails("header.csv", "image,label\n", &p, NULL, ZY_STATUS_BAD_FORMAT,
                         (const char *[]){"header.csv", "no example", NULL}));
    CHECK(manifest_fails("empty.jsonl", "", &p, NULL, ZY_STATUS_BAD_FORMAT,
                         (const char *[]){"empty.jsonl", "empty", NULL}));
    char dir[512];
    zy_image_set *s = NULL;
    ASSERT(zt_mkdir("nothing"));
    CHECK(zt_fails_with(zy_image_set_read(&s, zt_at(dir, sizeof dir, "nothing"), &p, NULL),
                        ZY_STATUS_BAD_FORMAT, (const char *[]){dir, "no label directory", NULL}));
    ASSERT(zt_mkdir("nothing/cls"));
    CHECK(zt_fails_with(zy_image_set_read(&s, dir, &p, NULL), ZY_STATUS_BAD_FORMAT,
                        (const char *[]){"nothing/cls", "no image file", NULL}));
    CHECK(zt_fails_with(zy_image_set_read(&s, zt_at(dir, sizeof dir, "absent"), &p, NULL),
                        ZY_STATUS_UNSUPPORTED, (const char *[]){"absent", NULL}));
    // Bad manifest rows: fields, JSON, a missing column.
    CHECK(manifest_fails("fields.csv", "image,label\nimg/0.png,a,extra\n", &p, NULL,
                         ZY_STATUS_BAD_FORMAT, (const char *[]){"fields.csv:2", "3 fields", NULL}));
    CHECK(manifest_fails("json.jsonl", "{\"image\": \"img/0.png\", \"label\": \"a\"}\n{oops\n",
                         &p, NULL, ZY_STATUS_BAD_FORMAT, (const char *[]){"json.jsonl:2", NULL}));
    CHECK(manifest_fails("column.csv", "file,label\nimg/0.png,a\n", &p, NULL,
                         ZY_STATUS_NOT_FOUND, (const char *[]){"column.csv", "'image'", NULL}));
    // skip_bad_rows: every kind above counted and reported, the good rows kept.
    p.skip_bad_rows = true;
    const char *mixed = "image,label\nimg/0.png,a\nimg/big.pgm,a\nimg/nope.png,b\n"
                        "img/1.pgm,b,x\nimg/bad.png,a\n,a\nimg/1.pgm,zebra\nimg/2.ppm,b\n";
    char path[512];
    ASSERT(zt_write_bytes("mixed.csv", mixed, strlen(mixed), false));
    ASSERT(zy_image_set_read(&s, zt_at(path, sizeof path, "mixed.csv"), &p, L) == 0);
    const zy_task_read_report *r = zy_image_set_report(s);
    CHECK(zy_image_set_count(s) == 2 && r->n_examples == 2 && r->n_skipped == 6);
    CHECK(r->n_reasons == ZY_TASK_REPORT_REASONS && strstr(r->reasons[0], "mixed.csv:5") &&
          strstr(r->reasons[1], "mixed.csv:8") && strstr(r->reasons[2], "mixed.csv:3") &&
          strstr(r->reasons[3], "mixed.csv:4"));
    CHECK(zy_image_set_item(s, 1).line == 9 && same_pixels(s, 1, 2, 3));
    zy_image_set_free(s);
    s = NULL;
    // All bad: still no image, naming the first reason.
    CHECK(manifest_fails("allbad.csv", "image,label\nimg/nope.png,a\n", &p, NULL,
                         ZY_STATUS_BAD_FORMAT, (const char *[]){"no image", "nope.png", NULL}));
    // Bad parameters.
    p = zy_image_set_default_params();
    p.channels = (zy_image_channels)2;
    CHECK(zy_image_set_read(&s, path, &p, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    p = zy_image_set_default_params();
    p.height = 4;
    CHECK(zy_image_set_read(&s, path, &p, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    zy_label_set_free(L);
    zt_scratch_remove();
}

// Files held in memory (a server's uploads): the pixels the same files give read by path,
// converted to the channels asked for, unlabelled, named as given; a corrupt file, one of
// another size (a PNG's refused from its header), or no bytes fail naming the image.
TEST(image_set_memory) {
    ASSERT(zt_scratch());
    ASSERT(zt_write_image("a.png", 0, 4, 3, 3) && zt_write_image("b.pgm", 1, 4, 3, 1) &&
           zt_write_image("c.ppm", 2, 4, 3, 3) && zt_write_image("d.pgm", 3, 5, 3, 1));
    const char *rel[4] = {"a.png", "b.pgm", "c.ppm", "d.pgm"};
    char *buf[4] = {0};
    size_t len[4];
    for (int i = 0; i < 4; i++) {
        char path[512];
        ASSERT(zy_file_read(zt_at(path, sizeof path, rel[i]), &buf[i], &len[i]) == 0);
    }
    const void *data[4] = {buf[0], buf[1], buf[2], buf[3]};
    const char *names[4] = {"images[0]", "images[1]", "images[2]", "images[3]"};
    const char *labels[2] = {"x", "y"};
    zy_label_set *L;
    ASSERT(zy_label_set_create(&L, labels, 2) == 0);
    zy_image_set_params p = zy_image_set_default_params();
    p.channels = ZY_IMAGE_GRAY;
    zy_image_set *s = NULL;
    ASSERT(zy_image_set_read_memory(&s, "request", data, len, names, 3, &p, L) == 0);
    ASSERT_EQ_INT(zy_image_set_count(s), 3);
    int C, H, W;
    zy_image_set_size(s, &C, &H, &W);
    CHECK(C == 1 && H == 3 && W == 4);
    CHECK(zy_label_set_count(zy_image_set_labels(s)) == 2 && !zy_image_set_labelled(s));
    for (size_t i = 0; i < 3; i++) {
        zy_image_item it = zy_image_set_item(s, i);
        CHECK(it.label == -1 && !strcmp(it.file, names[i]));
        CHECK(same_pixels(s, i, (int)i, i == 1 ? 1 : 3));
    }
    zy_image_set_free(s);
    // Errors name the image: another size (and the one that set it), corrupt bytes.
    s = NULL;
    CHECK(zt_fails_with(zy_image_set_read_memory(&s, "request", data, len, names, 4, &p, L),
                        ZY_STATUS_BAD_FORMAT,
                        (const char *[]){"images[3]", "5x3", "4x3", "images[0]", NULL}));
    CHECK(s == NULL);
    const void *bad[1] = {"P5\n4 3\n255\nxy"};
    size_t bad_len[1] = {13};
    CHECK(zt_fails_with(zy_image_set_read_memory(&s, "request", bad, bad_len, names, 1, &p, L),
                        ZY_STATUS_BAD_FORMAT, (const char *[]){"images[0]", NULL}));
    CHECK(zt_fails_with(zy_image_set_read_memory(&s, "request", data, len, names, 0, &p, L),
                        ZY_STATUS_BAD_FORMAT, (const char *[]){"request", "no image", NULL}));
    // With the size asked for, a PNG claiming another is refused from its header, before
    // libpng inflates anything (here the rest is garbage: decoding would call it corrupt).
    static const uint8_t huge[37] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13,
                                     'I', 'H', 'D', 'R', 0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60,
                                     8, 0, 0, 0, 0, 0xA5, 0xB9, 0x2A, 0x9E, 1, 2, 3, 4};
    const void *hd[1] = {huge};
    size_t hn[1] = {sizeof huge};
    zy_image_set_params sized = p;
    sized.height = 3, sized.width = 4;
    CHECK(zt_fails_with(zy_image_set_read_memory(&s, "request", hd, hn, names, 1, &sized, L),
                        ZY_STATUS_BAD_FORMAT,
                        (const char *[]){"images[0]", "60000x60000", "4x3 were asked for",
                                         NULL}));
    ASSERT(zy_image_set_read_memory(&s, "request", data, len, names, 3, &sized, L) == 0);
    zy_image_set_free(s);
    s = NULL;
    const void *none[1] = {NULL};
    CHECK(zy_image_set_read_memory(&s, "request", none, len, names, 1, &p, L) ==
          ZY_STATUS_INVALID_ARGUMENT);
    zy_label_set_free(L);
    for (int i = 0; i < 4; i++) zy_free(buf[i]);
    zt_scratch_remove();
}
