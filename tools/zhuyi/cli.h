// Shared pieces of the zhuyi CLI: the subcommand table entry and argument helpers.
#ifndef ZHUYI_CLI_H
#define ZHUYI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "zhuyi/gemm.h"

typedef struct {
    const char *name;
    const char *help;
    int (*run)(int argc, char **argv); // argv[0] is the command name
} zy_cli_command;

// Print "zhuyi: <message>" to stderr and return exit status 1 (or, while the calling
// thread captures its messages, put <message> there instead).
int zy_cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// From now on the calling thread's zy_cli_die messages replace buf[0..cap) (the last one,
// NUL-terminated, without "zhuyi: ") instead of going to stderr: the server answers with
// them, a caller trying a value on several parsers drops them (buf NULL, cap 1: dropped).
// zy_cli_capture(NULL, 0) ends it.
void zy_cli_capture(char *buf, size_t cap);
// The global --precision (zy_precision; -1 when not given).
extern int zy_cli_precision;
// The commands' --precision: the global --precision, else bf16 where the CPU multiplies
// bf16 natively (AMX or AVX512-BF16: zy_bf16_level()), else fp32.
zy_precision zy_cli_default_precision(void);
// Sets it on the calling thread (the precision is per thread): main() and the server's
// engine thread call this; training takes it into zy_trainer_params.precision.
void zy_cli_use_precision(void);
// Parse a whole decimal integer in [lo, hi]; 0 on success.
int zy_cli_parse_int(const char *s, long lo, long hi, int *out);
// Is dir/name a regular file? The path is left in buf (cap bytes; false if it is cut).
bool zy_cli_dir_file(const char *dir, const char *name, char *buf, size_t cap);
// All of f (to EOF), NUL-terminated, malloc'd (free()); *n its bytes. NULL if out of memory.
char *zy_cli_read_stream(FILE *f, size_t *n);
// Parse a whole decimal number in [lo, hi] (strtod; NaN never is) as a float; 0 on success.
int zy_cli_parse_float(const char *s, double lo, double hi, float *out);
// A command's --threads V: sets the kernel thread count and returns 0, or prints
// "zhuyi: COMMAND: --threads 'V' is not a number from 1 to 4096" and returns 1.
int zy_cli_threads(const char *command, const char *v);

int zy_cli_info(int argc, char **argv);
int zy_cli_tokenizer(int argc, char **argv); // tokenizer.c: `zhuyi tokenizer train`
int zy_cli_tokenize(int argc, char **argv);  // tokenize.c: `zhuyi tokenize encode|decode`
int zy_cli_pretrain(int argc, char **argv);  // pretrain.c: `zhuyi pretrain gpt|bert`
int zy_cli_finetune(int argc, char **argv);  // pretrain.c: `zhuyi finetune classify|tag|qa|lm`
int zy_cli_eval(int argc, char **argv);      // eval.c: `zhuyi eval DIR --data FILE`
int zy_cli_predict(int argc, char **argv);   // predict.c: `zhuyi predict DIR --input FILE`
int zy_cli_generate(int argc, char **argv);  // generate.c: `zhuyi generate DIR --prompt TEXT`
int zy_cli_chat(int argc, char **argv);      // chat.c: `zhuyi chat DIR` (stdin lines -> replies)
int zy_cli_fill_mask(int argc, char **argv); // fill_mask.c: `zhuyi fill-mask DIR --text T`
int zy_cli_embed(int argc, char **argv);     // embed.c: `zhuyi embed DIR` (lines -> vectors)
int zy_cli_attention(int argc, char **argv); // attention.c: `zhuyi attention DIR --text T`
int zy_cli_attention_image(int argc, char **argv); // attention_image.c: ... --image F
int zy_cli_translate(int argc, char **argv); // translate.c: `zhuyi translate DIR` (lines)
int zy_cli_transcribe(int argc, char **argv); // transcribe.c: `zhuyi transcribe DIR F.wav`
int zy_cli_lora(int argc, char **argv);      // lora_cmd.c: `zhuyi lora merge BASE ADAPTER`
int zy_cli_export(int argc, char **argv);    // export.c: `zhuyi export gguf DIR`
int zy_cli_score(int argc, char **argv);     // score.c: `zhuyi score --ref R --hyp H`
int zy_cli_quantize(int argc, char **argv);
int zy_cli_serve(int argc, char **argv);     // serve.c: `zhuyi serve DIR...` (HTTP)  // quantize.c: `zhuyi quantize DIR --type T --out D`

#endif
