// Private to src/io: the zy_tensor_table struct and the helpers shared by tensor_table.c
// (building the table, name aliases, initialisation) and tensor_table_io.c (reading and
// writing model.safetensors through it).
#ifndef ZHUYI_IO_TENSOR_TABLE_H
#define ZHUYI_IO_TENSOR_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "zhuyi/hf.h"

// Initialisation draws chunk k of entry i from its own stream (hf.h).
#define ZY_INIT_CHUNK 65536

// What the table keeps about an entry besides its public zy_tensor.
typedef struct zy__tt_link {
    int first;     // the first entry of its file tensor (itself unless a later part)
    int next;      // the next part of the same file tensor, or -1
    size_t chunk0; // its first init chunk in the numbering over the whole table
} zy__tt_link;

typedef struct zy__tt_tie {
    char *name;
    int target;
} zy__tt_tie;

struct zy_tensor_table {
    zy_tensor *e;      // entries in layout order
    zy__tt_link *link; // parallel to e
    int n, cap;
    int groups;        // file tensors (entries that are not a later part)
    size_t floats, chunks;
    zy__tt_tie *ties;
    int n_ties, cap_ties;
    char **prefixes;
    int n_prefixes;
    size_t longest_name, longest_prefix; // bytes, for alias buffers
    int *slots;        // open-addressing index: file name -> first entry, -1 empty
    size_t n_slots;    // a power of two, at least twice the number of file tensors
    bool replace_mismatched_heads; // zy_tensor_table_set_replace_mismatched_heads
    bool new_heads;                // zy_tensor_table_set_new_heads
};

// The file shape of entry e's whole file tensor (a part's file tensor is part_total long
// along part_dim).
void zy__tt_file_shape(const zy_tensor *e, int64_t shape[ZY_TENSOR_MAX_DIMS]);
size_t zy__tt_file_numel(const zy_tensor *e);
// zy_tensor_table_init_entry's values for entry i, written to dst (its count floats).
void zy__tt_init_entry_at(const zy_tensor_table *t, float *dst, int i, uint64_t seed);

// Names a checkpoint may use for the table name `name` of an entry with `ndim`
// dimensions: k = 0 is name itself, then its prefix variants, then (1-D only) the
// gamma/beta spelling and its prefix variants. Writes candidate k into buf (capacity
// zy__tt_alias_cap) and returns buf, or NULL when there is no candidate k.
size_t zy__tt_alias_cap(const zy_tensor_table *t);
const char *zy__tt_alias(const zy_tensor_table *t, const char *name, int ndim, int k,
                         char *buf);

#endif
