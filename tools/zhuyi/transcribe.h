// Speech recognition with a speech_ctc model, shared by `zhuyi transcribe`, the speech
// kind's evaluation (kind_speech.c) and `zhuyi serve`'s /v1/audio/transcriptions: CTC
// decoding of a forward's per-frame logits into text, and one file or buffer of audio to
// text.
#ifndef ZHUYI_CLI_TRANSCRIBE_H
#define ZHUYI_CLI_TRANSCRIBE_H

#include "zhuyi/audio.h"
#include "zhuyi/model.h"
#include "zhuyi/speech_data.h"

// Row `row` of the last forward on s (its "logits" and "lengths" outputs) decoded: greedy
// (best path) with beam <= 1, else CTC prefix beam search of that width (ctc.h); then
// the labels to text (zy_char_vocab_decode). *text malloc'd (free()). 0, or 1 (printed
// with cmd).
int zy_cli_ctc_text(const char *cmd, const zy_session *s, int row, int beam,
                    const zy_char_vocab *v, char **text);

// audio (16 kHz) -> *text with the model of s (a session of the speech model; prepared
// here for the audio's frames as needed): the features of speech_data.h, one forward,
// zy_cli_ctc_text. Audio longer than the model's max_source_positions frames is refused,
// naming its length. 0, or 1 (printed with cmd and name).
int zy_cli_transcribe_audio(const char *cmd, const char *name, zy_session *s, zy_mel *mel,
                            const zy_audio *a, int beam, const zy_char_vocab *v, char **text);

// A transcript normalised as the vocabulary's texts are (NFKC, lower case, one space
// between words): what hypotheses are scored against. malloc'd; NULL if the text is not
// UTF-8 or memory runs out.
char *zy_cli_speech_normalize(const char *text);

// The vocabulary of a speech model directory (vocab.json, tokenizer_config.json), checked
// against the model's vocab_size. 0, or 1 (printed).
int zy_cli_speech_vocab(const char *cmd, const char *dir, const zy_model *m,
                        zy_char_vocab **out);

#endif
