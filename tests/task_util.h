// Test helpers shared by the task-head tests (test_bert_heads*.c, test_gpt_heads.c): a
// pretrained directory's config turned into a task architecture's, the conversion, and
// comparing every tensor of a model with a reference dump.
#ifndef ZHUYI_TESTS_TASK_UTIL_H
#define ZHUYI_TESTS_TASK_UTIL_H

#include <stdbool.h>

#include "harness.h"
#include "zhuyi/model.h"

// dir/config.json with "architectures": [arch], "num_labels": K and, if problem is not
// NULL, "problem_type"; NULL (and a test failure) on error.
zy_config *zt_task_config(const char *dir, const char *arch, int K, const char *problem);
// zy_model_load_with_config(dir, zt_task_config(...)); NULL (and a failure) on error.
zy_model *zt_task_load(const char *dir, const char *arch, int K, const char *problem);
// Tensor `name` of m (by its table name), or NULL (and a failure).
float *zt_tensor(zy_model *m, const char *name, size_t *n);
// Copies the dump's "<prefix>.weight" / "<prefix>.bias" into the model's head tensors
// head_w / head_b (bias NULL: the head has none).
void zt_set_head(zy_model *m, zt_ref *r, const char *prefix, const char *head_w,
                 const char *head_b);
// CHECK_CLOSE of every tensor's gradient in s against "<prefix>.grad.<name>".
void zt_check_grads(zt_ref *r, zy_session *s, const char *prefix, double atol, double rtol);
// The output `name` of s with n values, or NULL (and a failure).
const float *zt_output(const zy_session *s, const char *name, size_t n);

#endif
