// Squared Euclidean distances between two feature sets, a block of rows at a time, from one
// Float32 matmul per block; with the exact Double distance for pairs too close to call.
import AgonTensor

/// Squared distances `‖aᵢ − bⱼ‖²` between the rows of `a` and `b`, without an N × M matrix.
///
/// ```
/// ‖a − b‖² = ‖a‖² + ‖b‖² − 2 a·b
/// ```
/// The norms are exact Double sums; `a·b` comes from oneDNN's Float32 matmul, 128 rows of `a`
/// against all of `b` at a time. The product's error is bounded by the standard dot-product
/// bound `|fl(a·b) − a·b| ≤ γ_d Σₖ|aₖbₖ| ≤ γ_d (‖a‖² + ‖b‖²) / 2`, γ_d ≈ d · 2⁻²⁴, so
/// `approximate − tolerance ≤ exact ≤ approximate + tolerance` with the margin of `tolerance`
/// doubled. Callers decide with the approximation and call `exact` only inside that band,
/// which makes every comparison the one a Double brute force would make.
final class PairwiseDistances {
    let a: FeatureMatrix
    let b: FeatureMatrix
    /// ‖aᵢ‖² and ‖bⱼ‖², in Double.
    let normsA: [Double], normsB: [Double]
    /// The largest ‖bⱼ‖², for a row-wide tolerance.
    let largestNormB: Double
    /// ε in `tolerance(i, j) = ε (‖aᵢ‖² + ‖bⱼ‖²)`.
    let relativeTolerance: Double

    private let blockRows: Int
    private let fullBlock: MatmulKernel
    private let lastBlock: MatmulKernel?

    init(_ a: FeatureMatrix, _ b: FeatureMatrix, engine: Engine, blockRows: Int = 128) {
        precondition(a.columns == b.columns, "distances need equal dimensions, got \(a.rows) × \(a.columns) and \(b.rows) × \(b.columns)")
        precondition(a.rows >= 1 && b.rows >= 1, "distances need non-empty sets, got \(a.rows) and \(b.rows) rows")
        self.a = a
        self.b = b
        normsA = Self.squaredNorms(a)
        normsB = Self.squaredNorms(b)
        largestNormB = normsB.max() ?? 0
        relativeTolerance = 2 * Double(a.columns + 4) * 0x1p-24
        self.blockRows = min(blockRows, a.rows)
        // A block of a (rows, d) times bᵀ, b stored (M, d)   → (rows, M)
        fullBlock = MatmulKernel(engine, m: self.blockRows, n: b.rows, k: a.columns, transposeB: true)
        let remainder = a.rows % self.blockRows
        lastBlock = remainder == 0 ? nil : MatmulKernel(engine, m: remainder, n: b.rows, k: a.columns, transposeB: true)
    }

    /// The band half-width around the approximate distance of pair (i, j).
    @inline(__always)
    func tolerance(_ i: Int, _ j: Int) -> Double { relativeTolerance * (normsA[i] + normsB[j]) }

    /// `Σₖ (aᵢₖ − bⱼₖ)²` in Double, summed in index order: symmetric in its arguments, so the same
    /// pair gives the same bits whichever set it is looked up from.
    func exact(_ i: Int, _ j: Int) -> Double {
        let d = a.columns
        return a.values.withUnsafeBufferPointer { x in
            b.values.withUnsafeBufferPointer { y in
                let p = x.baseAddress! + i * d, q = y.baseAddress! + j * d
                var sum = 0.0
                for k in 0..<d {
                    let difference = Double(p[k]) - Double(q[k])
                    sum += difference * difference
                }
                return sum
            }
        }
    }

    /// Calls `body(i, distances)` for every row i of `a` in order, `distances[j]` the
    /// approximate `‖aᵢ − bⱼ‖²` for every j. The buffer is reused: copy what must outlive a call.
    func forEachRow(_ body: (Int, UnsafeBufferPointer<Double>) -> Void) {
        let (n, m, d) = (a.rows, b.rows, a.columns)
        var products = [Float](repeating: 0, count: blockRows * m)
        var row = [Double](repeating: 0, count: m)
        a.values.withUnsafeBufferPointer { x in
            b.values.withUnsafeBufferPointer { y in
                products.withUnsafeMutableBufferPointer { g in
                    row.withUnsafeMutableBufferPointer { row in
                        normsB.withUnsafeBufferPointer { nb in
                            var start = 0
                            while start < n {
                                let rows = min(blockRows, n - start)
                                let kernel = rows == blockRows ? fullBlock : lastBlock!
                                kernel.run(x.baseAddress! + start * d, y.baseAddress!, into: g.baseAddress!)   // (rows, M)
                                for r in 0..<rows {
                                    let na = normsA[start + r]
                                    let gRow = g.baseAddress! + r * m
                                    for j in 0..<m { row[j] = na + nb[j] - 2 * Double(gRow[j]) }
                                    body(start + r, UnsafeBufferPointer(row))
                                }
                                start += rows
                            }
                        }
                    }
                }
            }
        }
    }

    private static func squaredNorms(_ features: FeatureMatrix) -> [Double] {
        let d = features.columns
        return features.values.withUnsafeBufferPointer { x in
            (0..<features.rows).map { i in
                var sum = 0.0
                for k in 0..<d { sum += Double(x[i * d + k]) * Double(x[i * d + k]) }
                return sum
            }
        }
    }
}

/// The squared distance from each row of `points` to its k-th nearest other row, for each k in
/// `neighbors` (ascending): `radii[kIndex][i]`.
///
/// A point is not its own neighbour, as in Kynkäänniemi et al. 2019; a duplicate of it is. The
/// `largest k + 2` approximate nearest are refined in Double; if the approximations cannot rule
/// out a closer point outside them, the row is searched again for every point that could be.
func nearestNeighborRadii(_ points: FeatureMatrix, neighbors: [Int], engine: Engine) -> [[Double]] {
    let largest = neighbors.last!
    precondition(neighbors == neighbors.sorted() && neighbors[0] >= 1 && points.rows > largest,
                 "k-NN radii need ascending k ≥ 1 and more than \(largest) points, got \(neighbors) for \(points.rows)")
    let distances = PairwiseDistances(points, points, engine: engine)
    let keep = min(largest + 2, points.rows - 1)
    var radii = neighbors.map { _ in [Double](repeating: 0, count: points.rows) }
    var candidates = [(approximate: Double, index: Int)]()
    candidates.reserveCapacity(keep + 1)
    var exact: [Double] = []
    distances.forEachRow { i, row in
        // The `keep` smallest approximations, sorted ascending, self excluded.
        candidates.removeAll(keepingCapacity: true)
        var worst = Double.infinity
        for j in 0..<row.count where j != i {
            let value = row[j]
            guard candidates.count < keep || value < worst else { continue }
            var slot = candidates.count
            while slot > 0 && candidates[slot - 1].approximate > value { slot -= 1 }
            candidates.insert((value, j), at: slot)
            if candidates.count > keep { candidates.removeLast() }
            if candidates.count == keep { worst = candidates[keep - 1].approximate }
        }
        exact = candidates.map { distances.exact(i, $0.index) }.sorted()
        let estimate = exact[largest - 1]   // ≥ the true k-th: it is the k-th of a subset
        let rowTolerance = distances.relativeTolerance * (distances.normsA[i] + distances.largestNormB)
        if candidates.count == keep && keep < points.rows - 1 && estimate > 0 && worst - rowTolerance <= estimate {
            // Some point left out might be closer: take every one whose band reaches the estimate.
            exact = (0..<row.count).filter { $0 != i && row[$0] - distances.tolerance(i, $0) <= estimate }
                .map { distances.exact(i, $0) }.sorted()
            if exact.count < largest {   // only if the error bound failed: search the whole row
                exact = (0..<row.count).filter { $0 != i }.map { distances.exact(i, $0) }.sorted()
            }
        }
        for (slot, k) in neighbors.enumerated() { radii[slot][i] = exact[k - 1] }
    }
    return radii
}
