// zhuyi speech data (CTC speech recognition): a character vocabulary saved and loaded as
// Hugging Face's Wav2Vec2CTCTokenizer files, a speech set read from a JSON-lines manifest
// of (audio file, transcript) rows, the features a zhuyi speech model reads, and a data
// source of padded feature batches with CTC label sequences and SpecAugment masks.
// docs/FORMATS.md ("Speech data") states the formats. Not here: reading WAVs and log-mel
// (audio.h), the CTC loss and decoders (ctc.h), the model (src/models/speech*.c).
//
// What a program does, in order:
//   train:    zy_speech_set_read(train manifest) -> zy_char_vocab_build(its texts)
//             -> zy_char_vocab_save(model dir); zy_speech_source_create(set, vocab,
//             shuffle + SpecAugment); a validation set through a one-pass source
//   evaluate: zy_char_vocab_load(model dir) -> set -> one-pass source; batch j holds
//             rows [j·B, j·B + B); decode with ctc.h (blank = ZY_CHAR_PAD) then
//             zy_char_vocab_decode
//   predict:  zy_audio_read_wav -> zy_speech_features -> the model
#ifndef ZHUYI_SPEECH_DATA_H
#define ZHUYI_SPEECH_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio.h"
#include "core.h"
#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- the character vocabulary ---------------------------------------------------------
// Text normalisation (zy_char_vocab_normalize): NFKC (utf8proc), then every code point
// lower-cased (utf8proc_tolower, the simple mapping); white space (ASCII \t \n \v \f \r
// and space, U+0085, and Unicode categories Zs, Zl, Zp) and the delimiter character '|'
// itself become word delimiters, runs of them one delimiter, none at either end.
//
// Ids of a built vocabulary: 0 "<pad>" (also the CTC blank), 1 "<unk>", 2 "|" (the word
// delimiter, i.e. a space), then every other code point of the normalised training
// texts, in code-point order, each token its UTF-8 string. A loaded vocabulary may place
// its special tokens elsewhere (tokenizer_config.json names them) but its pad token must
// be id 0 (the blank zhuyi's CTC uses).
#define ZY_CHAR_PAD 0
#define ZY_CHAR_UNK 1
#define ZY_CHAR_DELIM 2
// Most tokens a vocabulary holds, and most bytes of one text to normalise.
#define ZY_CHAR_VOCAB_MAX (1 << 20)
#define ZY_CHAR_TEXT_MAX ((size_t)1 << 30)

typedef struct zy_char_vocab zy_char_vocab;

// text (len bytes of UTF-8) -> *out (zy_alloc'd code points, *n of them; NULL when 0),
// normalised as above, the delimiter as U+0020 (space). Errors (BAD_FORMAT): invalid
// UTF-8, a text over ZY_CHAR_TEXT_MAX bytes.
zy_status zy_char_vocab_normalize(const char *text, size_t len, int32_t **out, size_t *n);

// From texts[0..n) (NUL-terminated UTF-8). Errors name the text's index (invalid UTF-8),
// or more than ZY_CHAR_VOCAB_MAX tokens.
zy_status zy_char_vocab_build(zy_char_vocab **out, const char *const *texts, size_t n);
void zy_char_vocab_free(zy_char_vocab *v);

int zy_char_vocab_size(const zy_char_vocab *v);
// Token `id`'s string ("" for an id out of range). Owned by the vocabulary.
const char *zy_char_vocab_token(const zy_char_vocab *v, int id);
// The ids of the pad (blank), unknown and word-delimiter tokens.
int zy_char_vocab_pad(const zy_char_vocab *v);
int zy_char_vocab_unk(const zy_char_vocab *v);
int zy_char_vocab_delim(const zy_char_vocab *v);

// text -> ids: the normalised code points, each the id of its token, a delimiter the
// delimiter's id, a code point without a token the id of its upper case if that has one
// (a vocabulary of capitals, like facebook/wav2vec2-base-960h's) else the unknown id.
// *n = the ids written; with cap too small nothing is written, *n is the count needed
// and the status ZY_STATUS_INVALID_ARGUMENT (ask with cap 0 first: NFKC may give more
// code points than the text has bytes, e.g. U+FDFA's 3 bytes give 18).
zy_status zy_char_vocab_encode(const zy_char_vocab *v, const char *text, size_t len,
                               int32_t *ids, size_t cap, size_t *n);

// ids[0..n) -> *out (zy_alloc'd NUL-terminated UTF-8): each token's string, except the
// pad (blank) and unknown ids and other special tokens (bos/eos of a loaded vocabulary),
// which give nothing; delimiters give one space between words (runs of them one, none at
// either end). Repeats are not merged: that is CTC decoding's (ctc.h). Errors: an id out
// of range (INVALID_ARGUMENT, naming its index).
zy_status zy_char_vocab_decode(const zy_char_vocab *v, const int32_t *ids, size_t n,
                               char **out);

// dir/vocab.json ({token: id}, in id order) and dir/tokenizer_config.json
// (Wav2Vec2CTCTokenizer: pad_token, unk_token, word_delimiter_token, do_lower_case false,
// bos_token and eos_token null unless the vocabulary has them), written atomically; dir
// is created if missing.
zy_status zy_char_vocab_save(const zy_char_vocab *v, const char *dir);

// dir/vocab.json and, if present, dir/tokenizer_config.json (pad_token, unk_token,
// word_delimiter_token, bos_token, eos_token: a string, {"content": string} or null;
// defaults "<pad>", "<unk>", "|", "<s>", "</s>"; other keys ignored). Checked, each error
// BAD_FORMAT naming the file and key: JSON object; ids integers, unique, dense 0..n-1;
// tokens unique, non-empty UTF-8; pad, unk and delimiter present, pad at id 0; every
// token but those and bos/eos one code point.
zy_status zy_char_vocab_load(zy_char_vocab **out, const char *dir);

// ---- features ---------------------------------------------------------------------------
// The features a zhuyi speech model reads, for training and inference alike: the log-mel
// frames of audio.h (zy_mel_compute: zy_mel_frames(a->n) frames of ZY_MEL_BINS), then each
// mel bin normalised over the utterance's frames: x' = (x - mean) / max(std, 1e-5), mean
// and std (population: divided by the frame count) of that bin, accumulated in double.
// a must be at ZY_AUDIO_SAMPLE_RATE. out (zy_mel_frames(a->n), ZY_MEL_BINS).
#define ZY_SPEECH_STD_FLOOR 1e-5
zy_status zy_speech_features(zy_mel *mel, const zy_audio *a, float *out);

// ---- speech sets ------------------------------------------------------------------------
// A manifest: JSON lines, one object per row: {"audio": "path.wav", "text": "..."} (keys
// configurable), paths relative to the manifest's directory (absolute ones as they are);
// blank lines (only white space) are skipped; other keys ignored. Every WAV is read once
// here (zy_audio_read_wav) to check it and count its frames (zy_mel_frames of its 16 kHz
// length); the set keeps paths, texts and frame counts, not the audio.
typedef struct zy_speech_set zy_speech_set;

typedef struct zy_speech_set_params {
    const char *audio_key, *text_key; // "audio", "text"
    double max_seconds; // longest audio at 16 kHz (30); <= 0: no limit
    bool skip_bad;      // skip and count bad rows (a line that is not a JSON object, a
                        // missing or non-string key, invalid UTF-8 in the text, audio
                        // that cannot be read, is empty or is too long) instead of failing
    size_t limit;       // keep at most this many rows (0: all)
} zy_speech_set_params;

zy_speech_set_params zy_speech_set_default_params(void);

// Errors (BAD_FORMAT unless said) name the manifest and line, and the key or the WAV:
// unreadable manifest (IO), a line that does not parse or is not an object, a missing or
// non-string key, invalid UTF-8 in the text, a WAV that cannot be read (its reader's
// status: IO, BAD_FORMAT, UNSUPPORTED), no samples, longer than max_seconds, no row.
zy_status zy_speech_set_read(zy_speech_set **out, const char *manifest,
                             const zy_speech_set_params *p);
void zy_speech_set_free(zy_speech_set *s);

typedef struct zy_speech_item {
    const char *audio; // the path as read (relative ones joined to the manifest's dir)
    const char *text;  // the transcript as written
    uint64_t frames;   // zy_mel_frames of its 16 kHz samples (>= 1)
    uint64_t line;     // 1-based manifest line
} zy_speech_item;

size_t zy_speech_set_count(const zy_speech_set *s);
zy_speech_item zy_speech_set_item(const zy_speech_set *s, size_t i); // i < count
// Rows skipped with skip_bad: too long, and bad for another reason.
void zy_speech_set_skipped(const zy_speech_set *s, uint64_t *too_long, uint64_t *bad);
// A hash of every row's text, frame count and samples (not of file names).
uint64_t zy_speech_set_fingerprint(const zy_speech_set *s);

// ---- the data source ------------------------------------------------------------------------
// Batches of B utterances: features (B, T, ZY_MEL_BINS) (zy_speech_features, zeros after
// each row's frames), lengths (B) = frames, targets (B, T) = the row's transcript encoded
// (zy_char_vocab_encode) left-aligned, -1 after; input_ids 0. T = the batch's longest row,
// a row's length being max(frames, labels); dims.seq = that over the set. Audio is read
// and featurised per batch (nothing cached). Order, epochs, shards and positions are the
// fine-tuning sources' (task.h without buckets): epoch e visits the floor(n / R) * R
// first rows of a Fisher-Yates permutation from zy_hash64(seed ^ ZY_SPEECH_ORDER_SALT, e)
// (shuffle) or in order, R = world x B; the position is (epoch, rows taken in it). One
// pass: every row once in order, the last batch short, then batches of 0 rows.
//
// SpecAugment (training sources only; a one-pass source is never masked): row i in epoch
// e draws from a zy_rng seeded with zy_hash64(zy_hash64(seed ^ ZY_SPEECH_AUG_SALT, e), i),
// in this order: for each of n_freq_masks, w = below(freq_width + 1), f0 = below(80 - w +
// 1), bins [f0, f0 + w) of every frame set to 0; then with W = min(time_width,
// floor(time_ratio · frames)), for each of n_time_masks, w = below(W + 1), t0 =
// below(frames - w + 1), frames [t0, t0 + w) set to 0 (0 is the normalised mean).
//
// A WAV that can no longer be read, or whose frame count changed since the set was read,
// fails next() naming the file; the position is then left where it was.
#define ZY_SPEECH_ORDER_SALT 0x5a59535045454f52ull // "ZYSPEEOR"
#define ZY_SPEECH_AUG_SALT 0x5a59535045454147ull   // "ZYSPEEAG"

typedef struct zy_speech_source_params {
    int batch;          // B rows per rank (8)
    uint64_t seed;      // 12345
    bool shuffle;       // true
    bool one_pass;      // evaluation (needs shuffle off)
    int n_freq_masks;   // 2
    int freq_width;     // 15 (0..ZY_MEL_BINS)
    int n_time_masks;   // 2
    int time_width;     // 20
    float time_ratio;   // 0.1 (in [0, 1])
} zy_speech_source_params;

zy_speech_source_params zy_speech_source_default_params(void);

// Both set and vocab are borrowed (keep them until the source is freed). n_items = rows;
// the fingerprint hashes the set, the vocabulary's tokens, seed, shuffle and the masks.
// Errors (INVALID_ARGUMENT): bad sizes, fewer rows than one global batch (training), a
// batch larger than the machine's memory.
zy_status zy_speech_source_create(zy_data_source **out, const zy_speech_set *set,
                                  const zy_char_vocab *vocab,
                                  const zy_speech_source_params *p);

#ifdef __cplusplus
}
#endif
#endif
