// t-SNE's input similarities P: every pair for the exact gradient, the nearest ⌊3·perplexity⌋
// neighbours of each point for Barnes-Hut; each point's bandwidth calibrated by bisection.
import CAgonKernels

/// The joint affinities `p_ij = (p_j|i + p_i|j) / 2N` of a feature set.
enum TSNEAffinities {
    /// Bisection stops when the entropy is within this many nats of log(perplexity).
    static let entropyTolerance = 1e-5
    /// And after this many steps in any case (scikit-learn takes 100).
    static let bisectionSteps: Int32 = 200

    /// P as a dense N × N row-major matrix, zero on the diagonal, summing to 1.
    static func dense(_ features: FeatureMatrix, perplexity: Double) -> [Float] {
        let (n, d) = (features.rows, features.columns)
        var conditional = [Double](repeating: 0, count: n * n)
        var row = [Double](repeating: 0, count: n)
        features.values.withUnsafeBufferPointer { x in
            conditional.withUnsafeMutableBufferPointer { c in
                row.withUnsafeMutableBufferPointer { r in
                    for i in 0..<n {
                        agon_squared_distances_row(x.baseAddress!, n, d, i, r.baseAddress!)
                        r[i] = .infinity   // p_i|i = 0
                        _ = agon_tsne_conditional_row(r.baseAddress!, n, perplexity, entropyTolerance, bisectionSteps,
                                                      c.baseAddress! + i * n)
                    }
                }
            }
        }
        var joint = [Float](repeating: 0, count: n * n)
        let scale = 1 / (2 * Double(n))
        conditional.withUnsafeBufferPointer { c in
            joint.withUnsafeMutableBufferPointer { p in
                for i in 0..<n {
                    for j in (i + 1)..<n {
                        let value = Float((c[i * n + j] + c[j * n + i]) * scale)
                        p[i * n + j] = value
                        p[j * n + i] = value
                    }
                }
            }
        }
        return joint
    }

    /// P in compressed sparse rows: the pairs where either point is among the other's
    /// ⌊3 · perplexity⌋ nearest neighbours (bhtsne's K), symmetric, summing to 1.
    struct Sparse {
        /// Row i's entries are `rowStart[i] ..< rowStart[i + 1]`.
        var rowStart: [Int]
        var columns: [UInt32]
        var values: [Double]
    }

    static func sparse(_ features: FeatureMatrix, perplexity: Double) -> Sparse {
        let (n, d) = (features.rows, features.columns)
        let k = min(n - 1, Int(3 * perplexity))
        var neighbors = [UInt32](repeating: 0, count: n * k)
        var conditional = [Double](repeating: 0, count: n * k)
        var row = [Double](repeating: 0, count: n)
        var nearest = [Double](repeating: 0, count: k)
        features.values.withUnsafeBufferPointer { x in
            neighbors.withUnsafeMutableBufferPointer { indices in
                conditional.withUnsafeMutableBufferPointer { c in
                    for i in 0..<n {
                        agon_squared_distances_row(x.baseAddress!, n, d, i, &row)
                        agon_nearest_in_row(row, n, i, k, indices.baseAddress! + i * k, &nearest)
                        _ = agon_tsne_conditional_row(nearest, k, perplexity, entropyTolerance, bisectionSteps, c.baseAddress! + i * k)
                    }
                }
            }
        }

        // Who lists each point as a neighbour: a counting sort of the edges by target.
        var reverseStart = [Int](repeating: 0, count: n + 1)
        for j in neighbors { reverseStart[Int(j) + 1] += 1 }
        for i in 0..<n { reverseStart[i + 1] += reverseStart[i] }
        var reverseSource = [Int](repeating: 0, count: n * k)
        var reverseValue = [Double](repeating: 0, count: n * k)
        var fill = reverseStart
        for i in 0..<n {
            for e in i * k ..< (i + 1) * k {
                let j = Int(neighbors[e])
                reverseSource[fill[j]] = i
                reverseValue[fill[j]] = conditional[e]
                fill[j] += 1
            }
        }

        // Row i of P: its own neighbours' p_j|i plus p_i|l from every l that lists i.
        var sum = [Double](repeating: 0, count: n)
        var seen = [Bool](repeating: false, count: n)
        var touched: [Int] = []
        var result = Sparse(rowStart: [0], columns: [], values: [])
        result.rowStart.reserveCapacity(n + 1)
        result.columns.reserveCapacity(2 * n * k)
        result.values.reserveCapacity(2 * n * k)
        let scale = 1 / (2 * Double(n))
        for i in 0..<n {
            touched.removeAll(keepingCapacity: true)
            for e in i * k ..< (i + 1) * k {
                let j = Int(neighbors[e])
                sum[j] += conditional[e]
                if !seen[j] { seen[j] = true; touched.append(j) }
            }
            for e in reverseStart[i] ..< reverseStart[i + 1] {
                let l = reverseSource[e]
                sum[l] += reverseValue[e]
                if !seen[l] { seen[l] = true; touched.append(l) }
            }
            for j in touched {
                result.columns.append(UInt32(j))
                result.values.append(sum[j] * scale)
                sum[j] = 0
                seen[j] = false
            }
            result.rowStart.append(result.columns.count)
        }
        return result
    }
}
