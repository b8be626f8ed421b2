// The loop of `zhuyi pretrain KIND`, the same for every kind: steps, metrics.jsonl (the
// loss and the model's named metrics), progress, evaluation, loss.svg, saving, and
// Ctrl-C. Set-up and flags are pretrain.c; the data sources come from the kind (kind.h).
//
// Saving is zy_trainer_save_checkpoint: the model and the training state as one unit
// (DIR/checkpoint-STEP, switched in by the link DIR/checkpoint), and the same weights as
// DIR's own config.json + model.safetensors, or, with a best metric (--best-metric), the
// best evaluation's weights there instead (--patience stops a run that no longer
// improves). tokenizer.json (and a WordPiece's vocab.txt, and the kind's own files such
// as the chat template) is written once, before the first step.
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dist.h"
#include "metrics.h"
#include "pretrain.h"
#include "progress.h"
#include "zhuyi/zhuyi.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
    (void)sig;
    interrupted = 1;
}

// Ctrl-C or SIGTERM once: finish the current step, save, exit. The handler resets
// itself, so a second Ctrl-C kills the process at once (files stay whole: every write is
// atomic).
static void catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

typedef struct loop {
    pretrain_run *r;
    zy_trainer *t;
    zy_session *eval_s;       // kinds that score outputs: a session keeping them
    zy_metrics metrics;
    zy_progress prog;
    char svg[4096];
    bool writes;              // --out is written (data-parallel: by rank 0 alone)
} loop;

static int save(loop *L) {
    pretrain_run *r = L->r;
    if (!L->writes) return 0;
    char frac[32], eval_every[32], save_every[32], best[4][32];
    snprintf(frac, sizeof frac, "%.9g", (double)r->val_fraction);
    snprintf(eval_every, sizeof eval_every, "%ld", r->eval_every);
    snprintf(save_every, sizeof save_every, "%ld", r->save_every);
    snprintf(best[0], sizeof best[0], "%.17g", r->best_value);
    snprintf(best[1], sizeof best[1], "%ld", r->best_step);
    snprintf(best[2], sizeof best[2], "%ld", r->bad_evals);
    snprintf(best[3], sizeof best[3], "%ld", r->patience);
    zy_safetensors_kv extra[] = {
        {"kind", r->kind->name},
        {"kind_flags", r->kind_json},
        {"data_files", r->data_json},
        {"val_data", r->val_data ? r->val_data : ""},
        {"val_fraction", frac},
        {"eval_every", eval_every},
        {"save_every", save_every},
        {"best_metric", r->best_metric ? r->best_metric : ""},
        {"best_value", best[0]},
        {"best_step", best[1]},
        {"bad_evals", best[2]},
        {"patience", best[3]},
    };
    // With a best metric, DIR's model files are the best evaluation's (keep_best).
    unsigned flags = r->best_metric ? ZY_CHECKPOINT_KEEP_MODEL_FILES : 0;
    if (zy_trainer_save_checkpoint(L->t, r->out, extra, (int)(sizeof extra / sizeof extra[0]),
                                   flags))
        return zy_cli_die("%s: saving step %ld: %s (the previous checkpoint, if any, is "
                          "intact: --resume continues from it)", r->cmd,
                          zy_trainer_step_count(L->t), zy_last_error());
    return zy_svg_loss(L->svg, &L->metrics);
}

// Losses and errors are better lower, every other metric (accuracy, F1, ...) higher.
static bool lower_is_better(const char *name) {
    size_t n = strlen(name);
    return (n >= 4 && !strcmp(name + n - 4, "loss")) || !strcmp(name, "mse") ||
           !strcmp(name, "mae") || !strcmp(name, "perplexity") || !strcmp(name, "wer") ||
           !strcmp(name, "cer");
}

// After an evaluation at `step`: a better value of the best metric writes the model into
// DIR as the best so far; otherwise it counts towards --patience (*stop set when it runs
// out). The value is the loss or one of the evaluation's metrics.
static int keep_best(loop *L, long step, float val_loss, const zy_metric_set *m, bool *stop) {
    pretrain_run *r = L->r;
    if (!r->best_metric) return 0;
    double v = val_loss;
    if (strcmp(r->best_metric, "loss")) {
        const zy_metric *x = zy_metric_set_find(m, r->best_metric);
        if (!x) {
            char names[512] = "loss";
            for (int i = 0; i < m->n; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), ", %s",
                         m->m[i].name);
            return zy_cli_die("%s: --best-metric %s: the evaluation reports no such metric "
                              "(it reports %s)", r->cmd, r->best_metric, names);
        }
        v = x->value;
    }
    bool lower = lower_is_better(r->best_metric);
    // A NaN (e.g. Pearson's r of constant predictions) is never better; anything is
    // better than a NaN.
    bool better = r->best_step < 0 ||
                  (!isnan(v) && (isnan(r->best_value) || (lower ? v < r->best_value
                                                                : v > r->best_value)));
    if (!better) {
        r->bad_evals++;
        if (r->patience && r->bad_evals >= r->patience) {
            zy_progress_print(&L->prog, "step %ld: no better val %s than %.4f (step %ld) in %ld "
                              "evaluations: stopping early", step, r->best_metric,
                              r->best_value, r->best_step, r->bad_evals);
            *stop = true;
        }
        return 0;
    }
    // Atomic file by file; config.json does not change during a run, so a kill between
    // the two leaves a whole model.
    if (L->writes && zy_model_save(r->model, r->out))
        return zy_cli_die("%s: saving the best model (step %ld): %s", r->cmd, step,
                          zy_last_error());
    r->best_value = v;
    r->best_step = step;
    r->bad_evals = 0;
    return 0;
}

// " (name value, ...)" of a metric set (empty for a model that reports none).
static void format_metrics(char *buf, size_t cap, const zy_metric_set *m) {
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < m->n && n < cap; i++)
        if (m->m[i].count > 0)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s %.4f", n ? ", " : " (", m->m[i].name,
                                  m->m[i].value);
    if (n && n + 1 < cap) buf[n] = ')', buf[n + 1] = '\0';
}

// The validation loss and metrics: the trainer's evaluation, or for a kind that scores
// the model's outputs (fine-tuning: accuracy, F1, ...), the kind's pass over the whole
// validation set on a session of its own (the trainer's keeps no outputs).
static int validate(loop *L, float *val_loss, zy_metric_set *metrics) {
    pretrain_run *r = L->r;
    if (!r->kind->score) {
        if (zy_trainer_evaluate_metrics(L->t, val_loss, metrics))
            return zy_cli_die("%s: evaluation: %s", r->cmd, zy_last_error());
        return 0;
    }
    if (!L->eval_s) {
        const zy_batch_dims *d = &zy_data_source_get_info(r->src.val)->dims;
        zy_session_params sp = zy_session_default_params();
        sp.batch = d->batch, sp.seq = d->seq, sp.seq_dec = d->seq_dec, sp.tokens = d->tokens;
        if (zy_session_create(&L->eval_s, r->model, &sp))
            return zy_cli_die("%s: evaluation: %s", r->cmd, zy_last_error());
    }
    double loss;
    if (r->kind->score(r->opts, &r->src, L->eval_s, NULL, &loss, metrics)) return 1;
    *val_loss = (float)loss;
    return 0;
}

// An evaluation off the run's cadence (at --stop-at) is reported but does not take part in
// keeping the best model, so a run stopped and resumed keeps the same best as one that was
// not; while there is no best yet it writes DIR's model files, so DIR is a model directory.
static int evaluate(loop *L, long step, bool cadence, float *val_loss, zy_metric_set *metrics,
                    bool *stop) {
    pretrain_run *r = L->r;
    if (validate(L, val_loss, metrics)) return 1;
    char ms[512];
    format_metrics(ms, sizeof ms, metrics);
    zy_progress_print(&L->prog, "step %ld: val loss %.4f%s", step, (double)*val_loss, ms);
    if (zy_metrics_val(&L->metrics, step, *val_loss, metrics)) return 1;
    if (cadence && keep_best(L, step, *val_loss, metrics, stop)) return 1;
    if (!L->writes) return 0;
    if (!cadence && r->best_metric && r->best_step < 0 && zy_model_save(r->model, r->out))
        return zy_cli_die("%s: saving the model (step %ld): %s", r->cmd, step, zy_last_error());
    return zy_svg_loss(L->svg, &L->metrics);
}

static int run(loop *L) {
    pretrain_run *r = L->r;
    const zy_trainer_params *p = zy_trainer_get_params(L->t);
    long start = zy_trainer_step_count(L->t);
    double tokens_per_step = (double)p->batch * p->seq * p->grad_accum * zy_cli_dist_world();
    zy_progress_init(&L->prog, start, p->steps, r->log_every);
    L->prog.quiet = zy_cli_dist_rank() > 0;
    const zy_model_info *c = zy_model_get_info(r->model);
    char prec[64] = "fp32";
    if (p->precision == ZY_PRECISION_BF16)
        snprintf(prec, sizeof prec, "bf16 (%s)", zy_bf16_name(zy_bf16_level()));
    char input[64]; // what the model reads
    if (c->image_size > 0)
        snprintf(input, sizeof input, "%d x %d x %d images", c->image_channels, c->image_size,
                 c->image_size);
    else snprintf(input, sizeof input, "vocab %d", c->vocab_size);
    zy_progress_print(&L->prog, "zhuyi: %s, %d layers, %d heads, %d wide, %s: %.2fM "
                      "parameters; %zu training %s, %zu validation; %s matmuls; %s step %ld "
                      "of %ld",
                      c->architecture, c->n_layer, c->n_head, c->d_model, input,
                      c->n_params / 1e6, r->src.n_train, r->kind->unit, r->src.n_val, prec,
                      start ? "resuming after" : "starting at", start, p->steps);
    if (p->precision == ZY_PRECISION_BF16 && zy_bf16_level() == ZY_BF16_EMULATED)
        fprintf(stderr, "zhuyi: warning: this CPU has no bf16 dot products (AMX or "
                "AVX512-BF16): bf16 matmuls are emulated, many times slower than fp32\n");
    if (r->stop_at && r->stop_at <= start && start < p->steps)
        return zy_cli_die("%s: --stop-at %ld: the run is already at step %ld", r->cmd,
                          r->stop_at, start);
    float val_loss = 0, loss = 0;
    zy_metric_set val_metrics = {0};
    long val_step = -1, step = start;
    double run_t0 = zy_progress_now();
    bool stopped = false, early = false, halt = false;
    catch_signals();
    while (step < p->steps && !halt) {
        zy_step_info info;
        double t0 = zy_progress_now();
        if (zy_trainer_step(L->t, &info))
            return zy_cli_die("%s: step %ld: %s", r->cmd, step + 1, zy_last_error());
        double ms = (zy_progress_now() - t0) * 1e3;
        step = info.step;
        loss = info.loss;
        if (info.skipped)
            zy_progress_print(&L->prog, "step %ld: %s is not finite: skipped, no update (%ld "
                              "of at most %d)", step, isfinite(info.loss) ? "the gradient norm"
                              : "the loss", info.n_skipped, p->skip_nonfinite);
        double tok_s = tokens_per_step / (ms / 1e3);
        if (zy_metrics_step(&L->metrics, step, info.skipped ? NAN : info.loss, info.lr, ms,
                            tok_s, &info.metrics))
            return 1;
        zy_progress_step(&L->prog, step, info.loss, info.lr, ms, tok_s);
        bool last = step == p->steps || step == r->stop_at;
        bool cadence = (r->eval_every && step % r->eval_every == 0) || step == p->steps;
        if (r->src.val && (cadence || last)) {
            if (evaluate(L, step, cadence, &val_loss, &val_metrics, &early)) return 1;
            val_step = step;
        }
        if (early) break;
        if (r->save_every && step % r->save_every == 0 && !last && save(L)) return 1;
        if (step == r->stop_at) {
            stopped = true;
            break;
        }
        // Data-parallel: a signal reaches the ranks at different steps; all stop together.
        halt = zy_cli_dist_any(interrupted);
    }
    zy_progress_end(&L->prog);
    if (step == start && !halt) {
        // Saving the step already saved only brings DIR's own model files up to the
        // checkpoint (a run killed inside its last save may have left them behind).
        if (save(L)) return 1;
        if (L->writes)
            fprintf(stderr, "zhuyi: %s is already at step %ld of %ld: nothing to do (give "
                    "a larger --steps to train further)\n", r->out, step, p->steps);
        return 0;
    }
    if (save(L)) return 1;
    zy_cli_dist_any(0); // data-parallel: no rank ends before rank 0 has saved
    if (L->prog.quiet) return halt ? ZY_PRETRAIN_EXIT_INTERRUPTED : 0; // rank > 0
    double secs = zy_progress_now() - run_t0;
    printf("step %ld/%ld: train loss %.4f", step, p->steps, (double)loss);
    if (val_step == step) {
        char ms[512];
        format_metrics(ms, sizeof ms, &val_metrics);
        printf(", val loss %.4f%s", (double)val_loss, ms);
    }
    printf(" (%.1f s, %.0f tokens/s); saved %s", secs,
           tokens_per_step * (double)(step - start) / secs, r->out);
    if (r->best_metric && r->best_step >= 0)
        printf(" (the best model: val %s %.4f at step %ld)", r->best_metric, r->best_value,
               r->best_step);
    putchar('\n');
    long n_red;
    double t_red;
    size_t b_red;
    zy_cli_dist_stats(&n_red, &t_red, &b_red);
    if (n_red) // data-parallel: what the gradient exchange cost
        printf("%d processes: the gradient all-reduce (%.1f MB) took %.1f ms a step, %.1f%% "
               "of the run\n", zy_cli_dist_world(), b_red / 1e6, t_red * 1e3 / n_red,
               100 * t_red / secs);
    fflush(stdout);
    if (halt || stopped) {
        fprintf(stderr, "zhuyi: %s at step %ld; continue with: zhuyi %s --out %s --resume\n",
                halt ? "interrupted" : "stopped (--stop-at)", step, r->cmd, r->out);
        if (halt) return ZY_PRETRAIN_EXIT_INTERRUPTED;
    }
    return 0;
}

int zy_pretrain_dist(pretrain_run *r) {
    int rank = zy_cli_dist_rank(), world = zy_cli_dist_world();
    if (zy_data_source_shard(r->src.train, rank, world))
        return zy_cli_die("%s: rank %d of %d: %s", r->cmd, rank, world, zy_last_error());
    return 0;
}

int zy_pretrain_loop(pretrain_run *r) {
    loop L = {.r = r, .writes = zy_cli_dist_rank() == 0};
    snprintf(L.svg, sizeof L.svg, "%s/loss.svg", r->out);
    if (zy_trainer_create(&L.t, r->model, r->src.train, r->src.val, &r->tp))
        return zy_cli_die("%s: %s", r->cmd, zy_last_error());
    // Data-parallel: every step's gradients summed over the ranks, the same update on each.
    if (zy_cli_dist_world() > 1) zy_trainer_set_grad_hook(L.t, zy_cli_dist_reduce, NULL);
    int rc = 0;
    if (r->resume) {
        char state[sizeof r->ckpt + 32];
        snprintf(state, sizeof state, "%s/%s", r->ckpt, ZY_TRAINING_STATE_FILE);
        if (zy_trainer_load_state(L.t, state)) {
            rc = zy_cli_die("%s: --resume: %s", r->cmd, zy_last_error());
            goto done;
        }
    } else if (L.writes) {
        // Everything is checked: only now does anything appear in --out.
        char tok[4096], vocab[4096];
        snprintf(tok, sizeof tok, "%s/tokenizer.json", r->out);
        snprintf(vocab, sizeof vocab, "%s/vocab.txt", r->out);
        if (zy_mkdirs(r->out)) {
            rc = zy_cli_die("%s: --out: %s", r->cmd, zy_last_error());
            goto done;
        }
        // A WordPiece's vocab.txt too: what BertTokenizer (not only the fast one) reads.
        if (r->tok && (zy_tokenizer_save(r->tok, tok) ||
            (zy_tokenizer_get_type(r->tok) == ZY_TOKENIZER_WORDPIECE &&
             zy_tokenizer_save_vocab_txt(r->tok, vocab)))) {
            rc = zy_cli_die("%s: %s", r->cmd, zy_last_error());
            goto done;
        }
        if (r->kind->save && (rc = r->kind->save(r->opts, &r->src, r->cmd, r->out))) goto done;
    }
    // What a run killed while rewriting these files left behind (checkpoints clean up
    // their own files when they save).
    const char *ours[] = {"metrics.jsonl", "loss.svg", "tokenizer.json", "vocab.txt",
                          "tokenizer_config.json"};
    for (int i = 0; i < 5 && L.writes; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", r->out, ours[i]);
        zy_file_remove_stale_temps(path);
    }
    if ((rc = zy_metrics_open(&L.metrics, L.writes ? r->out : NULL,
                              r->resume ? zy_trainer_step_count(L.t) : -1, r->best_metric)))
        goto done;
    rc = run(&L);
done:
    zy_metrics_close(&L.metrics);
    zy_session_free(L.eval_s);
    zy_trainer_free(L.t);
    return rc;
}
