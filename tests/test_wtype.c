// A model's weight type (model.h: zy_model_set_weight_type): the fp32 weights become the
// type's values and equal the typed copies; decoding over the copies (the blocks' GEMVs
// and the LM head, one sequence and several stepped together) gives the training
// forward's logits on the same model, GPT-2 and Marian; the rules (inference only, one
// type, whole blocks); model.safetensors written in F16/BF16 loads back as that type; a
// decode-only model (zy_model_drop_fp32) decodes the same bits and refuses the rest.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bert_util.h"
#include "gpt_util.h"
#include "harness.h"
#include "lora_util.h"
#include "zhuyi/gguf.h"
#include "zhuyi/io.h"
#include "zhuyi/model.h"
#include "zhuyi/tokenizer.h"

static const zy_wtype TYPED[] = {ZY_WTYPE_F16, ZY_WTYPE_BF16, ZY_WTYPE_Q8_0, ZY_WTYPE_Q4_0};

// Every typed copy dequantizes to the model's fp32 weights, bit for bit; returns how many
// tensors have a copy.
static int check_copies(const zy_model *m) {
    const zy_tensor_table *t = zy_model_tensors(m);
    int n = 0;
    for (int i = 0; i < zy_tensor_table_count(t); i++) {
        const zy_wmatrix *w = zy_model_tensor_typed(m, i);
        if (!w) continue;
        n++;
        float *row = zt_floats((size_t)w->cols);
        const float *p = zy_model_tensor_data(m, i);
        for (int r = 0; r < w->rows; r++) {
            zy_dequantize_row(w->type, (const uint8_t *)w->data + w->row_bytes * r, row,
                              (size_t)w->cols);
            if (memcmp(row, p + (size_t)r * w->cols, sizeof(float) * w->cols)) {
                zt_fail(__FILE__, __LINE__, "%s row %d: copy and fp32 weights differ",
                        zy_tensor_table_at(t, i)->name, r);
                break;
            }
        }
        free(row);
    }
    return n;
}

static double max_abs(const float *x, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

// GPT-2: the prompt through GEMMs (one chunk), then one token at a time through the typed
// GEMVs, and three sequences stepped together (the multi-input GEMVs), against forward.
// fp32 arithmetic: the same weights, sums in another order (1e-4, as test_gpt.c's decode
// test); int8 activations: x's rounding, within 1 % of the largest logit.
TEST(gpt_weight_type_decode_matches_forward) {
    enum { L = 2, H = 2, C = 64, P = 40, V = 37, T = 40, PROMPT = 30 };
    int x[3][T];
    for (int q = 0; q < 3; q++)
        for (int t = 0; t < T; t++) x[q][t] = (t * (7 + q) + 3 * q + 1) % V;
    float *full = zt_floats((size_t)3 * T * V), *got = zt_floats((size_t)T * V);
    float *step = zt_floats((size_t)3 * V);
    zy_quant_arith saved = zy_quant_arith_get();
    for (int ti = 0; ti < 4; ti++)
        for (int a = ZY_QUANT_ARITH_FP32; a <= ZY_QUANT_ARITH_INT8; a++) {
            const zy_wtype wt = TYPED[ti];
            const bool block = wt == ZY_WTYPE_Q8_0 || wt == ZY_WTYPE_Q4_0;
            if (a == ZY_QUANT_ARITH_INT8 && !block) continue;
            zy_quant_arith_set((zy_quant_arith)a);
            zy_model *m = zt_gpt_create(L, H, C, P, V, 0.0f, 5);
            ASSERT(m != NULL);
            ASSERT(zy_model_set_weight_type(m, wt) == ZY_STATUS_OK);
            CHECK(zy_model_weight_type(m) == wt);
            CHECK(check_copies(m) == 1 + 4 * L); // wte and each block's four matrices
            zy_session_params sp = zy_session_default_params();
            sp.batch = 3, sp.seq = T, sp.n_seq = 3;
            zy_session *s;
            ASSERT(zy_session_create(&s, m, &sp) == ZY_STATUS_OK);
            zy_batch b = zt_batch(&x[0][0], NULL, 3, T);
            ASSERT(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
            memcpy(full, zt_logits(s), sizeof(float) * 3 * T * V);
            int seq = 0;
            ASSERT(zy_session_decode(s, 1, &seq, x[0], PROMPT, got + (PROMPT - 1) * V) == 0);
            for (int t = PROMPT; t < T; t++)
                ASSERT(zy_session_decode(s, 1, &seq, &x[0][t], 1, got + t * V) == 0);
            const size_t from = (size_t)(PROMPT - 1) * V, n = (size_t)T * V - from;
            const double scale = max_abs(full, (size_t)3 * T * V);
            const double tol = a == ZY_QUANT_ARITH_FP32 ? 1e-4 : 0.01 * scale + 1e-4;
            double worst = max_diff(got + from, full + from, n);
            // three sequences: prompts of PROMPT - 1 tokens, then joint steps
            int seqs[3] = {0, 1, 2};
            zy_session_seq_reset(s, -1);
            for (int q = 0; q < 3; q++)
                ASSERT(zy_session_decode(s, 1, &seqs[q], x[q], PROMPT - 1, step) == 0);
            for (int t = PROMPT - 1; t < T; t++) {
                int tok[3] = {x[0][t], x[1][t], x[2][t]};
                ASSERT(zy_session_decode(s, 3, seqs, tok, 1, step) == 0);
                for (int q = 0; q < 3; q++)
                    worst = fmax(worst, max_diff(step + q * V, full + ((size_t)q * T + t) * V, V));
            }
            zt_note("%s %s: worst |decode - forward| %.3g (logits up to %.3g, tolerance %.3g)",
                    zy_wtype_name(wt), block ? (a == ZY_QUANT_ARITH_INT8 ? "int8" : "fp32") : "",
                    worst, scale, tol);
            CHECK(worst <= tol);
            zy_session_free(s);
            zy_model_free(m);
        }
    zy_quant_arith_set(saved);
    free(full), free(got), free(step);
}

// The type rounds the fp32 weights as zy_quantize_row + zy_dequantize_row would, and
// touches only the `quantize` tensors (biases, LayerNorms, positions stay as they were).
TEST(weight_type_rounds_only_matrices) {
    zy_model *a = zt_gpt_create(1, 2, 64, 16, 11, 0.0f, 3), *b = zt_gpt_create(1, 2, 64, 16, 11, 0.0f, 3);
    ASSERT(a && b);
    ASSERT(zy_model_set_weight_type(b, ZY_WTYPE_Q4_0) == ZY_STATUS_OK);
    const zy_tensor_table *t = zy_model_tensors(a);
    for (int i = 0; i < zy_tensor_table_count(t); i++) {
        const zy_tensor *e = zy_tensor_table_at(t, i);
        const float *x = zy_model_tensor_data(a, i), *y = zy_model_tensor_data(b, i);
        if (!e->quantize) {
            CHECK(!memcmp(x, y, sizeof(float) * e->count));
            continue;
        }
        float *r = zt_floats(e->count);
        uint8_t *q = zt_malloc(e->count);
        const zy_wmatrix *w = zy_model_tensor_typed(b, i);
        ASSERT(w != NULL);
        for (int row = 0; row < w->rows; row++) {
            zy_quantize_row(ZY_WTYPE_Q4_0, x + (size_t)row * w->cols, q, (size_t)w->cols);
            zy_dequantize_row(ZY_WTYPE_Q4_0, q, r + (size_t)row * w->cols, (size_t)w->cols);
        }
        CHECK(!memcmp(r, y, sizeof(float) * e->count));
        free(r), free(q);
    }
    zy_model_free(a), zy_model_free(b);
}

TEST(weight_type_rules) {
    zy_model *m = zt_gpt_create(1, 2, 48, 16, 11, 0.0f, 4); // rows of 48: no whole blocks
    ASSERT(m != NULL);
    CHECK(zy_model_weight_type(m) == ZY_WTYPE_F32);
    CHECK(zy_model_file_weight_type(m) == ZY_WTYPE_F32);
    CHECK(zy_model_set_weight_type(m, (zy_wtype)99) == ZY_STATUS_INVALID_ARGUMENT);
    zy_model *q = zt_gpt_create(1, 2, 48, 16, 11, 0.0f, 4); // rows of 48: f16 in Q8_0
    ASSERT(q != NULL);
    ASSERT(zy_model_set_weight_type(q, ZY_WTYPE_Q8_0) == ZY_STATUS_OK);
    CHECK(zy_model_weight_type(q) == ZY_WTYPE_Q8_0);
    const zy_wmatrix *wte = zy_model_tensor_typed(q, 0);
    CHECK(wte && wte->type == ZY_WTYPE_F16 && wte->row_bytes == 96);
    CHECK(check_copies(q) == 5);
    zy_model_free(q);
    ASSERT(zy_model_set_weight_type(m, ZY_WTYPE_BF16) == ZY_STATUS_OK);
    CHECK(zy_model_set_weight_type(m, ZY_WTYPE_BF16) == ZY_STATUS_OK); // the same: nothing
    CHECK(zy_model_set_weight_type(m, ZY_WTYPE_F16) == ZY_STATUS_INVALID_ARGUMENT);
    zy_session_params p = zy_session_default_params();
    p.training = true;
    zy_session *s = NULL;
    CHECK(zy_session_create(&s, m, &p) == ZY_STATUS_UNSUPPORTED); // inference only
    CHECK(s == NULL);
    // F32 drops the copies; the weights keep the bf16 values, and training works again
    ASSERT(zy_model_set_weight_type(m, ZY_WTYPE_F32) == ZY_STATUS_OK);
    CHECK(!zy_model_tensor_typed(m, 0));
    const float *w = zy_model_tensor_data(m, 0);
    CHECK(zy_bf16_to_f32(zy_f32_to_bf16(w[5])) == w[5]);
    CHECK(zy_session_create(&s, m, &p) == ZY_STATUS_OK);
    zy_session_free(s);
    zy_model_free(m);
}

// model.safetensors in F16/BF16 (the writer `zhuyi quantize` uses): the load reports the
// type, and the model given it decodes as the one that wrote it.
TEST(weight_type_from_half_file) {
    char dir[] = "/tmp/zy_wtype_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    zy_model *m = zt_gpt_create(1, 2, 64, 16, 11, 0.0f, 6);
    ASSERT(m != NULL);
    const zy_dtype dt[2] = {ZY_DTYPE_BF16, ZY_DTYPE_F16};
    const zy_wtype wt[2] = {ZY_WTYPE_BF16, ZY_WTYPE_F16};
    for (int k = 0; k < 2; k++) {
        ASSERT(zy_model_save(m, dir) == ZY_STATUS_OK); // config.json (and an F32 file)
        ASSERT(zy_tensor_table_save(zy_model_tensors(m), path, zy_model_params(m, NULL),
                                    dt[k]) == ZY_STATUS_OK);
        zy_model *l;
        ASSERT(zy_model_load(&l, dir) == ZY_STATUS_OK);
        CHECK(zy_model_file_weight_type(l) == wt[k]);
        CHECK(zy_model_weight_type(l) == ZY_WTYPE_F32); // loading does not apply it
        size_t n;
        const float *params = zy_model_params(l, &n);
        float *before = zt_floats(n);
        memcpy(before, params, n * sizeof(float));
        ASSERT(zy_model_set_weight_type(l, wt[k]) == ZY_STATUS_OK);
        CHECK(!memcmp(before, zy_model_params(l, NULL), n * sizeof(float))); // exact already
        free(before);
        zy_model_free(l);
    }
    ASSERT(zy_model_save(m, dir) == ZY_STATUS_OK); // F32 again
    zy_model *l;
    ASSERT(zy_model_load(&l, dir) == ZY_STATUS_OK);
    CHECK(zy_model_file_weight_type(l) == ZY_WTYPE_F32);
    zy_model_free(l);
    zy_model_free(m);
    CHECK(zt_rm_tree(dir));
}

// Marian: the decoder's typed q|k|v (three copies as one matrix), cross-attention q, out
// projections, FF and the head, against the training forward (fp32 arithmetic).
TEST(marian_weight_type_decode_matches_forward) {
    enum { B = 2, T = 6, TD = 5 };
    zy_config *c;
    ASSERT(zy_config_load(&c, "tests/ref/marian_tiny/config.json") == ZY_STATUS_OK);
    // whole blocks for Q8_0 (the reference's FF widths are 48 and 40)
    ASSERT(zy_config_set_int(c, "encoder_ffn_dim", 64) == ZY_STATUS_OK);
    ASSERT(zy_config_set_int(c, "decoder_ffn_dim", 64) == ZY_STATUS_OK);
    zy_quant_arith saved = zy_quant_arith_get();
    zy_quant_arith_set(ZY_QUANT_ARITH_FP32);
    const zy_wtype types[2] = {ZY_WTYPE_BF16, ZY_WTYPE_Q8_0};
    for (int k = 0; k < 2; k++) {
        zy_model *m;
        ASSERT(zy_model_create(&m, c) == ZY_STATUS_OK);
        zy_model_init_weights(m, 9);
        ASSERT(zy_model_set_weight_type(m, types[k]) == ZY_STATUS_OK);
        CHECK(check_copies(m) > 0);
        const int V = zy_model_get_info(m)->vocab_size;
        zy_session_params p = zy_session_default_params();
        p.batch = B, p.seq = T, p.seq_dec = TD, p.n_seq = B;
        zy_session *s;
        ASSERT(zy_session_create(&s, m, &p) == ZY_STATUS_OK);
        int src[B * T], dec[B * TD], len[B] = {T, T - 2}, dlen[B] = {TD, TD};
        for (int i = 0; i < B * T; i++) src[i] = (i * 5 + 1) % 38 + 1;
        for (int i = 0; i < B * TD; i++) dec[i] = (i * 3 + 2) % 38 + 1;
        zy_batch b = {.B = B, .T = T, .input_ids = src, .lengths = len, .T_dec = TD,
                      .dec_input_ids = dec, .dec_lengths = dlen};
        ASSERT(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
        float *want = zt_floats((size_t)B * TD * V), *got = zt_floats((size_t)B * V);
        memcpy(want, zy_session_output(s, "logits", NULL, NULL), sizeof(float) * B * TD * V);
        int slots[B] = {0, 1}, seqs[B] = {0, 1};
        ASSERT(zy_session_encode(s, B, slots, src, T, len) == ZY_STATUS_OK);
        double worst = 0;
        for (int t = 0; t < TD; t++) {
            int tok[B] = {dec[t], dec[TD + t]};
            ASSERT(zy_session_decode(s, B, seqs, tok, 1, got) == ZY_STATUS_OK);
            for (int i = 0; i < B; i++)
                worst = fmax(worst, max_diff(got + i * V, want + ((size_t)i * TD + t) * V, V));
        }
        zt_note("marian %s: worst |decode - forward| %.3g", zy_wtype_name(types[k]), worst);
        CHECK(worst <= 1e-4);
        free(want), free(got);
        zy_session_free(s);
        zy_model_free(m);
    }
    zy_quant_arith_set(saved);
    zy_config_free(c);
}

// ---- decode-only models (zy_model_drop_fp32) -------------------------------------------------

// A fresh session's logits (7, V): sequence 0's prompt x[0..n), then x[n], x[n+1], x[n+2]
// one at a time; sequence 1's prompt x[1..n+1); then both stepped together (x[n+3],
// x[n+4]: the multi-input GEMVs). False if a call failed.
static bool decode_logits(const zy_model *m, const int *x, int n, float *out) {
    const int V = zy_model_get_info(m)->vocab_size;
    zy_session_params p = zy_session_default_params();
    p.n_seq = 2;
    zy_session *s;
    if (zy_session_create(&s, m, &p)) return false;
    int seqs[2] = {0, 1}, tok[2] = {x[n + 3], x[n + 4]};
    bool ok = !zy_session_decode(s, 1, &seqs[0], x, n, out);
    for (int t = 0; ok && t < 3; t++)
        ok = !zy_session_decode(s, 1, &seqs[0], &x[n + t], 1, out + (size_t)(1 + t) * V);
    ok = ok && !zy_session_decode(s, 1, &seqs[1], x + 1, n, out + (size_t)4 * V);
    ok = ok && !zy_session_decode(s, 2, seqs, tok, 1, out + (size_t)5 * V);
    zy_session_free(s);
    return ok;
}

// GPT-2 in q8_0 and bf16 decodes the same bits after zy_model_drop_fp32 as before, with a
// short prompt (6 tokens: block_decode.c's GEMVs) and a long one (20: a chunk through its
// GEMMs). First the fp32 values of the typed tensors are made NaN: the logits staying the
// same bits shows decoding reads none of them (a path that does fails here, and the
// dropped model is then not run on that prompt: it would read freed memory).
TEST(gpt_drop_fp32_decodes_the_same) {
    enum { L = 2, H = 2, C = 64, P = 40, V = 37, N = 2 };
    const int len[N] = {6, 20};
    int x[20 + 5];
    for (int t = 0; t < 25; t++) x[t] = (t * 7 + 3) % V;
    const size_t n = (size_t)7 * V;
    float *want = zt_floats(N * n), *got = zt_floats(N * n);
    const zy_wtype types[2] = {ZY_WTYPE_Q8_0, ZY_WTYPE_BF16};
    for (int k = 0; k < 2; k++) {
        const char *name = zy_wtype_name(types[k]);
        zy_model *m = zt_gpt_create(L, H, C, P, V, 0.0f, 11);
        ASSERT(m != NULL);
        ASSERT(zy_model_set_weight_type(m, types[k]) == ZY_STATUS_OK);
        CHECK(zy_model_get_info(m)->typed_decode_only && !zy_model_fp32_dropped(m));
        for (int j = 0; j < N; j++) ASSERT(decode_logits(m, x, len[j], want + j * n));
        const zy_tensor_table *t = zy_model_tensors(m);
        float *params = zy_model_params(m, NULL);
        for (int i = 0; i < zy_tensor_table_count(t); i++) {
            const zy_tensor *e = zy_tensor_table_at(t, i);
            for (size_t q = 0; zy_model_tensor_typed(m, i) && q < e->count; q++)
                params[e->offset + q] = NAN;
        }
        bool reads[N];
        for (int j = 0; j < N; j++) {
            ASSERT(decode_logits(m, x, len[j], got + j * n));
            reads[j] = memcmp(got + j * n, want + j * n, n * sizeof(float)) != 0;
            if (reads[j])
                zt_fail(__FILE__, __LINE__, "%s, a prompt of %d tokens: decoding reads the "
                        "fp32 weights of typed tensors", name, len[j]);
        }
        ASSERT(zy_model_drop_fp32(m) == ZY_STATUS_OK);
        CHECK(zy_model_fp32_dropped(m));
        for (int j = 0; j < N; j++) {
            if (reads[j]) continue;
            memset(got + j * n, 0, n * sizeof(float));
            ASSERT(decode_logits(m, x, len[j], got + j * n));
            if (memcmp(got + j * n, want + j * n, n * sizeof(float)))
                zt_fail(__FILE__, __LINE__, "%s, a prompt of %d tokens: the dropped model's "
                        "logits differ (worst %.3g)", name, len[j],
                        max_diff(got + j * n, want + j * n, n));
        }
        zy_model_free(m);
    }
    free(want), free(got);
}

// st is `want` and the message holds `says`.
static void refused(zy_status st, zy_status want, const char *says, const char *what) {
    if (st != want || !strstr(zy_last_error(), says))
        zt_fail(__FILE__, __LINE__, "%s: status %d (want %d), message '%s' (want '%s' in it)",
                what, (int)st, (int)want, st ? zy_last_error() : "", says);
}

// After the drop: no flat array, the typed tensors' fp32 values gone and the others kept
// as they were; everything that reads the freed values refused, naming the drop; a
// decoding session still made.
TEST(gpt_drop_fp32_refusals) {
    static const char *text = "the cat sat on the mat and the dog sat on the log";
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 270;
    bp.min_frequency = 1;
    size_t tl = strlen(text);
    zy_tokenizer *tok;
    ASSERT(zy_tokenizer_train_bpe_texts(&tok, &text, &tl, 1, bp) == ZY_STATUS_OK);
    const int V = zy_tokenizer_vocab_size(tok);
    zy_model *m = zt_gpt_create(1, 2, 64, 16, V, 0.0f, 12);
    zy_model *ref = zt_gpt_create(1, 2, 64, 16, V, 0.0f, 12);
    ASSERT(m && ref);
    ASSERT(zy_model_set_weight_type(m, ZY_WTYPE_Q8_0) == ZY_STATUS_OK);
    ASSERT(zy_model_drop_fp32(m) == ZY_STATUS_OK);
    CHECK(zy_model_drop_fp32(m) == ZY_STATUS_OK); // again: nothing
    size_t np = 1;
    CHECK(zy_model_params(m, &np) == NULL && np == 0);
    CHECK(zy_model_get_info(m)->n_params == zy_tensor_table_floats(zy_model_tensors(m)));
    const zy_tensor_table *t = zy_model_tensors(m);
    size_t kept = 0;
    for (int i = 0; i < zy_tensor_table_count(t); i++) {
        const zy_tensor *e = zy_tensor_table_at(t, i);
        const float *x = zy_model_tensor_data(m, i);
        CHECK(!x == (zy_model_tensor_typed(m, i) != NULL));
        if (x) CHECK(!memcmp(x, zy_model_tensor_data(ref, i), e->count * sizeof *x));
        kept += x ? e->count : 0;
    }
    CHECK(!zy_model_tensor_data(m, 0) && zy_model_tensor_data(m, 1)); // wte (the head), wpe
    zt_note("fp32 floats kept: %zu of %zu", kept, zy_model_get_info(m)->n_params);
    CHECK(kept < zy_model_get_info(m)->n_params / 4);
    CHECK(zy_model_check_finite(m) == ZY_STATUS_OK);
    zy_model_init_weights(m, 3); // nothing to initialise
    CHECK(!memcmp(zy_model_tensor_data(m, 1), zy_model_tensor_data(ref, 1), 16 * sizeof(float)));

    zy_session_params p = zy_session_default_params();
    p.training = true;
    zy_session *s = NULL;
    refused(zy_session_create(&s, m, &p), ZY_STATUS_UNSUPPORTED, "for inference", "training");
    CHECK(s == NULL);
    s = zt_session(m, 1, 4, false);
    ASSERT(s != NULL);
    int ids[4] = {1, 2, 3, 4};
    zy_batch b = zt_batch(ids, NULL, 1, 4);
    refused(zy_session_forward(s, &b, NULL, NULL), ZY_STATUS_UNSUPPORTED, "zy_model_drop_fp32",
            "forward");
    float *logits = zt_floats((size_t)V);
    int seq = 0, bad = V;
    CHECK(zy_session_decode(s, 1, &seq, ids, 4, logits) == ZY_STATUS_OK);
    CHECK(zy_session_decode(s, 1, &seq, &bad, 1, logits) == ZY_STATUS_INVALID_ARGUMENT);
    free(logits);
    zy_session_free(s);
    char dir[] = "/tmp/zy_wtype_XXXXXX", path[64];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/out", dir);
    refused(zy_model_save(m, path), ZY_STATUS_UNSUPPORTED, "zy_model_drop_fp32", "save");
    refused(zy_model_save_dtype(m, path, ZY_DTYPE_BF16), ZY_STATUS_UNSUPPORTED,
            "zy_model_drop_fp32", "save bf16");
    CHECK(access(path, F_OK) != 0); // nothing written
    snprintf(path, sizeof path, "%s/m.gguf", dir);
    zy_gguf_export_params gp = zy_gguf_export_default_params();
    gp.wtype = ZY_WTYPE_Q8_0;
    refused(zy_model_save_gguf(m, tok, path, gp), ZY_STATUS_UNSUPPORTED, "zy_model_drop_fp32",
            "gguf export");
    CHECK(access(path, F_OK) != 0);
    CHECK(rmdir(dir) == 0);
    CHECK(zy_model_set_weight_type(m, ZY_WTYPE_Q8_0) == ZY_STATUS_OK); // its type: nothing
    refused(zy_model_set_weight_type(m, ZY_WTYPE_F32), ZY_STATUS_UNSUPPORTED,
            "zy_model_drop_fp32", "weight type f32");
    refused(zy_model_set_weight_type(m, ZY_WTYPE_BF16), ZY_STATUS_UNSUPPORTED,
            "zy_model_drop_fp32", "weight type bf16");
    CHECK(zy_model_weight_type(m) == ZY_WTYPE_Q8_0 && zy_model_tensor_typed(m, 0));
    zy_model_free(m), zy_model_free(ref);
    zy_tokenizer_free(tok);
}

// The drop is refused, and the model left whole, without typed copies (f32), for models
// whose inference reads fp32 weights besides them (BERT's forward, Marian's encoder), and
// with a LoRA adapter.
TEST(drop_fp32_refused) {
    zy_model *g = zt_gpt_create(1, 2, 64, 16, 11, 0.0f, 13);
    ASSERT(g != NULL);
    refused(zy_model_drop_fp32(g), ZY_STATUS_UNSUPPORTED, "no typed copies", "gpt f32");
    zt_bert_dims d = {.arch = "BertForMaskedLM", .L = 1, .H = 2, .C = 64, .FF = 128, .P = 16,
                      .TV = 2, .V = 50};
    zy_model *bert = zt_bert_create(&d, 14);
    ASSERT(bert != NULL);
    ASSERT(zy_model_set_weight_type(bert, ZY_WTYPE_Q8_0) == ZY_STATUS_OK);
    CHECK(!zy_model_get_info(bert)->typed_decode_only);
    refused(zy_model_drop_fp32(bert), ZY_STATUS_UNSUPPORTED, "typed_decode_only", "bert");
    zy_config *c;
    ASSERT(zy_config_load(&c, "tests/ref/marian_tiny/config.json") == ZY_STATUS_OK);
    zy_model *marian;
    ASSERT(zy_model_create(&marian, c) == ZY_STATUS_OK);
    zy_config_free(c);
    ASSERT(zy_model_set_weight_type(marian, ZY_WTYPE_BF16) == ZY_STATUS_OK);
    CHECK(zy_model_get_info(marian)->typed_decode && !zy_model_get_info(marian)->typed_decode_only);
    refused(zy_model_drop_fp32(marian), ZY_STATUS_UNSUPPORTED, "typed_decode_only", "marian");
    zy_model *lora;
    ASSERT(zy_model_load_adapter(&lora, ZT_LORA_GPT_BASE, ZT_LORA_GPT_ADAPTER) == ZY_STATUS_OK);
    refused(zy_model_drop_fp32(lora), ZY_STATUS_UNSUPPORTED, "LoRA", "lora");
    zy_model *all[4] = {g, bert, marian, lora};
    for (int i = 0; i < 4; i++) {
        CHECK(!zy_model_fp32_dropped(all[i]) && zy_model_params(all[i], NULL) != NULL);
        zy_model_free(all[i]);
    }
}

// a and b are the same model: the same weight type, the same typed copies and fp32
// values, bit for bit (what), and so the same logits.
static void same_models(const zy_model *a, const zy_model *b, const char *what) {
    const zy_tensor_table *t = zy_model_tensors(a);
    if (zy_model_weight_type(a) != zy_model_weight_type(b) ||
        zy_model_fp32_dropped(a) != zy_model_fp32_dropped(b) ||
        zy_model_file_weight_type(a) != zy_model_file_weight_type(b)) {
        zt_fail(__FILE__, __LINE__, "%s: weight types %s / %s, dropped %d / %d", what,
                zy_wtype_name(zy_model_weight_type(a)), zy_wtype_name(zy_model_weight_type(b)),
                zy_model_fp32_dropped(a), zy_model_fp32_dropped(b));
        return;
    }
    for (int i = 0; i < zy_tensor_table_count(t); i++) {
        const zy_tensor *e = zy_tensor_table_at(t, i);
        const zy_wmatrix *wa = zy_model_tensor_typed(a, i), *wb = zy_model_tensor_typed(b, i);
        const float *xa = zy_model_tensor_data(a, i), *xb = zy_model_tensor_data(b, i);
        bool same = !wa == !wb && !xa == !xb;
        if (same && wa)
            same = wa->type == wb->type && wa->row_bytes == wb->row_bytes &&
                   !memcmp(wa->data, wb->data, wa->row_bytes * (size_t)wa->rows);
        if (same && xa) same = !memcmp(xa, xb, e->count * sizeof *xa);
        if (!same) zt_fail(__FILE__, __LINE__, "%s: tensor '%s' differs", what, e->name);
    }
}

// zy_model_load_decoder gives the model zy_model_load, zy_model_set_weight_type and
// zy_model_drop_fp32 give, bit for bit (GPT-2 from F32 and BF16 files, every type and
// the file's own; an adapter directory merged; BERT, which keeps its fp32 weights), and
// decodes the same logits; lm_head.weight in the file is compared with wte's file tensor.
TEST(load_decoder_same_model) {
    enum { L = 2, H = 2, C = 64, P = 40, V = 37 };
    char dir[] = "/tmp/zy_decoder_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    zy_model *m = zt_gpt_create(L, H, C, P, V, 0.0f, 17);
    ASSERT(m != NULL);
    int x[25];
    for (int t = 0; t < 25; t++) x[t] = (t * 5 + 2) % V;
    const size_t n = (size_t)7 * V;
    float *want = zt_floats(n), *got = zt_floats(n);
    const zy_dtype dt[2] = {ZY_DTYPE_F32, ZY_DTYPE_BF16};
    const int types[6] = {-1, ZY_WTYPE_F32, ZY_WTYPE_F16, ZY_WTYPE_BF16, ZY_WTYPE_Q8_0,
                          ZY_WTYPE_Q4_0};
    for (int f = 0; f < 2; f++) {
        ASSERT(zy_model_save_dtype(m, dir, dt[f]) == ZY_STATUS_OK);
        for (int k = 0; k < 6; k++) {
            char what[64];
            snprintf(what, sizeof what, "%s file, weights %s", zy_dtype_name(dt[f]),
                     types[k] < 0 ? "as the file" : zy_wtype_name((zy_wtype)types[k]));
            zy_model *a, *b;
            ASSERT(zy_model_load(&a, dir) == ZY_STATUS_OK);
            zy_wtype t = types[k] < 0 ? zy_model_file_weight_type(a) : (zy_wtype)types[k];
            ASSERT(zy_model_set_weight_type(a, t) == ZY_STATUS_OK);
            if (t != ZY_WTYPE_F32) ASSERT(zy_model_drop_fp32(a) == ZY_STATUS_OK);
            ASSERT(zy_model_load_decoder(&b, dir, types[k]) == ZY_STATUS_OK);
            same_models(a, b, what);
            ASSERT(decode_logits(a, x, 20, want) && decode_logits(b, x, 20, got));
            if (memcmp(want, got, n * sizeof *got))
                zt_fail(__FILE__, __LINE__, "%s: logits differ", what);
            zy_model_free(a), zy_model_free(b);
        }
    }
    // lm_head.weight written beside wte (as some checkpoints hold it): equal loads, one
    // value off is refused as zy_model_load refuses it.
    zy_safetensors *st;
    ASSERT(zy_safetensors_open(&st, path) == ZY_STATUS_OK);
    const int nf = zy_safetensors_count(st);
    zy_safetensors_tensor *ts = calloc((size_t)nf + 1, sizeof *ts);
    float **vals = calloc((size_t)nf, sizeof *vals);
    ASSERT(ts && vals);
    int wte = -1;
    for (int i = 0; i < nf; i++) {
        const zy_tensor_info *info = zy_safetensors_info(st, i);
        vals[i] = zt_floats((size_t)info->numel);
        ASSERT(zy_safetensors_read_f32(st, info->name, vals[i], (size_t)info->numel) ==
               ZY_STATUS_OK);
        ts[i] = (zy_safetensors_tensor){.name = info->name, .data = vals[i],
                                        .ndim = info->ndim};
        memcpy(ts[i].shape, info->shape, sizeof(int64_t) * (size_t)info->ndim);
        if (strstr(info->name, "wte.weight")) wte = i;
    }
    ASSERT(wte >= 0);
    ts[nf] = ts[wte];
    ts[nf].name = "lm_head.weight";
    zy_safetensors_write_params wp = zy_safetensors_write_default_params();
    wp.dtype = ZY_DTYPE_BF16;
    char tied[300];
    snprintf(tied, sizeof tied, "%s/tied.safetensors", dir);
    ASSERT(zy_safetensors_write(tied, ts, nf + 1, wp) == ZY_STATUS_OK);
    ASSERT(rename(tied, path) == 0);
    zy_model *a, *b;
    ASSERT(zy_model_load(&a, dir) == ZY_STATUS_OK);
    ASSERT(zy_model_set_weight_type(a, ZY_WTYPE_Q8_0) == ZY_STATUS_OK);
    ASSERT(zy_model_drop_fp32(a) == ZY_STATUS_OK);
    ASSERT(zy_model_load_decoder(&b, dir, ZY_WTYPE_Q8_0) == ZY_STATUS_OK);
    same_models(a, b, "lm_head.weight in the file");
    zy_model_free(a), zy_model_free(b);
    float *head = zt_floats((size_t)V * C);
    memcpy(head, vals[wte], sizeof(float) * V * C);
    head[3] += 1.0f;
    ts[nf].data = head;
    ASSERT(zy_safetensors_write(tied, ts, nf + 1, wp) == ZY_STATUS_OK);
    ASSERT(rename(tied, path) == 0);
    refused(zy_model_load_decoder(&b, dir, -1), ZY_STATUS_UNSUPPORTED,
            "'lm_head.weight' differs from", "a tie that differs");
    CHECK(b == NULL);
    refused(zy_model_load_decoder(&b, dir, ZY_WTYPE_COUNT), ZY_STATUS_INVALID_ARGUMENT,
            "weight type", "a bad type");
    free(head);
    for (int i = 0; i < nf; i++) free(vals[i]);
    free(vals), free(ts);
    zy_safetensors_free(st);
    // An adapter directory: loaded, merged, typed.
    ASSERT(zy_model_load(&a, ZT_LORA_GPT_ADAPTER) == ZY_STATUS_OK);
    ASSERT(zy_model_merge_adapter(a) == ZY_STATUS_OK);
    ASSERT(zy_model_set_weight_type(a, ZY_WTYPE_BF16) == ZY_STATUS_OK);
    ASSERT(zy_model_drop_fp32(a) == ZY_STATUS_OK);
    ASSERT(zy_model_load_decoder(&b, ZT_LORA_GPT_ADAPTER, ZY_WTYPE_BF16) == ZY_STATUS_OK);
    same_models(a, b, "adapter directory");
    zy_model_free(a), zy_model_free(b);
    // BERT decodes nothing by its copies alone: typed, its fp32 weights kept.
    zt_bert_dims d = {.arch = "BertForMaskedLM", .L = 1, .H = 2, .C = 64, .FF = 128, .P = 16,
                      .TV = 2, .V = 50};
    zy_model *bert = zt_bert_create(&d, 18);
    ASSERT(bert != NULL);
    ASSERT(zy_model_save(bert, dir) == ZY_STATUS_OK);
    ASSERT(zy_model_load_decoder(&b, dir, ZY_WTYPE_Q8_0) == ZY_STATUS_OK);
    CHECK(zy_model_weight_type(b) == ZY_WTYPE_Q8_0 && !zy_model_fp32_dropped(b));
    zy_model_free(b), zy_model_free(bert), zy_model_free(m);
    free(want), free(got);
    CHECK(zt_rm_tree(dir));
}
