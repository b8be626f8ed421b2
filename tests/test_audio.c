// Tests of the WAV reader and log-mel features (include/zhuyi/audio.h, src/data/audio.c,
// src/data/mel.c): WAVs written here with libsndfile itself (every accepted encoding,
// stereo, 8 kHz and 44.1 kHz) and read back; resampled length, frequency and level; the
// features against tests/ref_mel.py's torch/numpy reference; bad, truncated and hostile
// files, each refused with a message naming the file.
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "zhuyi/audio.h"

static const char *tmp_path(char *buf, size_t cap, const char *suffix) {
    snprintf(buf, cap, "/tmp/zy_audio_%ld_%s", (long)getpid(), suffix);
    return buf;
}

// Write frames (frames, channels) of doubles as a file of `format` at `rate`; 1 on success.
static int write_sound(const char *path, int format, int rate, int channels,
                       const double *x, sf_count_t frames) {
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f) {
        zt_fail(__FILE__, __LINE__, "libsndfile cannot write %s: %s", path, sf_strerror(NULL));
        return 0;
    }
    // Integer encodings get full-scale ints (x·2^31: exact for the values used here);
    // libsndfile's double writer would scale by 32767, not the 32768 its reader uses.
    int sub = format & SF_FORMAT_SUBMASK;
    sf_count_t put;
    if (sub == SF_FORMAT_FLOAT || sub == SF_FORMAT_DOUBLE) {
        put = sf_writef_double(f, x, frames);
    } else {
        size_t total = (size_t)frames * (size_t)channels;
        int *v = zt_malloc(total * sizeof *v + 1);
        for (size_t i = 0; i < total; i++) {
            double d = x[i] * 2147483648.0;
            v[i] = d >= 2147483647.0 ? 2147483647 : (int)d;
        }
        put = sf_writef_int(f, v, frames);
        free(v);
    }
    sf_close(f);
    if (put != frames) zt_fail(__FILE__, __LINE__, "wrote %lld frames", (long long)put);
    return put == frames;
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = zt_malloc((size_t)len + 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

static int names(const char *name) { return strstr(zy_last_error(), name) != NULL; }

TEST(audio_wav_pcm16_mono_exact) {
    char path[128];
    tmp_path(path, sizeof path, "m16.wav");
    enum { N = 1000 };
    double x[N];
    for (int i = 0; i < N; i++) x[i] = ((i * 7919) % 65536 - 32768) / 32768.0;
    ASSERT(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, x, N));
    zy_audio a;
    ASSERT_EQ_INT(zy_audio_read_wav(&a, path), ZY_STATUS_OK);
    ASSERT_EQ_INT(a.n, N);
    CHECK(a.sample_rate == 16000 && a.source_rate == 16000 && a.source_channels == 1);
    for (int i = 0; i < N; i++) ASSERT(a.samples[i] == (float)x[i]);
    zy_audio_destroy(&a);
    // The memory entry point gives the same.
    size_t n;
    unsigned char *bytes = slurp(path, &n);
    ASSERT(bytes);
    ASSERT_EQ_INT(zy_audio_read_wav_memory(&a, bytes, n, "mem.wav"), ZY_STATUS_OK);
    ASSERT_EQ_INT(a.n, N);
    for (int i = 0; i < N; i++) ASSERT(a.samples[i] == (float)x[i]);
    zy_audio_destroy(&a);
    free(bytes);
    unlink(path);
}

TEST(audio_wav_stereo_mixed_to_mean) {
    char path[128];
    tmp_path(path, sizeof path, "st.wav");
    enum { N = 500 };
    double x[2 * N];
    for (int i = 0; i < N; i++) {
        x[2 * i] = ((i * 31) % 200 - 100) / 128.0;
        x[2 * i + 1] = ((i * 17) % 90 - 45) / 256.0;
    }
    ASSERT(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2, x, N));
    zy_audio a;
    ASSERT_EQ_INT(zy_audio_read_wav(&a, path), ZY_STATUS_OK);
    ASSERT_EQ_INT(a.n, N);
    ASSERT_EQ_INT(a.source_channels, 2);
    for (int i = 0; i < N; i++) ASSERT(a.samples[i] == (float)((x[2 * i] + x[2 * i + 1]) / 2));
    zy_audio_destroy(&a);
    unlink(path);
}

// Every accepted encoding, on values each can hold exactly (multiples of 1/128 in
// [-1, 1)); 4 channels of WAVE_FORMAT_EXTENSIBLE for one of them.
TEST(audio_wav_every_encoding) {
    static const int subs[] = {SF_FORMAT_PCM_U8, SF_FORMAT_PCM_16, SF_FORMAT_PCM_24,
                               SF_FORMAT_PCM_32, SF_FORMAT_FLOAT, SF_FORMAT_DOUBLE};
    enum { N = 256 };
    double x[4 * N];
    for (int i = 0; i < 4 * N; i++) x[i] = ((i * 37) % 256 - 128) / 128.0;
    for (size_t s = 0; s < sizeof subs / sizeof *subs; s++) {
        for (int wavex = 0; wavex < 2; wavex++) {
            char path[128];
            tmp_path(path, sizeof path, "enc.wav");
            int ch = wavex ? 4 : 1;
            int fmt = (wavex ? SF_FORMAT_WAVEX : SF_FORMAT_WAV) | subs[s];
            ASSERT(write_sound(path, fmt, 16000, ch, x, N));
            zy_audio a;
            zy_status st = zy_audio_read_wav(&a, path);
            if (st) zt_fail(__FILE__, __LINE__, "subtype 0x%x: %s", subs[s], zy_last_error());
            ASSERT_EQ_INT(st, ZY_STATUS_OK);
            ASSERT_EQ_INT(a.n, N);
            for (int i = 0; i < N; i++) {
                double want = 0;
                for (int c = 0; c < ch; c++) want += x[i * ch + c];
                ASSERT_NEAR(a.samples[i], want / ch, 1e-6);
            }
            zy_audio_destroy(&a);
            unlink(path);
        }
    }
}

// Frequency by zero crossings over the middle of the signal (away from the edges).
static double crossings_hz(const float *x, size_t n, int rate) {
    size_t lo = n / 10, hi = n - n / 10, first = 0, last = 0, count = 0;
    for (size_t i = lo + 1; i < hi; i++)
        if (x[i - 1] < 0 && x[i] >= 0) {
            if (!count) first = i;
            last = i;
            count++;
        }
    return count > 1 ? (double)(count - 1) * rate / (double)(last - first) : 0;
}

static double rms_middle(const float *x, size_t n) {
    double s = 0;
    size_t lo = n / 10, hi = n - n / 10;
    for (size_t i = lo; i < hi; i++) s += (double)x[i] * x[i];
    return sqrt(s / (double)(hi - lo));
}

TEST(audio_wav_resampled_8k_44k_stereo) {
    static const struct {
        int rate;
        double hz;
    } cases[] = {{8000, 440.0}, {44100, 1000.0}, {22050, 3000.0}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int rate = cases[c].rate;
        size_t frames = (size_t)rate; // 1 s
        double *x = zt_malloc(2 * frames * sizeof *x);
        for (size_t i = 0; i < frames; i++) {
            double v = 0.5 * sin(2 * 3.14159265358979323846 * cases[c].hz * i / rate);
            x[2 * i] = x[2 * i + 1] = v;
        }
        char path[128];
        tmp_path(path, sizeof path, "rs.wav");
        ASSERT(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, rate, 2, x, frames));
        free(x);
        zy_audio a;
        ASSERT_EQ_INT(zy_audio_read_wav(&a, path), ZY_STATUS_OK);
        unlink(path);
        CHECK(a.source_rate == rate && a.sample_rate == 16000 && a.source_channels == 2);
        double want_n = (double)frames * 16000 / rate;
        zt_note("%d Hz: %zu samples (n·16000/rate = %.1f)", rate, a.n, want_n);
        ASSERT(fabs((double)a.n - want_n) <= 1.0);
        double hz = crossings_hz(a.samples, a.n, 16000), level = rms_middle(a.samples, a.n);
        zt_note("%d Hz: %.3f Hz sine measured %.3f Hz, rms %.5f", rate, cases[c].hz, hz, level);
        ASSERT_NEAR(hz, cases[c].hz, cases[c].hz * 1e-3);
        ASSERT_NEAR(level, 0.5 / sqrt(2.0), 2e-3);
        zy_audio_destroy(&a);
    }
}

TEST(audio_resample_api) {
    float x[100], *y;
    size_t n;
    for (int i = 0; i < 100; i++) x[i] = (float)i / 100;
    ASSERT_EQ_INT(zy_audio_resample(&y, &n, x, 100, 16000, 16000), ZY_STATUS_OK);
    ASSERT_EQ_INT(n, 100);
    CHECK(!memcmp(x, y, sizeof x));
    zy_free(y);
    ASSERT_EQ_INT(zy_audio_resample(&y, &n, x, 0, 8000, 16000), ZY_STATUS_OK);
    CHECK(n == 0 && y == NULL);
    CHECK(zy_audio_resample(&y, &n, x, 100, 10, 16000) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_audio_resample(&y, &n, x, 100, 16000, 10000000) == ZY_STATUS_INVALID_ARGUMENT);
}

TEST(audio_mel_frames) {
    CHECK(zy_mel_frames(0) == 0);
    CHECK(zy_mel_frames(1) == 1);
    CHECK(zy_mel_frames(159) == 1);
    CHECK(zy_mel_frames(160) == 2);
    CHECK(zy_mel_frames(16000) == 101);
}

// Tolerance: the reference is float64 throughout; ours is float64 but for float32 output,
// so |Δ| <= 1e-5 absolute + 1e-6 relative on log values of magnitude up to ~25.
TEST(audio_mel_matches_reference) {
    zt_ref *r = zt_ref_load("tests/ref/mel.zyr");
    ASSERT(r);
    zy_mel *m;
    ASSERT_EQ_INT(zy_mel_create(&m), ZY_STATUS_OK);
    size_t nf;
    const float *fb = zt_ref_f(r, "filters", &nf);
    ASSERT(fb && nf == ZY_MEL_BINS * ZY_MEL_FREQS);
    CHECK_CLOSE("filters", zy_mel_filters(m), fb, nf, 1e-7, 1e-6);
    static const char *sig[2] = {"signal", "short"}, *want[2] = {"mel", "short_mel"};
    for (int k = 0; k < 2; k++) {
        size_t n, nw;
        const float *x = zt_ref_f(r, sig[k], &n);
        const float *w = zt_ref_f(r, want[k], &nw);
        ASSERT(x && w);
        size_t frames = zy_mel_frames(n);
        ASSERT_EQ_INT(frames * ZY_MEL_BINS, nw);
        float *out = zt_floats(nw);
        zy_mel_compute(m, out, x, n);
        CHECK_CLOSE(want[k], out, w, nw, 1e-5, 1e-6);
        free(out);
    }
    zy_mel_free(m);
    zt_ref_free(r);
}

// A 440 Hz sine's energy lands in the mel bin whose filter peaks nearest 440 Hz.
TEST(audio_mel_sine_peak) {
    enum { N = 4000 };
    float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)sin(2 * 3.14159265358979323846 * 440 * i / 16000);
    zy_mel *m;
    ASSERT_EQ_INT(zy_mel_create(&m), ZY_STATUS_OK);
    size_t frames = zy_mel_frames(N);
    float *out = zt_floats(frames * ZY_MEL_BINS);
    zy_mel_compute(m, out, x, N);
    const float *fb = zy_mel_filters(m), *row = out + (frames / 2) * ZY_MEL_BINS;
    int best = 0, expect = 0;
    for (int b = 1; b < ZY_MEL_BINS; b++)
        if (row[b] > row[best]) best = b;
    // 440 Hz is DFT bin 11; the filter with the largest weight there.
    for (int b = 1; b < ZY_MEL_BINS; b++)
        if (fb[b * ZY_MEL_FREQS + 11] > fb[expect * ZY_MEL_FREQS + 11]) expect = b;
    CHECK(best == expect);
    // A silent signal is the floor, ln(1e-10).
    memset(x, 0, sizeof x);
    zy_mel_compute(m, out, x, N);
    for (size_t i = 0; i < frames * ZY_MEL_BINS; i++) ASSERT_NEAR(out[i], log(1e-10), 1e-5);
    free(out);
    zy_mel_free(m);
}

TEST(audio_wav_bad_files_name_the_file) {
    zy_audio a;
    const char text[] = "this is not a wav file at all, only text\n";
    CHECK(zy_audio_read_wav_memory(&a, text, sizeof text - 1, "words.wav") ==
          ZY_STATUS_BAD_FORMAT);
    CHECK(names("words.wav"));
    CHECK(a.samples == NULL && a.n == 0);
    CHECK(zy_audio_read_wav_memory(&a, "", 0, "empty.wav") == ZY_STATUS_BAD_FORMAT);
    CHECK(names("empty.wav"));
    CHECK(zy_audio_read_wav(&a, "/nonexistent/zy/none.wav") == ZY_STATUS_IO);
    CHECK(names("none.wav"));

    enum { N = 400 };
    double x[N];
    for (int i = 0; i < N; i++) x[i] = sin(i * 0.1) * 0.5;
    char path[128];
    tmp_path(path, sizeof path, "bad.wav");
    // Another container libsndfile reads: AIFF.
    ASSERT(write_sound(path, SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 16000, 1, x, N));
    CHECK(zy_audio_read_wav(&a, path) == ZY_STATUS_BAD_FORMAT);
    CHECK(names(path) && strstr(zy_last_error(), "not a WAV"));
    // A-law and mu-law WAVs.
    ASSERT(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_ALAW, 16000, 1, x, N));
    CHECK(zy_audio_read_wav(&a, path) == ZY_STATUS_UNSUPPORTED);
    CHECK(names(path) && strstr(zy_last_error(), "A-law"));
    ASSERT(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_ULAW, 16000, 1, x, N));
    CHECK(zy_audio_read_wav(&a, path) == ZY_STATUS_UNSUPPORTED);
    CHECK(names(path));

    // Every prefix of a good file is refused naming it (a cut header by libsndfile, a cut
    // data chunk by our check of its size); never a crash or a leak.
    ASSERT(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, x, N));
    size_t n;
    unsigned char *bytes = slurp(path, &n);
    ASSERT(bytes);
    int refused = 0;
    for (size_t k = 0; k < n; k++) {
        zy_status s = zy_audio_read_wav_memory(&a, bytes, k, "cut.wav");
        if (s) {
            refused++;
            if (s != ZY_STATUS_BAD_FORMAT || !names("cut.wav")) {
                zt_fail(__FILE__, __LINE__, "prefix %zu: %d %s", k, s, zy_last_error());
                break;
            }
        } else {
            CHECK(a.n < N);
            zy_audio_destroy(&a);
        }
    }
    zt_note("%d of %zu prefixes refused", refused, n);
    CHECK(refused == (int)n);
    // Cut inside the data: refused as truncated.
    CHECK(zy_audio_read_wav_memory(&a, bytes, n - 100, "half.wav") == ZY_STATUS_BAD_FORMAT);
    CHECK(names("half.wav"));
    zt_note("cut in the data: %s", zy_last_error());

    // A header claiming 2^30 frames in a 50-byte file: refused before allocating.
    unsigned char hostile[64];
    memcpy(hostile, bytes, 44);
    uint32_t big = 0x7ffffff0u;
    memcpy(hostile + 40, &big, 4); // the data chunk's size (little-endian host)
    memset(hostile + 44, 0, sizeof hostile - 44);
    zy_status s = zy_audio_read_wav_memory(&a, hostile, sizeof hostile, "huge.wav");
    CHECK(s == ZY_STATUS_BAD_FORMAT);
    CHECK(names("huge.wav"));
    zt_note("hostile header: %s", zy_last_error());
    free(bytes);
    unlink(path);
}

// A float WAV holding an infinity or a NaN is refused naming the file and the frame.
TEST(audio_wav_non_finite_refused) {
    char path[128];
    tmp_path(path, sizeof path, "inf.wav");
    double x[8] = {0, 0.5, -0.5, 0, 0, 0, 0, 0};
    for (int k = 0; k < 2; k++) {
        x[5] = k ? NAN : INFINITY;
        ASSERT(write_sound(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x, 8));
        zy_audio a;
        CHECK(zy_audio_read_wav(&a, path) == ZY_STATUS_BAD_FORMAT);
        CHECK(names(path) && strstr(zy_last_error(), "frame 5"));
        CHECK(a.samples == NULL);
    }
    unlink(path);
}
