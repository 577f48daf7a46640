// Precision, recall, density and coverage: how much of the generated set lies on the real
// manifold, and how much of the real manifold it covers, from exact k-nearest-neighbour balls.
import AgonTensor

/// Improved precision and recall (k = 3) and density and coverage (k = 5) of a generated set.
///
/// With `NNDₖ(x)` the distance from x to its k-th nearest neighbour in its own set (itself
/// excluded), real points Xᵢ (N of them) and fake points Yⱼ (M):
/// ```
/// precision = (1/M) Σⱼ 1[∃i: ‖Yⱼ − Xᵢ‖ ≤ NND₃(Xᵢ)]
/// recall    = (1/N) Σᵢ 1[∃j: ‖Xᵢ − Yⱼ‖ ≤ NND₃(Yⱼ)]
/// density   = (1/(kM)) Σⱼ Σᵢ 1[‖Yⱼ − Xᵢ‖ ≤ NND₅(Xᵢ)]
/// coverage  = (1/N) Σᵢ 1[∃j: ‖Xᵢ − Yⱼ‖ ≤ NND₅(Xᵢ)]
/// ```
/// Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing Generative Models"
/// (NeurIPS 2019); Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative Models"
/// (ICML 2020). Balls are closed (≤), as in Kynkäänniemi's definition; the `prdc` package's code
/// uses `<`, which differs only for a fake point exactly on a ball's boundary.
///
/// Distances are exact: a brute force over all pairs, blocked through oneDNN's Float32 matmul,
/// with every comparison the Float32 product cannot settle redone in Double (see
/// `PairwiseDistances`), so the counts equal those of a Double brute force. The cost is
/// O((N² + M² + NM) · D): about 1.3 s for 10,000 × 128 on each side on one core.
public struct PrecisionRecall: Sendable, Equatable {
    /// The share of fake samples inside some real k-NN ball.
    public let precision: Double
    /// The share of real samples inside some fake k-NN ball.
    public let recall: Double
    /// Real balls containing a fake sample, per fake sample and per k; about 1 when the
    /// distributions match, above 1 when fakes crowd into dense real regions.
    public let density: Double
    /// The share of real samples whose ball holds at least one fake sample.
    public let coverage: Double

    /// The four metrics between `real` (N × D) and `fake` (M × D).
    ///
    /// - Parameters:
    ///   - engine: the oneDNN engine the distance products run on.
    ///   - neighbors: k for precision and recall (3 in the paper).
    ///   - densityNeighbors: k for density and coverage (5 in the paper).
    /// - Throws: `.dimensionMismatch`, `.tooFewSamples` (a set with no more than k points),
    ///   `.nonFiniteValue`.
    public static func between(_ real: FeatureMatrix, _ fake: FeatureMatrix, engine: Engine,
                               neighbors: Int = 3, densityNeighbors: Int = 5) throws -> PrecisionRecall {
        precondition(neighbors >= 1 && densityNeighbors >= 1, "k must be at least 1, got \(neighbors) and \(densityNeighbors)")
        try requireSameDimension(real, fake, for: "precision and recall")
        let metric = "a \(max(neighbors, densityNeighbors))-nearest-neighbour radius"
        try real.requireRows(atLeast: max(neighbors, densityNeighbors) + 1, "real features", for: metric)
        try fake.requireRows(atLeast: neighbors + 1, "fake features", for: "a \(neighbors)-nearest-neighbour radius")
        try real.requireFinite("real features")
        try fake.requireFinite("fake features")

        let ks = Array(Set([neighbors, densityNeighbors])).sorted()
        let realRadii = nearestNeighborRadii(real, neighbors: ks, engine: engine)
        let realPrecision = realRadii[ks.firstIndex(of: neighbors)!]   // NND₃(Xᵢ)²
        let realDensity = realRadii[ks.firstIndex(of: densityNeighbors)!]   // NND₅(Xᵢ)²
        let fakeRecall = nearestNeighborRadii(fake, neighbors: [neighbors], engine: engine)[0]   // NND₃(Yⱼ)²

        let distances = PairwiseDistances(real, fake, engine: engine)
        var inPrecisionBall = [Bool](repeating: false, count: fake.rows)
        var densityCount = [Int](repeating: 0, count: fake.rows)
        var recalled = [Bool](repeating: false, count: real.rows)
        var covered = [Bool](repeating: false, count: real.rows)
        distances.forEachRow { i, row in
            let precisionRadius = realPrecision[i], densityRadius = realDensity[i]
            let realReach = max(precisionRadius, densityRadius)
            var isRecalled = false, isCovered = false
            for j in 0..<row.count {
                let approximate = row[j]
                let tolerance = distances.tolerance(i, j)
                let lower = approximate - tolerance
                // Most pairs are outside every ball; settle them without the exact distance.
                if lower > realReach && lower > fakeRecall[j] { continue }
                var exact: Double?
                /// Whether the pair's exact squared distance is ≤ `radius`, computed only when
                /// the approximation's band straddles it.
                func inside(_ radius: Double) -> Bool {
                    if approximate + tolerance <= radius { return true }
                    if lower > radius { return false }
                    if exact == nil { exact = distances.exact(i, j) }
                    return exact! <= radius
                }
                if !inPrecisionBall[j] && inside(precisionRadius) { inPrecisionBall[j] = true }
                if inside(densityRadius) {
                    densityCount[j] += 1
                    isCovered = true
                }
                if !isRecalled && inside(fakeRecall[j]) { isRecalled = true }
            }
            recalled[i] = isRecalled
            covered[i] = isCovered
        }
        let n = Double(real.rows), m = Double(fake.rows)
        return PrecisionRecall(
            precision: Double(inPrecisionBall.count(where: { $0 })) / m,
            recall: Double(recalled.count(where: { $0 })) / n,
            density: Double(densityCount.reduce(0, +)) / (Double(densityNeighbors) * m),
            coverage: Double(covered.count(where: { $0 })) / n)
    }
}
