// `zhuyi quantize DIR --type TYPE --out OUT`: a model with its weights in another type.
// f16/bf16 stay Hugging Face's layout (a directory whose model.safetensors holds F16/BF16
// tensors: half the bytes); the block types (Q8_0, Q4_0) go into a GGUF file, written by
// `zhuyi export gguf` (export.c). Every inference command runs either in that type.
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi quantize DIR --type TYPE --out OUT\n"
    "\n"
    "Writes the model in DIR (config.json, model.safetensors, tokenizer files; a LoRA\n"
    "adapter directory is merged into its base) with its weights in TYPE:\n"
    "  bf16, f16   OUT is a model directory whose model.safetensors holds BF16 / F16\n"
    "              tensors (half the size of f32; Hugging Face loads it)\n"
    "  f32         the same with F32 tensors\n"
    "  q8_0, q4_0  OUT is a GGUF file with the matrices in GGUF's 8- or 4-bit blocks of 32\n"
    "              (as `zhuyi export gguf DIR --type TYPE --out OUT`: llama.cpp reads it)\n"
    "generate, chat, eval, embed, translate and the other inference commands run OUT in\n"
    "that type: each token reads 1/2 (f16, bf16), 1/3.8 (q8_0) or 1/7 (q4_0) of f32's\n"
    "bytes, which sets the speed of decoding.\n"
    "\n"
    "  --type TYPE   f32, f16, bf16, q8_0 or q4_0\n"
    "  --out OUT     the new model directory (created; must not hold a model already) or,\n"
    "                for q8_0 / q4_0, the GGUF file\n"
    "\n"
    "example:\n"
    "  zhuyi quantize runs/kjv --type bf16 --out runs/kjv-bf16\n"
    "  zhuyi quantize runs/kjv --type q4_0 --out kjv-q4_0.gguf\n"
    "  zhuyi generate kjv-q4_0.gguf --prompt \"In the beginning\"\n";

int zy_cli_quantize(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *type = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage_text, stdout), 0;
        else if (!strcmp(a, "--type") && v) type = v, i++;
        else if (!strcmp(a, "--out") && v) out = v, i++;
        else if (a[0] == '-' && a[1])
            return zy_cli_die("quantize: unknown or incomplete option '%s' (see zhuyi quantize "
                              "--help)", a);
        else if (dir)
            return zy_cli_die("quantize: one model directory only ('%s' and '%s')", dir, a);
        else dir = a;
    }
    if (!dir || !out || !type) return fputs(usage_text, stderr), 2;
    zy_wtype t;
    if (zy_wtype_parse(type, &t))
        return zy_cli_die("quantize: --type '%s' is not one of f32, f16, bf16, q8_0, q4_0",
                          type);
    // The model opened as f32 (no typed copies: only the file is wanted).
    if (zy_cli_weights("quantize", "f32")) return 1;
    if (t == ZY_WTYPE_Q8_0 || t == ZY_WTYPE_Q4_0) { // GGUF's blocks: the GGUF writer
        char *args[] = {"export", "gguf", (char *)dir, "--type", (char *)type, "--out",
                        (char *)out, NULL};
        return zy_cli_export(7, args);
    }
    char path[4200];
    if (zy_cli_dir_file(out, "model.safetensors", path, sizeof path) ||
        zy_cli_dir_file(out, "adapter_model.safetensors", path, sizeof path))
        return zy_cli_die("quantize: %s already holds a model; give another --out", out);
    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model("quantize", dir, &m, &tok)) return 1;
    zy_tokenizer_free(tok); // opened to check it belongs; the files are copied as they are
    const zy_dtype dt = t == ZY_WTYPE_F16 ? ZY_DTYPE_F16 : t == ZY_WTYPE_BF16 ? ZY_DTYPE_BF16
                                                                             : ZY_DTYPE_F32;
    int rc = 0;
    if (zy_model_save_dtype(m, out, dt)) rc = zy_cli_die("quantize: %s", zy_last_error());
    size_t n;
    zy_model_params(m, &n);
    zy_model_free(m);
    const char *srcs[1] = {dir};
    if (!rc) rc = zy_cli_copy_tokenizer("quantize", srcs, 1, out);
    if (!rc)
        printf("zhuyi: %s -> %s: %zu parameters as %s (%.1f MiB)\n", dir, out, n,
               zy_wtype_name(t), (double)n * (t == ZY_WTYPE_F32 ? 4 : 2) / (1 << 20));
    return rc;
}
