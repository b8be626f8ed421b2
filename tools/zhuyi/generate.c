// `zhuyi generate DIR --prompt TEXT`: continue a prompt with a model directory, streaming
// the continuation (not the prompt) to stdout token by token. Text is written as exact
// bytes; a UTF-8 character split across tokens is held back until it is whole, so a
// terminal never shows half a character (bytes that can never form one are written as
// they are). Decoding runs over a session's KV cache (zy_generate): any causal language
// model directory works. A directory that records a chat template (zhuyi finetune lm)
// gets the prompt as a user's message rendered by it, and the reply stops at the
// template's stop text too (gen.c, shared with `zhuyi chat`).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gen.h"
#include "infer.h"
#include "zhuyi/sample.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi generate DIR --prompt TEXT [--system TEXT] [--raw | --template]\n"
    "                      [--max-tokens N] [--temperature T] [--top-k K] [--top-p P]\n"
    "                      [--seed S] [--ids] [--weights TYPE] [--kv-cache TYPE]\n"
    "                      [--threads N]\n"
    "\n"
    "Continues TEXT with the model in DIR (config.json, model.safetensors, tokenizer.json;\n"
    "or a GGUF file: zhuyi export gguf) and streams the continuation, without the prompt,\n"
    "to stdout. Generation stops after N tokens, at <|endoftext|> (not printed), or when\n"
    "prompt + continuation fill the model's context (n_positions). A model whose weights\n"
    "hold NaN or infinity is refused (the message names the first such tensor).\n"
    "\n"
    "A model fine-tuned on instructions (zhuyi finetune lm) records its chat template in\n"
    "DIR/tokenizer_config.json, and generate applies it: TEXT is the user's message (plain\n"
    "text: \"<|endoftext|>\" in it is no special token), rendered as in training, after\n"
    "--system's text: \"### User:\\nTEXT\\n\\n### Assistant:\\n\"; the reply stops at\n"
    "<|endoftext|> or where the model starts a next \"### User:\" (not printed).\n"
    "\n"
    "  --prompt TEXT      the text to continue (required). Without a template,\n"
    "                     \"<|endoftext|>\" in it is the special token; an empty prompt\n"
    "                     starts from <|endoftext|> (an error if the tokenizer has none)\n"
    "  --system TEXT      a system message before the prompt (implies --template)\n"
    "  --raw              continue TEXT as it is, even if DIR records a chat template\n"
    "  --template         apply the chat template (zhuyi-1) even if DIR records none\n"
    ZY_CLI_SAMPLING_HELP
    "  --ids              print token ids (space-separated) instead of text (stops at\n"
    "                     <|endoftext|> only)\n"
    "  --adapter DIR      a LoRA adapter (zhuyi finetune --lora, PEFT) on the\n"
    "                     model, merged in at load (a LoRA run's own DIR needs none)\n"
    "  --weights TYPE     the weights as f32, f16, bf16, q8_0 or q4_0 (converted at load;\n"
    "                     default: as model.safetensors stores them: f16/bf16 from\n"
    "                     `zhuyi quantize`, else f32)\n"
    "  --kv-cache TYPE    f32 (default), f16 or bf16: the KV cache's keys and values in\n"
    "                     16 bits (half its memory and of the bytes each token reads\n"
    "                     from it; attention sees them rounded)\n"
    "  --threads N        kernel threads (default: $ZY_THREADS, else all cores)\n";

int zy_cli_generate(int argc, char **argv) {
    const char *dir = NULL, *prompt = NULL, *system = NULL, *adapter = NULL;
    zy_generate_params gp = zy_generate_default_params();
    int ids = 0, raw = 0, force = 0, n;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage_text, stdout), 0;
        else if (!strcmp(a, "--ids")) ids = 1;
        else if (!strcmp(a, "--raw")) raw = 1;
        else if (!strcmp(a, "--template")) force = 1;
        else if (!strcmp(a, "--threads") && v) {
            if (zy_cli_threads("generate", v)) return 1;
            i++;
        } else if (!strcmp(a, "--weights") && v) {
            if (zy_cli_weights("generate", v)) return 1;
            i++;
        } else if (!strcmp(a, "--kv-cache") && v) {
            if (zy_cli_kv_cache("generate", v)) return 1;
            i++;
        } else if (!strcmp(a, "--prompt") && v) {
            prompt = v, i++;
        } else if (!strcmp(a, "--system") && v) {
            system = v, i++;
        } else if (!strcmp(a, "--adapter") && v) {
            adapter = v, i++;
        } else if ((n = zy_cli_sampling_flag("generate", argc, argv, &i, &gp))) {
            if (n < 0) return 1;
        } else if (a[0] == '-' && a[1]) {
            return zy_cli_die("generate: unknown or incomplete option '%s' (see zhuyi generate "
                              "--help)", a);
        } else if (dir) {
            return zy_cli_die("generate: one model directory only ('%s' and '%s')", dir, a);
        } else {
            dir = a;
        }
    }
    if (!dir) return fputs(usage_text, stderr), 2;
    if (!prompt) return zy_cli_die("generate: --prompt TEXT is required (see zhuyi generate --help)");
    if (raw && (force || system))
        return zy_cli_die("generate: --raw excludes %s", force ? "--template" : "--system");

    const zy_chat_template *tpl = NULL;
    if (!raw && zy_cli_chat_template("generate", adapter ? adapter : dir, &tpl)) return 1;
    if (!tpl && (force || system)) tpl = zy_chat_template_default();
    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model_decoder("generate", dir, adapter, &m, &tok)) return 1;
    const zy_model_info *c = zy_model_get_info(m);
    zy_session *sess = NULL;
    int rc = 0, eot = zy_tokenizer_find(tok, "<|endoftext|>", 13);
    size_t len = strlen(prompt), n_in = 0;
    int32_t *in = NULL;
    zy_chat_tokens chat; // the template's tokens, or the plain prompt's
    zy_chat_tokens_init(&chat);
    cli_stream s;
    zy_cli_stream_init(&s, tok, stdout, ids, tpl ? tpl->stop : NULL);
    if (!c->causal_lm) {
        rc = zy_cli_die("generate: the model in %s is a '%s' (%s), not a causal language "
                        "model", dir, c->model_type, c->architecture);
        goto done;
    }
    zy_session_params sp = zy_cli_decode_params();
    if (zy_cli_decode_only(m) || zy_session_create(&sess, m, &sp)) {
        rc = zy_cli_die("generate: %s", zy_last_error());
        goto done;
    }
    if (tpl) {
        zy_chat_message msg[2] = {
            {ZY_CHAT_SYSTEM, system ? system : "", system ? strlen(system) : 0},
            {ZY_CHAT_USER, prompt, len}};
        if (zy_chat_encode(tpl, tok, msg, 2, true, &chat)) {
            rc = zy_cli_die("generate: %s", zy_last_error());
            goto done;
        }
        in = chat.ids;
        n_in = chat.n;
        eot = zy_tokenizer_find(tok, tpl->end_token, strlen(tpl->end_token));
    } else {
        if (!(in = chat.ids = zy_alloc((len + 1) * sizeof *in))) {
            rc = zy_cli_die("generate: out of memory");
            goto done;
        }
        if (len && zy_tokenizer_encode(tok, prompt, len, ZY_ENCODE_SPECIAL, in, len + 1, &n_in)) {
            rc = zy_cli_die("generate: encoding the prompt: %s", zy_last_error());
            goto done;
        }
        if (!n_in) {
            if (eot < 0) {
                rc = zy_cli_die("generate: the prompt is empty and the tokenizer has no "
                                "<|endoftext|> to start from");
                goto done;
            }
            in[n_in++] = eot;
        }
    }
    if (n_in >= (size_t)c->max_positions) {
        rc = zy_cli_die("generate: the prompt is %zu tokens; the model's context (n_positions) "
                        "is %d, which leaves no room to generate", n_in, c->max_positions);
        goto done;
    }
    gp.stop_token = eot;
    gp.on_token = zy_cli_stream_token;
    gp.user = &s;
    int made = 0;
    zy_status st = zy_generate(sess, in, (int)n_in, &gp, NULL, &made);
    zy_cli_stream_flush(&s); // an unfinished character at the very end
    if ((ids && made) || (isatty(STDOUT_FILENO) && s.last != '\n' && s.last >= 0)) putchar('\n');
    if (st) rc = zy_cli_die("generate: %s", zy_last_error());
    else if (fflush(stdout) != 0 || s.failed)
        rc = zy_cli_die("generate: writing stdout: %s", strerror(errno));
done:
    zy_chat_tokens_destroy(&chat);
    zy_cli_stream_free(&s);
    zy_session_free(sess);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
