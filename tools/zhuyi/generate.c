// `zhuyi generate DIR --prompt TEXT`: continue a prompt with a model directory, streaming
// the continuation (not the prompt) to stdout token by token. Text is written as exact
// bytes; a UTF-8 character split across tokens is held back until it is whole, so a
// terminal never shows half a character (bytes that can never form one are written as
// they are). Decoding runs over a session's KV cache (zy_generate): any causal language
// model directory works.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "infer.h"
#include "zhuyi/sample.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi generate DIR --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K]\n"
    "                      [--top-p P] [--seed S] [--ids] [--threads N]\n"
    "\n"
    "Continues TEXT with the model in DIR (config.json, model.safetensors, tokenizer.json)\n"
    "and streams the continuation, without the prompt, to stdout. Generation stops after N\n"
    "tokens, at <|endoftext|> (not printed), or when prompt + continuation fill the model's\n"
    "context (n_positions). A model whose weights hold NaN or infinity is refused (the\n"
    "message names the first such tensor).\n"
    "\n"
    "  --prompt TEXT      the text to continue (required). \"<|endoftext|>\" in it is the\n"
    "                     special token. An empty prompt starts from <|endoftext|> (an\n"
    "                     error if the tokenizer has none)\n"
    "  --max-tokens N     most tokens to generate (default 100)\n"
    "  --temperature T    softmax temperature; 0 = greedy, the most probable token\n"
    "                     every time (default 1.0)\n"
    "  --top-k K          sample from the K most probable tokens only; 0 = off (default 0)\n"
    "  --top-p P          sample from the smallest set of most probable tokens whose\n"
    "                     probability reaches P (nucleus); 1 = off (default 1.0)\n"
    "  --seed S           random seed: the same seed gives the same text (default 1)\n"
    "  --ids              print token ids (space-separated) instead of text\n"
    "  --adapter DIR      a LoRA adapter (zhuyi finetune --lora, PEFT) on the\n"
    "                     model, merged in at load (a LoRA run's own DIR needs none)\n"
    "  --threads N        kernel threads (default: $ZY_THREADS, else all cores)\n";

typedef struct {
    const zy_tokenizer *tok;
    int ids;        // print ids instead of text
    char *pending;  // bytes of an unfinished UTF-8 character + the newest token
    size_t n_pending;
    int failed;     // writing stdout failed
    int last;       // last byte written (-1 if none)
} stream;

static void put(stream *s, const char *p, size_t n) {
    if (!n) return;
    if (fwrite(p, 1, n, stdout) != n) s->failed = 1;
    s->last = (unsigned char)p[n - 1];
}

static int on_token(int token, int i, void *user) {
    stream *s = user;
    if (s->ids) {
        printf(i ? " %d" : "%d", token);
    } else {
        size_t len = 0;
        const char *b = zy_tokenizer_token_bytes(s->tok, token, &len);
        if (b) memcpy(s->pending + s->n_pending, b, len), s->n_pending += len;
        size_t k = zy_utf8_complete_len(s->pending, s->n_pending);
        put(s, s->pending, k);
        memmove(s->pending, s->pending + k, s->n_pending - k);
        s->n_pending -= k;
    }
    if (fflush(stdout) != 0) s->failed = 1;
    return s->failed; // stop early if nobody is reading (e.g. a closed pipe)
}

static int parse_float(const char *v, float lo, float hi, float *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !(d >= lo && d <= hi)) return -1;
    *out = (float)d;
    return 0;
}

int zy_cli_generate(int argc, char **argv) {
    const char *dir = NULL, *prompt = NULL, *adapter = NULL;
    zy_generate_params gp = zy_generate_default_params();
    int ids = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage_text, stdout), 0;
        else if (!strcmp(a, "--ids")) ids = 1;
        else if (!strcmp(a, "--threads") && v) {
            if (zy_cli_threads("generate", v)) return 1;
            i++;
        }
        else if (!strcmp(a, "--prompt") && v) prompt = v, i++;
        else if (!strcmp(a, "--adapter") && v) adapter = v, i++;
        else if (!strcmp(a, "--max-tokens") && v) {
            if (zy_cli_parse_int(v, 0, 1 << 30, &gp.max_tokens))
                return zy_cli_die("generate: --max-tokens '%s' is not a number >= 0", v);
            i++;
        } else if (!strcmp(a, "--temperature") && v) {
            if (parse_float(v, 0, 1e6f, &gp.sample.temperature))
                return zy_cli_die("generate: --temperature '%s' is not a number >= 0", v);
            i++;
        } else if (!strcmp(a, "--top-k") && v) {
            if (zy_cli_parse_int(v, 0, 1 << 30, &gp.sample.top_k))
                return zy_cli_die("generate: --top-k '%s' is not a number >= 0", v);
            i++;
        } else if (!strcmp(a, "--top-p") && v) {
            if (parse_float(v, 0, 1, &gp.sample.top_p) || gp.sample.top_p <= 0)
                return zy_cli_die("generate: --top-p '%s' is not a number in (0, 1]", v);
            i++;
        } else if (!strcmp(a, "--seed") && v) {
            char *end;
            errno = 0;
            unsigned long long sd = strtoull(v, &end, 10);
            if (!*v || *end || errno || v[0] == '-')
                return zy_cli_die("generate: --seed '%s' is not a number >= 0", v);
            gp.seed = sd;
            i++;
        } else if (a[0] == '-' && a[1])
            return zy_cli_die("generate: unknown or incomplete option '%s' (see zhuyi generate "
                              "--help)", a);
        else if (dir)
            return zy_cli_die("generate: one model directory only ('%s' and '%s')", dir, a);
        else dir = a;
    }
    if (!dir) return fputs(usage_text, stderr), 2;
    if (!prompt) return zy_cli_die("generate: --prompt TEXT is required (see zhuyi generate --help)");

    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model_adapter("generate", dir, adapter, &m, &tok)) return 1;
    const zy_model_info *c = zy_model_get_info(m);
    zy_session *sess = NULL;
    int rc = 0, eot = zy_tokenizer_find(tok, "<|endoftext|>", 13);
    size_t len = strlen(prompt), n = 0, maxlen = 0;
    int32_t *in = malloc((len + 1) * sizeof *in);
    stream s = {.tok = tok, .ids = ids, .last = -1};
    for (int i = 0; i < c->vocab_size; i++) { // room for a held character + any one token
        size_t l = 0;
        if (zy_tokenizer_token_bytes(tok, i, &l) && l > maxlen) maxlen = l;
    }
    s.pending = malloc(maxlen + 4);
    if (!in || !s.pending) {
        rc = zy_cli_die("generate: out of memory");
        goto done;
    }
    if (!c->causal_lm) {
        rc = zy_cli_die("generate: the model in %s is a '%s' (%s), not a causal language "
                        "model", dir, c->model_type, c->architecture);
        goto done;
    }
    if (zy_session_create(&sess, m, NULL)) {
        rc = zy_cli_die("generate: %s", zy_last_error());
        goto done;
    }
    if (len && zy_tokenizer_encode(tok, prompt, len, ZY_ENCODE_SPECIAL, in, len + 1, &n)) {
        rc = zy_cli_die("generate: encoding the prompt: %s", zy_last_error());
        goto done;
    }
    if (!n) {
        if (eot < 0) {
            rc = zy_cli_die("generate: the prompt is empty and the tokenizer has no "
                            "<|endoftext|> to start from");
            goto done;
        }
        in[n++] = eot;
    }
    if (n >= (size_t)c->max_positions) {
        rc = zy_cli_die("generate: the prompt is %zu tokens; the model's context (n_positions) "
                        "is %d, which leaves no room to generate", n, c->max_positions);
        goto done;
    }
    gp.stop_token = eot;
    gp.on_token = on_token;
    gp.user = &s;
    int made = 0;
    zy_status st = zy_generate(sess, in, (int)n, &gp, NULL, &made);
    if (!ids) put(&s, s.pending, s.n_pending); // an unfinished character at the very end
    if ((ids && made) || (isatty(STDOUT_FILENO) && s.last != '\n' && s.last >= 0)) putchar('\n');
    if (st) rc = zy_cli_die("generate: %s", zy_last_error());
    else if (fflush(stdout) != 0 || s.failed)
        rc = zy_cli_die("generate: writing stdout: %s", strerror(errno));
done:
    free(in);
    free(s.pending);
    zy_session_free(sess);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
