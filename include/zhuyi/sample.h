// zhuyi sampling and generation: choose the next token from a model's logits (greedy,
// temperature, top-k, top-p), and a generation loop over a session's KV cache (any causal
// language model) that hands each new token to a callback as it is chosen. Not a tokenizer: turning tokens into text (and
// holding back a UTF-8 character split across tokens) is the caller's, helped by
// zy_utf8_complete_len below.
//
// Determinism: every random choice comes from the caller's seeded zy_rng and nothing else
// (not the thread count, not the time), so the same seed, model and prompt always give the
// same tokens. Nothing here allocates per token: the sampler works in caller scratch of
// zy_sample_scratch_size(V) bytes, and zy_generate allocates its buffers once per call.
#ifndef ZHUYI_SAMPLE_H
#define ZHUYI_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

// How the next token is chosen. The filters apply in Hugging Face's order: temperature,
// then top-k, then top-p on the top-k set renormalised.
typedef struct zy_sample_params {
    float temperature; // 1.0. 0 = greedy: the argmax, ties to the lowest id (no RNG draw)
    int top_k;         // 0 = off. Keep the k most probable tokens
    float top_p;       // 1.0 = off. Keep the smallest set of most probable tokens whose
                       // probability sums to at least top_p (nucleus sampling)
} zy_sample_params;

zy_sample_params zy_sample_default_params(void);
// temperature finite and >= 0, top_k >= 0, 0 < top_p <= 1; the message names the field.
zy_status zy_sample_params_validate(const zy_sample_params *p);

// Bytes of scratch the sampler needs for a vocabulary of V tokens.
size_t zy_sample_scratch_size(int V);

// logits (V) -> *token. Probabilities are softmax(logits / temperature) computed with the
// maximum subtracted; a NaN logit counts as -inf. Candidates are ordered by probability,
// ties to the lower id; one uniform draw u from rng picks the first candidate whose
// cumulative probability exceeds u * total. scratch: zy_sample_scratch_size(V) bytes,
// 8-byte aligned. Errors: bad params, V < 1, or no finite logit.
zy_status zy_sample(const float *logits, int V, const zy_sample_params *p, zy_rng *rng,
                    void *scratch, int *token);

// The candidate set zy_sample draws from, for inspection and tests: *n tokens, ids[0..n)
// in descending probability (ties to the lower id) with probs[0..n) renormalised over the
// set (summing to 1). Both point into scratch. With temperature 0 the set is the argmax
// alone.
zy_status zy_sample_candidates(const float *logits, int V, const zy_sample_params *p,
                               void *scratch, const int **ids, const float **probs, int *n);

// ---- generation -------------------------------------------------------------------------
// Called with each new token as soon as it is chosen (index i = 0, 1, ...). Return
// non-zero to stop generating (zy_generate then returns ZY_STATUS_OK).
typedef int (*zy_generate_fn)(int token, int i, void *user);

typedef struct zy_generate_params {
    zy_sample_params sample;
    int max_tokens;       // most new tokens to generate (default 100)
    int stop_token;       // stop, without emitting it, when this id is chosen; -1 = none
                          // (pass the tokenizer's <|endoftext|> id)
    uint64_t seed;        // seeds the sampler's zy_rng (default 1)
    zy_generate_fn on_token; // may be NULL
    void *user;
    int n_cached;         // prompt[0..n_cached) are already in sequence 0 of the session's
                          // KV cache from earlier decoding (a conversation's earlier turns):
                          // only the rest is decoded. It must be the cache's length
                          // (zy_session_seq_len) and less than n_prompt; the caller vouches
                          // that the cached tokens are those. 0: the cache is reset (default)
} zy_generate_params;

zy_generate_params zy_generate_default_params(void);

// Continue prompt[0..n_prompt) (n_prompt >= 1) with sequence 0 of the session's KV cache
// (reset first, so earlier decoding is forgotten, unless n_cached says its first tokens
// are there already). The cache then holds the prompt and every generated token but the
// last one chosen (a stop token is never decoded): zy_session_seq_len(s, 0) - n_prompt of
// them. Stops at max_tokens, at stop_token,
// when the callback asks, or when prompt + continuation fill max_positions. out
// (max_tokens) may be NULL; *n_out (may be NULL) receives the number of tokens generated.
// A prompt of max_positions tokens or more is ZY_STATUS_INVALID_ARGUMENT (no room for a
// new token). Sessions of one model may generate on several threads at once.
zy_status zy_generate(zy_session *s, const int *prompt, int n_prompt,
                      const zy_generate_params *p, int *out, int *n_out);

// ---- streaming text ---------------------------------------------------------------------
// The length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence
// that later bytes could still complete: print s[0..k) now and keep s[k..n) (at most 3
// bytes) for the next token's bytes. Bytes that can never become valid UTF-8 are not held
// (they are printed as they are, so output is never stuck).
size_t zy_utf8_complete_len(const char *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
