// The parameter-free layers: standalone activations (values and gradient checks), Dropout's
// seeded mask (rate, scaling, reproducibility, worker-split invariance), Reshape and Flatten.
import AgonNN
import AgonTensor
import Testing

@Suite struct ActivationLayerTests {
    @Test(arguments: allActivations)
    func forwardMatchesTheFunction(activation: Activation) {
        let layer = ActivationLayer(Engine(), activation)
        let x = randomTensor([2, 3, 4, 5], seed: 301, in: -3...3)
        let y = layer.forward(x, context: .inference)
        #expect(y.shape == x.shape)
        for i in 0..<x.count {
            let expected = referenceActivation(activation, Double(x[i]))
            #expect(abs(Double(y[i]) - expected) <= 1e-5, "\(activation)(\(x[i])) = \(y[i]), expected \(expected)")
        }
    }

    @Test(arguments: [Activation.leakyReLU(slope: 0.3), .relu, .sigmoid, .tanh])
    func gradientsMatchFiniteDifferences(activation: Activation) {
        let layer = ActivationLayer(Engine(), activation)
        let x = randomTensor([3, 4, 5], seed: 311, in: -2...2)
        let summary = GradientCheck(skipKinks: hasKink(activation)).check(layer, input: x, context: .inference)
        #expect(summary.checked >= 8)
    }

    @Test func kindsAreKerasClassNames() {
        let engine = Engine()
        #expect(ActivationLayer(engine, .leakyReLU(slope: 0.2)).kind == "leakyrelu")
        #expect(ActivationLayer(engine, .relu).kind == "relu")
        #expect(ActivationLayer(engine, .tanh).kind == "activation")
        #expect(ActivationLayer(engine, .tanh).parameters.isEmpty)
    }
}

@Suite struct DropoutTests {
    static let rate: Float = 0.3

    /// The keep mask a training pass applied, read back from an input of ones.
    private func mask(_ dropout: Dropout, batch: Int, length: Int, step: Int, firstSample: Int) -> [[Bool]] {
        let ones = Tensor(shape: [batch, length], repeating: 1)
        let y = dropout.forward(ones, context: ForwardContext(training: true, step: step, firstSample: firstSample))
        return (0..<batch).map { b in (0..<length).map { y[b * length + $0] != 0 } }
    }

    @Test func dropsAboutRateAndScalesTheRest() {
        let dropout = Dropout(rate: Self.rate, seed: 7)
        let x = randomTensor([4, 50, 50], seed: 321, in: 0.5...1.5)
        let y = dropout.forward(x, context: ForwardContext(training: true, step: 3))
        #expect(y.shape == x.shape)
        var dropped = 0
        for i in 0..<x.count {
            if y[i] == 0 { dropped += 1; continue }
            let expected = x[i] / (1 - Self.rate)
            #expect(abs(y[i] - expected) <= 1e-6 * expected, "survivor \(i): \(y[i]), expected \(expected)")
        }
        // 10 000 Bernoulli(0.3) draws: σ ≈ 0.0046, so ±0.02 is more than 4σ.
        let fraction = Double(dropped) / Double(x.count)
        #expect(abs(fraction - 0.3) < 0.02, "dropped \(fraction) of the elements, rate 0.3")
    }

    @Test func sameStepAndSampleGiveTheSameMask() {
        let dropout = Dropout(rate: Self.rate, seed: 7)
        let first = mask(dropout, batch: 3, length: 64, step: 5, firstSample: 10)
        let again = mask(dropout, batch: 3, length: 64, step: 5, firstSample: 10)
        #expect(first == again)
        let fresh = mask(Dropout(rate: Self.rate, seed: 7), batch: 3, length: 64, step: 5, firstSample: 10)
        #expect(first == fresh, "a new layer with the same seed draws the same mask")
        #expect(mask(dropout, batch: 3, length: 64, step: 6, firstSample: 10) != first, "another step, another mask")
        #expect(mask(Dropout(rate: Self.rate, seed: 8), batch: 3, length: 64, step: 5, firstSample: 10) != first,
                "another seed, another mask")
        #expect(first[0] != first[1], "samples of one batch get different masks")
    }

    @Test func maskDoesNotDependOnTheWorkerSplit() {
        let whole = mask(Dropout(rate: Self.rate, seed: 9), batch: 8, length: 37, step: 4, firstSample: 0)
        let shard = Dropout(rate: Self.rate, seed: 9)
        for (first, count) in [(0, 3), (3, 3), (6, 2), (5, 3)] {
            let part = mask(shard, batch: count, length: 37, step: 4, firstSample: first)
            #expect(part == Array(whole[first..<first + count]), "samples \(first)..<\(first + count)")
        }
        let replica = Dropout(rate: Self.rate, seed: 9).replica()
        let ones = Tensor(shape: [2, 37], repeating: 1)
        let y = replica.forward(ones, context: ForwardContext(training: true, step: 4, firstSample: 6))
        #expect((0..<2).map { b in (0..<37).map { y[b * 37 + $0] != 0 } } == Array(whole[6..<8]))
    }

    @Test func inferenceIsTheIdentity() {
        let dropout = Dropout(rate: Self.rate, seed: 7)
        let x = randomTensor([5, 11], seed: 331)
        let y = dropout.forward(x, context: ForwardContext(training: false, step: 3))
        #expect(y.scalars == x.scalars)
        let dy = randomTensor([5, 11], seed: 332)
        #expect(dropout.backward(dy, parameterGradients: true, inputGradient: true)?.scalars == dy.scalars)
        let none = Dropout(rate: 0, seed: 7)
        #expect(none.forward(x, context: ForwardContext(training: true)).scalars == x.scalars, "rate 0 drops nothing")
    }

    @Test func gradientUsesTheForwardMask() throws {
        let dropout = Dropout(rate: Self.rate, seed: 7)
        let x = randomTensor([4, 33], seed: 341, in: 0.5...1.5)
        let y = dropout.forward(x, context: ForwardContext(training: true, step: 2, firstSample: 17)).clone()
        let dy = randomTensor([4, 33], seed: 342)
        let dx = try #require(dropout.backward(dy, parameterGradients: true, inputGradient: true))
        #expect(dx.shape == x.shape)
        for i in 0..<x.count {
            let expected: Float = y[i] == 0 ? 0 : dy[i] / (1 - Self.rate)
            #expect(abs(dx[i] - expected) <= 1e-6, "dx[\(i)] = \(dx[i]), expected \(expected)")
        }
        GradientCheck().check(dropout, input: x, context: ForwardContext(training: true, step: 2, firstSample: 17))
    }
}

@Suite struct ReshapeTests {
    @Test func reshapeSeesEachSampleWithTheTargetShape() throws {
        let reshape = Reshape([4, 3])
        #expect(reshape.kind == "reshape")
        #expect(reshape.outputShape(for: [12]) == [4, 3])
        #expect(reshape.outputShape(for: [2, 6]) == [4, 3])
        let x = randomTensor([2, 12], seed: 351)
        let y = reshape.forward(x, context: .inference)
        #expect(y.shape == [2, 4, 3])
        #expect(y.scalars == x.scalars)
        let dy = randomTensor([2, 4, 3], seed: 352)
        let dx = try #require(reshape.backward(dy, parameterGradients: true, inputGradient: true))
        #expect(dx.shape == [2, 12])
        #expect(dx.scalars == dy.scalars)
        #expect(reshape.backward(dy, parameterGradients: true, inputGradient: false) == nil)
    }

    @Test func flattenGivesOneAxisPerSample() throws {
        let flatten = Reshape(flattening: 24)
        #expect(flatten.kind == "flatten")
        #expect(flatten.parameters.isEmpty)
        #expect(flatten.outputShape(for: [2, 3, 4]) == [24])
        let x = randomTensor([3, 2, 3, 4], seed: 361)
        let y = flatten.forward(x, context: .inference)
        #expect(y.shape == [3, 24])
        #expect(y.scalars == x.scalars)
        let dx = try #require(flatten.backward(randomTensor([3, 24], seed: 362), parameterGradients: false, inputGradient: true))
        #expect(dx.shape == [3, 2, 3, 4])
        let replica = flatten.replica()
        #expect(replica.kind == "flatten" && replica.outputShape(for: [4, 6]) == [24])
    }

    @Test func gradientsFlowThroughReshapesInANetwork() {
        let engine = Engine()
        let network = Sequential(name: "g", inputShape: [5], layers: [
            Dense(engine, inputSize: 5, outputSize: 18, activation: .tanh),
            Reshape([3, 3, 2]),
            Convolution2D(engine, inputShape: [3, 3, 2], filters: 2, kernelSize: (2, 2), strides: (1, 1), padding: .same),
            Reshape(flattening: 18),
            Dense(engine, inputSize: 18, outputSize: 3, activation: .sigmoid),
        ])
        #expect(network.outputShape == [3])
        #expect(network.namedParameters.map(\.name) == ["g/0_dense/kernel", "g/0_dense/bias", "g/2_conv2d/kernel",
                                                        "g/2_conv2d/bias", "g/4_dense/kernel", "g/4_dense/bias"])
        randomizeParameters(network.trainableParameters, seed: 371)
        let x = randomTensor([2, 5], seed: 372)
        let summary = GradientCheck().check(network, input: x, context: .inference)
        #expect(summary.checked == 10 + 16 + 16 + 16 + 2 + 16 + 3)
    }
}
