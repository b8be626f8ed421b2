// LoRA test helpers: see lora_util.h.
#include "lora_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int *ints(zt_ref *r, const char *name, size_t n) {
    size_t got;
    const int *p = zt_ref_i(r, name, &got);
    if (!p || got != n) return NULL;
    int *c = zt_malloc(n * sizeof *c);
    memcpy(c, p, n * sizeof *c);
    return c;
}

bool zt_lora_batch_gpt(zt_ref *r, zt_lora_batch *out) {
    memset(out, 0, sizeof *out);
    out->b.B = 2, out->b.T = 8;
    out->b.input_ids = ints(r, "gpt.x", 16);
    out->b.targets = ints(r, "gpt.y", 16);
    out->fields = ZY_BATCH_TARGETS;
    return out->b.input_ids && out->b.targets;
}

bool zt_lora_batch_bert(zt_ref *r, zt_lora_batch *out) {
    memset(out, 0, sizeof *out);
    out->b.B = 3, out->b.T = 7;
    out->b.input_ids = ints(r, "bert.ids", 21);
    out->b.token_type_ids = ints(r, "bert.types", 21);
    out->b.lengths = ints(r, "bert.lengths", 3);
    out->b.labels = ints(r, "bert.labels", 3);
    out->fields = ZY_BATCH_LENGTHS | ZY_BATCH_TOKEN_TYPES | ZY_BATCH_LABELS;
    return out->b.input_ids && out->b.token_type_ids && out->b.lengths && out->b.labels;
}

void zt_lora_batch_free(zt_lora_batch *b) {
    free(b->b.input_ids), free(b->b.targets), free(b->b.token_type_ids);
    free(b->b.lengths), free(b->b.labels);
    memset(b, 0, sizeof *b);
}

// ---- one batch, forever ----------------------------------------------------------------------
typedef struct one {
    zy_batch b;
    uint64_t pos;
} one;

static void copy_field(int *dst, const int *src, size_t n) {
    if (dst && src) memcpy(dst, src, n * sizeof *dst);
}

static zy_status one_next(void *impl, zy_batch *b) {
    one *o = impl;
    size_t bt = (size_t)o->b.B * o->b.T;
    b->B = o->b.B, b->T = o->b.T;
    copy_field(b->input_ids, o->b.input_ids, bt);
    copy_field(b->targets, o->b.targets, bt);
    copy_field(b->token_type_ids, o->b.token_type_ids, bt);
    copy_field(b->lengths, o->b.lengths, (size_t)o->b.B);
    copy_field(b->labels, o->b.labels, (size_t)o->b.B);
    o->pos++;
    return ZY_STATUS_OK;
}
static void one_tell(const void *impl, zy_data_pos *p) {
    *p = (zy_data_pos){0, ((const one *)impl)->pos};
}
static zy_status one_seek(void *impl, zy_data_pos p) {
    ((one *)impl)->pos = p.pos;
    return ZY_STATUS_OK;
}
static zy_status one_shard(void *impl, int rank, int world) {
    (void)impl;
    return rank == 0 && world == 1 ? ZY_STATUS_OK : ZY_STATUS_UNSUPPORTED;
}
static void one_free(void *impl) {
    one *o = impl;
    free(o->b.input_ids), free(o->b.targets), free(o->b.token_type_ids);
    free(o->b.lengths), free(o->b.labels);
    free(o);
}
static const zy_data_source_ops ONE_OPS = {one_next, one_tell, one_seek, one_shard, one_free};

static int *dup_ints(const int *p, size_t n) {
    if (!p) return NULL;
    int *c = zt_malloc(n * sizeof *c);
    memcpy(c, p, n * sizeof *c);
    return c;
}

zy_data_source *zt_lora_source(const zt_lora_batch *src) {
    one *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    const zy_batch *b = &src->b;
    size_t bt = (size_t)b->B * b->T;
    o->b = (zy_batch){.B = b->B, .T = b->T, .input_ids = dup_ints(b->input_ids, bt),
                      .targets = dup_ints(b->targets, bt),
                      .token_type_ids = dup_ints(b->token_type_ids, bt),
                      .lengths = dup_ints(b->lengths, (size_t)b->B),
                      .labels = dup_ints(b->labels, (size_t)b->B)};
    zy_data_source_info info = {.kind = "zt-lora-one", .dims = {.batch = b->B, .seq = b->T,
                                                                .fields = src->fields},
                                .n_items = 1, .fingerprint = 7};
    zy_data_source *s = NULL;
    if (zy_data_source_create(&s, &ONE_OPS, o, &info)) one_free(o);
    return s;
}

bool zt_lora_tmpdir(char *buf) {
    strcpy(buf, "/tmp/zy_lora_XXXXXX");
    return mkdtemp(buf) != NULL;
}
