// Models as GGUF (gguf.h "models", src/models/gguf_*.c): a GPT-2 and its byte-level BPE
// written as llama.cpp's "gpt2" — every key with its type, every tensor name, ggml shape
// and type as llama.cpp's loader expects them — and read back: f32 bit for bit, f16 / q8_0
// as their conversions, the tokenizer encoding the same ids; the refusals (task heads,
// mismatched tokenizers, other architectures, missing or misshapen tensors, an untied
// head) each naming what is wrong. llama.cpp itself reads the files in
// tests/peers/gguf_peers.sh.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert_util.h"
#include "gpt_util.h"
#include "harness.h"
#include "test_safetensors.h"
#include "zhuyi/gguf.h"

static char mpath[300];
static const char *in_dir(const char *dir, const char *name) {
    snprintf(mpath, sizeof mpath, "%s/%s", dir, name);
    return mpath;
}

static const char *TEXT =
    "The cat sat on the mat. The dog sat on the log; the cat and the dog sat together. "
    "In the beginning was the word, and the word was good. I've seen 42 cats, haven't you? "
    "caf\xc3\xa9 na\xc3\xafve \xe6\xb3\xa8\xe6\x84\x8f  spaces\n\nnew lines\t tabs.";

// A BPE of about V tokens learnt from TEXT, <|endoftext|> last.
static zy_tokenizer *small_bpe(int V) {
    zy_bpe_train_params p = zy_bpe_train_default_params();
    p.vocab_size = V;
    p.min_frequency = 1;
    zy_tokenizer *t = NULL;
    size_t len = strlen(TEXT);
    if (zy_tokenizer_train_bpe_texts(&t, &TEXT, &len, 1, p))
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
    return t;
}

// A GPT-2 whose vocabulary is tok's.
static zy_model *gpt_for(const zy_tokenizer *tok, int L, int H, int C, int P, uint64_t seed) {
    return zt_gpt_create(L, H, C, P, zy_tokenizer_vocab_size(tok), 0.0f, seed);
}

static zy_status save(const zy_model *m, const zy_tokenizer *t, const char *path, zy_wtype w) {
    zy_gguf_export_params p = zy_gguf_export_default_params();
    p.wtype = w;
    p.name = "tiny";
    return zy_model_save_gguf(m, t, path, p);
}

TEST(gguf_model_gpt2_f32_roundtrip_is_exact) {
    const char *dir = stt_tmp_dir();
    zy_tokenizer *tok = small_bpe(300);
    ASSERT(tok);
    zy_model *m = gpt_for(tok, 2, 2, 48, 32, 7);
    ASSERT(m);
    ASSERT(save(m, tok, in_dir(dir, "f32.gguf"), ZY_WTYPE_F32) == ZY_STATUS_OK);
    zy_model *b;
    zy_tokenizer *bt;
    zy_gguf_model_info info;
    ASSERT(zy_model_load_gguf(&b, &bt, mpath, &info) == ZY_STATUS_OK);
    CHECK(!strcmp(info.architecture, "gpt2") && info.wtype == ZY_WTYPE_F32 &&
          info.file_type == 0);
    const zy_model_info *x = zy_model_get_info(m), *y = zy_model_get_info(b);
    CHECK(x->n_layer == y->n_layer && x->n_head == y->n_head && x->d_model == y->d_model &&
          x->vocab_size == y->vocab_size && x->max_positions == y->max_positions &&
          !strcmp(y->architecture, "GPT2LMHeadModel") && y->causal_lm);
    size_t na, nb;
    float *pa = zy_model_params(m, &na), *pb = zy_model_params(b, &nb);
    CHECK(na == nb && !memcmp(pa, pb, na * sizeof *pa));
    // The tokenizer: the same tokens, merges and ids.
    CHECK(zy_tokenizer_vocab_size(bt) == zy_tokenizer_vocab_size(tok));
    CHECK(zy_tokenizer_merge_count(bt) == zy_tokenizer_merge_count(tok));
    for (int id = 0; id < zy_tokenizer_vocab_size(tok); id++) {
        size_t l1, l2;
        const char *s1 = zy_tokenizer_token_bytes(tok, id, &l1);
        const char *s2 = zy_tokenizer_token_bytes(bt, id, &l2);
        if (!s1 || !s2 || l1 != l2 || memcmp(s1, s2, l1)) {
            zt_fail(__FILE__, __LINE__, "token %d differs", id);
            break;
        }
    }
    size_t len = strlen(TEXT), n1, n2;
    int32_t *i1 = malloc(len * sizeof *i1), *i2 = malloc(len * sizeof *i2);
    CHECK(!zy_tokenizer_encode(tok, TEXT, len, 0, i1, len, &n1) &&
          !zy_tokenizer_encode(bt, TEXT, len, 0, i2, len, &n2) && n1 == n2 &&
          !memcmp(i1, i2, n1 * sizeof *i1));
    int32_t e1, e2;
    CHECK(!zy_tokenizer_special_id(tok, ZY_SPECIAL_EOS, &e1) &&
          !zy_tokenizer_special_id(bt, ZY_SPECIAL_EOS, &e2) && e1 == e2);
    zt_note("%d tokens, %d merges, %zu ids for the sample text", zy_tokenizer_vocab_size(bt),
            zy_tokenizer_merge_count(bt), n1);
    free(i1), free(i2);
    zy_model_free(b), zy_tokenizer_free(bt);
    zy_model_free(m), zy_tokenizer_free(tok);
    stt_rm_dir(dir);
}

// Expected tensors of a 2-layer GPT-2 (C, V, P) as llama.cpp's LLM_ARCH_GPT2 creates them:
// name, ggml ne, whether it is a matrix the type applies to.
typedef struct want_tensor {
    char name[64];
    uint64_t ne0, ne1;
    int matrix;
} want_tensor;

static int gpt2_tensors(int L, int C, int V, int P, want_tensor *w) {
    int n = 0;
    w[n++] = (want_tensor){"token_embd.weight", C, V, 1};
    w[n++] = (want_tensor){"position_embd.weight", C, P, 0}; // stays f32
    for (int l = 0; l < L; l++) {
        static const struct { const char *s; int ne0m, ne1m, matrix; } blk[] = {
            {"attn_norm.weight", 1, 0, 0}, {"attn_norm.bias", 1, 0, 0},
            {"attn_qkv.weight", 1, 3, 1},  {"attn_qkv.bias", 3, 0, 0},
            {"attn_output.weight", 1, 1, 1}, {"attn_output.bias", 1, 0, 0},
            {"ffn_norm.weight", 1, 0, 0},  {"ffn_norm.bias", 1, 0, 0},
            {"ffn_up.weight", 1, 4, 1},    {"ffn_up.bias", 4, 0, 0},
            {"ffn_down.weight", 4, 1, 1},  {"ffn_down.bias", 1, 0, 0}};
        for (size_t k = 0; k < sizeof blk / sizeof blk[0]; k++) {
            want_tensor t = {.ne0 = (uint64_t)blk[k].ne0m * C, .ne1 = (uint64_t)blk[k].ne1m * C,
                             .matrix = blk[k].matrix};
            snprintf(t.name, sizeof t.name, "blk.%d.%s", l, blk[k].s);
            w[n++] = t;
        }
    }
    w[n++] = (want_tensor){"output_norm.weight", C, 0, 0};
    w[n++] = (want_tensor){"output_norm.bias", C, 0, 0};
    return n;
}

TEST(gguf_model_gpt2_is_what_llama_cpp_loads) {
    const char *dir = stt_tmp_dir();
    zy_tokenizer *tok = small_bpe(300);
    ASSERT(tok);
    const int L = 2, C = 64, P = 32, V = zy_tokenizer_vocab_size(tok);
    zy_model *m = gpt_for(tok, L, 4, C, P, 3);
    ASSERT(m);
    ASSERT(save(m, tok, in_dir(dir, "q.gguf"), ZY_WTYPE_Q8_0) == ZY_STATUS_OK);
    zy_gguf *g;
    ASSERT(zy_gguf_open(&g, mpath) == ZY_STATUS_OK);
    // Tensors: names, shapes, types, and nothing else (no output.weight: tied).
    want_tensor w[64];
    int n = gpt2_tensors(L, C, V, P, w);
    ASSERT_EQ_INT(zy_gguf_tensor_count(g), n);
    for (int i = 0; i < n; i++) {
        const zy_gguf_tensor *t = zy_gguf_find_tensor(g, w[i].name);
        uint32_t type = w[i].matrix ? ZY_GGML_Q8_0 : ZY_GGML_F32;
        if (!t || t->ndim != (w[i].ne1 ? 2 : 1) || t->ne[0] != w[i].ne0 ||
            (w[i].ne1 && t->ne[1] != w[i].ne1) || t->type != type)
            zt_fail(__FILE__, __LINE__, "tensor %s: %s", w[i].name,
                    t ? "shape or type" : "missing");
    }
    // Keys, types and values as llama.cpp's converter writes them.
    static const struct { const char *key; zy_gguf_type type; } keys[] = {
        {"general.architecture", ZY_GGUF_STRING}, {"general.type", ZY_GGUF_STRING},
        {"general.name", ZY_GGUF_STRING}, {"general.file_type", ZY_GGUF_UINT32},
        {"general.quantization_version", ZY_GGUF_UINT32},
        {"gpt2.block_count", ZY_GGUF_UINT32}, {"gpt2.context_length", ZY_GGUF_UINT32},
        {"gpt2.embedding_length", ZY_GGUF_UINT32}, {"gpt2.feed_forward_length", ZY_GGUF_UINT32},
        {"gpt2.attention.head_count", ZY_GGUF_UINT32},
        {"gpt2.attention.layer_norm_epsilon", ZY_GGUF_FLOAT32},
        {"tokenizer.ggml.model", ZY_GGUF_STRING}, {"tokenizer.ggml.pre", ZY_GGUF_STRING},
        {"tokenizer.ggml.tokens", ZY_GGUF_ARRAY}, {"tokenizer.ggml.token_type", ZY_GGUF_ARRAY},
        {"tokenizer.ggml.merges", ZY_GGUF_ARRAY}, {"tokenizer.ggml.bos_token_id", ZY_GGUF_UINT32},
        {"tokenizer.ggml.eos_token_id", ZY_GGUF_UINT32},
        {"tokenizer.ggml.unknown_token_id", ZY_GGUF_UINT32},
        {"tokenizer.ggml.add_bos_token", ZY_GGUF_BOOL}};
    ASSERT_EQ_INT(zy_gguf_kv_count(g), (int)(sizeof keys / sizeof keys[0]));
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const zy_gguf_kv *kv = zy_gguf_find(g, keys[i].key);
        if (!kv || kv->type != keys[i].type)
            zt_fail(__FILE__, __LINE__, "key %s: %s", keys[i].key, kv ? "type" : "missing");
    }
    const char *s;
    uint64_t u;
    double f;
    const zy_gguf_kv *kv;
    CHECK(!zy_gguf_get_string(g, "general.architecture", &s) && !strcmp(s, "gpt2"));
    CHECK(!zy_gguf_get_string(g, "general.name", &s) && !strcmp(s, "tiny"));
    CHECK(!zy_gguf_get_string(g, "tokenizer.ggml.model", &s) && !strcmp(s, "gpt2"));
    CHECK(!zy_gguf_get_string(g, "tokenizer.ggml.pre", &s) && !strcmp(s, "gpt-2"));
    CHECK(!zy_gguf_get_uint(g, "general.file_type", 0, 99, &u) && u == 7); // MOSTLY_Q8_0
    CHECK(!zy_gguf_get_uint(g, "general.quantization_version", 0, 99, &u) && u == 2);
    CHECK(!zy_gguf_get_uint(g, "gpt2.block_count", 0, 99, &u) && u == (uint64_t)L);
    CHECK(!zy_gguf_get_uint(g, "gpt2.context_length", 0, 999, &u) && u == (uint64_t)P);
    CHECK(!zy_gguf_get_uint(g, "gpt2.embedding_length", 0, 999, &u) && u == (uint64_t)C);
    CHECK(!zy_gguf_get_uint(g, "gpt2.feed_forward_length", 0, 999, &u) && u == 4u * C);
    CHECK(!zy_gguf_get_uint(g, "gpt2.attention.head_count", 0, 99, &u) && u == 4);
    CHECK(!zy_gguf_get_float(g, "gpt2.attention.layer_norm_epsilon", &f) && f == (double)1e-5f);
    int32_t eot;
    ASSERT(!zy_tokenizer_special_id(tok, ZY_SPECIAL_EOS, &eot));
    CHECK(!zy_gguf_get_uint(g, "tokenizer.ggml.eos_token_id", 0, 1 << 20, &u) &&
          u == (uint64_t)eot);
    CHECK(!zy_gguf_get_array(g, "tokenizer.ggml.tokens", ZY_GGUF_STRING, &kv) &&
          kv->n == (uint64_t)V);
    const zy_gguf_str *toks = kv->arr;
    // GPT-2's byte-level spelling: byte 0x20 is "Ġ" (U+0120), byte 'a' is "a"; the
    // special token as its text, of type control (3), the others normal (1).
    int sp = zy_tokenizer_find(tok, " ", 1), a = zy_tokenizer_find(tok, "a", 1);
    CHECK(sp >= 0 && !strcmp(toks[sp].s, "\xc4\xa0") && a >= 0 && !strcmp(toks[a].s, "a"));
    CHECK(!strcmp(toks[eot].s, "<|endoftext|>"));
    CHECK(!zy_gguf_get_array(g, "tokenizer.ggml.token_type", ZY_GGUF_INT32, &kv) &&
          kv->n == (uint64_t)V);
    const int32_t *types = kv->arr;
    CHECK(types[eot] == 3 && types[sp] == 1 && types[a] == 1);
    CHECK(!zy_gguf_get_array(g, "tokenizer.ggml.merges", ZY_GGUF_STRING, &kv) &&
          kv->n == (uint64_t)zy_tokenizer_merge_count(tok));
    const zy_gguf_str *merges = kv->arr;
    CHECK(kv->n > 0 && strchr(merges[0].s, ' ') && !strchr(merges[0].s, '\n'));
    zy_gguf_free(g);

    // Read back: vectors and position embeddings exact, matrices as q8_0 rows give them.
    zy_model *b;
    zy_tokenizer *bt;
    zy_gguf_model_info info;
    ASSERT(zy_model_load_gguf(&b, &bt, mpath, &info) == ZY_STATUS_OK);
    CHECK(info.wtype == ZY_WTYPE_Q8_0 && info.file_type == 7);
    const zy_tensor_table *tt = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(tt); i++) {
        const zy_tensor *e = zy_tensor_table_at(tt, i);
        const float *x = zy_model_tensor_data(m, i), *y = zy_model_tensor_data(b, i);
        bool matrix = e->ndim == 2 && !strstr(e->name, "wpe");
        float *want = malloc(e->count * sizeof *want);
        unsigned char q[ZY_Q8_0_BLOCK_BYTES * 8];
        size_t row = matrix ? (size_t)(e->transposed ? e->shape[0] : e->shape[1]) : e->count;
        for (size_t r = 0; r < e->count / row; r++) {
            if (matrix) {
                zy_quantize_row(ZY_WTYPE_Q8_0, x + r * row, q, row);
                zy_dequantize_row(ZY_WTYPE_Q8_0, q, want + r * row, row);
            } else {
                memcpy(want + r * row, x + r * row, row * sizeof *want);
            }
        }
        if (memcmp(y, want, e->count * sizeof *y))
            zt_fail(__FILE__, __LINE__, "%s does not read back as %s", e->name,
                    matrix ? "its q8_0 rows" : "f32");
        free(want);
    }
    zy_model_free(b), zy_tokenizer_free(bt);
    zy_model_free(m), zy_tokenizer_free(tok);
    stt_rm_dir(dir);
}

TEST(gguf_model_f16_and_block_fallback) {
    const char *dir = stt_tmp_dir();
    zy_tokenizer *tok = small_bpe(300);
    ASSERT(tok);
    zy_model *m = gpt_for(tok, 1, 3, 48, 16, 5); // rows of 48: not whole q8_0 blocks
    ASSERT(m);
    for (int k = 0; k < 2; k++) {
        zy_wtype wt = k ? ZY_WTYPE_Q8_0 : ZY_WTYPE_F16;
        ASSERT(save(m, tok, in_dir(dir, "h.gguf"), wt) == ZY_STATUS_OK);
        zy_gguf *g;
        ASSERT(zy_gguf_open(&g, mpath) == ZY_STATUS_OK);
        const zy_gguf_tensor *t = zy_gguf_find_tensor(g, "blk.0.ffn_up.weight");
        const zy_gguf_tensor *p = zy_gguf_find_tensor(g, "position_embd.weight");
        const zy_gguf_tensor *b = zy_gguf_find_tensor(g, "blk.0.ffn_up.bias");
        CHECK(t && t->type == ZY_GGML_F16 && p && p->type == ZY_GGML_F32 && b &&
              b->type == ZY_GGML_F32);
        uint64_t ft;
        CHECK(!zy_gguf_get_uint(g, "general.file_type", 0, 99, &ft) && ft == (k ? 7u : 1u));
        zy_gguf_free(g);
        zy_model *r;
        zy_tokenizer *rt;
        zy_gguf_model_info info;
        ASSERT(zy_model_load_gguf(&r, &rt, mpath, &info) == ZY_STATUS_OK);
        CHECK(info.wtype == ZY_WTYPE_F16);
        const float *x = zy_model_tensor_data(m, 2 + 8), *y = zy_model_tensor_data(r, 2 + 8);
        int bad = 0; // mlp.c_fc.weight: every value rounds to f16
        for (int i = 0; i < 48 * 192; i++) bad += y[i] != zy_f16_to_f32(zy_f32_to_f16(x[i]));
        CHECK(bad == 0);
        zy_model_free(r), zy_tokenizer_free(rt);
    }
    zy_model_free(m), zy_tokenizer_free(tok);
    stt_rm_dir(dir);
}

TEST(gguf_model_chat_template_goes_along) {
    const char *dir = stt_tmp_dir();
    zy_tokenizer *tok = small_bpe(300);
    ASSERT(tok);
    zy_model *m = gpt_for(tok, 1, 2, 32, 16, 9);
    ASSERT(m);
    const zy_chat_template *t = (const zy_chat_template *)1;
    ASSERT(save(m, tok, in_dir(dir, "plain.gguf"), ZY_WTYPE_F32) == ZY_STATUS_OK);
    CHECK(zy_gguf_chat_template(mpath, &t) == ZY_STATUS_OK && t == NULL);
    zy_gguf_export_params p = zy_gguf_export_default_params();
    p.chat_template = zy_chat_template_default();
    ASSERT(zy_model_save_gguf(m, tok, in_dir(dir, "chat.gguf"), p) == ZY_STATUS_OK);
    CHECK(zy_gguf_chat_template(mpath, &t) == ZY_STATUS_OK && t == zy_chat_template_default());
    zy_gguf *g;
    const char *jinja;
    ASSERT(zy_gguf_open(&g, mpath) == ZY_STATUS_OK);
    CHECK(!zy_gguf_get_string(g, "tokenizer.chat_template", &jinja) &&
          !strcmp(jinja, zy_chat_template_default()->jinja));
    zy_gguf_free(g);
    zy_model_free(m), zy_tokenizer_free(tok);
    stt_rm_dir(dir);
}

// ---- files that are not what a GPT-2 needs ----------------------------------------------------
// A copy of src with one key dropped or replaced and one tensor dropped, renamed or
// replaced, through the container API (so the rest of the file stays valid).
typedef struct edit {
    const char *drop_key, *set_key; // set_key: a uint32 value, or string if set_str
    uint64_t set_u32;
    const char *set_str;
    const char *drop_tensor, *rename_from, *rename_to;
    const char *add_tensor;         // added as a copy of copy_of
    const char *copy_of;
    float add_scale;                // the copy multiplied by this (1: identical)
} edit;

static zy_status rewrite(const char *src, const char *dst, const edit *e) {
    zy_gguf *g;
    zy_gguf_writer *w;
    zy_status s = zy_gguf_open(&g, src);
    if (s) return s;
    if ((s = zy_gguf_writer_create(&w))) return s;
    for (int i = 0; i < zy_gguf_kv_count(g) && !s; i++) {
        const zy_gguf_kv *kv = zy_gguf_kv_at(g, i);
        if (e->drop_key && !strcmp(kv->key, e->drop_key)) continue;
        switch (kv->type) {
        case ZY_GGUF_STRING:
            s = zy_gguf_writer_set_string(w, kv->key, kv->str.s, kv->str.len);
            break;
        case ZY_GGUF_FLOAT32: case ZY_GGUF_FLOAT64:
            s = zy_gguf_writer_set_float(w, kv->key, kv->type, kv->v.f);
            break;
        case ZY_GGUF_BOOL: s = zy_gguf_writer_set_bool(w, kv->key, kv->v.b); break;
        case ZY_GGUF_INT8: case ZY_GGUF_INT16: case ZY_GGUF_INT32: case ZY_GGUF_INT64:
            s = zy_gguf_writer_set_int(w, kv->key, kv->type, kv->v.i);
            break;
        case ZY_GGUF_ARRAY:
            if (kv->elem == ZY_GGUF_STRING) {
                const zy_gguf_str *a = kv->arr;
                const char **p = malloc((kv->n + 1) * sizeof *p);
                size_t *l = malloc((kv->n + 1) * sizeof *l);
                for (uint64_t k = 0; k < kv->n; k++) p[k] = a[k].s, l[k] = a[k].len;
                s = zy_gguf_writer_set_array_strings(w, kv->key, p, l, kv->n);
                free(p), free(l);
            } else {
                s = zy_gguf_writer_set_array(w, kv->key, kv->elem, kv->arr, kv->n);
            }
            break;
        default: s = zy_gguf_writer_set_uint(w, kv->key, kv->type, kv->v.u);
        }
    }
    if (!s && e->set_key)
        s = e->set_str ? zy_gguf_writer_set_string(w, e->set_key, e->set_str, strlen(e->set_str))
                       : zy_gguf_writer_set_uint(w, e->set_key, ZY_GGUF_UINT32, e->set_u32);
    int n = zy_gguf_tensor_count(g);
    void **data = calloc((size_t)n + 1, sizeof *data);
    float *extra = NULL;
    for (int i = 0; i < n && !s; i++) {
        const zy_gguf_tensor *t = zy_gguf_tensor_at(g, i);
        if (e->drop_tensor && !strcmp(t->name, e->drop_tensor)) continue;
        const char *name = e->rename_from && !strcmp(t->name, e->rename_from) ? e->rename_to
                                                                              : t->name;
        data[i] = malloc(t->nbytes + 1);
        if (!(s = zy_gguf_read_raw(g, t->name, data[i], t->nbytes)))
            s = zy_gguf_writer_add_tensor(w, name, t->type, t->ndim, t->ne, data[i]);
        if (!s && e->add_tensor && !strcmp(t->name, e->copy_of)) {
            extra = malloc(t->numel * sizeof *extra);
            if (!(s = zy_gguf_read_f32(g, t->name, extra, t->numel))) {
                for (uint64_t k = 0; k < t->numel; k++) extra[k] *= e->add_scale;
                s = zy_gguf_writer_add_tensor_f32(w, e->add_tensor, ZY_WTYPE_F32, t->ndim, t->ne,
                                                  extra);
            }
        }
    }
    if (!s) s = zy_gguf_writer_write(w, dst, NULL, NULL);
    for (int i = 0; i < n; i++) free(data[i]);
    free(data), free(extra);
    zy_gguf_writer_free(w);
    zy_gguf_free(g);
    return s;
}

TEST(gguf_model_refusals_name_what_is_wrong) {
    const char *dir = stt_tmp_dir();
    zy_tokenizer *tok = small_bpe(300), *other = small_bpe(290);
    ASSERT(tok && other);
    zy_model *m = gpt_for(tok, 1, 2, 32, 16, 11);
    ASSERT(m);
    char good[300];
    snprintf(good, sizeof good, "%s/good.gguf", dir);
    ASSERT(save(m, tok, good, ZY_WTYPE_Q8_0) == ZY_STATUS_OK);
    // Export: a task head, a tokenizer of another size.
    zy_config *c = zt_gpt_config(1, 2, 32, 16, zy_tokenizer_vocab_size(tok), 0);
    const char *arch[1] = {"GPT2ForSequenceClassification"};
    zy_model *cls = NULL;
    ASSERT(c && !zy_config_set_strings(c, "architectures", arch, 1) &&
           !zy_config_set_int(c, "num_labels", 2) && !zy_model_create(&cls, c));
    CHECK(save(cls, tok, in_dir(dir, "x.gguf"), ZY_WTYPE_F32) == ZY_STATUS_UNSUPPORTED &&
          stt_has(zy_last_error(), "GPT2ForSequenceClassification cannot be written"));
    CHECK(save(m, other, in_dir(dir, "x.gguf"), ZY_WTYPE_F32) == ZY_STATUS_SHAPE_MISMATCH &&
          stt_has(zy_last_error(), "but the model's vocab_size is"));
    zy_model_free(cls);
    zy_config_free(c);
    // Import: each edit of the good file, the status and a part of the message.
    static const struct {
        edit e;
        zy_status status;
        const char *msg;
    } cases[] = {
        {{.set_key = "general.architecture", .set_str = "llama"}, ZY_STATUS_UNSUPPORTED,
         "architecture 'llama' (zhuyi reads gpt2)"},
        {{.drop_key = "gpt2.block_count"}, ZY_STATUS_NOT_FOUND, "key 'gpt2.block_count' missing"},
        {{.set_key = "gpt2.embedding_length", .set_u32 = 31}, ZY_STATUS_BAD_FORMAT,
         "gpt2.embedding_length = 31 is not a multiple of gpt2.attention.head_count = 2"},
        {{.drop_key = "gpt2.feed_forward_length", .set_key = "gpt2.embedding_length",
          .set_u32 = 64}, ZY_STATUS_SHAPE_MISMATCH,
         "tensor 'token_embd.weight' has ne = {32, "},
        {{.set_key = "gpt2.feed_forward_length", .set_u32 = 100}, ZY_STATUS_UNSUPPORTED,
         "gpt2.feed_forward_length = 100; zhuyi's GPT-2 has 4 * embedding_length = 128"},
        {{.set_key = "gpt2.context_length", .set_u32 = 17}, ZY_STATUS_SHAPE_MISMATCH,
         "tensor 'position_embd.weight' has ne = {32, 16, 1, 1} (2 dimensions) but the "
         "metadata implies {32, 17}"},
        {{.drop_tensor = "blk.0.ffn_down.bias"}, ZY_STATUS_NOT_FOUND,
         "tensor 'blk.0.ffn_down.bias' missing (a 'gpt2' model needs it: zhuyi's "
         "'transformer.h.0.mlp.c_proj.bias')"},
        {{.set_key = "tokenizer.ggml.model", .set_str = "llama"}, ZY_STATUS_UNSUPPORTED,
         "tokenizer.ggml.model 'llama'"},
        {{.drop_key = "tokenizer.ggml.merges"}, ZY_STATUS_NOT_FOUND,
         "key 'tokenizer.ggml.merges' missing"},
        {{.add_tensor = "output.weight", .copy_of = "token_embd.weight", .add_scale = 1},
         ZY_STATUS_OK, ""},
        {{.add_tensor = "output.weight", .copy_of = "token_embd.weight", .add_scale = 2},
         ZY_STATUS_UNSUPPORTED, "tensor 'output.weight' differs from 'token_embd.weight'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *bad = in_dir(dir, "bad.gguf");
        if (rewrite(good, bad, &cases[i].e)) {
            zt_fail(__FILE__, __LINE__, "case %zu: rewrite: %s", i, zy_last_error());
            continue;
        }
        zy_model *r = NULL;
        zy_tokenizer *rt = NULL;
        zy_status s = zy_model_load_gguf(&r, &rt, bad, NULL);
        const char *e = s ? zy_last_error() : "";
        if (s != cases[i].status || !stt_has(e, cases[i].msg) || (s && !stt_has(e, bad)))
            zt_fail(__FILE__, __LINE__, "case %zu: status %d: %s", i, s, e);
        else if (s)
            zt_note("%s", e + strlen(bad) + 2);
        CHECK(s ? r == NULL && rt == NULL : r != NULL && rt != NULL);
        zy_model_free(r), zy_tokenizer_free(rt);
    }
    zy_model_free(m), zy_tokenizer_free(tok), zy_tokenizer_free(other);
    stt_rm_dir(dir);
}

// ---- BERT: written as llama.cpp's "bert" (an embedding model), not read back ------------------
static zy_tokenizer *small_wordpiece(int V) {
    zy_wordpiece_train_params p = zy_wordpiece_train_default_params();
    p.vocab_size = V;
    p.min_frequency = 1;
    zy_tokenizer *t = NULL;
    size_t len = strlen(TEXT);
    if (zy_tokenizer_train_wordpiece_texts(&t, &TEXT, &len, 1, p))
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
    return t;
}

TEST(gguf_model_bert_is_what_llama_cpp_loads) {
    const char *dir = stt_tmp_dir();
    zy_tokenizer *tok = small_wordpiece(200);
    ASSERT(tok);
    const int L = 2, C = 64, FF = 96, P = 24, V = zy_tokenizer_vocab_size(tok);
    zt_bert_dims d = {"BertForPreTraining", L, 4, C, FF, P, 2, V, 0.0f};
    zy_model *m = zt_bert_create(&d, 3);
    ASSERT(m);
    ASSERT(save(m, tok, in_dir(dir, "b.gguf"), ZY_WTYPE_Q8_0) == ZY_STATUS_OK);
    zy_gguf *g;
    ASSERT(zy_gguf_open(&g, mpath) == ZY_STATUS_OK);
    // The body only: 5 embedding tensors + 16 per layer (pooler and heads left out).
    ASSERT_EQ_INT(zy_gguf_tensor_count(g), 5 + 16 * L);
    static const struct { const char *name; int ne0m, ne1m, matrix; } want[] = {
        {"token_embd.weight", 'C', 'V', 1}, {"position_embd.weight", 'C', 'P', 0},
        {"token_types.weight", 'C', 'T', 0}, {"token_embd_norm.weight", 'C', 0, 0},
        {"token_embd_norm.bias", 'C', 0, 0}, {"blk.1.attn_q.weight", 'C', 'C', 1},
        {"blk.1.attn_k.bias", 'C', 0, 0}, {"blk.1.attn_v.weight", 'C', 'C', 1},
        {"blk.1.attn_output.weight", 'C', 'C', 1}, {"blk.1.attn_output_norm.bias", 'C', 0, 0},
        {"blk.1.ffn_up.weight", 'C', 'F', 1}, {"blk.1.ffn_up.bias", 'F', 0, 0},
        {"blk.1.ffn_down.weight", 'F', 'C', 1}, {"blk.1.layer_output_norm.weight", 'C', 0, 0}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const zy_gguf_tensor *t = zy_gguf_find_tensor(g, want[i].name);
        int sz[128] = {['C'] = C, ['V'] = V, ['P'] = P, ['T'] = 2, ['F'] = FF};
        if (!t || t->ne[0] != (uint64_t)sz[want[i].ne0m] ||
            t->ndim != (want[i].ne1m ? 2 : 1) ||
            (want[i].ne1m && t->ne[1] != (uint64_t)sz[want[i].ne1m]) ||
            t->type != (uint32_t)(want[i].matrix ? ZY_GGML_Q8_0 : ZY_GGML_F32))
            zt_fail(__FILE__, __LINE__, "tensor %s", want[i].name);
    }
    CHECK(!zy_gguf_find_tensor(g, "cls.weight") &&
          !zy_gguf_find_tensor(g, "blk.0.attn_qkv.weight"));
    uint64_t u;
    bool b;
    const char *s;
    CHECK(!zy_gguf_get_string(g, "general.architecture", &s) && !strcmp(s, "bert"));
    CHECK(!zy_gguf_get_uint(g, "bert.block_count", 0, 99, &u) && u == (uint64_t)L);
    CHECK(!zy_gguf_get_uint(g, "bert.context_length", 0, 999, &u) && u == (uint64_t)P);
    CHECK(!zy_gguf_get_uint(g, "bert.feed_forward_length", 0, 999, &u) && u == (uint64_t)FF);
    CHECK(!zy_gguf_get_uint(g, "bert.attention.head_count", 0, 99, &u) && u == 4);
    CHECK(!zy_gguf_get_bool(g, "bert.attention.causal", &b) && !b);
    CHECK(!zy_gguf_get_uint(g, "bert.pooling_type", 0, 9, &u) && u == 1);
    CHECK(!zy_gguf_get_string(g, "tokenizer.ggml.model", &s) && !strcmp(s, "bert"));
    CHECK(!zy_gguf_get_uint(g, "tokenizer.ggml.token_type_count", 0, 9, &u) && u == 2);
    int32_t cls, sep;
    ASSERT(!zy_tokenizer_special_id(tok, ZY_SPECIAL_CLS, &cls) &&
           !zy_tokenizer_special_id(tok, ZY_SPECIAL_SEP, &sep));
    CHECK(!zy_gguf_get_uint(g, "tokenizer.ggml.bos_token_id", 0, 999, &u) && u == (uint64_t)cls);
    CHECK(!zy_gguf_get_uint(g, "tokenizer.ggml.seperator_token_id", 0, 999, &u) &&
          u == (uint64_t)sep);
    // Phantom space: [CLS] as it is (control), "##x" as "x", "the" as "\u2581the".
    const zy_gguf_kv *kv;
    ASSERT(!zy_gguf_get_array(g, "tokenizer.ggml.tokens", ZY_GGUF_STRING, &kv) &&
           kv->n == (uint64_t)V);
    const zy_gguf_str *toks = kv->arr;
    ASSERT(!zy_gguf_get_array(g, "tokenizer.ggml.token_type", ZY_GGUF_INT32, &kv));
    const int32_t *types = kv->arr;
    CHECK(!strcmp(toks[cls].s, "[CLS]") && types[cls] == 3);
    int word = zy_tokenizer_find(tok, "the", 3), cont = -1;
    for (int id = 0; id < V && cont < 0; id++)
        if (zy_tokenizer_is_continuation(tok, id)) cont = id;
    ASSERT(word >= 0 && cont >= 0);
    size_t cl;
    const char *cb = zy_tokenizer_token_bytes(tok, cont, &cl); // not NUL-terminated
    CHECK(!strcmp(toks[word].s, "\xe2\x96\x81the") && types[word] == 1);
    CHECK(cl > 2 && !strncmp(cb, "##", 2) && toks[cont].len == cl - 2 &&
          !memcmp(toks[cont].s, cb + 2, cl - 2) && types[cont] == 1);
    zy_gguf_free(g);
    // Written, not read back; task heads are not written.
    zy_model *r;
    zy_tokenizer *rt;
    CHECK(zy_model_load_gguf(&r, &rt, mpath, NULL) == ZY_STATUS_UNSUPPORTED &&
          stt_has(zy_last_error(), "writes bert but does not read it back"));
    zy_config *c = zt_bert_config(&d);
    const char *arch[1] = {"BertForSequenceClassification"};
    zy_model *cls_model = NULL;
    ASSERT(c && !zy_config_set_strings(c, "architectures", arch, 1) &&
           !zy_config_set_int(c, "num_labels", 2) && !zy_model_create(&cls_model, c));
    CHECK(save(cls_model, tok, in_dir(dir, "x.gguf"), ZY_WTYPE_F32) == ZY_STATUS_UNSUPPORTED);
    zy_model_free(cls_model);
    zy_config_free(c);
    zy_model_free(m), zy_tokenizer_free(tok);
    stt_rm_dir(dir);
}

// ---- decode-only loads (zy_model_load_gguf_decoder) ------------------------------------
// Logits of a 12-token prompt (the typed GEMM) then two single steps (the GEMVs).
static bool decode_some(const zy_model *m, float *out) {
    const int V = zy_model_get_info(m)->vocab_size;
    int x[14];
    for (int i = 0; i < 14; i++) x[i] = (i * 5 + 1) % V;
    zy_session *s;
    if (zy_session_create(&s, m, NULL)) return false;
    int seq = 0;
    bool ok = !zy_session_decode(s, 1, &seq, x, 12, out) &&
              !zy_session_decode(s, 1, &seq, x + 12, 1, out + V) &&
              !zy_session_decode(s, 1, &seq, x + 13, 1, out + 2 * (size_t)V);
    zy_session_free(s);
    return ok;
}

// Whether a block of watch_size bytes was allocated while the hook is set (it allocates as
// the default does, so what it made is freed by the default's free and the other way
// round).
static size_t watch_size;
static bool watched;
static void *record_alloc(size_t size, size_t align, void *user) {
    (void)user;
    watched |= size == watch_size;
    return aligned_alloc(align, (size + align - 1) / align * align);
}
static void record_free(void *p, void *user) {
    (void)user;
    free(p);
}

// A decode-only load in a typed weight type reads the matrices straight into the typed
// copies (no fp32 matrix: tensor data NULL, params NULL, the flat fp32 array never
// allocated): as they are when the file stores them in that type, else converted one at a
// time; either way it decodes the bits of loading the file whole, typing it and dropping
// the fp32 weights. f32 asked for loads whole (the array allocated), with the same results;
// a NaN in a typed copy is found by zy_model_check_finite, naming the tensor.
TEST(gguf_model_decoder_load_reads_typed_matrices_as_stored) {
    const char *dir = stt_tmp_dir();
    zy_tokenizer *tok = small_bpe(300);
    ASSERT(tok);
    zy_model *m = gpt_for(tok, 2, 2, 64, 32, 21);
    ASSERT(m);
    const int V = zy_model_get_info(m)->vocab_size;
    const zy_wtype files[2] = {ZY_WTYPE_Q8_0, ZY_WTYPE_F16};
    const int asks[3] = {-1, ZY_WTYPE_Q4_0, ZY_WTYPE_F32};
    float *want = zt_floats(3 * (size_t)V), *got = zt_floats(3 * (size_t)V);
    for (int f = 0; f < 2; f++) {
        char path[400];
        snprintf(path, sizeof path, "%s/m-%s.gguf", dir, zy_wtype_name(files[f]));
        ASSERT(save(m, tok, path, files[f]) == ZY_STATUS_OK);
        for (int a = 0; a < 3; a++) {
            const zy_wtype t = asks[a] < 0 ? files[f] : (zy_wtype)asks[a];
            zy_model *r, *d;
            zy_tokenizer *rt, *dt;
            ASSERT(zy_model_load_gguf(&r, &rt, path, NULL) == ZY_STATUS_OK);
            ASSERT(zy_model_set_weight_type(r, t) == ZY_STATUS_OK);
            if (t != ZY_WTYPE_F32) ASSERT(zy_model_drop_fp32(r) == ZY_STATUS_OK);
            ASSERT(decode_some(r, want));
            zy_gguf_model_info info;
            watch_size = zy_model_get_info(r)->n_params * sizeof(float);
            watched = false;
            zy_allocator_set(&(zy_allocator){record_alloc, record_free, NULL});
            zy_status ls = zy_model_load_gguf_decoder(&d, &dt, path, asks[a], &info);
            zy_allocator_set(NULL);
            ASSERT(ls == ZY_STATUS_OK);
            if (watched != (t == ZY_WTYPE_F32)) // (f32 asked: loaded whole)
                zt_fail(__FILE__, __LINE__, "%s file, %s asked: the fp32 array (%zu bytes) was "
                        "%sallocated", zy_wtype_name(files[f]), zy_wtype_name(t), watch_size,
                        watched ? "" : "not ");
            CHECK(info.wtype == files[f] && zy_model_weight_type(d) == t);
            CHECK(zy_model_fp32_dropped(d) == (t != ZY_WTYPE_F32));
            if (t != ZY_WTYPE_F32) CHECK(zy_model_params(d, NULL) == NULL);
            CHECK(zy_model_check_finite(d) == ZY_STATUS_OK);
            ASSERT(decode_some(d, got));
            if (memcmp(got, want, 3 * (size_t)V * sizeof *got))
                zt_fail(__FILE__, __LINE__, "%s file, %s asked: the decode-only load decodes "
                        "other logits than load + type + drop", zy_wtype_name(files[f]),
                        zy_wtype_name(t));
            if (a == 0) { // straight from the file: a block's scale made NaN is found
                const zy_wmatrix *w = zy_model_tensor_typed(d, 2 + 8); // block 0's c_fc
                ASSERT(w && w->type == files[f]);
                uint8_t *p = (uint8_t *)w->data + w->row_bytes * 3;
                p[0] = 0x00, p[1] = 0x7e; // an f16 NaN: Q8_0's scale, or the first weight
                zy_status st = zy_model_check_finite(d);
                CHECK(st == ZY_STATUS_INVALID_ARGUMENT &&
                      strstr(zy_last_error(), "transformer.h.0.mlp.c_fc.weight") &&
                      strstr(zy_last_error(), zy_wtype_name(files[f])));
            }
            zy_model_free(r), zy_tokenizer_free(rt);
            zy_model_free(d), zy_tokenizer_free(dt);
        }
    }
    free(want), free(got);
    zy_model_free(m);
    zy_tokenizer_free(tok);
}
