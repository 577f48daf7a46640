// SoftmaxCrossEntropy: the gradient against finite differences of the mean loss, hand-computed
// values, logits of ±100, and the probabilities and accuracy metrics read.
import AgonNN
import AgonTensor
import Foundation
import Testing

/// Logits `(rows, classes)` from a list of values.
private func logits(_ rows: [[Float]]) -> Tensor {
    Tensor(shape: [rows.count, rows[0].count], values: rows.flatMap { $0 })
}

@Suite struct SoftmaxCrossEntropyTests {
    @Test func gradientMatchesFiniteDifferencesOfTheMean() {
        let z = randomTensor([5, 7], seed: 11, in: -3...3)
        let labels = [0, 6, 3, 3, 1]
        let gradient = Tensor(zeros: z.shape)
        _ = SoftmaxCrossEntropy.loss(logits: z, labels: labels, gradient: gradient)
        let h: Float = 1e-2
        for i in 0..<z.count {
            let saved = z[i]
            z[i] = saved + h
            let plus = Double(SoftmaxCrossEntropy.loss(logits: z, labels: labels))
            z[i] = saved - h
            let minus = Double(SoftmaxCrossEntropy.loss(logits: z, labels: labels))
            z[i] = saved
            let step = (Double(saved + h) - Double(saved - h)) / 2
            let numeric = (plus - minus) / (2 * step)
            let analytic = Double(gradient[i])
            #expect(abs(analytic - numeric) <= 1e-4 + 1e-2 * abs(numeric),
                    "dL/dz\(coordinates(of: i, in: z.shape)): analytic \(analytic), finite difference \(numeric)")
        }
    }

    @Test func matchesAHandComputedValue() {
        // Row 1: z = (1, 2, 3), y = 2: −log(e³ / (e + e² + e³)) = log(1 + e⁻¹ + e⁻²).
        // Row 2: z = (0, 0, 0), y = 0: log 3. The mean of the two.
        let z = logits([[1, 2, 3], [0, 0, 0]])
        let gradient = Tensor(zeros: z.shape)
        let loss = SoftmaxCrossEntropy.loss(logits: z, labels: [2, 0], gradient: gradient)
        let row1 = log(1 + exp(-1.0) + exp(-2.0))
        #expect(abs(Double(loss) - (row1 + log(3.0)) / 2) < 1e-6)
        // dz = (softmax − onehot) / 2
        let s = [exp(1.0), exp(2.0), exp(3.0)].map { $0 / (exp(1.0) + exp(2.0) + exp(3.0)) }
        let expected = [s[0] / 2, s[1] / 2, (s[2] - 1) / 2, (1.0 / 3 - 1) / 2, 1.0 / 6, 1.0 / 6]
        for i in expected.indices {
            #expect(abs(Double(gradient[i]) - expected[i]) < 1e-6, "gradient[\(i)] = \(gradient[i]), expected \(expected[i])")
        }
    }

    @Test func staysFiniteAtLogitsOfPlusMinus100() {
        // The right class far ahead: loss ≈ 2e⁻²⁰⁰ ≈ 0; far behind: loss ≈ 200. Without the shift
        // by the row maximum, e¹⁰⁰ ≈ 2.7e43 overflows Float and the loss would be NaN.
        let z = logits([[100, -100, -100], [-100, 100, -100]])
        let gradient = Tensor(zeros: z.shape)
        let loss = SoftmaxCrossEntropy.loss(logits: z, labels: [0, 0], gradient: gradient)
        #expect(loss.isFinite && abs(loss - 100) < 1e-3, "mean of ≈0 and ≈200 should be ≈100, got \(loss)")
        #expect(gradient.scalars.allSatisfy { $0.isFinite })
        // Row 2 puts all mass on class 1 while the label is 0: dz ≈ (−1, 1, 0) / 2.
        #expect(abs(gradient[3] + 0.5) < 1e-6 && abs(gradient[4] - 0.5) < 1e-6 && abs(gradient[5]) < 1e-6)
        let big = logits([[1000, 999, -1000]])
        let p = SoftmaxCrossEntropy.probabilities(big)
        #expect(p.scalars.allSatisfy { $0.isFinite })
        #expect(abs(Double(p[0]) - 1 / (1 + exp(-1.0))) < 1e-6)
    }

    @Test func probabilitiesAreRowsThatSumToOne() {
        let z = randomTensor([4, 10], seed: 3, in: -5...5)
        let p = SoftmaxCrossEntropy.probabilities(z)
        for row in 0..<4 {
            let values = (0..<10).map { p[row * 10 + $0] }
            #expect(values.allSatisfy { $0 > 0 && $0 < 1 })
            #expect(abs(values.reduce(0, +) - 1) < 1e-5)
            // The largest probability sits at the largest logit.
            let logitsRow = (0..<10).map { z[row * 10 + $0] }
            #expect(values.firstIndex(of: values.max()!) == logitsRow.firstIndex(of: logitsRow.max()!))
        }
    }

    @Test func accuracyCountsRowsWhoseLargestLogitIsTheLabel() {
        let z = logits([[0, 2, 1], [3, 0, 0], [0, 0, 5], [1, 1, 0]])
        #expect(SoftmaxCrossEntropy.predictions(z) == [1, 0, 2, 0])  // ties go to the first class
        #expect(SoftmaxCrossEntropy.correctCount(logits: z, labels: [1, 0, 0, 1]) == 2)
        #expect(SoftmaxCrossEntropy.accuracy(logits: z, labels: [1, 0, 0, 1]) == 0.5)
    }
}
