// The int8-activation GEMV (wgemv_q8.h) with AVX-512 VNNI: vpdpbusd on YMM registers (the
// EVEX form, AVX512-VNNI + VL). Compiled with the AVX-512 flags and -mavx512vnni; called
// only at the AVX-512 level when zy_cpu_features() has ZY_CPU_AVX512VNNI and VL.
#define Q8_DOT(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s)
#define Q8_ROWS zy__wgemv_q8_rows_avx512vnni
#include "kernels/wgemv_q8.h"
