// Status codes, the per-thread error message, logging and the invariant check.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static _Thread_local char last_error[1024];

static zy_log_fn log_fn;
static void *log_user;
static zy_log_level log_min = ZY_LOG_INFO;

const char *zy_version(void) { return ZY_VERSION_STRING; }

const char *zy_status_str(zy_status s) {
    switch (s) {
    case ZY_STATUS_OK: return "ok";
    case ZY_STATUS_INVALID_ARGUMENT: return "invalid argument";
    case ZY_STATUS_OUT_OF_MEMORY: return "out of memory";
    case ZY_STATUS_IO: return "input/output error";
    case ZY_STATUS_BAD_FORMAT: return "bad format";
    case ZY_STATUS_UNSUPPORTED: return "unsupported";
    case ZY_STATUS_SHAPE_MISMATCH: return "shape mismatch";
    case ZY_STATUS_NOT_FOUND: return "not found";
    case ZY_STATUS_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

const char *zy_last_error(void) { return last_error; }

void zy_clear_error(void) { last_error[0] = '\0'; }

// Formatted into a local buffer first: callers often pass zy_last_error() itself as an
// argument ("%s: %s", path, zy_last_error()), which must not be the buffer being written.
static zy_status set_error(zy_status status, const char *fmt, va_list ap) {
    char msg[sizeof last_error];
    vsnprintf(msg, sizeof msg, fmt, ap);
    memcpy(last_error, msg, sizeof msg);
    return status;
}

zy_status zy__error(zy_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_error(status, fmt, ap);
    va_end(ap);
    return status;
}

zy_status zy_error(zy_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    set_error(status, fmt, ap);
    va_end(ap);
    return status;
}

void zy_log_set(zy_log_fn fn, void *user, zy_log_level min_level) {
    log_fn = fn;
    log_user = user;
    log_min = min_level;
}

void zy__log(zy_log_level level, const char *fmt, ...) {
    if (!log_fn || level < log_min) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_fn(level, msg, log_user);
}

void zy__assert_fail(const char *cond, const char *file, int line) {
    // A broken invariant inside the library (a bug, never bad input): report through the
    // log callback and stop, since continuing would corrupt memory.
    zy__log(ZY_LOG_ERROR, "%s:%d: internal invariant failed: %s", file, line, cond);
    abort(); // ZY_ASSERT only

}
