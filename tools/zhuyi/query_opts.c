// The flags of the commands that run a model on queries: see query_opts.h.
#include "query_opts.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "infer.h"

// The shared flags that take a value (v, NULL if none follows): 1 when one took v, -1 if
// a is none of them (or v is missing), -2 after printing why v is bad.
static int shared_value_flag(zy_cli_query_opts *o, const char *a, const char *v) {
    unsigned takes = o->cmd->takes;
    if (!v) return -1;
    if (!strcmp(a, "--text")) o->text = v;
    else if (!strcmp(a, "--adapter")) o->adapter = v;
    else if ((takes & ZY_CLI_QUERY_PAIR) && !strcmp(a, "--text-pair")) o->pair = v;
    else if ((takes & ZY_CLI_QUERY_LINES) && !strcmp(a, "--file")) o->file = v;
    else if (!strcmp(a, "--threads")) {
        if (zy_cli_threads(o->cmd->name, v)) return -2;
    } else if (!strcmp(a, "--weights")) {
        if (zy_cli_weights(o->cmd->name, v)) return -2;
    } else return -1;
    return 1;
}

// One of the shared flags the command takes: how many values it took (0 or 1), -1 if a is
// none of them, -2 after printing why its value is bad.
static int shared_flag(zy_cli_query_opts *o, const char *a, const char *v) {
    if (!strcmp(a, "--json")) o->json = true;
    else if (!strcmp(a, "--truncate")) o->truncate = true;
    else if ((o->cmd->takes & ZY_CLI_QUERY_LINES) && !strcmp(a, "--jsonl")) o->jsonl = true;
    else return shared_value_flag(o, a, v);
    return 0;
}

int zy_cli_query_parse(const zy_cli_query_command *c, void *cmd_opts, int argc, char **argv,
                       zy_cli_query_opts *o) {
    *o = (zy_cli_query_opts){.cmd = c};
    const char *name = c->name;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(c->usage, stdout);
            return -1;
        }
        int took = shared_flag(o, a, v);
        if (took == -1 && c->parse_flag) took = c->parse_flag(cmd_opts, a, v);
        if (took == -2) return 1;
        if (took >= 0) {
            i += took;
            continue;
        }
        if (a[0] == '-' && a[1])
            return zy_cli_die("%s: unknown or incomplete option '%s' (see zhuyi %s --help)",
                              name, a, name);
        if (o->dir)
            return zy_cli_die("%s: one model directory only ('%s' and '%s')", name, o->dir, a);
        o->dir = a;
    }
    if (!o->dir) {
        fputs(c->usage, stderr);
        return 2;
    }
    if (!(c->takes & ZY_CLI_QUERY_LINES) && !o->text)
        return zy_cli_die("%s: --text TEXT is required (see zhuyi %s --help)", name, name);
    if (o->pair && !o->text) return zy_cli_die("%s: --text-pair needs --text", name);
    if (o->text && (o->file || o->jsonl))
        return zy_cli_die("%s: --text and --file/--jsonl exclude each other", name);
    return 0;
}

int zy_cli_query_open(const zy_cli_query_opts *o, zy_cli_reader *r) {
    return zy_cli_reader_open(r, o->cmd->name, o->text, o->pair, o->file, o->jsonl,
                              o->cmd->takes & ZY_CLI_QUERY_PAIR);
}
