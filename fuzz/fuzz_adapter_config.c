// libFuzzer harness: a LoRA adapter directory's adapter_config.json (src/models/lora_io.c:
// zy__lora_file_read) and the load of the directory through it (zy_model_load: the base
// it names, the targets and modules_to_save resolved on the base's table, the adapter
// weights checked and read). The input is the adapter_config.json text; the directory
// beside it holds the weights of an adapter (r 2 on c_attn and c_fc, lora_only biases) on
// a tiny GPT-2 base, written once per process (seed corpus: fuzz/corpus/fuzz_adapter_config/,
// whose inputs name that base as "../base").
// Properties checked on every input:
//  - the reader accepts the text or refuses with BAD_FORMAT, NOT_FOUND or UNSUPPORTED
//    naming adapter_config.json;
//  - accepted settings are in range: r in [1, 65536], lora_alpha > 0 and finite,
//    lora_dropout in [0, 1), bias one of the three modes, targets (if any) a non-empty
//    comma-separated list of non-empty names (or "all-linear");
//  - the directory then loads, or the load refuses with a documented status whose message
//    names one of the directory's files or the base's; a loaded model has the adapter the
//    file describes (its r, alpha, dropout and bias), saves as an adapter directory and
//    loads back to the same parameters.
#include <stdio.h>
#include <string.h>

#include "util.h"
#include "models/lora_internal.h"

static const char *adapter_dir;

// The tiny base and the adapter weights, once.
static void setup(void) {
    if (adapter_dir) return;
    zy_config *c;
    FZ_CHECK(zy_config_create(&c, "tiny") == ZY_STATUS_OK);
    const char *arch = "GPT2LMHeadModel";
    FZ_CHECK(!zy_config_set_string(c, "model_type", "gpt2") &&
             !zy_config_set_strings(c, "architectures", &arch, 1) &&
             !zy_config_set_int(c, "n_layer", 1) && !zy_config_set_int(c, "n_head", 2) &&
             !zy_config_set_int(c, "n_embd", 8) && !zy_config_set_int(c, "n_positions", 8) &&
             !zy_config_set_int(c, "vocab_size", 11));
    zy_model *m;
    FZ_CHECK(zy_model_create(&m, c) == ZY_STATUS_OK);
    zy_model_init_weights(m, 1);
    static char base[4096], adapter[4096];
    snprintf(base, sizeof base, "%s", fz_path("base"));
    snprintf(adapter, sizeof adapter, "%s", fz_path("adapter"));
    FZ_CHECK(zy_model_save(m, base) == ZY_STATUS_OK);
    zy_model_free(m);
    zy_config_free(c);
    zy_lora_config lc = zy_lora_default_config();
    lc.r = 2, lc.targets = "c_attn,c_fc", lc.bias = ZY_LORA_BIAS_LORA_ONLY;
    FZ_CHECK(zy_model_load_lora(&m, base, NULL, &lc) == ZY_STATUS_OK);
    FZ_CHECK(zy_model_save(m, adapter) == ZY_STATUS_OK);
    zy_model_free(m);
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", adapter);
    remove(path); // the base's config is read
    adapter_dir = adapter;
}

static bool names_a_file(const char *msg) {
    return strstr(msg, "adapter_config.json") || strstr(msg, "adapter_model.safetensors") ||
           strstr(msg, "config.json") || strstr(msg, "model.safetensors");
}

static void check_settings(const zy_lora_config *lc) {
    FZ_CHECK(lc->r >= 1 && lc->r <= 65536);
    FZ_CHECK(lc->alpha > 0.0f && lc->alpha <= 1e30f);
    FZ_CHECK(lc->dropout >= 0.0f && lc->dropout < 1.0f);
    FZ_CHECK((unsigned)lc->bias <= ZY_LORA_BIAS_LORA_ONLY);
    if (lc->targets) {
        size_t n = strlen(lc->targets);
        FZ_CHECK(n > 0 && lc->targets[0] != ',' && lc->targets[n - 1] != ',' &&
                 !strstr(lc->targets, ",,"));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    zy_config *c;
    if (zy_config_parse(&c, (const char *)data, size, "adapter_config.json")) return 0;
    zy__lora_file f;
    zy_status st = zy__lora_file_read(c, &f);
    zy_config_free(c);
    if (st) {
        fz_expect_error(st, "adapter_config.json", ZY_STATUS_BAD_FORMAT, ZY_STATUS_NOT_FOUND,
                        ZY_STATUS_UNSUPPORTED);
        return 0;
    }
    check_settings(&f.cfg);
    zy_lora_config want = f.cfg;
    char path[4200];
    snprintf(path, sizeof path, "%s/adapter_config.json", adapter_dir);
    FILE *out = fopen(path, "wb");
    FZ_CHECK(out && fwrite(data, 1, size, out) == size && fclose(out) == 0);
    zy_model *m = NULL;
    st = zy_model_load(&m, adapter_dir);
    if (st) {
        FZ_CHECKF(st == ZY_STATUS_BAD_FORMAT || st == ZY_STATUS_NOT_FOUND ||
                  st == ZY_STATUS_UNSUPPORTED || st == ZY_STATUS_INVALID_ARGUMENT ||
                  st == ZY_STATUS_SHAPE_MISMATCH, "unexpected status %d", (int)st);
        FZ_CHECKF(names_a_file(zy_last_error()), "the error names no file");
        FZ_CHECK(m == NULL);
        zy__lora_file_free(&f);
        return 0;
    }
    const zy_lora_config *got = zy_model_lora_config(m);
    FZ_CHECK(got && got->r == want.r && got->alpha == want.alpha &&
             got->dropout == want.dropout && got->bias == want.bias &&
             got->use_rslora == want.use_rslora);
    // saved and loaded again: the same adapter
    const char *again = fz_path("again");
    FZ_CHECK(zy_model_save(m, again) == ZY_STATUS_OK);
    zy_model *back = NULL;
    FZ_CHECKF(zy_model_load(&back, again) == ZY_STATUS_OK, "a saved adapter does not load");
    size_t n1, n2;
    const float *p1 = zy_model_params(m, &n1), *p2 = zy_model_params(back, &n2);
    FZ_CHECK(n1 == n2 && !memcmp(p1, p2, n1 * sizeof *p1));
    FZ_CHECK(zy_model_trainable_floats(m) == zy_model_trainable_floats(back));
    zy_model_free(back);
    zy_model_free(m);
    zy__lora_file_free(&f);
    return 0;
}
