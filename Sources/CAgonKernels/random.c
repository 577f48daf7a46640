// Counter-based random numbers (Philox4x32-10) and their uniform and normal transforms, in
// blocks the compiler vectorises, with vector log/sin/cos from glibc's libmvec.
#include "agon_kernels.h"
#include <math.h>

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

static inline void philox(uint32_t x0, uint32_t x1, uint32_t x2, uint32_t x3, uint32_t k0, uint32_t k1, uint32_t out[4]) {
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * x0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * x2;
        uint32_t y0 = (uint32_t)(p1 >> 32) ^ x1 ^ k0, y1 = (uint32_t)p1;
        uint32_t y2 = (uint32_t)(p0 >> 32) ^ x3 ^ k1, y3 = (uint32_t)p0;
        x0 = y0; x1 = y1; x2 = y2; x3 = y3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

void agon_philox(const uint32_t c[4], uint32_t k0, uint32_t k1, uint32_t out[4]) {
    philox(c[0], c[1], c[2], c[3], k0, k1, out);
}

// A value in the open interval (0, 1) from the top 23 bits: (w + 0.5) / 2^23 is exact in float.
static inline float unit(uint32_t word) { return ((float)(word >> 9) + 0.5f) * (1.0f / 8388608.0f); }

enum { CHUNK = 256 };  // values per block of work: a multiple of 4, small enough for the stack

// The words of blocks first/4 ... for `count` values (count a multiple of 4).
static void words(uint32_t *w, size_t first, size_t count, uint32_t k0, uint32_t k1, uint32_t a, uint32_t b, uint32_t c) {
    for (size_t i = 0; i < count; i += 4) philox((uint32_t)((first + i) / 4), a, b, c, k0, k1, w + i);
}

CLONES void agon_fill_uniform(float *out, size_t n, float low, float high, uint32_t k0, uint32_t k1,
                              uint32_t a, uint32_t b, uint32_t c) {
    uint32_t w[CHUNK];
    const float span = high - low;
    for (size_t start = 0; start < n; start += CHUNK) {
        size_t count = n - start < CHUNK ? n - start : CHUNK;
        words(w, start, (count + 3) & ~(size_t)3, k0, k1, a, b, c);
        for (size_t j = 0; j < count; j++) out[start + j] = low + span * unit(w[j]);
    }
}

// 32 normal values from 32 words. The trip counts are constants, so every lane takes the same
// vector path: a value does not depend on how many values are drawn around it.
static inline void normal32(const uint32_t *w, float *value) {
    float radius[16], angle[16];
    for (int p = 0; p < 16; p++) {
        radius[p] = sqrtf(-2.0f * logf(unit(w[2 * p])));
        angle[p] = 6.28318530717958647692f * unit(w[2 * p + 1]);
    }
    for (int p = 0; p < 16; p++) {
        value[2 * p] = radius[p] * cosf(angle[p]);
        value[2 * p + 1] = radius[p] * sinf(angle[p]);
    }
}

CLONES void agon_fill_normal(float *out, size_t n, uint32_t k0, uint32_t k1, uint32_t a, uint32_t b, uint32_t c) {
    uint32_t w[32];
    float value[32];
    for (size_t start = 0; start < n; start += 32) {
        words(w, start, 32, k0, k1, a, b, c);
        normal32(w, value);
        size_t count = n - start < 32 ? n - start : 32;
        for (size_t j = 0; j < count; j++) out[start + j] = value[j];
    }
}
