// LoRA in the CLI (lora_cmd.c): the --lora-* flags of `zhuyi finetune` and their help.
#ifndef ZHUYI_CLI_LORA_CMD_H
#define ZHUYI_CLI_LORA_CMD_H

#include <stdbool.h>

#include "zhuyi/lora.h"

typedef struct cli_lora {
    bool on;          // a --lora* flag was given
    zy_lora_config c; // strings point into argv (or the saved state)
} cli_lora;

extern const char zy_cli_lora_help[];

// The CLI's defaults (alpha 16, dropout 0.05; the rest the library's), LoRA off.
void zy_cli_lora_init(cli_lora *l);
// One --lora* flag (value: the next argument or NULL): returns how many values it took
// (0 or 1, and turns LoRA on), -1 if it is not a LoRA flag (or lacks its value), -2
// after printing an error.
int zy_cli_lora_flag(cli_lora *l, const char *cmd, const char *flag, const char *value);

#endif
