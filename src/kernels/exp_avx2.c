// zy__expf_avx2 (kernels/exp.h): zy__exp256 over an array, 8 lanes with a masked tail.
#include "kernels/exp.h"
#include "kernels/exp_avx2.h"

void zy__expf_avx2(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
        __m256i k = zy__tail8(n - i > 8 ? 8 : (int)(n - i));
        _mm256_maskstore_ps(y + i, k, zy__exp256(_mm256_maskload_ps(x + i, k)));
    }
}
