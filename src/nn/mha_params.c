// Multi-head attention parameter layout (PyTorch nn.MultiheadAttention order) and the
// conversions from Hugging Face checkpoints: BERT's separate query/key/value nn.Linear
// weights and GPT-2's fused Conv1D c_attn (stored transposed, (in, out)).
// Not a checkpoint reader: callers hand in the tensors they loaded.
#include <string.h>

#include "zhuyi/attention.h"

size_t zy_mha_param_count(int C) {
    return 3 * (size_t)C * C + 3 * (size_t)C + (size_t)C * C + (size_t)C;
}

// base (zy_mha_param_count(C)) -> in_proj_weight (3C,C) | in_proj_bias (3C) |
// out_proj_weight (C,C) | out_proj_bias (C)
void zy_mha_params_init(zy_mha_params *p, float *base, int C) {
    p->in_proj_weight = base;
    p->in_proj_bias = p->in_proj_weight + 3 * (size_t)C * C;
    p->out_proj_weight = p->in_proj_bias + 3 * (size_t)C;
    p->out_proj_bias = p->out_proj_weight + (size_t)C * C;
}

// Wq, Wk, Wv (C,C) nn.Linear (out,in); bq, bk, bv (C) or NULL -> in_proj_weight/bias
void zy_mha_from_separate(zy_mha_params *p, const float *Wq, const float *bq,
                          const float *Wk, const float *bk, const float *Wv, const float *bv,
                          int C) {
    const float *W[3] = {Wq, Wk, Wv}, *b[3] = {bq, bk, bv};
    size_t CC = (size_t)C * C;
    for (int i = 0; i < 3; i++) {
        memcpy(p->in_proj_weight + i * CC, W[i], CC * sizeof(float));
        if (b[i])
            memcpy(p->in_proj_bias + (size_t)i * C, b[i], (size_t)C * sizeof(float));
        else
            memset(p->in_proj_bias + (size_t)i * C, 0, (size_t)C * sizeof(float));
    }
}

// Conv1D computes x·W + b with W stored (in, out), so nn.Linear's (out, in) is Wᵀ.
// c_attn_w (C,3C), c_attn_b (3C), c_proj_w (C,C), c_proj_b (C)
void zy_mha_from_conv1d(zy_mha_params *p, const float *c_attn_w, const float *c_attn_b,
                        const float *c_proj_w, const float *c_proj_b, int C) {
    for (int o = 0; o < 3 * C; o++)
        for (int i = 0; i < C; i++)
            p->in_proj_weight[(size_t)o * C + i] = c_attn_w[(size_t)i * 3 * C + o];
    memcpy(p->in_proj_bias, c_attn_b, 3 * (size_t)C * sizeof(float));
    for (int o = 0; o < C; o++)
        for (int i = 0; i < C; i++)
            p->out_proj_weight[(size_t)o * C + i] = c_proj_w[(size_t)i * C + o];
    memcpy(p->out_proj_bias, c_proj_b, (size_t)C * sizeof(float));
}
