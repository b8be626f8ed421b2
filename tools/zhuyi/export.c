// `zhuyi export gguf DIR --type T [--out FILE]`: a model directory (with its tokenizer) as
// one GGUF file for llama.cpp and other ggml programs. The format and the name mapping are
// the library's (include/zhuyi/gguf.h, src/models/gguf_*.c); this is flags, progress and
// messages. Reading GGUF back is infer_util.c's (any inference command takes FILE.gguf).
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gen.h"
#include "infer.h"
#include "progress.h"
#include "zhuyi/gguf.h"

static const char usage_text[] =
    "usage: zhuyi export gguf DIR [--type f32|f16|bf16|q8_0|q4_0] [--out FILE] [--name NAME]\n"
    "\n"
    "Writes the model in DIR (config.json, model.safetensors and its tokenizer; a LoRA\n"
    "run's adapter is merged in) as one GGUF file, the format of llama.cpp, under the\n"
    "names, keys and tokenizer fields llama.cpp's own converter uses:\n"
    "  - a GPT-2 language model as architecture \"gpt2\" with its byte-level BPE: llama.cpp\n"
    "    generates with it, and `zhuyi generate FILE` (any inference command) reads it\n"
    "    back; a chat template DIR records (zhuyi finetune lm) goes along;\n"
    "  - a BERT (BertModel, BertForPreTraining, BertForMaskedLM) as \"bert\", the encoder\n"
    "    body with mean pooling and its WordPiece: an embedding model for llama.cpp\n"
    "    (zhuyi does not read it back; llama.cpp's WordPiece is always uncased).\n"
    "\n"
    "  --type T        the matrices' storage (default f32). As llama.cpp's converter:\n"
    "                  norms, biases and position embeddings stay f32, and a matrix\n"
    "                  whose rows are not whole 32-value blocks (q8_0, q4_0) is f16\n"
    "  --out FILE      the file to write (default DIR/model-T.gguf), atomically\n"
    "  --name NAME     general.name (default: the directory's name)\n"
    "\n"
    "examples:\n"
    "  zhuyi export gguf runs/kjv --type q8_0 --out kjv-q8_0.gguf\n"
    "  zhuyi generate kjv-q8_0.gguf --prompt \"In the beginning\"\n";

typedef struct export_progress {
    zy_progress p;
    int shown;
} export_progress;

// Progress in MiB, for files of 64 MiB and more.
static int on_progress(uint64_t done, uint64_t total, void *user) {
    export_progress *e = user;
    if (total < ((uint64_t)64 << 20)) return 0;
    if (!e->shown) zy_progress_init(&e->p, 0, (long)(total >> 20), 1 + (long)(total >> 24));
    e->shown = 1;
    zy_progress_count(&e->p, (long)(done >> 20), "MiB");
    return 0;
}

// The last path component of dir, without trailing slashes.
static void base_name(const char *dir, char *out, size_t cap) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/') b--;
    snprintf(out, cap, "%.*s", (int)(n - b), dir + b);
}

static int export_gguf(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *name = NULL, *type = "f32";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage_text, stdout), 0;
        else if (!strcmp(a, "--type") && v) type = v, i++;
        else if (!strcmp(a, "--out") && v) out = v, i++;
        else if (!strcmp(a, "--name") && v) name = v, i++;
        else if (a[0] == '-' && a[1])
            return zy_cli_die("export gguf: unknown or incomplete option '%s' (see zhuyi "
                              "export gguf --help)", a);
        else if (dir)
            return zy_cli_die("export gguf: one model directory only ('%s' and '%s')", dir, a);
        else dir = a;
    }
    if (!dir) return fputs(usage_text, stderr), 2;
    zy_gguf_export_params p = zy_gguf_export_default_params();
    if (zy_wtype_parse(type, &p.wtype))
        return zy_cli_die("export gguf: --type '%s' is not one of f32, f16, bf16, q8_0, q4_0",
                          type);
    char def_out[4200], def_name[256];
    if (!out) {
        if ((size_t)snprintf(def_out, sizeof def_out, "%s/model-%s.gguf", dir,
                             zy_wtype_name(p.wtype)) >= sizeof def_out)
            return zy_cli_die("export gguf: directory path too long");
        out = def_out;
    }
    base_name(dir, def_name, sizeof def_name);
    p.name = name ? name : def_name;
    if (zy_cli_chat_template("export gguf", dir, &p.chat_template)) return 1;
    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model("export gguf", dir, &m, &tok)) return 1;
    export_progress ep = {0};
    p.progress = on_progress;
    p.user = &ep;
    int rc = 0;
    if (zy_model_save_gguf(m, tok, out, p)) rc = zy_cli_die("export gguf: %s", zy_last_error());
    if (ep.shown) zy_progress_end(&ep.p);
    const zy_model_info *in = zy_model_get_info(m);
    if (!rc)
        printf("zhuyi: wrote %s (gguf, %s, %s, %d layers, %zu parameters)\n", out,
               in->model_type, zy_wtype_name(p.wtype), in->n_layer, in->n_params);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}

int zy_cli_export(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "gguf")) return export_gguf(argc, argv);
    return zy_cli_die("export: unknown format '%s' (gguf)", argv[1]);
}
