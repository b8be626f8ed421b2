// Whole-file read and atomic write for the tokenizer files (tokenizer.json, vocab.json,
// merges.txt). Not a general I/O layer: model files have their own readers in src/io/.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bpe.h"
#include "core/internal.h"

zy_status zy__read_file(const char *path, char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return zy__error(ZY_STATUS_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = zy_alloc(cap + 1);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *bigger = zy_alloc(cap * 2 + 1);
        if (bigger) memcpy(bigger, buf, n);
        zy_free(buf);
        buf = bigger;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory reading", path);
    if (err) {
        zy_free(buf);
        return zy__error(ZY_STATUS_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return ZY_STATUS_OK;
}

zy_status zy__write_atomic(const char *path, const char *data, size_t len) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return zy__error(ZY_STATUS_IO, "%s: cannot create: %s", tmp, strerror(errno));
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return zy__error(ZY_STATUS_IO, "%s: write failed: %s", tmp, strerror(e));
        }
        done += (size_t)w;
    }
    int synced = fsync(fd) == 0, e = errno;
    if (close(fd) != 0 && synced) synced = 0, e = errno;
    if (!synced) {
        unlink(tmp);
        return zy__error(ZY_STATUS_IO, "%s: fsync/close failed: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        return zy__error(ZY_STATUS_IO, "%s: rename from %s failed: %s", path, tmp, strerror(e));
    }
    return ZY_STATUS_OK;
}
