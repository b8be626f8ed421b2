// `zhuyi transcribe DIR FILE.wav...`: speech to text with a speech_ctc model, and the
// pieces the speech kind's evaluation and the server share (transcribe.h).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "textio.h"
#include "transcribe.h"
#include "zhuyi/ctc.h"
#include "zhuyi/zhuyi.h"

int zy_cli_ctc_text(const char *cmd, const zy_session *s, int row, int beam,
                    const zy_char_vocab *v, char **text) {
    int nd;
    int64_t sh[4];
    const float *logits = zy_session_output(s, "logits", &nd, sh);
    const float *lens = zy_session_output(s, "lengths", NULL, NULL);
    if (!logits || !lens || nd != 3 || row >= sh[0])
        return zy_cli_die("%s: the model gave no per-frame logits (is it a speech_ctc model?)",
                          cmd);
    int To = (int)sh[1], V = (int)sh[2], T = (int)lens[row];
    int blank = zy_char_vocab_pad(v);
    const float *x = logits + (size_t)row * To * V;
    int k = beam > 1 ? beam : 1;
    int32_t *labels = malloc(((size_t)k * (To ? To : 1)) * sizeof *labels);
    int32_t *lengths = malloc((size_t)k * sizeof *lengths);
    float *scores = malloc((size_t)k * sizeof *scores);
    size_t nscratch = beam > 1 ? zy_ctc_beam_scratch_size(T, V, beam) : 0;
    void *scratch = nscratch ? malloc(nscratch) : NULL;
    int rc = 0, n = 1;
    if (!labels || !lengths || !scores || (beam > 1 && !scratch)) {
        rc = zy_cli_die("%s: out of memory", cmd);
    } else if (beam > 1) {
        if (zy_ctc_beam_search(x, T, V, blank, beam, scratch, nscratch, labels, lengths,
                               scores, &n))
            rc = zy_cli_die("%s: %s", cmd, zy_last_error());
        else if (n == 0) // every frame non-finite: no hypothesis
            lengths[0] = 0;
    } else {
        int32_t len = T;
        if (zy_ctc_greedy(x, &len, 1, To, V, blank, labels, lengths, NULL))
            rc = zy_cli_die("%s: %s", cmd, zy_last_error());
    }
    char *out = NULL;
    if (!rc && zy_char_vocab_decode(v, labels, (size_t)lengths[0], &out))
        rc = zy_cli_die("%s: %s", cmd, zy_last_error());
    if (!rc) {
        *text = strdup(out);
        if (!*text) rc = zy_cli_die("%s: out of memory", cmd);
    }
    zy_free(out);
    free(labels), free(lengths), free(scores), free(scratch);
    return rc;
}

int zy_cli_transcribe_audio(const char *cmd, const char *name, zy_session *s, zy_mel *mel,
                            const zy_audio *a, int beam, const zy_char_vocab *v, char **text) {
    const zy_model_info *info = zy_model_get_info(zy_session_model(s));
    size_t frames = zy_mel_frames(a->n);
    if (frames == 0) return zy_cli_die("%s: %s: no samples", cmd, name);
    if (frames > (size_t)info->max_positions)
        return zy_cli_die("%s: %s: %.1f s of audio (%zu frames) is longer than the model "
                          "reads (max_source_positions %d frames, %.1f s); split it",
                          cmd, name, a->n / (double)ZY_AUDIO_SAMPLE_RATE, frames,
                          info->max_positions, info->max_positions / 100.0);
    zy_batch b = {.B = 1, .T = (int)frames, .n_features = ZY_MEL_BINS};
    b.features = malloc(frames * ZY_MEL_BINS * sizeof *b.features);
    if (!b.features) return zy_cli_die("%s: out of memory", cmd);
    int rc = 0;
    if (zy_speech_features(mel, a, b.features) || zy_session_prepare(s, 1, (int)frames, 0) ||
        zy_session_forward(s, &b, NULL, NULL))
        rc = zy_cli_die("%s: %s: %s", cmd, name, zy_last_error());
    free(b.features);
    return rc ? rc : zy_cli_ctc_text(cmd, s, 0, beam, v, text);
}

char *zy_cli_speech_normalize(const char *text) {
    int32_t *cp = NULL;
    size_t n = 0;
    if (zy_char_vocab_normalize(text, strlen(text), &cp, &n)) return NULL;
    char *out = malloc(4 * n + 1), *o = out;
    for (size_t i = 0; out && i < n; i++) { // UTF-8 of each code point
        uint32_t c = (uint32_t)cp[i];
        if (c < 0x80) {
            *o++ = (char)c;
        } else if (c < 0x800) {
            *o++ = (char)(0xc0 | c >> 6), *o++ = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            *o++ = (char)(0xe0 | c >> 12), *o++ = (char)(0x80 | (c >> 6 & 0x3f));
            *o++ = (char)(0x80 | (c & 0x3f));
        } else {
            *o++ = (char)(0xf0 | c >> 18), *o++ = (char)(0x80 | (c >> 12 & 0x3f));
            *o++ = (char)(0x80 | (c >> 6 & 0x3f)), *o++ = (char)(0x80 | (c & 0x3f));
        }
    }
    if (out) *o = '\0';
    zy_free(cp);
    return out;
}

int zy_cli_speech_vocab(const char *cmd, const char *dir, const zy_model *m,
                        zy_char_vocab **out) {
    *out = NULL;
    if (zy_char_vocab_load(out, dir))
        return zy_cli_die("%s: %s (a speech model's directory holds its labels as "
                          "vocab.json)", cmd, zy_last_error());
    int mv = zy_model_get_info(m)->vocab_size, vv = zy_char_vocab_size(*out);
    if (mv != vv) {
        zy_char_vocab_free(*out);
        *out = NULL;
        return zy_cli_die("%s: %s: vocab.json has %d tokens but the model's vocab_size is %d; "
                          "they must be the same", cmd, dir, vv, mv);
    }
    return 0;
}

static const char usage[] =
    "usage: zhuyi transcribe DIR FILE.wav... [--beam N] [--json] [--threads N]\n"
    "\n"
    "Transcribes WAV files (PCM or float, any rate and channels: mixed to mono and\n"
    "resampled to 16 kHz) with the speech model in DIR (zhuyi finetune speech): one line\n"
    "per file, its text; with several files, \"FILE<TAB>text\".\n"
    "\n"
    "  --beam N      CTC prefix beam search of width N (default 1: the best path, greedy)\n"
    "  --json        one JSON object per file: {\"file\", \"text\", \"seconds\"}\n"
    "  --threads N   kernel threads (default: $ZY_THREADS, else all cores)\n"
    "\n"
    "example:\n"
    "  zhuyi transcribe runs/speech digits.wav\n";

int zy_cli_transcribe(int argc, char **argv) {
    const char *cmd = "transcribe", *dir = NULL;
    const char **files = calloc((size_t)argc, sizeof *files);
    int n_files = 0, beam = 1;
    bool json = false;
    if (!files) return zy_cli_die("out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            free(files);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--beam") || !strcmp(a, "--threads")) {
            if (!v) {
                free(files);
                return zy_cli_die("%s: %s needs a value", cmd, a);
            }
            int bad = !strcmp(a, "--beam") ? zy_cli_parse_int(v, 1, 1024, &beam)
                                           : zy_cli_threads(cmd, v);
            if (bad) {
                free(files);
                return !strcmp(a, "--beam")
                           ? zy_cli_die("%s: --beam '%s' is not a number from 1 to 1024", cmd, v)
                           : 1;
            }
            i++;
        } else if (a[0] == '-' && a[1]) {
            free(files);
            return zy_cli_die("%s: unknown flag %s (see zhuyi transcribe --help)", cmd, a);
        } else if (!dir) {
            dir = a;
        } else {
            files[n_files++] = a;
        }
    }
    if (!dir || n_files == 0) {
        free(files);
        fputs(usage, stderr);
        return 2;
    }
    zy_model *m = NULL;
    zy_tokenizer *tok = NULL;
    zy_char_vocab *v = NULL;
    zy_session *s = NULL;
    zy_mel *mel = NULL;
    int rc = zy_cli_open_model(cmd, dir, &m, &tok);
    if (!rc && zy_model_get_info(m)->audio_features != ZY_MEL_BINS)
        rc = zy_cli_die("%s: %s holds a %s, not a speech model of %d mel bins", cmd, dir,
                        zy_model_get_info(m)->architecture, ZY_MEL_BINS);
    if (!rc) rc = zy_cli_speech_vocab(cmd, dir, m, &v);
    if (!rc && (zy_session_create(&s, m, NULL) || zy_mel_create(&mel)))
        rc = zy_cli_die("%s: %s", cmd, zy_last_error());
    for (int f = 0; !rc && f < n_files; f++) {
        zy_audio a = {0};
        char *text = NULL;
        if (zy_audio_read_wav(&a, files[f])) {
            rc = zy_cli_die("%s: %s", cmd, zy_last_error());
            break;
        }
        rc = zy_cli_transcribe_audio(cmd, files[f], s, mel, &a, beam, v, &text);
        if (!rc && json) {
            fputs("{\"file\": ", stdout);
            zy_cli_put_json_string(stdout, files[f], strlen(files[f]));
            fputs(", \"text\": ", stdout);
            zy_cli_put_json_string(stdout, text, strlen(text));
            printf(", \"seconds\": %.3f}\n", a.n / (double)ZY_AUDIO_SAMPLE_RATE);
        } else if (!rc) {
            if (n_files > 1) printf("%s\t", files[f]);
            printf("%s\n", text);
        }
        fflush(stdout);
        free(text);
        zy_audio_destroy(&a);
    }
    zy_mel_free(mel);
    zy_session_free(s);
    zy_char_vocab_free(v);
    zy_model_free(m);
    free(files);
    return rc;
}
