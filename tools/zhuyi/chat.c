// `zhuyi chat DIR`: a conversation with a model on a terminal or through a pipe. Each line
// of stdin is the user's turn; the reply is streamed to stdout, then a newline. The
// conversation is rendered by the chat template DIR records (zhuyi-1 when it records
// none) exactly as training renders it: its token pieces are kept per exchange (a user
// line and the reply), so nothing is re-encoded differently, and the oldest exchanges are
// dropped when the next prompt and --max-tokens would not fit the model's context (the
// system text stays). When the conversation so far is still what the KV cache holds, only
// the new turn's tokens are decoded (zy_generate's n_cached). The sampling flags and the
// streaming are `zhuyi generate`'s (gen.c).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gen.h"
#include "infer.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi chat DIR [--system TEXT] [--max-tokens N] [--temperature T] [--top-k K]\n"
    "                  [--top-p P] [--seed S] [--verbose] [--weights TYPE] [--kv-cache TYPE]\n"
    "                  [--threads N]\n"
    "\n"
    "Talks with the model in DIR: each line read from stdin (a terminal or a pipe) is the\n"
    "user's turn, and the reply is printed as it is generated, followed by a newline. The\n"
    "conversation is rendered by the chat template DIR records (zhuyi finetune lm writes\n"
    "it; zhuyi-1 if DIR has none, said on stderr):\n"
    "  SYSTEM\\n\\n### User:\\nLINE\\n\\n### Assistant:\\nREPLY<|endoftext|>### User:\\n...\n"
    "A reply ends at <|endoftext|>, where the model starts a next \"### User:\" (neither is\n"
    "printed), or after --max-tokens. The conversation is kept while the next prompt\n"
    "plus --max-tokens fits the model's context (n_positions): the oldest exchanges (a\n"
    "line and its reply) are dropped first, the system text is always kept; a line that\n"
    "does not fit even alone is refused (said on stderr) and the chat goes on. Turn k\n"
    "(from 0, counted again after /reset) samples with seed S + k.\n"
    "\n"
    "Lines that are commands:\n"
    "  /reset             forget the conversation (the system text stays)\n"
    "  /exit, /quit       end the chat (so does the end of the input, Ctrl-D)\n"
    "\n"
    "  --system TEXT      the system message, first in every prompt\n"
    ZY_CLI_SAMPLING_HELP
    "  --adapter DIR      a LoRA adapter (zhuyi finetune --lora, PEFT) on the\n"
    "                     model, merged in at load (a LoRA run's own DIR needs none)\n"
    "  --verbose          a line on stderr per turn: the prompt's tokens, how many of them\n"
    "                     the KV cache already held (the conversation so far, unless an\n"
    "                     exchange was dropped), the reply's tokens\n"
    "  --weights TYPE     the weights as f32, f16, bf16, q8_0 or q4_0 (converted at\n"
    "                     load; default: as model.safetensors stores them, f16/bf16\n"
    "                     from `zhuyi quantize`, else f32)\n"
    "  --kv-cache TYPE    f32 (default), f16 or bf16: the KV cache's keys and values in\n"
    "                     16 bits (half its memory and of the bytes each token reads\n"
    "                     from it; attention sees them rounded)\n"
    "  --threads N        kernel threads (default: $ZY_THREADS, else all cores)\n";

// An exchange: the user line's tokens, then the assistant's (prefix, reply, end token).
typedef struct exchange {
    int32_t *ids;
    size_t n;
} exchange;

typedef struct chat {
    const char *dir;
    const zy_chat_template *tpl;
    zy_tokenizer *tok;
    zy_model *m;
    zy_session *sess;
    int P, eot;
    zy_generate_params gp;
    uint64_t seed;
    zy_chat_tokens sys, prefix;  // the system message's tokens, the assistant prefix's
    exchange *hist;              // (n_hist) oldest first
    int n_hist, cap_hist;
    int32_t *prompt, *cache;     // the prompt being built; what sequence 0 of the cache holds
    size_t cap, n_cache;
    int *out;                    // (max_tokens) the reply's ids
    cli_stream stream;
    long turn;
    bool verbose;                // a line on stderr per turn: tokens, and from the cache
} chat;

static void drop_oldest(chat *c, int k) {
    if (!k) return; // (hist may be NULL)
    for (int i = 0; i < k; i++) zy_free(c->hist[i].ids);
    memmove(c->hist, c->hist + k, (size_t)(c->n_hist - k) * sizeof *c->hist);
    c->n_hist -= k;
}

static int push(chat *c, const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    if (c->n_hist == c->cap_hist) {
        int cap = c->cap_hist ? 2 * c->cap_hist : 16;
        exchange *h = realloc(c->hist, (size_t)cap * sizeof *h);
        if (!h) return zy_cli_die("chat: out of memory");
        c->hist = h;
        c->cap_hist = cap;
    }
    int32_t *ids = zy_alloc((na + nb) * sizeof *ids);
    if (!ids) return zy_cli_die("chat: out of memory");
    memcpy(ids, a, na * sizeof *ids);
    memcpy(ids + na, b, nb * sizeof *ids);
    c->hist[c->n_hist++] = (exchange){ids, na + nb};
    return 0;
}

// Room for n ids in the prompt and cache buffers.
static int reserve(chat *c, size_t n) {
    if (n <= c->cap) return 0;
    int32_t *p = zy_alloc(n * sizeof *p), *q = zy_alloc(n * sizeof *q);
    if (!p || !q) {
        zy_free(p);
        zy_free(q);
        return zy_cli_die("chat: out of memory");
    }
    if (c->n_cache) memcpy(q, c->cache, c->n_cache * sizeof *q);
    zy_free(c->prompt);
    zy_free(c->cache);
    c->prompt = p;
    c->cache = q;
    c->cap = n;
    return 0;
}

// One user line: the prompt (system, the exchanges that fit, the line, the assistant
// prefix), the reply streamed, the exchange kept. 0, or 1 when the chat cannot go on.
static int turn(chat *c, const char *line, size_t len) {
    zy_chat_message um = {ZY_CHAT_USER, line, len};
    zy_chat_tokens u, a;
    zy_chat_tokens_init(&u);
    zy_chat_tokens_init(&a);
    int rc = 0;
    if (zy_chat_encode(c->tpl, c->tok, &um, 1, false, &u)) {
        rc = zy_cli_die("chat: %s", zy_last_error());
        goto done;
    }
    size_t fixed = c->sys.n + u.n + c->prefix.n, hist = 0;
    for (int i = 0; i < c->n_hist; i++) hist += c->hist[i].n;
    if (fixed >= (size_t)c->P) {
        fprintf(stderr, "zhuyi: chat: the line is %zu tokens with the template%s; the model's "
                "context is %d: not sent\n", fixed, c->sys.n ? " and the system text" : "",
                c->P);
        goto done;
    }
    int drop = 0;
    while (drop < c->n_hist && fixed + hist + (size_t)c->gp.max_tokens > (size_t)c->P)
        hist -= c->hist[drop++].n;
    if (drop) {
        drop_oldest(c, drop);
        fprintf(stderr, "zhuyi: chat: %d oldest exchange%s dropped to fit the context (%d "
                "tokens)\n", drop, drop > 1 ? "s" : "", c->P);
    }
    size_t n = fixed + hist;
    if (reserve(c, n + (size_t)c->gp.max_tokens + 1)) {
        rc = 1;
        goto done;
    }
    size_t k = 0;
    if (c->sys.n) memcpy(c->prompt, c->sys.ids, c->sys.n * sizeof *c->prompt), k += c->sys.n;
    for (int i = 0; i < c->n_hist; i++)
        memcpy(c->prompt + k, c->hist[i].ids, c->hist[i].n * sizeof *c->prompt), k += c->hist[i].n;
    memcpy(c->prompt + k, u.ids, u.n * sizeof *c->prompt), k += u.n;
    memcpy(c->prompt + k, c->prefix.ids, c->prefix.n * sizeof *c->prompt), k += c->prefix.n;
    // The cache holds a prefix of this prompt when nothing was dropped since.
    size_t cached = (size_t)zy_session_seq_len(c->sess, 0);
    bool reuse = cached > 0 && cached == c->n_cache && cached < n &&
                 !memcmp(c->cache, c->prompt, cached * sizeof *c->cache);
    zy_generate_params gp = c->gp;
    gp.seed = c->seed + (uint64_t)c->turn;
    gp.n_cached = reuse ? (int)cached : 0;
    gp.stop_token = c->eot;
    gp.on_token = zy_cli_stream_token;
    gp.user = &c->stream;
    zy_cli_stream_reset(&c->stream);
    int made = 0;
    zy_status st = zy_generate(c->sess, c->prompt, (int)n, &gp, c->out, &made);
    zy_cli_stream_flush(&c->stream);
    putchar('\n');
    if (fflush(stdout) != 0 || c->stream.failed) {
        rc = zy_cli_die("chat: writing stdout: %s", strerror(errno));
        goto done;
    }
    if (st) {
        rc = zy_cli_die("chat: %s", zy_last_error());
        goto done;
    }
    if (c->verbose)
        fprintf(stderr, "zhuyi: chat: turn %ld: prompt %zu tokens (%d already in the cache), "
                "reply %d tokens%s\n", c->turn, n, gp.n_cached, made,
                c->stream.stopped ? " (stopped at the template's stop text)" : "");
    // What the cache holds now: the prompt and the reply's decoded tokens.
    size_t now = (size_t)zy_session_seq_len(c->sess, 0);
    memcpy(c->cache, c->prompt, n * sizeof *c->cache);
    for (size_t i = n; i < now; i++) c->cache[i] = c->out[i - n];
    c->n_cache = now;
    // The exchange as training renders it: the assistant prefix, the reply's own tokens
    // and the end token; or, cut at the stop text, the text before it encoded as the
    // template encodes a reply.
    if (c->stream.stopped) {
        zy_strbuf *t = &c->stream.text;
        size_t tl = t->n;
        while (tl && strchr(" \t\r\n", t->p[tl - 1])) tl--;
        zy_chat_message am = {ZY_CHAT_ASSISTANT, tl ? t->p : "", tl};
        if (zy_chat_encode(c->tpl, c->tok, &am, 1, false, &a)) {
            rc = zy_cli_die("chat: %s", zy_last_error());
            goto done;
        }
        rc = push(c, u.ids, u.n, a.ids, a.n);
    } else { // built in the prompt's buffer, which has room for prefix + reply + 1
        size_t m = c->prefix.n;
        memcpy(c->prompt, c->prefix.ids, m * sizeof *c->prompt);
        for (int i = 0; i < made; i++) c->prompt[m++] = c->out[i];
        c->prompt[m++] = c->eot;
        rc = push(c, u.ids, u.n, c->prompt, m);
    }
    c->turn++;
done:
    zy_chat_tokens_destroy(&u);
    zy_chat_tokens_destroy(&a);
    return rc;
}

static void chat_free(chat *c) {
    drop_oldest(c, c->n_hist);
    free(c->hist);
    zy_free(c->prompt);
    zy_free(c->cache);
    free(c->out);
    zy_chat_tokens_destroy(&c->sys);
    zy_chat_tokens_destroy(&c->prefix);
    zy_cli_stream_free(&c->stream);
    zy_session_free(c->sess);
    zy_model_free(c->m);
    zy_tokenizer_free(c->tok);
}

int zy_cli_chat(int argc, char **argv) {
    chat c = {.gp = zy_generate_default_params()};
    const char *system = NULL, *adapter = NULL;
    int n;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage_text, stdout), 0;
        else if (!strcmp(a, "--threads") && v) {
            if (zy_cli_threads("chat", v)) return 1;
            i++;
        } else if (!strcmp(a, "--weights") && v) {
            if (zy_cli_weights("chat", v)) return 1;
            i++;
        } else if (!strcmp(a, "--kv-cache") && v) {
            if (zy_cli_kv_cache("chat", v)) return 1;
            i++;
        } else if (!strcmp(a, "--system") && v) {
            system = v, i++;
        } else if (!strcmp(a, "--adapter") && v) {
            adapter = v, i++;
        } else if (!strcmp(a, "--verbose")) {
            c.verbose = true;
        } else if ((n = zy_cli_sampling_flag("chat", argc, argv, &i, &c.gp))) {
            if (n < 0) return 1;
        } else if (a[0] == '-' && a[1]) {
            return zy_cli_die("chat: unknown or incomplete option '%s' (see zhuyi chat --help)",
                              a);
        } else if (c.dir) {
            return zy_cli_die("chat: one model directory only ('%s' and '%s')", c.dir, a);
        } else {
            c.dir = a;
        }
    }
    if (!c.dir) return fputs(usage_text, stderr), 2;
    c.seed = c.gp.seed;
    // An adapter's run records the template it was tuned with.
    if (zy_cli_chat_template("chat", adapter ? adapter : c.dir, &c.tpl)) return 1;
    bool tty = isatty(STDIN_FILENO);
    if (!c.tpl) {
        c.tpl = zy_chat_template_default();
        fprintf(stderr, "zhuyi: chat: %s records no chat template (it was not fine-tuned with "
                "`zhuyi finetune lm`): using %s\n", c.dir, c.tpl->name);
    }
    if (zy_cli_open_model_decoder("chat", c.dir, adapter, &c.m, &c.tok)) return 1;
    const zy_model_info *info = zy_model_get_info(c.m);
    int rc = 0;
    char *line = NULL;
    size_t line_cap = 0;
    zy_chat_tokens_init(&c.sys);
    zy_chat_tokens_init(&c.prefix);
    zy_cli_stream_init(&c.stream, c.tok, stdout, false, c.tpl->stop);
    c.P = info->max_positions;
    if (c.gp.max_tokens > c.P) c.gp.max_tokens = c.P; // no reply is longer than the context
    c.eot = zy_tokenizer_find(c.tok, c.tpl->end_token, strlen(c.tpl->end_token));
    zy_chat_message sm = {ZY_CHAT_SYSTEM, system ? system : "", system ? strlen(system) : 0};
    const zy_session_params sp = zy_cli_decode_params();
    if (!info->causal_lm) {
        rc = zy_cli_die("chat: the model in %s is a '%s' (%s), not a causal language model",
                        c.dir, info->model_type, info->architecture);
    } else if (zy_chat_encode(c.tpl, c.tok, &sm, 1, false, &c.sys) ||
               zy_chat_encode(c.tpl, c.tok, NULL, 0, true, &c.prefix) ||
               zy_cli_decode_only(c.m) || zy_session_create(&c.sess, c.m, &sp)) {
        rc = zy_cli_die("chat: %s", zy_last_error());
    } else if (!(c.out = malloc(((size_t)c.gp.max_tokens + 1) * sizeof *c.out))) {
        rc = zy_cli_die("chat: out of memory");
    }
    if (tty && !rc)
        fprintf(stderr, "zhuyi: chat with %s (template %s, context %d tokens); /reset forgets "
                "the conversation, /exit or Ctrl-D ends it\n", c.dir, c.tpl->name, c.P);
    while (!rc) {
        if (tty) fputs("> ", stdout), fflush(stdout);
        ssize_t got = getline(&line, &line_cap, stdin);
        if (got < 0) break;
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!strcmp(line, "/exit") || !strcmp(line, "/quit")) break;
        if (!strcmp(line, "/reset")) {
            drop_oldest(&c, c.n_hist);
            c.turn = 0;
            fputs("zhuyi: chat: the conversation is forgotten\n", stderr);
            continue;
        }
        if (!len) continue;
        rc = turn(&c, line, len);
    }
    if (tty && !rc) putchar('\n');
    free(line);
    chat_free(&c);
    return rc;
}
