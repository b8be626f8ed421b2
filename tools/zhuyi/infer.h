// Shared by `zhuyi eval` and `zhuyi generate` (eval.c, generate.c): opening a model
// directory with its tokenizer, and a one-line progress display for long runs.
#ifndef ZHUYI_CLI_INFER_H
#define ZHUYI_CLI_INFER_H

#include "zhuyi/model.h"
#include "zhuyi/tokenizer.h"

// dir/config.json + dir/model.safetensors (any registered model type) + dir/tokenizer.json
// (or BERT's vocab.txt, or GPT-2's vocab.json + merges.txt), or a GGUF file in place of
// dir (model and tokenizer both from it: zy_model_load_gguf). Checks that the tokenizer's
// vocabulary size equals the model's vocab_size and that no weight is NaN or infinite
// (naming the tensor).
// Prints "zhuyi: <command>: <reason>" and returns 1 on failure (nothing to free then);
// 0 with *m and *t set on success.
// A LoRA adapter directory (adapter_config.json: `zhuyi finetune --lora` writes one) loads
// its base model too, and its tokenizer comes from the adapter's directory or else the
// base's; the adapter is merged into the weights (zy_model_merge_adapter).
int zy_cli_open_model(const char *command, const char *dir, zy_model **m, zy_tokenizer **t);
// The same with the LoRA adapter in `adapter` (NULL: none) put on the model in dir
// (`--adapter DIR` of the inference commands).
int zy_cli_open_model_adapter(const char *command, const char *dir, const char *adapter,
                              zy_model **m, zy_tokenizer **t);
// The same for a command that only decodes (generate, chat, eval --decode): a model
// directory without an adapter, or a GGUF file, is read straight into the typed copies of
// its weight type, never holding its fp32 weights (zy_model_load_decoder,
// zy_model_load_gguf_decoder); other models load as above. Call zy_cli_decode_only
// before decoding, as after the other two.
int zy_cli_open_model_decoder(const char *command, const char *dir, const char *adapter,
                              zy_model **m, zy_tokenizer **t);
// A command's --weights TYPE (f32, f16, bf16, q8_0, q4_0): the weight type models opened
// by zy_cli_open_model* get (zy_model_set_weight_type) instead of the one their
// model.safetensors was stored in (zy_model_file_weight_type). 0, or 1 after printing why
// TYPE is bad.
int zy_cli_weights(const char *command, const char *type);
// A command's --kv-cache TYPE (f32, f16, bf16): how the decoding sessions it makes with
// zy_cli_decode_params store keys and values. 0, or 1 after printing why TYPE is bad.
int zy_cli_kv_cache(const char *command, const char *type);
// The default session parameters with --kv-cache's type.
zy_session_params zy_cli_decode_params(void);
// For the commands that only decode (generate, chat, eval --decode): a model with a weight
// type whose decoding reads only its typed copies (zy_model_info.typed_decode_only) frees
// its fp32 weights of them (zy_model_drop_fp32), so it holds little more than the copies.
// 0, or the error (message in zy_last_error()).
zy_status zy_cli_decode_only(zy_model *m);
// The tokenizer files (tokenizer.json, vocab.txt, vocab.json, merges.txt,
// tokenizer_config.json, special_tokens_map.json) of the first of srcs[0..n) that has any,
// copied into dst; a note on stderr if none has. 0, or 1 after printing the error.
int zy_cli_copy_tokenizer(const char *command, const char *const *srcs, int n,
                          const char *dst);
// The seq a zhuyi run in dir trained with (its newest checkpoint's state), or 0: the
// positions past it were never trained, so it is the default window.
int zy_cli_trained_seq(const char *dir);

#endif
