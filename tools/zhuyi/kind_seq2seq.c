// The seq2seq kind of `zhuyi pretrain` and `zhuyi eval` (kind.h): an encoder-decoder
// Transformer (MarianMT layout) on sentence pairs. Training: --src/--tgt (two line-aligned
// files) or --pairs (TSV, JSON lines) read into pairs (include/zhuyi/pairs.h), encoded with
// the run's tokenizer (a joint BPE learnt from both sides by default: the tokenizer is
// learnt from every data file) and served in token-count batches from length-sorted
// buckets (--max-tokens); validation likewise from --val-src/--val-tgt or --val-pairs,
// read once. The special ids come from the tokenizer: eos "</s>" (else "[SEP]",
// "<|endoftext|>"), pad "<pad>" (else "[PAD]", else eos), the decoder's start = pad, as
// Marian's. Not here: flags, the loop, saving (pretrain*.c), the evaluation loop (eval.c).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kind.h"
#include "zhuyi/zhuyi.h"

typedef struct s2s_opts {
    int max_tokens;           // --max-tokens (4096)
    zy_pairs_format format;   // --format (auto)
    const char *src_lang, *tgt_lang; // --src-lang/--tgt-lang (JSON lines' translation keys)
    const char *val_tgt;      // --val-tgt FILE (the validation targets; --val-src is val_data)
    bool skip_bad_rows;       // --skip-bad-rows
    bool no_bleu;             // --no-bleu: evaluations without translating
    int bleu_beam;            // --bleu-beam K: beam of the evaluations' translations (1)
} s2s_opts;

typedef struct s2s_data {
    int eos, pad;             // from the tokenizer
    zy_pairs *train, *val;
    zy_pairs_ids train_ids, val_ids;
} s2s_data;

static const char *const SPECIALS[] = {"</s>", "<pad>", NULL};

static void s2s_opts_init(void *o) {
    s2s_opts *s = o;
    *s = (s2s_opts){.max_tokens = 4096, .format = ZY_PAIRS_FORMAT_AUTO, .bleu_beam = 1};
}

static int bad_value(const char *cmd, const char *flag, const char *value) {
    zy_cli_die("%s: %s: '%s' is not a valid value (see --help)", cmd, flag, value);
    return -2;
}

static int s2s_parse_flag(void *opts, const char *cmd, const char *flag, const char *value) {
    s2s_opts *o = opts;
    if (!strcmp(flag, "--skip-bad-rows")) {
        o->skip_bad_rows = true;
        return 0;
    }
    if (!strcmp(flag, "--no-bleu")) {
        o->no_bleu = true;
        return 0;
    }
    bool mt = !strcmp(flag, "--max-tokens"), fmt = !strcmp(flag, "--format"),
         sl = !strcmp(flag, "--src-lang"), tl = !strcmp(flag, "--tgt-lang"),
         vt = !strcmp(flag, "--val-tgt"), bb = !strcmp(flag, "--bleu-beam");
    if (!mt && !fmt && !sl && !tl && !vt && !bb) return -1;
    if (!value) {
        zy_cli_die("%s: %s needs a value (see --help)", cmd, flag);
        return -2;
    }
    if (mt && zy_cli_parse_int(value, 2, 1 << 24, &o->max_tokens))
        return bad_value(cmd, flag, value);
    if (fmt && (zy_pairs_format_parse(value, &o->format) || o->format == ZY_PAIRS_FORMAT_AUTO))
        return bad_value(cmd, flag, value);
    if (bb && zy_cli_parse_int(value, 1, 64, &o->bleu_beam)) return bad_value(cmd, flag, value);
    if (sl) o->src_lang = value;
    if (tl) o->tgt_lang = value;
    if (vt) o->val_tgt = value;
    return 1;
}

static bool s2s_is_model(const zy_model_info *info) { return info->encoder_decoder; }

// The id of the first of the names the tokenizer has, or -1.
static int find_any(const zy_tokenizer *t, const char *const *names) {
    for (; *names; names++) {
        int id = zy_tokenizer_find(t, *names, strlen(*names));
        if (id >= 0) return id;
    }
    return -1;
}

static int special_ids(const char *cmd, const zy_tokenizer *t, int *eos, int *pad) {
    static const char *const EOS[] = {"</s>", "[SEP]", "<|endoftext|>", NULL};
    static const char *const PAD[] = {"<pad>", "[PAD]", NULL};
    *eos = find_any(t, EOS);
    if (*eos < 0)
        return zy_cli_die("%s: the tokenizer has no end-of-sequence token (</s>, [SEP] or "
                          "<|endoftext|>)", cmd);
    *pad = find_any(t, PAD);
    if (*pad < 0) *pad = *eos;
    return 0;
}

static int read_pairs(const s2s_opts *o, const char *cmd, const char *src, const char *tgt,
                      zy_pairs **out) {
    zy_pairs_read_params rp = zy_pairs_read_default_params();
    rp.format = o->format;
    rp.src_lang = o->src_lang;
    rp.tgt_lang = o->tgt_lang;
    rp.skip_bad_rows = o->skip_bad_rows;
    if (zy_pairs_read(out, src, tgt, &rp)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    zy_cli_kind_report_skipped(cmd, src, zy_pairs_report(*out), "lines");
    return 0;
}

// Data files: one (TSV or JSON lines) or two (source, target); a second validation file
// comes from --val-tgt.
static int check_files(const char *cmd, int n) {
    if (n < 1 || n > 2)
        return zy_cli_die("%s: give the pairs as --src FILE --tgt FILE (line-aligned) or "
                          "--pairs FILE (TSV or JSON lines), not %d data files", cmd, n);
    return 0;
}

// Before the tokenizer: the pairs (so a bad file fails before any work).
static int s2s_read(const void *opts, const cli_data_params *p, cli_data *d) {
    const s2s_opts *o = opts;
    s2s_data *t = d->impl = calloc(1, sizeof *t);
    if (!t) return zy_cli_die("out of memory");
    if (check_files(p->cmd, p->n_files)) return 1;
    if (p->val_fraction_given && p->val_fraction > 0 && !p->val_file)
        return zy_cli_die("%s: --val-fraction does not apply to sentence pairs: give "
                          "--val-src FILE --val-tgt FILE or --val-pairs FILE", p->cmd);
    if ((o->val_tgt != NULL) != (p->val_file != NULL && p->n_files == 2))
        return zy_cli_die("%s: validation pairs are --val-src FILE --val-tgt FILE (with "
                          "--src/--tgt) or --val-pairs FILE (with --pairs)", p->cmd);
    if (read_pairs(o, p->cmd, p->files[0], p->n_files == 2 ? p->files[1] : NULL, &t->train) ||
        (p->val_file && read_pairs(o, p->cmd, p->val_file, o->val_tgt, &t->val)))
        return 1;
    return 0;
}

static int s2s_config(const void *opts, const cli_data *d, const char *cmd, zy_config *c) {
    (void)opts;
    int eos, pad;
    if (special_ids(cmd, d->tok, &eos, &pad)) return 1;
    if (zy_config_set_int(c, "pad_token_id", pad) || zy_config_set_int(c, "eos_token_id", eos) ||
        zy_config_set_int(c, "decoder_start_token_id", pad))
        return zy_cli_die("%s: %s", cmd, zy_last_error());
    return 0;
}

// The model's special ids are the tokenizer's.
static int s2s_check(const void *opts, const char *cmd, const zy_model *m,
                     const zy_tokenizer *tok, bool train) {
    (void)opts, (void)train;
    int eos, pad;
    if (special_ids(cmd, tok, &eos, &pad)) return 1;
    const zy_model_info *info = zy_model_get_info(m);
    if (info->eos_id != eos)
        return zy_cli_die("%s: the model's eos_token_id %d is not the tokenizer's "
                          "end-of-sequence token %d", cmd, info->eos_id, eos);
    return 0;
}

static int encode(const char *cmd, const char *what, const zy_pairs *pairs, zy_tokenizer *tok,
                  int P, zy_pairs_ids *out) {
    zy_pairs_encode_params ep = zy_pairs_encode_default_params();
    ep.max_src = ep.max_tgt = P;
    if (zy_pairs_encode(out, pairs, tok, &ep))
        return zy_cli_die("%s: %s: %s", cmd, what, zy_last_error());
    if (out->n_cut_src || out->n_cut_tgt) {
        zy_pair q = zy_pairs_get(pairs, (size_t)out->first_cut);
        fprintf(stderr, "zhuyi: %s: %s: %llu sources and %llu targets longer than the "
                "model's %d positions were cut to fit (the first: %s:%llu)\n", cmd, what,
                (unsigned long long)out->n_cut_src, (unsigned long long)out->n_cut_tgt, P,
                q.src_file ? q.src_file : "?", (unsigned long long)q.line);
    }
    return 0;
}

static int source(const s2s_opts *o, const cli_data_params *p, const s2s_data *t,
                  const zy_pairs_ids *ids, bool train, zy_data_source **out) {
    zy_pairs_source_params sp = zy_pairs_source_default_params();
    sp.max_tokens = o->max_tokens;
    sp.seed = p->seed;
    sp.shuffle = train && p->shuffle;
    sp.one_pass = !train;
    sp.pad_id = t->pad, sp.eos_id = t->eos, sp.decoder_start_id = t->pad;
    if (zy_pairs_source_create(out, ids, &sp))
        return zy_cli_die("%s: %s data: %s (--max-tokens %d)", p->cmd,
                          train ? "training" : "validation", zy_last_error(), o->max_tokens);
    return 0;
}

// The batches of a training epoch (the cut of a one-pass source over the same pairs), or
// -1 (printed).
static long count_batches(const s2s_opts *o, const cli_data_params *p, const s2s_data *t) {
    zy_data_source *src;
    if (source(o, p, t, &t->train_ids, false, &src)) return -1;
    zy_batch b;
    long n = 0;
    zy_status st = zy_batch_init(&b, &zy_data_source_get_info(src)->dims);
    while (!st && !(st = zy_data_source_next(src, &b)) && b.B > 0) n++;
    zy_batch_destroy(&b);
    zy_data_source_free(src);
    if (st) return zy_cli_die("%s: training data: %s", p->cmd, zy_last_error()), -1;
    return n;
}

// The batches' shape replaces --batch/--seq: d->batch rows at most, d->seq positions.
static int s2s_data_(const void *opts, const cli_data_params *p, cli_data *d) {
    const s2s_opts *o = opts;
    s2s_data *t = d->impl;
    if (special_ids(p->cmd, p->tok, &t->eos, &t->pad)) return 1;
    int P = zy_model_get_info(p->model)->max_positions;
    if (encode(p->cmd, "training pairs", t->train, p->tok, P, &t->train_ids) ||
        (t->val && encode(p->cmd, "validation pairs", t->val, p->tok, P, &t->val_ids)) ||
        source(o, p, t, &t->train_ids, true, &d->train) ||
        (t->val && source(o, p, t, &t->val_ids, false, &d->val)))
        return 1;
    const zy_batch_dims *dt = &zy_data_source_get_info(d->train)->dims;
    d->batch = dt->batch;
    d->seq = dt->seq;
    d->n_train = (size_t)t->train_ids.n;
    d->n_val = t->val ? (size_t)t->val_ids.n : 0;
    d->best_metric = "loss";
    // --epochs counts steps as train_rows / batch: train_rows = batches x batch
    long n = count_batches(o, p, t);
    if (n < 0) return 1;
    d->train_rows = (size_t)n * (size_t)d->batch;
    return 0;
}

// eval: --data SRC TGT (or one pairs file) read once in token-count batches.
static int s2s_eval_data(const void *opts, const cli_data_params *p, cli_data *d) {
    const s2s_opts *o = opts;
    s2s_data *t = d->impl = calloc(1, sizeof *t);
    if (!t) return zy_cli_die("out of memory");
    if (check_files(p->cmd, p->n_files) || special_ids(p->cmd, p->tok, &t->eos, &t->pad) ||
        read_pairs(o, p->cmd, p->files[0], p->n_files == 2 ? p->files[1] : NULL, &t->val))
        return 1;
    int P = zy_model_get_info(p->model)->max_positions;
    if (encode(p->cmd, p->files[0], t->val, p->tok, P, &t->val_ids) ||
        source(o, p, t, &t->val_ids, false, &d->val))
        return 1;
    const zy_batch_dims *dv = &zy_data_source_get_info(d->val)->dims;
    d->batch = dv->batch, d->seq = dv->seq;
    d->rows = (size_t)t->val_ids.n;
    d->n_val = (size_t)t->val_ids.n;
    d->tok = p->tok;
    return 0;
}

// ---- evaluation: the loss, then the validation sources translated and scored ----------

enum { SCORE_BATCH = 32 };

// The n pairs from `first` of ids as source rows (ids, then eos; padded with eos) into
// tokens (n, *T) and lengths.
static void source_rows(const zy_pairs_ids *ids, uint64_t first, int n, int eos, int *tokens,
                        int *lengths, int *T) {
    *T = 1;
    for (int i = 0; i < n; i++) {
        uint64_t k = 2 * (first + (uint64_t)i);
        lengths[i] = (int)(ids->start[k + 1] - ids->start[k]) + 1;
        if (lengths[i] > *T) *T = lengths[i];
    }
    for (int i = 0; i < n; i++) {
        const int32_t *src = ids->ids + ids->start[2 * (first + (uint64_t)i)];
        for (int t = 0; t < *T; t++)
            tokens[(size_t)i * *T + t] = t < lengths[i] - 1 ? src[t] : eos;
    }
}

// Every validation pair's source translated (greedy, or --bleu-beam K), into hyps (owned
// strings, the caller frees them).
static int translate_all(const s2s_opts *o, const char *cmd, const zy_model *m,
                         const zy_tokenizer *tok, const s2s_data *t, char **hyps) {
    zy_seq2seq_params sp = zy_seq2seq_default_params();
    sp.mode = o->bleu_beam > 1 ? ZY_SEQ2SEQ_BEAM : ZY_SEQ2SEQ_GREEDY;
    sp.beam = o->bleu_beam;
    zy_seq2seq *dec = NULL;
    int P = zy_model_get_info(m)->max_positions, rc = 0;
    int *tokens = malloc((size_t)SCORE_BATCH * (size_t)P * sizeof *tokens), lengths[SCORE_BATCH];
    size_t cap = 1 << 16;
    char *text = malloc(cap);
    if (!tokens || !text) rc = zy_cli_die("out of memory");
    if (!rc && zy_seq2seq_create(&dec, m, &sp, SCORE_BATCH))
        rc = zy_cli_die("%s: evaluation: %s", cmd, zy_last_error());
    for (uint64_t i = 0; !rc && i < t->val_ids.n; i += SCORE_BATCH) {
        uint64_t left = t->val_ids.n - i;
        int n = left < SCORE_BATCH ? (int)left : SCORE_BATCH, T;
        source_rows(&t->val_ids, i, n, t->eos, tokens, lengths, &T);
        if (zy_seq2seq_run(dec, n, tokens, T, lengths, NULL)) {
            rc = zy_cli_die("%s: evaluation: %s", cmd, zy_last_error());
            break;
        }
        for (int k = 0; k < n && !rc; k++) {
            zy_seq2seq_hyp h;
            size_t len = 0;
            if (zy_seq2seq_hyp_get(dec, k, 0, &h) ||
                zy_tokenizer_decode(tok, h.tokens, (size_t)h.n, text, cap, &len) ||
                !(hyps[i + (uint64_t)k] = strndup(text, len)))
                rc = zy_cli_die("%s: evaluation: %s", cmd, zy_last_error());
        }
    }
    zy_seq2seq_free(dec);
    free(tokens);
    free(text);
    return rc;
}

// The loss and the model's metrics over the validation batches, then (unless --no-bleu)
// BLEU and chrF of the validation sources' translations against their targets, as
// SacreBLEU computes them by default; eval also reports their signatures and, with
// predictions, writes the translations as JSON lines.
static int s2s_score(const void *opts, cli_data *d, zy_session *s, const cli_score_io *io,
                     double *loss, zy_metric_set *metrics) {
    const s2s_opts *o = opts;
    const s2s_data *t = d->impl;
    zy_eval_params ep = {.metrics = metrics};
    double count;
    if (zy_data_source_seek(d->val, (zy_data_pos){0, 0}) ||
        zy_evaluate(s, d->val, &ep, loss, &count))
        return zy_cli_die("evaluation: %s", zy_last_error());
    if (o->no_bleu) return 0;
    size_t n = (size_t)t->val_ids.n;
    char **hyps = calloc(n, sizeof *hyps);
    const char **refs = calloc(n, sizeof *refs);
    int rc = !hyps || !refs ? zy_cli_die("out of memory") : 0;
    if (!rc) rc = translate_all(o, "evaluation", zy_session_model(s), d->tok, t, hyps);
    for (size_t i = 0; !rc && i < n; i++) refs[i] = zy_pairs_get(t->val, i).tgt;
    zy_bleu_score bleu;
    zy_chrf_score chrf;
    const char *const *streams[1] = {refs};
    if (!rc && (zy_bleu_corpus((const char *const *)hyps, n, streams, 1, &bleu) ||
                zy_chrf_corpus((const char *const *)hyps, n, streams, 1, &chrf)))
        rc = zy_cli_die("evaluation: %s", zy_last_error());
    if (!rc) {
        zy_metric b = {"bleu", bleu.score, (double)n}, c = {"chrf", chrf.score, (double)n};
        zy_metric_set add = {.n = 2, .m = {b, c}};
        zy_metric_set_merge(metrics, &add);
    }
    if (!rc && io && io->report) {
        char sig[256];
        zy_bleu_signature(&bleu, sig, sizeof sig);
        zy_strbuf_printf(io->report, "BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f "
                         "hyp_len = %lld ref_len = %lld)\n%s\n", bleu.score,
                         bleu.precisions[0], bleu.precisions[1], bleu.precisions[2],
                         bleu.precisions[3], bleu.bp, bleu.ratio, (long long)bleu.sys_len,
                         (long long)bleu.ref_len, sig);
        zy_chrf_signature(&chrf, sig, sizeof sig);
        zy_strbuf_printf(io->report, "chrF2 = %.2f\n%s\n(%s decoding of the sources)\n",
                         chrf.score, sig, o->bleu_beam > 1 ? "beam" : "greedy");
    }
    for (size_t i = 0; !rc && io && io->predictions && i < n; i++)
        fprintf(io->predictions, "%s\n", hyps[i]);
    for (size_t i = 0; hyps && i < n; i++) free(hyps[i]);
    free(hyps);
    free(refs);
    return rc;
}

static void s2s_free_data(cli_data *d) {
    zy_data_source_free(d->train);
    zy_data_source_free(d->val);
    s2s_data *t = d->impl;
    if (t) {
        zy_pairs_ids_destroy(&t->train_ids);
        zy_pairs_ids_destroy(&t->val_ids);
        zy_pairs_free(t->train);
        zy_pairs_free(t->val);
        free(t);
    }
    memset(d, 0, sizeof *d);
}

// The recipe of "Attention Is All You Need" scaled to CPU runs: the inverse-square-root
// schedule with warmup, Adam's beta2 0.98, label smoothing 0.1, dropout 0.1.
static void s2s_defaults(zy_trainer_params *p) {
    p->schedule = ZY_SCHEDULE_INVERSE_SQRT;
    p->lr = 1e-3f;
    p->warmup = 400;
    p->beta2 = 0.98f;
    p->label_smoothing = 0.1f;
    p->dropout = 0.1f;
    p->weight_decay = 0.01f;
}

const cli_kind zy_cli_kind_seq2seq = {
    .verb = "pretrain",
    .name = "seq2seq",
    .what = "an encoder-decoder Transformer (MarianMT layout) on sentence pairs: "
            "translation or any text-to-text task",
    .default_config = "transformer-small",
    .default_tokenizer = "bpe:8000",
    .special_tokens = SPECIALS,
    .pairs_data = true,
    .help =
        "model presets: transformer-tiny (2+2 layers, 128), transformer-small (3+3, 256; the\n"
        "  default), transformer-base (6+6, 512, 8 heads, FF 2048: the paper's)\n"
        "tokenizers: bpe:N (default bpe:8000), learnt from both sides together (a joint\n"
        "  vocabulary, with </s> and <pad>), byte, or PATH\n"
        "data: --src FILE --tgt FILE (line i of one translates line i of the other), or\n"
        "  --pairs FILE (TSV: source<TAB>target a line; JSON lines: {\"src\": ..., \"tgt\":\n"
        "  ...} or {\"translation\": {L1: ..., L2: ...}} with --src-lang L1 --tgt-lang L2);\n"
        "  validation: --val-src FILE --val-tgt FILE, or --val-pairs FILE (there is no\n"
        "  --val-fraction for pairs). Sentences longer than the model's positions are cut\n"
        "  (a warning counts them); an empty side, or files of different line counts, are\n"
        "  errors naming the file and line (--skip-bad-rows: count and skip bad lines).\n"
        "  --format lines|tsv|jsonl overrides the guess from the names.\n"
        "evaluations: the validation loss (plain cross-entropy), then every validation\n"
        "  source translated (greedy; --bleu-beam K for beam search) and scored: bleu and\n"
        "  chrf as SacreBLEU computes them (--best-metric bleu keeps the best); --no-bleu\n"
        "  skips the translating\n"
        "batches: --max-tokens N (default 4096) padded tokens per batch, rows of similar\n"
        "  length together (--batch and --seq do not apply); --grad-accum K for more\n"
        "defaults: --schedule inverse_sqrt (linear warmup to --lr, then lr*sqrt(warmup/step))\n"
        "  --lr 1e-3 --warmup 400, betas 0.9/0.98, --label-smoothing 0.1, --dropout 0.1,\n"
        "  --weight-decay 0.01\n",
    .unit = "pairs",
    .eval_unit = "target tokens",
    .loss_metric = "nll_loss",
    .opts_size = sizeof(s2s_opts),
    .opts_init = s2s_opts_init,
    .parse_flag = s2s_parse_flag,
    .is_model = s2s_is_model,
    .read = s2s_read,
    .config = s2s_config,
    .check = s2s_check,
    .data = s2s_data_,
    .eval_data = s2s_eval_data,
    .free_data = s2s_free_data,
    .score = s2s_score,
    .defaults = s2s_defaults,
};
