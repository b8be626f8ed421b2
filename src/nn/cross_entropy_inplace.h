// Private to src (models with a vocabulary-wide head): the cross-entropy backward written
// over the logits themselves, so a language-model head keeps one (N, V) buffer instead of
// logits and their gradient (4·N·V bytes saved; 125 MB for BERT-base at B=8, T=128).
// Not public API: the op pairs of nn.h add into a separate gradient.
#ifndef ZHUYI_NN_CROSS_ENTROPY_INPLACE_H
#define ZHUYI_NN_CROSS_ENTROPY_INPLACE_H

#include <stddef.h>

// Rows are split into this many fixed chunks (results do not depend on the thread count);
// each chunk needs one scratch row.
#define ZY__XENT_INPLACE_CHUNKS 16

// Floats of the scratch `rows` below: ZY__XENT_INPLACE_CHUNKS rows of V rounded up to 16.
size_t zy__cross_entropy_inplace_floats(int V);

// logits (N, V), lse (N) and targets (N) (-1 = ignored) as given to / returned by
// zy_cross_entropy_forward (with the same label_smoothing) -> logits overwritten by dloss · ∂loss/∂logits, the loss being
// the mean over the n_valid scored rows (ignored rows become zeros). rows: scratch.
void zy__cross_entropy_backward_inplace(float *logits, float *rows, const float *lse,
                                        const int *targets, int N, int V, int n_valid,
                                        float label_smoothing, float dloss);

#endif
