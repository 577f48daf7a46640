// BatchNormalization: training forward against a naive batch-statistics loop, the moving-average
// update, inference on moving statistics, and gradient checks in training mode.
import AgonNN
import AgonTensor
import Testing

/// Per-channel mean and biased variance over every axis but the last, in Double.
private func batchStatistics(_ x: Tensor, channels: Int) -> (mean: [Double], variance: [Double]) {
    let rows = x.count / channels
    var mean = [Double](repeating: 0, count: channels), variance = mean
    for r in 0..<rows { for c in 0..<channels { mean[c] += Double(x[r * channels + c]) } }
    for c in 0..<channels { mean[c] /= Double(rows) }
    for r in 0..<rows {
        for c in 0..<channels { let d = Double(x[r * channels + c]) - mean[c]; variance[c] += d * d }
    }
    for c in 0..<channels { variance[c] /= Double(rows) }
    return (mean, variance)
}

/// `γ · (x − μ) / √(σ² + ε) + β` per channel, in Double.
private func normalize(_ x: Tensor, mean: [Double], variance: [Double], gamma: Tensor, beta: Tensor,
                       epsilon: Double) -> [Double] {
    let channels = mean.count
    return (0..<x.count).map { i in
        let c = i % channels
        return Double(gamma[c]) * (Double(x[i]) - mean[c]) / (variance[c] + epsilon).squareRoot() + Double(beta[c])
    }
}

private func expectClose(_ y: Tensor, _ expected: [Double], tolerance: Double = 1e-4, _ label: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(y.count == expected.count, sourceLocation: sourceLocation)
    let worst = zip(y.scalars, expected).enumerated().max { abs(Double($0.1.0) - $0.1.1) < abs(Double($1.1.0) - $1.1.1) }
    guard let (i, (got, want)) = worst else { return }
    #expect(abs(Double(got) - want) <= tolerance * max(1, abs(want)),
            "\(label): element \(coordinates(of: i, in: y.shape)) = \(got), expected \(want)", sourceLocation: sourceLocation)
}

@Suite struct BatchNormalizationTests {
    /// Per-sample feature shapes: dense features and an image.
    static let featureShapes: [[Int]] = [[5], [3, 4, 3]]

    private func makeLayer(_ engine: Engine, _ featureShape: [Int], seed: UInt64) -> BatchNormalization {
        let layer = BatchNormalization(engine, featureShape: featureShape)
        let c = featureShape.last!
        layer.gamma.value.copy(from: randomTensor([c], seed: seed, counter: 1, in: 0.5...1.5))
        layer.beta.value.copy(from: randomTensor([c], seed: seed, counter: 2, in: -0.5...0.5))
        return layer
    }

    @Test func startsAsKerasDoes() {
        let layer = BatchNormalization(Engine(), featureShape: [4])
        #expect(layer.gamma.value.scalars == [1, 1, 1, 1])
        #expect(layer.beta.value.scalars == [0, 0, 0, 0])
        #expect(layer.movingMean.value.scalars == [0, 0, 0, 0])
        #expect(layer.movingVariance.value.scalars == [1, 1, 1, 1])
        #expect(layer.momentum == 0.99 && layer.epsilon == 1e-3)
        #expect(layer.parameters.map(\.name) == ["gamma", "beta", "moving_mean", "moving_variance"])
        #expect(layer.parameters.map(\.isTrainable) == [true, true, false, false])
    }

    @Test(arguments: featureShapes)
    func trainingForwardUsesBatchStatistics(featureShape: [Int]) {
        let engine = Engine()
        let layer = makeLayer(engine, featureShape, seed: 201)
        let c = featureShape.last!
        // An offset and a scale per channel, so that normalising visibly does something.
        let x = randomTensor([6] + featureShape, seed: 202, in: -2...4)
        let y = layer.forward(x, context: ForwardContext(training: true))
        #expect(y.shape == x.shape)
        let stats = batchStatistics(x, channels: c)
        let expected = normalize(x, mean: stats.mean, variance: stats.variance, gamma: layer.gamma.value,
                                 beta: layer.beta.value, epsilon: 1e-3)
        expectClose(y, expected, "training forward \(featureShape)")
    }

    @Test(arguments: featureShapes)
    func movingStatisticsFollowTheBatchWithMomentum(featureShape: [Int]) {
        let engine = Engine()
        let layer = makeLayer(engine, featureShape, seed: 211)
        let c = featureShape.last!
        var movingMean = [Double](repeating: 0, count: c), movingVariance = [Double](repeating: 1, count: c)
        for step in 0..<3 {
            let x = randomTensor([4] + featureShape, seed: 212, counter: UInt32(step), in: -1...3)
            _ = layer.forward(x, context: ForwardContext(training: true, step: step))
            let stats = batchStatistics(x, channels: c)
            for k in 0..<c {
                movingMean[k] = 0.99 * movingMean[k] + 0.01 * stats.mean[k]
                movingVariance[k] = 0.99 * movingVariance[k] + 0.01 * stats.variance[k]   // biased σ²_B
            }
        }
        expectClose(layer.movingMean.value, movingMean, tolerance: 1e-5, "moving mean")
        expectClose(layer.movingVariance.value, movingVariance, tolerance: 1e-5, "moving variance")
    }

    @Test(arguments: featureShapes)
    func inferenceUsesMovingStatisticsAndLeavesThem(featureShape: [Int]) {
        let engine = Engine()
        let layer = makeLayer(engine, featureShape, seed: 221)
        let c = featureShape.last!
        layer.movingMean.value.copy(from: randomTensor([c], seed: 222, counter: 1, in: -1...1))
        layer.movingVariance.value.copy(from: randomTensor([c], seed: 222, counter: 2, in: 0.25...2))
        let mean = layer.movingMean.value.scalars, variance = layer.movingVariance.value.scalars
        let x = randomTensor([3] + featureShape, seed: 223, in: -2...2)
        let y = layer.forward(x, context: .inference)
        let expected = normalize(x, mean: mean.map(Double.init), variance: variance.map(Double.init),
                                 gamma: layer.gamma.value, beta: layer.beta.value, epsilon: 1e-3)
        expectClose(y, expected, "inference forward \(featureShape)")
        #expect(layer.movingMean.value.scalars == mean)
        #expect(layer.movingVariance.value.scalars == variance)
    }

    @Test(arguments: featureShapes)
    func trainingGradientsMatchFiniteDifferences(featureShape: [Int]) {
        let engine = Engine()
        let layer = makeLayer(engine, featureShape, seed: 231)
        let batch = featureShape.count == 1 ? 6 : 2
        let x = randomTensor([batch] + featureShape, seed: 232, in: -1.5...2)
        // The batch statistics depend on every input, so a perturbation moves every output of
        // its channel: that is the coupling the finite difference must see.
        let summary = GradientCheck().check(layer, input: x, context: ForwardContext(training: true))
        #expect(summary.checked == 16 + 2 * featureShape.last!)
    }

    @Test func betaAndGammaGradientsAreSumsOverTheBatch() {
        let engine = Engine()
        let layer = makeLayer(engine, [3], seed: 241)
        let x = randomTensor([5, 3], seed: 242)
        let dy = randomTensor([5, 3], seed: 243)
        layer.gamma.gradient!.zero(); layer.beta.gradient!.zero()
        _ = layer.forward(x, context: ForwardContext(training: true))
        _ = layer.backward(dy, parameterGradients: true, inputGradient: true)
        let stats = batchStatistics(x, channels: 3)
        for c in 0..<3 {
            var dGamma = 0.0, dBeta = 0.0
            for r in 0..<5 {
                let xHat = (Double(x[r * 3 + c]) - stats.mean[c]) / (stats.variance[c] + 1e-3).squareRoot()
                dGamma += Double(dy[r * 3 + c]) * xHat
                dBeta += Double(dy[r * 3 + c])
            }
            #expect(abs(Double(layer.gamma.gradient![c]) - dGamma) <= 1e-4, "dγ[\(c)]")
            #expect(abs(Double(layer.beta.gradient![c]) - dBeta) <= 1e-4, "dβ[\(c)]")
        }
    }
}
