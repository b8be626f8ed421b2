// `zhuyi serve`: model directories behind an OpenAI-compatible HTTP API (libmicrohttpd).
// The pieces and who calls whom:
//   serve.c         the command: flags, loading the models, signals, start and drain
//   serve_http.c    libmicrohttpd's side: bodies (bounded), auth, CORS, routing, JSON and
//                   error responses, streams (Server-Sent Events) fed by the engine
//   serve_engine.c  the one thread that runs models: a bounded queue of jobs; generations
//                   in the parallel slots of each causal LM's generator, stepped together;
//                   one-shot jobs (embeddings, fill-mask, ...) between steps
//   serve_gen.c     /v1/completions and /v1/chat/completions: requests -> choices, tokens
//                   -> text (stop texts, whole characters) -> chunks and bodies
//   serve_req.c     reading request fields with their checks (shared by every endpoint;
//                   fuzz/fuzz_serve_request.c drives it)
//   serve_form.c    multipart/form-data uploads: the parts of a form (file bytes, plain
//                   fields read as a JSON body's)
//   serve_api.c     the endpoints that run no generation: models, tokenize, detokenize
//   serve_encode.c  the encoder endpoints (embeddings, ..., classify: texts and images)
//   serve_audio.c   /v1/audio/transcriptions: speech models (OpenAI's shape)
//   serve_metrics.c counters and the Prometheus text
//   serve_page.c    the playground page (serve_page.html, built in)
// Threads: libmicrohttpd runs a thread per connection; every model call happens on the
// engine thread (the kernels' thread pool serves one caller at a time, and a tokenizer one
// encoder), so handlers only parse, queue and wait.
#ifndef ZHUYI_CLI_SERVE_H
#define ZHUYI_CLI_SERVE_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gen.h"
#include "strbuf.h"
#include "zhuyi/speech_data.h"
#include "zhuyi/zhuyi.h"

typedef struct serve_server serve_server;
typedef struct serve_watch serve_watch;
typedef struct serve_job serve_job;

// ---- errors, as the OpenAI API shapes them ---------------------------------------------
// {"error": {"message": ..., "type": ..., "param": ..., "code": ...}} with `status`.
typedef struct serve_error {
    int status;           // HTTP status (400, 401, 404, 413, 500, 503, ...)
    const char *type;     // "invalid_request_error", "authentication_error", "server_error"
    const char *code;     // e.g. "model_not_found", "invalid_api_key" (NULL: null)
    char param[64];       // the request field at fault ("" : null)
    char message[1024];
} serve_error;

// Fill *e; returns -1 (a handler's failure) so that `return serve_fail(...)` reads well.
int serve_fail(serve_error *e, int status, const char *type, const char *code,
               const char *param, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
// 400 invalid_request_error naming param.
int serve_bad(serve_error *e, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// The error object as JSON into b.
void serve_error_json(zy_strbuf *b, const serve_error *e);

// ---- request fields (serve_req.c) ------------------------------------------------------
// Each reads body[name] if present (absent or null: *out unchanged, 0) and checks its
// type and range; -1 after serve_bad naming the field.
int serve_req_int(const cJSON *body, const char *name, long lo, long hi, int *out,
                  serve_error *e);
int serve_req_float(const cJSON *body, const char *name, double lo, double hi, float *out,
                    serve_error *e);
int serve_req_bool(const cJSON *body, const char *name, bool *out, serve_error *e);
int serve_req_u64(const cJSON *body, const char *name, uint64_t *out, bool *given,
                  serve_error *e);
// A string field (borrowed from body); required: absent is an error.
int serve_req_string(const cJSON *body, const char *name, bool required, const char **out,
                     serve_error *e);
// "input"-style fields: a string or an array of 1..max strings. *items (malloc'd array
// of borrowed pointers) and *n; *was_array tells which it was. -1 after serve_bad.
int serve_req_strings(const cJSON *body, const char *name, int max, const char ***items,
                      int *n, bool *was_array, serve_error *e);
// The parsed JSON object of a body, or NULL after serve_bad (not JSON, not an object).
cJSON *serve_req_parse(const char *body, size_t n, serve_error *e);

// ---- multipart/form-data uploads (serve_form.c) ---------------------------------------
// A form's parts, each whole: the field's name, the file name of an upload, its bytes.
typedef struct serve_part {
    char *name;                   // the form field ("file", "model")
    char *filename;               // an upload's file name; NULL for a plain field
    char *type;                   // the part's Content-Type, or NULL
    zy_strbuf data;               // the bytes (p NULL when empty)
} serve_part;

typedef struct serve_form {
    serve_part *parts;            // in the body's order
    int n, cap;
} serve_form;

// Is the request's Content-Type multipart/form-data?
struct MHD_Connection;
bool serve_form_is_multipart(struct MHD_Connection *con);
// The parts of body[0..n) (the whole request body; the connection gives the boundary),
// split by libmicrohttpd's post processor. 0, or -1 after serve_bad (malformed, cut short,
// no parts, too many) or a 500 for memory; free *f either way.
int serve_form_read(struct MHD_Connection *con, const char *body, size_t n, serve_form *f,
                    serve_error *e);
// The form's files are its uploads (parts with a file name) and every part named
// file_field (NULL: none), e.g. "file" given as `-F file=<bytes`. Its plain fields as the
// string fields of a new JSON object, for the endpoint to read as a JSON body's; a field
// given twice or not UTF-8 text is a 400 naming it (NULL after filling *e).
cJSON *serve_form_fields(const serve_form *f, const char *file_field, serve_error *e);
// The files of field file_field, in order: their count, the first max of them in out.
int serve_form_files(const serve_form *f, const char *file_field, const serve_part **out,
                     int max);
void serve_form_free(serve_form *f);

// ---- models ----------------------------------------------------------------------------
typedef struct serve_model {
    char *name;                   // the API's "model"
    char *dir;
    zy_model *m;
    zy_tokenizer *tok;
    const zy_model_info *info;
    const char *kind;             // "causal-lm", "masked-lm", "encoder", "classifier",
                                  // "tagger", "question-answering", "seq2seq",
                                  // "image-classifier", "speech-recognizer"
    // tok: NULL for a model that reads no text (an image classifier, a speech model)
    pthread_mutex_t tok_mu;       // encoding with tok (a BPE keeps a cache)
    // causal LMs: chat template (the directory's, else zhuyi-1) and generation slots
    const zy_chat_template *tpl;
    bool tpl_own;                 // the directory records tpl (else the default)
    int eot;                      // "<|endoftext|>" (or the template's end token), -1
    zy_session *gen_sess;
    zy_generator *gen;
    struct serve_choice **owner;  // (parallel) the choice decoding in each slot, or NULL
    atomic_int busy;              // slots owned (written by the engine, read by /metrics)
    uint64_t created;             // the directory's mtime, for /v1/models
    // speech models: the labels (vocab.json), a session and the log-mel plan, used on the
    // engine thread only
    zy_char_vocab *vocab;
    zy_session *asr_sess;
    zy_mel *mel;
} serve_model;

// ---- jobs ------------------------------------------------------------------------------
// A unit of work for the engine, shared by the connection that asked for it and the
// engine (reference counted). Its output is a body (one-shot, or a generation without
// streaming) or a stream of bytes (Server-Sent Events) the connection sends as they come.
typedef struct serve_call {
    serve_server *srv;
    serve_model *model;
    const cJSON *body;            // the request (owned by the job); a form's plain fields
    zy_strbuf *out;               // the 200 body
    serve_error *err;             // or the error
    const serve_form *form;       // the uploads of a multipart/form-data request, or NULL
    const char *content_type;     // set by run for a body that is not JSON (a static
                                  // string, e.g. "text/plain; charset=utf-8"), else NULL
} serve_call;

// An endpoint's work on the engine thread: 0 with the body in c->out, or -1 with c->err.
typedef int (*serve_run_fn)(serve_call *c);

typedef struct serve_gen_request serve_gen_request; // serve_gen.c

struct serve_job {
    serve_job *next;              // the engine's queue
    atomic_int refs;
    serve_server *srv;
    serve_model *model;
    cJSON *body;
    serve_form *form;             // a multipart request's parts (owned), or NULL
    serve_run_fn run;             // one-shot work, or NULL for a generation
    serve_gen_request *gen;       // a generation's choices and state (serve_gen.c)
    int fd;                       // the client's socket (to notice a hang-up), or -1
    // shared state, under mu
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started;                 // a generation is decoding (headers may go out)
    bool done;                    // nothing more will be written to out
    atomic_bool cancelled;        // the client went away: stop and free the slots
    bool stream;                  // out is an event stream, sent as it grows
    zy_strbuf out;                // the body or the stream's bytes
    size_t sent;                  // bytes of a stream handed to the connection
    const char *content_type;     // a one-shot body's type when not JSON (serve_call's)
    serve_error err;              // err.status != 0: the job failed before starting
};

serve_job *serve_job_new(serve_server *srv, serve_model *m, cJSON *body, serve_run_fn run);
void serve_job_release(serve_job *j);   // drop a reference (the last frees it)
// Under j->mu: the engine's output, and the end (wakes the connection).
void serve_job_append(serve_job *j, const void *p, size_t n);
void serve_job_finish(serve_job *j);
// Fail a job that has not started (its error answers the request).
void serve_job_fail(serve_job *j, const serve_error *e);

// ---- the engine (serve_engine.c) -------------------------------------------------------
// Queue a job: 0, or -1 with a 503 in *e when the queue is full or the server drains.
int serve_engine_submit(serve_server *srv, serve_job *j, serve_error *e);
int serve_engine_start(serve_server *srv);
// Finish every queued and running job, then end the thread.
void serve_engine_drain(serve_server *srv);

// ---- generation (serve_gen.c) ----------------------------------------------------------
// Parse and check a completions (chat false) or chat completions request for model m,
// encode its prompts (under m->tok_mu): the job's gen. -1 after filling *e.
int serve_gen_prepare(serve_job *j, bool chat, serve_error *e);
void serve_gen_free(serve_gen_request *g);
// Engine side: the next choice of the job waiting for a slot (NULL: none left).
struct serve_choice *serve_gen_next_waiting(serve_job *j);
// Start choice c in slot `slot` of its model's generator (prefill). -1 after failing the
// job (its error, or a chunk that says so when it was streaming already).
int serve_gen_start(struct serve_choice *c, int slot);
// After a generator step: choice c's slot has ended; write its end, free the slot, and
// finish the job when it was the last.
void serve_gen_choice_ended(struct serve_choice *c);
serve_job *serve_choice_job(const struct serve_choice *c);
// What a prepared request holds: its choices, its prompts, prompt i's ids (*n of them).
int serve_gen_choices(const serve_job *j);
int serve_gen_prompts(const serve_job *j);
const int32_t *serve_gen_prompt(const serve_job *j, int i, int *n);

// ---- metrics (serve_metrics.c) ---------------------------------------------------------
typedef struct serve_metrics {
    pthread_mutex_t mu;
    uint64_t requests[17][6];     // per route, per status class (2xx..5xx, other)
    uint64_t prompt_tokens, generated_tokens;
    uint64_t latency_buckets[12]; // per upper bound of serve_latency_bounds, cumulative
    double latency_sum;
    uint64_t latency_count;
} serve_metrics;

void serve_metrics_request(serve_metrics *m, int route, int status, double seconds);
void serve_metrics_tokens(serve_metrics *m, uint64_t prompt, uint64_t generated);
void serve_metrics_text(serve_server *srv, zy_strbuf *b);

// ---- the server ------------------------------------------------------------------------
struct serve_server {
    serve_model *models;
    int n_models;
    int parallel;                 // generation slots per causal LM
    int queue_max;                // jobs waiting beyond which 503
    size_t max_body;              // request bytes
    unsigned timeout;             // seconds a connection may idle
    const char *api_key;          // NULL: open
    bool cors;
    uint64_t seed;                // seeds of requests that give none: seed + request number
    atomic_uint_fast64_t n_requests;
    time_t started;
    // engine
    pthread_t engine;
    bool engine_running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    serve_job *head, *tail;       // queued jobs (FIFO), `queued` of them
    int queued;
    serve_job **active;           // generations that hold slots (n_active)
    int n_active, cap_active;
    bool draining, stop;
    serve_metrics metrics;
    atomic_int connections;       // open connections (the drain waits for them)
    unsigned connection_limit;
    // the request deadline (serve_http.c): each open connection, watched by a reaper
    pthread_mutex_t watch_mu;
    pthread_cond_t watch_cv;
    serve_watch *watch;
    pthread_t reaper;
    bool reaper_running, reaper_stop;
};

// ---- HTTP (serve_http.c) ---------------------------------------------------------------
struct MHD_Daemon;
struct sockaddr;
// libmicrohttpd on addr, a thread per connection, and the reaper of connections past the
// request deadline (--timeout); NULL if it cannot listen. serve_http_stop(srv, NULL) still
// ends the reaper.
struct MHD_Daemon *serve_http_start(serve_server *srv, const struct sockaddr *addr, bool ipv6);
void serve_http_stop(serve_server *srv, struct MHD_Daemon *d);
// The metrics' name of a route (serve_metrics.requests' first index).
const char *serve_route_name(int route);

// The model named name, or the only one when name is NULL and there is one; NULL after
// filling *e (404 model_not_found, or 400 when several are served and none is named).
serve_model *serve_find_model(serve_server *srv, const char *name, serve_error *e);

// ---- endpoints that run no generation (serve_api.c) -----------------------------------
int serve_api_models(serve_server *srv, zy_strbuf *out);
void serve_api_model(const serve_model *m, zy_strbuf *out); // one entry of the list
int serve_api_tokenize(serve_call *c);
int serve_api_detokenize(serve_call *c);

// A POST endpoint whose work is one engine job. An endpoint a model cannot serve answers
// 400 "model X is a KIND; PATH needs NEEDS".
typedef struct serve_route {
    const char *path;             // "/v1/embeddings"
    serve_run_fn run;             // on the engine thread
    const char *needs;            // what the model must be, for the message ("a BERT
                                  // with a masked-LM head")
    bool (*accepts)(const serve_model *m); // NULL: any model
    const char *file_field;       // takes multipart/form-data with uploads in this field
                                  // (for the model that run reads them from), or NULL
} serve_route;

// The encoder endpoints (serve_encode.c): embeddings, fill-mask, classify, tag, answer,
// translate, attention; serve_http.c routes them with its own (tokenize, detokenize).
extern const serve_route serve_encoder_routes[];
extern const int serve_n_encoder_routes;
// /v1/audio/transcriptions (serve_audio.c), in the encoder routes' table, and the speech
// model's state that load_model makes (0, or 1 printed) and free_models frees.
int serve_run_transcriptions(serve_call *c);
bool serve_accepts_speech(const serve_model *m);
int serve_speech_load(serve_model *m);
void serve_speech_free(serve_model *m);

// The page (serve_page.c).
extern const char serve_page_html[];
extern const unsigned serve_page_html_len;

#endif
