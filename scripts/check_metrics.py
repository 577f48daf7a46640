#!/usr/bin/env python3
# An independent implementation of Agon's sample-quality metrics in numpy/scipy, for the
# AgonAnalysis tests to compare against: FID as pytorch-fid computes it (scipy.linalg.sqrtm),
# KID's unbiased MMD² on the full sets, and precision/recall/density/coverage by brute force.
"""Usage: check_metrics.py FEATURES.safetensors [--neighbors 3] [--density-neighbors 5]

FEATURES.safetensors holds float32 tensors `real` [N, D] and `fake` [M, D]. Prints one JSON
object: {"fid", "kid_mean", "precision", "recall", "density", "coverage", "real_rows",
"fake_rows", "dimension"}. Everything is float64.

- fid: ||mu1 - mu2||^2 + Tr S1 + Tr S2 - 2 Tr sqrtm(S1 S2), S the unbiased covariance
  (np.cov), sqrtm retried with eps * I added when not finite, its real part taken, exactly as
  pytorch-fid's calculate_frechet_distance (Heusel et al. 2017).
- kid_mean: the unbiased MMD^2 of all of `real` against all of `fake` with
  k(x, y) = (x.y / d + 1)^3 (Binkowski et al. 2018): one "subset" holding every point.
- precision, recall (k = 3; Kynkaenniemi et al. 2019), density, coverage (k = 5; Naeem et
  al. 2020): a point's radius is the distance to its k-th nearest neighbour other than itself;
  balls are closed (<=). Distances are sum((a - b)^2) in float64.
Needs `pip install numpy scipy safetensors`.
"""

import argparse
import json
import sys

import numpy as np
import scipy.linalg
from safetensors.numpy import load_file

CHUNK = 64


def frechet_distance(real, fake, eps=1e-6):
    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    sigma1, sigma2 = np.atleast_2d(np.cov(real, rowvar=False)), np.atleast_2d(np.cov(fake, rowvar=False))
    diff = mu1 - mu2
    # pytorch-fid passes disp=False, which SciPy 1.16 deprecates; the default returns the same
    # matrix (only the unused error estimate is lost).
    covmean = scipy.linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def unbiased_mmd2(x, y):
    d = x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    n, m = x.shape[0], y.shape[0]
    xx = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    yy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(xx + yy - 2 * kxy.sum() / (n * m))


def squared_distances(a, b):
    """||a_i - b_j||^2 for all pairs, as explicit differences, a chunk of rows at a time."""
    out = np.empty((a.shape[0], b.shape[0]))
    for start in range(0, a.shape[0], CHUNK):
        block = a[start:start + CHUNK]
        out[start:start + CHUNK] = ((block[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)
    return out


def radii(points, k):
    """Squared distance from each point to its k-th nearest neighbour, itself excluded."""
    d = squared_distances(points, points)
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def prdc(real, fake, k, density_k):
    real_k, real_density_k, fake_k = radii(real, k), radii(real, density_k), radii(fake, k)
    cross = squared_distances(real, fake)  # [N, M]
    precision = (cross <= real_k[:, None]).any(axis=0).mean()
    recall = (cross <= fake_k[None, :]).any(axis=1).mean()
    inside = cross <= real_density_k[:, None]
    density = inside.sum(axis=0).mean() / density_k
    coverage = inside.any(axis=1).mean()
    return float(precision), float(recall), float(density), float(coverage)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("features")
    parser.add_argument("--neighbors", type=int, default=3)
    parser.add_argument("--density-neighbors", type=int, default=5)
    args = parser.parse_args()
    tensors = load_file(args.features)
    for name in ("real", "fake"):
        if name not in tensors or tensors[name].ndim != 2:
            sys.exit(f"{args.features}: needs a 2-D float32 tensor named {name!r}")
    real, fake = tensors["real"].astype(np.float64), tensors["fake"].astype(np.float64)
    if real.shape[1] != fake.shape[1]:
        sys.exit(f"{args.features}: real has {real.shape[1]} columns but fake has {fake.shape[1]}")
    precision, recall, density, coverage = prdc(real, fake, args.neighbors, args.density_neighbors)
    print(json.dumps({
        "fid": frechet_distance(real, fake),
        "kid_mean": unbiased_mmd2(real, fake),
        "precision": precision, "recall": recall, "density": density, "coverage": coverage,
        "real_rows": real.shape[0], "fake_rows": fake.shape[0], "dimension": real.shape[1],
    }))


if __name__ == "__main__":
    main()
