// Helpers shared by the metric files of src/eval (not public API).
#ifndef ZHUYI_EVAL_INTERNAL_H
#define ZHUYI_EVAL_INTERNAL_H

#include <stddef.h>

#include "zhuyi/metrics.h"

// Σ x[i * stride] (n values, stride in doubles) in numpy's pairwise order (the order of
// np.add.reduce over a float64 array: plain below 8 values, 8 accumulators up to 128,
// halves at multiples of 8 above), so means and weighted averages are bit-identical to
// numpy's.
double zy__pairwise_sum(const double *x, size_t n, size_t stride);

// p = tp / predicted, r = tp / support, f1 by the given rule; 0 for 0 denominators.
// f1_from_pr: 2 p r / (p + r) (seqeval); else 2 tp / (support + predicted) (sklearn).
void zy__class_score_finish(zy_class_score *s, int f1_from_pr);

// The averages of zy_scores (tp / predicted / support / micro / macro / weighted /
// classes) over the k classes cs[0..k-1]. scratch holds 4k doubles. micro f1 uses the
// same rule as the classes.
void zy__scores_average(zy_scores *out, const zy_class_score *cs, size_t k, int f1_from_pr,
                        double *scratch);

#endif
