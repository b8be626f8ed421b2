// libFuzzer harness: WordPiece (BERT) tokenizers -- vocab.txt with an optional
// tokenizer_config.json beside it, and the WordPiece tokenizer.json (src/text/wp_load.c,
// load.c's dispatch), read with zy_tokenizer_load or zy_tokenizer_load_with, and what a
// loaded one does (wp_save.c, wp_basic.c, wp_encode.c, encode.c, encode_pair.c).
//
// Input: 4 control bytes, then the body.
//   [0] bits 0-1 the files: 0 the body is a file named "tokenizer" (JSON if its first
//       non-blank byte is '{', else vocab.txt); 1 vocab.txt up to the first NUL byte,
//       tokenizer_config.json after it; 2 tokenizer.json (and a config after a NUL);
//       3 a directory holding tokenizer.json (body starting with '{') or vocab.txt, and a
//       config after a NUL. bits 2-7: below 27, zy_tokenizer_load_with with lowercase,
//       strip_accents, tokenize_chinese_chars each -1/0/1; else zy_tokenizer_load
//   [1] encode_pair: bits 0-4 max_length, 5-6 truncation, 7 pad
//   [2] bit 0 add_special, bit 1 ZY_ENCODE_SPECIAL, bit 2 parallel encoding (with bit 7
//       of [3]), bits 3-7 where the body is cut into the pair's two texts (in 32nds)
//   [3] bits 0-1 which bert-base-uncased variant encodes the body too (uncased, cased,
//       no CJK spacing and accents kept; only if build/data/bert-base-uncased/vocab.txt
//       exists), bit 7 see [2]
// The text encoded is the body itself (the input's own bytes) and a few fixed strings.
//
// Properties checked on every input:
//  - a refusal is ZY_STATUS_BAD_FORMAT or ZY_STATUS_UNSUPPORTED (tokenizer.json options)
//    with a message naming the file read (vocab.txt, tokenizer.json or the config);
//  - accepted: every id's token is 1..1024 bytes of UTF-8 found back by
//    zy_tokenizer_find; [UNK] exists; the settings (lower-casing, accents, CJK) are the
//    file's or the override's, as FORMATS.md says; the role tokens are the ones the names
//    say (vocab.txt: the config's names or BERT's) and are special (or, in a
//    tokenizer.json, added tokens: one listed with "special": false stays so);
//  - zy_tokenizer_save -> zy_tokenizer_load: the same tokens, kinds, roles, settings and
//    template; saving again gives the same bytes (the one documented loss: a [PAD] named
//    by padding.pad_token, which is written null, is then only checked to be stable);
//  - zy_tokenizer_save_vocab_txt: refused (UNSUPPORTED) exactly when an id has no token
//    or a token holds a newline; otherwise, with a tokenizer_config.json giving the
//    settings and role names beside it, it loads back with the same tokens, roles and
//    settings (and template and kinds, for a vocab.txt tokenizer), and saves again the
//    same bytes;
//  - encoding the fixed strings and the body, with and without ZY_ENCODE_SPECIAL: ids in
//    range, n <= len (cap = len suffices; one id less is refused, never overrun);
//    offsets (encode_pair of one text) start < end <= len on UTF-8 character boundaries,
//    starts non-decreasing (unless stripping accents reorders kept combining marks, see
//    reorders), the same ids; parallel encoding (a 64 KiB+ text, 2 threads)
//    = sequential;
//  - encode_pair with max_length/truncation/padding/add_special from the control bytes:
//    accepted or refused exactly as tokenizer.h says (NOT_FOUND for a missing [CLS]/[SEP]
//    or [PAD], INVALID_ARGUMENT for impossible lengths); n <= the room encode_pair_cap
//    gives, n_attend <= n, n <= max_length when truncating; the layout is the template's
//    ([CLS] A [SEP] B [SEP] for BERT) with each text's ids truncated as the rule says,
//    type ids and seq ids from the template, each text's own offsets; padding at the end;
//  - encode(decode(ids)) == ids where the rules make decoding invertible (an uncased
//    tokenizer with the "##" prefix and added tokens that lower-cased text cannot hold;
//    see roundtrip_ok): the ids of encode_pair with the template's special tokens, [UNK]s
//    included, decoded and encoded again with ZY_ENCODE_SPECIAL; the body as a pair and
//    the fixed strings.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "text/wordpiece.h"
#include "util.h"

static const char *const FIXED[] = {
    "Hello, World! don't stop.",
    "  The QUICK brown fox's 12 jumps\t\tover\n\nthe lazy dog?!",
    "[CLS] hello [SEP] world [SEP] [MASK] [UNK] [PAD]",
    "h\xc3\xa9llo caf\xc3\xa9 na\xc3\xafve \xc3\x89" "COLE \xc4\xb0stanbul \xce\xa3\xce\x91\xce\xa3",
    "\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97 \xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88 \xed\x95\x9c",
    "\xff\xfe\x80 \xc0\xaf \xed\xa0\x80 a\x01" "b\x7f" "c \xef\xbf\xbd d\xe2\x80\xa8" "e",
    "x\xcc\x81\xcc\xa3 \xe1\xba\xa1\xcc\x81 \xef\xac\xac \xe2\x84\xab",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbb",
    "",
};

static const char *const DEFAULT_NAME[5] = {"[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"};
static const char *const ROLE_KEY[5] = {"unk_token", "cls_token", "sep_token", "pad_token",
                                        "mask_token"};

static zy_tokenizer *bert[3]; // bert-base-uncased: uncased, cased, no CJK + accents kept
static char dir[300];         // the scratch directory

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    zy_threads_set(2);
    const char *p = fz_path("vocab.txt");
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(p, '/') - p), p);
    const char *bv = "build/data/bert-base-uncased/vocab.txt";
    if (access(bv, R_OK) == 0) {
        zy_tokenizer_load_params lp[3] = {zy_tokenizer_load_default_params(),
                                          zy_tokenizer_load_default_params(),
                                          zy_tokenizer_load_default_params()};
        lp[1].lowercase = 0;
        lp[2].tokenize_chinese_chars = 0;
        lp[2].strip_accents = 0;
        for (int k = 0; k < 3; k++)
            if (zy_tokenizer_load_with(&bert[k], bv, lp[k])) {
                fprintf(stderr, "fuzz_wordpiece: %s: %s\n", bv, zy_last_error());
                abort();
            }
    } else {
        fprintf(stderr, "fuzz_wordpiece: no %s (scripts/data.sh bert-vocab): the encoding "
                        "properties run on the fuzzed vocabularies only\n", bv);
    }
    return 0;
}

// ---- small helpers ------------------------------------------------------------------------
static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    FZ_CHECK(p);
    return p;
}

// Standard UTF-8 (no overlongs, surrogates or values past U+10FFFF): the length of the
// character starting at s[0..n), or 0 if none does.
static size_t utf8_len(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!k || k > n) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return k;
}

static int valid_utf8(const uint8_t *s, size_t n) {
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = utf8_len(s + i, n - i))) return 0;
    return 1;
}

// The JSON file as an object, or NULL.
static cJSON *read_json(const uint8_t *p, size_t n) {
    cJSON *j = cJSON_ParseWithLength((const char *)p, n);
    if (j && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

// A bool field into *out (null -> -1 when null_ok); absent or other types leave it.
static void json_bool(const cJSON *o, const char *key, int null_ok, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsBool(v)) *out = cJSON_IsTrue(v);
    else if (null_ok && cJSON_IsNull(v)) *out = -1;
}

// A token name field of tokenizer_config.json (string or {"content": string}), or NULL.
static const char *json_name(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int find_name(const zy_tokenizer *t, const char *name) {
    return zy_tokenizer_find(t, name, strlen(name));
}

// ---- what a load must give ------------------------------------------------------------------
typedef struct input {
    int form;              // 0..3 as in the header
    int json;              // the tokenizer file is a tokenizer.json
    const char *path;      // what was loaded
    const char *file;      // the tokenizer file in it (vocab.txt or tokenizer.json)
    const char *cfg;       // tokenizer_config.json (may not exist)
    const uint8_t *tok;    // the tokenizer file's bytes
    size_t ntok;
    const uint8_t *cfgb;   // the config's bytes, or NULL
    size_t ncfg;
    zy_tokenizer_load_params lp;
} input;

// The settings and roles FORMATS.md gives for what was read, against t.
static void check_loaded(const zy_tokenizer *t, const input *in, int *pad_lossy) {
    int V = zy_tokenizer_vocab_size(t);
    FZ_CHECK(V >= 1 && V <= (1 << 24));
    FZ_CHECK(zy_tokenizer_merge_count(t) == 0);
    size_t len = 7;
    FZ_CHECK(!zy_tokenizer_token_bytes(t, -1, &len) && len == 0);
    FZ_CHECK(!zy_tokenizer_token_bytes(t, V, &len) && len == 0);
    int step = V <= 65536 ? 1 : V / 65536 + 1;
    for (int id = 0; id < V; id = id + step < V || id == V - 1 ? id + step : V - 1) {
        const char *b = zy_tokenizer_token_bytes(t, id, &len);
        if (!b) {
            FZ_CHECKF(in->json, "vocab.txt id %d has no token", id);
            continue;
        }
        FZ_CHECK(len >= 1 && len <= 1024 && valid_utf8((const uint8_t *)b, len));
        FZ_CHECKF(zy_tokenizer_find(t, b, len) == id, "token %d not found by its bytes", id);
    }
    cJSON *cfg = in->cfgb ? read_json(in->cfgb, in->ncfg) : NULL;
    FZ_CHECKF(!in->cfgb || cfg, "an unreadable tokenizer_config.json was accepted");
    cJSON *root = in->json ? read_json(in->tok, in->ntok) : NULL;
    FZ_CHECK(!in->json || root);
    // Settings: the file's (vocab.txt: the config, else BERT's), then the overrides.
    int lower = 1, strip = -1, cjk = 1;
    if (root) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
        json_bool(n, "lowercase", 0, &lower);
        json_bool(n, "strip_accents", 1, &strip);
        json_bool(n, "handle_chinese_chars", 0, &cjk);
    } else if (cfg) {
        json_bool(cfg, "do_lower_case", 0, &lower);
        json_bool(cfg, "strip_accents", 1, &strip);
        json_bool(cfg, "tokenize_chinese_chars", 0, &cjk);
    }
    if (in->lp.lowercase >= 0) lower = in->lp.lowercase;
    if (in->lp.strip_accents >= 0) strip = in->lp.strip_accents;
    if (in->lp.tokenize_chinese_chars >= 0) cjk = in->lp.tokenize_chinese_chars;
    FZ_CHECKF(t->wp.lowercase == lower && t->wp.strip_accents == strip && t->wp.chinese == cjk,
              "settings lowercase %d strip %d cjk %d, the files and overrides say %d %d %d",
              t->wp.lowercase, t->wp.strip_accents, t->wp.chinese, lower, strip, cjk);
    // Roles named by the config (a string or {content}), else by the file, else BERT's.
    const char *name[5];
    for (int r = 0; r < 5; r++) name[r] = DEFAULT_NAME[r];
    const cJSON *pp = NULL;
    if (root) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(m, "unk_token");
        if (cJSON_IsString(u)) name[0] = u->valuestring;
        const cJSON *pad = cJSON_GetObjectItemCaseSensitive(root, "padding");
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(pad, "pad_token");
        if (cJSON_IsString(pt)) name[3] = pt->valuestring;
        pp = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
        if (cJSON_IsNull(pp)) pp = NULL;
    }
    for (int r = 0; r < 5 && cfg; r++)
        if (json_name(cfg, ROLE_KEY[r])) name[r] = json_name(cfg, ROLE_KEY[r]);
    // padding.pad_token is written as null: such a [PAD] is lost by a save (FORMATS.md).
    *pad_lossy = root && strcmp(name[3], DEFAULT_NAME[3]) && !(cfg && json_name(cfg, ROLE_KEY[3]));
    for (int r = 0; r < 5; r++) {
        if ((r == 1 || r == 2) && pp) continue; // from the post-processor
        FZ_CHECKF(t->special[r] == find_name(t, name[r]), "role %d is id %d, '%.60s' is %d", r,
                  (int)t->special[r], name[r], find_name(t, name[r]));
    }
    FZ_CHECK(t->special[ZY_SPECIAL_UNK] >= 0);
    for (int r = 0; r < ZY_SPECIAL_COUNT; r++) {
        if (t->special[r] < 0) continue;
        // Special (vocab.txt); a tokenizer.json's added token keeps its "special": false.
        FZ_CHECKF(t->special[r] < V && t->tok_added[t->special[r]] >= (in->json ? 1 : 2),
                  "role %d: id %d of kind %d", r, (int)t->special[r],
                  t->special[r] < V ? t->tok_added[t->special[r]] : -1);
        int32_t id = -1;
        FZ_CHECK(zy_tokenizer_special_id(t, (zy_special)r, &id) == ZY_STATUS_OK &&
                 id == t->special[r]);
    }
    cJSON_Delete(root);
    cJSON_Delete(cfg);
}

// ---- save and load ---------------------------------------------------------------------------
static int same_template(const zy__template *a, const zy__template *b) {
    if (a->n_single != b->n_single || a->n_pair != b->n_pair) return 0;
    for (int i = 0; i < a->n_single; i++)
        if (a->single[i].seq != b->single[i].seq || a->single[i].type_id != b->single[i].type_id ||
            a->single[i].id != b->single[i].id)
            return 0;
    for (int i = 0; i < a->n_pair; i++)
        if (a->pair[i].seq != b->pair[i].seq || a->pair[i].type_id != b->pair[i].type_id ||
            a->pair[i].id != b->pair[i].id)
            return 0;
    return 1;
}

static void same_tokens(const zy_tokenizer *t, const zy_tokenizer *u, int kinds, int skip,
                        const char *what) {
    int V = zy_tokenizer_vocab_size(t);
    FZ_CHECKF(zy_tokenizer_vocab_size(u) == V, "%s: vocabulary %d became %d", what, V,
              zy_tokenizer_vocab_size(u));
    for (int id = 0; id < V; id++) {
        size_t la, lb;
        const char *a = zy_tokenizer_token_bytes(t, id, &la);
        const char *b = zy_tokenizer_token_bytes(u, id, &lb);
        FZ_CHECKF(!a == !b && la == lb && (!a || !memcmp(a, b, la)),
                  "%s: token %d changed ('%.*s' -> '%.*s')", what, id, (int)(a ? la : 0),
                  a ? a : "", (int)(b ? lb : 0), b ? b : "");
        FZ_CHECKF(!kinds || id == skip || t->tok_added[id] == u->tok_added[id],
                  "%s: token %d: kind %d became %d", what, id, t->tok_added[id],
                  u->tok_added[id]);
    }
}

static void same_files(const char *p1, const char *p2, const char *what) {
    size_t n1, n2;
    unsigned char *b1 = fz_read(p1, &n1), *b2 = fz_read(p2, &n2);
    FZ_CHECK(b1 && b2);
    FZ_CHECKF(n1 == n2 && !memcmp(b1, b2, n1), "saving the reloaded tokenizer gives other "
              "bytes (%s)", what);
    free(b1);
    free(b2);
}

static void same_settings(const zy_tokenizer *t, const zy_tokenizer *u, int all,
                          const char *what) {
    FZ_CHECKF(t->wp.lowercase == u->wp.lowercase && t->wp.strip_accents == u->wp.strip_accents &&
              t->wp.chinese == u->wp.chinese, "%s: settings changed", what);
    if (all)
        FZ_CHECKF(t->wp.cleanup == u->wp.cleanup && t->wp.max_chars == u->wp.max_chars &&
                  !strcmp(t->wp.prefix, u->wp.prefix) && same_template(&t->tpl, &u->tpl),
                  "%s: decoder, model options or template changed", what);
}

// tokenizer.json: the config of the input, if any, stays beside the saved file, as it was
// beside the input (its names are read again).
static void roundtrip_json(const zy_tokenizer *t, int pad_lossy) {
    const char *p1 = fz_path("saved1.json"), *p2 = fz_path("saved2.json");
    FZ_CHECKF(zy_tokenizer_save(t, p1) == ZY_STATUS_OK, "save failed");
    zy_tokenizer *u = NULL;
    FZ_CHECKF(zy_tokenizer_load(&u, p1) == ZY_STATUS_OK, "the saved tokenizer.json does not load");
    FZ_CHECK(zy_tokenizer_get_type(u) == ZY_TOKENIZER_WORDPIECE);
    int pad = pad_lossy ? find_name(t, DEFAULT_NAME[3]) : -1;
    same_tokens(t, u, 1, pad, "tokenizer.json");
    same_settings(t, u, 1, "tokenizer.json");
    for (int r = 0; r < ZY_SPECIAL_COUNT; r++)
        FZ_CHECKF((pad_lossy && r == ZY_SPECIAL_PAD) || t->special[r] == u->special[r],
                  "tokenizer.json: role %d was id %d, is %d", r, (int)t->special[r],
                  (int)u->special[r]);
    FZ_CHECK(zy_tokenizer_save(u, p2) == ZY_STATUS_OK);
    if (!pad_lossy) {
        same_files(p1, p2, "tokenizer.json");
    } else { // one more round: from there on, stable
        zy_tokenizer *w = NULL;
        FZ_CHECK(zy_tokenizer_load(&w, p2) == ZY_STATUS_OK);
        FZ_CHECK(zy_tokenizer_save(w, p1) == ZY_STATUS_OK);
        same_files(p2, p1, "tokenizer.json, second round");
        zy_tokenizer_free(w);
    }
    zy_tokenizer_free(u);
}

// vocab.txt and, beside it, a tokenizer_config.json with t's settings and role names.
static void roundtrip_vocab_txt(const zy_tokenizer *t, int from_json) {
    const char *pv = fz_path("vocab.txt"), *pc = fz_path("tokenizer_config.json");
    int V = zy_tokenizer_vocab_size(t), unsupported = 0;
    for (int id = 0; id < V && !unsupported; id++) {
        size_t len;
        const char *b = zy_tokenizer_token_bytes(t, id, &len);
        unsupported = !b || memchr(b, '\n', len);
    }
    zy_status s = zy_tokenizer_save_vocab_txt(t, pv);
    if (unsupported) {
        fz_expect_error(s, pv, ZY_STATUS_UNSUPPORTED, ZY_STATUS_UNSUPPORTED,
                        ZY_STATUS_UNSUPPORTED);
        return;
    }
    FZ_CHECKF(s == ZY_STATUS_OK, "save_vocab_txt failed");
    cJSON *cfg = cJSON_CreateObject();
    FZ_CHECK(cfg);
    cJSON_AddBoolToObject(cfg, "do_lower_case", t->wp.lowercase);
    if (t->wp.strip_accents < 0) cJSON_AddNullToObject(cfg, "strip_accents");
    else cJSON_AddBoolToObject(cfg, "strip_accents", t->wp.strip_accents);
    cJSON_AddBoolToObject(cfg, "tokenize_chinese_chars", t->wp.chinese);
    for (int r = 0; r < 5; r++) {
        char name[64];
        size_t len = 0;
        const char *b = t->special[r] >= 0 ? zy_tokenizer_token_bytes(t, t->special[r], &len) : NULL;
        if (b && len >= sizeof name) { // a name tokenizer_config.json cannot hold
            cJSON_Delete(cfg);
            return;
        }
        snprintf(name, sizeof name, "%.*s", (int)len, b ? b : "");
        cJSON_AddStringToObject(cfg, ROLE_KEY[r], b ? name : t->special_name[r]);
    }
    char *text = cJSON_Print(cfg);
    cJSON_Delete(cfg);
    FZ_CHECK(text);
    fz_write("tokenizer_config.json", text, strlen(text));
    free(text);
    zy_tokenizer *u = NULL;
    s = zy_tokenizer_load(&u, pv);
    FZ_CHECKF(s == ZY_STATUS_OK, "the saved vocab.txt does not load");
    same_tokens(t, u, !from_json, -1, "vocab.txt");
    same_settings(t, u, !from_json, "vocab.txt");
    for (int r = 0; r < ZY_SPECIAL_COUNT; r++)
        FZ_CHECKF(t->special[r] == u->special[r], "vocab.txt: role %d was id %d, is %d", r,
                  (int)t->special[r], (int)u->special[r]);
    const char *p2 = fz_path("vocab2.txt");
    FZ_CHECK(zy_tokenizer_save_vocab_txt(u, p2) == ZY_STATUS_OK);
    same_files(pv, p2, "vocab.txt");
    zy_tokenizer_free(u);
    unlink(pc);
}

// ---- encoding ----------------------------------------------------------------------------------
// ids of s[0..n) with cap = n, checked; malloc'd.
static int32_t *encode(zy_tokenizer *t, const char *s, size_t n, unsigned flags, size_t *got) {
    int32_t *ids = xmalloc(n * sizeof *ids);
    FZ_CHECKF(zy_tokenizer_encode(t, s, n, flags, ids, n, got) == ZY_STATUS_OK,
              "encoding %zu bytes with room for %zu ids failed", n, n);
    FZ_CHECK(*got <= n);
    int V = zy_tokenizer_vocab_size(t);
    for (size_t i = 0; i < *got; i++)
        FZ_CHECKF(ids[i] >= 0 && ids[i] < V && zy_tokenizer_token_bytes(t, ids[i], NULL),
                  "id %d at %zu is not a token", (int)ids[i], i);
    return ids;
}

// Stripping accents puts the marks of each word in canonical order (NFD); the marks that
// are not Mn stay, so a word holding two of them with classes out of order has a later
// input character before an earlier one, and a token's start can then be before the one
// of the token ahead of it (FORMATS.md). Does s[0..n) hold such a mark?
static int reorders(const zy_tokenizer *t, const uint8_t *s, size_t n) {
    if (!zy__wp_strips(&t->wp)) return 0;
    for (size_t i = 0, k; i < n; i += k ? k : 1) {
        utf8proc_int32_t cp = -1;
        k = utf8_len(s + i, n - i);
        if (k) utf8proc_iterate(s + i, (utf8proc_ssize_t)k, &cp);
        if (cp >= 0x300 && utf8proc_get_property(cp)->combining_class &&
            utf8proc_category(cp) != UTF8PROC_CATEGORY_MN)
            return 1;
    }
    return 0;
}

// One text: the ids, the room rule, the offsets of encode_pair and decoding.
static void check_one(zy_tokenizer *t, const char *s, size_t n, unsigned flags) {
    size_t k;
    int32_t *ids = encode(t, s, n, flags, &k);
    if (k > 0) { // exactly one id too few of room, in a buffer of that size
        int32_t *tight = xmalloc((k - 1) * sizeof *tight);
        size_t m;
        FZ_CHECK(zy_tokenizer_encode(t, s, n, flags, tight, k - 1, &m) ==
                 ZY_STATUS_INVALID_ARGUMENT);
        free(tight);
    }
    zy_encode_params p = zy_encode_default_params();
    p.add_special = 0;
    p.flags = flags;
    size_t cap = zy_tokenizer_encode_pair_cap(t, n, 0, p);
    FZ_CHECK(cap >= k);
    zy_encoding e = {.ids = xmalloc(cap * sizeof(int32_t)), .type_ids = xmalloc(cap * sizeof(int32_t)),
                     .seq_ids = xmalloc(cap), .offsets = xmalloc(2 * cap * sizeof(size_t)),
                     .cap = cap};
    FZ_CHECK(zy_tokenizer_encode_pair(t, s, n, NULL, 0, p, &e) == ZY_STATUS_OK);
    FZ_CHECKF(e.n == k && e.n_attend == k && e.n_truncated == 0 &&
              !memcmp(e.ids, ids, k * sizeof *ids), "encode_pair of one text: other ids");
    const uint8_t *u = (const uint8_t *)s;
    for (size_t i = 0; i < k; i++) {
        size_t a = e.offsets[2 * i], b = e.offsets[2 * i + 1];
        FZ_CHECKF(a < b && b <= n, "token %zu: offsets [%zu, %zu) in %zu bytes", i, a, b, n);
        FZ_CHECKF(utf8_len(u + a, n - a), "token %zu starts at %zu, inside a character", i, a);
        int ends = 0; // b ends a valid character: one starts 1..4 bytes before it
        for (size_t c = 1; c <= 4 && c <= b && !ends; c++) ends = utf8_len(u + b - c, c) == c;
        FZ_CHECKF(ends, "token %zu ends at %zu, inside a character", i, b);
        FZ_CHECKF(i == 0 || a >= e.offsets[2 * i - 2] || reorders(t, u, n), "token %zu starts "
                  "at %zu, before token %zu (%zu)", i, a, i - 1, e.offsets[2 * i - 2]);
        FZ_CHECK(e.type_ids[i] == 0 && e.seq_ids[i] == 0);
    }
    size_t len = 0;
    FZ_CHECK(zy_tokenizer_decode(t, ids, k, NULL, 0, &len) == ZY_STATUS_OK);
    char *out = xmalloc(len);
    size_t len2 = 0;
    FZ_CHECK(zy_tokenizer_decode(t, ids, k, out, len, &len2) == ZY_STATUS_OK && len2 == len);
    if (len) FZ_CHECK(zy_tokenizer_decode(t, ids, k, out, len - 1, &len2) ==
                      ZY_STATUS_INVALID_ARGUMENT);
    free(out);
    free(e.ids), free(e.type_ids), free(e.seq_ids), free(e.offsets);
    free(ids);
}

static void check_parallel(zy_tokenizer *t, const char *s, size_t n, unsigned flags) {
    size_t len = 0;
    char *big = xmalloc(70000 + n + 1);
    while (len < 70000) { // the text again and again, on lines of its own
        memcpy(big + len, s, n);
        len += n;
        big[len++] = '\n';
    }
    size_t na, nb;
    int32_t *a = encode(t, big, len, flags, &na), *b = xmalloc(len * sizeof *b);
    FZ_CHECK(zy_tokenizer_encode_parallel(t, big, len, flags, b, len, &nb) == ZY_STATUS_OK);
    FZ_CHECKF(na == nb && !memcmp(a, b, na * sizeof *a), "parallel encoding differs: %zu and "
              "%zu ids", na, nb);
    free(b);
    free(a);
    free(big);
}

// The template encode_pair uses: the tokenizer's, or A (type 0) and B (type 1).
static int layout(const zy_tokenizer *t, int pair, int add_special, zy__tpl_piece *p) {
    if (add_special && t->tpl.n_single) {
        int n = pair ? t->tpl.n_pair : t->tpl.n_single;
        memcpy(p, pair ? t->tpl.pair : t->tpl.single, (size_t)n * sizeof *p);
        return n;
    }
    p[0] = (zy__tpl_piece){0, 0, -1};
    p[1] = (zy__tpl_piece){1, 1, -1};
    return pair ? 2 : 1;
}

// encode_pair against the rules of tokenizer.h, with the single-text encodings as truth.
static void check_pair(zy_tokenizer *t, const char *a, size_t la, const char *b, size_t lb,
                       zy_encode_params p) {
    int pair = b != NULL;
    size_t n[2] = {0, 0};
    int32_t *ids[2] = {encode(t, a, la, p.flags, &n[0]), pair ? encode(t, b, lb, p.flags, &n[1]) : NULL};
    zy_encode_params q = zy_encode_default_params();
    q.add_special = 0;
    q.flags = p.flags;
    size_t *off[2] = {xmalloc(2 * (la + 1) * sizeof(size_t)), xmalloc(2 * (lb + 1) * sizeof(size_t))};
    for (int w = 0; w <= pair; w++) { // each text's own offsets
        zy_encoding e = {.ids = xmalloc((w ? lb : la) * sizeof(int32_t) + 4),
                         .offsets = off[w], .cap = (w ? lb : la) + 1};
        FZ_CHECK(zy_tokenizer_encode_pair(t, w ? b : a, w ? lb : la, NULL, 0, q, &e) == 0);
        free(e.ids);
    }
    zy__tpl_piece tp[ZY__TPL_MAX];
    int np = layout(t, pair, p.add_special, tp), nsp = 0;
    for (int i = 0; i < np; i++) nsp += tp[i].seq < 0;
    // What the rules say: the statuses a refusal may have (0: it must be accepted).
    zy_status want[4];
    int nw = 0;
    if (p.add_special && !t->tpl.n_single) want[nw++] = ZY_STATUS_NOT_FOUND; // [CLS]/[SEP]
    if (p.pad && !p.max_length) want[nw++] = ZY_STATUS_INVALID_ARGUMENT;
    if (p.pad && t->special[ZY_SPECIAL_PAD] < 0) want[nw++] = ZY_STATUS_NOT_FOUND;
    size_t keep[2] = {n[0], n[1]}, total = n[0] + n[1];
    if (!nw && p.max_length) {
        if (p.max_length < (size_t)nsp) {
            want[nw++] = ZY_STATUS_INVALID_ARGUMENT;
        } else if (total > p.max_length - nsp) {
            size_t excess = total - (p.max_length - nsp);
            if (p.truncation == ZY_TRUNCATE_NONE) {
                want[nw++] = ZY_STATUS_INVALID_ARGUMENT;
            } else if (p.truncation == ZY_TRUNCATE_LONGEST_FIRST) {
                for (; excess; excess--) keep[keep[0] > keep[1] ? 0 : 1]--;
            } else {
                int w = p.truncation == ZY_TRUNCATE_ONLY_SECOND;
                if ((w && !pair) || keep[w] < excess) want[nw++] = ZY_STATUS_INVALID_ARGUMENT;
                else keep[w] -= excess;
            }
        }
    }
    size_t cap = zy_tokenizer_encode_pair_cap(t, la, pair ? lb : 0, p);
    zy_encoding e = {.ids = xmalloc(cap * sizeof(int32_t)), .type_ids = xmalloc(cap * sizeof(int32_t)),
                     .seq_ids = xmalloc(cap), .offsets = xmalloc(2 * cap * sizeof(size_t)),
                     .cap = cap};
    zy_status s = zy_tokenizer_encode_pair(t, a, la, b, lb, p, &e);
    if (nw) {
        int ok = 0;
        for (int i = 0; i < nw; i++) ok |= s == want[i];
        FZ_CHECKF(ok, "encode_pair gave status %d (%s); the rules say %d", (int)s,
                  zy_status_str(s), (int)want[0]);
    } else {
        FZ_CHECKF(s == ZY_STATUS_OK, "encode_pair refused (max_length %zu, truncation %d, pad "
                  "%d, add_special %d, %zu + %zu tokens)", p.max_length, (int)p.truncation,
                  p.pad, p.add_special, n[0], n[1]);
        size_t body = nsp + keep[0] + keep[1];
        size_t padded = p.pad && p.max_length > body ? p.max_length : body;
        FZ_CHECKF(e.n == padded && e.n_attend == body && e.n <= cap &&
                  e.n_truncated == total - keep[0] - keep[1], "encode_pair: n %zu n_attend %zu "
                  "truncated %zu, the rules give %zu %zu %zu", e.n, e.n_attend, e.n_truncated,
                  padded, body, total - keep[0] - keep[1]);
        if (p.max_length) FZ_CHECKF(e.n <= p.max_length, "%zu tokens, max_length %zu", e.n,
                                    p.max_length);
        size_t o = 0;
        for (int i = 0; i < np; i++) {
            int w = tp[i].seq;
            for (size_t k = 0; k < (w < 0 ? 1 : keep[w]); k++, o++) {
                FZ_CHECKF(e.ids[o] == (w < 0 ? tp[i].id : ids[w][k]) && e.seq_ids[o] == w &&
                          e.type_ids[o] == tp[i].type_id, "encode_pair: token %zu is not the "
                          "template's (piece %d)", o, i);
                FZ_CHECK(e.offsets[2 * o] == (w < 0 ? 0 : off[w][2 * k]) &&
                         e.offsets[2 * o + 1] == (w < 0 ? 0 : off[w][2 * k + 1]));
            }
        }
        for (; o < e.n; o++)
            FZ_CHECKF(e.ids[o] == t->special[ZY_SPECIAL_PAD] && e.type_ids[o] == 0 &&
                      e.seq_ids[o] == -1 && !e.offsets[2 * o] && !e.offsets[2 * o + 1],
                      "encode_pair: padding at %zu", o);
    }
    free(e.ids), free(e.type_ids), free(e.seq_ids), free(e.offsets);
    free(off[0]), free(off[1]);
    free(ids[0]), free(ids[1]);
}

// Decoding is invertible for an uncased tokenizer with the "##" prefix: the ids of an
// encoding are whitespace-free normalised pieces (lower-case, no accents when stripped,
// punctuation and CJK alone), the decoder joins them with spaces and glues continuations
// back, so the decoded words normalise and split to the same pieces again; cleanup only
// glues " ." " ?" " !" " ," (punctuation words) to the word before. Added tokens (the
// specials and [UNK]) decode to their text and are matched back with ZY_ENCODE_SPECIAL,
// which needs every one of them to hold an ASCII capital (so no lower-cased text can hold
// one), no space (cleanup would rewrite it), not to start with the prefix (it would be
// glued) or, with cleanup, with . ? ! , (glued to the text before it).
static int roundtrip_ok(const zy_tokenizer *t) {
    if (!t->wp.lowercase || strcmp(t->wp.prefix, "##")) return 0;
    for (int32_t k = 0; k < t->n_added; k++) {
        size_t n;
        const char *c = zy_tokenizer_token_bytes(t, t->added[k], &n);
        int capital = 0;
        for (size_t i = 0; i < n; i++) capital |= c[i] >= 'A' && c[i] <= 'Z';
        if (!capital || memchr(c, ' ', n) || (n >= 2 && c[0] == '#' && c[1] == '#') ||
            (t->wp.cleanup && strchr(".?!,", c[0])))
            return 0;
    }
    for (int i = 0; i < t->tpl.n_pair; i++) // template tokens must be added tokens too
        if (t->tpl.pair[i].seq < 0 && !t->tok_added[t->tpl.pair[i].id]) return 0;
    for (int i = 0; i < t->tpl.n_single; i++)
        if (t->tpl.single[i].seq < 0 && !t->tok_added[t->tpl.single[i].id]) return 0;
    return 1;
}

static void check_roundtrip(zy_tokenizer *t, const char *a, size_t la, const char *b,
                            size_t lb) {
    zy_encode_params p = zy_encode_default_params();
    p.add_special = t->tpl.n_single > 0;
    size_t cap = zy_tokenizer_encode_pair_cap(t, la, lb, p), len, m;
    zy_encoding e = {.ids = xmalloc(cap * sizeof(int32_t)), .cap = cap};
    FZ_CHECK(zy_tokenizer_encode_pair(t, a, la, b, lb, p, &e) == ZY_STATUS_OK);
    FZ_CHECK(zy_tokenizer_decode(t, e.ids, e.n, NULL, 0, &len) == ZY_STATUS_OK);
    char *text = xmalloc(len);
    FZ_CHECK(zy_tokenizer_decode(t, e.ids, e.n, text, len, &len) == ZY_STATUS_OK);
    int32_t *again = encode(t, text, len, ZY_ENCODE_SPECIAL, &m);
    FZ_CHECKF(m == e.n && !memcmp(again, e.ids, m * sizeof *again), "encode(decode(ids)) "
              "differs: %zu ids, then %zu from the %zu decoded bytes '%.*s'", e.n, m, len,
              (int)(len < 200 ? len : 200), text);
    free(again);
    free(text);
    free(e.ids);
}

// Everything encoding checks on one tokenizer and the body (and the fixed strings).
static void check_encoding(zy_tokenizer *t, const uint8_t *ctl, const char *s, size_t n,
                           int fixed) {
    for (size_t i = 0; fixed && i < sizeof FIXED / sizeof FIXED[0]; i++)
        for (unsigned f = 0; f <= ZY_ENCODE_SPECIAL; f++) check_one(t, FIXED[i], strlen(FIXED[i]), f);
    unsigned flags = ctl[2] & 2 ? ZY_ENCODE_SPECIAL : 0;
    for (unsigned f = 0; f <= ZY_ENCODE_SPECIAL; f++)
        if (fixed || f == flags) check_one(t, s, n, f); // (bert: the pair's flags only)
    if ((ctl[2] & 4) && (ctl[3] & 0x80)) check_parallel(t, s, n, flags); // slow: 1 in 4
    size_t cut = n * (ctl[2] >> 3) / 32;
    zy_encode_params p = {.flags = flags, .add_special = ctl[2] & 1, .max_length = ctl[1] & 31,
                          .truncation = (zy_truncation)((ctl[1] >> 5) & 3), .pad = ctl[1] >> 7};
    check_pair(t, s, cut, s + cut, n - cut, p);
    check_pair(t, s, n, NULL, 0, p);
    if (roundtrip_ok(t)) {
        check_roundtrip(t, s, cut, s + cut, n - cut);
        for (size_t i = 0; fixed && i < sizeof FIXED / sizeof FIXED[0]; i++)
            check_roundtrip(t, FIXED[i], strlen(FIXED[i]), NULL, 0);
    }
}

// ---- the harness ---------------------------------------------------------------------------------
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    const uint8_t *ctl = data, *body = data + 4;
    size_t nb = size - 4;
    input in = {.form = ctl[0] & 3, .cfg = fz_path("tokenizer_config.json")};
    int ov = ctl[0] >> 2;
    in.lp = zy_tokenizer_load_default_params();
    if (ov < 27)
        in.lp = (zy_tokenizer_load_params){ov % 3 - 1, ov / 3 % 3 - 1, ov / 9 % 3 - 1};
    // The files.
    const char *names[] = {"tokenizer", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
                           "saved1.json", "saved2.json", "vocab2.txt"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(fz_path(names[i]));
    const uint8_t *nul = in.form ? memchr(body, 0, nb) : NULL;
    in.tok = body;
    in.ntok = nul ? (size_t)(nul - body) : nb;
    if (nul) {
        in.cfgb = nul + 1;
        in.ncfg = nb - in.ntok - 1;
        fz_write("tokenizer_config.json", in.cfgb, in.ncfg);
    }
    size_t i = 0;
    while (i < in.ntok && strchr(" \t\r\n", in.tok[i]) && in.tok[i]) i++;
    in.json = in.form == 2 || (in.form != 1 && i < in.ntok && in.tok[i] == '{');
    in.file = fz_write(!in.form ? "tokenizer" : in.json ? "tokenizer.json" : "vocab.txt", in.tok,
                       in.ntok);
    in.path = in.form == 3 ? dir : in.file;

    zy_tokenizer *t = NULL;
    zy_status s = ov < 27 ? zy_tokenizer_load_with(&t, in.path, in.lp)
                          : zy_tokenizer_load(&t, in.path);
    if (s) {
        FZ_CHECK(t == NULL);
        FZ_CHECKF(s == ZY_STATUS_BAD_FORMAT || (in.json && s == ZY_STATUS_UNSUPPORTED),
                  "unexpected status %d (%s)", (int)s, zy_status_str(s));
        FZ_CHECKF(strstr(zy_last_error(), in.file) || (in.cfgb && strstr(zy_last_error(), in.cfg)),
                  "the message names neither %s nor the config", in.file);
        return 0;
    }
    if (zy_tokenizer_get_type(t) != ZY_TOKENIZER_WORDPIECE) { // a BPE tokenizer.json
        FZ_CHECK(in.json);
        zy_tokenizer_free(t);
        return 0;
    }
    int pad_lossy;
    check_loaded(t, &in, &pad_lossy);
    roundtrip_json(t, pad_lossy);
    roundtrip_vocab_txt(t, in.json);
    check_encoding(t, ctl, (const char *)body, nb, 1);
    if (bert[0]) { // the fixed strings once per process: they give the same every time
        static int fixed_done[3];
        int v = (ctl[3] & 3) % 3;
        check_encoding(bert[v], ctl, (const char *)body, nb, !fixed_done[v]);
        fixed_done[v] = 1;
    }
    zy_tokenizer_free(t);
    return 0;
}
