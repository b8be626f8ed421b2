// Atomic file writes: a temporary file in the target's directory, written, fsync'ed, renamed
// over the target, then the directory fsync'ed; and the plain whole-file read that text
// formats (tokenizer files, training data) start from.
//
// Why the same directory: rename(2) is only atomic within one filesystem. Why fsync the
// file before the rename: otherwise a crash can leave the new name pointing at a file
// whose data never reached the disk (zero-length after reboot on ext4/xfs). Why fsync the
// directory after: the rename itself is directory metadata.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

struct zy_file_writer {
    int fd;
    zy_status status; // sticky: the first failure, returned again by write and commit
    uint64_t size;
    char *path; // target
    char *tmp;  // temporary file beside it
};

// ---- injected failures (zy__io_fault_set) ----------------------------------------------
static atomic_long fault_at, fault_seen;

void zy__io_fault_set(long n) {
    atomic_store(&fault_seen, 0);
    atomic_store(&fault_at, n);
}

long zy__io_fault_count(void) { return atomic_load(&fault_seen); }

int zy__io_fault_hit(void) {
    long at = atomic_load(&fault_at);
    long seen = atomic_fetch_add(&fault_seen, 1) + 1;
    if (at <= 0 || seen != at) return 0;
    errno = ENOSPC;
    return 1;
}

// The directory part of path ("." when there is none, "/" for "/x").
static void dir_of(const char *path, char *dir, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, cap, ".");
        return;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    snprintf(dir, cap, "%.*s", (int)n, path);
}

static zy_status sync_dir(const char *path) {
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return zy__error(ZY_STATUS_IO, "%s: cannot open directory %s to sync it: %s", path,
                         dir, strerror(errno));
    int rc = fsync(fd), e = errno;
    close(fd);
    // Some filesystems cannot fsync a directory at all; the rename is done, so that is
    // not a failure of ours.
    if (rc != 0 && e != EINVAL && e != ENOTSUP)
        return zy__error(ZY_STATUS_IO, "%s: fsync of directory %s failed: %s", path, dir,
                         strerror(e));
    return ZY_STATUS_OK;
}

zy_status zy_file_writer_create(zy_file_writer **out, const char *path) {
    // Distinct temporary names per process and per call, so concurrent writers (threads
    // or processes) of the same target never share a temporary file.
    static atomic_uint counter;
    *out = NULL;
    if (!path || !*path) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "empty file path");
    size_t len = strlen(path);
    if (path[len - 1] == '/')
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: is a directory path", path);
    zy_file_writer *w = zy_calloc(1, sizeof *w);
    if (!w) goto fail_alloc;
    w->fd = -1;
    w->path = zy__strdup(path);
    w->tmp = zy_alloc(len + 48);
    if (!w->path || !w->tmp) goto fail_alloc;
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned c = atomic_fetch_add(&counter, 1);
        snprintf(w->tmp, len + 48, "%s.tmp.%ld.%u", path, (long)getpid(), c);
        w->fd = zy__io_fault_hit()
                    ? -1
                    : open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (w->fd >= 0 || errno != EEXIST) break;
    }
    if (w->fd < 0) {
        zy_status s = zy__error(ZY_STATUS_IO, "%s: cannot create temporary file %s: %s", path,
                                w->tmp, strerror(errno));
        zy_free(w->tmp);
        zy_free(w->path);
        zy_free(w);
        return s;
    }
    *out = w;
    return ZY_STATUS_OK;

fail_alloc:
    if (w) {
        zy_free(w->tmp);
        zy_free(w->path);
        zy_free(w);
    }
    return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory opening for write", path);
}

zy_status zy_file_writer_write(zy_file_writer *w, const void *data, size_t n) {
    if (w->status) return w->status;
    const char *p = data;
    while (n > 0) {
        // Large single writes are split: Linux writes at most about 2 GiB per call.
        size_t chunk = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
        ssize_t k = zy__io_fault_hit() ? -1 : write(w->fd, p, chunk);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            const char *why = k < 0 ? strerror(errno) : "no progress";
            w->status = zy__error(ZY_STATUS_IO, "%s: write of temporary file %s failed: %s",
                                  w->path, w->tmp, why);
            return w->status;
        }
        p += k;
        n -= (size_t)k;
        w->size += (uint64_t)k;
    }
    return ZY_STATUS_OK;
}

uint64_t zy_file_writer_size(const zy_file_writer *w) { return w->size; }

static void writer_release(zy_file_writer *w) {
    zy_free(w->tmp);
    zy_free(w->path);
    zy_free(w);
}

void zy_file_writer_abort(zy_file_writer *w) {
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    unlink(w->tmp);
    writer_release(w);
}

zy_status zy_file_writer_commit(zy_file_writer *w) {
    zy_status s = w->status;
    if (s) {
        // Keep the message of the write that failed (zy_last_error still holds it).
        zy_file_writer_abort(w);
        return s;
    }
    if (fsync(w->fd) != 0) {
        s = zy__error(ZY_STATUS_IO, "%s: fsync of temporary file %s failed: %s", w->path,
                      w->tmp, strerror(errno));
        zy_file_writer_abort(w);
        return s;
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        s = zy__error(ZY_STATUS_IO, "%s: close of temporary file %s failed: %s", w->path,
                      w->tmp, strerror(errno));
        zy_file_writer_abort(w);
        return s;
    }
    if (zy__io_fault_hit() || rename(w->tmp, w->path) != 0) {
        s = zy__error(ZY_STATUS_IO, "%s: cannot rename %s over it: %s", w->path, w->tmp,
                      strerror(errno));
        zy_file_writer_abort(w);
        return s;
    }
    s = sync_dir(w->path);
    writer_release(w);
    return s;
}

zy_status zy_file_write_atomic(const char *path, const void *data, size_t n) {
    zy_file_writer *w;
    zy_status s = zy_file_writer_create(&w, path);
    if (s) return s;
    s = zy_file_writer_write(w, data, n);
    if (s) {
        zy_file_writer_abort(w);
        return s;
    }
    return zy_file_writer_commit(w);
}

int zy_file_remove_stale_temps(const char *path) {
    char dir[4096], file[4096];
    dir_of(path, dir, sizeof dir);
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *x = e->d_name;
        if (strncmp(x, base, n) || strncmp(x + n, ".tmp.", 5)) continue;
        char *end;
        long pid = strtol(x + n + 5, &end, 10);
        if (end == x + n + 5 || *end != '.' || pid <= 0) continue;
        // A writer still running (this process, or another that is alive) keeps its file.
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno == EPERM) continue;
        if ((size_t)snprintf(file, sizeof file, "%s/%s", dir, x) < sizeof file &&
            unlink(file) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

zy_status zy_file_read(const char *path, char **data, size_t *len) {
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

zy_status zy_mkdirs(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bad directory name '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char keep = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0755) && errno != EEXIST)
            return zy__error(ZY_STATUS_IO, "%s: cannot create directory: %s", buf,
                             strerror(errno));
        buf[i] = keep;
    }
    struct stat sb;
    if (stat(path, &sb) || !S_ISDIR(sb.st_mode))
        return zy__error(ZY_STATUS_IO, "%s: not a directory", path);
    return ZY_STATUS_OK;
}

zy_status zy__pread_full(int fd, void *buf, size_t n, uint64_t off, const char *path) {
    char *p = buf;
    while (n > 0) {
        ssize_t k = pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0)
            return zy__error(ZY_STATUS_IO, "%s: read at offset %llu failed: %s", path,
                             (unsigned long long)off, strerror(errno));
        if (k == 0)
            return zy__error(ZY_STATUS_IO, "%s: unexpected end of file at offset %llu "
                             "(file changed since it was opened?)", path,
                             (unsigned long long)off);
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return ZY_STATUS_OK;
}
