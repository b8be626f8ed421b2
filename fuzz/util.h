// Shared by the libFuzzer harnesses (fuzz/fuzz_*.c, built and run by `make fuzz`): a
// per-process scratch directory for the APIs that take paths, little helpers to compare
// what the library gives back, and FZ_CHECK, which reports a violated property and aborts
// so that libFuzzer saves the input. Not part of the library or the tests.
#ifndef ZHUYI_FUZZ_UTIL_H
#define ZHUYI_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "zhuyi/zhuyi.h"

// A violated property: print where, what and zy_last_error(), then abort().
#define FZ_CHECK(cond)                                                                     \
    do {                                                                                   \
        if (!(cond)) fz_fail(__FILE__, __LINE__, "%s", #cond);                             \
    } while (0)
#define FZ_CHECKF(cond, ...)                                                               \
    do {                                                                                   \
        if (!(cond)) fz_fail(__FILE__, __LINE__, __VA_ARGS__);                             \
    } while (0)
_Noreturn void fz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// dir/name in the process's scratch directory (created on first use under /dev/shm, a
// tmpfs where the library's fsyncs cost nothing, else $TMPDIR or /tmp; removed at exit).
// The string is owned by the helper and valid until the next call with the same name.
const char *fz_path(const char *name);
// Write data[0..n) to fz_path(name) (plain write, not atomic) and return the path.
const char *fz_write(const char *name, const void *data, size_t n);
// The whole file (malloc'd, NUL-terminated; free()), or NULL if it cannot be read.
unsigned char *fz_read(const char *path, size_t *n);

// A failure the library may report for bad input: `want` (one of up to 3 statuses; pass
// the same one again to fill), and a message that names `what` (a path or a name).
void fz_expect_error(zy_status s, const char *what, zy_status a, zy_status b, zy_status c);

// The safetensors file a fuzz input stands for. An input starting with '{' is the JSON
// header, then (after the first NUL byte, if any) the data region: the 8-byte size is put
// in front here, so mutations of the header text keep a consistent file. Any other input
// is the file itself (the size field and its checks are fuzzed too). malloc'd; free().
unsigned char *fz_safetensors_bytes(const uint8_t *data, size_t size, size_t *n);

// Little-endian u64 from 8 bytes.
uint64_t fz_le64(const uint8_t *p);

// The lines of text[0..len): its line ends + 1, a line end being LF, CRLF or a CR alone
// (libcsv ends a row at each, so a CSV/TSV reader can find that many rows).
size_t fz_lines(const char *text, size_t len);
// The message of a failed read of `name` (text of len bytes) starts with the name; a
// row's error names a line, "name:N: ..." with 1 <= N <= the lines of the text; any other
// message (the file's) holds one of words[0..n).
void fz_check_read_message(const char *name, const char *text, size_t len,
                           const char *const *words, int n);
// o (deleted here) as one unformatted JSON line at the end of the malloc'd buffer *out of
// *n bytes in use and capacity *cap (both updated): writing examples back as JSON lines.
struct cJSON;
void fz_put_json_line(char **out, size_t *n, size_t *cap, struct cJSON *o);

#endif
