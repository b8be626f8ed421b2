// Text in and out for the commands that run a model on queries (fill-mask, embed,
// attention): reading queries (--text, lines of a file or stdin, JSON lines with a "text"
// field), and writing text safely into JSON strings and XML (SVG) documents, including
// token labels that show what a token is (spaces, control bytes, bytes that are not UTF-8).
#ifndef ZHUYI_CLI_TEXTIO_H
#define ZHUYI_CLI_TEXTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "strbuf.h"

// ---- queries in ----------------------------------------------------------------------
typedef struct zy_cli_query {
    const char *text, *pair; // pair NULL: a single text
    size_t len, pair_len;
    long line;               // 1-based line of the input, 0 for --text
} zy_cli_query;

typedef struct zy_cli_reader {
    const char *command;     // for messages: "fill-mask", ...
    const char *text, *pair; // --text / --text-pair (then no file is read)
    FILE *f;                 // otherwise: --file or stdin
    const char *name;        // its name for messages ("stdin" or the path)
    bool jsonl;              // lines are JSON objects {"text": ..., "text_pair": ...}
    bool allow_pair;         // "text_pair" is accepted
    // state
    bool done, own;
    long line;
    char *buf;
    size_t cap;
    char *json_text, *json_pair; // the strings of the last JSON line
} zy_cli_reader;

// Read from text (and pair) when text is not NULL, else from path (NULL or "-": stdin).
// Prints "zhuyi: COMMAND: ..." and returns 1 if the file cannot be opened.
int zy_cli_reader_open(zy_cli_reader *r, const char *command, const char *text,
                       const char *pair, const char *path, bool jsonl, bool allow_pair);
// The next query: 1 and *q set (valid until the next call), 0 at the end, -1 after
// printing why (unreadable input, a JSON line that is not an object with a string
// "text"). Lines are read whole (any length; a trailing "\r\n" or "\n" removed); blank
// lines (spaces only) are skipped.
int zy_cli_reader_next(zy_cli_reader *r, zy_cli_query *q);
void zy_cli_reader_close(zy_cli_reader *r);
// "line N of FILE: " for a line of input, "" for --text: a prefix for messages (buf of
// at least 64 + strlen(name) bytes).
const char *zy_cli_query_where(const zy_cli_reader *r, const zy_cli_query *q, char *buf,
                               size_t cap);

// ---- text out --------------------------------------------------------------------------
// s[0..n) as a JSON string, quotes included: " \ and control characters escaped, bytes
// that are not valid UTF-8 written as U+FFFD (JSON text must be UTF-8).
void zy_cli_json_string(zy_strbuf *b, const char *s, size_t n);
void zy_cli_put_json_string(FILE *f, const char *s, size_t n); // the same to a file

enum {
    ZY_CLI_LABEL_SPACES = 1, // show a space as U+2423 (␣), so " the" and "the" differ
};
// s[0..n) as XML character data (also valid inside an attribute value): & < > " '
// escaped; what XML 1.0 cannot hold or a reader cannot see written as visible escapes:
// \n \t \r, \xNN for other control bytes, bytes that are not valid UTF-8, and the
// non-characters U+FFFE/U+FFFF. At most max_chars characters of s (0: all), then "…".
void zy_cli_xml_text(zy_strbuf *b, const char *s, size_t n, unsigned flags, size_t max_chars);

#endif
