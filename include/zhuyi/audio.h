// zhuyi audio input: WAV files (libsndfile) read into mono 16 kHz float samples, and those
// samples turned into the log-mel filterbank features a speech model reads.
//
// Every reader validates the sizes a file claims before allocating (channels, frames, their
// product, the bytes the file must then hold, the resampled length) and fails with a
// zy_status and a message naming the file and what is wrong. Nothing prints; nothing exits.
// Each reader has a path entry point and a memory one (`name` is what messages call the
// bytes).
#ifndef ZHUYI_AUDIO_H
#define ZHUYI_AUDIO_H

#include <stddef.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

// The rate every reader delivers, and the bounds on a file's own rate and length.
#define ZY_AUDIO_SAMPLE_RATE 16000
#define ZY_AUDIO_MIN_RATE 1000
#define ZY_AUDIO_MAX_RATE 768000
#define ZY_AUDIO_MAX_CHANNELS 1024
// Most samples (frames x channels in the file, or samples after resampling): 2^30.
#define ZY_AUDIO_MAX_SAMPLES (1u << 30)

// Mono samples at ZY_AUDIO_SAMPLE_RATE, nominally in [-1, 1]. The caller owns the struct;
// zy_audio_destroy frees samples.
typedef struct zy_audio {
    float *samples; // (n), zy_alloc'd; NULL when n is 0
    size_t n;
    int sample_rate;  // always ZY_AUDIO_SAMPLE_RATE
    int source_rate;  // the file's rate
    int source_channels;
} zy_audio;

void zy_audio_destroy(zy_audio *a);

// A WAV file (RIFF or WAVE_FORMAT_EXTENSIBLE) through libsndfile. Accepted encodings:
// unsigned 8-bit, signed 16/24/32-bit PCM, 32/64-bit IEEE float. Integer PCM is scaled as
// libsndfile's sf_readf_float does (16-bit: v / 32768; 8-bit: (v - 128) / 128). Channels
// are mixed to mono by their mean; a rate other than 16 kHz is resampled
// (zy_audio_resample). Errors:
//  - not a WAV (another container libsndfile knows, or bytes it cannot parse, including a
//    file cut inside its header): ZY_STATUS_BAD_FORMAT with libsndfile's reason;
//  - a WAV in another encoding (A-law, mu-law, ADPCM, GSM...): ZY_STATUS_UNSUPPORTED;
//  - a rate outside [ZY_AUDIO_MIN_RATE, ZY_AUDIO_MAX_RATE], more than
//    ZY_AUDIO_MAX_CHANNELS channels, more than ZY_AUDIO_MAX_SAMPLES samples, frames the
//    file cannot hold (header's frames x channels x bytes per sample > file size), fewer
//    frames read than the header says, a data chunk declaring more bytes than the file
//    holds (a cut file), or a non-finite sample (in the file, or after resampling samples
//    near FLT_MAX): ZY_STATUS_BAD_FORMAT.
zy_status zy_audio_read_wav(zy_audio *a, const char *path);
zy_status zy_audio_read_wav_memory(zy_audio *a, const void *data, size_t n,
                                   const char *name);

// in (n) at rate_in -> *out (*n_out, zy_alloc'd; NULL when *n_out is 0) at rate_out,
// through libsamplerate's SRC_SINC_MEDIUM_QUALITY converter (band-limited sinc; 97 dB
// SNR over 90% of the band, as libsamplerate documents it), the whole signal in one call
// (src_simple). *n_out is what the converter produces, within 1 of
// n·rate_out/rate_in. Equal rates copy. Rates must lie in [ZY_AUDIO_MIN_RATE,
// ZY_AUDIO_MAX_RATE] (so the ratio is within libsamplerate's 1/256..256).
zy_status zy_audio_resample(float **out, size_t *n_out, const float *in, size_t n,
                            int rate_in, int rate_out);

// ---- log-mel filterbank features ----------------------------------------------------------
// The rules (those of Whisper's feature extractor before its own scaling, i.e. librosa's
// defaults over torch.stft's):
//  - 16 kHz input; frames of n_fft = 400 samples (25 ms) every hop = 160 (10 ms);
//  - centred frames: the signal is padded by n_fft/2 = 200 samples each side by
//    reflection without repeating the edge (torch.stft center=True, pad_mode="reflect";
//    x[-i] = x[i], x[n-1+i] = x[n-1-i]; a signal shorter than 201 samples reflects
//    again off the far end, i.e. the mirrored periodic extension, which is the same rule
//    where torch allows it), so frame t is centred on sample t·160 and a signal of n > 0
//    samples gives 1 + n/160 (integer division) frames; 0 samples give 0 frames;
//  - periodic Hann window of 400: w[i] = 0.5 - 0.5·cos(2πi/400) (torch.hann_window);
//  - power spectrum |X[k]|², k = 0..200 (one-sided DFT of 400, no normalisation);
//  - 80 triangular mel filters from 0 to 8000 Hz on the Slaney mel scale (linear below
//    1 kHz: m = 3f/200; logarithmic above: m = 15 + 27·ln(f/1000)/ln(6.4)) with Slaney
//    area normalisation (each filter scaled by 2/(f[i+2] - f[i])): librosa.filters.mel's
//    defaults (htk=False, norm="slaney"), the filters Whisper ships;
//  - out = ln(max(mel energy, 1e-10)) (natural logarithm; no further scaling).
// The FFT is FFTW's (double precision, plan made once in zy_mel_create); the result is
// stored as float.
#define ZY_MEL_N_FFT 400
#define ZY_MEL_HOP 160
#define ZY_MEL_BINS 80
#define ZY_MEL_FREQS (ZY_MEL_N_FFT / 2 + 1)
#define ZY_MEL_FLOOR 1e-10

typedef struct zy_mel zy_mel;

// The window, the filters, the FFT plan and its buffers, allocated once; zy_mel_compute
// allocates nothing. One zy_mel serves one thread at a time (its buffers are shared).
zy_status zy_mel_create(zy_mel **out);
void zy_mel_free(zy_mel *m);

// Frames that n samples give: 0 if n is 0, else 1 + n / ZY_MEL_HOP.
size_t zy_mel_frames(size_t n);

// samples (n) at 16 kHz -> out (zy_mel_frames(n), ZY_MEL_BINS), log-mel as above.
void zy_mel_compute(zy_mel *m, float *out, const float *samples, size_t n);

// The filter bank (ZY_MEL_BINS, ZY_MEL_FREQS), row i the weights of mel bin i over the
// DFT bins 0..200 (k·40 Hz).
const float *zy_mel_filters(const zy_mel *m);

#ifdef __cplusplus
}
#endif
#endif
