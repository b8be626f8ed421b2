// zhuyi file layer: safetensors reading and writing, atomic file writes, and the F16/BF16
// <-> F32 conversions they need. Not model code: which tensor names a model uses and how
// they map to parameters lives with the models.
//
// Safetensors (Hugging Face): u64 little-endian N, N bytes of UTF-8 JSON header, then the
// data region. docs/FORMATS.md ("model.safetensors") lists what the reader validates.
//
// Threads: a zy_safetensors handle is read-only after zy_safetensors_open, and tensor
// data is read with pread (no shared file position), so several threads may read
// different tensors of one handle at the same time.
#ifndef ZHUYI_IO_H
#define ZHUYI_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- element types --------------------------------------------------------------------
// The safetensors dtypes. Only F32, F16 and BF16 convert to float; the rest can be listed
// and read as raw bytes. New values are only appended.
typedef enum zy_dtype {
    ZY_DTYPE_F32 = 0,
    ZY_DTYPE_F16 = 1,
    ZY_DTYPE_BF16 = 2,
    ZY_DTYPE_F64 = 3,
    ZY_DTYPE_I64 = 4,
    ZY_DTYPE_I32 = 5,
    ZY_DTYPE_I16 = 6,
    ZY_DTYPE_I8 = 7,
    ZY_DTYPE_U64 = 8,
    ZY_DTYPE_U32 = 9,
    ZY_DTYPE_U16 = 10,
    ZY_DTYPE_U8 = 11,
    ZY_DTYPE_BOOL = 12,
    ZY_DTYPE_F8_E4M3 = 13,
    ZY_DTYPE_F8_E5M2 = 14,
    ZY_DTYPE_F8_E8M0 = 15,
    ZY_DTYPE_C64 = 16,
    ZY_DTYPE_COUNT
} zy_dtype;

// "F32", "BF16", ... (NULL for an out-of-range value).
const char *zy_dtype_name(zy_dtype t);
// Bytes per element (0 for an out-of-range value).
size_t zy_dtype_size(zy_dtype t);
// ZY_STATUS_NOT_FOUND for a name that is not a safetensors dtype.
zy_status zy_dtype_parse(const char *name, zy_dtype *out);

// ---- F16 / BF16 conversion ------------------------------------------------------------
// F32 -> F16/BF16 round to nearest, ties to even; overflow gives ±Inf (F16: |x| >= 65520);
// results below the smallest normal become subnormals (and ±0 below half the smallest
// subnormal); NaN stays NaN of the same sign, made quiet, with the top payload bits kept
// (what the F16C/AVX-512 conversion instructions do). F16/BF16 -> F32 is exact, except
// that an F16 signalling NaN comes out quiet (again as the instructions do).
float zy_f16_to_f32(uint16_t h);
uint16_t zy_f32_to_f16(float f);
float zy_bf16_to_f32(uint16_t h);
uint16_t zy_f32_to_bf16(float f);
// Array forms, vectorised when zy_simd_level() allows (same results bit for bit).
// src (n) -> dst (n); dst must not overlap src.
void zy_f16_to_f32_array(float *dst, const uint16_t *src, size_t n);
void zy_f32_to_f16_array(uint16_t *dst, const float *src, size_t n);
void zy_bf16_to_f32_array(float *dst, const uint16_t *src, size_t n);
void zy_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n);

// ---- safetensors reader ---------------------------------------------------------------
// zy_safetensors_open reads and validates the whole header (and checks the file size)
// but no tensor data; data is read on demand with pread, so opening a large file is
// cheap and only the tensors asked for are read.
#define ZY_SAFETENSORS_MAX_DIMS 8
// Headers larger than this are rejected before being read (the reference
// implementation's limit).
#define ZY_SAFETENSORS_MAX_HEADER 100000000u

typedef struct zy_safetensors zy_safetensors;

typedef struct zy_tensor_info {
    const char *name;  // UTF-8, NUL-terminated, owned by the handle
    zy_dtype dtype;
    int ndim;          // 0 (a scalar) .. ZY_SAFETENSORS_MAX_DIMS
    int64_t shape[ZY_SAFETENSORS_MAX_DIMS];
    uint64_t numel;    // product of shape (1 for a scalar)
    uint64_t offset;   // byte offset of the data from the start of the file
    uint64_t nbytes;   // numel * zy_dtype_size(dtype)
} zy_tensor_info;

// ZY_STATUS_IO if the file cannot be opened or read, ZY_STATUS_BAD_FORMAT (message naming
// the file, and the tensor and field) for anything malformed.
zy_status zy_safetensors_open(zy_safetensors **out, const char *path);
void zy_safetensors_free(zy_safetensors *st);

// Tensors in header order (the order of the JSON object).
int zy_safetensors_count(const zy_safetensors *st);
const zy_tensor_info *zy_safetensors_info(const zy_safetensors *st, int i);
// The tensor named `name`, or NULL (no error is recorded: absence may be expected).
const zy_tensor_info *zy_safetensors_find(const zy_safetensors *st, const char *name);

// "__metadata__" pairs, in header order; value of a key or NULL.
int zy_safetensors_metadata_count(const zy_safetensors *st);
void zy_safetensors_metadata(const zy_safetensors *st, int i, const char **key,
                             const char **value);
const char *zy_safetensors_metadata_get(const zy_safetensors *st, const char *key);

// Tensor `name` -> dst (n floats), converting F16/BF16 to F32. ZY_STATUS_NOT_FOUND for
// an absent name, ZY_STATUS_UNSUPPORTED for other dtypes, ZY_STATUS_SHAPE_MISMATCH if n
// is not its element count (the message gives both), ZY_STATUS_IO if the read fails.
zy_status zy_safetensors_read_f32(const zy_safetensors *st, const char *name, float *dst,
                                  size_t n);
// Elements [first, first + n) of tensor `name` (in its row-major order) -> dst (n floats),
// converted as read_f32 converts them. ZY_STATUS_SHAPE_MISMATCH if the range passes the
// tensor's end; the other errors as read_f32.
zy_status zy_safetensors_read_f32_range(const zy_safetensors *st, const char *name,
                                        size_t first, size_t n, float *dst);
// As read_f32, also requiring the file's shape to be shape[0..ndim) exactly; dst holds
// the product of shape floats. The message names expected and actual shapes.
zy_status zy_safetensors_read_shaped(const zy_safetensors *st, const char *name, float *dst,
                                     const int64_t *shape, int ndim);
// The raw little-endian bytes of tensor `name` -> dst (nbytes, which must equal the
// tensor's byte size), any dtype.
zy_status zy_safetensors_read_raw(const zy_safetensors *st, const char *name, void *dst,
                                  size_t nbytes);

// ---- safetensors writer ---------------------------------------------------------------
typedef struct zy_safetensors_tensor {
    const char *name;  // UTF-8, unique, not "__metadata__"
    const float *data; // (shape) row-major; may be NULL only if an element count is 0
    int ndim;          // 0 .. ZY_SAFETENSORS_MAX_DIMS
    int64_t shape[ZY_SAFETENSORS_MAX_DIMS];
} zy_safetensors_tensor;

typedef struct zy_safetensors_kv {
    const char *key, *value; // UTF-8 strings; keys unique
} zy_safetensors_kv;

typedef struct zy_safetensors_write_params {
    zy_dtype dtype;                    // F32 (default), F16 or BF16 for every tensor
    const zy_safetensors_kv *metadata; // "__metadata__" pairs, or NULL
    int n_metadata;
} zy_safetensors_write_params;

zy_safetensors_write_params zy_safetensors_write_default_params(void);

// Write tensors[0..n) to `path` atomically (zy_file_writer). The output is a function of
// the input alone: compact JSON header with "__metadata__" first (keys sorted), then the
// tensors sorted by name (byte order), data in the same order and contiguous, header
// padded with spaces so the data starts at a multiple of 8 bytes. Inputs are validated
// before anything is written (ZY_STATUS_INVALID_ARGUMENT naming the tensor).
zy_status zy_safetensors_write(const char *path, const zy_safetensors_tensor *tensors, int n,
                               zy_safetensors_write_params params);

#ifdef __cplusplus
}
#endif
#endif
