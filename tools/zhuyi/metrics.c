// metrics.jsonl for `zhuyi pretrain` (see metrics.h): written one flushed line per step,
// so `tail -f` works and an interrupted run loses nothing it reported.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "metrics.h"
#include "zhuyi/io.h"

static int push(void **a, void **b, size_t *n, size_t *cap, size_t sa, size_t sb) {
    if (*n < *cap) return 0;
    size_t c = *cap ? 2 * *cap : 1024;
    void *na = realloc(*a, c * sa), *nb = na ? realloc(*b, c * sb) : NULL;
    if (na) *a = na;
    if (!na || !nb) return -1;
    *b = nb;
    *cap = c;
    return 0;
}

static int add_train(zy_metrics *m, long step, float loss) {
    if (push((void **)&m->step, (void **)&m->loss, &m->n, &m->cap, sizeof(long),
             sizeof(float)))
        return -1;
    m->step[m->n] = step;
    m->loss[m->n++] = loss;
    return 0;
}

static int add_val(zy_metrics *m, long step, float loss, float metric) {
    size_t cap = m->vcap;
    if (push((void **)&m->vstep, (void **)&m->vloss, &m->vn, &m->vcap, sizeof(long),
             sizeof(float)))
        return -1;
    if (m->vcap != cap) {
        float *v = realloc(m->vmetric, m->vcap * sizeof(float));
        if (!v) return -1;
        m->vmetric = v;
    }
    m->vstep[m->vn] = step;
    m->vmetric[m->vn] = metric;
    m->vloss[m->vn++] = loss;
    return 0;
}

// Keep the well-formed lines of steps <= keep_upto; load them into the history.
static int reload(zy_metrics *m, const char *path, long keep_upto) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0; // no metrics yet: nothing to keep
    size_t cap = 1 << 16, len = 0;
    char *kept = malloc(cap), *line = NULL;
    size_t lcap = 0;
    ssize_t got;
    int rc = kept ? 0 : -1;
    while (!rc && (got = getline(&line, &lcap, f)) > 0) {
        cJSON *j = cJSON_Parse(line);
        cJSON *st = j ? cJSON_GetObjectItem(j, "step") : NULL;
        cJSON *loss = j ? cJSON_GetObjectItem(j, "loss") : NULL;
        cJSON *val = j ? cJSON_GetObjectItem(j, "val_loss") : NULL;
        bool skipped = j && cJSON_IsTrue(cJSON_GetObjectItem(j, "skipped"));
        int ok = cJSON_IsNumber(st) && st->valuedouble <= (double)keep_upto &&
                 (cJSON_IsNumber(loss) || cJSON_IsNumber(val) || skipped) &&
                 line[got - 1] == '\n';
        if (ok) {
            long s = (long)st->valuedouble;
            if (skipped) rc = 0;
            else if (cJSON_IsNumber(loss)) rc = add_train(m, s, (float)loss->valuedouble);
            else {
                char key[80];
                snprintf(key, sizeof key, "val_%s", m->vname);
                cJSON *v = m->vname[0] ? cJSON_GetObjectItem(j, key) : NULL;
                rc = add_val(m, s, (float)val->valuedouble,
                             cJSON_IsNumber(v) ? (float)v->valuedouble : NAN);
            }
            if (len + (size_t)got > cap) {
                char *k = realloc(kept, cap = 2 * (len + (size_t)got));
                if (!k) rc = -1;
                else kept = k;
            }
            if (!rc) {
                memcpy(kept + len, line, (size_t)got);
                len += (size_t)got;
            }
        }
        cJSON_Delete(j);
    }
    fclose(f);
    free(line);
    if (!rc && zy_file_write_atomic(path, kept, len)) {
        zy_cli_die("%s", zy_last_error());
        rc = -1;
    } else if (rc) {
        zy_cli_die("out of memory reading %s", path);
    }
    free(kept);
    return rc;
}

int zy_metrics_open(zy_metrics *m, const char *dir, long keep_upto, const char *metric) {
    memset(m, 0, sizeof *m);
    if (metric && strcmp(metric, "loss")) snprintf(m->vname, sizeof m->vname, "%s", metric);
    if (!dir) return 0; // kept in memory only
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    if (keep_upto >= 0 && reload(m, path, keep_upto)) return -1;
    m->f = fopen(path, keep_upto >= 0 ? "ab" : "wb");
    if (!m->f) return zy_cli_die("cannot write %s", path);
    return 0;
}

// ,"prefix name":value for each metric that scored something (JSON has no NaN: a metric
// that is not finite is null).
static void put_metrics(FILE *f, const char *prefix, const zy_metric_set *ms) {
    for (int i = 0; ms && i < ms->n; i++) {
        if (ms->m[i].count <= 0) continue;
        if (isfinite(ms->m[i].value))
            fprintf(f, ",\"%s%s\":%.9g", prefix, ms->m[i].name, ms->m[i].value);
        else
            fprintf(f, ",\"%s%s\":null", prefix, ms->m[i].name);
    }
}

int zy_metrics_step(zy_metrics *m, long step, float loss, float lr, double ms, double tok_s,
                    const zy_metric_set *named) {
    if (!m->f) return isfinite(loss) && add_train(m, step, loss) ? zy_cli_die("out of memory") : 0;
    if (!isfinite(loss)) { // JSON has no NaN: a skipped step (zy_step_info.skipped)
        fprintf(m->f, "{\"step\":%ld,\"loss\":null,\"skipped\":true,\"lr\":%.9g}\n", step,
                (double)lr);
        if (fflush(m->f)) return zy_cli_die("writing metrics.jsonl failed");
        return 0;
    }
    fprintf(m->f, "{\"step\":%ld,\"loss\":%.9g,\"lr\":%.9g,\"ms\":%.3f,\"tokens_per_s\":%.1f",
            step, (double)loss, (double)lr, ms, tok_s);
    put_metrics(m->f, "", named);
    fputs("}\n", m->f);
    if (fflush(m->f)) return zy_cli_die("writing metrics.jsonl failed");
    return add_train(m, step, loss) ? zy_cli_die("out of memory") : 0;
}

int zy_metrics_val(zy_metrics *m, long step, float val_loss, const zy_metric_set *named) {
    if (m->f) {
        fprintf(m->f, "{\"step\":%ld,\"val_loss\":%.9g", step, (double)val_loss);
        put_metrics(m->f, "val_", named);
        fputs("}\n", m->f);
        if (fflush(m->f)) return zy_cli_die("writing metrics.jsonl failed");
    }
    const zy_metric *x = m->vname[0] && named ? zy_metric_set_find(named, m->vname) : NULL;
    return add_val(m, step, val_loss, x && x->count > 0 ? (float)x->value : NAN)
               ? zy_cli_die("out of memory")
               : 0;
}

void zy_metrics_close(zy_metrics *m) {
    if (m->f) fclose(m->f);
    free(m->step);
    free(m->loss);
    free(m->vstep);
    free(m->vloss);
    free(m->vmetric);
    memset(m, 0, sizeof *m);
}
