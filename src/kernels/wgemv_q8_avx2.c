// The int8-activation GEMV (wgemv_q8.h) on AVX2: vpmaddubsw (u8 * s8 pairs into int16:
// |w| <= 127 and |x| <= 127 keep each pair's sum within int16) and vpmaddwd to int32.
#define Q8_DOT(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
#define Q8_KERNEL zy__q8_avx2
#define Q8_NAME "avx2 (vpmaddubsw)"
#include "kernels/wgemv_q8.h"
