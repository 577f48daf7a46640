// Principal component analysis of a feature set: the directions of largest variance, from the
// covariance's eigen-decomposition on LAPACK, and the projection of features onto them.

/// The top principal components of a feature set.
///
/// ```
/// μ = (1/N) Σᵢ xᵢ,   Σ = (1/(N−1)) Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ = V Λ Vᵀ
/// component c = the eigenvector of the c-th largest eigenvalue λ_c,   projection_c(x) = v_cᵀ (x − μ)
/// ```
/// Eigenvectors are defined up to sign; each component is flipped so that its entry of largest
/// magnitude (the first such, on a tie) is positive, so the same features give the same picture.
/// (scikit-learn's `svd_flip` fixes the sign by the same rule, on the components or on U.)
public struct PCA: Sendable, Equatable {
    /// μ, the mean the components are taken about (D values).
    public let mean: [Double]
    /// The components, unit vectors of D values, largest variance first.
    public let components: [[Double]]
    /// The variance along each component, λ_c (the unbiased covariance's eigenvalues).
    public let variances: [Double]
    /// The trace of Σ: the variance along all D directions together.
    public let totalVariance: Double

    /// The first `count` principal components of `features`' rows.
    ///
    /// - Throws: `.tooFewSamples` for fewer than 2 rows, `.nonFiniteValue` for NaN or infinity,
    ///   `.lapackFailure` if the eigen-solver fails.
    /// - Precondition: 1 ≤ `count` ≤ D.
    public init(_ features: FeatureMatrix, count: Int = 2) throws {
        precondition(count >= 1 && count <= features.columns,
                     "PCA of \(features.columns)-dimensional features can keep 1 to \(features.columns) components, not \(count)")
        let statistics = try FeatureStatistics(features, name: "PCA features")
        let d = statistics.dimension
        let decomposition = try SymmetricEigendecomposition(statistics.covariance, order: d, what: "the PCA covariance")
        var components: [[Double]] = []
        var variances: [Double] = []
        for rank in 0..<count {
            let column = d - 1 - rank   // eigenvalues ascend
            var vector = Array(decomposition.eigenvectors[column * d ..< (column + 1) * d])
            var largest = 0
            for j in 1..<d where abs(vector[j]) > abs(vector[largest]) { largest = j }
            if vector[largest] < 0 { vector = vector.map { -$0 } }
            components.append(vector)
            variances.append(max(0, decomposition.eigenvalues[column]))
        }
        mean = statistics.mean
        self.components = components
        self.variances = variances
        totalVariance = statistics.totalVariance
    }

    /// Each component's share of the total variance, λ_c / tr Σ (0 when there is no variance).
    public var explainedVarianceRatios: [Double] {
        variances.map { totalVariance > 0 ? $0 / totalVariance : 0 }
    }

    /// `features`' rows in component coordinates: N × count, column c = v_cᵀ (x − μ).
    ///
    /// - Precondition: `features` has the dimension the components were computed in.
    public func projected(_ features: FeatureMatrix) -> FeatureMatrix {
        let d = mean.count, k = components.count
        precondition(features.columns == d, "PCA components are \(d)-dimensional but the features are \(features.rows) × \(features.columns)")
        var result = [Float](repeating: 0, count: features.rows * k)
        features.values.withUnsafeBufferPointer { x in
            for i in 0..<features.rows {
                let row = x.baseAddress! + i * d
                for (c, component) in components.enumerated() {
                    var sum = 0.0
                    for j in 0..<d { sum += (Double(row[j]) - mean[j]) * component[j] }
                    result[i * k + c] = Float(sum)
                }
            }
        }
        return FeatureMatrix(rows: features.rows, columns: k, values: result)
    }
}
