// Reading WordPiece tokenizers. Every malformed input is an error naming the file and the
// line or field; nothing here can crash on bad input. Writing is in wp_save.c.
//
// vocab.txt: one token per line, id = line number - 1, UTF-8; lines end in "\n" (a "\r"
//   before it is dropped); the last line may lack its "\n". Checked: at least one line,
//   no empty line, no token longer than ZY__WP_TOKEN_MAX (1024) bytes, valid UTF-8, no
//   token twice, and [UNK] (or the configured unknown token) present.
// tokenizer_config.json beside it (optional; transformers writes it): do_lower_case,
//   strip_accents (true/false/null), tokenize_chinese_chars, and unk_token / cls_token /
//   sep_token / pad_token / mask_token (a string, or an object with "content").
//   Everything else in it is ignored.
// tokenizer.json with model.type "WordPiece": model.vocab {token: id}, model.unk_token,
//   model.continuing_subword_prefix (up to 15 bytes), model.max_input_chars_per_word;
//   normalizer BertNormalizer (clean_text true; handle_chinese_chars, strip_accents,
//   lowercase); pre_tokenizer BertPreTokenizer; post_processor null, BertProcessing or
//   TemplateProcessing (single: $A once, pair: $A and $B once each, special tokens
//   from its special_tokens map, at most 16 pieces); decoder WordPiece (prefix,
//   cleanup); added_tokens [{id, content, special}] (matched in the text with
//   ZY_ENCODE_SPECIAL). padding.pad_token names the padding token. Ignored: truncation,
//   padding's other fields, the lstrip/rstrip/single_word/normalized flags.
#include <errno.h>
#include <math.h>
#include <string.h>
#include <utf8proc.h>

#include "core/internal.h"
#include "wordpiece.h"

static const char *const role_key[ZY_SPECIAL_COUNT] = {
    "unk_token", "cls_token", "sep_token", "pad_token", "mask_token", "bos_token", "eos_token"};

void zy__wp_defaults(zy_tokenizer *t) {
    static const char *const names[] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"};
    t->type = ZY_TOKENIZER_WORDPIECE;
    t->wp = (zy__wp){.lowercase = 1, .chinese = 1, .strip_accents = -1, .cleanup = 1,
                     .max_chars = 100, .prefix = "##", .prefix_len = 2};
    for (int r = 0; r < ZY_SPECIAL_COUNT; r++) {
        t->special[r] = -1;
        snprintf(t->special_name[r], sizeof t->special_name[r], "%s", r < 5 ? names[r] : "");
    }
}

void zy__wp_apply_params(zy_tokenizer *t, zy_tokenizer_load_params p) {
    if (p.lowercase >= 0) t->wp.lowercase = p.lowercase != 0;
    if (p.strip_accents >= 0) t->wp.strip_accents = p.strip_accents != 0;
    if (p.tokenize_chinese_chars >= 0) t->wp.chinese = p.tokenize_chinese_chars != 0;
}

static zy_status set_name(zy_tokenizer *t, int role, const char *name, const char *what) {
    if (strlen(name) >= sizeof t->special_name[role] || !name[0])
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: %s '%.40s' is empty or longer than %zu "
                         "bytes", what, role_key[role], name, sizeof t->special_name[role] - 1);
    snprintf(t->special_name[role], sizeof t->special_name[role], "%s", name);
    return ZY_STATUS_OK;
}

zy_status zy__wp_finish(zy_tokenizer *t, const char *what) {
    for (int r = 0; r < ZY_SPECIAL_COUNT; r++) {
        const char *nm = t->special_name[r];
        if (t->special[r] < 0 && nm[0]) t->special[r] = zy_tokenizer_find(t, nm, strlen(nm));
        if (t->special[r] >= 0 && !t->tok_added[t->special[r]]) t->tok_added[t->special[r]] = 2;
    }
    if (t->special[ZY_SPECIAL_UNK] < 0)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: no %s token (WordPiece needs it for "
                         "words it cannot split)", what, t->special_name[ZY_SPECIAL_UNK]);
    int32_t cls = t->special[ZY_SPECIAL_CLS], sep = t->special[ZY_SPECIAL_SEP];
    if (!t->tpl.n_single && cls >= 0 && sep >= 0) { // BERT's: [CLS] A [SEP] (B:1 [SEP]:1)
        zy__template *tp = &t->tpl;
        tp->single[0] = (zy__tpl_piece){-1, 0, cls};
        tp->single[1] = (zy__tpl_piece){0, 0, -1};
        tp->single[2] = (zy__tpl_piece){-1, 0, sep};
        tp->n_single = 3;
        memcpy(tp->pair, tp->single, sizeof tp->single);
        tp->pair[3] = (zy__tpl_piece){1, 1, -1};
        tp->pair[4] = (zy__tpl_piece){-1, 1, sep};
        tp->n_pair = 5;
    }
    return zy__tok_finish(t, what);
}

// Valid UTF-8 without NUL (which text can never produce: cleaning drops it).
static int valid_utf8(const uint8_t *s, size_t n) {
    if (memchr(s, 0, n)) return 0;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)ZY_MIN(n - i, 4), &cp);
        if (k <= 0) return 0;
        i += (size_t)k;
    }
    return 1;
}

// ---- tokenizer_config.json ------------------------------------------------------------
static zy_status get_bool(const cJSON *o, const char *key, const char *path, int null_ok,
                          int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return ZY_STATUS_OK;
    if (cJSON_IsBool(v)) *out = cJSON_IsTrue(v);
    else if (null_ok && cJSON_IsNull(v)) *out = -1;
    else
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field '%s' must be true or false%s", path,
                         key, null_ok ? " or null" : "");
    return ZY_STATUS_OK;
}

zy_status zy__wp_read_config(zy_tokenizer *t, const char *path) {
    char cfg[4096];
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path) : 0;
    if (slash) snprintf(cfg, sizeof cfg, "%.*s/tokenizer_config.json", dir, path);
    else snprintf(cfg, sizeof cfg, "tokenizer_config.json");
    FILE *f = fopen(cfg, "rb");
    if (!f) return ZY_STATUS_OK; // optional
    fclose(f);
    char *text;
    size_t len;
    zy_status s = zy_file_read(cfg, &text, &len);
    if (s) return s;
    errno = 0; // cJSON allocates with malloc, which sets ENOMEM when it fails
    cJSON *root = cJSON_ParseWithLength(text, len);
    zy_free(text);
    if (!root && errno == ENOMEM)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory parsing JSON", cfg);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a JSON object", cfg);
    }
    int lower = t->wp.lowercase, strip = t->wp.strip_accents, cjk = t->wp.chinese;
    if (!(s = get_bool(root, "do_lower_case", cfg, 0, &lower)) &&
        !(s = get_bool(root, "strip_accents", cfg, 1, &strip)) &&
        !(s = get_bool(root, "tokenize_chinese_chars", cfg, 0, &cjk))) {
        t->wp.lowercase = (uint8_t)lower;
        t->wp.strip_accents = (int8_t)strip;
        t->wp.chinese = (uint8_t)cjk;
    }
    for (int r = 0; r < ZY_SPECIAL_COUNT && !s; r++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, role_key[r]);
        if (v && cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
        if (!v || cJSON_IsNull(v)) continue;
        if (!cJSON_IsString(v))
            s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: field '%s' must be a string or an object "
                          "with a string 'content'", cfg, role_key[r]);
        else
            s = set_name(t, r, v->valuestring, cfg);
    }
    cJSON_Delete(root);
    return s;
}

// ---- vocab.txt --------------------------------------------------------------------------
zy_status zy__wp_load_vocab_txt(zy_tokenizer **out, const char *path,
                                zy_tokenizer_load_params p) {
    char *text;
    size_t len;
    zy_status s = zy_file_read(path, &text, &len);
    if (s) return s;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    if (len && text[len - 1] != '\n') lines++; // a last line without its newline
    zy_tokenizer *t = NULL;
    if (lines == 0) {
        s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: empty vocabulary (one token per line)", path);
        goto fail;
    }
    if (lines > ZY__TOK_MAX_ID) {
        s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: %zu lines, more than %d tokens", path, lines,
                      ZY__TOK_MAX_ID);
        goto fail;
    }
    if ((s = zy__tok_create(&t, (int32_t)lines))) goto fail;
    zy__wp_defaults(t);
    zy__tok_set_source(t, path);
    long line = 0;
    for (char *q = text, *end = text + len; q < end;) {
        char *nl = memchr(q, '\n', (size_t)(end - q));
        char *e = nl ? nl : end;
        size_t n = (size_t)(e - q);
        line++;
        if (n && q[n - 1] == '\r') n--;
        if (!n) {
            s = zy__error(ZY_STATUS_BAD_FORMAT, "%s line %ld: empty line (vocab.txt has one "
                          "token per line)", path, line);
            goto fail;
        }
        if (n > ZY__WP_TOKEN_MAX) {
            s = zy__error(ZY_STATUS_BAD_FORMAT, "%s line %ld: token of %zu bytes (at most %d)",
                          path, line, n, ZY__WP_TOKEN_MAX);
            goto fail;
        }
        if (!valid_utf8((const uint8_t *)q, n)) {
            s = zy__error(ZY_STATUS_BAD_FORMAT, "%s line %ld: not valid UTF-8 (or a NUL byte)",
                          path, line);
            goto fail;
        }
        int other = zy_tokenizer_find(t, q, n);
        if (other >= 0) {
            s = zy__error(ZY_STATUS_BAD_FORMAT, "%s line %ld: token '%.*s' is also on line %d",
                          path, line, (int)ZY_MIN(n, 80), q, other + 1);
            goto fail;
        }
        if ((s = zy__tok_add(t, (int32_t)(line - 1), (const uint8_t *)q, n, 0, path))) goto fail;
        q = e + 1;
    }
    if ((s = zy__wp_read_config(t, path))) goto fail;
    zy__wp_apply_params(t, p);
    if ((s = zy__wp_finish(t, path))) goto fail;
    zy_free(text);
    *out = t;
    return ZY_STATUS_OK;
fail:
    zy_tokenizer_free(t);
    zy_free(text);
    return s;
}

// ---- tokenizer.json ---------------------------------------------------------------------
static int get_id(const cJSON *v, int32_t *id) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d < ZY__TOK_MAX_ID) || d != floor(d)) return 0;
    *id = (int32_t)d;
    return 1;
}

static const char *type_of(const cJSON *o) {
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(ty) ? ty->valuestring : "";
}

static zy_status read_normalizer(zy_tokenizer *t, const char *path, const cJSON *n) {
    if (!n || strcmp(type_of(n), "BertNormalizer"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: normalizer '%s' is not supported (only "
                         "BertNormalizer)", path, n ? type_of(n) : "null");
    int clean = 1, cjk = 1, strip = -1, lower = 1;
    zy_status s;
    if ((s = get_bool(n, "clean_text", path, 0, &clean)) ||
        (s = get_bool(n, "handle_chinese_chars", path, 0, &cjk)) ||
        (s = get_bool(n, "strip_accents", path, 1, &strip)) ||
        (s = get_bool(n, "lowercase", path, 0, &lower)))
        return s;
    if (!clean)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: normalizer.clean_text false is not "
                         "supported", path);
    t->wp.chinese = (uint8_t)cjk;
    t->wp.strip_accents = (int8_t)strip;
    t->wp.lowercase = (uint8_t)lower;
    return ZY_STATUS_OK;
}

// One template (single or pair) into pieces.
static zy_status read_template(zy_tokenizer *t, const char *path, const cJSON *list,
                               const cJSON *specials, const char *which, zy__tpl_piece *out,
                               int *n_out) {
    int n = 0, seen[2] = {0, 0}, k = 0;
    const cJSON *e;
    if (!cJSON_IsArray(list))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: post_processor.%s must be an array", path,
                         which);
    cJSON_ArrayForEach(e, list) {
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(e, "SpecialToken");
        const cJSON *sq = cJSON_GetObjectItemCaseSensitive(e, "Sequence");
        const cJSON *body = sp ? sp : sq;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(body, "type_id");
        int32_t type_id = 0;
        if (!body || !cJSON_IsString(id) || (ty && !get_id(ty, &type_id)) || type_id > 255)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: post_processor.%s[%d] must be "
                             "{\"SpecialToken\" or \"Sequence\": {\"id\": string, "
                             "\"type_id\": 0..255}}", path, which, k);
        if (sq) {
            int seq = !strcmp(id->valuestring, "A") ? 0 : !strcmp(id->valuestring, "B") ? 1 : -1;
            if (seq < 0)
                return zy__error(ZY_STATUS_BAD_FORMAT, "%s: post_processor.%s[%d]: sequence "
                                 "'%.20s' (A or B)", path, which, k, id->valuestring);
            if (n >= ZY__TPL_MAX)
                return zy__error(ZY_STATUS_UNSUPPORTED, "%s: post_processor.%s has more than "
                                 "%d pieces", path, which, ZY__TPL_MAX);
            seen[seq]++;
            out[n++] = (zy__tpl_piece){(int8_t)seq, (uint8_t)type_id, -1};
        } else {
            const cJSON *def = cJSON_GetObjectItemCaseSensitive(specials, id->valuestring);
            const cJSON *ids = cJSON_GetObjectItemCaseSensitive(def, "ids"), *x;
            if (!cJSON_IsArray(ids) || !cJSON_GetArraySize(ids))
                return zy__error(ZY_STATUS_BAD_FORMAT, "%s: post_processor.special_tokens has "
                                 "no ids for '%.40s'", path, id->valuestring);
            cJSON_ArrayForEach(x, ids) {
                int32_t v;
                if (!get_id(x, &v) || v >= t->n_vocab || t->tok_len[v] == UINT32_MAX)
                    return zy__error(ZY_STATUS_BAD_FORMAT, "%s: post_processor.special_tokens"
                                     "['%.40s']: an id that is not a token", path,
                                     id->valuestring);
                if (n >= ZY__TPL_MAX)
                    return zy__error(ZY_STATUS_UNSUPPORTED, "%s: post_processor.%s has more "
                                     "than %d pieces", path, which, ZY__TPL_MAX);
                out[n++] = (zy__tpl_piece){-1, (uint8_t)type_id, v};
            }
        }
        k++;
    }
    int pair = !strcmp(which, "pair");
    if (seen[0] != 1 || seen[1] != pair)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: post_processor.%s must hold $A once%s",
                         path, which, pair ? " and $B once" : " and no $B");
    *n_out = n;
    return ZY_STATUS_OK;
}

static zy_status read_post(zy_tokenizer *t, const char *path, const cJSON *pp) {
    if (!pp || cJSON_IsNull(pp)) return ZY_STATUS_OK;
    const char *ty = type_of(pp);
    zy__template *tp = &t->tpl;
    if (!strcmp(ty, "BertProcessing")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(pp, "cls");
        const cJSON *sp = cJSON_GetObjectItemCaseSensitive(pp, "sep");
        int32_t ci, si;
        if (cJSON_GetArraySize(c) != 2 || cJSON_GetArraySize(sp) != 2 ||
            !cJSON_IsString(cJSON_GetArrayItem(c, 0)) || !cJSON_IsString(cJSON_GetArrayItem(sp, 0)) ||
            !get_id(cJSON_GetArrayItem(c, 1), &ci) || !get_id(cJSON_GetArrayItem(sp, 1), &si) ||
            ci >= t->n_vocab || si >= t->n_vocab || t->tok_len[ci] == UINT32_MAX ||
            t->tok_len[si] == UINT32_MAX)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: post_processor BertProcessing needs "
                             "\"cls\" and \"sep\" as [token, id] of tokens in the vocab", path);
        zy_status s;
        if ((s = set_name(t, ZY_SPECIAL_CLS, cJSON_GetArrayItem(c, 0)->valuestring, path)) ||
            (s = set_name(t, ZY_SPECIAL_SEP, cJSON_GetArrayItem(sp, 0)->valuestring, path)))
            return s;
        t->special[ZY_SPECIAL_CLS] = ci;
        t->special[ZY_SPECIAL_SEP] = si;
        return ZY_STATUS_OK; // zy__wp_finish builds BERT's template from the two
    }
    if (strcmp(ty, "TemplateProcessing"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: post_processor '%s' is not supported "
                         "(TemplateProcessing, BertProcessing or null)", path, ty);
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(pp, "special_tokens");
    zy_status s;
    if ((s = read_template(t, path, cJSON_GetObjectItemCaseSensitive(pp, "single"), specials,
                           "single", tp->single, &tp->n_single)) ||
        (s = read_template(t, path, cJSON_GetObjectItemCaseSensitive(pp, "pair"), specials,
                           "pair", tp->pair, &tp->n_pair)))
        return s;
    // Roles: the single template's first and last special tokens are CLS and SEP.
    if (tp->single[0].seq < 0) t->special[ZY_SPECIAL_CLS] = tp->single[0].id;
    if (tp->single[tp->n_single - 1].seq < 0)
        t->special[ZY_SPECIAL_SEP] = tp->single[tp->n_single - 1].id;
    for (int r = ZY_SPECIAL_CLS; r <= ZY_SPECIAL_SEP; r++)
        if (t->special[r] >= 0)
            snprintf(t->special_name[r], sizeof t->special_name[r], "%.*s",
                     (int)ZY_MIN(t->tok_len[t->special[r]], sizeof t->special_name[r] - 1),
                     t->pool + t->tok_off[t->special[r]]);
    return ZY_STATUS_OK;
}

static zy_status read_model_opts(zy_tokenizer *t, const char *path, const cJSON *model) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    zy_status s;
    if (v && !cJSON_IsString(v))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: model.unk_token must be a string", path);
    if (v && (s = set_name(t, ZY_SPECIAL_UNK, v->valuestring, path))) return s;
    v = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
    if (v && (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof t->wp.prefix))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: model.continuing_subword_prefix must be a "
                         "string of at most %zu bytes", path, sizeof t->wp.prefix - 1);
    if (v) {
        snprintf(t->wp.prefix, sizeof t->wp.prefix, "%s", v->valuestring);
        t->wp.prefix_len = strlen(t->wp.prefix);
    }
    v = cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word");
    int32_t mc;
    if (v && (!get_id(v, &mc) || mc < 1))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: model.max_input_chars_per_word must be a "
                         "whole number >= 1", path);
    if (v) t->wp.max_chars = mc;
    return ZY_STATUS_OK;
}

static zy_status read_decoder(zy_tokenizer *t, const char *path, const cJSON *d) {
    if (!d || cJSON_IsNull(d))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: decoder null is not supported (only "
                         "WordPiece)", path);
    if (strcmp(type_of(d), "WordPiece"))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: decoder '%s' is not supported (only "
                         "WordPiece)", path, type_of(d));
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(d, "prefix");
    if (pre && (!cJSON_IsString(pre) || strcmp(pre->valuestring, t->wp.prefix)))
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: decoder.prefix differs from "
                         "model.continuing_subword_prefix", path);
    int cleanup = 1;
    zy_status s = get_bool(d, "cleanup", path, 0, &cleanup);
    t->wp.cleanup = (uint8_t)cleanup;
    return s;
}

zy_status zy__wp_load_json(zy_tokenizer **out, const char *path, const cJSON *root,
                           zy_tokenizer_load_params p) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), *e;
    if (!cJSON_IsObject(vocab))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'model.vocab' missing or not an "
                         "object", path);
    if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'added_tokens' is not an array", path);
    int32_t mx = -1, id;
    cJSON_ArrayForEach(e, vocab) {
        if (!get_id(e, &id))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: model.vocab: token '%.80s' has no valid "
                             "id (a whole number 0..%d)", path, e->string, ZY__TOK_MAX_ID - 1);
        mx = ZY_MAX(mx, id);
    }
    int k = 0;
    cJSON_ArrayForEach(e, added) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(e, "content");
        if (!get_id(cJSON_GetObjectItemCaseSensitive(e, "id"), &id) || !cJSON_IsString(content))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: added_tokens[%d] needs a whole 'id' "
                             "and a string 'content'", path, k);
        mx = ZY_MAX(mx, id);
        k++;
    }
    if (mx < 0) return zy__error(ZY_STATUS_BAD_FORMAT, "%s: model.vocab is empty", path);
    zy_tokenizer *t;
    zy_status s = zy__tok_create(&t, mx + 1);
    if (s) return s;
    zy__wp_defaults(t);
    zy__tok_set_source(t, path);
    char what[600];
    snprintf(what, sizeof what, "%s: model.vocab", path);
    cJSON_ArrayForEach(e, vocab) {
        size_t n = strlen(e->string);
        get_id(e, &id);
        if (n == 0 || n > ZY__WP_TOKEN_MAX || !valid_utf8((const uint8_t *)e->string, n)) {
            s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: token id %d is empty, longer than %d bytes "
                          "or not valid UTF-8", what, (int)id, ZY__WP_TOKEN_MAX);
            goto fail;
        }
        if ((s = zy__tok_add(t, id, (const uint8_t *)e->string, n, 0, what))) goto fail;
    }
    snprintf(what, sizeof what, "%s: added_tokens", path);
    cJSON_ArrayForEach(e, added) {
        get_id(cJSON_GetObjectItemCaseSensitive(e, "id"), &id);
        const char *c = cJSON_GetObjectItemCaseSensitive(e, "content")->valuestring;
        int special = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "special"));
        size_t n = strlen(c);
        if (n > ZY__WP_TOKEN_MAX || !valid_utf8((const uint8_t *)c, n)) {
            s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: token id %d is longer than %d bytes or "
                          "not valid UTF-8", what, (int)id, ZY__WP_TOKEN_MAX);
            goto fail;
        }
        if ((s = zy__tok_add(t, id, (const uint8_t *)c, n, special ? 2 : 1, what))) goto fail;
    }
    const cJSON *pad = cJSON_GetObjectItemCaseSensitive(root, "padding");
    const cJSON *padtok = cJSON_GetObjectItemCaseSensitive(pad, "pad_token");
    if (cJSON_IsString(padtok) && (s = set_name(t, ZY_SPECIAL_PAD, padtok->valuestring, path)))
        goto fail;
    if ((s = read_model_opts(t, path, model)) ||
        (s = read_normalizer(t, path, cJSON_GetObjectItemCaseSensitive(root, "normalizer"))))
        goto fail;
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (!pre || strcmp(type_of(pre), "BertPreTokenizer")) {
        s = zy__error(ZY_STATUS_UNSUPPORTED, "%s: pre_tokenizer '%s' is not supported (only "
                      "BertPreTokenizer)", path, pre ? type_of(pre) : "null");
        goto fail;
    }
    if ((s = read_decoder(t, path, cJSON_GetObjectItemCaseSensitive(root, "decoder"))) ||
        (s = read_post(t, path, cJSON_GetObjectItemCaseSensitive(root, "post_processor"))))
        goto fail;
    // Role names from tokenizer_config.json beside it, if any (its do_lower_case etc. are
    // for the slow tokenizer: the normalizer above wins, so they are put back).
    zy__wp keep = t->wp;
    if ((s = zy__wp_read_config(t, path))) goto fail;
    t->wp = keep;
    zy__wp_apply_params(t, p);
    if ((s = zy__wp_finish(t, path))) goto fail;
    *out = t;
    return ZY_STATUS_OK;
fail:
    zy_tokenizer_free(t);
    return s;
}
