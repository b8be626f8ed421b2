// Private to src/models: the generic model and session objects behind model.h, shared by
// model.c (models), session.c (sessions) and registry.c. Implementations (gpt*.c) use
// only the public accessors of model.h.
#ifndef ZHUYI_MODELS_MODEL_INTERNAL_H
#define ZHUYI_MODELS_MODEL_INTERNAL_H

#include "zhuyi/lora.h"
#include "zhuyi/model.h"
#include "zhuyi/quant.h"

struct zy_model {
    const zy_model_ops *ops;
    void *impl;
    zy_model_info info;
    zy_tensor_table *table;
    float *params;    // (info.n_params), the table's flat layout; NULL once kept is set
    bool *trainable;  // (n_tensors)
    bool *missing;    // (n_tensors) absent from the file that was loaded
    float **ptrs;     // (n_tensors) params + offset of each tensor
    char **unused;    // (n_unused) file tensors the load did not read (one allocation)
    int n_unused;
    struct zy__lora *lora; // the LoRA adapter (lora_internal.h), NULL without
    // The weight type (model_wtype.c): the typed copies of the `quantize` tensors when
    // info.typed_decode (typed[i].data NULL for the others; typed NULL at F32), in one
    // allocation; the type the loaded file stored them in.
    zy_wtype wtype, file_wtype;
    zy_wmatrix *typed;     // (n_tensors)
    uint8_t *typed_data;
    // After zy_model_drop_fp32 (model_wtype.c; non-NULL is the mark): the values of the
    // tensors without a typed copy, each 64-byte aligned, which ptrs point into (NULL for
    // the others); params is freed.
    float *kept;
};

struct zy_session {
    const zy_model *m;
    void *impl;
    bool training;      // dropout on
    uint64_t seed;
    int n_seq;          // sequences of the KV cache
    int n_memory;       // encoder-decoder memory slots
    int cap_B, cap_T, cap_Td; // prepared batch shape
    int cap_tokens;     // 0, or the largest B x max(T, T_dec) of a forward
    float label_smoothing;
    zy_wtype kv_cache;  // the decoding caches' element type
    bool has_grads;
    float *grads;       // (n_grads) the trainable tensors in table order
    size_t n_grads;
    float **grad_ptrs;  // (n_tensors) into grads, NULL for frozen tensors
    // The weights rounded to bf16 by the last forward under bf16 matmuls (session.c), read
    // by its products and its backward's; allocated on the first such forward.
    uint16_t *w16;
    bool w16_current; // w16 holds the weights as the last forward read them
    bool w16_reuse;   // zy_session_weights_unchanged: the next forward may reuse w16
};

// The implementation for config (model_type and architectures[0]); errors name both.
zy_status zy__model_find_ops(const zy_config *c, const zy_model_ops **out);
// dir/model.safetensors read through the table cfg declares, with a new LoRA adapter lc
// (NULL: none) on it whose weights are read from the file `adapter` (NULL: none; its
// shapes checked before anything is allocated) (model.c); then what the load read and
// did not, logged. convert: cfg is the caller's, not dir's (zy_model_load_with_config):
// a head whose file shape differs (a classifier of other labels) is initialised anew and
// reported missing, its file tensor listed unused, instead of an error.
zy_status zy__model_load(zy_model **out, const char *dir, const zy_config *cfg,
                         const zy_lora_config *lc, const char *adapter, bool convert);
void zy__model_report_load(const zy_model *m, const char *dir);
// The typed copies of weight type t (model_wtype.c): each `quantize` entry's matrix (f16
// where a block type's rows are not whole blocks), laid out in one allocation; fills
// views[i] of those entries with data at base + its offset (views NULL: only counts) and
// returns the bytes.
size_t zy__model_lay_out_typed(const zy_model *m, zy_wtype t, zy_wmatrix *views,
                               uint8_t *base);
// The fp32 values a model keeps when its `quantize` entries live only as typed copies
// (model_wtype.c): each other entry's, 16-float aligned, in table order; with kept, ptrs
// point there (NULL for the `quantize` entries). Returns the floats.
size_t zy__model_point_kept(zy_model *m, float *kept);
// zy__model_allocate for a model that will only decode, in weight type t (not F32; needs
// info.typed_decode_only): the typed copies' storage (uninitialised: the caller fills each
// matrix's rows as zy_quantize_row writes them) and fp32 values for the other tensors
// only; the model is then as after zy_model_set_weight_type(t) and zy_model_drop_fp32,
// without ever holding the fp32 matrices (model.c).
zy_status zy__model_allocate_typed(zy_model *m, zy_wtype t, const char *name);
// Fills rows [first / cols, (first + n) / cols) of entry i's typed copy from their fp32
// values (whole rows), by zy_quantize_row as zy_model_set_weight_type types them: the same
// bits. m is the zy_model (a zy_tensor_put_fn, hf.h, for zy_tensor_table_load_each).
zy_status zy__model_put_typed(void *m, int i, size_t first, size_t n, const float *values);
// Drops the typed copies (model_wtype.c).
void zy__model_free_typed(zy_model *m);
// ZY_STATUS_OK, or ZY_STATUS_UNSUPPORTED saying that `what` needs the fp32 weights that
// zy_model_drop_fp32 freed (model_wtype.c).
zy_status zy__model_need_fp32(const zy_model *m, const char *what);
// zy_model_create in two steps, so a file can be checked against the table in between:
// declare (the implementation reads the config and declares its tensor table; nothing
// the sizes set is allocated) and allocate (refuses parameters beyond physical memory,
// naming the sizes, then allocates them zeroed). After a failed allocate, free m.
zy_status zy__model_declare(zy_model **out, const zy_config *config);
zy_status zy__model_allocate(zy_model *m, const char *name);

#endif
