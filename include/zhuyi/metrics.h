// zhuyi evaluation metrics: what a fine-tuned model's predictions score against gold
// labels, computed the way the reference tools people compare with compute them:
// classification as scikit-learn (>= 1.3) does, entity-level tagging scores as seqeval's
// default (conlleval-style) mode, question answering as the official SQuAD v1.1
// evaluate script, machine translation (BLEU, chrF) as SacreBLEU 2.x's defaults, speech
// recognition (WER, CER) as jiwer's. docs/METRICS.md gives every definition with its
// reference; the header states each one exactly. Not a report writer: nothing here prints (the CLI renders
// tables and SVGs from these numbers).
//
// Conventions shared by every metric below:
// - A ratio whose denominator is 0 is 0 (scikit-learn's and seqeval's zero_division=0,
//   what their default "warn" returns, without the warning).
// - Averages of per-class values are summed in numpy's pairwise order (blocks of 8, split
//   at 128), so macro and weighted averages are bit-identical to numpy's mean/average.
// - Inputs are plain arrays the caller owns; outputs are written only on success.
//   Bad sizes, ids out of range, 0/1 matrices holding other values and NULL tags are
//   ZY_STATUS_INVALID_ARGUMENT (or ZY_STATUS_SHAPE_MISMATCH for lengths that disagree)
//   with zy_last_error() naming the index, and leave accumulators unchanged.
#ifndef ZHUYI_METRICS_H
#define ZHUYI_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- shared result types ----------------------------------------------------------------
typedef struct zy_prf {
    double precision, recall, f1;
} zy_prf;

// One class (label, entity type):
//   precision = tp / predicted, recall = tp / support (0 when the denominator is 0)
//   f1: classification and multi-label: 2 tp / (support + predicted) (scikit-learn >= 1.3);
//       entities: 2 p r / (p + r), 0 when p + r = 0 (seqeval computes it from p and r;
//       the two forms can differ in the last bit)
typedef struct zy_class_score {
    int64_t tp;        // predicted as this class and gold this class
    int64_t predicted; // predicted as this class
    int64_t support;   // gold this class
    double precision, recall, f1;
} zy_class_score;

// A whole evaluation. Averages over the classes that count (`classes`, see each function):
//   micro    = the zy_class_score rules applied to the summed tp / predicted / support
//   macro    = unweighted mean of the per-class values (0 when no class counts)
//   weighted = mean weighted by support; all 0 when the summed support is 0
typedef struct zy_scores {
    double accuracy;   // correct / n (0 when n = 0); what it counts depends on the function
    int64_t correct, n;
    zy_prf micro, macro, weighted;
    int64_t tp, predicted, support; // summed over the classes that count
    int classes;                    // classes in the macro and weighted averages
} zy_scores;

// ---- single-label classification: the confusion matrix ------------------------------------
// counts[g * K + p] = examples of gold class g predicted as p. Accumulates over any number
// of batches; scores are computed from the counts alone.
typedef struct zy_confusion zy_confusion;

// 1 <= num_classes <= 65536.
zy_status zy_confusion_create(zy_confusion **out, int num_classes);
void zy_confusion_free(zy_confusion *c);
// Count n (gold, predicted) pairs, ids in 0..K-1. A bad id (the message names its index
// and value) rejects the whole batch: nothing is counted.
zy_status zy_confusion_add(zy_confusion *c, const int *gold, const int *pred, size_t n);
int zy_confusion_classes(const zy_confusion *c);
int64_t zy_confusion_total(const zy_confusion *c);
// counts (K, K), row = gold, column = predicted.
const int64_t *zy_confusion_counts(const zy_confusion *c);

// scikit-learn's accuracy_score and precision_recall_fscore_support / classification_report
// with labels=None: per_class (K, may be NULL) gets every class; the averages count the
// classes that occur as gold or as prediction (`classes` of them; a class never seen has no
// row in scikit-learn's report). accuracy = trace / total. micro = accuracy for all three
// (every example is one prediction of one present class). ZY_STATUS_OUT_OF_MEMORY possible.
zy_status zy_confusion_scores(const zy_confusion *c, zy_class_score *per_class, zy_scores *out);

// ---- multi-label classification ------------------------------------------------------------
// gold, pred (n, L) of 0/1 bytes (anything else is an error naming row and label).
// per_label (L, may be NULL); averages over all L labels (scikit-learn's multilabel
// indicator case); accuracy is subset accuracy: rows whose L predictions all equal gold,
// over n. micro f1 = 2 TP / (support + predicted) summed over labels.
zy_status zy_multilabel_scores(const uint8_t *gold, const uint8_t *pred, size_t n, int num_labels,
                               zy_class_score *per_label, zy_scores *out);

// ---- regression ------------------------------------------------------------------------------
// Over n >= 1 pairs, in double from the float values (non-finite values are an error):
//   mse = Σ (p - g)² / n,  mae = Σ |p - g| / n  (sums in numpy's pairwise order)
//   pearson = Σ (g - ḡ)(p - p̄) / sqrt(Σ (g - ḡ)² · Σ (p - p̄)²)
//   spearman = pearson of the ranks, ties given their average rank (scipy's "average")
// pearson and spearman are NaN when either side is constant (n = 1 included), as scipy's.
typedef struct zy_regression_metrics {
    double mse, mae, pearson, spearman;
    int64_t n;
} zy_regression_metrics;

// ZY_STATUS_OUT_OF_MEMORY possible (ranks).
zy_status zy_regression_scores(const float *gold, const float *pred, size_t n,
                               zy_regression_metrics *out);

// ---- tagging: token accuracy and entity-level scores (seqeval, default mode) ---------------
// Tags are NUL-terminated UTF-8 strings, prefix style ("B-PER", "I-LOC", "O"). Each tag is
// split as seqeval does: its first character is the tag letter, the type is what follows
// the first '-' after it (the rest when there is no '-'), "_" when that is empty (so "O"
// has type "_", "B" alone is a "B" of type "_"). Chunks follow conlleval's rules, for the
// previous (tag, type) and this one, the first tag following an "O" of type "":
//   a chunk ends before this tag if the previous tag is E or S; or (B or I) followed by
//     B, S or O; or the previous tag is not O or '.' and the type changes;
//   a chunk starts here if the tag is B or S; or (E, S or O) followed by I or E; or the
//     tag is not O or '.' and the type changes.
// So I- without a B- starts an entity, a type change inside a run splits it, E-/S- close
// chunks, and an entity still open at the end of a sentence ends there. As in seqeval,
// sentences are one stream with an "O" between them (the start of a chunk is remembered
// across them in the odd cases where an end comes without a start, e.g. "O-X", "X-X").
// An entity is (type, first token, last token); a gold and a predicted entity match when
// all three are equal. Per type: tp, predicted and gold (support) entity counts; types
// are every type of a gold or predicted entity, sorted by their bytes (seqeval's sorted()).
typedef struct zy_entity_eval zy_entity_eval;

zy_status zy_entity_eval_create(zy_entity_eval **out);
void zy_entity_eval_free(zy_entity_eval *e);
// One sentence: its gold and predicted tags (n_gold must equal n_pred, else
// ZY_STATUS_SHAPE_MISMATCH naming the sentence). Empty tags and NULLs are errors naming
// the sentence and token. ZY_STATUS_OUT_OF_MEMORY possible (a new type's name).
zy_status zy_entity_eval_add(zy_entity_eval *e, const char *const *gold, size_t n_gold,
                             const char *const *pred, size_t n_pred);
int64_t zy_entity_eval_sentences(const zy_entity_eval *e);
// Entity types seen so far, sorted; the name of type i (0 <= i < types) stays valid until
// the accumulator is freed (an add that brings a new type shifts the indices after it).
int zy_entity_eval_types(const zy_entity_eval *e);
const char *zy_entity_eval_type(const zy_entity_eval *e, int i);
// per_type (types, may be NULL) in the sorted order; out: accuracy = token accuracy
// (tokens whose whole tag string equals gold, over all tokens: seqeval's accuracy_score),
// micro/macro/weighted over every type (seqeval's f1_score default is micro;
// classification_report prints all three). ZY_STATUS_OUT_OF_MEMORY possible.
zy_status zy_entity_eval_scores(const zy_entity_eval *e, zy_class_score *per_type,
                                zy_scores *out);

// The entities of one tag sequence as above (seqeval's get_entities on one sentence):
// type = type_len bytes at `type` (inside the tag string, or the static "_"), tokens
// start..end inclusive. out has room for n (a sequence of n tags has at most n entities).
typedef struct zy_entity {
    const char *type;
    size_t type_len;
    size_t start, end;
} zy_entity;

zy_status zy_tags_entities(const char *const *tags, size_t n, zy_entity *out, size_t *count);

// ---- extractive question answering (SQuAD v1.1) ---------------------------------------------
// The official evaluate-v1.1.py rules. normalize(s): Python's str.lower() (simple Unicode
// lower-case mapping, U+0130 to "i̇" and final sigma, as Python does), remove every ASCII
// punctuation character (string.punctuation), replace the words a, an, the by a space
// (re's \b: word characters are Unicode letters and numbers and '_'), then split at
// Python's str.split() whitespace and join with single spaces. A byte that is not UTF-8
// stays as it is and is no word character.
//   exact   = normalize(pred) == normalize(gold)
//   f1      = 0 if the normalised token bags share no token, else with
//             common = size of the multiset intersection, p = common / |pred tokens|,
//             r = common / |gold tokens|: 2 p r / (p + r)
// (so an empty prediction against an article-only answer has exact 1 and f1 0, as in the
// script). Against several gold answers each is the maximum over them.
// Normalised answer into a zy_alloc'd, NUL-terminated *out (free with zy_free).
zy_status zy_squad_normalize(const char *s, char **out, size_t *out_len);
// One question: pred against n_gold >= 1 answers (all NUL-terminated UTF-8).
// ZY_STATUS_OUT_OF_MEMORY possible.
zy_status zy_squad_score(const char *pred, const char *const *gold, size_t n_gold, int *exact,
                         double *f1);

// Dataset totals as the script prints them: exact_match = 100 · Σ exact / total and
// f1 = 100 · Σ f1 / total (Σ in question order), where a question without a prediction
// (pred NULL) counts in total with 0 (the script warns and goes on). Zeroed by the caller
// (= {0}); nothing to free.
typedef struct zy_squad_totals {
    int64_t total, answered, exact;
    double f1_sum;
} zy_squad_totals;

zy_status zy_squad_add(zy_squad_totals *t, const char *pred, const char *const *gold,
                       size_t n_gold);
// 100 · Σ exact / total, 100 · Σ f1 / total (0 when total is 0).
double zy_squad_exact_match(const zy_squad_totals *t);
double zy_squad_f1(const zy_squad_totals *t);

// ---- machine translation: BLEU and chrF (SacreBLEU 2.x defaults) ---------------------------
// Corpus-level scores as SacreBLEU 2.x computes them with its defaults (docs/METRICS.md
// states every rule). Inputs: n hypotheses hyps[i] and n_refs reference streams, refs[r][i]
// being reference r of segment i; refs[r][i] may be NULL (no reference r for segment i,
// sacrebleu's None) but every segment needs at least one. Strings are NUL-terminated UTF-8;
// text that is not valid UTF-8 (sacrebleu reads files as strict UTF-8 and works on Python
// str) is ZY_STATUS_INVALID_ARGUMENT naming the hypothesis or reference and the byte.
// n = 0 is allowed (scores 0). ZY_STATUS_OUT_OF_MEMORY possible. Nothing to free.

// BLEU: the 13a tokenizer (below), n-grams of 1..4 tokens, hypothesis n-gram counts clipped
// by the maximum count in any one reference, brevity penalty against the reference length
// closest to each hypothesis length (ties: the shorter), 'exp' smoothing, effective order
// off. Percentages as sacrebleu's BLEUScore: score and precisions in [0, 100].
typedef struct zy_bleu_score {
    double score;          // bp · exp(Σ log(precision_n) / 4), log(0) = -9999999999
    double precisions[4];  // 100 · counts / totals; 'exp' smoothing for zero counts
    int64_t counts[4];     // clipped n-gram matches of order n + 1, summed over segments
    int64_t totals[4];     // hypothesis n-grams of order n + 1
    double bp;             // 1 if sys_len >= ref_len, else exp(1 - ref_len / sys_len), 0 if sys_len = 0
    double ratio;          // sys_len / ref_len (0 when ref_len = 0)
    int64_t sys_len;       // hypothesis tokens
    int64_t ref_len;       // the closest reference length of every segment, summed
    int nrefs;             // references per segment; -1 when it varies (signature "var")
} zy_bleu_score;

zy_status zy_bleu_corpus(const char *const *hyps, size_t n, const char *const *const *refs,
                         size_t n_refs, zy_bleu_score *out);

// SacreBLEU's tokenizer '13a' (mteval-v13a) on one segment, as BLEU applies it (after
// sacrebleu's rstrip): tokens joined by single spaces into a zy_alloc'd, NUL-terminated
// *out (free with zy_free). Invalid UTF-8 is ZY_STATUS_INVALID_ARGUMENT.
zy_status zy_bleu_tokenize_13a(const char *s, char **out, size_t *out_len);

// chrF (Popović 2015) as sacrebleu's CHRF defaults: character n-grams of 1..6 code points
// of the text with all whitespace removed, no word n-grams, β = 2, effective-order
// averaging (eps_smoothing=False, signature "eff:yes"): per segment the reference with the
// best chrF (the first of equals) gives the statistics, which are summed over the corpus;
// the score is F_β of the precision and recall averaged over the orders where both the
// hypothesis and the reference have n-grams.
typedef struct zy_chrf_score {
    double score;         // 0..100
    int64_t hyp[6];       // hypothesis character n-grams of order n + 1 (0 for a segment
                          // whose chosen reference has none of that order)
    int64_t ref[6];       // reference character n-grams of order n + 1
    int64_t match[6];     // matches, Σ min(hypothesis count, reference count)
    int nrefs;            // as in zy_bleu_score
} zy_chrf_score;

zy_status zy_chrf_corpus(const char *const *hyps, size_t n, const char *const *const *refs,
                         size_t n_refs, zy_chrf_score *out);

// The reproducibility signature, sacrebleu 2.x's layout with zhuyi's version:
//   BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:zhuyi-0.1.0
//   chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:zhuyi-0.1.0
// written like snprintf into buf (cap bytes, may be 0): returns the length it needs.
int zy_bleu_signature(const zy_bleu_score *s, char *buf, size_t cap);
int zy_chrf_signature(const zy_chrf_score *s, char *buf, size_t cap);

// ---- speech recognition: word and character error rates (jiwer) ---------------------------
// Corpus-level, as jiwer's wer / cer (process_words / process_characters with their
// default transforms) compute them: per segment the Levenshtein alignment of the
// reference's tokens with the hypothesis' tokens, the counts summed over the corpus, then
//   rate = (substitutions + deletions + insertions) / max(1, ref_len)
// (total edits over total reference tokens, not a mean of per-segment rates). Tokens:
// - words (wer): runs of two or more whitespace characters become one space, the ends
//   are stripped, then the text is split at U+0020 (jiwer's RemoveMultipleSpaces, Strip,
//   ReduceToListOfListOfWords). So one tab or no-break space between two words does not
//   split them ("a\tb" is one word), as in jiwer; whitespace is Python's str.isspace().
// - characters (cer): the ends stripped, then every code point, inner spaces included
//   (jiwer's Strip, ReduceToListOfListOfChars).
// Tokens are equal when their code points are. An empty reference (no tokens) adds its
// hypothesis' tokens as insertions and nothing to ref_len; a corpus whose references are
// all empty has rate = insertions (jiwer 4's rule; jiwer 3 refuses empty references).
// Several alignments can have the fewest edits; the counts are those of the one with the
// most hits (so the fewest substitutions), which fixes every count (jiwer's come from
// rapidfuzz's backtrace and may split an equal total differently).
// Inputs: n hypotheses and n references, NUL-terminated UTF-8 (anything else, or a NULL,
// is ZY_STATUS_INVALID_ARGUMENT naming the segment and byte). n = 0 gives all zeros.
// ZY_STATUS_OUT_OF_MEMORY possible. The counts of separate calls add up (and give the
// rate of the joined corpus by the formula above).
typedef struct zy_error_rate {
    double rate;
    int64_t hits, substitutions, deletions, insertions;
    int64_t ref_len, hyp_len; // tokens: hits + substitutions + deletions, hits + subst. + ins.
} zy_error_rate;

zy_status zy_wer_corpus(const char *const *hyps, const char *const *refs, size_t n,
                        zy_error_rate *out);
zy_status zy_cer_corpus(const char *const *hyps, const char *const *refs, size_t n,
                        zy_error_rate *out);

#ifdef __cplusplus
}
#endif
#endif
