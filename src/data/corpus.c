// A corpus of documents for BERT pretraining (zy_corpus, data.h): building one sentence
// at a time, from text with one sentence per line and blank lines between documents, and
// from prose (paragraphs cut into sentences at their final punctuation).
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

// ---- prose ---------------------------------------------------------------------------------

// Closing quotes and brackets that may follow a sentence's final punctuation: their byte
// length at s[0..n), or 0.
static size_t closer(const char *s, size_t n) {
    if (n >= 1 && (s[0] == '"' || s[0] == '\'' || s[0] == ')' || s[0] == ']')) return 1;
    if (n >= 3 && (unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x80 &&
        ((unsigned char)s[2] == 0x99 || (unsigned char)s[2] == 0x9D)) // ’ ”
        return 3;
    if (n >= 2 && (unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xBB) return 2; // »
    return 0;
}

static bool is_ascii_letter(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

// Words whose period does not end a sentence (titles; "St." also abbreviates street).
static bool abbreviation(const char *w, size_t n) {
    static const char *const list[] = {"Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Prof",
                                       "Rev", "Col", "Gen", "Capt", "Lt", "Mt", "vs", "No"};
    if (n == 1) return true; // initials ("J. Smith"), "e.g.", "i.e."
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
        if (strlen(list[i]) == n && !memcmp(list[i], w, n)) return true;
    return false;
}

// Does the sentence end after the punctuation at p[i] of the paragraph p[0..n)? Returns
// the end (past any closers) or 0.
static size_t sentence_end(const char *p, size_t n, size_t i) {
    char ch = p[i];
    if (ch != '.' && ch != '!' && ch != '?') return 0;
    size_t e = i + 1, k;
    while (e < n && (p[e] == '.' || p[e] == '!' || p[e] == '?')) e++; // "?!", "..."
    while (e < n && (k = closer(p + e, n - e))) e += k;
    if (e < n && !is_space(p[e]) && p[e] != '\n') return 0;
    size_t next = e; // '"Who?" he asked.' is one sentence: a lower-case word continues it
    while (next < n && (is_space(p[next]) || p[next] == '\n')) next++;
    if (next < n && p[next] >= 'a' && p[next] <= 'z') return 0;
    if (ch == '.' && e == i + 1) {
        size_t w = i;
        while (w > 0 && is_ascii_letter(p[w - 1])) w--;
        if (i > w && abbreviation(p + w, i - w)) return 0;
    }
    return e;
}

// One sentence: s[0..n) with line breaks made spaces, encoded and appended.
static zy_status prose_sentence(zy_corpus *c, zy_tokenizer *tok, const char *s, size_t n,
                                char **buf, size_t *cap) {
    while (n > 0 && (is_space(*s) || *s == '\n')) s++, n--;
    while (n > 0 && (is_space(s[n - 1]) || s[n - 1] == '\n')) n--;
    if (n == 0) return ZY_STATUS_OK;
    if (n > *cap) {
        char *b = zy_alloc(2 * n);
        if (!b) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "corpus: out of memory");
        zy_free(*buf);
        *buf = b;
        *cap = 2 * n;
    }
    for (size_t i = 0; i < n; i++) (*buf)[i] = s[i] == '\n' || s[i] == '\r' ? ' ' : s[i];
    size_t room = n + 8, got = 0;
    zy_status st = reserve(c, room);
    if (st) return st;
    st = zy_tokenizer_encode(tok, *buf, n, 0, c->tokens + c->n_tokens, room, &got);
    if (st) return st;
    commit_sentence(c, got);
    return ZY_STATUS_OK;
}

// The sentences of the paragraph p[0..n) (its lines joined), appended.
static zy_status prose_paragraph(zy_corpus *c, zy_tokenizer *tok, const char *p, size_t n,
                                 char **buf, size_t *cap) {
    zy_status st = ZY_STATUS_OK;
    size_t s0 = 0;
    for (size_t k = 0; k < n && !st; k++) {
        size_t e = sentence_end(p, n, k);
        if (!e) continue;
        st = prose_sentence(c, tok, p + s0, e - s0, buf, cap);
        s0 = k = e; // p[e] is white space (or the end): no sentence ends there
    }
    if (!st && s0 < n) st = prose_sentence(c, tok, p + s0, n - s0, buf, cap);
    return st;
}

zy_status zy_corpus_add_prose(zy_corpus *c, zy_tokenizer *tok, const char *text, size_t len,
                              int doc_sentences) {
    if (!c || !tok || (len && !text))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "corpus: no corpus, tokenizer or text");
    char *buf = NULL;
    size_t cap = 0, line = 0, p0 = 0, p1 = 0, p_line = 0;
    bool in_par = false;
    // Sentences of the open document so far (it may have begun in an earlier call).
    uint64_t doc_start = c->doc_open ? c->documents[c->n_documents - 1] : c->n_sentences;
    zy_status st = ZY_STATUS_OK;
    for (size_t i = 0; i <= len && !st;) {
        const char *nl = i < len ? memchr(text + i, '\n', len - i) : NULL;
        size_t e = nl ? (size_t)(nl - text) : len;
        bool blank = true;
        for (size_t k = i; k < e && blank; k++) blank = is_space(text[k]);
        line++;
        if (!blank) {
            if (!in_par) p0 = i, p_line = line, in_par = true;
            p1 = e;
        }
        if (in_par && (blank || !nl)) { // a blank line or the end closes the paragraph
            in_par = false;
            st = prose_paragraph(c, tok, text + p0, p1 - p0, &buf, &cap);
            if (st) {
                st = zy__error(st, "paragraph at line %zu: %s", p_line, zy_last_error());
                break;
            }
            if (!c->doc_open) doc_start = c->n_sentences;
            if (doc_sentences > 0 && c->n_sentences - doc_start >= (uint64_t)doc_sentences) {
                zy_corpus_end_document(c);
                doc_start = c->n_sentences;
            }
        }
        if (!nl) break;
        i = e + 1;
    }
    zy_free(buf);
    if (!st) zy_corpus_end_document(c);
    return st;
}
