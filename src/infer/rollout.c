// Attention rollout (attention.h): the product of the layers' head-averaged attention
// with the identity mixed in, for one query row, as a row vector times each layer from the
// top down (O(L·H·T²), two vectors of scratch, no T x T product).
#include "core/internal.h"
#include "zhuyi/attention.h"

zy_status zy_attention_rollout(float *out, const float *const *attn, int L, int H, int T,
                               int query) {
    if (!out || !attn || L < 1 || H < 1 || T < 1 || query < 0 || query >= T)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "attention rollout: %d layers, %d heads, "
                         "%d positions, query %d", L, H, T, query);
    double *v = zy_alloc(2 * (size_t)T * sizeof *v);
    if (!v) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "attention rollout: out of memory");
    double *w = v + T;
    for (int j = 0; j < T; j++) v[j] = j == query;
    // v <- v · Ã_l for l = L-1 .. 0: w[k] = Σ_j v[j] (mean_h A_l[h][j][k] + [j == k]) / 2
    for (int l = L - 1; l >= 0; l--) {
        for (int k = 0; k < T; k++) w[k] = 0.5 * v[k];
        for (int h = 0; h < H; h++)
            for (int j = 0; j < T; j++) {
                double vj = 0.5 * v[j] / H;
                if (vj == 0) continue;
                const float *row = attn[l] + ((size_t)h * T + j) * T;
                for (int k = 0; k < T; k++) w[k] += vj * row[k];
            }
        for (int k = 0; k < T; k++) v[k] = w[k];
    }
    for (int k = 0; k < T; k++) out[k] = (float)v[k];
    zy_free(v);
    return ZY_STATUS_OK;
}
