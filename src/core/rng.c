// Seeded random numbers: xoshiro256** for streams (weights, batches, sampling) and a
// stateless splitmix64-style hash for values that must not depend on visiting order
// (dropout masks under any thread count). Both algorithms are public domain
// (Blackman & Vigna; Steele, Lea & Flood) and written here from their descriptions.
#include <math.h>

#include "internal.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void zy_rng_seed(zy_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t zy_rng_u64(zy_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float zy_rng_uniform(zy_rng *r) { return (float)(zy_rng_u64(r) >> 40) * 0x1.0p-24f; }

uint64_t zy_rng_below(zy_rng *r, uint64_t n) {
    ZY_ASSERT(n > 0);
    // Reject the top partial bucket so every residue is equally likely.
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = zy_rng_u64(r);
    while (x >= limit);
    return x % n;
}

float zy_rng_normal(zy_rng *r) {
    // Box-Muller with u1 in (0, 1] so log never sees 0.
    double u1 = ((zy_rng_u64(r) >> 11) + 1) * 0x1.0p-53;
    double u2 = (zy_rng_u64(r) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2));
}

void zy_rng_fill_normal(zy_rng *r, float *x, size_t n, float mean, float std) {
    for (size_t i = 0; i < n; i++) x[i] = mean + std * zy_rng_normal(r);
}

void zy_rng_fill_uniform(zy_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * zy_rng_uniform(r);
}

uint64_t zy_hash64(uint64_t key, uint64_t counter) {
    uint64_t x = key ^ rotl(counter * 0xD1B54A32D192ED03ull, 29);
    uint64_t a = splitmix64(&x);
    x ^= a;
    return splitmix64(&x);
}
