// Attention heatmaps as SVG: see heatmap.h. One layout for the grid and for a single map
// (a 1 x 1 grid with larger cells and longer labels). Cell sizes are whole pixels, so
// the unit-scaled maps land on pixel edges (crispEdges: no seams between cells).
#include "heatmap.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "textio.h"

// The sequential colour ramp (ColorBrewer "Blues", light to dark), interpolated.
static const unsigned char RAMP[][3] = {
    {0xf7, 0xfb, 0xff}, {0xde, 0xeb, 0xf7}, {0xc6, 0xdb, 0xef}, {0x9e, 0xca, 0xe1},
    {0x6b, 0xae, 0xd6}, {0x42, 0x92, 0xc6}, {0x21, 0x71, 0xb5}, {0x08, 0x51, 0x9c},
    {0x08, 0x30, 0x6b}};
enum { N_RAMP = sizeof RAMP / sizeof RAMP[0] };

int zy_heatmap_level(float w) {
    if (!(w > 0)) return 0; // also NaN
    if (w >= 1) return ZY_HEATMAP_LEVELS;
    return (int)lrintf(w * ZY_HEATMAP_LEVELS);
}

void zy_heatmap_colour(int level, char out[8]) {
    if (level <= 0) {
        snprintf(out, 8, "#ffffff");
        return;
    }
    double t = (double)level / ZY_HEATMAP_LEVELS * (N_RAMP - 1);
    int i = (int)t;
    if (i >= N_RAMP - 1) i = N_RAMP - 2;
    double f = t - i;
    int c[3];
    for (int k = 0; k < 3; k++) c[k] = (int)lround(RAMP[i][k] + f * (RAMP[i + 1][k] - RAMP[i][k]));
    snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }
#define ZY_MAXI(a, b) ((a) > (b) ? (a) : (b))

// Characters of the longest label (capped), for the room labels need.
static int longest(const zy_heatmap_label *l, int n, int cap) {
    int best = 1;
    for (int i = 0; i < n; i++) {
        int c = 0;
        for (size_t j = 0; j < l[i].n; j++) c += ((unsigned char)l[i].s[j] & 0xC0) != 0x80;
        if (c > best) best = c;
    }
    return best < cap ? best : cap + 1; // + the ellipsis
}

// One map at (x, y), cell px per cell: background, the runs of each level (one pass over
// the cells, each run appended to its level's buffer lv[level]), frame.
static void map(zy_strbuf *b, const float *w, int rows, int cols, int x, int y, int cell,
                int layer, int head, zy_strbuf *lv) {
    zy_strbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
                     x, y, cols * cell, rows * cell);
    if (head < 0)
        zy_strbuf_printf(b, "<g class=\"map\" data-layer=\"%d\" data-head=\"mean\"", layer);
    else
        zy_strbuf_printf(b, "<g class=\"map\" data-layer=\"%d\" data-head=\"%d\"", layer, head);
    zy_strbuf_printf(b, " data-rows=\"%d\" data-cols=\"%d\" transform=\"translate(%d %d) "
                        "scale(%d)\" shape-rendering=\"crispEdges\">\n",
                     rows, cols, x, y, cell);
    for (int level = 1; level <= ZY_HEATMAP_LEVELS; level++) zy_strbuf_clear(&lv[level]);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols;) {
            int level = zy_heatmap_level(w[(size_t)i * cols + j]), k = j + 1;
            while (k < cols && zy_heatmap_level(w[(size_t)i * cols + k]) == level) k++;
            if (level) zy_strbuf_printf(&lv[level], "M%d %dh%dv1h-%dz", j, i, k - j, k - j);
            j = k;
        }
    for (int level = 1; level <= ZY_HEATMAP_LEVELS; level++) {
        if (lv[level].oom) b->oom = 1;
        if (!lv[level].n) continue;
        char c[8];
        zy_heatmap_colour(level, c);
        zy_strbuf_printf(b, "<path data-level=\"%d\" fill=\"%s\" d=\"", level, c);
        zy_strbuf_put(b, lv[level].p, lv[level].n);
        zy_strbuf_puts(b, "\"/>\n");
    }
    zy_strbuf_printf(b, "</g>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                        "stroke=\"#999\" stroke-width=\"0.5\"/>\n",
                     x, y, cols * cell, rows * cell);
}

static void label(zy_strbuf *b, const zy_heatmap_label *l, int maxc) {
    zy_cli_xml_text(b, l->s, l->n, ZY_CLI_LABEL_SPACES, (size_t)maxc);
}

int zy_heatmap_svg(const zy_heatmap_doc *d, zy_strbuf *b) {
    const int single = d->n_layers * d->n_heads == 1;
    const int tmax = d->rows > d->cols ? d->rows : d->cols;
    // Cells shrink with the token count (to a floor where labels stay legible when zoomed),
    // fonts with the cells, labels are cut to maxc characters.
    const int cell = single ? clampi(560 / tmax, 6, 28) : clampi(200 / tmax, 3, 12);
    const double font = single ? fmin(12, fmax(5, cell * 0.75)) : fmin(10, fmax(2.5, cell * 0.8));
    const int maxc = single ? 24 : 16;
    int sub_lines = 1, sub_chars = 0; // the subtitle's lines and the longest one
    for (const char *c = d->subtitle, *line = c;; c++)
        if (!*c || *c == '\n') {
            sub_chars = ZY_MAXI(sub_chars, (int)(c - line));
            if (!*c) break;
            sub_lines++, line = c + 1;
        }
    const int gap = 14, title_h = 40 + 15 * sub_lines, head_h = 16, layer_w = 56;
    const int lw_rows = (int)ceil(longest(d->row_labels, d->rows, maxc) * font * 0.62) + 8;
    const int lw_cols = (int)ceil(longest(d->col_labels, d->cols, maxc) * font * 0.62) + 8;
    const int mw = d->cols * cell, mh = d->rows * cell;
    const int x0 = layer_w + lw_rows, y0 = title_h + head_h;
    const int grid_w = d->n_heads * mw + (d->n_heads - 1) * gap;
    const int grid_h = d->n_layers * mh + (d->n_layers - 1) * gap;
    const int bar_h = clampi(grid_h, 120, 260), leg_x = x0 + grid_w + 24;
    int W = leg_x + 14 + 64, H = y0 + grid_h + lw_cols + 16;
    if (H < y0 + bar_h + 40) H = y0 + bar_h + 40;
    W = ZY_MAXI(W, ZY_MAXI(520, 24 + (int)(sub_chars * 11 * 0.55)));

    zy_strbuf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                        "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
                        "<title>",
                     W, H, W, H);
    zy_cli_xml_text(b, d->title, strlen(d->title), 0, 0);
    zy_strbuf_printf(b, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                        "<text x=\"12\" y=\"22\" font-size=\"15\">");
    zy_cli_xml_text(b, d->title, strlen(d->title), 0, 0);
    zy_strbuf_puts(b, "</text>\n");
    int ys = 42;
    for (const char *c = d->subtitle, *line = c;; c++)
        if (!*c || *c == '\n') {
            zy_strbuf_printf(b, "<text x=\"12\" y=\"%d\" font-size=\"11\" fill=\"#444\">", ys);
            zy_cli_xml_text(b, line, (size_t)(c - line), 0, 0);
            zy_strbuf_puts(b, "</text>\n");
            if (!*c) break;
            line = c + 1, ys += 15;
        }

    for (int c = 0; c < d->n_heads; c++) {
        int x = x0 + c * (mw + gap) + mw / 2;
        if (d->head_ids[c] < 0)
            zy_strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
                                "font-weight=\"bold\">mean</text>\n", x, y0 - 5);
        else
            zy_strbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">head %d</text>\n",
                             x, y0 - 5, d->head_ids[c]);
    }
    for (int r = 0; r < d->n_layers; r++) {
        int y = y0 + r * (mh + gap);
        zy_strbuf_printf(b, "<text x=\"8\" y=\"%d\" dy=\"0.35em\">layer %d</text>\n",
                         y + mh / 2, d->layer_ids[r]);
        // query labels left of the row's first map
        zy_strbuf_printf(b, "<g font-size=\"%.1f\" text-anchor=\"end\">\n", font);
        for (int i = 0; i < d->rows; i++) {
            zy_strbuf_printf(b, "<text x=\"%d\" y=\"%.1f\" dy=\"0.35em\">", x0 - 4,
                             y + (i + 0.5) * cell);
            label(b, &d->row_labels[i], maxc);
            zy_strbuf_puts(b, "</text>\n");
        }
        zy_strbuf_puts(b, "</g>\n");
    }
    zy_strbuf lv[ZY_HEATMAP_LEVELS + 1] = {{0}};
    for (int r = 0; r < d->n_layers; r++)
        for (int c = 0; c < d->n_heads; c++)
            map(b, d->maps[(size_t)r * d->n_heads + c], d->rows, d->cols, x0 + c * (mw + gap),
                y0 + r * (mh + gap), cell, d->layer_ids[r], d->head_ids[c], lv);
    for (int level = 0; level <= ZY_HEATMAP_LEVELS; level++) zy_strbuf_free(&lv[level]);
    // key labels under each map of the last row, reading upwards
    int yk = y0 + grid_h + 4;
    zy_strbuf_printf(b, "<g font-size=\"%.1f\" text-anchor=\"end\">\n", font);
    for (int c = 0; c < d->n_heads; c++)
        for (int j = 0; j < d->cols; j++) {
            double x = x0 + c * (mw + gap) + (j + 0.5) * cell;
            zy_strbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" dy=\"0.35em\" "
                                "transform=\"rotate(-90 %.1f %d)\">", x, yk, x, yk);
            label(b, &d->col_labels[j], maxc);
            zy_strbuf_puts(b, "</text>\n");
        }
    zy_strbuf_puts(b, "</g>\n");

    // the colour scale: every level as a band, ticks at 0, 0.25, ..., 1
    zy_strbuf_printf(b, "<g class=\"legend\">\n<text x=\"%d\" y=\"%d\">weight</text>\n", leg_x,
                     y0 - 5);
    for (int level = 0; level <= ZY_HEATMAP_LEVELS; level++) {
        char c[8];
        zy_heatmap_colour(level, c);
        double y1 = y0 + bar_h * (1 - (level + 0.5) / (ZY_HEATMAP_LEVELS + 1.0));
        zy_strbuf_printf(b, "<rect x=\"%d\" y=\"%.2f\" width=\"14\" height=\"%.2f\" fill=\"%s\"/>\n",
                         leg_x, y1, bar_h / (ZY_HEATMAP_LEVELS + 1.0) + 0.05, c);
    }
    zy_strbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"%d\" fill=\"none\" "
                        "stroke=\"#999\" stroke-width=\"0.5\"/>\n",
                     leg_x, y0, bar_h);
    for (int t = 0; t <= 4; t++) {
        double y = y0 + bar_h * (1 - (t * 16 + 0.5) / (ZY_HEATMAP_LEVELS + 1.0));
        zy_strbuf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>"
                            "<text x=\"%d\" y=\"%.1f\" dy=\"0.35em\" font-size=\"10\">%g</text>\n",
                         leg_x + 14, leg_x + 18, y, y, leg_x + 21, y, t * 0.25);
    }
    zy_strbuf_puts(b, "</g>\n</svg>\n");
    return b->oom ? -1 : 0;
}
