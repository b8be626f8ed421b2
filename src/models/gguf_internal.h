// Private to src/models/gguf_*.c: what an architecture tells the generic GGUF export and
// import (gguf_model.c) — its names (general.architecture, zhuyi's model_type and Hugging
// Face class), how table names map to GGUF tensor names, which tensors stay F32, and its
// metadata in both directions. One file per architecture (gguf_gpt.c, gguf_bert.c).
#ifndef ZHUYI_MODELS_GGUF_INTERNAL_H
#define ZHUYI_MODELS_GGUF_INTERNAL_H

#include "zhuyi/gguf.h"
#include "zhuyi/hf.h"

// A table (Hugging Face) name and its GGUF name; "%d" (at most once, in both) is the
// layer number.
typedef struct zy__gguf_name {
    const char *hf, *gguf;
} zy__gguf_name;

typedef struct zy__gguf_arch {
    const char *name;         // general.architecture, e.g. "gpt2"
    const char *model_type;   // zhuyi's (config.json) model_type
    const char *const *architectures; // the Hugging Face classes written (NULL-ended);
                              // the first is the one read back
    const char *prefix;       // taken off table names before matching (or NULL): "bert."
    const char *const *skip;  // table names starting with these (after the prefix) are
                              // not written: heads llama.cpp has no use for (NULL-ended)
    const zy__gguf_name *names;
    int n_names;
    const char *const *keep_f32; // GGUF names stored F32 whatever the type (NULL-ended)
    const char *tied, *tied_to;  // a GGUF name a file may hold as a copy of another (the
                                 // LM head), or NULL: read, it must equal that tensor
    // Hyper-parameters and the tokenizer's fields -> w (the generic part writes general.*
    // and the tensors).
    zy_status (*write_meta)(const zy_model *m, const zy_tokenizer *tok, zy_gguf_writer *w);
    // The file's metadata -> the config.json zhuyi would have (c is empty, named by path).
    // NULL for an architecture zhuyi writes but does not read back.
    zy_status (*read_config)(const zy_gguf *g, zy_config *c);
    zy_status (*read_tokenizer)(const zy_gguf *g, zy_tokenizer **tok);
} zy__gguf_arch;

extern const zy__gguf_arch zy__gguf_gpt2;
extern const zy__gguf_arch zy__gguf_bert;

// The GGUF name of table name hf (out, cap bytes); false if the architecture has none.
bool zy__gguf_map_name(const zy__gguf_arch *a, const char *hf, char *out, size_t cap);
// Is table name hf one the architecture leaves out (a skip prefix)?
bool zy__gguf_skipped(const zy__gguf_arch *a, const char *hf);

#endif
