// Agon's elementwise kernels in C: the loops Swift does not vectorise (sqrt and division lanes,
// selects), compiled for AVX-512, AVX2 and baseline x86-64 with the best picked at load time.
#ifndef AGON_KERNELS_H
#define AGON_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// y[i] += x[i]
void agon_add(const float *x, float *y, size_t n);
/// y[i] *= a
void agon_scale(float *y, float a, size_t n);
/// y[i] = ((0 + xs[0][i]) + xs[1][i] + ... + xs[inputs-1][i]) * scale, summed in input order
/// (bit for bit what zeroing y, agon_add of each input and agon_scale give); inputs >= 1.
void agon_mean(const float *const *xs, size_t inputs, float *y, size_t n, float scale);
/// sum of x[i]^2, accumulated in double
double agon_sum_squares(const float *x, size_t n);
/// y[i] = x[i] > 0 ? x[i] : slope * x[i]
void agon_leaky_relu(const float *x, float *y, size_t n, float slope);
/// dx[i] = x[i] > 0 ? dy[i] : slope * dy[i]
void agon_leaky_relu_backward(const float *x, const float *dy, float *dx, size_t n, float slope);
/// dx[i] = dy[i] * y[i] * (1 - y[i])
void agon_sigmoid_backward(const float *y, const float *dy, float *dx, size_t n);
/// dx[i] = dy[i] * (1 - y[i]^2)
void agon_tanh_backward(const float *y, const float *dy, float *dx, size_t n);
/// y[i] = x[i] * mask[i] * scale
void agon_apply_mask(const float *x, const float *mask, float *y, size_t n, float scale);
/// Adam, Keras form: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= rate * m / (sqrt(v) + eps)
void agon_adam(float *w, const float *g, float *m, float *v, size_t n,
               float rate, float beta1, float beta2, float epsilon);

/// Philox4x32-10 (Salmon et al. 2011): four random words for counter c under key (k0, k1).
void agon_philox(const uint32_t c[4], uint32_t k0, uint32_t k1, uint32_t out[4]);
/// out[j] = low + (high - low) * unit(word j of philox((j/4, a, b, c))), unit in (0, 1).
void agon_fill_uniform(float *out, size_t n, float low, float high, uint32_t k0, uint32_t k1,
                       uint32_t a, uint32_t b, uint32_t c);
/// N(0, 1) by Box-Muller: block (j/4, a, b, c) gives u1..u4 and values
/// r1 cos t1, r1 sin t1, r2 cos t2, r2 sin t2 with r = sqrt(-2 ln u), t = 2 pi u'.
void agon_fill_normal(float *out, size_t n, uint32_t k0, uint32_t k1, uint32_t a, uint32_t b, uint32_t c);

/// Keeps large allocations on the heap and freed memory in the process, so megabyte
/// messages arriving every step reuse pages instead of faulting fresh zeroed ones in.
void agon_keep_large_buffers(void);

#endif

// The embedding kernels (t-SNE, nearest neighbours, trustworthiness) have their own header.
#include "agon_embedding.h"
