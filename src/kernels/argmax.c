// The argmax of a row (argmax.h): its largest value found 16 lanes at a time (a maximum
// does not depend on the order it is taken in), then the first index holding it.
#include <math.h>
#include <stddef.h>

#include "kernels/argmax.h"

#define LANES 16

int zy__argmax(const float *x, int n) {
    if (isnan(x[0])) return 0; // nothing compares greater than it
    float m[LANES];
    for (int k = 0; k < LANES; k++) m[k] = x[0];
    int v = 0;
    for (; v + LANES <= n; v += LANES) // shaped for one vector max per LANES values
        for (int k = 0; k < LANES; k++) m[k] = x[v + k] > m[k] ? x[v + k] : m[k];
    float best = x[0];
    for (; v < n; v++) best = x[v] > best ? x[v] : best;
    for (int k = 0; k < LANES; k++) best = m[k] > best ? m[k] : best;
    int i = 0;
    while (!(x[i] == best)) i++; // best is one of x's values, and not NaN
    return i;
}

int zy__argmax_hits(const float *logits, const int *targets, int R, int K) {
    int hits = 0;
    for (int r = 0; r < R; r++)
        if (targets[r] >= 0) hits += zy__argmax(logits + (size_t)r * K, K) == targets[r];
    return hits;
}
