// Tests of src/core/file.c (atomic writes) and of the safetensors writer's failure paths:
// a failed or aborted write leaves the old file byte-identical and no temporary file
// behind; errors name the path and the errno text. The write failure is real, not
// simulated: RLIMIT_FSIZE makes write(2) fail with EFBIG part-way through (this runs as
// root, so an unwritable directory cannot be used to make it fail).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "test_safetensors.h"

static int file_is(const char *path, const char *want) {
    size_t n;
    unsigned char *b = stt_get_file(path, &n);
    int same = b && n == strlen(want) && !memcmp(b, want, n);
    free(b);
    return same;
}

TEST(st_atomic_stream_commit_and_abort) {
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", dir);
    ASSERT(zy_file_write_atomic(path, "old", 3) == ZY_STATUS_OK);
    CHECK(file_is(path, "old"));
    zy_file_writer *w;
    ASSERT(zy_file_writer_create(&w, path) == ZY_STATUS_OK);
    CHECK(zy_file_writer_write(w, "new ", 4) == ZY_STATUS_OK);
    CHECK(zy_file_writer_write(w, "data", 4) == ZY_STATUS_OK);
    CHECK(zy_file_writer_size(w) == 8);
    CHECK(stt_count_tmp(dir) == 1 && file_is(path, "old")); // nothing visible yet
    zy_file_writer_abort(w);
    CHECK(file_is(path, "old") && stt_count_tmp(dir) == 0);
    ASSERT(zy_file_writer_create(&w, path) == ZY_STATUS_OK);
    CHECK(zy_file_writer_write(w, "new ", 4) == ZY_STATUS_OK);
    CHECK(zy_file_writer_write(w, "data", 4) == ZY_STATUS_OK);
    CHECK(zy_file_writer_commit(w) == ZY_STATUS_OK);
    CHECK(file_is(path, "new data") && stt_count_tmp(dir) == 0);
    // Two writers of one target at once get distinct temporary files; the last commit wins.
    zy_file_writer *a, *b;
    ASSERT(zy_file_writer_create(&a, path) == ZY_STATUS_OK);
    ASSERT(zy_file_writer_create(&b, path) == ZY_STATUS_OK);
    CHECK(stt_count_tmp(dir) == 2);
    zy_file_writer_write(a, "A", 1);
    zy_file_writer_write(b, "B", 1);
    CHECK(zy_file_writer_commit(a) == ZY_STATUS_OK && zy_file_writer_commit(b) == ZY_STATUS_OK);
    CHECK(file_is(path, "B") && stt_count_tmp(dir) == 0);
    // A relative path (no directory part) works too: the directory synced is ".".
    char cwd[512];
    ASSERT(getcwd(cwd, sizeof cwd) != NULL);
    ASSERT(chdir(dir) == 0);
    CHECK(zy_file_write_atomic("rel.txt", "r", 1) == ZY_STATUS_OK);
    CHECK(chdir(cwd) == 0);
    snprintf(path, sizeof path, "%s/rel.txt", dir);
    CHECK(file_is(path, "r"));
    stt_rm_dir(dir);
}

TEST(st_atomic_errors_keep_old_file) {
    const char *dir = stt_tmp_dir();
    char path[256], missing[300], sub[300];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.json", dir);
    // A directory that does not exist: the error names the path and the errno text.
    CHECK(zy_file_write_atomic(missing, "x", 1) == ZY_STATUS_IO);
    CHECK(stt_has(zy_last_error(), missing) && stt_has(zy_last_error(), strerror(ENOENT)));
    zt_note("%s", zy_last_error());
    // The target is a directory: the rename fails, the directory stays, no temp is left.
    snprintf(sub, sizeof sub, "%s/adir", dir);
    ASSERT(mkdir(sub, 0755) == 0);
    CHECK(zy_file_write_atomic(sub, "x", 1) == ZY_STATUS_IO);
    CHECK(stt_has(zy_last_error(), sub) && stt_has(zy_last_error(), strerror(EISDIR)));
    struct stat sb;
    CHECK(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode) && stt_count_tmp(dir) == 0);

    // A real write failure part-way: file size limit 4 KiB, SIGXFSZ ignored so write(2)
    // returns EFBIG instead of killing the process.
    ASSERT(zy_file_write_atomic(path, "old", 3) == ZY_STATUS_OK);
    struct rlimit old_lim, lim;
    ASSERT(getrlimit(RLIMIT_FSIZE, &old_lim) == 0);
    void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old_lim;
    lim.rlim_cur = 4096;
    ASSERT(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    char *big = calloc(1, 100000);
    zy_status s1 = zy_file_write_atomic(path, big, 100000);
    char msg1[1024];
    snprintf(msg1, sizeof msg1, "%s", zy_last_error());
    // The safetensors writer through the same path: 10000 floats = 40 KB > 4 KiB.
    zy_safetensors_tensor t = {"w", (const float *)big, 1, {10000}};
    zy_status s2 = zy_safetensors_write(path, &t, 1, zy_safetensors_write_default_params());
    char msg2[1024];
    snprintf(msg2, sizeof msg2, "%s", zy_last_error());
    setrlimit(RLIMIT_FSIZE, &old_lim);
    signal(SIGXFSZ, old_sig);
    free(big);
    CHECK(s1 == ZY_STATUS_IO && stt_has(msg1, path) && stt_has(msg1, strerror(EFBIG)));
    CHECK(s2 == ZY_STATUS_IO && stt_has(msg2, path) && stt_has(msg2, strerror(EFBIG)));
    zt_note("%s", msg1);
    CHECK(file_is(path, "old") && stt_count_tmp(dir) == 0);

    // A failed write is sticky: later writes and the commit report it and clean up.
    zy_file_writer *w;
    ASSERT(zy_file_writer_create(&w, path) == ZY_STATUS_OK);
    ASSERT(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    old_sig = signal(SIGXFSZ, SIG_IGN);
    char buf[8192] = {0};
    zy_status a = zy_file_writer_write(w, buf, sizeof buf);
    zy_status b = zy_file_writer_write(w, buf, 10);
    setrlimit(RLIMIT_FSIZE, &old_lim);
    signal(SIGXFSZ, old_sig);
    CHECK(a == ZY_STATUS_IO && b == ZY_STATUS_IO && zy_file_writer_size(w) <= 4096);
    CHECK(zy_file_writer_commit(w) == ZY_STATUS_IO);
    CHECK(file_is(path, "old") && stt_count_tmp(dir) == 0);
    stt_rm_dir(dir);
}

TEST(st_write_rejects_bad_input) {
    // Invalid writer input: INVALID_ARGUMENT naming the tensor, nothing written, the old
    // file untouched.
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    ASSERT(zy_file_write_atomic(path, "old", 3) == ZY_STATUS_OK);
    float x[4] = {1, 2, 3, 4};
    zy_safetensors_write_params p = zy_safetensors_write_default_params();
    struct {
        zy_safetensors_tensor t[2];
        int n;
        const char *msg;
    } cases[] = {
        {{{"a", x, 1, {2}}, {"a", x, 1, {2}}}, 2, "tensor 'a': duplicate name"},
        {{{"a", x, 2, {2, -1}}}, 1, "tensor 'a': shape[1] = -1"},
        {{{"a", x, 9, {1}}}, 1, "tensor 'a': ndim 9"},
        {{{"a", NULL, 1, {2}}}, 1, "tensor 'a': data is NULL"},
        {{{"__metadata__", x, 1, {2}}}, 1, "'__metadata__' is reserved"},
        {{{"bad\xff", x, 1, {2}}}, 1, "not valid UTF-8"},
        {{{"", x, 1, {2}}}, 1, "has no name"},
        {{{"big", x, 2, {1LL << 40, 1LL << 40}}}, 1, "tensor 'big': too many elements"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        zy_status s = zy_safetensors_write(path, cases[i].t, cases[i].n, p);
        if (s != ZY_STATUS_INVALID_ARGUMENT || !stt_has(zy_last_error(), cases[i].msg))
            zt_fail(__FILE__, __LINE__, "case %zu: status %d \"%s\"", i, s, zy_last_error());
    }
    zy_safetensors_tensor ok = {"a", x, 1, {4}};
    zy_safetensors_kv dup[2] = {{"k", "1"}, {"k", "2"}};
    p.metadata = dup, p.n_metadata = 2;
    CHECK(zy_safetensors_write(path, &ok, 1, p) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(stt_has(zy_last_error(), "metadata key 'k' appears twice"));
    p.n_metadata = 0, p.dtype = ZY_DTYPE_I64;
    CHECK(zy_safetensors_write(path, &ok, 1, p) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(file_is(path, "old") && stt_count_tmp(dir) == 0);
    // No tensors at all is a valid (empty) file.
    p.dtype = ZY_DTYPE_F32;
    CHECK(zy_safetensors_write(path, NULL, 0, p) == ZY_STATUS_OK);
    zy_safetensors *st;
    CHECK(zy_safetensors_open(&st, path) == ZY_STATUS_OK && zy_safetensors_count(st) == 0);
    zy_safetensors_free(st);
    stt_rm_dir(dir);
}
