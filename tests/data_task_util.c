// Helpers of the fine-tuning data tests (task_util.h).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "data_task_util.h"

const char *const ZT_TASK_VOCAB[] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "dog", "sat", "on", "mat",
    "run", "walk", "a", "b", "c", "##s", "##ed", "##ning", "##b", "##c", "is", "where",
    "who", "what", "\xe4\xb8\xad", "\xe6\x96\x87", "\xe6\xb3\xa8", "\xe6\x84\x8f", "big",
    "red", "##d", "x", "##x", "good", "bad", ",", ".", "?",
};
const int ZT_TASK_VOCAB_N = (int)(sizeof ZT_TASK_VOCAB / sizeof ZT_TASK_VOCAB[0]);

static char scratch[64];

static const char *dir(void) {
    if (!scratch[0]) {
        snprintf(scratch, sizeof scratch, "/tmp/zt-task-XXXXXX");
        if (!mkdtemp(scratch)) {
            zt_fail(__FILE__, __LINE__, "mkdtemp failed");
            snprintf(scratch, sizeof scratch, "/tmp");
        }
    }
    return scratch;
}

const char *zt_task_file(const char *name, const char *text) {
    static char paths[16][256];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, 256, "%s/%s", dir(), name);
    FILE *f = fopen(p, "wb");
    if (!f) {
        zt_fail(__FILE__, __LINE__, "cannot write %s", p);
        return p;
    }
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    return p;
}

zy_tokenizer *zt_task_wordpiece(const char *const *vocab, int n) {
    size_t cap = 1;
    for (int i = 0; i < n; i++) cap += strlen(vocab[i]) + 1;
    char *text = zt_malloc(cap), *p = text;
    for (int i = 0; i < n; i++) p += sprintf(p, "%s\n", vocab[i]);
    const char *path = zt_task_file("vocab.txt", text);
    free(text);
    zy_tokenizer *t = NULL;
    if (zy_tokenizer_load(&t, path))
        zt_fail(__FILE__, __LINE__, "vocab: %s", zy_last_error());
    return t;
}

int zt_task_id(const char *token) {
    for (int i = 0; i < ZT_TASK_VOCAB_N; i++)
        if (strcmp(ZT_TASK_VOCAB[i], token) == 0) return i;
    return -1;
}

zy_task_data *zt_task_read(const char *name, const char *text, const zy_task_read_params *p,
                           const zy_label_set *labels) {
    const char *path = zt_task_file(name, text);
    zy_task_data *d = NULL;
    if (zy_task_data_read(&d, path, p, labels))
        zt_fail(__FILE__, __LINE__, "read %s: %s", name, zy_last_error());
    return d;
}

bool zt_task_fails(const char *name, const char *text, const zy_task_read_params *p,
                   const zy_label_set *labels, zy_status st, const char *const *needles) {
    const char *path = zt_task_file(name, text);
    zy_task_data *d = NULL;
    zy_status got = zy_task_data_read(&d, path, p, labels);
    if (got == ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "%s: read succeeded, expected %s", name, zy_status_str(st));
        zy_task_data_free(d);
        return false;
    }
    bool ok = got == st && d == NULL;
    if (!ok)
        zt_fail(__FILE__, __LINE__, "%s: status %s, expected %s (%s)", name, zy_status_str(got),
                zy_status_str(st), zy_last_error());
    // Every message names the file.
    if (!strstr(zy_last_error(), path)) {
        zt_fail(__FILE__, __LINE__, "%s: the message does not name %s: %s", name, path,
                zy_last_error());
        ok = false;
    }
    for (int i = 0; needles && needles[i]; i++)
        if (!strstr(zy_last_error(), needles[i])) {
            zt_fail(__FILE__, __LINE__, "%s: the message lacks '%s': %s", name, needles[i],
                    zy_last_error());
            ok = false;
        }
    zt_note("%s: %s", name, zy_last_error());
    return ok;
}
