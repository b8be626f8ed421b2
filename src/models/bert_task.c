// BERT's task heads, Hugging Face's classes on top of the body (bert_forward.c runs the
// body and the pooler, then calls here):
//   BertForSequenceClassification  logits (B, K) = classifier(Drop(pooled))
//   BertForTokenClassification     logits (B, T, K) = classifier(Drop(hidden))
//   BertForQuestionAnswering       start, end (B, T) = qa_outputs(hidden)[..., 0 / 1]
// Drop is classifier_dropout (hidden_dropout_prob when null), drawn at dropout site L + 1.
// Losses (task_head.c, shared with GPT-2's classifier):
//   sequence: single-label CE over labels, multi-label BCE over values, regression MSE over
//             values (problem_type, or inferred as HF does);
//   token:    mean CE over targets (B, T), -1 not scored (a target at padding is an error);
//   QA:       (CE(start, span_starts) + CE(end, span_ends)) / 2, each a mean over its rows.
//             As HF, positions are clamped: below 0 to 0 (the [CLS] "no answer" position),
//             at or past the end to "not scored" - here the end is the row's length (HF's
//             T: its rows are padded to one length), since padded positions' logits are
//             set to BERT_QA_MASKED (-1e30), so they take no probability and never win.
// Metrics: "accuracy" (sequence single-label: rows; multi-label: rows with every label
// right; token: scored tokens), QA "start_accuracy", "end_accuracy" and "span_accuracy"
// (both right). Nothing allocates; buffers are carved in bert_forward.c.
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "kernels/argmax.h"
#include "models/bert_internal.h"

// ---- config ---------------------------------------------------------------------------------

zy_status zy__bert_read_task_config(const zy_config *c, bert_hparams *h) {
    zy_status st;
    h->cls_dropout = h->hidden_dropout;
    h->cls_dropout_set = zy_config_has(c, "classifier_dropout");
    if (h->cls_dropout_set &&
        (st = zy_config_get_float(c, "classifier_dropout", 0.0, 0.999, &h->cls_dropout)))
        return st;
    if ((st = zy__labels_read(c, &h->labels))) return st;
    h->n_out = h->labels.n;
    if (h->arch == BERT_QA && h->n_out != 2) {
        zy__labels_free(&h->labels);
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: BertForQuestionAnswering has num_labels = "
                         "2 (start and end logits), not %d (num_labels / id2label)",
                         zy_config_name(c), h->n_out);
    }
    if (h->arch != BERT_SEQ_CLS && h->labels.problem) {
        zy__labels_free(&h->labels);
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: problem_type is for sequence "
                         "classification; %s scores cross-entropy only",
                         zy_config_name(c), zy__bert_arch_names[h->arch]);
    }
    return ZY_STATUS_OK;
}

zy_status zy__bert_write_task_config(const bert_hparams *h, zy_config *c) {
    zy_status st = h->cls_dropout_set
                       ? zy_config_set_float(c, "classifier_dropout", h->cls_dropout)
                       : zy_config_set_null(c, "classifier_dropout");
    return st ? st : zy__labels_write(&h->labels, c);
}

// ---- batch checks ---------------------------------------------------------------------------

zy_status zy__bert_task_check(const bert_hparams *h, const zy_batch *b, zy__problem *problem) {
    *problem = ZY__PROBLEM_NONE;
    if (h->arch == BERT_SEQ_CLS) return zy__seqcls_check(&h->labels, b, "bert forward", problem);
    if (h->arch == BERT_QA && !b->span_starts != !b->span_ends)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert forward: question answering needs "
                         "both span_starts and span_ends (the batch has only %s)",
                         b->span_starts ? "span_starts" : "span_ends");
    return ZY_STATUS_OK; // token targets: check_batch (bert_forward.c), with the MLM's
}

// ---- forward --------------------------------------------------------------------------------

static uint64_t task_seed(const bert_session *g) {
    return zy__bert_site_seed(g, 1 + g->h.n_layer);
}

// A span position as scored: clamped as HF does, past the row's end not scored.
static int qa_target(int pos, int len) {
    if (pos < 0) pos = 0;
    return pos < len ? pos : -1;
}

static zy_status qa_forward(bert_session *g, const bert_acts *a, const float *x,
                            const zy_batch *b, float *loss, double *count) {
    const bert_weights *w = &g->ew;
    int B = g->B, T = g->T, C = g->h.hidden, N = B * T;
    size_t bt = (size_t)B * T;
    zy_linear_forward(a->task_logits, x, w->task_w, w->task_b, N, C, 2);
    zy__bert_lora_forward(g, a, BERT_LORA_TASK, &g->task_lora, a->task_t, a->task_logits, 2, x,
                          N);
    float *start = a->qa_logits, *end = a->qa_logits + bt;
    for (int r = 0; r < B; r++)
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)r * T + t;
            bool real = t < a->lengths[r];
            start[i] = real ? a->task_logits[2 * i] : BERT_QA_MASKED;
            end[i] = real ? a->task_logits[2 * i + 1] : BERT_QA_MASKED;
        }
    g->task_logits_ok = true;
    if (!b->span_starts) return ZY_STATUS_OK;
    g->qa_start = (zy__ce){.targets = a->qa_tg, .lse = a->qa_lse};
    g->qa_end = (zy__ce){.targets = a->qa_tg + B, .lse = a->qa_lse + B};
    for (int r = 0; r < B; r++) {
        a->qa_tg[r] = qa_target(b->span_starts[r], a->lengths[r]);
        a->qa_tg[B + r] = qa_target(b->span_ends[r], a->lengths[r]);
    }
    zy_status st;
    if ((st = zy__ce_forward(&g->qa_start, start, B, T)) ||
        (st = zy__ce_forward(&g->qa_end, end, B, T)))
        return st;
    g->qa_span_ok = 0;
    for (int r = 0; r < B; r++)
        g->qa_span_ok += a->qa_tg[r] >= 0 && a->qa_tg[B + r] >= 0 &&
                         zy__argmax(start + (size_t)r * T, T) == a->qa_tg[r] &&
                         zy__argmax(end + (size_t)r * T, T) == a->qa_tg[B + r];
    g->task_loss = true;
    *loss = 0.5f * (g->qa_start.loss + g->qa_end.loss);
    *count = ZY_MAX(g->qa_start.n, g->qa_end.n);
    return ZY_STATUS_OK;
}

zy_status zy__bert_task_forward(bert_session *g, const bert_acts *a, const float *x,
                                const zy_batch *b, zy__problem problem, float *loss,
                                double *count) {
    const bert_hparams *h = &g->h;
    const bert_weights *w = &g->ew;
    int B = g->B, T = g->T, C = h->hidden, K = h->n_out, N = B * T;
    *loss = 0;
    *count = 0;
    g->task_loss = g->task_logits_ok = false;
    g->seq.problem = ZY__PROBLEM_NONE;
    g->tok.n = 0;
    g->qa_start.n = g->qa_end.n = 0;
    if (h->arch == BERT_QA) return qa_forward(g, a, x, b, loss, count);
    bool seq = h->arch == BERT_SEQ_CLS;
    int R = seq ? B : N;
    const float *in = seq ? a->pooled : x;
    size_t n = (size_t)R * C;
    if (g->p_cls > 0) zy_dropout_forward(a->task_x, in, n, g->p_cls, task_seed(g), 0);
    else memcpy(a->task_x, in, n * sizeof *in);
    zy_linear_forward(a->task_logits, a->task_x, w->task_w, w->task_b, R, C, K);
    zy__bert_lora_forward(g, a, BERT_LORA_TASK, &g->task_lora, a->task_t, a->task_logits, K,
                          a->task_x, R);
    g->task_logits_ok = true;
    zy_status st;
    if (seq) {
        zy__seqcls_carve(&g->seq, a->seq_buf, g->cap_B, K);
        if ((st = zy__seqcls_forward(&g->seq, problem, a->task_logits, b))) return st;
        g->task_loss = problem != ZY__PROBLEM_NONE;
        *loss = g->seq.loss;
        *count = g->seq.count;
        return ZY_STATUS_OK;
    }
    if (!b->targets) return ZY_STATUS_OK;
    g->tok = (zy__ce){.targets = a->targets, .lse = a->tok_lse};
    if ((st = zy__ce_forward(&g->tok, a->task_logits, N, K))) return st;
    g->task_loss = true;
    *loss = g->tok.loss;
    *count = g->tok.n;
    return ZY_STATUS_OK;
}

// ---- backward -------------------------------------------------------------------------------

void zy__bert_task_backward(bert_session *g, const bert_acts *a, float scale) {
    const bert_hparams *h = &g->h;
    const bert_weights *w = &g->ew, *dw = &g->edw;
    int B = g->B, T = g->T, C = h->hidden, K = h->n_out, N = B * T;
    if (h->arch == BERT_QA) {
        size_t bt = (size_t)B * T;
        float *dstart = a->dqa, *dend = a->dqa + bt;
        memset(a->dqa, 0, 2 * bt * sizeof *a->dqa);
        zy__ce_backward(&g->qa_start, dstart, a->qa_logits, 0.5f * scale);
        zy__ce_backward(&g->qa_end, dend, a->qa_logits + bt, 0.5f * scale);
        for (size_t i = 0; i < bt; i++) {
            a->dtask[2 * i] = dstart[i];
            a->dtask[2 * i + 1] = dend[i];
        }
        const float *x = a->res + (size_t)h->n_layer * a->res_stride;
        zy_linear_backward(a->dres, dw->task_w, dw->task_b, a->dtask, x, w->task_w, N, C, 2);
        zy__bert_lora_backward(g, a, BERT_LORA_TASK, &g->task_lora, a->task_t, a->dres, a->dtask,
                               2, x, N);
        return;
    }
    bool seq = h->arch == BERT_SEQ_CLS;
    int R = seq ? B : N;
    size_t rk = (size_t)R * K, rc = (size_t)R * C;
    memset(a->dtask, 0, rk * sizeof *a->dtask);
    if (seq) zy__seqcls_backward(&g->seq, a->dtask, a->task_logits, scale);
    else zy__ce_backward(&g->tok, a->dtask, a->task_logits, scale);
    memset(a->d1, 0, rc * sizeof *a->d1);
    zy_linear_backward(a->d1, dw->task_w, dw->task_b, a->dtask, a->task_x, w->task_w, R, C, K);
    zy__bert_lora_backward(g, a, BERT_LORA_TASK, &g->task_lora, a->task_t, a->d1, a->dtask, K,
                           a->task_x, R);
    // Through the dropout (p = 0 passes the gradient through) into the pooled output
    // (sequence: the pooler's backward follows) or the hidden states.
    zy_dropout_backward(seq ? a->dpooled : a->dres, a->d1, rc, g->p_cls, task_seed(g), 0);
}

// ---- metrics and outputs --------------------------------------------------------------------

void zy__bert_task_metrics(const bert_session *g, zy_metric_set *out) {
    if (g->h.arch == BERT_SEQ_CLS) {
        zy__seqcls_metrics(&g->seq, out);
    } else if (g->h.arch == BERT_TOKEN_CLS && g->task_loss_scored) {
        double n = g->tok.n;
        out->m[out->n++] = (zy_metric){"accuracy", n ? g->tok.correct / n : 0, n};
    } else if (g->h.arch == BERT_QA && g->task_loss_scored) {
        double ns = g->qa_start.n, ne = g->qa_end.n, nb = 0;
        for (int r = 0; r < g->B; r++) nb += g->qa_start.targets[r] >= 0 &&
                                             g->qa_end.targets[r] >= 0;
        out->m[out->n++] = (zy_metric){"start_accuracy", ns ? g->qa_start.correct / ns : 0, ns};
        out->m[out->n++] = (zy_metric){"end_accuracy", ne ? g->qa_end.correct / ne : 0, ne};
        out->m[out->n++] = (zy_metric){"span_accuracy", nb ? g->qa_span_ok / nb : 0, nb};
    }
}

const float *zy__bert_task_output(const bert_session *g, const char *name, int *ndim,
                                  int64_t *shape) {
    if (!g->task_logits_ok) return NULL;
    bert_acts a = zy__bert_acts(g);
    int64_t sh[3] = {g->B, g->T, g->h.n_out};
    int nd;
    const float *out;
    if (g->h.arch == BERT_QA && !strcmp(name, "start_logits")) {
        out = a.qa_logits, nd = 2;
    } else if (g->h.arch == BERT_QA && !strcmp(name, "end_logits")) {
        out = a.qa_logits + (size_t)g->B * g->T, nd = 2;
    } else if (g->h.arch != BERT_QA && !strcmp(name, "logits")) {
        out = a.task_logits;
        nd = g->h.arch == BERT_SEQ_CLS ? 2 : 3;
        if (nd == 2) sh[1] = g->h.n_out;
    } else {
        return NULL;
    }
    if (ndim) *ndim = nd;
    if (shape) memcpy(shape, sh, (size_t)nd * sizeof *sh);
    return out;
}
