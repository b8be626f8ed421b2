// What `zhuyi generate` and `zhuyi chat` share (gen.h): the sampling flags, the chat
// template of a directory, and token-by-token text output that never prints half a
// character or any part of the template's stop text.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "gen.h"
#include "zhuyi/gguf.h"

int zy_cli_sampling_flag(const char *cmd, int argc, char **argv, int *i,
                         zy_generate_params *gp) {
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!v) return 0;
    if (!strcmp(a, "--max-tokens")) {
        if (zy_cli_parse_int(v, 0, 1 << 30, &gp->max_tokens))
            return zy_cli_die("%s: --max-tokens '%s' is not a number >= 0", cmd, v), -1;
    } else if (!strcmp(a, "--temperature")) {
        if (zy_cli_parse_float(v, 0, 1e6f, &gp->sample.temperature))
            return zy_cli_die("%s: --temperature '%s' is not a number >= 0", cmd, v), -1;
    } else if (!strcmp(a, "--top-k")) {
        if (zy_cli_parse_int(v, 0, 1 << 30, &gp->sample.top_k))
            return zy_cli_die("%s: --top-k '%s' is not a number >= 0", cmd, v), -1;
    } else if (!strcmp(a, "--top-p")) {
        float *p = &gp->sample.top_p;
        if (zy_cli_parse_float(v, 0, 1, p) || *p <= 0)
            return zy_cli_die("%s: --top-p '%s' is not a number in (0, 1]", cmd, v), -1;
    } else if (!strcmp(a, "--seed")) {
        char *end;
        errno = 0;
        unsigned long long sd = strtoull(v, &end, 10);
        if (!*v || *end || errno || v[0] == '-')
            return zy_cli_die("%s: --seed '%s' is not a number >= 0", cmd, v), -1;
        gp->seed = sd;
    } else {
        return 0;
    }
    ++*i;
    return 1;
}

int zy_cli_chat_template(const char *cmd, const char *dir, const zy_chat_template **t) {
    struct stat st;
    *t = NULL;
    if (zy_gguf_is_gguf(dir)) {
        if (zy_gguf_chat_template(dir, t)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    } else if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (zy_chat_template_load(dir, t)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    } // anything else: opening the model says what is wrong
    return 0;
}

void zy_cli_stream_init(cli_stream *s, const zy_tokenizer *tok, FILE *out, bool ids,
                        const char *stop) {
    *s = (cli_stream){.tok = tok, .out = out, .ids = ids, .last = -1};
    if (!ids) zy_cli_stream_add_stop(s, stop);
}

int zy_cli_stream_add_stop(cli_stream *s, const char *stop) {
    if (!stop || !*stop || s->ids) return 0;
    if (s->n_stop == ZY_CLI_STOPS_MAX) return -1;
    s->stop[s->n_stop] = stop;
    s->stop_len[s->n_stop++] = strlen(stop);
    return 0;
}

static void put(cli_stream *s, const char *p, size_t n) {
    if (!n) return;
    if (s->out && fwrite(p, 1, n, s->out) != n) s->failed = true;
    zy_strbuf_put(&s->text, p, n);
    if (s->text.oom) s->failed = true;
    s->last = (unsigned char)p[n - 1];
}

// Put out pending[0..n) and keep the rest.
static void emit(cli_stream *s, size_t n) {
    if (!s->n_pending) return; // (pending may be NULL)
    put(s, s->pending, n);
    memmove(s->pending, s->pending + n, s->n_pending - n);
    s->n_pending -= n;
}

// The longest k with the pending bytes ending in the first k < len bytes of a stop text.
static size_t partial_stop(const cli_stream *s) {
    size_t best = 0;
    for (int j = 0; j < s->n_stop; j++) {
        size_t k = s->stop_len[j] - 1 < s->n_pending ? s->stop_len[j] - 1 : s->n_pending;
        for (; k > best; k--)
            if (!memcmp(s->pending + s->n_pending - k, s->stop[j], k)) {
                best = k;
                break;
            }
    }
    return best;
}

// Where the earliest stop text begins in the pending bytes, or NULL.
static const char *find_stop(const cli_stream *s) {
    const char *hit = NULL;
    for (int j = 0; j < s->n_stop; j++)
        for (size_t k = 0; k + s->stop_len[j] <= s->n_pending; k++) {
            if (hit && s->pending + k >= hit) break;
            if (!memcmp(s->pending + k, s->stop[j], s->stop_len[j])) {
                hit = s->pending + k;
                break;
            }
        }
    return hit;
}

static int flush_out(cli_stream *s) {
    if (s->out && fflush(s->out) != 0) s->failed = true;
    return 0;
}

int zy_cli_stream_token(int token, int i, void *user) {
    cli_stream *s = user;
    if (s->ids) {
        char b[24];
        int n = snprintf(b, sizeof b, i ? " %d" : "%d", token);
        put(s, b, (size_t)n);
    } else {
        size_t len = 0;
        const char *b = zy_tokenizer_token_bytes(s->tok, token, &len);
        if (!b) len = 0;
        if (s->n_pending + len > s->cap) {
            size_t cap = (s->n_pending + len) * 2 + 16;
            char *p = realloc(s->pending, cap);
            if (!p) return s->failed = true, 1;
            s->pending = p;
            s->cap = cap;
        }
        if (len) memcpy(s->pending + s->n_pending, b, len);
        s->n_pending += len;
        const char *hit = find_stop(s);
        if (hit) {
            emit(s, (size_t)(hit - s->pending));
            s->n_pending = 0;
            s->stopped = true;
        } else {
            size_t n = s->n_pending - partial_stop(s);
            emit(s, zy_utf8_complete_len(s->pending, n));
        }
    }
    flush_out(s);
    return s->failed || s->stopped; // a closed pipe: nobody is reading
}

void zy_cli_stream_flush(cli_stream *s) {
    emit(s, s->n_pending);
    flush_out(s);
}

void zy_cli_stream_reset(cli_stream *s) {
    s->n_pending = 0;
    s->stopped = s->failed = false;
    s->last = -1;
    zy_strbuf_clear(&s->text);
}

void zy_cli_stream_free(cli_stream *s) {
    free(s->pending);
    zy_strbuf_free(&s->text);
    s->pending = NULL;
}
