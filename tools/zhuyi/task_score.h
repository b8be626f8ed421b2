// Scoring a fine-tuned model's outputs over a whole evaluation set, for `zhuyi finetune`'s
// validation, `zhuyi eval` and `zhuyi predict`: the model's outputs of each batch of a
// one-pass source (zy_eval_params.on_forward) are turned into one prediction per example
// (a label, a set of labels or a number; a tag per word; an answer span, the best over
// the example's windows), then into the task's metrics (include/zhuyi/metrics.h), a
// report for people (confusion matrix, classification report) and JSON lines.
// Not here: the metrics themselves (src/eval), reading files (src/data/task*.c).
#ifndef ZHUYI_CLI_TASK_SCORE_H
#define ZHUYI_CLI_TASK_SCORE_H

#include <stdbool.h>
#include <stdio.h>

#include "strbuf.h"
#include "zhuyi/model.h"
#include "zhuyi/task.h"

typedef struct task_scorer task_scorer;

typedef struct task_scorer_params {
    const char *cmd;              // for messages
    zy_task task;
    zy_task_problem problem;      // classify
    const zy_task_data *data;     // the examples (borrowed)
    const zy_task_features *features; // the source's rows, in order (borrowed)
    const zy_label_set *labels;   // class or tag names (NULL for regression and qa)
    int max_answer;               // qa: longest answer span in tokens
} task_scorer_params;

// 0, or 1 after printing why (out of memory).
int task_scorer_create(task_scorer **out, const task_scorer_params *p);
void task_scorer_free(task_scorer *sc);
// Forget the predictions (before another pass over the same features).
void task_scorer_reset(task_scorer *sc);
// For zy_eval_params.on_forward (user = the scorer): reads the batch's outputs ("logits",
// or "start_logits" and "end_logits") for the next b->B features.
zy_status task_scorer_on_forward(const zy_batch *b, const zy_session *s, void *user);

// The task's metrics over the examples (labelled data, after a whole pass), appended to
// *out: classify accuracy, f1, precision, recall (macro over classes; multi-label: micro,
// and subset accuracy as accuracy), regression mse, mae, pearson; tag accuracy (tokens)
// and, when the tags are BIO-style, f1, precision, recall over entities (seqeval); qa
// exact_match and f1 (SQuAD v1.1, 0-100). 0, or 1 after printing why.
int task_scorer_metrics(task_scorer *sc, zy_metric_set *out);
// The metric a run keeps its best model by, by default: f1 for entities, multi-label and
// qa, mse for regression, accuracy otherwise.
const char *task_scorer_best_metric(const task_scorer *sc);
// Set metric `name` in m to (v, count): a metric of that name is replaced (the task's
// value over its examples is the one that counts), else appended while there is room.
void task_metric_put(zy_metric_set *m, const char *name, double v, double count);
// A report for people into text (and, for single-label classification, the confusion
// matrix as an SVG into svg when it is not NULL). 0, or 1 after printing why.
int task_scorer_report(task_scorer *sc, zy_strbuf *text, zy_strbuf *svg);
// Example i's prediction after a pass, for callers that write their own output (zhuyi
// serve); task_scorer_predictions writes the same values.
typedef struct task_prediction {
    int label;             // classify, single label: the argmax id
    float score;           // its probability; regression: the value; qa: the span's
                           // start + end logit (0 when no span was seen)
    const float *probs;    // classify: (K) softmax (single label) or sigmoid (multi-label);
                           // NULL for regression
    const uint8_t *chosen; // multi-label: (K) 1 for each label predicted
    size_t start, end;     // qa: the answer's character offsets in the context (end
    size_t byte_start, byte_end; // exclusive), and in bytes
} task_prediction;

// K: classes (labels), 1 (regression) or 2 (qa).
int task_scorer_classes(const task_scorer *sc);
const char *task_scorer_label(const task_scorer *sc, int id); // a class's or tag's name
void task_scorer_get(const task_scorer *sc, size_t i, task_prediction *out);
// tag: word w of example i's tag id and its probability (0 for a word truncation cut off).
int task_scorer_word(const task_scorer *sc, size_t i, int w, float *score);
// One JSON line per example, in file order, into f. 0, or 1 after printing why.
int task_scorer_predictions(task_scorer *sc, FILE *f);

#endif
