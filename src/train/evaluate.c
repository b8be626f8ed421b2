// Evaluation over a data source (zy_evaluate, trainer.h): the mean loss of a model over
// batches, weighted by how many targets each batch's mean covers. Shared by the trainer's
// validation and `zhuyi eval`, so both read the same windows the same way.
#include <string.h>

#include "core/internal.h"
#include "zhuyi/trainer.h"

zy_status zy_evaluate(zy_session *s, zy_data_source *src, const zy_eval_params *p,
                      double *mean_loss, double *count) {
    zy_eval_params none = {0};
    if (!p) p = &none;
    const zy_data_source_info *info = zy_data_source_get_info(src);
    if (!info->one_pass && p->max_batches <= 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "evaluate: a cycling data source needs "
                         "max_batches > 0");
    const zy_batch_dims *d = &info->dims;
    int cap = zy_session_tokens(s);
    if (cap && (d->tokens <= 0 || d->tokens > cap))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "evaluate: the session takes batches of "
                         "up to %d tokens, the data source's are up to %d (make them with "
                         "the same bound)", cap, d->tokens > 0 ? d->tokens : d->batch * d->seq);
    zy_status st = zy_session_prepare(s, d->batch, d->seq, d->seq_dec);
    if (st) return st;
    zy_batch b;
    if ((st = zy_batch_init(&b, d))) return st;
    zy_session_set_mode(s, false, 0);
    if (p->metrics) memset(p->metrics, 0, sizeof *p->metrics);
    double sum = 0, total = 0;
    for (long k = 0; p->max_batches <= 0 || k < p->max_batches; k++) {
        if ((st = zy_data_source_next(src, &b))) break;
        if (b.B == 0) break;
        float loss = 0;
        double n = 0;
        if (k > 0) zy_session_weights_unchanged(s); // nothing here changes them
        if ((st = zy_session_forward(s, &b, &loss, &n))) break;
        if (p->on_forward && (st = p->on_forward(&b, s, p->user))) break;
        if (n > 0) {
            sum += (double)loss * n;
            total += n;
        }
        if (p->metrics) {
            zy_metric_set m;
            zy_session_metrics(s, &m);
            zy_metric_set_merge(p->metrics, &m);
        }
        if (p->on_batch && p->on_batch(k + 1, total, total > 0 ? sum / total : 0.0, p->user))
            break;
    }
    zy_batch_destroy(&b);
    if (st) return st;
    if (total == 0 && !p->unscored)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "evaluate: the data gave no targets to "
                         "score");
    if (mean_loss) *mean_loss = total > 0 ? sum / total : 0.0;
    if (count) *count = total;
    return ZY_STATUS_OK;
}
