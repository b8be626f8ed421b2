// Fuzzing the safetensors reader (meant to run under ASan/UBSan too): every truncation of
// valid files, random byte flips anywhere, random mutations of the JSON header. Every
// outcome must be a clean ZY_STATUS_BAD_FORMAT naming the file, or a file that validates
// and whose tensors then all read back. Bounded (a few thousand cases, well under a
// second optimised) and deterministic (fixed seeds).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_safetensors.h"

static uint64_t fz_state;
static uint32_t fz_rnd(void) {
    fz_state ^= fz_state << 13;
    fz_state ^= fz_state >> 7;
    fz_state ^= fz_state << 17;
    return (uint32_t)(fz_state >> 20);
}

// Valid inputs: the writer's F32 and BF16 files and the Python reference F16 file.
static unsigned char *base_file(int which, const char *dir, size_t *n) {
    char path[256];
    snprintf(path, sizeof path, "%s/base.safetensors", dir);
    if (which == 2) return stt_get_file("tests/ref/st_f16.safetensors", n);
    zy_safetensors_tensor t[4];
    stt_sample_tensors(t);
    if (zy_safetensors_write(path, t, 4, stt_params_of(which ? ZY_DTYPE_BF16 : ZY_DTYPE_F32)))
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
    return stt_get_file(path, n);
}

TEST(st_fuzz_truncations) {
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/cut.safetensors", dir);
    int cases = 0, accepted = 0;
    for (int which = 0; which < 2; which++) {
        size_t n;
        unsigned char *b = base_file(which, dir, &n);
        ASSERT(b != NULL);
        stt_put_file(path, b, n);
        CHECK(stt_open_read_all(path, n) == ZY_STATUS_OK); // the whole file is valid
        // Each shorter prefix loses header or data bytes: always an error.
        for (size_t len = 0; len < n; len++, cases++) {
            stt_put_file(path, b, len);
            accepted += stt_open_read_all(path, len) == ZY_STATUS_OK;
        }
        free(b);
    }
    zt_note("%d truncations, %d wrongly accepted", cases, accepted);
    CHECK(accepted == 0);
    stt_rm_dir(dir);
}

// Every tensor of the (valid) file at path, read raw, equals its bytes in file[].
static int data_reads_back(const char *path, const unsigned char *file) {
    zy_safetensors *st;
    if (zy_safetensors_open(&st, path)) return 0;
    int same = 1;
    for (int i = 0; i < zy_safetensors_count(st) && same; i++) {
        const zy_tensor_info *t = zy_safetensors_info(st, i);
        unsigned char *buf = zt_malloc(t->nbytes);
        same = !zy_safetensors_read_raw(st, t->name, buf, t->nbytes) &&
               !memcmp(buf, file + t->offset, t->nbytes);
        free(buf);
    }
    zy_safetensors_free(st);
    return same;
}

TEST(st_fuzz_byte_flips) {
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/flip.safetensors", dir);
    fz_state = 0x2545F4914F6CDD1Dull;
    // Files whose size field or JSON header changed, and files where only tensor data
    // changed: the reader validates the header, never the values, so each of the latter
    // must open and read back, with the flipped bytes read as they are.
    int hdr_ok = 0, hdr_bad = 0, data_cases = 0, data_bad = 0;
    for (int which = 0; which < 3; which++) {
        size_t n;
        unsigned char *b = base_file(which, dir, &n);
        ASSERT(b != NULL);
        unsigned char *m = malloc(n);
        // Header (and size field) bytes are where validation matters: flip there 3 times
        // out of 4, anywhere otherwise.
        uint64_t hdr = 8 + ((uint64_t)b[0] | (uint64_t)b[1] << 8);
        for (int it = 0; it < 1500; it++) {
            memcpy(m, b, n);
            int flips = 1 + (int)(fz_rnd() % 3);
            for (int f = 0; f < flips; f++) {
                size_t at = (it & 3) ? fz_rnd() % hdr : fz_rnd() % n;
                m[at] ^= (unsigned char)(1 + fz_rnd() % 255);
            }
            stt_put_file(path, m, n);
            int valid = stt_open_read_all(path, n) == ZY_STATUS_OK;
            if (memcmp(m, b, hdr)) {
                hdr_ok += valid;
                hdr_bad += !valid;
            } else if (memcmp(m, b, n)) {
                data_cases++;
                if (!valid || !data_reads_back(path, m)) data_bad++;
            }
        }
        free(m);
        free(b);
    }
    zt_note("header mutated: %d still valid (read fully), %d rejected cleanly; "
            "data only: %d files, %d not read back as written",
            hdr_ok, hdr_bad, data_cases, data_bad);
    CHECK(hdr_bad > 0);                      // header damage is caught
    CHECK(data_cases > 100 && data_bad == 0); // and data is never mistaken for it
    stt_rm_dir(dir);
}

TEST(st_fuzz_json_mutations) {
    static const char *tokens[] = {
        "{", "}", "[", "]", "\"", ":", ",", "0", "1", "9", "-", "e", ".", "\\", "\\u0000",
        "null", "true", "1e400", "18446744073709551616", "-1", "4294967296", " ", "\xff",
        "\xc3\xa9", "__metadata__", "\"dtype\"", "\"F16\"", "\"I64\"", "\"shape\"", "[]",
        "\"data_offsets\"", "[0,0]", "{}", "9007199254740993", "0.5"};
    const char *dir = stt_tmp_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/json.safetensors", dir);
    fz_state = 0x9E3779B97F4A7C15ull;
    size_t n;
    unsigned char *b = base_file(0, dir, &n);
    ASSERT(b != NULL);
    size_t hlen = (size_t)b[0] | (size_t)b[1] << 8;
    const unsigned char *data = b + 8 + hlen;
    size_t dlen = n - 8 - hlen;
    char *h = malloc(hlen * 4 + 4096);
    unsigned char *file = malloc(hlen * 4 + 4096 + dlen + 8);
    int ok = 0, bad = 0;
    for (int it = 0; it < 4000; it++) {
        memcpy(h, b + 8, hlen);
        size_t len = hlen;
        int ops = 1 + (int)(fz_rnd() % 3);
        for (int o = 0; o < ops; o++) {
            size_t at = fz_rnd() % (len + 1);
            switch (fz_rnd() % 4) {
            case 0: // delete 1..4 bytes
                if (at < len) {
                    size_t k = 1 + fz_rnd() % 4;
                    if (k > len - at) k = len - at;
                    memmove(h + at, h + at + k, len - at - k);
                    len -= k;
                }
                break;
            case 1: { // insert a token
                const char *t = tokens[fz_rnd() % (sizeof tokens / sizeof *tokens)];
                size_t k = strlen(t);
                memmove(h + at + k, h + at, len - at);
                memcpy(h + at, t, k);
                len += k;
                break;
            }
            case 2: // change a digit (offsets and shapes)
                for (size_t i = at; i < len; i++)
                    if (h[i] >= '0' && h[i] <= '9') {
                        h[i] = (char)('0' + fz_rnd() % 10);
                        break;
                    }
                break;
            default: { // duplicate a span of up to 64 bytes
                size_t from = fz_rnd() % (len + 1), k = fz_rnd() % 65;
                if (k > len - from) k = len - from;
                if (len + k > hlen * 4 + 4000) break;
                memmove(h + at + k, h + at, len - at);
                memmove(h + at, h + (from >= at ? from + k : from), k);
                len += k;
            }
            }
        }
        // Correct size field; the data region unchanged (sometimes one byte short/long).
        size_t dl = dlen;
        if (it % 10 == 9) dl = dlen ? dlen - 1 : 0;
        for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)len >> (8 * i));
        memcpy(file + 8, h, len);
        memcpy(file + 8 + len, data, dl);
        stt_put_file(path, file, 8 + len + dl);
        if (stt_open_read_all(path, 8 + len + dl) == ZY_STATUS_OK) ok++;
        else bad++;
    }
    zt_note("4000 JSON mutations: %d still valid (read fully), %d rejected cleanly", ok, bad);
    CHECK(bad > 0 && ok > 0); // both outcomes are reached: the mutations are not all fatal
    free(h), free(file), free(b);
    stt_rm_dir(dir);
}
