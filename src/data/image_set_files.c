// Image sets from files naming images (image_data.h): manifests, read as classification
// files by the fine-tuning readers (task_csv.c, task_jsonl.c through zy_task_data_read:
// quoting, JSON, line numbers, label sets, skipped rows are theirs) with the image path
// as the text; and ImageFolder directories (DIR/<label>/<files>). Each image is then
// decoded and checked by the set's builder (image_set.c).
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "data/image_set_internal.h"
#include "data/task_internal.h"

typedef unsigned long long ull;

// dir + "/" + rel (rel as it is when absolute or dir is empty), zy_alloc'd.
static char *join(const char *dir, size_t dir_len, const char *rel) {
    if (rel[0] == '/' || dir_len == 0) return zy__strdup(rel);
    size_t n = strlen(rel);
    char *s = zy_alloc(dir_len + 1 + n + 1);
    if (!s) return NULL;
    memcpy(s, dir, dir_len);
    s[dir_len] = '/';
    memcpy(s + dir_len + 1, rel, n + 1);
    return s;
}

zy_status zy_image_set_read_manifest(zy_image_set **out, const char *path,
                                     const zy_image_set_params *p,
                                     const zy_label_set *labels) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: nowhere to put it");
    *out = NULL;
    if (!path || !p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: no manifest");
    zy_task_read_params tp = zy_task_read_default_params(ZY_TASK_CLASSIFY);
    tp.format = p->format;
    tp.text_column = p->image_column;
    tp.label_column = p->label_column;
    tp.require_labels = p->require_labels;
    tp.skip_bad_rows = p->skip_bad_rows;
    zy_task_data *d = NULL;
    zy_image_set *s = NULL;
    zy_status st = zy__image_set_check_params(p);
    if (st || (st = zy_task_data_read(&d, path, &tp, labels))) return st;
    size_t n = zy_task_data_count(d);
    // The set takes the manifest's labels (given, or built from it and sorted).
    if ((st = zy__image_set_new(&s, path, p, zy_task_data_labels(d), n))) goto done;
    s->labels_given = labels != NULL;
    s->report = *zy_task_data_report(d);
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + (slash == path) : 0;
    for (size_t i = 0; i < n && !st; i++) {
        const zy_task_example *e = zy_task_data_example(d, i);
        char where[320];
        snprintf(where, sizeof where, "%s:%llu: ", path, (ull)e->line);
        if (e->text_len == 0 || strlen(e->text) != e->text_len) {
            st = zy__image_set_row_error(
                s, zy__error(ZY_STATUS_BAD_FORMAT, "%s'%s' is %s", where, p->image_column,
                             e->text_len ? "a path holding a NUL byte" : "empty"));
            continue;
        }
        char *file = join(path, dir_len, e->text);
        if (!file) {
            st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
            break;
        }
        st = zy__image_set_add_file(s, file, e->line, where, e->label);
        zy_free(file);
    }
    if (!st) st = zy__image_set_finish(s);
done:
    zy_task_data_free(d);
    if (st) zy_image_set_free(s);
    else *out = s;
    return st;
}

// ---- ImageFolder ---------------------------------------------------------------------------
typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void names_free(names *a) {
    for (size_t i = 0; i < a->n; i++) zy_free(a->v[i]);
    zy_free(a->v);
    *a = (names){0};
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_image_name(const char *s) {
    return zy__ends_with(s, ".png") || zy__ends_with(s, ".pgm") || zy__ends_with(s, ".ppm");
}

// The entries of dir (not starting with '.') that are directories (want_dirs) or image
// files, sorted bytewise.
static zy_status list(const char *dir, bool want_dirs, names *out) {
    *out = (names){0};
    DIR *d = opendir(dir);
    if (!d) return zy__error(ZY_STATUS_IO, "%s: cannot open the directory", dir);
    zy_status st = ZY_STATUS_OK;
    struct dirent *e;
    size_t dn = strlen(dir);
    while (!st && (e = readdir(d))) {
        if (e->d_name[0] == '.' || (!want_dirs && !is_image_name(e->d_name))) continue;
        char *full = join(dir, dn, e->d_name);
        struct stat sb;
        bool keep = full && stat(full, &sb) == 0 &&
                    (want_dirs ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode));
        zy_free(full);
        if (!full) st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", dir);
        if (!keep || st) continue;
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 16;
            char **v = zy_alloc(cap * sizeof *v);
            if (!v) {
                st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", dir);
                break;
            }
            if (out->n) memcpy(v, out->v, out->n * sizeof *v);
            zy_free(out->v);
            out->v = v;
            out->cap = cap;
        }
        if (!(out->v[out->n] = zy__strdup(e->d_name)))
            st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", dir);
        else out->n++;
    }
    closedir(d);
    if (st) names_free(out);
    else if (out->n) qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return st;
}

zy_status zy_image_set_read_folder(zy_image_set **out, const char *dir,
                                   const zy_image_set_params *p, const zy_label_set *labels) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: nowhere to put it");
    *out = NULL;
    if (!dir || !p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "image set: no directory");
    names classes = {0};
    names *files = NULL;
    zy_image_set *s = NULL;
    size_t dn = strlen(dir), total = 0;
    zy_status st = zy__image_set_check_params(p);
    if (st || (st = list(dir, true, &classes))) return st;
    if (!classes.n) {
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: no label directory (ImageFolder: "
                       "DIR/<label>/<image files>)", dir);
        goto done;
    }
    if (!(files = zy_calloc(classes.n, sizeof *files))) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", dir);
        goto done;
    }
    // Every file named before any is decoded: the count sizes the set.
    for (size_t c = 0; c < classes.n && !st; c++) {
        char *sub = join(dir, dn, classes.v[c]);
        st = sub ? list(sub, false, &files[c])
                 : zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", dir);
        if (!st && !files[c].n)
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: no image file (.png, .pgm, .ppm) in "
                           "this label's directory", sub);
        total += files[c].n;
        zy_free(sub);
    }
    if (st || (st = zy__image_set_new(&s, dir, p, labels, total))) goto done;
    for (size_t c = 0; c < classes.n && !st; c++) {
        const char *name = classes.v[c];
        int id = -1;
        if ((st = zy__label_set_intern(s->label_set, name, strlen(name), !labels, &id)))
            break;
        char *sub = join(dir, dn, name);
        if (!sub) st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", dir);
        for (size_t f = 0; !st && f < files[c].n; f++) {
            char *file = join(sub, strlen(sub), files[c].v[f]);
            if (!file) {
                st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", dir);
            } else if (id < 0) {
                st = zy__image_set_row_error(
                    s, zy__error(ZY_STATUS_BAD_FORMAT, "%s: label '%s' (its directory) is "
                                 "not one of the %d labels given", file, name,
                                 zy_label_set_count(s->label_set)));
            } else {
                st = zy__image_set_add_file(s, file, 0, "", id);
            }
            zy_free(file);
        }
        zy_free(sub);
    }
    if (!st) st = zy__image_set_finish(s);
done:
    for (size_t c = 0; files && c < classes.n; c++) names_free(&files[c]);
    zy_free(files);
    names_free(&classes);
    if (st) zy_image_set_free(s);
    else *out = s;
    return st;
}
