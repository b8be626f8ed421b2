// CTC decoding (include/zhuyi/ctc.h): the best path, and prefix beam search without a
// language model. Not the loss (src/nn/ctc.c).
//
// Beam search keeps its prefixes in a trie in caller scratch: node = (parent, last label),
// at most one node per label sequence (a child is looked up before it is made), so two
// prefixes are the same sequence exactly when they are the same node. Each frame adds at
// most `beam` nodes (the kept extensions), so 1 + beam·T nodes always suffice. A candidate
// is a kept node ("stay") or a kept node plus one label ("extension"); the extension y + c
// that is itself a kept prefix is not made separately but added into that prefix's own
// candidate (its parent is then a kept prefix: pidx), so every candidate is a distinct
// sequence and each can go straight into the sorted top-`beam` list as it is made. The
// whole candidate set (beam x V) is never stored.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "kernels/argmax.h"
#include "zhuyi/ctc.h"

// log(e^a + e^b), exact for -inf operands (the same rule as src/nn/ctc.c).
static inline double lse2(double a, double b) {
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

// lp (V) = log_softmax(x) in double; a frame without a finite maximum gives all -inf.
static void log_softmax_row(double *lp, const float *x, int V) {
    float mx = -INFINITY;
    for (int v = 0; v < V; v++)
        if (x[v] > mx) mx = x[v];
    if (!isfinite(mx)) {
        for (int v = 0; v < V; v++) lp[v] = -INFINITY;
        return;
    }
    double se = 0;
    for (int v = 0; v < V; v++) se += exp((double)x[v] - mx);
    double lse = mx + log(se);
    for (int v = 0; v < V; v++) lp[v] = (double)x[v] - lse;
}

zy_status zy_ctc_greedy(const float *logits, const int32_t *input_lengths, int B, int T,
                        int V, int blank, int32_t *labels, int32_t *lengths, float *scores) {
    if (B < 0 || T < 0 || V < 1)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "ctc_greedy: bad shape B=%d, T=%d, V=%d",
                         B, T, V);
    if (blank < 0 || blank >= V)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "ctc_greedy: blank %d is outside [0, %d)",
                         blank, V);
    if (B > 0 && ((T > 0 && (!logits || !labels)) || !lengths))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "ctc_greedy: NULL %s",
                         !lengths ? "lengths" : !logits ? "logits" : "labels");
    for (int b = 0; input_lengths && b < B; b++)
        if (input_lengths[b] < 0 || input_lengths[b] > T)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "ctc_greedy: input_lengths[%d] = %d is outside [0, T=%d]", b,
                             input_lengths[b], T);
    for (int b = 0; b < B; b++) {
        const int Tb = input_lengths ? input_lengths[b] : T;
        int n = 0, prev = -1;
        double score = 0;
        for (int t = 0; t < Tb; t++) {
            const float *x = logits + ((size_t)b * T + t) * V;
            const int best = zy__argmax(x, V);
            if (scores) {
                double se = 0;
                for (int v = 0; v < V; v++) se += exp((double)x[v] - x[best]);
                score += -log(se); // x[best] - lse
            }
            if (best != blank && best != prev) labels[(size_t)b * T + n++] = best;
            prev = best;
        }
        lengths[b] = n;
        if (scores) scores[b] = (float)score;
    }
    return ZY_STATUS_OK;
}

// ---- prefix beam search -------------------------------------------------------------------

typedef struct node {
    int32_t parent, label; // root: -1, -1
    int32_t child, sibling; // first child, next sibling (-1: none)
    int32_t len;
} node;

typedef struct cand {
    double pb, pnb, score;
    int32_t node; // the kept prefix it comes from
    int32_t ext;  // the label added to it, -1 for the prefix itself
} cand;

typedef struct beam_state {
    double *lp;         // (V)
    cand *cur, *top;    // (K) each: the kept prefixes, the next ones being chosen
    node *nodes;        // (1 + K·T)
    int32_t *mark;      // (V): mark[c] == stamp when prefix + c is kept
    int32_t *pidx;      // (K): the kept prefix that is cur[j]'s parent, or -1
    int32_t *la, *lb;   // (T + 1) each: labels of two candidates being compared
    int n_nodes, n_cur, n_top, K;
} beam_state;

// Byte offsets of the scratch parts; 0 total on overflow.
static size_t beam_layout(int T, int V, int K, size_t off[8]) {
    size_t nodes, sz[8];
    // node ids, and the marks t·K + i, are int32
    if (!zy__mul_size((size_t)K, (size_t)T, &nodes) || nodes >= INT32_MAX) return 0;
    nodes += 1;
    sz[0] = (size_t)V * sizeof(double);
    sz[1] = (size_t)K * sizeof(cand);
    sz[2] = sz[1];
    if (!zy__mul_size(nodes, sizeof(node), &sz[3])) return 0;
    sz[4] = (size_t)V * sizeof(int32_t);
    sz[5] = (size_t)K * sizeof(int32_t);
    sz[6] = sz[7] = ((size_t)T + 1) * sizeof(int32_t);
    size_t total = 0;
    for (int i = 0; i < 8; i++) {
        off[i] = total;
        size_t padded = (sz[i] + 7) & ~(size_t)7;
        if (padded < sz[i] || total + padded < total) return 0;
        total += padded;
    }
    return total;
}

size_t zy_ctc_beam_scratch_size(int T, int V, int beam) {
    size_t off[8];
    if (T < 0 || V < 1 || beam < 1) return 0;
    return beam_layout(T, V, beam, off);
}

static int cand_len(const beam_state *s, const cand *c) {
    return s->nodes[c->node].len + (c->ext >= 0);
}

static void cand_labels(const beam_state *s, const cand *c, int32_t *out) {
    int i = cand_len(s, c);
    if (c->ext >= 0) out[--i] = c->ext;
    for (int n = c->node; n > 0; n = s->nodes[n].parent) out[--i] = s->nodes[n].label;
}

// < 0 when a ranks before b: higher score, then shorter, then lexicographically smaller.
static int cand_cmp(beam_state *s, const cand *a, const cand *b) {
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    int na = cand_len(s, a), nb = cand_len(s, b);
    if (na != nb) return na < nb ? -1 : 1;
    cand_labels(s, a, s->la);
    cand_labels(s, b, s->lb);
    for (int i = 0; i < na; i++)
        if (s->la[i] != s->lb[i]) return s->la[i] < s->lb[i] ? -1 : 1;
    return 0;
}

// Into the sorted top-K list, if it ranks there.
static void top_insert(beam_state *s, cand c) {
    c.score = lse2(c.pb, c.pnb);
    if (!(c.score > -INFINITY)) return; // -inf (and NaN) prefixes are dropped
    if (s->n_top == s->K && cand_cmp(s, &c, &s->top[s->K - 1]) >= 0) return;
    int i = s->n_top < s->K ? s->n_top++ : s->K - 1;
    while (i > 0 && cand_cmp(s, &c, &s->top[i - 1]) < 0) {
        s->top[i] = s->top[i - 1];
        i--;
    }
    s->top[i] = c;
}

static int32_t child_of(beam_state *s, int32_t p, int32_t label) {
    for (int32_t n = s->nodes[p].child; n >= 0; n = s->nodes[n].sibling)
        if (s->nodes[n].label == label) return n;
    int32_t n = s->n_nodes++;
    s->nodes[n] = (node){.parent = p, .label = label, .child = -1,
                         .sibling = s->nodes[p].child, .len = s->nodes[p].len + 1};
    s->nodes[p].child = n;
    return n;
}

static void beam_frame(beam_state *s, int t, int V, int blank) {
    const double *lp = s->lp;
    const int n = s->n_cur;
    for (int j = 0; j < n; j++) {
        s->pidx[j] = -1;
        int32_t par = s->nodes[s->cur[j].node].parent;
        for (int i = 0; par >= 0 && i < n; i++)
            if (s->cur[i].node == par) s->pidx[j] = i;
    }
    s->n_top = 0;
    // Each kept prefix itself, with the extension of its parent when that is kept too.
    for (int j = 0; j < n; j++) {
        const cand *y = &s->cur[j];
        int32_t e = s->nodes[y->node].label;
        cand c = {.pb = lse2(y->pb, y->pnb) + lp[blank], .pnb = -INFINITY, .node = y->node,
                  .ext = -1};
        if (e >= 0) c.pnb = y->pnb + lp[e];
        if (s->pidx[j] >= 0) {
            const cand *p = &s->cur[s->pidx[j]];
            int32_t pe = s->nodes[p->node].label;
            c.pnb = lse2(c.pnb, (e == pe ? p->pb : lse2(p->pb, p->pnb)) + lp[e]);
        }
        top_insert(s, c);
    }
    // Every kept prefix plus every label, but the sequences already counted above.
    for (int i = 0; i < n; i++) {
        const cand *y = &s->cur[i];
        const int32_t stamp = t * s->K + i; // unique per (frame, prefix): mark needs no reset
        for (int j = 0; j < n; j++)
            if (s->pidx[j] == i) s->mark[s->nodes[s->cur[j].node].label] = stamp;
        int32_t e = s->nodes[y->node].label;
        double total = lse2(y->pb, y->pnb);
        for (int c = 0; c < V; c++) {
            if (c == blank || s->mark[c] == stamp) continue;
            cand x = {.pb = -INFINITY, .pnb = (c == e ? y->pb : total) + lp[c],
                      .node = y->node, .ext = c};
            top_insert(s, x);
        }
    }
    // The chosen extensions become nodes; the list becomes the kept set.
    for (int k = 0; k < s->n_top; k++) {
        cand *c = &s->top[k];
        if (c->ext >= 0) c->node = child_of(s, c->node, c->ext), c->ext = -1;
    }
    cand *tmp = s->cur;
    s->cur = s->top;
    s->top = tmp;
    s->n_cur = s->n_top;
}

zy_status zy_ctc_beam_search(const float *logits, int T, int V, int blank, int beam,
                             void *scratch, size_t scratch_bytes, int32_t *labels,
                             int32_t *lengths, float *scores, int *n_hyps) {
    if (T < 0 || V < 1 || beam < 1)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "ctc_beam_search: bad arguments T=%d, V=%d, beam=%d", T, V, beam);
    if (blank < 0 || blank >= V)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "ctc_beam_search: blank %d is outside [0, %d)", blank, V);
    size_t off[8], need = beam_layout(T, V, beam, off);
    if (!need)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "ctc_beam_search: the scratch size of T=%d, V=%d, beam=%d overflows",
                         T, V, beam);
    if ((T > 0 && !logits) || !scratch || !labels || !lengths || !scores || !n_hyps)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "ctc_beam_search: a NULL pointer");
    if (scratch_bytes < need)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "ctc_beam_search: scratch of %zu bytes, %zu needed", scratch_bytes,
                         need);
    char *base = scratch;
    beam_state s = {.lp = (double *)(base + off[0]), .cur = (cand *)(base + off[1]),
                    .top = (cand *)(base + off[2]), .nodes = (node *)(base + off[3]),
                    .mark = (int32_t *)(base + off[4]), .pidx = (int32_t *)(base + off[5]),
                    .la = (int32_t *)(base + off[6]), .lb = (int32_t *)(base + off[7]),
                    .K = beam};
    for (int v = 0; v < V; v++) s.mark[v] = -1;
    s.nodes[0] = (node){.parent = -1, .label = -1, .child = -1, .sibling = -1, .len = 0};
    s.n_nodes = 1;
    s.cur[0] = (cand){.pb = 0, .pnb = -INFINITY, .score = 0, .node = 0, .ext = -1};
    s.n_cur = 1;
    for (int t = 0; t < T && s.n_cur; t++) {
        log_softmax_row(s.lp, logits + (size_t)t * V, V);
        beam_frame(&s, t, V, blank);
    }
    for (int k = 0; k < s.n_cur; k++) {
        const cand *c = &s.cur[k];
        lengths[k] = s.nodes[c->node].len;
        cand_labels(&s, c, labels + (size_t)k * T);
        scores[k] = (float)lse2(c->pb, c->pnb);
    }
    *n_hyps = s.n_cur;
    return ZY_STATUS_OK;
}
