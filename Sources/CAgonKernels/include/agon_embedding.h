// Agon's embedding kernels in C: the O(n²) and tree loops of t-SNE, nearest neighbours and
// trustworthiness, which a debug build of Swift would run a hundred times slower.
#ifndef AGON_EMBEDDING_H
#define AGON_EMBEDDING_H

#include <stddef.h>
#include <stdint.h>

/// row[j] = sum over c < d of (x[i d + c] - x[j d + c])^2, in double, for every j < n
/// (row[i] = 0); x is n rows of d floats.
void agon_squared_distances_row(const float *x, size_t n, size_t d, size_t i, double *row);

/// The k smallest row[j] (j != exclude, ties broken by the lower j), ascending, into
/// indices[0..<k] and distances[0..<k]. Needs k <= n - 1 (or k <= n when exclude >= n).
void agon_nearest_in_row(const double *row, size_t n, size_t exclude, size_t k,
                         uint32_t *indices, double *distances);

/// How many row[j] (j != exclude) are below `value`, plus those equal to it with j < index:
/// the rank - 1 of point `index` in a stable ascending order of the row.
size_t agon_rank_in_row(const double *row, size_t n, size_t exclude, size_t index, double value);

/// t-SNE's conditional affinities of one point (van der Maaten and Hinton 2008):
/// p[j] = exp(-beta d[j]) / sum_l exp(-beta d[l]) over the `count` squared distances d, with
/// beta found by bisection so that the entropy (in nats) is log(perplexity) within `tolerance`,
/// in at most `steps` steps. A d[j] of +infinity gets p[j] = 0. Returns beta.
double agon_tsne_conditional_row(const double *d, size_t count, double perplexity,
                                 double tolerance, int steps, double *p);

/// The exact t-SNE gradient of n 2-D points y (n x 2, interleaved) under the dense, symmetric
/// joint affinities p (n x n, summing to 1), with P multiplied by `exaggeration`:
/// grad_i = 4 sum_j (exaggeration p_ij - q_ij) (1 + |y_i - y_j|^2)^-1 (y_i - y_j).
/// Returns Z = sum_{i != j} (1 + |y_i - y_j|^2)^-1, or -1 if its working memory could not be
/// allocated.
double agon_tsne_exact_gradient(const double *y, size_t n, const float *p, double exaggeration,
                                double *gradient);

/// The Barnes-Hut t-SNE gradient (van der Maaten 2014) of n 2-D points y under sparse,
/// symmetric joint affinities in CSR form (row_start[n + 1], columns, values): the attractive
/// forces exactly over the stored pairs, the repulsive ones from a quadtree in which a cell of
/// half side h at squared distance D from y_i stands for its points when h^2 / D < theta^2.
/// Returns the estimated Z, or -1 if the tree could not be allocated.
double agon_tsne_barnes_hut_gradient(const double *y, size_t n, const size_t *row_start,
                                     const uint32_t *columns, const double *values,
                                     double exaggeration, double theta, double *gradient);

/// One step of gradient descent with momentum and per-coordinate gains (Jacobs 1988, as in
/// van der Maaten's tsne.m): gain += 0.2 where the gradient's sign differs from the previous
/// update's, gain *= 0.8 where it agrees, at least min_gain; update = momentum update -
/// rate gain gradient; y += update; then y is re-centred on the origin. y, update, gains and
/// gradient hold n x 2 values.
void agon_tsne_step(double *y, double *update, double *gains, const double *gradient, size_t n,
                    double momentum, double rate, double min_gain);

#endif
