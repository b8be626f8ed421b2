// Helpers of the instruction-data tests (test_data_instruct*.c, test_sample_generate's
// cache reuse): zhuyi's byte tokenizer, reads of text as a named file that must succeed or
// fail with a message naming file and line.
#ifndef ZHUYI_TESTS_INSTRUCT_UTIL_H
#define ZHUYI_TESTS_INSTRUCT_UTIL_H

#include <stdbool.h>

#include "zhuyi/instruct.h"

// What `--tokenizer byte` makes: id = byte value, 256 = <|endoftext|> (checked); NULL and
// a recorded failure otherwise.
zy_tokenizer *zt_byte_tokenizer(void);
// text read as file `name` (zy_instruct_data_read_buffer); NULL and a failure noted.
zy_instruct_data *zt_instruct_read(const char *name, const char *text, bool skip_bad_rows);
// The read must fail with BAD_FORMAT and a message holding every string of needles
// (NULL-terminated); true if so (failures recorded otherwise).
bool zt_instruct_fails(const char *name, const char *text, const char *const *needles);

#endif
