// GANLoss: each loss's gradient against finite differences of its mean, hand-computed values,
// logits far into saturation, and the zero gradient where BCE's clipping binds.
import AgonNN
import Foundation
import Testing

/// Runs `loss.evaluate` on `outputs` (non-empty) and returns the mean loss and its gradient.
private func evaluate(_ loss: GANLoss, _ outputs: [Float], _ term: GANLoss.Term) -> (loss: Float, gradient: [Float]) {
    var gradient = [Float](repeating: .nan, count: outputs.count)
    let value = outputs.withUnsafeBufferPointer { o in
        gradient.withUnsafeMutableBufferPointer { g in
            loss.evaluate(o.baseAddress!, count: outputs.count, term: term, gradient: g.baseAddress!)
        }
    }
    return (value, gradient)
}

private let allTerms: [GANLoss.Term] = [.discriminatorReal, .discriminatorFake, .generator]

/// Outputs each loss is smooth around: probabilities for BCE, hinge values away from ±1.
private func smoothOutputs(_ loss: GANLoss) -> [Float] {
    switch loss {
    case .binaryCrossEntropy: return [0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9]
    case .binaryCrossEntropyFromLogits: return [-3, -1.2, -0.3, 0.4, 1.1, 2.5, 4]
    case .hinge: return [-2.5, -1.4, -0.6, 0.2, 0.7, 1.3, 2.2]
    case .leastSquares: return [-1.5, -0.4, 0.1, 0.6, 1.2, 2, 0.9]
    }
}

@Suite struct GANLossTests {
    @Test(arguments: GANLoss.allCases, allTerms)
    func gradientMatchesFiniteDifferencesOfTheMean(loss: GANLoss, term: GANLoss.Term) {
        var outputs = smoothOutputs(loss)
        let analytic = evaluate(loss, outputs, term).gradient
        let h: Float = 1e-3
        for i in outputs.indices {
            let saved = outputs[i]
            outputs[i] = saved + h
            let plus = Double(evaluate(loss, outputs, term).loss)
            outputs[i] = saved - h
            let minus = Double(evaluate(loss, outputs, term).loss)
            outputs[i] = saved
            let numeric = (plus - minus) / (2 * Double(h))
            let a = Double(analytic[i])
            #expect(abs(a - numeric) <= 2e-4 + 1e-2 * abs(numeric),
                    "\(loss) \(term): d/dy[\(i)] at \(saved): analytic \(a), finite difference \(numeric)")
        }
    }

    /// A hand-computed value: loss, term, outputs, expected mean loss and gradient.
    struct HandCase: Sendable, CustomTestStringConvertible {
        var loss: GANLoss, term: GANLoss.Term, outputs: [Float], value: Double, gradient: [Double]
        var testDescription: String { "\(loss) \(term) \(outputs)" }
    }

    static let handCases: [HandCase] = [
        // BCE(t = 1, p = 0.5) = ln 2; BCE(t = 0, p = 0.25) = −ln 0.75; dL/dp = −t/p + (1 − t)/(1 − p), over n.
        .init(loss: .binaryCrossEntropy, term: .discriminatorReal, outputs: [0.5], value: log(2), gradient: [-2]),
        .init(loss: .binaryCrossEntropy, term: .discriminatorFake, outputs: [0.25], value: -log(0.75), gradient: [1 / 0.75]),
        .init(loss: .binaryCrossEntropy, term: .generator, outputs: [0.25, 0.5], value: (-log(0.25) + log(2)) / 2,
              gradient: [-4 / 2, -2 / 2]),
        // From logits: max(x, 0) − x·t + log(1 + e^−|x|); gradient σ(x) − t.
        .init(loss: .binaryCrossEntropyFromLogits, term: .discriminatorReal, outputs: [0], value: log(2), gradient: [-0.5]),
        .init(loss: .binaryCrossEntropyFromLogits, term: .discriminatorFake, outputs: [2], value: 2 + log(1 + exp(-2)),
              gradient: [1 / (1 + exp(-2))]),
        .init(loss: .binaryCrossEntropyFromLogits, term: .generator, outputs: [2, -1], value: (log(1 + exp(-2)) + 1 + log(1 + exp(-1))) / 2,
              gradient: [(1 / (1 + exp(-2)) - 1) / 2, (1 / (1 + exp(1)) - 1) / 2]),
        // Hinge: relu(1 − y) on real, relu(1 + y) on fake, −y for G.
        .init(loss: .hinge, term: .discriminatorReal, outputs: [0.5, 2], value: 0.25, gradient: [-0.5, 0]),
        .init(loss: .hinge, term: .discriminatorFake, outputs: [0.5, -3], value: 0.75, gradient: [0.5, 0]),
        .init(loss: .hinge, term: .generator, outputs: [0.5, -3], value: 1.25, gradient: [-0.5, -0.5]),
        // Least squares: (y − t)².
        .init(loss: .leastSquares, term: .discriminatorReal, outputs: [0.5, 3], value: (0.25 + 4) / 2, gradient: [-0.5, 2]),
        .init(loss: .leastSquares, term: .discriminatorFake, outputs: [0.5, -1], value: (0.25 + 1) / 2, gradient: [0.5, -1]),
        .init(loss: .leastSquares, term: .generator, outputs: [0], value: 1, gradient: [-2]),
    ]

    @Test(arguments: handCases)
    func matchesHandComputedValues(_ c: HandCase) {
        let (value, gradient) = evaluate(c.loss, c.outputs, c.term)
        #expect(abs(Double(value) - c.value) <= 1e-6 * max(1, abs(c.value)), "loss \(value), expected \(c.value)")
        for (got, want) in zip(gradient, c.gradient) {
            #expect(abs(Double(got) - want) <= 1e-6 * max(1, abs(want)), "gradient \(gradient), expected \(c.gradient)")
        }
    }

    @Test(arguments: allTerms)
    func logitsFarIntoSaturationStayFinite(term: GANLoss.Term) {
        let (value, gradient) = evaluate(.binaryCrossEntropyFromLogits, [100, -100], term)
        #expect(value.isFinite && gradient.allSatisfy { $0.isFinite }, "loss \(value), gradient \(gradient)")
        // One of the two is confidently right (loss ≈ 0), the other wrong by 100.
        #expect(abs(value - 50) <= 1e-4, "mean loss \(value), expected 50")
        let expected: [Float] = term == .discriminatorFake ? [0.5, 0] : [0, -0.5]
        #expect(gradient == expected)
    }

    @Test(arguments: allTerms)
    func clippedBCEHasNoGradientWhereClippingBinds(term: GANLoss.Term) {
        let outputs: [Float] = [0, 1e-8, 1, 1.5, -0.5, 0.5, 1e-6, 1 - 1e-6]
        let (value, gradient) = evaluate(.binaryCrossEntropy, outputs, term)
        #expect(value.isFinite)
        #expect(Array(gradient[0..<5]) == [0, 0, 0, 0, 0], "clipped entries must not pass a gradient: \(gradient)")
        #expect(gradient[5...].allSatisfy { $0 != 0 && $0.isFinite }, "entries inside [1e-7, 1 − 1e-7]: \(gradient)")
        // The loss at a clipped output is that of the clip value: −ln(1e-7) ≈ 16.118 on the wrong
        // side at 0; at 1, 1 − (1 − 1e-7) is 2⁻²³ in Float32, so −ln 2⁻²³ ≈ 15.942, as in Keras.
        let fake = term == .discriminatorFake
        let (wrong, _) = evaluate(.binaryCrossEntropy, [fake ? 1 : 0], term)
        let expected = fake ? -log(Double(1 - (1 - Float(1e-7)))) : -log(Double(Float(1e-7)))
        #expect(abs(Double(wrong) - expected) <= 1e-4, "loss \(wrong) at a clipped wrong output, expected \(expected)")
    }

    @Test func realnessAndThresholds() {
        #expect(GANLoss.binaryCrossEntropy.realness(0.7) == 0.7)
        #expect(GANLoss.binaryCrossEntropyFromLogits.realness(0) == 0.5)
        #expect(GANLoss.hinge.realness(-2) == -2)
        #expect(GANLoss.hinge.threshold == 0)
        #expect(GANLoss.leastSquares.threshold == 0.5 && GANLoss.binaryCrossEntropy.threshold == 0.5)
        #expect(GANLoss.allCases.map(\.rawValue) == ["bce", "bce-logits", "hinge", "least-squares"])
    }
}
