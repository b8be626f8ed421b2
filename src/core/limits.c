// The machine's physical memory, for refusing absurd sizes before allocating them: a
// model or activation block larger than the whole RAM cannot be used, and asking the
// allocator for it anyway zero-fills gigabytes (or aborts under AddressSanitizer) before
// failing with a message that hides the cause. Callers compare their byte counts here
// and name the config fields or arguments that gave the size. Not here: allocation
// itself (alloc.c).
#include <unistd.h>

#include "internal.h"

uint64_t zy__physical_memory(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return 0;
    if ((uint64_t)pages > UINT64_MAX / (uint64_t)page) return UINT64_MAX;
    return (uint64_t)pages * (uint64_t)page;
}

bool zy__exceeds_memory(uint64_t bytes) {
    uint64_t phys = zy__physical_memory();
    return phys && bytes > phys;
}
