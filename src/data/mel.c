// Log-mel filterbank features (audio.h gives the rules): framing with reflection padding,
// a periodic Hann window, FFTW's real-to-complex DFT, Slaney mel filters, natural log.
//
// Here under src/data rather than src/nn: it is the fixed front end that turns a waveform
// into a model's input (as image.c turns pixels into planes), with no parameters to learn
// and no backward pass.
//
// Everything a frame needs (window, filters, FFTW's plan and its aligned buffers) is made
// in zy_mel_create, so zy_mel_compute allocates nothing. FFTW's planner is not thread-safe
// (its execute is), so planning and destroying plans are serialised by a mutex here.
// Arithmetic is double throughout (FFTW's double interface); only the output is float.
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "core/internal.h"
#include "zhuyi/audio.h"

#define MEL_PI 3.14159265358979323846
#define MEL_FMIN 0.0
#define MEL_FMAX 8000.0

struct zy_mel {
    double window[ZY_MEL_N_FFT];
    double filters[ZY_MEL_BINS * ZY_MEL_FREQS];  // (bins, freqs)
    float filters_f[ZY_MEL_BINS * ZY_MEL_FREQS]; // the same as float, for zy_mel_filters
    double *frame;      // (n_fft), fftw_malloc'd
    fftw_complex *spec; // (freqs), fftw_malloc'd
    fftw_plan plan;
};

static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

// The Slaney mel scale (librosa's htk=False): linear below 1 kHz, logarithmic above.
#define SLANEY_F_SP (200.0 / 3.0)
#define SLANEY_MIN_LOG_HZ 1000.0
#define SLANEY_MIN_LOG_MEL (SLANEY_MIN_LOG_HZ / SLANEY_F_SP)
#define SLANEY_LOGSTEP (0.06875177742094912) // ln(6.4) / 27

static double hz_to_mel(double f) {
    if (f < SLANEY_MIN_LOG_HZ) return f / SLANEY_F_SP;
    return SLANEY_MIN_LOG_MEL + log(f / SLANEY_MIN_LOG_HZ) / SLANEY_LOGSTEP;
}

static double mel_to_hz(double m) {
    if (m < SLANEY_MIN_LOG_MEL) return m * SLANEY_F_SP;
    return SLANEY_MIN_LOG_HZ * exp(SLANEY_LOGSTEP * (m - SLANEY_MIN_LOG_MEL));
}

// librosa.filters.mel(sr=16000, n_fft=400, n_mels=80, fmin=0, fmax=8000, htk=False,
// norm="slaney"): triangles between consecutive mel-spaced edge frequencies, each weight
// the smaller of the rising and falling ramps (clipped at 0), scaled by 2/(right - left).
static void make_filters(double *fb) {
    double edges[ZY_MEL_BINS + 2];
    double lo = hz_to_mel(MEL_FMIN), hi = hz_to_mel(MEL_FMAX);
    for (int i = 0; i < ZY_MEL_BINS + 2; i++)
        edges[i] = mel_to_hz(lo + (hi - lo) * i / (ZY_MEL_BINS + 1));
    for (int b = 0; b < ZY_MEL_BINS; b++) {
        double l = edges[b], c = edges[b + 1], r = edges[b + 2];
        double enorm = 2.0 / (r - l);
        for (int k = 0; k < ZY_MEL_FREQS; k++) {
            double f = k * ((double)ZY_AUDIO_SAMPLE_RATE / ZY_MEL_N_FFT);
            double up = (f - l) / (c - l), down = (r - f) / (r - c);
            double w = up < down ? up : down;
            fb[b * ZY_MEL_FREQS + k] = w > 0 ? w * enorm : 0.0;
        }
    }
}

zy_status zy_mel_create(zy_mel **out) {
    *out = NULL;
    zy_mel *m = zy_calloc(1, sizeof *m);
    if (!m) return ZY_STATUS_OUT_OF_MEMORY;
    for (int i = 0; i < ZY_MEL_N_FFT; i++)
        m->window[i] = 0.5 - 0.5 * cos(2.0 * MEL_PI * i / ZY_MEL_N_FFT);
    make_filters(m->filters);
    for (int i = 0; i < ZY_MEL_BINS * ZY_MEL_FREQS; i++) m->filters_f[i] = (float)m->filters[i];
    m->frame = fftw_malloc(ZY_MEL_N_FFT * sizeof *m->frame);
    m->spec = fftw_malloc(ZY_MEL_FREQS * sizeof *m->spec);
    if (!m->frame || !m->spec) goto fail_buffers;
    pthread_mutex_lock(&planner_lock);
    m->plan = fftw_plan_dft_r2c_1d(ZY_MEL_N_FFT, m->frame, m->spec, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!m->plan) goto fail_buffers;
    *out = m;
    return ZY_STATUS_OK;

fail_buffers:
    fftw_free(m->frame);
    fftw_free(m->spec);
    zy_free(m);
    return zy__error(ZY_STATUS_OUT_OF_MEMORY, "mel features: FFTW could not allocate or plan");
}

void zy_mel_free(zy_mel *m) {
    if (!m) return;
    pthread_mutex_lock(&planner_lock);
    fftw_destroy_plan(m->plan);
    pthread_mutex_unlock(&planner_lock);
    fftw_free(m->frame);
    fftw_free(m->spec);
    zy_free(m);
}

size_t zy_mel_frames(size_t n) { return n ? 1 + n / ZY_MEL_HOP : 0; }

const float *zy_mel_filters(const zy_mel *m) { return m->filters_f; }

// Index i (any integer) of the signal extended by reflection without repeating the edges
// (…, x2, x1, x0, x1, x2, …, x[n-2], x[n-1], x[n-2], …): period 2(n-1).
static size_t reflect(long long i, size_t n) {
    if (n == 1) return 0;
    long long p = 2 * (long long)(n - 1);
    long long j = i % p;
    if (j < 0) j += p;
    return (size_t)(j < (long long)n ? j : p - j);
}

void zy_mel_compute(zy_mel *m, float *out, const float *samples, size_t n) {
    size_t frames = zy_mel_frames(n);
    for (size_t t = 0; t < frames; t++) {
        long long start = (long long)(t * ZY_MEL_HOP) - ZY_MEL_N_FFT / 2;
        if (start >= 0 && start + ZY_MEL_N_FFT <= (long long)n) {
            const float *x = samples + start;
            for (int i = 0; i < ZY_MEL_N_FFT; i++) m->frame[i] = x[i] * m->window[i];
        } else {
            for (int i = 0; i < ZY_MEL_N_FFT; i++)
                m->frame[i] = samples[reflect(start + i, n)] * m->window[i];
        }
        fftw_execute(m->plan);
        double power[ZY_MEL_FREQS];
        for (int k = 0; k < ZY_MEL_FREQS; k++)
            power[k] = m->spec[k][0] * m->spec[k][0] + m->spec[k][1] * m->spec[k][1];
        float *o = out + t * ZY_MEL_BINS;
        for (int b = 0; b < ZY_MEL_BINS; b++) {
            const double *w = m->filters + b * ZY_MEL_FREQS;
            double e = 0;
            for (int k = 0; k < ZY_MEL_FREQS; k++) e += w[k] * power[k];
            o[b] = (float)log(e > ZY_MEL_FLOOR ? e : ZY_MEL_FLOOR);
        }
    }
}
