// libFuzzer harness: speech manifests (src/data/speech_set.c), then the character
// vocabulary built from the rows' texts (speech_vocab.c) and the speech source over the
// set (speech_source.c).
//
// The scratch directory holds a.wav (0.1 s of 16-bit PCM at 16 kHz: 11 frames), l.wav
// (A-law: refused as unsupported) and t.wav (cut inside its data chunk); the manifest
// names them, or anything else (a missing file must just be an error).
// Input: 1 control byte, then the manifest.
//   [0] bit 0 skip_bad, bit 1 keys "path"/"sentence" instead of "audio"/"text", bits 2-3
//       limit (0: none), bit 4 max_seconds 0.05 (a.wav is then too long), bit 5 a
//       training source with SpecAugment besides the one-pass one
// Inputs holding '/' are passed over: paths stay inside the scratch directory.
// Properties:
//  - a failed read leaves no set and names the manifest, and the line of a row's error;
//  - a read gives 1..lines rows (at most the limit), lines ascending and in range, every
//    row a.wav's 11 frames, rows + skipped <= lines;
//  - the vocabulary built from the texts encodes each text to ids in range without
//    <unk>, decoded back to the normalised text (spaces for delimiters);
//  - a one-pass source yields every row once, in order, with its frames and labels; a
//    training source yields full batches.
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void le16(unsigned char *p, unsigned v) { p[0] = v & 255, p[1] = v >> 8 & 255; }
static void le32(unsigned char *p, unsigned v) {
    le16(p, v & 0xffff);
    le16(p + 2, v >> 16);
}

// A mono 16 kHz WAV header (format tag fmt, bits per sample) for `bytes` of data, claiming
// `claim` bytes in its data chunk.
static void wav_header(unsigned char *h, unsigned fmt, unsigned bits, unsigned bytes,
                       unsigned claim) {
    memcpy(h, "RIFF", 4);
    le32(h + 4, 36 + bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    le32(h + 16, 16);
    le16(h + 20, fmt);
    le16(h + 22, 1);
    le32(h + 24, 16000);
    le32(h + 28, 16000 * bits / 8);
    le16(h + 32, bits / 8);
    le16(h + 34, bits);
    memcpy(h + 36, "data", 4);
    le32(h + 40, claim);
}

static void setup(void) {
    static int done;
    if (done) return;
    done = 1;
    enum { N = 1600 };
    static unsigned char w[44 + 2 * N];
    wav_header(w, 1, 16, 2 * N, 2 * N);
    for (int i = 0; i < N; i++) le16(w + 44 + 2 * i, (unsigned)((i * 7919) % 20000 - 10000));
    fz_write("a.wav", w, sizeof w);
    wav_header(w, 6, 8, N, N); // A-law
    fz_write("l.wav", w, 44 + N);
    wav_header(w, 1, 16, 2 * N, 2 * N);
    fz_write("t.wav", w, 44 + 100);
}

static void check_source(const zy_speech_set *s, const zy_char_vocab *v, bool train) {
    size_t n = zy_speech_set_count(s);
    zy_speech_source_params p = zy_speech_source_default_params();
    p.batch = 2, p.shuffle = false, p.one_pass = true;
    zy_data_source *src = NULL;
    FZ_CHECKF(zy_speech_source_create(&src, s, v, &p) == 0, "one-pass: %s", zy_last_error());
    zy_batch b;
    FZ_CHECK(zy_batch_init(&b, &zy_data_source_get_info(src)->dims) == 0);
    size_t seen = 0;
    for (;;) {
        FZ_CHECKF(zy_data_source_next(src, &b) == 0, "next: %s", zy_last_error());
        if (!b.B) break;
        for (int r = 0; r < b.B; r++) {
            zy_speech_item it = zy_speech_set_item(s, seen + (size_t)r);
            FZ_CHECK((uint64_t)b.lengths[r] == it.frames);
            int32_t ids[4096 * 18];
            size_t k;
            FZ_CHECK(zy_char_vocab_encode(v, it.text, strlen(it.text), ids, 4096 * 18, &k) == 0);
            const int *y = b.targets + (size_t)r * b.T;
            for (int t = 0; t < b.T; t++) FZ_CHECK(y[t] == ((size_t)t < k ? ids[t] : -1));
        }
        seen += (size_t)b.B;
    }
    FZ_CHECK(seen == n);
    zy_data_source_free(src);
    if (train) {
        p = zy_speech_source_default_params();
        p.batch = 1;
        FZ_CHECKF(zy_speech_source_create(&src, s, v, &p) == 0, "training: %s",
                  zy_last_error());
        for (int j = 0; j < 3; j++) FZ_CHECK(zy_data_source_next(src, &b) == 0 && b.B == 1);
        zy_data_source_free(src);
    }
    zy_batch_destroy(&b);
}

// The normalised text as UTF-8 (malloc'd).
static char *normalised(const char *t) {
    int32_t *cp;
    size_t n;
    FZ_CHECK(zy_char_vocab_normalize(t, strlen(t), &cp, &n) == 0);
    char *s = malloc(4 * n + 1);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = (uint32_t)cp[i];
        if (c < 0x80) s[at++] = (char)c;
        else if (c < 0x800) s[at++] = (char)(0xc0 | c >> 6), s[at++] = (char)(0x80 | (c & 63));
        else if (c < 0x10000)
            s[at++] = (char)(0xe0 | c >> 12), s[at++] = (char)(0x80 | (c >> 6 & 63)),
            s[at++] = (char)(0x80 | (c & 63));
        else
            s[at++] = (char)(0xf0 | c >> 18), s[at++] = (char)(0x80 | (c >> 12 & 63)),
            s[at++] = (char)(0x80 | (c >> 6 & 63)), s[at++] = (char)(0x80 | (c & 63));
    }
    s[at] = 0;
    zy_free(cp);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned c = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (memchr(text, '/', len)) return 0;
    setup();
    const char *path = fz_write("m.jsonl", text, len);
    zy_speech_set_params p = zy_speech_set_default_params();
    p.skip_bad = c & 1;
    if (c & 2) p.audio_key = "path", p.text_key = "sentence";
    p.limit = (c >> 2) & 3;
    if (c & 16) p.max_seconds = 0.05;
    zy_speech_set *s = NULL;
    zy_status st = zy_speech_set_read(&s, path, &p);
    if (st) {
        static const char *const words[] = {"no row", "out of memory"};
        FZ_CHECK(s == NULL);
        fz_check_read_message(path, text, len, words, 2);
        return 0;
    }
    size_t n = zy_speech_set_count(s), lines = fz_lines(text, len);
    uint64_t too_long, bad;
    zy_speech_set_skipped(s, &too_long, &bad);
    FZ_CHECK(n >= 1 && n <= lines && (!p.limit || n <= p.limit));
    FZ_CHECK(n + too_long + bad <= lines && (p.skip_bad || too_long + bad == 0));
    const char **texts = malloc(n * sizeof *texts);
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        zy_speech_item it = zy_speech_set_item(s, i);
        FZ_CHECK(it.line > last && it.line <= lines);
        last = it.line;
        FZ_CHECK(it.frames == 11);
        size_t al = strlen(it.audio);
        FZ_CHECK(al >= 5 && !strcmp(it.audio + al - 5, "a.wav"));
        texts[i] = it.text;
    }
    zy_char_vocab *v;
    FZ_CHECKF(zy_char_vocab_build(&v, texts, n) == 0, "build: %s", zy_last_error());
    for (size_t i = 0; i < n; i++) {
        size_t k, tl = strlen(texts[i]);
        zy_status q = zy_char_vocab_encode(v, texts[i], tl, NULL, 0, &k);
        FZ_CHECK(k ? q == ZY_STATUS_INVALID_ARGUMENT : q == ZY_STATUS_OK);
        int32_t *ids = malloc((k + 1) * sizeof *ids);
        FZ_CHECK(zy_char_vocab_encode(v, texts[i], tl, ids, k, &k) == 0);
        for (size_t j = 0; j < k; j++)
            FZ_CHECK(ids[j] >= 2 && ids[j] < zy_char_vocab_size(v));
        char *back, *want = normalised(texts[i]);
        FZ_CHECK(zy_char_vocab_decode(v, ids, k, &back) == 0);
        FZ_CHECKF(!strcmp(back, want), "decode(encode(text)) '%s', normalised '%s'", back, want);
        zy_free(back);
        free(want);
        free(ids);
    }
    check_source(s, v, c & 32);
    zy_char_vocab_free(v);
    free(texts);
    zy_speech_set_free(s);
    return 0;
}
