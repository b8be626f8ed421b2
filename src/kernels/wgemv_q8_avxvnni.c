// The int8-activation GEMV (wgemv_q8.h) with AVX-VNNI: one vpdpbusd (VEX) per block and
// input. Compiled with -mavxvnni; called only when zy_cpu_features() has ZY_CPU_AVXVNNI.
#define Q8_DOT(u, s) _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s)
#define Q8_KERNEL zy__q8_avxvnni
#define Q8_NAME "avx-vnni"
#include "kernels/wgemv_q8.h"
