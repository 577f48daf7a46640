// Fréchet Inception Distance between two feature sets: the Fréchet (2-Wasserstein) distance of
// the Gaussians fitted to them, with the matrix square root by symmetric eigen-decompositions.

/// The Fréchet distance between two Gaussians fitted to feature sets (FID).
///
/// ```
/// FID = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 · Tr √(Σ₁Σ₂)
/// Tr √(Σ₁Σ₂) = Σᵢ √max(λᵢ, 0),   λ the eigenvalues of M = Σ₁^½ Σ₂ Σ₁^½
/// ```
/// Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
/// Equilibrium" (NeurIPS 2017). Σ₁Σ₂ is similar to the symmetric positive semi-definite M, so
/// both have the same eigenvalues; this takes Σ₁^½ from one `dsyevd` (negative eigenvalues,
/// rounding noise of a semi-definite Σ₁, clamped to 0) and the eigenvalues of M from a second,
/// instead of pytorch-fid's `scipy.linalg.sqrtm` of the non-symmetric product. The two agree to
/// rounding for well-conditioned Σ; this way needs no complex arithmetic and no ε retry.
///
/// FID is biased upward at small N: compare values only at the same N (≥ 10,000 to report).
public enum FrechetDistance {
    /// FID between the Gaussians of `real` and `fake` (means and unbiased covariances).
    ///
    /// - Throws: `.dimensionMismatch`, `.tooFewSamples` (under 2 rows), `.nonFiniteValue`, or
    ///   `.lapackFailure`.
    public static func between(_ real: FeatureMatrix, _ fake: FeatureMatrix) throws -> Double {
        try requireSameDimension(real, fake, for: "FID")
        return try between(FeatureStatistics(real, name: "real features"), FeatureStatistics(fake, name: "fake features"))
    }

    /// FID between two precomputed Gaussians (μ₁, Σ₁) and (μ₂, Σ₂).
    ///
    /// - Throws: `.dimensionMismatch` if the dimensions differ, `.lapackFailure` if an
    ///   eigen-decomposition fails.
    public static func between(_ first: FeatureStatistics, _ second: FeatureStatistics) throws -> Double {
        guard first.dimension == second.dimension else {
            throw AnalysisError(.dimensionMismatch, "FID: statistics of dimension \(first.dimension) and \(second.dimension) cannot be compared; compute both from the same classifier layer")
        }
        let n = first.dimension
        var meanTerm = 0.0
        for i in 0..<n {
            let difference = first.mean[i] - second.mean[i]
            meanTerm += difference * difference
        }
        let rootFirst = try SymmetricEigendecomposition(first.covariance, order: n, what: "Σ₁")
            .reassembled { $0 > 0 ? $0.squareRoot() : 0 }
        // M = Σ₁^½ Σ₂ Σ₁^½, made exactly symmetric before the solver sees it.   (n, n)
        var m = multiplySquare(multiplySquare(rootFirst, second.covariance, order: n), rootFirst, order: n)
        for i in 0..<n {
            for j in (i + 1)..<n {
                let average = 0.5 * (m[i * n + j] + m[j * n + i])
                m[i * n + j] = average
                m[j * n + i] = average
            }
        }
        let traceRoot = try SymmetricEigendecomposition(m, order: n, what: "Σ₁^½ Σ₂ Σ₁^½")
            .eigenvalues.reduce(0) { $0 + ($1 > 0 ? $1.squareRoot() : 0) }
        return meanTerm + first.totalVariance + second.totalVariance - 2 * traceRoot
    }
}
