// The flags shared by the commands that run a model on queries (fill-mask, embed,
// attention; a later finetune or predict): the model directory, where the queries come
// from (--text, --text-pair, --file, --jsonl), --json, --truncate, --weights and --threads,
// parsed in one place so that their spelling, checks and messages are the same in every
// command.
// A command adds its own flags through a callback, as kind.h's parse_flag does; its help
// text stays its own.
#ifndef ZHUYI_CLI_QUERY_OPTS_H
#define ZHUYI_CLI_QUERY_OPTS_H

#include <stdbool.h>

#include "textio.h"

// What a command takes besides --text, --json, --truncate and --threads.
enum {
    ZY_CLI_QUERY_PAIR = 1,  // --text-pair, and "text_pair" in JSON lines
    ZY_CLI_QUERY_LINES = 2, // --file and --jsonl: queries one per line (stdin by default);
                            // without it, --text is required
};

typedef struct zy_cli_query_command {
    const char *name;  // "fill-mask": messages read "zhuyi: fill-mask: ..."
    const char *usage; // the help text: --help prints it on stdout, no directory on stderr
    unsigned takes;    // ZY_CLI_QUERY_* flags
    // The command's own flags, or NULL. value is the next argument or NULL. Returns how
    // many values it took (0 or 1), -1 if the flag is not the command's (or lacks its
    // value: "unknown or incomplete option"), -2 after printing why the value is bad.
    int (*parse_flag)(void *opts, const char *flag, const char *value);
} zy_cli_query_command;

typedef struct zy_cli_query_opts {
    const zy_cli_query_command *cmd; // set by the parser (static: kept for the reader)
    const char *dir;                 // the model directory (the one positional argument)
    const char *adapter;             // --adapter DIR: a LoRA adapter put on it (or NULL)
    const char *text, *pair;         // --text, --text-pair (NULL: not given)
    const char *file;                // --file (NULL or "-": stdin)
    bool jsonl;                      // --jsonl: lines are {"text": ..., "text_pair": ...}
    bool json;                       // --json: JSON output
    bool truncate;                   // --truncate: cut texts longer than the positions
} zy_cli_query_opts;

// Parse argv (argv[0] is the command's name) into *o and, through c->parse_flag, into
// the command's own cmd_opts; --threads N calls zy_threads_set at once. c must outlive o
// (a static table entry). Returns 0 with *o set; -1 after --help (exit status 0); 2 after the usage on stderr (no
// model directory); 1 after a "zhuyi: NAME: ..." message.
int zy_cli_query_parse(const zy_cli_query_command *c, void *cmd_opts, int argc, char **argv,
                       zy_cli_query_opts *o);
// Open the queries o names (zy_cli_reader_open); 0, or 1 after a message.
int zy_cli_query_open(const zy_cli_query_opts *o, zy_cli_reader *r);

#endif
