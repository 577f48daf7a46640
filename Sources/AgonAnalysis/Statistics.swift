// The mean and unbiased covariance of a feature set in Double: the Gaussian that FID compares.
// Two passes (mean, then centred products) keep the covariance accurate for large offsets.

/// The sample mean and unbiased covariance of N feature vectors of dimension D.
///
/// ```
/// μ = (1/N) Σᵢ xᵢ
/// Σ = (1/(N−1)) Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ
/// ```
/// as in Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
/// Equilibrium" (NeurIPS 2017) and pytorch-fid's `np.cov(rowvar=False)`. Sums are in Double.
public struct FeatureStatistics: Sendable, Equatable {
    /// How many samples the statistics were computed from (0 when given directly).
    public let count: Int
    /// The feature dimension D.
    public let dimension: Int
    /// μ, D values.
    public let mean: [Double]
    /// Σ, D × D row-major and symmetric.
    public let covariance: [Double]

    /// Precomputed statistics (a saved reference set, or a Gaussian in a test).
    ///
    /// - Parameter count: the samples behind them, for reporting only.
    public init(mean: [Double], covariance: [Double], count: Int = 0) {
        precondition(!mean.isEmpty && covariance.count == mean.count * mean.count,
                     "a covariance of \(covariance.count) values does not match a mean of \(mean.count) (needs \(mean.count)²)")
        self.count = count
        self.dimension = mean.count
        self.mean = mean
        self.covariance = covariance
    }

    /// The mean and unbiased (N − 1) covariance of `features`' rows.
    ///
    /// Rows are centred in blocks of 64 in Double and their outer products added to the upper
    /// triangle one row of Σ at a time, so the inner loop is a vectorisable `Σ[i, i...] += x_i · x[i...]`
    /// over a block that stays in cache. 10,000 × 128 takes about 0.02 s in release.
    /// - Throws: `.tooFewSamples` for fewer than 2 rows, `.nonFiniteValue` for NaN or infinity.
    public init(_ features: FeatureMatrix, name: String = "features") throws {
        try features.requireRows(atLeast: 2, name, for: "a covariance")
        try features.requireFinite(name)
        let (n, d) = (features.rows, features.columns)
        var mean = [Double](repeating: 0, count: d)
        var covariance = [Double](repeating: 0, count: d * d)
        let blockRows = 64
        var block = [Double](repeating: 0, count: blockRows * d)
        features.values.withUnsafeBufferPointer { x in
            mean.withUnsafeMutableBufferPointer { mu in
                for r in 0..<n {
                    let row = x.baseAddress! + r * d
                    for j in 0..<d { mu[j] += Double(row[j]) }
                }
                for j in 0..<d { mu[j] /= Double(n) }
            }
            mean.withUnsafeBufferPointer { mu in
                block.withUnsafeMutableBufferPointer { b in
                    covariance.withUnsafeMutableBufferPointer { c in
                        var start = 0
                        while start < n {
                            let rows = min(blockRows, n - start)
                            // Centre the block: b (rows, d) = x[start...] − μ.
                            for r in 0..<rows {
                                let source = x.baseAddress! + (start + r) * d, target = b.baseAddress! + r * d
                                for j in 0..<d { target[j] = Double(source[j]) - mu[j] }
                            }
                            // Σ[i, j] += Σ_r b[r, i] · b[r, j] for j ≥ i   (upper triangle)
                            for i in 0..<d {
                                let cRow = c.baseAddress! + i * d
                                for r in 0..<rows {
                                    let bRow = b.baseAddress! + r * d
                                    let bi = bRow[i]
                                    for j in i..<d { cRow[j] += bi * bRow[j] }
                                }
                            }
                            start += rows
                        }
                        // Scale by 1/(N − 1) and mirror the upper triangle.
                        let scale = 1 / Double(n - 1)
                        for i in 0..<d {
                            for j in i..<d {
                                let value = c[i * d + j] * scale
                                c[i * d + j] = value
                                c[j * d + i] = value
                            }
                        }
                    }
                }
            }
        }
        self.init(mean: mean, covariance: covariance, count: n)
    }

    /// The trace of Σ, the total variance.
    public var totalVariance: Double {
        (0..<dimension).reduce(0) { $0 + covariance[$1 * dimension + $1] }
    }
}
