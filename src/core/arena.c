// A bump arena for activations: one allocation up front, 64-byte aligned blocks, reset
// all at once. Forward and backward passes take their buffers from here so nothing
// allocates inside a training step.
#include "internal.h"

#define ARENA_ALIGN 64

struct zy_arena {
    unsigned char *base;
    size_t capacity;
    size_t used;
    size_t peak;
};

zy_status zy_arena_create(zy_arena **out, size_t capacity) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "zy_arena_create: out is NULL");
    *out = NULL;
    zy_arena *a = zy_alloc(sizeof *a);
    if (!a) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "arena: out of memory");
    a->base = zy_alloc(capacity);
    if (!a->base) {
        zy_free(a);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "arena: out of memory for %zu bytes",
                         capacity);
    }
    a->capacity = capacity;
    a->used = 0;
    a->peak = 0;
    *out = a;
    return ZY_STATUS_OK;
}

void zy_arena_free(zy_arena *a) {
    if (!a) return;
    zy_free(a->base);
    zy_free(a);
}

void *zy_arena_alloc(zy_arena *a, size_t size) {
    size_t start = (a->used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (start > a->capacity || size > a->capacity - start) {
        zy__error(ZY_STATUS_OUT_OF_MEMORY,
                  "arena full: %zu bytes requested, %zu of %zu in use", size, a->used,
                  a->capacity);
        return NULL;
    }
    a->used = start + size;
    if (a->used > a->peak) a->peak = a->used;
    return a->base + start;
}

float *zy_arena_floats(zy_arena *a, size_t n) {
    if (n > SIZE_MAX / sizeof(float)) {
        zy__error(ZY_STATUS_OUT_OF_MEMORY, "arena: %zu floats overflow size_t", n);
        return NULL;
    }
    return zy_arena_alloc(a, n * sizeof(float));
}

size_t zy_arena_mark(const zy_arena *a) { return a->used; }

void zy_arena_reset_to(zy_arena *a, size_t mark) {
    ZY_ASSERT(mark <= a->used);
    a->used = mark;
}

void zy_arena_reset(zy_arena *a) { a->used = 0; }
size_t zy_arena_used(const zy_arena *a) { return a->used; }
size_t zy_arena_capacity(const zy_arena *a) { return a->capacity; }
size_t zy_arena_peak(const zy_arena *a) { return a->peak; }
