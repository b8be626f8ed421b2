// GPT model directories (src/models/gpt_io.c, gpt_config.c): save/load round trips, the
// directory handed to tests/roundtrip_gpt.py, and bad input (missing files, truncated or
// malformed safetensors, config/weights shape mismatches, missing tensors, bad configs).
#define _XOPEN_SOURCE 700 // nftw
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "zhuyi/gpt.h"
#include "zhuyi/io.h"

// Where the C side leaves a model directory and its logits for tests/roundtrip_gpt.py.
#define ROUNDTRIP_DIR "build/gpt_roundtrip"

// Each test works in /tmp/zhuyi_gpt_<pid>/ and removes it at the end (rm_tmp).
static const char *tmp_dir(void) {
    static char dir[128];
    if (!dir[0]) snprintf(dir, sizeof dir, "/tmp/zhuyi_gpt_%ld", (long)getpid());
    mkdir(dir, 0755);
    return dir;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_tmp(void) { nftw(tmp_dir(), rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static char *tmp_path(const char *name) {
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 256, "%s/%s", tmp_dir(), name);
    return p;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

// Copy src to dst, keeping only the first `keep` bytes (all if keep is (size_t)-1).
static void copy_file(const char *src, const char *dst, size_t keep) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[65536];
    size_t n, done = 0;
    while (in && out && done < keep && (n = fread(buf, 1, sizeof buf, in)) > 0) {
        if (n > keep - done) n = keep - done;
        fwrite(buf, 1, n, out);
        done += n;
    }
    if (in) fclose(in);
    if (out) fclose(out);
}

static zy_gpt *small_model(float dropout) {
    zy_gpt_config c = {.n_layer = 2, .n_head = 2, .n_embd = 8, .n_positions = 7,
                       .vocab_size = 13, .layer_norm_epsilon = 1e-5f, .dropout = dropout};
    zy_gpt *m = NULL;
    if (zy_gpt_create(&m, &c) != ZY_STATUS_OK) return NULL;
    zy_gpt_init_weights(m, 99);
    size_t n;
    float *p = zy_gpt_params(m, &n);
    for (size_t i = 0; i < n; i++) p[i] += 0.01f * (float)(i % 17); // nonzero biases too
    return m;
}

static long file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) ? -1 : (long)sb.st_size;
}

static int same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

TEST(gpt_io_save_load_round_trip) {
    zy_gpt *m = small_model(0.1f);
    ASSERT(m != NULL);
    const char *d1 = tmp_path("rt1/nested"), *d2 = tmp_path("rt2");
    if (zy_gpt_save(m, d1) != ZY_STATUS_OK) zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
    zy_gpt *b;
    ASSERT(zy_gpt_load(&b, d1) == ZY_STATUS_OK);
    size_t n1, n2;
    float *p1 = zy_gpt_params(m, &n1), *p2 = zy_gpt_params(b, &n2);
    ASSERT(n1 == n2);
    CHECK(memcmp(p1, p2, n1 * sizeof *p1) == 0); // F32 both ways: bit-identical
    CHECK(memcmp(zy_gpt_get_config(m), zy_gpt_get_config(b), sizeof(zy_gpt_config)) == 0);
    // Saving what was loaded gives the same bytes (deterministic writer, exact transposes).
    ASSERT(zy_gpt_save(b, d2) == ZY_STATUS_OK);
    char a[256], c[256];
    snprintf(a, sizeof a, "%s/model.safetensors", d1);
    snprintf(c, sizeof c, "%s/model.safetensors", d2);
    CHECK(same_file(a, c));
    snprintf(a, sizeof a, "%s/config.json", d1);
    snprintf(c, sizeof c, "%s/config.json", d2);
    CHECK(same_file(a, c));
    // Hugging Face names and Conv1D shapes in the file; no lm_head (tied).
    zy_safetensors *st;
    snprintf(a, sizeof a, "%s/model.safetensors", d1);
    ASSERT(zy_safetensors_open(&st, a) == ZY_STATUS_OK);
    const zy_tensor_info *t = zy_safetensors_find(st, "transformer.h.1.mlp.c_fc.weight");
    CHECK(t && t->ndim == 2 && t->shape[0] == 8 && t->shape[1] == 32 && t->dtype == ZY_DTYPE_F32);
    CHECK(zy_safetensors_find(st, "lm_head.weight") == NULL);
    CHECK(zy_safetensors_count(st) == zy_gpt_tensor_count(m));
    zy_safetensors_free(st);
    zy_gpt_free(b);
    zy_gpt_free(m);
    rm_tmp();
}

TEST(gpt_io_config_json) {
    zy_gpt_config c = {.n_layer = 3, .n_head = 4, .n_embd = 32, .n_positions = 64,
                       .vocab_size = 500, .layer_norm_epsilon = 1e-5f, .dropout = 0.1f};
    const char *p = tmp_path("config.json");
    ASSERT(zy_gpt_config_save(p, &c) == ZY_STATUS_OK);
    zy_gpt_config d;
    ASSERT(zy_gpt_config_load(p, &d) == ZY_STATUS_OK);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
    FILE *f = fopen(p, "rb");
    char text[4096] = {0};
    if (f) {
        size_t got = fread(text, 1, sizeof text - 1, f);
        text[got] = 0;
        fclose(f);
    }
    CHECK(strstr(text, "\"model_type\": \"gpt2\"") && strstr(text, "\"resid_pdrop\": 0.1,") &&
          strstr(text, "\"GPT2LMHeadModel\"") && strstr(text, "\"activation_function\": \"gelu_new\""));

    struct {
        const char *json, *want;
        zy_status st;
    } bad[] = {
        {"{\"n_layer\":1,\"n_head\":1,\"n_embd\":4,\"n_positions\":4,\"vocab_size\":5}",
         "model_type", ZY_STATUS_BAD_FORMAT},
        {"{\"model_type\":\"bert\"}", "bert", ZY_STATUS_UNSUPPORTED},
        {"{\"model_type\":\"gpt2\",\"n_layer\":1,\"n_embd\":4,\"n_positions\":4,"
         "\"vocab_size\":5}", "n_head", ZY_STATUS_BAD_FORMAT},
        {"{\"model_type\":\"gpt2\",\"n_layer\":1,\"n_head\":3,\"n_embd\":4,\"n_positions\":4,"
         "\"vocab_size\":5}", "n_head", ZY_STATUS_INVALID_ARGUMENT},
        {"{\"model_type\":\"gpt2\",\"n_layer\":1.5,\"n_head\":1,\"n_embd\":4,\"n_positions\":4,"
         "\"vocab_size\":5}", "n_layer", ZY_STATUS_BAD_FORMAT},
        {"{\"model_type\":\"gpt2\",\"n_layer\":1,\"n_head\":1,\"n_embd\":4,\"n_positions\":4,"
         "\"vocab_size\":5,\"activation_function\":\"relu\"}", "activation", ZY_STATUS_UNSUPPORTED},
        {"{\"model_type\":\"gpt2\",", "JSON", ZY_STATUS_BAD_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(p, bad[i].json);
        zy_status st = zy_gpt_config_load(p, &d);
        zt_note("bad config %zu: %s", i, zy_last_error());
        CHECK(st == bad[i].st && strstr(zy_last_error(), bad[i].want) != NULL);
    }
    // n_ctx stands in for n_positions; *_pdrop default to HF's 0.1.
    write_text(p, "{\"model_type\":\"gpt2\",\"n_layer\":1,\"n_head\":1,\"n_embd\":4,\"n_ctx\":9,"
                  "\"vocab_size\":5}");
    ASSERT(zy_gpt_config_load(p, &d) == ZY_STATUS_OK);
    CHECK(d.n_positions == 9 && d.dropout == 0.1f && d.layer_norm_epsilon == 1e-5f);
    CHECK(zy_gpt_config_load(tmp_path("nope.json"), &d) == ZY_STATUS_NOT_FOUND);
    rm_tmp();
}

// A model directory made of config text + a copy (maybe truncated) of gpt_small's weights.
static const char *make_dir(const char *name, const char *config_from, size_t keep) {
    const char *dir = tmp_path(name);
    mkdir(dir, 0755);
    char a[256];
    snprintf(a, sizeof a, "%s/config.json", dir);
    copy_file(config_from, a, (size_t)-1);
    snprintf(a, sizeof a, "%s/model.safetensors", dir);
    copy_file("tests/ref/gpt_small/model.safetensors", a, keep);
    return dir;
}

TEST(gpt_io_bad_directories) {
    zy_gpt *m = (zy_gpt *)1;
    CHECK(zy_gpt_load(&m, tmp_path("does-not-exist")) == ZY_STATUS_NOT_FOUND && m == NULL);
    zt_note("missing dir: %s", zy_last_error());
    CHECK(strstr(zy_last_error(), "config.json") != NULL);

    long size = file_size("tests/ref/gpt_small/model.safetensors");
    ASSERT(size > 1000);
    // Truncated at several points: in the length, the header, the data.
    size_t cuts[] = {0, 5, 100, (size_t)size / 2, (size_t)size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        const char *d = make_dir("trunc", "tests/ref/gpt_small/config.json", cuts[i]);
        zy_status st = zy_gpt_load(&m, d);
        zt_note("truncated at %zu: %s", cuts[i], zy_last_error());
        CHECK(st == ZY_STATUS_BAD_FORMAT || st == ZY_STATUS_IO);
        CHECK(m == NULL);
    }
    // Malformed header bytes.
    {
        const char *d = make_dir("garbage", "tests/ref/gpt_small/config.json", (size_t)-1);
        char p[256];
        snprintf(p, sizeof p, "%s/model.safetensors", d);
        FILE *f = fopen(p, "r+b");
        if (f) {
            fseek(f, 12, SEEK_SET);
            fputs("}}}{{{", f);
            fclose(f);
        }
        CHECK(zy_gpt_load(&m, d) == ZY_STATUS_BAD_FORMAT && m == NULL);
        zt_note("garbage header: %s", zy_last_error());
    }
    // config.json disagrees with the weights: the message names the tensor and both shapes.
    {
        const char *cfg = tmp_path("cfg97.json");
        write_text(cfg, "{\"model_type\":\"gpt2\",\"n_layer\":2,\"n_head\":4,\"n_embd\":48,"
                        "\"n_positions\":32,\"vocab_size\":97}");
        const char *d = make_dir("mismatch", cfg, (size_t)-1);
        CHECK(zy_gpt_load(&m, d) == ZY_STATUS_SHAPE_MISMATCH && m == NULL);
        zt_note("mismatch: %s", zy_last_error());
        CHECK(strstr(zy_last_error(), "transformer.wte.weight") &&
              strstr(zy_last_error(), "(96, 48)") && strstr(zy_last_error(), "(97, 48)"));
        // More layers than the file has: the first missing tensor is named.
        write_text(cfg, "{\"model_type\":\"gpt2\",\"n_layer\":3,\"n_head\":4,\"n_embd\":48,"
                        "\"n_positions\":32,\"vocab_size\":96}");
        d = make_dir("missing", cfg, (size_t)-1);
        CHECK(zy_gpt_load(&m, d) == ZY_STATUS_NOT_FOUND && m == NULL);
        zt_note("missing tensor: %s", zy_last_error());
        CHECK(strstr(zy_last_error(), "transformer.h.2.ln_1.weight") != NULL);
    }
    // No model.safetensors at all.
    {
        const char *d = tmp_path("noweights");
        mkdir(d, 0755);
        char p[256];
        snprintf(p, sizeof p, "%s/config.json", d);
        copy_file("tests/ref/gpt_small/config.json", p, (size_t)-1);
        CHECK(zy_gpt_load(&m, d) != ZY_STATUS_OK && m == NULL);
        zt_note("no weights: %s", zy_last_error());
        CHECK(strstr(zy_last_error(), "model.safetensors") != NULL);
    }
    // An untied lm_head.weight is refused (only the tied head is supported).
    {
        zy_gpt *s = small_model(0.0f);
        ASSERT(s != NULL);
        const char *d = tmp_path("untied");
        ASSERT(zy_gpt_save(s, d) == ZY_STATUS_OK);
        int nt = zy_gpt_tensor_count(s);
        zy_safetensors_tensor *ts = zt_malloc((size_t)(nt + 1) * sizeof *ts);
        char p[256];
        snprintf(p, sizeof p, "%s/model.safetensors", d);
        zy_safetensors *st;
        ASSERT(zy_safetensors_open(&st, p) == ZY_STATUS_OK);
        float *data = zt_floats(100000); // the small model has 1,920 parameters
        size_t off = 0;
        for (int i = 0; i < nt; i++) {
            const zy_tensor_info *ti = zy_safetensors_info(st, i);
            ts[i].name = ti->name;
            ts[i].ndim = ti->ndim;
            memcpy(ts[i].shape, ti->shape, sizeof ts[i].shape);
            zy_safetensors_read_f32(st, ti->name, data + off, ti->numel);
            ts[i].data = data + off;
            off += ti->numel;
        }
        const zy_tensor_info *wte = zy_safetensors_find(st, "transformer.wte.weight");
        ts[nt] = (zy_safetensors_tensor){.name = "lm_head.weight", .ndim = 2,
                                         .shape = {wte->shape[0], wte->shape[1]}};
        float *head = data + off;
        for (uint64_t k = 0; k < wte->numel; k++) head[k] = 0.5f;
        ts[nt].data = head;
        char p2[256];
        snprintf(p2, sizeof p2, "%s/model2.safetensors", d);
        ASSERT(zy_safetensors_write(p2, ts, nt + 1, zy_safetensors_write_default_params()) ==
               ZY_STATUS_OK);
        zy_safetensors_free(st);
        rename(p2, p);
        CHECK(zy_gpt_load(&m, d) == ZY_STATUS_UNSUPPORTED && m == NULL);
        zt_note("untied head: %s", zy_last_error());
        free(data);
        free(ts);
        zy_gpt_free(s);
    }
    rm_tmp();
}

// Minimal writer of the tests/ref/*.zyr format (see harness.h) for the Python check.
static void zyr_write(const char *path, const char **names, const void **data,
                      const int *dtypes, const int *dims0, const int *dims1, int count) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    uint32_t u = (uint32_t)count;
    fwrite("ZYREF1\0\0", 1, 8, f);
    fwrite(&u, 4, 1, f);
    for (int i = 0; i < count; i++) {
        uint32_t len = (uint32_t)strlen(names[i]), dt = (uint32_t)dtypes[i], nd = 2;
        uint32_t d0 = (uint32_t)dims0[i], d1 = (uint32_t)dims1[i];
        fwrite(&len, 4, 1, f);
        fwrite(names[i], 1, len, f);
        fwrite(&dt, 4, 1, f);
        fwrite(&nd, 4, 1, f);
        fwrite(&d0, 4, 1, f);
        fwrite(&d1, 4, 1, f);
        fwrite(data[i], 4, (size_t)d0 * d1, f);
    }
    fclose(f);
}

// Load gpt_small, perturb it (so the check is not of the reference file itself), save it
// to build/gpt_roundtrip/, and leave the C logits beside it in logits.zyr. Then
//   /usr/bin/python3 tests/roundtrip_gpt.py build/gpt_roundtrip
// loads the directory into the PyTorch reference model and compares its logits.
TEST(gpt_io_roundtrip_dir_for_torch) {
    zy_gpt *m;
    ASSERT(zy_gpt_load(&m, "tests/ref/gpt_small") == ZY_STATUS_OK);
    size_t n;
    float *p = zy_gpt_params(m, &n);
    for (size_t i = 0; i < n; i++) p[i] *= 1.0f + 0.01f * (float)((i * 7) % 5);
    int B = 2, T = 32, V = 96;
    int x[64];
    for (int i = 0; i < B * T; i++) x[i] = (i * 37 + 11) % V;
    ASSERT(zy_gpt_prepare(m, B, T) == ZY_STATUS_OK);
    zy_gpt_set_dropout(m, false, 0);
    ASSERT(zy_gpt_forward(m, x, NULL, B, T, NULL) == ZY_STATUS_OK);
    if (zy_gpt_save(m, ROUNDTRIP_DIR) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
    const char *names[] = {"x", "logits"};
    const void *data[] = {x, zy_gpt_logits(m)};
    int dt[] = {1, 0}, d0[] = {B, B * T}, d1[] = {T, V};
    zyr_write(ROUNDTRIP_DIR "/logits.zyr", names, data, dt, d0, d1, 2);
    CHECK(file_size(ROUNDTRIP_DIR "/logits.zyr") > B * T * V * 4);
    zy_gpt_free(m);
}
