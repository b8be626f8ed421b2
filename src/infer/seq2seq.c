// Decoding with encoder-decoder models: a batch of sources encoded once into memory slots,
// then greedy, sampled or beam-searched hypotheses of every sentence stepped together, one
// zy_session_decode per step (the rules are in sample.h). Not the model
// (models/marian_decode.c), not sampling itself (sample.c), not text.
//
// Sentence i owns memory slot i and decoder sequences [i*K, (i+1)*K). When a step prunes
// and forks its beams, each parent's first child keeps the parent's sequence as it is and
// every further child is copied into a sequence no child kept (a parent's without children,
// or one unused): copies read only sequences that stay and write only ones nobody needs,
// so no copy overwrites a source still needed. That is what a second set of sequences
// (ping-pong) would buy, at K sequences per sentence instead of 2K (each is a KV cache of
// max_positions) and fewer copies (a beam that survives once is never copied). The token
// histories, which are small, do ping-pong.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "zhuyi/sample.h"

typedef struct hyp { // a finished hypothesis; its tokens at fin_tok[(i*K + j) * P]
    int n;
    bool eos;
    double score, sum;
    long order; // when it was found (ties of score: the later first, as HF pops them)
} hyp;

struct zy_seq2seq {
    zy_session *s;
    zy_seq2seq_params p;
    int N, K, V, P, eos, start;
    int n_run;              // sentences of the last successful run (0: none)
    float *logits;          // (N*K, V)
    int *act_seq, *act_tok; // (N*K) the rows of one decode
    int *row0;              // (N) sentence i's first row in the decode; -1: not stepping
    int *slots;             // (N) 0..N-1
    // running beams: sentence i's at [i*K, i*K + live[i]), best first
    int *seq_of;            // (N*K) a beam's decoder sequence
    double *bsum;           // (N*K) its Σ log p
    int *hist[2];           // (N*K, P) each: a beam's tokens so far (ping-pong per step)
    int cur_hist;
    int *live, *cur, *maxnew; // (N) running beams, tokens generated so far, the limit
    bool *done;             // (N)
    // finished hypotheses: sentence i's at [i*K, i*K + nfin[i])
    hyp *fin;               // (N*K)
    int *fin_tok;           // (N*K, P)
    int *nfin, *rank;       // (N), (N*K) sentence i's hypotheses best first
    long order;
    // one sentence's step: candidates (2K), new beams (K), sequence assignment (K)
    double *c_score;
    int *c_flat, *n_par, *n_tok, *n_seq;
    double *n_sum;
    unsigned char *kept, *taken;
    zy_rng *rngs;           // (N) sampling: sentence i's, seeded by (seed, its id)
    void *sample_scratch;
};

zy_seq2seq_params zy_seq2seq_default_params(void) {
    return (zy_seq2seq_params){
        .mode = ZY_SEQ2SEQ_BEAM,
        .beam = 5,
        .n_best = 1,
        .length_penalty = 1.0f,
        .early_stopping = false,
        .max_len_a = 1.5f,
        .max_len_b = 10,
        .sample = zy_sample_default_params(),
        .seed = 1,
        .kv_cache = ZY_WTYPE_F32,
    };
}

zy_status zy_seq2seq_params_validate(const zy_seq2seq_params *p) {
    if (!p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: params is NULL");
    if (p->mode != ZY_SEQ2SEQ_BEAM && p->mode != ZY_SEQ2SEQ_GREEDY &&
        p->mode != ZY_SEQ2SEQ_SAMPLE)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: mode %d is not beam (0), "
                         "greedy (1) or sample (2)", (int)p->mode);
    if (p->beam < 1 || p->beam > 1024)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: beam %d must be 1..1024",
                         p->beam);
    int most = p->mode == ZY_SEQ2SEQ_BEAM ? p->beam : 1;
    if (p->n_best < 1 || p->n_best > most)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: n_best %d must be 1..%d (%s)",
                         p->n_best, most, p->mode == ZY_SEQ2SEQ_BEAM ? "the beam"
                         : "one hypothesis without beam search");
    if (!isfinite(p->length_penalty))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: length_penalty %g must be "
                         "finite", p->length_penalty);
    if (!isfinite(p->max_len_a) || p->max_len_a < 0 || p->max_len_b < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: max_len_a %g and max_len_b %d "
                         "must be >= 0 (and finite)", p->max_len_a, p->max_len_b);
    return p->mode == ZY_SEQ2SEQ_SAMPLE ? zy_sample_params_validate(&p->sample) : ZY_STATUS_OK;
}

void zy_seq2seq_free(zy_seq2seq *d) {
    if (!d) return;
    zy_session_free(d->s);
    void *bufs[] = {d->logits, d->act_seq, d->act_tok, d->row0, d->slots, d->seq_of,
                    d->bsum, d->hist[0], d->hist[1], d->live, d->cur, d->maxnew, d->done,
                    d->fin, d->fin_tok, d->nfin, d->rank, d->c_score, d->c_flat, d->n_par,
                    d->n_tok, d->n_seq, d->n_sum, d->kept, d->taken, d->rngs,
                    d->sample_scratch};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) zy_free(bufs[i]);
    zy_free(d);
}

zy_status zy_seq2seq_create(zy_seq2seq **out, const zy_model *m, const zy_seq2seq_params *p,
                            int max_sentences) {
    if (!out || !m)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: NULL out or model");
    *out = NULL;
    zy_status st = zy_seq2seq_params_validate(p);
    if (st) return st;
    const zy_model_info *c = zy_model_get_info(m);
    if (!c->encoder_decoder)
        return zy__error(ZY_STATUS_UNSUPPORTED, "seq2seq: model_type '%s' (%s) is not an "
                         "encoder-decoder model", c->model_type, c->architecture);
    if (c->decoder_start_id < 0 || c->decoder_start_id >= c->vocab_size)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: model_type '%s' has no "
                         "decoder start id (%d) in its vocabulary of %d", c->model_type,
                         c->decoder_start_id, c->vocab_size);
    int K = p->mode == ZY_SEQ2SEQ_BEAM ? p->beam : 1;
    if (max_sentences < 1 || (long)max_sentences * K > (1 << 20))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: max_sentences %d x beam %d "
                         "must be 1..%d", max_sentences, K, 1 << 20);
    zy_seq2seq *d = zy_calloc(1, sizeof *d);
    if (!d) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "seq2seq: out of memory");
    d->p = *p;
    d->N = max_sentences, d->K = K, d->V = c->vocab_size, d->P = c->max_positions;
    d->eos = c->eos_id, d->start = c->decoder_start_id;
    size_t NK = (size_t)d->N * K, NKP = NK * d->P;
    zy_session_params sp = zy_session_default_params();
    sp.n_seq = (int)NK;
    sp.n_memory = d->N;
    sp.kv_cache = p->kv_cache; // (checked by the session)
    if ((st = zy_session_create(&d->s, m, &sp))) goto fail;
#define GET(ptr, n) ((ptr) = zy_calloc((n), sizeof *(ptr))) == NULL
    if (GET(d->logits, NK * d->V) || GET(d->act_seq, NK) || GET(d->act_tok, NK) ||
        GET(d->row0, d->N) || GET(d->slots, d->N) || GET(d->seq_of, NK) || GET(d->bsum, NK) ||
        GET(d->hist[0], NKP) || GET(d->hist[1], NKP) || GET(d->live, d->N) ||
        GET(d->cur, d->N) || GET(d->maxnew, d->N) || GET(d->done, d->N) || GET(d->fin, NK) ||
        GET(d->fin_tok, NKP) || GET(d->nfin, d->N) || GET(d->rank, NK) ||
        GET(d->c_score, 2 * K) || GET(d->c_flat, 2 * K) || GET(d->n_par, K) ||
        GET(d->n_tok, K) || GET(d->n_seq, K) || GET(d->n_sum, K) || GET(d->kept, K) ||
        GET(d->taken, K) || GET(d->rngs, d->N) ||
        !(d->sample_scratch = zy_alloc(zy_sample_scratch_size(d->V)))) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "seq2seq: out of memory for %d sentences x "
                       "beam %d (vocabulary %d, %d positions)", d->N, K, d->V, d->P);
        goto fail;
    }
#undef GET
    for (int i = 0; i < d->N; i++) d->slots[i] = i;
    *out = d;
    return ZY_STATUS_OK;
fail:
    zy_seq2seq_free(d);
    return st;
}

// log Σ exp over a row, NaN counted as -inf; -inf if nothing is finite.
static double log_sum_exp(const float *x, int V) {
    float mx = -INFINITY;
    for (int v = 0; v < V; v++)
        if (x[v] > mx) mx = x[v];
    if (!isfinite(mx)) return -INFINITY;
    double sum = 0;
    for (int v = 0; v < V; v++)
        if (x[v] > -INFINITY) sum += exp((double)x[v] - mx);
    return mx + log(sum);
}

// A hypothesis of sentence i: toks[0..n) (+ extra if >= 0) with Σ log p = sum over `len`
// tokens. Kept if the sentence holds fewer than K or it beats the worst (which goes).
static void add_hyp(zy_seq2seq *d, int i, const int *toks, int n, int extra, bool eos,
                    double sum, int len) {
    int K = d->K, base = i * K, j;
    double score = sum / pow((double)len, (double)d->p.length_penalty);
    if (d->nfin[i] < K) {
        j = d->nfin[i]++;
    } else {
        j = 0; // the worst: lowest score, ties the earliest found
        for (int q = 1; q < K; q++) {
            const hyp *a = &d->fin[base + q], *w = &d->fin[base + j];
            if (a->score < w->score || (a->score == w->score && a->order < w->order)) j = q;
        }
        if (!(score > d->fin[base + j].score)) return;
    }
    int *dst = d->fin_tok + (size_t)(base + j) * d->P;
    memcpy(dst, toks, (size_t)n * sizeof *dst);
    if (extra >= 0) dst[n++] = extra;
    d->fin[base + j] = (hyp){.n = n, .eos = eos, .score = score, .sum = sum, .order = d->order++};
}

static double worst_score(const zy_seq2seq *d, int i) {
    double w = INFINITY;
    for (int q = 0; q < d->nfin[i]; q++) w = fmin(w, d->fin[i * d->K + q].score);
    return w;
}

// Does candidate (sa, fa) rank after (sb, fb)? Lower score, ties the higher (beam, id).
static inline bool after(double sa, int fa, double sb, int fb) {
    return sa < sb || (sa == sb && fa > fb);
}

// Keep the heap of n candidates with the last-ranked at the root.
static void sift(double *sc, int *fl, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, c = l;
        if (l >= n) return;
        if (l + 1 < n && after(sc[l + 1], fl[l + 1], sc[l], fl[l])) c = l + 1;
        if (!after(sc[c], fl[c], sc[i], fl[i])) return;
        double ts = sc[i];
        int tf = fl[i];
        sc[i] = sc[c], fl[i] = fl[c], sc[c] = ts, fl[c] = tf;
        i = c;
    }
}

// One beam-search step of sentence i over its rows of logits.
static zy_status beam_step(zy_seq2seq *d, int i) {
    const int K = d->K, V = d->V, P = d->P, base = i * K, L = d->live[i];
    const int *hist = d->hist[d->cur_hist], cur = d->cur[i], cur_len = cur + 1;
    int *next = d->hist[d->cur_hist ^ 1];
    double *cs = d->c_score;
    int *cf = d->c_flat, M = 2 * K, m = 0;
    // The 2K best candidates: a heap whose root is the last kept.
    for (int b = 0; b < L; b++) {
        const float *lg = d->logits + (size_t)(d->row0[i] + b) * V;
        double lse = log_sum_exp(lg, V), bs = d->bsum[base + b];
        if (lse == -INFINITY) continue;
        for (int v = 0; v < V; v++) {
            if (!(lg[v] > -INFINITY)) continue; // NaN and -inf are never chosen
            double sc = bs + ((double)lg[v] - lse);
            int fl = b * V + v;
            if (m < M) {
                cs[m] = sc, cf[m] = fl;
                for (int q = m++; q > 0;) { // sift up: a parent ranks after its children
                    int par = (q - 1) / 2;
                    if (!after(cs[q], cf[q], cs[par], cf[par])) break;
                    double ts = cs[q];
                    int tf = cf[q];
                    cs[q] = cs[par], cf[q] = cf[par], cs[par] = ts, cf[par] = tf;
                    q = par;
                }
            } else if (after(cs[0], cf[0], sc, fl)) {
                cs[0] = sc, cf[0] = fl;
                sift(cs, cf, m, 0);
            }
        }
    }
    if (m == 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: sentence %d, step %d: no "
                         "finite logit", i, cur);
    for (int end = m - 1; end > 0; end--) { // heap -> best first
        double ts = cs[0];
        int tf = cf[0];
        cs[0] = cs[end], cf[0] = cf[end], cs[end] = ts, cf[end] = tf;
        sift(cs, cf, end, 0);
    }
    // Eos among the first K finishes a hypothesis; the rest fill the running beams.
    int nb = 0;
    for (int r = 0; r < m && nb < K; r++) {
        int b = cf[r] / V, v = cf[r] % V;
        if (v == d->eos) {
            if (r < K)
                add_hyp(d, i, hist + (size_t)(base + b) * P, cur, -1, true, cs[r], cur_len);
            continue;
        }
        d->n_par[nb] = b, d->n_tok[nb] = v, d->n_sum[nb] = cs[r];
        nb++;
    }
    bool done = false;
    if (d->nfin[i] >= K)
        done = d->p.early_stopping ||
               worst_score(d, i) >= cs[0] / pow((double)cur_len, (double)d->p.length_penalty);
    d->cur[i] = cur_len;
    if (!done && (cur_len >= d->maxnew[i] || nb == 0)) { // the limit: running beams finish
        for (int j = 0; j < nb; j++)
            add_hyp(d, i, hist + (size_t)(base + d->n_par[j]) * P, cur, d->n_tok[j], false,
                    d->n_sum[j], cur_len);
        done = true;
    }
    if ((d->done[i] = done)) return ZY_STATUS_OK;
    // Caches: first children keep their parent's sequence, the others take free ones.
    memset(d->kept, 0, (size_t)K);
    memset(d->taken, 0, (size_t)K);
    for (int j = 0; j < nb; j++) {
        int b = d->n_par[j];
        d->n_seq[j] = -1;
        if (!d->kept[b]) {
            d->kept[b] = 1;
            d->n_seq[j] = d->seq_of[base + b];
            d->taken[d->n_seq[j] - base] = 1;
        }
    }
    for (int j = 0, q = 0; j < nb; j++) {
        if (d->n_seq[j] >= 0) continue;
        while (d->taken[q]) q++;
        d->taken[q] = 1;
        d->n_seq[j] = base + q;
        zy_status st = zy_session_seq_copy(d->s, base + q, d->seq_of[base + d->n_par[j]]);
        if (st) return st;
    }
    for (int j = 0; j < nb; j++) {
        int *h = next + (size_t)(base + j) * P;
        memcpy(h, hist + (size_t)(base + d->n_par[j]) * P, (size_t)cur * sizeof *h);
        h[cur] = d->n_tok[j];
        d->seq_of[base + j] = d->n_seq[j];
        d->bsum[base + j] = d->n_sum[j];
    }
    d->live[i] = nb;
    return ZY_STATUS_OK;
}

// One greedy or sampled token of sentence i (one running hypothesis, histories in place).
static zy_status sample_step(zy_seq2seq *d, int i) {
    const float *lg = d->logits + (size_t)d->row0[i] * d->V;
    zy_sample_params greedy = {.temperature = 0, .top_k = 0, .top_p = 1};
    const zy_sample_params *sp = d->p.mode == ZY_SEQ2SEQ_GREEDY ? &greedy : &d->p.sample;
    int tok, cur = d->cur[i];
    zy_status st = zy_sample(lg, d->V, sp, &d->rngs[i], d->sample_scratch, &tok);
    if (st) return st;
    double lse = log_sum_exp(lg, d->V);
    d->bsum[i] += (double)lg[tok] - lse;
    int *h = d->hist[0] + (size_t)i * d->P;
    d->cur[i] = cur + 1;
    if (tok == d->eos) {
        add_hyp(d, i, h, cur, -1, true, d->bsum[i], cur + 1);
        d->done[i] = true;
    } else if (cur + 1 >= d->maxnew[i]) {
        add_hyp(d, i, h, cur, tok, false, d->bsum[i], cur + 1);
        d->done[i] = true;
    } else {
        h[cur] = tok;
    }
    return ZY_STATUS_OK;
}

static zy_status check_run(const zy_seq2seq *d, int n, const int *tokens, int T,
                           const int *lengths) {
    if (n < 1 || n > d->N || !tokens)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: %d sentences (need 1..%d, "
                         "the decoder's max_sentences) or NULL tokens", n, d->N);
    if (T < 1 || T > d->P)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: source length T %d must be "
                         "1..%d (max_positions)", T, d->P);
    for (int i = 0; i < n; i++) {
        int len = lengths ? lengths[i] : T;
        if (len < 1 || len > T)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: sentence %d has length "
                             "%d, outside 1..%d", i, len, T);
        for (int t = 0; t < len; t++) {
            int id = tokens[(size_t)i * T + t];
            if (id < 0 || id >= d->V)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: sentence %d token %d "
                                 "is id %d, outside the vocabulary (%d)", i, t, id, d->V);
        }
    }
    return ZY_STATUS_OK;
}

// Sentence i's hypotheses best first into rank[i*K ..]: score descending, ties the later
// found first (Hugging Face sorts ascending, stably, and pops from the end).
static void sort_hyps(zy_seq2seq *d, int i) {
    int base = i * d->K, n = d->nfin[i], *r = d->rank + base;
    for (int j = 0; j < n; j++) {
        int q = j;
        const hyp *h = &d->fin[base + j];
        while (q > 0) {
            const hyp *g = &d->fin[base + r[q - 1]];
            if (g->score > h->score || (g->score == h->score && g->order > h->order)) break;
            r[q] = r[q - 1], q--;
        }
        r[q] = j;
    }
}

zy_status zy_seq2seq_run(zy_seq2seq *d, int n, const int *tokens, int T, const int *lengths,
                         const uint64_t *ids) {
    if (!d) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: NULL decoder");
    d->n_run = 0;
    zy_status st = check_run(d, n, tokens, T, lengths);
    if (st) return st;
    const int K = d->K;
    zy_session_seq_reset(d->s, -1);
    if ((st = zy_session_encode(d->s, n, d->slots, tokens, T, lengths))) return st;
    d->order = 0;
    d->cur_hist = 0;
    for (int i = 0; i < n; i++) {
        int len = lengths ? lengths[i] : T;
        double most = floor((double)d->p.max_len_a * len + d->p.max_len_b);
        d->maxnew[i] = most < 1 ? 1 : most > d->P ? d->P : (int)most;
        d->live[i] = 1, d->cur[i] = 0, d->nfin[i] = 0, d->done[i] = false;
        d->seq_of[i * K] = i * K;
        d->bsum[i * K] = 0;
        for (int q = 0; q < K; q++)
            if ((st = zy_session_seq_attach(d->s, i * K + q, i))) return st;
        uint64_t id = ids ? ids[i] : (uint64_t)i;
        zy_rng_seed(&d->rngs[i], d->p.seed + 0x9E3779B97F4A7C15ull * (id + 1));
    }
    for (;;) {
        int R = 0;
        for (int i = 0; i < n; i++) {
            d->row0[i] = d->done[i] ? -1 : R;
            if (d->done[i]) continue;
            const int *h = d->hist[d->cur_hist];
            for (int b = 0; b < d->live[i]; b++, R++) {
                int beam = i * K + b;
                d->act_seq[R] = d->seq_of[beam];
                d->act_tok[R] = d->cur[i] ? h[(size_t)beam * d->P + d->cur[i] - 1] : d->start;
            }
        }
        if (R == 0) break;
        if ((st = zy_session_decode(d->s, R, d->act_seq, d->act_tok, 1, d->logits))) return st;
        for (int i = 0; i < n; i++) {
            if (d->row0[i] < 0) continue;
            st = d->p.mode == ZY_SEQ2SEQ_BEAM ? beam_step(d, i) : sample_step(d, i);
            if (st) return st;
        }
        if (d->p.mode == ZY_SEQ2SEQ_BEAM) d->cur_hist ^= 1;
    }
    for (int i = 0; i < n; i++) sort_hyps(d, i);
    d->n_run = n;
    return ZY_STATUS_OK;
}

int zy_seq2seq_n_hyps(const zy_seq2seq *d, int i) {
    if (!d || i < 0 || i >= d->n_run) return 0;
    return d->nfin[i] < d->p.n_best ? d->nfin[i] : d->p.n_best;
}

zy_status zy_seq2seq_hyp_get(const zy_seq2seq *d, int i, int rank, zy_seq2seq_hyp *out) {
    if (!d || !out || i < 0 || i >= d->n_run || rank < 0 || rank >= zy_seq2seq_n_hyps(d, i))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "seq2seq: no hypothesis %d of sentence "
                         "%d (the last run decoded %d sentences)", rank, i, d ? d->n_run : 0);
    int j = d->K * i + d->rank[d->K * i + rank];
    const hyp *h = &d->fin[j];
    *out = (zy_seq2seq_hyp){.tokens = d->fin_tok + (size_t)j * d->P, .n = h->n, .eos = h->eos,
                            .score = (float)h->score, .sum_logp = (float)h->sum};
    return ZY_STATUS_OK;
}
