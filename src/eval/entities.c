// Tagging metrics: token accuracy and entity-level precision / recall / F1 over BIO tags,
// as seqeval's default (conlleval-style) mode computes them. The chunking rules are in
// include/zhuyi/metrics.h; this file runs them as a state machine over the gold and the
// predicted streams side by side. Not a tagger and not seqeval's strict mode (which
// checks a declared scheme).
//
// Matching needs no sets: an entity is emitted at the step after its last token, so a gold
// and a predicted entity with the same (type, start, end) are emitted at the same step;
// comparing the two emissions of each step counts the true positives.
#include <string.h>

#include "core/internal.h"
#include "eval_internal.h"

enum { TAG_O, TAG_B, TAG_I, TAG_E, TAG_S, TAG_DOT, TAG_OTHER };

typedef struct tag {
    int letter;       // TAG_*
    const char *type; // type_len bytes
    size_t type_len;
} tag;

static const tag OUTSIDE = {TAG_O, "_", 1}; // the "O" after each sentence
// Before the first tag seqeval starts from letter O and type "" (no tag has an empty type,
// so the first tag always sees a type change: it only matters for where a chunk starts).
static const tag START = {TAG_O, "", 0};

// seqeval: tag = chunk[0] (one character), type = chunk[1:].split('-', 1)[-1] or '_'.
static tag parse(const char *s) {
    size_t n = 1;
    if ((unsigned char)s[0] >= 0xC0) // a UTF-8 lead byte: the whole character is the letter
        while (n < 4 && ((unsigned char)s[n] & 0xC0) == 0x80) n++;
    tag t = {TAG_OTHER, NULL, 0};
    switch (s[0]) {
    case 'O': t.letter = TAG_O; break;
    case 'B': t.letter = TAG_B; break;
    case 'I': t.letter = TAG_I; break;
    case 'E': t.letter = TAG_E; break;
    case 'S': t.letter = TAG_S; break;
    case '.': t.letter = TAG_DOT; break;
    }
    const char *rest = s + n, *dash = strchr(rest, '-');
    t.type = dash ? dash + 1 : rest;
    t.type_len = strlen(t.type);
    if (!t.type_len) t.type = "_", t.type_len = 1;
    return t;
}

static int same_type(const tag *a, const tag *b) {
    return a->type_len == b->type_len && !memcmp(a->type, b->type, a->type_len);
}

typedef struct stream {
    tag prev;
    int64_t begin; // where the last chunk started (kept across sentences, as seqeval does)
} stream;

typedef struct chunk {
    const char *type;
    size_t type_len;
    int64_t start, end;
} chunk;

// Tag t at position i. Returns 1 and fills *c when a chunk ended at i - 1.
static int step(stream *st, const tag *t, int64_t i, chunk *c) {
    const int p = st->prev.letter, q = t->letter;
    const int type_change = !same_type(&st->prev, t);
    int end = p == TAG_E || p == TAG_S ||
              ((p == TAG_B || p == TAG_I) && (q == TAG_B || q == TAG_S || q == TAG_O)) ||
              (p != TAG_O && p != TAG_DOT && type_change);
    int start = q == TAG_B || q == TAG_S ||
                ((p == TAG_E || p == TAG_S || p == TAG_O) && (q == TAG_I || q == TAG_E)) ||
                (q != TAG_O && q != TAG_DOT && type_change);
    if (end) *c = (chunk){st->prev.type, st->prev.type_len, st->begin, i - 1};
    if (start) st->begin = i;
    st->prev = *t;
    return end;
}

zy_status zy_tags_entities(const char *const *tags, size_t n, zy_entity *out, size_t *count) {
    if (!count || (n && (!tags || !out)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tags entities: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (!tags[i] || !tags[i][0])
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tags entities: tag %zu is %s", i,
                             tags[i] ? "empty" : "NULL");
    stream st = {START, 0};
    size_t k = 0;
    for (size_t i = 0; i <= n; i++) {
        tag t = i < n ? parse(tags[i]) : OUTSIDE;
        chunk c = {0};
        if (step(&st, &t, (int64_t)i, &c))
            out[k++] = (zy_entity){c.type, c.type_len, (size_t)c.start, (size_t)c.end};
    }
    *count = k;
    return ZY_STATUS_OK;
}

// ---- the accumulator ------------------------------------------------------------------------
typedef struct etype {
    char *name; // NUL-terminated copy
    size_t len;
    int64_t tp, predicted, support;
} etype;

struct zy_entity_eval {
    stream gold, pred;
    int64_t pos;              // stream position of the next sentence's first token
    int64_t sentences, tokens, correct;
    etype *types;             // sorted by name bytes
    int n_types, cap_types;
};

zy_status zy_entity_eval_create(zy_entity_eval **out) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "entity eval: out is NULL");
    zy_entity_eval *e = zy_calloc(1, sizeof *e);
    if (!e) return ZY_STATUS_OUT_OF_MEMORY;
    e->gold.prev = e->pred.prev = START;
    *out = e;
    return ZY_STATUS_OK;
}

void zy_entity_eval_free(zy_entity_eval *e) {
    if (!e) return;
    for (int i = 0; i < e->n_types; i++) zy_free(e->types[i].name);
    zy_free(e->types);
    zy_free(e);
}

static int cmp_name(const char *a, size_t na, const char *b, size_t nb) {
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

// Index of the type, or -(insertion point) - 1.
static int find(const zy_entity_eval *e, const char *s, size_t n) {
    int lo = 0, hi = e->n_types;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = cmp_name(e->types[mid].name, e->types[mid].len, s, n);
        if (!c) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -lo - 1;
}

static zy_status ensure(zy_entity_eval *e, const char *s, size_t n) {
    int at = find(e, s, n);
    if (at >= 0) return ZY_STATUS_OK;
    at = -at - 1;
    if (e->n_types == e->cap_types) {
        int cap = e->cap_types ? 2 * e->cap_types : 8;
        etype *t = zy_alloc((size_t)cap * sizeof *t);
        if (!t) return ZY_STATUS_OUT_OF_MEMORY;
        if (e->n_types) memcpy(t, e->types, (size_t)e->n_types * sizeof *t);
        zy_free(e->types);
        e->types = t, e->cap_types = cap;
    }
    char *name = zy_alloc(n + 1);
    if (!name) return ZY_STATUS_OUT_OF_MEMORY;
    memcpy(name, s, n);
    name[n] = 0;
    memmove(e->types + at + 1, e->types + at, (size_t)(e->n_types - at) * sizeof *e->types);
    e->types[at] = (etype){name, n, 0, 0, 0};
    e->n_types++;
    return ZY_STATUS_OK;
}

// Drop the types a failed add inserted (every type kept so far has an entity counted).
static void purge_new(zy_entity_eval *e) {
    int k = 0;
    for (int i = 0; i < e->n_types; i++) {
        if (e->types[i].predicted || e->types[i].support) e->types[k++] = e->types[i];
        else zy_free(e->types[i].name);
    }
    e->n_types = k;
}

static int64_t *counter(zy_entity_eval *e, const chunk *c, int field) {
    etype *t = &e->types[find(e, c->type, c->type_len)];
    return field == 0 ? &t->tp : field == 1 ? &t->predicted : &t->support;
}

// Runs the sentence (and the "O" after it) through both streams. count = 0: only makes
// sure every type exists (may fail); count = 1: counts (cannot fail) and keeps the state.
static zy_status run(zy_entity_eval *e, const char *const *gold, const char *const *pred,
                     size_t n, int count) {
    stream g = e->gold, p = e->pred;
    for (size_t i = 0; i <= n; i++) {
        tag tg = i < n ? parse(gold[i]) : OUTSIDE, tp = i < n ? parse(pred[i]) : OUTSIDE;
        chunk cg = {0}, cp = {0};
        int eg = step(&g, &tg, e->pos + (int64_t)i, &cg);
        int ep = step(&p, &tp, e->pos + (int64_t)i, &cp);
        if (!count) {
            zy_status s = ZY_STATUS_OK;
            if (eg) s = ensure(e, cg.type, cg.type_len);
            if (!s && ep) s = ensure(e, cp.type, cp.type_len);
            if (s) return s;
            continue;
        }
        if (eg) ++*counter(e, &cg, 2);
        if (ep) ++*counter(e, &cp, 1);
        if (eg && ep && cg.start == cp.start && cg.type_len == cp.type_len &&
            !memcmp(cg.type, cp.type, cg.type_len))
            ++*counter(e, &cg, 0);
    }
    if (count) e->gold = g, e->pred = p;
    return ZY_STATUS_OK;
}

zy_status zy_entity_eval_add(zy_entity_eval *e, const char *const *gold, size_t n_gold,
                             const char *const *pred, size_t n_pred) {
    if (!e) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "entity eval: NULL accumulator");
    const int64_t sent = e->sentences;
    if (n_gold != n_pred)
        return zy__error(ZY_STATUS_SHAPE_MISMATCH,
                         "entity eval: sentence %lld has %zu gold tags but %zu predicted",
                         (long long)sent, n_gold, n_pred);
    const size_t n = n_gold;
    if (n && (!gold || !pred))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "entity eval: sentence %lld: NULL %s tags",
                         (long long)sent, gold ? "predicted" : "gold");
    for (size_t i = 0; i < n; i++)
        for (int w = 0; w < 2; w++) {
            const char *s = w ? pred[i] : gold[i];
            if (!s || !s[0])
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "entity eval: sentence %lld, token %zu: %s tag is %s",
                                 (long long)sent, i, w ? "predicted" : "gold",
                                 s ? "empty" : "NULL");
        }
    zy_status s = run(e, gold, pred, n, 0);
    if (s) {
        purge_new(e);
        return s;
    }
    run(e, gold, pred, n, 1);
    for (size_t i = 0; i < n; i++) e->correct += !strcmp(gold[i], pred[i]);
    e->tokens += (int64_t)n;
    e->pos += (int64_t)n + 1;
    e->sentences++;
    return ZY_STATUS_OK;
}

int64_t zy_entity_eval_sentences(const zy_entity_eval *e) { return e ? e->sentences : 0; }
int zy_entity_eval_types(const zy_entity_eval *e) { return e ? e->n_types : 0; }

const char *zy_entity_eval_type(const zy_entity_eval *e, int i) {
    return e && i >= 0 && i < e->n_types ? e->types[i].name : NULL;
}

zy_status zy_entity_eval_scores(const zy_entity_eval *e, zy_class_score *per_type,
                                zy_scores *out) {
    if (!e || !out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "entity eval scores: NULL argument");
    const size_t k = (size_t)e->n_types;
    zy_class_score *cs = zy_alloc((k ? k : 1) * (sizeof *cs + 4 * sizeof(double)));
    if (!cs) return ZY_STATUS_OUT_OF_MEMORY;
    double *scratch = (double *)(cs + (k ? k : 1));
    for (size_t i = 0; i < k; i++) {
        cs[i] = (zy_class_score){.tp = e->types[i].tp, .predicted = e->types[i].predicted,
                                 .support = e->types[i].support};
        zy__class_score_finish(&cs[i], 1);
    }
    if (per_type && k) memcpy(per_type, cs, k * sizeof *cs);
    zy_scores r = {.correct = e->correct, .n = e->tokens};
    r.accuracy = e->tokens ? (double)e->correct / (double)e->tokens : 0.0;
    zy__scores_average(&r, cs, k, 1, scratch);
    zy_free(cs);
    *out = r;
    return ZY_STATUS_OK;
}
