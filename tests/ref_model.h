// Reference dumps against a model's tensor table: every tensor of a flat array (weights,
// gradients, weights after a step) compared with the dump's tensor of the same Hugging
// Face name, in the Hugging Face layout. Shared by the GPT and BERT reference tests.
#ifndef ZHUYI_TESTS_REF_MODEL_H
#define ZHUYI_TESTS_REF_MODEL_H

#include "harness.h"
#include "zhuyi/model.h"

// Tensor t of the flat array base in the Hugging Face layout (GPT-2's Conv1D weights,
// stored transposed, back to (in, out)) -> out (t->count).
void zt_hf_layout(float *out, const float *base, const zy_tensor *t);

// The dump's tensor "<prefix><t's name>", or NULL after recording a failure if it is
// missing or does not hold t->count values.
const float *zt_ref_tensor(zt_ref *r, const char *prefix, const zy_tensor *t);

// CHECK_CLOSE of every tensor of the model's array base against "<prefix><name>" in the
// dump (a failure if missing or of another size). grad_prefix, if not NULL: elements
// whose reference gradient "<grad_prefix><name>" is below 1e-7 in magnitude are not
// compared, and their count is noted. That is for weights after AdamW's first step,
// lr·g/(|g| + eps): for a gradient that is exactly 0 in exact arithmetic, such as the
// attention key bias's, float noise of 1e-9 moves the weight by ~0.1·lr while float64
// moves it by nothing.
void zt_ref_check_tensors(zt_ref *r, const zy_model *m, const float *base, const char *prefix,
                          const char *grad_prefix, double atol, double rtol);

#endif
