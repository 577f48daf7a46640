// Elementwise kernels, each cloned for AVX-512, AVX2+FMA and baseline x86-64 (the loader picks
// the best the CPU has), written as plain loops for the compiler to vectorise.
#include "agon_kernels.h"
#include <math.h>

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

CLONES void agon_add(const float *restrict x, float *restrict y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

CLONES void agon_scale(float *restrict y, float a, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] *= a;
}

CLONES void agon_mean(const float *const *xs, size_t inputs, float *restrict y, size_t n, float scale) {
    // Block by block, so each block of y stays in L1 while every input is added to it: one
    // pass over memory instead of one per input, and the sums of agon_add in the same order.
    enum { BLOCK = 2048 };
    for (size_t start = 0; start < n; start += BLOCK) {
        size_t end = start + BLOCK < n ? start + BLOCK : n;
        const float *restrict x0 = xs[0];
        for (size_t i = start; i < end; i++) y[i] = 0.0f + x0[i];
        for (size_t r = 1; r < inputs; r++) {
            const float *restrict x = xs[r];
            for (size_t i = start; i < end; i++) y[i] += x[i];
        }
        for (size_t i = start; i < end; i++) y[i] *= scale;
    }
}

CLONES double agon_sum_squares(const float *restrict x, size_t n) {
    // 16 independent float lanes (vectorisable without reassociation), summed in double.
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t j = 0; j < 16; j++) acc[j] += x[i + j] * x[i + j];
    double total = 0;
    for (size_t j = 0; j < 16; j++) total += acc[j];
    for (; i < n; i++) total += (double)x[i] * x[i];
    return total;
}

CLONES void agon_leaky_relu(const float *restrict x, float *y, size_t n, float slope) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : slope * x[i];
}

CLONES void agon_leaky_relu_backward(const float *restrict x, const float *dy, float *dx, size_t n, float slope) {
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : slope * dy[i];
}

CLONES void agon_sigmoid_backward(const float *restrict y, const float *dy, float *dx, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

CLONES void agon_tanh_backward(const float *restrict y, const float *dy, float *dx, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

CLONES void agon_apply_mask(const float *restrict x, const float *restrict mask, float *y, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] * mask[i] * scale;
}

CLONES void agon_adam(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                      float rate, float beta1, float beta2, float epsilon) {
    const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
    for (size_t i = 0; i < n; i++) {
        float mi = beta1 * m[i] + c1 * g[i];
        float vi = beta2 * v[i] + c2 * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        w[i] -= rate * mi / (sqrtf(vi) + epsilon);
    }
}
