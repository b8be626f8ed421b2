// The zhuyi command line: global flags, then dispatch to one file per subcommand.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dist.h"
#include "zhuyi/zhuyi.h"

static const zy_cli_command commands[] = {
    {"info", "show version, CPU features, kernels and threads", zy_cli_info},
    {"tokenizer", "train a BPE or WordPiece tokenizer (tokenizer.json)", zy_cli_tokenizer},
    {"tokenize", "encode text to ids or decode ids to text", zy_cli_tokenize},
    {"pretrain", "train a GPT or a BERT on text files (`zhuyi pretrain gpt|bert --help`)",
     zy_cli_pretrain},
    {"finetune", "fine-tune a model for a task (`zhuyi finetune KIND --help`: classify,\n"
                 "             tag, qa, lm, image-classify, speech)",
     zy_cli_finetune},
    {"eval", "loss and perplexity of a model directory on a text file, or a fine-tuned\n"
             "             model's scores on labelled data (also: evaluate)", zy_cli_eval},
    {"evaluate", NULL, zy_cli_eval},
    {"predict", "labels, tags or answers of a fine-tuned model for new data (JSON lines)",
     zy_cli_predict},
    {"generate", "continue a prompt with a model directory (streams text)", zy_cli_generate},
    {"transcribe", "speech to text: WAV files through a speech model (CTC)", zy_cli_transcribe},
    {"translate", "translate lines of text with an encoder-decoder model (beam search)",
     zy_cli_translate},
    {"chat", "talk with an instruction-tuned model, a line a turn (terminal or pipe)",
     zy_cli_chat},
    {"fill-mask", "the likeliest tokens for each [MASK] of a text (BERT)", zy_cli_fill_mask},
    {"embed", "one vector per line of text (BERT, GPT hidden states)", zy_cli_embed},
    {"attention", "attention maps of every layer and head as SVG or JSON", zy_cli_attention},
    {"lora", "fold a LoRA adapter into its base model (`zhuyi lora merge --help`)",
     zy_cli_lora},
    {"export", "write a model as one GGUF file for llama.cpp (`zhuyi export gguf --help`)",
     zy_cli_export},
    {"quantize", "a model in f16 or bf16 (safetensors) or q8_0 / q4_0 (GGUF): fewer bytes",
     zy_cli_quantize},
    {"serve", "an OpenAI-compatible HTTP server with a playground page for model directories",
     zy_cli_serve},
    {"score", "BLEU and chrF of a hypothesis file against reference files (SacreBLEU's)",
     zy_cli_score},
};

static void usage(FILE *out) {
    fprintf(out,
            "zhuyi %s - build, train and run attention models on a CPU\n"
            "\n"
            "usage: zhuyi [--threads N] [--precision P] COMMAND [ARGS...]\n"
            "\n"
            "commands:\n",
            zy_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].help) // aliases have none
            fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\n"
                 "global options:\n"
                 "  --threads N   threads for kernels (default: $ZY_THREADS, else all cores)\n"
                 "  --precision P matmul precision, fp32 or bf16 (bf16: inputs rounded to bf16,\n"
                 "                sums in fp32); default bf16 where the CPU has AMX or\n"
                 "                AVX512-BF16 (`zhuyi info`), else fp32; decoding steps\n"
                 "                (a token per sequence) are fp32 either way\n"
                 "  --help, -h    this help; `zhuyi COMMAND --help` for a command\n"
                 "  --version     print the version\n"
                 "\n"
                 "environment:\n"
                 "  ZY_THREADS    default thread count\n"
                 "  ZY_SIMD       cap the kernel family: scalar, avx2 or avx512\n"
                 "  ZY_BF16       cap the bf16 path: emulated, avx512-bf16 or amx\n");
}

static void log_to_stderr(zy_log_level level, const char *msg, void *user) {
    (void)user;
    static const char *names[] = {"debug", "info", "warning", "error"};
    fprintf(stderr, "zhuyi: %s: %s\n", names[level], msg);
}

int main(int argc, char **argv) {
    zy_log_set(log_to_stderr, NULL, ZY_LOG_WARN);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            printf("zhuyi %s\n", zy_version());
            return 0;
        } else if (!strcmp(a, "--threads")) {
            if (i + 1 >= argc) return zy_cli_die("--threads needs a number");
            int n;
            if (zy_cli_parse_int(argv[++i], 1, 4096, &n))
                return zy_cli_die("--threads: '%s' is not a number from 1 to 4096", argv[i]);
            zy_threads_set(n);
        } else if (!strcmp(a, "--precision")) {
            const char *v = i + 1 < argc ? argv[++i] : "";
            if (strcmp(v, "fp32") && strcmp(v, "bf16"))
                return zy_cli_die("--precision: '%s' is not fp32 or bf16", v);
            zy_cli_precision = !strcmp(v, "bf16") ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32;
        } else {
            fprintf(stderr, "zhuyi: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    zy_cli_use_precision();
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (!strcmp(argv[i], commands[c].name)) {
            // Under mpirun (the MPI build): one rank failing ends every rank.
            if (zy_cli_dist_init(&argc, &argv)) return 1;
            return zy_cli_dist_end(commands[c].run(argc - i, argv + i));
        }
    fprintf(stderr, "zhuyi: unknown command '%s' (see zhuyi --help)\n", argv[i]);
    return 2;
}
