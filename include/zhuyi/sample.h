// zhuyi sampling and generation: choose the next token from a model's logits (greedy,
// temperature, top-k, top-p), a generation loop over a session's KV cache (any causal
// language model) that hands each new token to a callback as it is chosen, and decoding
// of source batches with an encoder-decoder model (greedy, sampling, beam search). Not a
// tokenizer: turning tokens into text (and holding back a UTF-8 character split across
// tokens) is the caller's, helped by zy_utf8_complete_len below.
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
// new token). Sessions of one model may generate on several threads at once. (A generator
// of one slot, below.)
zy_status zy_generate(zy_session *s, const int *prompt, int n_prompt,
                      const zy_generate_params *p, int *out, int *n_out);

// ---- several generations at once ---------------------------------------------------------
// A generator runs generations in the first n_slots sequences of a session (slot i is
// sequence i of its KV cache), each with its own prompt, params and RNG, and steps them
// together: zy_generator_step samples one token for every running slot, hands it to the
// slot's on_token, and decodes every slot that goes on in one zy_session_decode call (one
// pass over the weights for all of them: a server's parallel requests, batched). A slot's
// tokens depend on its prompt, params and the model only, not on the other slots (up to the
// float rounding of batched kernels). zy_generate is a generator of one slot run to its end.
// Nothing allocates per step: the buffers are sized at create.
typedef struct zy_generator zy_generator;

// Why a slot stopped (or that it runs).
typedef enum zy_generate_end {
    ZY_GENERATE_RUNNING = 0,
    ZY_GENERATE_LENGTH,     // max_tokens generated, or prompt + continuation fill max_positions
    ZY_GENERATE_STOP_TOKEN, // stop_token was chosen (not emitted)
    ZY_GENERATE_CALLBACK,   // on_token asked to stop
    ZY_GENERATE_CANCELLED,  // zy_generator_cancel
    ZY_GENERATE_IDLE,       // never started
} zy_generate_end;

// s: a session of a causal language model with at least n_slots sequences (n_seq).
zy_status zy_generator_create(zy_generator **out, zy_session *s, int n_slots);
void zy_generator_free(zy_generator *g);
int zy_generator_slots(const zy_generator *g);
// Start a generation in an idle (not running) slot: the checks of zy_generate (the message
// names the field), then the prompt decoded into the slot's sequence (reset first unless
// p->n_cached says its first tokens are there). p is copied. The slot runs afterwards, or
// has ended at once (max_tokens 0: ZY_GENERATE_LENGTH).
zy_status zy_generator_start(zy_generator *g, int slot, const int *prompt, int n_prompt,
                             const zy_generate_params *p);
// One token for every running slot. *n_running (may be NULL) receives how many run after
// it. An error (the decode failed) ends every slot that was to be decoded
// (ZY_GENERATE_CANCELLED).
zy_status zy_generator_step(zy_generator *g, int *n_running);
// End a running slot now (its request was abandoned); its sequence keeps what was decoded.
void zy_generator_cancel(zy_generator *g, int slot);
zy_generate_end zy_generator_end(const zy_generator *g, int slot);
// Tokens the slot has generated since its start.
int zy_generator_count(const zy_generator *g, int slot);
// Inside the slot's on_token: the logits (vocab_size) its token was chosen from, before
// temperature and filters (log-probabilities for a caller that reports them).
const float *zy_generator_logits(const zy_generator *g, int slot);

// ---- encoder-decoder decoding (seq2seq.c) -------------------------------------------------
// Translating a batch of source rows with an encoder-decoder model (info->encoder_decoder):
// each source is encoded once into a memory slot of a session the decoder owns, and every
// live hypothesis of every sentence steps together in one zy_session_decode call.
//
// Beam search follows Hugging Face's BeamSearchScorer (transformers >= 4.38): scores are
// sums of log-softmax over the model's logits; each step takes the 2K best candidates over
// (running beam x vocabulary) of a sentence, best first, ties to the lower (beam, id); an
// eos candidate becomes a finished hypothesis only if its rank is < K, and the other
// candidates fill the K running beams in order. A finished hypothesis scores
// Σ log p / length^length_penalty, length = generated tokens including eos; a sentence
// keeps its K best (a new one must beat the worst; the worst goes, ties: the earliest).
// A sentence is done when it holds K finished hypotheses and, without early_stopping,
// when also the worst of them >= the step's best candidate Σ log p / cur_len^α (HF's
// heuristic; cur_len = the candidates' length). At the length limit its running beams are
// added as hypotheses without eos (length = the limit). Results are sorted by score, ties
// in the order they were found. Greedy and sampling keep one hypothesis per sentence,
// scored the same way (Σ log p of the untempered distribution / length^α); greedy is beam
// search with K = 1.
//
// Determinism: a sentence's result depends on its source, the model and the params only
// (not on the other sentences of the batch, their number or the thread count, up to the
// float rounding of batched kernels); sampling draws from an RNG seeded by (seed, the
// sentence's id). Nothing allocates inside the step loop: the buffers are sized at create.
typedef enum zy_seq2seq_mode {
    ZY_SEQ2SEQ_BEAM = 0,   // beam search (beam, length_penalty, early_stopping, n_best)
    ZY_SEQ2SEQ_GREEDY = 1, // the argmax every step (ties to the lowest id)
    ZY_SEQ2SEQ_SAMPLE = 2, // zy_sample with `sample`, seeded per sentence
} zy_seq2seq_mode;

typedef struct zy_seq2seq_params {
    zy_seq2seq_mode mode;   // (ZY_SEQ2SEQ_BEAM)
    int beam;               // K hypotheses per sentence (5); greedy and sampling use 1
    int n_best;             // hypotheses returned per sentence, 1..beam (1; 1 unless beam)
    float length_penalty;   // α: scores are Σ log p / length^α (1.0); finite
    bool early_stopping;    // a sentence is done as soon as K hypotheses finished (false)
    float max_len_a;        // at most floor(max_len_a * src_len + max_len_b) new tokens,
    int max_len_b;          // src_len the source row's length (1.5, 10); at least 1, at
                            // most max_positions (the decoder's positions)
    zy_sample_params sample; // ZY_SEQ2SEQ_SAMPLE's filters
    uint64_t seed;          // sampling: sentence i draws from zy_rng seeded by
                            // (seed, ids[i]) (1)
    zy_wtype kv_cache;      // the decoder's self- and cross-attention caches: ZY_WTYPE_F32,
                            // F16 or BF16 (zy_session_params.kv_cache; half the memory)
                            // (F32)
} zy_seq2seq_params;

zy_seq2seq_params zy_seq2seq_default_params(void);
// The message names the field: mode, beam >= 1, 1 <= n_best <= beam (1 when not beam
// search), length_penalty finite, max_len_a finite and >= 0, max_len_b >= 0, sample.
zy_status zy_seq2seq_params_validate(const zy_seq2seq_params *p);

typedef struct zy_seq2seq zy_seq2seq;

// A decoder for batches of up to max_sentences sources on model m (an encoder-decoder
// with a decoder_start_id): creates its own session (n_memory = max_sentences, n_seq =
// max_sentences x K: the KV caches are (layers, n, 2, max_positions, d_model) values of
// p->kv_cache's type each)
// and every buffer the runs need. p is copied. ZY_STATUS_UNSUPPORTED naming the model
// type if it is not an encoder-decoder.
zy_status zy_seq2seq_create(zy_seq2seq **out, const zy_model *m, const zy_seq2seq_params *p,
                            int max_sentences);
void zy_seq2seq_free(zy_seq2seq *d);

// Decode n sources (1 <= n <= max_sentences): tokens (n, T), row i of lengths[i] ids
// (1..T; NULL: all T), T <= max_positions, ids in [0, vocab_size); each row is decoded as
// given (a Marian source ends with eos: the caller appends it). ids (n) number the
// sentences for sampling's seeds (NULL: 0..n-1). Replaces the previous run's results.
zy_status zy_seq2seq_run(zy_seq2seq *d, int n, const int *tokens, int T, const int *lengths,
                         const uint64_t *ids);

typedef struct zy_seq2seq_hyp {
    const int *tokens; // the generated tokens, eos not included (valid until the next run)
    int n;             // how many
    bool eos;          // it ended with eos (else at the length limit)
    float score;       // Σ log p / length^α, length = n + eos
    float sum_logp;    // Σ log p over the n tokens and the eos
} zy_seq2seq_hyp;

// After a run: how many hypotheses sentence i has (n_best, or fewer if the search found
// fewer), and hypothesis `rank` of it (0 = the best). Bad i or rank:
// ZY_STATUS_INVALID_ARGUMENT.
int zy_seq2seq_n_hyps(const zy_seq2seq *d, int i);
zy_status zy_seq2seq_hyp_get(const zy_seq2seq *d, int i, int rank, zy_seq2seq_hyp *out);

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
