// Adam and SGD against hand-written Double references of the Keras update rules, on parameters
// whose lengths exercise both the 16-lane SIMD body and its scalar tail.
import AgonNN
import AgonTensor
import Foundation
import Testing

/// Keras/TensorFlow Adam for one element, in Double, ε added to √v (not to the corrected √v̂).
private struct ReferenceAdam {
    var learningRate: Double, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7
    var m: [Double], v: [Double], w: [Double]
    var t = 0

    mutating func step(_ g: [Double]) {
        t += 1
        let rate = learningRate * (1 - pow(beta2, Double(t))).squareRoot() / (1 - pow(beta1, Double(t)))
        for i in w.indices {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            w[i] -= rate * m[i] / (v[i].squareRoot() + epsilon)
        }
    }
}

private func expectClose(_ got: Tensor, _ want: [Double], tolerance: Double, _ label: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    for i in want.indices where abs(Double(got[i]) - want[i]) > tolerance * max(1, abs(want[i])) {
        Issue.record("\(label)[\(i)] = \(got[i]), expected \(want[i])", sourceLocation: sourceLocation)
        return
    }
}

/// A trainable parameter of `count` elements with random values.
private func parameter(_ count: Int, seed: UInt64) -> Parameter {
    let p = Parameter(trainable: "kernel", shape: [count])
    p.value.copy(from: randomTensor([count], seed: seed))
    return p
}

@Suite struct OptimizerTests {
    @Test func adamDefaultsAreKeras() {
        let adam = Adam(parameters: [parameter(3, seed: 1)])
        #expect(adam.learningRate == 1e-3 && adam.beta1 == 0.9 && adam.beta2 == 0.999 && adam.epsilon == 1e-7)
        #expect(adam.iterations == 0)
        #expect(adam.slots.map(\.name) == ["m", "v"])
    }

    /// Lengths 19 (one SIMD block and a tail of 3), 33 (two blocks and a tail of 1) and 16.
    @Test(arguments: [[19], [33, 16]])
    func adamMatchesTheKerasFormForThreeSteps(lengths: [Int]) {
        let parameters = lengths.enumerated().map { parameter($1, seed: 400 + UInt64($0)) }
        let adam = Adam(parameters: parameters, learningRate: 1e-2)
        var references = parameters.map { p in
            ReferenceAdam(learningRate: 1e-2, m: .init(repeating: 0, count: p.value.count),
                          v: .init(repeating: 0, count: p.value.count), w: p.value.scalars.map(Double.init))
        }
        for step in 0..<3 {
            for (k, p) in parameters.enumerated() {
                let g = p.gradient!
                g.copy(from: randomTensor(p.shape, seed: 410 + UInt64(k), counter: UInt32(step), in: -2...2))
                // A zero gradient and a tiny one, where ε's placement decides the update.
                if step == 0 { g[0] = 0 }
                g[g.count - 1] = 1e-6
                references[k].step(g.scalars.map(Double.init))
            }
            adam.step()
            #expect(adam.iterations == step + 1)
            for (k, p) in parameters.enumerated() {
                expectClose(p.value, references[k].w, tolerance: 1e-6, "step \(step + 1) θ\(k)")
            }
        }
        for slot in adam.slots {
            let reference = references[slot.parameter]
            expectClose(slot.tensor, slot.name == "m" ? reference.m : reference.v, tolerance: 1e-5,
                        "\(slot.name) of parameter \(slot.parameter)")
        }
        #expect(adam.slots.map(\.parameter) == lengths.indices.flatMap { [$0, $0] })
    }

    @Test func sgdWithoutMomentumStepsAgainstTheGradient() {
        let p = parameter(19, seed: 420)
        let sgd = SGD(parameters: [p], learningRate: 0.05)
        #expect(sgd.slots.isEmpty)
        var w = p.value.scalars.map(Double.init)
        for step in 0..<2 {
            p.gradient!.copy(from: randomTensor([19], seed: 421, counter: UInt32(step)))
            for i in w.indices { w[i] -= 0.05 * Double(p.gradient![i]) }
            sgd.step()
            expectClose(p.value, w, tolerance: 1e-6, "step \(step + 1) θ")
        }
        #expect(sgd.iterations == 2)
    }

    @Test func sgdWithMomentumKeepsAVelocity() {
        let p = parameter(19, seed: 430)
        let sgd = SGD(parameters: [p], learningRate: 0.05, momentum: 0.9)
        #expect(sgd.slots.map(\.name) == ["momentum"])
        var w = p.value.scalars.map(Double.init)
        var u = [Double](repeating: 0, count: 19)
        for step in 0..<3 {
            p.gradient!.copy(from: randomTensor([19], seed: 431, counter: UInt32(step)))
            for i in w.indices {
                u[i] = 0.9 * u[i] - 0.05 * Double(p.gradient![i])   // u ← μ·u − lr·g
                w[i] += u[i]                                        // θ ← θ + u
            }
            sgd.step()
            expectClose(p.value, w, tolerance: 1e-6, "step \(step + 1) θ")
        }
        expectClose(sgd.slots[0].tensor, u, tolerance: 1e-6, "velocity")
    }
}
