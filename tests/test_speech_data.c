// Tests of the speech data (include/zhuyi/speech_data.h, src/data/speech_*.c): the
// character vocabulary (normalisation, ids, encode/decode, the Wav2Vec2CTCTokenizer files
// and their refusals), manifests (rows, keys, limits and the errors naming file:line and
// key, an A-law WAV), the features' per-bin normalisation, and the source (shapes,
// padding, targets, SpecAugment, determinism, exact resume, one pass, a WAV gone).
// WAVs are written here with libsndfile into a scratch directory.
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "zhuyi/speech_data.h"

static char scratch[64];

static void scratch_done(void) {
    if (scratch[0]) zt_rm_tree(scratch);
    scratch[0] = 0;
}

static const char *scratch_new(void) {
    scratch_done();
    snprintf(scratch, sizeof scratch, "/tmp/zy_speech_XXXXXX");
    if (!mkdtemp(scratch)) {
        zt_fail(__FILE__, __LINE__, "mkdtemp failed");
        scratch[0] = 0;
        return NULL;
    }
    return scratch;
}

static const char *at(char *buf, size_t cap, const char *rel) {
    size_t a = strlen(scratch), b = strlen(rel);
    if (a + b + 2 > cap) {
        zt_fail(__FILE__, __LINE__, "path too long: %s", rel);
        buf[0] = 0;
        return buf;
    }
    memcpy(buf, scratch, a);
    buf[a] = '/';
    memcpy(buf + a + 1, rel, b + 1);
    return buf;
}

static int put_text(const char *rel, const char *text) {
    char p[256];
    FILE *f = fopen(at(p, sizeof p, rel), "wb");
    if (!f) return 0;
    fputs(text, f);
    fclose(f);
    return 1;
}

// A mono 16 kHz WAV of n samples (a tone plus deterministic noise), in `format`.
static int put_wav(const char *rel, size_t n, int seed, int format) {
    char p[256];
    SF_INFO info = {.samplerate = 16000, .channels = 1, .format = format};
    SNDFILE *f = sf_open(at(p, sizeof p, rel), SFM_WRITE, &info);
    if (!f) {
        zt_fail(__FILE__, __LINE__, "libsndfile cannot write %s: %s", p, sf_strerror(NULL));
        return 0;
    }
    float *x = zt_floats(n + 1);
    zt_fill_uniform(x, n, (uint64_t)seed, -0.1f, 0.1f);
    for (size_t i = 0; i < n; i++) x[i] += 0.5f * sinf(0.05f * (float)(seed + 1) * (float)i);
    sf_count_t put = sf_writef_float(f, x, (sf_count_t)n);
    sf_close(f);
    free(x);
    return put == (sf_count_t)n;
}

static int names(const char *s) {
    if (strstr(zy_last_error(), s)) return 1;
    zt_note("message: %s (expected it to name '%s')", zy_last_error(), s);
    return 0;
}

// ---- the vocabulary ---------------------------------------------------------------------
TEST(speech_vocab_normalize) {
    // NFKC ("ﬁ" -> "fi", full-width A -> A), lower case, white space and '|' -> one space.
    const char *t = "  \xef\xac\x81 \xef\xbc\xa1\tB|  \xc3\x89t\xc3\xa9\xe2\x80\x83x\n";
    int32_t *cp;
    size_t n;
    ASSERT_EQ_INT(zy_char_vocab_normalize(t, strlen(t), &cp, &n), ZY_STATUS_OK);
    const int32_t want[] = {'f', 'i', ' ', 'a', ' ', 'b', ' ', 0xe9, 't', 0xe9, ' ', 'x'};
    ASSERT_EQ_INT(n, sizeof want / sizeof *want);
    for (size_t i = 0; i < n; i++) CHECK(cp[i] == want[i]);
    zy_free(cp);
    ASSERT_EQ_INT(zy_char_vocab_normalize(" \t| ", 4, &cp, &n), ZY_STATUS_OK);
    CHECK(n == 0 && cp == NULL);
    ASSERT_EQ_INT(zy_char_vocab_normalize("a\xff", 2, &cp, &n), ZY_STATUS_BAD_FORMAT);
}

TEST(speech_vocab_build_encode_decode) {
    const char *texts[] = {"Hello  World", "abc", "\xc3\xa9"};
    zy_char_vocab *v;
    ASSERT_EQ_INT(zy_char_vocab_build(&v, texts, 3), ZY_STATUS_OK);
    // <pad> <unk> | a b c d e h l o r w é
    ASSERT_EQ_INT(zy_char_vocab_size(v), 14);
    CHECK(!strcmp(zy_char_vocab_token(v, 0), "<pad>"));
    CHECK(!strcmp(zy_char_vocab_token(v, 1), "<unk>"));
    CHECK(!strcmp(zy_char_vocab_token(v, 2), "|"));
    const char *order = "abcdehlorw";
    for (int i = 0; i < 10; i++) CHECK(zy_char_vocab_token(v, 3 + i)[0] == order[i]);
    CHECK(!strcmp(zy_char_vocab_token(v, 13), "\xc3\xa9"));
    CHECK(!strcmp(zy_char_vocab_token(v, 14), ""));
    CHECK(zy_char_vocab_pad(v) == 0 && zy_char_vocab_unk(v) == 1 && zy_char_vocab_delim(v) == 2);
    int32_t ids[32];
    size_t n;
    const char *s = " HELLO  xyz ";
    ASSERT_EQ_INT(zy_char_vocab_encode(v, s, strlen(s), ids, 32, &n), ZY_STATUS_OK);
    const int32_t want[] = {8, 7, 9, 9, 10, 2, 1, 1, 1};
    ASSERT_EQ_INT(n, 9);
    for (int i = 0; i < 9; i++) CHECK(ids[i] == want[i]);
    // Too small: nothing written, the count needed.
    ASSERT_EQ_INT(zy_char_vocab_encode(v, s, strlen(s), ids, 8, &n),
                  ZY_STATUS_INVALID_ARGUMENT);
    CHECK(n == 9);
    char *out;
    ASSERT_EQ_INT(zy_char_vocab_decode(v, ids, 9, &out), ZY_STATUS_OK);
    CHECK(!strcmp(out, "hello"));
    zy_free(out);
    // Blanks skipped, delimiter runs one space, none at the ends; repeats kept.
    const int32_t d[] = {2, 0, 9, 9, 0, 2, 2, 0, 3, 2, 1, 2};
    ASSERT_EQ_INT(zy_char_vocab_decode(v, d, 12, &out), ZY_STATUS_OK);
    CHECK(!strcmp(out, "ll a"));
    zy_free(out);
    const int32_t bad[] = {3, 14};
    ASSERT_EQ_INT(zy_char_vocab_decode(v, bad, 2, &out), ZY_STATUS_INVALID_ARGUMENT);
    CHECK(names("index 1"));
    zy_char_vocab_free(v);
    const char *broken[] = {"ok", "a\xc3"};
    ASSERT_EQ_INT(zy_char_vocab_build(&v, broken, 2), ZY_STATUS_BAD_FORMAT);
    CHECK(names("text 1"));
}

TEST(speech_vocab_save_load) {
    ASSERT(scratch_new());
    const char *texts[] = {"the cat", "\xe4\xbd\xa0\xe5\xa5\xbd"};
    zy_char_vocab *v, *w;
    ASSERT_EQ_INT(zy_char_vocab_build(&v, texts, 2), ZY_STATUS_OK);
    char dir[256], p[256];
    ASSERT_EQ_INT(zy_char_vocab_save(v, at(dir, sizeof dir, "tok")), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_char_vocab_load(&w, dir), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_char_vocab_size(w), zy_char_vocab_size(v));
    for (int i = 0; i < zy_char_vocab_size(v); i++)
        CHECK(!strcmp(zy_char_vocab_token(v, i), zy_char_vocab_token(w, i)));
    int32_t a[16], b[16];
    size_t na, nb;
    const char *s = "The \xe4\xbd\xa0 dog";
    ASSERT_EQ_INT(zy_char_vocab_encode(v, s, strlen(s), a, 16, &na), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_char_vocab_encode(w, s, strlen(s), b, 16, &nb), ZY_STATUS_OK);
    ASSERT(na == nb);
    CHECK(!memcmp(a, b, na * sizeof *a));
    zy_char_vocab_free(w);
    zy_char_vocab_free(v);
    char *cfg;
    size_t len;
    ASSERT_EQ_INT(zy_file_read(at(p, sizeof p, "tok/tokenizer_config.json"), &cfg, &len), 0);
    CHECK(strstr(cfg, "\"Wav2Vec2CTCTokenizer\"") && strstr(cfg, "\"word_delimiter_token\""));
    zy_free(cfg);

    mkdir(at(dir, sizeof dir, "hf"), 0755);
    mkdir(at(dir, sizeof dir, "cf"), 0755);
    // A Hugging Face vocabulary of capitals with <s> and </s> (wav2vec2-base-960h's shape).
    ASSERT(put_text("hf/vocab.json", "{\"<pad>\": 0, \"<s>\": 1, \"</s>\": 2, \"<unk>\": 3, "
                                     "\"|\": 4, \"E\": 5, \"T\": 6, \"A\": 7}"));
    ASSERT_EQ_INT(zy_char_vocab_load(&w, at(dir, sizeof dir, "hf")), ZY_STATUS_OK);
    CHECK(zy_char_vocab_unk(w) == 3 && zy_char_vocab_delim(w) == 4);
    ASSERT_EQ_INT(zy_char_vocab_encode(w, "eat x", 5, a, 16, &na), ZY_STATUS_OK);
    ASSERT_EQ_INT(na, 5);
    CHECK(a[0] == 5 && a[1] == 7 && a[2] == 6 && a[3] == 4 && a[4] == 3);
    const int32_t d[] = {1, 5, 4, 6, 2};
    char *out;
    ASSERT_EQ_INT(zy_char_vocab_decode(w, d, 5, &out), ZY_STATUS_OK);
    CHECK(!strcmp(out, "E T"));
    zy_free(out);
    zy_char_vocab_free(w);
    // Other special names through tokenizer_config.json.
    ASSERT(put_text("cf/vocab.json", "{\"[PAD]\": 0, \"[UNK]\": 1, \" \": 2, \"a\": 3}"));
    ASSERT(put_text("cf/tokenizer_config.json", "{\"pad_token\": \"[PAD]\", \"unk_token\": "
                    "{\"content\": \"[UNK]\"}, \"word_delimiter_token\": \" \", "
                    "\"bos_token\": null}"));
    ASSERT_EQ_INT(zy_char_vocab_load(&w, at(dir, sizeof dir, "cf")), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_char_vocab_encode(w, "a a", 3, a, 16, &na), ZY_STATUS_OK);
    CHECK(na == 3 && a[0] == 3 && a[1] == 2 && a[2] == 3);
    zy_char_vocab_free(w);
    scratch_done();
}

// vocab.json (and a config) in directory rel: refused with BAD_FORMAT naming `what`.
static void refused(const char *rel, const char *vocab, const char *config, const char *what) {
    char dir[256], sub[300];
    at(dir, sizeof dir, rel);
    mkdir(dir, 0755);
    snprintf(sub, sizeof sub, "%s/vocab.json", rel);
    put_text(sub, vocab);
    if (config) {
        snprintf(sub, sizeof sub, "%s/tokenizer_config.json", rel);
        put_text(sub, config);
    }
    zy_char_vocab *v = (zy_char_vocab *)1;
    zy_status st = zy_char_vocab_load(&v, dir);
    if (st != ZY_STATUS_BAD_FORMAT || v)
        zt_fail(__FILE__, __LINE__, "%s: status %d, vocabulary %p", rel, (int)st, (void *)v);
    if (!strstr(zy_last_error(), what) || !strstr(zy_last_error(), rel))
        zt_fail(__FILE__, __LINE__, "%s: message '%s' does not name '%s'", rel,
                zy_last_error(), what);
}

TEST(speech_vocab_load_refusals) {
    ASSERT(scratch_new());
    const char *base = "\"<pad>\": 0, \"<unk>\": 1, \"|\": 2";
    char v[256];
    refused("json", "{\"<pad>\": 0,", NULL, "vocab.json: not valid JSON");
    refused("array", "[1, 2]", NULL, "not a JSON object");
    snprintf(v, sizeof v, "{%s, \"a\": 2}", base);
    refused("dup", v, NULL, "same id 2");
    snprintf(v, sizeof v, "{%s, \"a\": 4}", base);
    refused("gap", v, NULL, "key 'a': id 4");
    snprintf(v, sizeof v, "{%s, \"a\": 1.5}", base);
    refused("frac", v, NULL, "key 'a'");
    snprintf(v, sizeof v, "{%s, \"a\": \"3\"}", base);
    refused("str", v, NULL, "key 'a'");
    snprintf(v, sizeof v, "{%s, \"a\": 3, \"a\": 4}", base);
    refused("twice", v, NULL, "key 'a' appears twice");
    refused("nounk", "{\"<pad>\": 0, \"|\": 1, \"a\": 2}", NULL, "'<unk>' (the unk_token)");
    refused("padlate", "{\"<unk>\": 0, \"<pad>\": 1, \"|\": 2}", NULL, "not 0");
    snprintf(v, sizeof v, "{%s, \"ab\": 3}", base);
    refused("multi", v, NULL, "key 'ab' (id 3)");
    snprintf(v, sizeof v, "{%s, \"\": 3}", base);
    refused("empty", v, NULL, "non-empty UTF-8");
    snprintf(v, sizeof v, "{%s}", base);
    refused("cfgkey", v, "{\"unk_token\": 7}", "key 'unk_token'");
    refused("cfgsame", v, "{\"unk_token\": \"|\"}", "same token");
    refused("cfgjson", v, "nope", "tokenizer_config.json: not a JSON object");
    zy_char_vocab *w;
    CHECK(zy_char_vocab_load(&w, at(v, sizeof v, "absent")) == ZY_STATUS_IO);
    scratch_done();
}

// ---- manifests --------------------------------------------------------------------------
// a.wav 0.30 s, b.wav 0.52 s, c.wav 0.20 s, d.wav 0.41 s, e.wav 0.25 s.
static const size_t LENS[5] = {4800, 8320, 3200, 6560, 4000};
static const char *const TEXTS[5] = {"a cat", "the dog ran", "hi", "Zebra stripes", "ok go"};

static int make_set(void) {
    if (!scratch_new()) return 0;
    char m[1024] = "";
    for (int i = 0; i < 5; i++) {
        char name[16], line[128];
        snprintf(name, sizeof name, "%c.wav", 'a' + i);
        if (!put_wav(name, LENS[i], i, SF_FORMAT_WAV | SF_FORMAT_PCM_16)) return 0;
        snprintf(line, sizeof line, "{\"audio\": \"%s\", \"text\": \"%s\", \"id\": %d}\n%s",
                 name, TEXTS[i], i, i == 2 ? "\n  \r\n" : "");
        strcat(m, line);
    }
    return put_text("m.jsonl", m);
}

TEST(speech_set_reads_manifest) {
    ASSERT(make_set());
    char p[256];
    zy_speech_set_params sp = zy_speech_set_default_params();
    zy_speech_set *s;
    ASSERT_EQ_INT(zy_speech_set_read(&s, at(p, sizeof p, "m.jsonl"), &sp), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_speech_set_count(s), 5);
    const uint64_t lines[5] = {1, 2, 3, 6, 7};
    for (int i = 0; i < 5; i++) {
        zy_speech_item it = zy_speech_set_item(s, i);
        CHECK(it.frames == zy_mel_frames(LENS[i]) && it.line == lines[i]);
        CHECK(!strcmp(it.text, TEXTS[i]));
        char want[256];
        snprintf(want, sizeof want, "%s/%c.wav", scratch, 'a' + i);
        CHECK(!strcmp(it.audio, want));
    }
    uint64_t fp = zy_speech_set_fingerprint(s);
    zy_speech_set_free(s);
    // Limit; max_seconds with skip_bad (b.wav 0.52 s and d.wav 0.41 s are too long).
    sp.limit = 2;
    ASSERT_EQ_INT(zy_speech_set_read(&s, p, &sp), ZY_STATUS_OK);
    CHECK(zy_speech_set_count(s) == 2 && zy_speech_set_fingerprint(s) != fp);
    zy_speech_set_free(s);
    sp = zy_speech_set_default_params();
    sp.max_seconds = 0.4;
    ASSERT_EQ_INT(zy_speech_set_read(&s, p, &sp), ZY_STATUS_BAD_FORMAT);
    CHECK(names("m.jsonl:2: key 'audio'") && names("b.wav") && names("longer than"));
    sp.skip_bad = true;
    ASSERT_EQ_INT(zy_speech_set_read(&s, p, &sp), ZY_STATUS_OK);
    uint64_t lng, bad;
    zy_speech_set_skipped(s, &lng, &bad);
    CHECK(zy_speech_set_count(s) == 3 && lng == 2 && bad == 0);
    zy_speech_set_free(s);
    // Other keys, an absolute path.
    char m[512];
    snprintf(m, sizeof m, "{\"path\": \"%s/c.wav\", \"sentence\": \"x\"}\n", scratch);
    ASSERT(put_text("k.jsonl", m));
    sp = zy_speech_set_default_params();
    sp.audio_key = "path", sp.text_key = "sentence";
    ASSERT_EQ_INT(zy_speech_set_read(&s, at(p, sizeof p, "k.jsonl"), &sp), ZY_STATUS_OK);
    CHECK(zy_speech_set_count(s) == 1 && zy_speech_set_item(s, 0).frames == 21);
    zy_speech_set_free(s);
    scratch_done();
}

// Manifest text: refused with `want`, the message holding w1 (and w2 unless NULL).
static void manifest_refused(const char *text, zy_status want, const char *w1, const char *w2) {
    char p[256];
    put_text("bad.jsonl", text);
    zy_speech_set_params sp = zy_speech_set_default_params();
    zy_speech_set *s = (zy_speech_set *)1;
    zy_status st = zy_speech_set_read(&s, at(p, sizeof p, "bad.jsonl"), &sp);
    if (st != want || s)
        zt_fail(__FILE__, __LINE__, "'%s': status %d (want %d)", text, (int)st, (int)want);
    if (!strstr(zy_last_error(), w1) || (w2 && !strstr(zy_last_error(), w2)))
        zt_fail(__FILE__, __LINE__, "'%s': message '%s' lacks '%s' / '%s'", text,
                zy_last_error(), w1, w2 ? w2 : "");
}

TEST(speech_set_refusals) {
    ASSERT(make_set());
    ASSERT(put_wav("alaw.wav", 1600, 1, SF_FORMAT_WAV | SF_FORMAT_ALAW));
    ASSERT(put_text("junk.wav", "RIFF not really a wave file at all"));
    manifest_refused("{\"audio\": \"a.wav\", \"text\": \"x\"}\n{\"audio\": \"a.wav\", ",
                     ZY_STATUS_BAD_FORMAT, "bad.jsonl:2: not a JSON object", NULL);
    manifest_refused("\n[1]\n", ZY_STATUS_BAD_FORMAT, "bad.jsonl:2: not a JSON object", NULL);
    manifest_refused("{\"audio\": \"a.wav\"}", ZY_STATUS_BAD_FORMAT,
                     "bad.jsonl:1: key 'text': missing", NULL);
    manifest_refused("{\"audio\": \"a.wav\", \"text\": 3}", ZY_STATUS_BAD_FORMAT,
                     "bad.jsonl:1: key 'text': not a string", NULL);
    manifest_refused("{\"text\": \"x\"}", ZY_STATUS_BAD_FORMAT,
                     "bad.jsonl:1: key 'audio': missing", NULL);
    manifest_refused("{\"audio\": \"a.wav\", \"text\": \"\xff\"}", ZY_STATUS_BAD_FORMAT,
                     "bad.jsonl:1: key 'text': not valid UTF-8", NULL);
    manifest_refused("{\"audio\": \"nope.wav\", \"text\": \"x\"}", ZY_STATUS_IO,
                     "bad.jsonl:1: key 'audio'", "nope.wav");
    manifest_refused("{\"audio\": \"alaw.wav\", \"text\": \"x\"}", ZY_STATUS_UNSUPPORTED,
                     "bad.jsonl:1: key 'audio'", "alaw.wav");
    manifest_refused("{\"audio\": \"junk.wav\", \"text\": \"x\"}", ZY_STATUS_BAD_FORMAT,
                     "bad.jsonl:1: key 'audio'", "junk.wav");
    manifest_refused("\n \n", ZY_STATUS_BAD_FORMAT, "bad.jsonl: no row", NULL);
    // skip_bad counts them all.
    char p[256];
    put_text("mixed.jsonl", "{\"audio\": \"alaw.wav\", \"text\": \"x\"}\nnot json\n"
                            "{\"audio\": \"a.wav\", \"text\": \"x\"}\n{\"text\": 1}\n");
    zy_speech_set_params sp = zy_speech_set_default_params();
    sp.skip_bad = true;
    zy_speech_set *s;
    ASSERT_EQ_INT(zy_speech_set_read(&s, at(p, sizeof p, "mixed.jsonl"), &sp), ZY_STATUS_OK);
    uint64_t lng, bad;
    zy_speech_set_skipped(s, &lng, &bad);
    CHECK(zy_speech_set_count(s) == 1 && zy_speech_set_item(s, 0).line == 3 && lng == 0 &&
          bad == 3);
    zy_speech_set_free(s);
    CHECK(zy_speech_set_read(&s, at(p, sizeof p, "absent.jsonl"), &sp) == ZY_STATUS_IO);
    scratch_done();
}

// ---- features ---------------------------------------------------------------------------
TEST(speech_features_normalised) {
    zy_mel *mel;
    ASSERT_EQ_INT(zy_mel_create(&mel), ZY_STATUS_OK);
    zy_audio a = {.n = 8000, .sample_rate = 16000, .source_rate = 16000, .source_channels = 1};
    a.samples = zt_floats(a.n);
    zt_fill_uniform(a.samples, a.n, 7, -0.3f, 0.3f);
    for (size_t i = 0; i < a.n; i++) a.samples[i] *= 0.2f + (float)i / (float)a.n;
    size_t T = zy_mel_frames(a.n);
    float *x = zt_floats(T * ZY_MEL_BINS), *raw = zt_floats(T * ZY_MEL_BINS);
    ASSERT_EQ_INT(zy_speech_features(mel, &a, x), ZY_STATUS_OK);
    zy_mel_compute(mel, raw, a.samples, a.n);
    double worst_mean = 0, worst_std = 0;
    for (int k = 0; k < ZY_MEL_BINS; k++) {
        double s = 0, q = 0, rs = 0, rq = 0;
        for (size_t t = 0; t < T; t++) s += x[t * ZY_MEL_BINS + k], rs += raw[t * ZY_MEL_BINS + k];
        double m = s / (double)T, rm = rs / (double)T;
        for (size_t t = 0; t < T; t++) {
            double d = x[t * ZY_MEL_BINS + k] - m, rd = raw[t * ZY_MEL_BINS + k] - rm;
            q += d * d, rq += rd * rd;
        }
        double sd = sqrt(q / (double)T), rsd = sqrt(rq / (double)T);
        worst_mean = fmax(worst_mean, fabs(m));
        worst_std = fmax(worst_std, fabs(sd - 1.0));
        // One value against the rule computed here.
        double want = (raw[3 * ZY_MEL_BINS + k] - rm) / fmax(rsd, 1e-5);
        if (fabs(x[3 * ZY_MEL_BINS + k] - want) > 1e-4 * fmax(1.0, fabs(want)))
            zt_fail(__FILE__, __LINE__, "bin %d: %g, want %g", k, x[3 * ZY_MEL_BINS + k], want);
    }
    zt_note("worst |mean| %.3g, worst |std - 1| %.3g", worst_mean, worst_std);
    CHECK(worst_mean < 1e-5 && worst_std < 1e-4);
    // A constant signal: std 0 -> floor, features 0 (not NaN).
    for (size_t i = 0; i < a.n; i++) a.samples[i] = 0.25f;
    ASSERT_EQ_INT(zy_speech_features(mel, &a, x), ZY_STATUS_OK);
    for (size_t i = 0; i < T * ZY_MEL_BINS; i++) ASSERT(isfinite(x[i]));
    a.sample_rate = 8000;
    CHECK(zy_speech_features(mel, &a, x) == ZY_STATUS_INVALID_ARGUMENT);
    free(a.samples);
    free(x);
    free(raw);
    zy_mel_free(mel);
}

// ---- the source -------------------------------------------------------------------------
typedef struct fixture {
    zy_speech_set *set;
    zy_char_vocab *vocab;
} fixture;

static int fixture_make(fixture *f) {
    *f = (fixture){0};
    if (!make_set()) return 0;
    char p[256];
    zy_speech_set_params sp = zy_speech_set_default_params();
    if (zy_speech_set_read(&f->set, at(p, sizeof p, "m.jsonl"), &sp)) {
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
        return 0;
    }
    if (zy_char_vocab_build(&f->vocab, TEXTS, 5)) return 0;
    return 1;
}

static void fixture_free(fixture *f) {
    zy_speech_set_free(f->set);
    zy_char_vocab_free(f->vocab);
    scratch_done();
}

// Which row of the set a batch row is: its lengths and targets must match exactly one.
static int which_row(const fixture *f, const zy_batch *b, int r) {
    for (int i = 0; i < 5; i++) {
        int32_t ids[64];
        size_t n;
        zy_char_vocab_encode(f->vocab, TEXTS[i], strlen(TEXTS[i]), ids, 64, &n);
        if ((uint64_t)b->lengths[r] != zy_mel_frames(LENS[i])) continue;
        const int *y = b->targets + (size_t)r * b->T;
        int ok = 1;
        for (int t = 0; t < b->T; t++) ok &= y[t] == ((size_t)t < n ? ids[t] : -1);
        if (ok) return i;
    }
    return -1;
}

TEST(speech_source_one_pass) {
    fixture f;
    ASSERT(fixture_make(&f));
    zy_speech_source_params p = zy_speech_source_default_params();
    p.batch = 2, p.shuffle = false, p.one_pass = true;
    zy_data_source *src;
    ASSERT_EQ_INT(zy_speech_source_create(&src, f.set, f.vocab, &p), ZY_STATUS_OK);
    const zy_data_source_info *info = zy_data_source_get_info(src);
    CHECK(info->dims.fields == (ZY_BATCH_FEATURES | ZY_BATCH_LENGTHS | ZY_BATCH_TARGETS));
    CHECK(info->dims.n_features == 80 && info->dims.batch == 2 && info->n_items == 5);
    CHECK(info->dims.seq == (int)zy_mel_frames(8320) && info->one_pass);
    zy_batch b;
    ASSERT_EQ_INT(zy_batch_init(&b, &info->dims), ZY_STATUS_OK);
    zy_mel *mel;
    ASSERT_EQ_INT(zy_mel_create(&mel), ZY_STATUS_OK);
    int seen = 0;
    for (int j = 0; j < 4; j++) {
        ASSERT_EQ_INT(zy_data_source_next(src, &b), ZY_STATUS_OK);
        int want_B = j < 2 ? 2 : j == 2 ? 1 : 0;
        ASSERT_EQ_INT(b.B, want_B);
        if (!b.B) break;
        int T = 0;
        for (int r = 0; r < b.B; r++) T = T > b.lengths[r] ? T : b.lengths[r];
        ASSERT_EQ_INT(b.T, T);
        for (int r = 0; r < b.B; r++) {
            int i = seen + r;
            ASSERT_EQ_INT(which_row(&f, &b, r), i);
            CHECK(b.input_ids[r * b.T] == 0);
            // The features: exactly zy_speech_features of the file, zeros after.
            char p2[256], name[8];
            snprintf(name, sizeof name, "%c.wav", 'a' + i);
            zy_audio a;
            ASSERT_EQ_INT(zy_audio_read_wav(&a, at(p2, sizeof p2, name)), ZY_STATUS_OK);
            size_t L = zy_mel_frames(a.n);
            float *want = zt_floats(L * 80);
            ASSERT_EQ_INT(zy_speech_features(mel, &a, want), ZY_STATUS_OK);
            const float *x = b.features + (size_t)r * b.T * 80;
            CHECK(!memcmp(x, want, L * 80 * sizeof(float)));
            for (size_t k = L * 80; k < (size_t)b.T * 80; k++) ASSERT(x[k] == 0.0f);
            free(want);
            zy_audio_destroy(&a);
        }
        seen += b.B;
    }
    CHECK(seen == 5);
    zy_mel_free(mel);
    zy_batch_destroy(&b);
    zy_data_source_free(src);
    fixture_free(&f);
}

// n batches of a training source from position `from` (NULL: the start) into out (n, the
// batch's capacity of features) and rows (n, B) as set rows.
static void run(zy_data_source *src, int n, float *out, size_t cap, int *rows,
                const fixture *f) {
    zy_batch b;
    zy_batch_init(&b, &zy_data_source_get_info(src)->dims);
    for (int j = 0; j < n; j++) {
        if (zy_data_source_next(src, &b)) {
            zt_fail(__FILE__, __LINE__, "next: %s", zy_last_error());
            break;
        }
        memset(out + (size_t)j * cap, 0, cap * sizeof *out);
        memcpy(out + (size_t)j * cap, b.features, (size_t)b.B * b.T * 80 * sizeof *out);
        for (int r = 0; r < b.B; r++) rows[j * b.B + r] = which_row(f, &b, r);
    }
    zy_batch_destroy(&b);
}

TEST(speech_source_training) {
    fixture f;
    ASSERT(fixture_make(&f));
    zy_speech_source_params p = zy_speech_source_default_params();
    p.batch = 2, p.seed = 99;
    zy_data_source *s1, *s2, *s3;
    ASSERT_EQ_INT(zy_speech_source_create(&s1, f.set, f.vocab, &p), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_speech_source_create(&s2, f.set, f.vocab, &p), ZY_STATUS_OK);
    CHECK(zy_data_source_get_info(s1)->fingerprint == zy_data_source_get_info(s2)->fingerprint);
    CHECK(!zy_data_source_get_info(s1)->one_pass);
    enum { N = 6 };
    size_t cap = 2 * (size_t)zy_data_source_get_info(s1)->dims.seq * 80;
    float *a = zt_floats(N * cap), *b = zt_floats(N * cap);
    int ra[N * 2], rb[N * 2];
    run(s1, N, a, cap, ra, &f);
    run(s2, N, b, cap, rb, &f);
    // Same seed, same batches and masks, bit for bit; every row a row of the set.
    CHECK(!memcmp(a, b, N * cap * sizeof *a) && !memcmp(ra, rb, sizeof ra));
    for (int i = 0; i < N * 2; i++) CHECK(ra[i] >= 0);
    // Epochs of floor(5 / 2) * 2 = 4 rows: 3 epochs, each 4 distinct rows.
    for (int e = 0; e < 3; e++)
        for (int i = 0; i < 4; i++)
            for (int k = 0; k < i; k++) CHECK(ra[e * 4 + i] != ra[e * 4 + k]);
    // SpecAugment: some masked zeros inside the rows (whole bins), and a masked run of the
    // row equal to the unmasked one elsewhere.
    size_t zeros = 0;
    for (size_t i = 0; i < 2 * cap; i++) zeros += a[i] == 0.0f;
    zt_note("zeros in the first two batches: %zu", zeros);
    CHECK(zeros > 0);
    // Resume: tell after 2 batches, a new source seeks there and continues identically.
    zy_data_source_free(s2);
    ASSERT_EQ_INT(zy_speech_source_create(&s2, f.set, f.vocab, &p), ZY_STATUS_OK);
    run(s2, 3, b, cap, rb, &f);
    zy_data_pos pos;
    zy_data_source_tell(s2, &pos);
    CHECK(pos.epoch == 1 && pos.pos == 2);
    ASSERT_EQ_INT(zy_speech_source_create(&s3, f.set, f.vocab, &p), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_data_source_seek(s3, pos), ZY_STATUS_OK);
    run(s3, N - 3, b, cap, rb, &f);
    CHECK(!memcmp(a + 3 * cap, b, (N - 3) * cap * sizeof *a));
    CHECK(!memcmp(ra + 6, rb, (N - 3) * 2 * sizeof *ra));
    zy_data_source_free(s3);
    // Another seed: other batches.
    p.seed = 100;
    ASSERT_EQ_INT(zy_speech_source_create(&s3, f.set, f.vocab, &p), ZY_STATUS_OK);
    CHECK(zy_data_source_get_info(s3)->fingerprint != zy_data_source_get_info(s1)->fingerprint);
    run(s3, N, b, cap, rb, &f);
    CHECK(memcmp(a, b, N * cap * sizeof *a) != 0);
    zy_data_source_free(s3);
    // No masks, no shuffle: the features are the one-pass ones; with masks, every value
    // either equals them or is 0.
    p = zy_speech_source_default_params();
    p.batch = 2, p.shuffle = false, p.n_freq_masks = p.n_time_masks = 0;
    ASSERT_EQ_INT(zy_speech_source_create(&s3, f.set, f.vocab, &p), ZY_STATUS_OK);
    run(s3, 1, b, cap, rb, &f);
    zy_data_source_free(s3);
    p.n_freq_masks = p.n_time_masks = 2, p.time_width = 5;
    ASSERT_EQ_INT(zy_speech_source_create(&s3, f.set, f.vocab, &p), ZY_STATUS_OK);
    run(s3, 1, a, cap, ra, &f);
    size_t same = 0, zero = 0;
    for (size_t i = 0; i < cap; i++) same += a[i] == b[i], zero += a[i] == 0.0f && b[i] != 0.0f;
    CHECK(same + zero == cap && zero > 0);
    zy_data_source_free(s3);

    // A WAV gone: next fails naming it, the position stays.
    zy_data_source_tell(s1, &pos);
    char path[256];
    unlink(at(path, sizeof path, "a.wav"));
    unlink(at(path, sizeof path, "b.wav"));
    unlink(at(path, sizeof path, "c.wav"));
    unlink(at(path, sizeof path, "d.wav"));
    zy_batch bb;
    ASSERT_EQ_INT(zy_batch_init(&bb, &zy_data_source_get_info(s1)->dims), ZY_STATUS_OK);
    CHECK(zy_data_source_next(s1, &bb) != ZY_STATUS_OK && names(".wav") &&
          names("manifest line"));
    zy_data_pos now;
    zy_data_source_tell(s1, &now);
    CHECK(now.epoch == pos.epoch && now.pos == pos.pos);
    zy_batch_destroy(&bb);
    // Refusals.
    p = zy_speech_source_default_params();
    p.batch = 6;
    CHECK(zy_speech_source_create(&s3, f.set, f.vocab, &p) == ZY_STATUS_INVALID_ARGUMENT);
    p.batch = 2, p.freq_width = 81;
    CHECK(zy_speech_source_create(&s3, f.set, f.vocab, &p) == ZY_STATUS_INVALID_ARGUMENT);
    p.freq_width = 15, p.one_pass = true;
    CHECK(zy_speech_source_create(&s3, f.set, f.vocab, &p) == ZY_STATUS_INVALID_ARGUMENT);
    free(a);
    free(b);
    zy_data_source_free(s1);
    zy_data_source_free(s2);
    fixture_free(&f);
}

// Rows whose labels outnumber their frames: T covers them.
TEST(speech_source_long_labels) {
    ASSERT(scratch_new());
    ASSERT(put_wav("s.wav", 320, 3, SF_FORMAT_WAV | SF_FORMAT_PCM_16)); // 3 frames
    ASSERT(put_text("m.jsonl", "{\"audio\": \"s.wav\", \"text\": \"abcdefg\"}\n"));
    char p[256];
    zy_speech_set_params sp = zy_speech_set_default_params();
    zy_speech_set *s;
    ASSERT_EQ_INT(zy_speech_set_read(&s, at(p, sizeof p, "m.jsonl"), &sp), ZY_STATUS_OK);
    const char *texts[] = {"abcdefg"};
    zy_char_vocab *v;
    ASSERT_EQ_INT(zy_char_vocab_build(&v, texts, 1), ZY_STATUS_OK);
    zy_speech_source_params q = zy_speech_source_default_params();
    q.batch = 1, q.shuffle = false, q.one_pass = true;
    zy_data_source *src;
    ASSERT_EQ_INT(zy_speech_source_create(&src, s, v, &q), ZY_STATUS_OK);
    CHECK(zy_data_source_get_info(src)->dims.seq == 7);
    zy_batch b;
    ASSERT_EQ_INT(zy_batch_init(&b, &zy_data_source_get_info(src)->dims), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_data_source_next(src, &b), ZY_STATUS_OK);
    CHECK(b.B == 1 && b.T == 7 && b.lengths[0] == 3);
    for (int t = 0; t < 7; t++) CHECK(b.targets[t] == 3 + t);
    for (int k = 3 * 80; k < 7 * 80; k++) ASSERT(b.features[k] == 0.0f);
    zy_batch_destroy(&b);
    zy_data_source_free(src);
    zy_char_vocab_free(v);
    zy_speech_set_free(s);
    scratch_done();
}

// Two ranks of batch 1 give the rows (features, masks and all) of one rank of batch 2.
TEST(speech_source_shards) {
    fixture f;
    ASSERT(fixture_make(&f));
    zy_speech_source_params p = zy_speech_source_default_params();
    p.batch = 2, p.seed = 7;
    zy_data_source *whole, *r0, *r1;
    ASSERT_EQ_INT(zy_speech_source_create(&whole, f.set, f.vocab, &p), ZY_STATUS_OK);
    p.batch = 1;
    ASSERT_EQ_INT(zy_speech_source_create(&r0, f.set, f.vocab, &p), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_speech_source_create(&r1, f.set, f.vocab, &p), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_data_source_shard(r0, 0, 2), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_data_source_shard(r1, 1, 2), ZY_STATUS_OK);
    zy_batch bw, b0, b1;
    ASSERT_EQ_INT(zy_batch_init(&bw, &zy_data_source_get_info(whole)->dims), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_batch_init(&b0, &zy_data_source_get_info(r0)->dims), ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_batch_init(&b1, &zy_data_source_get_info(r1)->dims), ZY_STATUS_OK);
    for (int j = 0; j < 5; j++) {
        ASSERT_EQ_INT(zy_data_source_next(whole, &bw), ZY_STATUS_OK);
        ASSERT_EQ_INT(zy_data_source_next(r0, &b0), ZY_STATUS_OK);
        ASSERT_EQ_INT(zy_data_source_next(r1, &b1), ZY_STATUS_OK);
        ASSERT(bw.B == 2 && b0.B == 1 && b1.B == 1);
        const zy_batch *part[2] = {&b0, &b1};
        for (int r = 0; r < 2; r++) {
            const zy_batch *b = part[r];
            int L = b->lengths[0];
            ASSERT_EQ_INT(L, bw.lengths[r]);
            CHECK(!memcmp(b->features, bw.features + (size_t)r * bw.T * 80,
                          (size_t)L * 80 * sizeof(float)));
            for (int t = 0; t < b->T; t++) CHECK(b->targets[t] == bw.targets[r * bw.T + t]);
        }
    }
    zy_batch_destroy(&bw);
    zy_batch_destroy(&b0);
    zy_batch_destroy(&b1);
    zy_data_source_free(whole);
    zy_data_source_free(r0);
    zy_data_source_free(r1);
    fixture_free(&f);
}

// A WAV rewritten with another length after the set was read: next() names it.
TEST(speech_source_wav_changed) {
    fixture f;
    ASSERT(fixture_make(&f));
    zy_speech_source_params p = zy_speech_source_default_params();
    p.batch = 5, p.shuffle = false, p.one_pass = true;
    zy_data_source *src;
    ASSERT_EQ_INT(zy_speech_source_create(&src, f.set, f.vocab, &p), ZY_STATUS_OK);
    ASSERT(put_wav("c.wav", 1000, 2, SF_FORMAT_WAV | SF_FORMAT_PCM_16));
    zy_batch b;
    ASSERT_EQ_INT(zy_batch_init(&b, &zy_data_source_get_info(src)->dims), ZY_STATUS_OK);
    CHECK(zy_data_source_next(src, &b) == ZY_STATUS_BAD_FORMAT && names("c.wav") &&
          names("changed since the set was read") && names("line 3"));
    zy_data_pos pos;
    zy_data_source_tell(src, &pos);
    CHECK(pos.epoch == 0 && pos.pos == 0);
    // Put back as it was: the batch comes.
    ASSERT(put_wav("c.wav", LENS[2], 2, SF_FORMAT_WAV | SF_FORMAT_PCM_16));
    ASSERT_EQ_INT(zy_data_source_next(src, &b), ZY_STATUS_OK);
    CHECK(b.B == 5);
    zy_batch_destroy(&b);
    zy_data_source_free(src);
    fixture_free(&f);
}
