// GPT model directories through the generic model I/O (src/models/model.c driving
// src/io/tensor_table*.c and config.c; GPT's table in gpt.c, its config in gpt_config.c):
// save/load round trips, the directory handed to tests/roundtrip_gpt.py, and bad input
// (missing files, truncated or malformed safetensors, config/weights shape mismatches,
// missing tensors, bad configs).
#define _XOPEN_SOURCE 700 // nftw
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpt_util.h"
#include "harness.h"
#include "zhuyi/io.h"
#include "zhuyi/model.h"

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

static zy_model *small_model(float dropout) {
    zy_model *m = zt_gpt_create(2, 2, 8, 7, 13, dropout, 99);
    if (!m) return NULL;
    size_t n;
    float *p = zy_model_params(m, &n);
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
    zy_model *m = small_model(0.1f);
    ASSERT(m != NULL);
    const char *d1 = tmp_path("rt1/nested"), *d2 = tmp_path("rt2");
    if (zy_model_save(m, d1) != ZY_STATUS_OK) zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
    zy_model *b;
    ASSERT(zy_model_load(&b, d1) == ZY_STATUS_OK);
    size_t n1, n2;
    float *p1 = zy_model_params(m, &n1), *p2 = zy_model_params(b, &n2);
    ASSERT(n1 == n2);
    CHECK(memcmp(p1, p2, n1 * sizeof *p1) == 0); // F32 both ways: bit-identical
    const zy_model_info *i1 = zy_model_get_info(m), *i2 = zy_model_get_info(b);
    CHECK(i1->n_layer == i2->n_layer && i1->n_head == i2->n_head &&
          i1->d_model == i2->d_model && i1->max_positions == i2->max_positions &&
          i1->vocab_size == i2->vocab_size && i1->dropout == i2->dropout);
    for (int i = 0; i < zy_tensor_table_count(zy_model_tensors(b)); i++)
        CHECK(!zy_model_tensor_missing(b, i));
    // Saving what was loaded gives the same bytes (deterministic writer, exact transposes).
    ASSERT(zy_model_save(b, d2) == ZY_STATUS_OK);
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
    CHECK(zy_safetensors_count(st) == zy_tensor_table_count(zy_model_tensors(m)));
    zy_safetensors_free(st);
    zy_model_free(b);
    zy_model_free(m);
    rm_tmp();
}

// Parse text as a config and create a model from it (NULL on failure).
static zy_model *from_json(const char *json, zy_status *st) {
    zy_config *c;
    zy_model *m = NULL;
    *st = zy_config_parse(&c, json, strlen(json), "test config.json");
    if (*st) return NULL;
    *st = zy_model_create(&m, c);
    zy_config_free(c);
    return m;
}

TEST(gpt_io_config_json) {
    zy_model *m = zt_gpt_create(3, 4, 32, 64, 500, 0.1f, 1);
    ASSERT(m != NULL);
    zy_config *c;
    ASSERT(zy_model_get_config(m, &c) == ZY_STATUS_OK);
    const char *p = tmp_path("config.json");
    ASSERT(zy_config_save(c, p) == ZY_STATUS_OK);
    zy_config_free(c);
    zy_config *d;
    ASSERT(zy_config_load(&d, p) == ZY_STATUS_OK);
    zy_model *m2;
    ASSERT(zy_model_create(&m2, d) == ZY_STATUS_OK);
    zy_config_free(d);
    const zy_model_info *a = zy_model_get_info(m), *b = zy_model_get_info(m2);
    CHECK(a->n_layer == b->n_layer && a->n_head == b->n_head && a->d_model == b->d_model &&
          a->max_positions == b->max_positions && a->vocab_size == b->vocab_size &&
          a->dropout == b->dropout && !strcmp(b->architecture, "GPT2LMHeadModel"));
    zy_model_free(m2);
    zy_model_free(m);
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
        zy_status st; // 0: any error
    } bad[] = {
        {"{\"n_layer\":1,\"n_head\":1,\"n_embd\":4,\"n_positions\":4,\"vocab_size\":5}",
         "model_type", 0},
        {"{\"model_type\":\"t5\"}", "t5", ZY_STATUS_UNSUPPORTED},
        {"{\"model_type\":\"gpt2\",\"architectures\":[\"GPT2ForTokenClassification\"]}",
         "GPT2ForTokenClassification", ZY_STATUS_UNSUPPORTED},
        {"{\"model_type\":\"gpt2\",\"n_layer\":1,\"n_embd\":4,\"n_positions\":4,"
         "\"vocab_size\":5}", "n_head", 0},
        {"{\"model_type\":\"gpt2\",\"n_layer\":1,\"n_head\":3,\"n_embd\":4,\"n_positions\":4,"
         "\"vocab_size\":5}", "n_head", ZY_STATUS_INVALID_ARGUMENT},
        {"{\"model_type\":\"gpt2\",\"n_layer\":1.5,\"n_head\":1,\"n_embd\":4,\"n_positions\":4,"
         "\"vocab_size\":5}", "n_layer", ZY_STATUS_BAD_FORMAT},
        {"{\"model_type\":\"gpt2\",\"n_layer\":1,\"n_head\":1,\"n_embd\":4,\"n_positions\":4,"
         "\"vocab_size\":5,\"activation_function\":\"relu\"}", "activation", ZY_STATUS_UNSUPPORTED},
        {"{\"model_type\":\"gpt2\",", "JSON", ZY_STATUS_BAD_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zy_status st;
        zy_model *x = from_json(bad[i].json, &st);
        zt_note("bad config %zu: %s", i, zy_last_error());
        CHECK(x == NULL && st != ZY_STATUS_OK && (!bad[i].st || st == bad[i].st) &&
              strstr(zy_last_error(), bad[i].want) != NULL);
        zy_model_free(x);
    }
    // n_ctx stands in for n_positions; *_pdrop default to HF's 0.1.
    zy_status st;
    zy_model *x = from_json("{\"model_type\":\"gpt2\",\"n_layer\":1,\"n_head\":1,\"n_embd\":4,"
                            "\"n_ctx\":9,\"vocab_size\":5}", &st);
    ASSERT(x != NULL);
    CHECK(zy_model_get_info(x)->max_positions == 9 && zy_model_get_info(x)->dropout == 0.1f);
    zy_model_free(x);
    CHECK(zy_config_load(&d, tmp_path("nope.json")) == ZY_STATUS_NOT_FOUND);
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
    zy_model *m = (zy_model *)1;
    CHECK(zy_model_load(&m, tmp_path("does-not-exist")) == ZY_STATUS_NOT_FOUND && m == NULL);
    zt_note("missing dir: %s", zy_last_error());
    CHECK(strstr(zy_last_error(), "config.json") != NULL);

    long size = file_size("tests/ref/gpt_small/model.safetensors");
    ASSERT(size > 1000);
    // Truncated at several points: in the length, the header, the data.
    size_t cuts[] = {0, 5, 100, (size_t)size / 2, (size_t)size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        const char *d = make_dir("trunc", "tests/ref/gpt_small/config.json", cuts[i]);
        zy_status st = zy_model_load(&m, d);
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
        CHECK(zy_model_load(&m, d) == ZY_STATUS_BAD_FORMAT && m == NULL);
        zt_note("garbage header: %s", zy_last_error());
    }
    // config.json disagrees with the weights: the message names the tensor and both shapes.
    {
        const char *cfg = tmp_path("cfg97.json");
        write_text(cfg, "{\"model_type\":\"gpt2\",\"n_layer\":2,\"n_head\":4,\"n_embd\":48,"
                        "\"n_positions\":32,\"vocab_size\":97}");
        const char *d = make_dir("mismatch", cfg, (size_t)-1);
        CHECK(zy_model_load(&m, d) == ZY_STATUS_SHAPE_MISMATCH && m == NULL);
        zt_note("mismatch: %s", zy_last_error());
        CHECK(strstr(zy_last_error(), "transformer.wte.weight") &&
              strstr(zy_last_error(), "(96, 48)") && strstr(zy_last_error(), "(97, 48)"));
        // More layers than the file has: the first missing tensor is named.
        write_text(cfg, "{\"model_type\":\"gpt2\",\"n_layer\":3,\"n_head\":4,\"n_embd\":48,"
                        "\"n_positions\":32,\"vocab_size\":96}");
        d = make_dir("missing", cfg, (size_t)-1);
        CHECK(zy_model_load(&m, d) == ZY_STATUS_NOT_FOUND && m == NULL);
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
        CHECK(zy_model_load(&m, d) != ZY_STATUS_OK && m == NULL);
        zt_note("no weights: %s", zy_last_error());
        CHECK(strstr(zy_last_error(), "model.safetensors") != NULL);
    }
    // An untied lm_head.weight is refused (only the tied head is supported).
    {
        zy_model *s = small_model(0.0f);
        ASSERT(s != NULL);
        const char *d = tmp_path("untied");
        ASSERT(zy_model_save(s, d) == ZY_STATUS_OK);
        int nt = zy_tensor_table_count(zy_model_tensors(s));
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
        CHECK(zy_model_load(&m, d) != ZY_STATUS_OK && m == NULL);
        zt_note("untied head: %s", zy_last_error());
        CHECK(strstr(zy_last_error(), "lm_head.weight") != NULL);
        free(data);
        free(ts);
        zy_model_free(s);
    }
    rm_tmp();
}

// Load gpt_small, perturb it (so the check is not of the reference file itself), save it
// to build/gpt_roundtrip/, and leave the C logits beside it in logits.zyr. Then
//   /usr/bin/python3 tests/roundtrip_gpt.py build/gpt_roundtrip
// loads the directory into the PyTorch reference model and compares its logits.
TEST(gpt_io_roundtrip_dir_for_torch) {
    zy_model *m;
    ASSERT(zy_model_load(&m, "tests/ref/gpt_small") == ZY_STATUS_OK);
    size_t n;
    float *p = zy_model_params(m, &n);
    for (size_t i = 0; i < n; i++) p[i] *= 1.0f + 0.01f * (float)((i * 7) % 5);
    int B = 2, T = 32, V = 96;
    int x[64];
    for (int i = 0; i < B * T; i++) x[i] = (i * 37 + 11) % V;
    zy_session *s = zt_session(m, B, T, false);
    ASSERT(s != NULL);
    zy_batch b = zt_batch(x, NULL, B, T);
    ASSERT(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
    if (zy_model_save(m, ROUNDTRIP_DIR) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
    const char *names[] = {"x", "logits"};
    const void *data[] = {x, zt_logits(s)};
    int dt[] = {1, 0}, d0[] = {B, B * T}, d1[] = {T, V};
    CHECK(zt_ref_write(ROUNDTRIP_DIR "/logits.zyr", names, data, dt, d0, d1, 2));
    CHECK(file_size(ROUNDTRIP_DIR "/logits.zyr") > B * T * V * 4);
    zy_session_free(s);
    zy_model_free(m);
}
