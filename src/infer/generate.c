// The generation loop over a session of any causal language model: prompt -> KV cache ->
// sample -> feed back, one token at a time, with a callback per token; several generations
// (slots) stepped together by a generator, zy_generate being a generator of one slot. Not
// sampling itself (sample.c), not text (the caller decodes).
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "zhuyi/sample.h"

zy_generate_params zy_generate_default_params(void) {
    return (zy_generate_params){
        .sample = zy_sample_default_params(),
        .max_tokens = 100,
        .stop_token = -1,
        .seed = 1,
        .on_token = NULL,
        .user = NULL,
        .n_cached = 0,
    };
}

typedef struct gen_slot {
    zy_generate_params p;
    zy_rng rng;
    zy_generate_end end;
    int n;     // tokens generated
    int limit; // most tokens: max_tokens within the context left after the prompt
} gen_slot;

struct zy_generator {
    zy_session *s;
    int n_slots, V;
    gen_slot *slot;  // (n_slots)
    float *logits;   // (n_slots, V): each slot's next-token logits
    float *batch;    // (n_slots, V): a step's decode output, in the order of `seqs`
    int *seqs, *toks; // (n_slots): a step's sequences and their tokens
    void *scratch;   // the sampler's
};

zy_status zy_generator_create(zy_generator **out, zy_session *s, int n_slots) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generator: NULL out");
    *out = NULL;
    if (!s) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generator: NULL session");
    const zy_model_info *c = zy_model_get_info(zy_session_model(s));
    if (!c->causal_lm)
        return zy__error(ZY_STATUS_UNSUPPORTED, "generate: model_type '%s' is not a causal "
                         "language model", c->model_type);
    if (n_slots < 1 || n_slots > zy_session_n_seq(s))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generator: %d slots; the session's KV "
                         "cache holds %d sequences (n_seq)", n_slots, zy_session_n_seq(s));
    int V = c->vocab_size;
    size_t rows = (size_t)n_slots * (size_t)V;
    zy_generator *g = zy_calloc(1, sizeof *g);
    if (!g) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "generator: out of memory");
    *g = (zy_generator){.s = s, .n_slots = n_slots, .V = V};
    g->slot = zy_calloc((size_t)n_slots, sizeof *g->slot);
    g->logits = zy_alloc(rows * sizeof(float));
    g->batch = zy_alloc(rows * sizeof(float));
    g->seqs = zy_alloc((size_t)n_slots * sizeof(int));
    g->toks = zy_alloc((size_t)n_slots * sizeof(int));
    g->scratch = zy_alloc(zy_sample_scratch_size(V));
    if (!g->slot || !g->logits || !g->batch || !g->seqs || !g->toks || !g->scratch) {
        zy_generator_free(g);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "generate: out of memory for %d slots of %d "
                         "logits", n_slots, V);
    }
    for (int i = 0; i < n_slots; i++) g->slot[i].end = ZY_GENERATE_IDLE;
    *out = g;
    return ZY_STATUS_OK;
}

void zy_generator_free(zy_generator *g) {
    if (!g) return;
    zy_free(g->slot);
    zy_free(g->logits);
    zy_free(g->batch);
    zy_free(g->seqs);
    zy_free(g->toks);
    zy_free(g->scratch);
    zy_free(g);
}

int zy_generator_slots(const zy_generator *g) { return g ? g->n_slots : 0; }

static bool bad_slot(const zy_generator *g, int slot) {
    return !g || slot < 0 || slot >= g->n_slots;
}

zy_status zy_generator_start(zy_generator *g, int slot, const int *prompt, int n_prompt,
                             const zy_generate_params *p) {
    if (!g || !prompt || !p)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generate: NULL generator, prompt or "
                         "params");
    if (bad_slot(g, slot) || g->slot[slot].end == ZY_GENERATE_RUNNING)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generate: slot %d is not an idle slot "
                         "of %d", slot, g->n_slots);
    zy_status s = zy_sample_params_validate(&p->sample);
    if (s) return s;
    zy_session *sess = g->s;
    const zy_model_info *c = zy_model_get_info(zy_session_model(sess));
    if (n_prompt < 1)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generate: the prompt is empty");
    if (n_prompt >= c->max_positions)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "generate: the prompt has %d tokens; the model's context is %d "
                         "(max_positions), leaving no room for a new token",
                         n_prompt, c->max_positions);
    if (p->max_tokens < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generate: max_tokens %d < 0",
                         p->max_tokens);
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= c->vocab_size)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "generate: prompt token %d is id %d, outside the vocabulary "
                             "(%d)", i, prompt[i], c->vocab_size);
    if (p->n_cached < 0 || p->n_cached >= n_prompt ||
        (p->n_cached > 0 && p->n_cached != zy_session_seq_len(sess, slot)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generate: n_cached %d: the cache holds "
                         "%d tokens of sequence %d and the prompt %d (n_cached must be the "
                         "cache's length and less than the prompt's)", p->n_cached,
                         zy_session_seq_len(sess, slot), slot, n_prompt);
    gen_slot *sl = &g->slot[slot];
    *sl = (gen_slot){.p = *p, .end = ZY_GENERATE_LENGTH};
    if (p->max_tokens == 0) return ZY_STATUS_OK;
    zy_rng_seed(&sl->rng, p->seed);
    int keep = p->n_cached;
    if (!keep) zy_session_seq_reset(sess, slot);
    s = zy_session_decode(sess, 1, &slot, prompt + keep, n_prompt - keep,
                          g->logits + (size_t)slot * g->V);
    if (s) return s;
    // Prompt + continuation stay within max_positions: each new token's logits come from a
    // context the model was built for.
    int room = c->max_positions - n_prompt;
    sl->limit = p->max_tokens < room ? p->max_tokens : room;
    sl->end = ZY_GENERATE_RUNNING;
    return ZY_STATUS_OK;
}

zy_status zy_generator_step(zy_generator *g, int *n_running) {
    if (n_running) *n_running = 0;
    if (!g) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generate: NULL generator");
    int n = 0;
    zy_status s = ZY_STATUS_OK;
    for (int i = 0; i < g->n_slots; i++) {
        gen_slot *sl = &g->slot[i];
        if (sl->end != ZY_GENERATE_RUNNING) continue;
        int tok;
        if ((s = zy_sample(g->logits + (size_t)i * g->V, g->V, &sl->p.sample, &sl->rng,
                           g->scratch, &tok))) {
            sl->end = ZY_GENERATE_CANCELLED;
            break;
        }
        if (tok == sl->p.stop_token) {
            sl->end = ZY_GENERATE_STOP_TOKEN;
            continue;
        }
        int k = sl->n++;
        if (sl->p.on_token && sl->p.on_token(tok, k, sl->p.user)) {
            // the callback may have cancelled the slot itself
            if (sl->end == ZY_GENERATE_RUNNING) sl->end = ZY_GENERATE_CALLBACK;
            continue;
        }
        if (sl->end != ZY_GENERATE_RUNNING) continue;
        if (sl->n >= sl->limit) {
            sl->end = ZY_GENERATE_LENGTH;
            continue;
        }
        g->seqs[n] = i;
        g->toks[n++] = tok;
    }
    if (!s && n) s = zy_session_decode(g->s, n, g->seqs, g->toks, 1, g->batch);
    for (int j = 0; j < n; j++) {
        if (s) g->slot[g->seqs[j]].end = ZY_GENERATE_CANCELLED;
        else
            memcpy(g->logits + (size_t)g->seqs[j] * g->V, g->batch + (size_t)j * g->V,
                   (size_t)g->V * sizeof(float));
    }
    if (n_running && !s) *n_running = n;
    return s;
}

void zy_generator_cancel(zy_generator *g, int slot) {
    if (!bad_slot(g, slot) && g->slot[slot].end == ZY_GENERATE_RUNNING)
        g->slot[slot].end = ZY_GENERATE_CANCELLED;
}

zy_generate_end zy_generator_end(const zy_generator *g, int slot) {
    return bad_slot(g, slot) ? ZY_GENERATE_IDLE : g->slot[slot].end;
}

int zy_generator_count(const zy_generator *g, int slot) {
    return bad_slot(g, slot) ? 0 : g->slot[slot].n;
}

const float *zy_generator_logits(const zy_generator *g, int slot) {
    return bad_slot(g, slot) ? NULL : g->logits + (size_t)slot * g->V;
}

// zy_generate's callback around the caller's: the tokens into out and *n_out.
typedef struct one_run {
    int *out, *n_out;
    zy_generate_fn fn;
    void *user;
} one_run;

static int record(int token, int i, void *user) {
    one_run *r = user;
    if (r->out) r->out[i] = token;
    if (r->n_out) *r->n_out = i + 1;
    return r->fn ? r->fn(token, i, r->user) : 0;
}

zy_status zy_generate(zy_session *sess, const int *prompt, int n_prompt,
                      const zy_generate_params *p, int *out, int *n_out) {
    if (n_out) *n_out = 0;
    if (!sess || !prompt || !p)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generate: NULL session, prompt or params");
    zy_generator *g;
    zy_status s = zy_generator_create(&g, sess, 1);
    if (s) return s;
    one_run r = {out, n_out, p->on_token, p->user};
    zy_generate_params q = *p;
    q.on_token = record;
    q.user = &r;
    s = zy_generator_start(g, 0, prompt, n_prompt, &q);
    int running = !s && zy_generator_end(g, 0) == ZY_GENERATE_RUNNING;
    while (running && !(s = zy_generator_step(g, &running))) {
    }
    zy_generator_free(g);
    return s;
}
