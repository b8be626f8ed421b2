// `zhuyi info`: what this build and this CPU can do.
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "dist.h"
#include "zhuyi/zhuyi.h"

int zy_cli_info(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: zhuyi info\nPrints the version, CPU features, the kernel family in "
               "use, how bf16 matmuls are computed (amx, avx512-bf16 or emulated) and so the\n"
               "default --precision, the thread count, and the model types and "
               "presets this build knows.\n");
        return 0;
    }
    unsigned f = zy_cpu_features();
    printf("zhuyi %s\n", zy_version());
    printf("cpu:     %s%s%s%s%s%s%s%s%s\n", f & ZY_CPU_AVX2 ? "avx2+fma " : "",
           f & ZY_CPU_F16C ? "f16c " : "", f & ZY_CPU_AVXVNNI ? "avx_vnni " : "",
           f & ZY_CPU_AVX512F ? "avx512f " : "", f & ZY_CPU_AVX512BW ? "avx512bw " : "",
           f & ZY_CPU_AVX512VL ? "avx512vl " : "", f & ZY_CPU_AVX512VNNI ? "avx512_vnni " : "",
           f & ZY_CPU_AVX512BF16 ? "avx512_bf16 " : "", f & ZY_CPU_AMX_BF16 ? "amx_bf16" : "");
    printf("kernels: %s\n", zy_simd_name(zy_simd_level()));
    zy_bf16_path b = zy_bf16_level();
    printf("bf16:    %s (--precision defaults to %s)\n", zy_bf16_name(b),
           b == ZY_BF16_EMULATED ? "fp32" : "bf16");
    printf("threads: %d\n", zy_threads_get());
    printf("mpi:     %s\n", zy_cli_dist_describe());
    const char *names[64];
    int n = zy_model_types(names, 64);
    printf("models: ");
    for (int i = 0; i < n && i < 64; i++) printf(i ? ", %s" : "%s", names[i]);
    n = zy_model_preset_names(names, 64);
    printf("\npresets:");
    for (int i = 0; i < n && i < 64; i++) printf(i ? ", %s" : " %s", names[i]);
    printf("\n");
    return 0;
}
