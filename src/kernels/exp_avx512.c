// zy__expf_avx512 (kernels/exp.h): zy__exp512 over an array, 16 lanes with a masked tail.
#include "kernels/exp.h"
#include "kernels/exp_avx512.h"

void zy__expf_avx512(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = zy__tail16(n - i > 16 ? 16 : (int)(n - i));
        _mm512_mask_storeu_ps(y + i, k, zy__exp512(_mm512_maskz_loadu_ps(k, x + i)));
    }
}
