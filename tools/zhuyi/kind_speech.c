// The speech-recognition kind of `zhuyi finetune` and `zhuyi eval` (kind.h):
// `zhuyi finetune speech` trains a CTC speech encoder (model_type speech_ctc) on a JSON
// lines manifest of WAV files and transcripts (include/zhuyi/speech_data.h), with a
// character vocabulary learned from the training transcripts and saved as vocab.json,
// SpecAugment on the training batches, and scores it by decoding (transcribe.h) with word
// and character error rates (metrics.h, jiwer's). The model reads log-mel frames, not
// tokens: no tokenizer. Not here: the shared flags, the loop and saving (pretrain*.c),
// eval's output (eval.c).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kind.h"
#include "task_score.h"
#include "textio.h"
#include "transcribe.h"
#include "zhuyi/metrics.h"
#include "zhuyi/speech_data.h"
#include "zhuyi/zhuyi.h"

typedef struct speech_opts {
    zy_speech_set_params read;
    bool spec_augment;
    int beam;
} speech_opts;

// A run's sets and vocabulary and, for scoring, the transcripts of the last pass.
typedef struct speech_data {
    zy_speech_set *train, *val;
    zy_char_vocab *vocab;
    char **hyps;           // (n_val) the last pass's transcripts
    size_t next;           // utterances decoded so far in the pass
    int beam;
    int failed;            // a decoding error (printed)
} speech_data;

static void opts_init(void *o) {
    speech_opts *t = o;
    t->read = zy_speech_set_default_params();
    t->spec_augment = true;
    t->beam = 1;
}

static int parse_flag(void *opts, const char *cmd, const char *flag, const char *value) {
    speech_opts *o = opts;
    if (!strcmp(flag, "--skip-bad-rows")) return o->read.skip_bad = true, 0;
    if (!strcmp(flag, "--no-spec-augment")) return o->spec_augment = false, 0;
    static const char *const valued[] = {"--audio-key", "--text-key", "--max-seconds", "--beam"};
    int which = -1;
    for (int i = 0; i < (int)(sizeof valued / sizeof *valued); i++)
        if (!strcmp(flag, valued[i])) which = i;
    if (which < 0) return -1;
    if (!value) {
        zy_cli_die("%s: %s needs a value (see --help)", cmd, flag);
        return -2;
    }
    float f;
    switch (which) {
    case 0: o->read.audio_key = value; break;
    case 1: o->read.text_key = value; break;
    case 2:
        if (zy_cli_parse_float(value, 0, 3600, &f)) goto bad;
        o->read.max_seconds = f;
        break;
    default:
        if (zy_cli_parse_int(value, 1, 1024, &o->beam)) goto bad;
        break;
    }
    return 1;
bad:
    zy_cli_die("%s: %s: '%s' is not a valid value (see --help)", cmd, flag, value);
    return -2;
}

static bool speech_is_model(const zy_model_info *i) { return i->audio_features > 0; }

static int read_set(const speech_opts *o, const char *cmd, const char *path,
                    zy_speech_set **out) {
    if (zy_speech_set_read(out, path, &o->read)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    uint64_t too_long, bad;
    zy_speech_set_skipped(*out, &too_long, &bad);
    if (too_long || bad)
        fprintf(stderr, "zhuyi: %s: %s: skipped %llu utterances longer than %g s and %llu bad "
                "rows; %zu kept\n", cmd, path, (unsigned long long)too_long,
                o->read.max_seconds, (unsigned long long)bad, zy_speech_set_count(*out));
    return 0;
}

// finetune, before the model exists: the training transcripts give the vocabulary, or
// the model's directory (--init, --resume) has one.
static int speech_read(const void *opts, const cli_data_params *p, cli_data *d) {
    const speech_opts *o = opts;
    if (zy_cli_kind_example_files(p)) return 1;
    speech_data *t = calloc(1, sizeof *t);
    if (!t) return zy_cli_die("out of memory");
    d->impl = t;
    if (read_set(o, p->cmd, p->files[0], &t->train)) return 1;
    // --init or --resume: the model's own labels (a character it lacks reads as <unk>)
    char path[4096];
    if (p->dir && zy_cli_dir_file(p->dir, "vocab.json", path, sizeof path)) {
        if (zy_char_vocab_load(&t->vocab, p->dir))
            return zy_cli_die("%s: %s", p->cmd, zy_last_error());
        return p->val_file ? read_set(o, p->cmd, p->val_file, &t->val) : 0;
    }
    size_t n = zy_speech_set_count(t->train);
    const char **texts = malloc(n * sizeof *texts);
    if (!texts) return zy_cli_die("out of memory");
    for (size_t i = 0; i < n; i++) texts[i] = zy_speech_set_item(t->train, i).text;
    int rc = zy_char_vocab_build(&t->vocab, texts, n) ? zy_cli_die("%s: %s: %s", p->cmd,
                                                                  p->files[0], zy_last_error())
                                                      : 0;
    free(texts);
    if (rc || !p->val_file) return rc;
    return read_set(o, p->cmd, p->val_file, &t->val);
}

// The architecture, the labels' count and the blank, the features.
static int speech_config(const void *opts, const cli_data *d, const char *cmd, zy_config *c) {
    (void)opts;
    const speech_data *t = d->impl;
    const char *arch = "SpeechEncoderForCTC";
    if (zy_config_set_strings(c, "architectures", &arch, 1) ||
        zy_config_set_int(c, "vocab_size", zy_char_vocab_size(t->vocab)) ||
        zy_config_set_int(c, "pad_token_id", zy_char_vocab_pad(t->vocab)) ||
        zy_config_set_int(c, "num_mel_bins", ZY_MEL_BINS))
        return zy_cli_die("%s: %s", cmd, zy_last_error());
    return 0;
}

static int speech_check(const void *opts, const char *cmd, const zy_model *m,
                        const zy_tokenizer *tok, bool train) {
    (void)opts, (void)tok, (void)train;
    const zy_model_info *i = zy_model_get_info(m);
    if (i->audio_features != ZY_MEL_BINS)
        return zy_cli_die("%s: the model reads %d features per frame, not the %d log-mel bins "
                          "zhuyi computes", cmd, i->audio_features, ZY_MEL_BINS);
    return 0;
}

static int speech_save(const void *opts, const cli_data *d, const char *cmd, const char *dir) {
    (void)opts;
    const speech_data *t = d->impl;
    if (zy_char_vocab_save(t->vocab, dir)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    return 0;
}

static int alloc_hyps(speech_data *t, size_t n) {
    t->hyps = calloc(n ? n : 1, sizeof *t->hyps);
    return t->hyps ? 0 : zy_cli_die("out of memory");
}

// The vocabulary of the run against the model's labels (a --resume or --init model).
static int check_vocab(const char *cmd, const zy_char_vocab *v, const zy_model *m) {
    int mv = zy_model_get_info(m)->vocab_size, vv = zy_char_vocab_size(v);
    if (mv != vv)
        return zy_cli_die("%s: the training transcripts give %d labels but the model has "
                          "vocab_size %d", cmd, vv, mv);
    return 0;
}

static int speech_data_(const void *opts, const cli_data_params *p, cli_data *d) {
    const speech_opts *o = opts;
    speech_data *t = d->impl;
    if (check_vocab(p->cmd, t->vocab, p->model)) return 1;
    zy_speech_source_params sp = zy_speech_source_default_params();
    sp.batch = p->batch;
    sp.seed = p->seed;
    sp.shuffle = p->shuffle;
    if (!o->spec_augment) sp.n_freq_masks = sp.n_time_masks = 0;
    if (zy_speech_source_create(&d->train, t->train, t->vocab, &sp))
        return zy_cli_die("%s: training data: %s", p->cmd, zy_last_error());
    d->n_train = d->train_rows = zy_speech_set_count(t->train);
    d->seq = zy_data_source_get_info(d->train)->dims.seq; // frames, not --seq
    t->beam = o->beam;
    if (!t->val) return 0;
    sp.shuffle = false;
    sp.one_pass = true;
    if (zy_speech_source_create(&d->val, t->val, t->vocab, &sp))
        return zy_cli_die("%s: validation data: %s", p->cmd, zy_last_error());
    d->n_val = zy_speech_set_count(t->val);
    int vseq = zy_data_source_get_info(d->val)->dims.seq;
    if (vseq > d->seq) d->seq = vseq;
    d->best_metric = "wer";
    return alloc_hyps(t, d->n_val);
}

// eval: one manifest, the model's vocabulary, one pass in order.
static int speech_eval_data(const void *opts, const cli_data_params *p, cli_data *d) {
    const speech_opts *o = opts;
    speech_data *t = calloc(1, sizeof *t);
    if (!t) return zy_cli_die("out of memory");
    d->impl = t;
    t->beam = o->beam;
    if (p->n_files != 1) return zy_cli_die("%s: one manifest (got %d)", p->cmd, p->n_files);
    if (zy_cli_speech_vocab(p->cmd, p->dir, p->model, &t->vocab) ||
        read_set(o, p->cmd, p->files[0], &t->val))
        return 1;
    zy_speech_source_params sp = zy_speech_source_default_params();
    sp.batch = p->batch ? p->batch : 16;
    sp.shuffle = false;
    sp.one_pass = true;
    sp.n_freq_masks = sp.n_time_masks = 0;
    if (zy_speech_source_create(&d->val, t->val, t->vocab, &sp))
        return zy_cli_die("%s: %s: %s", p->cmd, p->files[0], zy_last_error());
    const zy_batch_dims *dims = &zy_data_source_get_info(d->val)->dims;
    d->batch = sp.batch, d->seq = dims->seq;
    d->rows = d->n_val = zy_speech_set_count(t->val);
    return alloc_hyps(t, d->n_val);
}

static void free_hyps(speech_data *t, size_t n) {
    for (size_t i = 0; t->hyps && i < n; i++) free(t->hyps[i]), t->hyps[i] = NULL;
}

static void speech_free_data(cli_data *d) {
    zy_data_source_free(d->train);
    zy_data_source_free(d->val);
    speech_data *t = d->impl;
    if (t) {
        free_hyps(t, t->val ? zy_speech_set_count(t->val) : 0);
        free(t->hyps);
        zy_speech_set_free(t->train);
        zy_speech_set_free(t->val);
        zy_char_vocab_free(t->vocab);
        free(t);
    }
    memset(d, 0, sizeof *d);
}

// zy_eval_params.on_forward: each utterance's transcript.
static zy_status on_forward(const zy_batch *b, const zy_session *s, void *user) {
    speech_data *t = user;
    if (t->next + (size_t)b->B > zy_speech_set_count(t->val)) return ZY_STATUS_INVALID_ARGUMENT;
    for (int r = 0; r < b->B; r++) {
        char *text = NULL;
        if (zy_cli_ctc_text("evaluation", s, r, t->beam, t->vocab, &text)) {
            t->failed = 1;
            return ZY_STATUS_INVALID_ARGUMENT;
        }
        free(t->hyps[t->next]);
        t->hyps[t->next++] = text;
    }
    return ZY_STATUS_OK;
}

// One pass over d->val: the CTC loss, then WER and CER of the transcripts against the
// normalised references; with io, a report and one JSON line per utterance.
static int speech_score(const void *opts, cli_data *d, zy_session *s, const cli_score_io *io,
                        double *loss, zy_metric_set *metrics) {
    (void)opts;
    speech_data *t = d->impl;
    t->next = 0;
    t->failed = 0;
    if (zy_data_source_seek(d->val, (zy_data_pos){0, 0}))
        return zy_cli_die("%s", zy_last_error());
    zy_eval_params ep = {.metrics = metrics, .on_forward = on_forward, .user = t};
    double count;
    if (zy_evaluate(s, d->val, &ep, loss, &count))
        return t->failed ? 1 : zy_cli_die("evaluation: %s", zy_last_error());
    size_t n = t->next;
    char **refs = calloc(n ? n : 1, sizeof *refs);
    int rc = refs ? 0 : zy_cli_die("out of memory");
    for (size_t i = 0; !rc && i < n; i++)
        if (!(refs[i] = zy_cli_speech_normalize(zy_speech_set_item(t->val, i).text)))
            rc = zy_cli_die("evaluation: the transcript of utterance %zu cannot be "
                            "normalised", i);
    zy_error_rate wer, cer;
    if (!rc && (zy_wer_corpus((const char *const *)t->hyps, (const char *const *)refs, n, &wer) ||
                zy_cer_corpus((const char *const *)t->hyps, (const char *const *)refs, n, &cer)))
        rc = zy_cli_die("evaluation: %s", zy_last_error());
    if (!rc) {
        task_metric_put(metrics, "wer", wer.rate, (double)wer.ref_len);
        task_metric_put(metrics, "cer", cer.rate, (double)cer.ref_len);
    }
    if (!rc && io && io->report) {
        const zy_error_rate *e[2] = {&wer, &cer};
        const char *what[2] = {"words", "characters"}, *name[2] = {"WER", "CER"};
        for (int k = 0; k < 2; k++)
            zy_strbuf_printf(io->report, "%s %.2f %%: %lld substitutions, %lld deletions, %lld "
                             "insertions in %lld reference %s\n", name[k], 100 * e[k]->rate,
                             (long long)e[k]->substitutions, (long long)e[k]->deletions,
                             (long long)e[k]->insertions, (long long)e[k]->ref_len, what[k]);
        for (size_t i = 0; i < n && i < 5; i++)
            zy_strbuf_printf(io->report, "%s  ref: %s\n%s  hyp: %s\n", i ? "" : "examples:\n",
                             refs[i], "", t->hyps[i]);
    }
    for (size_t i = 0; !rc && io && io->predictions && i < n; i++) {
        zy_speech_item it = zy_speech_set_item(t->val, i);
        fputs("{\"audio\": ", io->predictions);
        zy_cli_put_json_string(io->predictions, it.audio, strlen(it.audio));
        fputs(", \"text\": ", io->predictions);
        zy_cli_put_json_string(io->predictions, t->hyps[i], strlen(t->hyps[i]));
        fputs(", \"reference\": ", io->predictions);
        zy_cli_put_json_string(io->predictions, refs[i], strlen(refs[i]));
        fputs("}\n", io->predictions);
    }
    for (size_t i = 0; refs && i < n; i++) free(refs[i]);
    free(refs);
    return rc;
}

const cli_kind zy_cli_kind_speech = {
    .verb = "finetune",
    .name = "speech",
    .what = "a speech recogniser: a convolutional front end and a Transformer encoder\n"
            "over log-mel frames, trained with CTC on WAV files and transcripts",
    .default_config = "speech-small",
    .no_tokenizer = true,
    .unit = "utterances",
    .eval_unit = "labels",
    .help = "  data: --train and --val are JSON lines manifests, one utterance a line:\n"
            "  {\"audio\": \"path.wav\", \"text\": \"the transcript\"} (paths relative to the\n"
            "  manifest's directory); WAV files in PCM or float, any rate (resampled to\n"
            "  16 kHz), features: 80 log-mel bins every 10 ms, normalised per utterance.\n"
            "  The labels are the characters of the training transcripts (NFKC, lower\n"
            "  case; '|' between words, '<pad>' the CTC blank), saved as vocab.json\n"
            "  --audio-key NAME      the manifest's audio key (default audio)\n"
            "  --text-key NAME       the manifest's transcript key (default text)\n"
            "  --max-seconds S       longest utterance (default 30; longer ones are an\n"
            "                        error, or skipped with --skip-bad-rows)\n"
            "  --skip-bad-rows       count and skip unreadable audio and bad rows\n"
            "  --no-spec-augment     training batches without SpecAugment (default: 2\n"
            "                        frequency masks of up to 15 bins and 2 time masks of\n"
            "                        up to 20 frames or 10 %, drawn from --seed)\n"
            "  --beam N              evaluation: CTC prefix beam search of width N\n"
            "                        (default 1: greedy)\n"
            "  metrics: wer, cer (jiwer's; lower is better); eval prints them with their\n"
            "  edit counts and examples\n",
    .opts_size = sizeof(speech_opts),
    .opts_init = opts_init,
    .parse_flag = parse_flag,
    .is_model = speech_is_model,
    .read = speech_read,
    .config = speech_config,
    .check = speech_check,
    .save = speech_save,
    .data = speech_data_,
    .eval_data = speech_eval_data,
    .free_data = speech_free_data,
    .score = speech_score,
};
