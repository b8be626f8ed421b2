// zhuyi GGUF: the file format of ggml and llama.cpp (GGUF v3). Two layers:
//
// 1. The container (src/io/gguf_*.c): a reader that validates a whole file's header before
//    anything is used, and a writer that saves metadata and tensors as one unit. Any
//    architecture, any metadata, any ggml tensor type (reading raw bytes); conversion to
//    float for F32, F16, BF16, Q8_0 and Q4_0 (quant.h's formats, the same bytes).
// 2. Models (src/models/gguf_*.c): a zhuyi model and its tokenizer written as llama.cpp
//    expects an architecture to be ("gpt2"; "bert"), and read back into an fp32 model.
//
// Layout (little-endian; docs/FORMATS.md, "GGUF", lists every check):
//   u32 magic "GGUF", u32 version (2 or 3), u64 tensor count, u64 metadata count,
//   metadata: key (u64 length + bytes), u32 value type, value,
//   tensor infos: name, u32 n_dims, u64 ne[n_dims] (ne[0] is the innermost, contiguous
//   dimension: a PyTorch (out, in) weight has ne = {in, out}), u32 ggml type, u64 offset
//   from the start of the data section (a multiple of the alignment),
//   padding to the alignment ("general.alignment", u32, default 32), tensor data.
//
// Threads: a zy_gguf handle is read-only after zy_gguf_open and reads tensor data with
// pread, so several threads may read tensors of one handle at the same time.
#ifndef ZHUYI_GGUF_H
#define ZHUYI_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "instruct.h"
#include "model.h"
#include "quant.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- types ----------------------------------------------------------------------------
// Metadata value types, numbered as in the file.
typedef enum zy_gguf_type {
    ZY_GGUF_UINT8 = 0,
    ZY_GGUF_INT8 = 1,
    ZY_GGUF_UINT16 = 2,
    ZY_GGUF_INT16 = 3,
    ZY_GGUF_UINT32 = 4,
    ZY_GGUF_INT32 = 5,
    ZY_GGUF_FLOAT32 = 6,
    ZY_GGUF_BOOL = 7,
    ZY_GGUF_STRING = 8,
    ZY_GGUF_ARRAY = 9,
    ZY_GGUF_UINT64 = 10,
    ZY_GGUF_INT64 = 11,
    ZY_GGUF_FLOAT64 = 12,
    ZY_GGUF_TYPE_COUNT
} zy_gguf_type;

// "uint8", ..., "float64" (NULL out of range).
const char *zy_gguf_type_name(zy_gguf_type t);
// Bytes of one value of a fixed-size type (0 for STRING, ARRAY and out of range).
size_t zy_gguf_type_size(zy_gguf_type t);

// ggml tensor types, numbered as in the file (ggml.h's enum ggml_type). Only the ones a
// file may hold are listed; the reader knows the block size and bytes of each.
typedef enum zy_ggml_type {
    ZY_GGML_F32 = 0,
    ZY_GGML_F16 = 1,
    ZY_GGML_Q4_0 = 2,
    ZY_GGML_Q4_1 = 3,
    ZY_GGML_Q5_0 = 6,
    ZY_GGML_Q5_1 = 7,
    ZY_GGML_Q8_0 = 8,
    ZY_GGML_Q8_1 = 9,
    ZY_GGML_Q2_K = 10,
    ZY_GGML_Q3_K = 11,
    ZY_GGML_Q4_K = 12,
    ZY_GGML_Q5_K = 13,
    ZY_GGML_Q6_K = 14,
    ZY_GGML_Q8_K = 15,
    ZY_GGML_IQ2_XXS = 16,
    ZY_GGML_IQ2_XS = 17,
    ZY_GGML_IQ3_XXS = 18,
    ZY_GGML_IQ1_S = 19,
    ZY_GGML_IQ4_NL = 20,
    ZY_GGML_IQ3_S = 21,
    ZY_GGML_IQ2_S = 22,
    ZY_GGML_IQ4_XS = 23,
    ZY_GGML_I8 = 24,
    ZY_GGML_I16 = 25,
    ZY_GGML_I32 = 26,
    ZY_GGML_I64 = 27,
    ZY_GGML_F64 = 28,
    ZY_GGML_IQ1_M = 29,
    ZY_GGML_BF16 = 30,
    ZY_GGML_TQ1_0 = 34,
    ZY_GGML_TQ2_0 = 35,
    ZY_GGML_MXFP4 = 39,
    ZY_GGML_TYPE_COUNT = 40 // one past the largest number; not every number is a type
} zy_ggml_type;

// "f32", "q8_0", ... (ggml's names); NULL for a number that is no type.
const char *zy_ggml_type_name(uint32_t type);
// Elements per block and bytes per block of a type (1 and 4 for F32, 32 and 34 for Q8_0).
// False for a number that is no type.
bool zy_ggml_type_block(uint32_t type, size_t *block, size_t *bytes);
// The ggml type that stores a zy_wtype (F32 -> ZY_GGML_F32, Q8_0 -> ZY_GGML_Q8_0, ...), and
// back: false if the ggml type is none of quant.h's formats.
zy_ggml_type zy_ggml_type_of_wtype(zy_wtype t);
bool zy_wtype_of_ggml_type(uint32_t type, zy_wtype *out);

// ---- the reader -------------------------------------------------------------------------
#define ZY_GGUF_MAX_DIMS 4           // ggml's GGML_MAX_DIMS
#define ZY_GGUF_MAX_NAME 64          // tensor names: at most this many bytes (the spec's)
#define ZY_GGUF_MAX_KEY 65535        // metadata keys: at most this many bytes (the spec's)
#define ZY_GGUF_DEFAULT_ALIGNMENT 32

typedef struct zy_gguf zy_gguf;

// A string of the file: its bytes (NUL-terminated for convenience; a GGUF string may hold
// NUL bytes, so len is what counts).
typedef struct zy_gguf_str {
    const char *s;
    uint64_t len;
} zy_gguf_str;

// One metadata pair, owned by the handle.
typedef struct zy_gguf_kv {
    const char *key;   // no NUL inside (checked)
    zy_gguf_type type;
    zy_gguf_type elem; // ARRAY: the element type (never ARRAY: nested arrays are refused)
    uint64_t n;        // ARRAY: element count
    union {
        uint64_t u;    // UINT8/16/32/64
        int64_t i;     // INT8/16/32/64
        double f;      // FLOAT32/64
        bool b;        // BOOL
    } v;
    zy_gguf_str str;   // STRING
    const void *arr;   // ARRAY of numbers or bools: the n values as the file holds them
                       // (little-endian, packed; BOOL as bytes 0/1); ARRAY of STRING:
                       // n zy_gguf_str
} zy_gguf_kv;

typedef struct zy_gguf_tensor {
    const char *name;
    uint32_t type;      // a zy_ggml_type
    int ndim;           // 0 .. ZY_GGUF_MAX_DIMS
    uint64_t ne[ZY_GGUF_MAX_DIMS]; // elements along each dimension, ne[0] innermost
                                   // (unused dimensions are 1)
    uint64_t numel;     // product of ne
    uint64_t offset;    // byte offset of the data from the start of the file
    uint64_t nbytes;    // numel / block * bytes per block
} zy_gguf_tensor;

// Opens and validates the header, the metadata and the tensor infos (no tensor data is
// read). ZY_STATUS_IO when the file cannot be opened or read, ZY_STATUS_BAD_FORMAT
// (message naming the file, the key or tensor, and the field) for anything malformed,
// ZY_STATUS_UNSUPPORTED for what is valid GGUF but not readable here (version 1, big-endian
// files, nested arrays). Nothing is allocated beyond what the file's own bytes justify.
zy_status zy_gguf_open(zy_gguf **out, const char *path);
void zy_gguf_free(zy_gguf *g);
// True if the file at path is a regular file that starts with the GGUF magic (false if it
// cannot be read).
bool zy_gguf_is_gguf(const char *path);
const char *zy_gguf_path(const zy_gguf *g);
uint32_t zy_gguf_version(const zy_gguf *g);
uint32_t zy_gguf_alignment(const zy_gguf *g);
// Start of the data section (a multiple of the alignment).
uint64_t zy_gguf_data_offset(const zy_gguf *g);

// Metadata in file order; the pair with that key, or NULL (no error recorded).
int zy_gguf_kv_count(const zy_gguf *g);
const zy_gguf_kv *zy_gguf_kv_at(const zy_gguf *g, int i);
const zy_gguf_kv *zy_gguf_find(const zy_gguf *g, const char *key);
// Typed access by key for model code, each error naming the file and the key:
// ZY_STATUS_NOT_FOUND when absent, ZY_STATUS_BAD_FORMAT for another type or a value out of
// [lo, hi]. get_uint takes any integer type (a negative value is out of range); get_float
// FLOAT32 or FLOAT64; get_string a STRING with no NUL byte inside.
zy_status zy_gguf_get_uint(const zy_gguf *g, const char *key, uint64_t lo, uint64_t hi,
                           uint64_t *out);
zy_status zy_gguf_get_float(const zy_gguf *g, const char *key, double *out);
zy_status zy_gguf_get_bool(const zy_gguf *g, const char *key, bool *out);
zy_status zy_gguf_get_string(const zy_gguf *g, const char *key, const char **out);
// An array whose elements have type elem: its count and the pair.
zy_status zy_gguf_get_array(const zy_gguf *g, const char *key, zy_gguf_type elem,
                            const zy_gguf_kv **out);

// Tensors in file order; the tensor named `name`, or NULL.
int zy_gguf_tensor_count(const zy_gguf *g);
const zy_gguf_tensor *zy_gguf_tensor_at(const zy_gguf *g, int i);
const zy_gguf_tensor *zy_gguf_find_tensor(const zy_gguf *g, const char *name);
// The tensor's bytes -> dst (nbytes must equal its size).
zy_status zy_gguf_read_raw(const zy_gguf *g, const char *name, void *dst, size_t nbytes);
// The tensor as floats -> dst (n = its element count): F32, F16, BF16, Q8_0 and Q4_0 are
// converted (zy_dequantize_row); other types are ZY_STATUS_UNSUPPORTED naming the type.
zy_status zy_gguf_read_f32(const zy_gguf *g, const char *name, float *dst, size_t n);

// ---- the writer ---------------------------------------------------------------------------
// Collects metadata and tensors, then writes them in one go, atomically (temporary file,
// fsync, rename). Metadata is written in the order keys were first set (setting a key
// again replaces its value in place), tensors in the order they were added, each at the
// next multiple of the alignment (general.alignment if it was set, else 32), padding
// bytes zero: the output is a function of the calls alone.
typedef struct zy_gguf_writer zy_gguf_writer;

zy_status zy_gguf_writer_create(zy_gguf_writer **out);
void zy_gguf_writer_free(zy_gguf_writer *w);

// Keys: 1 .. ZY_GGUF_MAX_KEY bytes, no NUL. "general.alignment" must be a UINT32 power of
// two. Errors are ZY_STATUS_INVALID_ARGUMENT naming the key.
zy_status zy_gguf_writer_set_uint(zy_gguf_writer *w, const char *key, zy_gguf_type type,
                                  uint64_t v);
zy_status zy_gguf_writer_set_int(zy_gguf_writer *w, const char *key, zy_gguf_type type,
                                 int64_t v);
zy_status zy_gguf_writer_set_float(zy_gguf_writer *w, const char *key, zy_gguf_type type,
                                   double v);
zy_status zy_gguf_writer_set_bool(zy_gguf_writer *w, const char *key, bool v);
zy_status zy_gguf_writer_set_string(zy_gguf_writer *w, const char *key, const char *s,
                                    size_t len);
// An array of n values of a fixed-size type elem, packed little-endian in data (copied).
zy_status zy_gguf_writer_set_array(zy_gguf_writer *w, const char *key, zy_gguf_type elem,
                                   const void *data, uint64_t n);
// An array of n strings s[i] of len[i] bytes (len NULL: NUL-terminated), copied.
zy_status zy_gguf_writer_set_array_strings(zy_gguf_writer *w, const char *key,
                                           const char *const *s, const size_t *len,
                                           uint64_t n);

// A tensor named `name` (1 .. ZY_GGUF_MAX_NAME - 1 bytes, no NUL, unique: what llama.cpp
// reads) of type `type` and shape ne[0..ndim) (ndim 1 .. ZY_GGUF_MAX_DIMS; ne[0] a whole
// number of blocks of the type), whose data is taken at write time:
// - add_tensor: data holds the tensor's bytes exactly as the file will;
// - add_tensor_f32: src holds numel floats, converted row by row (rows of ne[0]) with
//   zy_quantize_row when written; type must be one of quant.h's formats.
// The caller keeps data / src valid until zy_gguf_writer_write returns.
zy_status zy_gguf_writer_add_tensor(zy_gguf_writer *w, const char *name, uint32_t type,
                                    int ndim, const uint64_t *ne, const void *data);
zy_status zy_gguf_writer_add_tensor_f32(zy_gguf_writer *w, const char *name, zy_wtype type,
                                        int ndim, const uint64_t *ne, const float *src);

// Progress while writing: bytes of tensor data written and the total. Return non-zero to
// stop (ZY_STATUS_INTERRUPTED; nothing is left at path).
typedef int (*zy_gguf_progress_fn)(uint64_t done, uint64_t total, void *user);

zy_status zy_gguf_writer_write(const zy_gguf_writer *w, const char *path,
                               zy_gguf_progress_fn progress, void *user);

// ---- models -------------------------------------------------------------------------------
// A model and its tokenizer as a GGUF file llama.cpp loads, and back. Architectures:
// - "gpt2" (GPT2LMHeadModel, byte-level BPE): the keys, tensor names and tokenizer fields
//   (tokenizer.ggml.model "gpt2", pre "gpt-2") llama.cpp's converter writes. The LM head
//   is tied to token_embd (no output.weight, as the converter; llama.cpp reuses it).
//   Written and read.
// - "bert" (BertModel, BertForPreTraining, BertForMaskedLM; WordPiece): the encoder body
//   as the converter writes it (no pooler, no heads), pooling_type mean, the vocabulary
//   in llama.cpp's "phantom space" spelling: an embedding model for llama.cpp. Written
//   only (zy_model_load_gguf refuses it: ZY_STATUS_UNSUPPORTED).
// docs/FORMATS.md ("GGUF") has the table of keys and tensor names.
typedef struct zy_gguf_export_params {
    zy_wtype wtype;   // the matrices' type: F32, F16, BF16, Q8_0 or Q4_0. As llama.cpp's
                      // converter: 1-D tensors (norms, biases) and position embeddings stay
                      // F32; a matrix whose rows are not whole blocks falls back to F16
                      // (logged as a warning)
    const char *name; // general.name (NULL: none)
    const zy_chat_template *chat_template; // the model's (zy_chat_template_load), or NULL:
                      // written as tokenizer.chat_template (its Jinja, what llama.cpp's
                      // chat uses) and zhuyi.chat_template (its name, what zhuyi reads)
    zy_gguf_progress_fn progress; // may be NULL
    void *user;
} zy_gguf_export_params;

zy_gguf_export_params zy_gguf_export_default_params(void); // F32, no name, no progress

// m and its tokenizer -> path (atomically). ZY_STATUS_UNSUPPORTED naming what for a model
// GGUF cannot carry: another model type or architecture (a task head), a LoRA adapter not
// merged into the weights, a tokenizer of another kind, a BERT with ReLU;
// ZY_STATUS_SHAPE_MISMATCH for a tokenizer whose size is not the model's vocab_size. A
// cased WordPiece is written with a warning (llama.cpp lower-cases).
zy_status zy_model_save_gguf(const zy_model *m, const zy_tokenizer *tok, const char *path,
                             zy_gguf_export_params params);

// What zy_model_load_gguf found besides the model.
typedef struct zy_gguf_model_info {
    char architecture[32]; // general.architecture
    zy_wtype wtype;        // the type most of the file's matrix elements are stored in (the
                           // one a caller keeping weights quantized would use)
    uint32_t file_type;    // general.file_type (llama.cpp's llama_ftype), UINT32_MAX if
                           // absent
} zy_gguf_model_info;

// path -> an fp32 model (quantized tensors dequantized) and the tokenizer the file
// describes. info may be NULL. Every tensor the architecture needs is checked (present,
// shape, a type zhuyi converts) before the parameters are allocated, and parameters that
// would not fit in physical memory are refused; errors name the file and the key or
// tensor (ZY_STATUS_SHAPE_MISMATCH: a tensor disagrees with the metadata).
zy_status zy_model_load_gguf(zy_model **model, zy_tokenizer **tok, const char *path,
                             zy_gguf_model_info *info);
// The same for a model that will only decode, in weight type wtype (a zy_wtype, or -1: the
// type most of the file's matrices are stored in): as zy_model_load_gguf then
// zy_model_set_weight_type and, where the architecture allows (info.typed_decode_only),
// zy_model_drop_fp32, the same bits -- but for such an architecture, when the file has no
// tied output tensor to compare, the matrices go straight into the typed copies (their
// bytes as they are where the file stores them in the type they get, else through fp32
// one matrix at a time), so the fp32 matrices are never held: GPT-2 124M from a q8_0 file
// peaks at the memory it decodes in, from an f16 file run as q8_0 at that plus its largest
// matrix in fp32. An f32 type: plain zy_model_load_gguf.
zy_status zy_model_load_gguf_decoder(zy_model **model, zy_tokenizer **tok, const char *path,
                                     int wtype, zy_gguf_model_info *info);
// *out = the chat template the file at path records (zhuyi.chat_template), or NULL when it
// records none. Errors as zy_chat_template_load's: an unreadable or malformed file, a
// template name zhuyi does not know (ZY_STATUS_UNSUPPORTED), each naming the file.
zy_status zy_gguf_chat_template(const char *path, const zy_chat_template **out);

#ifdef __cplusplus
}
#endif
#endif
