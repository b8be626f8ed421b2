// GPT2ForSequenceClassification: Hugging Face's classifier on GPT-2, the body unchanged
// (gpt_forward.c runs it and ln_f, then calls here):
//   logits (B, K) = score(ln_f(x)[b, last_b]),  score: nn.Linear(C, K, bias=False)
// with the three problem types of task_head.c (shared with BERT's sequence classifier).
// A LoRA adapter on score adds its product to the logits (lora.h).
//
// The last token: last_b = lengths[b] - 1 (every row is T long without lengths). Hugging
// Face finds it from pad_token_id instead (the position before the first pad token, T - 1
// when there is none; without a pad_token_id it accepts batches of one row only): the two
// agree when rows are right-padded with pad_token_id and the text itself never contains
// that id - which HF needs anyway, since a pad id inside the text would cut the row there.
// pad_token_id is read and written back so the directory works in HF; zhuyi never reads
// it. Causal attention keeps right padding from changing any position before it.
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "models/gpt_internal.h"

zy_status zy__gpt_read_task_config(const zy_config *c, gpt_hparams *h) {
    zy_status st;
    if (zy_config_has(c, "pad_token_id") &&
        (st = zy_config_get_int(c, "pad_token_id", 0, h->vocab_size - 1, &h->pad_token_id)))
        return st;
    return zy__labels_read(c, &h->labels);
}

zy_status zy__gpt_write_task_config(const gpt_hparams *h, zy_config *c) {
    zy_status st;
    if (h->pad_token_id >= 0 && (st = zy_config_set_int(c, "pad_token_id", h->pad_token_id)))
        return st;
    return zy__labels_write(&h->labels, c);
}

zy_status zy__gpt_task_check(const gpt_hparams *h, const zy_batch *b, zy__problem *problem) {
    for (int r = 0; b->lengths && r < b->B; r++)
        if (b->lengths[r] < 1)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gpt forward: row %d has length %d: "
                             "the classifier reads its last token, and it has none", r,
                             b->lengths[r]);
    return zy__seqcls_check(&h->labels, b, "gpt forward", problem);
}

zy_status zy__gpt_task_forward(gpt_session *g, const gpt_acts *a, const zy_batch *b,
                               zy__problem problem, float *loss, double *count) {
    int B = b->B, T = b->T, C = g->h.n_embd, K = g->h.labels.n;
    for (int r = 0; r < B; r++) {
        a->last[r] = (b->lengths ? b->lengths[r] : T) - 1;
        memcpy(a->cls_x + (size_t)r * C, a->lnf + ((size_t)r * T + a->last[r]) * C,
               (size_t)C * sizeof *a->cls_x);
    }
    zy_linear_forward(a->cls_logits, a->cls_x, g->ew.score, NULL, B, C, K);
    if (g->score_lora.A)
        zy_lora_forward(a->cls_logits, K, a->score_t, a->lora_scratch, a->cls_x, B,
                        &g->score_lora, g->p_lora, zy__gpt_site_seed(g, 1 + g->h.n_layer), 0);
    zy__seqcls_carve(&g->cls, a->cls_buf, g->cap_B, K);
    zy_status st = zy__seqcls_forward(&g->cls, problem, a->cls_logits, b);
    if (st) return st;
    *loss = g->cls.loss;
    *count = g->cls.count;
    return ZY_STATUS_OK;
}

void zy__gpt_task_backward(gpt_session *g, const gpt_acts *a, float scale) {
    int B = g->B, T = g->T, C = g->h.n_embd, K = g->h.labels.n;
    size_t bc = (size_t)B * C;
    memset(a->dcls, 0, (size_t)B * K * sizeof *a->dcls);
    zy__seqcls_backward(&g->cls, a->dcls, a->cls_logits, scale);
    memset(a->dcls_x, 0, bc * sizeof *a->dcls_x);
    zy_linear_backward(a->dcls_x, g->edw.score, NULL, a->dcls, a->cls_x, g->ew.score, B, C, K);
    if (g->score_lora.A)
        zy_lora_backward(a->dcls_x, a->lora_scratch, a->dcls, K, a->score_t, a->cls_x, B,
                         &g->score_lora, g->p_lora, zy__gpt_site_seed(g, 1 + g->h.n_layer), 0);
    memset(a->dln, 0, (size_t)B * T * C * sizeof *a->dln);
    for (int r = 0; r < B; r++)
        memcpy(a->dln + ((size_t)r * T + a->last[r]) * C, a->dcls_x + (size_t)r * C,
               (size_t)C * sizeof *a->dln);
}

void zy__gpt_metrics(const zy_session *s, zy_metric_set *out) {
    const gpt_session *g = zy_session_impl(s);
    if (g->h.seq_cls && g->outputs_ok) zy__seqcls_metrics(&g->cls, out);
}
