// Reading tokenizer files: GPT-2's vocab.json + merges.txt, and the Hugging Face
// tokenizer.json subset zhuyi supports; zy_tokenizer_load's dispatch (directory, JSON or
// vocab.txt; model.type) for both kinds. Every malformed input is an error naming the file
// and the field or line; nothing here can crash on bad input. Writing is in save.c.
// WordPiece's files are read in wp_load.c.
//
// vocab.json:  {"token": id, ...}, tokens spelled in GPT-2's byte-level alphabet.
// merges.txt:  optional first line "#version: ...", then "left right" per line (one space
//              between), rank = line order; empty lines are skipped.
// tokenizer.json (checked): model.type "BPE" (or absent), model.vocab {token: id},
//   model.merges ["a b", ...] or [["a","b"], ...]; model.dropout null/0,
//   continuing_subword_prefix / end_of_word_suffix null or "", byte_fallback and
//   ignore_merges false; normalizer null; pre_tokenizer ByteLevel (alone or the only
//   member of a Sequence) with add_prefix_space false and use_regex true; decoder null or
//   ByteLevel; added_tokens [{id, content, special}] (content is literal text, matched in
//   the input with ZY_ENCODE_SPECIAL). Ignored: post_processor, truncation, padding, and
//   the lstrip/rstrip/single_word/normalized flags of added tokens.
// Tokens are 1 to ZY__TOK_MAX_LEN (65535) bytes; a longer one is refused naming its id
// and the limit. A NUL anywhere in a JSON file (raw or \u0000) is refused with its line
// and column: cJSON would cut the string there.
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include <sys/stat.h>

#include "bpe.h"
#include "core/internal.h"
#include "wordpiece.h"

// Line number of a position in text (1-based), for parse errors.
static long line_of(const char *text, const char *at) {
    long line = 1;
    for (const char *p = text; p < at && *p; p++) line += *p == '\n';
    return line;
}

// The first NUL of the text, raw or as the escape \u0000 (in valid JSON a backslash
// occurs only in a string and escapes the next character), or NULL.
static const char *find_nul(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (!text[i]) return text + i;
        if (text[i] != '\\' || i + 1 == len) continue;
        if (text[i + 1] == 'u' && len - i >= 6 && !memcmp(text + i + 2, "0000", 4))
            return text + i;
        i++; // the escaped character
    }
    return NULL;
}

// cJSON ends its strings at a NUL, so a token holding one would be read cut short (and
// an added token "\u0000abc" as empty): such files are refused, naming the place.
static zy_status parse_json(const char *path, const char *text, size_t len, cJSON **out) {
    const char *end = NULL;
    errno = 0; // cJSON allocates with malloc, which sets ENOMEM when it fails
    *out = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!*out && errno == ENOMEM)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory parsing JSON", path);
    if (!*out) {
        const char *at = end ? end : text;
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not valid JSON (line %ld)", path,
                         line_of(text, at));
    }
    const char *nul = find_nul(text, len);
    if (nul) {
        const char *bol = nul;
        while (bol > text && bol[-1] != '\n') bol--;
        cJSON_Delete(*out);
        *out = NULL;
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s line %ld, column %ld: a string holds a NUL "
                         "character (\\u0000), which zhuyi's tokens cannot contain", path,
                         line_of(text, nul), (long)(nul - bol) + 1);
    }
    return ZY_STATUS_OK;
}

// A JSON number that is a whole id in [0, ZY__TOK_MAX_ID).
static int get_id(const cJSON *v, int32_t *id) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d < ZY__TOK_MAX_ID) || d != floor(d)) return 0;
    *id = (int32_t)d;
    return 1;
}

// A token is at most ZY__TOK_MAX_LEN bytes, each spelled in one or two bytes of the
// byte-level alphabet: one buffer of DECODE_CAP bytes decodes any token of a file.
#define DECODE_CAP (2 * (size_t)ZY__TOK_MAX_LEN)

// A byte-level token string -> its id, or -1 (not in the alphabet or not in the vocab).
// buf has DECODE_CAP bytes; a longer string is longer than any token.
static int32_t find_bytelevel(const zy_tokenizer *t, const char *s, size_t n, uint8_t *buf) {
    if (n > DECODE_CAP) return -1;
    long k = zy__bytelevel_decode(s, n, buf);
    return k <= 0 ? -1 : zy_tokenizer_find(t, (const char *)buf, (size_t)k);
}

// Vocab object -> tokens (buf: DECODE_CAP bytes). An entry that is an added token already
// stored with its literal content (load_json adds those first) is skipped.
static zy_status add_vocab(zy_tokenizer *t, const cJSON *vocab, const char *what,
                           uint8_t *buf) {
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        int32_t id;
        if (!get_id(e, &id))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: token '%.80s' has no valid id", what,
                             e->string);
        size_t n = strlen(e->string);
        if (t->tok_added[id] && t->tok_len[id] == n && !memcmp(t->pool + t->tok_off[id], e->string, n))
            continue; // an added token, stored with its literal content
        if (n == 0)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: token id %d is the empty string (a "
                             "token is 1 to %d bytes)", what, (int)id, ZY__TOK_MAX_LEN);
        long k = n <= DECODE_CAP ? zy__bytelevel_decode(e->string, n, buf) : LONG_MAX;
        if (k > ZY__TOK_MAX_LEN)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: token '%.40s...' (id %d) is longer "
                             "than %d bytes, the limit of a token (%zu bytes as spelled in "
                             "the file)", what, e->string, (int)id, ZY__TOK_MAX_LEN, n);
        if (k < 0)
            return zy__error(ZY_STATUS_BAD_FORMAT,
                             "%s: token '%.80s' (id %d) has a character outside GPT-2's "
                             "byte-level alphabet (or is not valid UTF-8)", what, e->string,
                             (int)id);
        zy_status s = zy__tok_add(t, id, buf, (size_t)k, 0, what);
        if (s) return s;
    }
    return ZY_STATUS_OK;
}

static zy_status max_id(const cJSON *vocab, const char *what, int32_t *mx) {
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        int32_t id;
        if (!get_id(e, &id))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: token '%.80s' has no valid id "
                             "(a whole number 0..%d)", what, e->string ? e->string : "",
                             ZY__TOK_MAX_ID - 1);
        *mx = ZY_MAX(*mx, id);
    }
    return ZY_STATUS_OK;
}

// One merge given as its two byte-level halves.
static zy_status add_merge_str(zy_tokenizer *t, const char *a, size_t na, const char *b,
                               size_t nb, const char *what, long line, uint8_t *buf) {
    int32_t ia = find_bytelevel(t, a, na, buf), ib = find_bytelevel(t, b, nb, buf);
    if (ia < 0 || ib < 0) {
        const char *bad = ia < 0 ? a : b;
        int nbad = (int)(ia < 0 ? na : nb);
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s %ld: merge names '%.*s', which is not in "
                         "the vocab", what, line, nbad > 80 ? 80 : nbad, bad);
    }
    return zy__tok_add_merge(t, ia, ib, what, line);
}

zy_status zy_tokenizer_load_gpt2(zy_tokenizer **out, const char *vocab_json,
                                 const char *merges_txt) {
    if (!out || !vocab_json || !merges_txt)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer load: NULL argument");
    *out = NULL;
    char *vtext = NULL, *mtext = NULL;
    size_t vlen, mlen;
    cJSON *vocab = NULL;
    zy_tokenizer *t = NULL;
    uint8_t *buf = NULL;
    zy_status s;
    if ((s = zy_file_read(vocab_json, &vtext, &vlen))) goto fail;
    if ((s = zy_file_read(merges_txt, &mtext, &mlen))) goto fail;
    if ((s = parse_json(vocab_json, vtext, vlen, &vocab))) goto fail;
    if (!cJSON_IsObject(vocab)) {
        s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: expected a JSON object {token: id}", vocab_json);
        goto fail;
    }
    int32_t mx = -1;
    if ((s = max_id(vocab, vocab_json, &mx))) goto fail;
    if (mx < 255) {
        s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: %d tokens; byte-level BPE needs at least the "
                      "256 single bytes", vocab_json, (int)mx + 1);
        goto fail;
    }
    if (!(buf = zy_alloc(DECODE_CAP))) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", vocab_json);
        goto fail;
    }
    if ((s = zy__tok_create(&t, mx + 1))) goto fail;
    if ((s = add_vocab(t, vocab, vocab_json, buf))) goto fail;
    int eot = zy_tokenizer_find(t, "<|endoftext|>", 13);
    if (eot >= 0) t->tok_added[eot] = 2;
    // merges.txt, line by line.
    long line = 0;
    for (char *p = mtext, *end = mtext + mlen; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        line++;
        size_t n = (size_t)(e - p);
        if (n && p[n - 1] == '\r') n--;
        if (n && !(line == 1 && !strncmp(p, "#version", 8))) {
            char *sp = memchr(p, ' ', n);
            if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp + 1 - p)) || sp == p || sp == p + n - 1) {
                s = zy__error(ZY_STATUS_BAD_FORMAT, "%s line %ld: expected 'left right' "
                              "(two tokens, one space)", merges_txt, line);
                goto fail;
            }
            char what[512];
            snprintf(what, sizeof what, "%s line", merges_txt);
            if ((s = add_merge_str(t, p, (size_t)(sp - p), sp + 1, n - (size_t)(sp + 1 - p),
                                   what, line, buf)))
                goto fail;
        }
        p = e + 1;
    }
    if ((s = zy__tok_finish(t, merges_txt))) goto fail;
    zy__tok_set_source(t, vocab_json);
    cJSON_Delete(vocab);
    zy_free(buf);
    zy_free(vtext);
    zy_free(mtext);
    *out = t;
    return ZY_STATUS_OK;
fail:
    zy_tokenizer_free(t);
    cJSON_Delete(vocab);
    zy_free(buf);
    zy_free(vtext);
    zy_free(mtext);
    return s;
}

// ---- tokenizer.json ------------------------------------------------------------------
static const char *type_of(const cJSON *o) {
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(ty) ? ty->valuestring : "";
}

static int is_false_or_absent(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return !v || cJSON_IsFalse(v) || cJSON_IsNull(v);
}

static int is_empty_str_or_absent(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return !v || cJSON_IsNull(v) || (cJSON_IsString(v) && !v->valuestring[0]);
}

static zy_status check_options(const char *path, const cJSON *root, const cJSON *model) {
    const cJSON *v;
    if (cJSON_GetObjectItemCaseSensitive(model, "type") && strcmp(type_of(model), "BPE"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: model.type '%s' (only BPE and WordPiece "
                         "are supported)", path, type_of(model));
    v = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (v && !cJSON_IsNull(v) && !(cJSON_IsNumber(v) && v->valuedouble == 0))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: model.dropout is not supported", path);
    if (!is_empty_str_or_absent(model, "continuing_subword_prefix") ||
        !is_empty_str_or_absent(model, "end_of_word_suffix"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: model.continuing_subword_prefix / "
                         "end_of_word_suffix are not supported", path);
    if (!is_false_or_absent(model, "byte_fallback") || !is_false_or_absent(model, "ignore_merges"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: model.byte_fallback / ignore_merges are "
                         "not supported", path);
    v = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (v && !cJSON_IsNull(v))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: normalizer '%s' is not supported (only "
                         "null)", path, type_of(v));
    v = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (v && !strcmp(type_of(v), "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(v, "pretokenizers");
        v = cJSON_GetArraySize(list) == 1 ? cJSON_GetArrayItem(list, 0) : NULL;
    }
    if (!v || strcmp(type_of(v), "ByteLevel"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: pre_tokenizer must be ByteLevel", path);
    const cJSON *aps = cJSON_GetObjectItemCaseSensitive(v, "add_prefix_space");
    if (!cJSON_IsFalse(aps))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: pre_tokenizer.add_prefix_space must be "
                         "false (true, or absent meaning true, is not supported)", path);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "use_regex")) &&
        cJSON_GetObjectItemCaseSensitive(v, "use_regex"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: pre_tokenizer.use_regex must be true", path);
    v = cJSON_GetObjectItemCaseSensitive(root, "decoder");
    if (v && !cJSON_IsNull(v) && strcmp(type_of(v), "ByteLevel"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: decoder '%s' is not supported (only "
                         "ByteLevel or null)", path, type_of(v));
    return ZY_STATUS_OK;
}

static zy_status load_json(zy_tokenizer **out, const char *path, const cJSON *root,
                           zy_tokenizer_load_params p) {
    char what[600];
    zy_status s;
    if (!cJSON_IsObject(root))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: expected a JSON object", path);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsObject(model))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'model' missing or not an object", path);
    if (!strcmp(type_of(model), "WordPiece")) return zy__wp_load_json(out, path, root, p);
    if ((s = check_options(path, root, model))) return s;
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!cJSON_IsObject(vocab))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'model.vocab' missing or not an "
                         "object", path);
    if (!cJSON_IsArray(merges))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'model.merges' missing or not an "
                         "array", path);
    if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'added_tokens' is not an array", path);
    snprintf(what, sizeof what, "%s: model.vocab", path);
    int32_t mx = -1;
    if ((s = max_id(vocab, what, &mx))) return s;
    const cJSON *a;
    int k = 0;
    cJSON_ArrayForEach(a, added) {
        int32_t id;
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(a, "content");
        if (!get_id(cJSON_GetObjectItemCaseSensitive(a, "id"), &id) || !cJSON_IsString(content))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: added_tokens[%d] needs a whole 'id' "
                             "and a string 'content'", path, k);
        mx = ZY_MAX(mx, id);
        k++;
    }
    zy_tokenizer *t;
    if (mx < 255)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: %d tokens; byte-level BPE needs at least "
                         "the 256 single bytes", path, (int)mx + 1);
    uint8_t *buf = zy_alloc(DECODE_CAP);
    if (!buf) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    if ((s = zy__tok_create(&t, mx + 1))) {
        zy_free(buf);
        return s;
    }
    // Added tokens first, with their literal content, so the vocab's copy of them (which
    // need not be in the byte-level alphabet) is recognised and skipped.
    k = 0;
    cJSON_ArrayForEach(a, added) {
        int32_t id = 0;
        get_id(cJSON_GetObjectItemCaseSensitive(a, "id"), &id); // checked in the first pass
        const char *c = cJSON_GetObjectItemCaseSensitive(a, "content")->valuestring;
        int special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "special"));
        snprintf(what, sizeof what, "%s: added_tokens[%d]", path, k++);
        if ((s = zy__tok_add(t, id, (const uint8_t *)c, strlen(c), special ? 2 : 1, what)))
            goto fail;
    }
    snprintf(what, sizeof what, "%s: model.vocab", path);
    if ((s = add_vocab(t, vocab, what, buf))) goto fail;
    snprintf(what, sizeof what, "%s: model.merges", path);
    k = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        k++;
        if (cJSON_IsString(m)) {
            const char *str = m->valuestring, *sp = strchr(str, ' ');
            size_t n = strlen(str);
            if (!sp || sp == str || !sp[1] || strchr(sp + 1, ' ')) {
                s = zy__error(ZY_STATUS_BAD_FORMAT, "%s[%d]: expected \"left right\"", what,
                              k - 1);
                goto fail;
            }
            s = add_merge_str(t, str, (size_t)(sp - str), sp + 1, n - (size_t)(sp + 1 - str),
                              what, k - 1, buf);
        } else if (cJSON_GetArraySize(m) == 2 && cJSON_IsString(cJSON_GetArrayItem(m, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(m, 1))) {
            const char *l = cJSON_GetArrayItem(m, 0)->valuestring;
            const char *r = cJSON_GetArrayItem(m, 1)->valuestring;
            s = add_merge_str(t, l, strlen(l), r, strlen(r), what, k - 1, buf);
        } else {
            s = zy__error(ZY_STATUS_BAD_FORMAT, "%s[%d]: expected \"left right\" or "
                          "[\"left\", \"right\"]", what, k - 1);
        }
        if (s) goto fail;
    }
    if ((s = zy__tok_finish(t, path))) goto fail;
    zy_free(buf);
    zy__tok_set_source(t, path);
    *out = t;
    return ZY_STATUS_OK;
fail:
    zy_free(buf);
    zy_tokenizer_free(t);
    return s;
}

zy_tokenizer_load_params zy_tokenizer_load_default_params(void) {
    return (zy_tokenizer_load_params){.lowercase = -1, .strip_accents = -1,
                                      .tokenize_chinese_chars = -1};
}

static int is_file(const char *dir, const char *name, char *buf, size_t cap) {
    struct stat st;
    snprintf(buf, cap, "%s/%s", dir, name);
    return stat(buf, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

zy_status zy_tokenizer_load_with(zy_tokenizer **out, const char *path,
                                 zy_tokenizer_load_params p) {
    if (!out || !path) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer load: NULL argument");
    *out = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char a[4096], b[4096];
        if (is_file(path, "tokenizer.json", a, sizeof a)) return zy_tokenizer_load_with(out, a, p);
        if (is_file(path, "vocab.txt", a, sizeof a)) return zy__wp_load_vocab_txt(out, a, p);
        if (is_file(path, "vocab.json", a, sizeof a) && is_file(path, "merges.txt", b, sizeof b))
            return zy_tokenizer_load_gpt2(out, a, b);
        if (is_file(path, "encoder.json", a, sizeof a) && is_file(path, "vocab.bpe", b, sizeof b))
            return zy_tokenizer_load_gpt2(out, a, b);
        return zy__error(ZY_STATUS_NOT_FOUND, "%s: a directory without tokenizer.json, vocab.txt, "
                         "vocab.json + merges.txt or encoder.json + vocab.bpe", path);
    }
    char *text;
    size_t len;
    cJSON *root;
    zy_status s = zy_file_read(path, &text, &len);
    if (s) return s;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) i++;
    // A vocab.txt may start with a '{' token: its name says what it is, as in a directory.
    if (ends_with(path, ".txt") || (!ends_with(path, ".json") && !(i < len && text[i] == '{'))) {
        zy_free(text);
        return zy__wp_load_vocab_txt(out, path, p);
    }
    if (!(s = parse_json(path, text, len, &root))) {
        s = load_json(out, path, root, p);
        cJSON_Delete(root);
    }
    zy_free(text);
    return s;
}

zy_status zy_tokenizer_load(zy_tokenizer **out, const char *path) {
    return zy_tokenizer_load_with(out, path, zy_tokenizer_load_default_params());
}
