// Private to src/models/bert*.c: BERT's hyper-parameters, which heads an architecture has,
// its tensor table layout, the weight/gradient views and the per-session state. The model
// object itself is the generic zy_model (model.h); this is what the BERT implementation
// keeps inside it.
#ifndef ZHUYI_MODELS_BERT_INTERNAL_H
#define ZHUYI_MODELS_BERT_INTERNAL_H

#include "zhuyi/attention.h"
#include "zhuyi/model.h"

#include "models/task_head.h"

// The Hugging Face classes a config.json may name, and the parts each has:
//   BertForPreTraining  body + pooler + MLM head + NSP head  (the default)
//   BertForMaskedLM     body + MLM head                      (no pooler, as HF's)
//   BertModel           body + pooler                        (no loss: outputs only)
//   BertForSequenceClassification  body + pooler + dropout + classifier (C -> num_labels)
//   BertForTokenClassification     body + dropout + classifier on every token (no pooler)
//   BertForQuestionAnswering       body + qa_outputs (C -> 2: start, end) (no pooler)
// The last three are the task heads (bert_task.c); their classifier is a head tensor.
typedef enum bert_arch {
    BERT_PRETRAINING = 0,
    BERT_MASKED_LM = 1,
    BERT_MODEL = 2,
    BERT_SEQ_CLS = 3,
    BERT_TOKEN_CLS = 4,
    BERT_QA = 5,
} bert_arch;

extern const char *const zy__bert_arch_names[]; // by bert_arch, NULL-terminated

// hidden_act values zhuyi runs (the blocks and the MLM transform use the same one).
typedef enum bert_act {
    BERT_ACT_GELU = 0,      // "gelu": exact, erf
    BERT_ACT_GELU_NEW = 1,  // "gelu_new": tanh approximation
    BERT_ACT_GELU_TANH = 2, // "gelu_pytorch_tanh": the same formula
    BERT_ACT_RELU = 3,      // "relu"
} bert_act;

extern const char *const zy__bert_act_names[]; // by bert_act

typedef struct bert_hparams {
    bert_arch arch;
    bool has_pooler, has_mlm, has_nsp;
    bool has_task;         // a task head: classifier (sequence, token) or qa_outputs
    int n_out;             // its outputs: num_labels (classifiers) or 2 (start, end)
    zy__labels labels;     // num_labels, id2label, problem_type (the classifiers)
    float cls_dropout;     // classifier_dropout (null: hidden_dropout_prob)
    bool cls_dropout_set;  // classifier_dropout was a number (written back as one)
    int n_layer;           // L, num_hidden_layers
    int n_head;            // H, num_attention_heads (C % H == 0)
    int hidden;            // C, hidden_size
    int intermediate;      // FF, intermediate_size
    int max_positions;     // P, max_position_embeddings
    int type_vocab;        // TV, type_vocab_size
    int vocab;             // V, vocab_size
    int pad_token_id;      // in [0, V): padding positions are embedded as this id
    bert_act act;          // hidden_act
    float eps;             // layer_norm_eps (1e-12)
    float hidden_dropout;  // hidden_dropout_prob: embeddings and both residual branches
    float attn_dropout;    // attention_probs_dropout_prob: the attention weights
    float init_range;      // initializer_range: N(0, init_range) for weights, embeddings
} bert_hparams;

// bert_config.c: config.json <-> hparams (fields, defaults and checks listed there).
zy_status zy__bert_read_config(const zy_config *c, bert_hparams *h);
zy_status zy__bert_write_config(const bert_hparams *h, zy_config *c);
zy_status zy__bert_preset(const char *name, zy_config *c);
extern const char *const zy__bert_presets[];

// ---- the tensor table --------------------------------------------------------------------
// Order (= flat layout): the embeddings (word, position, token type, LayerNorm w/b), per
// layer the 16 tensors below, then the pooler (dense w/b) if the architecture has it, the
// MLM head (cls.predictions.bias, transform.dense w/b, transform.LayerNorm w/b) if it has
// it, the NSP head (cls.seq_relationship w/b) if it has it. The layer's q, k, v weights
// are adjacent, then their biases: together the block's fused (3C, C) projection and (3C)
// bias.
enum {
    BERT_L_QW = 0, BERT_L_KW, BERT_L_VW, BERT_L_QB, BERT_L_KB, BERT_L_VB,
    BERT_L_AOW, BERT_L_AOB,   // attention.output.dense
    BERT_L_LN1W, BERT_L_LN1B, // attention.output.LayerNorm
    BERT_L_IW, BERT_L_IB,     // intermediate.dense
    BERT_L_OW, BERT_L_OB,     // output.dense
    BERT_L_LN2W, BERT_L_LN2B, // output.LayerNorm
    BERT_TENSORS_PER_LAYER
};
#define BERT_T_WORD 0
#define BERT_T_POS 1
#define BERT_T_TYPE 2
#define BERT_T_ELNW 3
#define BERT_T_ELNB 4
#define BERT_T_LAYER(l, k) (5 + BERT_TENSORS_PER_LAYER * (l) + (k))

// Indices of the tensors after the layers (-1 where the architecture lacks them).
typedef struct bert_heads_index {
    int pool_w, pool_b;
    int mlm_bias, tr_w, tr_b, tr_lnw, tr_lnb;
    int nsp_w, nsp_b;
    int task_w, task_b; // classifier.* or qa_outputs.*
} bert_heads_index;

bert_heads_index zy__bert_heads_index(const bert_hparams *h);

// Weights (or gradients: NULL for frozen tensors, and for tensors the architecture lacks)
// outside the layers.
typedef struct bert_weights {
    float *word, *pos, *type;  // (V,C) (P,C) (TV,C); word is also the MLM decoder (tied)
    float *elnw, *elnb;        // (C) embedding LayerNorm
    float *pool_w, *pool_b;    // (C,C) (C) pooler dense
    float *mlm_bias;           // (V) decoder bias
    float *tr_w, *tr_b;        // (C,C) (C) MLM transform dense
    float *tr_lnw, *tr_lnb;    // (C) MLM transform LayerNorm
    float *nsp_w, *nsp_b;      // (2,C) (2)
    float *task_w, *task_b;    // (K,C) (K): classifier (K = num_labels) or qa_outputs (K = 2)
} bert_weights;

// ---- sessions ----------------------------------------------------------------------------
typedef struct bert_session {
    bert_hparams h;
    bool keep_attention;       // zy_session_params.attention_weights: the plain core
    bool loss_only;            // zy_session_params.loss_only: the MLM head at the scored
                               // positions only when the batch has targets
    zy_block_params *w, *dw;   // (L) weight and gradient views (dw NULL when not training)
    bert_weights ew, edw;      // the same for the tensors outside layers
    // A layer whose query, key and value weights (or biases) are partly frozen (LoRA's
    // lora_only biases on query and value): the block's one (3C, C) (or (3C)) gradient
    // goes to a staging buffer, its trainable parts then added to their own gradients.
    float **stage_w, **stage_b; // (L) each, NULL entries where not needed (or NULL)
    // LoRA (lora.h): each layer's adapters (NULL without an adapter), the heads' (A NULL
    // without), the adapters' dropout (the model's, and in force)
    zy_block_lora *lora;
    zy_lora pool_lora, tr_lora, nsp_lora, task_lora;
    float lora_dropout, p_lora;

    float *acts;               // the activation block for cap_B x cap_T (zy__bert_acts)
    int cap_B, cap_T;

    // The last forward: shape, which losses it had, the dropout it used.
    int B, T;
    bool has_lengths;          // the batch gave lengths (else every row is T long)
    bool has_targets, has_labels; // the batch carried them (the heads scored what it had)
    bool mlm_loss, nsp_loss;   // scored in the last forward (backward pending)
    bool outputs_ok;           // hidden, pooled, nsp_logits, attentions of the last forward
    bool mlm_logits_ok;        // gone once backward wrote their gradient over them
    bool mlm_compact;          // the MLM head ran on the scored positions only: its rows
                               // are mlm_pos[0..mlm_rows) (else every position, N)
    int mlm_rows;
    int n_mlm, n_nsp;          // scored targets / labels
    int ok_mlm, ok_nsp;        // of them, predicted right (argmax of the logits)
    float l_mlm, l_nsp;        // the mean losses of the heads
    float eps;                 // the MLM loss's label smoothing (the session's)
    float p_hidden, p_attn;    // dropout in force (0 in evaluation mode)
    float p_cls;               // the classifier's dropout in force
    uint64_t seed;
    // The task heads (bert_task.c) of the last forward.
    bool task_loss;            // scored (backward pending)
    bool task_loss_scored;     // scored (the metrics; backward leaves it)
    int qa_span_ok;            // rows whose start and end argmax are both right
    bool task_logits_ok;       // its logits are intact (backward leaves them)
    zy__seqcls seq;            // sequence classification
    zy__ce tok;                // token classification: targets = acts.targets
    zy__ce qa_start, qa_end;   // question answering
} bert_session;

// The shared block's configuration for layer l of a (B, T) batch: post-LN encoder,
// layer_norm_eps, GELU/ReLU as hidden_act, FF = intermediate_size, dropout on the
// attention weights and both residual branches (none on the FF hidden layer, as BERT),
// keys masked by `lengths` (NULL: none), the plain core when attention is kept.
zy_block_config zy__bert_block_config(const bert_session *g, int B, int T, int l,
                                      const int *lengths);

// Seed of dropout site `site` (0 the embeddings, 1 + l layer l, 1 + L the classifier's
// dropout, 2 + L + k the heads' LoRA adapters: k = BERT_LORA_*).
enum { BERT_LORA_POOL = 0, BERT_LORA_TR = 1, BERT_LORA_NSP = 2, BERT_LORA_TASK = 3 };
uint64_t zy__bert_site_seed(const bert_session *g, int site);

// The activation block carved for a (B, T) batch (sizes grow with B and T, so the block
// prepared for (cap_B, cap_T) holds any smaller batch). Head buffers are NULL when the
// architecture lacks the head. N = B*T.
typedef struct bert_acts {
    float *res;                // (L+1, N, C) the input of each layer, and the last output
    size_t res_stride;         // floats between two of them
    float *emb;                // (N, C) word + position + type, before the LayerNorm
    float *emb_mean, *emb_rstd;// (N)
    float *blocks;             // (L, block_acts) what each layer saves for its backward
    size_t block_acts;         // floats per layer at (cap_B, cap_T)
    int *tokens, *types;       // (N) the ids used (padding read as pad_token_id / 0)
    int *targets;              // (N)
    int *lengths, *labels;     // (B)
    // pooler + NSP
    float *cls, *pooled;       // (B, C) [CLS] hidden states, tanh(dense(cls))
    float *nsp_logits, *nsp_lse; // (B, 2) (B)
    // MLM head
    float *tr_u, *tr_a, *tr_h; // (N, C) dense out, act(dense out), LayerNorm(act)
    float *tr_mean, *tr_rstd;  // (N)
    float *logits;             // (N, V); their gradient in place after backward. The head
                               // works on its first mlm_rows rows (all N, or the scored)
    int *mlm_pos, *mlm_tg;     // (N) compact head: the scored positions and their targets
    float *mlm_x;              // (N, C) compact head: the hidden states gathered there
    float *lse;                // (N)
    float *ce_rows;            // the in-place cross-entropy backward's scratch
    // scratch (forward and backward, not saved)
    float *dres;               // (N, C) gradient of the residual stream
    float *d1, *d2;            // (N, C) each
    float *dcls, *dpooled;     // (B, C) each
    float *dnsp;               // (B, 2)
    // task heads (bert_task.c)
    float *task_x;             // (B, C) dropout(pooled), (N, C) dropout(hidden): the
                               // classifier's input (NULL for QA: the hidden states)
    float *task_logits;        // (B, K) sequence, (N, K) token, (N, 2) QA logits
    float *dtask;              // the same size: their gradient
    float *qa_logits, *dqa;    // (2, B, T) start then end logits (padding masked), gradient
    int *qa_tg;                // (2, B) start and end positions as scored (-1 not)
    float *qa_lse;             // (2, B)
    float *tok_lse;            // (N)
    float *seq_buf;            // zy__seqcls_floats(B, K)
    // LoRA on the heads' linear layers: each adapter's (rows, r) product (NULL without),
    // and their forward and backward scratch
    float *pool_t, *tr_t, *nsp_t, *task_t, *lora_scratch;
    float *scratch;            // the blocks' scratch
    size_t scratch_floats;
} bert_acts;

size_t zy__bert_acts_floats(const bert_session *g, int B, int T);
bert_acts zy__bert_acts(const bert_session *g);

// The adapter of head linear layer k (BERT_LORA_*), if any, on x (R, in): y (R, ·) of
// stride ldy +=, its product saved in t; and backward: dx (R, in) += (NULL: skipped).
void zy__bert_lora_forward(const bert_session *g, const bert_acts *a, int k, const zy_lora *l,
                           float *t, float *y, int ldy, const float *x, int R);
void zy__bert_lora_backward(const bert_session *g, const bert_acts *a, int k,
                            const zy_lora *l, const float *t, float *dx, const float *dy,
                            int ldy, const float *x, int R);

// The model operations (bert_forward.c, bert_backward.c).
zy_status zy__bert_prepare(zy_session *s, int batch, int seq, int seq_dec);
zy_status zy__bert_forward(zy_session *s, const zy_batch *b, float *loss, double *count);
zy_status zy__bert_backward(zy_session *s, float loss_scale);
// "mlm_loss", "mlm_accuracy", "nsp_loss", "nsp_accuracy" of the last forward (the heads
// it scored); the task heads' (zy__bert_task_metrics).
void zy__bert_metrics(const zy_session *s, zy_metric_set *out);

// ---- task heads (bert_task.c) --------------------------------------------------------------
// Padded positions' question-answering logits are set to this, so they never win an argmax
// or take probability (Hugging Face leaves them as computed; here padding is also masked
// out of attention, so their values would mean nothing).
#define BERT_QA_MASKED -1e30f

// Config: the label fields (sequence and token classification) and classifier_dropout.
zy_status zy__bert_read_task_config(const zy_config *c, bert_hparams *h);
zy_status zy__bert_write_task_config(const bert_hparams *h, zy_config *c);
// The head's batch fields checked before forward writes anything (*problem: what a
// sequence classifier scores).
zy_status zy__bert_task_check(const bert_hparams *h, const zy_batch *b, zy__problem *problem);
// The head on the last hidden states x (N, C) (pooled output in the activations for the
// sequence classifier); loss into *loss, its count into *count.
zy_status zy__bert_task_forward(bert_session *g, const bert_acts *a, const float *x,
                                const zy_batch *b, zy__problem problem, float *loss,
                                double *count);
// dres (N, C) += the head's gradient (sequence classification: dpooled (B, C) instead,
// for the pooler's backward).
void zy__bert_task_backward(bert_session *g, const bert_acts *a, float scale);
void zy__bert_task_metrics(const bert_session *g, zy_metric_set *out);
// "logits" (classifiers), "start_logits", "end_logits" (QA), or NULL.
const float *zy__bert_task_output(const bert_session *g, const char *name, int *ndim,
                                  int64_t *shape);

#endif
