// How well an embedding keeps neighbourhoods: trustworthiness, as scikit-learn defines it, for
// checking t-SNE and PCA pictures against the features they were drawn from.
import CAgonKernels

/// Trustworthiness (Venna and Kaski, "Neighborhood preservation in nonlinear projection
/// methods", ICANN 2001), exactly as `sklearn.manifold.trustworthiness` computes it:
/// ```
/// T(k) = 1 − 2 / (n k (2n − 3k − 1)) · Σᵢ Σ_{j ∈ N_k^E(i)} max(0, r(i, j) − k)
/// ```
/// where N_k^E(i) are the k nearest neighbours of point i in the embedding and r(i, j) is the
/// rank of j among i's neighbours in the original space (1 for the nearest), both by
/// Euclidean distance, i never its own neighbour. 1 means every embedding neighbour is also
/// an original one; points that come close only in the embedding are penalised by how far
/// they really are. Equal distances are ranked by index (scikit-learn leaves that to its sort).
public enum Trustworthiness {
    /// T(k) of `embedding` (N × e) as a picture of `original` (N × D).
    ///
    /// - Throws: `.tooFewSamples` unless k < N / 2 (scikit-learn's bound, which keeps the
    ///   normaliser positive); `.dimensionMismatch` if the row counts differ;
    ///   `.nonFiniteValue` for NaN or infinity in either.
    /// - Precondition: `neighbors ≥ 1`.
    public static func between(_ original: FeatureMatrix, _ embedding: FeatureMatrix, neighbors k: Int = 5) throws -> Double {
        precondition(k >= 1, "trustworthiness needs k ≥ 1 neighbours, got \(k)")
        guard original.rows == embedding.rows else {
            throw AnalysisError(.dimensionMismatch, "trustworthiness: the original has \(original.rows) points but the embedding \(embedding.rows); embed the same points")
        }
        let n = original.rows
        guard 2 * k < n else {
            throw AnalysisError(.tooFewSamples, "trustworthiness with k = \(k) needs more than \(2 * k) points, got \(n); use more points or a smaller k")
        }
        try original.requireFinite("original features")
        try embedding.requireFinite("embedding")

        var originalRow = [Double](repeating: 0, count: n)
        var embeddedRow = [Double](repeating: 0, count: n)
        var neighbors = [UInt32](repeating: 0, count: k)
        var distances = [Double](repeating: 0, count: k)
        var penalty = 0.0
        for i in 0..<n {
            agon_squared_distances_row(embedding.values, n, embedding.columns, i, &embeddedRow)
            agon_nearest_in_row(embeddedRow, n, i, k, &neighbors, &distances)
            agon_squared_distances_row(original.values, n, original.columns, i, &originalRow)
            for j in neighbors {
                // r(i, j) = 1 + how many points come before j in i's original order.
                let rank = agon_rank_in_row(originalRow, n, i, Int(j), originalRow[Int(j)]) + 1
                penalty += Double(max(0, rank - k))
            }
        }
        let (nn, kk) = (Double(n), Double(k))
        return 1 - penalty * 2 / (nn * kk * (2 * nn - 3 * kk - 1))
    }
}
