// Dense: the forward pass against a naive triple loop, and finite-difference gradient checks
// for every activation, with and without bias, at batch sizes 1 and 5.
import AgonNN
import AgonTensor
import Foundation
import Testing

/// Every activation, with Keras 3's LeakyReLU slope.
let allActivations: [Activation] = [.linear, .relu, .leakyReLU(slope: 0.3), .sigmoid, .tanh]

/// The activation in Double, for reference implementations.
func referenceActivation(_ activation: Activation, _ z: Double) -> Double {
    switch activation {
    case .linear: return z
    case .relu: return max(z, 0)
    case .leakyReLU(let slope): return z > 0 ? z : Double(slope) * z
    case .sigmoid: return 1 / (1 + exp(-z))
    case .tanh: return tanh(z)
    }
}

/// True for the activations with a kink at 0.
func hasKink(_ activation: Activation) -> Bool {
    switch activation {
    case .relu, .leakyReLU: return true
    default: return false
    }
}

@Suite struct DenseTests {
    static let inputSize = 7, outputSize = 6

    private func makeDense(_ engine: Engine, _ activation: Activation, useBias: Bool, seed: UInt64) -> Dense {
        let dense = Dense(engine, inputSize: Self.inputSize, outputSize: Self.outputSize, activation: activation, useBias: useBias)
        randomizeParameters(dense.parameters, seed: seed)
        return dense
    }

    @Test(arguments: allActivations, [1, 5])
    func forwardMatchesTripleLoop(activation: Activation, batch: Int) throws {
        let engine = Engine()
        for useBias in [true, false] {
            let dense = makeDense(engine, activation, useBias: useBias, seed: 11)
            let x = randomTensor([batch, Self.inputSize], seed: 12)
            let y = dense.forward(x, context: .inference)
            try #require(y.shape == [batch, Self.outputSize])
            let w = dense.kernel.value
            for b in 0..<batch {
                for o in 0..<Self.outputSize {
                    var z = useBias ? Double(dense.bias!.value[o]) : 0
                    for i in 0..<Self.inputSize {
                        z += Double(x[b * Self.inputSize + i]) * Double(w[i * Self.outputSize + o])
                    }
                    let expected = referenceActivation(activation, z)
                    let got = Double(y[b * Self.outputSize + o])
                    #expect(abs(got - expected) <= 1e-5 + 1e-5 * abs(expected),
                            "y[\(b), \(o)] = \(got), expected \(expected) (bias \(useBias))")
                }
            }
        }
    }

    @Test(arguments: allActivations, [1, 5])
    func gradientsMatchFiniteDifferences(activation: Activation, batch: Int) {
        let engine = Engine()
        for useBias in [true, false] {
            let dense = makeDense(engine, activation, useBias: useBias, seed: 21)
            let x = randomTensor([batch, Self.inputSize], seed: 22)
            let summary = GradientCheck(skipKinks: hasKink(activation)).check(dense, input: x, context: .inference)
            #expect(summary.checked > 0)
        }
    }

    @Test func gradientsAccumulateAcrossBackwardPasses() {
        let engine = Engine()
        let dense = makeDense(engine, .tanh, useBias: true, seed: 31)
        let x = randomTensor([3, Self.inputSize], seed: 32)
        let dy = randomTensor([3, Self.outputSize], seed: 33)
        for p in dense.parameters { p.gradient!.zero() }
        _ = dense.forward(x, context: .inference)
        _ = dense.backward(dy, parameterGradients: true, inputGradient: false)
        let once = dense.parameters.map { $0.gradient!.scalars }
        _ = dense.forward(x, context: .inference)
        let dx = dense.backward(dy, parameterGradients: true, inputGradient: false)
        #expect(dx == nil)
        for (p, first) in zip(dense.parameters, once) {
            let twice = p.gradient!.scalars
            for i in first.indices {
                #expect(abs(twice[i] - 2 * first[i]) <= 1e-5 * max(1, abs(first[i])), "\(p.name)[\(i)]")
            }
        }
    }

    @Test func replicaSharesParametersNotCaches() {
        let engine = Engine()
        let dense = makeDense(engine, .sigmoid, useBias: true, seed: 41)
        let copy = dense.replica() as! Dense
        #expect(copy.kernel === dense.kernel)
        #expect(copy.bias === dense.bias)
        let a = randomTensor([2, Self.inputSize], seed: 42)
        let b = randomTensor([2, Self.inputSize], seed: 43)
        let ya = dense.forward(a, context: .inference)
        let before = ya.scalars
        let yb = copy.forward(b, context: .inference)
        #expect(ya.scalars == before, "the replica's pass overwrote the original's output")
        #expect(yb.scalars != before)
        #expect(dense.outputShape(for: [Self.inputSize]) == [Self.outputSize])
        #expect(dense.kind == "dense")
        #expect(dense.parameters.map(\.name) == ["kernel", "bias"])
    }
}
