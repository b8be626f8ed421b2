// zhuyi models: one interface for every architecture. GPT-2 is the first implementation;
// BERT, the encoder-decoder Transformer and the vision/speech encoders plug in the same
// way, so the trainer, model-directory I/O, evaluation, generation and the CLI are
// written once, against this header.
//
// Two objects, as llama.cpp splits model and context:
// - zy_model: the config, the named-tensor table (hf.h) and the weights in one flat float
//   array. Loaded or created once; read-only while sessions use it.
// - zy_session: what one use of a model needs: activations and scratch sized for a batch
//   shape, the dropout mode, a KV cache for decoding, and gradients when training.
// Any number of sessions may run on one model at the same time, one thread per session.
// The trainer's optimizer step writes the weights: train with a single session.
//
// Which implementation a model directory gets is decided by its config.json: the
// registry matches "model_type" (and "architectures"[0] where a type has several heads).
//
//   zy_model *m;  zy_session *s;
//   if (zy_model_load(&m, "runs/kjv")) die(zy_last_error());
//   zy_session_create(&s, m, NULL);
//   float logits[V];  int seq = 0;
//   zy_session_decode(s, 1, &seq, prompt_ids, n_prompt, logits);
#ifndef ZHUYI_MODEL_H
#define ZHUYI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "data.h"
#include "hf.h"
#include "quant.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zy_model zy_model;
typedef struct zy_session zy_session;
typedef struct zy_model_ops zy_model_ops;

// What generic code needs to know about a model, filled by its implementation.
typedef struct zy_model_info {
    const char *model_type;   // config.json "model_type", e.g. "gpt2"
    const char *architecture; // the Hugging Face class it is saved as, e.g. "GPT2LMHeadModel"
    int vocab_size;           // input ids are in [0, vocab_size)
    int max_positions;        // longest sequence (n_positions, max_position_embeddings)
    int n_layer, n_head, d_model;
    float dropout;            // probability applied in training mode
    bool causal_lm;           // predicts the next token: decoding and zy_generate work
    bool encoder_decoder;     // an encoder reads input_ids, a decoder writes dec_input_ids
                              // attending to it: zy_session_encode, then decoding
    int decoder_start_id;     // encoder-decoder: the decoder's first input (-1: none)
    int eos_id;               // the id that ends a generated sequence (-1: none)
    size_t n_params;          // floats in the flat parameter array (the model's size;
                              // kept after zy_model_drop_fp32 frees the array)
    bool typed_decode;        // decoding multiplies by the typed copies of a weight type
                              // (zy_model_set_weight_type); without, a weight type only
                              // rounds the fp32 weights and no copies are kept
    int image_channels;       // an image model (ViT) reads the batch's pixels, square
    int image_size;           // images of image_channels x image_size x image_size, not
                              // input_ids (0, 0: a model of token ids)
    int audio_features;       // a speech model reads the batch's features, frames of
                              // audio_features log-mel bins (audio.h), not input_ids,
                              // and scores targets as CTC label sequences; vocab_size is
                              // then its labels, the blank included (0: not speech)
    bool typed_decode_only;   // decoding reads the typed copies of every `quantize` tensor
                              // and no fp32 weight of them: zy_model_drop_fp32 may free
                              // those (GPT-2's LM; not Marian, whose encoder runs the fp32
                              // forward)
} zy_model_info;

// ---- models ---------------------------------------------------------------------------
// dir/config.json + dir/model.safetensors (tensor names, aliases and shapes as the model's
// table says; F32/F16/BF16). Optional tensors absent from the file are initialised (seed
// 0) and reported by zy_model_tensor_missing. Errors name the file, the field or tensor.
// Nothing the config sizes is allocated before the file's header has been checked against
// it (a shape error names the tensor, its file shape and the config fields behind the
// expected one) and the parameters are known to fit in the machine's physical memory
// (ZY_STATUS_OUT_OF_MEMORY naming the sizes otherwise).
zy_status zy_model_load(zy_model **out, const char *dir);
// Converting a checkpoint into another architecture of the same model type (what
// `zhuyi finetune --init DIR` does): the model `config` describes (e.g. dir's config.json
// with "architectures": ["BertForSequenceClassification"] and the label fields added),
// its weights read from dir/model.safetensors through the table that config declares.
// The body loads from any layout of the pretraining classes (BertForPreTraining,
// BertForMaskedLM, BertModel: names with "bert." or without; GPT2LMHeadModel, GPT2Model:
// with "transformer." or without; zhuyi's or Hugging Face's); heads the file lacks are
// initialised (seed 0; zy_model_init_missing reseeds them) and reported by
// zy_model_tensor_missing, and so are heads of other labels (another shape) and every
// head when dir's config.json names another architecture (a token classifier's
// `classifier` does not become a sequence classifier's; nor, by the same rule, does a
// BertForMaskedLM's MLM head become a BertForPreTraining's: zy_model_load keeps a
// checkpoint's own architecture and heads); tensors of the file the new
// architecture has no use for (cls.predictions.*, cls.seq_relationship.*, lm_head.weight,
// another architecture's heads) are skipped, not an error, and listed by
// zy_model_unused_tensors. The checks and errors are zy_model_load's (a
// body whose shapes disagree with config names the tensor and the config fields).
// config is only read; the caller keeps it.
zy_status zy_model_load_with_config(zy_model **out, const char *dir,
                                    const zy_config *config);
// The names of the file tensors the load of m skipped (see above; also after
// zy_model_load, which skips them the same way, e.g. an old checkpoint's
// embeddings.position_ids buffer): writes up to max into names (valid while m lives),
// returns the count. 0 for a model that was created, not loaded.
int zy_model_unused_tensors(const zy_model *m, const char **names, int max);
// Re-initialise the tensors the load found missing (zy_model_tensor_missing) by their
// init rule from seed (the values zy_model_init_weights(m, seed) gives those tensors).
void zy_model_init_missing(zy_model *m, uint64_t seed);
// A model with zeroed weights from a config (call zy_model_init_weights or fill them).
// Parameters beyond the machine's physical memory are refused before allocating, as above.
zy_status zy_model_create(zy_model **out, const zy_config *config);
void zy_model_free(zy_model *m);
// Writes dir/model.safetensors (F32, Hugging Face names and layouts, tied tensors once)
// and dir/config.json, each atomically; creates dir (and its parents) if needed, and
// removes an adapter_config.json and adapter_model.safetensors left there (which would
// make dir load as that adapter). A model with a LoRA adapter is saved as its adapter
// instead (zy_model_save_adapter, lora.h). zy_model_load of an adapter directory (one
// with adapter_config.json) loads its base and the adapter (zy_model_load_adapter).
zy_status zy_model_save(const zy_model *m, const char *dir);
// The same with every tensor of model.safetensors in dtype: F32, F16 or BF16 (Hugging
// Face reads them all; F16/BF16 halve the file, and zy_model_load reports the type,
// zy_model_file_weight_type). A model with a LoRA adapter saves in F32 only.
zy_status zy_model_save_dtype(const zy_model *m, const char *dir, zy_dtype dtype);
// The names of the files zy_model_save writes into a directory: config.json and
// model.safetensors, or an adapted model's adapter_config.json, adapter_model.safetensors
// and config.json. Writes up to max into names (static strings), returns the count.
int zy_model_file_names(const zy_model *m, const char **names, int max);

// The config.json of a named preset ("gpt2-124m", "gpt-nano", ...) of any registered
// model type; ZY_STATUS_NOT_FOUND (the message lists the presets) otherwise. Presets may
// leave vocab_size 0 for the caller to set from its tokenizer.
zy_status zy_model_preset(zy_config **out, const char *name);
// The preset names of all registered implementations: writes up to max, returns the count.
int zy_model_preset_names(const char **names, int max);
// The model types (config.json "model_type") of all registered implementations, each once.
int zy_model_types(const char **types, int max);

const zy_model_info *zy_model_get_info(const zy_model *m);
// The model's config as config.json would hold it (written by the implementation).
zy_status zy_model_get_config(const zy_model *m, zy_config **out);
// Every tensor by its table's init rule, values a function of the seed alone.
void zy_model_init_weights(zy_model *m, uint64_t seed);
// Dropout probability of every site in training mode (p in [0, 1)).
zy_status zy_model_set_dropout(zy_model *m, float p);
// FLOPs of a training step (forward + backward) on a (B, T) batch, for reports; 0 if the
// implementation does not say.
double zy_model_train_flops(const zy_model *m, int B, int T);

// The named-tensor table and the weights: tensor i is params[t->offset .. + t->count).
// After zy_model_drop_fp32 there is no flat array: zy_model_params is NULL (*n 0), and
// zy_model_tensor_data NULL for the tensors it freed (the others' values stay readable).
const zy_tensor_table *zy_model_tensors(const zy_model *m);
float *zy_model_params(zy_model *m, size_t *n);
const float *zy_model_tensor_data(const zy_model *m, int tensor);
// True if tensor i was absent from the file zy_model_load read (and was initialised).
bool zy_model_tensor_missing(const zy_model *m, int tensor);
// ZY_STATUS_INVALID_ARGUMENT if a weight is NaN or infinite, naming the first such tensor,
// the element and how many of its values are not finite (such a model's logits and losses
// are NaN). A scan of every weight, which zy_model_load leaves to the caller: `zhuyi eval`
// and `zhuyi generate` run it on the models they load. After zy_model_drop_fp32, of the
// fp32 weights it kept and of the typed copies' values (decoded row by row).
zy_status zy_model_check_finite(const zy_model *m);

// ---- weight types (quant.h: f32, f16, bf16, Q8_0, Q4_0) -----------------------------------
// Decoding reads every weight once per token, so its speed is the bytes of the weights.
// A model given a weight type keeps a typed copy of each matrix its table marks `quantize`
// (linear layers, the tied LM head; biases, LayerNorms and position tables stay fp32),
// and its decoding path (zy_session_decode: the blocks' products, GEMVs over a few rows
// and GEMMs over prompt chunks that decode the copies as they pack them, and the LM head)
// multiplies by those copies directly. The fp32 weights are rounded to the type's values
// at the same time, so every other path (forward, eval's perplexity, embeddings) computes
// the same model; only the order of the sums differs, and with ZY_QUANT_ARITH_INT8 the
// GEMVs' rounding of x (quant.h).
// Inference only: a training session on a model with a weight type is refused, and a
// model with a LoRA adapter must merge it first. Call before creating sessions (they take
// the copies when created); t = F32 drops the copies (the weights keep the rounded
// values); another type once one is set is refused (load the model again).
// Q8_0 and Q4_0 need rows of a whole number of 32-weight blocks: a matrix whose rows are not
// is kept in F16 instead (a warning is logged), as llama.cpp's converter and the GGUF
// export keep it. The copies are freed with the model.
zy_status zy_model_set_weight_type(zy_model *m, zy_wtype t);
zy_wtype zy_model_weight_type(const zy_model *m); // F32 until set
// The type a loaded model.safetensors stored its weights in: F16 or BF16 when every 2-D
// tensor of the file has that dtype (`zhuyi quantize --type bf16` writes such files;
// Hugging Face checkpoints saved in half precision are such files), else F32. zy_model_load
// does not apply it (a fine-tuning run trains in fp32): inference callers pass it to
// zy_model_set_weight_type, as the CLI does.
zy_wtype zy_model_file_weight_type(const zy_model *m);
// For implementations: tensor i's typed copy (its type is the model's, or F16 as above),
// or NULL (no weight type, not a `quantize` tensor, or a model without typed_decode). Adjacent `quantize` entries' copies are
// contiguous, so entries fused into one matrix (q, k, v) are one matrix of their rows.
const zy_wmatrix *zy_model_tensor_typed(const zy_model *m, int tensor);
// A decode-only model: frees the fp32 values of the tensors that have typed copies, and
// keeps the others (biases, LayerNorms, position tables; a tied name such as
// lm_head.weight goes with the entry it names): GPT-2 124M in q8_0 then holds 131 MB of
// copies and 4 MB of fp32 weights instead of those and 498 MB. The model then serves
// zy_session_decode (the same logits, bit for bit, as before) and nothing that reads the
// freed values: zy_session_forward, training sessions, zy_model_save / save_dtype, the
// GGUF export and zy_model_set_weight_type to another type are ZY_STATUS_UNSUPPORTED
// naming the cause (load the model again for them); zy_model_init_weights and
// zy_model_init_missing do nothing. Needs a weight type with typed copies, info's
// typed_decode_only and no LoRA adapter (else ZY_STATUS_UNSUPPORTED saying which).
// Call with no session on the model (a session keeps pointers into the array it frees);
// a second call does nothing. `zhuyi generate`, `chat` and `eval --decode` call it on
// typed models.
zy_status zy_model_drop_fp32(zy_model *m);
bool zy_model_fp32_dropped(const zy_model *m); // since zy_model_drop_fp32
// A model directory loaded for decoding only, with weight type wtype (-1: the file's,
// zy_model_file_weight_type): the model zy_model_load, zy_model_merge_adapter (an
// adapter directory), zy_model_set_weight_type and, where it applies, zy_model_drop_fp32
// give, bit for bit. For a typed_decode_only model and a type other than F32 the weights
// are read straight into the typed copies, a few MB at a time, and no fp32 array of them
// is ever held (`zhuyi generate` on GPT-2 124M from a bf16 model.safetensors: peak
// resident 343 MB instead of 751, the fp32 weights beside the copies). Other models and
// types load in fp32 first. Errors as those calls'.
zy_status zy_model_load_decoder(zy_model **out, const char *dir, int wtype);

// Freezing: a frozen tensor gets no gradient and no optimizer moments. All tensors are
// trainable at first; tensor -1 means every tensor. Set before creating the training
// session (a session's gradient layout is fixed when it is created).
zy_status zy_model_set_trainable(zy_model *m, int tensor, bool trainable);
bool zy_model_is_trainable(const zy_model *m, int tensor);
// Task heads: the tensors a task architecture adds on top of its base model
// (BertForSequenceClassification's and BertForTokenClassification's classifier.*,
// BertForQuestionAnswering's qa_outputs.*, GPT2ForSequenceClassification's score.weight;
// the pretraining heads cls.* of BertForPreTraining / BertForMaskedLM too). The pooler is
// part of the body (bert.pooler, as Hugging Face nests it).
bool zy_model_tensor_is_head(const zy_model *m, int tensor);
// Head-only training (`--freeze-body`): every tensor that is not a head frozen, the heads
// trainable (a frozen BERT body then costs no backward through its layers).
// ZY_STATUS_UNSUPPORTED naming the architecture if the model has no head. Call before
// creating the training session, like zy_model_set_trainable.
zy_status zy_model_freeze_body(zy_model *m);
// Floats of the trainable tensors: the length of a training session's gradient array.
size_t zy_model_trainable_floats(const zy_model *m);

// ---- sessions ---------------------------------------------------------------------------
typedef struct zy_session_params {
    int batch, seq;  // activations for batches of up to batch x seq (0: none until
                     // zy_session_prepare); seq <= max_positions
    int seq_dec;     // decoder length for encoder-decoder models (0 otherwise)
    bool training;   // allocate gradients for the model's trainable tensors
    int n_seq;       // sequences the KV cache holds for decoding (1)
    bool attention_weights; // keep every layer's attention probabilities of the last
                     // forward for zy_session_output("attentions.L"), (B, H, T, T):
                     // attention then runs on the plain core (O(T²) memory per layer,
                     // slower; GPT-2 and BERT keep them, decoding never does).
                     // Models that cannot ignore it. (false)
    int tokens;      // batches built by token count: the largest B x max(T, T_dec) a
                     // forward gets, so activations are sized for it rather than for
                     // batch x seq (zy_batch_dims.tokens). 0: no bound. (0)
    float label_smoothing; // ε of the training loss's cross-entropy, PyTorch's rule
                     // (1-ε)·NLL + ε·mean_v(-log p_v); 0 plain. The models that score
                     // tokens take it (GPT-2, BERT's MLM, Marian); the named metric
                     // "nll_loss" stays the plain cross-entropy. (0)
    int n_memory;    // encoder-decoder decoding: source rows the session keeps encoded
                     // (zy_session_encode's slots); 0: n_seq. Beams of one source share
                     // one slot. (0)
    bool loss_only;  // forwards with targets need only the loss, the metrics and the
                     // gradients: a model may skip outputs nothing else needs (BERT
                     // computes its MLM head at the scored positions only, so
                     // "mlm_logits" is then NULL). The trainer's and `zhuyi eval`'s
                     // sessions set it. (false)
    zy_wtype kv_cache; // how the decoding KV caches store keys and values: ZY_WTYPE_F32,
                     // F16 or BF16 (half the memory and half the bytes a step reads from
                     // them; zy_kv_cache_create_typed). (F32)
} zy_session_params;

zy_session_params zy_session_default_params(void);

// p may be NULL (the defaults: decoding only). Allocates only what p asks for; the KV
// cache is allocated by the first decode.
zy_status zy_session_create(zy_session **out, const zy_model *m, const zy_session_params *p);
void zy_session_free(zy_session *s);
const zy_model *zy_session_model(const zy_session *s);
// Size the activations for batches of up to batch x seq (x seq_dec); grows, never shrinks.
zy_status zy_session_prepare(zy_session *s, int batch, int seq, int seq_dec);
// Training mode turns dropout on, with masks drawn from `seed` (the same seed and batch
// give the same forward and backward); evaluation mode (the default) turns it off.
void zy_session_set_mode(zy_session *s, bool training, uint64_t seed);

// Forward on a batch (within the prepared shape). With targets (or labels, as the model
// needs), *loss receives the mean loss and *count how many targets it averages over
// (both may be NULL); without, only the outputs are computed. Bad input ids, targets or
// lengths are ZY_STATUS_INVALID_ARGUMENT naming (b, t, id); nothing is allocated.
// Under bf16 matmuls (zy_gemm_precision) a training session with at least half the
// weights trainable rounds them to bf16 once per forward, for that forward's products and
// its backward's (2 bytes a parameter, allocated by the first such forward; otherwise, as
// with a frozen base, the products round them as they go): the same results, with less
// work per product.
zy_status zy_session_forward(zy_session *s, const zy_batch *b, float *loss, double *count);
// Says the model's weights have not changed since this session's last forward, so the
// next forward may reuse what that one derived from them (the bf16 copy above) instead of
// deriving it again: for loops over batches with the same weights (the trainer's
// accumulated micro-batches, zy_evaluate). Only the next forward; if the weights did
// change, it computes with the old ones.
void zy_session_weights_unchanged(zy_session *s);
// After a forward with targets, in a training session: add loss_scale * d(loss)/d(param)
// into the gradients of the trainable tensors (1/k for k accumulated micro-batches).
zy_status zy_session_backward(zy_session *s, float loss_scale);
// The gradient array: the trainable tensors' gradients one after another, in table order
// (n = zy_model_trainable_floats). NULL (n 0) in a session that is not training.
float *zy_session_grads(zy_session *s, size_t *n);
// Tensor i's gradient inside that array; NULL if i is frozen or the session not training.
float *zy_session_tensor_grad(zy_session *s, int tensor);
void zy_session_zero_grads(zy_session *s);
// A named output of the last forward, e.g. "logits" (B, T, V) of a language model, or
// BERT's "hidden", "pooled", "mlm_logits", "nsp_logits", "attentions.L" (README; GPT-2
// has "logits", "hidden" and "attentions.L"). Task heads: "logits" (B, num_labels) of
// the sequence classifiers (BERT's and GPT-2's), (B, T, num_labels) of the token
// classifier, "start_logits" and "end_logits" (B, T) of question answering (padded
// positions -1e30); backward leaves them.
// shape[0..*ndim) receive its shape (up to 4 dims). NULL if the model has no such output
// or it is gone (a language model's backward overwrites its logits with their gradient).
const float *zy_session_output(const zy_session *s, const char *name, int *ndim,
                               int64_t *shape);

// ---- named metrics of a forward ---------------------------------------------------------
// Besides its loss, a model may report named scalars of its last forward, each the mean
// over `count` items, so that callers can combine batches weighted by their counts
// (zy_metric_set_merge): BERT reports "mlm_loss" and "mlm_accuracy" over the scored
// masked tokens, "nsp_loss" and "nsp_accuracy" over the labelled rows (README); GPT-2's
// language model reports none. Task heads report "accuracy" (argmax over the scored
// rows of a single-label sequence classifier or the scored tokens of a token classifier;
// multi-label: the rows with every label right) and, for question answering,
// "start_accuracy", "end_accuracy" and "span_accuracy" (both right); regression none. They are computed during forward, because accuracies need the logits a
// backward overwrites with their gradient; this is how the trainer (zy_step_info) and
// zy_evaluate report more than the one loss without knowing the model.
#define ZY_METRICS_MAX 8

typedef struct zy_metric {
    const char *name; // the implementation's static string, e.g. "mlm_accuracy"
    double value;     // mean over count items
    double count;     // items scored (0: none, value 0)
} zy_metric;

typedef struct zy_metric_set {
    int n;
    zy_metric m[ZY_METRICS_MAX];
} zy_metric_set;

// The metrics of the last forward into *out (out->n = 0 when the model reports none, or
// before any forward). Metrics with count 0 are included (a head that scored nothing).
void zy_session_metrics(const zy_session *s, zy_metric_set *out);
// Fold `add` into `acc`: a metric of a name acc has becomes the count-weighted mean of
// the two (counts summed); a new name is appended while there is room.
void zy_metric_set_merge(zy_metric_set *acc, const zy_metric_set *add);
// The metric called name in set, or NULL.
const zy_metric *zy_metric_set_find(const zy_metric_set *set, const char *name);

// ---- decoding (causal language models) ----------------------------------------------------
// Append n tokens to each of the n_seq sequences seqs[0..n_seq) of the KV cache (tokens
// (n_seq, n), row i for sequence seqs[i]; the sequences distinct) and write each
// sequence's next-token logits after its last new token to logits (n_seq, V). n = the
// length of a prompt, or 1 to step several sequences (beams, parallel requests) at once.
// Errors leave the cache unchanged: a sequence outside [0, n_seq of the session), a bad
// id, or positions past max_positions. Never uses dropout.
zy_status zy_session_decode(zy_session *s, int n_seq, const int *seqs, const int *tokens,
                            int n, float *logits);
// Encoder-decoder models (info->encoder_decoder): run the encoder on n source rows
// (tokens (n, T), row i of lengths[i] ids, NULL: T) and keep each row's encoder output
// as cross-attention keys/values in memory slot slots[i] of [0, n_memory). Decoder
// sequence i reads slot i until zy_session_seq_attach says otherwise; zy_session_decode
// then appends decoder tokens (start with info->decoder_start_id). Replaces what the slots
// held; never uses dropout.
zy_status zy_session_encode(zy_session *s, int n, const int *slots, const int *tokens, int T,
                            const int *lengths);
// Decoder sequence seq reads memory slot `slot` from now on (beams of one source share
// its slot). zy_session_seq_copy copies the attachment with the cache.
zy_status zy_session_seq_attach(zy_session *s, int seq, int slot);
// Forget sequence seq's positions (-1: every sequence).
void zy_session_seq_reset(zy_session *s, int seq);
int zy_session_seq_len(const zy_session *s, int seq);
// Make sequence dst a copy of sequence src (beam search forks a hypothesis).
zy_status zy_session_seq_copy(zy_session *s, int dst, int src);

// ---- implementing a model --------------------------------------------------------------
// An architecture is a table of operations. The generic code validates every argument
// (shapes, ids, sequence numbers, modes) before calling them, allocates the flat
// parameter array from the table the implementation declares, and owns gradients; an
// implementation reads its weights and gradients through zy_model_tensor_data and
// zy_session_tensor_grad (NULL for a frozen tensor: skip its weight gradient).
// Optional operations may be NULL.
struct zy_model_ops {
    const char *model_type;            // config.json "model_type" it implements
    const char *const *architectures;  // NULL-terminated "architectures" values it accepts
                                       // (NULL: any)
    const char *const *presets;        // NULL-terminated preset names, or NULL
    // Fill config (an empty object) with preset `name` (one of `presets`).
    zy_status (*preset)(const char *name, zy_config *config);

    // Read and validate the config (errors name the field), declare the tensors with
    // zy_tensor_table_add on zy_model_table(m), set an implementation object with
    // zy_model_set_impl, fill *info (n_params is filled by the caller).
    zy_status (*init)(zy_model *m, const zy_config *config, zy_model_info *info);
    void (*free)(zy_model *m);
    // Write the hyper-parameters into config (an empty object) as config.json holds them.
    zy_status (*write_config)(const zy_model *m, zy_config *config);
    zy_status (*set_dropout)(zy_model *m, float p, zy_model_info *info); // optional
    double (*train_flops)(const zy_model *m, int B, int T);               // optional

    // Sessions. session_init sets an implementation object (zy_session_set_impl).
    zy_status (*session_init)(zy_session *s, const zy_session_params *p);
    void (*session_free)(zy_session *s);
    zy_status (*prepare)(zy_session *s, int batch, int seq, int seq_dec);
    // Training mode, seed and gradient pointers are read from the session.
    zy_status (*forward)(zy_session *s, const zy_batch *b, float *loss, double *count);
    zy_status (*backward)(zy_session *s, float loss_scale);
    const float *(*output)(const zy_session *s, const char *name, int *ndim,
                           int64_t *shape); // optional
    // Decoding (optional; needed when info->causal_lm). Arguments are validated.
    zy_status (*decode)(zy_session *s, int n_seq, const int *seqs, const int *tokens, int n,
                        float *logits);
    void (*seq_reset)(zy_session *s, int seq);
    int (*seq_len)(const zy_session *s, int seq);
    zy_status (*seq_copy)(zy_session *s, int dst, int src);
    // The named metrics of the last forward (optional; zy_session_metrics clears *out
    // before calling it). Last in the table, so tables written before it still compile.
    void (*metrics)(const zy_session *s, zy_metric_set *out);
    // Encoder-decoder models (info->encoder_decoder; arguments validated).
    zy_status (*encode)(zy_session *s, int n, const int *slots, const int *tokens, int T,
                        const int *lengths);
    zy_status (*seq_attach)(zy_session *s, int seq, int slot);
};

// Make an implementation known to zy_model_load/create/preset (GPT-2 is built in). Call
// before loading models; not thread-safe against concurrent loads. At most 64.
zy_status zy_model_register(const zy_model_ops *ops);

// For implementations:
zy_tensor_table *zy_model_table(zy_model *m);
void zy_model_set_impl(zy_model *m, void *impl);
void *zy_model_impl(const zy_model *m);
const zy_model_ops *zy_model_get_ops(const zy_model *m);
void zy_session_set_impl(zy_session *s, void *impl);
void *zy_session_impl(const zy_session *s);
bool zy_session_training(const zy_session *s); // training mode (dropout on)
uint64_t zy_session_seed(const zy_session *s); // the seed of the training-mode masks
int zy_session_n_seq(const zy_session *s);     // sequences of the KV cache
int zy_session_n_memory(const zy_session *s);  // memory slots (encoder-decoder decoding)
int zy_session_tokens(const zy_session *s);    // zy_session_params.tokens (0: no bound)
float zy_session_label_smoothing(const zy_session *s); // zy_session_params.label_smoothing
zy_wtype zy_session_kv_cache_type(const zy_session *s); // zy_session_params.kv_cache

#ifdef __cplusplus
}
#endif
#endif
