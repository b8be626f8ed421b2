// Progress display for `zhuyi pretrain` (see progress.h). Everything goes to stderr so
// stdout stays free for the final summary.
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

double zy_progress_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void zy_progress_init(zy_progress *p, long first, long total, long log_every) {
    *p = (zy_progress){.tty = isatty(STDERR_FILENO), .first = first, .total = total,
                       .log_every = log_every > 0 ? log_every : 1,
                       .t_start = zy_progress_now()};
}

static void format_duration(char *buf, size_t cap, double s) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, cap, "--");
    } else if (s < 60) {
        snprintf(buf, cap, "%.0fs", s);
    } else if (s < 3600) {
        snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    } else {
        snprintf(buf, cap, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
    }
}

static void format_rate(char *buf, size_t cap, double r) {
    if (r >= 1e6) snprintf(buf, cap, "%.2fM", r / 1e6);
    else if (r >= 1e4) snprintf(buf, cap, "%.1fk", r / 1e3);
    else snprintf(buf, cap, "%.0f", r);
}

void zy_progress_step(zy_progress *p, long step, float loss, float lr, double ms,
                      double tok_s) {
    if (p->quiet) return;
    // The first step of a run is often slow (page faults, thread start-up): the ETA uses
    // a smoothed step time that forgets it quickly.
    p->ema_ms = p->ema_ms == 0 ? ms : 0.9 * p->ema_ms + 0.1 * ms;
    double now = zy_progress_now();
    // A bar redrawn more than ~10 times a second only flickers.
    if (p->tty && step != p->total && now - p->t_drawn < 0.1) return;
    p->t_drawn = now;
    char eta[32], elapsed[32], rate[32];
    format_duration(eta, sizeof eta, (double)(p->total - step) * p->ema_ms / 1e3);
    format_duration(elapsed, sizeof elapsed, now - p->t_start);
    format_rate(rate, sizeof rate, tok_s * ms / p->ema_ms); // smoothed like the ETA
    if (p->tty) {
        int width = 24;
        long span = p->total > 0 ? p->total : 1;
        int fill = (int)((double)step / (double)span * width);
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '-';
        bar[width] = '\0';
        fprintf(stderr, "\r\033[K%ld/%ld [%s] loss %.4f | %s tok/s | %s elapsed, ETA %s",
                step, p->total, bar, (double)loss, rate, elapsed, eta);
        fflush(stderr);
        p->bar_shown = 1;
        return;
    }
    if (step == p->first + 1 || step == p->total || step % p->log_every == 0)
        fprintf(stderr, "step %ld/%ld  loss %.4f  lr %.3g  %.0f ms  %s tok/s  ETA %s\n", step,
                p->total, (double)loss, (double)lr, ms, rate, eta);
}

void zy_progress_count(zy_progress *p, long done, const char *unit) {
    if (p->quiet) return;
    double now = zy_progress_now(), spent = now - p->t_start;
    if (p->tty && done != p->total && now - p->t_drawn < 0.1) return;
    p->t_drawn = now;
    double rate = spent > 0 ? (double)(done - p->first) / spent : 0;
    char eta[32], elapsed[32], r[32];
    format_duration(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : -1);
    format_duration(elapsed, sizeof elapsed, spent);
    format_rate(r, sizeof r, rate);
    if (p->tty) {
        int width = 24, fill = p->total > 0 ? (int)((double)done / (double)p->total * width) : 0;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '-';
        bar[width] = '\0';
        fprintf(stderr, "\r\033[K%ld/%ld %s [%s] %s/s | %s elapsed, ETA %s", done, p->total,
                unit, bar, r, elapsed, eta);
        fflush(stderr);
        p->bar_shown = 1;
        return;
    }
    if (done == p->total || done >= p->next_log) {
        while (p->next_log <= done) p->next_log += p->log_every;
        fprintf(stderr, "%ld/%ld %s  %s/s  %s elapsed  ETA %s\n", done, p->total, unit, r,
                elapsed, eta);
    }
}

void zy_progress_print(zy_progress *p, const char *fmt, ...) {
    if (p->quiet) return;
    if (p->bar_shown) {
        fputs("\r\033[K", stderr);
        p->bar_shown = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void zy_progress_end(zy_progress *p) {
    if (p->quiet) return;
    if (p->bar_shown) fputc('\n', stderr);
    p->bar_shown = 0;
}
