// The parts of a multipart/form-data request (RFC 7578) for `zhuyi serve` (serve.h):
// libmicrohttpd's post processor splits the body the connection has already collected
// (at most --max-body bytes) and this keeps each part whole: its field name, its file
// name (uploads) and its bytes. An endpoint that takes uploads (/v1/classify's images; a
// transcription endpoint's audio file next) reads the files from the form and its plain
// fields as the string fields of a JSON request, so field checks are shared with JSON.
// Not here: which fields an endpoint wants (the endpoint), the body limit (serve_http.c).
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "serve.h"

// Parts beyond this are refused: the body limit bounds their bytes, this their count.
#define MAX_PARTS 1024

typedef struct reader {
    serve_form *f;
    bool too_many, oom;
} reader;

bool serve_form_is_multipart(struct MHD_Connection *con) {
    const char *t = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_TYPE);
    return t && !strncasecmp(t, "multipart/form-data", 19);
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size) {
    (void)kind, (void)transfer_encoding;
    reader *r = cls;
    serve_form *f = r->f;
    // A part's bytes may come in pieces: a piece at offset 0 starts a new part.
    if (off == 0 || f->n == 0) {
        if (f->n == MAX_PARTS) return r->too_many = true, MHD_NO;
        if (f->n == f->cap) {
            int cap = f->cap ? 2 * f->cap : 8;
            serve_part *p = realloc(f->parts, (size_t)cap * sizeof *p);
            if (!p) return r->oom = true, MHD_NO;
            f->parts = p, f->cap = cap;
        }
        serve_part *p = &f->parts[f->n++];
        memset(p, 0, sizeof *p);
        p->name = strdup(key ? key : "");
        p->filename = filename ? strdup(filename) : NULL;
        p->type = content_type ? strdup(content_type) : NULL;
        if (!p->name || (filename && !p->filename) || (content_type && !p->type))
            return r->oom = true, MHD_NO;
    }
    serve_part *p = &f->parts[f->n - 1];
    if (size) zy_strbuf_put(&p->data, data, size);
    return p->data.oom ? (r->oom = true, MHD_NO) : MHD_YES;
}

int serve_form_read(struct MHD_Connection *con, const char *body, size_t n, serve_form *f,
                    serve_error *e) {
    memset(f, 0, sizeof *f);
    reader r = {.f = f};
    struct MHD_PostProcessor *pp = MHD_create_post_processor(con, 64 * 1024, on_part, &r);
    if (!pp)
        return serve_bad(e, NULL, "the multipart/form-data body cannot be read (is the "
                         "boundary missing from its Content-Type?)");
    enum MHD_Result ok = n ? MHD_post_process(pp, body, n) : MHD_YES;
    // MHD_NO here: the body ended inside a part, or had stray bytes.
    enum MHD_Result whole = MHD_destroy_post_processor(pp);
    if (r.oom) return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    if (r.too_many) return serve_bad(e, NULL, "the form has more than %d parts", MAX_PARTS);
    if (ok != MHD_YES || whole != MHD_YES)
        return serve_bad(e, NULL, "the multipart/form-data body is malformed or cut short");
    if (!f->n) return serve_bad(e, NULL, "the multipart/form-data body has no parts");
    return 0;
}

static bool is_file(const serve_part *p, const char *file_field) {
    return p->filename || (file_field && !strcmp(p->name, file_field));
}

// Is p[0..n) UTF-8 without NUL bytes (a JSON string's text)?
static bool is_text(const char *p, size_t n) {
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)p + i,
                                              (utf8proc_ssize_t)(n - i), &cp);
        if (k < 1 || cp == 0) return false;
        i += (size_t)k;
    }
    return true;
}

cJSON *serve_form_fields(const serve_form *f, const char *file_field, serve_error *e) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory"), NULL;
    for (int i = 0; i < f->n; i++) {
        const serve_part *p = &f->parts[i];
        if (p->filename && (!file_field || strcmp(p->name, file_field))) {
            serve_bad(e, p->name, file_field ? "the form uploads a file as '%s'; files go in "
                      "'%s'" : "the form uploads a file as '%s'; this endpoint takes none",
                      p->name, file_field);
            cJSON_Delete(o);
            return NULL;
        }
        if (is_file(p, file_field)) continue;
        if (cJSON_GetObjectItemCaseSensitive(o, p->name)) {
            serve_bad(e, p->name, "the form gives the field '%s' twice", p->name);
            cJSON_Delete(o);
            return NULL;
        }
        // The field is read as a JSON request's string field would be: UTF-8, no NUL.
        if (!is_text(p->data.p, p->data.n)) {
            serve_bad(e, p->name, "the form's field '%s' is not UTF-8 text", p->name);
            cJSON_Delete(o);
            return NULL;
        }
        if (!cJSON_AddStringToObject(o, p->name, p->data.p ? p->data.p : "")) {
            cJSON_Delete(o);
            return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory"), NULL;
        }
    }
    return o;
}

int serve_form_files(const serve_form *f, const char *file_field, const serve_part **out,
                     int max) {
    int n = 0;
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->parts[i].name, file_field)) {
            if (n < max) out[n] = &f->parts[i];
            n++;
        }
    return n;
}

void serve_form_free(serve_form *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        free(f->parts[i].name);
        free(f->parts[i].filename);
        free(f->parts[i].type);
        zy_strbuf_free(&f->parts[i].data);
    }
    free(f->parts);
    memset(f, 0, sizeof *f);
}
