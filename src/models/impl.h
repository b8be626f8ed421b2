// Private to src/models: small pieces every model implementation (gpt.c, bert.c,
// marian.c, vit.c, speech.c) would otherwise write again: the weight and gradient views
// its layer structs are filled from, a tensor declaration from a shape, optional config
// fields, and the check that a fused q|k|v projection trains as one.
#ifndef ZHUYI_MODELS_IMPL_H
#define ZHUYI_MODELS_IMPL_H

#include "zhuyi/model.h"

// Tensor i's weights of model m (a const zy_model *) or gradient in session s (a
// zy_session *; NULL when frozen or not training), as the same pointer type: forward never
// writes the weights, so weights and gradients share one view struct. Signatures fit
// the views' `float *(*ptr)(const void *, int)`.
float *zy__weight_view(const void *m, int i);
float *zy__grad_view(const void *s, int i);

// Declare a tensor of ndim dims: decay = AdamW decays it (matmul and convolution
// weights); head = a task head's (optional in a file, zy_model_freeze_body keeps it
// trainable); a 2-D decayed tensor is also a weight type's `quantize` matrix. dims (NULL
// or the config fields behind the shape) for messages.
zy_status zy__tensor_add(zy_tensor_table *t, const char *name, int ndim, const int64_t *shape,
                         zy_init init, float std, bool decay, bool head, const char *dims);

// An optional config field: read into *out (range-checked as zy_config_get_*) when
// present, *out left as it is when absent.
zy_status zy__config_opt_int(const zy_config *c, const char *key, int lo, int hi, int *out);
zy_status zy__config_opt_float(const zy_config *c, const char *key, double lo, double hi,
                               float *out);

// hidden_act when present: "gelu" (erf: *tanh false) or "gelu_new" / "gelu_pytorch_tanh"
// (*tanh true); another is ZY_STATUS_UNSUPPORTED naming the config (name) and what the
// model is ("ViT"). Absent: *tanh unchanged.
zy_status zy__config_gelu(const zy_config *c, const char *name, const char *what, bool *tanh);

// Tensors t, t+1, t+2 (a fused projection's q, k, v weights or biases, adjacent: one
// gradient range) train together or not at all; else ZY_STATUS_UNSUPPORTED naming the
// first and who ("vit session").
zy_status zy__check_fused3(const zy_model *m, int t, const char *who);

#endif
