// Helpers shared by the safetensors / atomic-write tests (defined in test_safetensors.c).
#ifndef ZHUYI_TESTS_SAFETENSORS_H
#define ZHUYI_TESTS_SAFETENSORS_H

#include <stddef.h>

#include "zhuyi/io.h"

// A fresh directory under /tmp (one at a time: the name is kept in a static buffer).
const char *stt_tmp_dir(void);
// Remove the files in dir, then dir.
void stt_rm_dir(const char *dir);
// Files in dir whose name contains ".tmp." (left-over temporary files of atomic writes).
int stt_count_tmp(const char *dir);
void stt_put_file(const char *path, const void *data, size_t n);
// Whole file (malloc'ed, caller frees) or NULL.
unsigned char *stt_get_file(const char *path, size_t *n);
// A safetensors file from a header string: u64 strlen(json), json, data_len bytes.
void stt_put_st(const char *path, const char *json, size_t data_len);
int stt_has(const char *msg, const char *part);
// Open path and, if valid, read every tensor; records a failure for any status other than
// OK / BAD_FORMAT, a message without the path, or a failed read of a validated tensor.
zy_status stt_open_read_all(const char *path, size_t file_size);
// Four tensors (3x4, scalar, 0x2, 5) over stt_fa / stt_fb / stt_fd, and two metadata pairs.
extern float stt_fa[12], stt_fb[1], stt_fd[5];
extern const zy_safetensors_kv stt_meta[2];
void stt_sample_tensors(zy_safetensors_tensor t[4]);
zy_safetensors_write_params stt_params_of(zy_dtype dt);

#endif
