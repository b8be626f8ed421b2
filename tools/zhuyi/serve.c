// `zhuyi serve DIR... | --model NAME=DIR ...`: model directories behind an
// OpenAI-compatible HTTP API with a playground page (serve.h says which file does what).
// This file: the flags, loading the models (read-only, shared by every request), the
// engine and the HTTP daemon started, and the end: SIGTERM or SIGINT stops accepting,
// finishes every queued and running request, then exits 0.
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "infer.h"
#include "serve.h"

static const char usage_text[] =
    "usage: zhuyi serve DIR... [--model NAME=DIR]... [--host HOST] [--port PORT]\n"
    "                   [--parallel N] [--queue N] [--max-body BYTES] [--timeout S]\n"
    "                   [--connections N] [--api-key KEY] [--cors] [--seed S]\n"
    "                   [--weights TYPE] [--kv-cache TYPE] [--threads N]\n"
    "\n"
    "Serves model directories (or GGUF files) over HTTP with the OpenAI API, plus zhuyi's\n"
    "own endpoints, and a playground page at http://HOST:PORT/. Every request shares one\n"
    "copy of each model's weights. A causal LM decodes up to --parallel requests at once\n"
    "(their tokens stepped together: one pass over the weights per token for all of them);\n"
    "other requests wait in a queue of --queue, beyond which the answer is 503 with\n"
    "Retry-After. SIGTERM or Ctrl-C stops accepting, finishes what is queued and running,\n"
    "and exits.\n"
    "\n"
    "Endpoints (README: \"zhuyi serve\", with curl examples):\n"
    "  GET  /                       the playground page\n"
    "  GET  /health, /metrics       liveness; Prometheus counters\n"
    "  GET  /v1/models[/NAME]       the models and what each is\n"
    "  POST /v1/completions         causal LMs: prompt(s) -> text (stream: SSE)\n"
    "  POST /v1/chat/completions    causal LMs: messages through the chat template\n"
    "  POST /v1/embeddings          BERT or GPT: vectors as `zhuyi embed` makes them\n"
    "  POST /v1/classify            text classifiers: texts -> labels; image classifiers\n"
    "                               (ViT): images as base64 in JSON, or multipart uploads\n"
    "  POST /v1/audio/transcriptions  speech models: a WAV upload (multipart, OpenAI's\n"
    "                               shape) -> its text\n"
    "  POST /v1/fill-mask, /v1/tag, /v1/answer, /v1/translate, /v1/attention,\n"
    "       /v1/tokenize, /v1/detokenize\n"
    "\n"
    "  DIR                a model to serve, named after the directory (its last path\n"
    "                     part; a GGUF file without .gguf)\n"
    "  --model NAME=DIR   a model under the name NAME (the requests' \"model\")\n"
    "  --host HOST        the address to listen on (default 127.0.0.1: this machine only;\n"
    "                     0.0.0.0 or :: for every interface)\n"
    "  --port PORT        the TCP port (default 8080; 0: any free port, printed)\n"
    "  --parallel N       generations decoding at once per causal LM (default 4); each\n"
    "                     holds a KV cache of n_positions tokens\n"
    "  --queue N          requests waiting for the engine before 503 (default 64)\n"
    "  --max-body BYTES   largest request body (default 8388608); larger: 413\n"
    "  --timeout S        seconds a connection may stay idle or take to send a whole\n"
    "                     request (headers and body); answers are not timed (default\n"
    "                     60; 0: no limit)\n"
    "  --connections N    open connections at most (default 256)\n"
    "  --api-key KEY      require 'Authorization: Bearer KEY' (default: $ZHUYI_API_KEY if\n"
    "                     set, else none); GET / and /health stay open\n"
    "  --cors             allow pages from other origins (Access-Control-Allow-*)\n"
    "  --seed S           requests without a \"seed\" sample with seeds derived from S and\n"
    "                     their arrival number (default: from the clock)\n"
    "  --weights TYPE     the weights as f32, f16, bf16, q8_0 or q4_0 (converted at load)\n"
    "  --kv-cache TYPE    f32 (default), f16 or bf16 for the generation slots' KV caches\n"
    "  --threads N        kernel threads (default: $ZY_THREADS, else all cores)\n";

static const char *model_kind(const zy_model_info *info) {
    const char *a = info->architecture ? info->architecture : "";
    if (info->image_size > 0) return "image-classifier";
    if (info->audio_features > 0) return "speech-recognizer";
    if (info->causal_lm) return "causal-lm";
    if (info->encoder_decoder) return "seq2seq";
    if (strstr(a, "ForSequenceClassification")) return "classifier";
    if (strstr(a, "ForTokenClassification")) return "tagger";
    if (strstr(a, "ForQuestionAnswering")) return "question-answering";
    if (strstr(a, "ForMaskedLM") || strstr(a, "ForPreTraining")) return "masked-lm";
    return "encoder";
}

// NAME from DIR: its last path part, without ".gguf".
static char *name_of(const char *dir) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/') b--;
    size_t len = n - b;
    if (len > 5 && !strncmp(dir + n - 5, ".gguf", 5)) len -= 5;
    char *s = malloc(len + 1);
    if (s) memcpy(s, dir + b, len), s[len] = 0;
    return s;
}

static int load_model(serve_server *srv, serve_model *sm, int parallel) {
    pthread_mutex_init(&sm->tok_mu, NULL);
    fprintf(stderr, "zhuyi: serve: loading %s from %s\n", sm->name, sm->dir);
    if (zy_cli_open_model("serve", sm->dir, &sm->m, &sm->tok)) return 1;
    sm->info = zy_model_get_info(sm->m);
    sm->kind = model_kind(sm->info);
    sm->eot = -1;
    struct stat st;
    sm->created = stat(sm->dir, &st) ? (uint64_t)srv->started : (uint64_t)st.st_mtime;
    if (sm->info->audio_features > 0) return serve_speech_load(sm);
    if (!sm->info->causal_lm) return 0;
    if (zy_cli_chat_template("serve", sm->dir, &sm->tpl)) return 1;
    sm->tpl_own = sm->tpl != NULL;
    if (!sm->tpl) sm->tpl = zy_chat_template_default();
    sm->eot = zy_tokenizer_find(sm->tok, sm->tpl->end_token, strlen(sm->tpl->end_token));
    zy_session_params sp = zy_cli_decode_params();
    sp.n_seq = parallel;
    if (zy_session_create(&sm->gen_sess, sm->m, &sp) ||
        zy_generator_create(&sm->gen, sm->gen_sess, parallel))
        return zy_cli_die("serve: %s: %s", sm->name, zy_last_error());
    if (!(sm->owner = calloc((size_t)parallel, sizeof *sm->owner)))
        return zy_cli_die("serve: out of memory");
    return 0;
}

static void free_models(serve_server *srv) {
    for (int i = 0; i < srv->n_models; i++) {
        serve_model *m = &srv->models[i];
        zy_generator_free(m->gen);
        zy_session_free(m->gen_sess);
        serve_speech_free(m);
        free(m->owner);
        zy_model_free(m->m);
        zy_tokenizer_free(m->tok);
        if (m->info) pthread_mutex_destroy(&m->tok_mu);
        free(m->name);
    }
    free(srv->models);
    free(srv->active);
}

// HOST:PORT as a socket address. 0, or 1 printed.
static int resolve(const char *host, int port, struct sockaddr_storage *out, bool *ipv6) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | AI_PASSIVE}, *res = NULL;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc || !res)
        return zy_cli_die("serve: --host '%s': %s", host, rc ? gai_strerror(rc) : "no address");
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *ipv6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

static int parse_size(const char *v, size_t lo, size_t hi, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-' || x < lo || x > hi) return -1;
    *out = (size_t)x;
    return 0;
}

int zy_cli_serve(int argc, char **argv) {
    serve_server srv = {.parallel = 4, .queue_max = 64, .max_body = 8u << 20, .timeout = 60,
                        .connection_limit = 256, .cors = false};
    srv.started = time(NULL);
    srv.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    const char *host = "127.0.0.1";
    int port = 8080, n;
    size_t sz = 0;
    const char **dirs = calloc((size_t)argc, sizeof *dirs), **names = calloc((size_t)argc, sizeof *names);
    int n_dirs = 0;
    if (!dirs || !names) return free(dirs), free(names), zy_cli_die("serve: out of memory");
    int rc = 0;
    srv.api_key = getenv("ZHUYI_API_KEY");
    if (srv.api_key && !*srv.api_key) srv.api_key = NULL;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            free(dirs), free(names);
            return 0;
        } else if (!strcmp(a, "--cors")) {
            srv.cors = true;
        } else if (!v && a[0] == '-' && a[1]) {
            rc = zy_cli_die("serve: unknown or incomplete option '%s' (see zhuyi serve --help)", a);
        } else if (!strcmp(a, "--host")) {
            host = v, i++;
        } else if (!strcmp(a, "--port")) {
            if (zy_cli_parse_int(v, 0, 65535, &port))
                rc = zy_cli_die("serve: --port '%s' is not a port from 0 to 65535", v);
            i++;
        } else if (!strcmp(a, "--parallel")) {
            if (zy_cli_parse_int(v, 1, 256, &srv.parallel))
                rc = zy_cli_die("serve: --parallel '%s' is not a number from 1 to 256", v);
            i++;
        } else if (!strcmp(a, "--queue")) {
            if (zy_cli_parse_int(v, 0, 1 << 20, &srv.queue_max))
                rc = zy_cli_die("serve: --queue '%s' is not a number from 0 to 1048576", v);
            i++;
        } else if (!strcmp(a, "--connections")) {
            if (zy_cli_parse_int(v, 1, 1 << 16, &n))
                rc = zy_cli_die("serve: --connections '%s' is not a number from 1 to 65536", v);
            srv.connection_limit = (unsigned)n;
            i++;
        } else if (!strcmp(a, "--max-body")) {
            if (parse_size(v, 1, (size_t)1 << 32, &sz))
                rc = zy_cli_die("serve: --max-body '%s' is not a byte count from 1 to 2^32", v);
            srv.max_body = sz;
            i++;
        } else if (!strcmp(a, "--timeout")) {
            if (zy_cli_parse_int(v, 0, 1 << 30, &n))
                rc = zy_cli_die("serve: --timeout '%s' is not a number of seconds >= 0", v);
            srv.timeout = (unsigned)n;
            i++;
        } else if (!strcmp(a, "--api-key")) {
            if (!*v) rc = zy_cli_die("serve: --api-key is empty");
            srv.api_key = v, i++;
        } else if (!strcmp(a, "--seed")) {
            unsigned long long s;
            char *end;
            errno = 0;
            s = strtoull(v, &end, 10);
            if (!*v || *end || errno || v[0] == '-')
                rc = zy_cli_die("serve: --seed '%s' is not a number >= 0", v);
            srv.seed = s;
            i++;
        } else if (!strcmp(a, "--threads")) {
            rc = zy_cli_threads("serve", v), i++;
        } else if (!strcmp(a, "--weights")) {
            rc = zy_cli_weights("serve", v), i++;
        } else if (!strcmp(a, "--kv-cache")) {
            rc = zy_cli_kv_cache("serve", v), i++;
        } else if (!strcmp(a, "--model")) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1])
                rc = zy_cli_die("serve: --model '%s' is not NAME=DIR", v);
            names[n_dirs] = v;
            dirs[n_dirs++] = eq ? eq + 1 : v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            rc = zy_cli_die("serve: unknown or incomplete option '%s' (see zhuyi serve --help)", a);
        } else {
            dirs[n_dirs++] = a;
        }
    }
    if (!rc && !n_dirs) {
        free(dirs), free(names);
        return fputs(usage_text, stderr), 2;
    }
    srv.models = rc ? NULL : calloc((size_t)n_dirs, sizeof *srv.models);
    if (!rc && !srv.models) rc = zy_cli_die("serve: out of memory");
    for (int i = 0; i < n_dirs && !rc; i++) {
        serve_model *m = &srv.models[i];
        m->dir = (char *)dirs[i];
        m->name = names[i] ? strndup(names[i], (size_t)(strchr(names[i], '=') - names[i]))
                           : name_of(dirs[i]);
        if (!m->name) rc = zy_cli_die("serve: out of memory");
        for (int k = 0; k < i && !rc; k++)
            if (!strcmp(srv.models[k].name, m->name))
                rc = zy_cli_die("serve: two models are named '%s' (%s and %s): name them with "
                                "--model NAME=DIR", m->name, srv.models[k].dir, m->dir);
        srv.n_models = i + 1;
        if (!rc) rc = load_model(&srv, m, srv.parallel);
    }
    // Signals are taken by sigwait below, not by whichever thread they land on.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&srv.mu, NULL);
    pthread_cond_init(&srv.cv, NULL);
    pthread_mutex_init(&srv.metrics.mu, NULL);
    pthread_mutex_init(&srv.watch_mu, NULL);
    pthread_cond_init(&srv.watch_cv, NULL);
    struct MHD_Daemon *d = NULL;
    struct sockaddr_storage addr;
    bool ipv6 = false;
    if (!rc) rc = resolve(host, port, &addr, &ipv6);
    if (!rc && serve_engine_start(&srv)) rc = zy_cli_die("serve: cannot start the engine thread");
    if (!rc && !(d = serve_http_start(&srv, (const struct sockaddr *)&addr, ipv6)))
        rc = zy_cli_die("serve: cannot listen on %s port %d: %s", host, port,
                        errno ? strerror(errno) : "libmicrohttpd refused");
    if (!rc) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        int bound = di ? (int)di->port : port;
        fprintf(stderr, "zhuyi: serve: %d model%s (", srv.n_models, srv.n_models > 1 ? "s" : "");
        for (int i = 0; i < srv.n_models; i++)
            fprintf(stderr, "%s%s: %s", i ? ", " : "", srv.models[i].name, srv.models[i].kind);
        fprintf(stderr, "), %d parallel, %s matmuls, listening on http://%s%s%s:%d/\n",
                srv.parallel, zy_gemm_precision() == ZY_PRECISION_BF16 ? "bf16" : "fp32",
                ipv6 ? "[" : "", host, ipv6 ? "]" : "", bound);
        int sig = 0;
        sigwait(&sigs, &sig);
        fprintf(stderr, "zhuyi: serve: %s: finishing the requests in flight\n",
                sig == SIGINT ? "interrupted" : "terminated");
        MHD_quiesce_daemon(d); // no new connections
        serve_engine_drain(&srv); // every queued and running job finishes
        // the last bytes of streams go out before the connections are closed
        for (int k = 0; k < 300 && atomic_load(&srv.connections) > 0; k++)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    serve_http_stop(&srv, d);
    serve_engine_drain(&srv);
    free_models(&srv);
    pthread_mutex_destroy(&srv.mu);
    pthread_cond_destroy(&srv.cv);
    pthread_mutex_destroy(&srv.metrics.mu);
    pthread_mutex_destroy(&srv.watch_mu);
    pthread_cond_destroy(&srv.watch_cv);
    free(dirs);
    free(names);
    if (!rc) fprintf(stderr, "zhuyi: serve: stopped\n");
    return rc;
}
