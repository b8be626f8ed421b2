// The engine of `zhuyi serve` (serve.h): the one thread that runs models. Connections
// queue jobs (bounded: beyond --queue, 503); the engine takes one-shot jobs one at a time
// and gives each generation's choices free slots of its model's generator; between
// one-shot jobs it steps every generator once, so all running generations of a model
// advance together (one pass over the weights per token for all of them). A job whose
// client went away is cancelled here: its slots are freed at the next step.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "serve.h"

serve_job *serve_job_new(serve_server *srv, serve_model *m, cJSON *body, serve_run_fn run) {
    serve_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    atomic_init(&j->refs, 1);
    atomic_init(&j->cancelled, false);
    j->srv = srv;
    j->model = m;
    j->body = body;
    j->run = run;
    j->fd = -1;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    return j;
}

void serve_job_release(serve_job *j) {
    if (!j || atomic_fetch_sub(&j->refs, 1) != 1) return;
    cJSON_Delete(j->body);
    serve_form_free(j->form);
    free(j->form);
    serve_gen_free(j->gen);
    zy_strbuf_free(&j->out);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

void serve_job_append(serve_job *j, const void *p, size_t n) {
    pthread_mutex_lock(&j->mu);
    if (!j->done) zy_strbuf_put(&j->out, p, n);
    if (j->out.oom) atomic_store(&j->cancelled, true);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

void serve_job_finish(serve_job *j) {
    pthread_mutex_lock(&j->mu);
    j->done = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

void serve_job_fail(serve_job *j, const serve_error *e) {
    pthread_mutex_lock(&j->mu);
    if (!j->done) {
        j->err = *e;
        j->done = true;
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

int serve_engine_submit(serve_server *srv, serve_job *j, serve_error *e) {
    pthread_mutex_lock(&srv->mu);
    int rc = 0;
    if (srv->draining) {
        rc = serve_fail(e, 503, "server_error", "shutting_down", NULL,
                        "the server is shutting down");
    } else if (srv->queued >= srv->queue_max) {
        rc = serve_fail(e, 503, "server_error", "queue_full", NULL, "the server is busy: %d "
                        "requests are waiting (--queue %d); retry later", srv->queued,
                        srv->queue_max);
    } else {
        atomic_fetch_add(&j->refs, 1); // the engine's reference
        j->next = NULL;
        if (srv->tail) srv->tail->next = j;
        else srv->head = j;
        srv->tail = j;
        srv->queued++;
        pthread_cond_signal(&srv->cv);
    }
    pthread_mutex_unlock(&srv->mu);
    return rc;
}

static bool has_free_slot(const serve_model *m) {
    return m->gen && m->busy < zy_generator_slots(m->gen);
}

// Under srv->mu: unlink the queued job at *p.
static serve_job *unqueue(serve_server *srv, serve_job **p, serve_job *prev) {
    serve_job *j = *p;
    *p = j->next;
    if (srv->tail == j) srv->tail = prev;
    srv->queued--;
    j->next = NULL;
    return j;
}

static int add_active(serve_server *srv, serve_job *j) {
    if (srv->n_active == srv->cap_active) {
        int cap = srv->cap_active ? 2 * srv->cap_active : 16;
        serve_job **a = realloc(srv->active, (size_t)cap * sizeof *a);
        if (!a) return -1;
        srv->active = a;
        srv->cap_active = cap;
    }
    srv->active[srv->n_active++] = j;
    return 0;
}

static void run_one_shot(serve_server *srv, serve_job *j) {
    zy_strbuf out = {0};
    serve_error e = {0};
    serve_call c = {srv, j->model, j->body, &out, &e, j->form, NULL};
    int rc = atomic_load(&j->cancelled) ? -1 : j->run(&c);
    if (!rc && out.oom) rc = serve_fail(&e, 500, "server_error", NULL, NULL, "out of memory");
    if (rc) {
        if (!e.status) serve_fail(&e, 500, "server_error", NULL, NULL, "the request failed");
        serve_job_fail(j, &e);
    } else {
        pthread_mutex_lock(&j->mu);
        j->content_type = c.content_type;
        pthread_mutex_unlock(&j->mu);
        serve_job_append(j, out.p, out.n);
        serve_job_finish(j);
    }
    zy_strbuf_free(&out);
}

// Give waiting choices of the active jobs free slots (in arrival order), prefilling each.
static void start_choices(serve_server *srv) {
    for (int a = 0; a < srv->n_active; a++) {
        serve_job *j = srv->active[a];
        serve_model *m = j->model;
        struct serve_choice *c;
        while (!j->done && !atomic_load(&j->cancelled) && has_free_slot(m) &&
               (c = serve_gen_next_waiting(j))) {
            int slot = 0;
            while (m->owner[slot]) slot++;
            serve_gen_start(c, slot);
        }
    }
}

// One token for every running slot of every model; ended slots finish their choices.
static void step_models(serve_server *srv) {
    for (int i = 0; i < srv->n_models; i++) {
        serve_model *m = &srv->models[i];
        if (!m->gen || !m->busy) continue;
        int n = zy_generator_slots(m->gen);
        for (int s = 0; s < n; s++) // clients gone: their slots end now
            if (m->owner[s] && atomic_load(&serve_choice_job(m->owner[s])->cancelled))
                zy_generator_cancel(m->gen, s);
        int running;
        if (zy_generator_step(m->gen, &running))
            fprintf(stderr, "zhuyi: serve: model %s: %s\n", m->name, zy_last_error());
        for (int s = 0; s < n; s++)
            if (m->owner[s] && zy_generator_end(m->gen, s) != ZY_GENERATE_RUNNING)
                serve_gen_choice_ended(m->owner[s]);
    }
}

// Drop the active jobs that are over (every choice ended, or failed).
static void retire(serve_server *srv) {
    int k = 0;
    for (int a = 0; a < srv->n_active; a++) {
        serve_job *j = srv->active[a];
        pthread_mutex_lock(&j->mu);
        bool over = j->done;
        pthread_mutex_unlock(&j->mu);
        bool holding = false;
        serve_model *m = j->model;
        for (int s = 0; m->gen && s < zy_generator_slots(m->gen); s++)
            holding |= m->owner[s] && serve_choice_job(m->owner[s]) == j;
        if (over && !holding) serve_job_release(j);
        else if (over || !atomic_load(&j->cancelled) || holding) srv->active[k++] = j;
        else { // cancelled before any choice started
            serve_job_finish(j);
            serve_job_release(j);
        }
    }
    srv->n_active = k;
}

static void *engine_main(void *arg) {
    serve_server *srv = arg;
    zy_cli_use_precision(); // the models run here: the command's matmul precision
    pthread_mutex_lock(&srv->mu);
    for (;;) {
        while (!srv->head && !srv->n_active && !srv->stop) pthread_cond_wait(&srv->cv, &srv->mu);
        if (srv->stop && !srv->head && !srv->n_active) break;
        serve_job *one = NULL, *prev = NULL;
        for (serve_job **p = &srv->head; *p;) {
            serve_job *j = *p;
            if (atomic_load(&j->cancelled)) { // the client left while it waited
                unqueue(srv, p, prev);
                serve_job_finish(j);
                serve_job_release(j);
            } else if (j->run && !one) {
                one = unqueue(srv, p, prev);
            } else if (!j->run && has_free_slot(j->model) && !add_active(srv, j)) {
                unqueue(srv, p, prev);
                // its choices take the slots that are free now; the next job of the same
                // model waits for what is left
                break;
            } else {
                prev = j;
                p = &j->next;
            }
        }
        pthread_mutex_unlock(&srv->mu);
        if (one) {
            run_one_shot(srv, one);
            serve_job_release(one);
        }
        start_choices(srv);
        step_models(srv);
        retire(srv);
        pthread_mutex_lock(&srv->mu);
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

int serve_engine_start(serve_server *srv) {
    if (pthread_create(&srv->engine, NULL, engine_main, srv)) return -1;
    srv->engine_running = true;
    return 0;
}

void serve_engine_drain(serve_server *srv) {
    pthread_mutex_lock(&srv->mu);
    srv->draining = true;
    srv->stop = true;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    if (srv->engine_running) pthread_join(srv->engine, NULL);
    srv->engine_running = false;
}
