// The image data source (include/zhuyi/image_data.h): normalised pixels against
// zy_image_to_chw, one pass, determinism, tell/seek giving the same batches (augmentation
// included), two shards giving exactly the rows of one global batch, and the crop and
// flip checked pixel by pixel against a direct computation of image_data.h's rule.
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "image_data_util.h"

enum { N = 11, IH = 5, IW = 7 };

// An IDX set of N gray IH x IW images (labels i % 3), in RGB when rgb.
static zy_image_set *make_set(bool rgb) {
    uint8_t labels[N];
    for (int i = 0; i < N; i++) labels[i] = (uint8_t)(i % 3);
    char a[512], b[512];
    if (!zt_scratch() || !zt_write_idx("i-images-idx3-ubyte", "i-labels-idx1-ubyte", N, IH,
                                       IW, labels, false))
        return NULL;
    zy_image_set_params p = zy_image_set_default_params();
    p.channels = rgb ? ZY_IMAGE_RGB : ZY_IMAGE_GRAY;
    zy_image_set *s = NULL;
    if (zy_image_set_read_idx(&s, zt_at(a, sizeof a, "i-images-idx3-ubyte"),
                              zt_at(b, sizeof b, "i-labels-idx1-ubyte"), &p, NULL))
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
    zt_scratch_remove();
    return s;
}

static zy_data_source *source(const zy_image_set *s, const zy_image_source_params *p) {
    zy_data_source *src = NULL;
    if (zy_image_source_create(&src, s, p))
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
    return src;
}

static bool same_batch(const zy_batch *a, const zy_batch *b) {
    size_t n = (size_t)a->B * a->channels * a->height * a->width;
    return a->B == b->B && a->T == b->T && !memcmp(a->pixels, b->pixels, n * sizeof(float)) &&
           (!a->labels || !memcmp(a->labels, b->labels, (size_t)a->B * sizeof(int)));
}

TEST(image_source_normalised_one_pass) {
    zy_image_set *s = make_set(true);
    ASSERT(s);
    zy_image_source_params p = zy_image_source_default_params();
    p.batch = 4, p.shuffle = false, p.one_pass = true;
    p.mean[0] = 0.485f, p.mean[1] = 0.456f, p.mean[2] = 0.406f;
    p.std[0] = 0.229f, p.std[1] = 0.224f, p.std[2] = 0.225f;
    zy_data_source *src = source(s, &p);
    ASSERT(src);
    const zy_data_source_info *info = zy_data_source_get_info(src);
    CHECK(info->n_items == N && info->one_pass && !strcmp(info->kind, "image-classify"));
    CHECK(info->dims.fields == (ZY_BATCH_PIXELS | ZY_BATCH_LABELS) && info->dims.seq == 1);
    CHECK(info->dims.channels == 3 && info->dims.height == IH && info->dims.width == IW);
    zy_batch b;
    ASSERT(zy_batch_init(&b, &info->dims) == 0);
    size_t img = 3 * IH * IW;
    float *want = zt_floats(img);
    int seen = 0;
    for (int j = 0; j < 4; j++) {
        ASSERT(zy_data_source_next(src, &b) == 0);
        ASSERT_EQ_INT(b.B, j < 2 ? 4 : j == 2 ? 3 : 0);
        CHECK(b.T == 1);
        for (int r = 0; r < b.B; r++, seen++) {
            zy_image_item it = zy_image_set_item(s, (size_t)seen);
            zy_image_to_chw(want, &it.image, p.mean, p.std);
            CHECK_CLOSE("pixels", b.pixels + r * img, want, img, 0, 0);
            CHECK(b.labels[r] == seen % 3);
        }
    }
    CHECK(seen == N);
    free(want);
    zy_batch_destroy(&b);
    zy_data_source_free(src);
    // omit_labels: no label field.
    p.omit_labels = true;
    src = source(s, &p);
    CHECK(src && zy_data_source_get_info(src)->dims.fields == ZY_BATCH_PIXELS);
    zy_data_source_free(src);
    // Bad parameters.
    zy_image_source_params q = p;
    q.flip = true;
    CHECK(zy_image_source_create(&src, s, &q) == ZY_STATUS_INVALID_ARGUMENT && !src);
    q = zy_image_source_default_params();
    q.crop_padding = IH + 1;
    CHECK(zy_image_source_create(&src, s, &q) == ZY_STATUS_INVALID_ARGUMENT);
    q = zy_image_source_default_params();
    q.std[2] = 0;
    CHECK(zy_image_source_create(&src, s, &q) == ZY_STATUS_INVALID_ARGUMENT);
    q = zy_image_source_default_params();
    q.batch = N + 1; // training needs a global batch
    CHECK(zy_image_source_create(&src, s, &q) == ZY_STATUS_INVALID_ARGUMENT);
    zy_image_set_free(s);
}

static zy_image_source_params train_params(void) {
    zy_image_source_params p = zy_image_source_default_params();
    p.batch = 4, p.seed = 99, p.crop_padding = 2, p.flip = true;
    return p;
}

TEST(image_source_seek_and_determinism) {
    zy_image_set *s = make_set(false);
    ASSERT(s);
    zy_image_source_params p = train_params();
    zy_data_source *a = source(s, &p), *c = source(s, &p);
    ASSERT(a && c);
    zy_batch x, y;
    ASSERT(zy_batch_init(&x, &zy_data_source_get_info(a)->dims) == 0);
    ASSERT(zy_batch_init(&y, &zy_data_source_get_info(a)->dims) == 0);
    // Identical sources, identical batches, over several epochs (2 batches each).
    for (int j = 0; j < 7; j++) {
        ASSERT(zy_data_source_next(a, &x) == 0 && zy_data_source_next(c, &y) == 0);
        CHECK(x.B == 4 && same_batch(&x, &y));
    }
    // c tells; a new source seeks there and yields what c yields next.
    zy_data_pos pos;
    zy_data_source_tell(c, &pos);
    CHECK(pos.epoch == 3 && pos.pos == 4);
    zy_data_source *d = source(s, &p);
    ASSERT(d && zy_data_source_seek(d, pos) == 0);
    for (int j = 0; j < 5; j++) {
        ASSERT(zy_data_source_next(c, &x) == 0 && zy_data_source_next(d, &y) == 0);
        CHECK(same_batch(&x, &y));
    }
    CHECK(zy_data_source_seek(d, (zy_data_pos){0, N + 1}) == ZY_STATUS_INVALID_ARGUMENT);
    // Epochs differ (order and augmentation), so the check above was not vacuous.
    zy_data_source_seek(c, (zy_data_pos){0, 0});
    zy_data_source_seek(d, (zy_data_pos){1, 0});
    zy_data_source_next(c, &x);
    zy_data_source_next(d, &y);
    CHECK(!same_batch(&x, &y));
    // Fingerprints: the same for the same set and params; other seed, augmentation, set.
    uint64_t f = zy_data_source_get_info(a)->fingerprint;
    CHECK(f == zy_data_source_get_info(d)->fingerprint);
    zy_image_source_params q = p;
    q.seed = 100;
    zy_data_source *e = source(s, &q);
    CHECK(e && zy_data_source_get_info(e)->fingerprint != f);
    zy_data_source_free(e);
    q = p, q.flip = false;
    e = source(s, &q);
    CHECK(e && zy_data_source_get_info(e)->fingerprint != f);
    zy_data_source_free(e);
    zy_image_set *rgb = make_set(true);
    ASSERT(rgb);
    e = source(rgb, &p);
    CHECK(e && zy_data_source_get_info(e)->fingerprint != f);
    zy_data_source_free(e);
    zy_image_set_free(rgb);
    zy_batch_destroy(&x);
    zy_batch_destroy(&y);
    zy_data_source_free(a);
    zy_data_source_free(c);
    zy_data_source_free(d);
    zy_image_set_free(s);
}

TEST(image_source_two_shards) {
    zy_image_set *s = make_set(true);
    ASSERT(s);
    zy_image_source_params p = train_params();
    zy_data_source *whole = source(s, &p);
    p.batch = 2;
    zy_data_source *r0 = source(s, &p), *r1 = source(s, &p);
    ASSERT(whole && r0 && r1);
    ASSERT(zy_data_source_shard(r0, 0, 2) == 0 && zy_data_source_shard(r1, 1, 2) == 0);
    zy_batch w, a, b;
    ASSERT(zy_batch_init(&w, &zy_data_source_get_info(whole)->dims) == 0);
    ASSERT(zy_batch_init(&a, &zy_data_source_get_info(r0)->dims) == 0);
    ASSERT(zy_batch_init(&b, &zy_data_source_get_info(r1)->dims) == 0);
    size_t img = 3 * IH * IW;
    for (int j = 0; j < 6; j++) { // 3 epochs of 2 global batches
        ASSERT(zy_data_source_next(whole, &w) == 0 && zy_data_source_next(r0, &a) == 0 &&
               zy_data_source_next(r1, &b) == 0);
        ASSERT(w.B == 4 && a.B == 2 && b.B == 2);
        CHECK(!memcmp(a.pixels, w.pixels, 2 * img * sizeof(float)));
        CHECK(!memcmp(b.pixels, w.pixels + 2 * img, 2 * img * sizeof(float)));
        CHECK(!memcmp(a.labels, w.labels, 2 * sizeof(int)) &&
              !memcmp(b.labels, w.labels + 2, 2 * sizeof(int)));
    }
    zy_data_pos pw, p0;
    zy_data_source_tell(whole, &pw);
    zy_data_source_tell(r0, &p0);
    CHECK(pw.epoch == p0.epoch && pw.pos == p0.pos); // counted globally
    zy_batch_destroy(&w);
    zy_batch_destroy(&a);
    zy_batch_destroy(&b);
    zy_data_source_free(whole);
    zy_data_source_free(r0);
    zy_data_source_free(r1);
    zy_image_set_free(s);
}

// Image i of epoch e augmented as image_data.h says, computed directly: the draws, then
// every output pixel from the padded 8-bit image.
static void expect(float *out, const zy_image_set *s, size_t i, uint64_t e,
                   const zy_image_source_params *p, int *dy_out, int *dx_out, int *f_out) {
    zy_rng r;
    zy_rng_seed(&r, zy_hash64(zy_hash64(p->seed ^ ZY_IMAGE_AUG_SALT, e), i));
    int pad = p->crop_padding, dy = pad, dx = pad, f = 0;
    if (pad) {
        dy = (int)zy_rng_below(&r, 2 * (uint64_t)pad + 1);
        dx = (int)zy_rng_below(&r, 2 * (uint64_t)pad + 1);
    }
    if (p->flip) f = (int)zy_rng_below(&r, 2);
    zy_image_item it = zy_image_set_item(s, i);
    const zy_image *m = &it.image;
    int H = m->height, W = m->width, C = m->channels;
    int PH = H + 2 * pad, PW = W + 2 * pad;
    uint8_t *padded = calloc((size_t)PH * PW * C, 1); // black border
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < C; c++)
                padded[((size_t)(y + pad) * PW + x + pad) * C + c] = m->data[((size_t)y * W + x) * C + c];
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int cx = f ? W - 1 - x : x; // the flip of the crop
                uint8_t v = padded[((size_t)(y + dy) * PW + cx + dx) * C + c];
                out[((size_t)c * H + y) * W + x] = ((float)v / 255.0f - p->mean[c]) / p->std[c];
            }
    free(padded);
    *dy_out = dy, *dx_out = dx, *f_out = f;
}

TEST(image_source_augmentation_pixel_by_pixel) {
    zy_image_set *s = make_set(true);
    ASSERT(s);
    zy_image_source_params p = train_params();
    p.shuffle = false; // row r of batch j is image 4j + r in every epoch
    p.mean[1] = 0.25f, p.std[2] = 0.75f;
    zy_data_source *src = source(s, &p);
    ASSERT(src);
    zy_batch b;
    ASSERT(zy_batch_init(&b, &zy_data_source_get_info(src)->dims) == 0);
    size_t img = 3 * IH * IW;
    float *want = zt_floats(img);
    int flips = 0, shifted = 0, rows = 0;
    for (uint64_t e = 0; e < 6; e++)
        for (int j = 0; j < 2; j++) {
            ASSERT(zy_data_source_next(src, &b) == 0);
            for (int r = 0; r < b.B; r++, rows++) {
                int dy, dx, f;
                expect(want, s, (size_t)(4 * j + r), e, &p, &dy, &dx, &f);
                if (!CHECK_CLOSE("augmented", b.pixels + r * img, want, img, 0, 0)) return;
                flips += f;
                shifted += dy != 2 || dx != 2;
            }
        }
    // Both flips, and crops away from the centre, were drawn (the checks above saw them).
    zt_note("%d rows: %d flipped, %d shifted", rows, flips, shifted);
    CHECK(flips > 0 && flips < rows && shifted > rows / 2);
    // Flip alone: a flipped row is the exact mirror of the plain image.
    zy_image_source_params q = p;
    q.crop_padding = 0;
    zy_data_source *fl = source(s, &q);
    ASSERT(fl && zy_data_source_next(fl, &b) == 0);
    int mirrored = 0;
    for (int r = 0; r < b.B; r++) {
        zy_image_item it = zy_image_set_item(s, (size_t)r);
        zy_image_to_chw(want, &it.image, q.mean, q.std);
        int dy, dx, f;
        float *direct = zt_floats(img);
        expect(direct, s, (size_t)r, 0, &q, &dy, &dx, &f);
        free(direct);
        for (size_t k = 0; k < img; k += IW) // mirror each row of want
            for (int x = 0; f && x < IW / 2; x++) {
                float t = want[k + x];
                want[k + x] = want[k + IW - 1 - x];
                want[k + IW - 1 - x] = t;
            }
        mirrored += f;
        CHECK_CLOSE("flipped", b.pixels + r * img, want, img, 0, 0);
    }
    zt_note("%d of 4 mirrored", mirrored);
    // After a seek to (epoch 4, image 4): the same augmentation as the uninterrupted run.
    zy_data_source *sk = source(s, &p);
    ASSERT(sk && zy_data_source_seek(sk, (zy_data_pos){4, 4}) == 0);
    ASSERT(zy_data_source_next(sk, &b) == 0);
    for (int r = 0; r < b.B; r++) {
        int dy, dx, f;
        expect(want, s, (size_t)(4 + r), 4, &p, &dy, &dx, &f);
        CHECK_CLOSE("after seek", b.pixels + r * img, want, img, 0, 0);
    }
    free(want);
    zy_batch_destroy(&b);
    zy_data_source_free(sk);
    zy_data_source_free(fl);
    zy_data_source_free(src);
    zy_image_set_free(s);
}
