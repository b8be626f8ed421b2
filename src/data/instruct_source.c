// Instruction rows as a data source (instruct.h): a row source (row_source.h) whose rows
// are the instruction rows, with next-token targets where the template marked a reply;
// an epoch's order is P_e alone. Not here: making the rows (instruct_rows.c), epochs,
// positions and shards (row_source.c).
#include <string.h>

#include "core/internal.h"
#include "data/instruct_internal.h"
#include "data/row_source.h"

typedef struct instruct_source {
    zy__row_source rows;       // first: the shared core
    const zy_instruct_rows *r; // borrowed
} instruct_source;

// A row of m tokens takes m - 1 positions: its inputs, each but the last.
static int length(const zy__row_source *rs, uint64_t i) {
    const zy_instruct_rows *r = ((const instruct_source *)rs)->r;
    return (int)(r->start[i + 1] - r->start[i] - 1);
}

static void put_row(const zy__row_source *rs, zy_batch *b, int row, uint64_t i) {
    const zy_instruct_rows *r = ((const instruct_source *)rs)->r;
    const int32_t *x = r->ids + r->start[i];
    const uint8_t *sc = r->scored + r->start[i];
    int m = (int)(r->start[i + 1] - r->start[i]), T = b->T;
    int *in = b->input_ids + (size_t)row * T, *y = b->targets + (size_t)row * T;
    for (int t = 0; t < T; t++) {
        bool real = t < m - 1;
        in[t] = real ? x[t] : r->pad_id;
        y[t] = real && sc[t + 1] ? x[t + 1] : -1;
    }
    b->lengths[row] = m - 1;
}

static const zy__row_kind INSTRUCT_ROWS = {
    .name = "instruct", .items = "rows", .salt = ZY_INSTRUCT_ORDER_SALT, .length = length,
    .put = put_row,
};

zy_instruct_source_params zy_instruct_source_default_params(void) {
    return (zy_instruct_source_params){.batch = 8, .seed = 12345, .shuffle = true};
}

static uint64_t fingerprint(const zy_instruct_rows *r, const zy_instruct_source_params *p) {
    uint64_t n = r->stats.n_tokens;
    uint64_t h = zy_hash64(0x5a59494e53544650ull, r->n_rows);
    h = zy_hash64(h ^ zy_hash_bytes(r->ids, n * sizeof *r->ids), zy_hash_bytes(r->scored, n));
    h = zy_hash64(h, zy_hash_bytes(r->start, (r->n_rows + 1) * sizeof *r->start));
    uint64_t q[] = {p->seed, p->shuffle, (uint64_t)r->pad_id};
    return zy_hash64(h, zy_hash_bytes(q, sizeof q));
}

zy_status zy_instruct_source_create(zy_data_source **out, const zy_instruct_rows *r,
                                    const zy_instruct_source_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct source: nowhere to put it");
    *out = NULL;
    if (!r || !p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct source: no rows");
    if (p->batch <= 0 || p->batch > (1 << 20))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct source: batch %d is out of "
                         "range", p->batch);
    if (!r->n_rows)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct source: no rows (every "
                         "example was left out: its last reply is longer than seq %d)",
                         r->seq);
    zy__row_source *rs;
    zy__row_params rp = {.batch = p->batch, .seed = p->seed, .shuffle = p->shuffle,
                         .one_pass = p->one_pass};
    zy_status st = zy__row_source_new(&rs, &INSTRUCT_ROWS, sizeof(instruct_source),
                                      r->n_rows, &rp);
    if (st) return st;
    ((instruct_source *)rs)->r = r;
    zy_data_source_info info = {
        .kind = "instruct",
        .dims = {.seq = ZY_MAX(r->longest, 1), .fields = ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS},
        .fingerprint = fingerprint(r, p),
    };
    return zy__row_source_open(out, rs, info);
}
