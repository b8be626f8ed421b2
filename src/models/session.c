// Generic sessions (model.h): the checks every implementation would otherwise repeat
// (batch shapes, token ids, sequence numbers, context length), the training mode, and the
// gradient array of the trainable tensors. The arithmetic is the implementation's.
#include <emmintrin.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "kernels/gemm_copy.h"
#include "models/model_internal.h"
#include "zhuyi/gemm.h"

#define MAX_SEQ 65536

zy_session_params zy_session_default_params(void) {
    return (zy_session_params){.batch = 0, .seq = 0, .seq_dec = 0, .training = false,
                               .n_seq = 1, .attention_weights = false, .loss_only = false};
}

// Gradients for the trainable tensors, one after another in table order.
static zy_status alloc_grads(zy_session *s) {
    const zy_model *m = s->m;
    int nt = zy_tensor_table_count(m->table);
    s->n_grads = zy_model_trainable_floats(m);
    s->grad_ptrs = zy_calloc((size_t)nt, sizeof *s->grad_ptrs);
    s->grads = zy_calloc(s->n_grads ? s->n_grads : 1, sizeof *s->grads);
    if (!s->grad_ptrs || !s->grads)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "session: out of memory for %zu gradients",
                         s->n_grads);
    size_t off = 0;
    for (int i = 0; i < nt; i++) {
        if (!m->trainable[i]) continue;
        s->grad_ptrs[i] = s->grads + off;
        off += zy_tensor_table_at(m->table, i)->count;
    }
    s->has_grads = true;
    return ZY_STATUS_OK;
}

void zy_session_free(zy_session *s) {
    if (!s) return;
    if (s->m->ops->session_free) s->m->ops->session_free(s);
    zy_free(s->grads);
    zy_free(s->grad_ptrs);
    zy_free(s->w16);
    zy_free(s);
}

zy_status zy_session_create(zy_session **out, const zy_model *m, const zy_session_params *p) {
    *out = NULL;
    zy_session_params d = zy_session_default_params();
    if (!p) p = &d;
    if (p->batch < 0 || p->seq < 0 || p->seq_dec < 0 || p->n_seq < 1 || p->n_seq > MAX_SEQ ||
        p->tokens < 0 || p->n_memory < 0 || p->n_memory > MAX_SEQ)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "session: batch %d, seq %d, seq_dec %d, "
                         "tokens %d must not be negative, n_seq %d in [1, %d] and n_memory %d "
                         "in [0, %d]", p->batch, p->seq, p->seq_dec, p->tokens, p->n_seq,
                         MAX_SEQ, p->n_memory, MAX_SEQ);
    if (!(p->label_smoothing >= 0.0f && p->label_smoothing < 1.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "session: label_smoothing %g is outside "
                         "[0, 1)", (double)p->label_smoothing);
    if (p->kv_cache != ZY_WTYPE_F32 && p->kv_cache != ZY_WTYPE_F16 &&
        p->kv_cache != ZY_WTYPE_BF16)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "session: a KV cache of %s; it holds f32, "
                         "f16 or bf16", zy_wtype_name(p->kv_cache) ? zy_wtype_name(p->kv_cache)
                                                                   : "an unknown type");
    if (p->training && m->wtype != ZY_WTYPE_F32) // (so also after zy_model_drop_fp32)
        return zy__error(ZY_STATUS_UNSUPPORTED, "session: the model's weights are %s, for "
                         "inference; train the fp32 model", zy_wtype_name(m->wtype));
    zy_session *s = zy_calloc(1, sizeof *s);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "session: out of memory");
    s->m = m;
    s->n_seq = p->n_seq;
    s->n_memory = p->n_memory ? p->n_memory : p->n_seq;
    s->cap_tokens = p->tokens;
    s->label_smoothing = p->label_smoothing;
    s->kv_cache = p->kv_cache;
    zy_status st;
    if (p->training && (st = alloc_grads(s))) goto fail;
    if ((st = m->ops->session_init(s, p))) goto fail;
    if (p->batch > 0 && p->seq > 0 && (st = zy_session_prepare(s, p->batch, p->seq, p->seq_dec)))
        goto fail;
    *out = s;
    return ZY_STATUS_OK;
fail:
    zy_session_free(s);
    return st;
}

const zy_model *zy_session_model(const zy_session *s) { return s->m; }

zy_status zy_session_prepare(zy_session *s, int batch, int seq, int seq_dec) {
    int P = s->m->info.max_positions;
    if (batch <= 0 || seq <= 0 || seq > P || seq_dec < 0 || seq_dec > P)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "session: batch %d x seq %d (x seq_dec "
                         "%d): need batch > 0 and 0 < seq <= max_positions = %d", batch, seq,
                         seq_dec, P);
    if ((long long)batch * seq > (1 << 24) || (long long)batch * seq_dec > (1 << 24))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "session: batch x seq = %lld too large",
                         (long long)batch * ZY_MAX(seq, seq_dec));
    if (batch <= s->cap_B && seq <= s->cap_T && seq_dec <= s->cap_Td) return ZY_STATUS_OK;
    int B = ZY_MAX(batch, s->cap_B), T = ZY_MAX(seq, s->cap_T), Td = ZY_MAX(seq_dec, s->cap_Td);
    zy_status st = s->m->ops->prepare(s, B, T, Td);
    if (st) return st;
    s->cap_B = B, s->cap_T = T, s->cap_Td = Td;
    return ZY_STATUS_OK;
}

void zy_session_set_mode(zy_session *s, bool training, uint64_t seed) {
    s->training = training;
    s->seed = seed;
}

// Ids in [0, V) (when the model reads tokens); the message names (b, t, id).
static zy_status check_ids(const char *what, const int *ids, int B, int T, const int *lengths,
                           int V) {
    if (V <= 0) return ZY_STATUS_OK;
    for (int b = 0; b < B; b++) {
        int n = lengths ? lengths[b] : T;
        for (int t = 0; t < n; t++) {
            int id = ids[(size_t)b * T + t];
            if (id < 0 || id >= V)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s id %d at (b=%d, t=%d) is "
                                 "outside the vocabulary [0, %d)", what, id, b, t, V);
        }
    }
    return ZY_STATUS_OK;
}

static zy_status check_lengths(const char *what, const int *lengths, int B, int T) {
    for (int b = 0; lengths && b < B; b++)
        if (lengths[b] < 0 || lengths[b] > T)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s[%d] = %d is outside [0, %d]",
                             what, b, lengths[b], T);
    return ZY_STATUS_OK;
}

// A training session under bf16 matmuls rounds every weight to bf16 once per forward and
// lets the products of that forward and of its backward read the copy (kernels/gemm_copy.h):
// each weight matrix is otherwise rounded again by every product and every chunk that
// packs it. The bits are the same either way. GPT-2 124M at B = 4, T = 64 on the AMX
// machine: 413 -> 395 ms a step (three A/B pairs); the products save about 45 ms, the
// rounding pass (two bytes written for every four read) costs about 20 of them. Made
// afresh at each forward, the copy is never stale, whoever changed the weights. Only
// when at least half the weights are trainable: such a session already holds 16 bytes a
// trained parameter (weight, gradient, AdamW's two moments) and the copy adds 2; a frozen
// base (LoRA, --freeze-body) is there to save memory, and its session holds little more
// than the weights, so its products round them as before. So too without memory for it.
// (zy_session_weights_unchanged: a forward right after another on the same weights, as
// the trainer's micro-batches and zy_evaluate's batches are, keeps the copy it has.)
static zy_status run_forward(zy_session *s, const zy_batch *b, float *loss, double *count) {
    size_t n = s->m->info.n_params;
    bool bf16 = zy_gemm_precision() == ZY_PRECISION_BF16;
    if (!(s->w16_reuse && s->w16_current)) {
        s->w16_current = false;
        if (s->has_grads && n && 2 * s->n_grads >= n && bf16) {
            if (!s->w16) s->w16 = zy_alloc(n * sizeof *s->w16);
            if (s->w16) {
                zy__gemm_bf16_round(s->w16, s->m->params, n);
                s->w16_current = true;
            }
        }
    }
    s->w16_reuse = false;
    if (s->w16_current && bf16) zy__gemm_bf16_copy_set(s->m->params, n, s->w16);
    zy_status st = s->m->ops->forward(s, b, loss, count);
    zy__gemm_bf16_copy_set(NULL, 0, NULL);
    return st;
}

void zy_session_weights_unchanged(zy_session *s) { s->w16_reuse = true; }

zy_status zy_session_forward(zy_session *s, const zy_batch *b, float *loss, double *count) {
    if (loss) *loss = 0.0f;
    if (count) *count = 0.0;
    zy_status st = zy__model_need_fp32(s->m, "forward");
    if (st) return st;
    if (!b ||
        (!b->input_ids && !(b->pixels && s->m->info.image_size > 0) &&
         !(b->features && s->m->info.audio_features > 0)) ||
        b->B <= 0 || b->T <= 0 || b->B > s->cap_B || b->T > s->cap_T ||
        b->T_dec < 0 || b->T_dec > s->cap_Td)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "forward: batch %d x %d (decoder %d) "
                         "exceeds the prepared %d x %d (%d) (call zy_session_prepare)",
                         b ? b->B : 0, b ? b->T : 0, b ? b->T_dec : 0, s->cap_B, s->cap_T,
                         s->cap_Td);
    if (s->cap_tokens && ((long long)b->B * b->T > s->cap_tokens ||
                          (long long)b->B * b->T_dec > s->cap_tokens))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "forward: batch %d x %d (decoder %d) "
                         "exceeds the session's %d tokens (zy_session_params.tokens)", b->B,
                         b->T, b->T_dec, s->cap_tokens);
    const zy_model_info *mi = &s->m->info;
    if (mi->image_size > 0) { // the pixels are the input; input_ids are unused
        if (!b->pixels || b->channels != mi->image_channels || b->height != mi->image_size ||
            b->width != mi->image_size)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "forward: the model reads images of "
                             "%d x %d x %d (channels x height x width), the batch has %s%d "
                             "x %d x %d", mi->image_channels, mi->image_size, mi->image_size,
                             b->pixels ? "" : "no pixels: ", b->channels, b->height,
                             b->width);
        return run_forward(s, b, loss, count);
    }
    if (mi->audio_features > 0) { // frames of features are the input; the model checks
                                  // the label sequences (targets) it scores
        if (!b->features || b->n_features != mi->audio_features)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "forward: the model reads frames of "
                             "%d features, the batch has %s%d", mi->audio_features,
                             b->features ? "" : "no features: ", b->n_features);
        if ((st = check_lengths("lengths", b->lengths, b->B, b->T))) return st;
        return run_forward(s, b, loss, count);
    }
    int V = mi->vocab_size;
    if ((st = check_lengths("lengths", b->lengths, b->B, b->T)) ||
        (st = check_ids("input", b->input_ids, b->B, b->T, b->lengths, V)))
        return st;
    if (b->dec_input_ids &&
        ((st = check_lengths("dec_lengths", b->dec_lengths, b->B, b->T_dec)) ||
         (st = check_ids("decoder input", b->dec_input_ids, b->B, b->T_dec, b->dec_lengths, V))))
        return st;
    return run_forward(s, b, loss, count);
}

zy_status zy_session_backward(zy_session *s, float loss_scale) {
    if (!s->has_grads)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "backward: the session has no gradients "
                         "(create it with zy_session_params.training)");
    if (!(loss_scale == loss_scale))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "backward: loss_scale is NaN");
    if (s->w16_current) zy__gemm_bf16_copy_set(s->m->params, s->m->info.n_params, s->w16);
    zy_status st = s->m->ops->backward(s, loss_scale);
    zy__gemm_bf16_copy_set(NULL, 0, NULL);
    return st;
}

float *zy_session_grads(zy_session *s, size_t *n) {
    if (n) *n = s->has_grads ? s->n_grads : 0;
    return s->has_grads ? s->grads : NULL;
}

float *zy_session_tensor_grad(zy_session *s, int tensor) {
    if (!s->has_grads || tensor < 0 || tensor >= zy_tensor_table_count(s->m->table))
        return NULL;
    return s->grad_ptrs[tensor];
}

// Clearing the gradients: a large model's are hundreds of MB, far past the caches, which
// one core clears at about half the speed two do, and ordinary stores first read every
// line they overwrite. So: on the pool's threads, in items of ZERO_CHUNK floats, and past
// ZERO_STREAM floats with non-temporal stores (SSE2, every x86-64 has them). GPT-2 124M's
// 500 MB on the AMX machine: 48 ms on one core, 26 on two, 13 streamed.
#define ZERO_CHUNK (1 << 20)
#define ZERO_STREAM (1 << 21) // 8 MB

static void zero_items(void *ctx, size_t c0, size_t c1, int thread) {
    (void)thread;
    const zy_session *s = ctx;
    size_t i = c0 * ZERO_CHUNK, n = ZY_MIN(c1 * ZERO_CHUNK, s->n_grads) - i;
    char *p = (char *)(s->grads + i), *end = p + n * sizeof(float);
    if (s->n_grads < ZERO_STREAM) {
        memset(p, 0, n * sizeof(float));
        return;
    }
    // Whole aligned lines [a, b) streamed, the ends around them cleared as usual.
    char *a = (char *)ZY_MIN(((uintptr_t)p + 63) & ~(uintptr_t)63, (uintptr_t)end);
    char *b = (char *)ZY_MAX((uintptr_t)end & ~(uintptr_t)63, (uintptr_t)a);
    memset(p, 0, (size_t)(a - p));
    const __m128i z = _mm_setzero_si128();
    for (char *q = a; q < b; q += 64) {
        _mm_stream_si128((__m128i *)(void *)q, z);
        _mm_stream_si128((__m128i *)(void *)(q + 16), z);
        _mm_stream_si128((__m128i *)(void *)(q + 32), z);
        _mm_stream_si128((__m128i *)(void *)(q + 48), z);
    }
    memset(b, 0, (size_t)(end - b));
    _mm_sfence(); // the stores visible before the region ends
}

void zy_session_zero_grads(zy_session *s) {
    if (s->has_grads)
        zy__parallel((s->n_grads + ZERO_CHUNK - 1) / ZERO_CHUNK, 1, 0, zero_items, s);
}

const float *zy_session_output(const zy_session *s, const char *name, int *ndim,
                               int64_t *shape) {
    if (!s->m->ops->output || !name) return NULL;
    return s->m->ops->output(s, name, ndim, shape);
}

// ---- decoding ----------------------------------------------------------------------------

static zy_status check_seq(const zy_session *s, int seq, const char *what) {
    if (seq >= 0 && seq < s->n_seq) return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: sequence %d is outside the session's "
                     "[0, %d) (zy_session_params.n_seq)", what, seq, s->n_seq);
}

static zy_status check_decoder(const zy_session *s, const char *what) {
    if ((s->m->info.causal_lm || s->m->info.encoder_decoder) && s->m->ops->decode)
        return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_UNSUPPORTED, "%s: model_type '%s' is not a causal language "
                     "model or an encoder-decoder", what, s->m->ops->model_type);
}

static zy_status check_encoder_decoder(const zy_session *s, const char *what) {
    if (s->m->info.encoder_decoder && s->m->ops->encode && s->m->ops->seq_attach)
        return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_UNSUPPORTED, "%s: model_type '%s' is not an encoder-decoder",
                     what, s->m->ops->model_type);
}

static zy_status check_slot(const zy_session *s, int slot, const char *what) {
    if (slot >= 0 && slot < s->n_memory) return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: memory slot %d is outside the "
                     "session's [0, %d) (zy_session_params.n_memory)", what, slot, s->n_memory);
}

zy_status zy_session_encode(zy_session *s, int n, const int *slots, const int *tokens, int T,
                            const int *lengths) {
    zy_status st = check_encoder_decoder(s, "encode");
    if (st) return st;
    int P = s->m->info.max_positions;
    if (n < 1 || n > s->n_memory || T < 1 || T > P || !slots || !tokens)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "encode: %d rows of %d tokens (need "
                         "1..%d rows of 1..%d)", n, T, s->n_memory, P);
    for (int i = 0; i < n; i++) {
        if ((st = check_slot(s, slots[i], "encode"))) return st;
        for (int j = 0; j < i; j++)
            if (slots[j] == slots[i])
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "encode: memory slot %d is "
                                 "given twice", slots[i]);
        if (lengths && (lengths[i] < 1 || lengths[i] > T))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "encode: lengths[%d] = %d is outside "
                             "[1, %d]", i, lengths[i], T);
    }
    if ((st = check_ids("encode: source", tokens, n, T, lengths, s->m->info.vocab_size)))
        return st;
    return s->m->ops->encode(s, n, slots, tokens, T, lengths);
}

zy_status zy_session_seq_attach(zy_session *s, int seq, int slot) {
    zy_status st = check_encoder_decoder(s, "seq_attach");
    if (st || (st = check_seq(s, seq, "seq_attach")) || (st = check_slot(s, slot, "seq_attach")))
        return st;
    return s->m->ops->seq_attach(s, seq, slot);
}

zy_status zy_session_decode(zy_session *s, int n_seq, const int *seqs, const int *tokens,
                            int n, float *logits) {
    zy_status st = check_decoder(s, "decode");
    if (st) return st;
    if (n_seq < 1 || n_seq > s->n_seq || n < 1 || !seqs || !tokens || !logits)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "decode: %d sequences of %d tokens (need "
                         "1..%d sequences and n >= 1)", n_seq, n, s->n_seq);
    int P = s->m->info.max_positions, V = s->m->info.vocab_size;
    for (int i = 0; i < n_seq; i++) {
        if ((st = check_seq(s, seqs[i], "decode"))) return st;
        for (int j = 0; j < i; j++)
            if (seqs[j] == seqs[i])
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "decode: sequence %d is given "
                                 "twice", seqs[i]);
        int pos = s->m->ops->seq_len(s, seqs[i]);
        if (n > P - pos)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "decode: sequence %d: %d cached + %d "
                             "new positions exceed max_positions = %d", seqs[i], pos, n, P);
        for (int t = 0; t < n; t++) {
            int id = tokens[(size_t)i * n + t];
            if (id < 0 || id >= V)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "decode: token id %d of sequence "
                                 "%d at position %d is outside [0, %d)", id, seqs[i], pos + t,
                                 V);
        }
    }
    return s->m->ops->decode(s, n_seq, seqs, tokens, n, logits);
}

void zy_session_seq_reset(zy_session *s, int seq) {
    if (check_decoder(s, "seq_reset") || seq < -1 || seq >= s->n_seq) return;
    s->m->ops->seq_reset(s, seq);
}

int zy_session_seq_len(const zy_session *s, int seq) {
    if (check_decoder(s, "seq_len") || seq < 0 || seq >= s->n_seq) return 0;
    return s->m->ops->seq_len(s, seq);
}

zy_status zy_session_seq_copy(zy_session *s, int dst, int src) {
    zy_status st = check_decoder(s, "seq_copy");
    if (st || (st = check_seq(s, dst, "seq_copy")) || (st = check_seq(s, src, "seq_copy")))
        return st;
    return dst == src ? ZY_STATUS_OK : s->m->ops->seq_copy(s, dst, src);
}

void zy_session_set_impl(zy_session *s, void *impl) { s->impl = impl; }
void *zy_session_impl(const zy_session *s) { return s->impl; }
bool zy_session_training(const zy_session *s) { return s->training; }
uint64_t zy_session_seed(const zy_session *s) { return s->seed; }
int zy_session_n_seq(const zy_session *s) { return s->n_seq; }
int zy_session_n_memory(const zy_session *s) { return s->n_memory; }
int zy_session_tokens(const zy_session *s) { return s->cap_tokens; }
float zy_session_label_smoothing(const zy_session *s) { return s->label_smoothing; }
zy_wtype zy_session_kv_cache_type(const zy_session *s) { return s->kv_cache; }

// ---- named metrics -----------------------------------------------------------------------

void zy_session_metrics(const zy_session *s, zy_metric_set *out) {
    memset(out, 0, sizeof *out);
    if (s->m->ops->metrics) s->m->ops->metrics(s, out);
}

const zy_metric *zy_metric_set_find(const zy_metric_set *set, const char *name) {
    for (int i = 0; set && name && i < set->n; i++)
        if (set->m[i].name && !strcmp(set->m[i].name, name)) return &set->m[i];
    return NULL;
}

void zy_metric_set_merge(zy_metric_set *acc, const zy_metric_set *add) {
    for (int i = 0; i < add->n; i++) {
        const zy_metric *a = &add->m[i];
        zy_metric *m = (zy_metric *)zy_metric_set_find(acc, a->name);
        if (!m) {
            if (acc->n == ZY_METRICS_MAX) continue;
            acc->m[acc->n++] = *a;
            continue;
        }
        double n = m->count + a->count;
        if (n > 0) m->value = (m->value * m->count + a->value * a->count) / n;
        m->count = n;
    }
}
