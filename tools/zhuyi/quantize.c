// `zhuyi quantize DIR --type bf16|f16 --out DIR2`: a model directory with its weights in
// another type. f16/bf16 stay Hugging Face's layout (model.safetensors with F16/BF16
// tensors: half the bytes), which every inference command runs in that type; the block
// types (Q8_0, Q4_0) belong in GGUF files, which this build does not write yet, so they
// are refused here with the way to get them (--weights at load).
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi quantize DIR --type TYPE --out DIR2\n"
    "\n"
    "Writes the model in DIR (config.json, model.safetensors, tokenizer files; a LoRA\n"
    "adapter directory is merged into its base) to DIR2 with its weights in TYPE:\n"
    "  bf16, f16   model.safetensors with BF16 / F16 tensors (half the size of f32; Hugging\n"
    "              Face loads it). generate, chat, eval, embed, translate and the other\n"
    "              inference commands run DIR2 in that type: each token reads half the\n"
    "              bytes of f32 (about twice the decoding speed).\n"
    "  f32         model.safetensors with F32 tensors.\n"
    "  q8_0, q4_0  GGUF's 8- and 4-bit blocks: not written yet (they need a GGUF file);\n"
    "              run any inference command on DIR with --weights q8_0 (or q4_0) to\n"
    "              convert at load instead.\n"
    "\n"
    "  --type TYPE   f32, f16 or bf16\n"
    "  --out DIR2    the new model directory (created; must not hold a model already)\n"
    "\n"
    "example:\n"
    "  zhuyi quantize runs/kjv --type bf16 --out runs/kjv-bf16\n"
    "  zhuyi generate runs/kjv-bf16 --prompt \"In the beginning\"\n";

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
        return zy_cli_die("quantize: --type '%s' is not one of f32, f16, bf16 (q8_0, q4_0: "
                          "GGUF)", type);
    if (t == ZY_WTYPE_Q8_0 || t == ZY_WTYPE_Q4_0)
        return zy_cli_die("quantize: %s is a GGUF block format, which this build does not "
                          "write yet; run the inference commands on %s with --weights %s to "
                          "convert at load", zy_wtype_name(t), dir, zy_wtype_name(t));
    char path[4200];
    if (zy_cli_dir_file(out, "model.safetensors", path, sizeof path) ||
        zy_cli_dir_file(out, "adapter_model.safetensors", path, sizeof path))
        return zy_cli_die("quantize: %s already holds a model; give another --out", out);
    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_weights("quantize", "f32") || zy_cli_open_model("quantize", dir, &m, &tok))
        return 1;
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
