// A corpus of documents for BERT pretraining (zy_corpus, data.h): building one sentence
// at a time, and from text with one sentence per line and blank lines between documents.
// Not here: checking the ids or making examples (mlm_source.c reads the corpus).
#include <string.h>

#include "core/internal.h"
#include "zhuyi/data.h"

void zy_corpus_init(zy_corpus *c) { memset(c, 0, sizeof *c); }

void zy_corpus_destroy(zy_corpus *c) {
    if (!c) return;
    zy_free(c->tokens);
    zy_free(c->sentences);
    zy_free(c->documents);
    memset(c, 0, sizeof *c);
}

// Make room for `need` elements of `size` bytes in *arr (capacity *cap, `used` in use),
// at least doubling so appends cost O(1) on average.
static zy_status grow(void **arr, uint64_t *cap, uint64_t used, uint64_t need, size_t size,
                      const char *what) {
    if (need <= *cap) return ZY_STATUS_OK;
    uint64_t n = ZY_MAX(need, ZY_MAX(*cap * 2, (uint64_t)64));
    if (n > SIZE_MAX / size || need < used)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "corpus: out of memory for %llu %s",
                         (unsigned long long)need, what);
    void *p = zy_alloc((size_t)n * size);
    if (!p)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "corpus: out of memory for %llu %s",
                         (unsigned long long)n, what);
    if (used) memcpy(p, *arr, (size_t)used * size);
    zy_free(*arr);
    *arr = p;
    *cap = n;
    return ZY_STATUS_OK;
}

// Room for `n` more tokens, one more sentence and one more document, so the append that
// follows cannot fail half-way.
static zy_status reserve(zy_corpus *c, uint64_t n) {
    zy_status st;
    if ((st = grow((void **)&c->tokens, &c->cap_tokens, c->n_tokens, c->n_tokens + n,
                   sizeof *c->tokens, "tokens")) ||
        (st = grow((void **)&c->sentences, &c->cap_sentences,
                   c->sentences ? c->n_sentences + 1 : 0, c->n_sentences + 2,
                   sizeof *c->sentences, "sentences")) ||
        (st = grow((void **)&c->documents, &c->cap_documents,
                   c->documents ? c->n_documents + 1 : 0, c->n_documents + 2,
                   sizeof *c->documents, "documents")))
        return st;
    return ZY_STATUS_OK;
}

// The n ids now at tokens[n_tokens ..] become a sentence (room reserved).
static void commit_sentence(zy_corpus *c, uint64_t n) {
    if (n == 0) return;
    if (c->n_sentences == 0) c->sentences[0] = 0;
    if (c->n_documents == 0) c->documents[0] = 0;
    if (!c->doc_open) { // a new document starts with this sentence
        c->n_documents++;
        c->doc_open = true;
    }
    c->n_tokens += n;
    c->sentences[++c->n_sentences] = c->n_tokens;
    c->documents[c->n_documents] = c->n_sentences;
}

zy_status zy_corpus_add_sentence(zy_corpus *c, const int32_t *ids, size_t n) {
    if (!c || (n && !ids))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "corpus: no corpus or no ids");
    if (n == 0) return ZY_STATUS_OK;
    zy_status st = reserve(c, n);
    if (st) return st;
    memcpy(c->tokens + c->n_tokens, ids, n * sizeof *ids);
    commit_sentence(c, n);
    return ZY_STATUS_OK;
}

void zy_corpus_end_document(zy_corpus *c) {
    if (c) c->doc_open = false;
}

static bool is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

zy_status zy_corpus_add_text(zy_corpus *c, zy_tokenizer *tok, const char *text, size_t len) {
    if (!c || !tok || (len && !text))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "corpus: no corpus, tokenizer or text");
    size_t line = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len, b = i, e = end;
        line++;
        while (b < e && is_space(text[b])) b++;
        while (e > b && is_space(text[e - 1])) e--;
        i = end + 1;
        if (b == e) {
            zy_corpus_end_document(c);
            continue;
        }
        // Every token covers at least one byte, so e - b ids suffice; the margin is for
        // tokenizers that add tokens of their own.
        size_t cap = e - b + 8, got = 0;
        zy_status st = reserve(c, cap);
        if (st) return st;
        st = zy_tokenizer_encode(tok, text + b, e - b, 0, c->tokens + c->n_tokens, cap, &got);
        if (st) return zy__error(st, "line %zu: %s", line, zy_last_error());
        commit_sentence(c, got);
    }
    zy_corpus_end_document(c);
    return ZY_STATUS_OK;
}

zy_status zy_corpus_add_files(zy_corpus *c, zy_tokenizer *tok, const char *const *files,
                              int n) {
    if (!c || !tok || !files || n <= 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "corpus: no files to read");
    for (int i = 0; i < n; i++) {
        char *text;
        size_t len;
        zy_status st = zy_file_read(files[i], &text, &len);
        if (st) return st;
        uint64_t before = c->n_sentences;
        st = zy_corpus_add_text(c, tok, text, len);
        zy_free(text);
        if (st) return zy__error(st, "%s: %s", files[i], zy_last_error());
        if (c->n_sentences == before)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: no sentence (the file is empty or "
                             "every line is blank)", files[i]);
    }
    return ZY_STATUS_OK;
}
