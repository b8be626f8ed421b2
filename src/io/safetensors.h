// Internal to src/io: the safetensors reader's handle and the helpers shared by the
// reader (safetensors_read.c), its header validation (safetensors_header.c) and the writer.
#ifndef ZHUYI_IO_SAFETENSORS_H
#define ZHUYI_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "zhuyi/io.h"

// The reader's handle (safetensors_read.c opens it, safetensors_header.c fills it in).
struct zy_safetensors {
    int fd;
    char *path;
    uint64_t data_start; // 8 + N
    int n;
    zy_tensor_info *tensors; // header order
    int *by_name;            // indices sorted by name (bsearch)
    int n_meta;
    const char **meta;       // key0, value0, key1, ...
    char *pool;              // every string the handle owns
};

// 1 if s[0..n) is well-formed UTF-8 (no overlong forms, no surrogates, <= U+10FFFF);
// otherwise 0 and *bad (if not NULL) receives the offset of the first bad byte.
int zy__utf8_valid(const char *s, size_t n, size_t *bad);

// Validate header[0..n) (NUL-terminated at n) of a file whose data region has data_size
// bytes and fill st's tensors (offsets from the start of the file: st->data_start must be
// set), name index and metadata. ZY_STATUS_BAD_FORMAT naming path and the tensor/field on any problem.
zy_status zy__st_parse_header(zy_safetensors *st, const char *header, size_t n,
                              uint64_t data_size, const char *path);

#endif
