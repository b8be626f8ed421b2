// config.json as a typed object (zy_config, hf.h): reading and parsing, getters that check
// type and range and name the file and field in their errors, and setters. Writing the
// Hugging Face text form is config_write.c. Not here: what any model's fields mean (the
// models read them through the getters).
//
// Read: at most ZY_CONFIG_MAX_BYTES (checked before the file is read), UTF-8 without NUL
// bytes, exactly one JSON object followed only by whitespace, no key twice in any object
// (Python would keep the last silently; a duplicate is almost always an editing mistake),
// every number finite. Errors give the line. Unknown fields are kept, so a config that is
// loaded and saved again loses nothing.
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "io/config_internal.h"
#include "io/safetensors.h"

#define BAD(...) zy__error(ZY_STATUS_BAD_FORMAT, __VA_ARGS__)
#define OOM(c) zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", zy_config_name(c))

// The 1-based line of text[pos].
static long line_of(const char *text, size_t pos) {
    long line = 1;
    for (size_t i = 0; i < pos; i++) line += text[i] == '\n';
    return line;
}

zy_status zy__config_rename(const zy_config *c, const char *name) {
    if (!name) name = "config";
    char *copy = zy__strdup(name);
    if (!copy) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", name);
    zy_free(c->label->name);
    c->label->name = copy;
    return ZY_STATUS_OK;
}

// A config around root (taken over; freed on failure).
static zy_status wrap(zy_config **out, cJSON *root, const char *name) {
    zy_config *c = zy_calloc(1, sizeof *c);
    if (!c || !root) goto fail;
    c->root = root;
    c->label = zy_calloc(1, sizeof *c->label);
    if (!c->label || zy__config_rename(c, name)) goto fail;
    *out = c;
    return ZY_STATUS_OK;
fail:
    cJSON_Delete(root);
    if (c) zy_free(c->label);
    zy_free(c);
    return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", name ? name : "config");
}

zy_status zy_config_create(zy_config **out, const char *name) {
    *out = NULL;
    return wrap(out, cJSON_CreateObject(), name);
}

static int cmp_key(const void *a, const void *b) {
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

// Duplicate keys and non-finite numbers anywhere under j (`field`: the top-level key it
// sits in, for messages). cJSON bounds the nesting depth (CJSON_NESTING_LIMIT), so the
// recursion is bounded too.
static zy_status check_tree(const cJSON *j, const char *name, const char *field) {
    if (cJSON_IsNumber(j) && !isfinite(j->valuedouble))
        return BAD("%s: field '%s': number out of range", name, field);
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) return ZY_STATUS_OK;
    size_t n = 0;
    for (const cJSON *e = j->child; e; e = e->next) n++;
    const cJSON **keys = NULL;
    if (cJSON_IsObject(j) && n > 1 && !(keys = zy_alloc(n * sizeof *keys)))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", name);
    size_t k = 0;
    zy_status s = ZY_STATUS_OK;
    for (const cJSON *e = j->child; e && !s; e = e->next) {
        if (keys) keys[k++] = e;
        s = check_tree(e, name, field ? field : e->string);
    }
    if (keys && !s) {
        qsort(keys, n, sizeof *keys, cmp_key);
        for (size_t i = 1; i < n && !s; i++)
            if (!strcmp(keys[i]->string, keys[i - 1]->string))
                s = field ? BAD("%s: field '%s': key '%s' appears twice", name, field,
                                keys[i]->string)
                          : BAD("%s: field '%s' appears twice", name, keys[i]->string);
    }
    zy_free(keys);
    return s;
}

zy_status zy_config_parse(zy_config **out, const char *text, size_t len, const char *name) {
    *out = NULL;
    if (!name) name = "config";
    if (len > ZY_CONFIG_MAX_BYTES)
        return BAD("%s: %zu bytes is too large for a config (limit %u)", name, len,
                   ZY_CONFIG_MAX_BYTES);
    const char *nul = memchr(text, 0, len);
    if (nul) return BAD("%s: NUL byte (line %ld)", name, line_of(text, (size_t)(nul - text)));
    size_t bad;
    if (!zy__utf8_valid(text, len, &bad))
        return BAD("%s: not valid UTF-8 (line %ld)", name, line_of(text, bad));
    const char *end = NULL;
    errno = 0; // cJSON allocates with malloc, which sets ENOMEM when it fails
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root && errno == ENOMEM)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory parsing JSON", name);
    if (!root) {
        size_t pos = end && end >= text && end <= text + len ? (size_t)(end - text) : len;
        return BAD("%s: not valid JSON (line %ld)", name, line_of(text, pos));
    }
    size_t pos = end ? (size_t)(end - text) : len;
    while (pos < len && strchr(" \t\r\n", text[pos])) pos++;
    zy_status s = ZY_STATUS_OK;
    if (pos < len) s = BAD("%s: text after the JSON object (line %ld)", name, line_of(text, pos));
    else if (!cJSON_IsObject(root)) s = BAD("%s: not a JSON object", name);
    else s = check_tree(root, name, NULL);
    if (s) {
        cJSON_Delete(root);
        return s;
    }
    return wrap(out, root, name);
}

zy_status zy_config_load(zy_config **out, const char *path) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return zy__error(errno == ENOENT || errno == ENOTDIR ? ZY_STATUS_NOT_FOUND
                                                             : ZY_STATUS_IO,
                         "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return zy__error(ZY_STATUS_IO, "%s: is a directory", path);
    // Refused before reading: a config is a few kilobytes, a 10 GB file given by mistake
    // must not be read into memory first.
    if (S_ISREG(sb.st_mode) && sb.st_size > (off_t)ZY_CONFIG_MAX_BYTES)
        return BAD("%s: %lld bytes is too large for a config (limit %u)", path,
                   (long long)sb.st_size, ZY_CONFIG_MAX_BYTES);
    char *text;
    size_t len;
    zy_status s = zy_file_read(path, &text, &len);
    if (s) return s;
    s = zy_config_parse(out, text, len, path);
    zy_free(text);
    return s;
}

zy_status zy_config_copy(zy_config **out, const zy_config *c) {
    *out = NULL;
    return wrap(out, cJSON_Duplicate(c->root, 1), zy_config_name(c));
}

void zy_config_free(zy_config *c) {
    if (!c) return;
    cJSON_Delete(c->root);
    zy_free(c->label->name);
    zy_free(c->label);
    zy_free(c);
}

const char *zy_config_name(const zy_config *c) { return c->label->name; }

// ---- getters ----------------------------------------------------------------------------

// The value of key, NULL when absent or JSON null.
static const cJSON *value(const zy_config *c, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
    return cJSON_IsNull(v) ? NULL : v;
}

static zy_status missing(const zy_config *c, const char *key) {
    return zy__error(ZY_STATUS_NOT_FOUND, "%s: field '%s' missing", zy_config_name(c), key);
}

// What v is, for messages: its value if a number, else its type ("a string").
static const char *found(const cJSON *v, char *buf, size_t cap) {
    if (cJSON_IsNumber(v)) snprintf(buf, cap, "%.17g", v->valuedouble);
    else if (cJSON_IsString(v)) snprintf(buf, cap, "a string");
    else if (cJSON_IsBool(v)) snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsArray(v)) snprintf(buf, cap, "an array");
    else snprintf(buf, cap, "an object");
    return buf;
}

bool zy_config_has(const zy_config *c, const char *key) { return value(c, key) != NULL; }

zy_status zy_config_get_int(const zy_config *c, const char *key, long lo, long hi, int *out) {
    const cJSON *v = value(c, key);
    if (!v) return missing(c, key);
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    // Comparisons with NaN are false, so a non-number fails every test below.
    if (!(d == floor(d) && d >= (double)lo && d <= (double)hi && d >= INT_MIN && d <= INT_MAX)) {
        char buf[64];
        return BAD("%s: field '%s' must be an integer in [%ld, %ld] (found %s)",
                   zy_config_name(c), key, lo, hi, found(v, buf, sizeof buf));
    }
    *out = (int)d;
    return ZY_STATUS_OK;
}

zy_status zy_config_get_float(const zy_config *c, const char *key, double lo, double hi,
                              float *out) {
    const cJSON *v = value(c, key);
    if (!v) return missing(c, key);
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= lo && d <= hi && isfinite((float)d))) {
        char buf[64];
        return BAD("%s: field '%s' must be a number in [%g, %g] (found %s)", zy_config_name(c),
                   key, lo, hi, found(v, buf, sizeof buf));
    }
    *out = (float)d;
    return ZY_STATUS_OK;
}

zy_status zy_config_get_bool(const zy_config *c, const char *key, bool *out) {
    const cJSON *v = value(c, key);
    if (!v) return missing(c, key);
    if (!cJSON_IsBool(v)) {
        char buf[64];
        return BAD("%s: field '%s' must be true or false (found %s)", zy_config_name(c), key,
                   found(v, buf, sizeof buf));
    }
    *out = cJSON_IsTrue(v);
    return ZY_STATUS_OK;
}

zy_status zy_config_get_string(const zy_config *c, const char *key, const char **out) {
    const cJSON *v = value(c, key);
    if (!v) return missing(c, key);
    if (!cJSON_IsString(v)) {
        char buf[64];
        return BAD("%s: field '%s' must be a string (found %s)", zy_config_name(c), key,
                   found(v, buf, sizeof buf));
    }
    *out = v->valuestring;
    return ZY_STATUS_OK;
}

int zy_config_array_count(const zy_config *c, const char *key) {
    const cJSON *v = value(c, key);
    if (!v) return 0;
    if (!cJSON_IsArray(v)) {
        char buf[64];
        return BAD("%s: field '%s' must be an array (found %s)", zy_config_name(c), key,
                   found(v, buf, sizeof buf));
    }
    return cJSON_GetArraySize(v);
}

zy_status zy_config_get_string_at(const zy_config *c, const char *key, int i,
                                  const char **out) {
    int n = zy_config_array_count(c, key);
    if (n < 0) return (zy_status)n;
    if (i < 0 || i >= n)
        return zy__error(ZY_STATUS_NOT_FOUND, "%s: field '%s' has no item %d (it has %d)",
                         zy_config_name(c), key, i, n);
    const cJSON *v = cJSON_GetArrayItem(value(c, key), i);
    if (!cJSON_IsString(v)) {
        char buf[64];
        return BAD("%s: field '%s' item %d must be a string (found %s)", zy_config_name(c),
                   key, i, cJSON_IsNull(v) ? "null" : found(v, buf, sizeof buf));
    }
    *out = v->valuestring;
    return ZY_STATUS_OK;
}

// ---- setters ----------------------------------------------------------------------------

// Replace key's value by item (taken over, freed on failure; NULL means its creation
// failed).
static zy_status put(zy_config *c, const char *key, cJSON *item) {
    if (!item) return OOM(c);
    if (!zy__utf8_valid(key, strlen(key), NULL)) {
        cJSON_Delete(item);
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: key is not valid UTF-8",
                         zy_config_name(c));
    }
    cJSON_DeleteItemFromObjectCaseSensitive(c->root, key);
    if (!cJSON_AddItemToObject(c->root, key, item)) {
        cJSON_Delete(item);
        return OOM(c);
    }
    return ZY_STATUS_OK;
}

zy_status zy_config_set_int(zy_config *c, const char *key, long v) {
    return put(c, key, cJSON_CreateNumber((double)v));
}

// The double whose shortest decimal is the shortest one that reads back to (float)v, so
// 0.1f is stored (and written) as 0.1, not 0.100000001490116. Values outside float's
// normal range are kept as they are.
static double float_decimal(double v) {
    float f = (float)v;
    if (v != 0 && !(fabs(v) >= 0x1p-126 && fabs(v) <= 0x1.fffffep127)) return v;
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

zy_status zy_config_set_float(zy_config *c, const char *key, double v) {
    if (!isfinite(v))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: field '%s': %g is not finite",
                         zy_config_name(c), key, v);
    return put(c, key, cJSON_CreateNumber(float_decimal(v)));
}

zy_status zy_config_set_bool(zy_config *c, const char *key, bool v) {
    return put(c, key, cJSON_CreateBool(v));
}

static zy_status check_utf8(const zy_config *c, const char *key, const char *v) {
    if (zy__utf8_valid(v, strlen(v), NULL)) return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: field '%s': value is not valid UTF-8",
                     zy_config_name(c), key);
}

zy_status zy_config_set_string(zy_config *c, const char *key, const char *v) {
    zy_status s = check_utf8(c, key, v);
    return s ? s : put(c, key, cJSON_CreateString(v));
}

zy_status zy_config_set_null(zy_config *c, const char *key) {
    return put(c, key, cJSON_CreateNull());
}

zy_status zy_config_set_strings(zy_config *c, const char *key, const char *const *v, int n) {
    zy_status s;
    if (n < 0) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: field '%s': %d strings",
                                zy_config_name(c), key, n);
    for (int i = 0; i < n; i++)
        if ((s = check_utf8(c, key, v[i]))) return s;
    // cJSON_CreateStringArray refuses (NULL, 0).
    return put(c, key, n ? cJSON_CreateStringArray(v, n) : cJSON_CreateArray());
}

void zy_config_remove(zy_config *c, const char *key) {
    cJSON_DeleteItemFromObjectCaseSensitive(c->root, key);
}
