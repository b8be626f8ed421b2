// Private to src/nn: the adapters of one linear layer of a block as the block's passes
// run them (lora.c): which adapters, their saved products t, dropout streams and scratch.
// The attention in-projection hands a run to mha.c, whose fused (3C) projection is split
// between the query and key/value inputs for cross-attention.
#ifndef ZHUYI_NN_LORA_INTERNAL_H
#define ZHUYI_NN_LORA_INTERNAL_H

#include "zhuyi/attention.h"

typedef struct zy__lora_run {
    int n;                             // adapters (0: none, the rest unused)
    const zy_lora *a;                  // (n)
    float *t[ZY_BLOCK_LORA_MAX];       // each adapter's saved (rows, r) product
    uint64_t seed[ZY_BLOCK_LORA_MAX];  // each adapter's dropout stream
    float p;                           // dropout on the adapters' input
    uint64_t offset;                   // the block's dropout offset
    float *scratch;                    // forward: drop(x); backward: zy_lora_backward's
} zy__lora_run;

// The adapters of r whose columns lie in [lo, hi) of the layer's output, on x (N, in):
// y (N, ·) of stride ldy, whose column 0 is the layer's column lo, +=; t saved.
void zy__lora_run_forward(const zy__lora_run *r, float *y, int ldy, int lo, int hi,
                          const float *x, int N);
// The same adapters backward: dy (N, ·) as y -> dx (N, in) += (NULL: skipped), dA, dB +=.
void zy__lora_run_backward(const zy__lora_run *r, float *dx, const float *dy, int ldy, int lo,
                           int hi, const float *x, int N);

#endif
