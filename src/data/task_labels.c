// Label sets: names <-> ids for the fine-tuning tasks (task.h). A set is built by name as
// a training file is read and then sorted bytewise, or given whole by the caller (a
// model's id2label). Lookups go through an open-addressing hash of the names.
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "data/task_internal.h"
#include "io/safetensors.h"

static uint64_t name_hash(const char *s, size_t n) { return zy_hash_bytes(s, n); }

void zy_label_set_free(zy_label_set *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) zy_free(s->names[i]);
    zy_free(s->names);
    zy_free(s->lens);
    zy_free(s->slots);
    zy_free(s);
}

zy_status zy__label_set_new(zy_label_set **out) {
    *out = zy_calloc(1, sizeof **out);
    if (!*out) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "labels: out of memory");
    return ZY_STATUS_OK;
}

static int find(const zy_label_set *s, const char *name, size_t len, int *slot) {
    if (s->n_slots == 0) return -1;
    size_t m = (size_t)s->n_slots - 1, h = (size_t)name_hash(name, len) & m;
    for (;; h = (h + 1) & m) {
        int id = s->slots[h];
        if (id < 0 || (s->lens[id] == len && memcmp(s->names[id], name, len) == 0)) {
            if (slot) *slot = (int)h;
            return id;
        }
    }
}

static zy_status rehash(zy_label_set *s, int n_slots) {
    int32_t *slots = zy_alloc((size_t)n_slots * sizeof *slots);
    if (!slots) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "labels: out of memory");
    for (int i = 0; i < n_slots; i++) slots[i] = -1;
    zy_free(s->slots);
    s->slots = slots;
    s->n_slots = n_slots;
    for (int id = 0; id < s->n; id++) {
        size_t m = (size_t)n_slots - 1, h = (size_t)name_hash(s->names[id], s->lens[id]) & m;
        while (slots[h] >= 0) h = (h + 1) & m;
        slots[h] = id;
    }
    return ZY_STATUS_OK;
}

zy_status zy__label_set_intern(zy_label_set *s, const char *name, size_t len, bool add,
                               int *id) {
    int slot = 0;
    *id = find(s, name, len, &slot);
    if (*id >= 0 || !add) return ZY_STATUS_OK;
    if (s->n >= (1 << 24))
        return zy__error(ZY_STATUS_BAD_FORMAT, "labels: more than %d distinct labels", 1 << 24);
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        char **names = zy_alloc((size_t)cap * sizeof *names);
        size_t *lens = zy_alloc((size_t)cap * sizeof *lens);
        if (!names || !lens) {
            zy_free(names);
            zy_free(lens);
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "labels: out of memory");
        }
        if (s->n) {
            memcpy(names, s->names, (size_t)s->n * sizeof *names);
            memcpy(lens, s->lens, (size_t)s->n * sizeof *lens);
        }
        zy_free(s->names);
        zy_free(s->lens);
        s->names = names;
        s->lens = lens;
        s->cap = cap;
    }
    char *copy = zy_alloc(len + 1);
    if (!copy) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "labels: out of memory");
    memcpy(copy, name, len);
    copy[len] = 0;
    // Keep the hash at most half full; a failed rehash leaves the set as it was.
    if (2 * (s->n + 1) > s->n_slots) {
        s->names[s->n] = copy; // counted only once the table holds it
        s->lens[s->n] = len;
        s->n++;
        zy_status st = rehash(s, s->n_slots ? s->n_slots * 2 : 32);
        if (st) {
            s->n--;
            zy_free(copy);
            return st;
        }
        *id = s->n - 1;
        return ZY_STATUS_OK;
    }
    s->names[s->n] = copy;
    s->lens[s->n] = len;
    s->slots[slot] = s->n;
    *id = s->n++;
    return ZY_STATUS_OK;
}

static int cmp_names(const void *a, const void *b, const zy_label_set *s) {
    int i = *(const int *)a, j = *(const int *)b;
    size_t n = ZY_MIN(s->lens[i], s->lens[j]);
    int c = memcmp(s->names[i], s->names[j], n);
    return c ? c : (s->lens[i] > s->lens[j]) - (s->lens[i] < s->lens[j]);
}

zy_status zy__label_set_sort(zy_label_set *s, int32_t *map) {
    if (s->n == 0) return ZY_STATUS_OK;
    int *order = zy_alloc((size_t)s->n * sizeof *order);
    char **names = zy_alloc((size_t)s->n * sizeof *names);
    size_t *lens = zy_alloc((size_t)s->n * sizeof *lens);
    zy_status st = ZY_STATUS_OK;
    if (!order || !names || !lens) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "labels: out of memory");
        goto done;
    }
    for (int i = 0; i < s->n; i++) order[i] = i;
    // Insertion sort: label sets are small, and it needs no comparison context.
    for (int i = 1; i < s->n; i++)
        for (int j = i; j > 0 && cmp_names(&order[j - 1], &order[j], s) > 0; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int i = 0; i < s->n; i++) {
        names[i] = s->names[order[i]];
        lens[i] = s->lens[order[i]];
        map[order[i]] = i;
    }
    zy_free(s->names);
    zy_free(s->lens);
    s->names = names;
    s->lens = lens;
    s->cap = s->n;
    names = NULL;
    lens = NULL;
    st = rehash(s, s->n_slots); // the ids changed (on failure the read fails and frees s)
done:
    zy_free(order);
    zy_free(names);
    zy_free(lens);
    return st;
}

zy_status zy_label_set_create(zy_label_set **out, const char *const *names, int n) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "labels: no set to create");
    *out = NULL;
    if (!names || n < 1 || n > (1 << 24))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "labels: %d names (at least 1)", n);
    zy_label_set *s;
    zy_status st = zy__label_set_new(&s);
    if (st) return st;
    for (int i = 0; i < n; i++) {
        size_t len = names[i] ? strlen(names[i]) : 0;
        int id;
        if (len == 0 || !zy__utf8_valid(names[i], len, NULL)) {
            st = zy__error(ZY_STATUS_INVALID_ARGUMENT, "labels: name %d is %s", i,
                           len ? "not valid UTF-8" : "empty");
            break;
        }
        if ((st = zy__label_set_intern(s, names[i], len, true, &id))) break;
        if (id != i) {
            st = zy__error(ZY_STATUS_INVALID_ARGUMENT, "labels: '%s' is both label %d and "
                           "%d", names[i], id, i);
            break;
        }
    }
    if (st) {
        zy_label_set_free(s);
        return st;
    }
    *out = s;
    return ZY_STATUS_OK;
}

zy_status zy__label_set_copy(zy_label_set **out, const zy_label_set *s) {
    zy_status st = zy__label_set_new(out);
    for (int i = 0; !st && i < s->n; i++) {
        int id;
        st = zy__label_set_intern(*out, s->names[i], s->lens[i], true, &id);
    }
    if (st) {
        zy_label_set_free(*out);
        *out = NULL;
    }
    return st;
}

int zy_label_set_count(const zy_label_set *s) { return s ? s->n : 0; }

const char *zy_label_set_name(const zy_label_set *s, int id) {
    return s && id >= 0 && id < s->n ? s->names[id] : NULL;
}

int zy_label_set_find(const zy_label_set *s, const char *name, size_t len) {
    return s && name ? find(s, name, len, NULL) : -1;
}
