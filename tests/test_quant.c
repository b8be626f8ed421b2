// Tests of the weight formats (include/zhuyi/quant.h, src/kernels/quant.c) and of the
// typed-weight GEMVs (src/kernels/wgemv*.c, private): the round-trip properties of
// quantize/dequantize, GGUF's block bytes, and every kernel against its scalar reference
// at odd sizes (row, input and k tails) on every SIMD path this CPU has (the others
// reported as skipped), at 1 and 2 threads.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/gemm_bias.h"
#include "kernels/wgemv.h"
#include "zhuyi/core.h"
#include "zhuyi/gemm.h"
#include "zhuyi/io.h"
#include "zhuyi/quant.h"

static const zy_wtype TYPES[] = {ZY_WTYPE_F32, ZY_WTYPE_F16, ZY_WTYPE_BF16, ZY_WTYPE_Q8_0,
                                 ZY_WTYPE_Q4_0};
enum { NTYPES = 5 };

static bool is_block(zy_wtype t) { return t == ZY_WTYPE_Q8_0 || t == ZY_WTYPE_Q4_0; }

TEST(quant_names_sizes) {
    for (int i = 0; i < NTYPES; i++) {
        zy_wtype t;
        CHECK(zy_wtype_parse(zy_wtype_name(TYPES[i]), &t) == ZY_STATUS_OK && t == TYPES[i]);
    }
    zy_wtype t;
    CHECK(zy_wtype_parse("Q8_0", &t) == ZY_STATUS_OK && t == ZY_WTYPE_Q8_0);
    CHECK(zy_wtype_parse("q5_1", &t) == ZY_STATUS_NOT_FOUND);
    CHECK(zy_wtype_name(ZY_WTYPE_COUNT) == NULL);
    CHECK(zy_wtype_row_bytes(ZY_WTYPE_F32, 7) == 28);
    CHECK(zy_wtype_row_bytes(ZY_WTYPE_BF16, 7) == 14);
    CHECK(zy_wtype_row_bytes(ZY_WTYPE_Q8_0, 768) == 24 * 34);
    CHECK(zy_wtype_row_bytes(ZY_WTYPE_Q4_0, 768) == 24 * 18);
    CHECK(zy_wtype_row_bytes(ZY_WTYPE_Q4_0, 33) == 0); // not whole blocks
}

// Blocks of varied character: ordinary values, a zero block, one whose largest magnitude
// is negative, tiny values, a single spike, equal values.
static void fill_blocks(float *x, int n, uint64_t seed) {
    zt_fill_uniform(x, (size_t)n, seed, -1, 1);
    for (int b = 0; b < n / 32; b++) {
        float *v = x + 32 * b;
        switch (b % 6) {
        case 1: memset(v, 0, 32 * sizeof *v); break;
        case 2: v[5] = -3.0f; break;
        case 3: for (int i = 0; i < 32; i++) v[i] *= 1e-3f; break;
        case 4: memset(v, 0, 32 * sizeof *v), v[31] = 2.5f; break;
        case 5: for (int i = 0; i < 32; i++) v[i] = 0.75f; break;
        }
    }
}

// dequantize(quantize(x)) is within the format's rounding of x, and quantizing the
// dequantized values gives the same bytes again (what lets a model keep fp32 weights equal
// to its typed copy, and a GGUF file's blocks load and re-quantize unchanged).
TEST(quant_round_trip) {
    enum { N = 32 * 60 };
    float *x = zt_floats(N), *y = zt_floats(N);
    uint8_t *q = zt_malloc(4 * N), *q2 = zt_malloc(4 * N);
    fill_blocks(x, N, 7);
    for (int i = 0; i < NTYPES; i++) {
        zy_wtype t = TYPES[i];
        size_t bytes = zy_wtype_row_bytes(t, N);
        zy_quantize_row(t, x, q, N);
        zy_dequantize_row(t, q, y, N);
        double worst = 0; // |x - y| over the bound, <= 1
        for (int b = 0; b < N / 32; b++) {
            float amax = 0;
            for (int k = 0; k < 32; k++) amax = fmaxf(amax, fabsf(x[32 * b + k]));
            for (int k = 0; k < 32; k++) {
                float v = x[32 * b + k], e = fabsf(v - y[32 * b + k]);
                double bound;
                switch (t) {
                case ZY_WTYPE_F32: bound = 0; break;
                case ZY_WTYPE_F16: bound = fabsf(v) * 0x1p-11 + 0x1p-25; break;
                case ZY_WTYPE_BF16: bound = fabsf(v) * 0x1p-8; break;
                // half a step of d = amax/127, plus d's own rounding to f16 (relative 2^-11,
                // or 2^-25 among f16's subnormals) times |q| <= 127
                case ZY_WTYPE_Q8_0:
                    bound = amax / 127 * 0.5 + 127 * fmax(amax / 127 * 0x1p-11, 0x1p-25) + 1e-12;
                    break;
                // d = amax/8: half a step, but -max (nibble 16, clamped to 15) one step
                default: bound = amax / 8 + 8 * fmax(amax / 8 * 0x1p-11, 0x1p-25) + 1e-12; break;
                }
                worst = fmax(worst, bound > 0 ? e / bound : e * 1e30);
            }
        }
        zt_note("%s: worst |x - deq(q(x))| = %.3g of the bound", zy_wtype_name(t), worst);
        CHECK(worst <= 1.0);
        zy_quantize_row(t, y, q2, N);
        CHECK(!memcmp(q, q2, bytes));
    }
    free(x), free(y), free(q), free(q2);
}

// GGUF's bytes for known blocks: x = 0..31 as Q8_0 (d = 31/127 as f16, q = round(x/d)),
// and as Q4_0 (max 31 is positive: d = -31/8, x = 31 -> nibble 0, x = 0 -> 8).
TEST(quant_gguf_block_bytes) {
    float x[32];
    for (int i = 0; i < 32; i++) x[i] = (float)i;
    uint8_t b[34];
    zy_quantize_row(ZY_WTYPE_Q8_0, x, b, 32);
    CHECK((b[0] | b[1] << 8) == zy_f32_to_f16(31.0f / 127.0f));
    CHECK(b[2] == 0 && b[33] == 127);
    CHECK((int8_t)b[2 + 16] == (int)roundf(16.0f * 127.0f / 31.0f));
    zy_quantize_row(ZY_WTYPE_Q4_0, x, b, 32);
    CHECK((b[0] | b[1] << 8) == zy_f32_to_f16(-31.0f / 8.0f));
    CHECK((b[2] & 0x0F) == 8);       // x[0] = 0
    CHECK((b[2 + 15] >> 4) == 0);    // x[31] = 31 = -8 d
    float y[32];
    zy_dequantize_row(ZY_WTYPE_Q4_0, b, y, 32);
    CHECK(y[0] == 0.0f);
    CHECK(fabsf(y[31] - 31.0f) < 31.0f * 0x1p-10);
}

// A typed copy of W (N, K) fp32 in type t (malloc'd bytes in *buf).
static zy_wmatrix make_w(zy_wtype t, const float *W, int N, int K, uint8_t **buf) {
    size_t rb = zy_wtype_row_bytes(t, (size_t)K);
    *buf = zt_malloc(rb * (size_t)N + 1);
    for (int r = 0; r < N; r++) zy_quantize_row(t, W + (size_t)r * K, *buf + rb * r, (size_t)K);
    return (zy_wmatrix){.type = t, .rows = N, .cols = K, .row_bytes = rb, .data = *buf};
}

// Σ_k |w_rk x_mk| for every (m, r), the scale a sum's rounding is judged against.
static void abs_sums(double *S, const zy_wmatrix *W, const float *X, int ldx, int M) {
    float *w = zt_floats((size_t)W->cols);
    for (int r = 0; r < W->rows; r++) {
        zy_dequantize_row(W->type, (const uint8_t *)W->data + W->row_bytes * r, w,
                          (size_t)W->cols);
        for (int m = 0; m < M; m++) {
            double s = 0;
            for (int k = 0; k < W->cols; k++) s += fabs((double)w[k] * X[(size_t)m * ldx + k]);
            S[(size_t)m * W->rows + r] = s;
        }
    }
    free(w);
}

// fp32 arithmetic: zy__wgemv at each SIMD level against zy__wgemv_rows_ref. The sums
// differ only in order: |y - ref| <= 1e-5 Σ|w x| + 1e-6 (a wrong or missing term is off
// by about Σ|w x| / K, far more at these K).
TEST(wgemv_fp32_matches_reference) {
    const int Ns[] = {1, 3, 4, 5, 67}, Ms[] = {1, 2, 3, 4, 5, 9};
    const int Kq[] = {32, 64, 96, 800}, Kh[] = {1, 7, 16, 17, 33, 47, 800};
    const int ldx = 820, ldy = 80;
    float *Wf = zt_floats((size_t)67 * 800), *X = zt_floats((size_t)9 * ldx);
    float *b = zt_floats(67), *Y = zt_floats((size_t)9 * ldy), *R = zt_floats((size_t)9 * ldy);
    double *S = zt_malloc(sizeof(double) * 9 * 67);
    fill_blocks(Wf, 67 * 800, 1);
    zt_fill_uniform(X, (size_t)9 * ldx, 2, -1, 1);
    zt_fill_uniform(b, 67, 3, -1, 1);
    zy_quant_arith saved = zy_quant_arith_get();
    zy_quant_arith_set(ZY_QUANT_ARITH_FP32);
    for (int level = ZY_SIMD_SCALAR; level <= ZY_SIMD_AVX512; level++) {
        if (!zt_use_simd(level)) continue;
        double worst = 0;
        int cases = 0;
        for (int ti = 0; ti < NTYPES; ti++) {
            zy_wtype t = TYPES[ti];
            const int *Ks = is_block(t) ? Kq : Kh;
            int nk = is_block(t) ? 4 : 7;
            for (int ki = 0; ki < nk; ki++)
                for (int ni = 0; ni < 5; ni++) {
                    int K = Ks[ki], N = Ns[ni];
                    uint8_t *buf;
                    // rows of W taken K apart from the one fp32 array
                    zy_wmatrix W = make_w(t, Wf, N, K, &buf);
                    for (int mi = 0; mi < 6; mi++) {
                        int M = Ms[mi];
                        const float *bias = (ki + mi) % 2 ? b : NULL;
                        zy__wgemv_rows_ref(R, ldy, &W, X, ldx, bias, M, 0, N);
                        zy__wgemv(Y, ldy, &W, X, ldx, bias, M);
                        abs_sums(S, &W, X, ldx, M);
                        for (int m = 0; m < M; m++)
                            for (int r = 0; r < N; r++) {
                                double e = fabs((double)Y[m * ldy + r] - R[m * ldy + r]);
                                worst = fmax(worst, e / (1e-5 * S[m * N + r] + 1e-6));
                            }
                        cases++;
                    }
                    free(buf);
                }
        }
        zt_note("%s: %d cases, worst |y - ref| = %.3g of the tolerance",
                zy_simd_name((zy_simd)level), cases, worst);
        CHECK(worst <= 1.0);
    }
    zy_quant_arith_set(saved);
    free(Wf), free(X), free(b), free(Y), free(R), free(S);
}

// int8 activations: each kernel family this CPU can run (its own input layout, prepared
// from the same x) against the reference zy__q8_ref. The rounding of x is the same in
// every family, so only the float sums' order differs: judged against Σ|w x| as above.
// And the int8 product within x's rounding of the fp32 one: |int8 - fp32| <=
// Σ_k |w_k| d_x(k) / 2 (+ the sums' rounding).
typedef struct q8_path {
    const zy__q8_kernel *k;
    int level;
    unsigned need;
} q8_path;

// Y (M rows ldy apart) = kernel k on W against X (M, K), inputs prepared in buf.
static void run_q8(const zy__q8_kernel *k, float *Y, int ldy, const zy_wmatrix *W,
                   const float *X, const float *b, int M, uint8_t *buf) {
    size_t per = (k->bytes(W->cols) + 63) & ~(size_t)63;
    for (int m = 0; m < M; m++) k->prep(buf + per * m, W->type, X + (size_t)m * W->cols, W->cols);
    k->rows(Y, ldy, W, buf, per, b, M, 0, W->rows);
}

TEST(wgemv_int8_matches_reference) {
    const q8_path paths[] = {
        {&zy__q8_avx2, ZY_SIMD_AVX2, ZY_CPU_F16C},
        {&zy__q8_avxvnni, ZY_SIMD_AVX2, ZY_CPU_F16C | ZY_CPU_AVXVNNI},
        {&zy__q8_avx512vnni, ZY_SIMD_AVX512, ZY_CPU_AVX512VNNI},
    };
    const int Ns[] = {1, 3, 4, 5, 67}, Ms[] = {1, 2, 3, 5}, Ks[] = {32, 64, 96, 800, 544};
    const int ldy = 80;
    float *Wf = zt_floats((size_t)67 * 800), *X = zt_floats((size_t)5 * 800);
    float *b = zt_floats(67), *Y = zt_floats((size_t)5 * ldy), *R = zt_floats((size_t)5 * ldy);
    float *F = zt_floats((size_t)5 * ldy);
    uint8_t *buf = zt_malloc(5 * 4 * 800);
    double *S = zt_malloc(sizeof(double) * 5 * 67);
    fill_blocks(Wf, 67 * 800, 4);
    zt_fill_uniform(X, (size_t)5 * 800, 5, -1, 1);
    zt_fill_uniform(b, 67, 6, -1, 1);
    double worst_fp32 = 0;
    // the reference against fp32 arithmetic, and the driver at the scalar level (the
    // reference itself)
    zy_quant_arith saved = zy_quant_arith_get();
    if (zt_use_simd(ZY_SIMD_SCALAR)) {
        for (int ti = 3; ti < NTYPES; ti++)
            for (int ki = 0; ki < 5; ki++) {
                int K = Ks[ki], N = 67, M = 5;
                uint8_t *wbuf;
                zy_wmatrix W = make_w(TYPES[ti], Wf, N, K, &wbuf);
                run_q8(&zy__q8_ref, R, ldy, &W, X, b, M, buf);
                zy_quant_arith_set(ZY_QUANT_ARITH_INT8);
                zy__wgemv(Y, ldy, &W, X, K, b, M);
                CHECK(!memcmp(Y, R, sizeof(float) * ((M - 1) * ldy + N)));
                zy_quant_arith_set(ZY_QUANT_ARITH_FP32);
                zy__wgemv(F, ldy, &W, X, K, b, M);
                abs_sums(S, &W, X, K, M);
                float *w = zt_floats((size_t)K), *xd = zt_floats((size_t)K / 32);
                int8_t *xq = zt_malloc((size_t)K);
                for (int m = 0; m < M; m++) {
                    zy__wgemv_quantize_x(xq, xd, X + (size_t)m * K, K);
                    for (int r = 0; r < N; r++) {
                        zy_dequantize_row(W.type, wbuf + W.row_bytes * r, w, (size_t)K);
                        double bound = 1e-5 * S[m * N + r] + 1e-6;
                        for (int k = 0; k < K; k++) bound += 0.5 * fabs(w[k]) * xd[k / 32];
                        double e = fabs((double)R[m * ldy + r] - F[m * ldy + r]);
                        worst_fp32 = fmax(worst_fp32, e / bound);
                    }
                }
                free(w), free(xd), free(xq), free(wbuf);
            }
        zt_note("int8 against fp32 arithmetic: worst |diff| = %.3g of x's rounding", worst_fp32);
        CHECK(worst_fp32 <= 1.0);
    }
    for (int p = 0; p < 3; p++) {
        if (!zt_use_simd(paths[p].level)) continue;
        if ((zy_cpu_features() & paths[p].need) != paths[p].need) {
            zt_skip("%s: this CPU lacks it", paths[p].k->name);
            continue;
        }
        double worst = 0;
        for (int ti = 3; ti < NTYPES; ti++)
            for (int ki = 0; ki < 5; ki++)
                for (int ni = 0; ni < 5; ni++) {
                    int K = Ks[ki], N = Ns[ni];
                    uint8_t *wbuf;
                    zy_wmatrix W = make_w(TYPES[ti], Wf, N, K, &wbuf);
                    for (int mi = 0; mi < 4; mi++) {
                        int M = Ms[mi];
                        const float *bias = (ki + mi) % 2 ? b : NULL;
                        run_q8(&zy__q8_ref, R, ldy, &W, X, bias, M, buf);
                        run_q8(paths[p].k, Y, ldy, &W, X, bias, M, buf);
                        abs_sums(S, &W, X, K, M);
                        for (int m = 0; m < M; m++)
                            for (int r = 0; r < N; r++) {
                                double e = fabs((double)Y[m * ldy + r] - R[m * ldy + r]);
                                worst = fmax(worst, e / (1e-5 * S[m * N + r] + 1e-6));
                            }
                    }
                    free(wbuf);
                }
        zt_note("%s: worst |y - ref| = %.3g of the tolerance", paths[p].k->name, worst);
        CHECK(worst <= 1.0);
    }
    zy_quant_arith_set(saved);
    free(Wf), free(X), free(b), free(Y), free(R), free(F), free(buf), free(S);
}

// Every family rounds x to the same bytes and scales as zy__wgemv_quantize_x (the
// AVX-512 family's layout for Q8_0 weights: pairs of blocks in order, then each pair's
// corrections, then its lane scales, block 2p's in lane 0 and 2p + 1's in lane 8).
TEST(wgemv_int8_rounding_same) {
    enum { K = 800 };
    float *x = zt_floats(K), d[K / 32], d2[K / 32];
    int8_t q[K];
    uint8_t buf[13 * 192];
    zt_fill_uniform(x, K, 11, -3, 3);
    for (int i = 0; i < K; i += 37) x[i] = 0.5f * (float)(i % 7); // halves: ties
    memset(x + 64, 0, 32 * sizeof *x);                           // a zero block
    zy__wgemv_quantize_x(q, d, x, K);
    const zy__q8_kernel *ks[2] = {&zy__q8_avx2, &zy__q8_avxvnni};
    const unsigned need[2] = {ZY_CPU_F16C, ZY_CPU_F16C | ZY_CPU_AVXVNNI};
    for (int k = 0; k < 2; k++) {
        if (!zt_use_simd(ZY_SIMD_AVX2)) break;
        if ((zy_cpu_features() & need[k]) != need[k]) {
            zt_skip("%s: this CPU lacks it", ks[k]->name);
            continue;
        }
        ks[k]->prep(buf, ZY_WTYPE_Q8_0, x, K);
        memcpy(d2, buf + K, sizeof d2);
        CHECK(!memcmp(buf, q, K));
        CHECK(!memcmp(d2, d, sizeof d));
    }
    if (zt_use_simd(ZY_SIMD_AVX512) && !(zy_cpu_features() & ZY_CPU_AVX512VNNI))
        zt_skip("avx512-vnni: this CPU lacks it");
    else if (zy_simd_level() == ZY_SIMD_AVX512) {
        zy__q8_avx512vnni.prep(buf, ZY_WTYPE_Q8_0, x, K); // 13 pairs, the last one block
        CHECK(!memcmp(buf, q, K));
        const float *lanes = (const float *)(const void *)(buf + 128 * 13);
        for (int j = 0; j < K / 32; j++) CHECK(lanes[16 * (j / 2) + 8 * (j % 2)] == d[j]);
    }
    free(x);
}

// Rows split over threads: 1 and 2 threads give the same bits, in both arithmetics.
TEST(wgemv_threads_same_bits) {
    const int N = 2304, K = 768, M = 3;
    float *Wf = zt_floats((size_t)N * K), *X = zt_floats((size_t)M * K);
    float *Y1 = zt_floats((size_t)M * N), *Y2 = zt_floats((size_t)M * N);
    zt_fill_uniform(Wf, (size_t)N * K, 8, -1, 1);
    zt_fill_uniform(X, (size_t)M * K, 9, -1, 1);
    zy_quant_arith saved = zy_quant_arith_get();
    for (int ti = 1; ti < NTYPES; ti++)
        for (int a = ZY_QUANT_ARITH_FP32; a <= ZY_QUANT_ARITH_INT8; a++) {
            uint8_t *buf;
            zy_wmatrix W = make_w(TYPES[ti], Wf, N, K, &buf);
            zy_quant_arith_set((zy_quant_arith)a);
            for (int m = 1; m <= M; m += 2) {
                zy_threads_set(1);
                zy__wgemv(Y1, N, &W, X, K, NULL, m);
                zy_threads_set(2);
                zy__wgemv(Y2, N, &W, X, K, NULL, m);
                CHECK(!memcmp(Y1, Y2, sizeof(float) * (size_t)m * N));
            }
            free(buf);
        }
    zy_quant_arith_set(saved);
    free(Wf), free(X), free(Y1), free(Y2);
}

// ---- zy__wgemm: a linear layer's GEMM over typed rows (src/kernels/gemm.c) ---------------
// The bits of zy__sgemm_bias over the decoded fp32 matrix, for every type, at every SIMD
// level and bf16 path this CPU has, at 1 and 2 threads: tiny products (the unpacked
// loop), depth blocks that start inside a Q8_0/Q4_0 block (K 800 on the 768-deep
// families: two blocks of 400), and a product the pool splits (48 x 320 x 768).
static void wgemm_case(zy_wtype t, int R, int N, int K, bool with_bias, const char *path) {
    size_t rb = zy_wtype_row_bytes(t, (size_t)K);
    float *W = zt_floats((size_t)N * K), *X = zt_floats((size_t)R * (K + 3));
    float *bias = zt_floats((size_t)N);
    uint8_t *q = malloc(rb * (size_t)N + 1);
    zt_fill_uniform(W, (size_t)N * K, 71, -1.0f, 1.0f);
    zt_fill_uniform(X, (size_t)R * (K + 3), 72, -1.0f, 1.0f);
    zt_fill_uniform(bias, (size_t)N, 73, -1.0f, 1.0f);
    for (int j = 0; j < N; j++) { // W's rows typed, and W decoded: the values multiplied
        zy_quantize_row(t, W + (size_t)j * K, q + rb * j, (size_t)K);
        zy_dequantize_row(t, q + rb * j, W + (size_t)j * K, (size_t)K);
    }
    zy_wmatrix wm = {.type = t, .rows = N, .cols = K, .row_bytes = rb, .data = q};
    size_t nc = (size_t)R * (N + 5);
    float *want = zt_floats(nc), *got = zt_floats(nc);
    for (int th = 1; th <= 2; th++) {
        zy_threads_set(th);
        for (size_t i = 0; i < nc; i++) want[i] = got[i] = -7.0f; // the ldc padding kept
        const float *b = with_bias ? bias : NULL;
        zy__sgemm_bias(false, true, R, N, K, X, K + 3, W, K, b, want, N + 5);
        zy__wgemm(got, N + 5, &wm, X, K + 3, b, R);
        if (memcmp(got, want, nc * sizeof *got)) {
            size_t i = 0;
            while (got[i] == want[i]) i++;
            zt_fail(__FILE__, __LINE__, "zy__wgemm %s %s R=%d N=%d K=%d threads %d: element "
                    "%zu is %.9g, zy__sgemm_bias over the decoded matrix gives %.9g",
                    zy_wtype_name(t), path, R, N, K, th, i, (double)got[i], (double)want[i]);
            break;
        }
    }
    zy_threads_set(0);
    free(W), free(X), free(bias), free(q), free(want), free(got);
}

static void wgemm_shapes(const char *path) {
    // (K 70 and 1000: f16 and bf16 rows only, with a tail past the 32-weight pieces.)
    static const int shapes[][3] = {{1, 3, 32}, {3, 70, 64}, {9, 100, 96}, {37, 300, 800},
                                    {5, 40, 70}, {40, 90, 1000}, {48, 320, 768}};
    for (int ti = 1; ti < NTYPES; ti++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            if (!is_block(TYPES[ti]) || shapes[s][2] % ZY_QBLOCK == 0)
                wgemm_case(TYPES[ti], shapes[s][0], shapes[s][1], shapes[s][2], s % 2 == 0,
                           path);
}

TEST(quant_wgemm_same_bits_as_decoded_fp32) {
    for (int l = ZY_SIMD_SCALAR; l <= ZY_SIMD_AVX512; l++) {
        if (!zt_use_simd(l)) continue;
        wgemm_shapes(zy_simd_name((zy_simd)l));
    }
    zy_gemm_precision_set(ZY_PRECISION_BF16);
    for (int path = ZY_BF16_EMULATED; path <= ZY_BF16_AMX; path++) {
        if (path != ZY_BF16_EMULATED && !zt_use_bf16(path)) continue;
        zy_bf16_path was = zy_bf16_set((zy_bf16_path)path);
        wgemm_shapes(zy_bf16_name((zy_bf16_path)path));
        zy_bf16_set(was);
    }
    zy_gemm_precision_set(ZY_PRECISION_FP32);
}
