// The fine-tuning kinds of `zhuyi finetune`, `zhuyi eval` and `zhuyi predict` (kind.h):
// classify (sequence labels, several labels, or a number), tag (a tag per word) and qa
// (answer spans). Labelled files are read into examples (include/zhuyi/task.h: CSV, TSV,
// JSONL, CoNLL, word/TAG), their label set goes into the model's config (id2label) before
// the model is made, the examples become features and bucketed batches, and evaluation
// scores the model's outputs with the task's metrics (task_score.c). The heads are the
// model's (BertForSequenceClassification, BertForTokenClassification,
// BertForQuestionAnswering, GPT2ForSequenceClassification). Not here: the shared flags,
// the loop and saving (pretrain*.c), the output of eval and predict (eval.c, predict.c).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kind.h"
#include "task_score.h"
#include "zhuyi/lora.h"
#include "zhuyi/zhuyi.h"

typedef struct task_opts {
    zy_task_read_params read;
    int doc_stride, max_answer;
    bool freeze_body;
} task_opts;

// What a task run holds: examples, features and the scorer of its validation (or
// evaluation) set.
typedef struct task_data {
    zy_task_data *train, *val;
    zy_task_features *ftrain, *fval;
    zy_label_set *labels; // eval and predict: the model's (id2label)
    task_scorer *scorer;
    // vocab_texts: views into train, and tag's sentences joined with spaces in buf
    const char **texts;
    size_t *lens;
    char *buf;
} task_data;

static void opts_init(zy_task task, void *o) {
    task_opts *t = o;
    t->read = zy_task_read_default_params(task);
    t->doc_stride = 0; // --seq / 4
    t->max_answer = 30;
}
static void classify_init(void *o) { opts_init(ZY_TASK_CLASSIFY, o); }
static void tag_init(void *o) { opts_init(ZY_TASK_TAG, o); }
static void qa_init(void *o) { opts_init(ZY_TASK_QA, o); }

static int bad_value(const char *cmd, const char *flag, const char *value) {
    zy_cli_die("%s: %s: '%s' is not a valid value (see --help)", cmd, flag, value);
    return -2;
}

static int parse_flag(void *opts, const char *cmd, const char *flag, const char *value) {
    task_opts *o = opts;
    zy_task task = o->read.task;
    if (!strcmp(flag, "--skip-bad-rows")) return o->read.skip_bad_rows = true, 0;
    if (!strcmp(flag, "--freeze-body")) return o->freeze_body = true, 0;
    static const char *const valued[] = {"--format", "--text-column", "--text-pair-column",
                                         "--label-column", "--problem", "--label-separator",
                                         "--tokens-key", "--tags-key", "--doc-stride",
                                         "--max-answer-len"};
    int which = -1;
    for (int i = 0; i < (int)(sizeof valued / sizeof *valued); i++)
        if (!strcmp(flag, valued[i])) which = i;
    bool classify = task == ZY_TASK_CLASSIFY, tag = task == ZY_TASK_TAG, qa = task == ZY_TASK_QA;
    if (which < 0 || (which >= 1 && which <= 5 && !classify) ||
        (which >= 6 && which <= 7 && !tag) ||
        (which >= 8 && !qa))
        return -1;
    if (!value) {
        zy_cli_die("%s: %s needs a value (see --help)", cmd, flag);
        return -2;
    }
    switch (which) {
    case 0:
        if (zy_task_format_parse(value, &o->read.format)) return bad_value(cmd, flag, value);
        break;
    case 1: o->read.text_column = value; break;
    case 2: o->read.text_pair_column = value; break;
    case 3: o->read.label_column = value; break;
    case 4:
        if (!strcmp(value, "single")) o->read.problem = ZY_PROBLEM_SINGLE_LABEL;
        else if (!strcmp(value, "multi")) o->read.problem = ZY_PROBLEM_MULTI_LABEL;
        else if (!strcmp(value, "regression")) o->read.problem = ZY_PROBLEM_REGRESSION;
        else return bad_value(cmd, flag, value);
        break;
    case 5:
        if (strlen(value) != 1) return bad_value(cmd, flag, value);
        o->read.label_separator = value[0];
        break;
    case 6: o->read.tokens_key = value; break;
    case 7: o->read.tags_key = value; break;
    case 8:
        if (zy_cli_parse_int(value, 1, 1 << 20, &o->doc_stride)) return bad_value(cmd, flag, value);
        break;
    default:
        if (zy_cli_parse_int(value, 1, 1 << 20, &o->max_answer)) return bad_value(cmd, flag, value);
    }
    return 1;
}

static const char *arch_of(zy_task task, bool gpt) {
    if (task == ZY_TASK_CLASSIFY)
        return gpt ? "GPT2ForSequenceClassification" : "BertForSequenceClassification";
    return task == ZY_TASK_TAG ? "BertForTokenClassification" : "BertForQuestionAnswering";
}

static bool classify_is_model(const zy_model_info *i) {
    return !strcmp(i->architecture, "BertForSequenceClassification") ||
           !strcmp(i->architecture, "GPT2ForSequenceClassification");
}
static bool tag_is_model(const zy_model_info *i) {
    return !strcmp(i->architecture, "BertForTokenClassification");
}
static bool qa_is_model(const zy_model_info *i) {
    return !strcmp(i->architecture, "BertForQuestionAnswering");
}

// path, or data[0..len) named path when data is not NULL.
static int read_file(const task_opts *o, const char *cmd, const char *path, const char *data,
                     size_t len, const zy_label_set *labels, bool labelled,
                     zy_task_data **out) {
    zy_task_read_params rp = o->read;
    rp.require_labels = labelled;
    if (data ? zy_task_data_read_buffer(out, path, data, len, &rp, labels)
             : zy_task_data_read(out, path, &rp, labels))
        return zy_cli_die("%s: %s", cmd, zy_last_error());
    zy_cli_kind_report_skipped(cmd, path, zy_task_data_report(*out), "rows");
    return 0;
}

// finetune, before the model exists: the training file gives the labels, the validation
// file is read against them.
static int task_read(const void *opts, const cli_data_params *p, cli_data *d) {
    const task_opts *o = opts;
    if (zy_cli_kind_example_files(p)) return 1;
    task_data *t = calloc(1, sizeof *t);
    if (!t) return zy_cli_die("out of memory");
    d->impl = t;
    if (read_file(o, p->cmd, p->files[0], NULL, 0, NULL, true, &t->train)) return 1;
    if (p->val_file &&
        read_file(o, p->cmd, p->val_file, NULL, 0, zy_task_data_labels(t->train), true,
                  &t->val))
        return 1;
    return 0;
}

// The training examples' texts for a vocabulary: classify's text and pair, qa's question
// and each context once (examples of one context follow each other), tag's words joined
// with spaces, a sentence a text. Labels, tags, headers and columns are left out.
static int task_vocab_texts(const cli_data *d, const char *cmd, const char *const **texts,
                            const size_t **lens, int *n) {
    task_data *t = d->impl;
    size_t count = zy_task_data_count(t->train), bytes = 0, k = 0;
    if (count > (size_t)INT32_MAX / 2) return zy_cli_die("%s: too many examples", cmd);
    for (size_t i = 0; i < count; i++) {
        const zy_task_example *e = zy_task_data_example(t->train, i);
        if (!e->text) // tag: its words and a space after each
            for (int w = 0; w < e->n_words; w++) bytes += e->word_lens[w] + 1;
    }
    t->texts = malloc(2 * (count ? count : 1) * sizeof *t->texts);
    t->lens = malloc(2 * (count ? count : 1) * sizeof *t->lens);
    t->buf = malloc(bytes ? bytes : 1);
    if (!t->texts || !t->lens || !t->buf) return zy_cli_die("%s: out of memory", cmd);
    char *b = t->buf;
    const char *last_context = NULL;
    size_t last_len = 0;
    bool qa = zy_task_data_task(t->train) == ZY_TASK_QA;
    for (size_t i = 0; i < count; i++) {
        const zy_task_example *e = zy_task_data_example(t->train, i);
        if (!e->text) { // tag
            t->texts[k] = b;
            for (int w = 0; w < e->n_words; w++) {
                if (w) *b++ = ' ';
                memcpy(b, e->words[w], e->word_lens[w]);
                b += e->word_lens[w];
            }
            t->lens[k] = (size_t)(b - t->texts[k]);
            k++;
            continue;
        }
        bool repeat = qa && last_context && e->text_len == last_len &&
                      !memcmp(e->text, last_context, last_len);
        if (!repeat) t->texts[k] = e->text, t->lens[k++] = e->text_len;
        if (e->pair) t->texts[k] = e->pair, t->lens[k++] = e->pair_len;
        last_context = e->text, last_len = e->text_len;
    }
    *texts = t->texts, *lens = t->lens, *n = (int)k;
    return 0;
}

static const zy_label_set *labels_of(const task_data *t) {
    return t->labels ? t->labels : t->train ? zy_task_data_labels(t->train) : NULL;
}

// The head's architecture and the label fields, as Hugging Face's config has them.
static int task_config(const void *opts, const cli_data *d, const char *cmd, zy_config *c) {
    const task_opts *o = opts;
    const task_data *t = d->impl;
    const char *type = NULL;
    zy_config_get_string(c, "model_type", &type);
    bool gpt = type && !strcmp(type, "gpt2");
    zy_task task = o->read.task;
    if (gpt && task != ZY_TASK_CLASSIFY)
        return zy_cli_die("%s: a GPT-2 model has no %s head (Hugging Face's GPT-2 heads: "
                          "sequence classification); use a BERT", cmd,
                          task == ZY_TASK_TAG ? "token classification" : "question answering");
    const char *arch = arch_of(task, gpt);
    if (zy_config_set_strings(c, "architectures", &arch, 1)) goto fail;
    // What another head's config (--init of a fine-tuned directory) may carry.
    if (task != ZY_TASK_CLASSIFY) zy_config_remove(c, "problem_type");
    if (task == ZY_TASK_QA) {
        zy_config_remove(c, "id2label");
        zy_config_remove(c, "label2id");
        zy_config_remove(c, "num_labels");
        return 0;
    }
    if (zy_cli_kind_config_labels(cmd, labels_of(t), c)) return 1;
    const char *problem = zy_task_problem_name(o->read.problem);
    if (task != ZY_TASK_CLASSIFY || !zy_config_set_string(c, "problem_type", problem)) return 0;
fail:
    return zy_cli_die("%s: %s", cmd, zy_last_error());
}

static int task_check(const void *opts, const char *cmd, const zy_model *m, const zy_tokenizer *t,
                      bool train) {
    const zy_model_info *i = zy_model_get_info(m);
    int32_t id;
    if (strcmp(i->model_type, "gpt2") &&
        (zy_tokenizer_special_id(t, ZY_SPECIAL_CLS, &id) ||
         zy_tokenizer_special_id(t, ZY_SPECIAL_SEP, &id)))
        return zy_cli_die("%s: the tokenizer has no [CLS] and [SEP] tokens, which a BERT's "
                          "inputs need", cmd);
    return 0;
}

// Head-only training (--freeze-body): the head and the pooler (BERT's sequence
// classifier reads the pooled output, and a BertForMaskedLM checkpoint has no pooler to
// keep) train, the rest stays as loaded. By name, so a resumed run freezes the same.
static int task_setup(const void *opts, const char *cmd, zy_model *m) {
    const task_opts *o = opts;
    if (!o->freeze_body) return 0;
    if (zy_model_has_adapter(m))
        return zy_cli_die("%s: --freeze-body and --lora exclude each other (LoRA already "
                          "trains the adapter and the head alone)", cmd);
    if (zy_model_freeze_body(m)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    const zy_tensor_table *t = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(t); i++)
        if (strstr(zy_tensor_table_at(t, i)->name, "pooler.") &&
            zy_model_set_trainable(m, i, true))
            return zy_cli_die("%s: %s", cmd, zy_last_error());
    return 0;
}

static void stats(const char *cmd, const char *what, const zy_task_features *f, int T) {
    const zy_task_feature_stats *s = zy_task_features_stats(f);
    if (s->n_truncated)
        fprintf(stderr, "zhuyi: %s: %s: %llu examples cut to %d tokens (--seq)\n", cmd, what,
                (unsigned long long)s->n_truncated, T);
    if (s->n_words_truncated)
        fprintf(stderr, "zhuyi: %s: %s: %llu words past --seq get no tag of their own "
                "(predicted O)\n", cmd, what, (unsigned long long)s->n_words_truncated);
    if (s->n_answers_outside)
        fprintf(stderr, "zhuyi: %s: %s: %llu answers lie in no window whole\n", cmd, what,
                (unsigned long long)s->n_answers_outside);
}

static int features(const task_opts *o, const cli_data_params *p, const zy_task_data *d,
                    int T, const char *what, zy_task_features **out) {
    zy_task_feature_params fp = zy_task_feature_default_params();
    fp.max_length = T;
    fp.doc_stride = o->doc_stride ? o->doc_stride : T / 4;
    if (zy_task_features_create(out, d, p->tok, &fp))
        return zy_cli_die("%s: %s", p->cmd, zy_last_error());
    stats(p->cmd, what, *out, T);
    return 0;
}

static int make_scorer(const task_opts *o, const char *cmd, task_data *t, const zy_task_data *d,
                       const zy_task_features *f) {
    task_scorer_params sp = {.cmd = cmd, .task = o->read.task, .problem = o->read.problem,
                             .data = d, .features = f, .labels = labels_of(t),
                             .max_answer = o->max_answer};
    return task_scorer_create(&t->scorer, &sp);
}

static int task_data_(const void *opts, const cli_data_params *p, cli_data *d) {
    const task_opts *o = opts;
    task_data *t = d->impl;
    if (features(o, p, t->train, p->seq, "training", &t->ftrain) ||
        (t->val && features(o, p, t->val, p->seq, "validation", &t->fval)))
        return 1;
    zy_task_source_params sp = zy_task_source_default_params();
    sp.batch = p->batch;
    sp.seed = p->seed;
    sp.shuffle = p->shuffle;
    if (zy_task_source_create(&d->train, t->ftrain, &sp))
        return zy_cli_die("%s: training data: %s", p->cmd, zy_last_error());
    d->n_train = zy_task_data_count(t->train);
    d->train_rows = zy_task_features_count(t->ftrain); // qa: windows
    if (t->val) {
        sp.shuffle = false;
        sp.one_pass = true;
        if (zy_task_source_create(&d->val, t->fval, &sp))
            return zy_cli_die("%s: validation data: %s", p->cmd, zy_last_error());
        d->n_val = zy_task_data_count(t->val);
        if (make_scorer(o, p->cmd, t, t->val, t->fval)) return 1;
        d->best_metric = task_scorer_best_metric(t->scorer);
    }
    return 0;
}

// eval and predict: one file, read against the model's labels, one pass in order.
static int task_eval_data(const void *opts, const cli_data_params *p, cli_data *d) {
    task_opts o = *(const task_opts *)opts;
    task_data *t = calloc(1, sizeof *t);
    if (!t) return zy_cli_die("out of memory");
    d->impl = t;
    zy_config *c = NULL;
    const char *problem = NULL;
    // The model's problem type; without one, Hugging Face's rule: one label is regression.
    if (o.read.task == ZY_TASK_CLASSIFY && !zy_model_get_config(p->model, &c)) {
        if (!zy_config_get_string(c, "problem_type", &problem) && problem) {
            if (!strcmp(problem, "regression")) o.read.problem = ZY_PROBLEM_REGRESSION;
            else if (!strcmp(problem, "multi_label_classification"))
                o.read.problem = ZY_PROBLEM_MULTI_LABEL;
        } else if (zy_config_object_count(c, "id2label") == 1) {
            o.read.problem = ZY_PROBLEM_REGRESSION;
        }
    }
    zy_config_free(c);
    if (p->n_files != 1) return zy_cli_die("%s: one data file (got %d)", p->cmd, p->n_files);
    if (o.read.task != ZY_TASK_QA && o.read.problem != ZY_PROBLEM_REGRESSION &&
        zy_cli_kind_model_labels(p->cmd, p->model, &t->labels))
        return 1;
    if (read_file(&o, p->cmd, p->files[0], p->data, p->data_len, t->labels, !p->unlabelled,
                  &t->val)) return 1;
    int npos = zy_model_get_info(p->model)->max_positions;
    int T = p->seq ? p->seq : p->trained_seq ? p->trained_seq : 128;
    if (T > npos) T = npos;
    if (features(&o, p, t->val, T, p->files[0], &t->fval)) return 1;
    zy_task_source_params sp = zy_task_source_default_params();
    sp.batch = p->batch ? p->batch : 16;
    sp.shuffle = false;
    sp.one_pass = true;
    sp.omit_labels = p->unlabelled;
    if (zy_task_source_create(&d->val, t->fval, &sp))
        return zy_cli_die("%s: %s: %s", p->cmd, p->files[0], zy_last_error());
    d->batch = sp.batch, d->seq = T;
    d->rows = zy_task_features_count(t->fval);
    d->n_val = zy_task_data_count(t->val);
    return make_scorer(&o, p->cmd, t, t->val, t->fval);
}

task_scorer *zy_cli_kind_task_scorer(const cli_data *d) {
    const task_data *t = d->impl;
    return t ? t->scorer : NULL;
}

const zy_task_features *zy_cli_kind_task_features(const cli_data *d) {
    const task_data *t = d->impl;
    return t ? t->fval : NULL;
}

static void task_free_data(cli_data *d) {
    zy_data_source_free(d->train);
    zy_data_source_free(d->val);
    task_data *t = d->impl;
    if (t) {
        task_scorer_free(t->scorer);
        zy_task_features_free(t->ftrain);
        zy_task_features_free(t->fval);
        zy_task_data_free(t->train);
        zy_task_data_free(t->val);
        zy_label_set_free(t->labels);
        free(t->texts);
        free(t->lens);
        free(t->buf);
        free(t);
    }
    memset(d, 0, sizeof *d);
}

// One pass over d->val with the model's outputs scored: the loss, the model's metrics and
// the task's; with io, the report for people and the predictions.
static int task_score(const void *opts, cli_data *d, zy_session *s, const cli_score_io *io,
                      double *loss, zy_metric_set *metrics) {
    (void)opts;
    task_data *t = d->impl;
    bool labelled = !(io && io->unlabelled);
    task_scorer_reset(t->scorer);
    if (zy_data_source_seek(d->val, (zy_data_pos){0, 0}))
        return zy_cli_die("%s", zy_last_error());
    zy_eval_params ep = {.metrics = metrics, .on_forward = task_scorer_on_forward,
                         .user = t->scorer, .unscored = !labelled};
    double count;
    if (zy_evaluate(s, d->val, &ep, loss, &count))
        return zy_cli_die("evaluation: %s", zy_last_error());
    if (labelled && task_scorer_metrics(t->scorer, metrics)) return 1;
    if (io && io->report && labelled && task_scorer_report(t->scorer, io->report, io->svg))
        return 1;
    if (io && io->predictions && task_scorer_predictions(t->scorer, io->predictions)) return 1;
    return 0;
}

#define HELP_COMMON                                                                       \
    "  --format F            csv, tsv, jsonl, conll or word-tag (default: from the file\n" \
    "                        name: .csv .tsv .jsonl .conll; .txt is word-tag or CoNLL)\n" \
    "  --skip-bad-rows       count and skip malformed rows (the first few reported)\n"   \
    "                        instead of stopping at the first\n"                        \
    "  --freeze-body         train the head (and BERT's pooler) only; the body's weights\n" \
    "                        stay as loaded\n"

#define KIND_COMMON                                                                       \
    .verb = "finetune", .default_config = "bert-mini",                                    \
    .default_tokenizer = "wordpiece:8192",                                                \
    .unit = "examples", .eval_unit = "examples", .opts_size = sizeof(task_opts),           \
    .parse_flag = parse_flag, .read = task_read, .vocab_texts = task_vocab_texts,         \
    .config = task_config,                                                                \
    .check = task_check, .setup = task_setup, .data = task_data_,                         \
    .eval_data = task_eval_data, .free_data = task_free_data, .score = task_score

const cli_kind zy_cli_kind_classify = {
    KIND_COMMON,
    .name = "classify",
    .what = "a sequence classifier: a label (or several, or a number) per text or text\n"
            "pair, on the pooled output (BERT) or the last token (GPT-2)",
    .help = "  --text-column NAME    the text's column / JSON key (default text)\n"
            "  --text-pair-column N  a second text per example (default: none)\n"
            "  --label-column NAME   the label's column / key (default label)\n"
            "  --problem P           single (one label, cross-entropy; default), multi (a set\n"
            "                        of labels, BCE) or regression (a number, MSE)\n"
            "  --label-separator C   multi-label CSV/TSV: labels in one field split at C (,)\n"
            HELP_COMMON
            "  metrics: accuracy, f1, precision, recall (macro; multi-label: micro);\n"
            "  regression: mse, mae, pearson\n",
    .opts_init = classify_init,
    .is_model = classify_is_model,
};

const cli_kind zy_cli_kind_tag = {
    KIND_COMMON,
    .name = "tag",
    .what = "a token classifier (BERT): a tag per word, e.g. part of speech or named\n"
            "entities (BIO)",
    .help = "  --tokens-key NAME     JSONL: the words' key (default tokens)\n"
            "  --tags-key NAME       JSONL: the tags' key (default tags)\n"
            HELP_COMMON
            "  metrics: accuracy (words); with BIO tags f1, precision, recall over entities\n"
            "  (seqeval's default mode)\n",
    .opts_init = tag_init,
    .is_model = tag_is_model,
};

const cli_kind zy_cli_kind_qa = {
    KIND_COMMON,
    .name = "qa",
    .what = "extractive question answering (BERT): the answer's span in a context",
    .help = "  --doc-stride N        tokens shared by consecutive windows of a long context\n"
            "                        (default: a quarter of --seq)\n"
            "  --max-answer-len N    longest predicted answer, in tokens (default 30)\n"
            HELP_COMMON
            "  metrics: exact_match and f1 (SQuAD v1.1, 0-100)\n",
    .opts_init = qa_init,
    .is_model = qa_is_model,
};
