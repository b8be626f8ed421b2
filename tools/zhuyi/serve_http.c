// libmicrohttpd's side of `zhuyi serve` (serve.h): request bodies (at most --max-body
// bytes), the API key, CORS, routing, JSON and error responses, and streams. A thread per
// connection: a handler parses, queues its job with the engine and waits for it; a stream
// is sent as the engine writes it, and a client that hangs up (seen by polling its socket
// while waiting) cancels its job at once, which frees its generation slots.
#define _GNU_SOURCE // POLLRDHUP
#include <microhttpd.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"

// Routes as metrics count them: the fixed ones, the encoder endpoints, "other".
enum { R_PAGE, R_HEALTH, R_METRICS, R_MODELS, R_COMPLETIONS, R_CHAT, R_TOKENIZE, R_DETOKENIZE,
       R_ENCODER, R_OTHER = 16 };
static const char *const fixed_names[R_ENCODER] = {
    "/", "/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions",
    "/v1/tokenize", "/v1/detokenize"};

const char *serve_route_name(int route) {
    if (route < R_ENCODER) return fixed_names[route];
    if (route - R_ENCODER < serve_n_encoder_routes) return serve_encoder_routes[route - R_ENCODER].path;
    return "other";
}

typedef struct conn {
    zy_strbuf body;
    bool too_big, counted;
    int route, status;
    struct timespec t0;
} conn;

static double since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

// Has the client closed its side or dropped the connection?
static bool hung_up(int fd) {
    if (fd < 0) return false;
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static void add_common(const serve_server *srv, struct MHD_Response *r, const char *type) {
    if (type) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (srv->cors) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
        MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                "Authorization, Content-Type");
        MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    }
}

static enum MHD_Result respond(serve_server *srv, struct MHD_Connection *con, conn *c,
                               int status, const char *type, const void *p, size_t n) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    add_common(srv, r, type);
    if (status == 503) MHD_add_response_header(r, "Retry-After", "1");
    if (status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    c->status = status;
    enum MHD_Result rc = MHD_queue_response(con, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result respond_json(serve_server *srv, struct MHD_Connection *con, conn *c,
                                    int status, const zy_strbuf *b) {
    return respond(srv, con, c, status, "application/json", b->p ? b->p : "", b->n);
}

static enum MHD_Result respond_error(serve_server *srv, struct MHD_Connection *con, conn *c,
                                     const serve_error *e) {
    zy_strbuf b = {0};
    serve_error_json(&b, e);
    enum MHD_Result rc = respond_json(srv, con, c, e->status ? e->status : 500, &b);
    zy_strbuf_free(&b);
    return rc;
}

// The API key, compared in constant time.
static bool authorized(const serve_server *srv, struct MHD_Connection *con) {
    if (!srv->api_key) return true;
    const char *h = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7)) return false;
    h += 7;
    size_t n = strlen(h), k = strlen(srv->api_key);
    unsigned char diff = n != k;
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)(h[i] ^ srv->api_key[i % (k ? k : 1)]);
    return !diff;
}

// Wait until the job has started (streams) or is done; false if the client hung up (the
// job is then cancelled).
static bool wait_job(serve_job *j, bool until_done) {
    pthread_mutex_lock(&j->mu);
    while (!j->done && (until_done || !j->started)) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 100 * 1000 * 1000;
        if (t.tv_nsec >= 1000000000L) t.tv_sec++, t.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&j->cv, &j->mu, &t);
        if (!j->done && hung_up(j->fd)) {
            atomic_store(&j->cancelled, true);
            pthread_mutex_unlock(&j->mu);
            return false;
        }
    }
    pthread_mutex_unlock(&j->mu);
    return true;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    serve_job *j = cls;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        if (j->sent < j->out.n) {
            size_t n = j->out.n - j->sent < max ? j->out.n - j->sent : max;
            memcpy(buf, j->out.p + j->sent, n);
            j->sent += n;
            pthread_mutex_unlock(&j->mu);
            return (ssize_t)n;
        }
        if (j->done) {
            pthread_mutex_unlock(&j->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 100 * 1000 * 1000;
        if (t.tv_nsec >= 1000000000L) t.tv_sec++, t.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&j->cv, &j->mu, &t);
        if (j->sent == j->out.n && !j->done && hung_up(j->fd)) {
            atomic_store(&j->cancelled, true);
            pthread_mutex_unlock(&j->mu);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void stream_free(void *cls) {
    serve_job *j = cls;
    atomic_store(&j->cancelled, true); // no-op when it is done; else the client went away
    serve_job_release(j);
}

// Queue a job and answer with its result (or stream it).
static enum MHD_Result run_job(serve_server *srv, struct MHD_Connection *con, conn *c,
                               serve_job *j) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
    j->fd = ci ? ci->connect_fd : -1;
    serve_error e = {0};
    if (serve_engine_submit(srv, j, &e)) {
        serve_job_release(j);
        return respond_error(srv, con, c, &e);
    }
    if (!wait_job(j, !j->stream)) {
        serve_job_release(j);
        c->status = 499; // client closed the request (nginx's convention, for the metrics)
        return MHD_NO;
    }
    enum MHD_Result rc;
    pthread_mutex_lock(&j->mu);
    bool failed = j->err.status != 0;
    e = j->err;
    pthread_mutex_unlock(&j->mu);
    if (failed) {
        rc = respond_error(srv, con, c, &e);
    } else if (!j->stream) {
        rc = j->content_type ? respond(srv, con, c, 200, j->content_type,
                                       j->out.p ? j->out.p : "", j->out.n)
                             : respond_json(srv, con, c, 200, &j->out);
    } else {
        struct MHD_Response *r =
            MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, j, stream_free);
        if (!r) {
            atomic_store(&j->cancelled, true);
            serve_job_release(j);
            return MHD_NO;
        }
        add_common(srv, r, "text/event-stream");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        c->status = 200;
        rc = MHD_queue_response(con, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return rc; // the response holds the reference now
    }
    serve_job_release(j);
    return rc;
}

// A POST endpoint: parse the body, find the model, queue the job.
static enum MHD_Result post(serve_server *srv, struct MHD_Connection *con, conn *c, int route,
                            const serve_route *r) {
    serve_error e = {0};
    if (c->too_big)
        return serve_fail(&e, 413, "invalid_request_error", "request_too_large", NULL,
                          "the request body is larger than --max-body (%zu bytes)",
                          srv->max_body),
               respond_error(srv, con, c, &e);
    // A JSON body, or for an endpoint that takes uploads a multipart form: its files go
    // with the job, its plain fields are read as a JSON body's.
    cJSON *body = NULL;
    serve_form *form = NULL;
    if (serve_form_is_multipart(con)) {
        if (!r || !r->file_field) {
            serve_bad(&e, NULL, "%s takes a JSON body (Content-Type: application/json), not "
                      "multipart/form-data", serve_route_name(route));
        } else if (!(form = calloc(1, sizeof *form))) {
            serve_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
        } else if (!serve_form_read(con, c->body.p, c->body.n, form, &e)) {
            body = serve_form_fields(form, r->file_field, &e);
        }
        if (!body) {
            serve_form_free(form);
            free(form);
            return respond_error(srv, con, c, &e);
        }
    } else if (!(body = serve_req_parse(c->body.p, c->body.n, &e))) {
        return respond_error(srv, con, c, &e);
    }
    const char *name = NULL;
    serve_model *m = NULL;
    if (!serve_req_string(body, "model", false, &name, &e)) m = serve_find_model(srv, name, &e);
    if (m && r && r->accepts && !r->accepts(m))
        serve_bad(&e, "model", "model '%s' is %s %s; %s needs %s", m->name,
                  strchr("aeiou", m->kind[0]) ? "an" : "a", m->kind, r->path, r->needs),
            m = NULL;
    if (!m) {
        cJSON_Delete(body);
        serve_form_free(form);
        free(form);
        return respond_error(srv, con, c, &e);
    }
    serve_job *j = serve_job_new(srv, m, body, r ? r->run : NULL);
    if (!j) {
        cJSON_Delete(body);
        serve_form_free(form);
        free(form);
        serve_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
        return respond_error(srv, con, c, &e);
    }
    j->form = form;
    if (!r && serve_gen_prepare(j, route == R_CHAT, &e)) {
        serve_job_release(j);
        return respond_error(srv, con, c, &e);
    }
    return run_job(srv, con, c, j);
}

static bool has_tokenizer(const serve_model *m) { return m->tok != NULL; }

static const serve_route tokenize_routes[] = {
    {"/v1/tokenize", serve_api_tokenize, "a model with a tokenizer (one that reads text)",
     has_tokenizer, NULL},
    {"/v1/detokenize", serve_api_detokenize, "a model with a tokenizer (one that reads text)",
     has_tokenizer, NULL},
};

static enum MHD_Result dispatch(serve_server *srv, struct MHD_Connection *con, conn *c,
                                const char *url, const char *method) {
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), is_post = !strcmp(method, "POST");
    serve_error e = {0};
    int route = R_OTHER;
    const serve_route *r = NULL;
    for (int i = 0; i < R_ENCODER; i++)
        if (!strcmp(url, fixed_names[i])) route = i;
    if (!strncmp(url, "/v1/models/", 11)) route = R_MODELS;
    for (int i = 0; i < serve_n_encoder_routes; i++)
        if (!strcmp(url, serve_encoder_routes[i].path)) route = R_ENCODER + i, r = &serve_encoder_routes[i];
    if (route == R_TOKENIZE || route == R_DETOKENIZE) r = &tokenize_routes[route - R_TOKENIZE];
    c->route = route;
    if (!strcmp(method, "OPTIONS") && srv->cors) return respond(srv, con, c, 204, NULL, "", 0);
    bool open = route == R_PAGE || route == R_HEALTH;
    if (!open && !authorized(srv, con))
        return serve_fail(&e, 401, "invalid_request_error", "invalid_api_key", NULL,
                          "a valid API key is required: 'Authorization: Bearer KEY' (the "
                          "server's --api-key)"),
               respond_error(srv, con, c, &e);
    if (route == R_OTHER)
        return serve_fail(&e, 404, "invalid_request_error", "not_found", NULL,
                          "no endpoint %s %s (see GET /v1/models, POST /v1/completions, ...)",
                          method, url),
               respond_error(srv, con, c, &e);
    bool wants_get = route <= R_MODELS;
    if (wants_get ? !get : !is_post)
        return serve_fail(&e, 405, "invalid_request_error", "method_not_allowed", NULL,
                          "%s takes %s, not %s", url, wants_get ? "GET" : "POST", method),
               respond_error(srv, con, c, &e);
    zy_strbuf b = {0};
    enum MHD_Result rc;
    switch (route) {
    case R_PAGE:
        return respond(srv, con, c, 200, "text/html; charset=utf-8", serve_page_html,
                       serve_page_html_len);
    case R_HEALTH: {
        pthread_mutex_lock(&srv->mu);
        bool draining = srv->draining;
        pthread_mutex_unlock(&srv->mu);
        const char *s = draining ? "{\"status\": \"draining\"}\n" : "{\"status\": \"ok\"}\n";
        return respond(srv, con, c, draining ? 503 : 200, "application/json", s, strlen(s));
    }
    case R_METRICS:
        serve_metrics_text(srv, &b);
        rc = respond(srv, con, c, 200, "text/plain; version=0.0.4", b.p ? b.p : "", b.n);
        break;
    case R_MODELS:
        if (url[10] == '/') { // one model
            serve_model *m = serve_find_model(srv, url + 11, &e);
            if (!m) return respond_error(srv, con, c, &e);
            serve_api_model(m, &b);
        } else {
            serve_api_models(srv, &b);
        }
        rc = respond_json(srv, con, c, 200, &b);
        break;
    default:
        return post(srv, con, c, route, r);
    }
    zy_strbuf_free(&b);
    return rc;
}

// ---- the request deadline ---------------------------------------------------------------
// libmicrohttpd's timeout closes only connections that send nothing: a client trickling a
// byte now and then (slow-loris) would keep its thread forever. So every connection must
// also deliver each whole request (headers and body) within --timeout seconds of opening
// or of its previous answer; the reaper thread shuts down the socket of one that has not
// (libmicrohttpd then sees the end and closes it). Answers being computed or sent do not
// count: a long generation is not cut.
struct serve_watch {
    serve_watch *prev, *next;
    int fd;
    struct timespec since;  // opened, or the previous answer finished
    bool busy;              // a request is being answered
    bool reaped;
};

static void now(struct timespec *t) { clock_gettime(CLOCK_MONOTONIC, t); }

static serve_watch *watch_of(struct MHD_Connection *con) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void watch_busy(serve_server *srv, struct MHD_Connection *con, bool busy) {
    serve_watch *w = watch_of(con);
    if (!w) return;
    pthread_mutex_lock(&srv->watch_mu);
    w->busy = busy;
    now(&w->since);
    pthread_mutex_unlock(&srv->watch_mu);
}

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code) {
    serve_server *srv = cls;
    pthread_mutex_lock(&srv->watch_mu);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        serve_watch *w = calloc(1, sizeof *w);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (w && ci) {
            w->fd = ci->connect_fd;
            now(&w->since);
            w->next = srv->watch;
            if (srv->watch) srv->watch->prev = w;
            srv->watch = w;
        } else {
            free(w), w = NULL;
        }
        *socket_ctx = w;
        atomic_fetch_add(&srv->connections, 1);
    } else {
        serve_watch *w = *socket_ctx;
        if (w) { // unlinked before libmicrohttpd closes the socket: its number is not reused yet
            if (w->prev) w->prev->next = w->next;
            else srv->watch = w->next;
            if (w->next) w->next->prev = w->prev;
            free(w);
        }
        *socket_ctx = NULL;
        atomic_fetch_sub(&srv->connections, 1);
    }
    pthread_mutex_unlock(&srv->watch_mu);
}

static void *reaper(void *arg) {
    serve_server *srv = arg;
    pthread_mutex_lock(&srv->watch_mu);
    while (!srv->reaper_stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += 1;
        pthread_cond_timedwait(&srv->watch_cv, &srv->watch_mu, &t);
        struct timespec n;
        now(&n);
        for (serve_watch *w = srv->watch; w; w = w->next)
            if (!w->busy && !w->reaped && n.tv_sec - w->since.tv_sec >= (time_t)srv->timeout) {
                shutdown(w->fd, SHUT_RDWR);
                w->reaped = true;
            }
    }
    pthread_mutex_unlock(&srv->watch_mu);
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **ctx) {
    (void)version;
    serve_server *srv = cls;
    conn *c = *ctx;
    if (!c) { // headers only so far
        if (!(c = calloc(1, sizeof *c))) return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &c->t0);
        c->route = R_OTHER;
        *ctx = c;
        return MHD_YES;
    }
    if (*upload_size) { // a piece of the body
        if (c->too_big || c->body.n + *upload_size > srv->max_body) c->too_big = true;
        else zy_strbuf_put(&c->body, upload, *upload_size);
        if (c->body.oom) c->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    watch_busy(srv, con, true); // the request is in: its answer is not on the clock
    return dispatch(srv, con, c, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **ctx,
                         enum MHD_RequestTerminationCode why) {
    serve_server *srv = cls;
    conn *c = *ctx;
    watch_busy(srv, con, false); // the next request's clock starts now
    if (!c) return;
    int status = c->status;
    if (why != MHD_REQUEST_TERMINATED_COMPLETED_OK && status == 200) status = 499;
    serve_metrics_request(&srv->metrics, c->route, status, since(&c->t0));
    zy_strbuf_free(&c->body);
    free(c);
    *ctx = NULL;
}


struct MHD_Daemon *serve_http_start(serve_server *srv, const struct sockaddr *addr,
                                    bool ipv6) {
    if (srv->timeout && !pthread_create(&srv->reaper, NULL, reaper, srv))
        srv->reaper_running = true;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ITC | (ipv6 ? MHD_USE_IPv6 : 0);
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
                            MHD_OPTION_SOCK_ADDR, addr,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
                            MHD_OPTION_CONNECTION_TIMEOUT, srv->timeout,
                            MHD_OPTION_CONNECTION_LIMIT, srv->connection_limit,
                            MHD_OPTION_END);
}

void serve_http_stop(serve_server *srv, struct MHD_Daemon *d) {
    if (d) MHD_stop_daemon(d);
    if (srv->reaper_running) {
        pthread_mutex_lock(&srv->watch_mu);
        srv->reaper_stop = true;
        pthread_cond_signal(&srv->watch_cv);
        pthread_mutex_unlock(&srv->watch_mu);
        pthread_join(srv->reaper, NULL);
        srv->reaper_running = false;
    }
}
