// Kernel Inception Distance: the unbiased MMD² between feature sets under a cubic polynomial
// kernel, averaged over random subsets; unbiased at any N, unlike FID.
import AgonTensor

/// KID: the mean and standard deviation of the unbiased squared MMD over random subsets.
///
/// ```
/// k(x, y) = (x·y / d + 1)³
/// MMD²ᵤ = Σ_{i≠j} k(xᵢ, xⱼ) / (m(m−1)) + Σ_{i≠j} k(yᵢ, yⱼ) / (m(m−1)) − 2 Σ_{i,j} k(xᵢ, yⱼ) / m²
/// ```
/// Bińkowski et al., "Demystifying MMD GANs" (ICLR 2018), with torch-fidelity's defaults: 100
/// subsets of 1000, each drawn without replacement, independently for the real and the fake set;
/// the standard deviation is the population one (`np.std`). Deviations: the subset size is
/// clamped to the smaller set (torch-fidelity refuses instead), and subsets come from Agon's
/// Philox `CounterRandom` (stream `.shuffle`, counters 2s and 2s + 1 for subset s), so a seed
/// gives the same value on every machine. `subsets: 1, subsetSize: N` is the MMD² of the full
/// sets (a permutation of all points), which `scripts/check_metrics.py` checks.
///
/// Gram matrices are oneDNN Float32 matmuls; kernels and sums are in Double.
public struct KernelInceptionDistance: Sendable, Equatable {
    /// The mean of the subsets' MMD² values: the KID.
    public let mean: Double
    /// Their population standard deviation.
    public let standardDeviation: Double
    /// The MMD² of each subset, in draw order.
    public let subsetValues: [Double]
    /// The subset size m actually used.
    public let subsetSize: Int

    /// KID between `real` and `fake`.
    ///
    /// - Parameters:
    ///   - engine: the oneDNN engine the Gram products run on (its thread count applies).
    ///   - subsets: how many subset pairs to average; at least 1.
    ///   - subsetSize: m, clamped to the smaller set's size.
    ///   - seed: picks the subsets.
    /// - Throws: `.dimensionMismatch`, `.tooFewSamples` (under 2 rows in a set), `.nonFiniteValue`.
    public static func between(_ real: FeatureMatrix, _ fake: FeatureMatrix, engine: Engine,
                               subsets: Int = 100, subsetSize: Int = 1000, seed: UInt64 = 0) throws -> KernelInceptionDistance {
        precondition(subsets >= 1 && subsetSize >= 2, "KID needs subsets ≥ 1 and subsetSize ≥ 2, got \(subsets) and \(subsetSize)")
        try requireSameDimension(real, fake, for: "KID")
        try real.requireRows(atLeast: 2, "real features", for: "KID")
        try fake.requireRows(atLeast: 2, "fake features", for: "KID")
        try real.requireFinite("real features")
        try fake.requireFinite("fake features")

        let d = real.columns
        let m = min(subsetSize, real.rows, fake.rows)
        let gram = MatmulKernel(engine, m: m, n: m, k: d, transposeB: true)   // A · Bᵀ   (m, m)
        var x = [Float](repeating: 0, count: m * d), y = x
        var product = [Float](repeating: 0, count: m * m)
        let random = CounterRandom(seed: seed)
        var values: [Double] = []
        values.reserveCapacity(subsets)
        for s in 0..<subsets {
            let realOrder = random.permutation(real.rows, stream: .shuffle, UInt32(truncatingIfNeeded: 2 * s))
            let fakeOrder = random.permutation(fake.rows, stream: .shuffle, UInt32(truncatingIfNeeded: 2 * s + 1))
            gather(real, realOrder.prefix(m), into: &x)
            gather(fake, fakeOrder.prefix(m), into: &y)
            let xx = kernelSum(gram, x, x, dimension: d, product: &product, skipDiagonal: true)
            let yy = kernelSum(gram, y, y, dimension: d, product: &product, skipDiagonal: true)
            let xy = kernelSum(gram, x, y, dimension: d, product: &product, skipDiagonal: false)
            let pairs = Double(m) * Double(m - 1)
            values.append(xx / pairs + yy / pairs - 2 * xy / (Double(m) * Double(m)))
        }
        let mean = values.reduce(0, +) / Double(subsets)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(subsets)
        return KernelInceptionDistance(mean: mean, standardDeviation: variance.squareRoot(), subsetValues: values, subsetSize: m)
    }

    /// Copies the rows `indices` of `features` into `target` (count × d), in order.
    private static func gather(_ features: FeatureMatrix, _ indices: ArraySlice<Int>, into target: inout [Float]) {
        let d = features.columns
        features.values.withUnsafeBufferPointer { source in
            target.withUnsafeMutableBufferPointer { target in
                for (slot, row) in indices.enumerated() {
                    (target.baseAddress! + slot * d).update(from: source.baseAddress! + row * d, count: d)
                }
            }
        }
    }

    /// Σ k(aᵢ, bⱼ) over all i, j (or i ≠ j) with k(a, b) = (a·b / d + 1)³.
    private static func kernelSum(_ gram: MatmulKernel, _ a: [Float], _ b: [Float], dimension d: Int,
                                  product: inout [Float], skipDiagonal: Bool) -> Double {
        let m = gram.m
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                product.withUnsafeMutableBufferPointer { gram.run(a.baseAddress!, b.baseAddress!, into: $0.baseAddress!) }
            }
        }
        let scale = 1 / Double(d)
        var total = 0.0
        product.withUnsafeBufferPointer { g in
            for i in 0..<m {
                let row = g.baseAddress! + i * m
                var sum = SIMD4<Double>()
                var j = 0
                while j + 4 <= m {
                    let t = SIMD4<Double>(Double(row[j]), Double(row[j + 1]), Double(row[j + 2]), Double(row[j + 3])) * scale + 1
                    sum += t * t * t
                    j += 4
                }
                var rowTotal = sum.sum()
                while j < m {
                    let t = Double(row[j]) * scale + 1
                    rowTotal += t * t * t
                    j += 1
                }
                if skipDiagonal {
                    let t = Double(row[i]) * scale + 1
                    rowTotal -= t * t * t
                }
                total += rowTotal
            }
        }
        return total
    }
}
