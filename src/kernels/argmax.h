// Private to the library: the index of a row's largest value, as the loop
//   best = 0; for (v = 1; v < n; v++) if (x[v] > x[best]) best = v;
// finds it (the first maximum; NaN never wins, except x[0] kept when every later value
// fails the comparison with it), without that loop's chain of dependent compares.
#ifndef ZHUYI_KERNELS_ARGMAX_H
#define ZHUYI_KERNELS_ARGMAX_H

// x[0..n), n >= 1.
int zy__argmax(const float *x, int n);

// Rows r < R with targets[r] >= 0 whose logits (R, K) are largest at the target.
int zy__argmax_hits(const float *logits, const int *targets, int R, int K);

#endif
