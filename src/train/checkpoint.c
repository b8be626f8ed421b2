// Checkpoints: a model and its training state saved as one unit (trainer.h).
//
// A run directory DIR holds
//   DIR/checkpoint-<step>/   config.json, model.safetensors, training_state.safetensors
//   DIR/checkpoint           a symbolic link to the newest complete checkpoint-<step>
//   DIR/config.json          the same weights again (hard links to the checkpoint's files,
//   DIR/model.safetensors    so DIR itself stays a model directory for eval and generate)
// A model with a LoRA adapter is saved as its adapter (zy_model_save): the checkpoint and
// DIR then hold adapter_config.json, adapter_model.safetensors and config.json instead
// (zy_model_file_names), and DIR loads as base + adapter.
//
// Saving step N:
//  1. leftovers of an interrupted save are removed: checkpoint-* directories the link
//     does not name, and temporary files of ours in DIR;
//  2. the three files are written into checkpoint-N, each atomically (zy_file_writer);
//  3. the link is switched: a new link DIR/.checkpoint.tmp is renamed over DIR/checkpoint
//     and DIR is fsync'ed. This rename is the commit: before it DIR/checkpoint names the
//     previous checkpoint, whole; after it, the new one, whole;
//  4. DIR's copies of the model's files are replaced by hard links to the new files
//     (copies where the filesystem has no hard links), each by a rename, unless the
//     caller keeps its best model there (ZY_CHECKPOINT_KEEP_MODEL_FILES); a plain model's
//     save removes an adapter_config.json and adapter_model.safetensors left in DIR (DIR
//     would load as that adapter), an adapter's leaves a model.safetensors (it may be the
//     base's own);
//  5. the previous checkpoint directory is removed (and a training_state.safetensors
//     directly in DIR, as runs saved before checkpoint directories have).
// An interruption anywhere (kill, power loss, a full disk) leaves the link on a complete
// checkpoint; steps 4 and 5 are redone by the next save. The cost: room for two
// checkpoints while one is written.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zhuyi/lora.h"

#include "core/internal.h"
#include "train/trainer_internal.h"

#define LINK_TMP ".checkpoint.tmp"
#define PREFIX "checkpoint-"

static zy_status join(char *buf, size_t cap, const char *dir, const char *name) {
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: path too long", dir);
    return ZY_STATUS_OK;
}

static zy_status io_error(const char *what, const char *path) {
    return zy__error(ZY_STATUS_IO, "%s %s: %s", what, path, strerror(errno));
}

static zy_status sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return io_error("cannot open directory", dir);
    // Some filesystems cannot fsync a directory; the renames are done, so that is no error.
    if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) {
        zy_status s = io_error("cannot fsync directory", dir);
        close(fd);
        return s;
    }
    close(fd);
    return ZY_STATUS_OK;
}

// The name (not the path) of the checkpoint the link DIR/checkpoint points to, or "" when
// there is no link.
static zy_status current_name(const char *dir, char *name, size_t cap) {
    char link[4096];
    zy_status s = join(link, sizeof link, dir, ZY_CHECKPOINT_LINK);
    if (s) return s;
    ssize_t n = readlink(link, name, cap - 1);
    if (n < 0) {
        name[0] = '\0';
        if (errno == ENOENT) return ZY_STATUS_OK;
        return io_error("cannot read the checkpoint link", link);
    }
    name[n] = '\0';
    if (strncmp(name, PREFIX, strlen(PREFIX)) || strchr(name, '/'))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s points to '%s', not to a %s<step> "
                         "directory beside it", link, name, PREFIX);
    return ZY_STATUS_OK;
}

zy_status zy_checkpoint_find(const char *dir, char *buf, size_t cap) {
    char name[256], path[4096];
    zy_status s = current_name(dir, name, sizeof name);
    if (s) return s;
    if (name[0]) return join(buf, cap, dir, name);
    // A run saved before checkpoint directories: the state beside the model.
    if ((s = join(path, sizeof path, dir, ZY_TRAINING_STATE_FILE))) return s;
    if (access(path, F_OK) == 0) {
        if ((size_t)snprintf(buf, cap, "%s", dir) >= cap)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: path too long", dir);
        return ZY_STATUS_OK;
    }
    return zy__error(ZY_STATUS_NOT_FOUND, "%s: no checkpoint (neither %s nor %s)", dir,
                     ZY_CHECKPOINT_LINK, ZY_TRAINING_STATE_FILE);
}

// Removes directory `path` and the files in it (checkpoint directories hold only files).
static zy_status remove_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT ? ZY_STATUS_OK : io_error("cannot open directory", path);
    zy_status s = ZY_STATUS_OK;
    struct dirent *e;
    char file[4096];
    while (!s && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!(s = join(file, sizeof file, path, e->d_name)) && unlink(file) && errno != ENOENT)
            s = io_error("cannot remove", file);
    }
    closedir(d);
    if (!s && rmdir(path) && errno != ENOENT) s = io_error("cannot remove directory", path);
    return s;
}

// True for a temporary file the atomic writer or this file leaves when interrupted:
// "<one of our names>.tmp.<pid>.<n>", or the link's temporary name.
static bool is_our_temp(const char *name) {
    static const char *const ours[] = {"config.json", "model.safetensors",
                                       "adapter_config.json", "adapter_model.safetensors",
                                       ZY_TRAINING_STATE_FILE};
    if (!strcmp(name, LINK_TMP)) return true;
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) {
        size_t n = strlen(ours[i]);
        if (!strncmp(name, ours[i], n) && !strncmp(name + n, ".tmp", 4)) return true;
    }
    return false;
}

// "checkpoint-<digits>".
static bool is_checkpoint_name(const char *name) {
    size_t n = strlen(PREFIX);
    if (strncmp(name, PREFIX, n) || !name[n]) return false;
    for (const char *c = name + n; *c; c++)
        if (*c < '0' || *c > '9') return false;
    return true;
}

// Step 1: checkpoint directories other than `keep`, and our temporary files.
static zy_status remove_leftovers(const char *dir, const char *keep) {
    DIR *d = opendir(dir);
    if (!d) return io_error("cannot open directory", dir);
    zy_status s = ZY_STATUS_OK;
    struct dirent *e;
    char path[4096];
    while (!s && (e = readdir(d))) {
        const char *n = e->d_name;
        bool ckpt = is_checkpoint_name(n) && strcmp(n, keep), temp = is_our_temp(n);
        if (!ckpt && !temp) continue;
        if ((s = join(path, sizeof path, dir, n))) break;
        struct stat sb;
        if (lstat(path, &sb)) continue;
        if (S_ISDIR(sb.st_mode)) {
            if (ckpt) s = remove_dir(path);
        } else if (temp && unlink(path) && errno != ENOENT) {
            s = io_error("cannot remove", path);
        }
    }
    closedir(d);
    return s;
}

// Step 4 for one file: DIR/name becomes the checkpoint's file, by a hard link renamed
// over it (or, without hard links, a copy written atomically).
static zy_status publish(const char *dir, const char *ckpt, const char *name) {
    char src[4096], tmp[4096], dst[4096];
    zy_status s;
    if ((s = join(src, sizeof src, ckpt, name)) || (s = join(dst, sizeof dst, dir, name)) ||
        (size_t)snprintf(tmp, sizeof tmp, "%s.tmp.link", dst) >= sizeof tmp)
        return s ? s : zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: path too long", dir);
    struct stat a, b;
    if (!stat(src, &a) && !stat(dst, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return ZY_STATUS_OK; // already the checkpoint's file (a save at the same step)
    unlink(tmp);
    if (zy__io_fault_hit()) return io_error("cannot link", tmp);
    if (link(src, tmp) == 0) {
        // rename(2) of two links to one file does nothing and leaves the source: the
        // unlink after it covers that case too.
        if (zy__io_fault_hit() || rename(tmp, dst)) s = io_error("cannot rename over", dst);
        unlink(tmp);
        return s;
    }
    if (errno != EXDEV && errno != EPERM && errno != ENOTSUP && errno != EMLINK)
        return io_error("cannot link", tmp);
    char *data;
    size_t n;
    if ((s = zy_file_read(src, &data, &n))) return s;
    s = zy_file_write_atomic(dst, data, n);
    zy_free(data);
    return s;
}

// A plain model published in DIR: an adapter saved there before would shadow it.
static zy_status remove_adapter_files(const char *dir) {
    static const char *const names[] = {"adapter_config.json", "adapter_model.safetensors"};
    char path[4096];
    for (int i = 0; i < 2; i++) {
        zy_status s = join(path, sizeof path, dir, names[i]);
        if (s) return s;
        if (zy__io_fault_hit() || (unlink(path) && errno != ENOENT))
            return io_error("cannot remove", path);
    }
    return ZY_STATUS_OK;
}

zy_status zy_trainer_save_checkpoint(const zy_trainer *t, const char *dir,
                                     const zy_safetensors_kv *extra, int n_extra,
                                     unsigned flags) {
    char cur[256], name[64], ckpt[4096], path[4096], link_tmp[4096];
    zy_status s;
    if ((s = zy_model_check_finite(t->m))) // a checkpoint of NaN weights is never written
        return zy__error(s, "%s: not saved", zy_last_error());
    if ((s = zy_mkdirs(dir)) ||
        (s = current_name(dir, cur, sizeof cur)))
        return s;
    snprintf(name, sizeof name, PREFIX "%ld", t->step);
    if ((s = join(ckpt, sizeof ckpt, dir, name)) || (s = remove_leftovers(dir, cur)))
        return s;
    // A save at the step already saved (a run stopped right after a save) has nothing new.
    if (strcmp(cur, name)) {
        if ((s = join(path, sizeof path, ckpt, ZY_TRAINING_STATE_FILE)) ||
            (s = join(link_tmp, sizeof link_tmp, dir, LINK_TMP)))
            return s;
        if (zy__io_fault_hit() || (mkdir(ckpt, 0755) && errno != EEXIST))
            return io_error("cannot create directory", ckpt);
        if ((s = zy_model_save(t->m, ckpt)) ||
            (s = zy_trainer_save_state(t, path, extra, n_extra)))
            return s;
        if (zy__io_fault_hit() || symlink(name, link_tmp))
            return io_error("cannot create link", link_tmp);
        if ((s = join(path, sizeof path, dir, ZY_CHECKPOINT_LINK))) return s;
        if (zy__io_fault_hit() || rename(link_tmp, path)) {
            s = io_error("cannot rename over", path);
            unlink(link_tmp);
            return s;
        }
        if ((s = sync_dir(dir))) return s;
        // A state from before checkpoint directories is superseded now.
        if (!(s = join(path, sizeof path, dir, ZY_TRAINING_STATE_FILE))) unlink(path);
    }
    if (!(flags & ZY_CHECKPOINT_KEEP_MODEL_FILES)) {
        const char *files[8];
        int n = zy_model_file_names(t->m, files, 8);
        for (int i = 0; i < n && !s; i++) s = publish(dir, ckpt, files[i]);
        if (!s && !zy_model_has_adapter(t->m)) s = remove_adapter_files(dir);
        if (s || (s = sync_dir(dir))) return s;
    }
    return cur[0] && strcmp(cur, name) ? remove_leftovers(dir, name) : ZY_STATUS_OK;
}
