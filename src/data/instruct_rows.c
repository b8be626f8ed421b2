// Instruction examples as token rows (instruct.h): each conversation encoded through the
// chat template with its reply flags, cut from the front when it is longer than a row,
// and packed (next fit, file order) or left one to a row. The rows are laid out one after
// another in two flat arrays, so the data source only indexes them. Not here: batches
// (instruct_source.c).
#include <string.h>

#include "core/internal.h"
#include "data/instruct_internal.h"

zy_instruct_rows_params zy_instruct_rows_default_params(void) {
    return (zy_instruct_rows_params){.seq = 128, .packing = true};
}

// Append ids/scored[0..m) to the storage (grown by doubling).
static zy_status put(zy_instruct_rows *r, size_t *cap, const int32_t *ids, const uint8_t *sc,
                     size_t m) {
    size_t n = r->stats.n_tokens;
    zy_status st = zy__tokens_reserve(&r->ids, &r->scored, n, cap, m, 4096, "instruct rows");
    if (st) return st;
    memcpy(r->ids + n, ids, m * sizeof *ids);
    memcpy(r->scored + n, sc, m);
    r->stats.n_tokens += m;
    return ZY_STATUS_OK;
}

// A new row starting at the current end of the storage.
static zy_status open_row(zy_instruct_rows *r, size_t *cap) {
    if (r->n_rows + 2 > *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        uint64_t *s = zy_alloc(c * sizeof *s);
        if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "instruct rows: out of memory");
        if (r->start) memcpy(s, r->start, (r->n_rows + 1) * sizeof *s);
        zy_free(r->start);
        r->start = s;
        *cap = c;
    }
    if (!r->n_rows) r->start[0] = r->stats.n_tokens;
    r->n_rows++;
    r->start[r->n_rows] = r->stats.n_tokens;
    return ZY_STATUS_OK;
}

zy_status zy_instruct_rows_create(zy_instruct_rows **out, const zy_instruct_data *d,
                                  const zy_chat_template *t, zy_tokenizer *tok,
                                  const zy_instruct_rows_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct rows: nowhere to put them");
    *out = NULL;
    if (!d || !t || !tok || !p)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct rows: no data, template, "
                         "tokenizer or params");
    if (p->seq < 1 || p->seq > (1 << 24))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct rows: seq %d is out of range "
                         "(1 .. 2^24)", p->seq);
    int end = zy_tokenizer_find(tok, t->end_token, strlen(t->end_token));
    zy_instruct_rows *r = zy_calloc(1, sizeof *r);
    if (!r) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "instruct rows: out of memory");
    r->seq = p->seq;
    r->pad_id = end >= 0 ? end : 0;
    r->stats.n_examples = zy_instruct_data_count(d);
    size_t cap_tok = 0, cap_rows = 0, room = (size_t)p->seq + 1, used = room;
    zy_chat_tokens x;
    zy_chat_tokens_init(&x);
    zy_status st = ZY_STATUS_OK;
    for (size_t i = 0; i < zy_instruct_data_count(d) && !st; i++) {
        const zy_instruct_example *e = zy_instruct_data_example(d, i);
        x.n = 0;
        if ((st = zy_chat_encode(t, tok, e->messages, e->n_messages, false, &x))) break;
        size_t n = x.n, first = 0, reply = 0;
        while (reply < n && x.scored[n - 1 - reply]) reply++; // the last reply + end token
        if (n > room) {
            if (reply > (size_t)p->seq) {
                r->stats.n_skipped++;
                continue;
            }
            first = n - room;
            r->stats.n_truncated++;
        }
        size_t m = n - first;
        if (!p->packing || used + m > room) {
            if ((st = open_row(r, &cap_rows))) break;
            used = 0;
        }
        if ((st = put(r, &cap_tok, x.ids + first, x.scored + first, m))) break;
        if (!used) r->scored[r->start[r->n_rows - 1]] = 0; // a row's first token: no target
        used += m;
        r->start[r->n_rows] = r->stats.n_tokens;
    }
    zy_chat_tokens_destroy(&x);
    if (st) {
        zy_instruct_rows_free(r);
        return st;
    }
    r->stats.n_rows = r->n_rows;
    for (size_t i = 0; i < r->n_rows; i++) {
        uint64_t a = r->start[i], b = r->start[i + 1];
        r->longest = ZY_MAX(r->longest, (int)(b - a - 1));
        for (uint64_t k = a + 1; k < b; k++) r->stats.n_scored += r->scored[k];
    }
    *out = r;
    return ZY_STATUS_OK;
}

void zy_instruct_rows_free(zy_instruct_rows *r) {
    if (!r) return;
    zy_free(r->ids);
    zy_free(r->scored);
    zy_free(r->start);
    zy_free(r);
}

size_t zy_instruct_rows_count(const zy_instruct_rows *r) { return r ? r->n_rows : 0; }

void zy_instruct_rows_get(const zy_instruct_rows *r, size_t i, const int32_t **ids,
                          const uint8_t **scored, int *n) {
    ZY_ASSERT(r && i < r->n_rows);
    uint64_t a = r->start[i];
    if (ids) *ids = r->ids + a;
    if (scored) *scored = r->scored + a;
    if (n) *n = (int)(r->start[i + 1] - a);
}

const zy_instruct_row_stats *zy_instruct_rows_stats(const zy_instruct_rows *r) {
    return &r->stats;
}
