// Internal to src/io/gguf_*.c: the reader's handle, the bounded allocator it keeps its
// strings in, and the little-endian helpers the reader and writer share.
#ifndef ZHUYI_IO_GGUF_INTERNAL_H
#define ZHUYI_IO_GGUF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "zhuyi/gguf.h"

#define ZY__GGUF_MAGIC "GGUF"

// Blocks of memory that never move, freed together: the handle's strings and arrays.
typedef struct zy__gguf_block {
    struct zy__gguf_block *next;
    size_t used, cap;
    // data follows, 16-byte aligned
} zy__gguf_block;

struct zy_gguf {
    int fd;
    char *path;
    uint32_t version, alignment;
    uint64_t file_size, data_offset;
    int n_kv, n_tensors;
    zy_gguf_kv *kv;          // file order
    zy_gguf_tensor *tensors; // file order
    int *kv_by_key, *tensor_by_name; // indices sorted by key / name (bsearch)
    zy__gguf_block *blocks;
};

// size bytes from g's blocks (16-byte aligned); NULL when out of memory.
void *zy__gguf_pool(zy_gguf *g, size_t size);

static inline void zy__put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t zy__get_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

#endif
