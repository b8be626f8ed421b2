// Writing WordPiece tokenizers, atomically: tokenizer.json in the Hugging Face tokenizers
// layout (what wp_load.c reads back: BertNormalizer, BertPreTokenizer, TemplateProcessing,
// WordPiece decoder and model, the special tokens as added_tokens), and BERT's vocab.txt.
// Output is deterministic: fixed field order, vocab in id order.
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>

#include "core/internal.h"
#include "wordpiece.h"

static char *token(const zy_tokenizer *t, int32_t id, char *buf) {
    memcpy(buf, t->pool + t->tok_off[id], t->tok_len[id]);
    buf[t->tok_len[id]] = '\0';
    return buf;
}

// cJSON reports a failed allocation only by a NULL or false result, so every addition is
// checked (as in save.c): a tokenizer.json missing entries is never written as if whole.
// Adds item to an object (key) or array (key NULL); on failure deletes it.
static bool add_item(cJSON *parent, const char *key, cJSON *item) {
    bool ok = item && (key ? cJSON_AddItemToObject(parent, key, item)
                           : cJSON_AddItemToArray(parent, item));
    if (!ok) cJSON_Delete(item);
    return ok;
}

static cJSON *template_json(const zy_tokenizer *t, const zy__tpl_piece *p, int n, char *buf) {
    cJSON *list = cJSON_CreateArray();
    bool ok = list != NULL;
    for (int i = 0; ok && i < n; i++) {
        cJSON *e = cJSON_CreateObject(), *body = cJSON_CreateObject();
        if (!add_item(list, NULL, e)) {
            cJSON_Delete(body);
            ok = false;
            break;
        }
        ok = add_item(e, p[i].seq < 0 ? "SpecialToken" : "Sequence", body) &&
             cJSON_AddStringToObject(body, "id", p[i].seq < 0 ? token(t, p[i].id, buf)
                                                 : p[i].seq ? "B" : "A") &&
             cJSON_AddNumberToObject(body, "type_id", p[i].type_id);
    }
    if (!ok) {
        cJSON_Delete(list);
        return NULL;
    }
    return list;
}

// post_processor.special_tokens: each special token of the templates once.
static bool special_tokens_json(const zy_tokenizer *t, cJSON *sp, char *buf) {
    for (int which = 0; which < 2; which++) {
        const zy__tpl_piece *p = which ? t->tpl.pair : t->tpl.single;
        int n = which ? t->tpl.n_pair : t->tpl.n_single;
        for (int i = 0; i < n; i++) {
            if (p[i].seq >= 0 || cJSON_GetObjectItemCaseSensitive(sp, token(t, p[i].id, buf)))
                continue;
            cJSON *e = cJSON_AddObjectToObject(sp, buf), *ids, *toks;
            if (!e || !cJSON_AddStringToObject(e, "id", buf) ||
                !(ids = cJSON_AddArrayToObject(e, "ids")) ||
                !add_item(ids, NULL, cJSON_CreateNumber(p[i].id)) ||
                !(toks = cJSON_AddArrayToObject(e, "tokens")) ||
                !add_item(toks, NULL, cJSON_CreateString(buf)))
                return false;
        }
    }
    return true;
}

zy_status zy__wp_save_json(const zy_tokenizer *t, const char *path) {
    char buf[ZY__WP_TOKEN_MAX + 1];
    cJSON *root = cJSON_CreateObject(), *added = NULL, *norm, *pre, *pp, *dec, *model, *vocab = NULL;
    bool ok = root && cJSON_AddStringToObject(root, "version", "1.0") &&
              cJSON_AddNullToObject(root, "truncation") && cJSON_AddNullToObject(root, "padding") &&
              (added = cJSON_AddArrayToObject(root, "added_tokens"));
    for (int32_t k = 0; ok && k < t->n_added; k++) {
        int32_t id = t->added[k];
        cJSON *a = cJSON_CreateObject();
        ok = add_item(added, NULL, a) && cJSON_AddNumberToObject(a, "id", id) &&
             cJSON_AddStringToObject(a, "content", token(t, id, buf)) &&
             cJSON_AddBoolToObject(a, "single_word", 0) && cJSON_AddBoolToObject(a, "lstrip", 0) &&
             cJSON_AddBoolToObject(a, "rstrip", 0) && cJSON_AddBoolToObject(a, "normalized", 0) &&
             cJSON_AddBoolToObject(a, "special", t->tok_added[id] == 2);
    }
    ok = ok && (norm = cJSON_AddObjectToObject(root, "normalizer")) &&
         cJSON_AddStringToObject(norm, "type", "BertNormalizer") &&
         cJSON_AddBoolToObject(norm, "clean_text", 1) &&
         cJSON_AddBoolToObject(norm, "handle_chinese_chars", t->wp.chinese) &&
         (t->wp.strip_accents < 0 ? cJSON_AddNullToObject(norm, "strip_accents") != NULL
                                  : cJSON_AddBoolToObject(norm, "strip_accents",
                                                          t->wp.strip_accents) != NULL) &&
         cJSON_AddBoolToObject(norm, "lowercase", t->wp.lowercase) &&
         (pre = cJSON_AddObjectToObject(root, "pre_tokenizer")) &&
         cJSON_AddStringToObject(pre, "type", "BertPreTokenizer");
    if (ok && t->tpl.n_single) {
        cJSON *sp;
        ok = (pp = cJSON_AddObjectToObject(root, "post_processor")) &&
             cJSON_AddStringToObject(pp, "type", "TemplateProcessing") &&
             add_item(pp, "single", template_json(t, t->tpl.single, t->tpl.n_single, buf)) &&
             add_item(pp, "pair", template_json(t, t->tpl.pair, t->tpl.n_pair, buf)) &&
             (sp = cJSON_AddObjectToObject(pp, "special_tokens")) &&
             special_tokens_json(t, sp, buf);
    } else if (ok) {
        ok = cJSON_AddNullToObject(root, "post_processor") != NULL;
    }
    ok = ok && (dec = cJSON_AddObjectToObject(root, "decoder")) &&
         cJSON_AddStringToObject(dec, "type", "WordPiece") &&
         cJSON_AddStringToObject(dec, "prefix", t->wp.prefix) &&
         cJSON_AddBoolToObject(dec, "cleanup", t->wp.cleanup) &&
         (model = cJSON_AddObjectToObject(root, "model")) &&
         cJSON_AddStringToObject(model, "type", "WordPiece") &&
         cJSON_AddStringToObject(model, "unk_token", token(t, t->special[ZY_SPECIAL_UNK], buf)) &&
         cJSON_AddStringToObject(model, "continuing_subword_prefix", t->wp.prefix) &&
         cJSON_AddNumberToObject(model, "max_input_chars_per_word", t->wp.max_chars) &&
         (vocab = cJSON_AddObjectToObject(model, "vocab"));
    for (int32_t id = 0; ok && id < t->n_vocab; id++)
        if (t->tok_len[id] != UINT32_MAX)
            ok = cJSON_AddNumberToObject(vocab, token(t, id, buf), id) != NULL;
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory building tokenizer.json",
                         path);
    zy_status s = zy_file_write_atomic(path, text, strlen(text));
    cJSON_free(text);
    return s;
}

zy_status zy_tokenizer_save_vocab_txt(const zy_tokenizer *t, const char *path) {
    if (!t || !path)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer save_vocab_txt: NULL argument");
    if (t->type != ZY_TOKENIZER_WORDPIECE)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: vocab.txt is for WordPiece tokenizers "
                         "(this one is %s)", path, zy_tokenizer_type_name(t->type));
    size_t total = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (t->tok_len[id] == UINT32_MAX)
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: id %d has no token, and vocab.txt "
                             "cannot skip ids", path, (int)id);
        if (memchr(t->pool + t->tok_off[id], '\n', t->tok_len[id]))
            return zy__error(ZY_STATUS_UNSUPPORTED, "%s: token id %d holds a newline, which "
                             "vocab.txt cannot", path, (int)id);
        total += t->tok_len[id] + 2;
    }
    char *text = zy_alloc(total + 1);
    if (!text) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    size_t o = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        size_t n = t->tok_len[id];
        memcpy(text + o, t->pool + t->tok_off[id], n);
        o += n;
        // The reader drops one "\r" before each "\n" (CRLF files): a token that ends in
        // "\r" (read from a line ending "\r\r\n") needs one more to come back whole.
        if (t->pool[t->tok_off[id] + n - 1] == '\r') text[o++] = '\r';
        text[o++] = '\n';
    }
    zy_status s = zy_file_write_atomic(path, text, o);
    zy_free(text);
    return s;
}
