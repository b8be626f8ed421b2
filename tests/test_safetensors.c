// Tests of src/io: the safetensors reader and writer and atomic file writes. Round trips,
// byte-for-byte layout against tests/ref_safetensors.py (the reference writer's layout,
// PyTorch's F16/BF16 rounding), every validation error from a crafted file with its
// message, fuzzing (every truncation, byte flips, JSON mutations: no crash, only clean
// errors; meant to run under ASan), determinism, and that failed writes keep the old file.
// Float comparisons are bit-exact (tolerance 0): nothing here does arithmetic.
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "test_safetensors.h"
#include "zhuyi/io.h"

// ---- helpers ------------------------------------------------------------------------------
static char tdir[64];

const char *stt_tmp_dir(void) {
    // /dev/shm when there is one: the fuzz tests write thousands of small files.
    struct stat sb;
    int shm = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0;
    snprintf(tdir, sizeof tdir, "%s/zy_st_XXXXXX", shm ? "/dev/shm" : "/tmp");
    if (!mkdtemp(tdir)) zt_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
    return tdir;
}

// Remove the files (and empty directories) in dir, then dir.
void stt_rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0) rmdir(p);
        }
    closedir(d);
    rmdir(dir);
}

int stt_count_tmp(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

void stt_put_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) zt_fail(__FILE__, __LINE__, "cannot write %s", path);
    if (f) fclose(f);
}

unsigned char *stt_get_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    *n = 0;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = zt_malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

// u64 N = strlen(json), the JSON, then data_len bytes.
void stt_put_st(const char *path, const char *json, size_t data_len) {
    size_t n = strlen(json);
    unsigned char *b = zt_malloc(8 + n + data_len + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    for (size_t i = 0; i < data_len; i++) b[8 + n + i] = (unsigned char)(i * 37);
    stt_put_file(path, b, 8 + n + data_len);
    free(b);
}

int stt_has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

// Open path; on success read every tensor (floats converted, others raw). Returns the
// status, failing the test for anything but OK / BAD_FORMAT or a message without the path.
zy_status stt_open_read_all(const char *path, size_t file_size) {
    zy_safetensors *st;
    zy_status s = zy_safetensors_open(&st, path);
    if (s) {
        if (s != ZY_STATUS_BAD_FORMAT || !stt_has(zy_last_error(), path))
            zt_fail(__FILE__, __LINE__, "status %d: %s", s, zy_last_error());
        return s;
    }
    for (int i = 0; i < zy_safetensors_count(st); i++) {
        const zy_tensor_info *t = zy_safetensors_info(st, i);
        if (t->offset + t->nbytes > file_size) zt_fail(__FILE__, __LINE__, "range past file");
        void *buf = zt_malloc(t->nbytes * 2 + 4);
        zy_status r = (t->dtype <= ZY_DTYPE_BF16)
                          ? zy_safetensors_read_f32(st, t->name, buf, t->numel)
                          : zy_safetensors_read_raw(st, t->name, buf, t->nbytes);
        if (r) zt_fail(__FILE__, __LINE__, "read of '%s' failed: %s", t->name, zy_last_error());
        free(buf);
    }
    zy_safetensors_free(st);
    return s;
}

// A small valid file from the writer: 4 tensors of various ranks plus metadata.
float stt_fa[12], stt_fb[1] = {-2.5f}, stt_fd[5];
void stt_sample_tensors(zy_safetensors_tensor t[4]) {
    zt_fill_uniform(stt_fa, 12, 1, -1, 1);
    zt_fill_uniform(stt_fd, 5, 2, -100, 100);
    zy_safetensors_tensor s[4] = {
        {"d.bias", stt_fd, 1, {5}},
        {"a.weight", stt_fa, 2, {3, 4}},
        {"b", stt_fb, 0, {0}},
        {"c.empty", NULL, 2, {0, 2}},
    };
    memcpy(t, s, sizeof s);
}
const zy_safetensors_kv stt_meta[2] = {{"zeta", "last"}, {"format", "pt"}};

zy_safetensors_write_params stt_params_of(zy_dtype dt) {
    zy_safetensors_write_params p = zy_safetensors_write_default_params();
    p.dtype = dt;
    p.metadata = stt_meta;
    p.n_metadata = 2;
    return p;
}

// ---- round trip and layout --------------------------------------------------------------
TEST(st_roundtrip_f32_and_queries) {
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    zy_safetensors_tensor t[4];
    stt_sample_tensors(t);
    ASSERT(zy_safetensors_write(path, t, 4, stt_params_of(ZY_DTYPE_F32)) == ZY_STATUS_OK);
    zy_safetensors *st;
    ASSERT(zy_safetensors_open(&st, path) == ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_safetensors_count(st), 4);
    // Header order is name order; data follows contiguously from an 8-aligned start.
    const char *want[4] = {"a.weight", "b", "c.empty", "d.bias"};
    for (int i = 0; i < 4; i++) CHECK(!strcmp(zy_safetensors_info(st, i)->name, want[i]));
    const zy_tensor_info *a = zy_safetensors_find(st, "a.weight");
    ASSERT(a && a->ndim == 2 && a->shape[0] == 3 && a->shape[1] == 4 && a->numel == 12);
    CHECK(a->dtype == ZY_DTYPE_F32 && a->nbytes == 48 && a->offset % 8 == 0);
    const zy_tensor_info *b = zy_safetensors_find(st, "b");
    ASSERT(b && b->ndim == 0 && b->numel == 1 && b->offset == a->offset + 48);
    CHECK(zy_safetensors_find(st, "c.empty")->numel == 0);
    CHECK(zy_safetensors_find(st, "nope") == NULL);
    CHECK(!strcmp(zy_safetensors_metadata_get(st, "format"), "pt"));
    CHECK(zy_safetensors_metadata_count(st) == 2 && !zy_safetensors_metadata_get(st, "x"));
    const char *k, *v;
    zy_safetensors_metadata(st, 0, &k, &v); // written sorted by key
    CHECK(!strcmp(k, "format") && !strcmp(v, "pt"));

    float ga[12], gb, gd[5];
    CHECK(zy_safetensors_read_f32(st, "a.weight", ga, 12) == ZY_STATUS_OK);
    int64_t sh[2] = {3, 4};
    CHECK(zy_safetensors_read_shaped(st, "a.weight", ga, sh, 2) == ZY_STATUS_OK);
    CHECK(zy_safetensors_read_f32(st, "b", &gb, 1) == ZY_STATUS_OK);
    CHECK(zy_safetensors_read_f32(st, "d.bias", gd, 5) == ZY_STATUS_OK);
    CHECK(zy_safetensors_read_f32(st, "c.empty", NULL, 0) == ZY_STATUS_OK);
    CHECK(!memcmp(ga, stt_fa, sizeof ga) && gb == stt_fb[0] && !memcmp(gd, stt_fd, sizeof gd));
    CHECK_CLOSE("a.weight (bit-exact)", ga, stt_fa, 12, 0, 0);

    // Wrong count, wrong shape, absent name: clear errors naming both sides.
    CHECK(zy_safetensors_read_f32(st, "a.weight", ga, 11) == ZY_STATUS_SHAPE_MISMATCH);
    CHECK(stt_has(zy_last_error(), "'a.weight': has 12 elements, caller expects 11"));
    int64_t wrong[2] = {4, 3};
    CHECK(zy_safetensors_read_shaped(st, "a.weight", ga, wrong, 2) == ZY_STATUS_SHAPE_MISMATCH);
    CHECK(stt_has(zy_last_error(), "shape [3, 4], expected [4, 3]") && stt_has(zy_last_error(), path));
    CHECK(zy_safetensors_read_shaped(st, "a.weight", ga, sh, 1) == ZY_STATUS_SHAPE_MISMATCH);
    CHECK(zy_safetensors_read_f32(st, "nope", ga, 1) == ZY_STATUS_NOT_FOUND);
    CHECK(stt_has(zy_last_error(), "no tensor 'nope'"));
    CHECK(zy_safetensors_read_raw(st, "b", &gb, 3) == ZY_STATUS_SHAPE_MISMATCH);
    zt_note("%s", zy_last_error());
    zy_safetensors_free(st);
    stt_rm_dir(dir);
}

TEST(st_roundtrip_f16_bf16) {
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/half.safetensors", dir);
    zy_safetensors_tensor t[4];
    stt_sample_tensors(t);
    zy_dtype dts[2] = {ZY_DTYPE_F16, ZY_DTYPE_BF16};
    for (int k = 0; k < 2; k++) {
        ASSERT(zy_safetensors_write(path, t, 4, stt_params_of(dts[k])) == ZY_STATUS_OK);
        zy_safetensors *st;
        ASSERT(zy_safetensors_open(&st, path) == ZY_STATUS_OK);
        const zy_tensor_info *a = zy_safetensors_find(st, "a.weight");
        ASSERT(a && a->dtype == dts[k] && a->nbytes == 24);
        float got[12], want[12];
        uint16_t raw[12];
        CHECK(zy_safetensors_read_f32(st, "a.weight", got, 12) == ZY_STATUS_OK);
        CHECK(zy_safetensors_read_raw(st, "a.weight", raw, 24) == ZY_STATUS_OK);
        int bad = 0;
        for (int i = 0; i < 12; i++) {
            uint16_t h = k == 0 ? zy_f32_to_f16(stt_fa[i]) : zy_f32_to_bf16(stt_fa[i]);
            want[i] = k == 0 ? zy_f16_to_f32(h) : zy_bf16_to_f32(h);
            bad += raw[i] != h;
        }
        CHECK(bad == 0);
        CHECK_CLOSE(k == 0 ? "F16 round trip (exact)" : "BF16 round trip (exact)", got, want,
                    12, 0, 0);
        // Every range reads the same values as the whole tensor; past its end is refused.
        float part[12];
        int ranges_bad = 0;
        for (size_t first = 0; first <= 12; first++)
            for (size_t n = 0; first + n <= 12; n++)
                ranges_bad += zy_safetensors_read_f32_range(st, "a.weight", first, n, part) ||
                              memcmp(part, got + first, n * sizeof *part);
        CHECK(ranges_bad == 0);
        CHECK(zy_safetensors_read_f32_range(st, "a.weight", 5, 8, part) ==
              ZY_STATUS_SHAPE_MISMATCH);
        CHECK(zy_safetensors_read_f32_range(st, "a.weight", 13, 0, part) ==
              ZY_STATUS_SHAPE_MISMATCH);
        CHECK(zy_safetensors_read_f32_range(st, "nope", 0, 1, part) == ZY_STATUS_NOT_FOUND);
        zy_safetensors_free(st);
    }
    stt_rm_dir(dir);
}

TEST(st_write_layout_exact) {
    // The exact bytes of a tiny file, as the reference writer lays it out.
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/x.safetensors", dir);
    float bv[2] = {1.0f, 2.0f}, av = 3.0f;
    zy_safetensors_tensor t[2] = {{"b", bv, 1, {2}}, {"a", &av, 0, {0}}};
    zy_safetensors_kv m[1] = {{"format", "pt"}};
    zy_safetensors_write_params p = zy_safetensors_write_default_params();
    p.metadata = m, p.n_metadata = 1;
    ASSERT(zy_safetensors_write(path, t, 2, p) == ZY_STATUS_OK);
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    size_t hl = strlen(hdr), padded = (hl + 7) / 8 * 8, n;
    unsigned char *b = stt_get_file(path, &n);
    ASSERT(b && n == 8 + padded + 12);
    uint64_t N = 0;
    for (int i = 7; i >= 0; i--) N = N << 8 | b[i];
    CHECK(N == padded && (8 + N) % 8 == 0);
    CHECK(!memcmp(b + 8, hdr, hl));
    for (size_t i = hl; i < padded; i++) CHECK(b[8 + i] == ' ');
    float data[3];
    memcpy(data, b + 8 + padded, 12);
    CHECK(data[0] == 3.0f && data[1] == 1.0f && data[2] == 2.0f);
    free(b);
    stt_rm_dir(dir);
}

TEST(st_write_deterministic) {
    // Same tensors and metadata in another input order, written twice: identical bytes.
    const char *dir = stt_tmp_dir();
    char p1[256], p2[256];
    snprintf(p1, sizeof p1, "%s/1.safetensors", dir);
    snprintf(p2, sizeof p2, "%s/2.safetensors", dir);
    zy_safetensors_tensor t[4], r[4];
    stt_sample_tensors(t);
    for (int i = 0; i < 4; i++) r[i] = t[3 - i];
    zy_safetensors_kv m2[2] = {stt_meta[1], stt_meta[0]};
    for (int dt = 0; dt < 3; dt++) {
        zy_safetensors_write_params p = stt_params_of((zy_dtype)dt), q = p;
        q.metadata = m2;
        ASSERT(zy_safetensors_write(p1, t, 4, p) == ZY_STATUS_OK);
        ASSERT(zy_safetensors_write(p2, r, 4, q) == ZY_STATUS_OK);
        size_t n1, n2;
        unsigned char *b1 = stt_get_file(p1, &n1), *b2 = stt_get_file(p2, &n2);
        CHECK(b1 && b2 && n1 == n2 && !memcmp(b1, b2, n1));
        free(b1), free(b2);
    }
    CHECK(stt_count_tmp(dir) == 0);
    stt_rm_dir(dir);
}

// ---- cross-compatibility with tests/ref_safetensors.py ----------------------------------
// Re-write the reference file's tensors with zhuyi's writer (as dtype dt) and compare with
// the file the Python writer produced (torch's own F16/BF16 rounding for dt != F32).
static void rewrite_matches(const char *ref_path, zy_dtype dt, zy_safetensors *src,
                            const char *out) {
    zy_safetensors *ref;
    if (zy_safetensors_open(&ref, ref_path)) {
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
        return;
    }
    int n = zy_safetensors_count(ref);
    zy_safetensors_tensor *t = zt_malloc(sizeof *t * (size_t)n);
    float **bufs = zt_malloc(sizeof *bufs * (size_t)n);
    for (int i = 0; i < n; i++) {
        const zy_tensor_info *ri = zy_safetensors_info(ref, i);
        const zy_tensor_info *si = zy_safetensors_find(src, ri->name);
        if (!si) zt_fail(__FILE__, __LINE__, "'%s' not in the F32 file", ri->name);
        bufs[i] = zt_malloc(si ? si->numel * 4 + 4 : 4);
        if (si && zy_safetensors_read_f32(src, ri->name, bufs[i], si->numel))
            zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
        t[i].name = ri->name, t[i].data = bufs[i], t[i].ndim = ri->ndim;
        memcpy(t[i].shape, ri->shape, sizeof t[i].shape);
    }
    zy_safetensors_kv kv[8];
    int nm = zy_safetensors_metadata_count(ref);
    for (int i = 0; i < nm && i < 8; i++) zy_safetensors_metadata(ref, i, &kv[i].key, &kv[i].value);
    zy_safetensors_write_params p = {dt, kv, nm};
    CHECK(zy_safetensors_write(out, t, n, p) == ZY_STATUS_OK);
    size_t n1, n2;
    unsigned char *b1 = stt_get_file(ref_path, &n1), *b2 = stt_get_file(out, &n2);
    size_t first = 0;
    while (b1 && b2 && first < n1 && first < n2 && b1[first] == b2[first]) first++;
    zt_note("%s as %s: %zu bytes, first difference at byte %zu%s", ref_path, zy_dtype_name(dt),
            n1, first, first == n1 && n1 == n2 ? " (identical)" : "");
    CHECK(b1 && b2 && n1 == n2 && first == n1);
    free(b1), free(b2);
    for (int i = 0; i < n; i++) free(bufs[i]);
    free(bufs), free(t);
    zy_safetensors_free(ref);
}

TEST(st_ref_python_files) {
    zy_safetensors *src;
    ASSERT(zy_safetensors_open(&src, "tests/ref/st_f32.safetensors") == ZY_STATUS_OK);
    CHECK(zy_safetensors_find(src, "naïve \"quoted\"\tname\x01") != NULL); // escapes decoded
    CHECK(!strcmp(zy_safetensors_metadata_get(src, "zhuyi"), "reference \"file\"\n"));
    const char *dir = stt_tmp_dir();
    char out[256];
    snprintf(out, sizeof out, "%s/out.safetensors", dir);
    rewrite_matches("tests/ref/st_f32.safetensors", ZY_DTYPE_F32, src, out);
    rewrite_matches("tests/ref/st_f16.safetensors", ZY_DTYPE_F16, src, out);
    rewrite_matches("tests/ref/st_bf16.safetensors", ZY_DTYPE_BF16, src, out);
    // Reading torch's halves gives torch's own half -> float values.
    const char *files[2] = {"tests/ref/st_f16.safetensors", "tests/ref/st_bf16.safetensors"};
    const char *names[2] = {"specials_f16_as_f32", "specials_bf16_as_f32"};
    for (int k = 0; k < 2; k++) {
        zy_safetensors *h;
        ASSERT(zy_safetensors_open(&h, files[k]) == ZY_STATUS_OK);
        const zy_tensor_info *ti = zy_safetensors_find(h, "specials");
        ASSERT(ti && ti->dtype == (k ? ZY_DTYPE_BF16 : ZY_DTYPE_F16));
        float *got = zt_malloc(ti->numel * 4), *want = zt_malloc(ti->numel * 4);
        CHECK(zy_safetensors_read_f32(h, "specials", got, ti->numel) == ZY_STATUS_OK);
        CHECK(zy_safetensors_read_f32(src, names[k], want, ti->numel) == ZY_STATUS_OK);
        size_t bad = 0;
        for (size_t i = 0; i < ti->numel; i++)
            bad += !(isnan(got[i]) ? isnan(want[i]) : !memcmp(&got[i], &want[i], 4));
        zt_note("%s: %llu values vs torch, %zu differ", names[k],
                (unsigned long long)ti->numel, bad);
        CHECK(bad == 0);
        free(got), free(want);
        zy_safetensors_free(h);
    }
    zy_safetensors_free(src);
    stt_rm_dir(dir);
}

// ---- validation: each error from a crafted file ---------------------------------------------
#define T_(dt, shape, offs) "{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

TEST(st_validation_errors) {
    static const struct {
        const char *json;
        size_t data;
        const char *msg;
    } cases[] = {
        {"[1,2]", 0, "header is not a JSON object"},
        {"{\"a\":1", 0, "header is not valid JSON"},
        {"{} x", 0, "bytes after the JSON object"},
        {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': field 'dtype' missing"},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 'a': field 'shape' missing"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 'a': field 'data_offsets' missing"},
        {"{\"a\":" T_("Q7", "[2]", "[0,8]") "}", 8, "tensor 'a': unknown dtype 'Q7'"},
        {"{\"a\":{\"dtype\":5,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype is not a string"},
        {"{\"a\":" T_("F32", "[2,-1]", "[0,8]") "}", 8, "'a': shape[1] is not a non-negative"},
        {"{\"a\":" T_("F32", "[1.5]", "[0,8]") "}", 8, "shape[0] is not a non-negative"},
        {"{\"a\":" T_("F32", "\"2\"", "[0,8]") "}", 8, "shape is not an array"},
        {"{\"a\":" T_("F32", "[1,1,1,1,1,1,1,1,2]", "[0,8]") "}", 8, "shape has 9 dimensions"},
        {"{\"a\":" T_("F32", "[2]", "[0]") "}", 8, "data_offsets is not two non-negative"},
        {"{\"a\":" T_("F32", "[2]", "[0,1e300]") "}", 8, "data_offsets is not two non-negative"},
        {"{\"a\":" T_("F32", "[2]", "[8,0]") "}", 8, "data_offsets [8, 0] begin after end"},
        {"{\"h.0.attn.c_attn.weight\":" T_("F32", "[7]", "[12,40]") ",\"b\":"
         T_("F32", "[3]", "[0,12]") "}", 36,
         "tensor 'h.0.attn.c_attn.weight': data_offsets [12, 40] past end of data (36 bytes)"},
        {"{\"a\":" T_("F32", "[2,3]", "[0,20]") "}", 20,
         "'a': shape holds 6 elements of F32 = 24 bytes but data_offsets [0, 20] span 20"},
        {"{\"a\":" T_("BF16", "[4294967296,4294967296]", "[0,8]") "}", 8, "overflows 64 bits"},
        {"{\"a\":" T_("F32", "[1]", "[0,4]") ",\"a\":" T_("F32", "[1]", "[4,8]") "}", 8,
         "tensor 'a': duplicate tensor name"},
        {"{\"a\\u0000x\":" T_("F32", "[1]", "[0,4]") ",\"a\":" T_("F32", "[1]", "[4,8]") "}", 8,
         "tensor 'a': duplicate tensor name"},
        {"{\"a\":" T_("F32", "[2]", "[0,8]") ",\"b\":" T_("F32", "[2]", "[4,12]") "}", 12,
         "tensors 'a' [0, 8] and 'b' [4, 12] overlap"},
        {"{\"a\":" T_("F32", "[2]", "[0,8]") ",\"e\":" T_("F32", "[0]", "[4,4]") "}", 8,
         "overlap"},
        {"{\"a\":" T_("F32", "[1]", "[0,4]") ",\"b\":" T_("F32", "[1]", "[8,12]") "}", 12,
         "hole in data: bytes [4, 8) before tensor 'b'"},
        {"{\"a\":" T_("F32", "[1]", "[4,8]") "}", 8, "hole in data: bytes [0, 4) before tensor 'a'"},
        {"{\"a\":" T_("F32", "[1]", "[0,4]") "}", 8, "bytes [4, 8) after the last tensor"},
        {"{\"a\":" T_("F32", "[1]", "[0,4]") "}", 0, "past end of data (0 bytes)"},
        {"{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         "tensor 'a': field 'dtype' appears twice"},
        {"{\"a\":[1]}", 0, "tensor 'a': entry is not a JSON object"},
        {"{\"\":" T_("F32", "[1]", "[0,4]") "}", 4, "tensor with an empty name"},
        {"{\"\\ud800\":" T_("F32", "[1]", "[0,4]") "}", 4, "header is not valid JSON"},
        {"{\"__metadata__\":\"x\"}", 0, "__metadata__ is not an object"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__: value of 'k' is not a string"},
        {"{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "__metadata__: duplicate key 'k'"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice"},
    };
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int n = (int)(sizeof cases / sizeof *cases);
    for (int i = 0; i < n; i++) {
        stt_put_st(path, cases[i].json, cases[i].data);
        zy_safetensors *st = NULL;
        zy_status s = zy_safetensors_open(&st, path);
        const char *m = zy_last_error();
        if (s != ZY_STATUS_BAD_FORMAT || !stt_has(m, path) || !stt_has(m, cases[i].msg))
            zt_fail(__FILE__, __LINE__, "case %d (%s): status %d, message \"%s\", expected \"%s\"",
                    i, cases[i].json, s, m, cases[i].msg);
        if (st) zy_safetensors_free(st);
        if (i == 15) zt_note("e.g. %s", m);
    }
    zt_note("%d crafted headers rejected with the expected message", n);
    stt_rm_dir(dir);
}

TEST(st_validation_raw_bytes) {
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/raw.safetensors", dir);
    zy_safetensors *st = NULL;
    struct {
        unsigned char b[40];
        size_t n;
        const char *msg;
    } cases[] = {
        {{1, 0, 0}, 5, "too short for the 8-byte header size"},
        {{0x00, 0xC2, 0xEB, 0x0B, 0, 0, 0, 0, '{', '}'}, 10, "header size 200000000 exceeds"},
        {{0xE8, 0x03, 0, 0, 0, 0, 0, 0, '{', '}'}, 10, "header size 1000 past end of file"},
        {{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, '{', '}'}, 10, "exceeds the limit"},
        {{1, 0, 0, 0, 0, 0, 0, 0, '{'}, 9, "cannot hold a JSON object"},
        {{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, ' ', ' ', ' ', ' ', ' '}, 16, "NUL byte at offset 2"},
        {{8, 0, 0, 0, 0, 0, 0, 0, '{', '"', 0xFF, '"', ':', '1', '}', ' '}, 16,
         "not valid UTF-8 (byte 2)"},
        {{8, 0, 0, 0, 0, 0, 0, 0, '{', '"', 0xC0, 0x80, '"', ':', '1', '}'}, 16,
         "not valid UTF-8 (byte 2)"}, // overlong NUL
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        stt_put_file(path, cases[i].b, cases[i].n);
        zy_status s = zy_safetensors_open(&st, path);
        if (s != ZY_STATUS_BAD_FORMAT || !stt_has(zy_last_error(), cases[i].msg) ||
            !stt_has(zy_last_error(), path))
            zt_fail(__FILE__, __LINE__, "raw case %zu: status %d, \"%s\"", i, s, zy_last_error());
    }
    // Missing file and a directory: I/O errors naming the path and errno text.
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.safetensors", dir);
    CHECK(zy_safetensors_open(&st, missing) == ZY_STATUS_IO);
    CHECK(stt_has(zy_last_error(), missing) && stt_has(zy_last_error(), strerror(ENOENT)));
    CHECK(zy_safetensors_open(&st, dir) == ZY_STATUS_IO && stt_has(zy_last_error(), "not a regular"));
    CHECK(st == NULL);
    stt_rm_dir(dir);
}

TEST(st_unsupported_dtype_reads_raw) {
    // A valid file with an I64 tensor: listed, readable as bytes, refused as float by name.
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/ids.safetensors", dir);
    stt_put_st(path, "{\"ids\":" T_("I64", "[2]", "[0,16]") ",\"w\":" T_("F32", "[2,3]", "[16,40]")
                 "}    ", 40);
    zy_safetensors *st;
    ASSERT(zy_safetensors_open(&st, path) == ZY_STATUS_OK);
    const zy_tensor_info *ids = zy_safetensors_find(st, "ids");
    ASSERT(ids && ids->dtype == ZY_DTYPE_I64 && ids->nbytes == 16);
    float f[6];
    CHECK(zy_safetensors_read_f32(st, "ids", f, 2) == ZY_STATUS_UNSUPPORTED);
    CHECK(stt_has(zy_last_error(), "tensor 'ids': dtype I64 cannot be loaded as float"));
    unsigned char raw[16];
    CHECK(zy_safetensors_read_raw(st, "ids", raw, 16) == ZY_STATUS_OK);
    int ok = 1;
    for (int i = 0; i < 16; i++) ok &= raw[i] == (unsigned char)(i * 37);
    CHECK(ok);
    CHECK(zy_safetensors_read_f32(st, "w", f, 6) == ZY_STATUS_OK);
    zy_safetensors_free(st);
    stt_rm_dir(dir);
}
