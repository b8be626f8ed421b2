// Transformer block benchmark: a stack of 12 GPT-2-shaped blocks (pre-LN decoder without
// cross-attention, causal, GELU-tanh, C=768, H=12, FF=3072) on zy_block_* against the GPT
// model (a gpt2-124m-shaped zy_model with vocab_size 64, so its LM head is negligible,
// through a session: what GPT adds around the same blocks; both in the same binary and
// run). The comparison with the GPT code before it moved onto these blocks is the
// baseline run of scripts/bench.sh.
//   train:  forward + backward at B=4 T=64, B=1 T=256, B=1 T=1024, dropout 0 and 0.1
//           (blocks: attention weights, attention output and FF output at p, FF hidden 0,
//           as GPT-2). The two alternate rep by rep, so load on a shared machine hits both.
//   decode: one token at a time through 12 decoder blocks with a KV cache
//           (zy_block_decode_step) against the model's decode, at cache lengths 64, 512 and
//           960; and 4 sequences stepping together against 4 single steps.
// Each comparison runs in two rounds with the allocation order of the two models swapped
// (on the shared VM the first 340 MB parameter array allocated runs a few percent slower).
// Times: median and min over both rounds' reps, each round after a warm-up.
// Usage: bench_block [reps] [train|train:B:T|decode|all]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhuyi/zhuyi.h"

enum { L = 12, C = 768, H = 12, FF = 3072, V = 64, MAX_REPS = 64 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
// Process CPU time: with ZY_THREADS=1 the work itself, whatever else the machine runs
// (with more threads it also counts idle workers spinning).
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double median(double *x, int n) {
    qsort(x, n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}
static void check(zy_status s, const char *what) {
    if (s == ZY_STATUS_OK) return;
    fprintf(stderr, "bench_block: %s: %s\n", what, zy_last_error());
    exit(1);
}
static float *floats(size_t n) {
    float *p = zy_calloc(n, sizeof(float));
    if (!p) {
        fprintf(stderr, "bench_block: out of memory (%zu floats)\n", n);
        exit(1);
    }
    return p;
}

// ---- the block stack ----------------------------------------------------------------------
typedef struct stack {
    zy_block_config c;
    float *params, *grads, *res, *acts, *scratch, *dres;
    size_t np, nacts, nscratch;
    zy_block_params p[L], g[L];
} stack;

static zy_block_config gpt_block_config(int B, int T, float p) {
    zy_block_config c = zy_block_default_config(ZY_BLOCK_DECODER, B, T, C, H, FF);
    c.norm_first = true;
    c.act = ZY_BLOCK_GELU_TANH;
    // GPT-2: no FF-hidden dropout
    c.dropout = (zy_block_dropout){.attn = p, .attn_out = p, .ff_out = p};
    c.seed = 1234;
    return c;
}

static void stack_init(stack *s, int B, int T, float p) {
    memset(s, 0, sizeof *s);
    s->c = gpt_block_config(B, T, p);
    s->np = zy_block_param_count(&s->c);
    s->params = floats(s->np * L);
    s->grads = floats(s->np * L);
    zy_rng r;
    zy_rng_seed(&r, 7);
    zy_rng_fill_normal(&r, s->params, s->np * L, 0.0f, 0.02f);
    for (int l = 0; l < L; l++) {
        zy_block_params_init(&s->p[l], s->params + l * s->np, &s->c);
        zy_block_params_init(&s->g[l], s->grads + l * s->np, &s->c);
        for (int i = 0; i < C; i++) s->p[l].ln1w[i] = s->p[l].ln2w[i] = 1.0f;
    }
    size_t n = (size_t)B * T * C;
    s->res = floats((L + 1) * n);
    zy_rng_fill_normal(&r, s->res, n, 0.0f, 1.0f);
    s->dres = floats(n);
    s->nacts = zy_block_acts_floats(&s->c);
    s->acts = floats(s->nacts * L);
    s->nscratch = zy_block_scratch_floats(&s->c);
    s->scratch = floats(s->nscratch);
}

static void stack_free(stack *s) {
    zy_free(s->params), zy_free(s->grads), zy_free(s->res), zy_free(s->dres);
    zy_free(s->acts), zy_free(s->scratch);
}

static void stack_step(stack *s, double *tf, double *tb) {
    size_t n = (size_t)s->c.B * s->c.T * C;
    double t0 = now();
    for (int l = 0; l < L; l++)
        check(zy_block_forward(s->res + (l + 1) * n, s->acts + l * s->nacts, s->scratch,
                               s->nscratch, s->res + l * n, NULL, &s->p[l], &s->c),
              "block forward");
    double t1 = now();
    for (size_t i = 0; i < n; i++) s->dres[i] = 1e-3f * (float)(i % 7); // dy of the top
    for (int l = L - 1; l >= 0; l--)
        check(zy_block_backward(s->dres, NULL, &s->g[l], s->scratch, s->nscratch, s->dres,
                                s->acts + l * s->nacts, s->res + l * n, NULL, &s->p[l], &s->c),
              "block backward");
    *tf = t1 - t0;
    *tb = now() - t1;
}

// ---- the GPT model (the same blocks behind the model interface) ----------------------------
typedef struct gpt {
    zy_model *m;
    zy_session *s;
} gpt;

static gpt *gpt_new(float dropout) {
    zy_config *c;
    check(zy_model_preset(&c, "gpt2-124m"), "preset");
    check(zy_config_set_int(c, "vocab_size", V), "config");
    const char *drops[] = {"resid_pdrop", "embd_pdrop", "attn_pdrop"};
    for (int i = 0; i < 3; i++) check(zy_config_set_float(c, drops[i], dropout), "config");
    gpt *g = calloc(1, sizeof *g);
    if (!g) check(ZY_STATUS_OUT_OF_MEMORY, "gpt");
    check(zy_model_create(&g->m, c), "gpt create");
    zy_config_free(c);
    zy_model_init_weights(g->m, 7);
    check(zy_session_create(&g->s, g->m, NULL), "gpt session");
    return g;
}

// A training session for B x T (replacing the decoding one).
static void gpt_prepare(gpt *g, int B, int T) {
    zy_session_free(g->s);
    zy_session_params sp = zy_session_default_params();
    sp.batch = B, sp.seq = T, sp.training = true;
    check(zy_session_create(&g->s, g->m, &sp), "gpt session");
}

static void gpt_free(gpt *g) {
    zy_session_free(g->s);
    zy_model_free(g->m);
    free(g);
}

static void gpt_step(gpt *g, int *x, int *y, int B, int T, double *tf, double *tb) {
    float loss;
    zy_batch b = {.B = B, .T = T, .input_ids = x, .targets = y};
    double t0 = now();
    check(zy_session_forward(g->s, &b, &loss, NULL), "gpt forward");
    double t1 = now();
    check(zy_session_backward(g->s, 1.0f), "gpt backward");
    *tf = t1 - t0;
    *tb = now() - t1;
}

static void gpt_decode(gpt *g, const int *tok, int n, float *logits) {
    int seq = 0;
    check(zy_session_decode(g->s, 1, &seq, tok, n, logits), "gpt decode");
}

// One round: both built (in the given order), then reps alternating steps.
static void train_round(int B, int T, float p, int reps, int gpt_first, double *gt, double *bt,
                        double *gf, double *bf, double *gc, double *bc) {
    stack s;
    gpt *m = NULL;
    if (gpt_first) m = gpt_new(p);
    stack_init(&s, B, T, p);
    if (!gpt_first) m = gpt_new(p);
    gpt_prepare(m, B, T);
    zy_session_set_mode(m->s, p > 0, 99);
    int *x = malloc(sizeof(int) * B * T), *y = malloc(sizeof(int) * B * T);
    for (int i = 0; i < B * T; i++) x[i] = i % V, y[i] = (i * 7 + 3) % V;
    for (int r = -1; r < reps; r++) { // r = -1: warm-up
        double f, b, c0 = cpu_now();
        gpt_step(m, x, y, B, T, &f, &b);
        double c1 = cpu_now();
        if (r >= 0) gf[r] = f, gt[r] = f + b, gc[r] = c1 - c0;
        stack_step(&s, &f, &b);
        if (r >= 0) bf[r] = f, bt[r] = f + b, bc[r] = cpu_now() - c1;
    }
    free(x), free(y);
    gpt_free(m);
    stack_free(&s);
}

static double min_of(const double *x, int n) {
    double m = x[0];
    for (int i = 1; i < n; i++) m = x[i] < m ? x[i] : m;
    return m;
}

// Two rounds with the order of allocation swapped: on this VM whichever 340 MB parameter
// array is allocated first runs a few percent slower, so each side is first once.
static void train(int B, int T, float p, int reps) {
    double gf[2 * MAX_REPS], gt[2 * MAX_REPS], bf[2 * MAX_REPS], bt[2 * MAX_REPS];
    double gc[2 * MAX_REPS], bc[2 * MAX_REPS];
    train_round(B, T, p, reps, 1, gt, bt, gf, bf, gc, bc);
    train_round(B, T, p, reps, 0, gt + reps, bt + reps, gf + reps, bf + reps, gc + reps,
                bc + reps);
    int n = 2 * reps;
    double gmin = min_of(gt, n), bmin = min_of(bt, n);
    double gmed = median(gt, n), bmed = median(bt, n);
    double gcpu = median(gc, n), bcpu = median(bc, n);
    printf("B=%d T=%-4d p=%.1f | gpt fwd %7.1f total %7.1f (min %7.1f, cpu %7.1f) | blocks fwd "
           "%7.1f total %7.1f (min %7.1f, cpu %7.1f) | blocks/gpt %.3f (min %.3f, cpu %.3f)\n",
           B, T, p, 1e3 * median(gf, n), 1e3 * gmed, 1e3 * gmin, 1e3 * gcpu,
           1e3 * median(bf, n), 1e3 * bmed, 1e3 * bmin, 1e3 * bcpu, bmed / gmed, bmin / gmin,
           bcpu / gcpu);
    fflush(stdout);
}

// ---- decoding ------------------------------------------------------------------------------
enum { PREFILL_CHUNK = 64, MAXT = 1024, NSEQ = 4 };

typedef struct dstack {
    stack s; // parameters (B, T unused)
    zy_kv_cache *cache;
    float *scratch, *x;
    size_t nscratch;
} dstack;

static void dstack_init(dstack *d) {
    stack_init(&d->s, 1, 1, 0.0f);
    check(zy_kv_cache_create(&d->cache, L, NSEQ, H, MAXT, C / H), "cache");
    d->nscratch = zy_block_decode_scratch_floats(&d->s.c, d->cache, NULL, PREFILL_CHUNK);
    d->scratch = floats(d->nscratch);
    d->x = floats((size_t)PREFILL_CHUNK * C);
}

static void dstack_free(dstack *d) {
    zy_kv_cache_free(d->cache);
    zy_free(d->scratch), zy_free(d->x);
    stack_free(&d->s);
}

// n positions of sequence seq (n <= PREFILL_CHUNK) through the 12 blocks
static void dstack_chunk(dstack *d, int seq, int n) {
    for (size_t i = 0; i < (size_t)n * C; i++) d->x[i] = 0.01f * (float)((i * 13) % 17) - 0.08f;
    for (int l = 0; l < L; l++)
        check(zy_block_decode(d->x, d->scratch, d->nscratch, d->x, n, seq, l, d->cache, NULL,
                              &d->s.p[l], &d->s.c),
              "block decode");
    check(zy_kv_cache_advance(d->cache, seq, n), "advance");
}

// one position of each of seqs[0..n) through the 12 blocks
static void dstack_step(dstack *d, const int *seqs, int n) {
    for (size_t i = 0; i < (size_t)n * C; i++) d->x[i] = 0.01f * (float)((i * 7) % 19) - 0.09f;
    for (int l = 0; l < L; l++)
        check(zy_block_decode_step(d->x, d->scratch, d->nscratch, d->x, seqs, n, l, d->cache,
                                   NULL, &d->s.p[l], &d->s.c),
              "block decode step");
    for (int i = 0; i < n; i++) check(zy_kv_cache_advance(d->cache, seqs[i], 1), "advance");
}

static void dstack_prefill(dstack *d, int seq, int P) {
    check(zy_kv_cache_reset_seq(d->cache, seq), "reset");
    for (int t = 0; t < P; t += PREFILL_CHUNK)
        dstack_chunk(d, seq, P - t < PREFILL_CHUNK ? P - t : PREFILL_CHUNK);
}

static void gpt_prefill(gpt *m, int *tok, float *logits, int P) {
    zy_session_seq_reset(m->s, 0);
    for (int i = 0; i < P; i++) tok[i] = (i * 5 + 1) % V;
    gpt_decode(m, tok, P, logits);
}

// ms per token at cache lengths ~P, groups of 8 tokens alternating between the two (each
// streams its own 340 MB of weights), in two rounds with the allocation order swapped (see
// train); then four sequences stepping together vs one after another.
static void decode_round(int reps, int gpt_first, double tg[3][2 * 64], double tb[3][2 * 64],
                         double cg[3][2 * 64], double cb[3][2 * 64], int K, int off) {
    dstack d;
    gpt *m = NULL;
    if (gpt_first) m = gpt_new(0.0f);
    dstack_init(&d);
    if (!gpt_first) m = gpt_new(0.0f);
    int *tok = malloc(sizeof(int) * MAXT);
    float logits[V];
    const int Ps[3] = {64, 512, 960}, seq0[1] = {0};
    (void)reps;
    for (int pi = 0; pi < 3; pi++) {
        int P = Ps[pi];
        gpt_prefill(m, tok, logits, P);
        dstack_prefill(&d, 0, P);
        for (int k = -8; k < K; k += 8) { // k < 0: warm-up group
            for (int i = 0; i < 8; i++) {
                int t = (P + k + i + 8) % V;
                double t0 = now(), c0 = cpu_now();
                gpt_decode(m, &t, 1, logits);
                if (k >= 0 && k + i < K)
                    tg[pi][off + k + i] = now() - t0, cg[pi][off + k + i] = cpu_now() - c0;
            }
            for (int i = 0; i < 8; i++) {
                double t0 = now(), c0 = cpu_now();
                dstack_step(&d, seq0, 1);
                if (k >= 0 && k + i < K)
                    tb[pi][off + k + i] = now() - t0, cb[pi][off + k + i] = cpu_now() - c0;
            }
        }
    }
    free(tok);
    gpt_free(m);
    dstack_free(&d);
}

static void decode(int reps) {
    const int K = reps * 8 < 64 ? reps * 8 : 64, Ps[3] = {64, 512, 960};
    static double tg[3][2 * 64], tb[3][2 * 64], cg[3][2 * 64], cb[3][2 * 64];
    decode_round(reps, 1, tg, tb, cg, cb, K, 0);
    decode_round(reps, 0, tg, tb, cg, cb, K, K);
    for (int pi = 0; pi < 3; pi++) {
        double g = median(tg[pi], 2 * K), b = median(tb[pi], 2 * K);
        double gc = median(cg[pi], 2 * K), bc = median(cb[pi], 2 * K);
        printf("decode 1 seq,  cache ~%4d | gpt %7.2f ms/token (%6.1f tok/s, cpu %6.2f) | "
               "blocks %7.2f ms/token (%6.1f tok/s, cpu %6.2f) | blocks/gpt %.3f (cpu %.3f)\n",
               Ps[pi], 1e3 * g, 1 / g, 1e3 * gc, 1e3 * b, 1 / b, 1e3 * bc, b / g, bc / gc);
    }
    fflush(stdout);
    // four sequences: stepping together vs one after another (the same tokens)
    dstack d;
    dstack_init(&d);
    const int all[NSEQ] = {0, 1, 2, 3};
    for (int s = 0; s < NSEQ; s++) dstack_prefill(&d, s, 256);
    double tt[64], ts[64];
    for (int k = -1; k < K; k++) {
        double t0 = now();
        dstack_step(&d, all, NSEQ);
        double t1 = now();
        for (int s = 0; s < NSEQ; s++) dstack_step(&d, all + s, 1);
        double t2 = now();
        if (k >= 0) tt[k] = t1 - t0, ts[k] = t2 - t1;
    }
    double a = median(tt, K), b = median(ts, K);
    printf("decode %d seqs, cache ~256 | together %7.2f ms/step (%6.1f tok/s) | one by one "
           "%7.2f ms (%6.1f tok/s) | together/one-by-one %.3f\n",
           NSEQ, 1e3 * a, NSEQ / a, 1e3 * b, NSEQ / b, a / b);
    dstack_free(&d);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    const char *what = argc > 2 ? argv[2] : "all";
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    printf("12 GPT-2-shaped blocks vs the GPT model on them (gpt2-124m, V=%d), %d threads, simd %s, "
           "ms (median of %d)\n",
           V, zy_threads_get(), zy_simd_name(zy_simd_level()), reps);
    if (!strcmp(what, "train") || !strcmp(what, "all")) {
        const int shapes[3][2] = {{4, 64}, {1, 256}, {1, 1024}};
        for (int i = 0; i < 3; i++)
            for (int d = 0; d < 2; d++) train(shapes[i][0], shapes[i][1], d ? 0.1f : 0.0f, reps);
    }
    int tb, tt; // train:B:T, one shape (dropout 0 and 0.1)
    if (sscanf(what, "train:%d:%d", &tb, &tt) == 2 && tb > 0 && tt > 0 && tt <= 1024)
        for (int d = 0; d < 2; d++) train(tb, tt, d ? 0.1f : 0.0f, reps);
    if (!strcmp(what, "decode") || !strcmp(what, "all")) decode(reps);
    // profile-decode-gpt / profile-decode-blocks P: 64 tokens after a prompt of P
    if (!strncmp(what, "profile-decode-", 15) && argc > 3) {
        int P = atoi(argv[3]);
        float logits[V];
        double t0 = now();
        if (!strcmp(what, "profile-decode-gpt")) {
            gpt *m = gpt_new(0.0f);
            int *tok = malloc(sizeof(int) * MAXT);
            gpt_prefill(m, tok, logits, P);
            t0 = now();
            for (int k = 0; k < 64; k++) gpt_decode(m, tok + k, 1, logits);
            free(tok);
            gpt_free(m);
        } else {
            dstack d;
            dstack_init(&d);
            const int seq0[1] = {0};
            dstack_prefill(&d, 0, P);
            t0 = now();
            for (int k = 0; k < 64; k++) dstack_step(&d, seq0, 1);
            dstack_free(&d);
        }
        printf("%s: %.2f ms/token\n", what, (now() - t0) / 64 * 1e3);
    }
    // profile-gpt / profile-blocks B T [p]: one side only, for a profiler
    if (!strncmp(what, "profile-", 8) && argc > 4) {
        int B = atoi(argv[3]), T = atoi(argv[4]);
        float p = argc > 5 ? (float)atof(argv[5]) : 0.0f;
        double f, b;
        if (!strcmp(what, "profile-gpt")) {
            gpt *m = gpt_new(p);
            gpt_prepare(m, B, T);
            zy_session_set_mode(m->s, p > 0, 99);
            int *x = calloc((size_t)B * T, sizeof(int));
            for (int r = 0; r < reps; r++) gpt_step(m, x, x, B, T, &f, &b);
            printf("gpt: fwd %.1f bwd %.1f ms (last)\n", 1e3 * f, 1e3 * b);
            free(x);
            gpt_free(m);
        } else {
            stack s;
            stack_init(&s, B, T, p);
            for (int r = 0; r < reps; r++) stack_step(&s, &f, &b);
            printf("blocks: fwd %.1f bwd %.1f ms (last)\n", 1e3 * f, 1e3 * b);
            stack_free(&s);
        }
    }
    return 0;
}
