// BERT pretraining through the library's generic trainer, unchanged: a synthetic masked-LM
// + next-sentence task (defined here as a data source) that a tiny BERT can learn, and a
// check that training lowers the MLM loss on held-out examples. Not the pretraining data
// pipeline (WordPiece, real corpora): that is built on top of the model elsewhere.
//
// Example i is a pure function of (seed, i): [CLS] a a ... a [SEP] b b ... b (a and b
// content ids in [4, V)), a length in [T/2, T] (right padding), token types 0 up to [SEP]
// and 1 after it, b = a (label 0, "is next") or another id (label 1), and ~15% of the
// content positions replaced by [MASK] with the original id as their target. A masked id
// is the one its segment repeats, so attending to the segment predicts it.

#include "bert_util.h"
#include "harness.h"
#include "train_util.h"
#include "zhuyi/trainer.h"

enum { PAD = 0, CLS = 1, MASK = 2, SEP = 3, FIRST = 4 };

// Example i into row r of b (its label only if the source yields labels).
static void example(const zt_examples *e, uint64_t i, zy_batch *b, int r) {
    zy_rng rng;
    zy_rng_seed(&rng, zy_hash64(e->seed, i));
    int T = e->T, span = e->V - FIRST, *len = &b->lengths[r];
    int *ids = b->input_ids + (size_t)r * T, *types = b->token_type_ids + (size_t)r * T;
    int *targets = b->targets + (size_t)r * T;
    *len = T / 2 + (int)zy_rng_below(&rng, (uint64_t)(T - T / 2 + 1));
    int label = (int)zy_rng_below(&rng, 2);
    int a = (int)zy_rng_below(&rng, (uint64_t)span), sep = *len / 2;
    int bid = label ? (a + 1 + (int)zy_rng_below(&rng, (uint64_t)span - 1)) % span : a;
    int masked = 0;
    for (int t = 0; t < T; t++) {
        int id = t == 0 ? CLS : t == sep ? SEP : t >= *len ? PAD
                 : FIRST + (t < sep ? a : bid);
        types[t] = t > sep && t < *len;
        targets[t] = -1;
        if (id >= FIRST && (zy_rng_below(&rng, 100) < 15 || (t == *len - 1 && !masked))) {
            targets[t] = id;
            id = MASK;
            masked++;
        }
        ids[t] = id;
    }
    if (e->fields & ZY_BATCH_LABELS) b->labels[r] = label;
}

// labels: also yield the next-sentence labels (training); without, MLM alone (the
// validation loss is then the MLM loss).
static zy_data_source *task_source(int B, int T, int V, uint64_t seed, uint64_t n_one_pass,
                                   bool labels) {
    zt_examples e = {.kind = "zt-mlm-task", .B = B, .T = T, .V = V, .seed = seed,
                     .fields = ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS | ZY_BATCH_TOKEN_TYPES |
                               (labels ? ZY_BATCH_LABELS : 0u),
                     .n_one_pass = n_one_pass, .example = example};
    return zt_example_source(&e);
}

// BertForPreTraining L=2 H=2 C=32 FF=64 V=24 T=12, dropout 0.1, HF's N(0, 0.02) init,
// 300 steps of B=16 with AdamW (lr 3e-3 cosine to 3e-4, 10 warmup steps): the held-out
// MLM loss (256 examples) falls from ~ln(24) = 3.2 to less than half (0.59 when written),
// and the training loss (MLM + NSP) by more than 1 (3.86 -> 1.32).
TEST(bert_train_lowers_mlm_loss) {
    zt_bert_dims d = {"BertForPreTraining", 2, 2, 32, 64, 16, 2, 24, 0.1f};
    zy_model *m = zt_bert_create(&d, 11);
    ASSERT(m != NULL);
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = 16, p.seq = 12, p.steps = 300, p.warmup = 10, p.lr = 3e-3f, p.min_lr = 3e-4f;
    p.weight_decay = 0.01f, p.eval_batches = 0, p.seed = 3;
    zy_data_source *train = task_source(p.batch, p.seq, 24, 5, 0, true);
    zy_data_source *val = task_source(p.batch, p.seq, 24, 77, 256, false);
    ASSERT(train && val);
    zy_trainer *t = NULL;
    if (zy_trainer_create(&t, m, train, val, &p) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "trainer: %s", zy_last_error());
    } else {
        zt_train_losses l;
        ASSERT(zt_train_measured(t, p.steps, &l) == ZY_STATUS_OK);
        zt_note("held-out MLM loss %.3f -> %.3f; training loss (MLM + NSP) %.3f -> %.3f",
                l.before, l.after, l.first, l.last);
        CHECK(l.before > 2.8f && l.after < 0.5f * l.before && l.last < l.first - 1.0f);
        zy_trainer_free(t);
    }
    zy_data_source_free(train);
    zy_data_source_free(val);
    zy_model_free(m);
}
