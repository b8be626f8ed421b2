// Speech sets (speech_data.h): a JSON-lines manifest of (WAV path, transcript) rows, every
// WAV read once to check it and count its frames, and the features every zhuyi speech
// model reads (zy_speech_features). Not here: the vocabulary (speech_vocab.c), batches
// (speech_source.c), WAV decoding and log-mel (audio.c, mel.c).
//
// The manifest: UTF-8 text, lines ending at '\n' (a '\r' before it dropped; the last line
// may lack it). A line of only white space is skipped; any other must be one JSON object
// with a string under audio_key (a path, relative to the manifest's directory unless it
// starts with '/') and a string under text_key (valid UTF-8). Other keys are ignored.
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>
#include <utf8proc.h>

#include "core/internal.h"
#include "zhuyi/speech_data.h"

typedef unsigned long long ull;

typedef struct row {
    char *audio, *text;
    uint64_t frames, line;
} row;

struct zy_speech_set {
    row *rows;
    size_t n, cap;
    uint64_t too_long, bad;
    uint64_t fingerprint;
};

zy_speech_set_params zy_speech_set_default_params(void) {
    return (zy_speech_set_params){.audio_key = "audio", .text_key = "text",
                                  .max_seconds = 30.0};
}

void zy_speech_set_free(zy_speech_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        zy_free(s->rows[i].audio);
        zy_free(s->rows[i].text);
    }
    zy_free(s->rows);
    zy_free(s);
}

size_t zy_speech_set_count(const zy_speech_set *s) { return s ? s->n : 0; }

zy_speech_item zy_speech_set_item(const zy_speech_set *s, size_t i) {
    ZY_ASSERT(s && i < s->n);
    const row *r = &s->rows[i];
    return (zy_speech_item){r->audio, r->text, r->frames, r->line};
}

void zy_speech_set_skipped(const zy_speech_set *s, uint64_t *too_long, uint64_t *bad) {
    if (too_long) *too_long = s ? s->too_long : 0;
    if (bad) *bad = s ? s->bad : 0;
}

uint64_t zy_speech_set_fingerprint(const zy_speech_set *s) { return s ? s->fingerprint : 0; }

// ---- features ---------------------------------------------------------------------------
zy_status zy_speech_features(zy_mel *mel, const zy_audio *a, float *out) {
    if (!mel || !a || (a->n && (!a->samples || !out)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech features: no mel, audio or "
                         "output");
    if (a->sample_rate != ZY_AUDIO_SAMPLE_RATE)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech features: audio at %d Hz, not "
                         "%d", a->sample_rate, ZY_AUDIO_SAMPLE_RATE);
    size_t T = zy_mel_frames(a->n);
    if (!T) return ZY_STATUS_OK;
    zy_mel_compute(mel, out, a->samples, a->n);
    double sum[ZY_MEL_BINS] = {0}, sq[ZY_MEL_BINS] = {0};
    for (size_t t = 0; t < T; t++) {
        const float *x = out + t * ZY_MEL_BINS;
        for (int k = 0; k < ZY_MEL_BINS; k++) sum[k] += x[k];
    }
    for (int k = 0; k < ZY_MEL_BINS; k++) sum[k] /= (double)T; // the means
    for (size_t t = 0; t < T; t++) {
        const float *x = out + t * ZY_MEL_BINS;
        for (int k = 0; k < ZY_MEL_BINS; k++) {
            double d = x[k] - sum[k];
            sq[k] += d * d;
        }
    }
    float mean[ZY_MEL_BINS], inv[ZY_MEL_BINS];
    for (int k = 0; k < ZY_MEL_BINS; k++) {
        double sd = sqrt(sq[k] / (double)T);
        mean[k] = (float)sum[k];
        inv[k] = (float)(1.0 / (sd > ZY_SPEECH_STD_FLOOR ? sd : ZY_SPEECH_STD_FLOOR));
    }
    for (size_t t = 0; t < T; t++) {
        float *x = out + t * ZY_MEL_BINS;
        for (int k = 0; k < ZY_MEL_BINS; k++) x[k] = (x[k] - mean[k]) * inv[k];
    }
    return ZY_STATUS_OK;
}

// ---- reading ----------------------------------------------------------------------------
static bool valid_utf8(const char *s) {
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t w = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(len - i), &c);
        if (w <= 0) return false;
        i += (size_t)w;
    }
    return true;
}

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == ' ' || (s[i] >= 9 && s[i] <= 13))) return false;
    return true;
}

// A row's own problem: too long (kind 1) or bad (kind 2); 0: the manifest's error.
typedef struct reader {
    const char *path;
    size_t dir_len; // path[0..dir_len) is the manifest's directory with its '/' (0: none)
    const zy_speech_set_params *p;
    zy_speech_set *s;
    uint64_t h;
} reader;

static zy_status add_row(reader *rd, const char *line, size_t len, uint64_t ln, int *kind) {
    const zy_speech_set_params *p = rd->p;
    const char *mf = rd->path;
    *kind = 2;
    cJSON *o = cJSON_ParseWithLength(line, len);
    zy_status st = ZY_STATUS_OK;
    char *audio = NULL, *text = NULL;
    zy_audio a = {0};
    if (!cJSON_IsObject(o)) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: not a JSON object", mf, (ull)ln);
        goto done;
    }
    const cJSON *ja = cJSON_GetObjectItemCaseSensitive(o, p->audio_key);
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive(o, p->text_key);
    if (!cJSON_IsString(ja) || !ja->valuestring[0]) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: key '%s': %s", mf, (ull)ln,
                       p->audio_key, ja ? "not a non-empty string (the WAV's path)"
                                        : "missing (the WAV's path)");
        goto done;
    }
    if (!cJSON_IsString(jt)) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: key '%s': %s", mf, (ull)ln,
                       p->text_key, jt ? "not a string (the transcript)"
                                       : "missing (the transcript)");
        goto done;
    }
    if (!valid_utf8(jt->valuestring)) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: key '%s': not valid UTF-8", mf,
                       (ull)ln, p->text_key);
        goto done;
    }
    const char *rel = ja->valuestring;
    size_t dl = rel[0] == '/' ? 0 : rd->dir_len, rl = strlen(rel);
    if (!(audio = zy_alloc(dl + rl + 1)) || !(text = zy__strdup(jt->valuestring))) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s:%llu: out of memory", mf, (ull)ln);
        *kind = 0;
        goto done;
    }
    memcpy(audio, mf, dl);
    memcpy(audio + dl, rel, rl + 1);
    if ((st = zy_audio_read_wav(&a, audio))) {
        st = zy__error(st, "%s:%llu: key '%s': %s", mf, (ull)ln, p->audio_key,
                       zy_last_error());
        goto done;
    }
    if (!a.n) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: key '%s': %s has no samples", mf,
                       (ull)ln, p->audio_key, audio);
        goto done;
    }
    if (p->max_seconds > 0 && (double)a.n > p->max_seconds * ZY_AUDIO_SAMPLE_RATE) {
        *kind = 1;
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: key '%s': %s lasts %.2f s, longer "
                       "than the limit of %g s", mf, (ull)ln, p->audio_key, audio,
                       (double)a.n / ZY_AUDIO_SAMPLE_RATE, p->max_seconds);
        goto done;
    }
    zy_speech_set *s = rd->s;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        row *r = zy_alloc(cap * sizeof *r);
        if (!r) {
            st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s:%llu: out of memory", mf, (ull)ln);
            *kind = 0;
            goto done;
        }
        if (s->n) memcpy(r, s->rows, s->n * sizeof *r);
        zy_free(s->rows);
        s->rows = r;
        s->cap = cap;
    }
    uint64_t frames = zy_mel_frames(a.n);
    s->rows[s->n++] = (row){audio, text, frames, ln};
    rd->h = zy_hash64(rd->h, zy_hash_bytes(text, strlen(text)));
    rd->h = zy_hash64(rd->h, frames);
    rd->h = zy_hash64(rd->h, zy_hash_bytes(a.samples, a.n * sizeof *a.samples));
    audio = text = NULL;
done:
    zy_audio_destroy(&a);
    zy_free(audio);
    zy_free(text);
    cJSON_Delete(o);
    return st;
}

zy_status zy_speech_set_read(zy_speech_set **out, const char *manifest,
                             const zy_speech_set_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech set: nowhere to put it");
    *out = NULL;
    if (!manifest || !p || !p->audio_key || !p->text_key || !(p->max_seconds <= 1e9))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech set: no manifest, keys or "
                         "limit (max_seconds <= 1e9)");
    char *data;
    size_t len;
    zy_status st = zy_file_read(manifest, &data, &len);
    if (st) return st;
    zy_speech_set *s = zy_calloc(1, sizeof *s);
    if (!s) {
        zy_free(data);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", manifest);
    }
    const char *slash = strrchr(manifest, '/');
    reader rd = {.path = manifest, .dir_len = slash ? (size_t)(slash - manifest) + 1 : 0,
                 .p = p, .s = s, .h = 0x5a59535045454348ull};
    uint64_t ln = 0;
    for (size_t at = 0; at < len && (!p->limit || s->n < p->limit);) {
        const char *line = data + at;
        const char *nl = memchr(line, '\n', len - at);
        size_t n = nl ? (size_t)(nl - line) : len - at;
        at += n + (nl != NULL);
        ln++;
        if (n && line[n - 1] == '\r') n--;
        if (blank(line, n)) continue;
        int kind;
        if (!(st = add_row(&rd, line, n, ln, &kind))) continue;
        if (!p->skip_bad || !kind) goto fail;
        if (kind == 1) s->too_long++;
        else s->bad++;
        zy_clear_error();
        st = ZY_STATUS_OK;
    }
    if (!s->n) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: no row (%llu lines, %llu rows skipped)",
                       manifest, (ull)ln, (ull)(s->too_long + s->bad));
        goto fail;
    }
    s->fingerprint = zy_hash64(rd.h, s->n);
    zy_free(data);
    *out = s;
    return ZY_STATUS_OK;
fail:
    zy_free(data);
    zy_speech_set_free(s);
    return st;
}
