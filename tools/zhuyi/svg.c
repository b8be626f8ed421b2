// DIR/loss.svg: a self-contained SVG line chart of training loss (faint raw line plus a
// smoothed line) and validation loss (points joined by a line) against the step, and
// below it, when the run keeps its best model by another metric (--best-metric, e.g.
// fine-tuning's accuracy or F1), a second chart of that validation metric. Written
// atomically after each evaluation and save, so a viewer never sees half a file.
// Not a plotting library: fixed layout, no dependencies.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "metrics.h"
#include "zhuyi/io.h"

typedef struct buf {
    char *p;
    size_t n, cap;
    int oom;
} buf;

static void out(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(buf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t c = 2 * (b->cap + (size_t)k + 1024);
        char *q = realloc(b->p, c);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = c;
    }
}

enum { W = 760, H = 420, ML = 64, MR = 20, MT = 36, MB = 48, H2 = 260 };

// A chart's data range and its plot area's top and bottom in pixels.
typedef struct axes {
    double x0, x1, y0, y1;
    int top, bottom;
} axes;

static double px(const axes *a, double x) { return ML + (x - a->x0) / (a->x1 - a->x0) * (W - ML - MR); }
static double py(const axes *a, double y) {
    return a->bottom - (y - a->y0) / (a->y1 - a->y0) * (a->bottom - a->top);
}

// A "nice" tick spacing (1, 2 or 5 times a power of ten) giving about n ticks.
static double nice_step(double span, int n) {
    double raw = span / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

// Polyline through (xs[i], ys[i]); more than ~1500 points are averaged in buckets.
static void polyline(buf *b, const axes *a, const long *xs, const float *ys, size_t n,
                     const char *style) {
    size_t per = n > 1500 ? (n + 1499) / 1500 : 1;
    out(b, "<polyline fill=\"none\" %s points=\"", style);
    for (size_t i = 0; i < n; i += per) {
        size_t e = i + per < n ? i + per : n;
        double sx = 0, sy = 0;
        for (size_t j = i; j < e; j++) {
            sx += (double)xs[j];
            sy += ys[j];
        }
        out(b, "%.1f,%.1f ", px(a, sx / (double)(e - i)), py(a, sy / (double)(e - i)));
    }
    out(b, "\"/>\n");
}

void zy_svg_smooth(float *out, const float *x, size_t n, double beta) {
    // e_t = beta e_{t-1} + (1 - beta) x_t from e = 0, divided by 1 - beta^(t+1) (Adam's
    // bias correction): the weighted mean of x_0..x_t with weights beta^(t-i). Starting the
    // average at x_0 instead gives x_0 the weight beta^t, far too much early on: a loss
    // that falls fast left the smoothed line far above the raw one for the first span.
    double e = 0, bt = 1;
    for (size_t i = 0; i < n; i++) {
        e = beta * e + (1 - beta) * x[i];
        bt *= beta;
        out[i] = (float)(e / (1 - bt));
    }
}

// Grid lines, tick labels, the frame and the x label of a chart.
static void grid(buf *b, const axes *a) {
    double ys = nice_step(a->y1 - a->y0, 6), xs = nice_step(a->x1 - a->x0, 8);
    for (double y = ceil(a->y0 / ys) * ys; y <= a->y1; y += ys)
        out(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
               "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
            ML, W - MR, py(a, y), py(a, y), ML - 6, py(a, y) + 4, y);
    for (double x = ceil(a->x0 / xs) * xs; x <= a->x1; x += xs)
        out(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e4e4e4\"/>"
               "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
            px(a, x), px(a, x), a->top, a->bottom, px(a, x), a->bottom + 16, x);
    out(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
           "stroke=\"#888\"/>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n",
        ML, a->top, W - ML - MR, a->bottom - a->top, (W + ML - MR) / 2, a->bottom + 38);
}

// The validation metric's chart below the loss chart, its y range the values' own.
static void metric_chart(buf *b, const zy_metrics *m, const axes *loss) {
    axes a = {loss->x0, loss->x1, INFINITY, -INFINITY, H + MT, H + H2 - MB};
    size_t n = 0;
    for (size_t i = 0; i < m->vn; i++)
        if (isfinite(m->vmetric[i])) {
            a.y0 = fmin(a.y0, m->vmetric[i]);
            a.y1 = fmax(a.y1, m->vmetric[i]);
            n++;
        }
    if (!n) return;
    if (a.y1 - a.y0 < 1e-6) a.y0 -= 0.5, a.y1 += 0.5;
    double pad = 0.06 * (a.y1 - a.y0);
    a.y0 -= pad, a.y1 += pad;
    out(b, "<text x=\"%d\" y=\"%d\" font-size=\"15\">validation %s</text>\n", ML, H + 22,
        m->vname);
    grid(b, &a);
    // Points joined where the metric was computed (a NaN breaks nothing: it is skipped).
    out(b, "<polyline fill=\"none\" stroke=\"#2ca02c\" stroke-width=\"2\" points=\"");
    for (size_t i = 0; i < m->vn; i++)
        if (isfinite(m->vmetric[i]))
            out(b, "%.1f,%.1f ", px(&a, (double)m->vstep[i]), py(&a, m->vmetric[i]));
    out(b, "\"/>\n");
    size_t last = 0;
    for (size_t i = 0; i < m->vn; i++)
        if (isfinite(m->vmetric[i])) {
            out(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#2ca02c\"/>\n",
                px(&a, (double)m->vstep[i]), py(&a, m->vmetric[i]));
            last = i;
        }
    out(b, "<text x=\"%d\" y=\"%d\">val %s %.4f</text>\n", W - MR - 200, H + 22, m->vname,
        (double)m->vmetric[last]);
}

int zy_svg_loss(const char *path, const zy_metrics *m) {
    if (m->n == 0 && m->vn == 0) return 0;
    axes a = {INFINITY, -INFINITY, INFINITY, -INFINITY, MT, H - MB};
    for (size_t i = 0; i < m->n; i++) {
        a.x0 = fmin(a.x0, (double)m->step[i]);
        a.x1 = fmax(a.x1, (double)m->step[i]);
        a.y0 = fmin(a.y0, m->loss[i]);
        a.y1 = fmax(a.y1, m->loss[i]);
    }
    for (size_t i = 0; i < m->vn; i++) {
        a.x0 = fmin(a.x0, (double)m->vstep[i]);
        a.x1 = fmax(a.x1, (double)m->vstep[i]);
        a.y0 = fmin(a.y0, m->vloss[i]);
        a.y1 = fmax(a.y1, m->vloss[i]);
    }
    if (a.x1 <= a.x0) a.x1 = a.x0 + 1;
    if (a.y1 - a.y0 < 1e-3) {
        a.y0 -= 0.5;
        a.y1 += 0.5;
    }
    double pad = 0.04 * (a.y1 - a.y0);
    a.y0 = fmax(0, a.y0 - pad);
    a.y1 += pad;

    buf b = {0};
    int height = m->vname[0] ? H + H2 : H;
    out(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"22\" font-size=\"15\">zhuyi: loss</text>\n",
        W, height, W, height, ML);
    grid(&b, &a);
    if (m->n) {
        polyline(&b, &a, m->step, m->loss, m->n, "stroke=\"#9ecae1\" stroke-width=\"1\"");
        // Exponential moving average, its span a few percent of the run.
        float *sm = malloc(m->n * sizeof *sm);
        if (!sm) {
            free(b.p);
            return zy_cli_die("out of memory drawing %s", path);
        }
        zy_svg_smooth(sm, m->loss, m->n, 1.0 - fmin(1.0, 30.0 / (double)m->n));
        polyline(&b, &a, m->step, sm, m->n, "stroke=\"#1f77b4\" stroke-width=\"2\"");
        free(sm);
    }
    if (m->vn) {
        polyline(&b, &a, m->vstep, m->vloss, m->vn, "stroke=\"#d62728\" stroke-width=\"2\"");
        for (size_t i = 0; i < m->vn; i++)
            out(&b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#d62728\"/>\n",
                px(&a, (double)m->vstep[i]), py(&a, m->vloss[i]));
    }
    // Legend with the latest values.
    int lx = W - MR - 230;
    if (m->n)
        out(&b, "<line x1=\"%d\" x2=\"%d\" y1=\"20\" y2=\"20\" stroke=\"#1f77b4\" "
                "stroke-width=\"2\"/><text x=\"%d\" y=\"24\">train %.4f</text>\n",
            lx, lx + 20, lx + 25, (double)m->loss[m->n - 1]);
    if (m->vn)
        out(&b, "<line x1=\"%d\" x2=\"%d\" y1=\"20\" y2=\"20\" stroke=\"#d62728\" "
                "stroke-width=\"2\"/><text x=\"%d\" y=\"24\">val %.4f</text>\n",
            lx + 115, lx + 135, lx + 140, (double)m->vloss[m->vn - 1]);
    if (m->vname[0]) metric_chart(&b, m, &a);
    out(&b, "</svg>\n");
    int rc = 0;
    if (b.oom) rc = zy_cli_die("out of memory drawing %s", path);
    else if (zy_file_write_atomic(path, b.p, b.n)) rc = zy_cli_die("%s", zy_last_error());
    free(b.p);
    return rc;
}
