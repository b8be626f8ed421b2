// Helpers shared by the metric files of src/eval (not public API).
#ifndef ZHUYI_EVAL_INTERNAL_H
#define ZHUYI_EVAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

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

// Python's str.isspace() (what str.split() and str.rstrip() strip): bidirectional class
// WS, B or S, or category Zs.
static inline int zy__py_isspace(int32_t c) {
    switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x1C: case 0x1D: case 0x1E:
    case 0x1F: case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return 1;
    }
    return c >= 0x2000 && c <= 0x200A;
}

// The code point at s[0..n) (n >= 1) and its length in bytes, or 0 when the bytes there are
// not UTF-8 (Python's strict decoder: no overlongs, surrogates or values past U+10FFFF).
size_t zy__utf8_next(const char *s, size_t n, int32_t *cp);

// BLEU's and chrF's argument checks (mt.c): NULL pointers, every string valid UTF-8, at least
// one reference per segment; `what` ("bleu", "chrf") starts the message. *nrefs = the
// references per segment, -1 when it varies.
zy_status zy__mt_check(const char *what, const char *const *hyps, size_t n,
                       const char *const *const *refs, size_t n_refs, int *nrefs);

#endif
