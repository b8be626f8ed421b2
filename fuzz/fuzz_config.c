// libFuzzer harness: config.json as a typed object (include/zhuyi/hf.h, src/io/config*.c).
// The input is the text given to zy_config_parse. Properties checked on every input:
//  - a refusal is ZY_STATUS_BAD_FORMAT with a message naming the config;
//  - an accepted config is one JSON object with no key twice in any object and only finite
//    numbers (what config.c promises);
//  - every getter agrees with the JSON value of each top-level key: get_int succeeds exactly
//    for whole numbers in range and returns them, get_float for numbers in range that are
//    finite as floats, get_bool for true/false, get_string for strings (the same text),
//    array_count / get_string_at for arrays; has() is false for absent and null keys, and
//    every getter then says ZY_STATUS_NOT_FOUND;
//  - zy_config_save -> zy_config_load gives the same tree (same keys, same strings, numbers
//    bit for bit), named by the new path; saving that again gives the same bytes;
//    zy_config_copy gives the same tree; a setter's value reads back.
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "io/config_internal.h"

static int cmp_key(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static size_t children(const cJSON *j) {
    size_t n = 0;
    for (const cJSON *e = j->child; e; e = e->next) n++;
    return n;
}

// Children of an object sorted by key (malloc'd).
static const cJSON **sorted(const cJSON *j, size_t n) {
    const cJSON **v = malloc((n + 1) * sizeof *v);
    FZ_CHECK(v);
    size_t k = 0;
    for (const cJSON *e = j->child; e; e = e->next) v[k++] = e;
    qsort(v, n, sizeof *v, cmp_key);
    return v;
}

// Exactly the same JSON value: numbers bit for bit, objects as sorted key sets.
static int same(const cJSON *a, const cJSON *b) {
    if ((a->type & 0xFF) != (b->type & 0xFF)) return 0;
    if (cJSON_IsNumber(a)) return !memcmp(&a->valuedouble, &b->valuedouble, sizeof(double));
    if (cJSON_IsString(a)) return !strcmp(a->valuestring, b->valuestring);
    if (!cJSON_IsObject(a) && !cJSON_IsArray(a)) return 1;
    size_t n = children(a);
    if (n != children(b)) return 0;
    if (cJSON_IsArray(a)) {
        for (const cJSON *x = a->child, *y = b->child; x; x = x->next, y = y->next)
            if (!same(x, y)) return 0;
        return 1;
    }
    const cJSON **x = sorted(a, n), **y = sorted(b, n);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++)
        ok = !strcmp(x[i]->string, y[i]->string) && same(x[i], y[i]);
    free(x);
    free(y);
    return ok;
}

// What config.c promises of an accepted tree: unique keys, finite numbers.
static void check_tree(const cJSON *j) {
    if (cJSON_IsNumber(j)) FZ_CHECK(isfinite(j->valuedouble));
    if (!cJSON_IsObject(j) && !cJSON_IsArray(j)) return;
    size_t n = children(j);
    if (cJSON_IsObject(j) && n > 1) {
        const cJSON **v = sorted(j, n);
        for (size_t i = 1; i < n; i++) FZ_CHECKF(strcmp(v[i]->string, v[i - 1]->string),
                                                "key '%s' twice", v[i]->string);
        free(v);
    }
    for (const cJSON *e = j->child; e; e = e->next) check_tree(e);
}

static void check_getters(const zy_config *c, const char *key, const cJSON *v) {
    int i = 12345;
    float f = 1.5f;
    bool b = false;
    const char *s = NULL;
    if (cJSON_IsNull(v)) {
        FZ_CHECK(!zy_config_has(c, key));
        FZ_CHECK(zy_config_get_int(c, key, 0, 1, &i) == ZY_STATUS_NOT_FOUND && i == 12345);
        FZ_CHECK(zy_config_get_float(c, key, 0, 1, &f) == ZY_STATUS_NOT_FOUND);
        FZ_CHECK(zy_config_get_bool(c, key, &b) == ZY_STATUS_NOT_FOUND);
        FZ_CHECK(zy_config_get_string(c, key, &s) == ZY_STATUS_NOT_FOUND);
        FZ_CHECK(zy_config_array_count(c, key) == 0);
        return;
    }
    FZ_CHECK(zy_config_has(c, key));
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    const long lo = -1000000, hi = 1000000;
    zy_status st = zy_config_get_int(c, key, lo, hi, &i);
    int whole = cJSON_IsNumber(v) && d == floor(d) && d >= lo && d <= hi;
    FZ_CHECKF(whole ? st == ZY_STATUS_OK && i == (int)d : st == ZY_STATUS_BAD_FORMAT && i == 12345,
              "get_int('%s') = %d", key, (int)st);
    st = zy_config_get_int(c, key, LONG_MIN, LONG_MAX, &i); // clipped to int's range
    whole = cJSON_IsNumber(v) && d == floor(d) && d >= INT_MIN && d <= INT_MAX;
    FZ_CHECK(whole ? st == ZY_STATUS_OK && i == (int)d : st == ZY_STATUS_BAD_FORMAT);
    st = zy_config_get_float(c, key, -1e30, 1e30, &f);
    int num = cJSON_IsNumber(v) && d >= -1e30 && d <= 1e30;
    FZ_CHECKF(num ? st == ZY_STATUS_OK && f == (float)d : st == ZY_STATUS_BAD_FORMAT,
              "get_float('%s') = %d", key, (int)st);
    st = zy_config_get_bool(c, key, &b);
    FZ_CHECK(cJSON_IsBool(v) ? st == ZY_STATUS_OK && b == cJSON_IsTrue(v)
                             : st == ZY_STATUS_BAD_FORMAT);
    st = zy_config_get_string(c, key, &s);
    FZ_CHECK(cJSON_IsString(v) ? st == ZY_STATUS_OK && s == v->valuestring
                               : st == ZY_STATUS_BAD_FORMAT);
    int n = zy_config_array_count(c, key);
    if (!cJSON_IsArray(v)) {
        FZ_CHECK(n == ZY_STATUS_BAD_FORMAT);
        FZ_CHECK(zy_config_get_string_at(c, key, 0, &s) == ZY_STATUS_BAD_FORMAT);
        return;
    }
    FZ_CHECK(n == cJSON_GetArraySize(v));
    FZ_CHECK(zy_config_get_string_at(c, key, n, &s) == ZY_STATUS_NOT_FOUND);
    FZ_CHECK(zy_config_get_string_at(c, key, -1, &s) == ZY_STATUS_NOT_FOUND);
    int k = 0;
    for (const cJSON *e = v->child; e && k < 16; e = e->next, k++) {
        st = zy_config_get_string_at(c, key, k, &s);
        FZ_CHECK(cJSON_IsString(e) ? st == ZY_STATUS_OK && s == e->valuestring
                                   : st == ZY_STATUS_BAD_FORMAT);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    zy_config *c;
    zy_status st = zy_config_parse(&c, (const char *)data, size, "fuzz.json");
    if (st) {
        FZ_CHECK(c == NULL);
        fz_expect_error(st, "fuzz.json", ZY_STATUS_BAD_FORMAT, ZY_STATUS_BAD_FORMAT,
                        ZY_STATUS_BAD_FORMAT);
        return 0;
    }
    FZ_CHECK(cJSON_IsObject(c->root));
    FZ_CHECK(!strcmp(zy_config_name(c), "fuzz.json"));
    check_tree(c->root);
    int k = 0;
    for (const cJSON *e = c->root->child; e && k < 64; e = e->next, k++)
        check_getters(c, e->string, e);
    const char *absent = "\x01 not a key";
    if (!cJSON_GetObjectItemCaseSensitive(c->root, absent)) { // the fuzzer may write it
        FZ_CHECK(!zy_config_has(c, absent));
        FZ_CHECK(zy_config_array_count(c, absent) == 0);
    }

    zy_config *copy;
    FZ_CHECK(zy_config_copy(&copy, c) == ZY_STATUS_OK);
    FZ_CHECK(same(c->root, copy->root));

    const char *p1 = fz_path("config1.json"), *p2 = fz_path("config2.json");
    FZ_CHECK(zy_config_save(c, p1) == ZY_STATUS_OK);
    FZ_CHECK(!strcmp(zy_config_name(c), p1));
    zy_config *back;
    st = zy_config_load(&back, p1);
    FZ_CHECKF(st == ZY_STATUS_OK, "the saved config does not load");
    FZ_CHECK(!strcmp(zy_config_name(back), p1));
    FZ_CHECKF(same(c->root, back->root), "the saved config reads back different");
    FZ_CHECK(zy_config_save(back, p2) == ZY_STATUS_OK);
    size_t n1, n2;
    unsigned char *b1 = fz_read(p1, &n1), *b2 = fz_read(p2, &n2);
    FZ_CHECK(b1 && b2);
    FZ_CHECKF(n1 == n2 && !memcmp(b1, b2, n1), "saving twice gives other bytes");
    free(b1);
    free(b2);

    // Setters on the copy: each value reads back, the original is untouched.
    const char *key = c->root->child ? c->root->child->string : "key";
    FZ_CHECK(zy_config_set_int(copy, key, 42) == ZY_STATUS_OK);
    int i = 0;
    FZ_CHECK(zy_config_get_int(copy, key, 0, 100, &i) == ZY_STATUS_OK && i == 42);
    FZ_CHECK(zy_config_set_float(copy, key, 0.1) == ZY_STATUS_OK);
    float f = 0;
    FZ_CHECK(zy_config_get_float(copy, key, 0, 1, &f) == ZY_STATUS_OK && f == 0.1f);
    FZ_CHECK(zy_config_set_string(copy, key, "\xe6\xb3\xa8\xe6\x84\x8f") == ZY_STATUS_OK);
    const char *s;
    FZ_CHECK(zy_config_get_string(copy, key, &s) == ZY_STATUS_OK && !strcmp(s, "\xe6\xb3\xa8\xe6\x84\x8f"));
    FZ_CHECK(zy_config_set_string(copy, key, "\xff") == ZY_STATUS_INVALID_ARGUMENT);
    zy_config_remove(copy, key);
    FZ_CHECK(!zy_config_has(copy, key));
    FZ_CHECK(same(c->root, back->root));

    zy_config_free(back);
    zy_config_free(copy);
    zy_config_free(c);
    return 0;
}
