// Token + position embedding lookup (GPT-2 style wte/wpe) forward and backward.
// Forward is the one place token ids enter the model, so it validates them all before
// writing anything; backward trusts them. Not a general gather/scatter.
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"

// Columns per backward block. A block is owned by one thread, which visits every (b, t)
// in order: repeated tokens accumulate in a fixed order with no races, so dwte is
// bit-identical at any thread count. 64 floats = one 256-byte run per row touched.
// (Repeated ids add into dwte one by one, so backward twice is 2x only up to rounding;
// exact would need scratch to pre-sum by id, and nothing here allocates.)
#define EMB_COL_BLOCK 64
#define EMB_PAR_MIN (1 << 15)

// Rows per forward chunk (about 16K elements; rows are independent).
#define EMB_CHUNK_ELEMS 16384

typedef struct emb_job {
    float *out, *dwte, *dwpe;
    const float *wte, *wpe, *dout;
    const int *tokens;
    int B, T, C;
    size_t rows, wte_items;
} emb_job;

static void forward_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const emb_job *j = ctx;
    const int C = j->C;
    for (size_t r = r0; r < r1; r++) {
        float *o = j->out + r * C;
        const float *e = j->wte + (size_t)j->tokens[r] * C;
        if (j->wpe) {
            const float *p = j->wpe + (r % (size_t)j->T) * C;
            for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
        } else {
            for (int c = 0; c < C; c++) o[c] = e[c];
        }
    }
}

// tokens (B, T) in [0, V), wte (V, C), wpe (maxT >= T, C) or NULL -> out (B, T, C)
zy_status zy_embedding_forward(float *out, const int *tokens, const float *wte,
                               const float *wpe, int B, int T, int C, int V) {
    // Check every id first so a bad batch leaves out untouched.
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int id = tokens[(size_t)b * T + t];
            if (id < 0 || id >= V)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "embedding: token id %d at (b=%d, t=%d) is outside [0, %d)",
                                 id, b, t, V);
        }
    emb_job j = {.out = out, .tokens = tokens, .wte = wte, .wpe = wpe, .T = T, .C = C};
    size_t rows = (size_t)B * T;
    if ((long long)rows * C < EMB_PAR_MIN) forward_rows(&j, 0, rows, 0);
    else zy__parallel(rows, (size_t)ZY_MAX(1, EMB_CHUNK_ELEMS / C), 0, forward_rows, &j);
    return ZY_STATUS_OK;
}

// Column block blk of dwte: every (b, t) in order, so repeated tokens add in a fixed order.
static void dwte_block(const emb_job *j, int blk) {
    const int C = j->C, c0 = blk * EMB_COL_BLOCK, nc = ZY_MIN(EMB_COL_BLOCK, C - c0);
    for (size_t r = 0; r < j->rows; r++) {
        const float *d = j->dout + r * C + c0;
        float *g = j->dwte + (size_t)j->tokens[r] * C + c0;
        for (int c = 0; c < nc; c++) g[c] += d[c];
    }
}

// Position t of dwpe: per column block, Σ_b dout[b, t] in order in double, added once:
// deterministic, and exactly additive across calls.
static void dwpe_position(const emb_job *j, int t) {
    const int C = j->C, T = j->T;
    for (int c0 = 0; c0 < C; c0 += EMB_COL_BLOCK) {
        const int nc = ZY_MIN(EMB_COL_BLOCK, C - c0);
        double acc[EMB_COL_BLOCK] = {0};
        for (int b = 0; b < j->B; b++) {
            const float *d = j->dout + ((size_t)b * T + t) * C + c0;
            for (int c = 0; c < nc; c++) acc[c] += d[c];
        }
        float *g = j->dwpe + (size_t)t * C + c0;
        for (int c = 0; c < nc; c++) g[c] += (float)acc[c];
    }
}

// One parallel region for both gradients (different buffers): items [0, wte_items) are
// dwte column blocks, the rest dwpe positions.
static void backward_items(void *ctx, size_t i0, size_t i1, int thread) {
    (void)thread;
    const emb_job *j = ctx;
    for (size_t i = i0; i < i1; i++) {
        if (i < j->wte_items) dwte_block(j, (int)i);
        else dwpe_position(j, (int)(i - j->wte_items));
    }
}

// dout (B, T, C), tokens (B, T) -> dwte (V, C) += scatter by token,
// dwpe (maxT, C) += Σ_b dout[b, t]
void zy_embedding_backward(float *dwte, float *dwpe, const float *dout, const int *tokens,
                           int B, int T, int C) {
    if (B <= 0 || T <= 0 || C <= 0) return;
    emb_job j = {.dwte = dwte, .dwpe = dwpe, .dout = dout, .tokens = tokens, .B = B, .T = T,
                 .C = C, .rows = (size_t)B * T};
    j.wte_items = dwte ? (size_t)(C + EMB_COL_BLOCK - 1) / EMB_COL_BLOCK : 0;
    size_t items = j.wte_items + (dwpe ? (size_t)T : 0);
    int par = (long long)j.rows * C >= EMB_PAR_MIN;
    zy__parallel(items, 1, par ? 0 : 1, backward_items, &j);
}
