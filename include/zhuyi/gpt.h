// zhuyi GPT: the GPT-2 architecture (token + learned position embeddings, pre-LN blocks
// with causal multi-head attention and a GELU-tanh MLP, final layernorm, LM head tied to
// the token embedding), with forward, backward, KV-cache decoding, and model directories
// in the Hugging Face GPT-2 layout (config.json + model.safetensors + tokenizer.json).
//
// Parameters live in ONE flat float array in a fixed order (zy_gpt_tensor_*), gradients
// in a second array of the same layout, so optimizers are one loop and checkpoints a few
// large writes. Activations are sized once by zy_gpt_prepare(B, T): forward, backward and
// decoding never allocate.
#ifndef ZHUYI_GPT_H
#define ZHUYI_GPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zy_gpt_config {
    int n_layer;              // L
    int n_head;               // H
    int n_embd;               // C (C % H == 0)
    int n_positions;          // maximum sequence length T
    int vocab_size;           // V
    float layer_norm_epsilon; // 1e-5
    float dropout;            // embedding, attention-weight and residual dropout (HF's
                              // embd_pdrop / attn_pdrop / resid_pdrop; one value here)
} zy_gpt_config;

// Presets: "gpt2-124m" (12/12/768, T 1024, V 50257), "gpt2-medium" (24/16/1024),
// "gpt2-large" (36/20/1280), "gpt2-xl" (48/25/1600), and small ones for CPU experiments:
// "gpt-mini" (6/6/384, T 256), "gpt-micro" (4/4/128, T 128), "gpt-nano" (3/3/48, T 64).
// vocab_size of the small presets is 0: the caller sets it from the tokenizer.
zy_status zy_gpt_config_preset(const char *name, zy_gpt_config *out);
// Read / write config.json with Hugging Face GPT-2 field names (model_type "gpt2",
// n_layer, n_head, n_embd, n_positions, vocab_size, layer_norm_epsilon, *_pdrop,
// activation_function "gelu_new", architectures ["GPT2LMHeadModel"], ...). Unknown fields
// are ignored; a wrong model_type or missing/invalid field is an error naming it.
zy_status zy_gpt_config_load(const char *path, zy_gpt_config *out);
zy_status zy_gpt_config_save(const char *path, const zy_gpt_config *c);
// Checks the numbers (positive sizes, C % H == 0, ...), naming the bad field.
zy_status zy_gpt_config_validate(const zy_gpt_config *c);

typedef struct zy_gpt zy_gpt;

// A model with zeroed parameters and gradients (call zy_gpt_init_weights or load).
zy_status zy_gpt_create(zy_gpt **out, const zy_gpt_config *c);
void zy_gpt_free(zy_gpt *m);
const zy_gpt_config *zy_gpt_get_config(const zy_gpt *m);

// GPT-2 initialisation from a seed: weights N(0, 0.02), residual projections
// (attn.c_proj, mlp.c_proj) N(0, 0.02/√(2L)), biases 0, layernorm gains 1.
void zy_gpt_init_weights(zy_gpt *m, uint64_t seed);

// The flat parameter and gradient arrays (n floats each, same layout).
float *zy_gpt_params(zy_gpt *m, size_t *n);
float *zy_gpt_grads(zy_gpt *m, size_t *n);
void zy_gpt_zero_grads(zy_gpt *m);

// The named tensors of the layout, in order, with Hugging Face GPT2LMHeadModel names
// ("transformer.wte.weight", "transformer.h.0.attn.c_attn.weight", ...) and HF shapes.
// `transposed`: stored here as (out, in) while HF's Conv1D stores (in, out).
typedef struct zy_gpt_tensor {
    const char *name;
    int ndim;
    int64_t shape[2]; // the Hugging Face shape
    size_t offset;    // first float in the flat array
    size_t count;
    bool transposed;
    bool decay;       // true for matmul weights (AdamW weight decay); false for biases,
                      // layernorm gains/biases and embeddings
} zy_gpt_tensor;
int zy_gpt_tensor_count(const zy_gpt *m);
const zy_gpt_tensor *zy_gpt_tensor_at(const zy_gpt *m, int i);

// Parameter groups for the optimizer: decayed ranges get weight_decay, the rest 0.
// Returns the number of groups written (at most max).
int zy_gpt_param_groups(const zy_gpt *m, float weight_decay, zy_param_group *groups, int max);

// ---- model directories (Hugging Face GPT-2 layout) ---------------------------------------
// dir/config.json + dir/model.safetensors (F32, F16 or BF16; names with or without the
// "transformer." prefix; "lm_head.weight" if present must equal wte). Errors name the file
// and tensor (missing tensor, shape mismatch with config.json, ...).
zy_status zy_gpt_load(zy_gpt **out, const char *dir);
// Writes config.json and model.safetensors (F32, GPT2LMHeadModel names, with
// lm_head.weight omitted as HF does for tied weights), each atomically; creates dir.
zy_status zy_gpt_save(const zy_gpt *m, const char *dir);

// ---- training ---------------------------------------------------------------------------
// Size the activations for batches of up to B sequences of up to T tokens (T <=
// n_positions). Allocates; call before the first forward (again to grow).
zy_status zy_gpt_prepare(zy_gpt *m, int B, int T);
// Dropout on (training) or off (evaluation). The seed picks this step's masks: the same
// (seed, inputs) give the same forward and backward.
void zy_gpt_set_dropout(zy_gpt *m, bool training, uint64_t seed);
// inputs (B,T) token ids; targets (B,T) or NULL (ids, -1 = ignored). Computes logits
// (B,T,V) and, with targets, *loss = mean cross-entropy over non-ignored targets.
// Bad ids return ZY_STATUS_INVALID_ARGUMENT naming (b, t, id).
zy_status zy_gpt_forward(zy_gpt *m, const int *inputs, const int *targets, int B, int T,
                         float *loss);
// After a forward with targets: adds d(loss)/d(params) * loss_scale into the gradients
// (loss_scale = 1/accumulation_steps for gradient accumulation).
zy_status zy_gpt_backward(zy_gpt *m, float loss_scale);
// The logits (B,T,V) of the last forward. zy_gpt_backward overwrites them with their
// gradient (saving B·T·V floats), so read them before calling backward.
const float *zy_gpt_logits(const zy_gpt *m);

// ---- incremental decoding (KV cache) ----------------------------------------------------
// Forget the cached positions (start a new sequence). Decoding uses batch 1. The first
// zy_gpt_decode allocates the cache ((L, 2, n_positions, C) floats) and a fixed scratch;
// later calls allocate nothing. Decoding never uses dropout.
void zy_gpt_cache_reset(zy_gpt *m);
// Number of positions in the cache.
int zy_gpt_cache_len(const zy_gpt *m);
// Append n tokens (the prompt, then one at a time) and write the logits of the LAST one
// to logits (V). Error if the cache would exceed n_positions.
zy_status zy_gpt_decode(zy_gpt *m, const int *tokens, int n, float *logits);

// FLOPs of one training step (forward + backward) for B x T tokens, for reports.
double zy_gpt_train_flops(const zy_gpt_config *c, int B, int T);

#ifdef __cplusplus
}
#endif
#endif
