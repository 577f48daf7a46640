// What the classifier says about generated samples: the Inception Score analogue from its
// softmax outputs, and the histogram of predicted classes whose entropy falls in mode collapse.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Inception Score of N softmax outputs over C classes, mean ± std over splits.
///
/// ```
/// IS = exp( E_x KL( p(y|x) ‖ p(y) ) ),   p(y) = E_x p(y|x) within the split
/// ```
/// Salimans et al., "Improved Techniques for Training GANs" (NeurIPS 2016), with the reference
/// code's splits (`[i·N/s, (i+1)·N/s)`, every sample used) and population standard deviation.
/// Natural logarithms; `0 · log 0 = 0`. It runs from 1 (every prediction the same, or every
/// prediction uniform) to C (confident predictions spread evenly over the classes). Agon feeds
/// it a small classifier trained on the data set, not Inception, so values compare only between
/// runs scored with the same classifier.
public struct InceptionScore: Sendable, Equatable {
    /// The mean of the splits' scores.
    public let mean: Double
    /// Their population standard deviation.
    public let standardDeviation: Double
    /// The score of each split, in order.
    public let splitScores: [Double]

    /// The score of `probabilities` (N × C, rows softmax outputs) in `splits` consecutive parts.
    ///
    /// - Throws: `.tooFewSamples` if N < `splits`; `.nonFiniteValue`; `.invalidProbabilities`
    ///   for a negative entry or a row whose sum is off 1 by more than 10⁻³.
    public init(probabilities: FeatureMatrix, splits: Int = 10) throws {
        precondition(splits >= 1, "the Inception Score needs at least one split, got \(splits)")
        try probabilities.requireRows(atLeast: splits, "class probabilities", for: "an Inception Score over \(splits) splits")
        try validateProbabilities(probabilities)
        let (n, c) = (probabilities.rows, probabilities.columns)
        var scores: [Double] = []
        var marginal = [Double](repeating: 0, count: c)
        probabilities.values.withUnsafeBufferPointer { p in
            for split in 0..<splits {
                let (start, end) = (split * n / splits, (split + 1) * n / splits)
                // p(y) = mean of p(y|x) over the split   (C)
                for y in 0..<c { marginal[y] = 0 }
                for x in start..<end {
                    for y in 0..<c { marginal[y] += Double(p[x * c + y]) }
                }
                let logMarginal = marginal.map { $0 > 0 ? log($0 / Double(end - start)) : 0 }
                // KL(p(y|x) ‖ p(y)) summed over the split
                var divergence = 0.0
                for x in start..<end {
                    for y in 0..<c {
                        let q = Double(p[x * c + y])
                        if q > 0 { divergence += q * (log(q) - logMarginal[y]) }
                    }
                }
                scores.append(exp(divergence / Double(end - start)))
            }
        }
        let mean = scores.reduce(0, +) / Double(splits)
        let variance = scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(splits)
        self.mean = mean
        self.standardDeviation = variance.squareRoot()
        self.splitScores = scores
    }
}

/// How many samples the classifier assigns to each class (its arg-max), and the entropy of that
/// distribution: a missing class, or an entropy falling during training, is mode collapse.
///
/// ```
/// H = −Σ_c (n_c / N) ln(n_c / N)   (nats),   normalised H / ln C ∈ [0, 1]
/// ```
public struct ClassHistogram: Sendable, Equatable {
    /// Samples per class, C entries.
    public let counts: [Int]
    /// The entropy of `counts / N` in nats; 0 when every sample is one class.
    public let entropy: Double

    /// A histogram of given counts (C ≥ 1 classes, at least one sample).
    public init(counts: [Int]) {
        precondition(!counts.isEmpty && counts.allSatisfy { $0 >= 0 } && counts.reduce(0, +) > 0,
                     "a class histogram needs at least one class and one sample, got counts \(counts)")
        self.counts = counts
        let total = Double(counts.reduce(0, +))
        entropy = counts.reduce(0.0) { sum, count in
            guard count > 0 else { return sum }
            let share = Double(count) / total
            return sum - share * log(share)
        }
    }

    /// The histogram of each row's most probable class (the first, on ties) in `probabilities`.
    ///
    /// - Throws: `.tooFewSamples` for no rows, `.nonFiniteValue`, `.invalidProbabilities`.
    public init(probabilities: FeatureMatrix) throws {
        try probabilities.requireRows(atLeast: 1, "class probabilities", for: "a class histogram")
        try validateProbabilities(probabilities)
        let c = probabilities.columns
        var counts = [Int](repeating: 0, count: c)
        probabilities.values.withUnsafeBufferPointer { p in
            for x in 0..<probabilities.rows {
                var best = 0
                for y in 1..<c where p[x * c + y] > p[x * c + best] { best = y }
                counts[best] += 1
            }
        }
        self.init(counts: counts)
    }

    /// The number of samples counted.
    public var total: Int { counts.reduce(0, +) }

    /// The number of classes with no sample.
    public var missingClasses: Int { counts.count(where: { $0 == 0 }) }

    /// `entropy / ln C`: 1 for a perfectly even spread, 0 for one class (and for C = 1).
    public var normalizedEntropy: Double {
        counts.count > 1 ? entropy / log(Double(counts.count)) : 0
    }
}

/// Throws unless every value is finite and non-negative and every row sums to 1 within 10⁻³.
private func validateProbabilities(_ probabilities: FeatureMatrix) throws {
    try probabilities.requireFinite("class probabilities")
    let c = probabilities.columns
    for x in 0..<probabilities.rows {
        var sum = 0.0
        for y in 0..<c {
            let value = probabilities.values[x * c + y]
            guard value >= 0 else {
                throw AnalysisError(.invalidProbabilities, "class probabilities have \(value) at row \(x), class \(y); pass softmax outputs, not logits")
            }
            sum += Double(value)
        }
        guard abs(sum - 1) <= 1e-3 else {
            throw AnalysisError(.invalidProbabilities, "class probabilities of row \(x) sum to \(sum), not 1; pass softmax outputs, not logits")
        }
    }
}
