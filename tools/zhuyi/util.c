// Argument parsing and error helpers shared by the subcommands.
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"
#include "zhuyi/core.h"
#include "zhuyi/gemm.h"

int zy_cli_precision = -1;

zy_precision zy_cli_default_precision(void) {
    if (zy_cli_precision >= 0) return (zy_precision)zy_cli_precision;
    return zy_bf16_level() != ZY_BF16_EMULATED ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32;
}

void zy_cli_use_precision(void) {
    zy_gemm_precision_set(zy_cli_default_precision());
}

// The calling thread's capture (zy_cli_capture): where its messages go instead of stderr.
static _Thread_local char *capture_buf;
static _Thread_local size_t capture_cap;
static _Thread_local bool capturing;

void zy_cli_capture(char *buf, size_t cap) {
    capturing = buf != NULL || cap != 0;
    capture_buf = buf;
    capture_cap = buf ? cap : 0;
    if (capture_buf && capture_cap) capture_buf[0] = 0;
}

int zy_cli_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (capturing) {
        if (capture_cap) vsnprintf(capture_buf, capture_cap, fmt, ap);
    } else {
        fputs("zhuyi: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
    return 1;
}

int zy_cli_parse_int(const char *s, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int zy_cli_parse_float(const char *s, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi)) return -1;
    *out = (float)v;
    return 0;
}

int zy_cli_threads(const char *command, const char *v) {
    int n;
    if (zy_cli_parse_int(v, 1, 4096, &n))
        return zy_cli_die("%s: --threads '%s' is not a number from 1 to 4096", command, v);
    zy_threads_set(n);
    return 0;
}

bool zy_cli_dir_file(const char *dir, const char *name, char *buf, size_t cap) {
    struct stat st;
    return (size_t)snprintf(buf, cap, "%s/%s", dir, name) < cap && stat(buf, &st) == 0 &&
           S_ISREG(st.st_mode);
}

// All of f (to EOF), NUL-terminated, malloc'd; *n its bytes. NULL if out of memory.
char *zy_cli_read_stream(FILE *f, size_t *n) {
    size_t cap = 1 << 16;
    char *buf = malloc(cap + 1);
    *n = 0;
    while (buf) {
        *n += fread(buf + *n, 1, cap - *n, f);
        if (*n < cap) break;
        char *bigger = realloc(buf, cap * 2 + 1);
        if (!bigger) free(buf);
        buf = bigger;
        cap *= 2;
    }
    if (buf) buf[*n] = 0;
    return buf;
}
