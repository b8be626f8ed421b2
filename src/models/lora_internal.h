// Private to src/models: a model's LoRA adapter (lora.h) as lora.c builds it on the
// tensor table and lora_io.c reads and writes it, and what model.c calls between
// declaring a model's table and loading its weights.
#ifndef ZHUYI_MODELS_LORA_INTERNAL_H
#define ZHUYI_MODELS_LORA_INTERNAL_H

#include "zhuyi/attention.h"
#include "zhuyi/lora.h"

// One adapted linear layer: its weight's table entry and its adapter's.
typedef struct zy__lora_site {
    int weight;  // the linear layer's weight, kept (out, in)
    int a, b;    // A (r, in), B (out, r)
    int in, out;
} zy__lora_site;

// What the adapter file holds of a base entry besides the adapters.
enum {
    ZY__LORA_KEEP_NONE = 0,
    ZY__LORA_KEEP_MODULE = 1, // modules_to_save: "base_model.model.<name>"
    ZY__LORA_KEEP_BIAS = 2,   // a bias trained by `bias`: "base_model.model.<name>", or
                              // "<module>.base_layer.bias" for an adapted module's
};

typedef struct zy__lora {
    zy_lora_config cfg;       // its strings are the copies below
    char *targets, *modules, *base; // owned (NULL where cfg's are)
    float scale;              // alpha / r, or alpha / √r
    int n_base;               // the base model's table entries; the adapters follow
    int n_sites;
    zy__lora_site *sites;     // (n_sites) in table order
    int *site_of;             // (n_base) the site of a linear weight, or -1
    unsigned char *keep;      // (n_base) ZY__LORA_KEEP_*
} zy__lora;

// An adapter_config.json as read: the settings (strings owned here) and what else the
// file says.
typedef struct zy__lora_file {
    zy_lora_config cfg;
    char *targets, *modules, *base, *task_type;
    bool fan_in_fan_out;
} zy__lora_file;

// adapter_config.json's fields into f (PEFT's names and defaults; unknown fields are
// ignored, fields of features zhuyi does not run are errors naming them). On failure f
// holds nothing to free.
zy_status zy__lora_file_read(const zy_config *c, zy__lora_file *f);
void zy__lora_file_free(zy__lora_file *f);

// Checks lc, resolves its targets and modules_to_save against m's table (as declared,
// nothing allocated yet) and appends the adapter entries. base_dir: where the base was
// read from (adapter_config.json's base_model_name_or_path when lc has none).
zy_status zy__lora_attach(zy_model *m, const zy_lora_config *lc, const char *base_dir);
// After the parameters are allocated and the base loaded: A from the seed, B zero, and
// the freezing (adapters, modules_to_save and the trained biases trainable, the rest not).
// Tensors the base's file lacked (initialised: a new head, BERT's pooler on a
// BertForMaskedLM) join modules_to_save, as their modules: they train in full and are
// saved with the adapter, since the base cannot give them back. An adapted weight the
// file lacked is an error (a random frozen W under the adapter could not be reloaded).
zy_status zy__lora_init(zy_model *m);
void zy__lora_free(zy__lora *l);

// PEFT's task_type for the model's architecture.
const char *zy__lora_task_type(const zy_model *m);
// The name the adapter file gives base entry i (ZY__LORA_KEEP_*), into buf.
zy_status zy__lora_keep_name(const zy_model *m, int i, char *buf, size_t cap);

// For the implementations' sessions: the adapter of table entry `tensor` (if any) added
// to linear layer j of a block's adapters, at output column col0 (its part of a fused
// projection).
void zy__lora_block_add(const zy_session *s, zy_block_lora *b, int j, int tensor, int col0);
// Any gradient of the block's adapters (one of them trains).
bool zy__lora_block_trains(const zy_block_lora *b);
// Any field of a block's gradient view set (one of its tensors trains): with neither, a
// model's backward can stop below the block.
bool zy__block_params_any(const zy_block_params *g);

// adapter_model.safetensors at path: every tensor the adapter implies there, of its shape
// (check: before the parameters are allocated), then read into the adapter entries and
// the kept ones.
zy_status zy__lora_check_weights(const zy_model *m, const char *path);
zy_status zy__lora_read_weights(zy_model *m, const char *path);
// The base (base_dir; NULL: adapter_config.json's) with the adapter of adapter_dir, its
// architecture from config (NULL: adapter_dir's config.json, else the base's).
zy_status zy__lora_load(zy_model **out, const char *base_dir, const char *adapter_dir,
                        const zy_config *config);
// dir holds an adapter_config.json.
bool zy__lora_is_adapter_dir(const char *dir);

#endif
