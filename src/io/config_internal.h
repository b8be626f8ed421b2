// Private to src/io: the zy_config struct shared by config.c (parsing, getters, setters)
// and config_write.c (the Hugging Face text form).
#ifndef ZHUYI_IO_CONFIG_INTERNAL_H
#define ZHUYI_IO_CONFIG_INTERNAL_H

#include <cjson/cJSON.h>

#include "zhuyi/hf.h"

// Larger config files are refused before they are read (16 MiB; real ones are kilobytes).
#define ZY_CONFIG_MAX_BYTES (16u << 20)

struct zy_config {
    cJSON *root; // always a JSON object
    // The name messages use. Boxed because zy_config_save takes a const config and still
    // renames it: the box is not part of the const object.
    struct zy_config_label {
        char *name;
    } *label;
};

// Make `name` (NULL: "config") the name messages use.
zy_status zy__config_rename(const zy_config *c, const char *name);

#endif
