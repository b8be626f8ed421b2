// Continue a prompt with a model directory through zhuyi's public API: load the model (any
// causal language model: the registry picks the implementation from config.json) and its
// tokenizer, open a session, encode the prompt, and print each new token as it is sampled.
//
// Build against an installed zhuyi (`make install`; README, "Installing and linking"):
//   cc -std=c11 -O2 -o generate examples/generate.c $(pkg-config --cflags --libs zhuyi)
// With PREFIX other than /usr/local, first: export PKG_CONFIG_PATH=PREFIX/lib/pkgconfig
// (and LD_LIBRARY_PATH=PREFIX/lib to run). In the source tree: make examples, which
// writes build/examples/generate.
//
// Run:  ./generate MODEL_DIR PROMPT [MAX_TOKENS]
//   ./generate runs/kjv "And God said" 60
// MODEL_DIR holds config.json, model.safetensors and tokenizer.json, as written by
// `zhuyi pretrain gpt`. Sampling is temperature 0.8, top-k 40, seed 1, so the text is the
// same as `zhuyi generate runs/kjv --prompt "And God said" --max-tokens 60
// --temperature 0.8 --top-k 40` prints (plus a final newline).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zhuyi/zhuyi.h>

// Called with each new token as soon as it is chosen: write its bytes out at once.
static int print_token(int token, int i, void *user) {
    (void)i;
    size_t len = 0;
    const char *bytes = zy_tokenizer_token_bytes(user, token, &len);
    fwrite(bytes, 1, bytes ? len : 0, stdout);
    fflush(stdout);
    return 0; // non-zero would stop the generation here
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL_DIR PROMPT [MAX_TOKENS]\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1], *prompt = argv[2];
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);

    zy_model *model = NULL;
    zy_session *session = NULL;
    zy_tokenizer *tok = NULL;
    int32_t *ids = NULL;
    size_t len = strlen(prompt), n = 0;
    int rc = 1;
    // Every library call returns 0 or a negative zy_status, with a message for the error.
    if (zy_tokenizer_load(&tok, path) || zy_model_load(&model, dir)) goto done;
    // The weights are read-only; a session holds what one use needs (here, a KV cache).
    if (zy_session_create(&session, model, NULL)) goto done;
    // A token covers at least one byte, so len + 1 ids are always enough.
    if (!(ids = zy_alloc((len + 1) * sizeof *ids))) goto done;
    if (zy_tokenizer_encode(tok, prompt, len, ZY_ENCODE_SPECIAL, ids, len + 1, &n)) goto done;

    zy_generate_params p = zy_generate_default_params();
    p.max_tokens = argc > 3 ? atoi(argv[3]) : 50;
    p.sample.temperature = 0.8f;
    p.sample.top_k = 40;
    p.seed = 1;
    p.stop_token = zy_tokenizer_find(tok, "<|endoftext|>", 13); // -1 if it has none
    if (n == 0 && p.stop_token >= 0) ids[n++] = p.stop_token;  // empty prompt
    p.on_token = print_token;
    p.user = tok;
    if (zy_generate(session, ids, (int)n, &p, NULL, NULL)) goto done;
    printf("\n");
    rc = 0;
done:
    if (rc) fprintf(stderr, "generate: %s\n", zy_last_error());
    zy_free(ids);
    zy_session_free(session);
    zy_model_free(model);
    zy_tokenizer_free(tok);
    return rc;
}
