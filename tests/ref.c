// Reader for the PyTorch reference dumps (format in harness.h, writer in tests/refio.py), and
// a writer of the same format for the round trips back into PyTorch (tests/roundtrip_*.py);
// the reader of the reference cases written as JSON lines.
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/core.h"

typedef struct {
    char *name;
    unsigned dtype;
    size_t n;
    void *data;
} zt_tensor;

struct zt_ref {
    char *path;
    zt_tensor *t;
    unsigned count;
};

static int rd(FILE *f, void *p, size_t bytes) { return fread(p, 1, bytes, f) == bytes; }

void zt_ref_free(zt_ref *r) {
    if (!r) return;
    for (unsigned i = 0; i < r->count; i++) {
        free(r->t[i].name);
        free(r->t[i].data);
    }
    free(r->t);
    free(r->path);
    free(r);
}

zt_ref *zt_ref_load(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        zt_fail(__FILE__, __LINE__, "cannot open reference %s (run `make refs`?)", path);
        return NULL;
    }
    zt_ref *r = calloc(1, sizeof *r);
    char magic[8];
    unsigned count;
    if (!r || !rd(f, magic, 8) || memcmp(magic, "ZYREF1\0\0", 8) || !rd(f, &count, 4) ||
        count > 100000)
        goto bad;
    r->path = strdup(path);
    r->t = calloc(count ? count : 1, sizeof *r->t);
    if (!r->t) goto bad;
    for (unsigned i = 0; i < count; i++, r->count++) {
        zt_tensor *t = &r->t[i];
        unsigned len, ndim, dim;
        if (!rd(f, &len, 4) || len > 4096) goto bad;
        t->name = calloc(len + 1, 1);
        if (!t->name || !rd(f, t->name, len)) goto bad;
        if (!rd(f, &t->dtype, 4) || t->dtype > 1 || !rd(f, &ndim, 4) || ndim > 8) goto bad;
        t->n = 1;
        for (unsigned d = 0; d < ndim; d++) {
            if (!rd(f, &dim, 4)) goto bad;
            t->n *= dim;
        }
        if (t->n > (1u << 30)) goto bad;
        t->data = malloc(t->n * 4 + 4);
        if (!t->data || !rd(f, t->data, t->n * 4)) goto bad;
    }
    fclose(f);
    return r;
bad:
    zt_fail(__FILE__, __LINE__, "reference file %s is malformed or truncated", path);
    fclose(f);
    zt_ref_free(r);
    return NULL;
}

static zt_tensor *find(zt_ref *r, const char *name, unsigned dtype) {
    if (!r) return NULL;
    for (unsigned i = 0; i < r->count; i++)
        if (!strcmp(r->t[i].name, name)) {
            if (r->t[i].dtype != dtype) break;
            return &r->t[i];
        }
    zt_fail(__FILE__, __LINE__, "%s: no %s tensor '%s'", r->path, dtype ? "int32" : "float32",
            name);
    return NULL;
}

const float *zt_ref_f(zt_ref *r, const char *name, size_t *n) {
    zt_tensor *t = find(r, name, 0);
    if (n) *n = t ? t->n : 0;
    return t ? t->data : NULL;
}

const int *zt_ref_i(zt_ref *r, const char *name, size_t *n) {
    zt_tensor *t = find(r, name, 1);
    if (n) *n = t ? t->n : 0;
    return t ? t->data : NULL;
}

float zt_ref_scalar(zt_ref *r, const char *name) {
    size_t n;
    const float *p = zt_ref_f(r, name, &n);
    return p && n ? p[0] : 0.0f / 0.0f;
}

void zt_ref_copy(float *dst, zt_ref *r, const char *prefix, const char *name, size_t n) {
    char key[128];
    size_t got = 0;
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    const float *src = zt_ref_f(r, key, &got);
    if (src && got == n) memcpy(dst, src, n * sizeof *dst);
    else if (src) zt_fail(__FILE__, __LINE__, "%s: %zu values, expected %zu", key, got, n);
}

void zt_ref_check(zt_ref *r, const char *prefix, const char *name, const float *got,
                  size_t n, double atol, double rtol) {
    char key[128];
    size_t nref = 0;
    snprintf(key, sizeof key, "%s.%s", prefix, name);
    const float *want = zt_ref_f(r, key, &nref);
    if (!want) return;
    if (nref != n) {
        zt_fail(__FILE__, __LINE__, "%s: %zu values, expected %zu", key, nref, n);
        return;
    }
    CHECK_CLOSE(key, got, want, n, atol, rtol);
}

int zt_ref_write(const char *path, const char **names, const void **data, const int *dtypes,
                 const int *dims0, const int *dims1, int count) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    uint32_t u = (uint32_t)count;
    int ok = fwrite("ZYREF1\0\0", 1, 8, f) == 8 && fwrite(&u, 4, 1, f) == 1;
    for (int i = 0; ok && i < count; i++) {
        uint32_t len = (uint32_t)strlen(names[i]), dt = (uint32_t)dtypes[i], nd = 2;
        uint32_t d0 = (uint32_t)dims0[i], d1 = (uint32_t)dims1[i];
        ok = fwrite(&len, 4, 1, f) == 1 && fwrite(names[i], 1, len, f) == len &&
             fwrite(&dt, 4, 1, f) == 1 && fwrite(&nd, 4, 1, f) == 1 &&
             fwrite(&d0, 4, 1, f) == 1 && fwrite(&d1, 4, 1, f) == 1 &&
             fwrite(data[i], 4, (size_t)d0 * d1, f) == (size_t)d0 * d1;
    }
    return fclose(f) == 0 && ok;
}

int zt_ref_cases(const char *path, int (*each)(const cJSON *c, void *ctx), void *ctx,
                 int *failed) {
    char *text = NULL;
    size_t len = 0;
    *failed = 0;
    if (zy_file_read(path, &text, &len)) {
        zt_fail(__FILE__, __LINE__, "%s (make refs writes it): %s", path, zy_last_error());
        return -1;
    }
    int n = 0;
    for (char *line = text, *nl; line < text + len && *failed < 5; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) nl = text + len;
        cJSON *c = cJSON_ParseWithLength(line, (size_t)(nl - line));
        if (!c) {
            zt_fail(__FILE__, __LINE__, "%s: a line is not JSON", path);
            break;
        }
        *failed += each(c, ctx);
        n++;
        cJSON_Delete(c);
    }
    zy_free(text);
    return n;
}

int zt_json_same_ints(const int32_t *a, int n, const cJSON *j) {
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != n) return 0;
    int i = 0;
    for (const cJSON *v = j->child; v; v = v->next, i++)
        if (!cJSON_IsNumber(v) || a[i] != (int32_t)v->valuedouble) return 0;
    return 1;
}
