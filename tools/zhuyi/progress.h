// Progress on stderr: a one-line bar redrawn in place when stderr is a terminal (training:
// step, loss, tokens/s, ETA; other work: items done, items/s, ETA), plain lines every few
// steps otherwise (logs, pipes, CI).
// Not here: metrics.jsonl and loss.svg (metrics.c, svg.c).
#ifndef ZHUYI_CLI_PROGRESS_H
#define ZHUYI_CLI_PROGRESS_H

typedef struct zy_progress {
    int tty;          // draw a bar (1) or print plain lines (0)
    int bar_shown;    // a bar is on screen and must be cleared before a message
    long first, total; // steps of this run: (first, total]
    long log_every;   // plain lines: every this many steps (and the first and last)
    double t_start;   // seconds (monotonic) when the run's first step started
    double ema_ms;    // smoothed step time for the ETA and tokens/s
    double t_drawn;   // when the bar was last drawn
    long next_log;    // zy_progress_count's plain lines: the count the next one is due at
    int quiet;        // show nothing (the ranks of a data-parallel run other than 0)
} zy_progress;

// Seconds from a monotonic clock.
double zy_progress_now(void);
void zy_progress_init(zy_progress *p, long first, long total, long log_every);
// After step `step` (1-based): its loss, duration and throughput.
void zy_progress_step(zy_progress *p, long step, float loss, float lr, double ms,
                      double tok_s);
// Work counted in items (`zhuyi translate`'s sentences): `done` of p->total after the
// last chunk, `unit` naming them ("sentences"). Same bar and plain lines as a step.
void zy_progress_count(zy_progress *p, long done, const char *unit);
// A message on its own line (the bar, if any, is cleared and redrawn by the next step).
void zy_progress_print(zy_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
// End the bar's line.
void zy_progress_end(zy_progress *p);

#endif
