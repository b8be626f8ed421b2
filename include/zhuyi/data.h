// zhuyi data: the batch every model consumes, the data-source interface the trainer and
// evaluation read batches from, and two sources: a language-model token stream (text
// files -> one stream of ids -> (B, T) windows) and BERT pretraining examples (a corpus
// of documents -> masked [CLS] A [SEP] B [SEP] pairs with next-sentence labels).
//
// A source is a position in a deterministic sequence of batches: next() returns the batch
// at the position and advances; tell()/seek() save and restore the position exactly (what
// --resume needs); shard(rank, world) makes the source yield only this rank's rows of each
// global batch of world x B rows, with the position counted globally, so a run can
// resume on another number of processes. Every random choice (shuffling, masking) is a
// function of (seed, epoch or step, position), never of hidden state.
#ifndef ZHUYI_DATA_H
#define ZHUYI_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- batches ----------------------------------------------------------------------------
// Rows are right-padded to T. Fields a task does not use are NULL. Ids are ints.
typedef struct zy_batch {
    int B, T;               // rows in this batch and their (padded) length
    int *input_ids;         // (B, T)
    int *targets;           // (B, T) per-token targets (next token, masked token, tag);
                            // -1 = not scored
    int *lengths;           // (B) real tokens per row; NULL: every row has T
    int *token_type_ids;    // (B, T) segment ids (sentence A = 0, B = 1)
    int *labels;            // (B) one class per sequence
    float *values;          // (B, n_values) regression or multi-label targets
    int n_values;
    int *span_starts, *span_ends; // (B) answer spans as token positions
    int T_dec;              // decoder sequence (encoder-decoder models):
    int *dec_input_ids;     // (B, T_dec)
    int *dec_targets;       // (B, T_dec), -1 = not scored
    int *dec_lengths;       // (B)
    float *pixels;          // (B, channels, height, width) images as floats, normalised
                            // (image.h); for image models, whose batches have T = 1 and
                            // whose input_ids are unused
    int channels, height, width;
    float *features;        // (B, T, n_features) frames of features (speech models: log-mel
                            // frames, T the frame count, row b's first lengths[b] real and
                            // the rest zero); input_ids are then unused, and targets row b
                            // holds its label sequence left-aligned, -1 after it
    int n_features;
} zy_batch;

// Which optional fields a batch carries (input_ids always).
enum {
    ZY_BATCH_TARGETS = 1u << 0,
    ZY_BATCH_LENGTHS = 1u << 1,
    ZY_BATCH_TOKEN_TYPES = 1u << 2,
    ZY_BATCH_LABELS = 1u << 3,
    ZY_BATCH_VALUES = 1u << 4,
    ZY_BATCH_SPANS = 1u << 5,
    ZY_BATCH_DECODER = 1u << 6, // dec_input_ids, dec_targets, dec_lengths
    ZY_BATCH_PIXELS = 1u << 7,  // pixels, of dims' channels x height x width per row
    ZY_BATCH_FEATURES = 1u << 8, // features, of dims' n_features per position
};

// The largest batch a source yields and the fields it fills. A source that builds batches
// by token count (many short rows or few long ones) also bounds their area: every batch
// has B x T <= tokens and B x T_dec <= tokens, so what is sized for it (the batch, a
// session's activations) need not be batch x seq.
typedef struct zy_batch_dims {
    int batch, seq, seq_dec, n_values;
    unsigned fields; // ZY_BATCH_* bits
    int tokens;      // the largest B x max(T, T_dec) of a batch; 0: no bound beyond
                     // batch x seq (and batch x seq_dec)
    int channels, height, width; // images (ZY_BATCH_PIXELS): every row's size
    int n_features;  // frames (ZY_BATCH_FEATURES): features per position
} zy_batch_dims;

// Allocate the fields dims->fields names at full capacity (B = T = 0 until filled): a
// row-sized field for `batch` rows, a token-sized one for batch x seq (batch x seq_dec)
// positions or, with dims->tokens, for min(that, tokens).
// The caller owns the struct; zy_batch_destroy frees the fields.
zy_status zy_batch_init(zy_batch *b, const zy_batch_dims *dims);
void zy_batch_destroy(zy_batch *b);

// ---- data sources -----------------------------------------------------------------------
typedef struct zy_data_source zy_data_source;

// A position: two numbers, enough to continue exactly (their meaning is the source's).
typedef struct zy_data_pos {
    uint64_t epoch, pos;
} zy_data_pos;

typedef struct zy_data_source_info {
    const char *kind;      // e.g. "lm-stream"
    zy_batch_dims dims;    // the batches it yields
    uint64_t n_items;      // tokens or examples: recorded in training states
    uint64_t fingerprint;  // hash of the content: a resumed run refuses other data
    bool one_pass;         // yields each item once, then batches of 0 rows
                           // (evaluation); otherwise it cycles through epochs
} zy_data_source_info;

// An implementation: the generic wrapper checks arguments and the batch's capacity.
typedef struct zy_data_source_ops {
    // Fill b (capacity >= info.dims) with the next batch; b->B = 0 when a one-pass source
    // is done.
    zy_status (*next)(void *impl, zy_batch *b);
    void (*tell)(const void *impl, zy_data_pos *pos);
    zy_status (*seek)(void *impl, zy_data_pos pos);
    zy_status (*shard)(void *impl, int rank, int world);
    void (*free)(void *impl);
} zy_data_source_ops;

// Wraps impl (which the source then owns: ops->free releases it with the source).
zy_status zy_data_source_create(zy_data_source **out, const zy_data_source_ops *ops,
                                void *impl, const zy_data_source_info *info);
void zy_data_source_free(zy_data_source *s);
const zy_data_source_info *zy_data_source_get_info(const zy_data_source *s);
zy_status zy_data_source_next(zy_data_source *s, zy_batch *b);
void zy_data_source_tell(const zy_data_source *s, zy_data_pos *pos);
// ZY_STATUS_INVALID_ARGUMENT if pos is not a position this source can have.
zy_status zy_data_source_seek(zy_data_source *s, zy_data_pos pos);
// Yield rows [rank*B, (rank+1)*B) of each global batch of world*B rows (0 <= rank < world).
zy_status zy_data_source_shard(zy_data_source *s, int rank, int world);

// ---- the language-model token stream ------------------------------------------------------
// Read files[0..n) whole and encode each as one token stream (plain text: special-token
// strings in the text are ordinary bytes), joined by the tokenizer's "<|endoftext|>" id
// when there are several files and it has one. Any bytes are accepted (invalid UTF-8
// too: byte-level BPE encodes every byte). *tokens is allocated with zy_alloc (zy_free).
// Errors: unreadable file (ZY_STATUS_IO), a file with no bytes (ZY_STATUS_BAD_FORMAT).
zy_status zy_dataset_encode_files(zy_tokenizer *tok, const char *const *files, int n,
                                  int32_t **tokens, size_t *n_tokens);

// Batches of (B, T) windows of one token stream: input_ids = the window, targets = the
// same shifted by one (ZY_BATCH_TARGETS). The source borrows `tokens`.
//
// Sequential (shuffle off; evaluation, and training reproducible anywhere): position p = 0
// at first; a global batch of R = world x B rows reads tokens[p .. p + R·T], row r being
// tokens[p + rT .. p + rT + T] (inputs) and one further (targets); then p += R·T. In
// training, p returns to 0 when fewer than R·T + 1 tokens remain after p. One-pass: every
// full window once (window i = tokens[iT .. iT + T], a shorter tail left out), the last
// batch holding the windows that remain, then batches of 0 rows.
//
// Shuffled (training): the stream is cut into W = (n - 1 - o) / T windows of T + 1 tokens
// (window i starts at o + i·T; consecutive windows share one token), o = 0 in epoch 0 and
// zy_hash64(seed, e) % T in epoch e > 0 (if W stays >= R), so later epochs see other
// cuts. Each epoch visits the windows in the order of a Fisher-Yates permutation drawn
// from a zy_rng seeded with zy_hash64(seed ^ ZY_LM_STREAM_SALT, e), R per global batch;
// when fewer than R remain the next epoch starts. The position is (epoch, windows taken).
#define ZY_LM_STREAM_SALT 0x5a48555942415443ull // "ZHUYBATC"

typedef struct zy_lm_stream_params {
    int batch, seq;  // B rows of T tokens (this rank's share of a global batch)
    bool shuffle;    // seeded random windows (training) or the sequential rule
    uint64_t seed;
    bool one_pass;   // evaluation: each window once (sequential only)
} zy_lm_stream_params;

// Errors: a stream shorter than one global batch (R·T + 1 tokens; one window of T + 1 for
// one-pass), shuffle with one_pass, bad sizes.
zy_status zy_lm_stream_create(zy_data_source **out, const int32_t *tokens, size_t n,
                              const zy_lm_stream_params *p);

// ---- a corpus of documents (BERT pretraining) -----------------------------------------------
// Documents, each a list of sentences, each a list of token ids, in three flat arrays:
// sentence i is tokens[sentences[i] .. sentences[i + 1]) and document d is sentences
// documents[d] .. documents[d + 1] - 1, so sentences[0] = documents[0] = 0,
// sentences[n_sentences] = n_tokens and documents[n_documents] = n_sentences. A corpus
// with no document may have NULL arrays. The caller tokenizes: the corpus holds ids.
//
// A caller may point the struct at arrays of its own (it then frees them itself; leave
// the cap_ fields 0) or build one with the functions below, which allocate the arrays
// and keep the struct a valid corpus after every call (zy_corpus_destroy frees them);
// use them only on a corpus that started with zy_corpus_init.
typedef struct zy_corpus {
    int32_t *tokens;      // (n_tokens)
    uint64_t *sentences;  // (n_sentences + 1) offsets into tokens
    uint64_t *documents;  // (n_documents + 1) offsets into sentences
    uint64_t n_tokens, n_sentences, n_documents;
    // The builder's own bookkeeping: allocated lengths, and whether the last document
    // takes further sentences.
    uint64_t cap_tokens, cap_sentences, cap_documents;
    bool doc_open;
} zy_corpus;

// An empty corpus (no document; nothing allocated).
void zy_corpus_init(zy_corpus *c);
// Frees what the functions below allocated and empties the corpus.
void zy_corpus_destroy(zy_corpus *c);
// Append ids[0..n) (copied) as a sentence of the current document, opening a new
// document after zy_corpus_end_document or at first. n = 0 adds nothing (no empty
// sentence exists). Ids are not checked here; the source that reads the corpus does.
zy_status zy_corpus_add_sentence(zy_corpus *c, const int32_t *ids, size_t n);
// The next sentence starts a new document (nothing happens to an empty corpus or twice
// in a row: no empty document exists).
void zy_corpus_end_document(zy_corpus *c);
// Text with one sentence per line and a blank line between documents, as BERT's
// pretraining data is written. Lines end at '\n' (a last line without one counts); each
// is stripped of ASCII white space (space, \t, \r, \v, \f) at both ends; an empty line
// then ends the current document, any other is encoded with zy_tokenizer_encode (no
// flags: special-token strings in the text are plain text) and appended as a sentence
// (a line encoded as no ids adds nothing). The end of the text ends the document.
// Encoding errors name the line (1-based).
zy_status zy_corpus_add_text(zy_corpus *c, zy_tokenizer *tok, const char *text, size_t len);
// Prose: text wrapped at any width, paragraphs separated by blank lines (lines of only
// ASCII white space). A paragraph's lines are joined (a line break counts as a space) and
// cut into sentences after '.', '!' or '?' (runs of them, as "?!" or "...", and any
// closing quotes or brackets after: " ' ) ] and U+2019, U+201D, U+00BB) followed by white
// space and then anything but a lower-case ASCII letter ('"Who?" he asked.' is one
// sentence), or by the paragraph's end; a period after a single letter (initials, "e.g.") or
// after Mr Mrs Ms Dr St Jr Sr Prof Rev Col Gen Capt Lt Mt vs No ends no sentence. Each
// sentence, line breaks made spaces, is encoded with zy_tokenizer_encode (no flags) and
// appended. A document ends at the end of the first paragraph that brings it to at least
// doc_sentences sentences (doc_sentences <= 0: only at the end of the text), and at the
// end of the text. Encoding errors name the paragraph's first line (1-based).
zy_status zy_corpus_add_prose(zy_corpus *c, zy_tokenizer *tok, const char *text, size_t len,
                              int doc_sentences);
// zy_corpus_add_text on each file, read whole (each file's end ends a document). Errors:
// an unreadable file (ZY_STATUS_IO), a file without a sentence, e.g. empty or only blank
// lines (ZY_STATUS_BAD_FORMAT); both name the file. On error the corpus keeps what the
// files before it added.
zy_status zy_corpus_add_files(zy_corpus *c, zy_tokenizer *tok, const char *const *files,
                              int n);

// ---- BERT pretraining examples (masked LM + next-sentence prediction) -------------------
// Batches of [CLS] A [SEP] B [SEP] examples made from a corpus the way BERT's
// create_pretraining_data.py makes them, masked for the masked-LM objective:
// input_ids (B, T) with [PAD] after each row's length, targets (B, T) = the original id at
// the masked positions and -1 elsewhere, lengths (B), and with next-sentence prediction
// token_type_ids (B, T) (0 for [CLS] A [SEP] and the padding, 1 for B [SEP]) and labels (B)
// (0 = B follows A, "IsNext"; 1 = B comes from another document, "NotNext"; Hugging
// Face's next_sentence_label convention). docs/FORMATS.md ("BERT pretraining examples")
// states every rule; in short:
//
// Examples. At creation, dupe_factor passes over the documents build a fixed list of
// examples (n_items of them), each a function of (seed, pass, document) only: pass k
// over document d draws from a zy_rng seeded with
// zy_hash64(zy_hash64(seed ^ ZY_MLM_BUILD_SALT, k), d). With NSP, sentences are gathered
// until they reach the target length (T - 3, or with probability short_seq_prob a length
// uniform in [2, T - 3], drawn once per document and pass); A is the first 1..n-1 of them
// (uniform), B the rest (IsNext) or, with probability 1/2 and always when only one
// sentence was gathered, sentences of a uniformly chosen other document from a uniform
// start sentence until B reaches the target minus A's length (NotNext; the unused
// sentences go back to the document). The longer segment then loses tokens from its
// front or back at random (1/2 each) until both fit T - 3 ([CLS] + 2 [SEP]). Without
// NSP, each example is the longest run of whole sentences of one document that fits the
// target length (T - 2, or short as above), a sentence longer than that being cut into
// pieces, so every token appears once per pass.
//
// Order. Epoch e visits the examples in the order of a Fisher-Yates permutation drawn
// from a zy_rng seeded with zy_hash64(seed ^ ZY_MLM_ORDER_SALT, e) (shuffle) or in list
// order, R = world x B per global batch; when fewer than R remain, epoch e + 1 starts.
// The position is (epoch, examples taken in it). One-pass: every example once in list
// order, the last batch holding those that remain, then batches of 0 rows.
//
// Masking (dynamic, as RoBERTa: a new mask each epoch). Example i in epoch e draws from a
// zy_rng seeded with zy_hash64(zy_hash64(seed ^ ZY_MLM_MASK_SALT, e'), i), e' = e
// (e' = 0 with static_masking and in one-pass mode, so evaluations are comparable). Of
// the n tokens of A and B (never [CLS], [SEP] or padding), max(1, floor(n·mask_prob +
// 0.5)) are chosen (at most max_predictions when that is > 0) in a uniform random order
// of the candidates; with word_continuation, candidates are whole words (a token and the
// continuation tokens after it in its segment) and a word that would overshoot the count
// is passed over, as BERT's whole-word masking does. Each chosen token becomes [MASK]
// with probability mask_token_prob, a token drawn uniformly from the vocabulary without
// the four special ids with probability random_token_prob, and stays as it was otherwise.
#define ZY_MLM_BUILD_SALT 0x5a594d4c4d42554cull // "ZYMLMBUL"
#define ZY_MLM_ORDER_SALT 0x5a594d4c4d4f5244ull // "ZYMLMORD"
#define ZY_MLM_MASK_SALT 0x5a594d4c4d4d534bull  // "ZYMLMMSK"

typedef struct zy_mlm_source_params {
    int batch, seq;        // B rows of T tokens (this rank's share of a global batch)
    uint64_t seed;
    bool shuffle;          // each epoch in a seeded random order (true), or list order
    bool one_pass;         // evaluation: every example once (needs shuffle off)
    bool nsp;              // sentence pairs with next-sentence labels (true); false:
                           // [CLS] text [SEP], no token types, no labels (RoBERTa-style)
    bool omit_labels;      // NSP pairs but no labels field, so the model's loss is the
                           // masked-LM loss alone (held-out MLM evaluation)
    bool static_masking;   // masks depend on the example only, not the epoch (false)
    int vocab_size;        // ids are in [0, vocab_size)
    int cls_id, sep_id, mask_id, pad_id; // distinct, in [0, vocab_size); never in the corpus
    // (vocab_size) or NULL: non-zero marks an id that continues the previous token's
    // word (WordPiece "##x"); non-NULL turns whole-word masking on. Copied.
    const uint8_t *word_continuation;
    int dupe_factor;       // passes over the documents building examples (1)
    float short_seq_prob;  // probability of a shorter target length (0.1)
    float mask_prob;       // share of the tokens chosen for prediction, (0, 1] (0.15)
    float mask_token_prob; // of the chosen: replaced by [MASK] (0.8)
    float random_token_prob; // of the chosen: replaced by a random token (0.1); the rest
                           // (1 - both) keep their id
    int max_predictions;   // at most this many chosen per row; 0 = no limit (0)
} zy_mlm_source_params;

// The defaults above, batch 8, seq 128, seed 12345, shuffle and nsp on; vocab_size and the
// special ids are -1 and must be set.
zy_mlm_source_params zy_mlm_source_default_params(void);

// The source borrows c->tokens (keep the corpus until the source is freed); the offsets
// are read at creation only. n_items = the number of examples; the fingerprint hashes the
// corpus and every parameter that changes the examples, their order or their masks (not
// batch or one_pass). Errors (ZY_STATUS_INVALID_ARGUMENT, naming what is wrong): bad
// sizes or probabilities, special ids not distinct or out of range, seq < 5 with NSP
// (< 3 without), an empty corpus, malformed offsets, an id outside [0, vocab_size) or a
// special id in the corpus (naming document, sentence and position), NSP with a single
// document, fewer examples than one global batch (one example for one-pass).
zy_status zy_mlm_source_create(zy_data_source **out, const zy_corpus *c,
                               const zy_mlm_source_params *p);

// 64-bit hash of n bytes (data fingerprints, parameter hashes; not cryptographic).
uint64_t zy_hash_bytes(const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
