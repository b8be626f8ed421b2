// zhuyi LoRA: low-rank adapters on the linear layers of any model, in PEFT's files.
//
// An adapter on a linear layer y = W·x (+ b), W stored (out, in), adds
//   y += scale · B·(A·drop(x)),   A (r, in), B (out, r),   scale = alpha / r
// (alpha / sqrt(r) with use_rslora). A is drawn as PEFT draws it (Kaiming-uniform with
// a = sqrt(5): U(-1/sqrt(in), 1/sqrt(in))) from the seed, B starts at zero, so a new
// adapter leaves the model's outputs unchanged. The base weights stay where they are,
// frozen: no gradient, no optimizer moments, no copy.
//
// The adapter tensors are entries of the model's own tensor table (after the base
// model's), so the trainer, optimizer groups, checkpoints and resume treat them as any
// other trainable tensor. A model with an adapter is saved as its adapter:
// zy_model_save writes a PEFT adapter directory (adapter_config.json,
// adapter_model.safetensors with PEFT's names, and config.json of the adapted
// architecture, so a task head's labels survive), and zy_model_load of such a directory
// loads the base model adapter_config.json names and the adapter on top. A training
// run's checkpoints of an adapted model are adapter directories. Formats:
// docs/FORMATS.md; where adapters live and how models apply them: docs/ARCHITECTURE.md.
#ifndef ZHUYI_LORA_H
#define ZHUYI_LORA_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "hf.h"
#include "model.h"
#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

// PEFT's "bias": which biases train beside the adapters.
typedef enum zy_lora_bias {
    ZY_LORA_BIAS_NONE = 0,      // none
    ZY_LORA_BIAS_ALL = 1,       // every bias of the model
    ZY_LORA_BIAS_LORA_ONLY = 2, // the biases of the adapted layers
} zy_lora_bias;

typedef struct zy_lora_config {
    int r;            // rank (8)
    float alpha;      // lora_alpha (8)
    float dropout;    // lora_dropout on the adapter's input, in [0, 1) (0)
    bool use_rslora;  // scale alpha / sqrt(r) instead of alpha / r (false)
    // Comma-separated module-name suffixes, as PEFT's target_modules: "c_attn,c_proj"
    // adapts every linear layer whose module name (the weight's name without ".weight")
    // is or ends in ".c_attn" or ".c_proj"; "all-linear": every linear layer but the
    // heads. NULL: the model type's default (PEFT's: GPT-2 "c_attn", BERT "query,value").
    const char *targets;
    zy_lora_bias bias;
    // Comma-separated module names that train in full beside the adapter (PEFT's
    // modules_to_save, e.g. "classifier"). NULL: the architecture's task head, if any
    // (classifier, qa_outputs, score); "" none. Either way, the modules of tensors the
    // base's file lacks (initialised at load: a new head, BERT's pooler under a
    // BertForMaskedLM) are added: the base cannot give them back, so they train in
    // full and are saved with the adapter (an adapted weight the file lacks is an error).
    const char *modules_to_save;
    uint64_t seed;    // A's initial values (0)
    // adapter_config.json's base_model_name_or_path (the base model's directory); NULL:
    // the directory the base was loaded from.
    const char *base_model_name_or_path;
} zy_lora_config;

zy_lora_config zy_lora_default_config(void);

// The model in dir (config: as zy_model_load_with_config, NULL for dir's config.json)
// with a new adapter: A initialised from lc->seed, B zero; every base tensor frozen
// except modules_to_save and the biases lc->bias names (bias "all": every tensor named
// "*.bias"). Every target must match a linear layer the model adapts (GPT-2: c_attn,
// c_proj, c_fc and a classifier's score; BERT: query, key, value, every dense, the NSP
// head and the task heads; "all-linear": all of them but the heads); errors: a target
// that matches none (the message lists the model's linear layers), a modules_to_save
// name that matches nothing (but PEFT's automatic "classifier", "score", "qa_outputs"),
// a module both adapted and in modules_to_save, r outside [1, 65536], alpha <= 0,
// dropout outside [0, 1).
zy_status zy_model_load_lora(zy_model **out, const char *dir, const zy_config *config,
                             const zy_lora_config *lc);
// The base model (base_dir; NULL: adapter_config.json's base_model_name_or_path, a
// relative path tried against the working directory, then against adapter_dir, where it
// is found becoming the absolute path the model's config keeps) with the adapter of
// adapter_dir, as the architecture of adapter_dir/config.json (the base's when it has
// none). zy_model_load(adapter_dir) is this with base_dir NULL. Errors name the file and
// the field or tensor: an unknown peft_type or a bad field names the field, a variant
// zhuyi does not run (DoRA, rank_pattern, ...) is ZY_STATUS_UNSUPPORTED naming it, an
// adapter written for another base model (shapes differ) names the tensor and both
// shapes (checked before the parameters are allocated). Loaded as trainable as
// zy_model_load_lora leaves it (resume goes on training).
zy_status zy_model_load_adapter(zy_model **out, const char *base_dir,
                                const char *adapter_dir);
bool zy_model_has_adapter(const zy_model *m);
// The adapter's settings (NULL for a model without one); strings owned by m. Resolved:
// targets and modules_to_save are the lists in force (the defaults filled in;
// modules_to_save NULL when there are none), base_model_name_or_path the base's path.
const zy_lora_config *zy_model_lora_config(const zy_model *m);
// Writes dir/adapter_config.json, dir/adapter_model.safetensors (the adapters,
// modules_to_save and trained biases, PEFT names) and dir/config.json, each atomically;
// creates dir. What zy_model_save does for a model with an adapter.
zy_status zy_model_save_adapter(const zy_model *m, const char *dir);
// Fold the adapter into the base weights (W += scale · B·A, in the base's layout) and
// drop it: afterwards m is a plain model (zy_model_has_adapter false; zy_model_save
// writes config.json + model.safetensors; outputs equal those with the adapter, within
// float rounding; every tensor trainable again, as a loaded model's). Inference commands
// merge after loading: no adapter cost per token. No session of m may be open.
zy_status zy_model_merge_adapter(zy_model *m);

// ---- for implementations ------------------------------------------------------------------
// A model marks the linear layers it applies adapters to (zy_tensor_def.linear: a layer it
// does not wire is not marked, so it can never be a target). At such a layer, forward and
// backward ask for the weight's adapter and run nn.h's zy_lora_forward/backward with
// dropout zy_model_lora_config(m)->dropout in training mode (each site its own stream):
// true and *out filled (A, B, and dA, dB from the session's gradients, NULL when frozen
// or not training; col0 0, rows the layer's out) when table entry `tensor` has one.
bool zy_session_lora(const zy_session *s, int tensor, zy_lora *out);

#ifdef __cplusplus
}
#endif

#endif
