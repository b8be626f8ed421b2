// Attention rollout (zy_attention_rollout, attention.h) against tests/ref_rollout.py's
// full-matrix product in float64, every query row; bad sizes refused. And the PNG writer
// (zy_image_write_png, image.h): what it writes, libpng reads back the same.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "zhuyi/zhuyi.h"

TEST(rollout_matches_reference) {
    zt_ref *r = zt_ref_load("tests/ref/rollout.zyr");
    ASSERT(r != NULL);
    enum { L = 3, H = 2, T = 6 };
    const float *attn[L];
    for (int l = 0; l < L; l++) {
        char name[32];
        snprintf(name, sizeof name, "attn.%d", l);
        size_t n;
        attn[l] = zt_ref_f(r, name, &n);
        ASSERT(attn[l] && n == (size_t)H * T * T);
    }
    const float *want = zt_ref_f(r, "rollout", NULL);
    ASSERT(want != NULL);
    for (int q = 0; q < T; q++) {
        float out[T];
        ASSERT(zy_attention_rollout(out, attn, L, H, T, q) == ZY_STATUS_OK);
        char what[32];
        snprintf(what, sizeof what, "rollout row %d", q);
        CHECK_CLOSE(what, out, want + q * T, T, 1e-7, 1e-6);
        double sum = 0;
        for (int k = 0; k < T; k++) sum += out[k];
        CHECK(sum > 1 - 1e-5 && sum < 1 + 1e-5); // a distribution over the positions
    }
    float out[T];
    CHECK(zy_attention_rollout(out, attn, L, H, T, T) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_attention_rollout(out, attn, 0, H, T, 0) == ZY_STATUS_INVALID_ARGUMENT);
    zt_ref_free(r);
}

TEST(image_png_write_round_trip) {
    char dir[] = "/tmp/zy_png_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/x.png", dir);
    for (int ch = 1; ch <= 4; ch++) {
        uint8_t px[5 * 3 * 4];
        for (int i = 0; i < 5 * 3 * ch; i++) px[i] = (uint8_t)(i * 37 + ch);
        zy_image img = {.data = px, .width = 5, .height = 3, .channels = ch}, back = {0};
        ASSERT(zy_image_write_png(&img, path) == ZY_STATUS_OK);
        ASSERT(zy_image_read_png(&back, path, ZY_IMAGE_NATIVE) == ZY_STATUS_OK);
        CHECK(back.width == 5 && back.height == 3 && back.channels == ch &&
              !memcmp(back.data, px, (size_t)5 * 3 * ch));
        zy_image_destroy(&back);
    }
    unlink(path);
    zy_image bad = {.data = (uint8_t[1]){0}, .width = 1, .height = 1, .channels = 5};
    CHECK(zy_image_write_png(&bad, path) == ZY_STATUS_INVALID_ARGUMENT);
    snprintf(path, sizeof path, "%s/no/x.png", dir);
    zy_image one = {.data = (uint8_t[1]){7}, .width = 1, .height = 1, .channels = 1};
    CHECK(zy_image_write_png(&one, path) != ZY_STATUS_OK); // a missing directory
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "no/x.png") != NULL);
    rmdir(dir);
}
