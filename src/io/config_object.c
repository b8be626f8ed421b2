// config.json objects of one level (hf.h): Hugging Face's label maps, "id2label"
// {"0": "neg", ...} and "label2id" {"neg": 0, ...}. Getters check the field is an object
// and each member's type, naming the field and the member; setters build the object whole
// and replace the field. Not here: what the maps mean (src/models/task_head.c).
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "io/config_internal.h"
#include "io/safetensors.h"

#define BAD(...) zy__error(ZY_STATUS_BAD_FORMAT, __VA_ARGS__)

// The object at key, NULL if absent or null (and *st = OK), or NULL with *st an error
// when the field is something else.
static const cJSON *object(const zy_config *c, const char *key, zy_status *st) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
    *st = ZY_STATUS_OK;
    if (!v || cJSON_IsNull(v)) return NULL;
    if (!cJSON_IsObject(v)) {
        *st = BAD("%s: field '%s' must be an object", zy_config_name(c), key);
        return NULL;
    }
    return v;
}

int zy_config_object_count(const zy_config *c, const char *key) {
    zy_status st;
    const cJSON *v = object(c, key, &st);
    if (st) return st;
    return v ? cJSON_GetArraySize(v) : 0;
}

// Member i of object key, or an error naming both.
static zy_status member(const zy_config *c, const char *key, int i, const cJSON **out) {
    zy_status st;
    const cJSON *v = object(c, key, &st);
    if (st) return st;
    int n = v ? cJSON_GetArraySize(v) : 0;
    if (i < 0 || i >= n)
        return zy__error(ZY_STATUS_NOT_FOUND, "%s: field '%s' has no member %d (it has %d)",
                         zy_config_name(c), key, i, n);
    *out = cJSON_GetArrayItem(v, i);
    return ZY_STATUS_OK;
}

zy_status zy_config_get_member_string(const zy_config *c, const char *key, int i,
                                      const char **name, const char **value) {
    const cJSON *m = NULL;
    zy_status st = member(c, key, i, &m);
    if (st) return st;
    if (!cJSON_IsString(m))
        return BAD("%s: field '%s': the value of \"%s\" must be a string", zy_config_name(c),
                   key, m->string);
    *name = m->string;
    *value = m->valuestring;
    return ZY_STATUS_OK;
}

zy_status zy_config_get_member_int(const zy_config *c, const char *key, int i, long lo,
                                   long hi, const char **name, int *value) {
    const cJSON *m = NULL;
    zy_status st = member(c, key, i, &m);
    if (st) return st;
    double d = cJSON_IsNumber(m) ? m->valuedouble : NAN;
    if (!(d == floor(d) && d >= (double)lo && d <= (double)hi && d >= INT_MIN && d <= INT_MAX))
        return BAD("%s: field '%s': the value of \"%s\" must be an integer in [%ld, %ld]",
                   zy_config_name(c), key, m->string, lo, hi);
    *name = m->string;
    *value = (int)d;
    return ZY_STATUS_OK;
}

// Builds {names[i]: make(i)} and puts it at key.
static zy_status set_object(zy_config *c, const char *key, const char *const *names, int n,
                            const char *const *strings, const int *ints) {
    if (n < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: field '%s': %d members",
                         zy_config_name(c), key, n);
    for (int i = 0; i < n; i++)
        if (!zy__utf8_valid(names[i], strlen(names[i]), NULL) ||
            (strings && !zy__utf8_valid(strings[i], strlen(strings[i]), NULL)))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: field '%s': member %d is not "
                             "valid UTF-8", zy_config_name(c), key, i);
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < n; i++) {
        cJSON *v = strings ? cJSON_CreateString(strings[i]) : cJSON_CreateNumber(ints[i]);
        if (!v || !cJSON_AddItemToObject(o, names[i], v)) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            o = NULL;
        }
    }
    if (!o) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", zy_config_name(c));
    cJSON_DeleteItemFromObjectCaseSensitive(c->root, key);
    if (!cJSON_AddItemToObject(c->root, key, o)) {
        cJSON_Delete(o);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", zy_config_name(c));
    }
    return ZY_STATUS_OK;
}

zy_status zy_config_set_object_strings(zy_config *c, const char *key,
                                       const char *const *names, const char *const *values,
                                       int n) {
    return set_object(c, key, names, n, values, NULL);
}

zy_status zy_config_set_object_ints(zy_config *c, const char *key, const char *const *names,
                                    const int *ints, int n) {
    return set_object(c, key, names, n, NULL, ints);
}
