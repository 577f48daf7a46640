// InceptionScore and ClassHistogram: the bounds 1 and C, a direct computation for random
// softmax outputs, entropies of one class and of an even spread, and rejected logits.
import AgonAnalysis
import Foundation
import Testing

/// Row i one-hot on class `classOf(i)`.
private func oneHot(rows: Int, classes: Int, _ classOf: (Int) -> Int) -> FeatureMatrix {
    var values = [Float](repeating: 0, count: rows * classes)
    for i in 0..<rows { values[i * classes + classOf(i)] = 1 }
    return FeatureMatrix(rows: rows, columns: classes, values: values)
}

@Suite struct ClassStatisticsTests {
    @Test func uniformPredictionsScoreOne() throws {
        let score = try InceptionScore(probabilities: FeatureMatrix(rows: 100, columns: 10, values: .init(repeating: 0.1, count: 1000)))
        #expect(abs(score.mean - 1) < 1e-6 && score.standardDeviation < 1e-6, "IS = \(score.mean) ± \(score.standardDeviation)")
    }

    @Test func confidentBalancedPredictionsScoreTheClassCount() throws {
        let score = try InceptionScore(probabilities: oneHot(rows: 300, classes: 10) { $0 % 10 })
        #expect(abs(score.mean - 10) < 1e-9 && score.standardDeviation < 1e-9, "IS = \(score.mean) ± \(score.standardDeviation)")
        #expect(score.splitScores.count == 10)
    }

    @Test func randomSoftmaxOutputsMatchTheDefinition() throws {
        let (n, c) = (97, 5)
        let logits = gaussianFeatures(rows: n, columns: c, seed: 8)
        var values = [Float]()
        for i in 0..<n {
            let e = (0..<c).map { exp(Double(logits[i * c + $0]) * 2) }
            values += e.map { Float($0 / e.reduce(0, +)) }
        }
        let score = try InceptionScore(probabilities: FeatureMatrix(rows: n, columns: c, values: values), splits: 3)
        var expected: [Double] = []
        for split in 0..<3 {
            let part = (split * n / 3)..<((split + 1) * n / 3)
            let marginal = (0..<c).map { y in part.reduce(0.0) { $0 + Double(values[$1 * c + y]) } / Double(part.count) }
            let kl = part.reduce(0.0) { sum, x in
                sum + (0..<c).reduce(0.0) { $0 + Double(values[x * c + $1]) * log(Double(values[x * c + $1]) / marginal[$1]) }
            }
            expected.append(exp(kl / Double(part.count)))
        }
        for (actual, want) in zip(score.splitScores, expected) {
            #expect(abs(actual - want) < 1e-9 * want, "split score \(actual), expected \(want)")
        }
    }

    @Test func oneClassHasZeroEntropy() throws {
        let histogram = try ClassHistogram(probabilities: oneHot(rows: 50, classes: 10) { _ in 3 })
        #expect(histogram.counts[3] == 50 && histogram.total == 50 && histogram.missingClasses == 9)
        #expect(histogram.entropy == 0 && histogram.normalizedEntropy == 0)
    }

    @Test func anEvenSpreadHasEntropyLogC() throws {
        let histogram = try ClassHistogram(probabilities: oneHot(rows: 70, classes: 7) { $0 % 7 })
        #expect(abs(histogram.entropy - log(7.0)) < 1e-12 && abs(histogram.normalizedEntropy - 1) < 1e-12)
        #expect(histogram.missingClasses == 0)
    }

    @Test func logitsAreRejected() {
        let logits = FeatureMatrix(rows: 2, columns: 2, values: [2.5, -1, 0.3, 0.1])
        let error = #expect(throws: AnalysisError.self) { try InceptionScore(probabilities: logits, splits: 1) }
        #expect(error?.code == .invalidProbabilities)
        #expect(throws: AnalysisError.self) { try ClassHistogram(probabilities: logits) }
    }

    @Test func fewerSamplesThanSplitsAreTooFew() {
        let error = #expect(throws: AnalysisError.self) { try InceptionScore(probabilities: oneHot(rows: 5, classes: 3) { $0 % 3 }) }
        #expect(error?.code == .tooFewSamples)
    }
}
