// Writing tokenizer.json (Hugging Face layout, the subset load.c reads back), atomically.
// WordPiece tokenizers are written by wp_save.c.
// Ordinary tokens are spelled in GPT-2's byte-level alphabet, added tokens literally in
// the vocab and added_tokens, but byte-level in merges (as load.c reads them).
// Output is deterministic: vocab in id order, merges in rank order, fixed field order.
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <string.h>

#include "bpe.h"
#include "core/internal.h"
#include "wordpiece.h"

// Token id as its tokenizer.json string (byte-level spelling, or literal if added).
static int spell(const zy_tokenizer *t, int32_t id, char *buf) {
    const uint8_t *p = (const uint8_t *)t->pool + t->tok_off[id];
    size_t n = t->tok_len[id];
    if (t->tok_added[id]) memcpy(buf, p, n);
    else n = zy__bytelevel_encode(p, n, buf);
    buf[n] = '\0';
    return (int)n;
}

// cJSON reports a failed allocation only by a NULL or false result, so every addition is
// checked: a tokenizer.json missing entries must never be written as if whole. Adds item
// to an object (key) or array (key NULL); on failure deletes it and returns false.
static bool add_item(cJSON *parent, const char *key, cJSON *item) {
    bool ok = item && (key ? cJSON_AddItemToObject(parent, key, item)
                           : cJSON_AddItemToArray(parent, item));
    if (!ok) cJSON_Delete(item);
    return ok;
}

// A merge half: always the byte-level spelling, which is how load.c reads merges (an
// added token's literal text would read back as other bytes, or split at a space).
static int spell_bytelevel(const zy_tokenizer *t, int32_t id, char *buf) {
    size_t n = zy__bytelevel_encode((const uint8_t *)t->pool + t->tok_off[id], t->tok_len[id],
                                    buf);
    buf[n] = '\0';
    return (int)n;
}

static cJSON *bytelevel_obj(int add_prefix_space, int trim_offsets) {
    cJSON *o = cJSON_CreateObject();
    if (!cJSON_AddStringToObject(o, "type", "ByteLevel") ||
        !cJSON_AddBoolToObject(o, "add_prefix_space", add_prefix_space) ||
        !cJSON_AddBoolToObject(o, "trim_offsets", trim_offsets) ||
        !cJSON_AddBoolToObject(o, "use_regex", 1)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

zy_status zy_tokenizer_save(const zy_tokenizer *t, const char *path) {
    if (!t || !path) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer save: NULL argument");
    if (t->type == ZY_TOKENIZER_WORDPIECE) return zy__wp_save_json(t, path);
    size_t maxlen = 0;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->tok_len[id] != UINT32_MAX) maxlen = ZY_MAX(maxlen, (size_t)t->tok_len[id]);
    char *buf = zy_alloc(4 * maxlen + 8); // a + ' ' + b, each up to 2x its bytes
    cJSON *root = cJSON_CreateObject();
    if (!buf || !root) goto oom;
    bool ok = cJSON_AddStringToObject(root, "version", "1.0") &&
              cJSON_AddNullToObject(root, "truncation") && cJSON_AddNullToObject(root, "padding");
    cJSON *added = ok ? cJSON_AddArrayToObject(root, "added_tokens") : NULL;
    ok = added != NULL;
    for (int32_t k = 0; ok && k < t->n_added; k++) {
        int32_t id = t->added[k];
        cJSON *a = cJSON_CreateObject();
        ok = add_item(added, NULL, a) && cJSON_AddNumberToObject(a, "id", id);
        spell(t, id, buf);
        ok = ok && cJSON_AddStringToObject(a, "content", buf) &&
             cJSON_AddBoolToObject(a, "single_word", 0) && cJSON_AddBoolToObject(a, "lstrip", 0) &&
             cJSON_AddBoolToObject(a, "rstrip", 0) && cJSON_AddBoolToObject(a, "normalized", 1) &&
             cJSON_AddBoolToObject(a, "special", t->tok_added[id] == 2);
    }
    ok = ok && cJSON_AddNullToObject(root, "normalizer") &&
         add_item(root, "pre_tokenizer", bytelevel_obj(0, 1)) &&
         add_item(root, "post_processor", bytelevel_obj(1, 0)) &&
         add_item(root, "decoder", bytelevel_obj(1, 1));
    cJSON *model = ok ? cJSON_AddObjectToObject(root, "model") : NULL;
    ok = model && cJSON_AddStringToObject(model, "type", "BPE") &&
         cJSON_AddNullToObject(model, "dropout") && cJSON_AddNullToObject(model, "unk_token") &&
         cJSON_AddStringToObject(model, "continuing_subword_prefix", "") &&
         cJSON_AddStringToObject(model, "end_of_word_suffix", "") &&
         cJSON_AddBoolToObject(model, "fuse_unk", 0) &&
         cJSON_AddBoolToObject(model, "byte_fallback", 0);
    cJSON *vocab = ok ? cJSON_AddObjectToObject(model, "vocab") : NULL;
    ok = vocab != NULL;
    for (int32_t id = 0; ok && id < t->n_vocab; id++) {
        if (t->tok_len[id] == UINT32_MAX) continue;
        spell(t, id, buf);
        ok = cJSON_AddNumberToObject(vocab, buf, id) != NULL;
    }
    cJSON *merges = ok ? cJSON_AddArrayToObject(model, "merges") : NULL;
    ok = merges != NULL;
    for (int32_t r = 0; ok && r < t->n_merges; r++) {
        int n = spell_bytelevel(t, t->merge_a[r], buf);
        buf[n] = ' ';
        spell_bytelevel(t, t->merge_b[r], buf + n + 1);
        ok = add_item(merges, NULL, cJSON_CreateString(buf));
    }
    if (!ok) goto oom;
    char *text = cJSON_Print(root);
    if (!text) goto oom;
    zy_status s = zy_file_write_atomic(path, text, strlen(text));
    cJSON_free(text);
    cJSON_Delete(root);
    zy_free(buf);
    return s;
oom:
    cJSON_Delete(root);
    zy_free(buf);
    return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory building tokenizer.json", path);
}
