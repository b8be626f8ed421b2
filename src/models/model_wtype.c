// A model's weight type (model.h, quant.h): typed copies of the matrices its table marks
// `quantize`, which the decoding path multiplies by (fewer bytes a token), with the fp32
// weights rounded to the same values so that every other path (the training forward that
// eval runs, prompt chunks through GEMMs, embeddings) computes the same model.
// A model whose decoding reads only the copies may then free the fp32 values they stand
// for (zy_model_drop_fp32) and hold the copies alone.
// Not here: the kernels (src/kernels/wgemv*.c), the formats (src/kernels/quant.c).
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "models/model_internal.h"
#include "zhuyi/io.h"

void zy__model_free_typed(zy_model *m) {
    zy_free(m->typed_data);
    zy_free(m->typed);
    m->typed_data = NULL;
    m->typed = NULL;
}

zy_wtype zy_model_weight_type(const zy_model *m) { return m->wtype; }

zy_wtype zy_model_file_weight_type(const zy_model *m) { return m->file_wtype; }

const zy_wmatrix *zy_model_tensor_typed(const zy_model *m, int tensor) {
    if (!m->typed || tensor < 0 || tensor >= zy_tensor_table_count(m->table)) return NULL;
    return m->typed[tensor].data ? &m->typed[tensor] : NULL;
}

// The type a matrix of rows of `cols` weights gets under weight type t: t, or f16 for a
// block type when the rows are not whole blocks (as llama.cpp's converter and zhuyi's
// GGUF export do, so a file's tensors load back to the types they had).
static zy_wtype type_for(zy_wtype t, int cols) {
    return zy_wtype_row_bytes(t, (size_t)cols) ? t : ZY_WTYPE_F16;
}

// Stored (rows, cols) of a 2-D entry: its file shape, or the transpose.
static void stored_shape(const zy_tensor *e, int *rows, int *cols) {
    *rows = (int)(e->transposed ? e->shape[1] : e->shape[0]);
    *cols = (int)(e->transposed ? e->shape[0] : e->shape[1]);
}

#define ALIGN64(n) (((n) + 63) & ~(size_t)63)
// Weights a row is rounded in at a time when no copy is kept (a multiple of the blocks).
#define PIECE 4096

// The typed rows of every `quantize` entry: all rows of all entries as one job, chunks of
// rows, each row quantized into its copy (when kept) and its fp32 values rounded in place.
typedef struct round_job {
    zy_model *m;
    zy_wtype t;
    const size_t *first; // (n_q + 1) first global row of each quantized entry
    const int *idx;      // (n_q) their table indices
} round_job;

static void round_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const round_job *j = ctx;
    zy_model *m = j->m;
    int q = 0;
    while (j->first[q + 1] <= r0) q++;
    for (size_t g = r0; g < r1; g++) {
        while (j->first[q + 1] <= g) q++;
        const int i = j->idx[q];
        const zy_tensor *e = zy_tensor_table_at(m->table, i);
        int rows, cols;
        stored_shape(e, &rows, &cols);
        (void)rows;
        const size_t r = g - j->first[q];
        float *w = m->ptrs[i] + r * (size_t)cols;
        const zy_wtype t = type_for(j->t, cols);
        if (m->typed) {
            uint8_t *dst = (uint8_t *)m->typed[i].data + r * m->typed[i].row_bytes;
            zy_quantize_row(t, w, dst, (size_t)cols);
            zy_dequantize_row(t, dst, w, (size_t)cols);
            continue;
        }
        // No copy kept (the model's inference reads none): the row in pieces through a
        // buffer, the same values (every format rounds a block or a weight on its own).
        uint8_t tmp[PIECE * 2 + PIECE / ZY_QBLOCK * 2];
        for (int k = 0; k < cols; k += PIECE) {
            const size_t n = (size_t)ZY_MIN(PIECE, cols - k);
            zy_quantize_row(t, w + k, tmp, n);
            zy_dequantize_row(t, tmp, w + k, n);
        }
    }
}

// zy__model_put_typed (model_internal.h), whole rows at a time on the pool.
typedef struct put_job {
    const zy_wmatrix *w;
    size_t row0;
    const float *values;
} put_job;

static void put_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const put_job *j = ctx;
    const size_t cols = (size_t)j->w->cols;
    for (size_t r = r0; r < r1; r++)
        zy_quantize_row(j->w->type, j->values + r * cols,
                        (uint8_t *)j->w->data + (j->row0 + r) * j->w->row_bytes, cols);
}

zy_status zy__model_put_typed(void *ctx, int i, size_t first, size_t n, const float *values) {
    const zy_model *m = ctx;
    const zy_wmatrix *w = &m->typed[i];
    if (w->cols <= 0) return ZY_STATUS_OK;
    put_job j = {w, first / (size_t)w->cols, values};
    zy__parallel(n / (size_t)w->cols, 64, 0, put_rows, &j);
    return ZY_STATUS_OK;
}

// In table order (model_internal.h): a run of adjacent entries contiguous (entries fused
// into one matrix, BERT's and Marian's q, k, v, stay one matrix), each run 64-byte aligned.
size_t zy__model_lay_out_typed(const zy_model *m, zy_wtype t, zy_wmatrix *views,
                               uint8_t *base) {
    const int nt = zy_tensor_table_count(m->table);
    size_t off = 0;
    for (int i = 0; i < nt; i++) {
        const zy_tensor *e = zy_tensor_table_at(m->table, i);
        if (!e->quantize) continue;
        int rows, cols;
        stored_shape(e, &rows, &cols);
        const zy_wtype tt = type_for(t, cols);
        const size_t rb = zy_wtype_row_bytes(tt, (size_t)cols);
        if (views)
            views[i] = (zy_wmatrix){.type = tt, .rows = rows, .cols = cols, .row_bytes = rb,
                                    .data = base ? base + off : NULL};
        off += rb * (size_t)rows;
        if (i + 1 >= nt || !zy_tensor_table_at(m->table, i + 1)->quantize) off = ALIGN64(off);
    }
    return off;
}

zy_status zy_model_set_weight_type(zy_model *m, zy_wtype t) {
    const char *name = zy_wtype_name(t);
    if (!name)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "weight type %d is not one of f32, f16, "
                         "bf16, q8_0, q4_0", (int)t);
    if (t == m->wtype) return ZY_STATUS_OK;
    zy_status st = zy__model_need_fp32(m, "weight type");
    if (st) return st;
    if (t == ZY_WTYPE_F32) { // the copies go; the weights keep the type's values
        zy__model_free_typed(m);
        m->wtype = t;
        return ZY_STATUS_OK;
    }
    if (m->wtype != ZY_WTYPE_F32)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "the model's weights are %s already; "
                         "its fp32 weights hold %s values, so load it again for %s",
                         zy_wtype_name(m->wtype), zy_wtype_name(m->wtype), name);
    if (m->lora)
        return zy__error(ZY_STATUS_UNSUPPORTED, "weight type %s: the model has a LoRA adapter; "
                         "merge it first (zy_model_merge_adapter)", name);
    const int nt = zy_tensor_table_count(m->table);
    int n_q = 0, n_f16 = 0;
    const char *first_f16 = NULL;
    size_t total_rows = 0;
    for (int i = 0; i < nt; i++) {
        const zy_tensor *e = zy_tensor_table_at(m->table, i);
        if (!e->quantize) continue;
        int rows, cols;
        stored_shape(e, &rows, &cols);
        if (type_for(t, cols) != t && !n_f16++) first_f16 = e->name;
        total_rows += (size_t)rows;
        n_q++;
    }
    const size_t bytes = zy__model_lay_out_typed(m, t, NULL, NULL);
    if (!n_q) { // nothing to type: the type is only a label
        m->wtype = t;
        return ZY_STATUS_OK;
    }
    const bool keep = m->info.typed_decode;
    int *idx = zy_alloc(sizeof *idx * (size_t)n_q);
    size_t *first = zy_alloc(sizeof *first * ((size_t)n_q + 1));
    if (!idx || !first) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "weight type %s: out of memory", name);
        goto done;
    }
    if (keep) {
        if (zy__exceeds_memory(bytes)) {
            st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "weight type %s: the typed weights take "
                           "%.1f GiB, more than this machine's memory", name, ZY_GIB(bytes));
            goto done;
        }
        m->typed = zy_calloc((size_t)nt, sizeof *m->typed);
        m->typed_data = zy_alloc(bytes);
        if (!m->typed || !m->typed_data) {
            zy__model_free_typed(m);
            st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "weight type %s: out of memory for the "
                           "typed weights (%.1f MiB)", name, (double)bytes / (1 << 20));
            goto done;
        }
    }
    if (keep) zy__model_lay_out_typed(m, t, m->typed, m->typed_data);
    int q = 0;
    first[0] = 0;
    for (int i = 0; i < nt; i++) {
        const zy_tensor *e = zy_tensor_table_at(m->table, i);
        if (!e->quantize) continue;
        int rows, cols;
        stored_shape(e, &rows, &cols);
        idx[q] = i;
        first[q + 1] = first[q] + (size_t)rows;
        q++;
    }
    round_job j = {.m = m, .t = t, .first = first, .idx = idx};
    zy__parallel(total_rows, 64, 0, round_rows, &j);
    m->wtype = t;
    if (n_f16)
        zy__log(ZY_LOG_WARN, "weight type %s: %d of %d matrices have rows that are not whole "
                "%d-weight blocks and are kept in f16, as llama.cpp's converter keeps them "
                "(first: '%s')", name, n_f16, n_q, ZY_QBLOCK, first_f16);
done:
    zy_free(idx);
    zy_free(first);
    return st;
}

zy_status zy__model_need_fp32(const zy_model *m, const char *what) {
    if (!m->kept) return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_UNSUPPORTED, "%s: the model holds only its %s weights "
                     "(zy_model_drop_fp32 freed the fp32 ones): it decodes, nothing else; "
                     "load it again for this", what, zy_wtype_name(m->wtype));
}

bool zy_model_fp32_dropped(const zy_model *m) { return m->kept != NULL; }

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

size_t zy__model_point_kept(zy_model *m, float *kept) {
    size_t off = 0;
    for (int i = 0; i < zy_tensor_table_count(m->table); i++) {
        const zy_tensor *e = zy_tensor_table_at(m->table, i);
        if (kept) m->ptrs[i] = e->quantize ? NULL : kept + off;
        if (!e->quantize) off += ALIGN16(e->count);
    }
    return off;
}

// The tensors without a typed copy move to a new array, so the one allocation of all the
// fp32 weights can go. A tie is a name of its target's entry (zy_tensor_table_tie): GPT's
// lm_head.weight goes with wte.
zy_status zy_model_drop_fp32(zy_model *m) {
    if (m->kept) return ZY_STATUS_OK;
    const char *arch = m->info.architecture ? m->info.architecture : m->ops->model_type;
    if (!m->info.typed_decode_only)
        return zy__error(ZY_STATUS_UNSUPPORTED, "drop fp32: %s's inference reads fp32 weights "
                         "besides the typed copies (zy_model_info.typed_decode_only is false)",
                         arch);
    if (m->lora)
        return zy__error(ZY_STATUS_UNSUPPORTED, "drop fp32: the model has a LoRA adapter; "
                         "merge it first (zy_model_merge_adapter), then give it a weight type");
    if (!m->typed)
        return zy__error(ZY_STATUS_UNSUPPORTED, "drop fp32: the model has no typed copies "
                         "(weight type %s): its fp32 weights are all it has; give it another "
                         "type first (zy_model_set_weight_type)", zy_wtype_name(m->wtype));
    const size_t n = zy__model_point_kept(m, NULL);
    float *kept = zy_alloc(n * sizeof *kept);
    if (!kept)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "drop fp32: out of memory for the %zu fp32 "
                         "values kept (%.1f MiB)", n, (double)n * 4 / (1 << 20));
    zy__model_point_kept(m, kept); // (the values still in params, at the table's offsets)
    for (int i = 0; i < zy_tensor_table_count(m->table); i++) {
        const zy_tensor *e = zy_tensor_table_at(m->table, i);
        if (m->ptrs[i]) memcpy(m->ptrs[i], m->params + e->offset, e->count * sizeof *kept);
    }
    zy_free(m->params);
    m->params = NULL;
    m->kept = kept;
    return ZY_STATUS_OK;
}
