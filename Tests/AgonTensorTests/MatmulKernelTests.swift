// MatmulKernel: oneDNN's matmul primitive against a naive Double loop for every transpose
// combination, with bias, accumulation and each fused activation, at odd sizes.
import AgonTensor
import Foundation
import Testing

private func randomMatrix(_ count: Int, seed: UInt64) -> Tensor {
    let t = Tensor(zeros: [count])
    CounterRandom(seed: seed).fillUniform(t.pointer, count: count, low: -1, high: 1, stream: .fixedNoise, 0, 0)
    return t
}

/// op(A)·op(B) in Double; A stored (k, m) when transposed, B stored (n, k).
private func naive(_ a: Tensor, _ b: Tensor, m: Int, n: Int, k: Int, transpose: (a: Bool, b: Bool)) -> [Double] {
    var c = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            for p in 0..<k {
                let aip = transpose.a ? a[p * m + i] : a[i * k + p]
                let bpj = transpose.b ? b[j * k + p] : b[p * n + j]
                c[i * n + j] += Double(aip) * Double(bpj)
            }
        }
    }
    return c
}

@Suite struct MatmulKernelTests {
    let engine = Engine()

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)], [false, true])
    func productMatchesANaiveLoop(transpose: (a: Bool, b: Bool), accumulate: Bool) {
        let (m, n, k) = (7, 5, 9)
        let a = randomMatrix(m * k, seed: 1), b = randomMatrix(k * n, seed: 2), c = randomMatrix(m * n, seed: 3)
        let c0 = c.scalars
        MatmulKernel(engine, m: m, n: n, k: k, transposeA: transpose.a, transposeB: transpose.b, accumulate: accumulate)
            .run(a.pointer, b.pointer, into: c.pointer)
        let expected = naive(a, b, m: m, n: n, k: k, transpose: transpose)
        for i in 0..<(m * n) {
            let want = expected[i] + (accumulate ? Double(c0[i]) : 0)
            #expect(abs(Double(c[i]) - want) <= 1e-5, "C[\(i)] = \(c[i]), expected \(want) (transpose \(transpose), accumulate \(accumulate))")
        }
    }

    @Test(arguments: [MatmulKernel.Epilogue.none, .leakyReLU(slope: 0), .leakyReLU(slope: 0.3), .sigmoid, .tanh])
    func biasAndActivationAreFused(epilogue: MatmulKernel.Epilogue) {
        let (m, n, k) = (4, 6, 3)
        let a = randomMatrix(m * k, seed: 4), b = randomMatrix(k * n, seed: 5), bias = randomMatrix(n, seed: 6)
        let c = Tensor(shape: [m * n], repeating: .nan)
        MatmulKernel(engine, m: m, n: n, k: k, bias: true, epilogue: epilogue).run(a.pointer, b.pointer, bias: bias.pointer, into: c.pointer)
        let product = naive(a, b, m: m, n: n, k: k, transpose: (false, false))
        for i in 0..<m {
            for j in 0..<n {
                let z = product[i * n + j] + Double(bias[j])
                let want: Double
                switch epilogue {
                case .none: want = z
                case .leakyReLU(let slope): want = z > 0 ? z : Double(slope) * z
                case .sigmoid: want = 1 / (1 + exp(-z))
                case .tanh: want = tanh(z)
                }
                #expect(abs(Double(c[i * n + j]) - want) <= 1e-5, "C[\(i), \(j)] = \(c[i * n + j]), expected \(want) for \(epilogue)")
            }
        }
    }

    @Test func overwriteIgnoresWhatCHeld() {
        let a = randomMatrix(3 * 4, seed: 7), b = randomMatrix(4 * 5, seed: 8)
        let clean = Tensor(zeros: [15]), dirty = Tensor(shape: [15], repeating: .nan)
        let kernel = MatmulKernel(engine, m: 3, n: 5, k: 4)
        kernel.run(a.pointer, b.pointer, into: clean.pointer)
        kernel.run(a.pointer, b.pointer, into: dirty.pointer)
        #expect(dirty.scalars == clean.scalars, "without accumulate, C is overwritten, NaN included")
    }

    @Test func singleRowAndColumnShapes() {
        // (1, k)·(k, 1) and (m, 1)·(1, n): the degenerate shapes of D's last layer.
        let x = randomMatrix(11, seed: 9), w = randomMatrix(11, seed: 10)
        let dot = Tensor(zeros: [1])
        MatmulKernel(engine, m: 1, n: 1, k: 11).run(x.pointer, w.pointer, into: dot.pointer)
        let expected = (0..<11).reduce(0.0) { $0 + Double(x[$1]) * Double(w[$1]) }
        #expect(abs(Double(dot[0]) - expected) <= 1e-5)
        let outer = Tensor(zeros: [11 * 11])
        MatmulKernel(engine, m: 11, n: 11, k: 1).run(x.pointer, w.pointer, into: outer.pointer)
        #expect(abs(outer[3 * 11 + 8] - x[3] * w[8]) <= 1e-6)
    }
}
