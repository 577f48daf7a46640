// t-SNE's hot loops (affinity calibration, exact and Barnes-Hut gradients, the descent step),
// and the distance rows and neighbour searches that t-SNE and trustworthiness share.
#include "agon_embedding.h"
#include <math.h>
#include <stdlib.h>

#if defined(__x86_64__) && defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

// Eight independent double lanes: the compiler vectorises them without reassociating sums.
#define LANES 8

CLONES void agon_squared_distances_row(const float *restrict x, size_t n, size_t d, size_t i, double *restrict row) {
    const float *xi = x + i * d;
    for (size_t j = 0; j < n; j++) {
        const float *xj = x + j * d;
        double acc[LANES] = {0};
        size_t c = 0;
        for (; c + LANES <= d; c += LANES)
            for (size_t l = 0; l < LANES; l++) {
                double diff = (double)xi[c + l] - (double)xj[c + l];
                acc[l] += diff * diff;
            }
        double sum = 0;
        for (size_t l = 0; l < LANES; l++) sum += acc[l];
        for (; c < d; c++) {
            double diff = (double)xi[c] - (double)xj[c];
            sum += diff * diff;
        }
        row[j] = sum;
    }
}

void agon_nearest_in_row(const double *row, size_t n, size_t exclude, size_t k, uint32_t *indices, double *distances) {
    // An ascending buffer of the k best so far; most candidates fail the first comparison.
    size_t filled = 0;
    for (size_t j = 0; j < n && k > 0; j++) {
        if (j == exclude) continue;
        double value = row[j];
        // Equal values keep the earlier index first, so a later one must be strictly better.
        if (filled == k && !(value < distances[k - 1])) continue;
        size_t slot = filled < k ? filled : k - 1;
        while (slot > 0 && distances[slot - 1] > value) {
            distances[slot] = distances[slot - 1];
            indices[slot] = indices[slot - 1];
            slot--;
        }
        distances[slot] = value;
        indices[slot] = (uint32_t)j;
        if (filled < k) filled++;
    }
}

size_t agon_rank_in_row(const double *row, size_t n, size_t exclude, size_t index, double value) {
    size_t below = 0;
    for (size_t j = 0; j < n; j++) {
        if (j == exclude) continue;
        below += row[j] < value || (row[j] == value && j < index);
    }
    return below;
}

double agon_tsne_conditional_row(const double *d, size_t count, double perplexity, double tolerance, int steps, double *p) {
    // Shifting every distance by the smallest changes neither P nor its entropy, and keeps
    // exp() from underflowing to an all-zero row for far-away points.
    double smallest = INFINITY;
    for (size_t j = 0; j < count; j++) if (d[j] < smallest) smallest = d[j];
    if (!isfinite(smallest)) smallest = 0;
    const double target = log(perplexity);
    double beta = 1, low = -INFINITY, high = INFINITY;
    for (int step = 0; step < steps; step++) {
        double sum = 0, weighted = 0;
        for (size_t j = 0; j < count; j++) {
            if (isinf(d[j])) { p[j] = 0; continue; }   // and ∞ · 0 must not poison the sums
            double shifted = d[j] - smallest;
            double value = exp(-beta * shifted);
            p[j] = value;
            sum += value;
            weighted += shifted * value;
        }
        if (sum <= 0) sum = 1e-300;
        // H = log Σ exp(−β d) + β Σ d p / Σ p   (nats)
        double entropy = log(sum) + beta * weighted / sum;
        for (size_t j = 0; j < count; j++) p[j] /= sum;
        double difference = entropy - target;
        if (fabs(difference) <= tolerance) break;
        if (difference > 0) {   // too flat: sharpen
            low = beta;
            beta = isinf(high) ? beta * 2 : (beta + high) / 2;
        } else {
            high = beta;
            beta = isinf(low) ? beta / 2 : (beta + low) / 2;
        }
    }
    return beta;
}

typedef double double4 __attribute__((vector_size(32)));

// Macros, not functions: a 32-byte vector argument would change the ABI of the baseline clone.
#define load4(p) ((double4){ (p)[0], (p)[1], (p)[2], (p)[3] })
#define sum4(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3]))

CLONES double agon_tsne_exact_gradient(const double *restrict y, size_t n, const float *restrict p,
                                       double exaggeration, double *restrict gradient) {
    double *work = malloc(4 * n * sizeof(double));
    if (!work) return -1;
    double *xs = work, *ys = work + n, *rx = work + 2 * n, *ry = work + 3 * n;
    for (size_t j = 0; j < n; j++) { xs[j] = y[2 * j]; ys[j] = y[2 * j + 1]; }
    double z = 0;
    const double4 one = { 1, 1, 1, 1 };
    for (size_t i = 0; i < n; i++) {
        const double xi = xs[i], yi = ys[i];
        const double4 vx = { xi, xi, xi, xi }, vy = { yi, yi, yi, yi };
        const float *prow = p + i * n;
        // Two independent sets of four lanes each, so that the divisions overlap.
        double4 ax0 = {0}, ay0 = {0}, bx0 = {0}, by0 = {0}, z0 = {0};
        double4 ax1 = {0}, ay1 = {0}, bx1 = {0}, by1 = {0}, z1 = {0};
        size_t j = 0;
        for (; j + 8 <= n; j += 8) {
            double4 dx0 = vx - load4(xs + j), dy0 = vy - load4(ys + j);
            double4 dx1 = vx - load4(xs + j + 4), dy1 = vy - load4(ys + j + 4);
            double4 q0 = one / (one + dx0 * dx0 + dy0 * dy0), q1 = one / (one + dx1 * dx1 + dy1 * dy1);
            double4 pq0 = load4(prow + j) * q0, pq1 = load4(prow + j + 4) * q1;
            double4 qq0 = q0 * q0, qq1 = q1 * q1;
            ax0 += pq0 * dx0; ay0 += pq0 * dy0; bx0 += qq0 * dx0; by0 += qq0 * dy0; z0 += q0;
            ax1 += pq1 * dx1; ay1 += pq1 * dy1; bx1 += qq1 * dx1; by1 += qq1 * dy1; z1 += q1;
        }
        double sax = sum4(ax0) + sum4(ax1), say = sum4(ay0) + sum4(ay1);
        double sbx = sum4(bx0) + sum4(bx1), sby = sum4(by0) + sum4(by1), sz = sum4(z0) + sum4(z1);
        for (; j < n; j++) {
            double dx = xi - xs[j], dy = yi - ys[j];
            double q = 1.0 / (1.0 + dx * dx + dy * dy);
            double pq = (double)prow[j] * q, qq = q * q;
            sax += pq * dx; say += pq * dy;
            sbx += qq * dx; sby += qq * dy;
            sz += q;
        }
        z += sz - 1.0;   // q_ii = 1 is not a pair
        gradient[2 * i] = exaggeration * sax;
        gradient[2 * i + 1] = exaggeration * say;
        rx[i] = sbx; ry[i] = sby;
    }
    // grad_i = 4 (exaggeration Σ p q (y_i − y_j) − Σ q² (y_i − y_j) / Z)
    for (size_t i = 0; i < n; i++) {
        gradient[2 * i] = 4 * (gradient[2 * i] - rx[i] / z);
        gradient[2 * i + 1] = 4 * (gradient[2 * i + 1] - ry[i] / z);
    }
    free(work);
    return z;
}

// MARK: Barnes-Hut

/// A square cell of the quadtree. A leaf holds `count` points at (lx, ly) (more than one only
/// for duplicates, or past the depth limit); an internal node has four children from `child`.
typedef struct {
    double cx, cy, half;   // centre and half side
    double sx, sy;         // sums of the positions below
    double lx, ly;         // a leaf's location
    uint32_t count;
    int32_t child;         // first of four consecutive children, or -1 for a leaf
} quad_node;

typedef struct {
    quad_node *nodes;
    size_t count, capacity;
} quad_tree;

enum { max_depth = 64 };

static inline int quadrant(const quad_node *node, double x, double y) {
    return (x >= node->cx) + 2 * (y >= node->cy);
}

/// Appends four children of `parent`; returns the first's index, or -1 without memory.
static int32_t split_cell(quad_tree *tree, size_t parent) {
    if (tree->count + 4 > tree->capacity) {
        size_t capacity = tree->capacity * 2;
        quad_node *grown = realloc(tree->nodes, capacity * sizeof(quad_node));
        if (!grown) return -1;
        tree->nodes = grown;
        tree->capacity = capacity;
    }
    const quad_node p = tree->nodes[parent];
    int32_t first = (int32_t)tree->count;
    for (int q = 0; q < 4; q++) {
        quad_node *c = &tree->nodes[tree->count++];
        double h = p.half / 2;
        *c = (quad_node){ .cx = p.cx + ((q & 1) ? h : -h), .cy = p.cy + ((q & 2) ? h : -h), .half = h,
                          .sx = 0, .sy = 0, .lx = 0, .ly = 0, .count = 0, .child = -1 };
    }
    return first;
}

static int insert_point(quad_tree *tree, double x, double y) {
    size_t node = 0;
    for (int depth = 0;; depth++) {
        quad_node *nd = &tree->nodes[node];
        if (nd->child < 0) {
            if (nd->count == 0 || (nd->lx == x && nd->ly == y) || depth >= max_depth) {
                if (nd->count == 0) { nd->lx = x; nd->ly = y; }
                nd->count++; nd->sx += x; nd->sy += y;
                return 0;
            }
            // A leaf with other points: they move, as they are, into the child that holds them.
            int32_t first = split_cell(tree, node);
            if (first < 0) return -1;
            nd = &tree->nodes[node];
            quad_node *moved = &tree->nodes[first + quadrant(nd, nd->lx, nd->ly)];
            moved->count = nd->count; moved->sx = nd->sx; moved->sy = nd->sy;
            moved->lx = nd->lx; moved->ly = nd->ly;
            nd->child = first;
        }
        nd->count++; nd->sx += x; nd->sy += y;
        node = (size_t)(nd->child + quadrant(nd, x, y));
    }
}

/// Σ_j q_ij and Σ_j q_ij² (y_i − y_j) over every j ≠ i, cells standing for their points where
/// half side² < θ² D.
static double repulsion(const quad_tree *tree, double x, double y, double theta2, double *fx, double *fy) {
    // The leaf that holds point i itself, found down the path its insertion took.
    size_t own = 0;
    while (tree->nodes[own].child >= 0) own = (size_t)(tree->nodes[own].child + quadrant(&tree->nodes[own], x, y));
    size_t stack[4 * max_depth + 8];
    size_t top = 0;
    stack[top++] = 0;
    double z = 0, rx = 0, ry = 0;
    while (top > 0) {
        size_t index = stack[--top];
        const quad_node *nd = &tree->nodes[index];
        if (nd->count == 0) continue;
        double m = nd->count;
        double comx = nd->sx / m, comy = nd->sy / m;
        double dx = x - comx, dy = y - comy, d2 = dx * dx + dy * dy;
        if (nd->child < 0) {
            if (index == own) m -= 1;
            if (m <= 0) continue;
        } else {
            // bhtsne's test, on the half side: a cell of half side h stands for its points when
            // h / √D < θ (scikit-learn's compares the full side, twice as strict).
            if (!(nd->half * nd->half < theta2 * d2)) {
                for (int q = 0; q < 4; q++) stack[top++] = (size_t)(nd->child + q);
                continue;
            }
        }
        double q = 1.0 / (1.0 + d2);
        z += m * q;
        double mqq = m * q * q;
        rx += mqq * dx; ry += mqq * dy;
    }
    *fx = rx; *fy = ry;
    return z;
}

double agon_tsne_barnes_hut_gradient(const double *y, size_t n, const size_t *row_start, const uint32_t *columns,
                                     const double *values, double exaggeration, double theta, double *gradient) {
    if (n == 0) return 0;
    double minx = INFINITY, maxx = -INFINITY, miny = INFINITY, maxy = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        minx = fmin(minx, y[2 * i]); maxx = fmax(maxx, y[2 * i]);
        miny = fmin(miny, y[2 * i + 1]); maxy = fmax(maxy, y[2 * i + 1]);
    }
    quad_tree tree = { .nodes = malloc(4 * (n + 1) * sizeof(quad_node)), .count = 1, .capacity = 4 * (n + 1) };
    if (!tree.nodes) return -1;
    double half = fmax(maxx - minx, maxy - miny) / 2;
    half = half * (1 + 1e-6) + 1e-12;
    tree.nodes[0] = (quad_node){ .cx = (minx + maxx) / 2, .cy = (miny + maxy) / 2, .half = half, .child = -1 };
    for (size_t i = 0; i < n; i++) {
        if (insert_point(&tree, y[2 * i], y[2 * i + 1]) != 0) { free(tree.nodes); return -1; }
    }

    double *repulsive = malloc(2 * n * sizeof(double));
    if (!repulsive) { free(tree.nodes); return -1; }
    double z = 0;
    const double theta2 = theta * theta;
    for (size_t i = 0; i < n; i++) {
        const double x0 = y[2 * i], y0 = y[2 * i + 1];
        z += repulsion(&tree, x0, y0, theta2, &repulsive[2 * i], &repulsive[2 * i + 1]);
        // Attraction over the stored pairs: Σ_j p_ij q_ij (y_i − y_j).
        double ax = 0, ay = 0;
        for (size_t e = row_start[i]; e < row_start[i + 1]; e++) {
            size_t j = columns[e];
            double dx = x0 - y[2 * j], dy = y0 - y[2 * j + 1];
            double q = 1.0 / (1.0 + dx * dx + dy * dy);
            ax += values[e] * q * dx; ay += values[e] * q * dy;
        }
        gradient[2 * i] = exaggeration * ax;
        gradient[2 * i + 1] = exaggeration * ay;
    }
    for (size_t i = 0; i < 2 * n; i++) gradient[i] = 4 * (gradient[i] - repulsive[i] / z);
    free(repulsive);
    free(tree.nodes);
    return z;
}

// MARK: Descent

CLONES void agon_tsne_step(double *restrict y, double *restrict update, double *restrict gains, const double *restrict gradient,
                           size_t n, double momentum, double rate, double min_gain) {
    for (size_t i = 0; i < 2 * n; i++) {
        // Still descending the same way (the last update opposed the gradient): speed up.
        double gain = update[i] * gradient[i] < 0 ? gains[i] + 0.2 : gains[i] * 0.8;
        gain = gain < min_gain ? min_gain : gain;
        gains[i] = gain;
        update[i] = momentum * update[i] - rate * gain * gradient[i];
        y[i] += update[i];
    }
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) { mx += y[2 * i]; my += y[2 * i + 1]; }
    mx /= (double)n; my /= (double)n;
    for (size_t i = 0; i < n; i++) { y[2 * i] -= mx; y[2 * i + 1] -= my; }
}
