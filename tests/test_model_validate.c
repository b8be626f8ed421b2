// Validation before allocation (src/models/model.c, src/io/tensor_table_io.c,
// src/models/gpt_forward.c, src/nn/kv_cache.c): a config.json that disagrees with its
// model.safetensors, or sizes no machine can hold, are refused with a message naming the
// tensor and the config fields, and nothing large is asked of the allocator first. A
// counting allocator (zy_allocator_set) records the largest request and refuses any above
// LIMIT, so a test that passes proves the library never tried. Also: weights that are NaN
// or infinite are found and named (zy_model_check_finite).
#define _XOPEN_SOURCE 700 // nftw, mkdtemp
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpt_util.h"
#include "harness.h"
#include "zhuyi/attention.h"
#include "zhuyi/io.h"
#include "zhuyi/model.h"

#define LIMIT ((size_t)16 << 20) // 16 MiB: far more than a tiny model needs

typedef struct counting {
    size_t largest; // the largest size asked for
    int refused;    // requests above LIMIT (answered NULL)
} counting;

static counting counts;

static void *count_alloc(size_t size, size_t align, void *user) {
    counting *c = user;
    if (size > c->largest) c->largest = size;
    if (size > LIMIT) {
        c->refused++;
        return NULL;
    }
    size_t rounded = (size + align - 1) / align * align;
    return aligned_alloc(align, rounded ? rounded : align);
}

static void count_free(void *p, void *user) {
    (void)user;
    free(p);
}

// From here on every library allocation is counted (the runner restores the default
// allocator after the test; both use aligned_alloc/free, so memory may cross over).
static void count_allocations(void) {
    counts = (counting){0};
    zy_allocator a = {count_alloc, count_free, &counts};
    zy_allocator_set(&a);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void rm_dir(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

// A tiny GPT (1 layer, 2 heads, n_embd 8, 16 positions, vocab 40) saved to a fresh
// directory under /tmp (written into dir, 64 bytes).
static int tiny_dir(char *dir) {
    snprintf(dir, 64, "/tmp/zy_validate_XXXXXX");
    if (!mkdtemp(dir)) return 0;
    zy_model *m = zt_gpt_create(1, 2, 8, 16, 40, 0.0f, 5);
    int ok = m && zy_model_save(m, dir) == ZY_STATUS_OK;
    zy_model_free(m);
    return ok;
}

// dir/config.json with field `key` set to v.
static int edit_config(const char *dir, const char *key, long v) {
    char path[128];
    snprintf(path, sizeof path, "%s/config.json", dir);
    zy_config *c;
    if (zy_config_load(&c, path)) return 0;
    int ok = !zy_config_set_int(c, key, v) && !zy_config_save(c, path);
    zy_config_free(c);
    return ok;
}

static int has(const char *needle) { return strstr(zy_last_error(), needle) != NULL; }

// vocab_size 16777216 beside a wte of 40 rows: once ~512 MiB zeroed before the mismatch.
TEST(model_load_vocab_mismatch_before_allocating) {
    char dir[64];
    ASSERT(tiny_dir(dir));
    ASSERT(edit_config(dir, "vocab_size", 16777216));
    count_allocations();
    zy_model *m = (zy_model *)1;
    zy_status st = zy_model_load(&m, dir);
    zy_allocator_set(NULL);
    zt_note("%s: %s (largest request %zu bytes)", zy_status_str(st), zy_last_error(),
            counts.largest);
    CHECK(st == ZY_STATUS_SHAPE_MISMATCH && m == NULL);
    CHECK(has("transformer.wte.weight") && has("(40, 8)") && has("(16777216, 8)"));
    CHECK(has("vocab_size, n_embd"));
    CHECK(counts.largest <= LIMIT && counts.refused == 0);
    rm_dir(dir);
}

// n_embd 65536: once "out of memory for 154... parameters", hiding the cause.
TEST(model_load_n_embd_mismatch_before_allocating) {
    char dir[64];
    ASSERT(tiny_dir(dir));
    ASSERT(edit_config(dir, "n_embd", 65536));
    count_allocations();
    zy_model *m = (zy_model *)1;
    zy_status st = zy_model_load(&m, dir);
    zy_allocator_set(NULL);
    zt_note("%s: %s (largest request %zu bytes)", zy_status_str(st), zy_last_error(),
            counts.largest);
    CHECK(st == ZY_STATUS_SHAPE_MISMATCH && m == NULL);
    CHECK(has("transformer.wte.weight") && has("(40, 8)") && has("(40, 65536)") &&
          has("n_embd"));
    CHECK(!has("out of memory"));
    CHECK(counts.largest <= LIMIT && counts.refused == 0);
    // A file that matches its config still loads under the same allocator.
    ASSERT(edit_config(dir, "n_embd", 8));
    count_allocations();
    st = zy_model_load(&m, dir);
    zy_allocator_set(NULL);
    CHECK(st == ZY_STATUS_OK && counts.refused == 0);
    zy_model_free(m);
    rm_dir(dir);
}

// A config whose parameters no machine holds (48 layers of n_embd 65536: 2.5e12 floats,
// 9 TiB) is refused by size before the allocator is asked, naming the sizes.
TEST(model_create_beyond_memory_named) {
    zy_config *c = zt_gpt_config(48, 64, 65536, 1024, 50257, 0.0f);
    ASSERT(c != NULL);
    count_allocations();
    zy_model *m = (zy_model *)1;
    zy_status st = zy_model_create(&m, c);
    zy_allocator_set(NULL);
    zt_note("%s: %s (largest request %zu bytes)", zy_status_str(st), zy_last_error(),
            counts.largest);
    CHECK(st == ZY_STATUS_OUT_OF_MEMORY && m == NULL);
    CHECK(has("test config") && has("memory") && has("n_layer = 48") &&
          has("d_model = 65536") && has("vocab_size = 50257") && has("4*n_embd"));
    CHECK(counts.largest <= LIMIT && counts.refused == 0);
    zy_config_free(c);
}

// Activations beyond the machine: batch x seq x vocab_size logits of 2^44 floats.
TEST(session_prepare_beyond_memory_named) {
    zy_model *m = zt_gpt_create(1, 1, 4, 4096, 1 << 20, 0.0f, 3);
    ASSERT(m != NULL);
    zy_session_params p = zy_session_default_params();
    p.batch = 4096, p.seq = 4096;
    count_allocations();
    zy_session *s = (zy_session *)1;
    zy_status st = zy_session_create(&s, m, &p);
    zy_allocator_set(NULL);
    zt_note("%s: %s (largest request %zu bytes)", zy_status_str(st), zy_last_error(),
            counts.largest);
    CHECK(st == ZY_STATUS_OUT_OF_MEMORY && s == NULL);
    CHECK(has("batch 4096 x seq 4096") && has("vocab_size") && has("4096 x 4096 x 1048576"));
    CHECK(counts.largest <= LIMIT && counts.refused == 0);
    zy_model_free(m);
}

// The KV cache's size overflowed size_t (64 x 65536 x 2 x 2^22 x 2^20 = 2^65 floats
// wrapped to 0: a "successful" empty cache); one that fits size_t but not the machine was
// asked of the allocator.
TEST(kv_cache_sizes_checked_before_allocating) {
    count_allocations();
    zy_kv_cache *c = (zy_kv_cache *)1;
    zy_status st = zy_kv_cache_create(&c, 64, 65536, 1 << 22, 1 << 20, 1);
    zt_note("2^65 floats: %s: %s", zy_status_str(st), zy_last_error());
    CHECK(st != ZY_STATUS_OK && c == NULL);
    if (st == ZY_STATUS_OK) zy_kv_cache_free(c);
    st = zy_kv_cache_create(&c, 4096, 1024, 16, 1 << 20, 64);
    zt_note("2^53 floats: %s: %s", zy_status_str(st), zy_last_error());
    CHECK(st == ZY_STATUS_OUT_OF_MEMORY && c == NULL && has("4096 layers"));
    if (st == ZY_STATUS_OK) zy_kv_cache_free(c);
    zy_allocator_set(NULL);
    CHECK(counts.largest <= LIMIT && counts.refused == 0);
}

// dir/model.safetensors rewritten with zy_safetensors_write (not zy_model_save, which
// may refuse non-finite weights) with element k of tensor `name` set to v.
static int poke(const char *dir, const char *name, uint64_t k, float v) {
    char path[128], tmp[140];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    snprintf(tmp, sizeof tmp, "%s.new", path);
    zy_safetensors *st;
    if (zy_safetensors_open(&st, path)) return 0;
    int n = zy_safetensors_count(st), ok = 1, found = 0;
    zy_safetensors_tensor *ts = zt_malloc((size_t)n * sizeof *ts);
    float **data = zt_malloc((size_t)n * sizeof *data);
    for (int i = 0; i < n; i++) {
        const zy_tensor_info *ti = zy_safetensors_info(st, i);
        data[i] = zt_floats(ti->numel);
        ok &= zy_safetensors_read_f32(st, ti->name, data[i], ti->numel) == ZY_STATUS_OK;
        ts[i] = (zy_safetensors_tensor){.name = ti->name, .ndim = ti->ndim, .data = data[i]};
        memcpy(ts[i].shape, ti->shape, sizeof ts[i].shape);
        if (!strcmp(ti->name, name) && k < ti->numel) data[i][k] = v, found = 1;
    }
    ok = ok && found && zy_safetensors_write(tmp, ts, n, zy_safetensors_write_default_params()) ==
                        ZY_STATUS_OK &&
         rename(tmp, path) == 0;
    for (int i = 0; i < n; i++) free(data[i]);
    free(data);
    free(ts);
    zy_safetensors_free(st);
    return ok;
}

TEST(model_check_finite_names_the_tensor) {
    char dir[64];
    ASSERT(tiny_dir(dir));
    zy_model *m;
    ASSERT(zy_model_load(&m, dir) == ZY_STATUS_OK);
    CHECK(zy_model_check_finite(m) == ZY_STATUS_OK);
    zy_model_free(m);
    ASSERT(poke(dir, "transformer.h.0.attn.c_attn.weight", 5, NAN));
    ASSERT(zy_model_load(&m, dir) == ZY_STATUS_OK); // loading does not scan
    zy_status st = zy_model_check_finite(m);
    zt_note("NaN: %s", zy_last_error());
    CHECK(st == ZY_STATUS_INVALID_ARGUMENT && has("'transformer.h.0.attn.c_attn.weight'") &&
          has("NaN") && has("1 of its 192"));
    zy_model_free(m);
    ASSERT(poke(dir, "transformer.h.0.attn.c_attn.weight", 5, 0.5f));
    ASSERT(poke(dir, "transformer.ln_f.bias", 7, -INFINITY));
    ASSERT(zy_model_load(&m, dir) == ZY_STATUS_OK);
    st = zy_model_check_finite(m);
    zt_note("-inf: %s", zy_last_error());
    CHECK(st == ZY_STATUS_INVALID_ARGUMENT && has("'transformer.ln_f.bias'") &&
          has("-inf at element 7"));
    zy_model_free(m);
    rm_dir(dir);
}
