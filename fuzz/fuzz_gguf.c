// libFuzzer harness: the GGUF reader and writer (include/zhuyi/gguf.h, src/io/gguf_*.c) and
// GGUF models (zy_model_load_gguf: src/models/gguf_*.c, src/text/gguf_vocab.c). The input
// is a file. Properties checked on every input:
//  - zy_gguf_open fails with ZY_STATUS_BAD_FORMAT or ZY_STATUS_UNSUPPORTED and a message
//    naming the file, or the handle describes a well-formed file: version 2 or 3; the
//    alignment a power of two and the data section aligned; keys non-empty, without NUL,
//    unique, each found by zy_gguf_find; value and element types known, no nested array,
//    bools 0 or 1; tensors named uniquely (found by zy_gguf_find_tensor), at most 4 dims,
//    numel the product of ne, ne[0] whole blocks, nbytes by the type's block size, offsets
//    aligned, inside the file, not overlapping;
//  - every tensor reads back (read_raw) as exactly its bytes of the file; quant.h's types
//    also as floats, bit for bit zy_dequantize_row of those bytes; other types are
//    refused by read_f32 (ZY_STATUS_UNSUPPORTED);
//  - written back with the writer (every pair, every tensor's bytes) and reopened: the
//    same pairs (types, values, array bytes, strings) and tensors (names, types, shapes,
//    bytes); writing the reopened handle again gives a byte-identical file;
//  - zy_model_load_gguf gives a model and a tokenizer of the same vocabulary size, or an
//    error naming the file (never a crash or an allocation the file's size does not
//    justify: every tensor is checked against the file before the parameters exist); so
//    does the decode-only load (zy_model_load_gguf_decoder, the file's own type: matrices
//    stored in it read straight into the typed weights), and a model it gives decodes a
//    token (finite weights) or zy_model_check_finite names a tensor.
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "zhuyi/gguf.h"

static int is_int(zy_gguf_type t) {
    return t == ZY_GGUF_INT8 || t == ZY_GGUF_INT16 || t == ZY_GGUF_INT32 || t == ZY_GGUF_INT64;
}

static void check_kv(const zy_gguf *g) {
    int n = zy_gguf_kv_count(g);
    FZ_CHECK(n >= 0 && !zy_gguf_kv_at(g, -1) && !zy_gguf_kv_at(g, n));
    for (int i = 0; i < n; i++) {
        const zy_gguf_kv *kv = zy_gguf_kv_at(g, i);
        FZ_CHECK(kv && kv->key && kv->key[0] && strlen(kv->key) <= ZY_GGUF_MAX_KEY);
        FZ_CHECK(zy_gguf_find(g, kv->key) == kv);
        FZ_CHECK((unsigned)kv->type < ZY_GGUF_TYPE_COUNT);
        if (kv->type == ZY_GGUF_STRING) FZ_CHECK(kv->str.s && kv->str.s[kv->str.len] == 0);
        if (kv->type != ZY_GGUF_ARRAY) continue;
        FZ_CHECK((unsigned)kv->elem < ZY_GGUF_TYPE_COUNT && kv->elem != ZY_GGUF_ARRAY);
        FZ_CHECK(kv->arr || kv->n == 0);
        for (uint64_t k = 0; kv->elem == ZY_GGUF_BOOL && k < kv->n; k++)
            FZ_CHECK(((const uint8_t *)kv->arr)[k] <= 1);
        for (uint64_t k = 0; kv->elem == ZY_GGUF_STRING && k < kv->n; k++) {
            const zy_gguf_str *s = (const zy_gguf_str *)kv->arr + k;
            FZ_CHECK(s->s && s->s[s->len] == 0);
        }
    }
    const zy_gguf_kv *a = zy_gguf_find(g, "general.alignment");
    FZ_CHECK(!a || (a->type == ZY_GGUF_UINT32 && a->v.u == zy_gguf_alignment(g)));
}

static int cmp_off(const void *a, const void *b) {
    const zy_gguf_tensor *x = *(const zy_gguf_tensor *const *)a;
    const zy_gguf_tensor *y = *(const zy_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void check_tensors(const zy_gguf *g, const unsigned char *file, size_t n) {
    int cnt = zy_gguf_tensor_count(g);
    uint32_t al = zy_gguf_alignment(g);
    uint64_t start = zy_gguf_data_offset(g);
    FZ_CHECK(cnt >= 0 && !zy_gguf_tensor_at(g, -1) && !zy_gguf_tensor_at(g, cnt));
    FZ_CHECK(al && !(al & (al - 1)) && start % al == 0 && (cnt == 0 || start <= n));
    const zy_gguf_tensor **by_off = malloc(((size_t)cnt + 1) * sizeof *by_off);
    FZ_CHECK(by_off);
    for (int i = 0; i < cnt; i++) {
        const zy_gguf_tensor *t = zy_gguf_tensor_at(g, i);
        by_off[i] = t;
        FZ_CHECK(t && t->name && t->name[0] && strlen(t->name) <= ZY_GGUF_MAX_NAME);
        FZ_CHECK(zy_gguf_find_tensor(g, t->name) == t);
        FZ_CHECK(t->ndim >= 0 && t->ndim <= ZY_GGUF_MAX_DIMS);
        size_t block, bytes;
        FZ_CHECK(zy_ggml_type_block(t->type, &block, &bytes));
        unsigned __int128 numel = 1;
        for (int d = 0; d < ZY_GGUF_MAX_DIMS; d++) {
            FZ_CHECK(d < t->ndim || t->ne[d] == 1);
            numel *= t->ne[d];
        }
        FZ_CHECK(numel == t->numel && t->ne[0] % block == 0);
        FZ_CHECK((unsigned __int128)t->numel / block * bytes == t->nbytes);
        FZ_CHECK(t->offset >= start && (t->offset - start) % al == 0);
        FZ_CHECK(t->offset <= n && t->nbytes <= n - t->offset);
        unsigned char *raw = malloc(t->nbytes + 1);
        FZ_CHECK(raw);
        FZ_CHECK(zy_gguf_read_raw(g, t->name, raw, t->nbytes) == ZY_STATUS_OK);
        FZ_CHECK(!memcmp(raw, file + t->offset, t->nbytes));
        FZ_CHECK(zy_gguf_read_raw(g, t->name, raw, t->nbytes + 1) == ZY_STATUS_SHAPE_MISMATCH);
        zy_wtype w;
        float *f = malloc(((size_t)t->numel + 1) * sizeof *f);
        FZ_CHECK(f);
        zy_status s = zy_gguf_read_f32(g, t->name, f, (size_t)t->numel);
        if (!zy_wtype_of_ggml_type(t->type, &w)) {
            FZ_CHECK(s == ZY_STATUS_UNSUPPORTED);
        } else {
            FZ_CHECK(s == ZY_STATUS_OK);
            // (numel 0 with a huge ne[0] is valid: no row is read, none is allocated)
            size_t row = t->numel ? (size_t)t->ne[0] : 0, rb = zy_wtype_row_bytes(w, row);
            float *want = malloc((row + 1) * sizeof *want);
            FZ_CHECK(want);
            for (size_t r = 0; row && r < t->numel / row; r++) {
                zy_dequantize_row(w, raw + r * rb, want, row);
                FZ_CHECK(!memcmp(want, f + r * row, row * sizeof *f));
            }
            free(want);
        }
        free(f);
        free(raw);
    }
    qsort(by_off, (size_t)cnt, sizeof *by_off, cmp_off);
    for (int i = 1; i < cnt; i++)
        FZ_CHECK(by_off[i - 1]->offset + by_off[i - 1]->nbytes <= by_off[i]->offset);
    free(by_off);
}

// The handle written back through the writer: *bufs keeps the tensor bytes alive. Returns
// the status of the write (a tensor name of 64 bytes is valid to read, too long to write).
static zy_status write_back(const zy_gguf *g, const char *path, void ***bufs) {
    zy_gguf_writer *w;
    FZ_CHECK(zy_gguf_writer_create(&w) == ZY_STATUS_OK);
    zy_status s = ZY_STATUS_OK;
    for (int i = 0; i < zy_gguf_kv_count(g) && !s; i++) {
        const zy_gguf_kv *kv = zy_gguf_kv_at(g, i);
        if (kv->type == ZY_GGUF_STRING) {
            s = zy_gguf_writer_set_string(w, kv->key, kv->str.s, kv->str.len);
        } else if (kv->type == ZY_GGUF_ARRAY && kv->elem == ZY_GGUF_STRING) {
            const zy_gguf_str *a = kv->arr;
            const char **p = malloc((kv->n + 1) * sizeof *p);
            size_t *l = malloc((kv->n + 1) * sizeof *l);
            FZ_CHECK(p && l);
            for (uint64_t k = 0; k < kv->n; k++) p[k] = a[k].s, l[k] = a[k].len;
            s = zy_gguf_writer_set_array_strings(w, kv->key, p, l, kv->n);
            free(p), free(l);
        } else if (kv->type == ZY_GGUF_ARRAY) {
            s = zy_gguf_writer_set_array(w, kv->key, kv->elem, kv->arr, kv->n);
        } else if (kv->type == ZY_GGUF_BOOL) {
            s = zy_gguf_writer_set_bool(w, kv->key, kv->v.b);
        } else if (kv->type == ZY_GGUF_FLOAT32 || kv->type == ZY_GGUF_FLOAT64) {
            s = zy_gguf_writer_set_float(w, kv->key, kv->type, kv->v.f);
        } else if (is_int(kv->type)) {
            s = zy_gguf_writer_set_int(w, kv->key, kv->type, kv->v.i);
        } else {
            s = zy_gguf_writer_set_uint(w, kv->key, kv->type, kv->v.u);
        }
        FZ_CHECKF(!s, "key %s: %s", kv->key, zy_last_error());
    }
    int cnt = zy_gguf_tensor_count(g);
    *bufs = calloc((size_t)cnt + 1, sizeof **bufs);
    FZ_CHECK(*bufs);
    for (int i = 0; i < cnt && !s; i++) {
        const zy_gguf_tensor *t = zy_gguf_tensor_at(g, i);
        FZ_CHECK(((*bufs)[i] = malloc(t->nbytes + 1)));
        FZ_CHECK(zy_gguf_read_raw(g, t->name, (*bufs)[i], t->nbytes) == ZY_STATUS_OK);
        // A 0-dim tensor is written with one dimension of 1 (the same elements).
        uint64_t one = 1;
        s = zy_gguf_writer_add_tensor(w, t->name, t->type, t->ndim ? t->ndim : 1,
                                      t->ndim ? t->ne : &one, (*bufs)[i]);
        if (s) FZ_CHECKF(strlen(t->name) >= ZY_GGUF_MAX_NAME, "%s", zy_last_error());
    }
    if (!s) FZ_CHECKF(!(s = zy_gguf_writer_write(w, path, NULL, NULL)), "%s", zy_last_error());
    zy_gguf_writer_free(w);
    return s;
}

static void same_file(const zy_gguf *a, const zy_gguf *b) {
    FZ_CHECK(zy_gguf_kv_count(a) == zy_gguf_kv_count(b));
    FZ_CHECK(zy_gguf_tensor_count(a) == zy_gguf_tensor_count(b));
    FZ_CHECK(zy_gguf_alignment(a) == zy_gguf_alignment(b));
    for (int i = 0; i < zy_gguf_kv_count(a); i++) {
        const zy_gguf_kv *x = zy_gguf_kv_at(a, i), *y = zy_gguf_kv_at(b, i);
        FZ_CHECK(!strcmp(x->key, y->key) && x->type == y->type);
        if (x->type == ZY_GGUF_STRING)
            FZ_CHECK(x->str.len == y->str.len && !memcmp(x->str.s, y->str.s, x->str.len));
        else if (x->type == ZY_GGUF_FLOAT32 || x->type == ZY_GGUF_FLOAT64)
            FZ_CHECK(!memcmp(&x->v.f, &y->v.f, sizeof x->v.f)); // NaN payloads too
        else if (x->type == ZY_GGUF_BOOL)
            FZ_CHECK(x->v.b == y->v.b);
        else if (x->type != ZY_GGUF_ARRAY)
            FZ_CHECK(x->v.u == y->v.u);
        if (x->type != ZY_GGUF_ARRAY) continue;
        FZ_CHECK(x->elem == y->elem && x->n == y->n);
        if (x->elem != ZY_GGUF_STRING) {
            FZ_CHECK(!memcmp(x->arr, y->arr, x->n * zy_gguf_type_size(x->elem)));
            continue;
        }
        for (uint64_t k = 0; k < x->n; k++) {
            const zy_gguf_str *p = (const zy_gguf_str *)x->arr + k;
            const zy_gguf_str *q = (const zy_gguf_str *)y->arr + k;
            FZ_CHECK(p->len == q->len && !memcmp(p->s, q->s, p->len));
        }
    }
    for (int i = 0; i < zy_gguf_tensor_count(a); i++) {
        const zy_gguf_tensor *x = zy_gguf_tensor_at(a, i), *y = zy_gguf_tensor_at(b, i);
        FZ_CHECK(!strcmp(x->name, y->name) && x->type == y->type && x->numel == y->numel &&
                 x->nbytes == y->nbytes && !memcmp(x->ne, y->ne, sizeof x->ne));
        unsigned char *p = malloc(x->nbytes + 1), *q = malloc(x->nbytes + 1);
        FZ_CHECK(p && q && !zy_gguf_read_raw(a, x->name, p, x->nbytes) &&
                 !zy_gguf_read_raw(b, y->name, q, y->nbytes) && !memcmp(p, q, x->nbytes));
        free(p), free(q);
    }
}

static void free_bufs(void **b, int n) {
    for (int i = 0; i < n; i++) free(b[i]);
    free(b);
}

static void roundtrip(const zy_gguf *g) {
    const char *p1 = fz_path("back1.gguf"), *p2;
    void **b1 = NULL, **b2 = NULL;
    if (write_back(g, p1, &b1)) {
        free_bufs(b1, zy_gguf_tensor_count(g));
        return;
    }
    zy_gguf *h;
    FZ_CHECKF(zy_gguf_open(&h, p1) == ZY_STATUS_OK, "%s", zy_last_error());
    FZ_CHECK(zy_gguf_version(h) == 3);
    same_file(g, h);
    p2 = fz_path("back2.gguf");
    FZ_CHECK(write_back(h, p2, &b2) == ZY_STATUS_OK);
    size_t n1, n2;
    unsigned char *f1 = fz_read(fz_path("back1.gguf"), &n1), *f2 = fz_read(p2, &n2);
    FZ_CHECK(f1 && f2 && n1 == n2 && !memcmp(f1, f2, n1));
    free(f1), free(f2);
    free_bufs(b1, zy_gguf_tensor_count(g));
    free_bufs(b2, zy_gguf_tensor_count(h));
    zy_gguf_free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fz_write("in.gguf", data, size);
    zy_gguf *g = NULL;
    zy_status s = zy_gguf_open(&g, path);
    if (s) {
        FZ_CHECK(g == NULL);
        fz_expect_error(s, path, ZY_STATUS_BAD_FORMAT, ZY_STATUS_UNSUPPORTED,
                        ZY_STATUS_UNSUPPORTED);
        return 0;
    }
    FZ_CHECK(zy_gguf_is_gguf(path));
    FZ_CHECK(zy_gguf_version(g) == 2 || zy_gguf_version(g) == 3);
    check_kv(g);
    check_tensors(g, data, size);
    roundtrip(g);
    zy_gguf_free(g);
    // As a model (whole, then decode-only): a model and its tokenizer, or an error naming
    // the file.
    for (int decode = 0; decode < 2; decode++) {
        zy_model *m = NULL;
        zy_tokenizer *t = NULL;
        s = decode ? zy_model_load_gguf_decoder(&m, &t, path, -1, NULL)
                   : zy_model_load_gguf(&m, &t, path, NULL);
        if (s) {
            FZ_CHECK(!m && !t);
            if (s == ZY_STATUS_SHAPE_MISMATCH) s = ZY_STATUS_NOT_FOUND; // both name a tensor
            fz_expect_error(s, path, ZY_STATUS_BAD_FORMAT, ZY_STATUS_UNSUPPORTED,
                            ZY_STATUS_NOT_FOUND);
            continue;
        }
        FZ_CHECK(m && t && zy_tokenizer_vocab_size(t) == zy_model_get_info(m)->vocab_size);
        if (decode && !zy_model_check_finite(m)) { // one token through the typed weights
            zy_session *ss = NULL;
            float *logits = malloc(sizeof(float) * (size_t)zy_model_get_info(m)->vocab_size);
            int seq = 0, tok = 0;
            FZ_CHECK(logits && !zy_session_create(&ss, m, NULL));
            FZ_CHECK(!zy_session_decode(ss, 1, &seq, &tok, 1, logits));
            zy_session_free(ss);
            free(logits);
        }
        zy_model_free(m);
        zy_tokenizer_free(t);
    }
    return 0;
}
