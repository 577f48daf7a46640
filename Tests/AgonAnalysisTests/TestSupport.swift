// Seeded feature sets for the AgonAnalysis tests: Gaussians, correlated Gaussians and
// well-separated clusters, all from Agon's Philox generator.
import AgonAnalysis
import AgonTensor

/// N × D standard normal draws for `seed`, each row from its own counter.
func gaussianFeatures(rows: Int, columns: Int, seed: UInt64) -> [Float] {
    var values = [Float](repeating: 0, count: rows * columns)
    let random = CounterRandom(seed: seed)
    values.withUnsafeMutableBufferPointer { v in
        for r in 0..<rows {
            random.fillNormal(v.baseAddress! + r * columns, count: columns, stream: .fixedNoise, UInt32(r), 0)
        }
    }
    return values
}

/// N × D draws of N(mean, diag(variance)).
func diagonalGaussian(rows: Int, mean: [Double], variance: [Double], seed: UInt64) -> FeatureMatrix {
    let d = mean.count
    var values = gaussianFeatures(rows: rows, columns: d, seed: seed)
    for r in 0..<rows {
        for j in 0..<d { values[r * d + j] = Float(mean[j] + variance[j].squareRoot() * Double(values[r * d + j])) }
    }
    return FeatureMatrix(rows: rows, columns: d, values: values)
}

/// N × D draws of `z · mixing + shift`, z standard normal: a Gaussian with a dense covariance.
func correlatedGaussian(rows: Int, columns d: Int, seed: UInt64, shift: Float = 0, scale: Float = 1) -> FeatureMatrix {
    let z = gaussianFeatures(rows: rows, columns: d, seed: seed)
    let mixing = gaussianFeatures(rows: d, columns: d, seed: 999).map { $0 / Float(d).squareRoot() }
    var values = [Float](repeating: 0, count: rows * d)
    for r in 0..<rows {
        for j in 0..<d {
            var sum: Float = 0
            for k in 0..<d { sum += z[r * d + k] * mixing[k * d + j] }
            values[r * d + j] = scale * (sum + 0.5 * z[r * d + j]) + shift
        }
    }
    return FeatureMatrix(rows: rows, columns: d, values: values)
}

/// `perCluster` points around each of `clusters` centres 20 apart on the axes, unit spread.
func clusteredFeatures(clusters: [Int], perCluster: Int, columns d: Int, seed: UInt64) -> FeatureMatrix {
    var values: [Float] = []
    for (position, cluster) in clusters.enumerated() {
        var points = gaussianFeatures(rows: perCluster, columns: d, seed: seed &+ UInt64(position) &* 7919)
        for r in 0..<perCluster { points[r * d + cluster % d] += 20 * Float(1 + cluster / d) }
        values += points
    }
    return FeatureMatrix(rows: clusters.count * perCluster, columns: d, values: values)
}

/// The rows of `features` from `range`, as a new matrix.
func rows(_ features: FeatureMatrix, _ range: Range<Int>) -> FeatureMatrix {
    let d = features.columns
    return FeatureMatrix(rows: range.count, columns: d, values: Array(features.values[range.lowerBound * d ..< range.upperBound * d]))
}
