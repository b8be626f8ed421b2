// Elementwise updates over parameter ranges in one parallel region (see groups.h).
// Pool items are chunks of GROUP_CHUNK floats numbered across ranges: first[k] is the
// number of the first chunk of range k, so an item finds its range by binary search.
#include "core/internal.h"
#include "core/pool.h"
#include "train/groups.h"

#define GROUP_CHUNK 16384
// Below this many floats in all, everything runs on the calling thread.
#define GROUP_PAR_MIN 32768
// Groups per region; more are handled a batch at a time (first[] lives on the stack).
#define GROUP_BATCH 256

typedef struct groups_job {
    const zy_param_range *groups;
    int ngroups;
    const size_t *first; // (ngroups + 1)
    zy__range_update_fn fn;
    void *ctx;
} groups_job;

static void groups_range(void *ctx, size_t c0, size_t c1, int thread) {
    (void)thread;
    const groups_job *j = ctx;
    int lo = 0, hi = j->ngroups - 1; // the last group k with first[k] <= c0
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (j->first[mid] <= c0) lo = mid;
        else hi = mid - 1;
    }
    for (int k = lo; k < j->ngroups && j->first[k] < c1; k++) {
        const zy_param_range *g = &j->groups[k];
        size_t a = ZY_MAX(c0, j->first[k]), b = ZY_MIN(c1, j->first[k + 1]);
        for (size_t c = a; c < b; c++) {
            size_t begin = g->offset + (c - j->first[k]) * GROUP_CHUNK;
            j->fn(j->ctx, g, begin, ZY_MIN(g->offset + g->count, begin + GROUP_CHUNK));
        }
    }
}

void zy__for_each_range_chunk(const zy_param_range *groups, int ngroups,
                              zy__range_update_fn fn, void *ctx) {
    for (int k0 = 0; k0 < ngroups; k0 += GROUP_BATCH) {
        int nb = ZY_MIN(GROUP_BATCH, ngroups - k0);
        size_t first[GROUP_BATCH + 1], floats = 0;
        first[0] = 0;
        for (int k = 0; k < nb; k++) {
            size_t count = groups[k0 + k].count;
            first[k + 1] = first[k] + (count + GROUP_CHUNK - 1) / GROUP_CHUNK;
            floats += count;
        }
        groups_job j = {groups + k0, nb, first, fn, ctx};
        zy__parallel(first[nb], 1, floats < GROUP_PAR_MIN ? 1 : 0, groups_range, &j);
    }
}

void zy__for_each_group_chunk(const zy_param_group *groups, int ngroups,
                              zy__range_update_fn fn, void *ctx) {
    zy_param_range r[GROUP_BATCH];
    for (int k0 = 0; k0 < ngroups; k0 += GROUP_BATCH) {
        int nb = ZY_MIN(GROUP_BATCH, ngroups - k0);
        for (int k = 0; k < nb; k++) {
            const zy_param_group *g = &groups[k0 + k];
            r[k] = (zy_param_range){g->offset, g->offset, g->count, g->weight_decay};
        }
        zy__for_each_range_chunk(r, nb, fn, ctx);
    }
}
