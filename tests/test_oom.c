// Out of memory at every allocation ("nothing lost, nothing crashes"): model load and
// save, tokenizer load (tokenizer.json, GPT-2 vocab.json + merges.txt) with encoding,
// BPE training, WordPiece (vocab.txt + tokenizer_config.json, tokenizer.json, pairs,
// training and saving), a training step (data sources, trainer, step, validation), the
// training state file, a checkpoint saved over the previous one and resumed from, BERT
// pretraining data (a corpus from a file and text, the source, batches), fine-tuning data
// (each reader, label sets, features of each task, sources, batches), instruction data
// (the reader, rows, the source, the chat template's tokens and its record), a session that
// runs a forward pass and generates, a model made from a preset, an arena, the evaluation
// metrics that allocate (src/eval), LoRA adapters (a new one trained a step on GPT-2 and
// on BERT with lora_only biases, an adapter directory loaded, saved over itself and
// merged), a GGUF file exported over itself and loaded, a model given a weight type and
// decoding with it. Each must return ZY_STATUS_OUT_OF_MEMORY with a
// message that says "out of memory", leak nothing, leave files on disk as they were, and
// succeed once no allocation fails.
//
// Method (SQLite's malloc fault injection, src/test_malloc.c): a counting
// allocator installed with zy_allocator_set fails allocation k, for k = 1, 2, 3, ... until
// a round runs with no failure injected. Each round runs the whole operation from nothing
// back to nothing (create, use, free) and afterwards the live allocations (allocations
// minus frees) must be zero; the clean last round must succeed, with exactly k - 1
// allocations, so the sweep covered every allocation point. Two sweeps per operation:
// one-shot (only allocation k fails; later ones succeed, as when memory comes back) and
// persistent (k and every later one fail, so error paths that allocate are tested too).
//
// Threads. Counting runs at 1 thread: every allocation is then made by the calling
// thread, in the same order in every round, so "allocation k" names the same call each
// time. One allocation outlives the operations by design: GEMM's per-thread packing
// workspace, made on a thread's first packed product and freed when the thread exits
// (tests/test_gemm.c checks both that and the fallback when it cannot be made). So every
// operation runs once with the default allocator before the sweep: the calling thread
// then has its workspace, and no counted round allocates one. (At 1 thread the pool's
// workers take no chunks, so workspaces they made in earlier tests are never touched.)
// The exception is parallel encoding, swept at 2 threads because its per-thread word
// caches are made by whichever threads take chunks: there the counters' atomics matter,
// the allocation count differs between rounds, and a refused allocation may be a
// worker's, whose error must still reach the caller.
//
// cJSON (config.json, tokenizer files, safetensors headers) allocates with malloc, not
// through zy_alloc; the sweep also installs cJSON's global hooks (cJSON_InitHooks) so its
// allocations are counted and refused in the same sequence. A refused one sets errno to
// ENOMEM, as malloc does, which is how the library tells cJSON running out of memory
// from a syntax error (cJSON returns NULL for both).
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bert_util.h"
#include "gpt_util.h"
#include "harness.h"
#include "zhuyi/gguf.h"
#include "zhuyi/instruct.h"
#include "zhuyi/lora.h"
#include "zhuyi/metrics.h"
#include "zhuyi/sample.h"
#include "zhuyi/task.h"
#include "zhuyi/tokenizer.h"
#include "zhuyi/trainer.h"

// ---- the failing allocator ----------------------------------------------------------------
static struct {
    atomic_long calls;    // allocation requests seen this round
    atomic_long live;     // successful allocations not yet freed
    atomic_long injected; // requests refused
    long fail_at;         // the first request to refuse (1-based)
    bool persistent;      // refuse every request from fail_at on (else only fail_at)
} C;

// Is request k (1-based) refused? Counts the refusal.
static bool refuse(long k) {
    if (k != C.fail_at && !(C.persistent && k > C.fail_at)) return false;
    atomic_fetch_add(&C.injected, 1);
    return true;
}

static void *oom_alloc(size_t size, size_t align, void *user) {
    (void)user;
    if (refuse(atomic_fetch_add(&C.calls, 1) + 1)) return NULL;
    // The default allocator's representation, so a block made by either may be freed by
    // the other (none should be: every round is self-contained).
    void *p = aligned_alloc(align, size ? (size + align - 1) / align * align : align);
    if (p) atomic_fetch_add(&C.live, 1);
    return p;
}

static void oom_free(void *p, void *user) {
    (void)user;
    atomic_fetch_sub(&C.live, 1);
    free(p);
}

// cJSON's allocations (see the top), counted in the same sequence as zy_alloc's.
static atomic_long json_calls; // of C.calls

static void *json_malloc(size_t size) {
    atomic_fetch_add(&json_calls, 1);
    if (refuse(atomic_fetch_add(&C.calls, 1) + 1)) {
        errno = ENOMEM; // as malloc does
        return NULL;
    }
    void *p = malloc(size);
    if (p) atomic_fetch_add(&C.live, 1);
    return p;
}

static void json_free(void *p) {
    if (p) atomic_fetch_sub(&C.live, 1);
    free(p);
}

// One operation under test: op runs it from nothing back to nothing (what it creates, it
// frees before returning) and returns its status; before and after (may be NULL) run
// with the default allocator around each run: set up files, check them afterwards
// (intact, no temporary files left).
typedef struct oom_case {
    const char *name;
    zy_status (*op)(void *ctx);
    void (*before)(void *ctx); // prepares the world before each run (may be NULL)
    void (*after)(void *ctx, zy_status st, long k);
    void *ctx;
    int threads; // 0: 1 (see the top); more: the allocation count may differ between rounds
} oom_case;

enum { MAX_ROUNDS = 20000 };

// Sweep k = 1, 2, ... (see the top of the file). Returns the allocations of the clean
// round, or -1 after recording a failure (the first bad round is reported, then it stops).
// On several threads, where a round makes as many allocations as the threads that took
// work need, the sweep ends at the first clean round past the most requests any round
// made (refused ones included), and returns the most a clean round made.
static long sweep(const oom_case *c, bool persistent, long *json) {
    const char *mode = persistent ? "persistent" : "one-shot";
    static const zy_allocator A = {oom_alloc, oom_free, NULL};
    bool exact = c->threads <= 1;
    long most = 0, most_clean = 0;
    for (long k = 1; k <= MAX_ROUNDS; k++) {
        atomic_store(&C.calls, 0);
        atomic_store(&C.live, 0);
        atomic_store(&C.injected, 0);
        C.fail_at = k;
        C.persistent = persistent;
        zy_clear_error();
        atomic_store(&json_calls, 0);
        if (c->before) c->before(c->ctx);
        zy_allocator_set(&A);
        cJSON_InitHooks(&(cJSON_Hooks){json_malloc, json_free});
        zy_status st = c->op(c->ctx);
        cJSON_InitHooks(NULL);
        zy_allocator_set(NULL);
        long calls = atomic_load(&C.calls), live = atomic_load(&C.live);
        long injected = atomic_load(&C.injected);
        const char *msg = zy_last_error();
        most = calls > most ? calls : most;
        if (!injected && calls > most_clean) most_clean = calls;
        if (live != 0)
            zt_fail(__FILE__, __LINE__, "%s (%s): allocation %ld of %ld failed, %ld allocations "
                    "leaked (status %s: %s)", c->name, mode, k, calls, live, zy_status_str(st),
                    msg);
        else if (!injected && st)
            zt_fail(__FILE__, __LINE__, "%s: failed with no allocation refused (%ld made): %s",
                    c->name, calls, msg);
        else if (exact && !injected && calls != k - 1)
            zt_fail(__FILE__, __LINE__, "%s (%s): %ld allocations in the clean round, but "
                    "allocation %ld was reached before", c->name, mode, calls, k - 1);
        else if (injected && !st)
            zt_fail(__FILE__, __LINE__, "%s (%s): succeeded although allocation %ld of %ld "
                    "was refused", c->name, mode, k, calls);
        else if (injected && st != ZY_STATUS_OUT_OF_MEMORY)
            zt_fail(__FILE__, __LINE__, "%s (%s): allocation %ld refused: status '%s', not "
                    "out of memory (%s)", c->name, mode, k, zy_status_str(st), msg);
        else if (injected && !strstr(msg, "out of memory"))
            zt_fail(__FILE__, __LINE__, "%s (%s): allocation %ld refused: the message does not "
                    "say out of memory: '%s'", c->name, mode, k, msg);
        if (c->after) c->after(c->ctx, st, k);
        if (zt_failed()) return -1;
        *json = atomic_load(&json_calls);
        if (!injected && (exact || k > most)) return exact ? calls : most_clean;
    }
    zt_fail(__FILE__, __LINE__, "%s: still failing after %d rounds", c->name, MAX_ROUNDS);
    return -1;
}

// Warm up with the default allocator (the calling thread's GEMM workspace, see the top),
// then both sweeps at 1 thread (or c->threads); notes the allocation count.
static void run_case(const oom_case *c) {
    zy_threads_set(c->threads > 1 ? c->threads : 1);
    if (c->before) c->before(c->ctx);
    zy_status st = c->op(c->ctx);
    if (st) {
        zt_fail(__FILE__, __LINE__, "%s: fails without injected failures: %s", c->name,
                zy_last_error());
        return;
    }
    long j1, j2, n1 = sweep(c, false, &j1);
    if (n1 < 0) return;
    long n2 = sweep(c, true, &j2);
    if (n2 < 0) return;
    if (c->threads > 1)
        zt_note("%-34s up to %ld allocations on %d threads, each refused in turn", c->name,
                n1 > n2 ? n1 : n2, c->threads);
    else if (n1 != n2 || j1 != j2)
        zt_fail(__FILE__, __LINE__, "%s: %ld allocations in one sweep, %ld in the other",
                c->name, n1, n2);
    else
        zt_note("%-34s %4ld allocations (%4ld of them cJSON's), each refused in turn",
                c->name, n1, j1);
}

// ---- files --------------------------------------------------------------------------------
static void write_text(const char *path, const char *text, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, n, f) != n) zt_fail(__FILE__, __LINE__, "cannot write %s", path);
    if (f) fclose(f);
}

// Entries of dir whose name contains ".tmp." (an atomic write's temporary file left over).
static int temp_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

// A fresh directory for a test's files: in /dev/shm when there is one, since the sweeps
// make thousands of atomic writes, each fsync'ed (free on tmpfs, 30 s on a disk), else
// in /tmp. NULL (and a failure) if neither works.
static char *make_root(char *buf, size_t cap, const char *name) {
    const char *bases[] = {"/dev/shm", "/tmp"};
    for (int i = 0; i < 2; i++) {
        snprintf(buf, cap, "%s/zy_oom_%s_XXXXXX", bases[i], name);
        if (access(bases[i], W_OK) == 0 && mkdtemp(buf)) return buf;
    }
    zt_fail(__FILE__, __LINE__, "cannot make a directory for %s", name);
    return NULL;
}

// ---- model directories --------------------------------------------------------------------
enum { V = 64 };

// gpt-nano's shape (3 layers, 3 heads, 48 wide, 64 positions) with a 64-token vocabulary.
static zy_model *nano(uint64_t seed) { return zt_gpt_create(3, 3, 48, 64, V, 0.1f, seed); }

typedef struct model_ctx {
    char dir[512];
    const float *want; // the saved weights
    size_t n;
    const zy_model *m; // what save writes
} model_ctx;

// The directory holds the model with the weights `want`.
static void check_model_dir(const model_ctx *c, const char *when) {
    zy_model *m;
    zy_status st = zy_model_load(&m, c->dir);
    if (st) {
        zt_fail(__FILE__, __LINE__, "%s: %s no longer loads: %s", when, c->dir, zy_last_error());
        return;
    }
    size_t n;
    const float *p = zy_model_params(m, &n);
    if (n != c->n || memcmp(p, c->want, n * sizeof *p))
        zt_fail(__FILE__, __LINE__, "%s: %s holds other weights", when, c->dir);
    zy_model_free(m);
}

static zy_status op_model_load(void *arg) {
    model_ctx *c = arg;
    zy_model *m;
    zy_status st = zy_model_load(&m, c->dir);
    if (st) return st;
    size_t n;
    const float *p = zy_model_params(m, &n);
    if (n != c->n || memcmp(p, c->want, n * sizeof *p))
        zt_fail(__FILE__, __LINE__, "model load: other weights than were saved");
    zy_model_free(m);
    return ZY_STATUS_OK;
}

// Read straight into bf16 copies (zy_model_load_decoder): no f32 matrix held.
static zy_status op_model_load_decoder(void *arg) {
    model_ctx *c = arg;
    zy_model *m;
    zy_status st = zy_model_load_decoder(&m, c->dir, ZY_WTYPE_BF16);
    if (st) return st;
    if (zy_model_weight_type(m) != ZY_WTYPE_BF16 || !zy_model_fp32_dropped(m))
        zt_fail(__FILE__, __LINE__, "model load decoder: not a bf16 decode-only model");
    zy_model_free(m);
    return ZY_STATUS_OK;
}

static zy_status op_model_save(void *arg) {
    model_ctx *c = arg;
    return zy_model_save(c->m, c->dir);
}

static void after_model_save(void *arg, zy_status st, long k) {
    model_ctx *c = arg;
    char when[64];
    snprintf(when, sizeof when, "model save, allocation %ld refused", k);
    if (temp_files(c->dir) != 0)
        zt_fail(__FILE__, __LINE__, "%s: temporary files left in %s", when, c->dir);
    check_model_dir(c, when); // the directory written before is whole
    (void)st;
}

// A model from a preset, as pretrain builds one: config, tensor table, weights.
static zy_status op_model_create(void *arg) {
    (void)arg;
    zy_config *cfg;
    zy_model *m = NULL;
    zy_status st = zy_model_preset(&cfg, "gpt-nano");
    if (st) return st;
    if (!(st = zy_config_set_int(cfg, "vocab_size", V)) && !(st = zy_model_create(&m, cfg)))
        zy_model_init_weights(m, 1);
    zy_model_free(m);
    zy_config_free(cfg);
    return st;
}

TEST(oom_model_load_and_save) {
    char root[64];
    ASSERT(make_root(root, sizeof root, "model"));
    zy_model *m = nano(11);
    ASSERT(m != NULL);
    model_ctx c = {.m = m};
    snprintf(c.dir, sizeof c.dir, "%s/model", root);
    c.want = zy_model_params(m, &c.n);
    ASSERT(zy_model_save(m, c.dir) == ZY_STATUS_OK);
    run_case(&(oom_case){.name = "model create (preset gpt-nano)", .op = op_model_create});
    if (!zt_failed())
        run_case(&(oom_case){.name = "model load (gpt-nano)", .op = op_model_load, .ctx = &c});
    if (!zt_failed())
        run_case(&(oom_case){.name = "model load decoder (gpt-nano, bf16)",
                             .op = op_model_load_decoder, .ctx = &c});
    if (!zt_failed())
        run_case(&(oom_case){.name = "model save", .op = op_model_save,
                             .after = after_model_save, .ctx = &c});
    zy_model_free(m);
    zt_rm_tree(root);
}

// ---- GGUF files ---------------------------------------------------------------------------
typedef struct gguf_ctx {
    char path[512];
    const zy_model *m;     // what export writes
    const zy_tokenizer *t;
    const float *want;     // the parameters the file holds (as read back once)
    size_t n;
    int vocab;
} gguf_ctx;

static zy_status op_gguf_save(void *arg) {
    gguf_ctx *c = arg;
    zy_gguf_export_params p = zy_gguf_export_default_params();
    p.wtype = ZY_WTYPE_F16; // the conversion path; rows of 48 are not whole q8_0 blocks
    return zy_model_save_gguf(c->m, c->t, c->path, p);
}

static zy_status op_gguf_load(void *arg) {
    gguf_ctx *c = arg;
    zy_model *m;
    zy_tokenizer *t;
    zy_gguf_model_info info;
    zy_status st = zy_model_load_gguf(&m, &t, c->path, &info);
    if (st) return st;
    size_t n;
    const float *p = zy_model_params(m, &n);
    if (n != c->n || memcmp(p, c->want, n * sizeof *p) || zy_tokenizer_vocab_size(t) != c->vocab)
        zt_fail(__FILE__, __LINE__, "gguf load: another model than was written");
    zy_model_free(m);
    zy_tokenizer_free(t);
    return ZY_STATUS_OK;
}

// Decode-only in another type than the file's (f16 -> bf16): every matrix through fp32.
static zy_status op_gguf_load_decoder(void *arg) {
    gguf_ctx *c = arg;
    zy_model *m;
    zy_tokenizer *t;
    zy_status st = zy_model_load_gguf_decoder(&m, &t, c->path, ZY_WTYPE_BF16, NULL);
    if (st) return st;
    if (zy_model_weight_type(m) != ZY_WTYPE_BF16 || !zy_model_fp32_dropped(m))
        zt_fail(__FILE__, __LINE__, "gguf load decoder: not a bf16 decode-only model");
    zy_model_free(m);
    zy_tokenizer_free(t);
    return ZY_STATUS_OK;
}

static void after_gguf_save(void *arg, zy_status st, long k) {
    gguf_ctx *c = arg;
    char dir[512];
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(c->path, '/') - c->path), c->path);
    if (temp_files(dir) != 0)
        zt_fail(__FILE__, __LINE__, "gguf save, allocation %ld refused: temporary files left",
                k);
    (void)st;
    zy_status s = op_gguf_load(c); // the file written before is whole
    if (s) zt_fail(__FILE__, __LINE__, "gguf save, allocation %ld refused: the file no longer "
                   "loads: %s", k, zy_last_error());
}

TEST(oom_gguf_export_and_load) {
    char root[64];
    ASSERT(make_root(root, sizeof root, "gguf"));
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 300;
    zy_tokenizer *t = NULL;
    const char *text = "the cat sat on the mat, the dog sat on the log; the end.";
    size_t len = strlen(text);
    ASSERT(zy_tokenizer_train_bpe_texts(&t, &text, &len, 1, bp) == ZY_STATUS_OK);
    gguf_ctx c = {.t = t, .vocab = zy_tokenizer_vocab_size(t)};
    zy_model *m = zt_gpt_create(2, 3, 48, 16, c.vocab, 0.0f, 5), *back = NULL;
    zy_tokenizer *bt = NULL;
    ASSERT(m != NULL);
    c.m = m;
    snprintf(c.path, sizeof c.path, "%s/m.gguf", root);
    ASSERT(op_gguf_save(&c) == ZY_STATUS_OK);
    ASSERT(zy_model_load_gguf(&back, &bt, c.path, NULL) == ZY_STATUS_OK);
    c.want = zy_model_params(back, &c.n);
    run_case(&(oom_case){.name = "gguf load (f16)", .op = op_gguf_load, .ctx = &c});
    if (!zt_failed())
        run_case(&(oom_case){.name = "gguf load decoder (f16 file, bf16)",
                             .op = op_gguf_load_decoder, .ctx = &c});
    if (!zt_failed())
        run_case(&(oom_case){.name = "gguf export (f16)", .op = op_gguf_save,
                             .after = after_gguf_save, .ctx = &c});
    zy_model_free(back), zy_tokenizer_free(bt);
    zy_model_free(m), zy_tokenizer_free(t);
    zt_rm_tree(root);
}

// ---- tokenizers ---------------------------------------------------------------------------
static const char TEXT[] =
    "In the beginning was the word, and the word was with the tokenizer.\n"
    "The cat sat on the mat; the mat sat on the cat. Caf\xc3\xa9 au lait, na\xc3\xafve "
    "\xe4\xb8\xad\xe6\x96\x87 <|endoftext|> then the end of the beginning.\n";

typedef struct tok_ctx {
    char json[256], vocab[256], merges[256], text[256], text2[256], saved[256];
    int32_t want[sizeof TEXT];   // TEXT encoded with special tokens
    size_t n_want;
    int32_t *want_file;          // the text file encoded as data (no special tokens)
    size_t n_want_file;
    int vocab_size, merges_count;
    char *big;                   // TEXT repeated past the parallel encoder's 64 KiB
    size_t n_big, n_want_big;
    int32_t *want_big, *ids_big; // its ids (one thread), room for the parallel encoder's
} tok_ctx;

// Encode TEXT (special tokens on) with t: a failure is recorded if the ids differ from the
// trained tokenizer's. Returns the status of the encode.
static zy_status encode_check(const tok_ctx *c, zy_tokenizer *t, const char *what) {
    int32_t ids[sizeof TEXT];
    size_t n = 0;
    zy_status st = zy_tokenizer_encode(t, TEXT, sizeof TEXT - 1, ZY_ENCODE_SPECIAL, ids,
                                       sizeof TEXT, &n);
    if (!st && (n != c->n_want || memcmp(ids, c->want, n * sizeof *ids)))
        zt_fail(__FILE__, __LINE__, "%s: encodes differently after loading", what);
    return st;
}

static zy_status op_tokenizer_json(void *arg) {
    tok_ctx *c = arg;
    zy_tokenizer *t;
    zy_status st = zy_tokenizer_load(&t, c->json);
    if (st) return st;
    st = encode_check(c, t, "tokenizer.json");
    // Text files -> one token stream, as pretrain and eval begin.
    int32_t *tokens = NULL;
    size_t n = 0;
    const char *files[] = {c->text};
    if (!st) st = zy_dataset_encode_files(t, files, 1, &tokens, &n);
    if (!st && (n != c->n_want_file || memcmp(tokens, c->want_file, n * sizeof *tokens)))
        zt_fail(__FILE__, __LINE__, "dataset encode: other tokens");
    zy_free(tokens);
    zy_tokenizer_free(t);
    return st;
}

static zy_status op_tokenizer_gpt2(void *arg) {
    tok_ctx *c = arg;
    zy_tokenizer *t;
    zy_status st = zy_tokenizer_load_gpt2(&t, c->vocab, c->merges);
    if (st) return st;
    st = encode_check(c, t, "vocab.json + merges.txt");
    zy_tokenizer_free(t);
    return st;
}

// Parallel encoding: the word caches of the threads that take chunks are made on those
// threads, so a refused allocation may be a worker's; its error must reach the caller.
static zy_status op_tokenizer_parallel(void *arg) {
    tok_ctx *c = arg;
    zy_tokenizer *t;
    zy_status st = zy_tokenizer_load(&t, c->json);
    if (st) return st;
    size_t n = 0;
    st = zy_tokenizer_encode_parallel(t, c->big, c->n_big, 0, c->ids_big, c->n_big, &n);
    if (!st && (n != c->n_want_big || memcmp(c->ids_big, c->want_big, n * sizeof *c->ids_big)))
        zt_fail(__FILE__, __LINE__, "encode_parallel: other ids than one thread");
    zy_tokenizer_free(t);
    return st;
}

static zy_bpe_train_params bpe_params(void) {
    zy_bpe_train_params p = zy_bpe_train_default_params();
    p.vocab_size = 320;
    return p;
}

static zy_status op_tokenizer_train(void *arg) {
    tok_ctx *c = arg;
    zy_tokenizer *t;
    const char *files[] = {c->text, c->text2};
    zy_status st = zy_tokenizer_train_bpe(&t, files, 2, bpe_params());
    if (st) return st;
    if (zy_tokenizer_vocab_size(t) != c->vocab_size ||
        zy_tokenizer_merge_count(t) != c->merges_count)
        zt_fail(__FILE__, __LINE__, "tokenizer train: another vocabulary");
    st = zy_tokenizer_save(t, c->saved);
    zy_tokenizer_free(t);
    return st;
}

static void after_tokenizer_save(void *arg, zy_status st, long k) {
    tok_ctx *c = arg;
    (void)st;
    char dir[256];
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(c->saved, '/') - c->saved), c->saved);
    if (temp_files(dir) != 0)
        zt_fail(__FILE__, __LINE__, "tokenizer save, allocation %ld refused: temporary files "
                "left in %s", k, dir);
    zy_tokenizer *t;
    if (zy_tokenizer_load(&t, c->saved)) {
        zt_fail(__FILE__, __LINE__, "tokenizer save, allocation %ld refused: %s no longer "
                "loads: %s", k, c->saved, zy_last_error());
        return;
    }
    encode_check(c, t, "the saved tokenizer.json");
    zy_tokenizer_free(t);
}

// vocab.json and merges.txt (GPT-2's files) with the contents of a tokenizer.json.
static void write_gpt2_files(const tok_ctx *c) {
    FILE *f = fopen(c->json, "rb");
    if (!f) {
        zt_fail(__FILE__, __LINE__, "cannot read %s", c->json);
        return;
    }
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *root = cJSON_Parse(buf);
    cJSON *model = cJSON_GetObjectItem(root, "model");
    char *vocab = cJSON_PrintUnformatted(cJSON_GetObjectItem(model, "vocab"));
    if (!vocab) {
        zt_fail(__FILE__, __LINE__, "%s: no model.vocab", c->json);
        cJSON_Delete(root);
        return;
    }
    write_text(c->vocab, vocab, strlen(vocab));
    free(vocab);
    FILE *m = fopen(c->merges, "wb");
    if (!m) {
        zt_fail(__FILE__, __LINE__, "cannot write %s", c->merges);
        cJSON_Delete(root);
        return;
    }
    fputs("#version: 0.2\n", m);
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(model, "merges")) fprintf(m, "%s\n", e->valuestring);
    fclose(m);
    cJSON_Delete(root);
}

// The reference: a small BPE trained on TEXT, its encodings, and its files in root.
// False (and a failure recorded) if any step fails.
static bool tok_setup(tok_ctx *c, const char *root) {
    snprintf(c->json, sizeof c->json, "%s/tokenizer.json", root);
    snprintf(c->vocab, sizeof c->vocab, "%s/vocab.json", root);
    snprintf(c->merges, sizeof c->merges, "%s/merges.txt", root);
    snprintf(c->text, sizeof c->text, "%s/data.txt", root);
    snprintf(c->text2, sizeof c->text2, "%s/data2.txt", root);
    snprintf(c->saved, sizeof c->saved, "%s/saved", root);
    mkdir(c->saved, 0755);
    strcat(c->saved, "/tokenizer.json");
    write_text(c->text, TEXT, sizeof TEXT - 1);
    write_text(c->text2, TEXT + 40, sizeof TEXT - 41);
    enum { REPEAT = 600 }; // past the parallel encoder's 64 KiB
    c->n_big = REPEAT * (sizeof TEXT - 1);
    c->big = zt_malloc(c->n_big);
    for (int i = 0; i < REPEAT; i++) memcpy(c->big + i * (sizeof TEXT - 1), TEXT, sizeof TEXT - 1);
    c->want_big = zt_malloc(c->n_big * sizeof *c->want_big);
    c->ids_big = zt_malloc(c->n_big * sizeof *c->ids_big);
    zy_tokenizer *t;
    const char *texts[] = {TEXT, TEXT + 40}, *files[] = {c->text};
    size_t lens[] = {sizeof TEXT - 1, sizeof TEXT - 41};
    if (zy_tokenizer_train_bpe_texts(&t, texts, lens, 2, bpe_params())) {
        zt_fail(__FILE__, __LINE__, "train: %s", zy_last_error());
        return false;
    }
    c->vocab_size = zy_tokenizer_vocab_size(t);
    c->merges_count = zy_tokenizer_merge_count(t);
    if (zy_tokenizer_encode(t, TEXT, sizeof TEXT - 1, ZY_ENCODE_SPECIAL, c->want, sizeof TEXT,
                            &c->n_want) ||
        zy_tokenizer_encode(t, c->big, c->n_big, 0, c->want_big, c->n_big, &c->n_want_big) ||
        zy_dataset_encode_files(t, files, 1, &c->want_file, &c->n_want_file) ||
        zy_tokenizer_save(t, c->json) || zy_tokenizer_save(t, c->saved))
        zt_fail(__FILE__, __LINE__, "setup: %s", zy_last_error());
    zy_tokenizer_free(t);
    if (!zt_failed()) write_gpt2_files(c);
    zt_note("tokenizer: %d tokens, %d merges; TEXT is %zu ids", c->vocab_size, c->merges_count,
            c->n_want);
    return !zt_failed();
}

TEST(oom_tokenizer_load_encode_train) {
    char root[64];
    ASSERT(make_root(root, sizeof root, "tok"));
    tok_ctx *c = zt_malloc(sizeof *c);
    memset(c, 0, sizeof *c);
    if (tok_setup(c, root))
        run_case(&(oom_case){.name = "tokenizer.json load + encode", .op = op_tokenizer_json,
                             .ctx = c});
    if (!zt_failed())
        run_case(&(oom_case){.name = "vocab.json + merges.txt load", .op = op_tokenizer_gpt2,
                             .ctx = c});
    if (!zt_failed())
        run_case(&(oom_case){.name = "BPE train (files) + save", .op = op_tokenizer_train,
                             .after = after_tokenizer_save, .ctx = c});
    if (!zt_failed())
        run_case(&(oom_case){.name = "tokenizer encode_parallel", .op = op_tokenizer_parallel,
                             .ctx = c, .threads = 2});
    free(c->big);
    free(c->want_big);
    free(c->ids_big);
    zy_free(c->want_file);
    free(c);
    zt_rm_tree(root);
}

// ---- WordPiece ------------------------------------------------------------------------------
typedef struct wp_ctx {
    char dir[128], vocab[256], config[256], json[256], text[256], saved[256];
    int32_t want[3 * sizeof TEXT], want_types[3 * sizeof TEXT]; // TEXT as a padded pair
    size_t want_off[6 * sizeof TEXT], n_want;
    int vocab_size;
} wp_ctx;

static zy_wordpiece_train_params wp_params(void) {
    zy_wordpiece_train_params p = zy_wordpiece_train_default_params();
    p.vocab_size = 120;
    return p;
}

// TEXT and its second half as a pair, [CLS] ... [SEP] ... [SEP], truncated and padded:
// the same ids, types and offsets as the reference tokenizer's.
static zy_status wp_check(const wp_ctx *c, zy_tokenizer *t, const char *what) {
    int32_t ids[3 * sizeof TEXT], types[3 * sizeof TEXT];
    size_t off[6 * sizeof TEXT];
    zy_encode_params p = zy_encode_default_params();
    p.flags = ZY_ENCODE_SPECIAL;
    p.max_length = 80;
    p.pad = 1;
    zy_encoding e = {ids, types, NULL, off, 3 * sizeof TEXT, 0, 0, 0};
    zy_status st = zy_tokenizer_encode_pair(t, TEXT, sizeof TEXT - 1, TEXT + 70,
                                            sizeof TEXT - 71, p, &e);
    if (!st && (e.n != c->n_want || memcmp(ids, c->want, e.n * sizeof *ids) ||
                memcmp(types, c->want_types, e.n * sizeof *types) ||
                memcmp(off, c->want_off, 2 * e.n * sizeof *off)))
        zt_fail(__FILE__, __LINE__, "%s: encodes differently after loading", what);
    return st;
}

static zy_status op_wp_load(void *arg, const char *path, const char *what) {
    const wp_ctx *c = arg;
    zy_tokenizer *t;
    zy_status st = zy_tokenizer_load(&t, path);
    if (st) return st;
    st = wp_check(c, t, what);
    zy_tokenizer_free(t);
    return st;
}

static zy_status op_wp_vocab_txt(void *arg) {
    return op_wp_load(arg, ((wp_ctx *)arg)->vocab, "vocab.txt + tokenizer_config.json");
}

static zy_status op_wp_json(void *arg) {
    return op_wp_load(arg, ((wp_ctx *)arg)->json, "WordPiece tokenizer.json");
}

static zy_status op_wp_train(void *arg) {
    wp_ctx *c = arg;
    zy_tokenizer *t;
    const char *files[] = {c->text};
    zy_status st = zy_tokenizer_train_wordpiece(&t, files, 1, wp_params());
    if (st) return st;
    if (zy_tokenizer_vocab_size(t) != c->vocab_size)
        zt_fail(__FILE__, __LINE__, "wordpiece train: another vocabulary");
    st = zy_tokenizer_save(t, c->saved);
    zy_tokenizer_free(t);
    return st;
}

static void after_wp_save(void *arg, zy_status st, long k) {
    wp_ctx *c = arg;
    (void)st;
    char dir[256];
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(c->saved, '/') - c->saved), c->saved);
    if (temp_files(dir) != 0)
        zt_fail(__FILE__, __LINE__, "wordpiece save, allocation %ld refused: temporary files "
                "left in %s", k, dir);
    zy_tokenizer *t;
    if (zy_tokenizer_load(&t, c->saved)) {
        zt_fail(__FILE__, __LINE__, "wordpiece save, allocation %ld refused: %s no longer "
                "loads: %s", k, c->saved, zy_last_error());
        return;
    }
    wp_check(c, t, "the saved WordPiece tokenizer.json");
    zy_tokenizer_free(t);
}

// The reference: a small WordPiece trained on TEXT, saved as tokenizer.json and as
// vocab.txt (cased by its tokenizer_config.json, so the files differ in normalisation).
static bool wp_setup(wp_ctx *c, const char *root) {
    snprintf(c->dir, sizeof c->dir, "%.100s/bert", root);
    mkdir(c->dir, 0755);
    snprintf(c->vocab, sizeof c->vocab, "%s/vocab.txt", c->dir);
    snprintf(c->config, sizeof c->config, "%s/tokenizer_config.json", c->dir);
    snprintf(c->json, sizeof c->json, "%s/tokenizer.json", root);
    snprintf(c->text, sizeof c->text, "%s/data.txt", root);
    snprintf(c->saved, sizeof c->saved, "%s/saved", root);
    mkdir(c->saved, 0755);
    strcat(c->saved, "/tokenizer.json");
    write_text(c->text, TEXT, sizeof TEXT - 1);
    zy_tokenizer *t;
    if (zy_tokenizer_train_wordpiece_texts(&t, (const char *[]){TEXT}, (size_t[]){sizeof TEXT - 1},
                                           1, wp_params())) {
        zt_fail(__FILE__, __LINE__, "wordpiece train: %s", zy_last_error());
        return false;
    }
    c->vocab_size = zy_tokenizer_vocab_size(t);
    zy_encode_params p = zy_encode_default_params();
    p.flags = ZY_ENCODE_SPECIAL;
    p.max_length = 80;
    p.pad = 1;
    zy_encoding e = {c->want, c->want_types, NULL, c->want_off, 3 * sizeof TEXT, 0, 0, 0};
    if (zy_tokenizer_encode_pair(t, TEXT, sizeof TEXT - 1, TEXT + 70, sizeof TEXT - 71, p, &e) ||
        zy_tokenizer_save(t, c->json) || zy_tokenizer_save_vocab_txt(t, c->vocab))
        zt_fail(__FILE__, __LINE__, "wordpiece setup: %s", zy_last_error());
    c->n_want = e.n;
    zy_tokenizer_free(t);
    static const char cfg[] = "{\"do_lower_case\": true, \"unk_token\": {\"content\": "
                              "\"[UNK]\"}, \"mask_token\": \"[MASK]\"}";
    write_text(c->config, cfg, sizeof cfg - 1);
    zt_note("wordpiece: %d tokens; the pair is %zu ids", c->vocab_size, c->n_want);
    return !zt_failed();
}

TEST(oom_wordpiece_load_encode_train) {
    char root[64];
    ASSERT(make_root(root, sizeof root, "wp"));
    wp_ctx *c = zt_malloc(sizeof *c);
    memset(c, 0, sizeof *c);
    if (wp_setup(c, root))
        run_case(&(oom_case){.name = "vocab.txt + config + encode_pair", .op = op_wp_vocab_txt,
                             .ctx = c});
    if (!zt_failed())
        run_case(&(oom_case){.name = "WordPiece tokenizer.json + encode", .op = op_wp_json,
                             .ctx = c});
    if (!zt_failed())
        run_case(&(oom_case){.name = "WordPiece train (file) + save", .op = op_wp_train,
                             .after = after_wp_save, .ctx = c});
    free(c);
    zt_rm_tree(root);
}

// ---- training -----------------------------------------------------------------------------
typedef struct train_ctx {
    zy_model *m;
    int32_t *tok;
    size_t n_train, n_val;
    zy_trainer_params p;
    // The state file and checkpoint tests: trainers made before the sweep, t at step 2,
    // t0 at step 0 (the previous checkpoint each round starts from).
    zy_data_source *train;
    zy_trainer *t, *t0;
    char state[256], run[256];
} train_ctx;

// A stream with some structure: a noisy repeating pattern.
static int32_t *stream(size_t n, uint64_t seed) {
    int32_t *t = zt_malloc(n * sizeof *t);
    zy_rng r;
    zy_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        t[i] = zy_rng_below(&r, 4) ? (int32_t)(i * 7 % V) : (int32_t)zy_rng_below(&r, V);
    return t;
}

// Data sources, the trainer, one step (two micro-batches), validation; all freed.
static zy_status op_train_step(void *arg) {
    train_ctx *c = arg;
    zy_data_source *train = NULL, *val = NULL;
    zy_trainer *t = NULL;
    zy_lm_stream_params tp = {.batch = c->p.batch, .seq = c->p.seq, .shuffle = true,
                              .seed = c->p.seed};
    zy_lm_stream_params vp = {.batch = c->p.batch, .seq = c->p.seq, .one_pass = true};
    zy_status st = zy_lm_stream_create(&train, c->tok, c->n_train, &tp);
    if (!st) st = zy_lm_stream_create(&val, c->tok + c->n_train, c->n_val, &vp);
    if (!st) st = zy_trainer_create(&t, c->m, train, val, &c->p);
    zy_step_info info = {0};
    float val_loss = 0;
    if (!st) st = zy_trainer_step(t, &info);
    if (!st) st = zy_trainer_evaluate(t, &val_loss);
    if (!st && !(isfinite(info.loss) && isfinite(val_loss) && info.step == 1))
        zt_fail(__FILE__, __LINE__, "train step: step %ld, loss %g, val loss %g", info.step,
                (double)info.loss, (double)val_loss);
    zy_trainer_free(t);
    zy_data_source_free(val);
    zy_data_source_free(train);
    return st;
}

static zy_status op_state(void *arg) {
    train_ctx *c = arg;
    zy_safetensors_kv extra[] = {{"data_files", "[\"data.txt\"]"}};
    zy_status st = zy_trainer_save_state(c->t, c->state, extra, 1);
    if (!st) st = zy_trainer_load_state(c->t, c->state);
    return st;
}

static void after_state(void *arg, zy_status st, long k) {
    train_ctx *c = arg;
    (void)st;
    char dir[256];
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(c->state, '/') - c->state), c->state);
    if (temp_files(dir) != 0)
        zt_fail(__FILE__, __LINE__, "state save, allocation %ld refused: temporary files left "
                "in %s", k, dir);
    zy_trainer_params p;
    long step;
    if (zy_trainer_read_params(c->state, &p, &step) || step != 2)
        zt_fail(__FILE__, __LINE__, "state save, allocation %ld refused: %s no longer reads "
                "back (%s)", k, c->state, zy_last_error());
}

// A run directory holding one checkpoint, of step 0 (t0).
static void before_checkpoint(void *arg) {
    train_ctx *c = arg;
    zt_rm_tree(c->run);
    if (zy_trainer_save_checkpoint(c->t0, c->run, NULL, 0, 0))
        zt_fail(__FILE__, __LINE__, "checkpoint 0: %s", zy_last_error());
}

// Saving step 2 and resuming from what DIR/checkpoint names (as pretrain --resume does).
static zy_status op_checkpoint(void *arg) {
    train_ctx *c = arg;
    zy_safetensors_kv extra[] = {{"data_files", "[\"data.txt\"]"}};
    char dir[512], state[600];
    zy_status st = zy_trainer_save_checkpoint(c->t, c->run, extra, 1, 0);
    if (!st) st = zy_checkpoint_find(c->run, dir, sizeof dir);
    snprintf(state, sizeof state, "%s/%s", dir, ZY_TRAINING_STATE_FILE);
    if (!st) st = zy_trainer_load_state(c->t, state);
    return st;
}

// Whatever failed, DIR/checkpoint names a whole checkpoint (step 0 or 2, the same weights)
// and DIR is a model directory with those weights.
static void after_checkpoint(void *arg, zy_status st, long k) {
    train_ctx *c = arg;
    char dir[512], state[600], when[80];
    snprintf(when, sizeof when, "checkpoint save, allocation %ld refused", k);
    if (zy_checkpoint_find(c->run, dir, sizeof dir)) {
        zt_fail(__FILE__, __LINE__, "%s: no checkpoint: %s", when, zy_last_error());
        return;
    }
    snprintf(state, sizeof state, "%s/%s", dir, ZY_TRAINING_STATE_FILE);
    zy_trainer_params p;
    long step = -1;
    if (zy_trainer_read_params(state, &p, &step) || (step != 0 && step != 2) ||
        (step == 0 && !st))
        zt_fail(__FILE__, __LINE__, "%s: %s gives step %ld (%s)", when, state, step,
                zy_last_error());
    size_t n;
    const float *want = zy_model_params(c->m, &n);
    model_ctx m = {.want = want, .n = n};
    snprintf(m.dir, sizeof m.dir, "%s", dir);
    check_model_dir(&m, when);
    snprintf(m.dir, sizeof m.dir, "%s", c->run);
    check_model_dir(&m, when);
}

TEST(oom_train_step) {
    train_ctx c = {.n_train = 300, .n_val = 100};
    c.tok = stream(c.n_train + c.n_val, 7);
    c.p = zy_trainer_default_params();
    c.p.batch = 2, c.p.seq = 16, c.p.grad_accum = 2, c.p.steps = 10, c.p.warmup = 2;
    c.p.lr = 1e-3f, c.p.dropout = 0.1f, c.p.seed = 5, c.p.eval_batches = 0;
    c.m = nano(3);
    ASSERT(c.m != NULL);
    run_case(&(oom_case){.name = "lm streams + trainer + step + eval", .op = op_train_step,
                         .ctx = &c});

    // The training state file: save and load back, a trainer made beforehand (2 steps in).
    char root[64];
    if (!zt_failed() && make_root(root, sizeof root, "state")) {
        snprintf(c.state, sizeof c.state, "%s/%s", root, ZY_TRAINING_STATE_FILE);
        zy_lm_stream_params tp = {.batch = c.p.batch, .seq = c.p.seq, .shuffle = true,
                                  .seed = c.p.seed};
        if (zy_lm_stream_create(&c.train, c.tok, c.n_train, &tp) ||
            zy_trainer_create(&c.t, c.m, c.train, NULL, &c.p) || zy_trainer_step(c.t, NULL) ||
            zy_trainer_step(c.t, NULL))
            zt_fail(__FILE__, __LINE__, "state setup: %s", zy_last_error());
        else
            run_case(&(oom_case){.name = "training state save + load", .op = op_state,
                                 .after = after_state, .ctx = &c});
        // A checkpoint over the previous one, and resuming from it.
        snprintf(c.run, sizeof c.run, "%s/run", root);
        if (!zt_failed() && zy_trainer_create(&c.t0, c.m, c.train, NULL, &c.p))
            zt_fail(__FILE__, __LINE__, "trainer at step 0: %s", zy_last_error());
        else if (!zt_failed())
            run_case(&(oom_case){.name = "checkpoint save + find + load", .op = op_checkpoint,
                                 .before = before_checkpoint, .after = after_checkpoint,
                                 .ctx = &c});
        zy_trainer_free(c.t0);
        zy_trainer_free(c.t);
        zy_data_source_free(c.train);
        zt_rm_tree(root);
    }
    zy_model_free(c.m);
    free(c.tok);
}

// ---- BERT pretraining data -----------------------------------------------------------------
static const char MLM_TEXT[] =
    "In the beginning God created the heaven and the earth.\n"
    "And the earth was without form, and void.\n\n"
    "And God said, Let there be light: and there was light.\n"
    "And God saw the light, that it was good.\n\n"
    "And the evening and the morning were the first day.\n";

// A corpus read from a file, from text and from prose (byte tokenizer: ids are the bytes), the source
// over it with whole-word masking, batches, a shard and a seek; all freed.
static zy_status op_mlm(void *arg) {
    const char *files[] = {arg};
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 257;
    zy_tokenizer *tok = NULL;
    zy_corpus corpus;
    zy_corpus_init(&corpus);
    zy_data_source *src = NULL;
    zy_batch b = {0};
    uint8_t cont[260] = {0};
    for (int i = 'a'; i <= 'z'; i++) cont[i] = 1; // a word: a letter after anything
    zy_mlm_source_params p = zy_mlm_source_default_params();
    p.batch = 2, p.seq = 32, p.vocab_size = 260, p.word_continuation = cont;
    p.pad_id = 256, p.cls_id = 257, p.sep_id = 258, p.mask_id = 259;
    zy_status st = zy_tokenizer_train_bpe_texts(&tok, NULL, NULL, 0, bp);
    if (!st) st = zy_corpus_add_files(&corpus, tok, files, 1);
    if (!st) st = zy_corpus_add_text(&corpus, tok, MLM_TEXT, sizeof MLM_TEXT - 1);
    if (!st) st = zy_corpus_add_prose(&corpus, tok, MLM_TEXT, sizeof MLM_TEXT - 1, 2);
    if (!st) st = zy_mlm_source_create(&src, &corpus, &p);
    if (!st) st = zy_batch_init(&b, &zy_data_source_get_info(src)->dims);
    if (!st) st = zy_data_source_next(src, &b);
    if (!st) st = zy_data_source_shard(src, 1, 2);
    if (!st) st = zy_data_source_seek(src, (zy_data_pos){3, 1});
    if (!st) st = zy_data_source_next(src, &b);
    zy_batch_destroy(&b);
    zy_data_source_free(src);
    zy_corpus_destroy(&corpus);
    zy_tokenizer_free(tok);
    return st;
}

TEST(oom_mlm_data) {
    char root[64], path[96];
    ASSERT(make_root(root, sizeof root, "mlm"));
    snprintf(path, sizeof path, "%s/corpus.txt", root);
    write_text(path, MLM_TEXT, sizeof MLM_TEXT - 1);
    run_case(&(oom_case){.name = "bert-mlm corpus + source + batches", .op = op_mlm,
                         .ctx = path});
    zt_rm_tree(root);
}

// ---- fine-tuning data ------------------------------------------------------------------------
// Files of each reader (a bad row skipped in the CSV), a label set given and one built,
// features of each task with a WordPiece vocabulary, sources and batches; all freed.
static const char *const TASK_FILES[][2] = {
    {"t.csv", "text,b,label\n\"the, cat\",sat,pos\nbad row\nthe dog,on,neg\n"},
    {"t.conll", "-DOCSTART- O\n\nthe O\ncats B-X\n\nsat O\n"},
    {"t.txt", "the/O cats/B-X\nsat/O\n"},
    {"t.jsonl", "{\"context\":\"a b c the cat sat on the mat\",\"question\":\"who?\","
                "\"answers\":{\"text\":[\"sat on\"],\"answer_start\":[14]}}\n"},
};

static zy_status task_features(zy_tokenizer *tok, const zy_task_data *d, int batch) {
    zy_task_feature_params fp = zy_task_feature_default_params();
    fp.max_length = 10, fp.doc_stride = 2;
    zy_task_source_params sp = zy_task_source_default_params();
    sp.batch = batch;
    zy_task_features *f = NULL;
    zy_data_source *src = NULL;
    zy_batch b = {0};
    zy_status st = zy_task_features_create(&f, d, tok, &fp);
    if (!st) st = zy_task_source_create(&src, f, &sp);
    if (!st) st = zy_batch_init(&b, &zy_data_source_get_info(src)->dims);
    if (!st) st = zy_data_source_next(src, &b);
    if (!st) st = zy_data_source_seek(src, (zy_data_pos){2, 0});
    if (!st) st = zy_data_source_next(src, &b);
    zy_batch_destroy(&b);
    zy_data_source_free(src);
    zy_task_features_free(f);
    return st;
}

static zy_status op_task(void *arg) {
    const char *root = arg;
    char path[160];
    snprintf(path, sizeof path, "%s/vocab.txt", root);
    zy_tokenizer *tok = NULL;
    zy_label_set *given = NULL;
    zy_task_data *d = NULL;
    zy_status st = zy_tokenizer_load(&tok, path);
    if (!st) st = zy_label_set_create(&given, (const char *const[]){"pos", "neg"}, 2);
    for (int i = 0; i < 4 && !st; i++) {
        zy_task task = i == 0 ? ZY_TASK_CLASSIFY : i == 3 ? ZY_TASK_QA : ZY_TASK_TAG;
        zy_task_read_params p = zy_task_read_default_params(task);
        p.skip_bad_rows = true;
        if (i == 0) p.text_pair_column = "b";
        snprintf(path, sizeof path, "%s/%s", root, TASK_FILES[i][0]);
        st = zy_task_data_read(&d, path, &p, i == 0 ? given : NULL);
        if (!st) st = task_features(tok, d, i == 2 ? 2 : 1);
        zy_task_data_free(d);
        d = NULL;
    }
    zy_label_set_free(given);
    zy_tokenizer_free(tok);
    return st;
}

TEST(oom_task_data) {
    char root[64], path[160];
    ASSERT(make_root(root, sizeof root, "task"));
    static const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\n##s\nsat\n"
                                "on\ndog\nwho\n?\na\nb\nc\nmat\n";
    snprintf(path, sizeof path, "%s/vocab.txt", root);
    write_text(path, vocab, sizeof vocab - 1);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", root, TASK_FILES[i][0]);
        write_text(path, TASK_FILES[i][1], strlen(TASK_FILES[i][1]));
    }
    run_case(&(oom_case){.name = "task data: readers, labels, features, sources",
                         .op = op_task, .ctx = root});
    zt_rm_tree(root);
}

// ---- instruction data ------------------------------------------------------------------------
// A file of both shapes (a bad line skipped), rows packed, a source and its batches, a
// conversation encoded for generation, the template recorded and read back; all freed.
static const char INSTRUCT_FILE[] =
    "{\"prompt\": \"the cat\", \"completion\": \"sat on the mat\", \"system\": \"s\"}\n"
    "{\"prompt\": \"no reply\"}\n"
    "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", "
    "\"content\": \"b\"}, {\"role\": \"user\", \"content\": \"c\"}, {\"role\": "
    "\"assistant\", \"content\": \"d\"}]}\n"
    "{\"prompt\": \"x\", \"completion\": \"y\"}\n";

static zy_status op_instruct(void *arg) {
    const char *root = arg;
    char path[160];
    snprintf(path, sizeof path, "%s/i.jsonl", root);
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 257;
    zy_tokenizer *tok = NULL;
    zy_instruct_data *d = NULL;
    zy_instruct_rows *r = NULL;
    zy_data_source *src = NULL;
    zy_batch b = {0};
    zy_chat_tokens x;
    zy_chat_tokens_init(&x);
    const zy_chat_template *t = zy_chat_template_default(), *back = NULL;
    zy_instruct_read_params rp = zy_instruct_read_default_params();
    rp.skip_bad_rows = true;
    zy_instruct_rows_params p = zy_instruct_rows_default_params();
    p.seq = 48;
    zy_instruct_source_params sp = zy_instruct_source_default_params();
    sp.batch = 2;
    zy_status st = zy_tokenizer_train_bpe_texts(&tok, NULL, NULL, 0, bp);
    if (!st) st = zy_instruct_data_read(&d, path, &rp);
    if (!st) st = zy_instruct_rows_create(&r, d, t, tok, &p);
    if (!st) st = zy_instruct_source_create(&src, r, &sp);
    if (!st) st = zy_batch_init(&b, &zy_data_source_get_info(src)->dims);
    if (!st) st = zy_data_source_next(src, &b);
    if (!st) st = zy_data_source_seek(src, (zy_data_pos){3, 0});
    if (!st) st = zy_data_source_next(src, &b);
    const zy_instruct_example *e = d ? zy_instruct_data_example(d, 1) : NULL;
    if (!st) st = zy_chat_encode(t, tok, e->messages, e->n_messages - 1, true, &x);
    if (!st) st = zy_chat_template_save(t, root);
    if (!st) st = zy_chat_template_load(root, &back);
    if (!st && back != t) st = ZY_STATUS_INVALID_ARGUMENT; // (reported as unexpected)
    zy_chat_tokens_destroy(&x);
    zy_batch_destroy(&b);
    zy_data_source_free(src);
    zy_instruct_rows_free(r);
    zy_instruct_data_free(d);
    zy_tokenizer_free(tok);
    return st;
}

TEST(oom_instruct_data) {
    char root[64], path[160];
    ASSERT(make_root(root, sizeof root, "instruct"));
    snprintf(path, sizeof path, "%s/i.jsonl", root);
    write_text(path, INSTRUCT_FILE, sizeof INSTRUCT_FILE - 1);
    run_case(&(oom_case){.name = "instruct data, template, source", .op = op_instruct,
                         .ctx = root});
    CHECK(temp_files(root) == 0);
    zt_rm_tree(root);
}

// ---- a session: forward, a larger batch, generation ----------------------------------------
typedef struct gen_ctx {
    const zy_model *m;
    int want[8], n_want; // the generation of the first (clean) run
    bool have_want;
} gen_ctx;

static zy_status op_generate(void *arg) {
    gen_ctx *c = arg;
    zy_session_params sp = zy_session_default_params();
    sp.batch = 2, sp.seq = 8, sp.n_seq = 2;
    zy_session *s;
    zy_status st = zy_session_create(&s, c->m, &sp);
    if (st) return st;
    int ids[3 * 16];
    for (int i = 0; i < 3 * 16; i++) ids[i] = i * 5 % V;
    zy_batch b = zt_batch(ids, ids, 2, 8);
    float loss;
    st = zy_session_forward(s, &b, &loss, NULL);
    if (!st) st = zy_session_prepare(s, 3, 16, 0); // grows the activations
    b = zt_batch(ids, NULL, 3, 16);
    if (!st) st = zy_session_forward(s, &b, NULL, NULL);
    zy_generate_params gp = zy_generate_default_params();
    gp.max_tokens = 8;
    gp.seed = 9;
    int out[8], n_out = 0;
    const int prompt[] = {1, 2, 3};
    if (!st) st = zy_generate(s, prompt, 3, &gp, out, &n_out);
    if (!st) st = zy_session_seq_copy(s, 1, 0);
    if (!st && !c->have_want) {
        memcpy(c->want, out, sizeof out);
        c->n_want = n_out;
        c->have_want = true;
    } else if (!st && (n_out != c->n_want || memcmp(out, c->want, (size_t)n_out * sizeof *out))) {
        zt_fail(__FILE__, __LINE__, "generate: other tokens than the first run");
    }
    zy_session_free(s);
    return st;
}

TEST(oom_session_generate) {
    zy_model *m = nano(21);
    ASSERT(m != NULL);
    gen_ctx c = {.m = m};
    run_case(&(oom_case){.name = "session + forward + generate", .op = op_generate, .ctx = &c});
    zy_model_free(m);
}

// A weight type (typed copies) and a session decoding over them; the copies dropped again
// (F32) at the end, so every round starts from the same model (its fp32 weights keep the
// rounded values, which rounding again leaves as they are).
static zy_status op_weight_type(void *arg) {
    zy_model *m = arg;
    zy_status st = zy_model_set_weight_type(m, ZY_WTYPE_Q8_0);
    zy_session *s = NULL;
    if (!st) st = zy_session_create(&s, m, NULL);
    int ids[3] = {1, 2, 3}, seq = 0;
    float logits[V];
    if (!st) st = zy_session_decode(s, 1, &seq, ids, 3, logits);
    if (!st) st = zy_session_decode(s, 1, &seq, ids, 1, logits);
    zy_session_free(s);
    zy_status st2 = zy_model_set_weight_type(m, ZY_WTYPE_F32); // frees, allocates nothing
    return st ? st : st2;
}

TEST(oom_weight_type) {
    zy_model *m = zt_gpt_create(2, 2, 64, 16, V, 0.0f, 22); // rows of 64: whole blocks
    ASSERT(m != NULL);
    run_case(&(oom_case){.name = "weight type + decode", .op = op_weight_type, .ctx = m});
    zy_model_free(m);
}

// ---- LoRA adapters -------------------------------------------------------------------------
typedef struct lora_ctx {
    char base[512], adapter[512];
    const float *want; // the adapter model's weights
    size_t n;
    const zy_model *m; // what save writes
    zy_lora_config lc;
} lora_ctx;

// A new adapter on the base, a training session, one forward and backward.
static zy_status op_lora_new(void *arg) {
    lora_ctx *c = arg;
    zy_model *m;
    zy_status st = zy_model_load_lora(&m, c->base, NULL, &c->lc);
    if (st) return st;
    zy_session_params sp = zy_session_default_params();
    sp.batch = 2, sp.seq = 8, sp.training = true;
    zy_session *s = NULL;
    int ids[16], types[16] = {0}, labels[2] = {0, 1};
    for (int i = 0; i < 16; i++) ids[i] = 1 + i * 5 % (V - 1);
    zy_batch b = zt_batch(ids, ids, 2, 8);
    b.token_type_ids = types, b.labels = labels;
    if (!(st = zy_session_create(&s, m, &sp)) && !(st = zy_session_forward(s, &b, NULL, NULL)))
        st = zy_session_backward(s, 1.0f);
    zy_session_free(s);
    zy_model_free(m);
    return st;
}

// The adapter directory: loaded (the saved weights), merged.
static zy_status op_lora_load(void *arg) {
    lora_ctx *c = arg;
    zy_model *m;
    zy_status st = zy_model_load(&m, c->adapter);
    if (st) return st;
    size_t n;
    const float *p = zy_model_params(m, &n);
    if (n != c->n || memcmp(p, c->want, n * sizeof *p))
        zt_fail(__FILE__, __LINE__, "adapter load: other weights than were saved");
    st = zy_model_merge_adapter(m);
    zy_model_free(m);
    return st;
}

static zy_status op_lora_save(void *arg) {
    lora_ctx *c = arg;
    return zy_model_save(c->m, c->adapter);
}

static void after_lora_save(void *arg, zy_status st, long k) {
    lora_ctx *c = arg;
    (void)st;
    if (temp_files(c->adapter) != 0)
        zt_fail(__FILE__, __LINE__, "adapter save, allocation %ld refused: temporary files "
                "left", k);
    zy_model *m;
    if (zy_model_load(&m, c->adapter)) {
        zt_fail(__FILE__, __LINE__, "adapter save, allocation %ld refused: the directory no "
                "longer loads: %s", k, zy_last_error());
        return;
    }
    size_t n;
    const float *p = zy_model_params(m, &n);
    if (n != c->n || memcmp(p, c->want, n * sizeof *p))
        zt_fail(__FILE__, __LINE__, "adapter save, allocation %ld refused: other weights", k);
    zy_model_free(m);
}

TEST(oom_lora) {
    char root[64];
    ASSERT(make_root(root, sizeof root, "lora"));
    for (int bert = 0; bert < 2 && !zt_failed(); bert++) {
        zt_bert_dims d = {"BertForPreTraining", 2, 2, 16, 32, 16, 2, V, 0.1f};
        zy_model *base = bert ? zt_bert_create(&d, 3) : nano(31);
        ASSERT(base != NULL);
        lora_ctx c = {.lc = zy_lora_default_config()};
        c.lc.r = 2, c.lc.dropout = 0.1f, c.lc.bias = ZY_LORA_BIAS_LORA_ONLY;
        c.lc.targets = bert ? "query,value,dense" : "c_attn,c_fc";
        snprintf(c.base, sizeof c.base, "%s/base%d", root, bert);
        snprintf(c.adapter, sizeof c.adapter, "%s/adapter%d", root, bert);
        ASSERT(zy_model_save(base, c.base) == ZY_STATUS_OK);
        zy_model_free(base);
        zy_model *m = NULL;
        ASSERT(zy_model_load_lora(&m, c.base, NULL, &c.lc) == ZY_STATUS_OK);
        ASSERT(zy_model_save(m, c.adapter) == ZY_STATUS_OK);
        c.m = m;
        c.want = zy_model_params(m, &c.n);
        run_case(&(oom_case){.name = bert ? "lora new + step (BERT)" : "lora new + step (GPT-2)",
                             .op = op_lora_new, .ctx = &c});
        if (!zt_failed())
            run_case(&(oom_case){.name = "lora adapter load + merge", .op = op_lora_load,
                                 .ctx = &c});
        if (!zt_failed())
            run_case(&(oom_case){.name = "lora adapter save", .op = op_lora_save,
                                 .after = after_lora_save, .ctx = &c});
        zy_model_free(m);
    }
    zt_rm_tree(root);
}

// ---- the arena ----------------------------------------------------------------------------
static zy_status op_arena(void *arg) {
    (void)arg;
    zy_arena *a;
    zy_status st = zy_arena_create(&a, 1 << 16);
    if (st) return st;
    if (!zy_arena_floats(a, 100)) st = ZY_STATUS_INVALID_ARGUMENT;
    zy_arena_free(a);
    return st;
}

TEST(oom_arena) { run_case(&(oom_case){.name = "arena create", .op = op_arena}); }

// ---- evaluation metrics ----------------------------------------------------------------------
// Every metric that allocates: the confusion matrix and its scores, multi-label and
// regression scores, the entity accumulator (new types' names mid-sentence: a refused one
// must leave the accumulator as it was, so the sentence can be added again), and SQuAD's
// normalisation and scoring, BLEU (13a) and chrF.
static zy_status op_metrics(void *arg) {
    (void)arg;
    zy_confusion *c;
    zy_status st = zy_confusion_create(&c, 3);
    if (st) return st;
    const int g[] = {0, 1, 2, 2}, p[] = {0, 2, 2, 1};
    zy_class_score per[3];
    zy_scores s;
    if (!(st = zy_confusion_add(c, g, p, 4))) st = zy_confusion_scores(c, per, &s);
    zy_confusion_free(c);
    if (st) return st;
    const uint8_t mg[] = {0, 1, 1, 1, 0, 0}, mp[] = {0, 1, 0, 1, 1, 0};
    if ((st = zy_multilabel_scores(mg, mp, 2, 3, NULL, &s))) return st;
    const float rg[] = {1, 2, 2, 5}, rp[] = {1.5f, 2, 3, 4};
    zy_regression_metrics r;
    if ((st = zy_regression_scores(rg, rp, 4, &r))) return st;

    zy_entity_eval *e;
    if ((st = zy_entity_eval_create(&e))) return st;
    const char *t1[] = {"B-PER", "I-PER", "O", "B-LOC", "S-ORG"}, *q1[] = {"B-PER", "O", "B-MISC", "I-LOC", "S-ORG"};
    const char *t2[] = {"I-A", "B-B", "B-C", "B-D", "B-E", "B-F", "B-G", "B-H", "B-I", "B-J"};
    st = zy_entity_eval_add(e, t1, 5, q1, 5);
    if (!st) st = zy_entity_eval_add(e, t2, 10, t2, 10); // past the first 8 types: the table grows
    if (!st) st = zy_entity_eval_scores(e, NULL, &s);
    if (!st && (zy_entity_eval_types(e) != 14 || s.tp != 12 || s.support != 13))
        zt_fail(__FILE__, __LINE__, "entity scores after a clean run: %d types, tp %lld",
                zy_entity_eval_types(e), (long long)s.tp);
    if (st == ZY_STATUS_OUT_OF_MEMORY) {
        // a refused add changed nothing: the counts are those of the sentences before it
        int64_t sent = zy_entity_eval_sentences(e);
        for (int i = 0; i < zy_entity_eval_types(e); i++)
            if (!zy_entity_eval_type(e, i)) zt_fail(__FILE__, __LINE__, "type %d lost", i);
        if (sent > 2) zt_fail(__FILE__, __LINE__, "sentences %lld", (long long)sent);
    }
    zy_entity_eval_free(e);
    if (st) return st;

    const char *gold[] = {"The Eiffel Tower", "eiffel tower!", "\xce\x9f\xce\x94\xce\x9f\xce\xa3"};
    int exact;
    double f1;
    if ((st = zy_squad_score("the Eiffel tower", gold, 3, &exact, &f1))) return st;
    zy_squad_totals tot = {0};
    if ((st = zy_squad_add(&tot, "Tower", gold, 3))) return st;
    char *norm;
    if ((st = zy_squad_normalize("An \xc4\xb0stanbul", &norm, NULL))) return st;
    zy_free(norm);

    const char *hyps[] = {"The cat sat on the mat.", "It wasn't &quot;here&quot;, 3.5-4."};
    const char *r1[] = {"The cat is on the mat.", "It was not here."}, *r2[] = {NULL, "x"};
    const char *const *refs[] = {r1, r2};
    zy_bleu_score bleu;
    zy_chrf_score chrf;
    if ((st = zy_bleu_corpus(hyps, 2, refs, 2, &bleu))) return st;
    if ((st = zy_chrf_corpus(hyps, 2, refs, 2, &chrf))) return st;
    if ((st = zy_bleu_tokenize_13a(hyps[1], &norm, NULL))) return st;
    zy_free(norm);
    zy_error_rate er;
    if ((st = zy_wer_corpus(hyps, r1, 2, &er))) return st;
    if ((st = zy_cer_corpus(hyps, r1, 2, &er))) return st;
    return ZY_STATUS_OK;
}

TEST(oom_metrics) { run_case(&(oom_case){.name = "metrics", .op = op_metrics}); }
