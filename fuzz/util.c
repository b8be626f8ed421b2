// Helpers of the fuzz harnesses (util.h).
#include "util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[256];

void fz_fail(const char *file, int line, const char *fmt, ...) {
    fprintf(stderr, "\n== PROPERTY VIOLATED at %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n   zy_last_error: %s\n", zy_last_error());
    abort();
}

static void remove_scratch(void) {
    if (!scratch[0]) return;
    DIR *d = opendir(scratch);
    if (d) {
        char p[512];
        for (struct dirent *e; (e = readdir(d));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", scratch, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(scratch);
}

static const char *scratch_dir(void) {
    if (scratch[0]) return scratch;
    struct stat sb;
    const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
                               access("/dev/shm", W_OK) == 0
                           ? "/dev/shm"
                           : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(scratch, sizeof scratch, "%s/zhuyi-fuzz.XXXXXX", base);
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "fuzz: cannot create a scratch directory under %s\n", base);
        abort();
    }
    atexit(remove_scratch);
    return scratch;
}

// A few names at most per harness: a small table of paths.
enum { MAX_PATHS = 16 };
static char paths[MAX_PATHS][320];

const char *fz_path(const char *name) {
    const char *dir = scratch_dir();
    char want[320];
    snprintf(want, sizeof want, "%s/%s", dir, name);
    for (int i = 0; i < MAX_PATHS; i++) {
        if (!strcmp(paths[i], want)) return paths[i];
        if (!paths[i][0]) {
            memcpy(paths[i], want, sizeof want);
            return paths[i];
        }
    }
    fprintf(stderr, "fuzz: more than %d scratch file names\n", MAX_PATHS);
    abort();
}

const char *fz_write(const char *name, const void *data, size_t n) {
    const char *p = fz_path(name);
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
        fprintf(stderr, "fuzz: cannot write %s\n", p);
        abort();
    }
    return p;
}

unsigned char *fz_read(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    unsigned char *b = malloc(cap + 1);
    for (size_t k; b && (k = fread(b + len, 1, cap - len, f)) > 0;) {
        len += k;
        if (len == cap) {
            unsigned char *g = realloc(b, 2 * cap + 1);
            if (!g) free(b);
            b = g;
            cap *= 2;
        }
    }
    fclose(f);
    if (!b) return NULL;
    b[len] = 0;
    *n = len;
    return b;
}

void fz_expect_error(zy_status s, const char *what, zy_status a, zy_status b, zy_status c) {
    FZ_CHECKF(s == a || s == b || s == c, "unexpected status %d (%s) for bad input", (int)s,
              zy_status_str(s));
    FZ_CHECKF(strstr(zy_last_error(), what) != NULL, "error message does not name '%s'",
              what);
}

uint64_t fz_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

unsigned char *fz_safetensors_bytes(const uint8_t *data, size_t size, size_t *n) {
    unsigned char *out = malloc(size + 8);
    if (!out) abort();
    if (size == 0 || data[0] != '{') {
        if (size) memcpy(out, data, size);
        *n = size;
        return out;
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t h = nul ? (size_t)(nul - data) : size, rest = nul ? size - h - 1 : 0;
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(out + 8, data, h);
    if (rest) memcpy(out + 8 + h, nul + 1, rest);
    *n = 8 + h + rest;
    return out;
}

size_t fz_lines(const char *text, size_t len) {
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n' || (text[i] == '\r' && (i + 1 == len || text[i + 1] != '\n'));
    return n;
}

void fz_check_read_message(const char *name, const char *text, size_t len,
                           const char *const *words, int n_words) {
    const char *m = zy_last_error();
    size_t n = strlen(name);
    FZ_CHECKF(strncmp(m, name, n) == 0, "the message does not start with %s: %s", name, m);
    if (m[n] == ':' && m[n + 1] >= '0' && m[n + 1] <= '9') { // "name:LINE: ..."
        char *end;
        unsigned long long line = strtoull(m + n + 1, &end, 10);
        FZ_CHECKF(end > m + n + 1 && *end == ':' && line >= 1 && line <= fz_lines(text, len),
                  "bad line in: %s", m);
        return;
    }
    // A file-level message: no line to name.
    int k = 0;
    while (k < n_words && !strstr(m, words[k])) k++;
    FZ_CHECKF(k < n_words, "a message naming no line: %s", m);
}

void fz_put_json_line(char **out, size_t *n, size_t *cap, struct cJSON *o) {
    char *line = cJSON_PrintUnformatted(o);
    size_t m = strlen(line);
    if (*n + m + 2 > *cap) {
        *cap = (*n + m + 2) * 2;
        *out = realloc(*out, *cap);
    }
    memcpy(*out + *n, line, m);
    *n += m;
    (*out)[(*n)++] = '\n';
    free(line);
    cJSON_Delete(o);
}
