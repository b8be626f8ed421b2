// DIR/metrics.jsonl (one JSON object per line: {"step","loss","lr","ms","tokens_per_s"}
// and the model's named metrics (zy_session_metrics, e.g. "mlm_accuracy") per training
// step, {"step","loss":null,"skipped":true,"lr"} per step skipped for a non-finite loss
// (a NaN loss given to zy_metrics_step), {"step","val_loss"} and "val_" + each metric
// per evaluation) kept in memory as well (the losses), and the DIR/loss.svg plot drawn
// from it (svg.c). Not here: the terminal display (progress.c).
#ifndef ZHUYI_CLI_METRICS_H
#define ZHUYI_CLI_METRICS_H

#include <stddef.h>
#include <stdio.h>

#include "zhuyi/model.h"

typedef struct zy_metrics {
    FILE *f;               // metrics.jsonl, appended and flushed line by line
    long *step;            // (n) training steps
    float *loss;           // (n) their losses
    size_t n, cap;
    long *vstep;           // (vn) evaluation steps
    float *vloss;          // (vn) validation losses
    float *vmetric;        // (vn) the validation metric vname (NaN where absent)
    size_t vn, vcap;
    char vname[64];        // a metric plotted beside the loss ("": none)
} zy_metrics;

// Open DIR/metrics.jsonl. Fresh run (keep_upto < 0): start an empty file. Resumed run:
// keep the lines of steps <= keep_upto (a crash may have left later ones, or half a line),
// rewriting the file atomically, and load them as history. metric (NULL or "loss": none):
// a validation metric kept too, drawn as a second chart. dir NULL: kept in memory only
// (no file). 0 on success, else prints why.
int zy_metrics_open(zy_metrics *m, const char *dir, long keep_upto, const char *metric);
// named (may be NULL): the model's metrics of the step / the evaluation; those with count 0
// are left out.
int zy_metrics_step(zy_metrics *m, long step, float loss, float lr, double ms, double tok_s,
                    const zy_metric_set *named);
int zy_metrics_val(zy_metrics *m, long step, float val_loss, const zy_metric_set *named);
void zy_metrics_close(zy_metrics *m);

// Write an SVG line chart of the training loss (raw, faint, and smoothed) and the
// validation loss (points joined by a line), and one of the validation metric vname if
// set, to path, atomically. 0 on success.
int zy_svg_loss(const char *path, const zy_metrics *m);
// The smoothed line of that chart: x (n) -> out (n), an exponential moving average with
// decay beta in [0, 1), bias-corrected so out[0] == x[0] and every out[t] is the weighted
// mean of x[0..t] with weights beta^(t-i).
void zy_svg_smooth(float *out, const float *x, size_t n, double beta);

#endif
