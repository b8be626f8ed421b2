// The image-classification kind of `zhuyi finetune` and `zhuyi eval` (kind.h):
// `zhuyi finetune image-classify` trains a Vision Transformer (ViTForImageClassification)
// on a labelled image set (include/zhuyi/image_data.h: an IDX pair such as Fashion-MNIST's,
// a CSV/TSV/JSONL manifest of image files, or an ImageFolder directory), with the
// training set's labels as the model's id2label, and scores it with accuracy, macro
// precision/recall/F1, the classification report and the confusion matrix. The model
// reads pixels, not tokens: no tokenizer. Not here: the shared flags, the loop and saving
// (pretrain*.c), eval's output (eval.c).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "confusion.h"
#include "kind.h"
#include "task_score.h"
#include "textio.h"
#include "zhuyi/image_data.h"
#include "zhuyi/zhuyi.h"

typedef struct image_opts {
    zy_image_set_params read;
    int crop_padding;
    bool flip, freeze_body;
    float mean, std;
} image_opts;

// A run's sets and, for scoring, the predictions of the last pass over the evaluation set.
typedef struct image_data {
    zy_image_set *train, *val;
    zy_label_set *labels;  // eval: the model's (id2label)
    int *pred;             // (n_val) argmax of each image's logits in the last pass
    float *prob;           // (n_val) its softmax probability
    float *probs;          // (n_val, K) every class's, allocated at the first pass
    int K;
    size_t next;           // images scored so far in the pass
} image_data;

static void opts_init(void *o) {
    image_opts *t = o;
    t->read = zy_image_set_default_params();
    t->mean = 0.5f, t->std = 0.5f;
}

static int bad_value(const char *cmd, const char *flag, const char *value) {
    zy_cli_die("%s: %s: '%s' is not a valid value (see --help)", cmd, flag, value);
    return -2;
}

static int parse_flag(void *opts, const char *cmd, const char *flag, const char *value) {
    image_opts *o = opts;
    if (!strcmp(flag, "--skip-bad-rows")) return o->read.skip_bad_rows = true, 0;
    if (!strcmp(flag, "--freeze-body")) return o->freeze_body = true, 0;
    if (!strcmp(flag, "--flip")) return o->flip = true, 0;
    static const char *const valued[] = {"--image-column", "--label-column", "--channels",
                                         "--crop-padding", "--mean", "--std"};
    int which = -1;
    for (int i = 0; i < (int)(sizeof valued / sizeof *valued); i++)
        if (!strcmp(flag, valued[i])) which = i;
    if (which < 0) return -1;
    if (!value) {
        zy_cli_die("%s: %s needs a value (see --help)", cmd, flag);
        return -2;
    }
    switch (which) {
    case 0: o->read.image_column = value; break;
    case 1: o->read.label_column = value; break;
    case 2:
        if (!strcmp(value, "gray")) o->read.channels = ZY_IMAGE_GRAY;
        else if (!strcmp(value, "rgb")) o->read.channels = ZY_IMAGE_RGB;
        else return bad_value(cmd, flag, value);
        break;
    case 3:
        if (zy_cli_parse_int(value, 0, 4096, &o->crop_padding)) return bad_value(cmd, flag, value);
        break;
    case 4:
        if (zy_cli_parse_float(value, -100, 100, &o->mean)) return bad_value(cmd, flag, value);
        break;
    default:
        if (zy_cli_parse_float(value, 1e-6f, 100, &o->std)) return bad_value(cmd, flag, value);
        break;
    }
    return 1;
}

static bool image_is_model(const zy_model_info *i) {
    return !strcmp(i->architecture, "ViTForImageClassification");
}

static int read_set(const image_opts *o, const char *cmd, const char *path,
                    const zy_image_set_params *rp, const zy_label_set *labels,
                    zy_image_set **out) {
    if (zy_image_set_read(out, path, rp, labels)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    (void)o;
    zy_cli_kind_report_skipped(cmd, path, zy_image_set_report(*out), "images");
    return 0;
}

// finetune, before the model exists: the training set gives the labels and the image
// size; the validation set is read against both.
static int image_read(const void *opts, const cli_data_params *p, cli_data *d) {
    const image_opts *o = opts;
    if (zy_cli_kind_example_files(p)) return 1;
    image_data *t = calloc(1, sizeof *t);
    if (!t) return zy_cli_die("out of memory");
    d->impl = t;
    if (read_set(o, p->cmd, p->files[0], &o->read, NULL, &t->train)) return 1;
    if (!p->val_file) return 0;
    zy_image_set_params vp = o->read;
    int ch;
    zy_image_set_size(t->train, &ch, &vp.height, &vp.width);
    vp.channels = ch == 1 ? ZY_IMAGE_GRAY : ZY_IMAGE_RGB;
    return read_set(o, p->cmd, p->val_file, &vp, zy_image_set_labels(t->train), &t->val);
}

// The architecture, the image size and channels of the data, and the labels.
static int image_config(const void *opts, const cli_data *d, const char *cmd, zy_config *c) {
    (void)opts;
    const image_data *t = d->impl;
    const char *arch = "ViTForImageClassification";
    int ch, h, w;
    zy_image_set_size(t->train, &ch, &h, &w);
    if (h != w)
        return zy_cli_die("%s: the images are %d x %d: zhuyi's ViT reads square images", cmd,
                          w, h);
    zy_config_remove(c, "problem_type");
    if (zy_config_set_strings(c, "architectures", &arch, 1) ||
        zy_config_set_int(c, "image_size", h) || zy_config_set_int(c, "num_channels", ch))
        return zy_cli_die("%s: %s", cmd, zy_last_error());
    return zy_cli_kind_config_labels(cmd, zy_image_set_labels(t->train), c);
}

static int image_check(const void *opts, const char *cmd, const zy_model *m,
                       const zy_tokenizer *tok, bool train) {
    (void)opts, (void)tok, (void)train;
    if (zy_model_get_info(m)->image_size <= 0)
        return zy_cli_die("%s: the model reads no images", cmd);
    return 0;
}

static int image_setup(const void *opts, const char *cmd, zy_model *m) {
    const image_opts *o = opts;
    if (o->freeze_body && zy_model_freeze_body(m))
        return zy_cli_die("%s: %s", cmd, zy_last_error());
    return 0;
}

static zy_image_source_params source_params(const image_opts *o, int batch, uint64_t seed) {
    zy_image_source_params sp = zy_image_source_default_params();
    sp.batch = batch;
    sp.seed = seed;
    for (int c = 0; c < 3; c++) sp.mean[c] = o->mean, sp.std[c] = o->std;
    return sp;
}

// A set's images against the model's size and channels (eval and a run resumed or
// started from --init on other images).
static int check_size(const char *cmd, const char *path, const zy_image_set *s,
                      const zy_model *m) {
    const zy_model_info *i = zy_model_get_info(m);
    int ch, h, w;
    zy_image_set_size(s, &ch, &h, &w);
    if (ch != i->image_channels || h != i->image_size || w != i->image_size)
        return zy_cli_die("%s: %s: the images are %d x %d x %d (channels x height x width), "
                          "the model reads %d x %d x %d (num_channels, image_size; --channels "
                          "converts gray and RGB)", cmd, path, ch, h, w, i->image_channels,
                          i->image_size, i->image_size);
    return 0;
}

static int alloc_scores(image_data *t, size_t n) {
    t->pred = calloc(n ? n : 1, sizeof *t->pred);
    t->prob = calloc(n ? n : 1, sizeof *t->prob);
    return t->pred && t->prob ? 0 : zy_cli_die("out of memory");
}

static int image_data_(const void *opts, const cli_data_params *p, cli_data *d) {
    const image_opts *o = opts;
    image_data *t = d->impl;
    if (check_size(p->cmd, p->files[0], t->train, p->model)) return 1;
    zy_image_source_params sp = source_params(o, p->batch, p->seed);
    sp.shuffle = p->shuffle;
    sp.crop_padding = o->crop_padding;
    sp.flip = o->flip;
    if (zy_image_source_create(&d->train, t->train, &sp))
        return zy_cli_die("%s: training data: %s", p->cmd, zy_last_error());
    d->n_train = d->train_rows = zy_image_set_count(t->train);
    if (!t->val) return 0;
    sp.shuffle = sp.flip = false;
    sp.crop_padding = 0;
    sp.one_pass = true;
    if (zy_image_source_create(&d->val, t->val, &sp))
        return zy_cli_die("%s: validation data: %s", p->cmd, zy_last_error());
    d->n_val = zy_image_set_count(t->val);
    d->best_metric = "accuracy";
    return alloc_scores(t, d->n_val);
}

// eval: one set, read against the model's labels and size, one pass in order.
static int image_eval_data(const void *opts, const cli_data_params *p, cli_data *d) {
    const image_opts *o = opts;
    image_data *t = calloc(1, sizeof *t);
    if (!t) return zy_cli_die("out of memory");
    d->impl = t;
    if (p->n_files != 1) return zy_cli_die("%s: one data set (got %d)", p->cmd, p->n_files);
    if (zy_cli_kind_model_labels(p->cmd, p->model, &t->labels)) return 1;
    const zy_model_info *i = zy_model_get_info(p->model);
    zy_image_set_params rp = o->read;
    rp.channels = i->image_channels == 1 ? ZY_IMAGE_GRAY : ZY_IMAGE_RGB;
    rp.require_labels = !p->unlabelled;
    if (p->n_images) {
        // In memory (a server's uploads): read and converted as files are, each checked
        // against the model's size as it is read (a PNG before it is inflated); what the
        // model reads is said with any error, for the client to know what to send.
        rp.height = rp.width = i->image_size;
        if (zy_image_set_read_memory(&t->val, p->files[0], p->images, p->image_sizes,
                                     p->image_names, p->n_images, &rp, t->labels))
            return zy_cli_die("%s: %s (the model reads %d x %d %s images)", p->cmd,
                              zy_last_error(), i->image_size, i->image_size,
                              i->image_channels == 1 ? "gray" : "RGB");
    } else if (read_set(o, p->cmd, p->files[0], &rp, t->labels, &t->val) ||
               check_size(p->cmd, p->files[0], t->val, p->model)) {
        return 1;
    }
    zy_image_source_params sp = source_params(o, p->batch ? p->batch : 32, 0);
    sp.shuffle = false;
    sp.one_pass = true;
    sp.omit_labels = p->unlabelled;
    if (zy_image_source_create(&d->val, t->val, &sp))
        return zy_cli_die("%s: %s: %s", p->cmd, p->files[0], zy_last_error());
    d->batch = sp.batch, d->seq = 1;
    d->rows = d->n_val = zy_image_set_count(t->val);
    return alloc_scores(t, d->n_val);
}

static void image_free_data(cli_data *d) {
    zy_data_source_free(d->train);
    zy_data_source_free(d->val);
    image_data *t = d->impl;
    if (t) {
        zy_image_set_free(t->train);
        zy_image_set_free(t->val);
        zy_label_set_free(t->labels);
        free(t->pred);
        free(t->prob);
        free(t->probs);
        free(t);
    }
    memset(d, 0, sizeof *d);
}

// zy_eval_params.on_forward: the argmax of each image's logits, and its probability.
static zy_status on_forward(const zy_batch *b, const zy_session *s, void *user) {
    image_data *t = user;
    int nd;
    int64_t sh[2];
    const float *logits = zy_session_output(s, "logits", &nd, sh);
    if (!logits || nd != 2 || sh[0] < b->B || t->next + (size_t)b->B > zy_image_set_count(t->val))
        return ZY_STATUS_INVALID_ARGUMENT;
    int K = (int)sh[1];
    if (!t->probs) {
        size_t n = zy_image_set_count(t->val);
        if (K < 1 || !(t->probs = calloc(n * (size_t)K, sizeof *t->probs)))
            return ZY_STATUS_OUT_OF_MEMORY;
        t->K = K;
    }
    if (K != t->K) return ZY_STATUS_INVALID_ARGUMENT;
    for (int r = 0; r < b->B; r++) {
        const float *x = logits + (size_t)r * K;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (x[k] > x[best]) best = k;
        double se = 0;
        for (int k = 0; k < K; k++) se += exp((double)x[k] - x[best]);
        float *p = t->probs + t->next * (size_t)K;
        for (int k = 0; k < K; k++) p[k] = (float)(exp((double)x[k] - x[best]) / se);
        t->pred[t->next] = best;
        t->prob[t->next] = (float)(1.0 / se);
        t->next++;
    }
    return ZY_STATUS_OK;
}

// The confusion matrix of the last pass (gold from the set), its scores, and with io the
// report, the SVG and one JSON line per image.
static int report(const image_data *t, const zy_label_set *ls, const cli_score_io *io,
                  zy_metric_set *metrics) {
    size_t n = t->next;
    int K = zy_label_set_count(ls), rc = 0;
    zy_confusion *c = NULL;
    zy_class_score *per = calloc((size_t)K, sizeof *per);
    const char **names = calloc((size_t)K, sizeof *names);
    int *gold = calloc(n ? n : 1, sizeof *gold);
    if (!per || !names || !gold || zy_confusion_create(&c, K)) rc = zy_cli_die("out of memory");
    for (int k = 0; !rc && k < K; k++) names[k] = zy_label_set_name(ls, k);
    for (size_t i = 0; !rc && i < n; i++) gold[i] = zy_image_set_item(t->val, i).label;
    zy_scores s;
    if (!rc && (zy_confusion_add(c, gold, t->pred, n) || zy_confusion_scores(c, per, &s)))
        rc = zy_cli_die("evaluation: %s", zy_last_error());
    if (!rc) {
        task_metric_put(metrics, "accuracy", s.accuracy, (double)n);
        task_metric_put(metrics, "f1", s.macro.f1, (double)n);
        task_metric_put(metrics, "precision", s.macro.precision, (double)n);
        task_metric_put(metrics, "recall", s.macro.recall, (double)n);
    }
    if (!rc && io && io->report) {
        zy_classification_report(io->report, names, per, K, &s, ZY_REPORT_SKLEARN, 4);
        zy_strbuf_puts(io->report, "\nconfusion matrix (rows: gold, columns: predicted)\n");
        zy_confusion_text(io->report, c, names);
        if (io->svg) zy_confusion_svg(io->svg, c, names, "confusion matrix");
    }
    zy_confusion_free(c);
    free(per);
    free(names);
    free(gold);
    return rc;
}

// One pass over d->val: the loss, the model's metrics and the classification scores; with
// io, the report and the predictions.
static int image_score(const void *opts, cli_data *d, zy_session *s, const cli_score_io *io,
                       double *loss, zy_metric_set *metrics) {
    (void)opts;
    image_data *t = d->impl;
    bool labelled = !(io && io->unlabelled);
    t->next = 0;
    if (zy_data_source_seek(d->val, (zy_data_pos){0, 0}))
        return zy_cli_die("%s", zy_last_error());
    zy_eval_params ep = {.metrics = metrics, .on_forward = on_forward, .user = t,
                         .unscored = !labelled};
    double count;
    if (zy_evaluate(s, d->val, &ep, loss, &count))
        return zy_cli_die("evaluation: %s", zy_last_error());
    const zy_label_set *ls = t->labels ? t->labels : zy_image_set_labels(t->train);
    if (labelled && report(t, ls, io, metrics)) return 1;
    for (size_t i = 0; io && io->predictions && i < t->next; i++) {
        zy_image_item it = zy_image_set_item(t->val, i);
        const char *name = zy_label_set_name(ls, t->pred[i]);
        fputs("{\"file\": ", io->predictions);
        zy_cli_put_json_string(io->predictions, it.file, strlen(it.file));
        fprintf(io->predictions, ", \"index\": %zu, \"label\": ", i);
        zy_cli_put_json_string(io->predictions, name, strlen(name));
        fprintf(io->predictions, ", \"score\": %.6g}\n", (double)t->prob[i]);
    }
    return 0;
}

const float *zy_cli_kind_image_prediction(const cli_data *d, size_t i, int *label, int *K) {
    const image_data *t = d->impl;
    if (!t || i >= t->next || !t->probs) return NULL;
    *label = t->pred[i];
    *K = t->K;
    return t->probs + i * (size_t)t->K;
}

const zy_label_set *zy_cli_kind_image_labels(const cli_data *d) {
    const image_data *t = d->impl;
    return t->labels ? t->labels : zy_image_set_labels(t->train);
}

const cli_kind zy_cli_kind_image = {
    .verb = "finetune",
    .name = "image-classify",
    .what = "an image classifier: a Vision Transformer (ViTForImageClassification) on\n"
            "labelled images",
    .default_config = "vit-mnist",
    .no_tokenizer = true,
    .unit = "images",
    .eval_unit = "images",
    .help = "  data: --train and --val are an IDX images file (its labels file beside it,\n"
            "  named with labels-idx1 for images-idx3, as Fashion-MNIST's), a CSV/TSV/JSONL\n"
            "  manifest (image file and label per row), or an ImageFolder directory\n"
            "  (DIR/<label>/<png, pgm, ppm files>)\n"
            "  --image-column NAME   the manifest's image column / JSON key (default image)\n"
            "  --label-column NAME   the manifest's label column / key (default label)\n"
            "  --channels C          gray or rgb: convert every image (default: the first\n"
            "                        image's)\n"
            "  --crop-padding P      training: random crops of the image padded by P black\n"
            "                        pixels on each side (default 0: none)\n"
            "  --flip                training: random horizontal flips\n"
            "  --mean X, --std X     pixels normalised as (v/255 - X) / X' (default 0.5, 0.5)\n"
            "  --skip-bad-rows       count and skip unreadable images and bad rows\n"
            "  --freeze-body         train the classifier only\n"
            "  metrics: accuracy, f1, precision, recall (macro); eval prints the\n"
            "  classification report and the confusion matrix\n",
    .opts_size = sizeof(image_opts),
    .opts_init = opts_init,
    .parse_flag = parse_flag,
    .is_model = image_is_model,
    .read = image_read,
    .config = image_config,
    .check = image_check,
    .setup = image_setup,
    .data = image_data_,
    .eval_data = image_eval_data,
    .free_data = image_free_data,
    .score = image_score,
};
