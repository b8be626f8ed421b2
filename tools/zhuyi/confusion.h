// Evaluation output for people: a confusion matrix as a text table and as an SVG, and a
// classification report in scikit-learn's / seqeval's text layout, from the numbers of
// include/zhuyi/metrics.h. Not the metrics themselves (src/eval) and not a plotting
// library: this layout only.
//
// How the SVG draws the matrix (what tests read back): one <rect class="cell"
// data-gold="G" data-pred="P" data-count="N"> per cell (rows = gold, columns =
// predicted), filled by the share of its row, count / row total, on the attention maps'
// colour ramp (heatmap.h, level round(64 share)); the count is written in the cell when
// it is large enough; row totals right of the matrix and column totals below it are
// <text class="total">.
#ifndef ZHUYI_CLI_CONFUSION_H
#define ZHUYI_CLI_CONFUSION_H

#include "strbuf.h"
#include "zhuyi/metrics.h"

// The table, appended to b: a header line of predicted labels, one line per gold class
// (its label, the K counts, the row total), a last line of column totals. labels (K)
// may be NULL (then "0", "1", ...). Labels are cut to 24 characters. Returns 0, or -1 if
// b ran out of memory.
int zy_confusion_text(zy_strbuf *b, const zy_confusion *c, const char *const *labels);

// A self-contained SVG document with the title (any bytes, escaped) above it.
int zy_confusion_svg(zy_strbuf *b, const zy_confusion *c, const char *const *labels,
                     const char *title);

typedef enum zy_report_style {
    // scikit-learn's classification_report (labels=None): rows only for classes seen as
    // gold or prediction, then "accuracy", "macro avg", "weighted avg"
    ZY_REPORT_SKLEARN,
    // seqeval's: a row per entity type, then "micro avg", "macro avg", "weighted avg"
    ZY_REPORT_SEQEVAL,
    // scikit-learn's for multi-label indicators: every label, then "micro avg",
    // "macro avg", "weighted avg" (its "samples avg" is not computed)
    ZY_REPORT_MULTILABEL,
} zy_report_style;

// The report for n classes named names[i] with scores per[i] and totals s, numbers with
// `digits` decimals (the tools' default is 2), laid out exactly as those tools print it
// (names right-aligned to the longest, in characters). Returns 0, or -1 on out of memory.
int zy_classification_report(zy_strbuf *b, const char *const *names, const zy_class_score *per,
                             int n, const zy_scores *s, zy_report_style style, int digits);

#endif
