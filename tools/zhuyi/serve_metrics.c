// The counters of `zhuyi serve` and their Prometheus text (GET /metrics; serve.h):
// requests by route and status class, prompt and generated tokens, the queue's depth, busy
// generation slots, open connections, and a histogram of request latency.
#include <stdio.h>
#include <string.h>

#include "serve.h"

// Upper bounds of the latency histogram's buckets, seconds (+Inf is the count).
static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
enum { N_BOUNDS = sizeof bounds / sizeof bounds[0] };
_Static_assert(N_BOUNDS == sizeof ((serve_metrics *)0)->latency_buckets /
                               sizeof ((serve_metrics *)0)->latency_buckets[0],
               "one counter per bucket");

static int status_class(int status) {
    return status >= 200 && status < 600 ? status / 100 - 2 : 4; // 2xx .. 5xx, other
}

void serve_metrics_request(serve_metrics *m, int route, int status, double seconds) {
    if (route < 0 || route > 15) route = 15;
    pthread_mutex_lock(&m->mu);
    m->requests[route][status_class(status)]++;
    for (int i = 0; i < N_BOUNDS; i++)
        if (seconds <= bounds[i]) m->latency_buckets[i]++;
    m->latency_sum += seconds;
    m->latency_count++;
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_tokens(serve_metrics *m, uint64_t prompt, uint64_t generated) {
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += prompt;
    m->generated_tokens += generated;
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_text(serve_server *srv, zy_strbuf *b) {
    static const char *const classes[5] = {"2xx", "3xx", "4xx", "5xx", "other"};
    pthread_mutex_lock(&srv->mu);
    int queued = srv->queued, busy = 0, slots = 0;
    for (int i = 0; i < srv->n_models; i++) {
        busy += atomic_load(&srv->models[i].busy);
        if (srv->models[i].gen) slots += zy_generator_slots(srv->models[i].gen);
    }
    pthread_mutex_unlock(&srv->mu);
    serve_metrics *m = &srv->metrics;
    pthread_mutex_lock(&m->mu);
    zy_strbuf_puts(b, "# HELP zhuyi_requests_total HTTP requests by route and status class.\n"
                      "# TYPE zhuyi_requests_total counter\n");
    for (int r = 0; r < (int)(sizeof m->requests / sizeof m->requests[0]); r++)
        for (int k = 0; k < 5; k++)
            if (m->requests[r][k])
                zy_strbuf_printf(b, "zhuyi_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                                 serve_route_name(r), classes[k],
                                 (unsigned long long)m->requests[r][k]);
    zy_strbuf_printf(b, "# HELP zhuyi_prompt_tokens_total Prompt tokens of finished generations.\n"
                        "# TYPE zhuyi_prompt_tokens_total counter\n"
                        "zhuyi_prompt_tokens_total %llu\n"
                        "# HELP zhuyi_generated_tokens_total Tokens generated.\n"
                        "# TYPE zhuyi_generated_tokens_total counter\n"
                        "zhuyi_generated_tokens_total %llu\n",
                     (unsigned long long)m->prompt_tokens, (unsigned long long)m->generated_tokens);
    zy_strbuf_printf(b, "# HELP zhuyi_queue_depth Requests waiting for the engine.\n"
                        "# TYPE zhuyi_queue_depth gauge\nzhuyi_queue_depth %d\n"
                        "# HELP zhuyi_slots_busy Generation slots decoding.\n"
                        "# TYPE zhuyi_slots_busy gauge\nzhuyi_slots_busy %d\n"
                        "# HELP zhuyi_slots Generation slots in all.\n"
                        "# TYPE zhuyi_slots gauge\nzhuyi_slots %d\n"
                        "# HELP zhuyi_connections Open HTTP connections.\n"
                        "# TYPE zhuyi_connections gauge\nzhuyi_connections %d\n",
                     queued, busy, slots, atomic_load(&srv->connections));
    zy_strbuf_puts(b, "# HELP zhuyi_request_duration_seconds Time from a request's headers to "
                      "its last byte.\n# TYPE zhuyi_request_duration_seconds histogram\n");
    for (int i = 0; i < N_BOUNDS; i++)
        zy_strbuf_printf(b, "zhuyi_request_duration_seconds_bucket{le=\"%g\"} %llu\n", bounds[i],
                         (unsigned long long)m->latency_buckets[i]);
    zy_strbuf_printf(b, "zhuyi_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                        "zhuyi_request_duration_seconds_sum %.6f\n"
                        "zhuyi_request_duration_seconds_count %llu\n",
                     (unsigned long long)m->latency_count, m->latency_sum,
                     (unsigned long long)m->latency_count);
    pthread_mutex_unlock(&m->mu);
}
