// `zhuyi tokenize encode|decode`: text <-> ids through a tokenizer (byte-level BPE or
// WordPiece), stdin to stdout. Plain mode: encode reads all of stdin and prints
// space-separated ids on one line; decode reads whitespace-separated ids and writes the
// text (BPE: the exact bytes). --jsonl: one JSON string per input line -> one JSON array
// of ids per output line, and back.
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "textio.h"
#include "zhuyi/zhuyi.h"
#include "zhuyi/tokenizer.h"

static const char usage_text[] =
    "usage: zhuyi tokenize encode|decode --tokenizer PATH [--jsonl] [--special]\n"
    "                                    [--add-special] [--cased]\n"
    "\n"
    "Reads stdin, writes stdout.\n"
    "  encode            text -> ids, printed space-separated on one line\n"
    "  decode            whitespace-separated ids -> text (BPE: the exact original bytes;\n"
    "                    WordPiece: tokens joined by spaces, \"##\" pieces glued on)\n"
    "  --jsonl           one JSON string per line in, one JSON array of ids per line out\n"
    "                    (decode: arrays in, strings out; bytes that are not valid UTF-8\n"
    "                    are written as U+FFFD, since JSON text must be UTF-8)\n"
    "  --tokenizer PATH  a tokenizer.json (BPE or WordPiece), a BERT vocab.txt, or a\n"
    "                    directory holding tokenizer.json, vocab.txt, vocab.json +\n"
    "                    merges.txt, or encoder.json + vocab.bpe (GPT-2)\n"
    "  --special         recognise special tokens such as <|endoftext|> or [MASK] in the\n"
    "                    text\n"
    "  --add-special     encode: wrap each text as the tokenizer's post-processor says\n"
    "                    (WordPiece: [CLS] ... [SEP]; GPT-2 adds nothing)\n"
    "  --cased           WordPiece: do not lower-case or strip accents (for a bare\n"
    "                    vocab.txt of a cased BERT; overrides the files)\n";

static int hex4(const char *p, unsigned *v) {
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return 0;
        *v = *v * 16 + (unsigned)d;
    }
    return 1;
}

// Parse a line holding one JSON string (surrounding spaces allowed) into out (room for
// the line's length), returning the byte count, or -1. Done by hand rather than with
// cJSON so that "\u0000" survives (cJSON strings end at the first NUL).
static long parse_json_string(const char *s, size_t n, char *out) {
    size_t i = 0, o = 0;
    while (i < n && strchr(" \t\r\n", s[i])) i++;
    if (i >= n || s[i++] != '"') return -1;
    for (;;) {
        if (i >= n) return -1;
        unsigned char c = (unsigned char)s[i++];
        if (c == '"') break;
        if (c < 0x20) return -1;
        if (c != '\\') {
            out[o++] = (char)c;
            continue;
        }
        if (i >= n) return -1;
        char e = s[i++];
        unsigned cp;
        switch (e) {
        case '"': case '\\': case '/': out[o++] = e; continue;
        case 'b': out[o++] = '\b'; continue;
        case 'f': out[o++] = '\f'; continue;
        case 'n': out[o++] = '\n'; continue;
        case 'r': out[o++] = '\r'; continue;
        case 't': out[o++] = '\t'; continue;
        case 'u':
            if (i + 4 > n || !hex4(s + i, &cp)) return -1;
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00) { // a surrogate pair
                unsigned lo;
                if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u' || !hex4(s + i + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return -1; // a lone low surrogate is no character
            }
            if (cp < 0x80) {
                out[o++] = (char)cp;
            } else if (cp < 0x800) {
                out[o++] = (char)(0xC0 | cp >> 6);
                out[o++] = (char)(0x80 | (cp & 63));
            } else if (cp < 0x10000) {
                out[o++] = (char)(0xE0 | cp >> 12);
                out[o++] = (char)(0x80 | ((cp >> 6) & 63));
                out[o++] = (char)(0x80 | (cp & 63));
            } else {
                out[o++] = (char)(0xF0 | cp >> 18);
                out[o++] = (char)(0x80 | ((cp >> 12) & 63));
                out[o++] = (char)(0x80 | ((cp >> 6) & 63));
                out[o++] = (char)(0x80 | (cp & 63));
            }
            continue;
        default: return -1;
        }
    }
    while (i < n && strchr(" \t\r\n", s[i])) i++;
    return i == n ? (long)o : -1;
}

// Encode text[0..n) into ids (room from encode_cap), with the post-processor's special
// tokens when add_special.
static zy_status encode_text(zy_tokenizer *t, const char *text, size_t n, unsigned flags,
                             int add_special, int32_t *ids, size_t cap, size_t *k) {
    if (!add_special) return zy_tokenizer_encode_parallel(t, text, n, flags, ids, cap, k);
    zy_encode_params p = zy_encode_default_params();
    p.flags = flags;
    zy_encoding e = {.ids = ids, .cap = cap};
    zy_status s = zy_tokenizer_encode_pair(t, text, n, NULL, 0, p, &e);
    *k = e.n;
    return s;
}

static size_t encode_cap(const zy_tokenizer *t, size_t n) {
    return zy_tokenizer_encode_pair_cap(t, n, 0, zy_encode_default_params()) + 1;
}

static int encode_plain(zy_tokenizer *t, unsigned flags, int add_special) {
    size_t n, k;
    char *text = zy_cli_read_stream(stdin, &n);
    size_t cap = text ? encode_cap(t, n) : 0;
    int32_t *ids = text ? malloc(cap * sizeof *ids) : NULL;
    if (!ids) return free(text), zy_cli_die("out of memory reading stdin");
    if (encode_text(t, text, n, flags, add_special, ids, cap, &k)) {
        free(text);
        free(ids);
        return zy_cli_die("encode: %s", zy_last_error());
    }
    for (size_t i = 0; i < k; i++) printf(i ? " %d" : "%d", ids[i]);
    putchar('\n');
    free(text);
    free(ids);
    return 0;
}

static int decode_plain(zy_tokenizer *t) {
    size_t n, k = 0, len;
    char *text = zy_cli_read_stream(stdin, &n), *p = text;
    int32_t *ids = text ? malloc((n / 2 + 1) * sizeof *ids) : NULL; // an id takes >= 2 chars
    if (!ids) return free(text), zy_cli_die("out of memory reading stdin");
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && !strchr(" \n\t\r", *end))) {
            int rc = zy_cli_die("decode: '%.20s' is not an id", p);
            free(text);
            free(ids);
            return rc;
        }
        ids[k++] = (int32_t)v;
        p = end;
    }
    char *out = NULL;
    zy_status s = zy_tokenizer_decode(t, ids, k, NULL, 0, &len);
    if (!s && !(out = malloc(len + 1))) s = ZY_STATUS_OUT_OF_MEMORY;
    if (!s) s = zy_tokenizer_decode(t, ids, k, out, len, &len);
    if (!s) fwrite(out, 1, len, stdout);
    free(out);
    free(text);
    free(ids);
    return s ? zy_cli_die("decode: %s", zy_last_error()) : 0;
}

static int jsonl(zy_tokenizer *t, unsigned flags, int add_special, int decode) {
    char *line = NULL;
    size_t cap = 0, idcap = 0;
    int32_t *ids = NULL;
    char *text = NULL;
    long lineno = 0;
    int rc = 0;
    ssize_t got;
    while (!rc && (got = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)got) continue; // blank lines are skipped
        if (!decode) {
            // Decoded text is never longer than its JSON spelling.
            if (encode_cap(t, (size_t)got) > idcap) {
                idcap = encode_cap(t, (size_t)got);
                free(ids);
                free(text);
                ids = malloc(idcap * sizeof *ids);
                text = malloc(idcap);
            }
            long n = ids && text ? parse_json_string(line, (size_t)got, text) : -2;
            size_t k;
            if (n == -2) rc = zy_cli_die("out of memory");
            else if (n < 0) rc = zy_cli_die("encode --jsonl: line %ld is not a JSON string", lineno);
            else if (encode_text(t, text, (size_t)n, flags, add_special, ids, idcap, &k))
                rc = zy_cli_die("encode: line %ld: %s", lineno, zy_last_error());
            else {
                putchar('[');
                for (size_t i = 0; i < k; i++) printf(i ? ",%d" : "%d", ids[i]);
                fputs("]\n", stdout);
            }
        } else {
            cJSON *j = cJSON_ParseWithLength(line, (size_t)got);
            int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : -1;
            if (n < 0) rc = zy_cli_die("decode --jsonl: line %ld is not a JSON array", lineno);
            int32_t *v = n >= 0 ? malloc(((size_t)n + 1) * sizeof *v) : NULL;
            const cJSON *e;
            int i = 0;
            cJSON_ArrayForEach(e, j) {
                if (rc || !v) break;
                if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > INT32_MAX ||
                    e->valuedouble != (double)(int32_t)e->valuedouble)
                    rc = zy_cli_die("decode --jsonl: line %ld: item %d is not an id", lineno, i);
                else
                    v[i++] = (int32_t)e->valuedouble;
            }
            size_t len;
            char *out = NULL;
            if (!rc && v && !zy_tokenizer_decode(t, v, (size_t)i, NULL, 0, &len) &&
                (out = malloc(len + 1)) && !zy_tokenizer_decode(t, v, (size_t)i, out, len, &len)) {
                zy_cli_put_json_string(stdout, out, len);
                putchar('\n');
            } else if (!rc) {
                rc = zy_cli_die("decode: line %ld: %s", lineno, zy_last_error());
            }
            free(out);
            free(v);
            cJSON_Delete(j);
        }
    }
    free(line);
    free(ids);
    free(text);
    return rc;
}

int zy_cli_tokenize(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    int decode = !strcmp(argv[1], "decode");
    if (!decode && strcmp(argv[1], "encode"))
        return zy_cli_die("tokenize: unknown action '%s' (encode or decode)", argv[1]);
    const char *path = NULL;
    int use_jsonl = 0, add_special = 0;
    unsigned flags = 0;
    zy_tokenizer_load_params lp = zy_tokenizer_load_default_params();
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--jsonl")) use_jsonl = 1;
        else if (!strcmp(argv[i], "--special")) flags |= ZY_ENCODE_SPECIAL;
        else if (!strcmp(argv[i], "--add-special")) add_special = 1;
        else if (!strcmp(argv[i], "--cased")) lp.lowercase = 0;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return fputs(usage_text, stdout), 0;
        else return zy_cli_die("tokenize: unknown or incomplete option '%s' (see --help)", argv[i]);
    }
    if (!path) return zy_cli_die("tokenize: --tokenizer PATH is required");
    zy_tokenizer *t;
    if (zy_tokenizer_load_with(&t, path, lp)) return zy_cli_die("%s", zy_last_error());
    if (lp.lowercase == 0 && zy_tokenizer_get_type(t) != ZY_TOKENIZER_WORDPIECE) {
        zy_tokenizer_free(t);
        return zy_cli_die("tokenize: --cased is for WordPiece tokenizers (%s is byte-level "
                          "BPE, which never changes case)", path);
    }
    int rc = use_jsonl ? jsonl(t, flags, add_special, decode)
             : decode  ? decode_plain(t)
                       : encode_plain(t, flags, add_special);
    if (fflush(stdout) != 0 && !rc) rc = zy_cli_die("writing stdout: %s", strerror(errno));
    zy_tokenizer_free(t);
    return rc;
}
