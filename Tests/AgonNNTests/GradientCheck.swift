// Finite-difference gradient checks for layers and networks, and the seeded random tensors the
// layer tests feed them: every analytic backward pass is compared with central differences.
import AgonNN
import AgonTensor
import Testing

/// A tensor of `shape` with values uniform in `range`, drawn from `CounterRandom` so that a
/// (seed, counter) pair always gives the same values.
func randomTensor(_ shape: [Int], seed: UInt64, counter: UInt32 = 0, in range: ClosedRange<Float> = -1...1) -> Tensor {
    let tensor = Tensor(zeros: shape)
    CounterRandom(seed: seed).fillUniform(tensor.pointer, count: tensor.count, low: range.lowerBound,
                                          high: range.upperBound, stream: .fixedNoise, counter, 0)
    return tensor
}

/// Gives every trainable parameter random values in `range` (biases too, so that they matter).
func randomizeParameters(_ parameters: [Parameter], seed: UInt64, in range: ClosedRange<Float> = -0.5...0.5) {
    for (i, p) in parameters.enumerated() where p.isTrainable {
        p.value.copy(from: randomTensor(p.shape, seed: seed, counter: 1000 + UInt32(i), in: range))
    }
}

/// The coordinates of row-major element `index` of a tensor of `shape`.
func coordinates(of index: Int, in shape: [Int]) -> [Int] {
    var rest = index
    var result = [Int](repeating: 0, count: shape.count)
    for axis in shape.indices.reversed() where shape[axis] > 0 {
        result[axis] = rest % shape[axis]
        rest /= shape[axis]
    }
    return result
}

/// Compares a backward pass with central finite differences of
/// ```
/// L(x, θ) = Σ r ⊙ f(x; θ)          (accumulated in Double)
/// ```
/// for a fixed random `r`, on a seeded sample of entries of the input and of every trainable
/// parameter. Each sampled entry must satisfy
/// `|analytic − numeric| ≤ absoluteTolerance + relativeTolerance · max(|analytic|, |numeric|)`;
/// a failure names the tensor and the coordinates of the worst entry.
///
/// Piecewise-linear activations have kinks where a central difference is meaningless. With
/// `skipKinks`, an entry whose one-sided differences disagree by more than the tolerance (a kink
/// within one step) is tried again with a step ten times smaller, and skipped if it still does;
/// the central difference of an entry that is kept is off by at most half that gap, so a kink
/// cannot hide a wrong gradient. At most half the sample may be skipped.
struct GradientCheck {
    /// The finite-difference step; 1e-2 keeps Float32 rounding noise near 1e-4 of a gradient.
    var step: Float = 1e-2
    var relativeTolerance: Double = 1e-2
    var absoluteTolerance: Double = 1e-3
    var samplesPerTensor = 16
    var seed: UInt64 = 0x6EAD_C4EC
    var skipKinks = false

    /// What a check compared.
    struct Summary {
        var checked = 0
        var skipped = 0
    }

    /// Checks `layer`'s input and parameter gradients at `input`.
    @discardableResult
    func check(_ layer: Layer, input: Tensor, context: ForwardContext,
               sourceLocation: SourceLocation = #_sourceLocation) -> Summary {
        let trainable = layer.parameters.filter(\.isTrainable)
        return check(input: input, parameters: trainable.map { ($0.name, $0) },
                     forward: { layer.forward($0, context: context) },
                     backward: { layer.backward($0, parameterGradients: true, inputGradient: true) },
                     sourceLocation: sourceLocation)
    }

    /// Checks `network`'s input and parameter gradients at `input`.
    @discardableResult
    func check(_ network: Sequential, input: Tensor, context: ForwardContext,
               sourceLocation: SourceLocation = #_sourceLocation) -> Summary {
        check(input: input, parameters: network.namedParameters.filter { $0.parameter.isTrainable },
              forward: { network.forward($0, context: context) },
              backward: { network.backward($0, parameterGradients: true, inputGradient: true) },
              sourceLocation: sourceLocation)
    }

    private func check(input: Tensor, parameters: [(name: String, parameter: Parameter)],
                       forward: (Tensor) -> Tensor, backward: (Tensor) -> Tensor?,
                       sourceLocation: SourceLocation) -> Summary {
        // Analytic pass: gradients of L = Σ r ⊙ y are the backward pass of r.
        for (_, p) in parameters { p.gradient!.zero() }
        let output = forward(input)
        let r = randomTensor(output.shape, seed: seed, counter: 7)
        let loss0 = loss(output, r)
        guard let dx = backward(r) else {
            Issue.record("backward returned no input gradient", sourceLocation: sourceLocation)
            return Summary()
        }
        #expect(dx.shape == input.shape, "input gradient shape \(dx.shape) for input \(input.shape)",
                sourceLocation: sourceLocation)
        var targets: [(name: String, value: Tensor, analytic: [Float])] = [("input", input, dx.scalars)]
        for (name, p) in parameters { targets.append((name, p.value, p.gradient!.scalars)) }

        var summary = Summary()
        for (t, target) in targets.enumerated() {
            var worst: (ratio: Double, index: Int, analytic: Double, numeric: Double) = (0, 0, 0, 0)
            var failures = 0, skipped = 0
            let sample = sampleIndices(target.value.count, counter: UInt32(t))
            for i in sample {
                let analytic = Double(target.analytic[i])
                var (numeric, gap) = centralDifference(target.value, i, step: step, input: input, r: r, loss0: loss0, forward)
                if skipKinks && gap > kinkTolerance(numeric) {
                    // A kink within one step: a ten times smaller step usually steps past it.
                    (numeric, gap) = centralDifference(target.value, i, step: step / 10, input: input, r: r, loss0: loss0, forward)
                    if gap > kinkTolerance(numeric) { skipped += 1; continue }
                }
                let allowed = absoluteTolerance + relativeTolerance * max(abs(analytic), abs(numeric))
                let ratio = abs(analytic - numeric) / allowed
                if ratio > 1 { failures += 1 }
                if ratio > worst.ratio { worst = (ratio, i, analytic, numeric) }
            }
            // Leave the layer's caches as the unperturbed pass made them.
            _ = forward(input)
            summary.checked += sample.count - skipped
            summary.skipped += skipped
            if failures > 0 {
                let at = coordinates(of: worst.index, in: target.value.shape)
                Issue.record("""
                    \(target.name)\(at) of \(target.value.shape): analytic \(worst.analytic), finite difference \
                    \(worst.numeric) (error \((worst.ratio * 100).rounded() / 100)× tolerance); \
                    \(failures) of \(sample.count - skipped) sampled entries fail
                    """, sourceLocation: sourceLocation)
            }
            if skipped * 2 > sample.count {
                Issue.record("\(target.name): \(skipped) of \(sample.count) sampled entries sit on a kink; move the inputs away from 0",
                             sourceLocation: sourceLocation)
            }
        }
        return summary
    }

    /// The central difference of L in entry `i` of `tensor`, and the gap between its one-sided
    /// differences (zero up to rounding where L is smooth).
    private func centralDifference(_ tensor: Tensor, _ i: Int, step: Float, input: Tensor, r: Tensor, loss0: Double,
                                   _ forward: (Tensor) -> Tensor) -> (numeric: Double, gap: Double) {
        let saved = tensor[i]
        tensor[i] = saved + step
        let plus = loss(forward(input), r)
        tensor[i] = saved - step
        let minus = loss(forward(input), r)
        tensor[i] = saved
        // The step actually taken, as Float32 rounds saved ± step.
        let h = (Double(saved + step) - Double(saved - step)) / 2
        return ((plus - minus) / (2 * h), abs((plus - loss0) - (loss0 - minus)) / h)
    }

    private func kinkTolerance(_ numeric: Double) -> Double {
        absoluteTolerance + relativeTolerance * abs(numeric)
    }

    private func loss(_ y: Tensor, _ r: Tensor) -> Double {
        var total = 0.0
        for i in 0..<y.count { total += Double(r[i]) * Double(y[i]) }
        return total
    }

    /// Up to `samplesPerTensor` distinct indices of 0..<count, the same for the same counter.
    private func sampleIndices(_ count: Int, counter: UInt32) -> [Int] {
        guard count > samplesPerTensor else { return Array(0..<count) }
        return Array(CounterRandom(seed: seed).permutation(count, stream: .shuffle, counter).prefix(samplesPerTensor))
    }
}

/// `y = a ⊙ x²` per feature, with a backward pass that can be made wrong on purpose: the layer
/// the checker is tested on.
private final class ScaledSquare: Layer {
    let scale = Parameter(trainable: "scale", shape: [3])
    var inputGradientError: Float = 1
    var parameterGradientError: Float = 1
    private var input: Tensor?

    var kind: String { "scaledsquare" }
    var parameters: [Parameter] { [scale] }
    func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    func forward(_ input: Tensor, context: ForwardContext) -> Tensor {
        self.input = input
        let y = Tensor(zeros: input.shape)
        for i in 0..<input.count { y[i] = scale.value[i % 3] * input[i] * input[i] }
        return y
    }

    func backward(_ outputGradient: Tensor, parameterGradients: Bool, inputGradient: Bool) -> Tensor? {
        let x = input!
        let dx = Tensor(zeros: x.shape)
        for i in 0..<x.count {
            // dx = 2·a·x·dy;  da += x²·dy
            dx[i] = 2 * scale.value[i % 3] * x[i] * outputGradient[i] * inputGradientError
            if parameterGradients { scale.gradient![i % 3] += x[i] * x[i] * outputGradient[i] * parameterGradientError }
        }
        return inputGradient ? dx : nil
    }

    func replica() -> Layer { self }
}

@Suite struct GradientCheckTests {
    private func layer(inputError: Float = 1, parameterError: Float = 1) -> (ScaledSquare, Tensor) {
        let layer = ScaledSquare()
        layer.scale.value.copy(from: randomTensor([3], seed: 1, in: 0.5...1.5))
        layer.inputGradientError = inputError
        layer.parameterGradientError = parameterError
        return (layer, randomTensor([4, 3], seed: 2))
    }

    @Test func acceptsACorrectBackwardPass() {
        let (square, x) = layer()
        let summary = GradientCheck().check(square, input: x, context: .inference)
        #expect(summary.checked == 12 + 3 && summary.skipped == 0)
    }

    @Test func catchesAWrongInputGradient() {
        let (square, x) = layer(inputError: 1.05)
        withKnownIssue { GradientCheck().check(square, input: x, context: .inference) } matching: { issue in
            issue.comments.contains { $0.rawValue.hasPrefix("input[") }
        }
    }

    @Test func catchesAWrongParameterGradient() {
        let (square, x) = layer(parameterError: 0.95)
        withKnownIssue { GradientCheck().check(square, input: x, context: .inference) } matching: { issue in
            issue.comments.contains { $0.rawValue.hasPrefix("scale[") }
        }
    }
}
