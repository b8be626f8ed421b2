// The examples of BERT pretraining made from a corpus of documents: segment A, segment B
// and the next-sentence label, following the rules of BERT's create_pretraining_data.py
// (Devlin et al., 2018), written from their description; or, without next-sentence
// prediction, runs of whole sentences. Each example is kept as two token ranges of the
// corpus, so the list costs 32 bytes an example. Not here: masking and the order of
// batches (mlm_source.c), checking the corpus (done before this runs).
#include "core/internal.h"
#include "data/mlm_internal.h"

// Where the examples go: counted always, written when out is not NULL.
typedef struct sink {
    zy__mlm_example *out;
    uint64_t n;
} sink;

static void emit(sink *k, uint64_t a, uint64_t na, uint64_t b, uint64_t nb, int label) {
    if (k->out)
        k->out[k->n] = (zy__mlm_example){.a = a, .b = b, .na = (uint32_t)na,
                                         .nb = (uint32_t)nb, .label = label};
    k->n++;
}

static uint64_t sentence_len(const zy_corpus *c, uint64_t s) {
    return c->sentences[s + 1] - c->sentences[s];
}

// The target length of one document in one pass: max, or with probability p a length
// uniform in [min(2, max), max] (BERT's short_seq_prob).
static uint64_t target_len(zy_rng *r, uint64_t max, float p) {
    uint64_t lo = ZY_MIN((uint64_t)2, max);
    if (zy_rng_uniform(r) < p) return lo + zy_rng_below(r, max - lo + 1);
    return max;
}

// How many of k fair coin flips come up heads (64 flips per draw).
static uint64_t binomial_half(zy_rng *r, uint64_t k) {
    uint64_t heads = 0;
    for (; k >= 64; k -= 64) heads += (uint64_t)__builtin_popcountll(zy_rng_u64(r));
    if (k) heads += (uint64_t)__builtin_popcountll(zy_rng_u64(r) & ((1ull << k) - 1));
    return heads;
}

// BERT's truncate_seq_pair: while na + nb > max, the longer segment (B on a tie) loses one
// token, from its front or its back with probability 1/2 each. The lengths this ends
// with have a closed form (the longer shrinks to the shorter, then they alternate), and
// the tokens a segment loses from its front are a Binomial(lost, 1/2) count, so the
// cost does not grow with the excess. Both keep >= 1 token when max >= 2.
static void truncate_pair(zy_rng *r, uint64_t *a, uint64_t *na, uint64_t *b, uint64_t *nb,
                          uint64_t max) {
    uint64_t la = *na, lb = *nb;
    if (la + lb <= max) return;
    uint64_t excess = la + lb - max, d;
    if (la > lb) {
        d = ZY_MIN(excess, la - lb);
        la -= d, excess -= d;
    } else if (lb > la) {
        d = ZY_MIN(excess, lb - la);
        lb -= d, excess -= d;
    }
    lb -= (excess + 1) / 2;
    la -= excess / 2;
    *a += binomial_half(r, *na - la);
    *b += binomial_half(r, *nb - lb);
    *na = la, *nb = lb;
}

// create_instances_from_document: sentences are gathered until they reach the target
// length (or the document ends); A = the first a_end of them (a_end uniform in
// [1, gathered - 1]), B = the rest (IsNext) or, with probability 1/2 and always when one
// sentence was gathered, sentences of another document from a random start until B
// reaches target - |A| (NotNext; the sentences not used go back to this document).
static void nsp_document(const zy_corpus *c, const zy__mlm_build_params *p, zy_rng *r,
                         uint64_t d, sink *k) {
    uint64_t s0 = c->documents[d], s1 = c->documents[d + 1], max = (uint64_t)p->seq - 3;
    uint64_t target = target_len(r, max, p->short_seq_prob), start = s0, len = 0;
    for (uint64_t i = s0; i < s1; i++) {
        len += sentence_len(c, i);
        if (i != s1 - 1 && len < target) continue;
        uint64_t n = i - start + 1;
        uint64_t a_end = n >= 2 ? 1 + zy_rng_below(r, n - 1) : 1;
        uint64_t a = c->sentences[start], na = c->sentences[start + a_end] - a, b, nb = 0;
        int label;
        if (n == 1 || zy_rng_uniform(r) < 0.5f) {
            label = 1;
            uint64_t want = target > na ? target - na : 0;
            uint64_t od = zy_rng_below(r, c->n_documents - 1);
            od += od >= d; // uniform over the other documents
            uint64_t o0 = c->documents[od], o1 = c->documents[od + 1];
            uint64_t j = o0 + zy_rng_below(r, o1 - o0);
            b = c->sentences[j];
            do nb += sentence_len(c, j++);
            while (j < o1 && nb < want);
            i = start + a_end - 1;
        } else {
            label = 0;
            b = c->sentences[start + a_end];
            nb = c->sentences[i + 1] - b;
        }
        truncate_pair(r, &a, &na, &b, &nb, max);
        emit(k, a, na, b, nb, label);
        start = i + 1;
        len = 0;
    }
}

// Without next-sentence prediction: from the document's first token on, each example is
// the longest run of whole sentences that fits the target length; a sentence longer than
// that alone gives a piece of exactly the target length and continues in the next.
static void text_document(const zy_corpus *c, const zy__mlm_build_params *p, zy_rng *r,
                          uint64_t d, sink *k) {
    uint64_t s0 = c->documents[d], s1 = c->documents[d + 1], max = (uint64_t)p->seq - 2;
    uint64_t target = target_len(r, max, p->short_seq_prob);
    uint64_t t = c->sentences[s0], end = c->sentences[s1], j = s0; // t is in sentence j
    while (t < end) {
        uint64_t e = end;
        if (end - t > target) {
            // The last sentence end in (t, t + target]; none: cut inside sentence j.
            e = t + target;
            uint64_t best = 0;
            for (uint64_t s = j + 1; c->sentences[s] <= t + target; s++) best = c->sentences[s];
            if (best) e = best;
        }
        emit(k, t, e - t, 0, 0, -1);
        t = e;
        while (j + 1 < s1 && c->sentences[j + 1] <= t) j++;
    }
}

uint64_t zy__mlm_build(const zy_corpus *c, const zy__mlm_build_params *p,
                       zy__mlm_example *out) {
    sink k = {.out = out};
    for (int pass = 0; pass < p->dupe_factor; pass++) {
        uint64_t key = zy_hash64(p->seed ^ ZY_MLM_BUILD_SALT, (uint64_t)pass);
        for (uint64_t d = 0; d < c->n_documents; d++) {
            zy_rng r;
            zy_rng_seed(&r, zy_hash64(key, d));
            if (p->nsp) nsp_document(c, p, &r, d, &k);
            else text_document(c, p, &r, d, &k);
        }
    }
    return k.n;
}
