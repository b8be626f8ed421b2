// zhuyi CTC decoding: turning a CTC model's per-frame outputs into label sequences, by
// the best path (greedy) or by prefix beam search. The loss that trains such a model is
// zy_ctc_forward / zy_ctc_backward in nn.h; this header has no model, no tokenizer (labels
// are ids: mapping them to text is the caller's) and no language model.
//
// Both decoders take logits (T, V) per sequence, batch-first (B, T, V) for greedy, as the
// loss does, and work on log_softmax(logits) computed in double (log-probabilities may be
// passed as they are: the log-softmax leaves them unchanged up to rounding). A label
// sequence is read off frames by merging repeats and then dropping blanks, so "a a - a"
// is "a a" (- the blank) and "a a a" is "a".
//
// Nothing here allocates: beam search works in caller scratch of
// zy_ctc_beam_scratch_size(T, V, beam) bytes.
#ifndef ZHUYI_CTC_H
#define ZHUYI_CTC_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- greedy (best path) -------------------------------------------------------------------
// logits (B, T, V), input_lengths (B) in [0, T] or NULL (all T) -> for each row b the
// argmax of every frame t < input_lengths[b] (ties to the lowest id), repeats merged,
// blanks dropped: labels (B, T) row b's first lengths[b] entries (the rest untouched);
// scores (B, may be NULL) = Σ_t max_v log_softmax(logits[b, t]), the log-probability of
// that best path (not of its label sequence, which other paths share). Errors
// (ZY_STATUS_INVALID_ARGUMENT, nothing written): B, T < 0, V < 1, blank outside [0, V), a
// length outside [0, T] (naming the row), NULL pointers.
zy_status zy_ctc_greedy(const float *logits, const int32_t *input_lengths, int B, int T,
                        int V, int blank, int32_t *labels, int32_t *lengths, float *scores);

// ---- prefix beam search -------------------------------------------------------------------
// The standard CTC prefix beam search (Hannun et al. 2014, without a language model), in
// log space. Each kept prefix carries two log-probabilities: pb, of the frames so far
// ending in a blank, and pnb, ending in its last label; its score is lse(pb, pnb), the
// log-probability of all frame paths so far that read as that prefix. Start: the empty
// prefix with pb = 0, pnb = -inf. At frame t, with lp = log_softmax(logits[t]), each kept
// prefix y (last label e, none for the empty prefix) gives:
//   y itself:  pb += lse(pb_y, pnb_y) + lp[blank];  pnb += pnb_y + lp[e]  (if y not empty)
//   y + c for every label c != blank:
//              pnb += (c == e ? pb_y : lse(pb_y, pnb_y)) + lp[c]
// where += is log-add into the candidate of that label sequence (a candidate reached from
// two kept prefixes, y + c being itself kept, sums both). The next kept set is the `beam`
// candidates of highest score; equal scores go to the shorter sequence, then the
// lexicographically smaller one; candidates of score -inf are dropped. No pruning of
// labels (every c is tried), no length bonus. After the last frame the kept prefixes are
// the n-best, best first.
//
// Beam width 1 is not the greedy decoder: it keeps the best prefix, which sums over the
// frame paths that read the same (greedy keeps the best path), so the two can differ.

// Bytes of scratch zy_ctc_beam_search needs (8-byte aligned memory; zy_alloc's is); 0 if
// the size overflows or an argument is out of range.
size_t zy_ctc_beam_scratch_size(int T, int V, int beam);

// logits (T, V) of one sequence -> *n_hyps (<= beam) hypotheses, best first: hypothesis k
// has lengths[k] labels at labels[k * T ...] (labels (beam, T)) and score scores[k]
// (lse(pb, pnb) at the last frame). T = 0 gives the empty sequence with score 0; a frame
// whose largest logit is not finite leaves no candidate (*n_hyps = 0). Errors
// (ZY_STATUS_INVALID_ARGUMENT, nothing written): T < 0, V < 1, blank outside [0, V),
// beam < 1, NULL pointers, scratch smaller than it must be (scratch_bytes).
zy_status zy_ctc_beam_search(const float *logits, int T, int V, int blank, int beam,
                             void *scratch, size_t scratch_bytes, int32_t *labels,
                             int32_t *lengths, float *scores, int *n_hyps);

#ifdef __cplusplus
}
#endif
#endif
