// The replaceable allocator hook. All library memory goes through zy_alloc/zy_free so an
// embedding program can route it to its own allocator (or count it).
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ZY_ALIGN 64

static void *default_alloc(size_t size, size_t align, void *user) {
    (void)user;
    size_t rounded = (size + align - 1) / align * align; // aligned_alloc wants a multiple
    return aligned_alloc(align, rounded ? rounded : align);
}

static void default_free(void *ptr, void *user) {
    (void)user;
    free(ptr);
}

static zy_allocator allocator = {default_alloc, default_free, NULL};

void zy_allocator_set(const zy_allocator *a) {
    if (a && a->alloc && a->free) {
        allocator = *a;
    } else {
        allocator = (zy_allocator){default_alloc, default_free, NULL};
    }
}

void *zy_alloc(size_t size) {
    if (size > SIZE_MAX - ZY_ALIGN) {
        zy__error(ZY_STATUS_OUT_OF_MEMORY, "out of memory: allocation of %zu bytes is too "
                  "large", size);
        return NULL;
    }
    void *p = allocator.alloc(size, ZY_ALIGN, allocator.user);
    if (!p) zy__error(ZY_STATUS_OUT_OF_MEMORY, "out of memory: could not allocate %zu bytes",
                      size);
    return p;
}

void *zy_calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) {
        zy__error(ZY_STATUS_OUT_OF_MEMORY, "out of memory: allocation of %zu x %zu bytes "
                  "overflows", n, size);
        return NULL;
    }
    void *p = zy_alloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

void zy_free(void *ptr) {
    if (ptr) allocator.free(ptr, allocator.user);
}

char *zy__strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = zy_alloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
