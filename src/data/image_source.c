// An image set as a data source (image_data.h): a row source (row_source.h) whose rows
// are the set's images, written as normalised (C, H, W) planes, through the seeded crop
// and flip in training. Not here: epochs, positions and shards (row_source.c), reading
// the images (image_set*.c).
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "data/image_set_internal.h"
#include "data/row_source.h"

typedef struct image_source {
    zy__row_source rows;     // first: the shared core
    const zy_image_set *set; // borrowed
    bool labels;
    int pad;                 // crop padding p
    bool flip;
    float lut[3][256];       // lut[c][v] = (v/255 - mean[c]) / std[c]
} image_source;

zy_image_source_params zy_image_source_default_params(void) {
    return (zy_image_source_params){.batch = 8, .seed = 12345, .shuffle = true,
                                    .mean = {0.5f, 0.5f, 0.5f}, .std = {0.5f, 0.5f, 0.5f}};
}

static int length(const zy__row_source *rs, uint64_t i) {
    (void)rs, (void)i;
    return 1;
}

// Image i of the current epoch into row `row` (image_data.h's rules).
static void put_row(const zy__row_source *rs, zy_batch *b, int row, uint64_t i) {
    const image_source *s = (const image_source *)rs;
    const zy_image_set *set = s->set;
    int C = set->C, H = set->H, W = set->W, p = s->pad;
    int dy = p, dx = p, flip = 0;
    if (!rs->one_pass && (p > 0 || s->flip)) {
        zy_rng r;
        zy_rng_seed(&r, zy_hash64(zy_hash64(rs->seed ^ ZY_IMAGE_AUG_SALT, rs->epoch), i));
        if (p > 0) {
            dy = (int)zy_rng_below(&r, 2 * (uint64_t)p + 1);
            dx = (int)zy_rng_below(&r, 2 * (uint64_t)p + 1);
        }
        if (s->flip) flip = (int)zy_rng_below(&r, 2);
    }
    size_t HW = (size_t)H * (size_t)W;
    const uint8_t *img = set->pixels + i * HW * (size_t)C;
    float *out = b->pixels + (size_t)row * (size_t)C * HW;
    for (int c = 0; c < C; c++) {
        const float *lut = s->lut[c];
        float *o = out + (size_t)c * HW;
        for (int y = 0; y < H; y++) {
            int sy = y + dy - p;
            float *orow = o + (size_t)y * W;
            if (sy < 0 || sy >= H) {
                for (int x = 0; x < W; x++) orow[x] = lut[0];
                continue;
            }
            const uint8_t *irow = img + (size_t)sy * W * C + c;
            for (int x = 0; x < W; x++) {
                int sx = (flip ? W - 1 - x : x) + dx - p;
                orow[x] = sx >= 0 && sx < W ? lut[irow[(size_t)sx * C]] : lut[0];
            }
        }
    }
    b->input_ids[row] = 0;
    if (s->labels) b->labels[row] = set->labels[i];
}

static const zy__row_kind IMAGE_ROWS = {
    .name = "image", .items = "images", .salt = ZY_IMAGE_ORDER_SALT, .length = length,
    .put = put_row,
};

static uint64_t fingerprint(const zy_image_set *set, const zy_image_source_params *p) {
    uint64_t q[] = {p->seed, p->shuffle, (uint64_t)p->crop_padding, p->flip, p->omit_labels};
    uint64_t h = zy_hash64(set->fingerprint, zy_hash_bytes(q, sizeof q));
    size_t n = (size_t)set->C * sizeof(float); // the channels used
    h = zy_hash64(h, zy_hash_bytes(p->mean, n));
    return zy_hash64(h, zy_hash_bytes(p->std, n));
}

zy_status zy_image_source_create(zy_data_source **out, const zy_image_set *set,
                                 const zy_image_source_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image source: nowhere to put it");
    *out = NULL;
    if (!set || !p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image source: no images");
    int C = set->C;
    if (p->batch <= 0 || p->batch > (1 << 20))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image source: batch %d is out of range",
                         p->batch);
    if (p->crop_padding < 0 || p->crop_padding > ZY_MIN(set->H, set->W))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image source: crop padding %d (0 to "
                         "the image's smaller side, %d)", p->crop_padding,
                         ZY_MIN(set->H, set->W));
    if (p->one_pass && (p->crop_padding > 0 || p->flip))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image source: a one-pass source is "
                         "not augmented (turn crop and flip off)");
    for (int c = 0; c < C; c++)
        if (!isfinite(p->mean[c]) || !isfinite(p->std[c]) || !(p->std[c] > 0.0f))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image source: channel %d: mean %g "
                             "and std %g (std > 0, both finite)", c, (double)p->mean[c],
                             (double)p->std[c]);
    zy__row_source *rs;
    zy__row_params rp = {.batch = p->batch, .seed = p->seed, .shuffle = p->shuffle,
                         .one_pass = p->one_pass};
    zy_status st = zy__row_source_new(&rs, &IMAGE_ROWS, sizeof(image_source), set->n, &rp);
    if (st) return st;
    image_source *s = (image_source *)rs;
    s->set = set;
    s->labels = set->labelled && !p->omit_labels;
    s->pad = p->crop_padding;
    s->flip = p->flip;
    for (int c = 0; c < C; c++)
        for (int v = 0; v < 256; v++)
            s->lut[c][v] = ((float)v / 255.0f - p->mean[c]) / p->std[c];
    zy_data_source_info info = {
        .kind = "image-classify",
        .dims = {.seq = 1, .fields = ZY_BATCH_PIXELS | (s->labels ? ZY_BATCH_LABELS : 0u),
                 .channels = C, .height = set->H, .width = set->W},
        .fingerprint = fingerprint(set, p),
    };
    return zy__row_source_open(out, rs, info);
}
