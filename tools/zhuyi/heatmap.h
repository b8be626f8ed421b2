// Attention maps as one self-contained SVG: a grid of heatmaps (rows = layers, columns =
// heads and/or the head average) or one large heatmap, each labelled with the tokens
// (rows: queries, the token attending; columns: keys, the token attended to), with a
// colour scale. Not a plotting library: this layout only, no dependencies.
//
// How a map is drawn (what tests read back): each map is a <g class="map"
// data-layer="L" data-head="H|mean" data-rows="R" data-cols="K"> scaled so a cell is one
// unit; weight w becomes level round(64 w) (clamped to 0..64); level 0 is the white
// background and is not drawn; every other level is one <path data-level="N"> whose
// subpaths "Mx yhnv1h-nz" cover runs of n cells of row y from column x.
#ifndef ZHUYI_CLI_HEATMAP_H
#define ZHUYI_CLI_HEATMAP_H

#include <stddef.h>

#include "strbuf.h"

#define ZY_HEATMAP_LEVELS 64

typedef struct zy_heatmap_label {
    const char *s; // raw bytes (shown through zy_cli_xml_text: spaces as ␣, escapes)
    size_t n;
} zy_heatmap_label;

typedef struct zy_heatmap_doc {
    const char *title, *subtitle;     // any bytes (escaped); '\n' starts a subtitle line
    int rows, cols;                   // every map is (rows, cols)
    const zy_heatmap_label *row_labels, *col_labels; // (rows), (cols)
    int n_layers, n_heads;            // the grid: n_layers rows of n_heads maps
    const int *layer_ids;             // (n_layers) layer numbers shown
    const int *head_ids;              // (n_heads) head numbers shown, -1 = mean of heads
    const float *const *maps;         // (n_layers * n_heads), grid order, each (rows, cols)
} zy_heatmap_doc;

// The level (0..ZY_HEATMAP_LEVELS) a weight is drawn with; NaN and w <= 0 give 0.
int zy_heatmap_level(float w);
// Its fill colour "#rrggbb" (the sequential Blues ramp; level 0 is white). Shared with the
// confusion matrices (confusion.c).
void zy_heatmap_colour(int level, char out[8]);
// The SVG document into out (appended). Returns 0, or -1 if out ran out of memory.
int zy_heatmap_svg(const zy_heatmap_doc *d, zy_strbuf *out);

#endif
