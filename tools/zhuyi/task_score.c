// Predictions from a fine-tuned model's outputs and the task's metrics over them
// (task_score.h). One prediction per example, whatever the number of its features:
//   classify  argmax of the logits (its softmax probability as the score); multi-label:
//             every label whose sigmoid is above 0.5; regression: the one output
//   tag       the argmax tag of each word's first token (the token that carries the gold
//             tag in training); a word cut off by truncation gets "O" (or tag 0 when the
//             tags have no "O"), as if it were outside any entity
//   qa        the span [s, e] of context tokens with s <= e < s + max_answer maximising
//             start_logits[s] + end_logits[e], over every window of the example (Hugging
//             Face's postprocess_qa_predictions without its top-20 cut, and without the
//             null answer of SQuAD 2.0); its text is the context's characters from the
//             start of token s to the end of token e
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "confusion.h"
#include "task_score.h"
#include "textio.h"
#include "zhuyi/metrics.h"

typedef struct qa_pred {
    double score;          // -INFINITY: no window of the example seen yet
    size_t byte_start, byte_end, char_start, char_end;
} qa_pred;

struct task_scorer {
    task_scorer_params p;
    int K;                 // classes (labels), or 1 (regression), 2 (qa)
    size_t n_examples, next_feature;
    bool bio;              // tag: the tags are B-/I-/E-/S-/O style: entity scores
    int outside;           // tag: the id of "O", or 0
    // per example
    int *label;            // classify single: predicted id; tag: unused
    float *score;          // classify single: its probability; regression: the value
    float *probs;          // classify single (n_examples, K): the softmax
    uint8_t *multi;        // classify multi (n_examples, K) 0/1
    float *multi_p;        // classify multi (n_examples, K) sigmoid
    int32_t **tags;        // tag: per example, a predicted id per word (-1: none yet)
    float **tag_p;         // tag: its probability
    qa_pred *qa;
};

static int oom(const task_scorer *sc) {
    return zy_cli_die("%s: out of memory scoring %zu examples", sc->p.cmd, sc->n_examples);
}

int task_scorer_create(task_scorer **out, const task_scorer_params *p) {
    task_scorer *sc = calloc(1, sizeof *sc);
    if (!sc) return zy_cli_die("%s: out of memory", p->cmd);
    sc->p = *p;
    sc->n_examples = zy_task_data_count(p->data);
    size_t n = sc->n_examples ? sc->n_examples : 1;
    sc->K = p->task == ZY_TASK_QA ? 2
          : p->problem == ZY_PROBLEM_REGRESSION ? 1 : zy_label_set_count(p->labels);
    bool ok = true;
    if (p->task == ZY_TASK_CLASSIFY && p->problem == ZY_PROBLEM_MULTI_LABEL) {
        ok = (sc->multi = calloc(n * (size_t)sc->K, 1)) &&
             (sc->multi_p = calloc(n * (size_t)sc->K, sizeof(float)));
    } else if (p->task == ZY_TASK_CLASSIFY) {
        ok = (sc->label = calloc(n, sizeof(int))) && (sc->score = calloc(n, sizeof(float))) &&
             (sc->probs = calloc(n * (size_t)sc->K, sizeof(float)));
    } else if (p->task == ZY_TASK_TAG) {
        ok = (sc->tags = calloc(n, sizeof *sc->tags)) && (sc->tag_p = calloc(n, sizeof *sc->tag_p));
        for (size_t i = 0; ok && i < sc->n_examples; i++) {
            int w = zy_task_data_example(p->data, i)->n_words;
            ok = (sc->tags[i] = malloc(sizeof(int32_t) * (w ? w : 1))) &&
                 (sc->tag_p[i] = calloc(w ? w : 1, sizeof(float)));
        }
        sc->bio = true;
        sc->outside = -1;
        for (int k = 0; k < sc->K; k++) {
            const char *t = zy_label_set_name(p->labels, k);
            if (!strcmp(t, "O")) sc->outside = k;
            else if (!(strchr("BIES", t[0]) && t[1] == '-' && t[2])) sc->bio = false;
        }
        if (sc->outside < 0) sc->bio = false, sc->outside = 0;
    } else {
        ok = (sc->qa = calloc(n, sizeof *sc->qa)) != NULL;
    }
    if (!ok) {
        task_scorer_free(sc);
        return zy_cli_die("%s: out of memory", p->cmd);
    }
    task_scorer_reset(sc);
    *out = sc;
    return 0;
}

void task_scorer_free(task_scorer *sc) {
    if (!sc) return;
    for (size_t i = 0; sc->tags && i < sc->n_examples; i++) free(sc->tags[i]);
    for (size_t i = 0; sc->tag_p && i < sc->n_examples; i++) free(sc->tag_p[i]);
    free(sc->tags);
    free(sc->tag_p);
    free(sc->label);
    free(sc->score);
    free(sc->probs);
    free(sc->multi);
    free(sc->multi_p);
    free(sc->qa);
    free(sc);
}

void task_scorer_reset(task_scorer *sc) {
    sc->next_feature = 0;
    for (size_t i = 0; sc->tags && i < sc->n_examples; i++) {
        int w = zy_task_data_example(sc->p.data, i)->n_words;
        for (int j = 0; j < w; j++) sc->tags[i][j] = -1;
    }
    for (size_t i = 0; sc->qa && i < sc->n_examples; i++) sc->qa[i].score = -INFINITY;
}

// argmax of x[0..K) and its softmax probability (and every class's in probs (K), when
// it is not NULL).
static int argmax_prob(const float *x, int K, float *prob, float *probs) {
    int best = 0;
    for (int k = 1; k < K; k++)
        if (x[k] > x[best]) best = k;
    double z = 0;
    for (int k = 0; k < K; k++) z += exp((double)x[k] - x[best]);
    *prob = (float)(1.0 / z);
    for (int k = 0; probs && k < K; k++) probs[k] = (float)(exp((double)x[k] - x[best]) / z);
    return best;
}

static void score_classify(task_scorer *sc, size_t ex, const float *logits) {
    if (sc->multi) {
        for (int k = 0; k < sc->K; k++) {
            float p = 1.0f / (1.0f + expf(-logits[k]));
            sc->multi_p[ex * sc->K + k] = p;
            sc->multi[ex * sc->K + k] = p > 0.5f;
        }
    } else if (sc->p.problem == ZY_PROBLEM_REGRESSION) {
        sc->score[ex] = logits[0];
    } else {
        sc->label[ex] = argmax_prob(logits, sc->K, &sc->score[ex], sc->probs + ex * sc->K);
    }
}

// logits (T, K) of one feature: each word's first token.
static void score_tags(task_scorer *sc, const zy_task_feature *f, const float *logits) {
    int32_t *tags = sc->tags[f->example];
    for (int i = 0; i < f->n; i++) {
        int w = f->word_ids[i];
        if (w < 0 || (i > 0 && f->word_ids[i - 1] == w) || tags[w] >= 0) continue;
        tags[w] = argmax_prob(logits + (size_t)i * sc->K, sc->K, &sc->tag_p[f->example][w], NULL);
    }
}

static void score_span(task_scorer *sc, const zy_task_feature *f, const float *st,
                       const float *en) {
    qa_pred *q = &sc->qa[f->example];
    for (int s = f->context_start; s < f->context_end; s++) {
        int last = s + sc->p.max_answer < f->context_end ? s + sc->p.max_answer : f->context_end;
        for (int e = s; e < last; e++) {
            double v = (double)st[s] + en[e];
            if (v <= q->score) continue;
            q->score = v;
            q->char_start = (size_t)f->offsets[2 * s];
            q->char_end = (size_t)f->offsets[2 * e + 1];
            q->byte_start = (size_t)f->byte_offsets[2 * s];
            q->byte_end = (size_t)f->byte_offsets[2 * e + 1];
        }
    }
}

zy_status task_scorer_on_forward(const zy_batch *b, const zy_session *s, void *user) {
    task_scorer *sc = user;
    const zy_task_features *fs = sc->p.features;
    int nd;
    int64_t sh[4];
    const float *a = NULL, *e = NULL;
    if (sc->p.task == ZY_TASK_QA) {
        a = zy_session_output(s, "start_logits", &nd, sh);
        e = zy_session_output(s, "end_logits", &nd, sh);
    } else {
        a = zy_session_output(s, "logits", &nd, sh);
    }
    if (!a || (sc->p.task == ZY_TASK_QA && !e))
        return zy_cli_die("%s: the model gave no logits to score", sc->p.cmd),
               ZY_STATUS_NOT_FOUND;
    if (sc->next_feature + (size_t)b->B > zy_task_features_count(fs))
        return zy_cli_die("%s: more rows than features", sc->p.cmd), ZY_STATUS_INVALID_ARGUMENT;
    int T = b->T; // (B, T, K) / (B, T) outputs are laid out for the batch's T
    for (int r = 0; r < b->B; r++) {
        const zy_task_feature *f = zy_task_features_get(fs, sc->next_feature + (size_t)r);
        if (sc->p.task == ZY_TASK_CLASSIFY)
            score_classify(sc, f->example, a + (size_t)r * sc->K);
        else if (sc->p.task == ZY_TASK_TAG)
            score_tags(sc, f, a + (size_t)r * T * sc->K);
        else
            score_span(sc, f, a + (size_t)r * T, e + (size_t)r * T);
    }
    sc->next_feature += (size_t)b->B;
    return ZY_STATUS_OK;
}

// The predicted tag id of word w of example i ("O" for a word no feature held).
static int word_tag(const task_scorer *sc, size_t i, int w) {
    int t = sc->tags[i][w];
    return t >= 0 ? t : sc->outside;
}

// The task's value of a metric replaces the model's of the same name (a head's accuracy
// over the rows is the examples' accuracy only when each example is one row).
void task_metric_put(zy_metric_set *m, const char *name, double v, double count) {
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->m[i].name, name)) {
            m->m[i] = (zy_metric){name, v, count};
            return;
        }
    if (m->n < ZY_METRICS_MAX) m->m[m->n++] = (zy_metric){name, v, count};
}

// Entity scores of every sentence (gold against predicted tag names) into e.
static zy_status add_entities(const task_scorer *sc, zy_entity_eval *e, const char **g,
                              const char **q) {
    zy_status st = ZY_STATUS_OK;
    for (size_t i = 0; i < sc->n_examples && !st; i++) {
        const zy_task_example *x = zy_task_data_example(sc->p.data, i);
        for (int w = 0; w < x->n_words; w++) {
            g[w] = zy_label_set_name(sc->p.labels, x->tags[w]);
            q[w] = zy_label_set_name(sc->p.labels, word_tag(sc, i, w));
        }
        st = zy_entity_eval_add(e, g, (size_t)x->n_words, q, (size_t)x->n_words);
    }
    return st;
}

static int max_words(const task_scorer *sc) {
    int m = 1;
    for (size_t i = 0; i < sc->n_examples; i++)
        if (zy_task_data_example(sc->p.data, i)->n_words > m)
            m = zy_task_data_example(sc->p.data, i)->n_words;
    return m;
}

// The gold answer texts of example x into a NULL-free array of NUL-terminated copies.
static char **gold_answers(const zy_task_example *x) {
    char **g = calloc((size_t)x->n_answers + 1, sizeof *g);
    for (int a = 0; g && a < x->n_answers; a++)
        if (!(g[a] = strndup(x->answer_texts[a], x->answer_lens[a]))) {
            for (int k = 0; k < a; k++) free(g[k]);
            free(g);
            return NULL;
        }
    return g;
}

static char *answer_text(const task_scorer *sc, size_t i) {
    const zy_task_example *x = zy_task_data_example(sc->p.data, i);
    const qa_pred *q = &sc->qa[i];
    if (q->score == -INFINITY || q->byte_end < q->byte_start || q->byte_end > x->text_len)
        return strdup("");
    return strndup(x->text + q->byte_start, q->byte_end - q->byte_start);
}

// Classification scores: confusion matrix (single label), multi-label or regression.
static int classify_scores(task_scorer *sc, zy_scores *s, zy_regression_metrics *rm,
                           zy_confusion **conf, zy_class_score *per) {
    size_t n = sc->n_examples;
    zy_status st = ZY_STATUS_OUT_OF_MEMORY;
    if (sc->p.problem == ZY_PROBLEM_REGRESSION) {
        float *g = malloc(sizeof(float) * (n ? n : 1));
        if (g) {
            for (size_t i = 0; i < n; i++) g[i] = zy_task_data_example(sc->p.data, i)->value;
            st = zy_regression_scores(g, sc->score, n, rm);
        }
        free(g);
    } else if (sc->multi) {
        uint8_t *g = calloc((n ? n : 1) * (size_t)sc->K, 1);
        if (g) {
            for (size_t i = 0; i < n; i++) {
                const zy_task_example *x = zy_task_data_example(sc->p.data, i);
                for (int k = 0; k < x->n_labels; k++) g[i * sc->K + x->labels[k]] = 1;
            }
            st = zy_multilabel_scores(g, sc->multi, n, sc->K, per, s);
        }
        free(g);
    } else {
        int *g = malloc(sizeof(int) * (n ? n : 1));
        if (g && !(st = zy_confusion_create(conf, sc->K))) {
            for (size_t i = 0; i < n; i++) g[i] = zy_task_data_example(sc->p.data, i)->label;
            if (!(st = zy_confusion_add(*conf, g, sc->label, n)))
                st = zy_confusion_scores(*conf, per, s);
        }
        free(g);
    }
    if (st) return zy_cli_die("%s: scoring: %s", sc->p.cmd, zy_last_error());
    return 0;
}

static int tag_scores(task_scorer *sc, zy_entity_eval **e, zy_scores *s, zy_class_score **per,
                      int *types) {
    int m = max_words(sc);
    const char **g = malloc(sizeof *g * (size_t)m), **q = malloc(sizeof *q * (size_t)m);
    zy_status st = ZY_STATUS_OUT_OF_MEMORY;
    if (g && q && !(st = zy_entity_eval_create(e)) && !(st = add_entities(sc, *e, g, q))) {
        *types = zy_entity_eval_types(*e);
        st = (*per = calloc((size_t)*types + 1, sizeof **per)) ? zy_entity_eval_scores(*e, *per, s)
                                                              : ZY_STATUS_OUT_OF_MEMORY;
    }
    free(g);
    free(q);
    if (st) return zy_cli_die("%s: scoring: %s", sc->p.cmd, zy_last_error());
    return 0;
}

static int qa_scores(task_scorer *sc, zy_squad_totals *t) {
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < sc->n_examples; i++) {
        const zy_task_example *x = zy_task_data_example(sc->p.data, i);
        if (x->n_answers <= 0) continue; // no gold answer: nothing to score against
        char **g = gold_answers(x), *pred = answer_text(sc, i);
        zy_status st = g && pred ? zy_squad_add(t, pred, (const char *const *)g,
                                                (size_t)x->n_answers)
                                 : ZY_STATUS_OUT_OF_MEMORY;
        for (int a = 0; g && a < x->n_answers; a++) free(g[a]);
        free(g);
        free(pred);
        if (st) return zy_cli_die("%s: scoring: %s", sc->p.cmd, zy_last_error());
    }
    return 0;
}

int task_scorer_metrics(task_scorer *sc, zy_metric_set *out) {
    double n = (double)sc->n_examples;
    if (sc->p.task == ZY_TASK_CLASSIFY) {
        zy_scores s;
        zy_regression_metrics rm;
        zy_confusion *c = NULL;
        int rc = classify_scores(sc, &s, &rm, &c, NULL);
        zy_confusion_free(c);
        if (rc) return rc;
        if (sc->p.problem == ZY_PROBLEM_REGRESSION) {
            task_metric_put(out, "mse", rm.mse, n);
            task_metric_put(out, "mae", rm.mae, n);
            task_metric_put(out, "pearson", rm.pearson, n);
        } else {
            const zy_prf *a = sc->multi ? &s.micro : &s.macro;
            task_metric_put(out, "accuracy", s.accuracy, n);
            task_metric_put(out, "f1", a->f1, n);
            task_metric_put(out, "precision", a->precision, n);
            task_metric_put(out, "recall", a->recall, n);
        }
    } else if (sc->p.task == ZY_TASK_TAG) {
        zy_entity_eval *e = NULL;
        zy_scores s;
        zy_class_score *per = NULL;
        int types = 0, rc = tag_scores(sc, &e, &s, &per, &types);
        zy_entity_eval_free(e);
        free(per);
        if (rc) return rc;
        task_metric_put(out, "accuracy", s.accuracy, (double)s.n);
        if (sc->bio) {
            task_metric_put(out, "f1", s.micro.f1, (double)s.support);
            task_metric_put(out, "precision", s.micro.precision, (double)s.predicted);
            task_metric_put(out, "recall", s.micro.recall, (double)s.support);
        }
    } else {
        zy_squad_totals t;
        if (qa_scores(sc, &t)) return 1;
        task_metric_put(out, "exact_match", zy_squad_exact_match(&t), (double)t.total);
        task_metric_put(out, "f1", zy_squad_f1(&t), (double)t.total);
    }
    return 0;
}

const char *task_scorer_best_metric(const task_scorer *sc) {
    if (sc->p.task == ZY_TASK_QA || sc->multi || (sc->p.task == ZY_TASK_TAG && sc->bio))
        return "f1";
    return sc->p.problem == ZY_PROBLEM_REGRESSION && sc->p.task == ZY_TASK_CLASSIFY ? "mse"
                                                                                   : "accuracy";
}

static const char **label_names(const task_scorer *sc) {
    const char **names = malloc(sizeof *names * (size_t)sc->K);
    for (int k = 0; names && k < sc->K; k++) names[k] = zy_label_set_name(sc->p.labels, k);
    return names;
}

int task_scorer_report(task_scorer *sc, zy_strbuf *text, zy_strbuf *svg) {
    size_t n = sc->n_examples;
    int rc = 0;
    if (sc->p.task == ZY_TASK_CLASSIFY) {
        zy_scores s;
        zy_regression_metrics rm;
        zy_confusion *c = NULL;
        zy_class_score *per = calloc((size_t)sc->K, sizeof *per);
        const char **names = sc->p.labels ? label_names(sc) : NULL;
        if (!per || (sc->p.labels && !names)) rc = oom(sc);
        if (!rc) rc = classify_scores(sc, &s, &rm, &c, per);
        if (!rc && sc->p.problem == ZY_PROBLEM_REGRESSION) {
            zy_strbuf_printf(text, "%zu examples: mse %.6g, mae %.6g, pearson %.4f, "
                             "spearman %.4f\n", n, rm.mse, rm.mae, rm.pearson, rm.spearman);
        } else if (!rc) {
            zy_classification_report(text, names, per, sc->K, &s,
                                     sc->multi ? ZY_REPORT_MULTILABEL : ZY_REPORT_SKLEARN, 4);
            if (c) {
                zy_strbuf_puts(text, "\nconfusion matrix (rows: gold, columns: predicted)\n");
                zy_confusion_text(text, c, names);
                if (svg) zy_confusion_svg(svg, c, names, "confusion matrix");
            }
        }
        zy_confusion_free(c);
        free(per);
        free(names);
    } else if (sc->p.task == ZY_TASK_TAG) {
        zy_entity_eval *e = NULL;
        zy_scores s;
        zy_class_score *per = NULL;
        int types = 0;
        rc = tag_scores(sc, &e, &s, &per, &types);
        if (!rc) {
            zy_strbuf_printf(text, "token accuracy %.4f (%lld of %lld words)\n", s.accuracy,
                             (long long)s.correct, (long long)s.n);
            if (sc->bio) {
                const char **names = malloc(sizeof *names * (size_t)(types ? types : 1));
                if (!names) rc = oom(sc);
                for (int t = 0; !rc && t < types; t++) names[t] = zy_entity_eval_type(e, t);
                if (!rc) {
                    zy_strbuf_puts(text, "\nentities (seqeval, default mode)\n");
                    zy_classification_report(text, names, per, types, &s, ZY_REPORT_SEQEVAL, 4);
                }
                free(names);
            }
        }
        zy_entity_eval_free(e);
        free(per);
    } else {
        zy_squad_totals t;
        if (!(rc = qa_scores(sc, &t)))
            zy_strbuf_printf(text, "%lld questions: exact_match %.2f, f1 %.2f (SQuAD v1.1)\n",
                             (long long)t.total, zy_squad_exact_match(&t), zy_squad_f1(&t));
    }
    if (!rc && (text->oom || (svg && svg->oom))) rc = oom(sc);
    return rc;
}

int task_scorer_classes(const task_scorer *sc) { return sc->K; }

const char *task_scorer_label(const task_scorer *sc, int id) {
    return sc->p.labels ? zy_label_set_name(sc->p.labels, id) : NULL;
}

void task_scorer_get(const task_scorer *sc, size_t i, task_prediction *out) {
    *out = (task_prediction){.label = -1};
    if (sc->multi) {
        out->probs = sc->multi_p + i * sc->K;
        out->chosen = sc->multi + i * sc->K;
    } else if (sc->p.task == ZY_TASK_CLASSIFY && sc->p.problem == ZY_PROBLEM_REGRESSION) {
        out->score = sc->score[i];
    } else if (sc->label) {
        out->label = sc->label[i];
        out->score = sc->score[i];
        out->probs = sc->probs + i * sc->K;
    } else if (sc->qa) {
        const qa_pred *q = &sc->qa[i];
        out->score = q->score == -INFINITY ? 0.0f : (float)q->score;
        out->start = q->char_start, out->end = q->char_end;
        out->byte_start = q->byte_start, out->byte_end = q->byte_end;
    }
}

int task_scorer_word(const task_scorer *sc, size_t i, int w, float *score) {
    *score = sc->tags[i][w] >= 0 ? sc->tag_p[i][w] : 0.0f;
    return word_tag(sc, i, w);
}

static void put_label(zy_strbuf *b, const task_scorer *sc, int id) {
    const char *s = zy_label_set_name(sc->p.labels, id);
    zy_cli_json_string(b, s, strlen(s));
}

int task_scorer_predictions(task_scorer *sc, FILE *f) {
    zy_strbuf b = {0};
    int rc = 0;
    for (size_t i = 0; i < sc->n_examples && !rc; i++) {
        const zy_task_example *x = zy_task_data_example(sc->p.data, i);
        zy_strbuf_clear(&b);
        zy_strbuf_printf(&b, "{\"line\":%llu,", (unsigned long long)x->line);
        if (sc->p.task == ZY_TASK_CLASSIFY && sc->p.problem == ZY_PROBLEM_REGRESSION) {
            zy_strbuf_printf(&b, "\"value\":%.9g}\n", (double)sc->score[i]);
        } else if (sc->multi) {
            zy_strbuf_puts(&b, "\"labels\":[");
            for (int k = 0, n = 0; k < sc->K; k++)
                if (sc->multi[i * sc->K + k]) {
                    if (n++) zy_strbuf_puts(&b, ",");
                    put_label(&b, sc, k);
                }
            zy_strbuf_puts(&b, "],\"scores\":{");
            for (int k = 0; k < sc->K; k++) {
                if (k) zy_strbuf_puts(&b, ",");
                put_label(&b, sc, k);
                zy_strbuf_printf(&b, ":%.6f", (double)sc->multi_p[i * sc->K + k]);
            }
            zy_strbuf_puts(&b, "}}\n");
        } else if (sc->p.task == ZY_TASK_CLASSIFY) {
            zy_strbuf_puts(&b, "\"label\":");
            put_label(&b, sc, sc->label[i]);
            zy_strbuf_printf(&b, ",\"score\":%.6f}\n", (double)sc->score[i]);
        } else if (sc->p.task == ZY_TASK_TAG) {
            zy_strbuf_puts(&b, "\"tokens\":[");
            for (int w = 0; w < x->n_words; w++) {
                if (w) zy_strbuf_puts(&b, ",");
                zy_cli_json_string(&b, x->words[w], x->word_lens[w]);
            }
            zy_strbuf_puts(&b, "],\"tags\":[");
            for (int w = 0; w < x->n_words; w++) {
                if (w) zy_strbuf_puts(&b, ",");
                put_label(&b, sc, word_tag(sc, i, w));
            }
            zy_strbuf_puts(&b, "],\"scores\":[");
            for (int w = 0; w < x->n_words; w++)
                zy_strbuf_printf(&b, "%s%.4f", w ? "," : "",
                                 sc->tags[i][w] >= 0 ? (double)sc->tag_p[i][w] : 0.0);
            zy_strbuf_puts(&b, "]}\n");
        } else {
            char *a = answer_text(sc, i);
            if (!a) {
                rc = oom(sc);
                break;
            }
            const qa_pred *q = &sc->qa[i];
            zy_strbuf_puts(&b, "\"id\":");
            zy_cli_json_string(&b, x->id ? x->id : "", x->id ? strlen(x->id) : 0);
            zy_strbuf_puts(&b, ",\"answer\":");
            zy_cli_json_string(&b, a, strlen(a));
            zy_strbuf_printf(&b, ",\"start\":%zu,\"end\":%zu,\"score\":%.4f}\n", q->char_start,
                             q->char_end, q->score == -INFINITY ? 0.0 : q->score);
            free(a);
        }
        if (b.oom) rc = oom(sc);
        else if (fwrite(b.p, 1, b.n, f) != b.n)
            rc = zy_cli_die("%s: writing predictions failed", sc->p.cmd);
    }
    zy_strbuf_free(&b);
    return rc;
}
