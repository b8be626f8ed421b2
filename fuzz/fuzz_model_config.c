// libFuzzer harness: a model's config.json through the model registry
// (src/models/registry.c: zy__model_find_ops) and the GPT-2 hyper-parameter reader
// (src/models/gpt_config.c: zy__gpt_read_config), without allocating a model: no
// zy_model_create (it allocates every parameter). The input is the config.json text.
// Properties checked on every input:
//  - the registry either names an implementation or refuses with NOT_FOUND (no
//    model_type), BAD_FORMAT or UNSUPPORTED, naming the config;
//  - for BERT (model_type "bert"), zy__bert_read_config: a refusal names the config;
//    accepted values are in the reader's ranges and come back bit for bit when written
//    (zy__bert_write_config) and read again; the rest is GPT-2's:
//  - for GPT-2, accepted hyper-parameters are inside the documented ranges (n_layer
//    1..4096, n_head 1..65536, n_embd 1..65536 and a multiple of n_head, vocab_size
//    1..2^24, n_positions 1..2^20, layer_norm_epsilon in [1e-30, 1], dropout in
//    [0, 0.999]); a refusal names the config;
//  - written back (zy__gpt_write_config, as zy_model_save does), saved, loaded and read
//    again: the same hyper-parameters, bit for bit, through the same implementation;
//  - the implementation's init on a bare model object (tensor table only, no parameter
//    array) declares 4 + 12 n_layer tensors holding V·C + P·C + L·(12C² + 13C) + 2C
//    floats (computed here in 128 bits, so an overflow in the table shows), and fills
//    the model info with the same numbers; or, exactly when that count passes the
//    table's limit of 2^46 floats, refuses with ZY_STATUS_INVALID_ARGUMENT.
#include <string.h>

#include "util.h"
#include "models/bert_internal.h"
#include "models/gpt_internal.h"
#include "models/model_internal.h"

extern const zy_model_ops zy__gpt_ops, zy__bert_ops;

// BERT (src/models/bert_config.c, model_type "bert"): a refusal names the config; accepted
// hyper-parameters are in the ranges the reader lists and come back bit for bit when
// written (zy__bert_write_config, with the architecture) and read again.
static void check_bert(const zy_config *c) {
    bert_hparams h, h2;
    zy_status st = zy__bert_read_config(c, &h);
    if (st) {
        FZ_CHECKF(st == ZY_STATUS_NOT_FOUND || st == ZY_STATUS_BAD_FORMAT ||
                  st == ZY_STATUS_UNSUPPORTED || st == ZY_STATUS_INVALID_ARGUMENT,
                  "unexpected status %d", (int)st);
        FZ_CHECK(strstr(zy_last_error(), "config.json"));
        return;
    }
    FZ_CHECK(h.vocab >= 1 && h.vocab <= (1 << 24) && h.n_layer >= 1 && h.n_layer <= 4096);
    FZ_CHECK(h.hidden >= 1 && h.hidden <= 65536 && h.n_head >= 1 && h.n_head <= 65536 &&
             h.hidden % h.n_head == 0);
    FZ_CHECK(h.intermediate >= 1 && h.intermediate <= (1 << 20) && h.max_positions >= 1 &&
             h.max_positions <= (1 << 20) && h.type_vocab >= 1 && h.type_vocab <= 65536);
    FZ_CHECK(h.pad_token_id >= 0 && h.pad_token_id < h.vocab && (int)h.act >= 0 &&
             (int)h.act <= BERT_ACT_RELU && (int)h.arch >= 0 && (int)h.arch <= BERT_QA);
    FZ_CHECK(!h.has_task || (h.labels.n >= 1 && h.labels.n <= ZY__MAX_LABELS &&
                             h.labels.names && h.n_out == h.labels.n));
    FZ_CHECK(h.eps >= 1e-30f && h.eps <= 1.0f && h.hidden_dropout >= 0.0f &&
             h.hidden_dropout <= 0.999f && h.attn_dropout >= 0.0f && h.attn_dropout <= 0.999f &&
             h.init_range >= 0.0f && h.init_range <= 100.0f);
    zy_config *w, *r;
    FZ_CHECK(zy_config_create(&w, "written") == ZY_STATUS_OK);
    FZ_CHECK(zy_config_set_string(w, "model_type", "bert") == ZY_STATUS_OK);
    const char *arch = zy__bert_arch_names[h.arch];
    FZ_CHECK(zy_config_set_strings(w, "architectures", &arch, 1) == ZY_STATUS_OK);
    FZ_CHECK(zy__bert_write_config(&h, w) == ZY_STATUS_OK);
    const char *path = fz_path("config.json");
    FZ_CHECK(zy_config_save(w, path) == ZY_STATUS_OK);
    FZ_CHECK(zy_config_load(&r, path) == ZY_STATUS_OK);
    const zy_model_ops *ops = NULL;
    FZ_CHECK(zy__model_find_ops(r, &ops) == ZY_STATUS_OK && ops == &zy__bert_ops);
    FZ_CHECKF(zy__bert_read_config(r, &h2) == ZY_STATUS_OK, "the written config does not "
              "read back");
    // The label names (task heads) compared by value, then the rest bit for bit.
    FZ_CHECK(h.labels.n == h2.labels.n && h.labels.problem == h2.labels.problem);
    for (int i = 0; h.labels.names && i < h.labels.n; i++)
        FZ_CHECKF(!strcmp(h.labels.names[i], h2.labels.names[i]), "label %d changed", i);
    zy__labels_free(&h.labels);
    zy__labels_free(&h2.labels);
    FZ_CHECKF(!memcmp(&h, &h2, sizeof h), "BERT hyper-parameters changed when written and "
              "read again");
    zy_config_free(r);
    zy_config_free(w);
}

static void check_ranges(const gpt_hparams *h) {
    FZ_CHECK(h->n_layer >= 1 && h->n_layer <= 4096);
    FZ_CHECK(h->n_head >= 1 && h->n_head <= 65536);
    FZ_CHECK(h->n_embd >= 1 && h->n_embd <= 65536 && h->n_embd % h->n_head == 0);
    FZ_CHECK(h->vocab_size >= 1 && h->vocab_size <= (1 << 24));
    FZ_CHECK(h->n_positions >= 1 && h->n_positions <= (1 << 20));
    FZ_CHECK(h->layer_norm_epsilon >= 1e-30f && h->layer_norm_epsilon <= 1.0f);
    FZ_CHECK(h->dropout >= 0.0f && h->dropout <= 0.999f);
}

// The table a GPT-2 init declares, on a model object without parameters.
static void check_table(const zy_config *c, const gpt_hparams *h) {
    zy_model m = {.ops = &zy__gpt_ops};
    FZ_CHECK(zy_tensor_table_create(&m.table) == ZY_STATUS_OK);
    zy_model_info info = {.model_type = zy__gpt_ops.model_type};
    zy_status st = zy__gpt_ops.init(&m, c, &info);
    unsigned __int128 V = (unsigned)h->vocab_size, P = (unsigned)h->n_positions,
                      C = (unsigned)h->n_embd, L = (unsigned)h->n_layer;
    unsigned __int128 want = V * C + P * C + L * (12 * C * C + 13 * C) + 2 * C;
    if (want > (unsigned __int128)1 << 46) { // more than a table holds: a clean refusal
        FZ_CHECKF(st == ZY_STATUS_INVALID_ARGUMENT && strstr(zy_last_error(), "2^46"),
                  "init of a %.3g-float model: status %d", (double)want, (int)st);
        zy__gpt_ops.free(&m);
        zy_tensor_table_free(m.table);
        return;
    }
    FZ_CHECKF(st == ZY_STATUS_OK, "init refuses what the config reader accepted");
    FZ_CHECK(zy_tensor_table_count(m.table) == 4 + 12 * h->n_layer);
    FZ_CHECKF((unsigned __int128)zy_tensor_table_floats(m.table) == want,
              "table holds %zu floats", zy_tensor_table_floats(m.table));
    FZ_CHECK(info.vocab_size == h->vocab_size && info.max_positions == h->n_positions &&
             info.n_layer == h->n_layer && info.n_head == h->n_head &&
             info.d_model == h->n_embd && info.dropout == h->dropout && info.causal_lm);
    zy__gpt_ops.free(&m);
    zy_tensor_table_free(m.table);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    zy_config *c;
    if (zy_config_parse(&c, (const char *)data, size, "fuzz/config.json")) return 0;
    const zy_model_ops *ops = NULL;
    zy_status st = zy__model_find_ops(c, &ops);
    if (st) {
        fz_expect_error(st, "config.json", ZY_STATUS_NOT_FOUND, ZY_STATUS_BAD_FORMAT,
                        ZY_STATUS_UNSUPPORTED);
        zy_config_free(c);
        return 0;
    }
    if (ops == &zy__bert_ops) {
        check_bert(c);
        zy_config_free(c);
        return 0;
    }
    FZ_CHECK(ops == &zy__gpt_ops); // the other built-in implementation
    gpt_hparams h;
    st = zy__gpt_read_config(c, &h);
    if (st) {
        // INVALID_ARGUMENT: n_embd not a multiple of n_head.
        FZ_CHECKF(st == ZY_STATUS_NOT_FOUND || st == ZY_STATUS_BAD_FORMAT ||
                  st == ZY_STATUS_UNSUPPORTED || st == ZY_STATUS_INVALID_ARGUMENT,
                  "unexpected status %d", (int)st);
        FZ_CHECK(strstr(zy_last_error(), "config.json"));
        zy_config_free(c);
        return 0;
    }
    check_ranges(&h);

    // Written back as zy_model_save writes it, through a file, read again.
    zy_config *w;
    FZ_CHECK(zy_config_create(&w, "written") == ZY_STATUS_OK);
    FZ_CHECK(zy_config_set_string(w, "model_type", ops->model_type) == ZY_STATUS_OK);
    const char *arch = "GPT2LMHeadModel";
    FZ_CHECK(zy_config_set_strings(w, "architectures", &arch, 1) == ZY_STATUS_OK);
    FZ_CHECK(zy__gpt_write_config(&h, w) == ZY_STATUS_OK);
    const char *path = fz_path("config.json");
    FZ_CHECK(zy_config_save(w, path) == ZY_STATUS_OK);
    zy_config *r;
    FZ_CHECK(zy_config_load(&r, path) == ZY_STATUS_OK);
    const zy_model_ops *ops2 = NULL;
    FZ_CHECK(zy__model_find_ops(r, &ops2) == ZY_STATUS_OK && ops2 == ops);
    gpt_hparams h2;
    st = zy__gpt_read_config(r, &h2);
    FZ_CHECKF(st == ZY_STATUS_OK, "the written config does not read back");
    FZ_CHECKF(!memcmp(&h, &h2, sizeof h), "hyper-parameters changed: L %d/%d H %d/%d C %d/%d "
              "V %d/%d P %d/%d eps %a/%a p %a/%a", h.n_layer, h2.n_layer, h.n_head, h2.n_head,
              h.n_embd, h2.n_embd, h.vocab_size, h2.vocab_size, h.n_positions, h2.n_positions,
              (double)h.layer_norm_epsilon, (double)h2.layer_norm_epsilon, (double)h.dropout,
              (double)h2.dropout);
    check_table(c, &h);
    zy_config_free(r);
    zy_config_free(w);
    zy_config_free(c);
    return 0;
}
