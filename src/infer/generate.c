// The generation loop over a session of any causal language model: prompt -> KV cache ->
// sample -> feed back, one token at a time, with a callback per token. Not sampling itself (sample.c), not text (the caller decodes).
#include <stdint.h>

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

zy_status zy_generate(zy_session *sess, const int *prompt, int n_prompt,
                      const zy_generate_params *p, int *out, int *n_out) {
    if (n_out) *n_out = 0;
    if (!sess || !prompt || !p)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generate: NULL session, prompt or params");
    zy_status s = zy_sample_params_validate(&p->sample);
    if (s) return s;
    const zy_model_info *c = zy_model_get_info(zy_session_model(sess));
    if (!c->causal_lm)
        return zy__error(ZY_STATUS_UNSUPPORTED, "generate: model_type '%s' is not a causal "
                         "language model", c->model_type);
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
        (p->n_cached > 0 && p->n_cached != zy_session_seq_len(sess, 0)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "generate: n_cached %d: the cache holds "
                         "%d tokens of sequence 0 and the prompt %d (n_cached must be the "
                         "cache's length and less than the prompt's)", p->n_cached,
                         zy_session_seq_len(sess, 0), n_prompt);
    if (p->max_tokens == 0) return ZY_STATUS_OK;

    // Allocated once per call: the loop itself allocates nothing.
    int V = c->vocab_size;
    float *logits = zy_alloc((size_t)V * sizeof(float));
    void *scratch = zy_alloc(zy_sample_scratch_size(V));
    if (!logits || !scratch) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "generate: out of memory for %d logits", V);
        goto done;
    }
    zy_rng rng;
    zy_rng_seed(&rng, p->seed);
    const int seq = 0;
    int keep = p->n_cached;
    if (!keep) zy_session_seq_reset(sess, seq);
    if ((s = zy_session_decode(sess, 1, &seq, prompt + keep, n_prompt - keep, logits)))
        goto done;
    // Prompt + continuation stay within max_positions: each new token's logits come from a
    // context the model was built for.
    int room = c->max_positions - n_prompt;
    int limit = p->max_tokens < room ? p->max_tokens : room;
    for (int i = 0; i < limit; i++) {
        int tok;
        if ((s = zy_sample(logits, V, &p->sample, &rng, scratch, &tok))) break;
        if (tok == p->stop_token) break;
        if (out) out[i] = tok;
        if (n_out) *n_out = i + 1;
        if (p->on_token && p->on_token(tok, i, p->user)) break;
        if (i + 1 < limit && (s = zy_session_decode(sess, 1, &seq, &tok, 1, logits))) break;
    }
done:
    zy_free(logits);
    zy_free(scratch);
    return s;
}
