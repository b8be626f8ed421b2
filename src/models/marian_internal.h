// Private to src/models/marian*.c: the encoder-decoder Transformer in Hugging Face's
// MarianMT layout (hyper-parameters, tensor table layout, weight/gradient views and the
// per-session state). The model object is the generic zy_model (model.h).
#ifndef ZHUYI_MODELS_MARIAN_INTERNAL_H
#define ZHUYI_MODELS_MARIAN_INTERNAL_H

#include "zhuyi/attention.h"
#include "zhuyi/model.h"

typedef struct marian_hparams {
    int d_model;            // C
    int enc_layers, dec_layers;
    int enc_heads, dec_heads;
    int enc_ffn, dec_ffn;
    int max_positions;      // P, max_position_embeddings
    int vocab;              // V, vocab_size (= decoder_vocab_size: shared embeddings)
    int pad_id, eos_id, dec_start_id;
    zy_block_act act;       // activation_function
    int act_name;           // which of the names (marian_config.c) it was given as
    bool scale_embedding;   // embeddings times sqrt(d_model)
    float dropout;          // dropout: embeddings and every residual branch
    float attn_dropout;     // attention_dropout: the attention weights
    float act_dropout;      // activation_dropout: the FF hidden layer
    float init_std;         // N(0, init_std) for weights and embeddings
    float *pe;              // (P, C) the sinusoidal table (Marian's split layout), owned
} marian_hparams;

// config.json <-> hparams (marian_config.c).
zy_status zy__marian_read_config(const zy_config *c, marian_hparams *h);
zy_status zy__marian_write_config(const marian_hparams *h, zy_config *c);
zy_status zy__marian_preset(const char *name, zy_config *c);
extern const char *const zy__marian_presets[];

// ---- the tensor table (= flat layout) ------------------------------------------------------
// model.shared.weight, the encoder layers, the decoder layers, final_logits_bias. Each
// attention's q, k, v weights are adjacent and then their biases: the block's fused (3C, C)
// projection and (3C) bias with no copies.
enum { // an attention's tensors
    MA_QW = 0, MA_KW, MA_VW, MA_QB, MA_KB, MA_VB, MA_OW, MA_OB, MA_LNW, MA_LNB, MA_TENSORS
};
enum { // after the attentions of a layer
    MF_W1 = 0, MF_B1, MF_W2, MF_B2, MF_LNW, MF_LNB, MF_TENSORS
};
#define MARIAN_ENC_TENSORS (MA_TENSORS + MF_TENSORS)
#define MARIAN_DEC_TENSORS (2 * MA_TENSORS + MF_TENSORS)
#define MARIAN_T_SHARED 0
#define MARIAN_T_ENC(l) (1 + MARIAN_ENC_TENSORS * (l))
#define MARIAN_T_DEC(h, l) (MARIAN_T_ENC((h)->enc_layers) + MARIAN_DEC_TENSORS * (l))
#define MARIAN_T_BIAS(h) MARIAN_T_DEC(h, (h)->dec_layers)

// ---- sessions ------------------------------------------------------------------------------
typedef struct marian_session {
    marian_hparams h;           // a copy (pe shared with the model)
    zy_block_params *we, *wd;   // encoder / decoder layer views of the weights
    zy_block_params *dwe, *dwd; // ... of the gradients (NULL when not training)
    const float *shared, *flb;  // (V, C) embeddings = output projection, (V) its bias
    float *dshared, *dflb;      // their gradients (NULL: frozen or not training)
    zy_block_lora *lora_e, *lora_d; // each layer's adapters (NULL without an adapter)
    float lora_dropout, p_lora;

    float *acts;                // the activation block
    size_t acts_floats;
    int tokens;                 // the session's bound on B x max(T, T_dec) (0: none)

    // The last forward.
    int B, T, Td;
    float p, p_attn, p_act;     // dropout in force
    uint64_t seed;
    float eps;                  // label smoothing of the loss
    int n_valid, n_correct;
    float nll;                  // mean plain cross-entropy over the scored targets
    bool scored;                // the last forward had targets (its metrics)
    bool backward_ok, logits_ok, outputs_ok;

    // Decoding. With a weight type (model.h): each decoder layer's typed linear layers (Ld
    // arrays of ZY_BLOCK_LINEARS; NULL without) and the head's.
    zy_wmatrix (*typed)[ZY_BLOCK_LINEARS];
    const zy_wmatrix *head_typed;
    int n_seq, n_mem;
    zy_wtype kv_cache;          // zy_session_params.kv_cache: both caches' element type
    zy_kv_cache *cache, *mem;   // self-attention (n_seq) and cross-attention (n_mem)
    int *mem_of;                // (n_seq) the memory slot each sequence reads
    int *mem_rows;              // (n_seq) a decode's rows' slots (no allocation per step)
    float *dec;                 // decode scratch
    size_t dec_floats;
    float *enc_buf;             // the encoder's buffers for zy_session_encode (grow-only)
    size_t enc_floats;
    int dec_rows;               // rows the scratch holds
} marian_session;

// The blocks' configuration: layer l of the encoder (dec false: B rows of T, keys masked
// by src lengths) or of the decoder (B rows of Td, causal, masked by dec lengths; its
// cross-attention over Tm = T source positions masked by the source lengths).
zy_block_config zy__marian_block_config(const marian_session *g, bool dec, int l, int B,
                                        int T, int Tm, const int *lengths,
                                        const int *mem_lengths);
uint64_t zy__marian_site_seed(const marian_session *g, int site);

// The activation block for a (B, T, Td) batch (carved per batch: offsets follow the
// batch's own shape, so a token-bounded session holds any batch within its bound).
typedef struct marian_acts {
    float *enc;                 // (Le+1, B*T, C) each encoder layer's input, then the output
    float *dec;                 // (Ld+1, B*Td, C)
    size_t enc_stride, dec_stride; // floats between two layers' rows
    float *enc_blocks, *dec_blocks; // saved per layer
    size_t enc_block, dec_block;    // floats per layer
    int *src, *tgt, *targets;   // (B*T) (B*Td) (B*Td) the ids used
    int *src_len, *tgt_len;     // (B)
    float *logits;              // (B*Td, V); their gradient in place after backward
    float *lse;                 // (B*Td)
    float *ce_rows;
    float *ddec;                // (B*Td, C) the decoder's residual gradient
    float *dmem;                // (B*T, C) the gradient of the encoder output (then of the
                                // encoder's residual stream)
    float *tmp;                 // (B*max(T, Td), C) the embeddings' gradient
    float *scratch;             // the blocks' scratch
    size_t scratch_floats;
} marian_acts;

// Floats of the block for (B, T, Td); marian_acts over base (NULL: counts only).
size_t zy__marian_acts_carve(const marian_session *g, float *base, int B, int T, int Td,
                             marian_acts *a);

zy_status zy__marian_prepare(zy_session *s, int batch, int seq, int seq_dec);
zy_status zy__marian_forward(zy_session *s, const zy_batch *b, float *loss, double *count);
zy_status zy__marian_backward(zy_session *s, float loss_scale);
void zy__marian_metrics(const zy_session *s, zy_metric_set *out);

// Embeddings of ids (n) at positions pos0.. (one row each; pos NULL) or pos[i]:
// out = scale · shared[id] + pe[pos].
void zy__marian_embed(const marian_session *g, float *out, const int *ids, int n, int pos0,
                      const int *pos);

// Decoding (marian_decode.c).
zy_status zy__marian_encode(zy_session *s, int n, const int *slots, const int *tokens, int T,
                            const int *lengths);
zy_status zy__marian_decode(zy_session *s, int n_seq, const int *seqs, const int *tokens,
                            int n, float *logits);
void zy__marian_seq_reset(zy_session *s, int seq);
int zy__marian_seq_len(const zy_session *s, int seq);
zy_status zy__marian_seq_copy(zy_session *s, int dst, int src);
zy_status zy__marian_seq_attach(zy_session *s, int seq, int slot);
void zy__marian_decode_free(marian_session *g);

#endif
