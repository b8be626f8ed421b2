// Private to src/models: what the task heads of every model type share, written once and
// used by BERT (bert_task.c) and GPT-2 (gpt_task.c):
// - the label fields of config.json as Hugging Face's PretrainedConfig reads and writes
//   them (num_labels, id2label, label2id, problem_type);
// - sequence classification's three problem types over logits (B, K): single-label
//   (cross-entropy over batch labels), multi-label (BCE with logits over batch values),
//   regression (MSE over batch values), with HF's rule when problem_type is absent;
// - cross-entropy over rows with -1 not scored and argmax accuracy (token classification,
//   question answering's start and end positions, single-label classification).
// Each keeps copies of what backward needs in buffers the model carves from its
// activation block (nothing allocates in forward or backward).
#ifndef ZHUYI_MODELS_TASK_HEAD_H
#define ZHUYI_MODELS_TASK_HEAD_H

#include "zhuyi/model.h"

// config.json "problem_type".
typedef enum zy__problem {
    ZY__PROBLEM_NONE = 0,     // absent (or null): inferred from each batch (zy__seqcls_check)
    ZY__PROBLEM_SINGLE_LABEL, // "single_label_classification"
    ZY__PROBLEM_MULTI_LABEL,  // "multi_label_classification"
    ZY__PROBLEM_REGRESSION,   // "regression"
} zy__problem;

extern const char *const zy__problem_names[]; // by zy__problem (NONE: NULL)

// The labels of a task head.
typedef struct zy__labels {
    int n;               // num_labels (K)
    zy__problem problem; // as configured
    char **names;        // (n) id2label values, one allocation with their text (zy_free)
} zy__labels;

#define ZY__MAX_LABELS (1 << 20)

// Reads num_labels, id2label, label2id and problem_type as HF does: K = the size of
// id2label when it is there (num_labels, if also present, must agree: HF only warns),
// else of label2id, else num_labels, else 2; names "LABEL_i" when no map gives them.
// id2label's keys must be "0" .. "K-1" once each and its names distinct; label2id must be
// its inverse. Errors name the file and the field. On success l->names is allocated.
zy_status zy__labels_read(const zy_config *c, zy__labels *l);
// Writes id2label, label2id and, when set, problem_type (HF writes no num_labels: it is
// id2label's size).
zy_status zy__labels_write(const zy__labels *l, zy_config *c);
zy_status zy__labels_copy(zy__labels *dst, const zy__labels *src);
void zy__labels_free(zy__labels *l);

// ---- cross-entropy over rows ----------------------------------------------------------------
typedef struct zy__ce {
    int *targets; // (R) the scored class of each row, -1 not scored (filled by the caller)
    float *lse;   // (R)
    int R, K;     // of the last forward
    int n, correct; // rows scored, and of them the ones whose argmax is the target
    float loss;   // mean over the scored rows (0 if none)
} zy__ce;

// Loss and accuracy of logits (R, K) against c->targets (checked by the caller).
zy_status zy__ce_forward(zy__ce *c, const float *logits, int R, int K);
// dlogits (R, K) += scale · ∂loss/∂logits.
void zy__ce_backward(const zy__ce *c, float *dlogits, const float *logits, float scale);

// ---- sequence classification --------------------------------------------------------------
typedef struct zy__seqcls {
    zy__ce ce;           // single-label: targets (B) = the batch labels
    float *values;       // (B, K) multi-label / regression targets, copied
    zy__problem problem; // resolved for the last forward (NONE: it scored nothing)
    int B, K;
    float loss;          // mean over `count` items
    double count;        // rows (single-label), B·K values (multi-label, regression)
    int exact;           // multi-label: rows whose every decision (logit > 0) is right
} zy__seqcls;

// Floats of the buffers for B rows of K labels (zy__seqcls_carve's share, a multiple of 16).
size_t zy__seqcls_floats(int B, int K);
void zy__seqcls_carve(zy__seqcls *h, float *base, int B, int K);
// The problem a batch is scored as, its targets checked before the model writes anything.
// problem_type when set, else HF's rule: K = 1 regression; batch labels (integers)
// single-label; batch values (floats) multi-label. Single-label reads labels, in [0, K) or
// -1 (not scored; errors name (b, label)); multi-label and regression read values (B, K),
// n_values == K, finite and for multi-label in [0, 1] (errors name (b, k, value)). A batch
// without the field its problem reads is an error naming the field if it carries the other
// one, else *problem = NONE: outputs only, no loss. `who` starts messages ("bert forward").
zy_status zy__seqcls_check(const zy__labels *l, const zy_batch *b, const char *who,
                           zy__problem *problem);
// The loss of logits (B, K) for the batch as checked: copies its targets, sets h->loss,
// h->count and the accuracy counts.
zy_status zy__seqcls_forward(zy__seqcls *h, zy__problem problem, const float *logits,
                             const zy_batch *b);
// dlogits (B, K) += scale · ∂loss/∂logits (nothing if the forward scored nothing).
void zy__seqcls_backward(const zy__seqcls *h, float *dlogits, const float *logits,
                         float scale);
// "accuracy": single-label, over the scored rows; multi-label, the rows whose every
// label is decided right (logit > 0 iff value >= 0.5; subset accuracy). Regression: none.
void zy__seqcls_metrics(const zy__seqcls *h, zy_metric_set *out);

#endif
