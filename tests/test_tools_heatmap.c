// Tests of the attention heatmaps and the text escaping of the CLI (tools/zhuyi/heatmap.c,
// textio.c, strbuf.c, linked into the tests): the SVG holds one map per (layer, head)
// of the grid, and reading the maps' paths back gives every cell the level of its weight
// (each cell drawn once, zero weights not at all); labels holding XML syntax, control
// bytes, bytes that are not UTF-8 and long tokens come out escaped and cut, so nothing in
// a label can break the document; JSON strings escape and replace what JSON cannot hold.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/zhuyi/heatmap.h"
#include "../tools/zhuyi/textio.h"
#include "harness.h"

static char *xml(const char *s, size_t n, unsigned flags, size_t max) {
    zy_strbuf b = {0};
    zy_cli_xml_text(&b, s, n, flags, max);
    zy_strbuf_puts(&b, "");
    return b.p;
}

static char *json(const char *s, size_t n) {
    zy_strbuf b = {0};
    zy_cli_json_string(&b, s, n);
    return b.p;
}

TEST(tools_text_escaping) {
    struct { const char *in; size_t n; unsigned flags; size_t max; const char *want; } x[] = {
        {"a<b>&\"c'", 8, 0, 0, "a&lt;b&gt;&amp;&quot;c&apos;"},
        {" the", 4, ZY_CLI_LABEL_SPACES, 0, "\xe2\x90\xa3the"},
        {" the", 4, 0, 0, " the"},
        {"a\nb\tc\rd\\", 8, 0, 0, "a\\nb\\tc\\rd\\\\"},
        {"\x01\x7f", 2, 0, 0, "\\x01\\x7F"},
        {"\xe4\xb8", 2, 0, 0, "\\xE4\\xB8"},               // half a character
        {"\xc3\xa9\xe4\xb8\xad", 5, 0, 0, "\xc3\xa9\xe4\xb8\xad"}, // é 中 as they are
        {"\xef\xbf\xbe", 3, 0, 0, "\\xEF\\xBF\\xBE"},       // U+FFFE: no XML character
        {"\xed\xa0\x80", 3, 0, 0, "\\xED\\xA0\\x80"},       // an encoded surrogate
        {"\xc0\xaf", 2, 0, 0, "\\xC0\\xAF"},               // overlong
        {"abcdefgh", 8, 0, 5, "abcde\xe2\x80\xa6"},
        {"abcde", 5, 0, 5, "abcde"},
        {"a\0b", 3, 0, 0, "a\\x00b"},
    };
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        char *got = xml(x[i].in, x[i].n, x[i].flags, x[i].max);
        if (strcmp(got, x[i].want)) zt_fail(__FILE__, __LINE__, "xml case %zu: '%s'", i, got);
        free(got);
    }
    struct { const char *in; size_t n; const char *want; } j[] = {
        {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
        {"\n\t\x01\x7f", 4, "\"\\n\\t\\u0001\\u007f\""},
        {"\xe4\xb8", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},
        {"\xe4\xb8\xad", 3, "\"\xe4\xb8\xad\""},
        {"##ing", 5, "\"##ing\""},
    };
    for (size_t i = 0; i < sizeof j / sizeof j[0]; i++) {
        char *got = json(j[i].in, j[i].n);
        if (strcmp(got, j[i].want)) zt_fail(__FILE__, __LINE__, "json case %zu: '%s'", i, got);
        free(got);
    }
    CHECK(zy_heatmap_level(0.0f) == 0 && zy_heatmap_level(-1.0f) == 0);
    CHECK(zy_heatmap_level(0.0078f) == 0 && zy_heatmap_level(0.0079f) == 1);
    CHECK(zy_heatmap_level(0.5f) == 32 && zy_heatmap_level(1.0f) == 64);
    CHECK(zy_heatmap_level(2.0f) == 64 && zy_heatmap_level(NAN) == 0);
}

// Reads the maps back: for each <g class="map" ...>, its attributes and the cells its
// paths cover, level by level. Returns the number of maps; levels (maps, rows, cols), -1
// where no path covers a cell, -2 where two do.
static int read_maps(const char *svg, int rows, int cols, int *layer, int *head, int *levels,
                     int max_maps) {
    int n = 0;
    for (const char *g = strstr(svg, "<g class=\"map\""); g; g = strstr(g + 1, "<g class=\"map\"")) {
        if (n == max_maps) return -1;
        int r = 0, c = 0;
        char h[16] = {0};
        if (sscanf(g, "<g class=\"map\" data-layer=\"%d\" data-head=\"%15[^\"]\" data-rows=\"%d\" "
                      "data-cols=\"%d\"", &layer[n], h, &r, &c) != 4 || r != rows || c != cols)
            return -1;
        head[n] = strcmp(h, "mean") ? atoi(h) : -1;
        int *lv = levels + (size_t)n * rows * cols;
        for (int i = 0; i < rows * cols; i++) lv[i] = -1;
        const char *end = strstr(g, "</g>");
        for (const char *p = strstr(g, "<path"); p && p < end; p = strstr(p + 1, "<path")) {
            int level;
            if (sscanf(p, "<path data-level=\"%d\"", &level) != 1) return -1;
            const char *d = strstr(p, " d=\"") + 4;
            int x, y, w, w2, k;
            while (sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &w, &w2, &k) == 4) {
                if (w != w2 || x < 0 || y < 0 || x + w > cols || y >= rows) return -1;
                for (int j = x; j < x + w; j++)
                    lv[y * cols + j] = lv[y * cols + j] == -1 ? level : -2;
                d += k;
            }
            if (*d != '"') return -1;
        }
        n++;
    }
    return n;
}

TEST(tools_heatmap_grid_cells) {
    enum { L = 2, HEADS = 3, R = 5, K = 7 };
    float w[L * HEADS][R * K];
    const float *maps[L * HEADS];
    for (int m = 0; m < L * HEADS; m++) {
        zt_fill_uniform(w[m], R * K, 40 + (uint64_t)m, -0.2f, 1.1f); // some <= 0, some > 1
        maps[m] = w[m];
    }
    int layer_ids[L] = {3, 5}, head_ids[HEADS] = {0, 2, -1};
    zy_heatmap_label rl[R] = {{"[CLS]", 5}, {"<a>&", 4}, {" b\n", 3}, {"\xe4\xb8", 2},
                              {"averyveryverylongtokenindeed", 28}};
    zy_heatmap_label cl[K] = {{"x", 1}, {"y\"'", 3}, {"", 0}, {"\x01", 1}, {"z", 1},
                              {"]]>", 3}, {"\xef\xbf\xbf", 3}};
    zy_heatmap_doc d = {.title = "t <&> \xff", .subtitle = "line one\nline <two>", .rows = R,
                        .cols = K, .row_labels = rl, .col_labels = cl, .n_layers = L,
                        .n_heads = HEADS, .layer_ids = layer_ids, .head_ids = head_ids,
                        .maps = maps};
    zy_strbuf b = {0};
    ASSERT(zy_heatmap_svg(&d, &b) == 0);
    ASSERT(b.p && strlen(b.p) == b.n);
    int layer[8], head[8], *levels = malloc(8 * R * K * sizeof *levels);
    int n = read_maps(b.p, R, K, layer, head, levels, 8);
    ASSERT_EQ_INT(n, L * HEADS);
    for (int m = 0; m < n; m++) {
        CHECK(layer[m] == layer_ids[m / HEADS] && head[m] == head_ids[m % HEADS]);
        for (int i = 0; i < R * K; i++) {
            int want = zy_heatmap_level(w[m][i]), got = levels[(size_t)m * R * K + i];
            if (got != (want ? want : -1))
                zt_fail(__FILE__, __LINE__, "map %d cell %d: level %d drawn, weight %g is %d",
                        m, i, got, (double)w[m][i], want);
        }
    }
    // Labels and titles: no raw markup, and what was written is there escaped.
    CHECK(strstr(b.p, "&lt;a&gt;&amp;") && strstr(b.p, "y&quot;&apos;"));
    CHECK(strstr(b.p, "\xe2\x90\xa3" "b\\n") && strstr(b.p, "\\xE4\\xB8"));
    CHECK(strstr(b.p, "\\x01") && strstr(b.p, "]]&gt;") && strstr(b.p, "\\xEF\\xBF\\xBF"));
    CHECK(strstr(b.p, "t &lt;&amp;&gt; \\xFF") && strstr(b.p, "line &lt;two&gt;"));
    CHECK(strstr(b.p, "averyveryverylon\xe2\x80\xa6") && !strstr(b.p, "tokenindeed"));
    CHECK(strstr(b.p, ">mean</text>") && strstr(b.p, ">head 2</text>") &&
          strstr(b.p, ">layer 5</text>"));
    CHECK(strstr(b.p, "class=\"legend\""));
    // Every '<' starts a tag or the declaration (none comes from a label).
    for (const char *p = strchr(b.p, '<'); p; p = strchr(p + 1, '<'))
        if (!(p[1] == '/' || p[1] == '?' || (p[1] >= 'a' && p[1] <= 'z'))) {
            zt_fail(__FILE__, __LINE__, "a stray '<' at offset %td", p - b.p);
            break;
        }
    zt_note("grid of %d maps, %zu bytes", n, b.n);
    free(levels);
    zy_strbuf_free(&b);
}
