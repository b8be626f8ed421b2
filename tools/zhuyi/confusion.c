// Confusion matrices (text, SVG) and classification reports: see confusion.h. The SVG
// shares the attention heatmaps' colour ramp and the CLI's XML escaping (textio.h).
#include "confusion.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "heatmap.h"
#include "textio.h"

enum { MAX_LABEL = 24 };

// Characters (UTF-8 code points) of s.
static int chars(const char *s) {
    int c = 0;
    for (; *s; s++) c += ((unsigned char)*s & 0xC0) != 0x80;
    return c;
}

// s right-aligned (left when left != 0) in width characters; past max characters (0: no
// limit) cut to max - 1 and "…".
static void pad(zy_strbuf *b, const char *s, int width, int left, int max) {
    int n = chars(s), cut = max && n > max;
    size_t bytes = strlen(s);
    if (cut) { // at a character boundary
        int k = 0;
        for (bytes = 0; s[bytes]; bytes++)
            if (((unsigned char)s[bytes] & 0xC0) != 0x80 && k++ == max - 1) break;
        n = max;
    }
    if (!left)
        for (int i = n; i < width; i++) zy_strbuf_put(b, " ", 1);
    zy_strbuf_put(b, s, bytes);
    if (cut) zy_strbuf_puts(b, "\xe2\x80\xa6");
    if (left)
        for (int i = n; i < width; i++) zy_strbuf_put(b, " ", 1);
}

static const char *label_of(const char *const *labels, int i, char num[16]) {
    if (labels && labels[i]) return labels[i];
    snprintf(num, 16, "%d", i);
    return num;
}

static int digits_of(int64_t v) {
    char t[24];
    return snprintf(t, sizeof t, "%lld", (long long)v);
}

#define ZY_MAXI(a, b) ((a) > (b) ? (a) : (b))

static int label_width(const char *s) {
    int l = chars(s);
    return l > MAX_LABEL ? MAX_LABEL : l;
}

int zy_confusion_text(zy_strbuf *b, const zy_confusion *c, const char *const *labels) {
    const int k = zy_confusion_classes(c);
    const int64_t *n = zy_confusion_counts(c);
    const char *corner = "gold \\ predicted";
    char num[16];
    int w0 = chars(corner), wt = ZY_MAXI(5, digits_of(zy_confusion_total(c)));
    for (int i = 0; i < k; i++) w0 = ZY_MAXI(w0, label_width(label_of(labels, i, num)));
    // each column as wide as its label or its largest total, at least 3
    int *w = zy_alloc(sizeof *w * (size_t)k);
    if (!w) return -1;
    for (int j = 0; j < k; j++) {
        int64_t col = 0;
        for (int i = 0; i < k; i++) col += n[(size_t)i * k + j];
        w[j] = ZY_MAXI(3, ZY_MAXI(label_width(label_of(labels, j, num)), digits_of(col)));
    }
    pad(b, corner, w0, 1, 0);
    for (int j = 0; j < k; j++) {
        zy_strbuf_puts(b, "  ");
        pad(b, label_of(labels, j, num), w[j], 0, MAX_LABEL);
    }
    zy_strbuf_printf(b, "  %*s\n", wt, "total");
    for (int i = 0; i < k; i++) {
        pad(b, label_of(labels, i, num), w0, 1, MAX_LABEL);
        int64_t row = 0;
        for (int j = 0; j < k; j++) {
            row += n[(size_t)i * k + j];
            zy_strbuf_printf(b, "  %*lld", w[j], (long long)n[(size_t)i * k + j]);
        }
        zy_strbuf_printf(b, "  %*lld\n", wt, (long long)row);
    }
    pad(b, "total", w0, 1, 0);
    for (int j = 0; j < k; j++) {
        int64_t col = 0;
        for (int i = 0; i < k; i++) col += n[(size_t)i * k + j];
        zy_strbuf_printf(b, "  %*lld", w[j], (long long)col);
    }
    zy_strbuf_printf(b, "  %*lld\n", wt, (long long)zy_confusion_total(c));
    zy_free(w);
    return b->oom ? -1 : 0;
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void xml(zy_strbuf *b, const char *s, size_t max) {
    zy_cli_xml_text(b, s, strlen(s), 0, max);
}

int zy_confusion_svg(zy_strbuf *b, const zy_confusion *c, const char *const *labels,
                     const char *title) {
    const int k = zy_confusion_classes(c);
    const int64_t *n = zy_confusion_counts(c);
    char num[16];
    const int cell = clampi(480 / k, 6, 56);
    const double font = fmin(12, fmax(4, cell * 0.3));
    int longest = 1;
    for (int i = 0; i < k; i++) {
        int l = chars(label_of(labels, i, num));
        if (l > longest) longest = l;
    }
    if (longest > MAX_LABEL) longest = MAX_LABEL + 1;
    const int lab = (int)ceil(longest * 12 * 0.62) + 10; // room for the labels at 12px
    const int x0 = 40 + lab, y0 = 56, m = k * cell;
    const int W = x0 + m + 90, H = y0 + m + 24 + lab + 30;
    zy_strbuf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                        "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
                        "<title>",
                     W > 360 ? W : 360, H, W > 360 ? W : 360, H);
    xml(b, title, 0);
    zy_strbuf_puts(b, "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
                      "<text x=\"12\" y=\"22\" font-size=\"15\">");
    xml(b, title, 0);
    zy_strbuf_printf(b, "</text>\n<text x=\"12\" y=\"40\" font-size=\"11\" fill=\"#444\">rows: "
                        "gold, columns: predicted, colour: share of the row; %lld examples"
                        "</text>\n",
                     (long long)zy_confusion_total(c));
    for (int i = 0; i < k; i++) {
        int64_t row = 0;
        for (int j = 0; j < k; j++) row += n[(size_t)i * k + j];
        for (int j = 0; j < k; j++) {
            int64_t v = n[(size_t)i * k + j];
            int level = row ? zy_heatmap_level((float)((double)v / (double)row)) : 0;
            char fill[8];
            zy_heatmap_colour(level, fill);
            zy_strbuf_printf(b, "<rect class=\"cell\" data-gold=\"%d\" data-pred=\"%d\" "
                                "data-count=\"%lld\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                                "fill=\"%s\" stroke=\"#ddd\" stroke-width=\"0.5\"/>\n",
                             i, j, (long long)v, x0 + j * cell, y0 + i * cell, cell, cell, fill);
            if (cell >= 18 && digits_of(v) * font * 0.62 < cell - 2)
                zy_strbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" dy=\"0.35em\" text-anchor=\"middle\" "
                                    "font-size=\"%.1f\" fill=\"%s\">%lld</text>\n",
                                 x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell, font,
                                 level > 36 ? "#ffffff" : "#222222", (long long)v);
        }
        zy_strbuf_printf(b, "<text class=\"total\" data-gold=\"%d\" x=\"%d\" y=\"%.1f\" "
                            "dy=\"0.35em\" font-size=\"11\">%lld</text>\n",
                         i, x0 + m + 6, y0 + (i + 0.5) * cell, (long long)row);
    }
    for (int j = 0; j < k; j++) {
        int64_t col = 0;
        for (int i = 0; i < k; i++) col += n[(size_t)i * k + j];
        zy_strbuf_printf(b, "<text class=\"total\" data-pred=\"%d\" x=\"%.1f\" y=\"%d\" "
                            "text-anchor=\"middle\" font-size=\"11\">%lld</text>\n",
                         j, x0 + (j + 0.5) * cell, y0 + m + 16, (long long)col);
    }
    zy_strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\" "
                        "fill=\"#444\">total</text>\n",
                     x0 - 6, y0 + m + 16);
    zy_strbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                        "stroke=\"#999\" stroke-width=\"0.5\"/>\n",
                     x0, y0, m, m);
    // gold labels left of the rows, predicted labels under the columns reading upwards
    zy_strbuf_puts(b, "<g text-anchor=\"end\">\n");
    for (int i = 0; i < k; i++) {
        zy_strbuf_printf(b, "<text x=\"%d\" y=\"%.1f\" dy=\"0.35em\">", x0 - 6,
                         y0 + (i + 0.5) * cell);
        xml(b, label_of(labels, i, num), MAX_LABEL);
        zy_strbuf_puts(b, "</text>\n");
    }
    const int yl = y0 + m + 24;
    for (int j = 0; j < k; j++) {
        double x = x0 + (j + 0.5) * cell;
        zy_strbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" dy=\"0.35em\" transform=\"rotate(-90 %.1f %d)\">",
                         x, yl, x, yl);
        xml(b, label_of(labels, j, num), MAX_LABEL);
        zy_strbuf_puts(b, "</text>\n");
    }
    zy_strbuf_printf(b, "</g>\n<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" font-weight=\"bold\" "
                        "transform=\"rotate(-90 14 %.1f)\">gold</text>\n"
                        "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">"
                        "predicted</text>\n<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#444\">"
                        "total</text>\n</svg>\n",
                     y0 + m / 2.0, y0 + m / 2.0, x0 + m / 2.0, H - 8, x0 + m + 6, y0 - 6);
    return b->oom ? -1 : 0;
}

// One report line: name, then precision / recall / f1 (or blanks), then support.
static void row(zy_strbuf *b, const char *name, int width, const double *v, int blanks,
                int64_t support, int digits) {
    pad(b, name, width, 0, 0);
    zy_strbuf_puts(b, " ");
    for (int i = 0; i < 3; i++) {
        if (i < blanks) zy_strbuf_printf(b, " %9s", "");
        else zy_strbuf_printf(b, " %9.*f", digits, v[i]);
    }
    zy_strbuf_printf(b, " %9lld\n", (long long)support);
}

int zy_classification_report(zy_strbuf *b, const char *const *names, const zy_class_score *per,
                             int n, const zy_scores *s, zy_report_style style, int digits) {
    int width = (int)strlen("weighted avg");
    if (digits > width) width = digits;
    for (int i = 0; i < n; i++) {
        if (style == ZY_REPORT_SKLEARN && !per[i].support && !per[i].predicted) continue;
        int l = chars(names[i]);
        if (l > width) width = l;
    }
    pad(b, "", width, 0, 0);
    zy_strbuf_printf(b, "  %9s %9s %9s %9s\n\n", "precision", "recall", "f1-score", "support");
    for (int i = 0; i < n; i++) {
        if (style == ZY_REPORT_SKLEARN && !per[i].support && !per[i].predicted) continue;
        const double v[3] = {per[i].precision, per[i].recall, per[i].f1};
        row(b, names[i], width, v, 0, per[i].support, digits);
    }
    zy_strbuf_puts(b, "\n");
    const double micro[3] = {s->micro.precision, s->micro.recall, s->micro.f1};
    const double macro[3] = {s->macro.precision, s->macro.recall, s->macro.f1};
    const double wtd[3] = {s->weighted.precision, s->weighted.recall, s->weighted.f1};
    if (style == ZY_REPORT_SKLEARN) {
        const double acc[3] = {0, 0, s->accuracy};
        row(b, "accuracy", width, acc, 2, s->support, digits);
    } else {
        row(b, "micro avg", width, micro, 0, s->support, digits);
    }
    row(b, "macro avg", width, macro, 0, s->support, digits);
    row(b, "weighted avg", width, wtd, 0, s->support, digits);
    return b->oom ? -1 : 0;
}
