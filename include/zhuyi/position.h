// zhuyi positional encodings that have no parameters: the sinusoidal table of the original
// Transformer and rotary embeddings (RoPE). The learned table is zy_embedding_* in nn.h.
// Angles are computed in double and rounded once to float, so positions in the tens of
// thousands keep full float precision (Hugging Face builds them in float32 and differs
// by up to about pos·2⁻²⁴ radians).
#ifndef ZHUYI_POSITION_H
#define ZHUYI_POSITION_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- sinusoidal (Vaswani et al. 2017) ---------------------------------------------------
// table (T, C), row t = PE(offset + t):
//   PE(pos, 2i)   = sin(pos / 10000^(2i/C))
//   PE(pos, 2i+1) = cos(pos / 10000^(2i/C))
// (odd C: the last column is a sine). offset >= 0 is the position of the first row, so
// incremental decoding asks for row `offset` alone.
void zy_sinusoid_table(float *table, int T, int C, int offset);
// The same angles in the layout of Hugging Face's Marian (and BART-style sinusoidal)
// embeddings: sines in the first ceil(C/2) columns, cosines in the rest,
//   row t, column i          = sin(pos / 10000^(2i/C)),  i < ceil(C/2)
//   row t, column ceil(C/2)+i = cos(pos / 10000^(2i/C)),  i < floor(C/2)
void zy_sinusoid_table_split(float *table, int T, int C, int offset);
// inp (B, T, C) -> out (B, T, C) = inp + PE(offset + t); out may alias inp. No table is
// needed (angles are computed on the fly).
void zy_sinusoid_add_forward(float *out, const float *inp, int B, int T, int C, int offset);
// dinp (B, T, C) += dout (the encoding is a constant).
void zy_sinusoid_add_backward(float *dinp, const float *dout, int B, int T, int C);

// ---- rotary embeddings (Su et al. 2021, "RoFormer") -------------------------------------
// Rotates pairs of features of q or k by angles pos·θ_i, θ_i = base^(-2i/R), i < R/2,
// where R = rot_dim features are rotated and the rest (D - R) pass through unchanged
// (GPT-NeoX's rotary_pct). Which features pair up:
//   ZY_ROPE_NEOX ("rotate half", GPT-NeoX, LLaMA, Hugging Face): x_i with x_{i+R/2}
//       out_i       = x_i cos - x_{i+R/2} sin
//       out_{i+R/2} = x_{i+R/2} cos + x_i sin
//   ZY_ROPE_GPTJ (interleaved, GPT-J, the RoFormer paper): x_{2i} with x_{2i+1}
//       out_{2i} = x_{2i} cos - x_{2i+1} sin,  out_{2i+1} = x_{2i+1} cos + x_{2i} sin
// Then q_m·k_n depends on positions only through m - n.
typedef enum zy_rope_style {
    ZY_ROPE_NEOX = 0,
    ZY_ROPE_GPTJ = 1,
} zy_rope_style;

typedef struct zy_rope_params {
    int rot_dim;         // R: features rotated, even, <= D; 0 means all D
    float base;          // θ base; 10000 by default
    int offset;          // position of the first of the T rows (KV-cache decoding), >= 0
    zy_rope_style style; // ZY_ROPE_NEOX by default
} zy_rope_params;

zy_rope_params zy_rope_default_params(void);

// inp (BH, T, D) -> out (BH, T, D), row t at position offset + t; out may alias inp.
// ZY_STATUS_INVALID_ARGUMENT for an odd or too large rot_dim, a bad base or negative sizes.
zy_status zy_rope_forward(float *out, const float *inp, int BH, int T, int D,
                          zy_rope_params p);
// dout (BH, T, D) -> dinp (BH, T, D) += the inverse rotation of dout (a rotation's
// Jacobian is itself; its transpose rotates back by -pos·θ). dinp must not alias dout.
zy_status zy_rope_backward(float *dinp, const float *dout, int BH, int T, int D,
                           zy_rope_params p);

#ifdef __cplusplus
}
#endif
#endif
