// The character vocabulary of CTC speech models (speech_data.h): text normalisation,
// building from transcripts, encoding and decoding, and the Hugging Face
// Wav2Vec2CTCTokenizer files.
//
// vocab.json: one JSON object {token: id}. Checked: ids are integers, unique and dense
//   0..n-1 (n <= ZY_CHAR_VOCAB_MAX); tokens non-empty valid UTF-8, unique; the pad,
//   unknown and delimiter tokens present, distinct, pad at id 0; every token but those
//   and the bos/eos tokens exactly one code point.
// tokenizer_config.json (optional): pad_token, unk_token, word_delimiter_token,
//   bos_token, eos_token (string, {"content": string}, or null for bos/eos); the rest is
//   ignored. Written with tokenizer_class Wav2Vec2CTCTokenizer and do_lower_case false
//   (zhuyi lower-cases itself, before the tokenizer sees the text).
// Not here: the speech set and the source (speech_set.c, speech_source.c).
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#include "core/internal.h"
#include "zhuyi/speech_data.h"

#define NAME_MAX_BYTES 256
#define CP_LIMIT 0x110000

struct zy_char_vocab {
    int n;
    char *buf;        // every token's bytes, each NUL-terminated
    size_t *off;      // (n) token i at buf + off[i]
    uint8_t *special; // (n) 1: pad, unk, delimiter, bos or eos (never from text)
    int pad, unk, delim, bos, eos; // ids; bos, eos -1 when absent
    uint64_t *lookup; // (n_lookup) (code point << 32 | id) of the other tokens, sorted
    int n_lookup;
};

// ---- normalisation ----------------------------------------------------------------------
static bool is_space(int32_t cp) {
    if (cp == ' ' || (cp >= 9 && cp <= 13) || cp == 0x85 || cp == '|') return true;
    if (cp < 0x80) return false;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL ||
           c == UTF8PROC_CATEGORY_ZP;
}

zy_status zy_char_vocab_normalize(const char *text, size_t len, int32_t **out, size_t *n) {
    if (!out || !n || (!text && len))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "char vocab: no text or nowhere to put it");
    *out = NULL;
    *n = 0;
    if (len > ZY_CHAR_TEXT_MAX)
        return zy__error(ZY_STATUS_BAD_FORMAT, "text of %zu bytes: longer than %zu", len,
                         ZY_CHAR_TEXT_MAX);
    if (!len) return ZY_STATUS_OK;
    utf8proc_uint8_t *m = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len,
                                      &m, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT);
    if (r < 0)
        return zy__error(r == UTF8PROC_ERROR_NOMEM ? ZY_STATUS_OUT_OF_MEMORY
                                                   : ZY_STATUS_BAD_FORMAT,
                         "text: %s", utf8proc_errmsg(r));
    int32_t *cps = zy_alloc(((size_t)r + 1) * sizeof *cps);
    if (!cps) {
        free(m);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "text: out of memory normalising %zu bytes",
                         len);
    }
    size_t k = 0;
    bool gap = false;
    for (utf8proc_ssize_t i = 0; i < r;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t w = utf8proc_iterate(m + i, r - i, &cp);
        ZY_ASSERT(w > 0); // utf8proc_map wrote valid UTF-8
        i += w;
        if (is_space(cp)) {
            gap = k > 0;
            continue;
        }
        if (gap) cps[k++] = ' ';
        gap = false;
        cps[k++] = cp < 0x80 ? (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp) : utf8proc_tolower(cp);
    }
    free(m);
    if (!k) {
        zy_free(cps);
        return ZY_STATUS_OK;
    }
    *out = cps;
    *n = k;
    return ZY_STATUS_OK;
}

// ---- the vocabulary ---------------------------------------------------------------------
static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void zy_char_vocab_free(zy_char_vocab *v) {
    if (!v) return;
    zy_free(v->buf);
    zy_free(v->off);
    zy_free(v->special);
    zy_free(v->lookup);
    zy_free(v);
}

static zy_char_vocab *vocab_new(int n, size_t bytes) {
    zy_char_vocab *v = zy_calloc(1, sizeof *v);
    if (!v) return NULL;
    v->n = n;
    v->bos = v->eos = -1;
    v->buf = zy_alloc(bytes);
    v->off = zy_calloc((size_t)n, sizeof *v->off);
    v->special = zy_calloc((size_t)n, 1);
    v->lookup = zy_calloc((size_t)n, sizeof *v->lookup);
    if (!v->buf || !v->off || !v->special || !v->lookup) {
        zy_char_vocab_free(v);
        return NULL;
    }
    return v;
}

// The lookup table of the non-special single-code-point tokens (cps[id], -1 for others).
static void make_lookup(zy_char_vocab *v, const int32_t *cps) {
    v->n_lookup = 0;
    for (int i = 0; i < v->n; i++)
        if (!v->special[i] && cps[i] >= 0)
            v->lookup[v->n_lookup++] = (uint64_t)cps[i] << 32 | (uint32_t)i;
    qsort(v->lookup, (size_t)v->n_lookup, sizeof *v->lookup, cmp_u64);
}

static int find_cp(const zy_char_vocab *v, int32_t cp) {
    int lo = 0, hi = v->n_lookup;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int32_t c = (int32_t)(v->lookup[mid] >> 32);
        if (c == cp) return (int)(uint32_t)v->lookup[mid];
        if (c < cp) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

zy_status zy_char_vocab_build(zy_char_vocab **out, const char *const *texts, size_t n) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "char vocab: nowhere to put it");
    *out = NULL;
    if (!texts && n) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "char vocab: no texts");
    uint8_t *seen = zy_calloc(CP_LIMIT / 8, 1);
    if (!seen) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "char vocab: out of memory");
    for (size_t i = 0; i < n; i++) {
        int32_t *cps;
        size_t k;
        const char *t = texts[i] ? texts[i] : "";
        zy_status st = zy_char_vocab_normalize(t, strlen(t), &cps, &k);
        if (st) {
            zy_free(seen);
            return zy__error(st, "char vocab: text %zu: %s", i, zy_last_error());
        }
        for (size_t j = 0; j < k; j++)
            if (cps[j] != ' ') seen[cps[j] >> 3] |= (uint8_t)(1u << (cps[j] & 7));
        zy_free(cps);
    }
    int count = 3;
    for (int32_t c = 0; c < CP_LIMIT; c += 8)
        for (unsigned m = seen[c >> 3]; m; m &= m - 1) count++;
    // 3 specials "<pad>" "<unk>" "|" (6 + 6 + 2 bytes with NULs) + up to 5 bytes a token.
    zy_char_vocab *v = vocab_new(count, 14 + (size_t)(count - 3) * 5);
    int32_t *cps = zy_alloc((size_t)count * sizeof *cps);
    if (!v || !cps) {
        zy_char_vocab_free(v);
        zy_free(cps);
        zy_free(seen);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "char vocab: out of memory for %d tokens",
                         count);
    }
    static const char specials[] = "<pad>\0<unk>\0|";
    memcpy(v->buf, specials, sizeof specials);
    v->off[0] = 0, v->off[1] = 6, v->off[2] = 12;
    size_t at = sizeof specials;
    for (int i = 0; i < 3; i++) v->special[i] = 1, cps[i] = -1;
    v->pad = ZY_CHAR_PAD, v->unk = ZY_CHAR_UNK, v->delim = ZY_CHAR_DELIM;
    int id = 3;
    for (int32_t c = 0; c < CP_LIMIT; c++) {
        if (!seen[c >> 3]) { // most bytes are empty: skip 8 code points at once
            c |= 7;
            continue;
        }
        if (!(seen[c >> 3] >> (c & 7) & 1)) continue;
        v->off[id] = at;
        at += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)v->buf + at);
        v->buf[at++] = 0;
        cps[id++] = c;
    }
    make_lookup(v, cps);
    zy_free(cps);
    zy_free(seen);
    *out = v;
    return ZY_STATUS_OK;
}

int zy_char_vocab_size(const zy_char_vocab *v) { return v ? v->n : 0; }
const char *zy_char_vocab_token(const zy_char_vocab *v, int id) {
    return v && id >= 0 && id < v->n ? v->buf + v->off[id] : "";
}
int zy_char_vocab_pad(const zy_char_vocab *v) { return v ? v->pad : -1; }
int zy_char_vocab_unk(const zy_char_vocab *v) { return v ? v->unk : -1; }
int zy_char_vocab_delim(const zy_char_vocab *v) { return v ? v->delim : -1; }

zy_status zy_char_vocab_encode(const zy_char_vocab *v, const char *text, size_t len,
                               int32_t *ids, size_t cap, size_t *n) {
    if (!v || !n || (!ids && cap))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "char vocab encode: no vocabulary, ids "
                         "or count");
    *n = 0;
    int32_t *cps;
    size_t k;
    zy_status st = zy_char_vocab_normalize(text, len, &cps, &k);
    if (st) return st;
    *n = k;
    if (k > cap) {
        zy_free(cps);
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "char vocab encode: %zu ids do not fit "
                         "in %zu", k, cap);
    }
    for (size_t j = 0; j < k; j++) {
        int32_t c = cps[j];
        int id = c == ' ' ? v->delim : find_cp(v, c);
        if (id < 0) {
            int32_t up = utf8proc_toupper(c);
            if (up != c) id = find_cp(v, up);
        }
        ids[j] = id < 0 ? v->unk : id;
    }
    zy_free(cps);
    return ZY_STATUS_OK;
}

zy_status zy_char_vocab_decode(const zy_char_vocab *v, const int32_t *ids, size_t n,
                               char **out) {
    if (!v || !out || (!ids && n))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "char vocab decode: no vocabulary, ids "
                         "or output");
    *out = NULL;
    size_t bytes = 1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= v->n)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "char vocab decode: id %d at index "
                             "%zu is outside [0, %d)", (int)ids[i], i, v->n);
        bytes += strlen(v->buf + v->off[ids[i]]) + 1;
    }
    char *s = zy_alloc(bytes);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "char vocab decode: out of memory");
    size_t at = 0;
    bool gap = false;
    for (size_t i = 0; i < n; i++) {
        int id = ids[i];
        if (id == v->delim) {
            gap = at > 0;
            continue;
        }
        if (v->special[id]) continue;
        if (gap) s[at++] = ' ';
        gap = false;
        const char *t = v->buf + v->off[id];
        size_t l = strlen(t);
        memcpy(s + at, t, l);
        at += l;
    }
    s[at] = 0;
    *out = s;
    return ZY_STATUS_OK;
}

// ---- files ------------------------------------------------------------------------------
static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = zy_alloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static zy_status write_json(const char *dir, const char *name, cJSON *o) {
    char *path = join(dir, name);
    char *text = o ? cJSON_Print(o) : NULL;
    zy_status st;
    if (!path || !text) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s/%s: out of memory", dir, name);
    } else {
        size_t len = strlen(text);
        text[len] = '\n'; // cJSON_Print's NUL becomes the file's last newline
        st = zy_file_write_atomic(path, text, len + 1);
    }
    zy_free(path);
    cJSON_free(text);
    return st;
}

zy_status zy_char_vocab_save(const zy_char_vocab *v, const char *dir) {
    if (!v || !dir) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "char vocab save: no "
                                     "vocabulary or directory");
    zy_status st = zy_mkdirs(dir);
    if (st) return st;
    cJSON *voc = cJSON_CreateObject(), *cfg = cJSON_CreateObject();
    bool ok = voc && cfg;
    for (int i = 0; ok && i < v->n; i++)
        ok = cJSON_AddNumberToObject(voc, v->buf + v->off[i], i) != NULL;
    const char *names[] = {"bos_token", "eos_token"};
    int ids[] = {v->bos, v->eos};
    ok = ok && cJSON_AddStringToObject(cfg, "tokenizer_class", "Wav2Vec2CTCTokenizer") &&
         cJSON_AddStringToObject(cfg, "pad_token", v->buf + v->off[v->pad]) &&
         cJSON_AddStringToObject(cfg, "unk_token", v->buf + v->off[v->unk]) &&
         cJSON_AddStringToObject(cfg, "word_delimiter_token", v->buf + v->off[v->delim]) &&
         cJSON_AddFalseToObject(cfg, "do_lower_case") &&
         cJSON_AddStringToObject(cfg, "replace_word_delimiter_char", " ");
    for (int k = 0; ok && k < 2; k++)
        ok = (ids[k] >= 0 ? cJSON_AddStringToObject(cfg, names[k], v->buf + v->off[ids[k]])
                          : cJSON_AddNullToObject(cfg, names[k])) != NULL;
    if (!ok) st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", dir);
    if (!st) st = write_json(dir, "vocab.json", voc);
    if (!st) st = write_json(dir, "tokenizer_config.json", cfg);
    cJSON_Delete(voc);
    cJSON_Delete(cfg);
    return st;
}

// The special names a tokenizer_config.json gives (or the defaults).
typedef struct names {
    char s[5][NAME_MAX_BYTES + 1]; // pad, unk, delimiter, bos, eos; "" = none
} names;

static const char *const name_keys[5] = {"pad_token", "unk_token", "word_delimiter_token",
                                         "bos_token", "eos_token"};

static zy_status read_config(names *nm, const char *dir) {
    static const char *const defaults[5] = {"<pad>", "<unk>", "|", "<s>", "</s>"};
    for (int k = 0; k < 5; k++) snprintf(nm->s[k], sizeof nm->s[k], "%s", defaults[k]);
    char *path = join(dir, "tokenizer_config.json");
    if (!path) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", dir);
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        zy_free(path);
        return ZY_STATUS_OK;
    }
    char *text;
    size_t len;
    zy_status st = zy_file_read(path, &text, &len);
    if (st) {
        zy_free(path);
        return st;
    }
    cJSON *o = cJSON_ParseWithLength(text, len);
    zy_free(text);
    if (!cJSON_IsObject(o)) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a JSON object", path);
        goto done;
    }
    for (int k = 0; k < 5; k++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name_keys[k]);
        if (!x) continue;
        if (cJSON_IsObject(x)) x = cJSON_GetObjectItemCaseSensitive(x, "content");
        if (cJSON_IsNull(x) && k >= 3) {
            nm->s[k][0] = 0;
            continue;
        }
        if (!cJSON_IsString(x) || !x->valuestring[0] ||
            strlen(x->valuestring) > NAME_MAX_BYTES) {
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: key '%s': not a token name (a string "
                           "of 1 to %d bytes%s, or {\"content\": string})", path,
                           name_keys[k], NAME_MAX_BYTES, k >= 3 ? ", null" : "");
            goto done;
        }
        snprintf(nm->s[k], sizeof nm->s[k], "%s", x->valuestring);
    }
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (!strcmp(nm->s[a], nm->s[b])) {
                st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: keys '%s' and '%s' name the same "
                               "token '%s'", path, name_keys[a], name_keys[b], nm->s[a]);
                goto done;
            }
done:
    cJSON_Delete(o);
    zy_free(path);
    return st;
}

typedef struct tok_ref {
    const char *s;
    int id;
} tok_ref;

static int cmp_tok(const void *a, const void *b) {
    return strcmp(((const tok_ref *)a)->s, ((const tok_ref *)b)->s);
}

// Code points of s (valid UTF-8, NUL-terminated): the count (2 means "more than one"),
// *cp the first; -1 if not UTF-8.
static int code_points(const char *s, int32_t *cp) {
    size_t len = strlen(s);
    int count = 0;
    for (size_t i = 0; i < len && count < 2;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t w = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                              (utf8proc_ssize_t)(len - i), &c);
        if (w <= 0) return -1;
        if (!count) *cp = c;
        count++;
        i += (size_t)w;
    }
    return count;
}

static zy_status load_vocab(zy_char_vocab **out, const char *path, const cJSON *o,
                            const names *nm) {
    if (!cJSON_IsObject(o))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a JSON object {token: id}", path);
    int n = 0;
    size_t bytes = 0;
    for (const cJSON *x = o->child; x; x = x->next) {
        if (++n > ZY_CHAR_VOCAB_MAX)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: more than %d tokens", path,
                             ZY_CHAR_VOCAB_MAX);
        const char *key = x->string ? x->string : "";
        if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0) ||
            x->valuedouble != floor(x->valuedouble))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: key '%.64s': the id is not an integer "
                             ">= 0", path, key);
        int32_t cp;
        if (!key[0] || code_points(key, &cp) < 0)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: key '%.64s': a token must be "
                             "non-empty UTF-8", path, key);
        bytes += strlen(key) + 1;
    }
    if (!n) return zy__error(ZY_STATUS_BAD_FORMAT, "%s: no token", path);
    zy_char_vocab *v = vocab_new(n, bytes);
    tok_ref *refs = zy_alloc((size_t)n * sizeof *refs);
    int32_t *cps = zy_alloc((size_t)n * sizeof *cps);
    zy_status st = ZY_STATUS_OK;
    if (!v || !refs || !cps) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for %d tokens", path, n);
        goto fail;
    }
    for (int i = 0; i < n; i++) refs[i].s = NULL;
    for (const cJSON *x = o->child; x; x = x->next) {
        if (x->valuedouble >= n) {
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: key '%.64s': id %.0f is not below the "
                           "token count %d (ids must be 0..n-1)", path, x->string,
                           x->valuedouble, n);
            goto fail;
        }
        int id = (int)x->valuedouble;
        if (refs[id].s) {
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: keys '%.64s' and '%.64s' have the same "
                           "id %d", path, refs[id].s, x->string, id);
            goto fail;
        }
        refs[id] = (tok_ref){x->string, id};
    }
    size_t at = 0;
    for (int i = 0; i < n; i++) { // every id taken once: n ids in [0, n)
        size_t l = strlen(refs[i].s) + 1;
        memcpy(v->buf + at, refs[i].s, l);
        v->off[i] = at;
        at += l;
    }
    qsort(refs, (size_t)n, sizeof *refs, cmp_tok);
    for (int i = 1; i < n; i++)
        if (!strcmp(refs[i - 1].s, refs[i].s)) {
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: key '%.64s' appears twice", path,
                           refs[i].s);
            goto fail;
        }
    int *role[5] = {&v->pad, &v->unk, &v->delim, &v->bos, &v->eos};
    for (int k = 0; k < 5; k++) {
        *role[k] = -1;
        if (!nm->s[k][0]) continue;
        tok_ref key = {nm->s[k], 0};
        const tok_ref *hit = bsearch(&key, refs, (size_t)n, sizeof *refs, cmp_tok);
        if (hit) {
            *role[k] = hit->id;
            v->special[hit->id] = 1;
        } else if (k < 3) {
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: no token '%s' (the %s)", path, nm->s[k],
                           name_keys[k]);
            goto fail;
        }
    }
    if (v->pad != ZY_CHAR_PAD) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: key '%s': the pad token (the CTC blank) "
                       "has id %d, not 0", path, nm->s[0], v->pad);
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        cps[i] = -1;
        if (v->special[i]) continue;
        const char *s = v->buf + v->off[i];
        if (code_points(s, &cps[i]) != 1) {
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: key '%.64s' (id %d): a token other "
                           "than pad, unk, word delimiter, bos and eos must be one character",
                           path, s, i);
            goto fail;
        }
    }
    make_lookup(v, cps);
    zy_free(refs);
    zy_free(cps);
    *out = v;
    return ZY_STATUS_OK;
fail:
    zy_free(refs);
    zy_free(cps);
    zy_char_vocab_free(v);
    return st;
}

zy_status zy_char_vocab_load(zy_char_vocab **out, const char *dir) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "char vocab: nowhere to put it");
    *out = NULL;
    if (!dir) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "char vocab: no directory");
    names nm;
    zy_status st = read_config(&nm, dir);
    if (st) return st;
    char *path = join(dir, "vocab.json"), *text = NULL;
    if (!path) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", dir);
    size_t len;
    if (!(st = zy_file_read(path, &text, &len))) {
        cJSON *o = cJSON_ParseWithLength(text, len);
        st = o ? load_vocab(out, path, o, &nm)
               : zy__error(ZY_STATUS_BAD_FORMAT, "%s: not valid JSON", path);
        cJSON_Delete(o);
    }
    zy_free(text);
    zy_free(path);
    return st;
}
