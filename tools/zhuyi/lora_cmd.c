// LoRA in the CLI: the --lora-* flags `zhuyi finetune` shares across its kinds, and
// `zhuyi lora merge BASE ADAPTER --out DIR`. The adapters themselves are the library's
// (include/zhuyi/lora.h); loading an adapter directory for the inference commands is
// infer_util.c's.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "lora_cmd.h"
#include "zhuyi/core.h"
#include "zhuyi/lora.h"

const char zy_cli_lora_help[] =
    "LoRA (low-rank adapters; the base model stays frozen, DIR holds a PEFT adapter):\n"
    "  --lora                use LoRA with the defaults below (any --lora-* flag implies it)\n"
    "  --lora-r N            adapter rank (8)\n"
    "  --lora-alpha X        scale alpha/r (16)\n"
    "  --lora-dropout P      dropout on the adapter's input (0.05)\n"
    "  --lora-targets LIST   module-name suffixes to adapt, comma-separated, as PEFT's\n"
    "                        target_modules: GPT-2 c_attn,c_proj,c_fc; BERT\n"
    "                        query,key,value,dense (default: c_attn for GPT-2, query,value\n"
    "                        for BERT)\n"
    "  --lora-rslora         scale alpha/sqrt(r) (rank-stabilised LoRA)\n"
    "  --lora-train-bias B   none, all or lora_only: biases that train too (none)\n"
    "  --lora-modules-to-save LIST\n"
    "                        modules trained in full beside the adapter (default: the task\n"
    "                        head: classifier, qa_outputs or score; 'none' for none)\n";

void zy_cli_lora_init(cli_lora *l) {
    l->on = false;
    l->c = zy_lora_default_config();
    // The usual recipe for a small model (PEFT's examples): alpha twice r, a little
    // dropout. The library's defaults are PEFT's own (alpha = r, no dropout).
    l->c.alpha = 16;
    l->c.dropout = 0.05f;
}

static int parse_num(const char *s, double lo, double hi, bool open_hi, double *out) {
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || errno || !(v >= lo && (open_hi ? v < hi : v <= hi))) return -1;
    *out = v;
    return 0;
}

int zy_cli_lora_flag(cli_lora *l, const char *cmd, const char *flag, const char *v) {
    if (strncmp(flag, "--lora", 6)) return -1;
    double x = 0;
    int bad = 0, takes = 1;
    if (!strcmp(flag, "--lora")) {
        takes = 0;
    } else if (!strcmp(flag, "--lora-rslora")) {
        l->c.use_rslora = true;
        takes = 0;
    } else if (!v) {
        return -1; // "needs a value or is unknown", said by the caller
    } else if (!strcmp(flag, "--lora-r")) {
        bad = zy_cli_parse_int(v, 1, 4096, &l->c.r);
    } else if (!strcmp(flag, "--lora-alpha")) {
        bad = parse_num(v, 1e-6, 1e6, false, &x);
        l->c.alpha = (float)x;
    } else if (!strcmp(flag, "--lora-dropout")) {
        bad = parse_num(v, 0, 1, true, &x);
        l->c.dropout = (float)x;
    } else if (!strcmp(flag, "--lora-targets")) {
        bad = !*v;
        l->c.targets = v;
    } else if (!strcmp(flag, "--lora-train-bias")) {
        if (!strcmp(v, "none")) l->c.bias = ZY_LORA_BIAS_NONE;
        else if (!strcmp(v, "all")) l->c.bias = ZY_LORA_BIAS_ALL;
        else if (!strcmp(v, "lora_only")) l->c.bias = ZY_LORA_BIAS_LORA_ONLY;
        else bad = 1;
    } else if (!strcmp(flag, "--lora-modules-to-save")) {
        l->c.modules_to_save = strcmp(v, "none") ? v : "";
    } else {
        return -1;
    }
    if (bad) {
        zy_cli_die("%s: %s: '%s' is not a valid value (see --help)", cmd, flag, v);
        return -2;
    }
    l->on = true;
    return takes;
}

// ---- zhuyi lora merge ----------------------------------------------------------------

static const char merge_usage[] =
    "usage: zhuyi lora merge BASE ADAPTER --out DIR\n"
    "\n"
    "Folds the LoRA adapter in ADAPTER (adapter_config.json, adapter_model.safetensors, as\n"
    "`zhuyi finetune --lora` or PEFT writes them) into the base model in BASE and writes a\n"
    "plain model directory DIR: config.json, model.safetensors with W + scale*B*A in place\n"
    "of each adapted W, and the tokenizer (from ADAPTER, else BASE). DIR then loads\n"
    "anywhere a model directory does, with no adapter cost per token.\n"
    "\n"
    "  --out DIR             the merged model (created; must not hold a model already)\n"
    "\n"
    "example:\n"
    "  zhuyi lora merge runs/kjv-gpt runs/kjv-modern --out runs/kjv-modern-merged\n";

static int merge(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *out = NULL;
    int n_pos = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(merge_usage, stdout), 0;
        if (!strcmp(a, "--out") && i + 1 < argc) out = argv[++i];
        else if (!strncmp(a, "--", 2))
            return zy_cli_die("lora merge: unknown option '%s' (see --help)", a);
        else if (n_pos < 2) pos[n_pos++] = a;
        else return zy_cli_die("lora merge: one BASE and one ADAPTER directory (see --help)");
    }
    if (n_pos < 2 || !out) {
        fputs(merge_usage, stderr);
        return 2;
    }
    char path[4200];
    if (zy_cli_dir_file(out, "model.safetensors", path, sizeof path) ||
        zy_cli_dir_file(out, "adapter_model.safetensors", path, sizeof path))
        return zy_cli_die("lora merge: %s already holds a model; give another --out", out);
    if (!zy_cli_dir_file(pos[1], "adapter_config.json", path, sizeof path))
        return zy_cli_die("lora merge: '%s' is not an adapter directory: it needs "
                          "adapter_config.json and adapter_model.safetensors", pos[1]);
    zy_model *m;
    if (zy_model_load_adapter(&m, pos[0], pos[1]))
        return zy_cli_die("lora merge: %s", zy_last_error());
    int rc = 0;
    if (zy_model_merge_adapter(m) || zy_model_save(m, out))
        rc = zy_cli_die("lora merge: %s", zy_last_error());
    zy_model_free(m);
    const char *srcs[2] = {pos[1], pos[0]};
    if (!rc) rc = zy_cli_copy_tokenizer("lora merge", srcs, 2, out);
    if (!rc) printf("zhuyi: merged %s into %s -> %s\n", pos[1], pos[0], out);
    return rc;
}

int zy_cli_lora(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(merge_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "merge")) return merge(argc, argv);
    return zy_cli_die("lora: unknown subcommand '%s' (merge)", argv[1]);
}
