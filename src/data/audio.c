// WAV input (audio.h) through libsndfile, and resampling through libsamplerate. No
// decoding of our own: libsndfile parses the RIFF chunks and converts every PCM width and
// float to float samples; this file chooses what it accepts, bounds the sizes, mixes the
// channels and resamples.
//
// Format: RIFF/WAVE (or WAVE_FORMAT_EXTENSIBLE), little-endian; "fmt " gives channels,
// rate and encoding, "data" the interleaved frames. libsndfile reads from memory through
// its virtual I/O (sf_open_virtual); a path is read whole first (zy_file_read), so both
// entry points share one code path and the file's size is known.
//
// Validated before the sample buffer is allocated: that libsndfile calls the container WAV
// and the encoding one we accept, the rate, the channel count, frames x channels against
// ZY_AUDIO_MAX_SAMPLES and against the bytes the file holds (a 44-byte header claiming a
// billion frames is refused, not allocated for), a data chunk longer than the file (cut
// files are refused, not read short), and the resampled length. After reading:
// that every frame the header promised arrived, and that float samples are finite.
#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <string.h>

#include "core/internal.h"
#include "zhuyi/audio.h"

void zy_audio_destroy(zy_audio *a) {
    if (!a) return;
    zy_free(a->samples);
    memset(a, 0, sizeof *a);
}

// ---- libsndfile's virtual I/O over a buffer -----------------------------------------------
typedef struct vmem {
    const unsigned char *p;
    sf_count_t n, pos;
} vmem;

static sf_count_t vm_len(void *u) { return ((vmem *)u)->n; }

static sf_count_t vm_seek(sf_count_t off, int whence, void *u) {
    vmem *v = u;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? v->pos : v->n;
    sf_count_t to = base + off;
    if (to < 0) return -1;
    v->pos = to; // past the end is allowed (reads there return 0), as for a file
    return to;
}

static sf_count_t vm_read(void *dst, sf_count_t count, void *u) {
    vmem *v = u;
    if (count <= 0 || v->pos >= v->n) return 0;
    sf_count_t k = v->n - v->pos < count ? v->n - v->pos : count;
    memcpy(dst, v->p + v->pos, (size_t)k);
    v->pos += k;
    return k;
}

static sf_count_t vm_write(const void *src, sf_count_t count, void *u) {
    (void)src, (void)count, (void)u;
    return 0;
}

static sf_count_t vm_tell(void *u) { return ((vmem *)u)->pos; }

// Bytes per sample of an accepted encoding; 0 for the others.
static int subtype_bytes(int subtype) {
    switch (subtype) {
    case SF_FORMAT_PCM_U8:
    case SF_FORMAT_PCM_S8: return 1;
    case SF_FORMAT_PCM_16: return 2;
    case SF_FORMAT_PCM_24: return 3;
    case SF_FORMAT_PCM_32:
    case SF_FORMAT_FLOAT: return 4;
    case SF_FORMAT_DOUBLE: return 8;
    default: return 0;
    }
}

static const char *subtype_name(int subtype) {
    switch (subtype) {
    case SF_FORMAT_ULAW: return "mu-law";
    case SF_FORMAT_ALAW: return "A-law";
    case SF_FORMAT_IMA_ADPCM: return "IMA ADPCM";
    case SF_FORMAT_MS_ADPCM: return "Microsoft ADPCM";
    case SF_FORMAT_GSM610: return "GSM 6.10";
    case SF_FORMAT_G721_32: return "G.721 ADPCM";
    default: return "a non-PCM encoding";
    }
}

static zy_status check_rate(int rate, const char *what) {
    if (rate < ZY_AUDIO_MIN_RATE || rate > ZY_AUDIO_MAX_RATE)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: sample rate %d Hz outside [%d, %d]", what, rate,
                         ZY_AUDIO_MIN_RATE, ZY_AUDIO_MAX_RATE);
    return ZY_STATUS_OK;
}

// The resampled length bound libsamplerate may need: n·out/in rounded up, plus slack.
static uint64_t resampled_cap(uint64_t n, int rate_in, int rate_out) {
    return (n * (uint64_t)rate_out + (uint64_t)rate_in - 1) / (uint64_t)rate_in + 16;
}

zy_status zy_audio_resample(float **out, size_t *n_out, const float *in, size_t n,
                            int rate_in, int rate_out) {
    *out = NULL;
    *n_out = 0;
    zy_status s;
    if ((s = check_rate(rate_in, "resample input")) ||
        (s = check_rate(rate_out, "resample output")))
        return s;
    if (n > ZY_AUDIO_MAX_SAMPLES)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "resample: %zu samples (at most %u)",
                         n, ZY_AUDIO_MAX_SAMPLES);
    if (n == 0) return ZY_STATUS_OK;
    if (rate_in == rate_out) {
        if (!(*out = zy_alloc(n * sizeof **out))) return ZY_STATUS_OUT_OF_MEMORY;
        memcpy(*out, in, n * sizeof **out);
        *n_out = n;
        return ZY_STATUS_OK;
    }
    uint64_t cap = resampled_cap(n, rate_in, rate_out);
    if (cap > ZY_AUDIO_MAX_SAMPLES)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "resample: %zu samples at %d Hz make %llu at %d Hz (at most %u)", n,
                         rate_in, (unsigned long long)cap, rate_out, ZY_AUDIO_MAX_SAMPLES);
    float *buf = zy_alloc((size_t)cap * sizeof *buf);
    if (!buf) return ZY_STATUS_OUT_OF_MEMORY;
    SRC_DATA d = {
        .data_in = in,
        .data_out = buf,
        .input_frames = (long)n,
        .output_frames = (long)cap,
        .end_of_input = 1,
        .src_ratio = (double)rate_out / rate_in,
    };
    int err = src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1);
    if (err) {
        zy_free(buf);
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "resample %d Hz -> %d Hz: libsamplerate: %s",
                         rate_in, rate_out, src_strerror(err));
    }
    if (d.output_frames_gen == 0) {
        zy_free(buf);
        return ZY_STATUS_OK;
    }
    *out = buf;
    *n_out = (size_t)d.output_frames_gen;
    return ZY_STATUS_OK;
}

// The work between opening and closing f: checks, read, mix, resample into a.
static zy_status wav_steps(zy_audio *a, SNDFILE *f, const SF_INFO *info, size_t file_bytes,
                           const char *name) {
    int major = info->format & SF_FORMAT_TYPEMASK, sub = info->format & SF_FORMAT_SUBMASK;
    if (major != SF_FORMAT_WAV && major != SF_FORMAT_WAVEX)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a WAV file (libsndfile reads it as "
                         "container 0x%x)", name, (unsigned)major >> 16);
    int bytes = subtype_bytes(sub);
    if (!bytes)
        return zy__error(ZY_STATUS_UNSUPPORTED,
                         "%s: WAV encoded as %s (subtype 0x%x); only PCM and float are read",
                         name, subtype_name(sub), (unsigned)sub);
    if (info->samplerate < ZY_AUDIO_MIN_RATE || info->samplerate > ZY_AUDIO_MAX_RATE)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: sample rate %d Hz outside [%d, %d]", name,
                         info->samplerate, ZY_AUDIO_MIN_RATE, ZY_AUDIO_MAX_RATE);
    if (info->channels < 1 || info->channels > ZY_AUDIO_MAX_CHANNELS)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: %d channels (1 to %d)", name,
                         info->channels, ZY_AUDIO_MAX_CHANNELS);
    if (info->frames < 0)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: negative frame count", name);
    uint64_t frames = (uint64_t)info->frames, ch = (uint64_t)info->channels;
    uint64_t total = frames * ch; // frames < 2^63 / 1024 checked next
    if (frames > ZY_AUDIO_MAX_SAMPLES || total > ZY_AUDIO_MAX_SAMPLES)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: %llu frames x %llu channels (at most %u "
                         "samples)", name, (unsigned long long)frames,
                         (unsigned long long)ch, ZY_AUDIO_MAX_SAMPLES);
    if (total * (uint64_t)bytes > file_bytes)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: truncated: %llu frames x %llu channels x "
                         "%d bytes do not fit in the file's %zu bytes", name,
                         (unsigned long long)frames, (unsigned long long)ch, bytes, file_bytes);
    uint64_t out_cap = resampled_cap(frames, info->samplerate, ZY_AUDIO_SAMPLE_RATE);
    if (out_cap > ZY_AUDIO_MAX_SAMPLES)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: %llu frames at %d Hz are over %u samples "
                         "at %d Hz", name, (unsigned long long)frames, info->samplerate,
                         ZY_AUDIO_MAX_SAMPLES, ZY_AUDIO_SAMPLE_RATE);
    if (zy__exceeds_memory((total + out_cap) * sizeof(float)))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: %.1f GiB of samples exceed this "
                         "machine's memory", name, ZY_GIB((total + out_cap) * sizeof(float)));

    a->source_rate = info->samplerate;
    a->source_channels = info->channels;
    a->sample_rate = ZY_AUDIO_SAMPLE_RATE;
    if (frames == 0) return ZY_STATUS_OK;

    float *buf = zy_alloc((size_t)total * sizeof *buf);
    if (!buf) return ZY_STATUS_OUT_OF_MEMORY;
    sf_count_t got = sf_readf_float(f, buf, (sf_count_t)frames);
    if (got != (sf_count_t)frames) {
        zy_free(buf);
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: truncated: %lld of %llu frames read%s%s",
                         name, (long long)(got < 0 ? 0 : got), (unsigned long long)frames,
                         sf_error(f) ? ": " : "", sf_error(f) ? sf_strerror(f) : "");
    }
    // Mix down in place: frame i's mean over channels goes to buf[i] (i <= i·ch).
    for (size_t i = 0; i < (size_t)frames; i++) {
        const float *fr = buf + i * ch;
        double sum = 0;
        for (size_t c = 0; c < ch; c++) sum += fr[c];
        float v = (float)(sum / (double)ch);
        if (!isfinite(v)) {
            zy_free(buf);
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: frame %zu holds a non-finite sample",
                             name, i);
        }
        buf[i] = v;
    }
    if (info->samplerate == ZY_AUDIO_SAMPLE_RATE) {
        a->samples = buf;
        a->n = (size_t)frames;
        return ZY_STATUS_OK;
    }
    float *res;
    size_t n_res;
    zy_status s = zy_audio_resample(&res, &n_res, buf, (size_t)frames, info->samplerate,
                                    ZY_AUDIO_SAMPLE_RATE);
    zy_free(buf);
    if (s) return zy__error(s, "%s: %s", name, zy_last_error());
    a->samples = res;
    a->n = n_res;
    // Finite float samples near FLT_MAX can still sum past it in the resampler.
    for (size_t i = 0; i < n_res; i++)
        if (!isfinite(res[i]))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: resampled to a non-finite sample "
                             "(%zu): the file's samples are too large", name, i);
    return ZY_STATUS_OK;
}

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

// libsndfile forgives a data chunk that claims more bytes than the file holds (it reads
// what is there), which would make a cut file look like a shorter sound. So the RIFF
// chunks are walked here (each: 4-byte id, u32 little-endian size, the bytes, a pad byte
// if the size is odd) up to "data", whose size must fit in the file. The sizes 0 and
// 0xFFFFFFFF (streamed WAVs, written before their length was known) are left to
// libsndfile; so are bytes that are not RIFF/WAVE (it refuses them). A chunk before "data"
// that runs past the end, or a chunk header cut short, is truncation too.
static zy_status check_data_chunk(const unsigned char *p, size_t n, const char *name) {
    if (n < 12 || memcmp(p, "RIFF", 4) || memcmp(p + 8, "WAVE", 4)) return ZY_STATUS_OK;
    size_t at = 12;
    while (n - at >= 8) {
        uint32_t size = le32(p + at + 4);
        if (!memcmp(p + at, "data", 4)) {
            if (size != 0 && size != 0xFFFFFFFFu && size > n - at - 8)
                return zy__error(ZY_STATUS_BAD_FORMAT, "%s: truncated: the data chunk "
                                 "declares %u bytes, the file holds %zu after its header",
                                 name, size, n - at - 8);
            return ZY_STATUS_OK;
        }
        uint64_t next = (uint64_t)at + 8 + size + (size & 1);
        if (next > n)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: truncated: chunk '%.4s' at byte %zu "
                             "declares %u bytes, the file ends before its data chunk", name,
                             (const char *)(p + at), at, size);
        at = (size_t)next;
    }
    if (at < n)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: truncated: a chunk header cut at byte %zu",
                         name, at);
    return ZY_STATUS_OK;
}

zy_status zy_audio_read_wav_memory(zy_audio *a, const void *data, size_t n,
                                   const char *name) {
    memset(a, 0, sizeof *a);
    if (!data && n) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: no data", name);
    zy_status s = check_data_chunk(data, n, name);
    if (s) return s;
    vmem v = {.p = data, .n = (sf_count_t)n, .pos = 0};
    SF_VIRTUAL_IO io = {vm_len, vm_seek, vm_read, vm_write, vm_tell};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open_virtual(&io, SFM_READ, &info, &v);
    if (!f)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a readable WAV file: libsndfile: %s",
                         name, sf_strerror(NULL));
    s = wav_steps(a, f, &info, n, name);
    sf_close(f);
    if (s) zy_audio_destroy(a);
    return s;
}

zy_status zy_audio_read_wav(zy_audio *a, const char *path) {
    memset(a, 0, sizeof *a);
    char *data;
    size_t n;
    zy_status s = zy_file_read(path, &data, &n);
    if (s) return s;
    s = zy_audio_read_wav_memory(a, data, n, path);
    zy_free(data);
    return s;
}
