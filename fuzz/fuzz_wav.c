// libFuzzer harness: the WAV reader and the log-mel features (include/zhuyi/audio.h,
// src/data/audio.c, src/data/mel.c: libsndfile behind our RIFF size check, the channel
// mix, libsamplerate). The input is the file. Properties checked on every input:
//  - a refusal is ZY_STATUS_BAD_FORMAT (UNSUPPORTED for other encodings, OUT_OF_MEMORY)
//    with a message naming the file, and leaves the struct empty; nothing leaks;
//  - an accepted file is 16 kHz mono with its source rate and channels within the limits,
//    every sample finite, and at 16 kHz no more samples than the file has bytes per
//    channel; the path entry point gives the same samples;
//  - the log-mel features of the samples (up to 2^16 of them) are never NaN and never
//    below ln(1e-10).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static zy_mel *mel;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    zy_audio a;
    zy_status s = zy_audio_read_wav_memory(&a, data, size, "fuzz.wav");
    if (s) {
        fz_expect_error(s, "fuzz.wav", ZY_STATUS_BAD_FORMAT, ZY_STATUS_UNSUPPORTED,
                        ZY_STATUS_OUT_OF_MEMORY);
        FZ_CHECK(a.samples == NULL && a.n == 0);
        return 0;
    }
    FZ_CHECK(a.sample_rate == ZY_AUDIO_SAMPLE_RATE);
    FZ_CHECK(a.source_rate >= ZY_AUDIO_MIN_RATE && a.source_rate <= ZY_AUDIO_MAX_RATE);
    FZ_CHECK(a.source_channels >= 1 && a.source_channels <= ZY_AUDIO_MAX_CHANNELS);
    FZ_CHECK((a.n == 0) == (a.samples == NULL));
    if (a.source_rate == ZY_AUDIO_SAMPLE_RATE)
        FZ_CHECK(a.n * (size_t)a.source_channels <= size);
    for (size_t i = 0; i < a.n; i++) FZ_CHECKF(isfinite(a.samples[i]), "sample %zu", i);

    zy_audio b;
    const char *path = fz_write("in.wav", data, size);
    FZ_CHECKF(zy_audio_read_wav(&b, path) == ZY_STATUS_OK, "by path: %s", zy_last_error());
    FZ_CHECK(b.n == a.n && b.source_rate == a.source_rate &&
             b.source_channels == a.source_channels);
    FZ_CHECK(!a.n || !memcmp(a.samples, b.samples, a.n * sizeof *a.samples));
    zy_audio_destroy(&b);

    if (a.n <= (1u << 16)) {
        if (!mel) FZ_CHECK(zy_mel_create(&mel) == ZY_STATUS_OK);
        size_t frames = zy_mel_frames(a.n);
        float *out = malloc(frames * ZY_MEL_BINS * sizeof *out + 1);
        FZ_CHECK(out);
        zy_mel_compute(mel, out, a.samples, a.n);
        for (size_t i = 0; i < frames * ZY_MEL_BINS; i++)
            FZ_CHECKF(!isnan(out[i]) && out[i] >= (float)log(ZY_MEL_FLOOR) - 1e-4f,
                      "mel value %zu = %g", i, out[i]);
        free(out);
    }
    zy_audio_destroy(&a);
    return 0;
}
