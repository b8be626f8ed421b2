// What `zhuyi pretrain` and `zhuyi eval` do differently for each kind of model, as one
// table entry per kind (kind_gpt.c: causal language models on a token stream;
// kind_bert.c: BERT's masked LM and next-sentence prediction on documents of
// sentences; kind_task.c: the fine-tuning tasks; kind_lm.c: instructions and replies;
// kind_seq2seq.c: encoder-decoders on sentence pairs). Everything else is written once:
// the flags, the run directory, the
// training loop, checkpoints and --resume, metrics.jsonl and loss.svg (pretrain*.c,
// metrics.c), the evaluation loop and its output (eval.c). Which metrics a run reports
// needs no entry here: they are the model's named metrics (zy_session_metrics).
#ifndef ZHUYI_CLI_KIND_H
#define ZHUYI_CLI_KIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "strbuf.h"
#include "zhuyi/model.h"
#include "zhuyi/task.h"
#include "zhuyi/tokenizer.h"
#include "zhuyi/trainer.h"

// What the shared code asks a kind to make data sources from.
typedef struct cli_data_params {
    const char *cmd;          // for messages: "pretrain bert", "eval"
    zy_tokenizer *tok;
    const zy_model *model;
    const char *const *files; // text files (n_files >= 1)
    int n_files;
    const char *val_file;     // training: validation text, or NULL
    float val_fraction;       // training without val_file: share held out (0: none)
    int batch, seq;           // eval: 0 = the kind's default
    int trained_seq;          // eval: the seq the model's run trained with (0: unknown),
                              // the default before the kind's own
    uint64_t seed;            // training: data order and masks
    bool shuffle;             // training: a seeded random order
    bool val_fraction_given;  // training: --val-fraction was on the command line
    bool unlabelled;          // eval_data for predict: the file may lack labels
    const char *dir;          // eval: the model's directory (files beside the model);
                              // training: --init's, or --out on --resume (NULL: a new
                              // model), whose files a kind without a tokenizer may reuse
    const char *data;         // eval_data of the task kinds: the examples in memory
    size_t data_len;          // (files[0] names them and picks their format), or NULL
    // eval_data of the image kind: n_images image files in memory (a server's uploads)
    // instead of files[0], which then names them all; image_names[i] names image i
    const void *const *images;
    const size_t *image_sizes;
    const char *const *image_names;
    size_t n_images;
} cli_data_params;

typedef struct cli_data {
    zy_data_source *train;    // training (NULL for eval)
    zy_data_source *val;      // validation, or the evaluation's one-pass source; or NULL
    size_t n_train, n_val;    // sizes in the kind's unit (tokens, examples)
    size_t train_rows;        // rows of the training source per epoch (for --epochs)
    int batch, seq;           // eval: the shape chosen; training: 0, or the longest
                              // batch of a kind whose rows are not --seq long (sentence
                              // pairs, speech frames), which replaces --seq
    size_t rows;              // eval: sequences in val
    const char *best_metric;  // finetune: the metric to keep the best model by (static)
    const zy_tokenizer *tok;  // the run's tokenizer, set after read (for config)
    void *impl;               // the kind's own (token arrays, corpora): free_data
} cli_data;

// What an evaluation that scores a task writes besides its metrics (score below).
typedef struct cli_score_io {
    zy_strbuf *report;        // a report for people (classification report, confusion
                              // matrix), or NULL
    zy_strbuf *svg;           // the confusion matrix as SVG (single-label), or NULL
    FILE *predictions;        // one JSON line per example, or NULL
    bool unlabelled;          // the data has no labels: predictions only
} cli_score_io;

typedef struct cli_kind {
    const char *verb;             // "pretrain" or "finetune": the command that trains it
    const char *name;             // "gpt", "bert": `zhuyi pretrain NAME`
    const char *what;             // for help: what is trained
    const char *default_config;   // preset of a new model
    const char *default_tokenizer; // --tokenizer SPEC without --tokenizer or --init
    const char *help;             // the kind's presets, tokenizers, data and own flags
    const char *unit;             // what n_train / n_val count
    const char *eval_unit;        // what an evaluation's count is ("tokens", "masked tokens")
    const char *loss_metric;      // eval: the metric reported as loss and perplexity (NULL:
                                  // the model's loss)
    // Special tokens of a tokenizer the run learns (bpe:N, byte), NULL-terminated (NULL:
    // "<|endoftext|>").
    const char *const *special_tokens;
    // The data are sentence pairs: --src FILE --tgt FILE or --pairs FILE, validation
    // --val-src FILE (with the kind's --val-tgt FILE) or --val-pairs FILE, no
    // --val-fraction; the kind's data() sets d->batch and d->seq to the shape of its
    // batches, which replaces --batch/--seq.
    bool pairs_data;
    // The model reads no tokens (images): no --tokenizer, no tokenizer.json; the data
    // params' tok is NULL.
    bool no_tokenizer;
    // The kind's own defaults of the training parameters, set before the flags are read
    // (optional).
    void (*defaults)(zy_trainer_params *p);
    size_t opts_size;             // the kind's options (its own flags)
    void (*opts_init)(void *opts);
    // One of the kind's flags (value: the next argument or NULL): returns how many values
    // it took (0 or 1), -1 if the flag is not the kind's, -2 after printing an error.
    int (*parse_flag)(void *opts, const char *cmd, const char *flag, const char *value);
    bool (*is_model)(const zy_model_info *info); // a model the kind trains and evaluates
    // eval (optional): the kind evaluates a model it accepts on this data file (e.g. JSON
    // lines of instructions for a causal LM), ahead of kinds without is_data.
    bool (*is_data)(const char *path);
    // Before the tokenizer and the model exist (optional): read what the model's config
    // depends on, e.g. the labels of fine-tuning files, into d (so bad files fail before
    // any work); 0 or 1 (printed).
    int (*read)(const void *opts, const cli_data_params *p, cli_data *d);
    // After read (optional; only with read): the training data's text, which a vocabulary
    // the run learns (--tokenizer bpe:N, wordpiece:N) is learnt from, when the files hold
    // more than text (columns, labels, tags); n texts, the kind's, valid while d lives.
    // Without it the files are read whole. 0 or 1 (printed).
    int (*vocab_texts)(const cli_data *d, const char *cmd, const char *const **texts,
                       const size_t **lens, int *n);
    // Adjust the config of a new model, or (finetune --init) of the model a checkpoint is
    // read as: the architecture for the kind's options, the labels read; 0 or 1.
    int (*config)(const void *opts, const cli_data *d, const char *cmd, zy_config *c);
    // The model and tokenizer fit the options (special tokens, heads) for training or for
    // evaluation; 0 or 1 (printed).
    int (*check)(const void *opts, const char *cmd, const zy_model *m, const zy_tokenizer *t,
                 bool train);
    // A model made or loaded for training, before the trainer (optional): e.g. freezing
    // its body; 0 or 1 (printed).
    int (*setup)(const void *opts, const char *cmd, zy_model *m);
    // Files of the kind's own in DIR, written once at the start of a run (not on --resume)
    // beside tokenizer.json, e.g. the chat template or a speech model's vocabulary, from
    // the options and what read and data made (optional); 0 or 1 (printed).
    int (*save)(const void *opts, const cli_data *d, const char *cmd, const char *dir);
    // Training (and validation) sources, or the evaluation source; 0 or 1 (printed).
    int (*data)(const void *opts, const cli_data_params *p, cli_data *d);
    int (*eval_data)(const void *opts, const cli_data_params *p, cli_data *d);
    void (*free_data)(cli_data *d); // the sources and impl
    // Evaluation that scores the model's outputs (optional; the finetune kinds): one pass
    // over d->val on s (not loss_only) giving the loss (*loss), the model's metrics and
    // the task's (accuracy, F1, exact match...) in *metrics, and what io asks for (may be
    // NULL). Kinds without it are evaluated by zy_evaluate alone. 0 or 1 (printed).
    int (*score)(const void *opts, cli_data *d, zy_session *s, const cli_score_io *io,
                 double *loss, zy_metric_set *metrics);
} cli_kind;

extern const cli_kind zy_cli_kind_gpt, zy_cli_kind_bert;
extern const cli_kind zy_cli_kind_classify, zy_cli_kind_tag, zy_cli_kind_qa, zy_cli_kind_lm;
extern const cli_kind zy_cli_kind_seq2seq, zy_cli_kind_image, zy_cli_kind_speech;

// The kind of command `verb` ("pretrain", "finetune") called name, or NULL.
const cli_kind *zy_cli_kind_named(const char *verb, const char *name);
// The i-th kind of the table (0, 1, ...), NULL past its end.
const cli_kind *zy_cli_kind_at(int i);
// The kind whose is_model accepts the model, or NULL.
const cli_kind *zy_cli_kind_of(const zy_model_info *info);
// eval: the kind whose is_model accepts the model and whose is_data accepts every file,
// else zy_cli_kind_of.
const cli_kind *zy_cli_kind_for_data(const zy_model_info *info, const char *const *files,
                                     int n);
// For commands that load a model before they know its kind (eval, predict), in their
// argument loop: is argv[*i] a flag of any kind? A flag is accepted now and checked
// against the model's kind later (zy_cli_kind_model_opts); kinds may share a flag name
// with other values (bert's --format lines|prose, the tasks' --format csv|...). Returns 1
// with the flag and its value (NULL for a flag without one) appended to kflags (cap
// entries) and *i past its value, 0 if no kind knows the flag, -1 after printing why.
int zy_cli_kind_collect(const char *cmd, int argc, char **argv, int *i, const char **kflags,
                        int cap, int *n_kflags);
// The options of kind k for a model in dir (eval, predict): its defaults, then
// kflags[0..n_kflags), pairs of a flag and its value (NULL for a flag without one) that
// zy_cli_kind_collect gathered. *out is set (free() it) even when a flag is refused: 0,
// or 1 after printing why.
int zy_cli_kind_model_opts(const cli_kind *k, const char *cmd, const char *dir,
                           const char *const *kflags, int n_kflags, void **out);
// The fine-tuning kinds' evaluation data (after their eval_data): the scorer of its pass
// (task_score.h) and the features it scores, for callers that read the predictions
// themselves (zhuyi serve). Only for d of zy_cli_kind_classify, _tag and _qa.
struct task_scorer *zy_cli_kind_task_scorer(const cli_data *d);
const zy_task_features *zy_cli_kind_task_features(const cli_data *d);
// The image kind's evaluation data (after its eval_data and a pass of score): image i's
// predicted label id (*label) and the softmax probabilities of its K classes (returned;
// NULL when i is past the pass), and the labels' names in id order (zhuyi serve).
const float *zy_cli_kind_image_prediction(const cli_data *d, size_t i, int *label, int *K);
const zy_label_set *zy_cli_kind_image_labels(const cli_data *d);
// The labels of a classifier, in id order, from its config's id2label (eval and predict
// of the classifying kinds). 0, or 1 after printing why.
int zy_cli_kind_model_labels(const char *cmd, const zy_model *m, zy_label_set **out);
// A classifier's label fields into a model's config, as Hugging Face writes them:
// id2label and label2id from ls in id order (NULL: one label, "LABEL_0"), num_labels
// removed. 0, or 1 after printing why.
int zy_cli_kind_config_labels(const char *cmd, const zy_label_set *ls, zy_config *c);
// The names of the kinds of command `verb`, e.g. "gpt, bert", for messages.
const char *zy_cli_kind_names(const char *verb);

// For the read of the kinds that fine-tune on files of examples (kind_task.c, kind_lm.c):
// one --train file, and validation as --val FILE, not --val-fraction. 0, or 1 (printed).
int zy_cli_kind_example_files(const cli_data_params *p);
// What --skip-bad-rows left out of path, said on stderr (nothing if none): how many bad
// `what` ("rows", "lines"), how many examples kept, the first reasons.
void zy_cli_kind_report_skipped(const char *cmd, const char *path,
                                const zy_task_read_report *r, const char *what);

#endif
