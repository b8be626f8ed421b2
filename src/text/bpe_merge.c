// BPE merges on one pre-tokenized word, with exactly GPT-2's semantics (encoder.py bpe()):
// repeatedly find the lowest-ranked adjacent pair, then merge *all* its occurrences left
// to right (greedy, non-overlapping), until no adjacent pair has a rank.
// Two implementations give identical results: a rescan per merge, O(n * merges), for the
// short words that make up nearly all text, and a heap, O(n log n), so a pathological
// megabyte-long "word" cannot take quadratic time. Not for caching (encode.c).
#include <limits.h>
#include <string.h>

#include "bpe.h"

size_t zy__bpe_word_scan(const zy_tokenizer *t, const uint8_t *word, size_t n, int32_t *ids) {
    for (size_t i = 0; i < n; i++) ids[i] = t->byte_id[word[i]];
    while (n > 1) {
        int32_t best = INT32_MAX;
        for (size_t i = 0; i + 1 < n; i++) {
            int32_t r = zy__tok_rank(t, ids[i], ids[i + 1]);
            if (r >= 0 && r < best) best = r;
        }
        if (best == INT32_MAX) break;
        int32_t a = t->merge_a[best], b = t->merge_b[best], c = t->merge_c[best];
        size_t o = 0;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && ids[i] == a && ids[i + 1] == b) {
                ids[o++] = c;
                i += 2;
            } else {
                ids[o++] = ids[i++];
            }
        }
        n = o;
    }
    return n;
}

// Heap of (rank, pos) pairs, smallest rank first, then smallest position: within one rank
// entries come out left to right, which is the order GPT-2 merges occurrences in.
typedef struct {
    int32_t rank, pos;
} entry;

static int less(entry x, entry y) { return x.rank < y.rank || (x.rank == y.rank && x.pos < y.pos); }

static void push(entry *h, size_t *n, entry e) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!less(e, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static entry pop(entry *h, size_t *n) {
    entry top = h[0], e = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        entry best = e;
        if (l < *n && less(h[l], best)) m = l, best = h[l];
        if (r < *n && less(h[r], best)) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (*n) h[i] = e;
    return top;
}

_Static_assert(sizeof(entry) == 2 * sizeof(int32_t), "ZY__BPE_SCRATCH assumes this");

size_t zy__bpe_scratch_size(size_t n) { return ZY__BPE_SCRATCH(n); }

size_t zy__bpe_word_heap(const zy_tokenizer *t, const uint8_t *word, size_t n, int32_t *ids,
                         void *scratch) {
    if (n == 0) return 0;
    entry *heap = scratch;
    int32_t *id = (int32_t *)(heap + 3 * n), *next = id + n, *prev = next + n,
            *merged = prev + n;
    size_t nh = 0;
    for (size_t i = 0; i < n; i++) {
        id[i] = t->byte_id[word[i]];
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
        prev[i] = (int32_t)i - 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        int32_t r = zy__tok_rank(t, id[i], id[i + 1]);
        if (r >= 0) push(heap, &nh, (entry){r, (int32_t)i});
    }
    while (nh) {
        int32_t r = heap[0].rank, a = t->merge_a[r], b = t->merge_b[r], c = t->merge_c[r];
        size_t nm = 0;
        // Every occurrence of this pair, left to right; an entry is stale when its left
        // symbol was merged away or its pair changed (id < 0 marks a dead symbol).
        while (nh && heap[0].rank == r) {
            int32_t p = pop(heap, &nh).pos, q = next[p];
            if (id[p] != a || q < 0 || id[q] != b) continue;
            id[p] = c;
            id[q] = -1;
            next[p] = next[q];
            if (next[q] >= 0) prev[next[q]] = p;
            merged[nm++] = p;
        }
        // New pairs only after the whole pass, as GPT-2 finishes one rank before the next.
        for (size_t k = 0; k < nm; k++) {
            int32_t p = merged[k], l = prev[p], q = next[p], rr;
            if (l >= 0 && (rr = zy__tok_rank(t, id[l], id[p])) >= 0) push(heap, &nh, (entry){rr, l});
            if (q >= 0 && (rr = zy__tok_rank(t, id[p], id[q])) >= 0) push(heap, &nh, (entry){rr, p});
        }
    }
    size_t o = 0;
    for (int32_t p = 0; p >= 0; p = next[p]) ids[o++] = id[p];
    return o;
}

size_t zy__bpe_word(const zy_tokenizer *t, const uint8_t *word, size_t n, int32_t *ids,
                    void *scratch) {
    if (n <= 64) return zy__bpe_word_scan(t, word, n, ids);
    return zy__bpe_word_heap(t, word, n, ids, scratch);
}
