// zhuyi Hugging Face model directories, the generic part: config.json as a typed object
// (zy_config) and the named-tensor table (zy_tensor_table) that maps the tensors of a
// model.safetensors onto one flat float array of parameters. Every model declares its
// table; loading, saving, initialising, optimizer groups and freezing are then driven by
// the table, never by per-model file code.
//
// Not here: which tensors a model has (the models fill the table), the safetensors format
// itself (io.h), tokenizers.
#ifndef ZHUYI_HF_H
#define ZHUYI_HF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- config.json ------------------------------------------------------------------------
// A JSON object of hyper-parameters. Getters check type and range and name the file and
// the field in their error ("dir/config.json: field 'n_head' must be an integer in
// [1, 4096]"). Saving writes the Hugging Face style: keys sorted, two-space indent,
// "key": value, floats as the shortest decimal that reads back to the same float.
typedef struct zy_config zy_config;

// An empty object; `name` (may be NULL) is used in messages until the config is saved.
zy_status zy_config_create(zy_config **out, const char *name);
// Read and parse a file. ZY_STATUS_NOT_FOUND if it does not exist, ZY_STATUS_BAD_FORMAT
// (with the line) if it is not one JSON object. Files over 16 MiB are refused.
zy_status zy_config_load(zy_config **out, const char *path);
// Parse text[0..len) (need not be NUL-terminated); name is used in messages.
zy_status zy_config_parse(zy_config **out, const char *text, size_t len, const char *name);
zy_status zy_config_copy(zy_config **out, const zy_config *c);
void zy_config_free(zy_config *c);
// Written atomically. Also becomes the config's name for later messages.
zy_status zy_config_save(const zy_config *c, const char *path);
// The file or name messages use.
const char *zy_config_name(const zy_config *c);

// Present and not JSON null.
bool zy_config_has(const zy_config *c, const char *key);
// Each getter: ZY_STATUS_NOT_FOUND ("field 'key' missing") when the key is absent or null,
// ZY_STATUS_BAD_FORMAT when it has the wrong type or is out of [lo, hi]. *out is written
// only on success. A whole-number float (e.g. 12.0) is accepted as an integer.
zy_status zy_config_get_int(const zy_config *c, const char *key, long lo, long hi, int *out);
zy_status zy_config_get_float(const zy_config *c, const char *key, double lo, double hi,
                              float *out);
zy_status zy_config_get_bool(const zy_config *c, const char *key, bool *out);
// The string stays owned by c (valid until c changes or is freed).
zy_status zy_config_get_string(const zy_config *c, const char *key, const char **out);
// Arrays of strings (e.g. "architectures"): the count (0 if absent, null or empty;
// ZY_STATUS_BAD_FORMAT, negative, if the field is not an array), and item i.
int zy_config_array_count(const zy_config *c, const char *key);
zy_status zy_config_get_string_at(const zy_config *c, const char *key, int i,
                                  const char **out);

// Setters replace any previous value of the key. ZY_STATUS_OUT_OF_MEMORY is the only
// failure besides a non-finite float or a key or string that is not UTF-8
// (ZY_STATUS_INVALID_ARGUMENT). set_float keeps float precision: the value is stored as
// the shortest decimal that reads back to (float)v, so 0.1f is written 0.1.
zy_status zy_config_set_int(zy_config *c, const char *key, long v);
zy_status zy_config_set_float(zy_config *c, const char *key, double v);
zy_status zy_config_set_bool(zy_config *c, const char *key, bool v);
zy_status zy_config_set_string(zy_config *c, const char *key, const char *v);
zy_status zy_config_set_null(zy_config *c, const char *key);
zy_status zy_config_set_strings(zy_config *c, const char *key, const char *const *v, int n);
void zy_config_remove(zy_config *c, const char *key);

// Objects of one level (Hugging Face's "id2label": {"0": "neg", "1": "pos"} and
// "label2id": {"neg": 0, "pos": 1}): the number of members (0 if absent, null or empty;
// ZY_STATUS_BAD_FORMAT, negative, if the field is not an object) and member i in file
// order: its name and its value, a string or an integer in [lo, hi] (ZY_STATUS_BAD_FORMAT
// naming the field and the member otherwise). Strings stay owned by c.
int zy_config_object_count(const zy_config *c, const char *key);
zy_status zy_config_get_member_string(const zy_config *c, const char *key, int i,
                                      const char **name, const char **value);
zy_status zy_config_get_member_int(const zy_config *c, const char *key, int i, long lo,
                                   long hi, const char **name, int *value);
// Set key to an object of n members names[i] -> values[i] (strings) or ints[i].
zy_status zy_config_set_object_strings(zy_config *c, const char *key,
                                       const char *const *names, const char *const *values,
                                       int n);
zy_status zy_config_set_object_ints(zy_config *c, const char *key, const char *const *names,
                                    const int *ints, int n);

// ---- the named-tensor table -------------------------------------------------------------
// Each entry is one tensor of the checkpoint file (its Hugging Face name and shape) and
// the range of the flat parameter array where zhuyi keeps it. Entries take consecutive
// ranges in the order they are added, so the table IS the flat layout.
//
// What the table expresses (and zy_tensor_table_load/save honour):
// - transposed storage: a 2-D tensor kept as the transpose of its file shape (GPT-2's
//   Conv1D weights are (in, out) in the file, kept (out, in) for the GEMMs);
// - name aliases: prefixes a checkpoint may or may not carry (zy_tensor_table_add_prefix:
//   "transformer." for GPT-2, "bert." for BERT), and the legacy LayerNorm names
//   "gamma"/"beta" for a 1-D "weight"/"bias";
// - tied tensors (zy_tensor_table_tie): a file name that is stored in another entry's
//   range (lm_head.weight tied to the token embedding) is not written, as Hugging Face
//   omits it; if present when reading it must equal the entry it is tied to;
// - optional tensors: may be absent from a checkpoint; they are then initialised by their
//   init rule and reported (a new classification head on a pretrained body);
// - parts: one file tensor split over several entries, or several file tensors fused into
//   adjacent entries. An entry with part_total > 0 holds elements [part_start, part_start +
//   shape[part_dim]) along dimension part_dim of the file tensor `name`, whose size along
//   that dimension is part_total (the other dimensions equal shape[]). Several file
//   tensors fused into one stored matrix need no part: they are adjacent entries (BERT's
//   query/key/value (C,C) each, kept as one (3C,C) projection).
// - linear layers: the weights a model marks `linear` are the layers LoRA may adapt
//   (lora.h); a model marks only the linear layers whose adapter sites it applies;
// - adapter tensors (`adapter`): LoRA's A and B, appended after the base model's
//   entries; not part of model.safetensors (check, load, save and unused skip them);
// - weight types (`quantize`): the matrices a model with a weight type (f16, bf16, Q8_0,
//   Q4_0: quant.h) keeps a typed copy of, for its inference to read (model.h).
typedef enum zy_init {
    ZY_INIT_ZEROS = 0,   // biases
    ZY_INIT_ONES = 1,    // LayerNorm gains
    ZY_INIT_NORMAL = 2,  // N(0, init_std): weights, embeddings
    ZY_INIT_UNIFORM = 3, // U(-init_std, init_std): LoRA's A (PEFT's Kaiming-uniform bound)
} zy_init;

#define ZY_TENSOR_MAX_DIMS 4

typedef struct zy_tensor_def {
    const char *name;     // file (Hugging Face) name, with the model's prefix; copied
    int ndim;             // 1 .. ZY_TENSOR_MAX_DIMS
    int64_t shape[ZY_TENSOR_MAX_DIMS]; // the shape in the file (of this part)
    bool transposed;      // 2-D only: kept as (shape[1], shape[0])
    bool decay;           // AdamW weight decay applies (matmul weights; not biases,
                          // LayerNorm parameters or embeddings)
    bool optional;        // may be absent from a checkpoint (initialised, reported)
    zy_init init;
    float init_std;       // ZY_INIT_NORMAL's standard deviation, ZY_INIT_UNIFORM's bound
    int part_dim;         // with part_total > 0: the file dimension this part slices
    int64_t part_start, part_total; // part_total 0: the entry is the whole file tensor
    const char *dims;     // optional (may be NULL): the config fields that give the file
                          // shape, e.g. "vocab_size, n_embd"; copied, and quoted in shape
                          // errors so they name the field to fix
    bool head;            // part of a task head (a classifier on the body), not of the
                          // base model: zy_model_freeze_body leaves it trainable
    bool linear;          // 2-D, named "<module>.weight": the weight of a linear layer
                          // y = x·Wᵀ, kept (out, in) (a transposed entry's file shape is
                          // (in, out)), whose LoRA site the model applies (lora.h)
    bool adapter;         // a LoRA adapter tensor (lora.h), not in model.safetensors
    bool quantize;        // 2-D: a matrix the model multiplies by (a linear layer's weight,
                          // a tied LM head), stored in the model's weight type when it has
                          // one (zy_model_set_weight_type, quant.h); biases, LayerNorms and
                          // position tables stay fp32
} zy_tensor_def;

// An entry of a built table (read-only to callers).
typedef struct zy_tensor {
    const char *name;
    int ndim;
    int64_t shape[ZY_TENSOR_MAX_DIMS]; // file shape of this entry (of its part)
    size_t offset, count;              // its floats in the flat array
    bool transposed, decay, optional;
    zy_init init;
    float init_std;
    int part_dim;
    int64_t part_start, part_total;
    const char *dims; // as declared, or NULL
    bool head;        // as declared
    bool linear, adapter; // as declared
    bool quantize;        // as declared
} zy_tensor;

typedef struct zy_tensor_table zy_tensor_table;

zy_status zy_tensor_table_create(zy_tensor_table **out);
void zy_tensor_table_free(zy_tensor_table *t);
// Append an entry; it takes the next `count` floats of the flat layout. *index (may be
// NULL) receives its index. ZY_STATUS_INVALID_ARGUMENT for a bad shape, an empty or
// duplicate name (parts of one file tensor share a name but not a range), or a part that
// does not fit its file tensor.
zy_status zy_tensor_table_add(zy_tensor_table *t, const zy_tensor_def *def, int *index);
// A file name stored in entry `target`'s range (same shape), not written on save.
zy_status zy_tensor_table_tie(zy_tensor_table *t, const char *name, int target);
// A prefix that checkpoint names may lack, or carry when the table's names do not.
zy_status zy_tensor_table_add_prefix(zy_tensor_table *t, const char *prefix);
// Drop the entries from n on (LoRA's adapters when they are merged into the base). The
// flat layout of entries [0, n) is unchanged. ZY_STATUS_INVALID_ARGUMENT if a tie names a
// dropped entry or a split tensor has parts on both sides.
zy_status zy_tensor_table_truncate(zy_tensor_table *t, int n);

int zy_tensor_table_count(const zy_tensor_table *t);
const zy_tensor *zy_tensor_table_at(const zy_tensor_table *t, int i); // NULL out of range
// Floats of the whole flat layout.
size_t zy_tensor_table_floats(const zy_tensor_table *t);
// The entry named `name` (a table name, not an alias), or -1. For a split file tensor,
// the first part.
int zy_tensor_table_find(const zy_tensor_table *t, const char *name);

// Fill params (zy_tensor_table_floats) by each entry's init rule. Entry i, cut into chunks
// of 65536 floats, draws chunk k from a zy_rng seeded with zy_hash64(seed, (i << 32) | k):
// the values depend on the seed alone, not on the thread count. Only entry i:
void zy_tensor_table_init(const zy_tensor_table *t, float *params, uint64_t seed);
void zy_tensor_table_init_entry(const zy_tensor_table *t, float *params, int i,
                                uint64_t seed);

// Reading a checkpoint into another head (zy_model_load_with_config: a classifier of
// other labels): with on, check, load and unused read a head entry (zy_tensor_def.head)
// whose file tensor has another shape as absent (initialised anew, reported missing, the
// file's tensor unused) instead of failing. Off by default.
void zy_tensor_table_set_replace_mismatched_heads(zy_tensor_table *t, bool on);
// With on, check, load and unused read every head entry as absent, whatever its shape in
// the file (a checkpoint of another architecture, whose head of the same name does another
// job: zy_model_load_with_config). Off by default.
void zy_tensor_table_set_new_heads(zy_tensor_table *t, bool on);

// The four functions below read and write the base model's file: adapter entries are
// not looked for, read, initialised, reported or written.
//
// Check a safetensors file against the table without reading any data or allocating
// anything the table's sizes set: the first pass of zy_tensor_table_load (every tensor
// present unless optional, of a float dtype, of the shape the table gives; ties; split
// tensors tiled), with the same errors. zy_model_load runs it before it allocates the
// parameters, so a config.json that disagrees with its weights costs no memory.
zy_status zy_tensor_table_check(const zy_tensor_table *t, const char *path);
// Read a safetensors file into params. Every shape is checked before any data is read;
// F32, F16 and BF16 are converted; tensors of the file the table does not name are
// ignored. A missing entry is an error naming the file and the tensor (and the aliases
// tried), unless it is optional: it is then initialised with `seed` and, if missing is
// not NULL, missing[i] is set true (missing has zy_tensor_table_count entries; others
// false). Shape errors say what the file has and what the table (config.json) implies,
// with the entry's dims ("config.json implies (vocab_size, n_embd) = (50257, 768)").
zy_status zy_tensor_table_load(const zy_tensor_table *t, const char *path, float *params,
                               uint64_t seed, bool *missing);
// Where zy_tensor_table_load_each hands entry i's values [first, first + n) over (in the
// entry's own layout: a transposed entry's as it is stored), at `values`, which are the
// loader's again when it returns. An entry is handed over whole, or, when it lies as in
// the file, in pieces of whole rows (its first dimension indexes them), in order. A
// status other than ZY_STATUS_OK stops the load with it.
typedef zy_status (*zy_tensor_put_fn)(void *ctx, int i, size_t first, size_t n,
                                      const float *values);
// As zy_tensor_table_load, with the same checks and errors, but entry i's values go to
// dst[i] (its count floats; zy_tensor_table_count pointers), or through put(ctx, ...)
// where dst[i] is NULL: for a caller that keeps those entries only converted (a model's
// typed weights, zy_model_load_decoder), so that no array of all the parameters is ever
// held. A name tied to such an entry that the file also holds is compared with the
// entry's file tensor read again (ZY_STATUS_UNSUPPORTED when that tensor is split, or
// missing and so initialised).
zy_status zy_tensor_table_load_each(const zy_tensor_table *t, const char *path,
                                    float *const *dst, zy_tensor_put_fn put, void *ctx,
                                    uint64_t seed, bool *missing);
// The tensors of a safetensors file that the table does not read under any name, alias
// or tie (another architecture's heads, such as cls.predictions.* or lm_head.weight when
// a pretrained checkpoint is loaded as a classifier, or a buffer such as
// embeddings.position_ids), in file order: *n of them, their names in *names, one
// allocation (the pointers, then the strings) for the caller to zy_free. *names is NULL
// when *n is 0. Errors as zy_tensor_table_check.
zy_status zy_tensor_table_unused(const zy_tensor_table *t, const char *path, char ***names,
                                 int *n);
// Write every entry (parts assembled into their file tensor, tied names omitted) to a
// safetensors file, atomically, in `dtype` (F32, F16 or BF16), with metadata
// {"format": "pt"} as transformers writes.
zy_status zy_tensor_table_save(const zy_tensor_table *t, const char *path,
                               const float *params, zy_dtype dtype);

#ifdef __cplusplus
}
#endif
#endif
