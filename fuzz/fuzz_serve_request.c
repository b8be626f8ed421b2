// libFuzzer harness: `zhuyi serve`'s request bodies (tools/zhuyi/serve_req.c, the
// completions and chat parsing of serve_gen.c, tokenize/detokenize of serve_api.c, the
// encoder endpoints of serve_encode.c a GPT serves) on a
// tiny GPT-2 with a byte-level tokenizer. The input is a request body. Properties checked on
// every input:
//  - a refused body is a 400 whose error object (serve_error_json) is JSON that reads back
//    with the same message, type and param;
//  - a body read as a completions or chat request either is refused that way (400, or 500
//    only for memory) or gives 1..64*16 choices whose prompts are ids in the vocabulary,
//    non-empty and shorter than the context;
//  - tokenize and detokenize, and the encoder endpoints a GPT serves (embeddings,
//    attention), answer with a JSON object or a 400, never anything else;
//  - /v1/classify on a tiny ViT (8 x 8 gray, 2 labels): the "image"/"images" fields
//    through the base64 decoder, the image readers and predict's core answer with a JSON
//    object or a 400 (the bytes of a form's file parts take the same path after
//    libmicrohttpd's post processor, which needs a connection and is not driven here);
//  - nothing leaks or reads out of bounds (ASan), whatever the nesting and types.
#include <stdlib.h>
#include <string.h>

#include "../tools/zhuyi/serve.h"
#include "util.h"

static serve_server srv;
static serve_model model, vit;

// A ViTForImageClassification of 8 x 8 gray images, labels "a" and "b" (random weights).
static void setup_vit(void) {
    static const char cfg[] =
        "{\"model_type\": \"vit\", \"architectures\": [\"ViTForImageClassification\"], "
        "\"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
        "\"intermediate_size\": 16, \"image_size\": 8, \"patch_size\": 4, "
        "\"num_channels\": 1, \"id2label\": {\"0\": \"a\", \"1\": \"b\"}, "
        "\"label2id\": {\"a\": 0, \"b\": 1}}";
    zy_config *c = NULL;
    FZ_CHECK(!zy_config_parse(&c, cfg, sizeof cfg - 1, "vit"));
    FZ_CHECK(!zy_model_create(&vit.m, c));
    zy_config_free(c);
    vit.name = vit.dir = "vit";
    vit.info = zy_model_get_info(vit.m);
    vit.kind = "image-classifier";
    vit.eot = -1;
    pthread_mutex_init(&vit.tok_mu, NULL);
}

static void setup(void) {
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 256 + bp.n_special;
    FZ_CHECK(!zy_tokenizer_train_bpe_texts(&model.tok, NULL, NULL, 0, bp));
    zy_config *c = NULL;
    FZ_CHECK(!zy_model_preset(&c, "gpt-nano"));
    FZ_CHECK(!zy_config_set_int(c, "vocab_size", bp.vocab_size));
    FZ_CHECK(!zy_model_create(&model.m, c));
    zy_config_free(c);
    model.name = "tiny";
    model.info = zy_model_get_info(model.m);
    model.kind = "causal-lm";
    model.tpl = zy_chat_template_default();
    model.eot = zy_tokenizer_find(model.tok, "<|endoftext|>", 13);
    pthread_mutex_init(&model.tok_mu, NULL);
    setup_vit();
    srv.models = &model;
    srv.n_models = 1;
    srv.parallel = 2;
    pthread_mutex_init(&srv.metrics.mu, NULL);
}

// The error answers as JSON with the fields it was made from.
static void check_error(const serve_error *e) {
    FZ_CHECKF(e->status == 400 || e->status == 500, "status %d", e->status);
    FZ_CHECK(e->message[0] && e->type);
    zy_strbuf b = {0};
    serve_error_json(&b, e);
    FZ_CHECK(!b.oom && b.p);
    cJSON *j = cJSON_Parse(b.p);
    FZ_CHECKF(j, "error JSON does not parse: %s", b.p);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "message");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    const cJSON *param = cJSON_GetObjectItemCaseSensitive(o, "param");
    FZ_CHECK(cJSON_IsString(msg) && cJSON_IsString(type) && !strcmp(type->valuestring, e->type));
    FZ_CHECK(e->param[0] ? cJSON_IsString(param) && !strcmp(param->valuestring, e->param)
                         : cJSON_IsNull(param));
    // The message reads back as written (it is valid UTF-8 when the request's text was).
    FZ_CHECK(strlen(msg->valuestring) > 0);
    cJSON_Delete(j);
    zy_strbuf_free(&b);
}

static void run_call(serve_model *m, serve_run_fn fn, const cJSON *body) {
    zy_strbuf out = {0};
    serve_error e = {0};
    serve_call c = {&srv, m, body, &out, &e, NULL, NULL};
    if (fn(&c)) {
        check_error(&e);
    } else {
        cJSON *j = cJSON_Parse(out.p ? out.p : "");
        FZ_CHECKF(j && cJSON_IsObject(j), "answer is not a JSON object: %s", out.p);
        cJSON_Delete(j);
    }
    zy_strbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) setup(), ready = 1;
    serve_error e = {0};
    cJSON *body = serve_req_parse((const char *)data, size, &e);
    if (!body) {
        FZ_CHECK(e.status == 400);
        check_error(&e);
        return 0;
    }
    for (int chat = 0; chat < 2; chat++) {
        serve_job *j = serve_job_new(&srv, &model, cJSON_Duplicate(body, 1), NULL);
        FZ_CHECK(j && j->body);
        serve_error ge = {0};
        if (serve_gen_prepare(j, chat, &ge)) {
            check_error(&ge);
        } else {
            int n = serve_gen_choices(j), np = serve_gen_prompts(j);
            FZ_CHECKF(n >= 1 && n <= 64 * 16 && np >= 1 && n % np == 0, "%d choices, %d prompts",
                      n, np);
            struct serve_choice *c = serve_gen_next_waiting(j);
            FZ_CHECK(c && serve_choice_job(c) == j);
            for (int i = 0; i < np; i++) {
                int len = 0;
                const int32_t *ids = serve_gen_prompt(j, i, &len);
                FZ_CHECKF(len >= 1 && len < model.info->max_positions, "prompt %d: %d tokens", i,
                          len);
                for (int t = 0; t < len; t++)
                    FZ_CHECKF(ids[t] >= 0 && ids[t] < model.info->vocab_size, "id %d", ids[t]);
            }
        }
        serve_job_release(j);
    }
    run_call(&model, serve_api_tokenize, body);
    run_call(&model, serve_api_detokenize, body);
    for (int i = 0; i < serve_n_encoder_routes; i++) { // a GPT: embeddings, attention
        const serve_route *r = &serve_encoder_routes[i];
        if (!r->accepts || r->accepts(&model)) run_call(&model, r->run, body);
        if (r->accepts && r->accepts(&vit)) run_call(&vit, r->run, body); // a ViT: classify
    }
    cJSON_Delete(body);
    return 0;
}
