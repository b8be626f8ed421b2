// BERT pretraining examples as a data source: the examples mlm_build.c makes from a corpus,
// visited in a seeded order per epoch (or once, for evaluation), laid out as
// [CLS] A [SEP] B [SEP] rows and masked for the masked-LM objective with a mask that is a
// pure function of (seed, epoch, example). The rules are spelled out in
// include/zhuyi/data.h and docs/FORMATS.md; this file follows them. Not here: building
// the corpus (corpus.c) or the examples (mlm_build.c).
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "data/mlm_internal.h"

typedef struct mlm_source {
    const int32_t *tokens; // the corpus's, borrowed
    zy__mlm_example *ex;   // (n) the examples, in list order
    uint64_t n;
    uint32_t *order;       // (n) the current epoch's visiting order (shuffle only)
    int B, T, rank, world;
    uint64_t seed, epoch, pos; // pos: examples of epoch `epoch` already taken (global)
    bool shuffle, one_pass, nsp, labels, static_masking;
    int cls, sep, mask, pad, V;
    int special[4];        // the special ids, ascending (skipped by random tokens)
    uint8_t *cont;         // (V) word-continuation flags, or NULL (no whole-word masking)
    float mask_prob, p_mask, p_random;
    int max_pred;
    int *grp_start, *grp_len, *grp_order; // (T each) one row's candidate words
} mlm_source;

static uint64_t global_rows(const mlm_source *s) {
    return (uint64_t)s->B * (uint64_t)s->world;
}

// The visiting order of epoch e: a pure function of (seed, e).
static void start_epoch(mlm_source *s, uint64_t e) {
    s->epoch = e;
    s->pos = 0;
    if (!s->shuffle) return;
    for (uint64_t i = 0; i < s->n; i++) s->order[i] = (uint32_t)i;
    zy_rng r;
    zy_rng_seed(&r, zy_hash64(s->seed ^ ZY_MLM_ORDER_SALT, e));
    for (uint64_t i = s->n - 1; i > 0; i--) {
        uint64_t j = zy_rng_below(&r, i + 1);
        uint32_t t = s->order[i];
        s->order[i] = s->order[j];
        s->order[j] = t;
    }
}

// A token uniform over the vocabulary without the special ids.
static int random_token(const mlm_source *s, zy_rng *r) {
    int v = (int)zy_rng_below(r, (uint64_t)(s->V - 4));
    for (int k = 0; k < 4; k++) v += v >= s->special[k];
    return v;
}

// Candidate word g is chosen: each of its tokens becomes a target and is replaced by
// [MASK], by a random token or by itself.
static void choose(const mlm_source *s, zy_rng *r, int *x, int *y, int g) {
    for (int t = s->grp_start[g]; t < s->grp_start[g] + s->grp_len[g]; t++) {
        y[t] = x[t];
        float u = zy_rng_uniform(r);
        if (u < s->p_mask) x[t] = s->mask;
        else if (u < s->p_mask + s->p_random) x[t] = random_token(s, r);
    }
}

// Masks the segments A = x[1 .. 1 + la) and B = x[la + 2 .. la + 2 + lb) in place (y has
// -1 everywhere): BERT's create_masked_lm_predictions with the count rule of data.h.
static void mask_row(mlm_source *s, zy_rng *r, int *x, int *y, int la, int lb) {
    int G = 0;
    const int seg_start[2] = {1, la + 2}, seg_len[2] = {la, lb};
    for (int k = 0; k < 2; k++)
        for (int t = seg_start[k]; t < seg_start[k] + seg_len[k]; t++) {
            if (s->cont && t > seg_start[k] && s->cont[x[t]]) {
                s->grp_len[G - 1]++;
            } else {
                s->grp_start[G] = t;
                s->grp_len[G] = 1;
                G++;
            }
        }
    int num = (int)floor((double)(la + lb) * (double)s->mask_prob + 0.5);
    num = ZY_MAX(num, 1);
    if (s->max_pred > 0) num = ZY_MIN(num, s->max_pred);
    for (int g = 0; g < G; g++) s->grp_order[g] = g;
    // The words in a uniform random order (Fisher-Yates drawn as it goes), a word that
    // would overshoot the count passed over.
    int count = 0;
    for (int k = 0; k < G && count < num; k++) {
        int j = k + (int)zy_rng_below(r, (uint64_t)(G - k));
        int g = s->grp_order[j];
        s->grp_order[j] = s->grp_order[k];
        s->grp_order[k] = g;
        if (count + s->grp_len[g] > num) continue;
        choose(s, r, x, y, g);
        count += s->grp_len[g];
    }
    // Every word longer than the count (whole-word masking only): the first of the order
    // is masked whole, unless max_predictions forbids it.
    int g0 = G > 0 ? s->grp_order[0] : 0;
    if (count == 0 && G > 0 && (s->max_pred <= 0 || s->grp_len[g0] <= s->max_pred))
        choose(s, r, x, y, g0);
}

// Row `row` of b = example i, laid out and masked.
static void put_row(mlm_source *s, zy_batch *b, int row, uint64_t i) {
    const zy__mlm_example *e = &s->ex[i];
    int T = s->T, la = (int)e->na, lb = (int)e->nb, n = 0;
    int *x = b->input_ids + (size_t)row * T, *y = b->targets + (size_t)row * T;
    x[n++] = s->cls;
    for (int t = 0; t < la; t++) x[n++] = s->tokens[e->a + (uint64_t)t];
    x[n++] = s->sep;
    if (s->nsp) {
        for (int t = 0; t < lb; t++) x[n++] = s->tokens[e->b + (uint64_t)t];
        x[n++] = s->sep;
        int *ty = b->token_type_ids + (size_t)row * T;
        for (int t = 0; t < T; t++) ty[t] = t >= la + 2 && t < n;
        if (s->labels) b->labels[row] = e->label;
    }
    b->lengths[row] = n;
    for (int t = n; t < T; t++) x[t] = s->pad;
    for (int t = 0; t < T; t++) y[t] = -1;
    zy_rng r;
    uint64_t e_mask = s->static_masking || s->one_pass ? 0 : s->epoch;
    zy_rng_seed(&r, zy_hash64(zy_hash64(s->seed ^ ZY_MLM_MASK_SALT, e_mask), i));
    mask_row(s, &r, x, y, la, s->nsp ? lb : 0);
}

static zy_status mlm_next(void *impl, zy_batch *b) {
    mlm_source *s = impl;
    uint64_t R = global_rows(s), first = (uint64_t)s->rank * (uint64_t)s->B, rows = R;
    b->T = s->T;
    b->B = 0;
    if (s->one_pass) rows = s->pos < s->n ? ZY_MIN(R, s->n - s->pos) : 0;
    else if (s->n - s->pos < R) start_epoch(s, s->epoch + 1);
    for (uint64_t r = first; r < rows && r < first + (uint64_t)s->B; r++) {
        uint64_t i = s->pos + r;
        put_row(s, b, b->B++, s->shuffle ? s->order[i] : i);
    }
    s->pos += rows;
    return ZY_STATUS_OK;
}

static void mlm_tell(const void *impl, zy_data_pos *pos) {
    const mlm_source *s = impl;
    *pos = (zy_data_pos){s->epoch, s->pos};
}

static zy_status mlm_seek(void *impl, zy_data_pos p) {
    mlm_source *s = impl;
    if ((s->one_pass && p.epoch != 0) || p.pos > s->n)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data position (%llu, %llu) is not one "
                         "of this %s source of %llu examples", (unsigned long long)p.epoch,
                         (unsigned long long)p.pos, s->one_pass ? "one-pass" : "training",
                         (unsigned long long)s->n);
    if (p.epoch != s->epoch || s->one_pass) start_epoch(s, p.epoch);
    s->pos = p.pos;
    return ZY_STATUS_OK;
}

// Training needs one global batch of examples; one pass, one example.
static zy_status check_count(uint64_t n, uint64_t R, bool one_pass) {
    if (n >= (one_pass ? 1 : R)) return ZY_STATUS_OK;
    if (one_pass)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: the corpus gives no example");
    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: the corpus gives %llu examples, "
                     "fewer than one batch needs (%llu rows; more text, a larger "
                     "dupe_factor or a smaller batch)", (unsigned long long)n,
                     (unsigned long long)R);
}

static zy_status mlm_shard(void *impl, int rank, int world) {
    mlm_source *s = impl;
    zy_status st = check_count(s->n, (uint64_t)s->B * (uint64_t)world, s->one_pass);
    if (st) return st;
    s->rank = rank;
    s->world = world;
    return ZY_STATUS_OK;
}

static void mlm_free(void *impl) {
    mlm_source *s = impl;
    if (!s) return;
    zy_free(s->ex);
    zy_free(s->order);
    zy_free(s->cont);
    zy_free(s->grp_start);
    zy_free(s->grp_len);
    zy_free(s->grp_order);
    zy_free(s);
}

static const zy_data_source_ops MLM_OPS = {
    .next = mlm_next, .tell = mlm_tell, .seek = mlm_seek, .shard = mlm_shard, .free = mlm_free,
};

zy_mlm_source_params zy_mlm_source_default_params(void) {
    return (zy_mlm_source_params){
        .batch = 8, .seq = 128, .seed = 12345, .shuffle = true, .nsp = true,
        .vocab_size = -1, .cls_id = -1, .sep_id = -1, .mask_id = -1, .pad_id = -1,
        .dupe_factor = 1, .short_seq_prob = 0.1f, .mask_prob = 0.15f,
        .mask_token_prob = 0.8f, .random_token_prob = 0.1f, .max_predictions = 0,
    };
}

static bool in01(float x) { return x >= 0.0f && x <= 1.0f; } // false for NaN

static zy_status check_params(const zy_mlm_source_params *p) {
    int min_seq = p->nsp ? 5 : 3;
    if (p->batch <= 0 || p->batch > (1 << 20) || p->seq > (1 << 24))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: bad sizes (batch %d, seq %d)",
                         p->batch, p->seq);
    if (p->seq < min_seq)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: seq %d is too short for %s "
                         "(at least %d)", p->seq,
                         p->nsp ? "[CLS] A [SEP] B [SEP] with one token in A and B"
                                : "[CLS] text [SEP] with one token of text",
                         min_seq);
    if (p->shuffle && p->one_pass)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: a one-pass source is read in "
                         "order (turn shuffle off)");
    if (p->vocab_size < 5 || p->vocab_size > (1 << 30))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: vocab_size %d (at least 5: "
                         "4 special ids and one token)", p->vocab_size);
    const int ids[4] = {p->cls_id, p->sep_id, p->mask_id, p->pad_id};
    const char *names[4] = {"[CLS]", "[SEP]", "[MASK]", "[PAD]"};
    for (int k = 0; k < 4; k++) {
        if (ids[k] < 0 || ids[k] >= p->vocab_size)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: the %s id %d is outside "
                             "[0, %d) (vocab_size)", names[k], ids[k], p->vocab_size);
        for (int j = 0; j < k; j++)
            if (ids[j] == ids[k])
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: %s and %s have the "
                                 "same id %d", names[j], names[k], ids[k]);
    }
    if (p->dupe_factor < 1 || p->dupe_factor > 10000)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: dupe_factor %d is outside "
                         "[1, 10000]", p->dupe_factor);
    if (!in01(p->short_seq_prob) || !in01(p->mask_prob) || p->mask_prob == 0.0f ||
        !in01(p->mask_token_prob) || !in01(p->random_token_prob) ||
        (double)p->mask_token_prob + (double)p->random_token_prob > 1.0 + 1e-6)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: bad probabilities "
                         "(short_seq_prob %g in [0, 1], mask_prob %g in (0, 1], "
                         "mask_token_prob %g + random_token_prob %g <= 1)",
                         (double)p->short_seq_prob, (double)p->mask_prob,
                         (double)p->mask_token_prob, (double)p->random_token_prob);
    if (p->max_predictions < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: max_predictions %d < 0",
                         p->max_predictions);
    return ZY_STATUS_OK;
}

// The corpus is well formed and its ids are text ids: checked before anything is made
// from it. Errors name the document, the sentence (corpus-wide index) and the position.
static zy_status check_corpus(const zy_corpus *c, const zy_mlm_source_params *p) {
    typedef unsigned long long ull;
    if (!c || c->n_documents == 0 || c->n_sentences == 0 || c->n_tokens == 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: the corpus is empty");
    if (!c->tokens || !c->sentences || !c->documents)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: the corpus lacks its tokens, "
                         "sentence or document offsets");
    uint64_t D = c->n_documents, S = c->n_sentences;
    if (c->documents[0] != 0 || c->documents[D] != S || c->sentences[0] != 0 ||
        c->sentences[S] != c->n_tokens)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: corpus offsets must run from 0 "
                         "to the counts (documents %llu..%llu of %llu sentences, sentences "
                         "%llu..%llu of %llu tokens)", (ull)c->documents[0],
                         (ull)c->documents[D], (ull)S, (ull)c->sentences[0],
                         (ull)c->sentences[S], (ull)c->n_tokens);
    for (uint64_t d = 0; d < D; d++)
        if (c->documents[d + 1] <= c->documents[d])
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: document %llu has no "
                             "sentence (offsets %llu, %llu)", (ull)d, (ull)c->documents[d],
                             (ull)c->documents[d + 1]);
    for (uint64_t i = 0; i < S; i++)
        if (c->sentences[i + 1] <= c->sentences[i])
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: sentence %llu is empty "
                             "(offsets %llu, %llu)", (ull)i, (ull)c->sentences[i],
                             (ull)c->sentences[i + 1]);
    const int ids[4] = {p->cls_id, p->sep_id, p->mask_id, p->pad_id};
    const char *names[4] = {"[CLS]", "[SEP]", "[MASK]", "[PAD]"};
    for (uint64_t d = 0; d < D; d++)
        for (uint64_t i = c->documents[d]; i < c->documents[d + 1]; i++)
            for (uint64_t t = c->sentences[i]; t < c->sentences[i + 1]; t++) {
                int32_t id = c->tokens[t];
                if (id < 0 || id >= p->vocab_size)
                    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: document %llu, "
                                     "sentence %llu, position %llu: id %d is outside [0, %d) "
                                     "(vocab_size)", (ull)d, (ull)i,
                                     (ull)(t - c->sentences[i]), (int)id, p->vocab_size);
                for (int k = 0; k < 4; k++)
                    if (id == ids[k])
                        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: document "
                                         "%llu, sentence %llu, position %llu: id %d is the %s "
                                         "id (special ids cannot be text)", (ull)d, (ull)i,
                                         (ull)(t - c->sentences[i]), (int)id, names[k]);
            }
    if (p->nsp && D < 2)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: next-sentence prediction needs "
                         "at least 2 documents (NotNext segments come from another "
                         "document); the corpus has 1 (turn nsp off, or add documents)");
    return ZY_STATUS_OK;
}

static uint64_t float_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

// Hash of the corpus and of everything that changes the examples, their order or masks.
static uint64_t fingerprint(const zy_corpus *c, const zy_mlm_source_params *p) {
    uint64_t h = zy_hash_bytes(c->tokens, (size_t)c->n_tokens * sizeof *c->tokens);
    h = zy_hash64(h, zy_hash_bytes(c->sentences, (size_t)(c->n_sentences + 1) * 8));
    h = zy_hash64(h, zy_hash_bytes(c->documents, (size_t)(c->n_documents + 1) * 8));
    uint64_t f[] = {
        p->seed, (uint64_t)p->seq, p->shuffle, p->nsp, p->nsp && !p->omit_labels,
        p->static_masking, (uint64_t)p->vocab_size, (uint64_t)p->cls_id,
        (uint64_t)p->sep_id, (uint64_t)p->mask_id, (uint64_t)p->pad_id,
        (uint64_t)p->dupe_factor, float_bits(p->short_seq_prob), float_bits(p->mask_prob),
        float_bits(p->mask_token_prob), float_bits(p->random_token_prob),
        (uint64_t)p->max_predictions,
        p->word_continuation ? zy_hash_bytes(p->word_continuation, (size_t)p->vocab_size) : 0,
    };
    return zy_hash64(h, zy_hash_bytes(f, sizeof f));
}

zy_status zy_mlm_source_create(zy_data_source **out, const zy_corpus *c,
                               const zy_mlm_source_params *p) {
    if (!out)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: no source to create");
    *out = NULL;
    if (!p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: no parameters");
    zy_status st;
    if ((st = check_params(p)) || (st = check_corpus(c, p))) return st;
    zy__mlm_build_params bp = {.seed = p->seed, .seq = p->seq, .nsp = p->nsp,
                               .dupe_factor = p->dupe_factor,
                               .short_seq_prob = p->short_seq_prob};
    uint64_t n = zy__mlm_build(c, &bp, NULL);
    if ((st = check_count(n, (uint64_t)p->batch, p->one_pass))) return st;
    if (n > UINT32_MAX || n > SIZE_MAX / sizeof(zy__mlm_example))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert-mlm: %llu examples is too many "
                         "(at most 2^32 - 1)", (unsigned long long)n);

    mlm_source *s = zy_calloc(1, sizeof *s);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "bert-mlm: out of memory");
    *s = (mlm_source){
        .tokens = c->tokens, .n = n, .B = p->batch, .T = p->seq, .world = 1,
        .seed = p->seed, .shuffle = p->shuffle, .one_pass = p->one_pass, .nsp = p->nsp,
        .labels = p->nsp && !p->omit_labels, .static_masking = p->static_masking,
        .cls = p->cls_id, .sep = p->sep_id, .mask = p->mask_id, .pad = p->pad_id,
        .V = p->vocab_size, .special = {p->cls_id, p->sep_id, p->mask_id, p->pad_id},
        .mask_prob = p->mask_prob, .p_mask = p->mask_token_prob,
        .p_random = p->random_token_prob, .max_pred = p->max_predictions,
    };
    for (int k = 1; k < 4; k++) // ascending, for random_token
        for (int j = k; j > 0 && s->special[j - 1] > s->special[j]; j--) {
            int t = s->special[j];
            s->special[j] = s->special[j - 1];
            s->special[j - 1] = t;
        }
    size_t T = (size_t)p->seq;
    bool ok = (s->ex = zy_alloc((size_t)n * sizeof *s->ex)) &&
              (!p->shuffle || (s->order = zy_alloc((size_t)n * sizeof *s->order))) &&
              (!p->word_continuation || (s->cont = zy_alloc((size_t)p->vocab_size))) &&
              (s->grp_start = zy_alloc(T * sizeof(int))) &&
              (s->grp_len = zy_alloc(T * sizeof(int))) &&
              (s->grp_order = zy_alloc(T * sizeof(int)));
    if (!ok) {
        mlm_free(s);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "bert-mlm: out of memory for %llu "
                         "examples", (unsigned long long)n);
    }
    if (s->cont) memcpy(s->cont, p->word_continuation, (size_t)p->vocab_size);
    zy__mlm_build(c, &bp, s->ex);
    start_epoch(s, 0);
    unsigned fields = ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS;
    if (p->nsp) fields |= ZY_BATCH_TOKEN_TYPES;
    if (s->labels) fields |= ZY_BATCH_LABELS;
    zy_data_source_info info = {
        .kind = "bert-mlm",
        .dims = {.batch = p->batch, .seq = p->seq, .fields = fields},
        .n_items = n,
        .fingerprint = fingerprint(c, p),
        .one_pass = p->one_pass,
    };
    if ((st = zy_data_source_create(out, &MLM_OPS, s, &info))) mlm_free(s);
    return st;
}
